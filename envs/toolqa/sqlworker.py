"""SQLInterpreter's worker process: SQL runs where it can be stopped from outside.

SQLite's progress handler cannot interrupt a single slow SQL function call (an `instr` on megabyte
strings runs for minutes), so queries run in a separate, long-lived worker process that the parent
kills at the wall-time limit and restarts on the next call. The connection stays warm between calls.

What a query can do in the worker:
- it reads only the read-only SQLite copies of the corpus tables, opened (`mode=ro&immutable=1`)
  and ATTACHed by the worker before any query runs; then the attach limit drops to what is attached;
- an authorizer allows SELECT, reads of those tables and their schema, and an allow-list of SQL
  functions (`ALLOWED_FUNCTIONS`): no ATTACH, PRAGMA, writes, recursive CTEs, extension loading,
  `fts3_tokenizer` (it hands out native pointers), `zeroblob`/`randomblob`, `printf` (its width
  runs a loop as long as it is told), JSON or file functions;
- `sqlite3.setlimit` bounds strings and blobs (1 MB), SQL text, columns, expression depth, LIKE
  patterns, compound SELECTs and function arguments; SQLite's heap is capped (`hard_heap_limit`)
  and temporary storage stays in that memory (no temp files);
- the worker's own progress handler stops a query at the limit; the parent kills the worker
  `KILL_GRACE` seconds later if that did not work;
- a result is cut while it streams: at `max_rows` rows or `max_bytes` bytes of text, whichever comes
  first; the parent never reads more than that back;
- a request may ask for the query to be read as MySQL would (`mysql_to_sqlite`, below); the
  rewritten query meets the same authorizer and limits.

The worker process itself (Linux): a fresh `python -I -S -B` with an empty environment, its own
session, killed if the thread that started it ends; after opening the databases it moves into new
mount, network, IPC and UTS namespaces with an empty read-only root (no path reaches the host's
files, no network; `sandbox_kernel.isolate_from_files_and_network`), drops to `nobody` when started
as root, sets no-new-privileges, rlimits (no core files, no file bytes written,
no new processes, no more open files than it has, an address-space cap) and a seccomp filter that
refuses sockets, process creation, exec, signals to other processes, and opening files for writing
or creating, renaming or deleting them (built by the parent with `seccomp.build_program`, from
`SECCOMP_DENIED` and `SECCOMP_OPENS`). `SQLWorker.hardening` lists what took effect.

The worker side (`_serve`) uses only the standard library: this file runs as a script.
"""

from __future__ import annotations

import bisect
import json
import os
import select
import signal
import struct
import subprocess
import sys
import time
import weakref

KILL_GRACE = 0.5  # seconds the parent waits past the limit before it kills the worker
START_TIMEOUT = 10.0  # seconds a new worker may take to open its databases
_HEADER_MAX = 1 << 16  # a reply header is a small JSON object

# The SQL functions questions need: aggregates, window functions, text, numbers, dates.
ALLOWED_FUNCTIONS = frozenset(
    """
    count sum total avg min max group_concat
    row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value
    length lower upper substr substring trim ltrim rtrim replace instr like glob
    char unicode hex quote typeof coalesce ifnull nullif iif likely unlikely likelihood
    abs round sign random ceil ceiling floor trunc ln log log10 log2 exp pow power sqrt mod pi
    sin cos tan asin acos atan atan2 radians degrees
    date time datetime julianday strftime unixepoch
    """.split()
)

# (sqlite3 limit name, value); the attach limit is set after the databases are attached
SQL_LIMITS = (
    ("SQLITE_LIMIT_LENGTH", 1_000_000),
    ("SQLITE_LIMIT_SQL_LENGTH", 100_000),
    ("SQLITE_LIMIT_COLUMN", 256),
    ("SQLITE_LIMIT_EXPR_DEPTH", 200),
    ("SQLITE_LIMIT_COMPOUND_SELECT", 32),
    ("SQLITE_LIMIT_FUNCTION_ARG", 32),
    ("SQLITE_LIMIT_LIKE_PATTERN_LENGTH", 1000),
    ("SQLITE_LIMIT_VARIABLE_NUMBER", 0),
    ("SQLITE_LIMIT_TRIGGER_DEPTH", 1),
    ("SQLITE_LIMIT_WORKER_THREADS", 0),
)


class WorkerError(RuntimeError):
    """The worker could not be started or answered something that is not a reply."""


# --------------------------------------------------------------------------------- parent side


def _write_frame(fd: int, payload: bytes) -> None:
    data = struct.pack(">I", len(payload)) + payload
    while data:
        n = os.write(fd, data)
        data = data[n:]


class _Reader:
    """Length-prefixed frames from a pipe, read against a deadline and a size bound."""

    def __init__(self, fd: int):
        self.fd = fd
        self._poll = select.poll()  # not select(): it fails on descriptors numbered past 1024
        self._poll.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)

    def _exactly(self, n: int, deadline: float) -> bytes | None:
        chunks, got = [], 0
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not self._poll.poll(max(1, int(left * 1000))):
                continue
            chunk = os.read(self.fd, min(n - got, 1 << 20))
            if not chunk:
                raise WorkerError("the SQL worker exited")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def frame(self, deadline: float, max_len: int) -> bytes | None:
        """The next frame, or None at the deadline; WorkerError if the worker died or overflows."""
        head = self._exactly(4, deadline)
        if head is None:
            return None
        (n,) = struct.unpack(">I", head)
        if n > max_len:
            raise WorkerError(f"the SQL worker sent {n} bytes, more than {max_len}")
        return self._exactly(n, deadline)


class SQLReply:
    """One query's outcome: `status` ok / error / timeout, the text, and how it was cut."""

    __slots__ = ("status", "text", "more_rows", "cut", "detail")

    def __init__(self, status: str, text: str = "", more_rows: bool = False, cut: bool = False, detail=""):
        self.status, self.text, self.more_rows, self.cut, self.detail = status, text, more_rows, cut, detail


def _kill(proc: subprocess.Popen, owner: int) -> None:
    if os.getpid() != owner:
        return  # a forked copy of the parent: the worker is the parent's, not ours to end
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the worker leads its own session
        except (ProcessLookupError, PermissionError):
            proc.kill()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not ignorable
        pass
    for f in (proc.stdin, proc.stdout):
        if f is not None:
            f.close()


_FILTER: str | None = None


def _worker_filter() -> str:
    """This machine's worker filter as hex ("" without a table), built once per process."""
    global _FILTER
    if _FILTER is None:
        _FILTER = seccomp_program().hex() if sys.platform.startswith("linux") else ""
    return _FILTER


class SQLWorker:
    """A warm worker process over a fixed set of databases (`{schema: sqlite file}`).

    `run` sends one query and waits at most `timeout + KILL_GRACE` seconds; past that the worker is
    killed (`alive` turns False) and the caller starts a new one. Not thread-safe: callers serialise.
    """

    def __init__(
        self, databases: dict[str, str], memory_mb: int = 1024, start_timeout: float = START_TIMEOUT
    ):
        self.databases = dict(databases)
        self.memory_mb = int(memory_mb)
        self.pid_owner = os.getpid()
        self.hardening: list[str] = []
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-B", os.path.abspath(__file__)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={},
            cwd="/",
            close_fds=True,
            start_new_session=True,
        )
        self._finalizer = weakref.finalize(self, _kill, self._proc, self.pid_owner)
        self._reader = _Reader(self._proc.stdout.fileno())
        cfg = {"databases": self.databases, "memory_mb": self.memory_mb, "seccomp": _worker_filter()}
        try:
            _write_frame(self._proc.stdin.fileno(), json.dumps(cfg).encode())
            deadline = time.monotonic() + start_timeout
            raw = self._reader.frame(deadline, _HEADER_MAX)
            ready = json.loads(raw) if raw is not None else None
            if raw is not None and self._reader.frame(deadline, 0) is None:
                ready = None
        except (OSError, ValueError, WorkerError) as exc:
            self.close()
            raise WorkerError(f"the SQL worker did not start: {exc}") from None
        if not isinstance(ready, dict) or not ready.get("ready"):
            self.close()
            detail = ready.get("error") if isinstance(ready, dict) else "no answer in time"
            raise WorkerError(f"the SQL worker did not start: {detail}")
        self.hardening = list(ready.get("hardening", []))

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None and os.getpid() == self.pid_owner

    def close(self) -> None:
        self._finalizer()

    def run(
        self, sql: str, timeout: float, max_rows: int, max_bytes: int, dialect: str = "sqlite"
    ) -> SQLReply:
        """Run one query; dialect "mysql" has the worker read it as MySQL would (`mysql_to_sqlite`)."""
        request = {
            "sql": sql,
            "timeout": max(0.0, timeout),
            "max_rows": max_rows,
            "max_bytes": max_bytes,
            "dialect": dialect,
        }
        hard_deadline = time.monotonic() + max(0.0, timeout) + KILL_GRACE
        try:
            _write_frame(self._proc.stdin.fileno(), json.dumps(request).encode())
            raw = self._reader.frame(hard_deadline, _HEADER_MAX)
            if raw is None:
                self.close()
                return SQLReply("timeout", detail="killed at the time limit")
            head = json.loads(raw)
            body = self._reader.frame(hard_deadline, max(0, int(max_bytes)))
            if body is None:
                self.close()
                return SQLReply("timeout", detail="killed at the time limit")
        except (OSError, ValueError, WorkerError) as exc:
            self.close()
            return SQLReply("error", detail=f"worker lost: {exc}")
        return SQLReply(
            str(head.get("status")),
            body.decode("utf-8", errors="replace"),
            bool(head.get("more_rows")),
            bool(head.get("cut")),
            str(head.get("error", ""))[:200],
        )


# ------------------------------------------------------------------------------ MySQL dialect
#
# SEER's SQLInterpreter ran MySQL over varchar(255) columns. `mysql_to_sqlite` rewrites a query so
# that SQLite (over copies whose text columns are COLLATE NOCASE) compares as MySQL does: a
# comparison of a text value with a number compares both as numbers (MySQL converts a string to
# the number its prefix spells, as SQLite's CAST does: '---' is 0, '12abc' 12), `/` divides as real
# numbers, `"..."` is a string, backslash escapes work in strings and LIKE patterns, `<=>` is IS,
# and `#` starts a comment. Result columns keep the labels the query as written would give them.
# `qualify_table_names` does SEER's bare-name rewrite (`FROM coffee` -> `FROM coffee.coffee_data`).
# Both read the query with one linear pass of a hand-written lexer (no backtracking regular
# expressions), then look at neighbouring tokens only; nested parentheses are followed at most
# `_MAX_NESTING` deep. docs/tool_profiles.md lists what still differs from MySQL.

BARE_TABLE_NAMES = {
    "flight": "flights.flights_data",
    "flights": "flights.flights_data",
    "coffee": "coffee.coffee_data",
    "yelp": "yelp.yelp_data",
    "airbnb": "airbnb.airbnb_data",
}
_MAX_NESTING = 32
_COMPARISONS = frozenset({"=", "==", "!=", "<>", "<", "<=", ">", ">=", "<=>"})
_ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})
_OPERATORS = ("<=>", "->>", "<=", ">=", "<>", "!=", "==", "||", "<<", ">>", "->")  # longest first
# words that never end or start an operand
_KEYWORDS = frozenset(
    """
    select from where and or not in is like glob regexp match between as on join inner left right
    outer cross natural using group by order having limit offset union all intersect except
    distinct asc desc collate escape then else when with recursive values over filter partition
    window rows range groups nulls first last into set exists
    """.split()
)
# functions whose result is a number (in SQLite and MySQL alike)
_NUMERIC_FUNCTIONS = frozenset(
    """
    count sum avg total length char_length character_length octet_length abs round ceil ceiling
    floor trunc truncate sign mod pow power sqrt exp ln log log10 log2 pi sin cos tan asin acos atan
    atan2 radians degrees julianday unixepoch instr locate unicode random row_number rank dense_rank
    ntile percent_rank cume_dist
    """.split()
)
_NUMERIC_TYPES = frozenset(
    "real integer int bigint smallint tinyint float double numeric decimal signed unsigned".split()
)
_MYSQL_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "%": "\\%", "_": "\\_"}
_DIGITS = frozenset("0123456789")
_NOT_AN_ALIAS = _KEYWORDS | {"end", "null", "true", "false"}
_CLAUSE_ENDS = frozenset("from where group having order limit window union intersect except".split())


class _Lexer:
    """The tokens of a query: kinds, spans, and matching brackets (`(`/`)`, CASE/END).

    kinds: "word" (identifier or keyword), "name" (quoted identifier), "str" ('...'), "dstr"
    ("...", a string in MySQL), "num", "op" (operator), and "(", ")", ",", ".", ";" as themselves.
    `comments` holds the spans of `#` comments (MySQL), which SQLite does not read.
    """

    def __init__(self, sql: str, mysql: bool = True):
        self.sql = sql
        self.kinds: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.comments: list[tuple[int, int]] = []
        self.closed: list[bool] = []  # False for a quoted token that runs to the end unterminated
        self._scan(mysql)
        self.n = len(self.kinds)
        self.match = self._pair()

    def _add(self, kind: str, start: int, end: int, closed: bool = True) -> None:
        self.kinds.append(kind)
        self.starts.append(start)
        self.ends.append(end)
        self.closed.append(closed)

    def _quoted_end(self, i: int, quote: str, backslash: bool) -> tuple[int, bool]:
        """The end of the quoted text starting at i (doubled quotes and, in MySQL, backslashes
        escape), and whether it is closed (an unterminated one runs to the end)."""
        sql, n = self.sql, len(self.sql)
        j = i + 1
        while j < n:
            c = sql[j]
            if backslash and c == "\\":
                j += 2
            elif c == quote:
                if j + 1 < n and sql[j + 1] == quote:
                    j += 2
                else:
                    return j + 1, True
            else:
                j += 1
        return n, False

    def _scan(self, mysql: bool) -> None:
        sql, n = self.sql, len(self.sql)
        i = 0
        while i < n:
            c = sql[i]
            if c.isspace():
                i += 1
            elif sql.startswith("--", i) or (mysql and c == "#"):
                j = sql.find("\n", i)
                j = n if j < 0 else j
                if c == "#":
                    self.comments.append((i, j))
                i = j
            elif sql.startswith("/*", i):
                j = sql.find("*/", i + 2)
                i = n if j < 0 else j + 2
            elif c == "'":
                j, closed = self._quoted_end(i, c, mysql)
                self._add("str", i, j, closed)
                i = j
            elif c == '"':
                j, closed = self._quoted_end(i, c, mysql)
                self._add("dstr" if mysql else "name", i, j, closed)
                i = j
            elif c == "`":
                j, closed = self._quoted_end(i, c, False)
                self._add("name", i, j, closed)
                i = j
            elif c == "[" and not mysql:
                j = sql.find("]", i + 1)
                j = n if j < 0 else j + 1
                self._add("name", i, j)
                i = j
            elif c in _DIGITS or (c == "." and i + 1 < n and sql[i + 1] in _DIGITS):
                j = i
                while j < n and sql[j] in _DIGITS:
                    j += 1
                if j < n and sql[j] == ".":
                    j += 1
                    while j < n and sql[j] in _DIGITS:
                        j += 1
                if j < n and sql[j] in "eE":
                    k = j + 1
                    if k < n and sql[k] in "+-":
                        k += 1
                    if k < n and sql[k] in _DIGITS:
                        j = k
                        while j < n and sql[j] in _DIGITS:
                            j += 1
                self._add("num", i, j)
                i = j
            elif c.isalpha() or c in "_$" or ord(c) > 127:
                j = i + 1
                while j < n and (sql[j].isalnum() or sql[j] in "_$" or ord(sql[j]) > 127):
                    j += 1
                self._add("word", i, j)
                i = j
            elif c in "(),.;":
                self._add(c, i, i + 1)
                i += 1
            else:
                op = next((o for o in _OPERATORS if sql.startswith(o, i)), c)
                self._add("op", i, i + len(op))
                i += len(op)

    def _pair(self) -> list[int]:
        match = [-1] * len(self.kinds)
        parens: list[int] = []
        cases: list[int] = []
        for i, k in enumerate(self.kinds):
            if k == "(":
                parens.append(i)
            elif k == ")" and parens:
                j = parens.pop()
                match[i], match[j] = j, i
            elif k == "word":
                w = self.word(i)
                if w == "case":
                    cases.append(i)
                elif w == "end" and cases:
                    j = cases.pop()
                    match[i], match[j] = j, i
        return match

    def kind(self, i: int) -> str:
        """Token i's kind, or "" outside the query."""
        return self.kinds[i] if 0 <= i < self.n else ""

    def text(self, i: int) -> str:
        return self.sql[self.starts[i] : self.ends[i]]

    def word(self, i: int) -> str:
        """Token i lower-cased when it is a word (long words never match a keyword)."""
        if 0 <= i < self.n and self.kinds[i] == "word" and self.ends[i] - self.starts[i] <= 16:
            return self.sql[self.starts[i] : self.ends[i]].lower()
        return ""

    def is_op(self, i: int, ops: frozenset[str]) -> bool:
        return 0 <= i < self.n and self.kinds[i] == "op" and self.text(i) in ops

    def skip(self, i: int) -> int:
        """The index after token i, past the whole group when i opens one."""
        m = self.match[i]
        return m + 1 if m > i else i + 1

    # ------------------------------------------------------------------ operands (primaries)

    def operand_before(self, j: int) -> int:
        """The first token of the operand (column, literal, call, group, CASE) ending at token j, or -1."""
        if j < 0:
            return -1
        kind = self.kinds[j]
        if kind == ")":
            i = self.match[j]
            if i < 0:
                return -1
            for _ in range(_MAX_NESTING):  # f(x) FILTER (...) OVER (...)
                if (
                    self.word(i - 1) in ("over", "filter")
                    and self.kind(i - 2) == ")"
                    and self.match[i - 2] >= 0
                ):
                    i = self.match[i - 2]
                else:
                    break
            if self.kind(i - 1) == "word" and self.word(i - 1) not in _KEYWORDS:
                return i - 1  # a function call
            return i
        if kind == "word":
            w = self.word(j)
            if w == "end":
                return self.match[j] if self.match[j] >= 0 else -1
            if w in _KEYWORDS or w == "case":
                return -1
        if kind in ("word", "name"):
            i = j
            while self.kind(i - 1) == "." and self.kind(i - 2) in ("word", "name"):
                i -= 2
            return i
        if kind in ("num", "str", "dstr"):
            return j
        return -1

    def operand_after(self, i: int, depth: int = 0) -> int:
        """The last token of the operand starting at token i (a sign included), or -1."""
        if i >= self.n or depth > _MAX_NESTING:
            return -1
        kind = self.kinds[i]
        if kind == "op" and self.text(i) in ("+", "-"):
            return self.operand_after(i + 1, depth + 1)
        if kind == "(":
            return self.match[i]
        if kind == "word":
            w = self.word(i)
            if w == "case":
                return self.match[i]
            if w in _KEYWORDS or w == "end":
                return -1
            if self.kind(i + 1) == "(":
                e = self.match[i + 1]
                for _ in range(_MAX_NESTING):  # f(x) FILTER (...) OVER (...)
                    if e < 0 or self.word(e + 1) not in ("over", "filter") or self.kind(e + 2) != "(":
                        break
                    e = self.match[e + 2]
                return e
        if kind in ("word", "name"):
            e = i
            while self.kind(e + 1) == "." and self.kind(e + 2) in ("word", "name"):
                e += 2
            return e
        if kind in ("num", "str", "dstr"):
            return i
        return -1

    def numeric(self, s: int, e: int, depth: int = 0) -> bool:
        """Whether the operand spanning tokens s..e is a number (in MySQL's sense)."""
        if depth > _MAX_NESTING or s < 0 or e < s:
            return False
        kind = self.kinds[s]
        if kind == "num" or (kind == "op" and self.text(s) in ("+", "-")):
            return True
        if kind == "word":
            w = self.word(s)
            if w in ("true", "false"):
                return s == e
            if s + 1 <= e and self.kind(s + 1) == "(":
                close = self.match[s + 1]
                if w == "cast":
                    t = close - 1
                    while t > s and self.kinds[t] != "word":  # the type, past `(10, 2)`
                        t = self.match[t] - 1 if self.kinds[t] == ")" and self.match[t] > 0 else t - 1
                    return self.word(t) in _NUMERIC_TYPES
                if w in ("min", "max"):
                    return self.expression_numeric(s + 2, close - 1, depth + 1)
                return w in _NUMERIC_FUNCTIONS
            return False
        if kind == "(":
            first = self.word(s + 1)
            if first == "select":  # a scalar subquery: its first result column
                a = s + 2
                if self.word(a) in ("distinct", "all"):
                    a += 1
                b = a
                while b < e and self.kinds[b] != "," and self.word(b) not in _CLAUSE_ENDS:
                    b = self.skip(b)
                return self.expression_numeric(a, b - 1, depth + 1)
            if first in ("with", "values"):
                return False
            return self.expression_numeric(s + 1, e - 1, depth + 1)
        return False

    def expression_numeric(self, a: int, b: int, depth: int = 0) -> bool:
        """Whether tokens a..b are a number: arithmetic at their top level, or one numeric operand."""
        if depth > _MAX_NESTING or a > b:
            return False
        i = a
        while i <= b:
            if self.kinds[i] == "op":
                t = self.text(i)
                if t in ("+", "-", "/", "%"):
                    return True
                if t == "*" and i > a and self._ends_operand(i - 1):
                    return True
            i = self.skip(i)
        return self.operand_after(a) == b and self.numeric(a, b, depth + 1)

    def _ends_operand(self, i: int) -> bool:
        kind = self.kind(i)
        return kind in ("name", "num", "str", "dstr", ")") or (
            kind == "word" and self.word(i) not in _KEYWORDS
        )

    def side_numeric(self, s: int, e: int) -> bool:
        """Whether a comparison's operand s..e is a number: numeric itself, or joined to its
        neighbours by arithmetic (which binds tighter than any comparison)."""
        return self.numeric(s, e) or self.is_op(s - 1, _ARITHMETIC) or self.is_op(e + 1, _ARITHMETIC)


class _Edits:
    """Insertions and replacements at character positions, applied in one pass."""

    CLOSE, ESCAPE, ALIAS, DIVIDE, OPEN, REPLACE = range(6)  # order of edits at one position

    def __init__(self) -> None:
        self.items: list[tuple[int, int, int, str, int]] = []  # (pos, order, tie, text, end)

    def insert(self, pos: int, order: int, text: str, tie: int = 0) -> None:
        self.items.append((pos, order, tie, text, pos))

    def replace(self, start: int, end: int, text: str) -> None:
        self.items.append((start, self.REPLACE, 0, text, end))

    def wrap(self, start: int, end: int, before: str, after: str) -> None:
        # an outer wrap opens before and closes after an inner one at the same position
        self.insert(start, self.OPEN, before, -end)
        self.insert(end, self.CLOSE, after, -start)

    def touches(self, start: int, end: int) -> bool:
        """Whether an edit falls within [start, end] (call `freeze` after the last edit first)."""
        k = bisect.bisect_left(self._positions, start)
        return k < len(self._positions) and self._positions[k] <= end

    def freeze(self) -> None:
        self._positions = sorted(it[0] for it in self.items)

    def apply(self, sql: str) -> str:
        out, cur = [], 0
        for pos, _, _, text, end in sorted(self.items, key=lambda it: it[:3]):
            out.append(sql[cur:pos])
            out.append(text)
            cur = max(pos, end)
        out.append(sql[cur:])
        return "".join(out)


def _sqlite_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _mysql_string_value(body: str, quote: str) -> str:
    """The value of a MySQL string literal's body (between its quotes)."""
    out, i, n = [], 0, len(body)
    while i < n:
        c = body[i]
        if c == "\\" and i + 1 < n:
            nxt = body[i + 1]
            out.append(_MYSQL_ESCAPES.get(nxt, nxt))
            i += 2
        elif c == quote and i + 1 < n and body[i + 1] == quote:
            out.append(quote)
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def qualify_table_names(sql: str) -> str:
    """SEER's bare table names (`flight`, `flights`, `coffee`, `yelp`, `airbnb`, lower case) as the
    databases' tables, wherever such a word is not part of a dotted name nor an alias after AS."""
    lex = _Lexer(sql)
    edits = _Edits()
    for i in range(lex.n):
        if lex.kinds[i] != "word":
            continue
        table = BARE_TABLE_NAMES.get(lex.text(i))
        if table is None or "." in (lex.kind(i - 1), lex.kind(i + 1)) or lex.word(i - 1) == "as":
            continue
        edits.replace(lex.starts[i], lex.ends[i], table)
    return edits.apply(sql) if edits.items else sql


def mysql_to_sqlite(sql: str) -> str:
    """`sql` as MySQL reads it, written for SQLite over COLLATE NOCASE text columns (see above)."""
    lex = _Lexer(sql)
    edits = _Edits()
    for start, end in lex.comments:
        edits.replace(start, end, "")
    n = lex.n
    for i in range(n):
        kind = lex.kinds[i]
        if kind in ("str", "dstr"):
            raw = lex.text(i)
            if kind == "dstr" or "\\" in raw:
                closed = lex.closed[i]
                value = _mysql_string_value(raw[1 : -1 if closed else None], raw[0])
                text = _sqlite_string(value)
                # an unterminated literal stays unterminated: an error, as in MySQL
                edits.replace(lex.starts[i], lex.ends[i], text if closed else text[:-1])
                if "\\" in value and lex.word(i - 1) == "like" and lex.word(i + 1) != "escape":
                    edits.insert(lex.ends[i], _Edits.ESCAPE, " ESCAPE '\\'")
        elif kind == "op":
            t = lex.text(i)
            if t == "/":
                edits.insert(lex.starts[i], _Edits.DIVIDE, " * 1.0 ")
            elif t == "<=>":
                edits.replace(lex.starts[i], lex.ends[i], " IS ")
            if t in _COMPARISONS:
                _compare(lex, edits, i)
        elif kind == "word":
            w = lex.word(i)
            if w in ("in", "between"):
                _compare_set(lex, edits, i, w)
    if not edits.items:
        return sql
    edits.freeze()
    _keep_labels(lex, edits)
    return edits.apply(sql)


def _wrap_real(lex: _Lexer, edits: _Edits, s: int, e: int) -> None:
    edits.wrap(lex.starts[s], lex.ends[e], "CAST(", " AS REAL)")


def _compare(lex: _Lexer, edits: _Edits, k: int) -> None:
    """`a <op> b` with one side a number: the other side compares as a number too."""
    ls = lex.operand_before(k - 1)
    re_ = lex.operand_after(k + 1)
    if ls < 0 or re_ < 0:
        return
    left_num = lex.side_numeric(ls, k - 1)
    right_num = lex.side_numeric(k + 1, re_)
    if right_num and not left_num:
        _wrap_real(lex, edits, ls, k - 1)
    elif left_num and not right_num:
        _wrap_real(lex, edits, k + 1, re_)


def _compare_set(lex: _Lexer, edits: _Edits, k: int, word: str) -> None:
    """`x [NOT] IN (numbers)` and `x [NOT] BETWEEN a AND b` with a numeric bound: x as a number."""
    j = k - 2 if lex.word(k - 1) == "not" else k - 1
    xs = lex.operand_before(j)
    if xs < 0 or lex.side_numeric(xs, j):
        return
    if word == "in":
        if k + 1 >= lex.n or lex.kinds[k + 1] != "(" or lex.match[k + 1] < 0:
            return
        close = lex.match[k + 1]
        if lex.word(k + 2) in ("select", "with", "values") or close == k + 2:
            return
        a = k + 2
        while a < close:
            b = a
            while b < close and lex.kinds[b] != ",":
                b = lex.skip(b)
            if not lex.expression_numeric(a, b - 1):
                return
            a = b + 1
        _wrap_real(lex, edits, xs, j)
        return
    a = k + 1  # the lower bound runs to AND; no other keyword can come first
    while a < lex.n and lex.kinds[a] not in (")", ",", ";") and lex.word(a) not in _KEYWORDS:
        a = lex.skip(a)
    if lex.word(a) != "and":
        return
    hi_end = lex.operand_after(a + 1)
    low = lex.expression_numeric(k + 1, a - 1)
    high = hi_end >= 0 and lex.side_numeric(a + 1, hi_end)
    if low or high:
        _wrap_real(lex, edits, xs, j)


def _keep_labels(lex: _Lexer, edits: _Edits) -> None:
    """Give each result column of the outermost SELECT that a rewrite touched, and that has no
    alias, its text as written as an alias: its label stays what the query as written gives."""
    i = 0
    while i < lex.n and lex.word(i) != "select":
        i = lex.skip(i)
    if i >= lex.n:
        return
    i += 1
    if lex.word(i) in ("distinct", "all"):
        i += 1
    while i < lex.n:
        a = i
        while i < lex.n and lex.kinds[i] not in (",", ";", ")") and lex.word(i) not in _CLAUSE_ENDS:
            i = lex.skip(i)
        b = min(i, lex.n) - 1
        if b >= a and not _has_alias(lex, a, b):
            start, end = lex.starts[a], lex.ends[b]
            if edits.touches(start, end):
                label = lex.sql[start:end].replace('"', '""')
                edits.insert(end, _Edits.ALIAS, f' AS "{label}"')
        if i >= lex.n or lex.kinds[i] != ",":
            return
        i += 1


def _has_alias(lex: _Lexer, a: int, b: int) -> bool:
    """Whether result column a..b ends with an alias (`expr AS name` or `expr name`)."""
    if b <= a or lex.kinds[b] not in ("word", "name", "str", "dstr"):
        return False
    if lex.kinds[b] == "word" and lex.word(b) in _NOT_AN_ALIAS:
        return False
    return lex.word(b - 1) == "as" or lex._ends_operand(b - 1)


# --------------------------------------------------------------------------------- worker side

# seccomp policy: syscalls refused with EPERM, and the opens (flags argument index) refused when they
# ask to write, create or truncate; everything else is allowed. Built in the host
# (`seccomp_program`), installed by the worker.
SECCOMP_DENIED = (
    "socket connect accept bind listen socketpair accept4 "  # network
    "clone fork vfork execve execveat clone3 "  # processes, exec
    "kill tkill tgkill pidfd_send_signal pidfd_open "  # signals to other processes
    "ptrace process_vm_readv process_vm_writev perf_event_open bpf userfaultfd "
    "truncate rename mkdir rmdir creat link unlink symlink chmod fchmod chown fchown lchown mknod "
    "mkdirat mknodat fchownat unlinkat renameat linkat symlinkat fchmodat renameat2 utimensat utime "
    "utimes futimesat setxattr lsetxattr fsetxattr removexattr lremovexattr fremovexattr "  # file changes
    "mount umount2 pivot_root chroot unshare setns "
    "init_module delete_module finit_module kexec_load kexec_file_load reboot swapon swapoff "
    "add_key request_key keyctl io_uring_setup io_uring_enter io_uring_register openat2 open_by_handle_at"
).split()
SECCOMP_OPENS = {"open": 1, "openat": 2}  # open(path, flags), openat(dir, path, flags)
_WRITE_FLAGS = 0o1 | 0o2 | 0o100 | 0o1000 | 0o2000  # O_WRONLY O_RDWR O_CREAT O_TRUNC O_APPEND


def seccomp_program(machine: str | None = None) -> bytes:
    """The worker's seccomp filter for `machine` (default: this one), b"" where there is no table."""
    from seer_env.envs.toolqa import seccomp as bpf

    machine = machine or os.uname().machine
    if machine not in bpf.TABLES:
        return b""
    deny = bpf.errno(1)  # EPERM
    rules: dict = {name: deny for name in SECCOMP_DENIED}
    for name, arg in SECCOMP_OPENS.items():
        rules[name] = bpf.ArgCheck(arg, (("any_bits", _WRITE_FLAGS, deny),), bpf.ALLOW)
    return bpf.build_program(machine, rules, default=bpf.ALLOW)


def _isolate() -> bool:
    """Namespaces with an empty root and no network (`sandbox_kernel.isolate_from_files_and_network`,
    loaded from its file: this one runs as a script), once the databases are open. False where the
    kernel (or this architecture) does not allow it: the rest of the confinement still holds."""
    if not sys.platform.startswith("linux"):
        return False
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox_kernel.py")
    try:
        spec = importlib.util.spec_from_file_location("seer_sandbox_kernel", path)
        kernel = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(kernel)
        if not kernel.supported_machine():
            return False
        kernel.isolate_from_files_and_network()
    except (OSError, ImportError, AttributeError, StopIteration):
        return False
    return True


def _harden(memory_mb: int, program: bytes = b"") -> list[str]:
    """Confine this (worker) process as far as the platform allows, `program` its seccomp filter
    (from `seccomp_program`, built by the parent); returns what took effect."""
    import resource

    ctypes = None
    if sys.platform.startswith("linux"):
        import ctypes  # before the limits below: imports need to open files
    done = []
    try:
        top_fd = max(int(fd) for fd in os.listdir("/proc/self/fd"))
    except (ValueError, OSError):
        top_fd = -1
    if _isolate():
        done.append("namespaces")
    for name, value in (("RLIMIT_CORE", 0), ("RLIMIT_FSIZE", 0), ("RLIMIT_NPROC", 0)):
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
            done.append(name.lower())
        except (ValueError, OSError, AttributeError):
            pass
    try:
        cap = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        done.append("rlimit_as")
    except (ValueError, OSError):
        pass
    try:
        if top_fd < 0:
            raise ValueError("no /proc")
        resource.setrlimit(resource.RLIMIT_NOFILE, (top_fd + 1, top_fd + 1))
        done.append("rlimit_nofile")
    except (ValueError, OSError):
        pass
    if hasattr(os, "getuid") and os.getuid() == 0:
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            done.append("nobody")
        except OSError:
            pass
    if ctypes is None:
        return done
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0:  # PR_SET_PDEATHSIG
        done.append("pdeathsig")
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS, needed for an unprivileged filter
        return done
    done.append("no_new_privs")
    if program:
        buf = ctypes.create_string_buffer(program, len(program))

        class SockFprog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

        fprog = SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
        if libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) == 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
            done.append("seccomp")
    return done


def _read_frame(stream) -> bytes | None:
    head = stream.read(4)
    if len(head) < 4:
        return None
    (n,) = struct.unpack(">I", head)
    data = stream.read(n)
    return data if len(data) == n else None


def _reply(out, head: dict, text: bytes = b"") -> None:
    payload = json.dumps(head).encode()
    out.write(struct.pack(">I", len(payload)) + payload + struct.pack(">I", len(text)) + text)
    out.flush()


_TABLE_FOR_SCHEMA = {
    "flights": "flights_data",
    "coffee": "coffee_data",
    "airbnb": "airbnb_data",
    "yelp": "yelp_data",
}
_STATEMENT_STARTS = ("select", "with", "values")


def _first_word(sql: str) -> str:
    """The first keyword of a statement, past whitespace, comments and opening parentheses."""
    i, n = 0, len(sql)
    while i < n:
        if sql[i].isspace() or sql[i] == "(":
            i += 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            break
    j = i
    while j < n and (sql[j].isalnum() or sql[j] == "_"):
        j += 1
    return sql[i:j].lower()


def _connect(databases: dict[str, str], memory_mb: int):
    import sqlite3

    con = sqlite3.connect("file::memory:", uri=True, isolation_level=None)
    for schema, path in databases.items():
        if schema not in _TABLE_FOR_SCHEMA:
            raise ValueError(f"unknown schema {schema!r}")
        uri = (
            "file:"
            + path.replace("%", "%25").replace("?", "%3f").replace("#", "%23")
            + "?mode=ro&immutable=1"
        )
        con.execute("ATTACH DATABASE ? AS " + schema, (uri,))
        con.execute(f"SELECT count(*) FROM {schema}.sqlite_master").fetchone()  # open the file now
    heap = max(64, memory_mb * 3 // 4) * 2**20
    for pragma in (
        "query_only = ON",
        "temp_store = MEMORY",
        "trusted_schema = OFF",
        f"hard_heap_limit = {heap}",
    ):
        con.execute("PRAGMA " + pragma)
    for name, value in SQL_LIMITS:
        if hasattr(sqlite3, name):
            con.setlimit(getattr(sqlite3, name), value)
    con.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, len(databases))
    # each table lives in one schema; an unqualified name that reads no column comes with no schema
    readable = {_TABLE_FOR_SCHEMA[s]: s for s in databases}
    schema_tables = ("sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema")

    def authorize(action, arg1, arg2, dbname, source):
        if action == sqlite3.SQLITE_SELECT:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_READ:
            ok = arg1 in schema_tables or (arg1 in readable and dbname in (None, readable[arg1]))
            return sqlite3.SQLITE_OK if ok else sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_FUNCTION:
            ok = isinstance(arg2, str) and arg2.lower() in ALLOWED_FUNCTIONS
            return sqlite3.SQLITE_OK if ok else sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_DENY

    con.set_authorizer(authorize)
    return con


def _cell(value, budget: int) -> str:
    s = value if isinstance(value, str) else str(value)
    return s if len(s) <= budget else s[:budget]


def _query(con, state: dict, req: dict) -> tuple[dict, bytes]:
    sql = req.get("sql")
    max_rows = int(req.get("max_rows", 1000))
    max_bytes = int(req.get("max_bytes", 1 << 20))
    if not isinstance(sql, str) or _first_word(sql) not in _STATEMENT_STARTS:
        return {"status": "error", "error": "only SELECT statements"}, b""
    state["deadline"] = time.monotonic() + float(req.get("timeout", 10.0))
    parts: list[bytes] = []
    size = rows = 0
    more = cut = False
    try:
        if req.get("dialect") == "mysql":
            sql = mysql_to_sqlite(sql)  # within the call's limit: the parent kills a worker past it
        cur = con.execute(sql)
        if cur.description is None:
            return {"status": "error", "error": "not a query"}, b""
        keys = [d[0] for d in cur.description]
        for row in cur:
            if rows >= max_rows:
                more = True
                break
            budget = max_bytes - size  # characters are at least one byte each
            line = ", ".join(f"{k}: {_cell(v, budget)}" for k, v in zip(keys, row, strict=False))
            data = (line if rows == 0 else "\n" + line).encode("utf-8", errors="replace")
            rows += 1
            if size + len(data) > max_bytes:
                cut = True
                data = data[: max_bytes - size].decode("utf-8", errors="ignore").encode("utf-8")
                parts.append(data)
                size += len(data)
                break
            parts.append(data)
            size += len(data)
    except MemoryError:
        return {"status": "error", "error": "out of memory"}, b""
    except Exception as exc:
        status = "timeout" if "interrupted" in str(exc) else "error"
        return {"status": status, "error": f"{type(exc).__name__}: {exc}"[:200]}, b""
    finally:
        state["deadline"] = 0.0
    return {"status": "ok", "rows": rows, "more_rows": more, "cut": cut}, b"".join(parts)


def _serve() -> int:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    raw = _read_frame(stdin)
    if raw is None:
        return 1
    state = {"deadline": 0.0}
    try:
        cfg = json.loads(raw)
        con = _connect(dict(cfg["databases"]), int(cfg["memory_mb"]))
        con.set_progress_handler(
            lambda: 1 if state["deadline"] and time.monotonic() > state["deadline"] else 0, 10_000
        )
        hardening = _harden(int(cfg["memory_mb"]), bytes.fromhex(cfg.get("seccomp") or ""))
    except Exception as exc:
        _reply(stdout, {"ready": False, "error": f"{type(exc).__name__}: {exc}"[:500]})
        return 1
    _reply(stdout, {"ready": True, "hardening": hardening})
    while True:
        raw = _read_frame(stdin)
        if raw is None:
            return 0
        try:
            head, text = _query(con, state, json.loads(raw))
        except Exception as exc:  # a malformed request: answer it, keep serving
            head, text = {"status": "error", "error": type(exc).__name__}, b""
        _reply(stdout, head, text)


if __name__ == "__main__":
    sys.exit(_serve())

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
  first; the parent never reads more than that back.

The worker process itself (Linux): a fresh `python -I -S -B` with an empty environment, its own
session, killed if the thread that started it ends; after opening the databases it drops to
`nobody` when started as root, sets no-new-privileges, rlimits (no core files, no file bytes written,
no new processes, no more open files than it has, an address-space cap) and a seccomp filter that
refuses sockets, process creation, exec, signals to other processes, and opening files for writing
or creating, renaming or deleting them. `SQLWorker.hardening` lists what took effect.

The worker side (`_serve`) uses only the standard library: this file runs as a script.
"""

from __future__ import annotations

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
        cfg = {"databases": self.databases, "memory_mb": self.memory_mb}
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

    def run(self, sql: str, timeout: float, max_rows: int, max_bytes: int) -> SQLReply:
        request = {"sql": sql, "timeout": max(0.0, timeout), "max_rows": max_rows, "max_bytes": max_bytes}
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


# --------------------------------------------------------------------------------- worker side

# seccomp: syscalls refused with EPERM, and (number, argument index of the flags) of the opens that
# are refused when they ask to write, create or truncate.
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_DENIED = {
    "x86_64": [
        41, 42, 43, 49, 50, 53, 288,  # socket connect accept bind listen socketpair accept4
        56, 57, 58, 59, 322, 435,  # clone fork vfork execve execveat clone3
        62, 200, 234, 424, 434,  # kill tkill tgkill pidfd_send_signal pidfd_open
        101, 310, 311, 298, 321, 323,  # ptrace process_vm_readv/writev perf_event_open bpf userfaultfd
        76, 82, 83, 84, 85, 86, 87, 88, 90, 91, 92, 93, 94, 133,  # truncate rename mkdir rmdir creat link
        258, 259, 260, 263, 264, 265, 266, 268, 316, 280, 132, 235, 261,  # unlink symlink chmod chown mknod *at utime*
        188, 189, 190, 197, 198, 199,  # setxattr lsetxattr fsetxattr removexattr ...
        165, 166, 155, 161, 272, 308,  # mount umount2 pivot_root chroot unshare setns
        175, 176, 313, 246, 320, 169, 167, 168,  # modules kexec reboot swapon swapoff
        248, 249, 250, 425, 426, 427, 437, 304,  # keys io_uring openat2 open_by_handle_at
    ],
    "aarch64": [
        198, 199, 200, 201, 202, 203, 242,  # socket socketpair bind listen accept connect accept4
        220, 221, 281, 435,  # clone execve execveat clone3
        129, 130, 131, 424, 434,  # kill tkill tgkill pidfd_send_signal pidfd_open
        117, 270, 271, 241, 280, 282,  # ptrace process_vm_readv/writev perf_event_open bpf userfaultfd
        45, 33, 34, 35, 36, 37, 38, 276, 52, 53, 54, 55, 88,  # truncate mknodat mkdirat unlinkat ... utimensat
        5, 6, 7, 14, 15, 16,  # xattrs
        40, 39, 41, 51, 97, 268,  # mount umount2 pivot_root chroot unshare setns
        105, 106, 273, 104, 142, 224, 225,  # modules kexec reboot swapon swapoff
        217, 218, 219, 425, 426, 427, 437, 265,  # keys io_uring openat2 open_by_handle_at
    ],
}  # fmt: skip
_OPENS = {"x86_64": [(2, 1), (257, 2)], "aarch64": [(56, 2)]}  # open(path, flags), openat(dir, path, flags)
_WRITE_FLAGS = 0o1 | 0o2 | 0o100 | 0o1000 | 0o2000  # O_WRONLY O_RDWR O_CREAT O_TRUNC O_APPEND


def _seccomp_program(machine: str) -> list[tuple[int, int, int, int]]:
    """A classic-BPF seccomp filter (code, jt, jf, k) for this machine, or [] when unsupported."""
    if machine not in _AUDIT_ARCH:
        return []
    ld_abs, jeq, jset, jge, ret = 0x20, 0x15, 0x45, 0x35, 0x06
    allow, deny, kill = 0x7FFF0000, 0x00050000 | 1, 0x80000000  # ALLOW, ERRNO(EPERM), KILL_PROCESS
    prog = [(ld_abs, 0, 0, 4), (jeq, 1, 0, _AUDIT_ARCH[machine]), (ret, 0, 0, kill), (ld_abs, 0, 0, 0)]
    if machine == "x86_64":  # the x32 ABI shares the arch value: refuse it
        prog += [(jge, 0, 1, 0x40000000), (ret, 0, 0, deny)]
    for nr in _DENIED[machine]:
        prog += [(jeq, 0, 1, nr), (ret, 0, 0, deny)]
    for nr, arg in _OPENS[machine]:
        # args[i] starts at offset 16 + 8 i; its low 32 bits come first (little-endian)
        prog += [
            (jeq, 0, 4, nr),
            (ld_abs, 0, 0, 16 + 8 * arg),
            (jset, 0, 1, _WRITE_FLAGS),
            (ret, 0, 0, deny),
            (ret, 0, 0, allow),
        ]
    prog.append((ret, 0, 0, allow))
    return prog


def _harden(memory_mb: int) -> list[str]:
    """Confine this (worker) process as far as the platform allows; returns what took effect."""
    import resource

    ctypes = None
    if sys.platform.startswith("linux"):
        import ctypes  # before the limits below: imports need to open files
    done = []
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
        top = max(int(fd) for fd in os.listdir("/proc/self/fd"))
        resource.setrlimit(resource.RLIMIT_NOFILE, (top + 1, top + 1))
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
    prog = _seccomp_program(os.uname().machine)
    if prog:

        class SockFilter(ctypes.Structure):
            _fields_ = [
                ("code", ctypes.c_ushort),
                ("jt", ctypes.c_ubyte),
                ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint32),
            ]

        class SockFprog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

        arr = (SockFilter * len(prog))(*[SockFilter(*ins) for ins in prog])
        fprog = SockFprog(len(prog), arr)
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
        hardening = _harden(int(cfg["memory_mb"]))
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

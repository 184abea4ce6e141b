"""The 13 ToolQA tools with the references' semantics and messages.

Each tool takes ONE argument string, exactly as ToolQA's ReAct dispatcher hands it over, and splits
it itself (on ", "), so arity and quoting errors behave as in the reference. A `ToolQAToolkit` holds
one episode's state (current table and its filtered rows, whether DBLP is loaded); the corpus under
it is shared read-only. Its tool profile (`profiles.ToolProfile`) chooses whose behaviour the tools
follow where ToolQA's and SEER's code differ, and classifies every failure by what that reference
would have done (docs/tool_profiles.md). Deliberate differences from both references: Calculate is
local and safe, SQLInterpreter runs on read-only SQLite, PythonInterpreter runs in a limited child
process, retrievers use sentence-transformers + faiss, EdgeCheck does not mutate the graph, and
`typed_filters=True` compares numbers as numbers.

Every call is bounded (docs/tool_limits.md): each tool's argument has a maximum length
(`MAX_ARGUMENT_CHARS`), each call a wall-time limit, and each result a cap in bytes, cut while it
is built in SEER's style (`...[too long, cannot be fully displayed]`). Corpus loads that can outlast
a call (first LoadDB, LoadGraph, a retriever's index, a table's SQL copy) run on a background thread:
a call that runs out of time answers that the data is still being prepared, and the load goes on
into the shared corpus caches, never into the toolkit's state. SQL runs in a worker process that is
killed at its limit (`seer_env.envs.toolqa.sqlworker`).
"""

from __future__ import annotations

import ast
import atexit
import concurrent.futures
import logging
import math
import operator
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seer_env.envs.toolqa import corpus as _corpus
from seer_env.envs.toolqa.profiles import (
    CUT_SUFFIX,
    MSG_SEER_PY_ERR,
    MSG_SEER_PY_TIMEOUT,
    TOOLQA,
    ToolProfile,
    resolve_profile,
)
from seer_env.types import ToolSpec

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------ messages

MSG_LOADDB_OK = "We have successfully loaded the {} database, including the following columns: {}."
MSG_LOADDB_ERR = (
    "The database you want to query in not in the list. Please change another database for query."
)
MSG_FILTER_OK = "We have successfully filtered the data ({} rows)."
MSG_FILTER_EMPTY = "The filtering query {} is incorrect. Please modify the condition."
MSG_FILTER_FAIL = "we have failed when conducting the {} command. Please make changes."
MSG_FILTER_ERR = "There is something wrong with the arguments you send for filtering. Please modify it."
MSG_GETVALUE_ERR = "The value you are querying does not exist. Please modify it."
MSG_LOADGRAPH_OK = "DBLP data is loaded, including two graphs: AuthorNet and PaperNet."
MSG_LOADGRAPH_ERR = "The graph you want to query in not in the list. Please change another graph for query."
MSG_NEIGHBOUR_ERR = (
    "There is something wrong with the arguments you send for neighbour checking. Please modify it."
)
MSG_NODE_MISSING = "The node does not exist in the graph. Please modify it."
MSG_NODE_ERR = "There is something wrong with the arguments you send for node checking. Please modify it."
MSG_EDGE_MISSING = "There is no edge between the two nodes. Please modify it."
MSG_EDGE_ERR = "There is something wrong with the arguments you send for edge checking. Please modify it."
MSG_RETRIEVE_ERR = "There is no information that can be matched in the database. Please try another query."
MSG_CALC_ERR = TOOLQA.calculate_error
MSG_SQL_ERR = "There is something wrong with the SQL command you send. Please modify it."
MSG_PY_ERR = "An error occurred: {}"
MSG_EMPTY_ACTION = (
    "You action is filtered due to content. Please assume all the actions are permitted in this "
    "environment and take the action again."
)
MSG_MULTI_ACTION = "You are sending multiple actions at once. Please send one action at a time."
MSG_INVALID_ACTION = (
    "Invalid Action. Valid Actions are Calculate [<Formula>] RetrieveAgenda[<Content>] "
    "RetrieveScirex[<Content>] LoadDB[<DBName>] FilterDB[<Condition>, <Condition>, ...] "
    "GetValue[<Column>] LoadGraph[<GraphName>] NeighbourCheck[<GraphName>, <Node>] "
    "NodeCheck[<GraphName>, <Node>] EdgeCheck[<GraphName>, <Node1>, <Node2>] "
    "SQLInterpreter[<SQLCommand>] PythonInterpreter[<PythonCode>] and Finish[<answer>]."
)

MSG_ARGUMENT_TOO_LONG = (
    "The argument of {tool} is too long ({n} characters; at most {limit}). Please shorten it."
)
MSG_TIMEOUT = "The {tool} call took longer than {limit:g} seconds and was stopped. Please modify it."
MSG_PREPARING = "{what} is still being prepared for its first use. Please try again in a moment."
MSG_SQL_ROWS_CUT = "\n...[only the first {} rows are shown]"

# Longest argument each tool takes, in characters (docs/tool_limits.md). Longer ones get
# MSG_ARGUMENT_TOO_LONG, which does not quote them. PythonInterpreter and Finish are bounded by the
# action size limit (`seer_env.actions.MAX_ACTION_CHARS`).
MAX_ARGUMENT_CHARS = {
    "Calculate": 2_000,
    "LoadDB": 64,
    "FilterDB": 4_096,
    "GetValue": 256,
    "LoadGraph": 64,
    "NeighbourCheck": 8_192,
    "NodeCheck": 8_192,
    "EdgeCheck": 8_192,
    "RetrieveAgenda": 8_192,
    "RetrieveScirex": 8_192,
    "SQLInterpreter": 16_384,
}
DEFAULT_TOOL_TIMEOUT = 10.0  # seconds, every tool but PythonInterpreter and SQLInterpreter
# A realistic answer (a filtered column, a few thousand rows of SQL) is far smaller; GetValue on an
# unfiltered 4-million-row table would be tens of megabytes.
DEFAULT_MAX_OUTPUT_BYTES = 1 << 20

DB_NAMES = ("flights", "coffee", "airbnb", "yelp")
DB_ALIASES = {"flight": "flights"}  # the question domain `flight` reads the `flights` table

# ---------------------------------------------------------------------------------- tool specs


def _spec(name: str, description: str, params: list[tuple[str, str, list[str]]]) -> ToolSpec:
    props = {p: {"type": "string", "description": d, "examples": ex} for p, d, ex in params}
    return ToolSpec(
        name, description, {"type": "object", "properties": props, "required": [p for p, _, _ in params]}
    )


_TITLES = [
    "Learning the Principle of Least Action with Reinforcement Learning.",
    "HRFormer: High-Resolution Vision Transformer for Dense Predict.",
]
_AUTHORS = ["Chao Zhang", "Weihong Lin", "He Zhang"]

TOOL_SPECS: list[ToolSpec] = [
    _spec(
        "Calculate",
        "Calculate a mathematical formula, e.g. Calculate[(2 + 3) * 4 / 5].",
        [("formula", "an arithmetic expression", ["1+2", "(1123 - 1058) / 60", "3*4.5", "2**10", "100/7"])],
    ),
    _spec(
        "RetrieveAgenda",
        "Retrieve the 3 agenda event descriptions most related to a keyword or question.",
        [
            (
                "keyword",
                "what to search for",
                ["Amelia's agenda on 2022/01/29", "opera performance", "meeting"],
            )
        ],
    ),
    _spec(
        "RetrieveScirex",
        "Retrieve the 3 passages of machine-learning papers most related to a keyword or question.",
        [
            (
                "keyword",
                "what to search for",
                ["F1 score of BiDAF on SQuAD", "semantic segmentation", "accuracy"],
            )
        ],
    ),
    _spec(
        "LoadDB",
        "Load a database (flights, coffee, airbnb or yelp) as the current table.",
        [("DBName", "flights, coffee, airbnb or yelp", list(DB_NAMES))],
    ),
    _spec(
        "FilterDB",
        "Filter the current table by conditions `column<op>value` (op one of =, >, <, >=, <=), "
        "separated by ', ', e.g. FilterDB[Origin=ATL, FlightDate=2022-01-12]. Values compare as text.",
        [
            (
                "condition",
                "one or more conditions separated by ', '",
                [
                    "Origin=ATL",
                    "Date>=2010-01-01, Date<=2010-12-31",
                    "FlightDate=2022-01-12",
                    "stars=4.5",
                    "Close>100",
                ],
            )
        ],
    ),
    _spec(
        "GetValue",
        "Return the values of a column of the current (filtered) table.",
        [("column_name", "a column of the current table", ["DepTime", "Close", "price", "stars", "Airline"])],
    ),
    _spec(
        "LoadGraph",
        "Load the DBLP citation and co-authorship graphs (name: dblp).",
        [("GraphName", "dblp", ["dblp"])],
    ),
    _spec(
        "NeighbourCheck",
        "List the neighbours of a node: PaperNet (papers a paper cites) or AuthorNet (collaborators).",
        [
            ("GraphName", "PaperNet or AuthorNet", ["PaperNet", "AuthorNet"]),
            ("Node", "a paper title or author name", _AUTHORS + _TITLES),
        ],
    ),
    _spec(
        "NodeCheck",
        "Show the attributes of a node of PaperNet or AuthorNet.",
        [
            ("GraphName", "PaperNet or AuthorNet", ["PaperNet", "AuthorNet"]),
            ("Node", "a paper title or author name", _TITLES + _AUTHORS),
        ],
    ),
    _spec(
        "EdgeCheck",
        "Show the attributes of the edge between two nodes of PaperNet or AuthorNet.",
        [
            ("GraphName", "PaperNet or AuthorNet", ["AuthorNet", "PaperNet"]),
            ("Node1", "first node", _AUTHORS),
            ("Node2", "second node", _AUTHORS),
        ],
    ),
    _spec(
        "SQLInterpreter",
        "Run one SQL SELECT on the tables flights.flights_data, coffee.coffee_data, airbnb.airbnb_data, "
        "yelp.yelp_data (all columns text).",
        [
            (
                "SQL",
                "one SELECT statement",
                [
                    "SELECT COUNT(*) FROM flights.flights_data WHERE Origin='ATL'",
                    "SELECT Close FROM coffee.coffee_data WHERE Date='2010-01-04'",
                    "SELECT AVG(stars) FROM yelp.yelp_data",
                ],
            )
        ],
    ),
    _spec(
        "PythonInterpreter",
        "Run Python code in a sandbox; the value of the variable `ans` is returned.",
        [
            (
                "Python",
                "Python code that sets the answer variable",
                ["ans = 1 + 2", "ans = sum([1, 2, 3]) / 3", "x = 5\nans = x * 2"],
            )
        ],
    ),
    _spec(
        "Finish",
        "Finish with the final answer.",
        [("answer", "the final answer", ["42", "Yes", "No", "21:43"])],
    ),
]

TOOL_NAMES = [t.name for t in TOOL_SPECS]
SQL_MYSQL_NOTE = "; they compare as in MySQL: ignoring case, and as numbers against a number"
SQL_BARE_NAMES_NOTE = "; flights, coffee, airbnb and yelp alone name the tables too"


def tool_specs(
    answer_var: str = "ans", sql_dialect: str = "sqlite", sql_bare_names: bool = False
) -> list[ToolSpec]:
    """TOOL_SPECS with the PythonInterpreter description naming the configured answer variable and
    the SQLInterpreter description saying how its comparisons work and which table names it takes
    (`ToolProfile.sql_dialect`, `ToolProfile.sql_bare_names`)."""
    out = []
    for s in TOOL_SPECS:
        if s.name == "PythonInterpreter" and answer_var != "ans":
            props = {"Python": dict(s.parameters["properties"]["Python"])}
            props["Python"]["examples"] = [e.replace("ans", answer_var) for e in props["Python"]["examples"]]
            s = ToolSpec(
                s.name,
                s.description.replace("`ans`", f"`{answer_var}`"),
                {"type": "object", "properties": props, "required": ["Python"]},
            )
        elif s.name == "SQLInterpreter" and (sql_dialect == "mysql" or sql_bare_names):
            notes = (SQL_MYSQL_NOTE if sql_dialect == "mysql" else "") + (
                SQL_BARE_NAMES_NOTE if sql_bare_names else ""
            )
            s = ToolSpec(
                s.name,
                s.description.replace("(all columns text)", f"(all columns text{notes})"),
                s.parameters,
            )
        out.append(s)
    return out


# --------------------------------------------------------------------------------- calculator

_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNOPS = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_MAX_MAGNITUDE = 1e300


def _eval_node(node: ast.AST) -> int | float:
    if isinstance(node, ast.Expression):
        return _eval_node(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNOPS:
        return _UNOPS[type(node.op)](_eval_node(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _eval_node(node.left), _eval_node(node.right)
        if isinstance(node.op, ast.Pow):
            # bound the work: no huge exponents, no towers of big integers
            if abs(right) > 1000 or (abs(left) > 1 and abs(right) * math.log10(abs(left)) > 300):
                raise ValueError("exponent too large")
            if isinstance(left, int) and isinstance(right, int) and right >= 0:
                return left**right
            return float(left) ** float(right)
        result = _BINOPS[type(node.op)](left, right)
        if isinstance(result, complex) or abs(result) > _MAX_MAGNITUDE:
            raise ValueError("result out of range")
        return result
    raise ValueError(f"not allowed in a formula: {type(node).__name__}")


def calculate(formula: str) -> str:
    """Evaluate arithmetic (numbers, + - * / // % ** or ^, parentheses) without eval()."""
    text = formula.strip().replace("^", "**").replace("×", "*").replace("÷", "/")
    if not text or len(text) > 2000:
        raise ValueError("empty or too long")
    value = _eval_node(ast.parse(text, mode="eval"))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("not finite")
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return f"{value:.10g}"
    return str(value)


# -------------------------------------------------------------------------------------- result


def compare_strings(values: np.ndarray, op: str, value: str) -> np.ndarray:
    """FilterDB's comparison of string cells with a string value (`=` exact, others lexicographic),
    as a boolean mask; `op` is one of `=`, `>=`, `<=`, `>`, `<`."""
    if op == "=":
        mask = values == value
    elif op == ">=":
        mask = values >= value
    elif op == "<=":
        mask = values <= value
    elif op == ">":
        mask = values > value
    else:
        mask = values < value
    return np.asarray(mask, dtype=bool)


@dataclass
class ToolResult:
    """What a tool call gave: the observation text, whether it worked, the coarse error ("tool_error",
    "timeout", "bad_arguments", "unknown_tool") and the failure's kind as the profile's reference
    would have seen it (`profiles.ERROR_KINDS`)."""

    observation: str
    ok: bool = True
    error: str | None = None
    kind: str | None = None


def _err(text: str, error: str = "tool_error", kind: str = "tool_exception") -> ToolResult:
    """A failed call; by default one whose reference tool raised (its dispatcher's message)."""
    return ToolResult(text, False, error, kind)


def _msg(text: str) -> ToolResult:
    """A failed call whose reference tool returned the failure as its ordinary result."""
    return ToolResult(text, False, "tool_error", "tool_message")


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _utf8_prefix(text: str, max_bytes: int) -> str:
    """The longest prefix of `text` whose UTF-8 form fits in `max_bytes`."""
    return text.encode("utf-8", "surrogatepass")[: max(0, max_bytes)].decode("utf-8", "ignore")


def cap_output(text: str, max_bytes: int) -> str:
    """`text`, or its first `max_bytes` bytes (UTF-8) followed by CUT_SUFFIX when it is longer."""
    if len(text) * 4 <= max_bytes or _utf8_len(text) <= max_bytes:
        return text
    return _utf8_prefix(text, max_bytes) + CUT_SUFFIX


class _CappedText:
    """Text built piece by piece that stops growing at `max_bytes` (the rest is never built)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.parts: list[str] = []
        self.size = 0
        self.full = False

    def add(self, piece: str) -> bool:
        """Append; False once the cap is reached (the piece is cut to what still fits)."""
        if self.full:
            return False
        n = _utf8_len(piece)
        if self.size + n > self.max_bytes:
            self.parts.append(_utf8_prefix(piece, self.max_bytes - self.size))
            self.full = True
            return False
        self.parts.append(piece)
        self.size += n
        return True

    def text(self) -> str:
        return "".join(self.parts) + (CUT_SUFFIX if self.full else "")


class _OutOfTime(Exception):
    """The call's wall-time limit passed (the toolkit answers MSG_TIMEOUT)."""


class _StillPreparing(_OutOfTime):
    """A corpus load outlasted the call; it goes on in the background."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


EXIT_WAIT = 60.0  # seconds the interpreter's exit waits for background work still running
_running: set[concurrent.futures.Future] = set()
_running_lock = threading.Lock()


def _in_background(fn: Callable[[], Any], timeout: float) -> Any:
    """fn() on a daemon thread, waited for at most `timeout` seconds (TimeoutError past that, while
    fn goes on). The thread is a daemon so that it never holds an exit up for long; `_drain` lets it
    finish first (native code such as torch aborts the process if torn down mid-call)."""
    fut: concurrent.futures.Future = concurrent.futures.Future()
    fut.set_running_or_notify_cancel()

    def work() -> None:
        try:
            fut.set_result(fn())
        except BaseException as exc:  # handed to the waiting caller
            fut.set_exception(exc)
        finally:
            with _running_lock:
                _running.discard(fut)

    with _running_lock:
        _running.add(fut)
    threading.Thread(target=work, name="toolqa-tool", daemon=True).start()
    try:
        return fut.result(timeout=max(0.0, timeout))
    except concurrent.futures.TimeoutError:
        raise TimeoutError from None


@atexit.register
def _drain() -> None:
    with _running_lock:
        pending = list(_running)
    if pending:
        log.info("waiting up to %g s for %d ToolQA corpus loads to finish", EXIT_WAIT, len(pending))
        concurrent.futures.wait(pending, timeout=EXIT_WAIT)


# ------------------------------------------------------------------------------------- toolkit


class ToolQAToolkit:
    """One episode's tool state over a shared corpus.

    root: the ToolQA root (None: only Calculate, PythonInterpreter and Finish work).
    profile: "toolqa" (the ToolQA reference's tool behaviour), "seer" (SEER's) or a `ToolProfile`;
        `typed_filters`, `answer_var` and `max_obs_chars` override its fields when given
        (`max_obs_chars=0`: no cut).
    tool_timeout: wall-time limit (seconds) of every call but PythonInterpreter (`python_timeout`)
        and SQLInterpreter (`sql_timeout`).
    max_output_bytes: cap on a result's UTF-8 size; a longer result is cut with CUT_SUFFIX.
    sql_max_rows: cap on the rows SQLInterpreter shows; sql_memory_mb: its worker's memory cap.
    python_isolation: "kernel", "weak" or None (see `sandbox.resolve_isolation`); the protection in
        force is `python_sandbox`: "kernel", "weak" or "refused" (PythonInterpreter then answers
        with a message naming the opt-in).
    """

    def __init__(
        self,
        root: Path | None,
        typed_filters: bool | None = None,
        embedder: Any = None,
        answer_var: str | None = None,
        python_timeout: float = 5.0,
        python_memory_mb: int = 1024,
        sql_timeout: float = 10.0,
        sql_max_rows: int = 1000,
        tool_timeout: float = DEFAULT_TOOL_TIMEOUT,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
        sql_memory_mb: int = 1024,
        python_isolation: str | None = None,
        profile: str | ToolProfile = "toolqa",
        max_obs_chars: int | None = None,
    ):
        from seer_env.envs.toolqa.sandbox import resolve_isolation

        self.profile = resolve_profile(profile, typed_filters, answer_var, max_obs_chars)
        for label, v in (("tool_timeout", tool_timeout), ("sql_timeout", sql_timeout)):
            if not (v > 0 and math.isfinite(v)):
                raise ValueError(f"{label} must be a positive number of seconds, not {v!r}")
        if max_output_bytes < 1:
            raise ValueError(f"max_output_bytes must be positive, not {max_output_bytes!r}")
        self.root = Path(root) if root is not None else None
        self.typed_filters = self.profile.typed_filters
        self.embedder = embedder
        self.answer_var = self.profile.answer_var
        self.python_timeout = python_timeout
        self.python_memory_mb = python_memory_mb
        self.python_sandbox = resolve_isolation(python_isolation)
        self.sql_timeout = float(sql_timeout)
        self.sql_max_rows = sql_max_rows
        self.tool_timeout = float(tool_timeout)
        self.max_output_bytes = int(max_output_bytes)
        self.sql_memory_mb = int(sql_memory_mb)
        self._sql: _SQLRunner | None = None
        self._deadline = math.inf
        self.reset()

    def reset(self) -> None:
        """Forget the episode's state (current table, filters, loaded graphs)."""
        self.table: _corpus.Table | None = None
        self.rows: np.ndarray | None = None  # None: every row of the table
        self.dblp: _corpus.DBLP | None = None
        # the last names LoadDB and LoadGraph were asked for (the SEER profile's quirks)
        self.db_name = ""
        self.graph_name = ""

    def _state(self) -> tuple:
        return self.table, self.rows, self.dblp, self.db_name, self.graph_name

    def _restore(self, state: tuple) -> None:
        self.table, self.rows, self.dblp, self.db_name, self.graph_name = state

    def close(self) -> None:
        if self._sql is not None:
            self._sql.close()
            self._sql = None

    def __getstate__(self) -> dict:
        d = dict(self.__dict__)
        d["_sql"] = None
        d["table"], d["rows"], d["dblp"] = None, None, None
        d["db_name"], d["graph_name"] = "", ""
        return d

    def prepare(self, domains: list[str]) -> None:
        """Load now, with no time limit, what the given question domains need (see `ToolQAEnv`'s
        `preload`); later calls then find it in the process's corpus caches."""
        root = self.root
        if root is None:
            return
        for domain in domains:
            if _corpus.missing_files(root, [domain]) or not _corpus.DOMAIN_FILES.get(domain):
                continue
            table = DB_ALIASES.get(domain, domain)
            if table in DB_NAMES:
                _corpus.load_table(root, table)
                _corpus.sqlite_db(root, table, nocase=self.profile.sql_dialect == "mysql")
            elif domain == "dblp":
                _corpus.load_dblp(root)
            elif domain in _corpus.TEXT_FILES:
                _corpus.load_retriever(root, domain, self.embedder).warm_up()

    def _need_root(self) -> Path:
        if self.root is None:
            raise FileNotFoundError("no ToolQA data directory")
        return self.root

    # ----------------------------------------------------------------------------- dispatch

    def timeout_of(self, name: str) -> float:
        """The wall-time limit of one call of the named tool, in seconds."""
        if name == "PythonInterpreter":
            return float(self.python_timeout)
        if name == "SQLInterpreter":
            return self.sql_timeout
        return self.tool_timeout

    def run(self, name: str, argument: str) -> ToolResult:
        fn = getattr(self, f"tool_{name}", None)
        if fn is None or name == "Finish":
            return _err(MSG_INVALID_ACTION, "unknown_tool", "unknown_tool")
        if not isinstance(argument, str):
            argument = str(argument)
        limit = MAX_ARGUMENT_CHARS.get(name)
        if limit is not None and len(argument) > limit:
            text = MSG_ARGUMENT_TOO_LONG.format(tool=name, n=len(argument), limit=limit)
            return _err(text, "bad_arguments", "refused")
        timeout = self.timeout_of(name)
        state = self._state()
        self._deadline = time.monotonic() + timeout
        try:
            res = fn(argument)
        except _StillPreparing as exc:
            self._restore(state)  # a late call leaves the episode as it was
            res = _err(MSG_PREPARING.format(what=exc.what), "timeout", "not_ready")
        except _OutOfTime:
            self._restore(state)
            res = _err(MSG_TIMEOUT.format(tool=name, limit=timeout), "timeout", "timeout")
        except Exception as exc:  # a tool bug must not crash the episode
            log.exception("tool %s failed unexpectedly", name)
            res = _err(f"{name} failed: {type(exc).__name__}")
        finally:
            self._deadline = math.inf
        res.observation = self._cut(name, cap_output(res.observation, self.max_output_bytes))
        return res

    def _cut(self, name: str, text: str) -> str:
        """The profile's cut of a long result (SEER: 2048 characters, retrievers excepted)."""
        limit = self.profile.max_obs_chars
        if limit is None or len(text) <= limit or name in self.profile.uncut_tools:
            return text
        return text[:limit] + self.profile.cut_suffix

    def _tick(self) -> None:
        """Raise _OutOfTime once the current call's wall-time limit has passed."""
        if time.monotonic() > self._deadline:
            raise _OutOfTime

    def _prepare(self, what: str, load: Callable[..., Any], *args: Any) -> Any:
        """`load(*args)`: at once if this process holds the result (`cached_only=True` says so),
        else on a background thread within the call's remaining time; past it, _StillPreparing
        while the load goes on."""
        done = load(*args, cached_only=True)
        if done is not None:
            return done
        try:
            return _in_background(lambda: load(*args), self._deadline - time.monotonic())
        except TimeoutError:
            raise _StillPreparing(what) from None

    # -------------------------------------------------------------------------------- tables

    def tool_LoadDB(self, argument: str) -> ToolResult:
        profile = self.profile
        name = dict(profile.db_aliases).get(argument, argument)
        if profile.loaddb_repeat_quirk:
            if name == self.db_name:
                # SEER: the name asked for last time, known or not: back to the last loaded table
                if self.table is None:
                    return _err(MSG_LOADDB_ERR)
                self.rows = None
                return ToolResult(MSG_LOADDB_OK.format(name, ", ".join(self.table.columns)))
            self.db_name = name
        if name in DB_NAMES:
            try:
                root = self._need_root()
                table = self._prepare(f"The {name} database", _corpus.load_table, root, name)
            except _OutOfTime:
                raise
            except Exception as exc:
                log.debug("LoadDB %s: %s", name, exc)
                return _err(MSG_LOADDB_ERR)
            self.table, self.rows = table, None
            return ToolResult(MSG_LOADDB_OK.format(name, ", ".join(table.columns)))
        if self.table is None or profile.loaddb_unknown == "error":
            return _err(MSG_LOADDB_ERR)
        # ToolQA's quirk: an unknown name keeps the current (filtered) table and claims success
        return ToolResult(MSG_LOADDB_OK.format(argument, ", ".join(self.table.columns)))

    def _count(self) -> int:
        return self.table.n_rows if self.rows is None else len(self.rows)

    def _match(self, j: int, op: str, value: str) -> np.ndarray:
        """Boolean mask over column j's distinct strings for `cell <op> value`."""
        self._tick()
        smask = compare_strings(self.table.cats[j], op, value)
        if self.typed_filters:
            try:
                v = float(value.replace(",", "").strip().lstrip("$"))
            except ValueError:
                v = None
            if v is not None and math.isfinite(v):
                f = self.table.cat_floats(j)
                numeric = ~np.isnan(f)
                with np.errstate(invalid="ignore"):
                    nmask = {"=": f == v, ">=": f >= v, "<=": f <= v, ">": f > v, "<": f < v}[op]
                smask = np.where(numeric, nmask, smask)
        return smask

    def _filter_sequential(self, conds: list[tuple[str, str | None, int, str]]) -> ToolResult | None:
        """The reference's loop: narrow condition by condition; an empty result restores the table
        as it was when the call began (ToolQA) or as it was loaded (SEER)."""
        start_rows = self.rows if self.profile.filter_empty_restores == "call_start" else None
        rows = self.rows
        for cond, op, j, value in conds:
            if op is None:
                continue
            lut = self._match(j, op, value)
            codes = self.table.codes[j]
            if rows is None:
                rows = np.flatnonzero(lut[codes]).astype(np.int64)
            else:
                rows = rows[lut[codes[rows]]]
            if len(rows) == 0:
                self.rows = start_rows
                return _msg(MSG_FILTER_EMPTY.format(_quote(cond)))
        self.rows = rows
        return None

    def tool_FilterDB(self, argument: str) -> ToolResult:
        if self.profile.filter_strip_quotes:
            argument = argument.replace("'", "").replace('"', "")
        conds: list[tuple[str, str | None, int, str]] = []
        bad: str | None = None
        for cond in argument.split(", "):
            if self.table is None:
                return _msg(MSG_FILTER_FAIL.format(_quote(cond)))
            op = next((o for o in (">=", "<=", ">", "<", "=") if o in cond), None)
            if op is None:
                conds.append((cond, None, -1, ""))  # the reference matches no branch and moves on
                continue
            parts = cond.split(op)
            try:
                j = self.table.col(parts[0])
            except KeyError:
                bad = cond  # conditions before it still apply, as in the reference
                break
            conds.append((cond, op, j, parts[1]))
        if self.table is None:
            return _msg(MSG_FILTER_FAIL.format(_quote(argument)))
        # The conjunction does not depend on the order, so evaluate the most selective condition
        # first (through per-value row lists) and the rest on its few rows; only an empty result
        # needs the reference's order, to name the condition that emptied the table.
        active = [(self._match(j, op, v), j) for _, op, j, v in conds if op is not None]
        if active:
            counts = [int(self.table.counts(j)[lut].sum()) for lut, j in active]
            order = np.argsort(counts, kind="stable")
            first_lut, first_j = active[order[0]]
            self._tick()
            rows = self.table.rows_where(first_j, first_lut, counts[order[0]])
            if self.rows is not None:
                rows = np.intersect1d(self.rows, rows, assume_unique=True)
            for k in order[1:]:
                if len(rows) == 0:
                    break
                self._tick()
                lut, j = active[k]
                rows = rows[lut[self.table.codes[j][rows]]]
            if len(rows) == 0:
                err = self._filter_sequential(conds)
                if err is not None:
                    return err
            else:
                self.rows = rows
        if bad is not None:
            return _msg(MSG_FILTER_FAIL.format(_quote(bad)))
        return ToolResult(MSG_FILTER_OK.format(self._count()))

    def tool_GetValue(self, argument: str) -> ToolResult:
        try:
            if self.table is None:
                raise KeyError(argument)
            j = self.table.col(argument)
        except KeyError:
            multi = self.profile.getvalue_multi_column
            return _err(multi if multi is not None and ", " in argument else MSG_GETVALUE_ERR)
        n = self._count()
        codes = self.table.codes[j]
        cats = self.table.cats[j]
        if n == 1:
            row = 0 if self.rows is None else int(self.rows[0])
            return ToolResult(cats[int(codes[row])])
        limit = self.profile.getvalue_max_values
        if limit is not None and n > limit:
            return _msg(self.profile.getvalue_too_many)
        # joined a block at a time, so an unfiltered table is cut at the cap, never built whole
        out = _CappedText(self.max_output_bytes)
        block = 8192
        for start in range(0, n, block):
            self._tick()
            sel = (
                codes[start : start + block] if self.rows is None else codes[self.rows[start : start + block]]
            )
            text = ", ".join(cats[sel].tolist())
            if not out.add(text if start == 0 else ", " + text):
                break
        return ToolResult(out.text())

    # -------------------------------------------------------------------------------- graphs

    def tool_LoadGraph(self, argument: str) -> ToolResult:
        profile = self.profile
        if profile.loadgraph_repeat_quirk:
            if argument == self.graph_name:
                # SEER: the name asked for last time, known or not, answers as loaded, loading nothing
                return ToolResult(MSG_LOADGRAPH_OK)
            self.graph_name = argument
        if argument != "dblp":
            if profile.loadgraph_unknown is not None:
                return _msg(profile.loadgraph_unknown)
            return _err(MSG_LOADGRAPH_ERR)
        try:
            root = self._need_root()
            self.dblp = self._prepare("The DBLP graph", _corpus.load_dblp, root)
        except _OutOfTime:
            raise
        except Exception as exc:
            log.debug("LoadGraph: %s", exc)
            return _err(MSG_LOADGRAPH_ERR)
        return ToolResult(MSG_LOADGRAPH_OK)

    def _graph(self, name: str) -> tuple[Any, dict, dict]:
        g = self.dblp
        if g is None:
            raise AttributeError("graph not loaded")
        if name == "PaperNet":
            return g.paper_net, g.title2id, g.id2title
        if name == "AuthorNet":
            return g.author_net, g.author2id, g.id2author
        raise AttributeError(f"no graph {name!r}")

    def tool_NeighbourCheck(self, argument: str) -> ToolResult:
        try:
            name, node = argument.split(", ")
            graph, to_id, to_name = self._graph(name)
            # str(list of names), built up to the cap; every neighbour is still looked up, so a
            # missing name fails as in the reference
            out = _CappedText(self.max_output_bytes)
            out.add("[")
            for k, n in enumerate(graph.neighbors(to_id[node])):
                if k % 1024 == 0:
                    self._tick()
                shown = repr(to_name[n])
                if not out.full:
                    out.add(", " + shown if k else shown)
            out.add("]")
            return ToolResult(out.text())
        except _OutOfTime:
            raise
        except Exception:
            return _err(MSG_NEIGHBOUR_ERR)

    def tool_NodeCheck(self, argument: str) -> ToolResult:
        if self.profile.nodecheck_strip_quotes and (argument.count('"') == 2 or argument.count("'") == 2):
            argument = argument.replace('"', "").replace("'", "")
        try:
            name, node = argument.split(", ")
            graph, to_id, _ = self._graph(name)
            return ToolResult(str(graph.nodes[to_id[node]]))
        except KeyError:
            return _err(MSG_NODE_MISSING)
        except Exception:
            return _err(MSG_NODE_ERR)

    def tool_EdgeCheck(self, argument: str) -> ToolResult:
        try:
            name, node1, node2 = argument.split(", ")
            graph, to_id, _ = self._graph(name)
            edge = graph.edges[to_id[node1], to_id[node2]]
            if name == "AuthorNet":
                # the reference rewrites the stored ids to titles in place; show the same on a copy
                shown = dict(edge)
                shown["papers"] = [self.dblp.id2title[p] for p in edge["papers"]]
                return ToolResult(str(shown))
            return ToolResult(str(edge))
        except KeyError:
            return _err(MSG_EDGE_MISSING)
        except Exception:
            return _err(MSG_EDGE_ERR)

    # ---------------------------------------------------------------------------- retrievers

    def _retrieve(self, kind: str, argument: str) -> ToolResult:
        try:
            root = self._need_root()

            def load(cached_only: bool = False) -> _corpus.Retriever | None:
                r = _corpus.load_retriever(root, kind, self.embedder, cached_only=cached_only)
                if r is not None and not r.warm:
                    if cached_only:
                        return None
                    r.warm_up()  # the embedding model's first load belongs to the preparation
                return r

            r = self._prepare(f"The {kind} retriever index", load)
            try:
                texts = _in_background(lambda: r.query(argument, 3), self._deadline - time.monotonic())
            except TimeoutError:
                raise _OutOfTime from None
            if not texts:
                return _err(MSG_RETRIEVE_ERR)
            return ToolResult("\n".join(texts).strip("\n").strip())
        except _OutOfTime:
            raise
        except Exception as exc:
            log.debug("Retrieve%s: %s", kind, exc)
            return _err(MSG_RETRIEVE_ERR)

    def tool_RetrieveAgenda(self, argument: str) -> ToolResult:
        return self._retrieve("agenda", argument)

    def tool_RetrieveScirex(self, argument: str) -> ToolResult:
        return self._retrieve("scirex", argument)

    # ---------------------------------------------------------------------------------- code

    def tool_Calculate(self, argument: str) -> ToolResult:
        try:
            return ToolResult(calculate(argument))
        except Exception:
            return _err(self.profile.calculate_error)

    def tool_PythonInterpreter(self, argument: str) -> ToolResult:
        from seer_env.envs.toolqa.sandbox import kernel_isolation, refusal_message, run_python

        if self.python_sandbox == "refused":
            return _err(refusal_message(kernel_isolation()[1]), "refused", "refused")
        var = self.answer_var
        if self.profile.answer_preset:
            code, read = argument, var
        else:
            # The sandbox presets the variable it reads to 0; SEER presets nothing, and code that
            # never sets the answer fails. The line after the code copies it, failing the same way.
            code, read = f"{argument}\n{_UNSET_ANSWER_PROBE} = {var}", _UNSET_ANSWER_PROBE
        res = run_python(
            code, read, self.python_timeout, self.python_memory_mb, isolation=self.python_sandbox
        )
        if res.ok:
            return ToolResult(res.value)
        error = "timeout" if res.timed_out else "tool_error"
        kind = "timeout" if res.timed_out else "tool_exception"
        if self.profile.python_errors == "seer":
            return _err(
                MSG_SEER_PY_TIMEOUT if res.timed_out else MSG_SEER_PY_ERR.format(var=var), error, kind
            )
        # an error can quote the code (a NameError names the identifier): quote a prefix at most
        return _err(MSG_PY_ERR.format(_quote(str(res.error), 500)), error, kind)

    def tool_SQLInterpreter(self, argument: str) -> ToolResult:
        profile = self.profile
        if profile.sql_select_only is not None and not argument.lower().startswith("select"):
            return _msg(profile.sql_select_only)
        if profile.sql_bare_names:
            from seer_env.envs.toolqa.sqlworker import qualify_table_names

            argument = qualify_table_names(argument)
        if self._sql is None:
            self._sql = _SQLRunner(
                self.root, self.sql_max_rows, self.sql_memory_mb, dialect=profile.sql_dialect
            )
        reply = self._sql.run(argument, self._deadline, self.max_output_bytes, self._prepare)
        if reply.status == "timeout":
            raise _OutOfTime
        if reply.status != "ok":
            log.debug("SQL error: %s", reply.detail)
            return _err(MSG_SQL_ERR)
        if reply.cut:
            return ToolResult(reply.text + CUT_SUFFIX)
        if reply.more_rows:
            return ToolResult(reply.text + MSG_SQL_ROWS_CUT.format(self.sql_max_rows))
        return ToolResult(reply.text)


_UNSET_ANSWER_PROBE = "_seer_env_answer_"  # the variable the no-preset probe line copies the answer to


def _quote(text: str, limit: int = 200) -> str:
    """An argument as error messages quote it: whole when short, else a prefix (no echo of megabytes)."""
    return text if len(text) <= limit else text[:limit] + "..."


# ----------------------------------------------------------------------------------------- SQL

_SCHEMA_WORD = re.compile(r"\b(flights|coffee|airbnb|yelp)\b", re.IGNORECASE)  # no quantifier


def schemas_named(sql: str) -> set[str]:
    """The reference's schema names that `sql` qualifies a table with (`coffee.coffee_data`,
    `coffee . coffee_data`), lower-cased; linear in the text."""
    out = set()
    n = len(sql)
    for m in _SCHEMA_WORD.finditer(sql):
        j = m.end()
        while j < n and sql[j].isspace():
            j += 1
        if j < n and sql[j] == ".":
            out.add(m.group(1).lower())
    return out


def _nocase_sqlite_db(root: Path, name: str, cached_only: bool = False) -> Path | None:
    return _corpus.sqlite_db(root, name, cached_only=cached_only, nocase=True)


class _SQLRunner:
    """SQLInterpreter over a warm `SQLWorker` process holding the read-only SQLite copies of the
    tables, ATTACHed under the reference's schema names (flights, coffee, airbnb, yelp).

    dialect "mysql" reads the copies whose text columns compare ignoring case and has the worker
    run each query as MySQL would compare its values (`sqlworker.mysql_to_sqlite`).

    A table's copy is attached the first time a query names its schema (building the copy is a
    corpus load, so it may outlast a call); the worker is then restarted over the larger set. A
    worker killed at the time limit, or inherited through a fork, is replaced on the next call.
    """

    def __init__(self, root: Path | None, max_rows: int, memory_mb: int, dialect: str = "sqlite"):
        self.root = root
        self.max_rows = max_rows
        self.memory_mb = memory_mb
        self.dialect = dialect
        self._databases: dict[str, str] = {}
        self._worker: Any = None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            if self._worker is not None:
                self._worker.close()
                self._worker = None

    @property
    def worker_pid(self) -> int | None:
        w = self._worker
        return w.pid if w is not None and w.alive else None

    def _attach(self, sql: str, prepare: Callable[..., Any]) -> bool:
        """Build the copies of the tables `sql` names for the first time; True if any was added."""
        if self.root is None:
            return False
        added = False
        root = self.root
        for name in sorted(schemas_named(sql) - set(self._databases)):
            if not (_corpus.corpus_dir(root) / _corpus.TABLE_FILES[name]).is_file():
                continue
            what = f"The SQL copy of the {name} table"
            if self.dialect == "mysql":
                path = prepare(what, _nocase_sqlite_db, root, name)
            else:
                path = prepare(what, _corpus.sqlite_db, root, name)
            self._databases[name] = str(path)
            added = True
        return added

    def run(self, sql: str, deadline: float, max_bytes: int, prepare) -> Any:
        from seer_env.envs.toolqa.sqlworker import SQLReply, SQLWorker, WorkerError

        with self._lock:
            try:
                added = self._attach(sql, prepare)
            except _OutOfTime:
                raise
            except Exception as exc:
                log.warning("cannot prepare the SQLite tables: %s", exc)
                return SQLReply("error", detail=str(exc))
            w = self._worker
            if w is None or not w.alive or added:
                if w is not None:
                    w.close()
                self._worker = None
                left = deadline - time.monotonic()
                if left <= 0:
                    return SQLReply("timeout")
                try:
                    w = self._worker = SQLWorker(self._databases, self.memory_mb, start_timeout=left)
                except WorkerError as exc:
                    log.warning("%s", exc)
                    return SQLReply("error", detail=str(exc))
            reply = w.run(sql, deadline - time.monotonic(), self.max_rows, max_bytes, self.dialect)
            if not w.alive:
                self._worker = None
            return reply

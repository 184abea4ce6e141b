"""The 13 ToolQA tools with the reference's semantics and messages (spec §5).

Each tool takes ONE argument string, exactly as ToolQA's ReAct dispatcher hands it over, and splits
it itself (on ", "), so arity and quoting errors behave as in the reference. A `ToolQAToolkit` holds
one episode's state (current table and its filtered rows, whether DBLP is loaded); the corpus under
it is shared read-only. Deliberate differences from the reference (issue 2): Calculate is local and
safe, SQLInterpreter runs on read-only SQLite, PythonInterpreter runs in a limited child process,
retrievers use sentence-transformers + faiss, EdgeCheck does not mutate the graph, and
`typed_filters=True` compares numbers as numbers.
"""

from __future__ import annotations

import ast
import logging
import math
import operator
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from seer_env.envs.toolqa import corpus as _corpus

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
MSG_CALC_ERR = "Illegal Mathematical Expression. Please try again."
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

DB_NAMES = ("flights", "coffee", "airbnb", "yelp")
DB_ALIASES = {"flight": "flights"}  # SEER's prompt names the flights table `flight`

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


def tool_specs(answer_var: str = "ans") -> list[ToolSpec]:
    """TOOL_SPECS with the PythonInterpreter description naming the configured answer variable."""
    if answer_var == "ans":
        return list(TOOL_SPECS)
    out = []
    for s in TOOL_SPECS:
        if s.name == "PythonInterpreter":
            props = {"Python": dict(s.parameters["properties"]["Python"])}
            props["Python"]["examples"] = [e.replace("ans", answer_var) for e in props["Python"]["examples"]]
            s = ToolSpec(
                s.name,
                s.description.replace("`ans`", f"`{answer_var}`"),
                {"type": "object", "properties": props, "required": ["Python"]},
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
    """What a tool call gave: the observation text, whether it worked, and the kind of error."""

    observation: str
    ok: bool = True
    error: str | None = None  # "tool_error", "timeout", "bad_arguments"


def _err(text: str, kind: str = "tool_error") -> ToolResult:
    return ToolResult(text, False, kind)


class _Interrupted(Exception):
    pass


# ------------------------------------------------------------------------------------- toolkit


class ToolQAToolkit:
    """One episode's tool state over a shared corpus.

    root: the ToolQA root (None: only Calculate, PythonInterpreter and Finish work).
    """

    def __init__(
        self,
        root: Path | None,
        typed_filters: bool = False,
        embedder: Any = None,
        answer_var: str = "ans",
        python_timeout: float = 5.0,
        python_memory_mb: int = 1024,
        sql_timeout: float = 10.0,
        sql_max_rows: int = 1000,
    ):
        self.root = Path(root) if root is not None else None
        self.typed_filters = typed_filters
        self.embedder = embedder
        self.answer_var = answer_var
        self.python_timeout = python_timeout
        self.python_memory_mb = python_memory_mb
        self.sql_timeout = sql_timeout
        self.sql_max_rows = sql_max_rows
        self._sql: _SQLRunner | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the episode's state (current table, filters, loaded graphs)."""
        self.table: _corpus.Table | None = None
        self.rows: np.ndarray | None = None  # None: every row of the table
        self.dblp: _corpus.DBLP | None = None

    def close(self) -> None:
        if self._sql is not None:
            self._sql.close()
            self._sql = None

    def __getstate__(self) -> dict:
        d = dict(self.__dict__)
        d["_sql"] = None
        d["table"], d["rows"], d["dblp"] = None, None, None
        return d

    def _need_root(self) -> Path:
        if self.root is None:
            raise FileNotFoundError("no ToolQA data directory")
        return self.root

    # ----------------------------------------------------------------------------- dispatch

    def run(self, name: str, argument: str) -> ToolResult:
        fn = getattr(self, f"tool_{name}", None)
        if fn is None or name == "Finish":
            return _err(MSG_INVALID_ACTION, "unknown_tool")
        try:
            return fn(argument)
        except Exception as exc:  # a tool bug must not crash the episode
            log.exception("tool %s failed unexpectedly", name)
            return _err(f"{name} failed: {type(exc).__name__}")

    # -------------------------------------------------------------------------------- tables

    def tool_LoadDB(self, argument: str) -> ToolResult:
        name = DB_ALIASES.get(argument, argument)
        if name in DB_NAMES:
            try:
                table = _corpus.load_table(self._need_root(), name)
            except Exception as exc:
                log.debug("LoadDB %s: %s", name, exc)
                return _err(MSG_LOADDB_ERR)
            self.table, self.rows = table, None
            return ToolResult(MSG_LOADDB_OK.format(name, ", ".join(table.columns)))
        if self.table is None:
            return _err(MSG_LOADDB_ERR)
        # reference quirk: an unknown name keeps the current (filtered) table and claims success
        return ToolResult(MSG_LOADDB_OK.format(argument, ", ".join(self.table.columns)))

    def _count(self) -> int:
        return self.table.n_rows if self.rows is None else len(self.rows)

    def _match(self, j: int, op: str, value: str) -> np.ndarray:
        """Boolean mask over column j's distinct strings for `cell <op> value`."""
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
        """The reference's loop: narrow condition by condition; an empty result restores the start."""
        start_rows = self.rows
        for cond, op, j, value in conds:
            if op is None:
                continue
            lut = self._match(j, op, value)
            codes = self.table.codes[j]
            if self.rows is None:
                self.rows = np.flatnonzero(lut[codes]).astype(np.int64)
            else:
                self.rows = self.rows[lut[codes[self.rows]]]
            if len(self.rows) == 0:
                self.rows = start_rows
                return _err(MSG_FILTER_EMPTY.format(cond))
        return None

    def tool_FilterDB(self, argument: str) -> ToolResult:
        conds: list[tuple[str, str | None, int, str]] = []
        bad: str | None = None
        for cond in argument.split(", "):
            if self.table is None:
                return _err(MSG_FILTER_FAIL.format(cond))
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
            return _err(MSG_FILTER_FAIL.format(argument))
        # The conjunction does not depend on the order, so evaluate the most selective condition
        # first (through per-value row lists) and the rest on its few rows; only an empty result
        # needs the reference's order, to name the condition that emptied the table.
        active = [(self._match(j, op, v), j) for _, op, j, v in conds if op is not None]
        if active:
            counts = [int(self.table.counts(j)[lut].sum()) for lut, j in active]
            order = np.argsort(counts, kind="stable")
            first_lut, first_j = active[order[0]]
            rows = self.table.rows_where(first_j, first_lut, counts[order[0]])
            if self.rows is not None:
                rows = np.intersect1d(self.rows, rows, assume_unique=True)
            for k in order[1:]:
                if len(rows) == 0:
                    break
                lut, j = active[k]
                rows = rows[lut[self.table.codes[j][rows]]]
            if len(rows) == 0:
                err = self._filter_sequential(conds)
                if err is not None:
                    return err
            else:
                self.rows = rows
        if bad is not None:
            return _err(MSG_FILTER_FAIL.format(bad))
        return ToolResult(MSG_FILTER_OK.format(self._count()))

    def tool_GetValue(self, argument: str) -> ToolResult:
        if self.table is None:
            return _err(MSG_GETVALUE_ERR)
        try:
            j = self.table.col(argument)
        except KeyError:
            return _err(MSG_GETVALUE_ERR)
        n = self._count()
        codes = self.table.codes[j]
        cats = self.table.cats[j]
        if n == 1:
            row = 0 if self.rows is None else int(self.rows[0])
            return ToolResult(cats[int(codes[row])])
        picked = cats[np.asarray(codes) if self.rows is None else codes[self.rows]]
        return ToolResult(", ".join(picked.tolist()))

    # -------------------------------------------------------------------------------- graphs

    def tool_LoadGraph(self, argument: str) -> ToolResult:
        if argument != "dblp":
            return _err(MSG_LOADGRAPH_ERR)
        try:
            self.dblp = _corpus.load_dblp(self._need_root())
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
            return ToolResult(str([to_name[n] for n in graph.neighbors(to_id[node])]))
        except Exception:
            return _err(MSG_NEIGHBOUR_ERR)

    def tool_NodeCheck(self, argument: str) -> ToolResult:
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
            r = _corpus.load_retriever(self._need_root(), kind, self.embedder)
            texts = r.query(argument, 3)
            if not texts:
                return _err(MSG_RETRIEVE_ERR)
            return ToolResult("\n".join(texts).strip("\n").strip())
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
            return _err(MSG_CALC_ERR)

    def tool_PythonInterpreter(self, argument: str) -> ToolResult:
        from seer_env.envs.toolqa.sandbox import run_python

        res = run_python(argument, self.answer_var, self.python_timeout, self.python_memory_mb)
        if res.ok:
            return ToolResult(res.value)
        return _err(MSG_PY_ERR.format(res.error), "timeout" if res.timed_out else "tool_error")

    def tool_SQLInterpreter(self, argument: str) -> ToolResult:
        if self._sql is None:
            self._sql = _SQLRunner(self.root, self.sql_timeout, self.sql_max_rows)
        return self._sql.run(argument)


# ----------------------------------------------------------------------------------------- SQL

_SCHEMA_REF = re.compile(r"\b(flights|coffee|airbnb|yelp)\s*\.", re.IGNORECASE)
_ALLOWED_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}


class _SQLRunner:
    """SELECTs on read-only SQLite copies of the tables, ATTACHed under the reference's schema names.

    Guards: each database file opened `mode=ro`, `PRAGMA query_only`, an authorizer that allows only
    reading (no ATTACH, PRAGMA, writes or DDL from the agent), a progress handler enforcing the time
    limit, a cap on returned rows and on value length.
    """

    def __init__(self, root: Path | None, timeout: float, max_rows: int):
        from sqlalchemy import create_engine
        from sqlalchemy.pool import StaticPool

        self.root = root
        self.timeout = timeout
        self.max_rows = max_rows
        self._attached: set[str] = set()
        self._setup = False
        self._deadline = 0.0
        self._lock = threading.Lock()
        con = sqlite3.connect("file::memory:", uri=True, check_same_thread=False)
        con.execute("PRAGMA query_only = ON")
        con.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 10_000_000)
        con.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 8)
        con.set_authorizer(self._authorize)
        con.set_progress_handler(self._progress, 20_000)
        self._con = con
        self._engine = create_engine("sqlite://", creator=lambda: con, poolclass=StaticPool)
        self._setup = True  # SQLAlchemy's first-connect checks run before the authorizer bites
        try:
            with self._engine.connect():
                pass
        finally:
            self._setup = False

    def close(self) -> None:
        self._engine.dispose()
        self._con.close()

    def _authorize(self, action: int, arg1: Any, arg2: Any, dbname: Any, source: Any) -> int:
        if self._setup:
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_OK if action in _ALLOWED_ACTIONS else sqlite3.SQLITE_DENY

    def _progress(self) -> int:
        return 1 if self._deadline and time.monotonic() > self._deadline else 0

    def _attach(self, sql: str) -> None:
        if self.root is None:
            return
        for m in _SCHEMA_REF.finditer(sql):
            name = m.group(1).lower()
            if (
                name in self._attached
                or not (_corpus.corpus_dir(self.root) / _corpus.TABLE_FILES[name]).is_file()
            ):
                continue
            path = _corpus.sqlite_db(self.root, name)
            uri = "file:" + str(path).replace("?", "%3f").replace("#", "%23") + "?mode=ro&immutable=1"
            self._setup = True
            try:
                self._con.execute("ATTACH DATABASE ? AS " + name, (uri,))
            finally:
                self._setup = False
            self._attached.add(name)

    def run(self, sql: str) -> ToolResult:
        with self._lock:
            try:
                self._attach(sql)
            except Exception as exc:
                log.warning("cannot prepare SQLite tables: %s", exc)
                return _err(MSG_SQL_ERR)
            timed_out = False
            try:
                self._deadline = time.monotonic() + self.timeout
                with self._engine.connect() as conn:
                    result = conn.exec_driver_sql(sql)
                    if not result.returns_rows:
                        return _err(MSG_SQL_ERR)
                    keys = list(result.keys())
                    rows = result.fetchmany(self.max_rows + 1)
            except Exception as exc:
                timed_out = "interrupted" in str(exc)
                log.debug("SQL error: %s", exc)
                return _err(MSG_SQL_ERR, "timeout" if timed_out else "tool_error")
            finally:
                self._deadline = 0.0
        more = len(rows) > self.max_rows
        lines = [
            ", ".join(f"{k}: {v}" for k, v in zip(keys, row, strict=False)) for row in rows[: self.max_rows]
        ]
        text = "\n".join(lines)
        if more:
            text += f"\n...[only the first {self.max_rows} rows are shown]"
        return ToolResult(text)

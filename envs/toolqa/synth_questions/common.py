"""The template registry and what every domain's handlers share.

A template is registered by decorating its handler: `@template(domain, difficulty, number, wording, count,
**params)`. A handler takes a `Sampler` (a seeded RNG and the corpus, read through `corpus.py`, the loaders
the tools use) plus the template's `params`, and returns an `Instance`: the values of the wording's
placeholders, the gold answer and the gold tool chain. It raises `Skip` when its draw cannot make a question.

A chain's PythonInterpreter code embeds the text earlier calls printed; `get_value_text`,
`author_neighbours_text`, `node_text`, `author_edge_text` and `sql_rows_text` give that text as the tools
print it.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from seer_env.envs.toolqa import corpus
from seer_env.envs.toolqa.questions import DIFFICULTIES, DOMAINS
from seer_env.types import ToolCall

MAX_CHAIN = 19  # tool calls before Finish; the env allows 20 steps

# ---------------------------------------------------------------------------------------- registry


class Instance(NamedTuple):
    """One drawn question: the values filling the wording's placeholders, the gold answer, the gold chain."""

    fields: dict[str, Any]
    answer: Any
    chain: list[ToolCall]


class Skip(Exception):
    """This draw cannot make a question (the driver draws again)."""


@dataclass(frozen=True)
class Template:
    tid: str  # e.g. "flight-easy-01"
    domain: str
    difficulty: str
    number: int
    wording: str  # with {placeholders}
    count: int  # official number of questions
    handler: Callable[..., Instance]
    params: tuple[tuple[str, Any], ...] = ()  # keyword arguments the handler gets besides the sampler
    verify: bool = True  # the chain's last observation holds the answer

    def regex(self) -> re.Pattern:
        """A pattern matching questions of this template (placeholders match any text)."""
        parts = re.split(r"\{[a-z0-9_]+\}", self.wording)
        return re.compile("^" + "(.+?)".join(re.escape(p) for p in parts) + "$")

    def draw(self, sampler: Sampler) -> tuple[str, Any, list[ToolCall]]:
        """One question, its gold answer and gold chain (raises `Skip` when the draw fails)."""
        inst = self.handler(sampler, **dict(self.params))
        return self.wording.format(**inst.fields), inst.answer, inst.chain


_REGISTRY: dict[str, Template] = {}


def template(
    domain: str, difficulty: str, number: int, wording: str, count: int, *, verify: bool = True, **params: Any
) -> Callable[[Callable[..., Instance]], Callable[..., Instance]]:
    """Register the decorated handler as template `{domain}-{difficulty}-{number:02d}`.

    `params` are passed to the handler, so one handler can serve templates that differ in a column;
    `verify=False` marks a chain whose last observation need not hold the answer.
    """
    if domain not in DOMAINS or difficulty not in DIFFICULTIES:
        raise ValueError(f"unknown domain or difficulty: {domain!r}, {difficulty!r}")

    def register(handler: Callable[..., Instance]) -> Callable[..., Instance]:
        tid = f"{domain}-{difficulty}-{number:02d}"
        if tid in _REGISTRY:
            raise ValueError(f"template {tid} registered twice")
        _REGISTRY[tid] = Template(
            tid, domain, difficulty, number, wording, count, handler, tuple(params.items()), verify
        )
        return handler

    return register


def registered_templates() -> list[Template]:
    """Every registered template, by domain (in `DOMAINS` order), difficulty and number."""
    return sorted(
        _REGISTRY.values(),
        key=lambda t: (DOMAINS.index(t.domain), DIFFICULTIES.index(t.difficulty), t.number),
    )


# ---------------------------------------------------------------------------------------- corpus


class Column:
    """One dictionary-encoded table column: `col[row]` or `col[rows]` gives the cell strings."""

    def __init__(self, codes: np.ndarray, cats: np.ndarray):
        self.codes = codes
        self.cats = cats

    def __getitem__(self, k):
        return self.cats[self.codes[k]]

    def __len__(self) -> int:
        return len(self.codes)

    def __iter__(self):
        return iter(self.cats[self.codes])


class TableView:
    """A corpus table as `corpus.load_table` gives it to LoadDB, FilterDB and GetValue."""

    def __init__(self, table: corpus.Table):
        self.table = table
        self.n_rows = table.n_rows
        self._columns: dict[str, Column] = {}

    def __getitem__(self, column: str) -> Column:
        col = self._columns.get(column)
        if col is None:
            j = self.table.col(column)
            col = self._columns[column] = Column(self.table.codes[j], self.table.cats[j])
        return col

    def where(self, conds: list[tuple[str, str, str]], rows: np.ndarray | None = None) -> np.ndarray:
        """Rows FilterDB keeps for these conditions (string comparison), starting from `rows`."""
        from seer_env.envs.toolqa.tools import compare_strings

        idx = np.arange(self.n_rows) if rows is None else np.asarray(rows)
        for c, op, v in conds:
            col = self[c]
            lut = compare_strings(col.cats, op, v)
            idx = idx[lut[col.codes[idx]]]
        return idx

    def get_value(self, column: str, rows: np.ndarray) -> str:
        """What GetValue prints for this column once FilterDB has kept `rows`."""
        return get_value_text(self[column][rows].tolist())


class Sampler:
    """What one domain's handlers draw from: a seeded RNG and the corpus at `root`, read by `corpus.py`
    as the tools read it, plus a memo for what handlers derive from it."""

    def __init__(self, root: Path, rng: random.Random):
        self.root = Path(root)
        self.rng = rng
        self._memo: dict[str, Any] = {}

    def pick(self, seq):
        return seq[self.rng.randrange(len(seq))]

    def memo(self, key: str, build: Callable[[], Any]) -> Any:
        """`build()` the first time `key` is asked for, then the same object."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    # Read afresh rather than through the process caches, which would hold every generated corpus
    # (and a ToolQA-Synth build's temporary folder) for the life of the process.
    def table(self, name: str) -> TableView:
        return self.memo(f"corpus table {name}", lambda: TableView(corpus.read_table(self.root, name)))

    def dblp(self) -> corpus.DBLP:
        return self.memo("corpus dblp", lambda: corpus.read_dblp(self.root))

    def raw_records(self, kind: str) -> list[dict]:
        return self.memo(f"corpus raw {kind}", lambda: corpus.load_raw_records(self.root, kind))


# ---------------------------------------------------------------------------------------- tool calls


def _call(name: str, **args: Any) -> ToolCall:
    return ToolCall(name, {k: str(v) for k, v in args.items()})


def load_db(name: str) -> ToolCall:
    return _call("LoadDB", DBName=name)


def filter_db(conds: list[tuple[str, str, str]]) -> ToolCall:
    return _call("FilterDB", condition=", ".join(f"{c}{op}{v}" for c, op, v in conds))


def get_value(col: str) -> ToolCall:
    return _call("GetValue", column_name=col)


def python(code: str) -> ToolCall:
    return _call("PythonInterpreter", Python=code)


def sql(query: str) -> ToolCall:
    return _call("SQLInterpreter", SQL=query)


def load_graph() -> ToolCall:
    return _call("LoadGraph", GraphName="dblp")


def neighbour_check(graph: str, node: str) -> ToolCall:
    return _call("NeighbourCheck", GraphName=graph, Node=node)


def node_check(graph: str, node: str) -> ToolCall:
    return _call("NodeCheck", GraphName=graph, Node=node)


def edge_check(graph: str, a: str, b: str) -> ToolCall:
    return _call("EdgeCheck", GraphName=graph, Node1=a, Node2=b)


def retrieve(kind: str, keyword: str) -> ToolCall:
    return _call("RetrieveAgenda" if kind == "agenda" else "RetrieveScirex", keyword=keyword)


# ---------------------------------------------------------------------------------------- tool output


def get_value_text(values: Iterable[str]) -> str:
    """What GetValue prints for these cells."""
    values = list(values)
    return values[0] if len(values) == 1 else ", ".join(values)


def author_neighbours_text(dblp: corpus.DBLP, author_id: str) -> str:
    """What NeighbourCheck[AuthorNet, name] prints: the collaborators' names in graph order."""
    return str([dblp.id2author[n] for n in dblp.author_net.neighbors(author_id)])


def node_text(attrs: dict) -> str:
    """What NodeCheck prints for a node with these attributes."""
    return str(dict(attrs))


def author_edge_text(dblp: corpus.DBLP, a: str, b: str) -> str:
    """What EdgeCheck[AuthorNet, name_a, name_b] prints: the edge with its paper ids shown as titles."""
    shown = dict(dblp.author_net[a][b])
    shown["papers"] = [dblp.id2title[p] for p in shown["papers"]]
    return str(shown)


def sql_rows_text(table: TableView, rows: Iterable[int], columns: list[str]) -> str:
    """What SQLInterpreter prints for `SELECT columns` (named as in the table) over these rows."""
    name = table.table.name
    return "\n".join(", ".join(f"{c}: {corpus.sql_cell(name, table[c][r])}" for c in columns) for r in rows)


# ---------------------------------------------------------------------------------------- values


def to_float(s: str) -> float:
    """The number a cell holds, NaN when it holds none."""
    try:
        return float(s)
    except (TypeError, ValueError):
        return math.nan


def list_code(name: str, text: str, conv: str = "float") -> str:
    """Python assigning `name` the ", "-separated values of an observation, each through `conv`."""
    return f"{name} = [{conv}(x) for x in {text!r}.split(', ')]"


def usable_in_filter(v: str) -> bool:
    """A value a FilterDB condition can carry (no condition separator, no operator characters)."""
    return bool(v) and ", " not in v and not any(c in v for c in "<>=")


MILES_CODE = (
    "import math\n"
    "def miles(a, b, c, d):\n"
    "    p1, p2 = math.radians(a), math.radians(c)\n"
    "    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(d - b) / 2) ** 2\n"
    "    return 2 * 3958.7613 * math.asin(math.sqrt(h))\n"
)


def miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance; the same arithmetic as MILES_CODE, so gold and chain agree to the last bit."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 3958.7613 * math.asin(math.sqrt(h))

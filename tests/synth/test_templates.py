"""The question generator's structure: every template is declared next to a handler in its domain's module,
nothing is dispatched by name, the corpus is read only through `corpus.py`, and the tool output that
gold chains copy into their Python is what the tools print."""

from __future__ import annotations

import ast
import inspect
import pkgutil
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

import seer_env.envs.toolqa.synth_questions as synth
from seer_env.envs.toolqa import corpus
from seer_env.envs.toolqa.questions import DIFFICULTIES, DOMAINS
from seer_env.envs.toolqa.synth_questions.common import (
    TableView,
    author_edge_text,
    author_neighbours_text,
    node_text,
    sql_rows_text,
)
from seer_env.envs.toolqa.tools import ToolQAToolkit

PACKAGE_DIR = Path(synth.__file__).parent
# the module holding each domain's templates
DOMAIN_MODULE = {"flight": "flights"}


def _module_of(domain: str) -> str:
    return f"{synth.__name__}.{DOMAIN_MODULE.get(domain, domain)}"


def _sources() -> dict[str, ast.Module]:
    return {p.name: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(PACKAGE_DIR.glob("*.py"))}


# ------------------------------------------------------------------------------------------- registry


def test_every_template_has_a_handler_in_its_domain_module():
    assert len(synth.TEMPLATES) == 117
    for t in synth.TEMPLATES:
        assert inspect.isfunction(t.handler), t.tid
        assert t.handler.__module__ == _module_of(t.domain), t.tid
        assert t.tid == f"{t.domain}-{t.difficulty}-{t.number:02d}"
        assert t.count > 0 and t.domain in DOMAINS and t.difficulty in DIFFICULTIES
        # the handler takes the sampler plus exactly the template's parameters
        inspect.signature(t.handler).bind(object(), **dict(t.params))
        placeholders = set(re.findall(r"\{([a-z0-9_]+)\}", t.wording))
        assert placeholders, t.tid


def test_templates_are_numbered_from_one_and_ordered_by_domain_difficulty_number():
    numbers = defaultdict(list)
    for t in synth.TEMPLATES:
        numbers[(t.domain, t.difficulty)].append(t.number)
    assert all(ns == list(range(1, len(ns) + 1)) for ns in numbers.values()), dict(numbers)
    keys = [(DOMAINS.index(t.domain), DIFFICULTIES.index(t.difficulty), t.number) for t in synth.TEMPLATES]
    assert keys == sorted(keys)
    assert synth.QUESTION_DOMAINS == tuple(d for d in DOMAINS if d != "gsm8k")


def test_every_domain_module_registers_its_domain_only():
    modules = {m.name for m in pkgutil.iter_modules([str(PACKAGE_DIR)])} - {"common"}
    assert modules == {DOMAIN_MODULE.get(d, d) for d in synth.QUESTION_DOMAINS}
    for t in synth.TEMPLATES:
        assert t.handler.__module__.rsplit(".", 1)[1] == DOMAIN_MODULE.get(t.domain, t.domain)


def test_a_template_number_cannot_be_registered_twice():
    from seer_env.envs.toolqa.synth_questions.common import template

    with pytest.raises(ValueError, match="registered twice"):
        template("coffee", "easy", 1, "What was the opening price of coffee on {date}?", 1)(lambda s: None)
    with pytest.raises(ValueError, match="unknown domain"):
        template("coffe", "easy", 99, "x {date}", 1)


def test_no_dispatch_by_name():
    """Handlers are called as function objects: no getattr/eval/globals lookups anywhere in the package."""
    for name, tree in _sources().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"getattr", "eval", "exec", "globals", "locals", "vars"}, (
                    name,
                    node.lineno,
                )


def test_the_corpus_is_read_only_through_corpus_py():
    """No private reader: no pandas, pickle or csv, and every `open` in the package writes."""
    for name, tree in _sources().items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not any(m.split(".")[0] in {"pandas", "pickle", "csv"} for m in mods), (name, mods)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open":
                mode = node.args[1] if len(node.args) > 1 else None
                assert isinstance(mode, ast.Constant) and "w" in mode.value, (name, node.lineno)
            if isinstance(node, ast.Attribute):
                assert node.attr not in {"read_csv", "read_json", "loads", "load"}, (name, node.lineno)


def test_generation_leaves_no_corpus_in_the_process_caches(tmp_path):
    """The generator reads afresh: the process caches (which hold open memory maps) stay empty, so a
    process that generates many corpora, or a build folder about to be renamed, pins nothing."""
    from seer_env.envs.toolqa.synth_corpus import generate_corpus

    generate_corpus(tmp_path, scale="tiny", seed=9)
    qs = synth.generate_questions(tmp_path, "hard", per_template=1, seed=9)
    assert {q.domain for q in qs} == set(synth.QUESTION_DOMAINS)
    for name in corpus.TABLE_FILES:
        assert corpus.load_table(tmp_path, name, cached_only=True) is None, name
    assert corpus.load_dblp(tmp_path, cached_only=True) is None


# ----------------------------------------------------------------------------- tool output the chains copy


def test_table_filters_and_values_match_filterdb_and_getvalue(synth_roots):
    root = synth_roots[0]
    view = TableView(corpus.load_table(root, "flights"))
    date, origin = view["FlightDate"][5], view["Origin"][5]
    conds = [("FlightDate", "=", date), ("Origin", "=", origin)]
    rows = view.where(conds)
    assert len(rows) > 1
    tk = ToolQAToolkit(root)
    assert tk.run("LoadDB", "flights").ok
    assert tk.run("FilterDB", f"FlightDate={date}, Origin={origin}").ok
    for column in ("DepTime", "Flight_Number_Marketing_Airline", "Cancelled"):
        assert view.get_value(column, rows) == tk.run("GetValue", column).observation
    # string comparison, as FilterDB does it
    band = [("DepTime", ">=", "1000.0"), ("DepTime", "<", "1200.0")]
    tk.run("LoadDB", "flights")
    shown = tk.run("FilterDB", "DepTime>=1000.0, DepTime<1200.0").observation
    assert f"({len(view.where(band))} rows)" in shown


def test_graph_texts_match_the_graph_tools(synth_roots):
    root = synth_roots[0]
    dblp = corpus.load_dblp(root)
    tk = ToolQAToolkit(root)
    assert tk.run("LoadGraph", "dblp").ok
    checked = 0
    for a, b in list(dblp.author_net.edges)[:40]:
        na, nb = dblp.id2author[a], dblp.id2author[b]
        if dblp.author2id.get(na) != a or dblp.author2id.get(nb) != b or ", " in na + nb:
            continue
        assert author_neighbours_text(dblp, a) == tk.run("NeighbourCheck", f"AuthorNet, {na}").observation
        assert author_edge_text(dblp, a, b) == tk.run("EdgeCheck", f"AuthorNet, {na}, {nb}").observation
        checked += 1
    assert checked >= 10
    for pid in sorted(dblp.id2title)[:10]:
        title = dblp.id2title[pid]
        if dblp.title2id.get(title) == pid and ", " not in title:
            shown = tk.run("NodeCheck", f"PaperNet, {title}").observation
            assert node_text(dblp.paper_net.nodes[pid]) == shown


def test_sql_rows_text_matches_sqlinterpreter(synth_roots):
    root = synth_roots[0]
    view = TableView(corpus.load_table(root, "yelp"))
    columns = ["name", "stars", "categories", "hours", "attributes"]

    def has_missing(rows) -> bool:  # a None cell, which SQL shows as `---`
        return any("None" in view[col][rows].tolist() for col in columns)

    cities = dict.fromkeys(view["city"][np.arange(view.n_rows)].tolist())
    city = next(c for c in cities if has_missing(view.where([("city", "=", c)])))
    rows = view.where([("city", "=", city)])
    tk = ToolQAToolkit(root)
    quoted = city.replace("'", "''")
    res = tk.run("SQLInterpreter", f"SELECT {', '.join(columns)} FROM yelp.yelp_data WHERE city = '{quoted}'")
    assert res.ok
    assert sql_rows_text(view, rows, columns) == res.observation
    tk.close()

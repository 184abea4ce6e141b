"""Every tool's success output and each error message of the ToolQA reference, on the fixture corpus."""

from __future__ import annotations

import contextlib
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from seer_env.envs.toolqa import corpus
from seer_env.envs.toolqa import tools as T
from seer_env.envs.toolqa.tools import TOOL_SPECS, ToolQAToolkit, calculate
from tests.toolqa.fixture import AGENDA, SCIREX, TITLE1, TITLE2, hash_embedder


@pytest.fixture
def kit(toolqa_root):
    k = ToolQAToolkit(toolqa_root, embedder=hash_embedder)
    yield k
    k.close()


def _reference_frame(path) -> pd.DataFrame:
    """The reference approach: pandas read + astype(str), with pandas 1.x string semantics."""
    with warnings.catch_warnings(), contextlib.ExitStack() as st:
        warnings.simplefilter("ignore")
        with contextlib.suppress(Exception):
            st.enter_context(pd.option_context("future.infer_string", False))
        if path.suffix == ".json":
            df = pd.DataFrame([json.loads(line) for line in open(path, encoding="utf-8")])
        else:
            df = pd.read_csv(path)
        return df.astype(str)


@pytest.mark.parametrize("name", ["flights", "coffee", "airbnb", "yelp"])
def test_tables_hold_the_reference_strings(toolqa_root, name):
    path = corpus.corpus_dir(toolqa_root) / corpus.TABLE_FILES[name]
    ref = _reference_frame(path)
    table = corpus.load_table(toolqa_root, name)
    assert table.columns == list(ref.columns)
    assert table.n_rows == len(ref)
    for c in ref.columns:
        assert table.strings(c).tolist() == ref[c].tolist(), c
    assert corpus.load_table(toolqa_root, name) is table  # loaded once per process


def test_rewritten_file_is_read_again(tmp_path):
    from tests.toolqa.fixture import build_fixture

    root = build_fixture(tmp_path)
    path = corpus.corpus_dir(root) / corpus.TABLE_FILES["coffee"]
    kit = ToolQAToolkit(root)
    kit.run("LoadDB", "coffee")
    kit.run("FilterDB", "Date=2000-01-03")
    assert kit.run("GetValue", "Open").observation == "122.25"
    text = path.read_text().replace("2000-01-03,122.25", "2000-01-03,99.5")
    path.write_text(text)
    kit.run("LoadDB", "coffee")
    kit.run("FilterDB", "Date=2000-01-03")
    assert kit.run("GetValue", "Open").observation == "99.5"


def test_table_cache_reload_is_identical(toolqa_root):
    path = corpus.corpus_dir(toolqa_root) / corpus.TABLE_FILES["coffee"]
    fresh = corpus.parse_table_file(path, "coffee")
    cached = corpus._read_table_cache(corpus._table_cache_dir(path))
    for c in fresh.columns:
        assert fresh.strings(c).tolist() == cached.strings(c).tolist()


def test_tool_specs_shape():
    names = [t.name for t in TOOL_SPECS]
    assert len(names) == 13 and len(set(names)) == 13
    sig = {t.name: t.signature() for t in TOOL_SPECS}
    assert sig["LoadDB"] == "LoadDB[DBName]"
    assert sig["FilterDB"] == "FilterDB[condition]"
    assert sig["GetValue"] == "GetValue[column_name]"
    assert sig["NeighbourCheck"] == "NeighbourCheck[GraphName, Node]"
    assert sig["EdgeCheck"] == "EdgeCheck[GraphName, Node1, Node2]"
    for t in TOOL_SPECS:
        for p in t.parameters["properties"].values():
            assert p["examples"], t.name


def test_loaddb(kit):
    r = kit.run("LoadDB", "coffee")
    assert r.ok
    assert r.observation == (
        "We have successfully loaded the coffee database, including the following columns: "
        "Date, Open, High, Low, Close, Volume, Currency."
    )
    fresh = ToolQAToolkit(kit.root)
    assert fresh.run("LoadDB", "trains").observation == T.MSG_LOADDB_ERR
    # the reference quirk: with a table loaded, an unknown name keeps it and reports success
    kit.run("FilterDB", "Date=2000-01-03")
    r = kit.run("LoadDB", "trains")
    assert r.observation.startswith(
        "We have successfully loaded the trains database, including the following columns: Date"
    )
    assert kit.run("GetValue", "Open").observation == "122.25"
    assert ToolQAToolkit(None).run("LoadDB", "coffee").observation == T.MSG_LOADDB_ERR


def test_filterdb_and_getvalue_flights(kit):
    kit.run("LoadDB", "flights")
    r = kit.run(
        "FilterDB",
        "IATA_Code_Marketing_Airline=DL, Flight_Number_Marketing_Airline=1575, Origin=ATL, Dest=MCO, FlightDate=2022-01-12",
    )
    assert r.observation == "We have successfully filtered the data (1 rows)."
    assert kit.run("GetValue", "DepTime").observation == "1123.0"
    assert kit.run("GetValue", "CRSDepTime").observation == "1133"
    assert kit.run("GetValue", "DepDelay").observation == "-10.0"
    assert kit.run("GetValue", "Cancelled").observation == "False"
    assert kit.run("GetValue", "Airline").observation == "Delta Air Lines Inc."


def test_filterdb_string_semantics(kit):
    kit.run("LoadDB", "flights")
    # equality is exact string match: 1123 does not match '1123.0'
    r = kit.run("FilterDB", "DepTime=1123")
    assert r.observation == "The filtering query DepTime=1123 is incorrect. Please modify the condition."
    assert not r.ok
    # no whitespace stripping
    assert (
        kit.run("FilterDB", "Origin = ATL").observation
        == "we have failed when conducting the Origin = ATL command. Please make changes."
    )
    # lexicographic comparison: '1000.0' < '500'
    every = kit.table.strings("Distance").tolist()
    kit.run("FilterDB", "Distance>500")
    vals = kit.run("GetValue", "Distance").observation.split(", ")
    assert vals == [v for v in every if v > "500"]
    assert len(vals) != sum(float(v) > 500 for v in every)  # differs from a numeric compare


def test_filterdb_typed(toolqa_root):
    kit = ToolQAToolkit(toolqa_root, typed_filters=True)
    kit.run("LoadDB", "flights")
    assert kit.run("FilterDB", "DepTime=1123").ok
    assert kit.run("GetValue", "Flight_Number_Marketing_Airline").observation.split(", ")[0] == "1575"
    kit.run("LoadDB", "flights")
    kit.run("FilterDB", "Distance>500")
    vals = [float(v) for v in kit.run("GetValue", "Distance").observation.split(", ")]
    assert vals and all(v > 500 for v in vals)


def test_filterdb_restores_and_errors(kit):
    assert (
        kit.run("FilterDB", "Origin=ATL").observation
        == "we have failed when conducting the Origin=ATL command. Please make changes."
    )
    kit.run("LoadDB", "coffee")
    kit.run("FilterDB", "Date>=2000-01-03, Date<=2000-01-14")
    assert (
        kit.run("FilterDB", "Date>=2000-01-05").observation
        == "We have successfully filtered the data (8 rows)."
    )
    # a condition that empties the table: restored to the state at the start of this FilterDB call
    r = kit.run("FilterDB", "Date<=2000-01-07, Open=0")
    assert r.observation == "The filtering query Open=0 is incorrect. Please modify the condition."
    assert len(kit.run("GetValue", "Date").observation.split(", ")) == 8
    # an unknown column: conditions already applied in this call stay applied
    r = kit.run("FilterDB", "Date<=2000-01-07, Nope=1")
    assert r.observation == "we have failed when conducting the Nope=1 command. Please make changes."
    assert kit.run("GetValue", "Date").observation == "2000-01-05, 2000-01-06, 2000-01-07"
    # a condition without operator is skipped, as in the reference
    assert kit.run("FilterDB", "nonsense").observation == "We have successfully filtered the data (3 rows)."


def test_filterdb_comma_values_split(kit):
    kit.run("LoadDB", "flights")
    r = kit.run("FilterDB", "Airline=Commutair Aka Champlain Enterprises, Inc.")
    # split on ", " leaves `Airline=Commutair Aka Champlain Enterprises`, which matches nothing
    assert (
        r.observation
        == "The filtering query Airline=Commutair Aka Champlain Enterprises is incorrect. Please modify the condition."
    )


def test_getvalue(kit):
    assert kit.run("GetValue", "Close").observation == T.MSG_GETVALUE_ERR
    kit.run("LoadDB", "coffee")
    kit.run("FilterDB", "Date<=2000-01-04")
    assert kit.run("GetValue", "Close").observation == "123.5, 102.36"
    assert (
        kit.run("GetValue", "Nope").observation
        == "The value you are querying does not exist. Please modify it."
    )
    kit.run("LoadDB", "airbnb")
    kit.run("FilterDB", "id=32113500")
    assert kit.run("GetValue", "price").observation == "$1,146 "
    assert kit.run("GetValue", "license").observation == "nan"
    assert kit.run("GetValue", "availability 365").observation == "286.0"
    kit.run("LoadDB", "yelp")
    kit.run("FilterDB", "name=Place 1")
    assert kit.run("GetValue", "attributes").observation == "{'ByAppointmentOnly': 'False'}"
    assert kit.run("GetValue", "hours").observation == "{'Monday': '7:0-20:30', 'Tuesday': '0:0-0:0'}"
    assert kit.run("GetValue", "is_open").observation == "1"
    kit.run("LoadDB", "yelp")
    kit.run("FilterDB", "name=Thach Used Tires")
    assert kit.run("GetValue", "attributes").observation == "None"
    assert kit.run("GetValue", "latitude").observation == "39.9288599"


def test_graph_tools(kit):
    assert kit.run("NodeCheck", "AuthorNet, Chao Zhang").observation == T.MSG_NODE_ERR  # not loaded yet
    assert kit.run("LoadGraph", "PaperNet").observation == (
        "The graph you want to query in not in the list. Please change another graph for query."
    )
    assert (
        kit.run("LoadGraph", "dblp").observation
        == "DBLP data is loaded, including two graphs: AuthorNet and PaperNet."
    )
    assert kit.run("NeighbourCheck", "AuthorNet, Chao Zhang").observation == "['Weihong Lin', 'He Zhang']"
    assert kit.run("NeighbourCheck", f"PaperNet, {TITLE2}").observation == f"[{TITLE1!r}]"
    # a cited pre-2021 paper is not in id2title: the reference raises
    assert kit.run("NeighbourCheck", f"PaperNet, {TITLE1}").observation == (
        "There is something wrong with the arguments you send for neighbour checking. Please modify it."
    )
    assert kit.run("NeighbourCheck", "AuthorNet").observation == T.MSG_NEIGHBOUR_ERR
    assert kit.run("NodeCheck", "AuthorNet, Chao Zhang").observation == "{'org': 'MIT'}"
    node = kit.run("NodeCheck", f"PaperNet, {TITLE1}").observation
    assert node.startswith(
        "{'title': 'Learning to Fly with Graphs.', 'authors': [{'id': 'a1', 'name': 'Chao Zhang'"
    )
    assert (
        kit.run("NodeCheck", "AuthorNet, Nobody").observation
        == "The node does not exist in the graph. Please modify it."
    )
    assert kit.run("NodeCheck", "Chao Zhang").observation == (
        "There is something wrong with the arguments you send for node checking. Please modify it."
    )
    assert kit.run("NodeCheck", "OtherNet, Chao Zhang").observation == T.MSG_NODE_ERR
    edge = f"{{'weight': 3, 'papers': [{TITLE1!r}, {TITLE2!r}, {TITLE2!r}], 'n_citation': [8, 3, 3]}}"
    assert kit.run("EdgeCheck", "AuthorNet, Chao Zhang, Weihong Lin").observation == edge
    # unlike the reference, a second look gives the same answer: the shared graph is untouched
    assert kit.run("EdgeCheck", "AuthorNet, Chao Zhang, Weihong Lin").observation == edge
    g = corpus.load_dblp(kit.root)
    assert g.author_net.edges["a1", "a2"]["papers"][0].startswith("p000")
    assert kit.run("EdgeCheck", f"PaperNet, {TITLE2}, {TITLE1}").observation == "{}"
    assert kit.run("EdgeCheck", "AuthorNet, Chao Zhang, Solo Author").observation == (
        "There is no edge between the two nodes. Please modify it."
    )
    assert kit.run("EdgeCheck", "AuthorNet, Chao Zhang").observation == (
        "There is something wrong with the arguments you send for edge checking. Please modify it."
    )
    assert kit.run("EdgeCheck", "OtherNet, a, b").observation == T.MSG_EDGE_ERR


def test_retrievers(kit):
    r = kit.run("RetrieveAgenda", "Amelia breakfast meeting Sur La Table")
    assert r.ok
    parts = r.observation.split("\n")
    assert len(parts) == 3 and parts[0] == AGENDA[1] and all(p in AGENDA for p in parts)
    r = kit.run("RetrieveScirex", "BiDAF F1 SQuAD")
    assert r.observation.split("\n")[0] == SCIREX[1]
    assert ToolQAToolkit(None).run("RetrieveAgenda", "x").observation == (
        "There is no information that can be matched in the database. Please try another query."
    )


def test_retriever_default_model_and_disk_cache(toolqa_root):
    """The packaged MiniLM, the faiss index built once and found on disk by a fresh load."""
    kit = ToolQAToolkit(toolqa_root, tool_timeout=600)  # the first call loads the model
    out = kit.run("RetrieveScirex", "perplexity of the language model on Penn Treebank").observation
    assert out.split("\n")[0] == SCIREX[2]
    key = (
        corpus._file_key(corpus.corpus_dir(toolqa_root) / corpus.TEXT_FILES["scirex"][0]),
        "all-MiniLM-L6-v2",
    )
    first = corpus._retrievers.pop(key)
    again = corpus.load_retriever(toolqa_root, "scirex")
    assert again is not first and again.index.ntotal == len(SCIREX)


def test_calculate():
    assert calculate("(1123 - 1058) / 60") == "1.083333333"
    assert calculate("2^10") == "1024"
    assert calculate("-7.0 - -17.0") == "10"
    assert calculate("0.1 + 0.2") == "0.3"
    kit = ToolQAToolkit(None)
    assert kit.run("Calculate", "3 * 4").observation == "12"
    for bad in ["__import__('os')", "x + 1", "9**9**9", "1/0", "2**100000", "open('f')", "", "[1, 2]"]:
        r = kit.run("Calculate", bad)
        assert r.observation == "Illegal Mathematical Expression. Please try again.", bad


def test_python_interpreter():
    kit = ToolQAToolkit(None)
    assert kit.run("PythonInterpreter", "ans = sum(range(5))").observation == "10"
    assert kit.run("PythonInterpreter", "x = 1").observation == "0"  # ans preset to 0
    r = kit.run("PythonInterpreter", "raise ValueError('boom')")
    assert r.observation == "An error occurred: boom" and not r.ok
    seer = ToolQAToolkit(None, answer_var="answer")
    assert seer.run("PythonInterpreter", "answer = 6 * 7").observation == "42"


def test_sql(kit):
    r = kit.run("SQLInterpreter", "SELECT COUNT(*) FROM flights.flights_data WHERE Origin='ATL'")
    assert r.observation == "COUNT(*): 50"
    r = kit.run("SQLInterpreter", "SELECT Date, Close FROM coffee.coffee_data LIMIT 2")
    assert r.observation == "Date: 2000-01-03, Close: 123.5\nDate: 2000-01-04, Close: 102.36"
    r = kit.run(
        "SQLInterpreter", "SELECT cancellatitudeion_policy, price, license FROM airbnb.airbnb_data LIMIT 1"
    )
    assert r.observation == "cancellatitudeion_policy: flexible, price: $1,146 , license: ---"
    r = kit.run("SQLInterpreter", "SELECT name FROM yelp.yelp_data WHERE name = 'nobody'")
    assert r.ok and r.observation == ""
    assert kit.run("SQLInterpreter", "SELECT nope FROM coffee.coffee_data").observation == (
        "There is something wrong with the SQL command you send. Please modify it."
    )
    capped = ToolQAToolkit(kit.root, sql_max_rows=5).run(
        "SQLInterpreter", "SELECT Date FROM coffee.coffee_data"
    )
    assert capped.observation.count("\n") == 5 and capped.observation.endswith("rows are shown]")


def test_tool_specs_sampling_is_realistic():
    from seer_env.spaces import ToolCallSpace

    space = ToolCallSpace(TOOL_SPECS, seed=1)
    calls = [space.sample() for _ in range(200)]
    assert {c.name for c in calls} == {t.name for t in TOOL_SPECS}
    dbs = {c.arguments["DBName"] for c in calls if c.name == "LoadDB"}
    assert dbs <= {"flights", "coffee", "airbnb", "yelp"} and dbs
    assert all(space.contains(c) for c in calls)
    assert np.all([isinstance(v, str) for c in calls for v in c.arguments.values()])


class _ReferenceTable:
    """Stands in for the reference table toolkit (pandas frame cast with astype(str), boolean masks,
    restore to the call's start on an empty result), to compare FilterDB/GetValue outputs with."""

    def __init__(self, frame: pd.DataFrame):
        self.full = frame
        self.data = frame

    def filter(self, argument: str) -> str:
        start = self.data
        for cond in argument.split(", "):
            try:
                for op in (">=", "<=", ">", "<", "="):
                    if op in cond:
                        col, val = cond.split(op)[:2]
                        s = self.data[col]
                        mask = {">=": s >= val, "<=": s <= val, ">": s > val, "<": s < val, "=": s == val}[op]
                        self.data = self.data[mask]
                        break
                if len(self.data) == 0:
                    self.data = start
                    return T.MSG_FILTER_EMPTY.format(cond)
            except KeyError:
                return T.MSG_FILTER_FAIL.format(cond)
        return T.MSG_FILTER_OK.format(len(self.data))

    def get(self, col: str) -> str:
        if len(self.data) == 1:
            return str(self.data.iloc[0][col])
        return ", ".join(self.data[col].tolist())


def test_filterdb_matches_reference_on_random_queries(toolqa_root):
    path = corpus.corpus_dir(toolqa_root) / corpus.TABLE_FILES["flights"]
    frame = _reference_frame(path)
    rng = np.random.default_rng(7)
    cols = [
        "Origin",
        "Dest",
        "FlightDate",
        "IATA_Code_Marketing_Airline",
        "Distance",
        "DepTime",
        "Cancelled",
        "DayOfWeek",
    ]
    for episode in range(40):
        ref = _ReferenceTable(frame)
        kit = ToolQAToolkit(toolqa_root)
        kit.run("LoadDB", "flights")
        for _ in range(3):
            conds = []
            for _ in range(int(rng.integers(1, 6))):
                kind = rng.random()
                if kind < 0.05:
                    conds.append("NoSuchColumn=1")
                elif kind < 0.1:
                    conds.append("no operator here")
                else:
                    c = cols[int(rng.integers(len(cols)))]
                    v = frame[c].iloc[int(rng.integers(len(frame)))]
                    op = ["=", "=", "=", ">", "<", ">=", "<="][int(rng.integers(7))]
                    conds.append(f"{c}{op}{v}")
            q = ", ".join(conds)
            assert kit.run("FilterDB", q).observation == ref.filter(q), (episode, q)
            for c in ("Flight_Number_Marketing_Airline", "DepTime"):
                assert kit.run("GetValue", c).observation == ref.get(c), (episode, q, c)


def test_row_lists_persist_in_the_table_cache(tmp_path):
    from tests.toolqa.fixture import build_fixture

    root = build_fixture(tmp_path)
    table = corpus.load_table(root, "flights")
    j = table.col("Origin")
    perm, offsets = table.postings(j)
    assert (table.cache_path / f"perm_{j}.npy").is_file()
    origins = table.strings("Origin")
    for v in range(len(table.cats[j])):
        rows = perm[offsets[v] : offsets[v + 1]]
        assert list(rows) == sorted(rows) and set(origins[rows]) == {table.cats[j][v]}
    corpus.clear_process_cache()
    again = corpus.load_table(root, "flights")
    assert again is not table
    assert np.array_equal(again._load_perm(j), perm)


def test_csv_read_in_column_passes_is_identical(toolqa_root, monkeypatch):
    path = corpus.corpus_dir(toolqa_root) / corpus.TABLE_FILES["airbnb"]
    whole = corpus.parse_table_file(path, "airbnb")
    monkeypatch.setattr(corpus, "_PASS_BYTES", 1)  # one column per pass, as for a multi-GB file
    passes = corpus.parse_table_file(path, "airbnb")
    assert passes.columns == whole.columns
    for c in whole.columns:
        assert passes.strings(c).tolist() == whole.strings(c).tolist(), c

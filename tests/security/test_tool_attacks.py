"""Hostile actions against the ToolQA tools (every tool but PythonInterpreter) and the action parser.

Each attack goes through `env.step` and must be answered within its time limit (plus slack), with a
bounded observation that quotes no question file and echoes no oversized input; afterwards the env
still plays a good episode, the corpus, question and SQLite-copy files are byte-identical, no
process is left below this one but the env's own SQL worker, and this process is alive.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from seer_env.envs.toolqa import corpus
from seer_env.envs.toolqa.env import ToolQAEnv
from seer_env.envs.toolqa.tools import CUT_SUFFIX
from tests.security.tool_attacks import (
    LIMIT,
    MAX_OUTPUT_BYTES,
    SLACK,
    HostWatch,
    assert_env_works,
    question_ids,
    sql_worker_pid,
)
from tests.toolqa.fixture import AGENDA, build_fixture, hash_embedder

# SQL building strings of 10^5 and 10^6 characters (the longest string the SQL limits allow)
R5 = "replace(" * 5 + "'a'" + ",'a','aaaaaaaaaa')" * 5
R6 = "replace(" * 6 + "'a'" + ",'a','aaaaaaaaaa')" * 6
FLIGHTS = "flights.flights_data"


def _nested_list(depth: int) -> list:
    out: list = []
    for _ in range(depth):
        out = [out]
    return out


# (id, setup actions, the attack, expected error kind or "ok")
ATTACKS: list[tuple[str, list, object, str]] = [
    # ---------------------------------------------------------------- SQL: hangs
    (
        "sql_one_slow_instr_on_megabyte_strings",  # one function call of ~15 s: the worker is killed
        [],
        f"SQLInterpreter[WITH s(h) AS (SELECT {R6}) SELECT instr(h, substr(h, 1, 500000) || 'b') FROM s]",
        "timeout",
    ),
    (
        "sql_slow_instr_on_every_row",
        [],
        f"SQLInterpreter[SELECT instr({R5} || a.Date, substr({R5}, 1, 50000) || 'b') FROM coffee.coffee_data a, "
        f"coffee.coffee_data b]",
        "timeout",
    ),
    (
        "sql_cross_join_of_billions_of_rows",
        [],
        f"SQLInterpreter[SELECT COUNT(*) FROM {FLIGHTS} a, {FLIGHTS} b, {FLIGHTS} c, {FLIGHTS} d]",
        "timeout",
    ),
    (
        "sql_endless_recursive_cte",
        [],
        "SQLInterpreter[WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT COUNT(*) FROM r]",
        "tool_error",
    ),
    (
        "sql_exploding_recursive_cte",
        [],
        "SQLInterpreter[WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT r.n FROM r, coffee.coffee_data) "
        "SELECT COUNT(*) FROM r]",
        "tool_error",
    ),
    # ---------------------------------------------------------------- SQL: output bombs
    ("sql_rows_of_a_megabyte_each", [], f"SQLInterpreter[SELECT {R6} AS big FROM {FLIGHTS}]", "ok"),
    ("sql_wide_cross_join_output", [], f"SQLInterpreter[SELECT * FROM {FLIGHTS} a, {FLIGHTS} b]", "ok"),
    ("sql_group_concat_of_30_megabytes", [], f"SQLInterpreter[SELECT group_concat({R5}) FROM {FLIGHTS}]", "tool_error"),
    ("sql_zeroblob_huge", [], "SQLInterpreter[SELECT length(zeroblob(2000000000))]", "tool_error"),
    ("sql_randomblob_huge", [], "SQLInterpreter[SELECT hex(randomblob(2000000000))]", "tool_error"),
    ("sql_printf_width", [], "SQLInterpreter[SELECT printf('%.*c', 2000000000, 'x')]", "tool_error"),
    # ---------------------------------------------------------------- SQL: forbidden functions, files
    ("sql_fts3_tokenizer_pointer", [], "SQLInterpreter[SELECT hex(fts3_tokenizer('simple'))]", "tool_error"),
    ("sql_load_extension", [], "SQLInterpreter[SELECT load_extension('/tmp/evil.so')]", "tool_error"),
    ("sql_readfile", [], "SQLInterpreter[SELECT readfile('/etc/passwd')]", "tool_error"),
    ("sql_attach_etc_passwd", [], "SQLInterpreter[ATTACH DATABASE '/etc/passwd' AS p]", "tool_error"),
    ("sql_attach_question_file", [], "SQLInterpreter[ATTACH DATABASE '{questions}' AS q]", "tool_error"),
    ("sql_attach_file_uri", [], "SQLInterpreter[ATTACH 'file:{questions}?mode=ro' AS q]", "tool_error"),
    ("sql_schema_name_that_is_a_path", [], 'SQLInterpreter[SELECT * FROM "/etc/passwd".x]', "tool_error"),
    ("sql_vacuum_into_a_new_file", [], "SQLInterpreter[VACUUM INTO '{root}/evil.db']", "tool_error"),
    ("sql_pragma_table_leaks_paths", [], "SQLInterpreter[SELECT * FROM pragma_database_list]", "tool_error"),
    ("sql_pragma_statement", [], "SQLInterpreter[PRAGMA coffee.query_only = 0]", "tool_error"),
    # ---------------------------------------------------------------- names that would be paths
    ("loaddb_relative_question_path", [], "LoadDB[../questions/easy/coffee-easy]", "tool_error"),
    ("loaddb_absolute_path", [], "LoadDB[/etc/passwd]", "tool_error"),
    ("loadgraph_question_path", [], "LoadGraph[../../data/questions/hard/dblp-hard.jsonl]", "tool_error"),
    ("retriever_question_path", [], "RetrieveAgenda[../questions/easy/agenda-easy.jsonl]", "ok"),
    # ---------------------------------------------------------------- oversized arguments
    ("filterdb_60k_argument", ["LoadDB[flights]"], "FilterDB[" + "Origin=ATL, " * 5000 + "Origin=ATL]", "bad_arguments"),
    (
        "filterdb_4k_of_conditions",  # within the limit: many conditions, answered in time
        ["LoadDB[flights]"],
        "FilterDB[" + ", ".join(["Origin>=A", "Dest<=ZZZ", "Airline>=", "FlightDate>=2000"] * 100)[:4000] + "]",
        "ok",
    ),
    ("getvalue_60k_argument", ["LoadDB[coffee]"], "GetValue[" + "Close" * 12000 + "]", "bad_arguments"),
    ("retriever_60k_argument", [], "RetrieveScirex[" + "perplexity " * 5500 + "]", "bad_arguments"),
    (
        "retriever_megabyte_argument",
        [],
        {"name": "RetrieveAgenda", "arguments": {"keyword": "opera " * 200_000}},
        "parse",
    ),
    ("neighbourcheck_60k_node", ["LoadGraph[dblp]"], "NeighbourCheck[AuthorNet, " + "x" * 60_000 + "]", "bad_arguments"),
    (
        "nodecheck_megabyte_node",
        ["LoadGraph[dblp]"],
        {"name": "NodeCheck", "arguments": {"GraphName": "PaperNet", "Node": "y" * 2**20}},
        "parse",
    ),
    ("edgecheck_60k_nodes", ["LoadGraph[dblp]"], "EdgeCheck[AuthorNet, " + "a, " * 20_000 + "b]", "bad_arguments"),
    ("sql_60k_query", [], "SQLInterpreter[SELECT 1" + " " * 60_000 + "]", "bad_arguments"),
    ("loaddb_60k_name", [], "LoadDB[" + "flights" * 9000 + "]", "bad_arguments"),
    # ---------------------------------------------------------------- the parser
    ("parse_32000_newlines", [], "Thought" + "\n" * 32_000 + "Calculate[1+1]", "parse"),
    ("parse_newlines_then_a_label", [], "Thought" + "\n" * 32_000 + "Action 2: Calculate[1+1]", "ok"),
    ("parse_64000_spaces_after_action", [], "Action" + " " * 64_000 + "x", "parse"),
    ("parse_spaces_around_action_number", [], "Action" + " " * 30_000 + "7" + " " * 30_000 + "Calculate[1]", "parse"),
    ("parse_many_action_labels", [], "\nAction 1: " * 5_900 + "Calculate[1+1]", "ok"),
    ("parse_nested_brackets", [], "Calculate" + "[" * 30_000 + "]" * 30_000, "bad_arguments"),
    ("parse_call_begin_storm", [], "<CALL_BEGIN>" * 5_000, "parse"),
    ("parse_call_begin_unclosed", [], "<CALL_BEGIN>Calculate[" + "(" * 60_000, "parse"),
    ("parse_json_depth_bomb_text", [], '{"name": "Calculate", "arguments": ' + "[" * 60_000 + "}", "parse"),
    ("parse_json_depth_bomb_arguments", [], {"name": "Calculate", "arguments": "[" * 30_000 + "]" * 30_000}, "parse"),
    ("parse_depth_bomb_object", [], {"name": "Calculate", "arguments": {"formula": _nested_list(100_000)}}, "parse"),
    ("parse_second_call_storm", [], "Calculate[" + "],Calculate " * 5_000 + "]", "bad_arguments"),
    ("parse_oversized_action", [], "Finish[" + "LEAK-MARKER " * 100_000 + "]", "parse"),
    ("parse_oversized_bytes", [], b"Finish[" + b"LEAK-MARKER " * 100_000 + b"]", "parse"),
    ("parse_megabyte_tool_name", [], {"name": "LEAK-MARKER" * 100_000, "arguments": {}}, "parse"),
    ("parse_lone_surrogate", [], "Calculate[\ud800]", "tool_error"),
]  # fmt: skip


# SQL attacks aimed at the MySQL reading of the seer profile (its lexer and rewrite), and every SQL
# attack above again under that profile (statements not starting with `select` are refused there).
MYSQL_ATTACKS: list[tuple[str, list, object, str]] = [
    ("mysql_string_carrying_an_attach", [], 'SQLInterpreter[SELECT "\'); ATTACH DATABASE \'/etc/passwd\' AS p; --"]', "ok"),
    ("mysql_hash_comment_then_attach", [], "SQLInterpreter[SELECT 1 # ]; ATTACH DATABASE '/etc/passwd' AS p]", "ok"),
    ("mysql_backslash_storm", [], "SQLInterpreter[SELECT '" + "\\" * 8000 + "']", "ok"),
    ("mysql_unterminated_string", [], "SQLInterpreter[SELECT 'abc\\' FROM coffee]", "tool_error"),
    ("mysql_deep_parentheses", [], "SQLInterpreter[SELECT " + "(" * 8000 + "1" + ")" * 8000 + " > 5]", "tool_error"),
    ("mysql_many_numeric_comparisons", [], "SQLInterpreter[SELECT COUNT(*) FROM coffee WHERE " + " OR ".join(["Close > 1"] * 150) + "]", "ok"),
    ("mysql_many_divisions", [], "SQLInterpreter[SELECT " + ", ".join(["Close / 2"] * 1300) + " FROM coffee]", "tool_error"),
    ("mysql_between_storm", [], "SQLInterpreter[SELECT 1 FROM coffee WHERE " + "Close BETWEEN " * 1000 + "1]", "tool_error"),
    ("mysql_bare_names_storm", [], "SQLInterpreter[SELECT COUNT(*) FROM " + ", ".join(["coffee"] * 2000) + "]", "tool_error"),
]  # fmt: skip
SEER_SQL_ATTACKS = [
    (label, setup, action, expect if action[len("SQLInterpreter[") :].lower().startswith("select") else "tool_error")
    for label, setup, action, expect in ATTACKS
    if isinstance(action, str) and action.startswith("SQLInterpreter[")
] + MYSQL_ATTACKS  # fmt: skip


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return build_fixture(tmp_path_factory.mktemp("toolqa-attacks"))


@pytest.fixture(scope="module")
def env(root):
    e = ToolQAEnv(
        "easy",
        data_dir=root,
        embedder=hash_embedder,
        python_timeout=LIMIT,
        sql_timeout=LIMIT,
        tool_timeout=LIMIT,
        max_steps=10_000,
        preload=True,  # build the tables' SQLite copies before any attack times anything
    )
    yield e
    e.close()


@pytest.fixture(scope="module")
def seer_env(root):
    e = ToolQAEnv(
        "easy",
        data_dir=root,
        embedder=hash_embedder,
        python_timeout=LIMIT,
        sql_timeout=LIMIT,
        tool_timeout=LIMIT,
        max_steps=10_000,
        preload=True,
        tool_profile="seer",
    )
    yield e
    e.close()


def _fill(action, root: Path):
    """The attack with its {questions} (a question file) and {root} (the data root) filled in."""
    if not isinstance(action, str):
        return action
    questions = str(root / "data" / "questions" / "easy" / "coffee-easy.jsonl")
    return action.replace("{questions}", questions).replace("{root}", str(root))


def _size(action) -> int:
    """Characters of a text action; structured attacks here are all large (and some cannot be repr'd)."""
    return len(action) if isinstance(action, (str, bytes)) else 10**6


def test_at_least_25_attacks():
    assert len(ATTACKS) >= 25
    assert len({a[0] for a in ATTACKS}) == len(ATTACKS)


@pytest.mark.parametrize(("label", "setup", "action", "expect"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_hostile_action(env, root, label, setup, action, expect):
    _attack(env, root, label, setup, action, expect)


@pytest.mark.parametrize(
    ("label", "setup", "action", "expect"), SEER_SQL_ATTACKS, ids=[a[0] for a in SEER_SQL_ATTACKS]
)
def test_hostile_sql_under_the_seer_profile(seer_env, root, label, setup, action, expect):
    _attack(seer_env, root, label, setup, action, expect)


def _attack(env, root: Path, label: str, setup: list, action, expect: str) -> None:
    qids = question_ids(root)
    env.reset(options={"task_id": "easy-coffee-0000"})
    for s in setup:
        obs, *_, info = env.step(s)
        assert info["ok"], (s, obs)
    action = _fill(action, root)
    watch = HostWatch.take(root)

    t0 = time.monotonic()
    obs, reward, terminated, truncated, info = env.step(action)
    elapsed = time.monotonic() - t0

    assert elapsed <= LIMIT + SLACK, (label, elapsed)
    assert isinstance(obs, str) and obs, label
    assert reward == 0.0 and not terminated and not truncated, label
    if expect == "ok":
        assert info["ok"], (label, obs[:300])
    else:
        assert not info["ok"] and info["error"] == expect, (label, info, obs[:300])
    assert len(obs.encode("utf-8", "surrogatepass")) <= MAX_OUTPUT_BYTES + len(CUT_SUFFIX), label
    assert not any(q in obs for q in qids), (label, "a question file leaked")
    assert "LEAK-MARKER" not in obs
    if expect != "ok" and _size(action) > 1000:
        assert len(obs) < 600, (label, "an oversized action is echoed back", obs[:300])
    assert str(root) not in obs and "sqlite" not in obs.lower().replace("sqlinterpreter", ""), label
    assert not (root / "evil.db").exists()

    assert_env_works(env)
    watch.check(env)


def test_sql_output_bombs_are_cut_in_seer_style(env):
    env.reset(options={"task_id": "easy-coffee-0000"})
    obs, *_ = env.step(f"SQLInterpreter[SELECT {R6} AS big FROM {FLIGHTS}]")
    assert obs.startswith("big: aaaa") and obs.endswith(CUT_SUFFIX)
    assert len(obs.encode()) == MAX_OUTPUT_BYTES + len(CUT_SUFFIX)
    obs, *_ = env.step(f"SQLInterpreter[SELECT * FROM {FLIGHTS} a, {FLIGHTS} b]")
    assert obs.startswith("FlightDate: 2022-01-12, Airline: Delta Air Lines Inc.")
    assert obs.endswith(CUT_SUFFIX) and len(obs.encode()) <= MAX_OUTPUT_BYTES + len(CUT_SUFFIX)


def test_retriever_answers_only_corpus_texts(env):
    env.reset(options={"task_id": "easy-coffee-0000"})
    obs, *_ = env.step("RetrieveAgenda[../questions/easy/agenda-easy.jsonl]")
    assert obs.split("\n") and all(line in AGENDA for line in obs.split("\n"))


def test_the_sql_worker_is_the_envs_own_and_replaced_after_a_kill(env, root):
    env.reset(options={"task_id": "easy-coffee-0000"})
    env.step("SQLInterpreter[SELECT 1]")
    first = sql_worker_pid(env)
    assert first is not None
    obs, *_, info = env.step(
        f"SQLInterpreter[WITH s(h) AS (SELECT {R6}) SELECT instr(h, substr(h, 1, 500000) || 'b') FROM s]"
    )
    assert info["error"] == "timeout"
    assert (
        obs
        == f"The SQLInterpreter call took longer than {LIMIT:g} seconds and was stopped. Please modify it."
    )
    assert sql_worker_pid(env) is None and not Path(f"/proc/{first}").exists()
    obs, *_ = env.step("SQLInterpreter[SELECT COUNT(*) FROM coffee.coffee_data]")
    assert obs == "COUNT(*): 200"
    assert sql_worker_pid(env) not in (None, first)


def test_closing_the_env_ends_its_sql_worker(root):
    e = ToolQAEnv("easy", data_dir=root, embedder=hash_embedder, sql_timeout=LIMIT)
    e.reset(options={"task_id": "easy-coffee-0000"})
    e.step("SQLInterpreter[SELECT COUNT(*) FROM coffee.coffee_data]")
    pid = sql_worker_pid(e)
    assert pid is not None and Path(f"/proc/{pid}").exists()
    e.close()
    assert not Path(f"/proc/{pid}").exists()


def test_worker_confinement_took_effect(env):
    env.reset(options={"task_id": "easy-coffee-0000"})
    env.step("SQLInterpreter[SELECT 1]")
    hardening = env.unwrapped._toolkit._sql._worker.hardening
    measures = (
        "namespaces",
        "rlimit_fsize",
        "rlimit_nproc",
        "rlimit_as",
        "rlimit_nofile",
        "no_new_privs",
        "seccomp",
    )
    for measure in measures:
        assert measure in hardening, hardening


def test_corpus_files_untouched_by_the_sqlite_copies(root):
    """The SQLite copies live in the cache, never in the corpus or question folders."""
    for name in corpus.SQL_SCHEMAS:
        db = corpus.sqlite_db(root, name)
        assert root not in db.parents

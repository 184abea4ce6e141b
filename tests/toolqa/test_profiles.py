"""The two tool profiles: each behaviour that differs between the ToolQA and SEER references, on the
fixture corpus, and the failure kind every step reports (docs/tool_profiles.md)."""

from __future__ import annotations

import time

import gymnasium as gym
import pandas as pd
import pytest

import seer_env  # noqa: F401  (registers the IDs)
from seer_env.envs.toolqa import corpus
from seer_env.envs.toolqa.profiles import ERROR_KINDS, SEER, TOOLQA, get_profile, resolve_profile
from seer_env.envs.toolqa.tools import ToolQAToolkit
from tests.toolqa.fixture import N_COFFEE, N_FLIGHTS, hash_embedder

CUT = "...[too long, cannot be fully displayed]"
SQL_ERR = "There is something wrong with the SQL command you send. Please modify it."


@pytest.fixture
def kits(toolqa_root):
    """A toolkit per profile, and "sqlite": the ToolQA profile comparing as SQLite does."""
    profiles = {"toolqa": TOOLQA, "seer": SEER, "sqlite": TOOLQA.replace(sql_dialect="sqlite")}
    made = {
        name: ToolQAToolkit(toolqa_root, embedder=hash_embedder, profile=p) for name, p in profiles.items()
    }
    yield made
    for k in made.values():
        k.close()


@pytest.fixture
def coffee(toolqa_root) -> pd.DataFrame:
    """The coffee table as the reference loads it (every cell a string)."""
    path = corpus.corpus_dir(toolqa_root) / corpus.TABLE_FILES["coffee"]
    return pd.read_csv(path).astype(str)


def _sql(kit: ToolQAToolkit, sql: str) -> str:
    res = kit.run("SQLInterpreter", sql)
    return res.observation


# ------------------------------------------------------------------------------- the profiles


def test_profiles_are_named_and_overridable():
    assert get_profile("toolqa") is TOOLQA and get_profile("seer") is SEER
    assert get_profile(SEER) is SEER
    with pytest.raises(ValueError, match="tool_profile must be one of"):
        get_profile("mysql")
    p = resolve_profile("seer", answer_var="result", max_obs_chars=0, typed_filters=True)
    assert (p.answer_var, p.max_obs_chars, p.typed_filters, p.sql_dialect) == ("result", None, True, "mysql")
    assert resolve_profile("toolqa", max_obs_chars=50).max_obs_chars == 50
    with pytest.raises(ValueError):
        resolve_profile("seer", answer_var="not a name")
    with pytest.raises(ValueError):
        SEER.replace(filter_empty_restores="never")
    assert set(SEER.halting_error_kinds) <= set(ERROR_KINDS)


def test_gym_make_defaults_to_toolqa_and_takes_seer(toolqa_root):
    for kwargs, name, var in (({}, "toolqa", "ans"), ({"tool_profile": "seer"}, "seer", "answer")):
        env = gym.make("seer_env:ToolQA-easy-v0", data_dir=str(toolqa_root), embedder=hash_embedder, **kwargs)
        try:
            _, info = env.reset(options={"task_id": "easy-gsm8k-0000"})
            assert info["tool_profile"] == name
            assert set(info["halting_error_kinds"]) == get_profile(name).halting_error_kinds
            specs = {t.name: t for t in env.unwrapped.tool_specs}
            assert f"`{var}`" in specs["PythonInterpreter"].description
            sql = specs["SQLInterpreter"].description
            assert "MySQL" in sql and ("alone name the tables" in sql) == (name == "seer")
        finally:
            env.close()


# ---------------------------------------------------------------------------- PythonInterpreter


@pytest.mark.parametrize("profile, code", [("seer", "answer = 3.0 + 4"), ("toolqa", "ans = 3.0 + 4")])
def test_gsm8k_episode_following_the_profiles_variable_scores_correct(make_env, profile, code):
    env = make_env("easy", tool_profile=profile)
    env.reset(options={"task_id": "easy-gsm8k-0000"})  # gold 7.0
    obs, _, _, _, info = env.step(f"PythonInterpreter[{code}]")
    assert obs == "7.0" and info["ok"] and info["error_kind"] is None
    _, reward, terminated, _, _ = env.step(f"Finish[{obs}]")
    assert terminated and reward == 1.0


def test_python_answer_variable_and_messages(kits):
    toolqa, seer = kits["toolqa"], kits["seer"]
    # ToolQA presets `ans = 0`; code that sets SEER's `answer` is scored on "0" there
    assert toolqa.run("PythonInterpreter", "answer = 6 * 7").observation == "0"
    assert seer.run("PythonInterpreter", "answer = 6 * 7").observation == "42"
    missing = "Python Code must contain a result variable named answer. Please modify it."
    for code in ("ans = 6 * 7", "x = 1", "answer = 1 / 0", "def f():\n    answer = 1\nf()"):
        res = seer.run("PythonInterpreter", code)
        assert (res.observation, res.ok, res.kind) == (missing, False, "tool_exception"), code
    res = toolqa.run("PythonInterpreter", "ans = 1 / 0")
    assert (res.observation, res.kind) == ("An error occurred: division by zero", "tool_exception")
    # a file whose first statement must come first still runs: the probe line goes after the code
    assert seer.run("PythonInterpreter", "from __future__ import annotations\nanswer = 5").observation == "5"


def test_python_timeout_is_seers_ordinary_message(toolqa_root):
    kit = ToolQAToolkit(toolqa_root, profile="seer", python_timeout=1.0)
    res = kit.run("PythonInterpreter", "while True: pass")
    assert res.observation == "Execution timed out (possible infinite loop)."
    assert res.kind == "timeout" and "timeout" not in SEER.halting_error_kinds
    kit.close()


def test_calculate_error_text(kits):
    assert kits["toolqa"].run("Calculate", "x + 1").observation == (
        "Illegal Mathematical Expression. Please try again."
    )
    assert kits["seer"].run("Calculate", "x + 1").observation == (
        "Execution Error: Illegal Mathematical Expression. Note that: Provide the specific number involved "
        "in the calculation, not just the variable name. Please try again."
    )


# ------------------------------------------------------------------------------------ tables


def test_getvalue_limit_is_seers_getsizeof_threshold(kits, coffee):
    dates = sorted(coffee["Date"])
    for kit in kits.values():
        kit.run("LoadDB", "coffee")
    # 121 values: sys.getsizeof of their list is 56 + 8 * 121 = 1024, not more than 1024
    for kit in kits.values():
        assert kit.run("FilterDB", f"Date<={dates[120]}").observation.endswith("(121 rows).")
    assert kits["seer"].run("GetValue", "Date").observation == ", ".join(dates[:121])
    # 122 values: 1032 bytes
    for kit in kits.values():
        kit.run("LoadDB", "coffee")
        assert kit.run("FilterDB", f"Date<={dates[121]}").observation.endswith("(122 rows).")
    res = kits["seer"].run("GetValue", "Date")
    assert (res.observation, res.ok, res.kind) == (
        "An Error Occurred: Too Many Values to Display.",
        False,
        "tool_message",
    )
    assert kits["toolqa"].run("GetValue", "Date").observation == ", ".join(dates[:122])
    # an unfiltered table: ToolQA returns every value
    kits["toolqa"].run("LoadDB", "coffee")
    assert len(kits["toolqa"].run("GetValue", "Date").observation.split(", ")) == N_COFFEE


def test_getvalue_one_column_message(kits):
    for kit in kits.values():
        kit.run("LoadDB", "coffee")
    res = kits["seer"].run("GetValue", "Open, Close")
    assert (res.observation, res.kind) == (
        "GetValue only supports one column. Please modify it.",
        "tool_exception",
    )
    assert kits["toolqa"].run("GetValue", "Open, Close").observation == (
        "The value you are querying does not exist. Please modify it."
    )
    assert kits["seer"].run("GetValue", "Nope").observation == (
        "The value you are querying does not exist. Please modify it."
    )


def test_results_past_2048_characters_are_cut_except_retrievers(kits, toolqa_root):
    sql = "SELECT Date, Close FROM coffee.coffee_data"
    full, cut = _sql(kits["toolqa"], sql), _sql(kits["seer"], sql)
    assert len(full) > 2048 and not full.endswith(CUT)
    assert cut == full[:2048] + CUT
    # an error message is never that long: untouched
    assert _sql(kits["seer"], "SELECT nope FROM coffee.coffee_data") == SQL_ERR
    # the retrievers are exempt: a profile cutting at 60 characters cuts GetValue, not RetrieveAgenda
    short = ToolQAToolkit(toolqa_root, embedder=hash_embedder, profile=SEER.replace(max_obs_chars=60))
    agenda = short.run("RetrieveAgenda", "Amelia breakfast meeting").observation
    assert len(agenda) > 60 and not agenda.endswith(CUT)
    short.run("LoadDB", "coffee")
    short.run("FilterDB", "Date<=2000-01-31")
    got = short.run("GetValue", "Date").observation
    assert len(got) == 60 + len(CUT) and got.endswith(CUT)


def test_env_max_obs_chars_overrides_the_profile(make_env):
    seer_full = make_env("easy", tool_profile="seer", max_obs_chars=0)
    seer_full.reset(options={"task_id": "easy-coffee-0000"})
    obs, *_ = seer_full.step("SQLInterpreter[SELECT Date, Close FROM coffee.coffee_data]")
    assert len(obs) > 2048 and not obs.endswith(CUT)


def test_filterdb_empty_result_restores_per_profile(kits):
    for kit in kits.values():
        kit.run("LoadDB", "coffee")
        narrowed = kit.run("FilterDB", "Date>=2000-03-01").observation
        res = kit.run("FilterDB", "Date=1999-01-01")
        assert (
            res.observation
            == "The filtering query Date=1999-01-01 is incorrect. Please modify the condition."
        )
        assert (res.ok, res.kind) == (False, "tool_message")
    n = int(narrowed.split("(")[1].split()[0])
    assert 0 < n < N_COFFEE
    # ToolQA: back to the table as the call found it; SEER: back to the whole loaded table
    assert kits["toolqa"].run("FilterDB", "Currency=USD").observation.endswith(f"({n} rows).")
    assert kits["seer"].run("FilterDB", "Currency=USD").observation.endswith(f"({N_COFFEE} rows).")


def test_filterdb_strips_quotes_under_seer(kits):
    for kit in kits.values():
        kit.run("LoadDB", "flights")
    assert kits["seer"].run("FilterDB", "Origin='ATL'").observation == (
        "We have successfully filtered the data (50 rows)."
    )
    res = kits["toolqa"].run("FilterDB", "Origin='ATL'")
    assert res.observation.startswith("The filtering query Origin='ATL' is incorrect")


def test_loaddb_names_and_quirks(kits):
    toolqa, seer = kits["toolqa"], kits["seer"]
    assert seer.run("LoadDB", "flight").observation.startswith(
        "We have successfully loaded the flights database"
    )
    assert toolqa.run("LoadDB", "flight").kind == "tool_exception"
    toolqa.run("LoadDB", "coffee")
    # ToolQA: an unknown name with a table loaded keeps it and claims success
    assert toolqa.run("LoadDB", "trains").observation.startswith(
        "We have successfully loaded the trains database"
    )
    # SEER: an unknown name fails; asking for it again answers with the last loaded table
    seer.run("LoadDB", "coffee")
    seer.run("FilterDB", "Date<=2000-01-31")
    res = seer.run("LoadDB", "trains")
    assert (res.ok, res.kind) == (False, "tool_exception")
    res = seer.run("LoadDB", "trains")
    assert res.ok and res.observation.startswith("We have successfully loaded the trains database")
    assert "Close" in res.observation
    assert seer.run("FilterDB", "Currency=USD").observation.endswith(f"({N_COFFEE} rows).")


# ------------------------------------------------------------------------------------ graphs


def test_loadgraph_unknown_name(kits):
    res = kits["toolqa"].run("LoadGraph", "facebook")
    assert res.observation.startswith("The graph you want to query in not in the list")
    assert res.kind == "tool_exception"
    res = kits["seer"].run("LoadGraph", "facebook")
    assert (res.observation, res.ok, res.kind) == ("None", False, "tool_message")
    # SEER remembers the name: the same call again answers as loaded, and loads nothing
    assert kits["seer"].run("LoadGraph", "facebook").observation == (
        "DBLP data is loaded, including two graphs: AuthorNet and PaperNet."
    )
    assert kits["seer"].run("NodeCheck", "AuthorNet, Chao Zhang").kind == "tool_exception"


def test_nodecheck_strips_a_pair_of_quotes_under_seer(kits):
    for kit in kits.values():
        kit.run("LoadGraph", "dblp")
    assert "MIT" in kits["seer"].run("NodeCheck", 'AuthorNet, "Chao Zhang"').observation
    res = kits["toolqa"].run("NodeCheck", 'AuthorNet, "Chao Zhang"')
    assert res.observation == "The node does not exist in the graph. Please modify it."


# --------------------------------------------------------------------------------------- SQL


def test_sql_string_comparison_ignores_case(kits):
    # both references ran MySQL: the two profiles agree, and SQLite's own comparison differs
    sql = "SELECT COUNT(*) FROM flights.flights_data WHERE Origin = 'atl'"
    assert _sql(kits["seer"], sql) == _sql(kits["toolqa"], sql) == "COUNT(*): 50"
    assert _sql(kits["sqlite"], sql) == "COUNT(*): 0"
    sql = "SELECT COUNT(*) FROM flights.flights_data WHERE Origin IN ('atl', 'mCo') AND Dest LIKE 'm%'"
    assert _sql(kits["seer"], sql) == _sql(
        kits["seer"],
        "SELECT COUNT(*) FROM flights.flights_data WHERE Origin IN ('ATL', 'MCO') AND Dest LIKE 'M%'",
    )


def test_sql_text_column_against_a_number_compares_numbers(kits, coffee):
    close = coffee["Close"].astype(float)
    numeric = int((close > 100).sum())
    textual = int((coffee["Close"] > "100").sum())
    assert numeric != textual  # the fixture tells the two apart
    for sql in (
        "SELECT COUNT(*) FROM coffee.coffee_data WHERE Close > 100",
        "SELECT COUNT(*) FROM coffee.coffee_data WHERE 100 < Close",
        "SELECT COUNT(*) FROM coffee.coffee_data WHERE Close > 99 + 1",
        "SELECT COUNT(*) FROM coffee.coffee_data WHERE Close BETWEEN 100 AND 1e9",
    ):
        assert _sql(kits["seer"], sql) == _sql(kits["toolqa"], sql) == f"COUNT(*): {numeric}", sql
        assert _sql(kits["sqlite"], sql) != f"COUNT(*): {numeric}", sql
    # a quoted number stays a string comparison, as in MySQL
    sql = "SELECT COUNT(*) FROM coffee.coffee_data WHERE Close > '100'"
    assert _sql(kits["seer"], sql) == _sql(kits["sqlite"], sql) == f"COUNT(*): {textual}"
    # against a subquery's average, a number too
    mean = close.mean()
    sql = "SELECT COUNT(*) FROM coffee.coffee_data WHERE Close > (SELECT AVG(Close) FROM coffee.coffee_data)"
    assert _sql(kits["seer"], sql) == f"COUNT(*): {int((close > mean).sum())}"


def test_sql_varchar_equals_a_number_as_mysql_converts_it(kits):
    # DepTime is held as text '1123.0'; MySQL compares it with 1123 as numbers
    sql = "SELECT DepTime FROM flights.flights_data WHERE DepTime = 1123 AND Flight_Number_Marketing_Airline = 1575"
    assert _sql(kits["seer"], sql) == _sql(kits["toolqa"], sql) == "DepTime: 1123.0"
    assert _sql(kits["sqlite"], sql) == ""
    # a missing value '---' reads as 0, as MySQL converts it
    cancelled = _sql(kits["seer"], "SELECT COUNT(*) FROM flights.flights_data WHERE DepTime = '---'")
    assert _sql(kits["seer"], "SELECT COUNT(*) FROM flights.flights_data WHERE DepTime < 1") == cancelled
    assert cancelled != "COUNT(*): 0"
    # IN over numbers compares numbers
    sql = "SELECT COUNT(*) FROM flights.flights_data WHERE DepTime IN (1123, -1) AND Origin = 'ATL'"
    assert _sql(kits["seer"], sql) == "COUNT(*): 1"
    assert _sql(kits["sqlite"], sql) == "COUNT(*): 0"


def test_sql_division_and_labels_as_written(kits):
    sql = "SELECT COUNT(*) / 8 FROM coffee.coffee_data"
    assert _sql(kits["seer"], sql) == f"COUNT(*) / 8: {N_COFFEE / 8}"
    assert _sql(kits["sqlite"], sql) == f"COUNT(*) / 8: {N_COFFEE // 8}"
    sql = "SELECT SUM(CASE WHEN Close > 100 THEN 1 ELSE 0 END) AS n, Close > 100 FROM coffee.coffee_data LIMIT 1"
    first = _sql(kits["seer"], sql).split("\n")[0]
    assert first.startswith("n: ") and first.endswith(("Close > 100: 1", "Close > 100: 0"))


def test_sql_bare_table_names_under_seer(kits):
    for sql in (
        "SELECT COUNT(*) FROM coffee WHERE Currency = 'USD'",
        "SELECT COUNT(*) FROM coffee",
        "SELECT COUNT(*) FROM coffee;",
        "SELECT COUNT(*) FROM (SELECT Date FROM coffee)",
        "SELECT COUNT(*) FROM coffee AS coffee WHERE coffee.Currency = 'USD'",
    ):
        assert _sql(kits["seer"], sql) == f"COUNT(*): {N_COFFEE}", sql
        assert _sql(kits["toolqa"], sql) == SQL_ERR, sql
    sql = "SELECT COUNT(*) FROM flight WHERE Origin = 'ATL'"
    assert _sql(kits["seer"], sql) == "COUNT(*): 50"
    assert _sql(kits["seer"], "SELECT COUNT(*) FROM flights") == f"COUNT(*): {N_FLIGHTS}"
    # a table name inside a string is a string
    assert _sql(kits["seer"], "SELECT 'coffee' FROM coffee LIMIT 1").endswith(": coffee")


def test_sql_mysql_strings(kits):
    sql = 'SELECT COUNT(*) FROM coffee.coffee_data WHERE Currency = "usd"'
    assert _sql(kits["seer"], sql) == _sql(kits["toolqa"], sql) == f"COUNT(*): {N_COFFEE}"
    assert _sql(kits["seer"], "SELECT 'It\\'s' AS s") == "s: It's"
    assert _sql(kits["seer"], "SELECT COUNT(*) FROM coffee # all rows") == f"COUNT(*): {N_COFFEE}"


def test_sql_only_select_under_seer(kits):
    for sql in ("WITH x AS (SELECT 1) SELECT * FROM x", " SELECT 1"):
        res = kits["seer"].run("SQLInterpreter", sql)
        assert (res.observation, res.ok, res.kind) == (
            "Only SELECT queries are allowed.",
            False,
            "tool_message",
        )
        assert kits["toolqa"].run("SQLInterpreter", sql).observation == "1: 1"


# ----------------------------------------------------------------------------- failure kinds


@pytest.mark.parametrize("profile", ["toolqa", "seer"])
def test_every_failure_has_a_kind(make_env, profile, monkeypatch):
    env = make_env("easy", tool_profile=profile, python_timeout=1.0, max_steps=100)
    env.reset(options={"task_id": "easy-coffee-0000"})
    seer = profile == "seer"
    cases = [
        ("Calculate[1 + 1]", None),
        ("", "empty_action"),
        ("I think I should load the table", "parse_error"),
        ("LoadDB[coffee], FilterDB[Date=2000-01-03]", "multiple_actions"),
        ("Search[coffee]", "unknown_tool"),
        ("LoadDB[trains]", "tool_exception"),
        ("LoadGraph[facebook]", "tool_message" if seer else "tool_exception"),
        ("GetValue[Close]", "tool_exception"),  # no table loaded
        ("Calculate[x + 1]", "tool_exception"),
        ("SQLInterpreter[SELECT nope FROM coffee.coffee_data]", "tool_exception"),
        ("SQLInterpreter[WITH x AS (SELECT 1) SELECT * FROM x]", "tool_message" if seer else None),
        ("PythonInterpreter[raise ValueError('x')]", "tool_exception"),
        ("PythonInterpreter[while True: pass]", "timeout"),
        ("LoadDB[" + "x" * 100 + "]", "refused"),
        ("LoadDB[coffee]", None),
        ("FilterDB[Date=1999-01-01]", "tool_message"),
        ("FilterDB[Nope=1]", "tool_message"),
        ("GetValue[Close]", "tool_message" if seer else None),  # 200 values
    ]
    for action, kind in cases:
        _, _, terminated, _, info = env.step(action)
        assert info["error_kind"] == kind, (action, info)
        assert info["ok"] == (kind is None) and not terminated, (action, info)
        assert kind is None or kind in ERROR_KINDS
    # a load that outlasts the call
    real = corpus.load_table

    def slow_load(root, name, cached_only=False):
        if cached_only:
            return None
        time.sleep(1.5)
        return real(root, name)

    monkeypatch.setattr(corpus, "load_table", slow_load)
    slow = make_env("easy", tool_profile=profile, tool_timeout=0.3)
    slow.reset(options={"task_id": "easy-coffee-0000"})
    _, _, _, _, info = slow.step("LoadDB[yelp]")
    assert info["error_kind"] == "not_ready" and info["error"] == "timeout"


def test_reference_halting_kinds():
    # SEER's runner stops on an unreadable or unknown call and on a tool that raised; FilterDB's
    # "incorrect" and "failed" replies and LoadGraph's None are ordinary results there
    assert {"parse_error", "unknown_tool", "tool_exception"} <= SEER.halting_error_kinds
    assert not {"tool_message", "timeout", "not_ready", "refused"} & SEER.halting_error_kinds
    assert TOOLQA.halting_error_kinds == {"parse_error"}


def test_gold_python_sets_the_profiles_variable(make_env, toolqa_root):
    from seer_env.envs.toolqa.questions import Question
    from seer_env.types import ToolCall

    q = Question(
        qid="easy-gsm8k-9000",
        domain="gsm8k",
        difficulty="easy",
        question="What is 6 times 7?",
        answer="42",
        gold_chain=[ToolCall("PythonInterpreter", {"Python": "ans = 6 * 7"})],
    )
    for profile in ("toolqa", "seer"):
        env = make_env("easy", questions=[q], tool_profile=profile)
        _, info = env.reset(options={"reveal_gold": True})
        call = info["gold"]["chain"][0]
        obs, *_ = env.step(call)
        assert obs == "42", profile


def test_synth_envs_take_the_profile_and_replay_their_gold_code(tmp_path):
    from seer_env.envs.toolqa.synth_env import synth_root
    from seer_env.types import ToolCall

    synth_root("tiny", 3, tmp_path)
    envs = {
        p: gym.make(
            "seer_env:ToolQA-Synth-easy-v0",
            scale="tiny",
            seed=3,
            cache_dir=str(tmp_path),
            per_template=1,
            domains=["gsm8k", "coffee"],
            embedder=hash_embedder,
            tool_profile=p,
        )  # fmt: skip
        for p in ("toolqa", "seer")
    }
    try:
        task_ids = envs["seer"].unwrapped.task_ids
        assert task_ids == envs["toolqa"].unwrapped.task_ids and task_ids
        python_steps = 0
        for tid in task_ids:
            outputs = {}
            for p, env in envs.items():
                _, info = env.reset(options={"task_id": tid, "reveal_gold": True})
                assert info["tool_profile"] == p
                outputs[p] = [
                    env.step(ToolCall.from_dict(c))[0]
                    for c in info["gold"]["chain"]
                    if c["name"] == "PythonInterpreter"
                ]
            assert outputs["seer"] == outputs["toolqa"], tid
            python_steps += len(outputs["seer"])
        assert python_steps > 0
    finally:
        for env in envs.values():
            env.close()

"""Bad actions: each gives an error observation within its limit, the env stays usable, and no
corpus file changes."""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from seer_env.envs.toolqa import corpus
from tests.toolqa.conftest import corpus_hashes

LIMIT = 2.0  # the python / SQL time limits of the env under test


def _bad_actions(root) -> list[tuple[str, object, str | None]]:
    csv = corpus.corpus_dir(root) / corpus.TABLE_FILES["coffee"]
    pkl = corpus.corpus_dir(root) / "dblp" / "paper_net.pkl"
    q = json.dumps
    return [
        ("empty text", "", "parse"),
        ("whitespace", "   \n", "parse"),
        ("unparsable text", "I think I should load the flights table", "parse"),
        ("round brackets", "LoadDB(flights)", "parse"),
        ("not an action object", 12345, "parse"),
        ("arguments not JSON", '{"name": "LoadDB", "arguments": "{not json"}', "parse"),
        ("two actions at once", "LoadDB[flights], FilterDB[Origin=ATL]", "parse"),
        ("unknown tool", "Search[flights to ATL]", "unknown_tool"),
        ("unknown tool as JSON", '{"name": "rm", "arguments": {"path": "/"}}', "unknown_tool"),
        ("wrong arity, too few", "NeighbourCheck[AuthorNet]", "bad_arguments"),
        ("wrong arity, too many", "EdgeCheck[AuthorNet, Chao Zhang, Weihong Lin, He Zhang]", "tool_error"),
        (
            "wrong arity as JSON",
            '{"name": "NodeCheck", "arguments": {"GraphName": "AuthorNet"}}',
            "bad_arguments",
        ),
        ("GetValue before LoadDB", "GetValue[Close]", "tool_error"),
        ("unknown graph", "LoadGraph[facebook]", "tool_error"),
        ("unknown database", "LoadDB[trains]", "tool_error"),
        (
            "broken quoting in SQL",
            "SQLInterpreter[SELECT * FROM coffee.coffee_data WHERE Date='2000-01-03]",
            "tool_error",
        ),
        ("DROP TABLE", "SQLInterpreter[DROP TABLE coffee.coffee_data]", "tool_error"),
        ("DELETE", "SQLInterpreter[DELETE FROM coffee.coffee_data]", "tool_error"),
        ("INSERT", "SQLInterpreter[INSERT INTO coffee.coffee_data (Date) VALUES ('x')]", "tool_error"),
        ("two statements", "SQLInterpreter[SELECT 1; DROP TABLE coffee.coffee_data]", "tool_error"),
        ("ATTACH DATABASE", f"SQLInterpreter[ATTACH DATABASE '{root}/evil.db' AS evil]", "tool_error"),
        ("writing PRAGMA", "SQLInterpreter[PRAGMA query_only = OFF]", "tool_error"),
        ("writing PRAGMA 2", "SQLInterpreter[PRAGMA writable_schema = ON]", "tool_error"),
        (
            "cross join of billions of rows",
            "SQLInterpreter[SELECT COUNT(*) FROM flights.flights_data a, flights.flights_data b, "
            "flights.flights_data c, flights.flights_data d]",
            "timeout",
        ),
        (  # refused before it runs: recursive CTEs are not allowed
            "endless recursive CTE",
            "SQLInterpreter[WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT COUNT(*) FROM r]",
            "tool_error",
        ),
        ("python while True", "PythonInterpreter[while True: pass]", "timeout"),
        ("python 10 GB allocation", "PythonInterpreter[x = bytearray(10 * 2**30)]", "tool_error"),
        (
            "python os.system",
            "PythonInterpreter[import os; assert os.system('echo hi > /tmp/seer-owned') == 0]",
            "tool_error",
        ),
        ("python write corpus file", f"PythonInterpreter[open({q(str(csv))}, 'w').write('x')]", "tool_error"),
        (
            "python append corpus file",
            f"PythonInterpreter[open({q(str(pkl))}, 'ab').write(b'x')]",
            "tool_error",
        ),
        (
            "python delete corpus file",
            f"PythonInterpreter[import os; os.remove({q(str(csv))})]",
            "tool_error",
        ),
        (
            "python rmtree corpus",
            f"PythonInterpreter[import shutil; shutil.rmtree({q(str(root))})]",
            "tool_error",
        ),
        ("python fork bomb", "PythonInterpreter[import os\nwhile True: os.fork()]", "tool_error"),
        (
            "python subprocess",
            "PythonInterpreter[import subprocess; subprocess.run(['rm', '-rf', '/'])]",
            "tool_error",
        ),
        (
            "python ctypes fork",
            "PythonInterpreter[import ctypes; assert ctypes.CDLL(None).fork() >= 0]",
            "tool_error",
        ),
        ("python syntax error", "PythonInterpreter[ans = = 1]", "tool_error"),
        ("calculate code injection", "Calculate[__import__('os').system('ls')]", "tool_error"),
        ("calculate huge power", "Calculate[9**9**9**9]", "tool_error"),
    ]


@pytest.fixture
def bad_env(make_env):
    return make_env("easy", python_timeout=LIMIT, sql_timeout=LIMIT, max_steps=1000)


def test_bad_actions(bad_env, toolqa_root):
    env = bad_env
    before = corpus_hashes(toolqa_root)
    env.reset(seed=0, options={"task_id": "easy-coffee-0000"})
    env.step("SQLInterpreter[SELECT COUNT(*) FROM coffee.coffee_data]")  # build the SQLite copies first
    env.step("SQLInterpreter[SELECT COUNT(*) FROM flights.flights_data]")
    dbs = [corpus.sqlite_db(toolqa_root, n, nocase=nc) for n in ("coffee", "flights") for nc in (False, True)]
    db_hashes = [hashlib.sha256(p.read_bytes()).hexdigest() for p in dbs]
    cases = _bad_actions(toolqa_root)
    assert len(cases) >= 25
    for label, action, kind in cases:
        t0 = time.monotonic()
        obs, reward, terminated, truncated, info = env.step(action)
        elapsed = time.monotonic() - t0
        assert isinstance(obs, str) and obs, label
        assert info["ok"] is False, (label, obs)
        assert info["error"] == kind, (label, info, obs)
        assert reward == 0.0 and not terminated and not truncated, label
        assert elapsed < LIMIT + 3.0, (label, elapsed)
        # still usable after every bad action
        obs, *_ = env.step("Calculate[1+1]")
        assert obs == "2", label
    assert corpus_hashes(toolqa_root) == before
    assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in dbs] == db_hashes
    # a full good episode still works
    env.reset(options={"task_id": "easy-coffee-0000"})
    env.step("LoadDB[coffee]")
    env.step("FilterDB[Date=2000-01-03]")
    obs, *_ = env.step("GetValue[Open]")
    assert obs == "122.25"
    obs, reward, terminated, _, info = env.step(f"Finish[{obs}]")
    assert reward == 1.0 and terminated and info["success"]


def test_error_observations_carry_reference_messages(bad_env):
    env = bad_env
    env.reset(seed=0)
    obs, *_, info = env.step("Search[x]")
    assert obs.startswith("Invalid Action. Valid Actions are Calculate [<Formula>] RetrieveAgenda[<Content>]")
    obs, *_ = env.step("LoadDB[flights], FilterDB[Origin=ATL]")
    assert obs == "You are sending multiple actions at once. Please send one action at a time."
    obs, *_ = env.step("")
    assert obs.startswith("You action is filtered due to content.")
    obs, *_ = env.step("PythonInterpreter[while True: pass]")
    assert obs == "An error occurred: Execution timed out (possible infinite loop)."

"""Hostile actions on the τ-bench env (against the fake τ-bench): oversized actions and arguments,
unknown tool names, argument names and tool errors that would echo megabytes back, a `calculate`
that would run for minutes, and tools that raise. Each is answered at once with an error
observation of bounded size, reward 0, the episode going on, τ-bench's data untouched, and the env
still answering the next action."""

from __future__ import annotations

import os
import time

import pytest

from seer_env.actions import MAX_ACTION_CHARS
from tests.taubench.helpers import make_env

LIMIT_S = 5.0  # what one answer may take on a busy 2-core machine
BIG = "A" * 2_000_000


def _children() -> set[int]:
    me = str(os.getpid())
    out = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[1] == me:
                    out.add(int(pid))
        except (OSError, IndexError):
            pass
    return out


def _step(env, action):
    """One hostile step: answered in time, reward 0, the episode on, and no process started."""
    before = _children()
    t0 = time.monotonic()
    obs, reward, terminated, truncated, info = env.step(action)
    assert time.monotonic() - t0 < LIMIT_S
    assert isinstance(obs, str) and reward == 0.0 and not terminated and not truncated
    assert _children() <= before
    return obs, info


def _still_works(env):
    obs, _, _, _, info = env.step({"name": "calculate", "arguments": {"expression": "2 + 2"}})
    assert obs == "4.0" and info["ok"]


@pytest.fixture
def env():
    e = make_env("retail")
    e.reset(options={"task_id": "0"})
    return e


@pytest.mark.parametrize(
    "action",
    [
        "x" * (MAX_ACTION_CHARS + 1),
        f"calculate[{BIG}]",
        {"name": "calculate", "arguments": {"expression": BIG}},
        {"name": "respond", "arguments": {"content": BIG}},
        {"name": "calculate", "arguments": '{"expression": "' + BIG + '"}'},
        {"name": "n" * 10_000, "arguments": {}},
    ],
    ids=["text", "bracket", "dict", "respond", "json-string", "long-name"],
)
def test_oversized_actions_are_refused_without_echo(env, action):
    data = env.unwrapped.tau_env.get_data_hash()
    obs, info = _step(env, action)
    assert info["error"] == "parse" and ("too long" in obs or "too large" in obs)
    assert len(obs) < 400 and "AAAAAAAAAA" not in obs and "nnnnnnnnnn" not in obs
    assert env.unwrapped.tau_env.get_data_hash() == data
    _still_works(env)


def test_unknown_tools_and_argument_names_are_echoed_only_briefly(env):
    name = "get_" + "x" * 120  # the longest name the parser takes
    obs, info = _step(env, {"name": name, "arguments": {}})
    assert info["error"] == "unknown_tool" and obs.startswith("Unknown action") and len(obs) <= 520
    key = "k" * 60_000  # an argument name within the action limit, echoed by the tool's TypeError
    obs, info = _step(env, {"name": "calculate", "arguments": {"expression": "1", key: 1}})
    assert info["error"] == "bad_arguments" and obs.startswith("Error")
    assert len(obs.encode()) <= 500 + 60 and key not in obs
    _still_works(env)


@pytest.mark.parametrize("expression", ["9**9**9", "(9**9)**(9**9)", "2**2**2**2**2**2", "9.5**9**9**9"])
def test_a_calculate_that_would_run_for_minutes_is_refused(env, expression):
    obs, info = _step(env, {"name": "calculate", "arguments": {"expression": expression}})
    assert obs == "Error: the result of this expression is too large to compute"
    assert info["error"] == "tool_error"
    _still_works(env)


def test_ordinary_calculations_are_tau_benchs_own(env):
    for expression, expected in (
        ("2**10", "1024.0"),
        ("(3 + 4) * 2.5", "17.5"),
        ("10**300 / 10**299", "10.0"),
    ):
        obs, info = _step(env, {"name": "calculate", "arguments": {"expression": expression}})
        assert (obs, info["ok"]) == (expected, True)


def test_tools_that_raise_or_return_megabytes_are_cut(monkeypatch):
    env = make_env("retail", max_output_bytes=4096)
    env.reset(options={"task_id": "0"})
    tools = env.unwrapped.tau_env.tools_map

    def raises(**kwargs):
        raise RuntimeError("boom " + "E" * 1_000_000)

    def huge(**kwargs):
        return "é" * 1_000_000

    monkeypatch.setattr(tools["calculate"], "invoke", staticmethod(raises))
    obs, info = _step(env, {"name": "calculate", "arguments": {"expression": "1"}})
    assert obs.startswith("Error: boom") and info["error"] == "tool_error" and len(obs.encode()) < 600
    monkeypatch.setattr(tools["calculate"], "invoke", staticmethod(huge))
    obs, info = _step(env, {"name": "calculate", "arguments": {"expression": "1"}})
    assert obs.endswith("...[too long, cannot be fully displayed]") and len(obs.encode()) <= 4096 + 64
    assert obs.startswith("é" * 100)  # cut on a character boundary
    monkeypatch.undo()
    _still_works(env)

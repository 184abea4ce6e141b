"""A real run as a user meets it, through `seer-env run` against the loopback model server: a model
without credentials stops the run before its first episode, episodes that ended in an error are
played again by the same command once fixed, a model that never answers trips the circuit breaker,
and `seer-env show` reads what happened."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seer_env.cli import main
from seer_env.records import RESULTS_FILE, read_episodes
from tests.harness.conftest import TINY
from tests.harness.scripted import ScriptedModel

REPO = Path(__file__).resolve().parents[2]
TASKS = "t000,t001,t002,t003,t004,t005"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    return {**env, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", **extra}


@pytest.fixture()
def cli(monkeypatch, capsys):
    """`seer-env ARGS` in this process (as the console script runs it): (exit code, stdout, stderr),
    the output unwrapped; `env` sets (a value) or removes (None) environment variables first."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str, env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
        for k, v in (env or {}).items():
            if v is None:
                monkeypatch.delenv(k, raising=False)
            else:
                monkeypatch.setenv(k, v)
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err.replace("\n", " ")

    return run


def run_args(out: Path, *extra: str, policy: str = "react") -> list[str]:
    return [
        "run",
        "--env",
        TINY,
        "--policy",
        policy,
        "--tasks",
        TASKS,
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


def test_missing_credentials_stop_the_run_within_seconds(serve, scripted, tmp_path):
    """The console script as a user runs it, in a fresh process."""
    srv = serve(scripted)
    out = tmp_path / "run"
    t0 = time.monotonic()
    # were a request sent, OPENAI_BASE_URL would take it to the loopback server (it gets none)
    proc = subprocess.run(
        [sys.executable, "-m", "seer_env.cli", *run_args(out, "--model", "openai/gpt-4o-mini")],
        cwd=REPO,
        env=_env(OPENAI_BASE_URL=srv.base_url),
        capture_output=True,
        text=True,
        timeout=240,
    )
    elapsed = time.monotonic() - t0
    assert proc.returncode == 3, proc.stderr
    assert "openai/gpt-4o-mini (policy model): OPENAI_API_KEY is not set" in proc.stderr
    assert "--api-base" in proc.stderr
    assert elapsed < 60  # the imports; no episode, no call
    assert srv.requests == [] and not (out / RESULTS_FILE).exists()


def test_a_refused_key_stops_the_run_then_the_same_command_replays_the_errors(cli, serve, scripted, tmp_path):
    """Without the preflight, a refused key errors episode after episode: the breaker stops the run.
    With the key set, the same command plays the errored episodes again, and the rest."""
    srv = serve(scripted, api_key="sk-right")
    out = tmp_path / "run"
    args = run_args(
        out, "--model", "openai/scripted", "--api-base", srv.base_url, "--max-consecutive-errors", "3"
    )
    args += ["--concurrency", "1"]
    code, _, err = cli(*args, env={"OPENAI_API_KEY": "sk-wrong"})
    assert code == 3 and "refused the credentials" in err and srv.fault_counts["wrong_key"] == 1

    code, _, err = cli(*args, "--no-preflight", env={"OPENAI_API_KEY": "sk-wrong"})
    assert code == 4, err
    assert "stopped after 3 episodes in a row ended in the same error (auth)" in err
    errored = read_episodes(out / RESULTS_FILE)
    assert len(errored) == 3 and all(r.error["kind"] == "auth" for r in errored)
    # one call per episode: auth is never retried (the episode started as the breaker tripped may have
    # sent its first call too, then been cancelled, unrecorded)
    assert all(r.usage["errors_by_kind"] == {"auth": 1} and r.usage["retries"] == 0 for r in errored)
    assert srv.fault_counts["wrong_key"] in (1 + 3, 1 + 4)

    code, _, err = cli(*args, "--no-preflight", env={"OPENAI_API_KEY": "sk-right"})
    assert code == 0, err
    assert "3 earlier errors to play again" in err
    history = read_episodes(out / RESULTS_FILE, history=True)
    latest = read_episodes(out / RESULTS_FILE)
    assert len(history) == 3 + 6 and len(latest) == 6
    assert {r.key for r in history[3:]} == {r.key for r in latest}  # the 3 errored ones, and the rest
    assert all(r.success and r.error is None for r in latest)


def test_errors_replayed_exactly_and_kept_with_no_retry_errors(cli, serve, tiny_answers, tmp_path):
    """Only the episodes that ended in an error are played again; wrong answers are results."""
    wrong = {"What is 1 plus 4?"}  # t001: a wrong answer, a result
    broken = {"What is the value of k2?", "What is 5 plus 16?"}  # t002, t005: the server fails them
    failing = {"on": True}

    def fault_for(body):
        text = json.dumps(body)
        return "400" if failing["on"] and any(q in text for q in broken) else None

    srv = serve(ScriptedModel(tiny_answers, wrong=wrong), fault_for=fault_for)
    out = tmp_path / "run"
    args = run_args(out, "--model", "openai/scripted", "--api-base", srv.base_url, "--api-key", "sk")
    code, _, err = cli(*args)
    assert code == 0, err  # some episodes errored, not all
    recs = {r.task_id: r for r in read_episodes(out / RESULTS_FILE)}
    assert {t for t, r in recs.items() if r.error} == {"t002", "t005"}
    assert recs["t002"].error["kind"] == "bad_request" and not recs["t001"].success

    failing["on"] = False
    assert cli(*args, "--no-retry-errors")[0] == 0
    assert len(read_episodes(out / RESULTS_FILE, history=True)) == 6

    n_before = len(srv.requests)
    code, _, err = cli(*args)
    assert code == 0, err
    asked = [json.dumps(b) for b in srv.requests[n_before:]]
    played = {q for q in [*broken, *wrong, "What is the value of k0?"] if any(q in a for a in asked)}
    assert played == broken  # not the wrong answer, not the successes
    latest = {r.task_id: r for r in read_episodes(out / RESULTS_FILE)}
    assert latest["t002"].success and latest["t005"].success and not latest["t001"].success
    assert len(read_episodes(out / RESULTS_FILE, history=True)) == 8


def test_every_episode_errored_exits_non_zero(cli, serve, scripted, tmp_path):
    srv = serve(scripted, fault_for=lambda body: "context")
    out = tmp_path / "run"
    args = run_args(out, "--model", "openai/scripted", "--api-base", srv.base_url, "--api-key", "sk")
    code, _, err = cli(*args, "--no-preflight", "--max-consecutive-errors", "0")
    assert code == 1, err
    recs = read_episodes(out / RESULTS_FILE)
    assert len(recs) == 6 and all(r.error["kind"] == "context_window" for r in recs)
    assert len(srv.requests) == 6  # a context overflow is never retried


def test_a_model_that_never_answers_trips_the_circuit_breaker(cli, serve, scripted, tmp_path):
    srv = serve(scripted, faults={"hang": 1.0}, hang_seconds=30.0)
    out = tmp_path / "run"
    args = run_args(out, "--model", "openai/scripted", "--api-base", srv.base_url, "--api-key", "sk")
    args += [
        "--timeout",
        "0.5",
        "--timeout-retries",
        "1",
        "--max-consecutive-errors",
        "2",
        "--concurrency",
        "1",
    ]
    t0 = time.monotonic()
    code, _, err = cli(*args, "--no-preflight")
    assert code == 4, err
    assert "same error (timeout)" in err
    assert time.monotonic() - t0 < 60
    recs = read_episodes(out / RESULTS_FILE)
    assert len(recs) == 2 and all(r.error["kind"] == "timeout" for r in recs)
    # each call: the first try and one with a doubled timeout, no more
    assert all(r.usage["errors_by_kind"] == {"timeout": 2} for r in recs)
    assert len(srv.requests) in (2 * 2, 2 * 2 + 1)  # + the next episode's first try, cancelled

    # with the preflight, it is caught before any episode
    code, _, err = cli(*args, "--preflight-timeout", "1")
    assert code == 3 and "did not answer in time" in err
    assert len(read_episodes(out / RESULTS_FILE, history=True)) == 2


def test_show_prints_a_transcript(cli, serve, tiny_answers, tmp_path):
    srv = serve(ScriptedModel(tiny_answers, wrong={"What is 1 plus 4?"}))
    out = tmp_path / "run"
    args = run_args(out, "--model", "openai/scripted", "--api-base", srv.base_url, "--api-key", "sk")
    assert cli(*args, "--env-kwargs", '{"fail_task": "t004"}')[0] == 0
    code, text, _ = cli("show", str(out), "--task", "t000")
    assert code == 0
    for part in ("Question: What is the value of k0?", "Thought:", "Action: Lookup[k0]", "Observation: 0"):
        assert part in text, part
    assert "Final answer: 0" in text and "Gold: 0" in text and "Verdict: correct" in text
    _, wrong, _ = cli("show", str(out), "--task", "t001", "--policy", "react")
    assert "Final answer: WRONG-ON-PURPOSE" in wrong and "Gold: 5" in wrong and "wrong answer" in wrong
    _, errors, _ = cli("show", str(out), "--errors")
    assert "Verdict: error" in errors and "cannot load task t004" in errors
    code, _, err = cli("show", str(out))
    assert code == 0 and "5 more episodes match" in err
    code, _, err = cli("show", str(out), "--task", "nope")
    assert code == 1 and "no episode matches" in err


def test_the_preflight_checks_every_model_the_run_names(monkeypatch):
    """The policies' model, τ-bench's LLM user (unless offline) and the judge's, each with its endpoint."""
    import argparse
    from types import SimpleNamespace

    from seer_env.agents.guards import run_models
    from seer_env.llm import LLMClient
    from seer_env.preflight import preflight

    args = argparse.Namespace(model="openai/policy-m", api_base=None, api_key=None)
    entries = [SimpleNamespace(model="openai/policy-m"), SimpleNamespace(model=None)]
    envs = ["TauBench-retail-v0", "TauBench-airline-v0#offline", TINY]
    env_kwargs = {
        "TauBench-retail-v0": {
            "user_model": "user-m",
            "user_provider": "openai",
            "user_api_base": "http://x/v1",
        },
        "TauBench-airline-v0#offline": {"user_strategy": "scripted"},
    }
    judge = SimpleNamespace(client=LLMClient("openai/judge-m", api_base="http://j/v1"))
    targets = run_models(args, entries, envs, env_kwargs, judge)
    assert [(t.model, t.role, t.api_base) for t in targets] == [
        ("openai/policy-m", "policy", None),
        ("openai/user-m", "τ-bench user", "http://x/v1"),
        ("openai/judge-m", "judge", "http://j/v1"),
    ]
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    problems = preflight(targets[:1])
    assert problems == [
        "openai/policy-m (policy model): OPENAI_API_KEY is not set; export it, pass --api-key, "
        "or pass --api-base for a local server"
    ]

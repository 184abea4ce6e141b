"""SEER through τ-bench's own `run()` (patched factory, offline users), the CLI and the results file."""

from __future__ import annotations

import json
import random

import pytest

from tests.taubench.helpers import all_tasks, make_env, make_memory


def _opts(tmp_path, **kw):
    from seer_env.agents.taubench.runner import TauRunOptions

    base = dict(
        model="oracle",
        model_provider="seerscripted",
        user_strategy="scripted",
        log_dir=str(tmp_path / "results"),
        seed=10,
    )
    base.update(kw)
    return TauRunOptions(**base)


def _parse_results(path):
    from tau_bench.types import EnvRunResult

    return [EnvRunResult.model_validate(r) for r in json.loads(path.read_text())]


def test_run_through_tau_bench_runner_accumulates_from_train_only(llm, tmp_path):
    import tau_bench.envs.base as base
    import tau_bench.run as run_mod

    from seer_env.agents.taubench.runner import run_tau

    factory, load_user = run_mod.agent_factory, base.load_user
    memory = make_memory(tmp_path)
    out = run_tau(_opts(tmp_path, task_split="train", num_trials=2, max_concurrency=2), memory=memory)
    assert run_mod.agent_factory is factory and base.load_user is load_user  # patches restored
    n = len(all_tasks("retail", "train"))
    assert len(out.results) == 2 * n and all(r.reward == 1.0 for r in out.results)
    assert out.pass_hat_k == {1: 1.0, 2: 1.0}
    assert len(memory) == n  # the second trial's copies are duplicates
    parsed = _parse_results(out.results_path)
    assert [(r.task_id, r.trial) for r in parsed] == [(r.task_id, r.trial) for r in out.results]
    assert out.results_path.name.startswith("tool-calling-oracle-0.0_range_0--1_user-scripted-llm_")
    assert parsed[0].traj[0]["role"] == "system" and parsed[0].info["seer"]["added_to_pool"] in (True, False)

    # the test split recalls from the pool but never adds to it
    llm.requests.clear()
    out = run_tau(_opts(tmp_path, task_split="test", task_ids=[0, 3]), memory=memory)
    assert [r.reward for r in out.results] == [1.0, 1.0]
    assert len(memory) == n and out.added_to_pool == 0
    assert all(r.info["seer"]["recalled_ids"][0] for r in out.results)
    assert any("Past conversations that ended well" in r["messages"][0]["content"] for r in llm.requests)


def test_failed_episodes_are_recorded_not_added(llm, tmp_path):
    from seer_env.agents.taubench.runner import run_tau

    memory = make_memory(tmp_path)
    out = run_tau(_opts(tmp_path, model="lazy", task_split="train"), memory=memory)
    assert [r.reward for r in out.results] == [0.0] * len(all_tasks("retail", "train"))
    assert len(memory) == 0 and out.pass_hat_k == {1: 0.0}


def test_pass_hat_k_matches_tau_bench_display_metrics(capsys):
    from tau_bench.run import display_metrics
    from tau_bench.types import EnvRunResult

    from seer_env.agents.taubench.runner import results_pass_hat_k as pass_hat_k

    rng = random.Random(0)
    results = [
        EnvRunResult(task_id=t, reward=float(rng.random() < 0.6), info={}, traj=[], trial=i)
        for i in range(4)
        for t in range(7)
    ]
    display_metrics(results)
    printed = capsys.readouterr().out
    ours = pass_hat_k(results)
    assert len(ours) == 4
    for k, v in ours.items():
        assert f"k={k}: {v}" in printed


def test_out_of_range_seed_is_refused_up_front(llm, tmp_path):
    from seer_env.agents.taubench.runner import run_tau

    n = len(all_tasks("retail", "test"))
    bad = next(s for s in range(1000) if random.Random(s).randint(0, n) == n)
    with pytest.raises(ValueError, match="issue #36"):
        run_tau(_opts(tmp_path, seed=bad, recall=False))


def test_cli_writes_tau_bench_results_and_prints_pass_k(llm, tmp_path, capsys):
    from seer_env.cli import main

    log_dir = tmp_path / "cli"
    rc = main(
        [
            "taubench",
            "run",
            "--env",
            "airline",
            "--model",
            "oracle",
            "--model-provider",
            "seerscripted",
            "--user-strategy",
            "scripted",
            "--num-trials",
            "2",
            "--log-dir",
            str(log_dir),
            "--no-recall",
        ]
    )
    assert rc == 0
    out = capsys.readouterr()
    assert "pass^2" in out.out and "1.0000" in out.out
    files = list(log_dir.glob("*.json"))
    assert len(files) == 1
    parsed = _parse_results(files[0])
    assert len(parsed) == 2 * len(all_tasks("airline", "test"))
    assert all(r.reward == 1.0 for r in parsed)


def _talk(traj):
    """A conversation without its tool-call ids (the scripted LLM numbers them per process)."""
    return [
        (m["role"], m.get("content"), [c["function"]["name"] for c in m.get("tool_calls") or []])
        for m in traj
    ]


def test_replay_user_reproduces_a_recorded_run(llm, tmp_path):
    """A run's results file (here from a scripted user) replays the same conversations."""
    from seer_env.agents.taubench.runner import run_tau

    scripts = {"0": ["Hello, I need to cancel an order.", "It is #W0000001.", "###STOP###"]}
    scripts_path = tmp_path / "scripts.json"
    scripts_path.write_text(json.dumps(scripts))
    first = run_tau(_opts(tmp_path, user_data=str(scripts_path), recall=False, log_dir=str(tmp_path / "a")))
    again = run_tau(
        _opts(
            tmp_path,
            user_strategy="replay",
            user_data=str(first.results_path),
            recall=False,
            log_dir=str(tmp_path / "b"),
        )
    )
    assert [r.reward for r in again.results] == [r.reward for r in first.results]
    assert [_talk(r.traj) for r in again.results] == [_talk(r.traj) for r in first.results]
    assert first.results[0].traj[1]["content"] == "Hello, I need to cancel an order."
    # and the gym env with a replay user answers the same first message
    env = make_env("retail", user_strategy="replay", user_data=str(first.results_path))
    obs, _ = env.reset(options={"task_id": "0"})
    assert obs == "Hello, I need to cancel an order."


def test_llm_user_env_is_built_once_and_a_recorded_llm_run_replays(llm, tmp_path):
    """τ-bench's own LLM user (scripted model): one constructor call in total, then a replay of its run."""
    from seer_env.agents.taubench.runner import run_tau

    env = make_env("retail", user_strategy="llm", user_model="user", user_provider="seerscripted")
    assert llm.user_calls == 1  # the constructor's reset(), once
    for tid in env.unwrapped.task_ids:
        obs, _ = env.reset(options={"task_id": tid})
        assert obs == all_tasks("retail", "test")[int(tid)].instruction.splitlines()[0]
        *_, terminated, _, info = env.step({"name": "respond", "arguments": {"content": "Anything else?"}})
        assert terminated and "user_cost" in info
    assert llm.user_calls == 1 + 2 * len(env.unwrapped.task_ids)  # no env rebuilt per episode

    recorded = run_tau(
        _opts(
            tmp_path,
            user_strategy="llm",
            user_model="user",
            user_model_provider="seerscripted",
            recall=False,
            log_dir=str(tmp_path / "llm"),
        )
    )
    assert all(r.reward == 1.0 for r in recorded.results)
    calls = llm.user_calls
    replayed = run_tau(
        _opts(
            tmp_path,
            user_strategy="replay",
            user_data=str(recorded.results_path),
            recall=False,
            log_dir=str(tmp_path / "replay"),
        )
    )
    assert llm.user_calls == calls  # the replay never called the user model
    assert [_talk(r.traj) for r in replayed.results] == [_talk(r.traj) for r in recorded.results]
    assert [r.reward for r in replayed.results] == [r.reward for r in recorded.results]


def test_seer_env_run_plays_taubench_tasks(tmp_path):
    """`seer-env run --env TauBench-retail-v0` (the harness's runner) plays the same tasks."""
    from seer_env.cli import main
    from seer_env.records import read_records

    out = tmp_path / "run"
    rc = main(
        [
            "run",
            "--env",
            "TauBench-retail-v0",
            "--policy",
            "random",
            "--trials",
            "2",
            "--out",
            str(out),
            "--env-kwargs",
            json.dumps({"user_strategy": "scripted"}),
            "--no-progress",
        ]
    )
    assert rc == 0
    records = read_records(out / "results.jsonl")
    n = len(all_tasks("retail", "test"))
    assert sorted((r["task_id"], r["trial"]) for r in records) == sorted(
        (str(t), i) for t in range(n) for i in range(2)
    )
    assert all(r["error"] is None for r in records)


def test_seer_env_run_with_seer_tau_policy(llm, tmp_path):
    """`seer-env run --policy seer-tau` builds SEER-τ from the registry, with its own pool namespace."""
    from seer_env.cli import main
    from seer_env.pool import ExperienceMemory
    from seer_env.records import read_records

    out, pool = tmp_path / "run", tmp_path / "pool.sqlite"
    rc = main(
        [
            "run",
            "--env",
            "TauBench-retail-v0",
            "--policy",
            "seer-tau",
            "--model",
            "seerscripted/oracle",
            "--pool",
            str(pool),
            "--out",
            str(out),
            "--no-progress",
            "--env-kwargs",
            json.dumps({"user_strategy": "scripted", "task_split": "train"}),
        ]
    )
    assert rc == 0
    records = read_records(out / "results.jsonl")
    n = len(all_tasks("retail", "train"))
    assert len(records) == n and all(r["success"] for r in records), [r.get("error") for r in records]
    with ExperienceMemory(url=str(pool), namespace="taubench-retail") as memory:
        assert len(memory) == n  # every train success entered the τ-bench namespace


@pytest.mark.parametrize("online", [False, True])
def test_seer_tau_on_a_split_the_pool_refuses_warns_or_accumulates_online(llm, tmp_path, caplog, online):
    """Airline has a test split only: by default (train only) SEER's pool can never grow, and the run
    says so at its start; `--online` accumulates from the split being evaluated, as SEER's continual
    setting does."""
    from seer_env.cli import main
    from seer_env.pool import ExperienceMemory
    from seer_env.records import read_records

    out, pool = tmp_path / "run", tmp_path / "pool.sqlite"
    argv = ["run", "--env", "TauBench-airline-v0", "--policy", "seer-tau", "--model", "seerscripted/oracle"]
    argv += ["--pool", str(pool), "--out", str(out), "--no-progress", "--accumulate", "sequential"]
    argv += ["--env-kwargs", json.dumps({"user_strategy": "scripted"})] + (["--online"] if online else [])
    with caplog.at_level("WARNING"):
        assert main(argv) == 0
    warned = [r for r in caplog.records if "will never grow" in r.getMessage()]
    records = read_records(out / "results.jsonl")
    n = len(all_tasks("airline", "test"))
    assert len(records) == n and all(r["success"] for r in records)
    with ExperienceMemory(url=str(pool), namespace="taubench-airline") as memory:
        assert len(memory) == (n if online else 0)
    assert len(warned) == (0 if online else 1)
    if not online:
        assert "'test'" in warned[0].getMessage() and "--online" in warned[0].getMessage()
    # the run's pools record the splits they accept
    manifest = json.loads((out / "manifest.json").read_text())
    if online:
        assert manifest["policies"]["seer-tau"]["pool_options"] == {"allowed_splits": None}


def test_taubench_run_online_flag(llm, tmp_path, monkeypatch):
    """`taubench run --online` accumulates from any split; without it, from train only."""
    from seer_env.agents.taubench import runner
    from seer_env.cli import main

    seen = []

    def fake_run(opts):
        seen.append(opts.accumulate_splits)
        raise ValueError("stop here")

    monkeypatch.setattr(runner, "run_tau", fake_run)
    args = ["taubench", "run", "--model", "m", "--log-dir", str(tmp_path), "--no-preflight"]
    assert main([*args, "--online"]) == 2
    assert main(args) == 2
    assert seen == [None, ["train"]]

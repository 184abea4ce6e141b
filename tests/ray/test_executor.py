"""`--executor ray` on a local Ray (started once for the module, on loopback): the same records as the
local executor, a lost worker costs nothing, a killed driver resumes, and the shared PostgreSQL pool
grows by exactly the successes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seer_env.agents.launch import build_policy_entries
from seer_env.records import MANIFEST_FILE, RESULTS_FILE, read_episodes
from seer_env.runner import Runner
from tests.ray.helpers import ENV, ENV_KWARGS, slow_oracle

REPO = Path(__file__).resolve().parents[2]


def play(out: Path, executor: str, entries, **kw):
    runner = Runner([ENV], entries, out, executor=executor, **kw)
    counts = asyncio.run(runner.run())
    return read_episodes(out / RESULTS_FILE), counts, runner


def facts(rec) -> tuple:
    """What must not depend on where the env ran: the episode's key, its outcome and every action.
    (Not every observation: a retrieval tool answers "still being prepared" while its index builds,
    which depends on timing in any executor.)"""
    gold = json.dumps(rec.gold, sort_keys=True)
    steps = tuple(
        (s.action.name, json.dumps(s.action.arguments, sort_keys=True)) for s in rec.trajectory.steps
    )
    return (rec.policy, rec.task_id, rec.trial, rec.success, rec.reward, rec.n_steps, rec.error, steps, gold)


def test_same_records_as_the_local_executor(ray_cluster, tmp_path):
    kw = {"episodes": 4, "trials": 2, "concurrency": 4, "seed": 3, "max_steps": 8, "env_kwargs": ENV_KWARGS}
    local, _, _ = play(
        tmp_path / "local", "local", build_policy_entries(["random", "oracle"], out=tmp_path), **kw
    )
    remote, counts, runner = play(
        tmp_path / "ray", "ray", build_policy_entries(["random", "oracle"], out=tmp_path), **kw
    )
    assert counts["done"] == len(remote) == len(local) == 16
    assert sorted(map(facts, remote)) == sorted(map(facts, local))
    assert sum(r.success for r in remote if r.policy == "oracle") >= 4  # the env really ran in the actors
    assert all(r.gold and "answer" in r.gold for r in remote)  # the env's gold, as the local run has it
    assert any(r.n_steps > 1 for r in remote if r.policy == "random")
    manifest = json.loads((tmp_path / "ray" / MANIFEST_FILE).read_text())
    assert manifest["executor"]["name"] == "ray"
    # four copies at once, packed into one actor per cluster CPU (2), and reused
    assert manifest["executor"]["env_copies_started"] == 4
    assert 1 <= manifest["executor"]["actors_started"] <= 2
    # what export needs: the env's answer tool and its tools' schemas
    spec = manifest["env_specs"][ENV]
    assert spec["info"]["answer_tool"] == "Finish"
    assert "LoadDB" in {t["function"]["name"] for t in spec["tools"]}


def test_an_env_error_reads_as_with_the_local_executor(ray_cluster, tmp_path):
    """An env that raises in its actor: the record carries the env's own exception (not Ray's wrapper),
    as the local executor records it, and the broken copy is not used again."""
    tiny = "tests.harness.tiny_env:Tiny-v0"
    kw = {"env_kwargs": {tiny: {"n_tasks": 6, "fail_task": "t003"}}, "concurrency": 2}
    recs = {}
    for executor in ("local", "ray"):
        entries = build_policy_entries(["oracle"], out=tmp_path)
        runner = Runner([tiny], entries, tmp_path / executor, executor=executor, **kw)
        asyncio.run(runner.run())
        recs[executor] = {
            r.task_id: (r.success, r.error) for r in read_episodes(tmp_path / executor / RESULTS_FILE)
        }
    assert recs["ray"] == recs["local"]
    assert recs["ray"]["t003"] == (
        False,
        {"type": "RuntimeError", "message": "cannot load task t003", "kind": None},
    )
    assert sum(ok for ok, _ in recs["ray"].values()) == 5
    stats = runner.executor.facts()
    assert stats["env_copies_started"] == 3  # two copies, and one after the broken one
    assert stats["actors_started"] == 2  # the broken copy went, not its actor


def test_a_killed_actor_costs_no_episode(ray_cluster, tmp_path):
    import ray

    killed: list[int] = []
    seen = [0]

    def kill_one(record: dict) -> None:
        # after the 2nd and the 5th record, end a worker that has an episode in flight
        seen[0] += 1
        done = seen[0]
        if done in (2, 5) and runner.executor.busy_actors():
            actor = runner.executor.busy_actors()[0]
            if not killed:
                ray.kill(actor, no_restart=True)  # as `ray.kill` or a lost node would
            else:
                pid = ray.get(actor.pid.remote(), timeout=30)
                os.kill(pid, signal.SIGKILL)  # the worker process dies under it
            killed.append(done)

    runner = Runner(
        [ENV],
        [slow_oracle(0.1)],
        tmp_path / "run",
        episodes=10,
        concurrency=3,
        env_kwargs=ENV_KWARGS,
        executor="ray",
        on_record=kill_one,
    )
    counts = asyncio.run(runner.run())
    records = read_episodes(tmp_path / "run" / RESULTS_FILE)
    assert len(killed) == 2
    keys = [r.key for r in records]
    assert len(keys) == len(set(keys)) == counts["done"] == 10  # every episode once
    assert all(r.success and r.error is None for r in records)  # none lost, none failed
    stats = runner.executor.facts()
    # an actor holds up to two of the three copies: each killed one costs one or two attempts
    assert stats["workers_lost"] >= 2 and stats["episodes_retried"] >= stats["workers_lost"]
    assert stats.get("episodes_lost", 0) == 0


def test_resume_after_the_driver_is_killed(ray_cluster, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, str(REPO / "tests" / "ray" / "helpers.py"), str(out), ray_cluster, "10", "0.3"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            path = out / RESULTS_FILE
            if path.exists() and len(path.read_text().splitlines()) >= 2:
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    first = read_episodes(out / RESULTS_FILE)
    assert 2 <= len(first) < 10
    # the killed driver's actors go with it (Ray ends the actors a dead driver owned)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    records = read_episodes(out / RESULTS_FILE)
    keys = [r.key for r in records]
    assert len(keys) == len(set(keys)) == 10
    assert {r.key for r in first} <= set(keys)
    assert all(r.success for r in records)
    sessions = json.loads((out / MANIFEST_FILE).read_text())["sessions"]
    assert [s["status"] for s in sessions] == ["started", "finished"]
    assert sessions[-1]["skipped"] == len(first) and sessions[-1]["done"] == 10 - len(first)


@pytest.mark.postgres
def test_shared_postgres_pool_grows_by_the_successes(ray_cluster, pg_url, tmp_path):
    """SEER through the loopback model server, its pool in PostgreSQL, `--accumulate sequential`, one
    env worker killed mid-episode: the pool gains exactly one experience per successful episode, in
    task order."""
    import gymnasium as gym
    import ray

    from seer_env.agents.seer import open_memory
    from seer_env.embedding import HashEmbedder
    from seer_env.runner import select_tasks
    from seer_env.types import ToolCall
    from tests.harness.fake_server import FakeOpenAIServer
    from tests.harness.scripted import ScriptedModel

    env = gym.make(ENV, disable_env_checker=True)
    ids = select_tasks(env.unwrapped.task_ids, episodes=8, seed=11)
    answers, queries = {}, []
    for tid in ids:
        _, info = env.reset(options={"task_id": tid, "reveal_gold": True})
        chain = [ToolCall.from_dict(c) for c in info["gold"]["chain"]]
        if not chain or chain[-1].name != "Finish":
            chain.append(ToolCall("Finish", {"answer": str(info["gold"]["answer"])}))
        answers[info["query"]] = (info["domain"], chain)
        queries.append(info["query"])
    env.close()
    hash_embedder = HashEmbedder(64, name="test-hash-bow-64")
    srv = FakeOpenAIServer(ScriptedModel(answers, wrong={queries[1], queries[4]}), latency=0.05).start()
    try:
        before = len(open_memory(pg_url, "toolqa", embedder=hash_embedder))
        entries = build_policy_entries(
            ["seer"],
            out=tmp_path,
            model="openai/scripted",
            api_base=srv.base_url,
            api_key="sk-test",
            pool=pg_url,
            llm_options={"timeout": 10.0, "max_retries": 2, "backoff_base": 0.0},
            seer_options={"continue_on_error": True},
            embedder=hash_embedder,
            accumulate="sequential",
        )
        killed, armed = [], []

        def kill_busy() -> None:  # on the run's event loop
            busy = runner.executor.busy_actors()
            if busy:
                killed.append(busy[0])
                ray.kill(busy[0], no_restart=True)
            else:
                asyncio.get_running_loop().call_later(0.02, kill_busy)

        def kill_one(record: dict) -> None:
            # sequential: the next episode starts once this one is recorded; kill it in its first steps
            if not armed:
                armed.append(asyncio.get_running_loop().call_later(0.05, kill_busy))

        runner = Runner(
            [ENV],
            entries,
            tmp_path / "run",
            tasks=",".join(ids),
            concurrency=3,
            accumulate="sequential",
            env_kwargs=ENV_KWARGS,
            executor="ray",
            on_record=kill_one,
        )
        asyncio.run(runner.run())
    finally:
        srv.stop()
    records = read_episodes(tmp_path / "run" / RESULTS_FILE)
    assert len({r.key for r in records}) == len(records) == len(ids)
    successes = [r for r in records if r.success]
    assert 3 <= len(successes) <= len(ids) - 2  # the two wrong answers fail
    assert killed and runner.executor.facts()["episodes_retried"] >= 1
    mem = open_memory(pg_url, "toolqa", embedder=hash_embedder)
    online = [e for e in mem.experiences() if e.source == "online"]
    assert len(mem) - before == len(online) == len(successes)
    assert [e.task_id for e in online] == [r.task_id for r in sorted(successes, key=lambda r: r.index)]


def test_copies_share_an_actor_as_asked(ray_cluster, tmp_path):
    """`copies_per_actor=3`: three episodes in flight at once play on three env copies of one actor,
    each copy kept for later episodes."""
    from seer_env.ray_executor import RayExecutor

    with pytest.raises(ValueError, match="copies_per_actor"):
        RayExecutor(copies_per_actor=0)
    runner = Runner(
        [ENV],
        [slow_oracle(0.05)],
        tmp_path / "run",
        episodes=6,
        concurrency=3,
        env_kwargs=ENV_KWARGS,
        executor=RayExecutor(copies_per_actor=3),
    )
    counts = asyncio.run(runner.run())
    records = read_episodes(tmp_path / "run" / RESULTS_FILE)
    assert counts["done"] == len(records) == 6 and all(r.success for r in records)
    stats = runner.executor.facts()
    assert stats["actors_started"] == 1 and stats["env_copies_started"] == 3
    assert stats["copies_per_actor_used"] == {ENV: 3}

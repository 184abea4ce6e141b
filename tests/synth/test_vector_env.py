"""ToolQA under `gym.make_vec(..., vectorization_mode="async")`, as an RL trainer builds it.

The workers hand observations back through shared memory and embed through the one shared embedding
service (the default embedder in `multiprocessing` workers); their observations must be those of an
independent env in this process, with a model of its own, playing the same actions.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest

from seer_env.agents.oracle import OraclePolicy


@pytest.fixture()
def private_service(monkeypatch):
    """The embedding service's socket in a private folder; stopped (and checked gone) afterwards."""
    from seer_env import embedding_service as svc

    run = Path(tempfile.mkdtemp(prefix="se-", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    monkeypatch.setenv("SEER_ENV_EMBED_SERVICE_IDLE", "60")
    yield
    svc.stop_service(None, "torch")
    deadline = time.monotonic() + 15
    while svc.running_service_pids() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert svc.running_service_pids() == []
    shutil.rmtree(run, ignore_errors=True)


def _reference(env, tid: str) -> tuple[list, list[str]]:
    """The oracle's actions for a task and the observations an env of this process gives for them."""
    obs, info = env.reset(options={"task_id": tid, "reveal_gold": True})
    chain, finish = OraclePolicy()._plan(info)
    actions, seen = [*chain, finish], [obs]
    for a in actions:
        obs, _r, term, trunc, _i = env.step(a)
        seen.append(obs)
        if term or trunc:
            break
    return actions, seen


def test_shared_memory_workers_observe_what_independent_envs_observe(synth_roots, private_service):
    import gymnasium as gym

    from seer_env.embedding import ModelEmbedder
    from seer_env.envs.toolqa.env import ToolQAEnv

    root = str(synth_roots[0])
    local = ToolQAEnv(difficulty="hard", data_dir=root)  # the default embedder, its model in this process
    plans = {tid: _reference(local, tid) for tid in local.task_ids}
    assert any(a.name.startswith("Retrieve") for actions, _ in plans.values() for a in actions)
    ModelEmbedder(service=True).encode(["start the service before the workers' first retrieval"])

    n = 3
    envs = gym.make_vec("seer_env:ToolQA-hard-v0", num_envs=n, vectorization_mode="async", data_dir=root)
    try:
        assert envs.shared_memory  # observations come back through shared memory
        obs, infos = envs.reset(seed=list(range(n)))
        task = [infos["task_id"][i] for i in range(n)]
        pos = [0] * n
        for i in range(n):
            assert obs[i] == plans[task[i]][1][0]
        checked, retrievals, done = 0, 0, set()
        for _ in range(400):
            actions = tuple(plans[task[i]][0][pos[i]] if pos[i] is not None else None for i in range(n))
            obs, _r, term, trunc, infos = envs.step(actions)
            for i in range(n):
                if pos[i] is None:  # this step was the worker's reset: a new task
                    task[i], pos[i] = infos["task_id"][i], 0
                    assert obs[i] == plans[task[i]][1][0]
                    continue
                expected = plans[task[i]][1][pos[i] + 1]
                assert obs[i] == expected, (task[i], actions[i], obs[i][:200], expected[:200])
                checked += 1
                retrievals += actions[i].name.startswith("Retrieve")
                pos[i] += 1
                if term[i] or trunc[i]:
                    done.add(task[i])
                    pos[i] = None
        assert checked >= 300 and retrievals > 0 and len(done) > 30
    finally:
        envs.close()
        local.close()

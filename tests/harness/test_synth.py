"""SEER on ToolQA-Synth through litellm's real HTTP path (`openai/...` + `api_base`) and the loopback
server; and the README's main-job command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest

from seer_env.agents.prompts import EXAMPLES_HEADER
from seer_env.agents.seer import open_memory
from seer_env.runner import select_tasks
from seer_env.types import ToolCall
from tests.harness.helpers import run_policies, solver_prompts
from tests.harness.scripted import ScriptedModel

pytest.importorskip("seer_env.envs.toolqa.synth_env")

REPO = Path(__file__).resolve().parents[2]
ENV = "ToolQA-Synth-easy-v0"


@pytest.fixture(scope="module")
def synth_tasks():
    env = gym.make(ENV, disable_env_checker=True)
    ids = select_tasks(env.unwrapped.task_ids, episodes=10, seed=5)
    answers, queries = {}, {}
    for tid in ids:
        _, info = env.reset(options={"task_id": tid, "reveal_gold": True})
        chain = [ToolCall.from_dict(c) for c in info["gold"]["chain"]]
        if not chain or chain[-1].name != "Finish":
            chain.append(ToolCall("Finish", {"answer": str(info["gold"]["answer"])}))
        answers[info["query"]] = (info["domain"], chain)
        queries[tid] = info["query"]
    return ids, answers, queries


def test_seer_on_synth_through_http(serve, tmp_path, hash_embedder, synth_tasks):
    ids, answers, queries = synth_tasks
    wrong = {queries[ids[1]], queries[ids[6]]}
    model = ScriptedModel(answers, wrong=wrong)
    srv = serve(model)
    out = tmp_path / "run"
    recs, _ = run_policies(
        out,
        ["seer"],
        srv,
        [ENV],
        embedder=hash_embedder,
        tasks=",".join(ids),
        concurrency=1,
        accumulate="sequential",
        seer_options={"continue_on_error": True},
    )
    assert len(recs) == len(ids)
    by_task = {r["task_id"]: r for r in recs}
    for tid in ids:
        # success unless wrong on purpose or the gold chain is longer than SEER's cap of 6 steps
        expect = queries[tid] not in wrong and len(answers[queries[tid]][1]) <= 6
        assert by_task[tid]["success"] == expect, (tid, by_task[tid]["trajectory"]["steps"])
        if len(answers[queries[tid]][1]) > 6:
            assert by_task[tid]["trajectory"]["meta"]["halted"] == "step cap of 6 reached"
    # the model was reached over HTTP through litellm: one classification and one solver call per step
    assert model.kinds["classify"] == len(ids)
    assert model.kinds["solver"] == sum(r["n_steps"] for r in recs)
    prompts = solver_prompts(srv)
    assert prompts and all(EXAMPLES_HEADER in p for p in prompts)
    # the intent classifier's label reached the records
    assert all(r["trajectory"]["intent"] == r["domain"] for r in recs)
    # process strategy: one recall per step
    assert all(r["trajectory"]["meta"]["recalls"] == r["n_steps"] for r in recs)
    mem = open_memory(out / "pool-seer.sqlite", "toolqa", embedder=hash_embedder)
    online = [e for e in mem.experiences() if e.source == "online"]
    assert len(online) == sum(r["success"] for r in recs) >= len(ids) // 2
    assert not {e.query for e in online} & wrong
    # later prompts show earlier successes as exemplars
    assert any(f"Question: {e.query}" in p for p in prompts[-3:] for e in online[:-1])
    mem.close()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "seer_env.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=900
    )


def _demo(out: Path, episodes: int) -> None:
    run = _cli(
        "run",
        "--env",
        "ToolQA-Synth-easy-v0,ToolQA-Synth-hard-v0",
        "--policy",
        "random,oracle",
        "--episodes",
        str(episodes),
        "--out",
        str(out),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    rep = _cli("report", str(out))
    assert rep.returncode == 0, rep.stderr[-3000:]
    md = (out / "report.md").read_text()
    assert "| ToolQA-Synth-easy-v0 | oracle | " + str(episodes) + " | 100.0 |" in md
    assert "| ToolQA-Synth-hard-v0 | random | " + str(episodes) + " |" in md
    for png in ("success.png", "success_by_domain.png", "learning_curve.png"):
        assert (out / png).stat().st_size > 1000
    assert not (out / "tokens_cost.png").exists()  # no policy called an LLM: no empty plot
    for name in ("report.html", "records.csv"):
        assert str(out / name) in rep.stdout and (out / name).stat().st_size > 1000


def test_main_job_command_small(tmp_path):
    _demo(tmp_path / "demo", 6)


@pytest.mark.slow
def test_main_job_command_as_in_readme(tmp_path):
    _demo(tmp_path / "demo", 40)

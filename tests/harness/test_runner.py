"""The runner: records, errors, faults, accumulation order, resume after SIGKILL, Ctrl-C, reports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from seer_env.agents.seer import open_memory
from seer_env.records import read_records
from seer_env.report import make_report, pass_hat_k
from seer_env.runner import select_tasks
from tests.harness import tiny_env
from tests.harness.conftest import TINY
from tests.harness.helpers import run_policies
from tests.harness.scripted import ScriptedModel

REPO = Path(__file__).resolve().parents[2]


def keys(records):
    return [(r["env_id"], r["policy"], r["task_id"], r["trial"]) for r in records]


def test_select_tasks():
    ids = [f"t{i}" for i in range(10)]
    assert select_tasks(ids, "2:5") == ["t2", "t3", "t4"]
    assert select_tasks(ids, "t3,t1") == ["t3", "t1"]
    sample = select_tasks(ids, episodes=4, seed=1)
    assert len(sample) == 4 and sample == sorted(sample, key=ids.index)
    assert sample == select_tasks(ids, episodes=4, seed=1)
    with pytest.raises(ValueError):
        select_tasks(ids, "nope")


def test_pass_hat_k():
    assert pass_hat_k([(4, 4), (4, 0)], 1) == 0.5
    assert pass_hat_k([(4, 2)], 2) == pytest.approx(1 / 6)
    assert pass_hat_k([(1, 1)], 2) is None


def test_run_records_every_episode_and_a_failed_one(serve, scripted, tmp_path, hash_embedder):
    srv = serve(scripted)
    out = tmp_path / "run"
    recs, runner = run_policies(
        out,
        ["seer", "react"],
        srv,
        [TINY],
        embedder=hash_embedder,
        tasks="t000,t001,t002,t003",
        trials=2,
        concurrency=4,
        env_kwargs={"*": {"fail_task": "t002"}},
    )
    assert len(recs) == 2 * 4 * 2
    assert len(set(keys(recs))) == len(recs)
    failed = [r for r in recs if r["task_id"] == "t002"]
    assert len(failed) == 4 and all(r["error"]["type"] == "RuntimeError" for r in failed)
    assert all(not r["success"] for r in failed)
    ok = [r for r in recs if r["task_id"] != "t002"]
    assert all(r["success"] and r["error"] is None for r in ok)
    for r in ok:
        assert r["usage"]["calls"] >= 2 and r["usage"]["prompt_tokens"] > 0
        assert r["trajectory"]["steps"] and r["model"] == "openai/scripted"
        assert r["timings"]["wall_s"] > 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["models"] == ["openai/scripted"]
    assert manifest["planned_episodes"] == 16
    assert "litellm" in manifest["versions"]
    assert manifest["sessions"][-1]["status"] == "finished"
    pools = manifest["sessions"][-1]["pools"]
    # seeds + one per solved task: a second trial with the same trajectory is a duplicate
    assert pools["seer:toolqa"]["size"] == 8 + 3
    assert manifest["sessions"][-1]["pools_at_start"]["seer:toolqa"]["size"] == 8
    assert pools["seer:toolqa"]["hash"] != manifest["sessions"][-1]["pools_at_start"]["seer:toolqa"]["hash"]
    # the same run again (the env fixed) plays exactly the episodes that ended in an error, once
    recs2, runner2 = run_policies(
        out, ["seer", "react"], srv, [TINY], embedder=hash_embedder, tasks="t000,t001,t002,t003", trials=2
    )
    assert recs2[:16] == recs and sorted(keys(recs2[16:])) == sorted(keys(failed))
    assert all(r["success"] and r["error"] is None for r in recs2[16:])
    assert runner2.counts["replayed"] == 4 and runner2.counts["done"] == 4
    # then nothing is left to play
    recs3, _ = run_policies(
        out, ["seer", "react"], srv, [TINY], embedder=hash_embedder, tasks="t000,t001,t002,t003", trials=2
    )
    assert recs3 == recs2


@pytest.mark.parametrize("mode", ["sequential", "batch:3"])
def test_accumulation_in_task_order(serve, tiny_answers, tmp_path, hash_embedder, mode):
    tasks = tiny_env.make_tasks(60)[:10]
    wrong = {tasks[2]["query"], tasks[7]["query"]}
    srv = serve(ScriptedModel(tiny_answers, wrong=wrong), latency=0.01)
    out = tmp_path / "run"
    recs, _ = run_policies(
        out,
        ["seer"],
        srv,
        [TINY],
        embedder=hash_embedder,
        tasks=",".join(t["id"] for t in tasks),
        concurrency=8,
        accumulate=mode,
    )
    assert len(recs) == 10
    mem = open_memory(out / "pool-seer.sqlite", "toolqa", embedder=hash_embedder)
    online = [e.task_id for e in mem.experiences() if e.source == "online"]
    expected = [t["id"] for t in tasks if t["query"] not in wrong]
    assert online == expected  # pool order = task order, failures never added
    if mode == "sequential":  # each episode starts after the previous one ended
        by_index = sorted(recs, key=lambda r: r["index"])
        for a, b in zip(by_index, by_index[1:], strict=False):
            assert b["timings"]["start"] >= a["timings"]["end"] - 0.01
        sizes = [r["pool_size"] for r in by_index]
        assert sizes == sorted(sizes)
    else:
        events = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
        assert [e["batch"] for e in events] == [0, 1, 2, 3]
        assert sum(e["added"] for e in events) == 8
    size = len(mem)
    mem.close()
    # the same command again: nothing to play, nothing added twice
    again, _ = run_policies(
        out,
        ["seer"],
        srv,
        [TINY],
        embedder=hash_embedder,
        tasks=",".join(t["id"] for t in tasks),
        accumulate=mode,
    )
    assert len(again) == 10
    mem = open_memory(out / "pool-seer.sqlite", "toolqa", embedder=hash_embedder)
    assert len(mem) == size
    mem.close()


def test_faults_200_episodes_all_recorded(serve, tiny_answers, tmp_path, hash_embedder):
    """429, 500, hangs past the timeout, malformed calls and empty content on 20% of calls."""
    faults = {"429": 0.04, "500": 0.04, "hang": 0.04, "malformed": 0.04, "empty": 0.04}
    srv = serve(ScriptedModel(tiny_answers), faults=faults, hang_seconds=2.0, seed=3, record=False)
    out = tmp_path / "run"
    recs, runner = run_policies(
        out,
        ["seer", "react"],
        srv,
        [TINY],
        embedder=hash_embedder,
        episodes=50,
        trials=2,
        concurrency=32,
        llm_options={"timeout": 0.5, "max_retries": 2, "backoff_base": 0.0},
        react_options={"action_format": "tools"},
        env_kwargs={"*": {"n_tasks": 60}},
    )
    assert len(recs) == 200 and len(set(keys(recs))) == 200
    kinds = Counter()
    for r in recs:
        kinds.update(r["usage"]["errors_by_kind"])
    for kind in ("rate_limit", "server_error", "timeout", "empty", "malformed_tool_call"):
        assert kinds[kind] > 0, kinds
    assert set(srv.fault_counts) == {"429", "500", "hang", "malformed", "empty"}
    # most episodes still succeed: the retries absorb transient faults
    assert sum(r["success"] for r in recs) > 100
    assert runner.counts["done"] == 200


def _cli(out: Path, *extra: str) -> list[str]:
    """`seer-env run` with the random policy on the tiny env, whose tools take 50 ms a call."""
    return [
        sys.executable,
        "-m",
        "seer_env.cli",
        "run",
        "--env",
        TINY,
        "--policy",
        "random",
        "--env-kwargs",
        '{"slow": 0.05}',
        "--episodes",
        "40",
        "--concurrency",
        "4",
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


def _wait_for_records(path: Path, n: int, proc: subprocess.Popen, limit: float = 120.0) -> None:
    t0 = time.time()
    while time.time() - t0 < limit:
        if path.exists() and len(read_records(path)) >= n:
            return
        if proc.poll() is not None:
            raise AssertionError(f"runner exited early: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.05)
    raise AssertionError("no records in time")


def _env():
    return {**os.environ, "PYTHONPATH": str(REPO)}


def test_ctrl_c_then_sigkill_then_resume(tmp_path):
    """Ctrl-C stops cleanly; SIGKILL mid-run loses nothing finished; the same command completes the plan
    with every planned episode recorded exactly once."""
    out = tmp_path / "run"
    results = out / "results.jsonl"
    proc = subprocess.Popen(_cli(out), cwd=REPO, env=_env(), stderr=subprocess.PIPE)
    try:
        _wait_for_records(results, 3, proc)
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == 130
    lines = results.read_text().splitlines()
    assert lines and all(json.loads(x)["policy"] == "random" for x in lines)  # no torn line
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sessions"][-1]["status"] == "interrupted"
    first = len(lines)

    proc = subprocess.Popen(_cli(out), cwd=REPO, env=_env(), stderr=subprocess.PIPE)
    try:
        _wait_for_records(results, first + 5, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    partial = read_records(results)
    assert first + 5 <= len(partial) < 40
    assert len(set(keys(partial))) == len(partial)

    done = subprocess.run(_cli(out), cwd=REPO, env=_env(), capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    recs = read_records(results)
    assert len(recs) == 40 and len(set(keys(recs))) == 40
    assert all(r["error"] is None and r["n_steps"] > 0 for r in recs)
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["status"] for s in manifest["sessions"]] == ["interrupted", "started", "finished"]
    assert manifest["sessions"][-1]["skipped"] == len(partial)


def test_report_writes_tables_and_pngs(serve, scripted, tmp_path, hash_embedder):
    srv = serve(scripted)
    out = tmp_path / "run"
    run_policies(
        out, ["seer", "react"], srv, [TINY], embedder=hash_embedder, episodes=12, trials=2, concurrency=8
    )
    proc = subprocess.run(
        [sys.executable, "-m", "seer_env.cli", "report", str(out)], cwd=REPO, env=_env(), capture_output=True
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert "success per env and policy" in proc.stdout.decode()
    md = (out / "report.md").read_text()
    assert "| seer |" in md.replace(TINY + " | ", "| ") and "pass^2 %" in md
    assert "| math |" in md and "| lookup |" in md
    for name in ("success_by_domain.png", "learning_curve.png", "tokens_cost.png"):
        with Image.open(out / name) as im:
            im.load()
            assert im.size[0] > 200 and im.size[1] > 100


def test_report_on_missing_run(tmp_path):
    with pytest.raises(FileNotFoundError):
        make_report(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "seer_env.cli", "report", str(tmp_path)],
        cwd=REPO,
        env=_env(),
        capture_output=True,
    )
    assert proc.returncode == 1


async def test_batch_accumulation_survives_an_interrupt(serve, tiny_answers, tmp_path, hash_embedder):
    """Interrupted mid-batch and resumed: the batch's recorded successes still enter the pool, in order."""
    import asyncio

    from seer_env.agents.launch import build_policy_entries
    from seer_env.runner import Runner

    tasks = tiny_env.make_tasks(60)[:12]
    wrong = {tasks[4]["query"]}
    srv = serve(ScriptedModel(tiny_answers, wrong=wrong), latency=0.05)
    out = tmp_path / "run"

    def runner() -> Runner:
        entries = build_policy_entries(
            ["seer"],
            out=out,
            model="openai/scripted",
            api_base=srv.base_url,
            api_key="sk",
            llm_options={"backoff_base": 0.0},
            embedder=hash_embedder,
            accumulate="batch:4",
        )
        ids = ",".join(t["id"] for t in tasks)
        return Runner([TINY], entries, out, tasks=ids, concurrency=2, accumulate="batch:4")

    task = asyncio.ensure_future(runner().run())
    while not (out / "results.jsonl").exists() or len(read_records(out / "results.jsonl")) < 6:
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    first = read_records(out / "results.jsonl")
    assert 6 <= len(first) < 12
    await runner().run()
    recs = read_records(out / "results.jsonl")
    assert len(recs) == 12 and len(set(keys(recs))) == 12
    mem = open_memory(out / "pool-seer.sqlite", "toolqa", embedder=hash_embedder)
    online = [e.task_id for e in mem.experiences() if e.source == "online"]
    assert online == [t["id"] for t in tasks if t["query"] not in wrong]
    mem.close()

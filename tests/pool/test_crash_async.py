"""Crash safety (a writer killed mid-batch) and async recall that keeps the event loop responsive."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from seer_env.pool import ExperienceMemory
from tests.pool.fakes import HashEmbedder, make_traj
from tests.pool.workers import check_experience

REPO = Path(__file__).resolve().parents[2]
BATCH = 300


def _crash(url: str, tmp_path: Path) -> None:
    ExperienceMemory(url, embedder=HashEmbedder()).close()
    marker = tmp_path / "inserted"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    p = subprocess.Popen(
        [sys.executable, "-m", "tests.pool.workers", "crash_writer", url, str(marker), str(BATCH)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert p.poll() is None, p.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the writer never reached its second batch"
            time.sleep(0.05)
        # the second batch's INSERT has run inside its still-open transaction
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == -signal.SIGKILL

    mem = ExperienceMemory(url, embedder=HashEmbedder())
    try:
        assert len(mem) == BATCH  # the committed batch, nothing of the killed one
        for e in mem.experiences():
            assert check_experience(e, mem) is None
        if mem.store.dialect == "sqlite":
            with mem.store.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        # the pool takes writes again (the lock died with the writer), and recall works
        assert mem.add_many([make_traj(BATCH + i) for i in range(BATCH)]) == [True] * BATCH
        assert len(mem) == 2 * BATCH
        t = make_traj(5)
        assert mem.recall(t.query, intent=t.intent, strategy="goal", k=1)[0].experience.query == t.query
    finally:
        mem.close()


def test_sigkill_mid_batch_sqlite(tmp_path):
    _crash(str(tmp_path / "crash.sqlite"), tmp_path)


@pytest.mark.postgres
def test_sigkill_mid_batch_postgres(pg_url, tmp_path):
    _crash(pg_url, tmp_path)


async def test_arecall_keeps_the_loop_responsive(tmp_path):
    """Recall runs in a worker thread, never on the event loop, and the loop keeps ticking meanwhile.

    Checked by where the work runs and by the loop making progress, not by wall-clock limits (a busy
    machine makes any latency bound flaky)."""
    mem = ExperienceMemory(tmp_path / "a.sqlite", embedder=HashEmbedder(dim=384))
    mem.add_many([make_traj(i) for i in range(3000)])
    trajs = [make_traj(i) for i in range(200)]
    loop_thread = threading.get_ident()
    recall_threads: list[int] = []
    sync_recall = mem.recall

    def recording_recall(*args, **kwargs):
        recall_threads.append(threading.get_ident())
        return sync_recall(*args, **kwargs)

    mem.recall = recording_recall
    ticks = 0
    stop = asyncio.Event()

    async def heartbeat():
        nonlocal ticks
        while not stop.is_set():
            await asyncio.sleep(0.001)
            ticks += 1

    hb = asyncio.create_task(heartbeat())
    await asyncio.sleep(0)
    results = await asyncio.gather(
        *[
            mem.arecall(
                t.query,
                intent=t.intent,
                steps=t.steps[: i % 3],
                strategy=("goal", "process", "hybrid")[i % 3],
                k=4,
            )
            for i, t in enumerate(trajs)
        ]
    )
    stop.set()
    await hb
    assert len(results) == 200 and all(len(r) == 4 for r in results)
    # goal recalls of a stored question find it first
    assert all(results[i][0].experience.query == trajs[i].query for i in range(0, 200, 3))
    assert len(recall_threads) == 200 and loop_thread not in recall_threads
    assert ticks >= 3, "the event loop did not run while recalls were in flight"
    # async adds, too
    assert await mem.aadd(make_traj(5000)) is True
    assert await mem.aadd(make_traj(5000)) is False
    mem.close()

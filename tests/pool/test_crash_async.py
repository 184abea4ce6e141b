"""Crash safety (a writer killed mid-batch) and async recall that keeps the event loop responsive."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
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
    mem = ExperienceMemory(tmp_path / "a.sqlite", embedder=HashEmbedder(dim=384))
    mem.add_many([make_traj(i) for i in range(3000)])
    trajs = [make_traj(i) for i in range(200)]
    lateness: list[float] = []
    stop = asyncio.Event()

    async def heartbeat():
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            t0 = loop.time()
            await asyncio.sleep(0.01)
            lateness.append(loop.time() - t0 - 0.01)

    hb = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.05)
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
    assert len(lateness) >= 3
    assert max(lateness) < 0.050, f"a heartbeat tick was {max(lateness) * 1000:.1f} ms late"
    # async adds, too
    assert await mem.aadd(make_traj(5000)) is True
    assert await mem.aadd(make_traj(5000)) is False
    mem.close()

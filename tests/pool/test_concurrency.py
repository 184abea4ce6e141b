"""Many processes share one pool: 8 writers x 500 adds while 2 processes recall (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seer_env.pool import ExperienceMemory
from tests.pool.fakes import HashEmbedder

REPO = Path(__file__).resolve().parents[2]
WRITERS, PER_WRITER, READERS = 8, 500, 2


def _spawn(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")
    return subprocess.Popen(
        [sys.executable, "-m", "tests.pool.workers", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run_many(url: str, tmp_path: Path) -> None:
    # create the pool (schema + embedder) once, as a runner would before starting workers
    ExperienceMemory(url, embedder=HashEmbedder()).close()
    stop = tmp_path / "stop"
    readers = [_spawn("reader", url, str(stop)) for _ in range(READERS)]
    writers = [_spawn("writer", url, str(w), str(PER_WRITER)) for w in range(WRITERS)]
    outs = []
    for p in writers:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    stop.write_text("done")
    reads = []
    for p in readers:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
        reads.append(json.loads(out.strip().splitlines()[-1]))

    assert [o["added"] for o in outs] == [PER_WRITER] * WRITERS
    mem = ExperienceMemory(url, embedder=HashEmbedder())
    try:
        assert len(mem) == WRITERS * PER_WRITER
        assert mem.stats()["experiences"] == WRITERS * PER_WRITER
        assert len(mem._tidx) == WRITERS * PER_WRITER
    finally:
        mem.close()
    for r in reads:
        assert r["n_errors"] == 0, r["errors"]
        assert r["recalls"] > 0
        # after the writers finished, every reader's index caught up with every row
        assert r["indexed"] == WRITERS * PER_WRITER


def test_concurrent_sqlite(tmp_path):
    _run_many(str(tmp_path / "shared.sqlite"), tmp_path)


@pytest.mark.postgres
def test_concurrent_postgres(pg_url, tmp_path):
    _run_many(pg_url, tmp_path)

"""The shared embedding service: one model process serving every client process of the machine.

Each test runs the real service (the packaged MiniLM, torch backend) with its socket in a private
temporary folder, and stops it at the end: no service outlives the test.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from seer_env import embedding_service as svc
from seer_env.embedding import ModelEmbedder

TEXTS = ["What is the value of k3?", "Step 1: <CALL_BEGIN>LoadDB[flights]<CALL_END>", "", "ünï ✓"]


@pytest.fixture()
def service_dir(monkeypatch):
    """A private run folder for the service's socket (stopped, and checked gone, afterwards); short,
    since a socket's path is limited to about 107 bytes."""
    run = Path(tempfile.mkdtemp(prefix="se-", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    monkeypatch.setenv("SEER_ENV_EMBED_SERVICE_IDLE", "30")
    yield run
    svc.stop_service(None, "torch")
    deadline = time.monotonic() + 15
    while svc.running_service_pids() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert svc.running_service_pids() == []
    shutil.rmtree(run, ignore_errors=True)


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_service_rows_equal_local_rows_and_it_restarts_after_a_stop(service_dir):
    local = ModelEmbedder(service=False).encode(TEXTS)
    shared = ModelEmbedder(service=True)
    rows = shared.encode(TEXTS)
    np.testing.assert_allclose(rows, local, atol=1e-5)
    [pid] = svc.running_service_pids()
    assert svc.run_dir() == service_dir / "seer-env"
    assert svc.run_dir().stat().st_mode & 0o077 == 0  # a folder only this user opens

    # a request the service cannot read fails that request only
    with svc.connect(None, "torch") as sock:
        svc._send_request(sock, {"op": "no such op"})
        with pytest.raises(RuntimeError, match="unknown op"):
            svc._read_reply(sock)
        svc._send_request(sock, {"op": "encode", "texts": ["still works"]})
        assert svc._read_reply(sock).shape == (1, 384)

    assert svc.stop_service(None, "torch")
    deadline = time.monotonic() + 15
    while not _pid_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _pid_gone(pid)
    # the client notices, starts a new service and gets its rows
    shared._batcher().clear()
    np.testing.assert_allclose(
        shared.encode(["after the stop"]), ModelEmbedder(service=False).encode(["after the stop"]), atol=1e-5
    )
    assert len(svc.running_service_pids()) == 1


def _worker(i, texts, q) -> None:
    emb = ModelEmbedder()  # service="auto": a multiprocessing worker uses the shared service
    q.put((i, multiprocessing.parent_process() is not None, emb.encode(texts)))


def test_worker_processes_share_one_service(service_dir):
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters: nothing inherited from this one
    q = ctx.Queue()
    texts = {i: [TEXTS[i], f"worker {i}"] for i in range(3)}
    procs = [ctx.Process(target=_worker, args=(i, texts[i], q)) for i in range(3)]
    for p in procs:
        p.start()
    results = [q.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert all(child for _, child, _ in results)
    assert len(svc.running_service_pids()) == 1  # one model for the three workers
    local = ModelEmbedder(service=False)
    for i, _, rows in results:
        np.testing.assert_allclose(rows, local.encode(texts[i]), atol=1e-5)

"""The shared embedding service: one model process serving every client process of the machine.

Each test runs the real service (the packaged MiniLM, torch backend) with its socket in a private
temporary folder, and stops it at the end: no service outlives the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
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


WORKER = """
import json, sys
from seer_env.embedding import ModelEmbedder
rows = ModelEmbedder().encode(json.loads(sys.argv[1]))
print(json.dumps(rows.tolist()))
"""


def test_worker_processes_share_one_service(service_dir):
    """Three processes at once (as a vector env's workers) get their rows from one service."""
    env = {**os.environ, "SEER_ENV_EMBED_SERVICE": "1"}  # what "auto" means in a multiprocessing worker
    texts = {i: [TEXTS[i], f"worker {i}"] for i in range(3)}
    procs = {
        i: subprocess.Popen(
            [sys.executable, "-c", WORKER, json.dumps(texts[i])], stdout=subprocess.PIPE, env=env, text=True
        )
        for i in range(3)
    }
    outs = {i: p.communicate(timeout=300)[0] for i, p in procs.items()}
    assert all(p.returncode == 0 for p in procs.values())
    assert len(svc.running_service_pids()) == 1  # one model for the three workers
    local = ModelEmbedder(service=False)
    for i, out in outs.items():
        np.testing.assert_allclose(np.array(json.loads(out)), local.encode(texts[i]), atol=1e-5)


def test_auto_means_the_service_in_multiprocessing_workers_only(monkeypatch):
    import multiprocessing

    from seer_env.embedding import _use_service

    monkeypatch.delenv("SEER_ENV_EMBED_SERVICE", raising=False)
    assert _use_service(None) is False  # this process is no multiprocessing worker
    monkeypatch.setattr(multiprocessing, "parent_process", lambda: object())
    assert _use_service(None) is True and _use_service("auto") is True
    assert _use_service(False) is False and _use_service("0") is False
    monkeypatch.setenv("SEER_ENV_EMBED_SERVICE", "0")
    assert _use_service(None) is False

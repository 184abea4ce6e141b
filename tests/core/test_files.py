"""The core file helpers: the cache folder, atomic folder builds, the inter-process lock, the hash embedder."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from seer_env.embedding import CallableEmbedder, HashEmbedder, TextEmbedder, as_embedder
from seer_env.files import FileLock, atomic_build, cache_dir, file_lock

REPO = Path(__file__).resolve().parents[2]


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SEER_ENV_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("SEER_ENV_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x" / "seer-env"


def test_atomic_build_fills_once_and_leaves_no_temporary(tmp_path):
    calls = []

    def fill(tmp: Path) -> None:
        calls.append(tmp)
        (tmp / "data.txt").write_text("ok")

    target = tmp_path / "built"
    assert atomic_build(target, fill, check="data.txt") == target
    assert (target / "data.txt").read_text() == "ok"
    atomic_build(target, fill, check="data.txt")
    assert len(calls) == 1  # complete: not built again
    assert sorted(p.name for p in tmp_path.iterdir()) == ["built"]


def test_atomic_build_failure_leaves_nothing(tmp_path):
    def fill(tmp: Path) -> None:
        (tmp / "half").write_text("x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_build(tmp_path / "t", fill)
    assert list(tmp_path.iterdir()) == []  # neither the target nor the temporary folder


def test_atomic_build_with_lock_replaces_an_incomplete_leftover(tmp_path):
    target = tmp_path / "t"
    target.mkdir()
    (target / "stale").write_text("from a killed build")
    atomic_build(target, lambda tmp: (tmp / "mark").write_text("1"), check="mark", lock=True)
    assert sorted(p.name for p in target.iterdir()) == ["mark"]


# other processes are plain subprocesses, waited for (multiprocessing would leave its resource-tracker
# process running under the test session)
BUILD = """
import os, sys, time
from pathlib import Path
from seer_env.files import atomic_build

def fill(tmp):
    with open(sys.argv[2], "a") as f:
        f.write(f"{os.getpid()}\\n")
    time.sleep(0.3)  # long enough for the other builders to queue on the lock
    (tmp / "mark").write_text("1")

atomic_build(Path(sys.argv[1]), fill, check="mark", lock=True)
"""

HOLD = """
import sys, time
from seer_env.files import FileLock

with FileLock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _python(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=REPO, stdout=subprocess.PIPE, text=True)


def test_atomic_build_with_lock_builds_once_across_processes(tmp_path):
    target, log = tmp_path / "t", tmp_path / "log"
    procs = [_python(BUILD, str(target), str(log)) for _ in range(3)]
    assert all(p.wait(60) == 0 for p in procs)
    assert len(log.read_text().split()) == 1
    assert (target / "mark").is_file()


def test_file_lock_excludes_another_process_until_released(tmp_path):
    path = str(tmp_path / "x.lock")
    p = _python(HOLD, path, "0.5")
    assert p.stdout.readline().strip() == "held"
    t0 = time.monotonic()
    with file_lock(path):
        waited = time.monotonic() - t0
    assert p.wait(30) == 0
    assert waited > 0.2  # it queued behind the other process's hold


def test_file_lock_is_released_when_its_holder_dies(tmp_path):
    path = str(tmp_path / "x.lock")
    p = _python(HOLD, path, "60")
    assert p.stdout.readline().strip() == "held"
    p.kill()
    p.wait(30)
    lock = FileLock(path)
    with lock:  # would hang if the dead holder still held it (pytest-timeout ends the test)
        pass
    lock.close()


def test_hash_embedder_is_a_text_embedder_and_a_callable():
    words = HashEmbedder(64)
    assert isinstance(words, TextEmbedder) and as_embedder(words) is words
    v = words.encode(["the flights table", "the flights table", "coffee prices"])
    assert v.shape == (3, 64) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0)
    assert np.allclose(v[0], v[1]) and float(v[0] @ v[2]) < 0.9
    assert np.allclose(words(["coffee prices"]), v[2:])
    text = HashEmbedder(16, mode="text")
    a, b = text.encode(["a b", "a c"])
    assert text.name == "hash-text-16" and abs(float(a @ b)) < 0.9


def test_as_embedder_wraps_a_plain_function():
    def fn(texts):
        return np.ones((len(texts), 3), dtype=np.float32) / np.sqrt(3)

    emb = as_embedder(fn)
    assert isinstance(emb, CallableEmbedder) and not emb.stable_name and emb.dim == 3
    fn.label = "ones"  # type: ignore[attr-defined]
    named = as_embedder(fn)
    assert named.stable_name and named.name == "ones"
    with pytest.raises(TypeError):
        as_embedder(42)

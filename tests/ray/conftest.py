"""A local Ray for the executor tests: started once per module on loopback, shut down after.

`RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0` makes Ray use the loopback address for every server (it otherwise
advertises the machine's routable address and listens on all interfaces); it is read when `ray` is
first imported, by this process and by the processes Ray starts, so it is set before that import.
Starting Ray costs seconds, so the tests of a module share one instance; after it is shut down, no
process Ray started may be left under this test session (the sandbox tests count such as leaks).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time

import pytest

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[0] != "Z":
                kids.setdefault(int(fields[1]), []).append(int(name))
    return kids


def descendants(pid: int | None = None) -> set[int]:
    """Live processes under `pid` (default: this one)."""
    kids, out, todo = _children(), set(), [pid or os.getpid()]
    while todo:
        for k in kids.get(todo.pop(), []):
            if k not in out:
                out.add(k)
                todo.append(k)
    return out


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f"{pid}: " + f.read().replace(b"\0", b" ").decode(errors="replace")[:200]
    except OSError:
        return f"{pid}: (gone)"


def ray_processes(pids: set[int]) -> list[str]:
    """The command lines of those of `pids` that are Ray's: its servers, workers and helpers."""
    marks = ("ray::", "raylet", "gcs_server", "/site-packages/ray/")
    return [c for c in map(_cmdline, sorted(pids)) if any(m in c for m in marks)]


def _ray_module():
    try:
        import ray
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail('CI is set but ray is not installed (pip install -e ".[dev,ray]")')
        pytest.skip('ray is not installed (pip install "seer-env[ray]")')
    return ray


@pytest.fixture(scope="module")
def ray_cluster():
    """The GCS address (`127.0.0.1:PORT`) of a local Ray with 2 CPUs, no dashboard, on loopback."""
    ray = _ray_module()
    if ray.is_initialized():
        pytest.fail("Ray was already initialised in this process")
    before = descendants()
    assert not ray_processes(before)
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir=temp, logging_level="WARNING")
    try:
        address = ray.get_runtime_context().gcs_address
        assert address.startswith("127.0.0.1:"), address
        assert ray_processes(descendants() - before)  # the leak check below does see Ray's processes
        yield address
    finally:
        ray.shutdown()
        deadline = time.monotonic() + 30
        while (left := ray_processes(descendants() - before)) and time.monotonic() < deadline:
            time.sleep(0.2)
        shutil.rmtree(temp, ignore_errors=True)
        assert not left, f"Ray left processes behind: {left}"

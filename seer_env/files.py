"""Files shared between processes: the cache folder, folders built atomically, and file locks.

- `cache_dir()`: where seer-env keeps what it derives (unpacked models, parsed corpora, indexes,
  generated data): `$SEER_ENV_CACHE`, else `$XDG_CACHE_HOME/seer-env`, else `~/.cache/seer-env`.
- `atomic_build(target, fill)`: a folder is filled in a temporary sibling and renamed into place, so
  no reader ever sees a half-built folder; with `lock=True` concurrent builders wait on a lock file
  and the folder is built once.
- `FileLock`: an exclusive lock between processes (`flock`, which the OS drops when a process dies,
  so a killed holder never blocks the others) and between the threads of one process.
- `claim_lock(path)`: take such a lock without waiting, recording the holder (pid, host, since) in
  the file, or fail at once with `LockHeldError` naming the holder (a run's `--out` folder).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]


def cache_dir() -> Path:
    """Where seer-env keeps unpacked models, indexes and generated data (`SEER_ENV_CACHE`)."""
    root = os.environ.get("SEER_ENV_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")), "seer-env"
    )
    return Path(root)


class FileLock:
    """An exclusive lock on `path` between processes and between this process's threads.

    The lock file is opened once per process and kept open (opening it for every acquisition showed
    in profiles); a forked child opens its own, since an inherited open file would share the lock with
    its parent. Without `fcntl` (Windows) only the threads of one process are kept apart.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._thread_lock = threading.RLock()
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> FileLock:
        self._thread_lock.acquire()
        try:
            if fcntl is not None:
                if self._fd is None or self._pid != os.getpid():
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                    self._pid = os.getpid()
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if fcntl is not None and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def close(self) -> None:
        """Close the lock file (the lock must not be held)."""
        with self._thread_lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None


class LockHeldError(RuntimeError):
    """Another holder has the lock; `owner` is what it wrote about itself (pid, host, since)."""

    def __init__(self, path: Path, owner: dict[str, Any]):
        self.path, self.owner = path, owner
        super().__init__(f"{path} is locked by {describe_owner(owner)}")


def describe_owner(owner: dict[str, Any]) -> str:
    """`process 123 on host h since 2025-01-31 12:00:00 UTC`, or what is known of it."""
    if not owner.get("pid"):
        return "another process (it has not said which yet)"
    since = owner.get("since")
    when = (
        time.strftime(" since %Y-%m-%d %H:%M:%S UTC", time.gmtime(since))
        if isinstance(since, (int, float))
        else ""
    )
    return f"process {owner['pid']} on {owner.get('host') or 'an unknown host'}{when}"


class ClaimedLock:
    """A lock `claim_lock` took: held until `release()` or until this process ends."""

    def __init__(self, path: Path, fd: int | None):
        self.path, self._fd = path, fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file drops the flock
            self._fd = None

    def __enter__(self) -> ClaimedLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def claim_lock(path: str | os.PathLike[str]) -> ClaimedLock:
    """Take the lock on `path` without waiting and write the holder into the file (pid, host, since).

    The same `flock` as `FileLock`. Raises `LockHeldError` naming the holder when another process,
    or another claim in this process, has it. A lock file that a dead process left behind is taken
    over: the OS dropped its lock when it died. Without `fcntl` (Windows) nothing is locked.
    """
    path = Path(path)
    if fcntl is None:
        return ClaimedLock(path, None)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(os.pread(fd, 4096, 0) or b"{}")
            owner = loaded if isinstance(loaded, dict) else {}
        os.close(fd)
        raise LockHeldError(path, owner) from None
    except BaseException:
        os.close(fd)
        raise
    lock = ClaimedLock(path, fd)
    try:
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": round(time.time(), 3)}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
    except BaseException:
        lock.release()
        raise
    return lock


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive `FileLock` on `path` for the block, then close the lock file."""
    lock = FileLock(path)
    try:
        with lock:
            yield
    finally:
        lock.close()


def atomic_build(
    target: str | os.PathLike[str],
    fill: Callable[[Path], None],
    *,
    check: str | None = None,
    lock: bool = False,
) -> Path:
    """Build the folder `target` once: `fill(tmp)` fills a temporary sibling, which is renamed into place.

    check: a file every complete build holds (default: the folder existing means it is complete).
    lock: concurrent builders queue on `<target>.lock`, so the folder is built once and a leftover
    without `check` is rebuilt; without it racing builders each build and the first rename wins.
    Returns `target`.
    """
    target = Path(target)

    def complete() -> bool:
        return (target / check).exists() if check else target.exists()

    if complete():
        return target
    guard = file_lock(target.with_name(target.name + ".lock")) if lock else contextlib.nullcontext()
    with guard:
        if complete():
            return target
        if lock and target.exists():  # an incomplete leftover; only a lock holder may remove it
            shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-build-", dir=target.parent))
        try:
            fill(tmp)
            try:
                os.rename(tmp, target)
            except OSError:  # another process renamed its build first
                if not complete():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target

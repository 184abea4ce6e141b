"""Shared fixtures of the hostile-action tests.

- `security_root`: a ToolQA fixture corpus with its question files (gold answers), built outside
  /tmp (under /var/tmp when writable) so a hidden path is not merely shadowed by the sandbox's /tmp.
- `data_hashes(root)`: sha256 of every corpus and question file, compared before and after attacks.
- `host_sentinel`: a process standing in for the env's host process: it holds an API key in its
  environment (readable on the host through /proc/<pid>/environ) and must survive every attack.
- `kernel_sandbox`: kernel isolation is the path under test; on Linux it must be available (a
  failure, not a skip, tells that the machine lost it).
- `leftover_processes()`: processes an action left behind: anything in a zygote's user namespace
  or under this test process that is not an idle zygote (its waiting parent and its server).
- `hostile`: a `Hostile` harness over one ToolQA env: `hostile.python(code)` sends the code as a
  PythonInterpreter action through `env.step` and asserts the common guarantees (answered within
  its limit, no reward, the env still computes, corpus and question files byte-identical, no process
  left, host and sentinel alive), then returns the observation for the test's own assertions.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.toolqa.fixture import build_fixture, hash_embedder

PY_LIMIT = 2.0  # PythonInterpreter wall-time limit of the env under test (seconds)
SLACK = 5.0  # what an answer may take beyond its limit on a busy 2-core machine
OFFICIAL_QUESTIONS = Path(__file__).parents[2] / ".." / "shared" / "data" / "toolqa" / "questions"
HELPER_PIDS: set[int] = set()  # processes the tests start on purpose (never counted as left over)


@pytest.fixture(scope="session")
def security_root():
    base = "/var/tmp" if os.access("/var/tmp", os.W_OK) else None
    top = tempfile.mkdtemp(prefix="seer-security-", dir=base)
    try:
        yield build_fixture(Path(top) / "toolqa")
    finally:
        shutil.rmtree(top, ignore_errors=True)


def data_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under the corpus and question folders."""
    out = {}
    for p in sorted((root / "data").rglob("*")):
        if p.is_file():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    assert out, f"no data under {root}"
    return out


@pytest.fixture(scope="session")
def kernel_sandbox():
    if not sys.platform.startswith("linux"):
        pytest.skip("kernel isolation is Linux-only; elsewhere PythonInterpreter refuses (tested separately)")
    from seer_env.envs.toolqa import sandbox

    ok, why = sandbox.kernel_isolation()
    assert ok, f"kernel isolation is unavailable on this Linux machine: {why}"
    return sandbox


@pytest.fixture(scope="session")
def host_sentinel():
    """(pid, secret) of a process with an API key in its environment, as the env's host would have."""
    secret = "sk-seer-test-" + secrets.token_hex(16)
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(3600)"],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OPENAI_API_KEY": secret},
    )
    try:
        for _ in range(200):  # the secret is really there on the host, once the process has started
            with open(f"/proc/{proc.pid}/environ", "rb") as f:
                if secret.encode() in f.read():
                    break
            time.sleep(0.01)
        else:
            raise AssertionError("the sentinel's environment never showed the secret")
        HELPER_PIDS.add(proc.pid)
        yield proc.pid, secret
    finally:
        HELPER_PIDS.discard(proc.pid)
        proc.kill()
        proc.wait()


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _parents() -> dict[int, int]:
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                with open(f"/proc/{name}/stat") as f:
                    out[int(name)] = int(f.read().rsplit(")", 1)[1].split()[1])
    return out


def descendants(pid: int, parents: dict[int, int] | None = None) -> set[int]:
    parents = _parents() if parents is None else parents
    kids: dict[int, list[int]] = {}
    for p, pp in parents.items():
        kids.setdefault(pp, []).append(p)
    out, todo = set(), [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def user_ns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/user")
    except OSError:
        return None


def zygote_processes() -> set[int]:
    """The idle zygotes of this process: each zygote and its children (a kernel zygote's server)."""
    from seer_env.envs.toolqa import sandbox

    parents = _parents()
    out = set()
    for z in sandbox.zygote_pids():
        out.add(z)
        out |= {p for p, pp in parents.items() if pp == z}
    return out


def zygote_namespaces() -> set[str]:
    return {ns for p in zygote_processes() if (ns := user_ns(p)) and ns != user_ns(os.getpid())}


def leftover_processes(namespaces: set[str] = frozenset(), allowed: set[int] = frozenset()) -> list[int]:
    """Processes in `namespaces` (and the current zygotes' user namespaces) or under this process
    that are neither idle zygotes, nor `allowed`, nor HELPER_PIDS. Waits a little for processes
    being torn down."""
    for _ in range(50):
        keep = zygote_processes() | set(allowed) | HELPER_PIDS
        nss = set(namespaces) | zygote_namespaces()
        parents = _parents()
        found = {p for p in descendants(os.getpid(), parents) if alive(p)}
        found |= {p for p in parents if user_ns(p) in nss and alive(p)}
        left = sorted(found - keep)
        if not left:
            return []
        time.sleep(0.05)
    return left


def py_action(code: str) -> dict:
    return {"name": "PythonInterpreter", "arguments": {"Python": code}}


class Hostile:
    """Sends hostile PythonInterpreter actions through one env and checks the common guarantees."""

    def __init__(self, env, root: Path, sentinel: tuple[int, str]):
        self.env = env
        self.root = root
        self.sentinel_pid, self.secret = sentinel
        self.hashes = data_hashes(root)
        self.env.reset(seed=0)

    def python(self, code: str, limit: float = PY_LIMIT) -> tuple[str, dict]:
        return self.step(py_action(code), limit)

    def step(self, action, limit: float = PY_LIMIT) -> tuple[str, dict]:
        namespaces = zygote_namespaces()
        t0 = time.monotonic()
        obs, reward, terminated, truncated, info = self.env.step(action)
        elapsed = time.monotonic() - t0
        assert elapsed < limit + SLACK, f"answered after {elapsed:.1f} s (limit {limit} s)"
        assert isinstance(obs, str) and reward == 0.0 and not terminated and not truncated
        assert self.secret not in obs
        self.check(namespaces)
        return obs, info

    def check(self, namespaces: set[str] = frozenset()) -> None:
        assert alive(os.getpid()) and alive(self.sentinel_pid), "the host (or the sentinel) was killed"
        assert leftover_processes(namespaces) == []
        assert data_hashes(self.root) == self.hashes, "a corpus or question file changed"
        obs, *_ = self.env.step(py_action("ans = 6 * 7"))
        assert obs == "42", f"the env no longer computes: {obs!r}"


@pytest.fixture(scope="module")
def hostile_env(security_root, kernel_sandbox):
    from seer_env.envs.toolqa.env import ToolQAEnv

    env = ToolQAEnv(
        "easy",
        data_dir=security_root,
        embedder=hash_embedder,
        python_timeout=PY_LIMIT,
        sql_timeout=PY_LIMIT,
        max_steps=10**9,
    )
    yield env
    env.close()


@pytest.fixture
def hostile(hostile_env, security_root, host_sentinel):
    return Hostile(hostile_env, security_root, host_sentinel)


@pytest.fixture
def sigkill_on_hang():
    """Processes a test starts itself, killed at the end whatever happens."""
    procs: list[subprocess.Popen] = []
    yield procs
    for p in procs:
        with contextlib.suppress(OSError):
            os.kill(p.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            p.wait(timeout=5)

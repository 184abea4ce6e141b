"""Where the kernel cannot confine PythonInterpreter, it is refused unless the weak protection is
opted into; the env says at construction which protection is in force."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from seer_env.envs.toolqa import sandbox
from tests.security.conftest import py_action
from tests.toolqa.fixture import hash_embedder


@pytest.fixture
def no_kernel_isolation(monkeypatch):
    """As on a machine without user namespaces: the cached probe says so."""
    monkeypatch.setattr(sandbox, "_probe", (False, "simulated: user namespaces are not permitted"))
    monkeypatch.delenv(sandbox.ISOLATION_ENV, raising=False)


def _env(root, **kw):
    from seer_env.envs.toolqa.env import ToolQAEnv

    return ToolQAEnv("easy", data_dir=root, embedder=hash_embedder, python_timeout=2.0, **kw)


def test_refused_without_opt_in_and_weak_with_it(no_kernel_isolation, security_root, caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="seer_env.envs.toolqa.env")
    env = _env(security_root)
    _, info = env.reset(seed=0)
    assert info["python_sandbox"] == "refused"
    assert any("python_isolation='weak'" in r.getMessage() for r in caplog.records)
    obs, reward, _, _, info = env.step(py_action("ans = 6 * 7"))
    assert info["ok"] is False and info["error"] == "refused" and reward == 0.0
    assert "simulated: user namespaces" in obs and "python_isolation='weak'" in obs
    assert sandbox.ISOLATION_ENV + "=weak" in obs
    assert sandbox.run_python("ans = 1").error == obs  # the library call says the same
    env.close()

    caplog.clear()
    env = _env(security_root, python_isolation="weak")
    _, info = env.reset(seed=0)
    assert info["python_sandbox"] == "weak"
    assert any("weak, hook-based" in r.getMessage() for r in caplog.records)
    obs, *_ = env.step(py_action("ans = 6 * 7"))
    assert obs == "42"
    env.close()

    monkeypatch.setenv(sandbox.ISOLATION_ENV, "weak")  # the same opt-in for envs built by others
    assert sandbox.resolve_isolation() == "weak"
    monkeypatch.setenv(sandbox.ISOLATION_ENV, "none")
    with pytest.raises(ValueError):
        sandbox.resolve_isolation()


def test_kernel_isolation_wins_when_available(kernel_sandbox, monkeypatch):
    monkeypatch.setenv(sandbox.ISOLATION_ENV, "weak")
    assert sandbox.resolve_isolation() == "kernel"  # "weak" accepts less, it does not ask for less
    assert sandbox.resolve_isolation("kernel") == "kernel"


_CONTAINER = textwrap.dedent("""
    import ctypes, json, logging, struct, sys
    # a seccomp profile as in containers that forbid namespaces: unshare fails with EPERM
    ins = lambda code, k, jt=0, jf=0: struct.pack("<HBBI", code, jt, jf, k)
    prog = b"".join([
        ins(0x20, 4), ins(0x15, 0xC000003E, 1, 0), ins(0x06, 0x80000000),
        ins(0x20, 0), ins(0x15, 272, 0, 1), ins(0x06, 0x00050001), ins(0x06, 0x7FFF0000),
    ])
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    assert libc.prctl(38, 1, None, 0, 0) == 0  # no_new_privs
    from seer_env.envs.toolqa.sandbox_kernel import install_seccomp
    install_seccomp(prog)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    from seer_env.envs.toolqa.env import ToolQAEnv
    from tests.toolqa.fixture import hash_embedder
    out = {}
    for mode in (None, "weak"):
        env = ToolQAEnv("easy", data_dir=sys.argv[1], embedder=hash_embedder, python_isolation=mode)
        _, info = env.reset(seed=0)
        obs, *_ = env.step({"name": "PythonInterpreter", "arguments": {"Python": "ans = 6 * 7"}})
        out[str(mode)] = [info["python_sandbox"], obs]
        env.close()
    print(json.dumps(out))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="simulates a Linux container")
def test_a_container_without_namespaces_refuses_then_runs_weak_on_opt_in(security_root):
    """The kernel feature really missing (unshare forbidden by a seccomp profile on the whole env
    process), not a patched probe."""
    proc = subprocess.run(
        [sys.executable, "-c", _CONTAINER, str(security_root)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    mode, obs = out["None"]
    assert mode == "refused"
    assert "unshare" in obs and "Operation not permitted" in obs and "python_isolation='weak'" in obs
    assert out["weak"] == ["weak", "42"]
    assert "PythonInterpreter runs with the weak, hook-based protection" in proc.stderr

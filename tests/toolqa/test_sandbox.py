"""The PythonInterpreter sandbox: warm zygotes give each call its own process, concurrent calls get
their own answers, a dead zygote is replaced, and nothing one call changes reaches the next. Both
protections ("kernel", the default, and the opt-in "weak") share the zygote machinery; the hostile
actions against the kernel path are in tests/security."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from seer_env.envs.toolqa import sandbox, sandbox_kernel
from seer_env.envs.toolqa.sandbox import run_python

pytestmark = pytest.mark.skipif(not sandbox._USE_ZYGOTE, reason="zygotes need os.fork")

both = pytest.mark.parametrize("kind", ["kernel", "weak"])


def test_concurrent_calls_from_threads_get_their_own_answers():
    codes = [
        f"import time\ntime.sleep(0.05 * ({i} % 3))\nans = {i} * {i} + len('{'x' * i}')" for i in range(24)
    ]
    with ThreadPoolExecutor(max_workers=6) as ex:
        results = list(ex.map(run_python, codes))
    assert [r.ok for r in results] == [True] * 24
    assert [r.value for r in results] == [str(i * i + i) for i in range(24)]


def test_concurrent_timeouts_do_not_block_other_calls():
    with ThreadPoolExecutor(max_workers=3) as ex:
        slow = ex.submit(run_python, "while True: pass", timeout=1.0)
        fast = [ex.submit(run_python, f"ans = {i} + 1") for i in range(10)]
        assert [f.result().value for f in fast] == [str(i + 1) for i in range(10)]
        assert slow.result().timed_out


def _wait_gone(pid: int) -> None:
    """Until `pid` has died (a zombie not yet reaped counts as gone)."""
    for _ in range(200):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except (FileNotFoundError, ProcessLookupError):
            return
        time.sleep(0.01)


@both
def test_killed_zygote_is_replaced(kind):
    assert run_python("ans = 1", isolation=kind).value == "1"
    pids = sandbox.zygote_pids(kind)
    assert pids, "a zygote should be kept warm after a call"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    for pid in pids:
        _wait_gone(pid)
    res = run_python("ans = 40 + 2", isolation=kind)
    assert res.ok and res.value == "42"
    new = sandbox.zygote_pids(kind)
    assert new and not set(new) & set(pids)


@both
def test_zygote_ending_mid_call_is_replaced(monkeypatch, kind):
    """The zygote found alive but gone before it replies: the call is retried on a fresh one."""
    run_python("ans = 0", isolation=kind)
    z = sandbox._acquire(kind)
    os.killpg(z.proc.pid, signal.SIGKILL)
    _wait_gone(z.proc.pid)
    monkeypatch.setattr(z, "alive", lambda: True)  # as if it died after the check
    sandbox._release(z)
    assert run_python("ans = 'still works'", isolation=kind).value == "still works"


@both
def test_state_does_not_leak_between_calls(kind):
    tamper = (
        "import builtins, sys, json, os\n"
        "LEAK = 'global'\n"
        "builtins.len = lambda x: -1\n"
        "builtins.LEAKED = 1\n"
        "sys.modules['json'] = None\n"
        "os.environ['SEER_LEAK'] = '1'\n"
        "sys.path.insert(0, '/nowhere')\n"
        "ans = len('abc')"
    )
    assert run_python(tamper, isolation=kind).value == "-1"
    run_python(
        "import json, builtins\njson.dumps = lambda *a, **k: 'forged'\nbuiltins.str = None", isolation=kind
    )
    check = (
        "import builtins, sys, os\n"
        "ans = (len('abc'), hasattr(builtins, 'LEAKED'), 'LEAK' in globals(), sys.modules.get('json') is not None,"
        " 'SEER_LEAK' in os.environ, '/nowhere' in sys.path)"
    )
    res = run_python(check, isolation=kind)
    assert res.ok, res.error
    assert res.value == "(3, False, False, True, False, False)"


def test_each_weak_call_gets_a_fresh_process_and_workdir():
    code = "import os\nans = (os.getpid(), os.getcwd())"
    a, b = run_python(code, isolation="weak").value, run_python(code, isolation="weak").value
    assert a != b
    assert sandbox.zygote_pids("weak") and all(str(p) not in a for p in sandbox.zygote_pids("weak"))


def test_each_kernel_call_gets_a_fresh_scratch_folder():
    """Each call is pid 1 of its own pid namespace, in a scratch tmpfs that starts empty."""
    code = "import os\nopen('left-over', 'w').write('x')\nans = (os.getpid(), os.getcwd(), sorted(os.listdir('.')))"
    a, b = run_python(code).value, run_python(code).value
    expected = sorted(["left-over", *sandbox_kernel.names_in_fresh_scratch()])
    assert a == b == f"(1, '/tmp', {expected!r})"


@both
def test_code_cannot_reach_the_zygote_pipe(kind):
    """Descriptor 0/1 of the child are not the zygote's pipe to us: writing junk there breaks nothing."""
    res = run_python("import os\nos.write(1, b'\\x00\\x00\\x00\\x05junk!' * 100)\nans = 7", isolation=kind)
    assert res.ok and res.value == "7"
    assert run_python("ans = 8", isolation=kind).value == "8"


def test_weak_limits_hold_in_forked_children():
    assert run_python("x = bytearray(4 * 2**30)", memory_mb=256, isolation="weak").ok is False
    res = run_python("import os\nwhile True: os.fork()", isolation="weak")
    assert not res.ok and "not allowed" in res.error
    res = run_python("open('f.txt', 'w').write('x')", isolation="weak")
    assert not res.ok and "writing files" in res.error
    res = run_python("import socket", isolation="weak")
    assert not res.ok


def test_kernel_limits_hold_in_forked_children():
    assert run_python("x = bytearray(4 * 2**30)", memory_mb=256).ok is False
    res = run_python("import os\nwhile True: os.fork()")
    assert not res.ok and "Operation not permitted" in res.error
    assert run_python("open('f.txt', 'w').write('x')\nans = open('f.txt').read()").value == "x"
    res = run_python("import socket\nsocket.socket()")
    assert not res.ok and "Operation not permitted" in res.error


@both
def test_parent_fork_gets_its_own_zygotes(kind):
    """After os.fork (e.g. vector-env workers), the child process does not share the parent's zygotes."""
    run_python("ans = 1", isolation=kind)
    parent = set(sandbox.zygote_pids())
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the forked test process
        try:
            ok = (
                run_python("ans = 6 * 7", isolation=kind).value == "42"
                and not set(sandbox.zygote_pids()) & parent
            )
            os.write(w, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(w)
    got = os.read(r, 1)
    os.close(r)
    os.waitpid(pid, 0)
    assert got == b"1"
    assert set(sandbox.zygote_pids()) == parent


def test_weak_per_call_interpreter_gives_the_same_results(monkeypatch):
    monkeypatch.setattr(sandbox, "_USE_ZYGOTE", False)
    assert run_python("ans = 1 + 1", isolation="weak").value == "2"
    res = run_python("import os; os.system('true')", isolation="weak")
    assert not res.ok and "os.system is not allowed here" in res.error
    assert run_python("while True: pass", timeout=1.0, isolation="weak").timed_out

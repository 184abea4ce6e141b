"""Kernel confinement seen from outside: a running call's credentials and namespaces as the host's
/proc shows them; the pid-namespace guarantee for processes a call starts. (The seccomp programs are
read by a BPF interpreter in test_seccomp.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from tests.security.conftest import alive, descendants, leftover_processes, user_ns, zygote_processes


@pytest.mark.usefixtures("kernel_sandbox")
def test_processes_a_call_may_start_all_end_with_it():
    """With allow_fork, a call's daemons (setsid, double fork) die when the call ends: the call is
    pid 1 of its own pid namespace."""
    from seer_env.envs.toolqa.sandbox import run_python

    code = textwrap.dedent("""
        import os, time
        pids = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                os.setsid()
                if os.fork() == 0:
                    time.sleep(600)
                os._exit(0)
            os.waitpid(pid, 0)
            pids.append(pid)
        ans = pids
    """)
    res = run_python(code, allow_fork=True)
    assert res.ok, res.error
    assert leftover_processes() == []
    res = run_python(
        "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass", allow_fork=True, timeout=1
    )
    assert res.timed_out
    assert leftover_processes() == []


@pytest.mark.usefixtures("kernel_sandbox")
def test_a_killed_host_leaves_no_sandbox_process(sigkill_on_hang):
    """The env process dies mid-call (SIGKILL): its zygotes and the running call all end."""
    script = textwrap.dedent("""
        import os, sys, threading
        from seer_env.envs.toolqa import sandbox
        sandbox.run_python("ans = 1")
        print(os.getpid(), *sandbox.zygote_pids(), flush=True)
        sandbox.run_python("import time\\ntime.sleep(600)", timeout=600)
    """)
    host = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    sigkill_on_hang.append(host)
    pids = [int(x) for x in host.stdout.readline().split()]
    assert len(pids) >= 2
    deadline = time.monotonic() + 20
    while len(tree := descendants(pids[0])) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(tree) >= 3  # the zygote, its server and the running call
    os.kill(host.pid, signal.SIGKILL)
    host.wait()
    deadline = time.monotonic() + 10
    while any(alive(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p for p in tree if alive(p)] == []


def _status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


@pytest.mark.usefixtures("kernel_sandbox")
def test_a_running_call_as_the_host_sees_it():
    """Unprivileged host ids, no capability in any set, no_new_privs, seccomp filter mode, and no
    namespace shared with the host."""
    from seer_env.envs.toolqa.sandbox import run_python

    run_python("ans = 0")
    result = {}
    t = threading.Thread(
        target=lambda: result.update(r=run_python("import time\ntime.sleep(2)\nans = 1", timeout=10))
    )
    t.start()
    try:
        call = None
        deadline = time.monotonic() + 20
        while call is None and time.monotonic() < deadline:
            # the call: under this process, in a zygote's user namespace, under a seccomp filter
            nss = {user_ns(p) for p in descendants(os.getpid())} - {user_ns(os.getpid())}
            found = [p for p in descendants(os.getpid()) if user_ns(p) in nss and p not in zygote_processes()]
            found = [p for p in found if _status(p).get("Seccomp") == "2"]
            call = found[0] if found else None
            time.sleep(0.02)
        assert call is not None, "no running call found"
        st = _status(call)
        outer = "65534" if os.geteuid() == 0 else str(os.geteuid())
        assert st["Uid"].split() == [outer] * 4 and st["Gid"].split() == [outer] * 4
        for field in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            assert int(st[field], 16) == 0, field
        assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2"
        assert st["NSpid"].split()[-1] == "1"  # pid 1 of its own pid namespace
        for ns in ("user", "mnt", "pid", "net", "ipc", "uts", "cgroup"):
            assert os.readlink(f"/proc/{call}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"), ns
        with open(f"/proc/{call}/mountinfo") as f:
            mounts = f.read()
        assert " / / " in mounts and "/proc" not in mounts.split()
    finally:
        t.join()
    assert result["r"].ok and result["r"].value == "1"

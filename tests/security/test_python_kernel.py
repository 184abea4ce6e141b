"""Kernel confinement seen from outside: the seccomp program PythonInterpreter calls run under, read
by a classic-BPF interpreter here (what the kernel does with it); a running call's credentials and
namespaces as the host's /proc shows them; the pid-namespace guarantee for processes a call starts."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from seer_env.envs.toolqa import sandbox_kernel as k
from tests.security.conftest import alive, descendants, leftover_processes, user_ns, zygote_processes

AUDIT_ARCH_I386 = 0x40000003
ALLOW, KILL = k.SECCOMP_RET_ALLOW, k.SECCOMP_RET_KILL_PROCESS
EPERM, ENOSYS, ENOTTY = (k.SECCOMP_RET_ERRNO | e for e in (1, 38, 25))


def run_filter(prog: bytes, nr: int, arch: int = k.AUDIT_ARCH_X86_64, args=(0, 0, 0, 0, 0, 0)) -> int:
    """The action classic BPF `prog` returns for one syscall (struct seccomp_data, little-endian)."""
    data = struct.pack("<iIQ6Q", nr, arch, 0x401000, *args)
    insns = [struct.unpack_from("<HBBI", prog, i) for i in range(0, len(prog), 8)]
    pc, acc = 0, 0
    for _ in range(len(insns) + 1):  # no backward jumps in classic BPF: each instruction at most once
        code, jt, jf, kk = insns[pc]
        if code == 0x20:  # ld word at absolute offset
            acc = struct.unpack_from("<I", data, kk)[0]
            pc += 1
        elif code == 0x05:  # ja: unconditional jump, 32-bit offset
            pc += 1 + kk
        elif code in (0x15, 0x25, 0x35, 0x45):
            taken = {0x15: acc == kk, 0x25: acc > kk, 0x35: acc >= kk, 0x45: bool(acc & kk)}[code]
            pc += 1 + (jt if taken else jf)
        elif code == 0x06:
            return kk
        else:
            raise AssertionError(f"unexpected BPF opcode {code:#x} at {pc}")
        assert pc < len(insns), "jump past the end of the program"
    raise AssertionError("the program did not return")


@pytest.fixture(scope="module")
def prog() -> bytes:
    return k.seccomp_program(allow_fork=False)


def test_allowed_syscalls_pass_and_dangerous_ones_fail(prog):
    assert not set(k.ALLOWED) & set(k.DENIED)
    for name in k.ALLOWED:
        assert run_filter(prog, k.NR[name]) == ALLOW, name
    for name in k.DENIED:
        assert run_filter(prog, k.NR[name]) == EPERM, name
    unlisted = set(range(k.NEWEST_KNOWN + 1)) - {k.NR[n] for n in k.ALLOWED} - {k.NR[n] for n in k.DENIED}
    for nr in unlisted - {
        k.NR[n] for n in ("clone", "fork", "vfork", "clone3", "socketpair", "prlimit64", "ioctl")
    }:
        assert run_filter(prog, nr) == EPERM, nr
    assert run_filter(prog, k.NEWEST_KNOWN + 1) == ENOSYS  # a newer libc falls back on ENOSYS
    assert run_filter(prog, k.NR["clone3"]) == ENOSYS


def test_foreign_architectures_and_the_x32_abi_are_killed(prog):
    for nr in (0, 1, 20, 39):
        assert run_filter(prog, nr, arch=AUDIT_ARCH_I386) == KILL
        assert run_filter(prog, nr, arch=0xC00000B7) == KILL  # aarch64
        assert run_filter(prog, nr | k.X32_SYSCALL_BIT) == KILL


def test_clone_lets_threads_start_but_not_processes_or_namespaces():
    thread = 0x3D0F00  # glibc's pthread_create flags (CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|...)
    fork = 0x01200011  # glibc's fork: CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD
    nr = k.NR["clone"]
    no_fork, with_fork = k.seccomp_program(False), k.seccomp_program(True)
    assert run_filter(no_fork, nr, args=(thread, 0, 0, 0, 0, 0)) == ALLOW
    assert run_filter(no_fork, nr, args=(fork, 0, 0, 0, 0, 0)) == EPERM
    assert run_filter(no_fork, k.NR["fork"]) == EPERM and run_filter(no_fork, k.NR["vfork"]) == EPERM
    assert run_filter(with_fork, nr, args=(fork, 0, 0, 0, 0, 0)) == ALLOW
    assert run_filter(with_fork, k.NR["fork"]) == ALLOW
    for flag in (k.CLONE_NEWUSER, k.CLONE_NEWNS, k.CLONE_NEWPID, k.CLONE_NEWNET, k.CLONE_NEWIPC):
        for p in (no_fork, with_fork):
            assert run_filter(p, nr, args=(thread | flag, 0, 0, 0, 0, 0)) == EPERM
            assert run_filter(p, nr, args=(fork | flag, 0, 0, 0, 0, 0)) == EPERM


def test_argument_checks(prog):
    assert run_filter(prog, k.NR["socketpair"], args=(1, 1, 0, 0, 0, 0)) == ALLOW  # AF_UNIX
    for family in (2, 10, 16, 17):  # inet, inet6, netlink, packet
        assert run_filter(prog, k.NR["socketpair"], args=(family, 1, 0, 0, 0, 0)) == EPERM
    assert run_filter(prog, k.NR["prlimit64"], args=(0, 9, 0, 0, 0, 0)) == ALLOW
    assert run_filter(prog, k.NR["prlimit64"], args=(1, 9, 0, 0, 0, 0)) == EPERM
    assert run_filter(prog, k.NR["ioctl"], args=(0, 0x5451, 0, 0, 0, 0)) == ALLOW  # FIOCLEX
    assert run_filter(prog, k.NR["ioctl"], args=(0, 0x5412, 0, 0, 0, 0)) == ENOTTY  # TIOCSTI
    assert run_filter(prog, k.NR["ioctl"], args=(0, 0x5401, 0, 0, 0, 0)) == ENOTTY  # TCGETS


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

"""The seccomp programs of the confined processes, read by a classic-BPF interpreter here (what the
kernel does with them): PythonInterpreter's calls (`sandbox_kernel`, an allow-list) and
SQLInterpreter's worker (`sqlworker`, a deny-list), both built by `seccomp.build_program`."""

from __future__ import annotations

import struct

import pytest

from seer_env.envs.toolqa import sandbox_kernel as k
from seer_env.envs.toolqa import seccomp as bpf
from seer_env.envs.toolqa import sqlworker

AUDIT_ARCH_I386 = 0x40000003
X86, ARM = bpf.AUDIT_ARCH["x86_64"], bpf.AUDIT_ARCH["aarch64"]
NR = bpf.X86_64
NEWEST = bpf.NEWEST_KNOWN["x86_64"]
ALLOW, KILL = bpf.ALLOW, bpf.KILL_PROCESS
EPERM, ENOSYS, ENOTTY = (bpf.errno(e) for e in (1, 38, 25))


def run_filter(prog: bytes, nr: int, arch: int = X86, args=(0, 0, 0, 0, 0, 0)) -> int:
    """The action classic BPF `prog` returns for one syscall (struct seccomp_data, little-endian)."""
    data = struct.pack("<iIQ6Q", nr, arch, 0x401000, *args)
    insns = [struct.unpack_from("<HBBI", prog, i) for i in range(0, len(prog), 8)]
    assert 0 < len(insns) <= bpf.BPF_MAXINSNS
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


# -- PythonInterpreter's calls ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def prog() -> bytes:
    return k.seccomp_program(allow_fork=False)


def test_allowed_syscalls_pass_and_dangerous_ones_fail(prog):
    assert not set(k.ALLOWED) & set(k.DENIED)
    for name in k.ALLOWED:
        assert run_filter(prog, NR[name]) == ALLOW, name
    for name in k.DENIED:
        assert run_filter(prog, NR[name]) == EPERM, name
    unlisted = set(range(NEWEST + 1)) - {NR[n] for n in k.ALLOWED} - {NR[n] for n in k.DENIED}
    for nr in unlisted - {
        NR[n] for n in ("clone", "fork", "vfork", "clone3", "socketpair", "prlimit64", "ioctl")
    }:
        assert run_filter(prog, nr) == EPERM, nr
    assert run_filter(prog, NEWEST + 1) == ENOSYS  # a newer libc falls back on ENOSYS
    assert run_filter(prog, NR["clone3"]) == ENOSYS


@pytest.mark.parametrize("which", ["python", "python-fork", "sql"])
def test_foreign_architectures_and_the_x32_abi_are_killed(which):
    program = {
        "python": lambda: k.seccomp_program(False),
        "python-fork": lambda: k.seccomp_program(True),
        "sql": lambda: sqlworker.seccomp_program("x86_64"),
    }[which]()
    for nr in (0, 1, 2, 20, 39, 257):
        assert run_filter(program, nr, arch=AUDIT_ARCH_I386) == KILL
        assert run_filter(program, nr, arch=ARM) == KILL
        assert run_filter(program, nr | bpf.X32_SYSCALL_BIT) == KILL


def test_clone_lets_threads_start_but_not_processes_or_namespaces():
    thread = 0x3D0F00  # glibc's pthread_create flags (CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|...)
    fork = 0x01200011  # glibc's fork: CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD
    nr = NR["clone"]
    no_fork, with_fork = k.seccomp_program(False), k.seccomp_program(True)
    assert run_filter(no_fork, nr, args=(thread, 0, 0, 0, 0, 0)) == ALLOW
    assert run_filter(no_fork, nr, args=(fork, 0, 0, 0, 0, 0)) == EPERM
    assert run_filter(no_fork, NR["fork"]) == EPERM and run_filter(no_fork, NR["vfork"]) == EPERM
    assert run_filter(with_fork, nr, args=(fork, 0, 0, 0, 0, 0)) == ALLOW
    assert run_filter(with_fork, NR["fork"]) == ALLOW
    for flag in (k.CLONE_NEWUSER, k.CLONE_NEWNS, k.CLONE_NEWPID, k.CLONE_NEWNET, k.CLONE_NEWIPC):
        for p in (no_fork, with_fork):
            assert run_filter(p, nr, args=(thread | flag, 0, 0, 0, 0, 0)) == EPERM
            assert run_filter(p, nr, args=(fork | flag, 0, 0, 0, 0, 0)) == EPERM


def test_argument_checks(prog):
    assert run_filter(prog, NR["socketpair"], args=(1, 1, 0, 0, 0, 0)) == ALLOW  # AF_UNIX
    for family in (2, 10, 16, 17):  # inet, inet6, netlink, packet
        assert run_filter(prog, NR["socketpair"], args=(family, 1, 0, 0, 0, 0)) == EPERM
    assert run_filter(prog, NR["prlimit64"], args=(0, 9, 0, 0, 0, 0)) == ALLOW
    assert run_filter(prog, NR["prlimit64"], args=(1, 9, 0, 0, 0, 0)) == EPERM
    for request in k.IOCTL_ALLOWED:
        assert run_filter(prog, NR["ioctl"], args=(0, request, 0, 0, 0, 0)) == ALLOW
    assert run_filter(prog, NR["ioctl"], args=(0, 0x5412, 0, 0, 0, 0)) == ENOTTY  # TIOCSTI
    assert run_filter(prog, NR["ioctl"], args=(0, 0x5401, 0, 0, 0, 0)) == ENOTTY  # TCGETS
    # only the low 32 bits of an argument count, as the kernel reads them
    assert run_filter(prog, NR["ioctl"], args=(0, (1 << 32) | 0x5451, 0, 0, 0, 0)) == ALLOW


# -- SQLInterpreter's worker -----------------------------------------------------------------------

O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND, O_CLOEXEC = (
    0,
    0o1,
    0o2,
    0o100,
    0o1000,
    0o2000,
    0o2000000,
)


@pytest.mark.parametrize(("machine", "arch"), [("x86_64", X86), ("aarch64", ARM)])
def test_the_sql_worker_filter_refuses_its_deny_list_and_writing_opens(machine, arch):
    program = sqlworker.seccomp_program(machine)
    table = bpf.TABLES[machine]
    denied = {table[name] for name in sqlworker.SECCOMP_DENIED if name in table}
    assert len(denied) >= 50
    for nr in denied:
        assert run_filter(program, nr, arch) == EPERM, nr
    opens = {table[name]: arg for name, arg in sqlworker.SECCOMP_OPENS.items() if name in table}
    assert opens  # openat on both; open on x86_64 only
    for nr, arg in opens.items():
        for flags in (O_RDONLY, O_RDONLY | O_CLOEXEC):
            args = [0] * 6
            args[arg] = flags
            assert run_filter(program, nr, arch, tuple(args)) == ALLOW, (nr, flags)
        for flags in (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND, O_RDONLY | O_CREAT):
            args = [0] * 6
            args[arg] = flags
            assert run_filter(program, nr, arch, tuple(args)) == EPERM, (nr, flags)
    # what SQLite and Python need stays open: reads, memory, time, polling, exit
    needed = {
        "x86_64": (0, 1, 3, 5, 9, 11, 12, 202, 228, 231),
        "aarch64": (63, 64, 57, 80, 222, 215, 214, 98, 113, 94),
    }
    for nr in needed[machine]:
        assert run_filter(program, nr, arch) == ALLOW, nr


def test_a_policy_of_names_serves_both_tables():
    program = bpf.build_program("aarch64", {"open": bpf.errno(1), "openat": bpf.errno(13)}, bpf.ALLOW)
    assert run_filter(program, 2, ARM) == ALLOW  # aarch64 has no `open`: the name is skipped
    assert run_filter(program, 56, ARM) == bpf.errno(13)
    with pytest.raises(ValueError):
        bpf.build_program("aarch64", {}, bpf.ALLOW, past_table=bpf.errno(38))  # a partial table

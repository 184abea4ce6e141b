"""Classic-BPF seccomp filters, built from a policy: one builder for the confined processes of the
ToolQA tools (PythonInterpreter's calls, `sandbox_kernel`; SQLInterpreter's worker, `sqlworker`).

Each of them keeps its own policy (which syscalls it allows, refuses, or decides on an argument)
and hands it to `build_program`; the host builds the program and the confined process installs the
bytes it is given (`prctl(PR_SET_SECCOMP)`), so the scripts those processes run need no import.
Standard library only.

Every program starts the same way: the architecture is checked first, and a foreign one (i386's
`int 0x80`, anything else) or the x32 ABI on x86_64 kills the process. Then a binary search on the
syscall number finds its rule; a number with no rule gets the policy's default action, and one
past the newest syscall of the table gets `past_table` when the policy gives it (a newer libc then
falls back on an older call when that is ENOSYS).

A rule is an action (`ALLOW`, `errno(e)`, `KILL_PROCESS`) or an `ArgCheck`, which loads the low 32
bits of one argument (the kernel reads flags and requests as 32-bit values) and takes the action of
the first test that holds: ("eq", value, action) or ("any_bits", mask, action).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass

ALLOW = 0x7FFF0000
KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
X32_SYSCALL_BIT = 0x40000000
BPF_MAXINSNS = 4096


def errno(e: int) -> int:
    """The action that fails the syscall with errno `e`."""
    return _RET_ERRNO | e


AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}

# x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl): those the policies name
X86_64 = {
    "read": 0, "write": 1, "open": 2, "close": 3, "stat": 4, "fstat": 5, "lstat": 6, "poll": 7,
    "lseek": 8, "mmap": 9, "mprotect": 10, "munmap": 11, "brk": 12, "rt_sigaction": 13,
    "rt_sigprocmask": 14, "rt_sigreturn": 15, "ioctl": 16, "pread64": 17, "pwrite64": 18, "readv": 19,
    "writev": 20, "access": 21, "pipe": 22, "select": 23, "sched_yield": 24, "mremap": 25, "msync": 26,
    "mincore": 27, "madvise": 28, "shmget": 29, "shmat": 30, "shmctl": 31, "dup": 32, "dup2": 33,
    "pause": 34, "nanosleep": 35, "getitimer": 36, "alarm": 37, "setitimer": 38, "getpid": 39,
    "sendfile": 40, "socket": 41, "connect": 42, "accept": 43, "sendto": 44, "recvfrom": 45,
    "sendmsg": 46, "recvmsg": 47, "shutdown": 48, "bind": 49, "listen": 50, "getsockname": 51,
    "getpeername": 52, "socketpair": 53, "setsockopt": 54, "getsockopt": 55, "clone": 56, "fork": 57,
    "vfork": 58, "execve": 59, "exit": 60, "wait4": 61, "kill": 62, "uname": 63, "semget": 64,
    "msgget": 68, "fcntl": 72, "flock": 73, "fsync": 74, "fdatasync": 75, "truncate": 76,
    "ftruncate": 77, "getdents": 78, "getcwd": 79, "chdir": 80, "fchdir": 81, "rename": 82,
    "mkdir": 83, "rmdir": 84, "creat": 85, "link": 86, "unlink": 87, "symlink": 88, "readlink": 89,
    "chmod": 90, "fchmod": 91, "chown": 92, "fchown": 93, "lchown": 94, "umask": 95,
    "gettimeofday": 96, "getrlimit": 97, "getrusage": 98, "sysinfo": 99, "times": 100, "ptrace": 101,
    "getuid": 102, "syslog": 103, "getgid": 104, "setuid": 105, "setgid": 106, "geteuid": 107,
    "getegid": 108, "setpgid": 109, "getppid": 110, "getpgrp": 111, "setsid": 112, "setreuid": 113,
    "setregid": 114, "getgroups": 115, "setgroups": 116, "setresuid": 117, "getresuid": 118,
    "setresgid": 119, "getresgid": 120, "getpgid": 121, "setfsuid": 122, "setfsgid": 123,
    "getsid": 124, "capget": 125, "capset": 126, "rt_sigpending": 127, "rt_sigtimedwait": 128,
    "rt_sigqueueinfo": 129, "rt_sigsuspend": 130, "sigaltstack": 131, "utime": 132, "mknod": 133,
    "uselib": 134, "personality": 135, "statfs": 137, "fstatfs": 138, "getpriority": 140,
    "setpriority": 141, "sched_getparam": 143, "sched_getscheduler": 145,
    "sched_get_priority_max": 146, "sched_get_priority_min": 147, "mlock": 149, "mlockall": 151,
    "vhangup": 153, "modify_ldt": 154, "pivot_root": 155, "prctl": 157, "arch_prctl": 158,
    "setrlimit": 160, "chroot": 161, "sync": 162, "acct": 163, "mount": 165, "umount2": 166,
    "swapon": 167, "swapoff": 168, "reboot": 169, "sethostname": 170, "setdomainname": 171,
    "iopl": 172, "ioperm": 173, "init_module": 175, "delete_module": 176, "quotactl": 179,
    "gettid": 186, "readahead": 187, "setxattr": 188, "lsetxattr": 189, "fsetxattr": 190,
    "getxattr": 191, "lgetxattr": 192, "fgetxattr": 193, "listxattr": 194, "llistxattr": 195,
    "flistxattr": 196, "removexattr": 197, "lremovexattr": 198, "fremovexattr": 199, "tkill": 200,
    "time": 201, "futex": 202, "sched_setaffinity": 203, "sched_getaffinity": 204, "io_setup": 206,
    "lookup_dcookie": 212, "epoll_create": 213, "getdents64": 217, "set_tid_address": 218,
    "restart_syscall": 219, "fadvise64": 221, "timer_create": 222, "timer_settime": 223,
    "timer_gettime": 224, "timer_getoverrun": 225, "timer_delete": 226, "clock_settime": 227,
    "clock_gettime": 228, "clock_getres": 229, "clock_nanosleep": 230, "exit_group": 231,
    "epoll_wait": 232, "epoll_ctl": 233, "tgkill": 234, "utimes": 235, "mq_open": 240,
    "kexec_load": 246, "waitid": 247, "add_key": 248, "request_key": 249, "keyctl": 250,
    "inotify_init": 253, "migrate_pages": 256, "openat": 257, "mkdirat": 258, "mknodat": 259,
    "fchownat": 260, "futimesat": 261, "newfstatat": 262, "unlinkat": 263, "renameat": 264,
    "linkat": 265, "symlinkat": 266, "readlinkat": 267, "fchmodat": 268, "faccessat": 269,
    "pselect6": 270, "ppoll": 271, "unshare": 272, "set_robust_list": 273, "get_robust_list": 274,
    "splice": 275, "tee": 276, "vmsplice": 278, "move_pages": 279, "utimensat": 280,
    "epoll_pwait": 281, "signalfd": 282, "timerfd_create": 283, "eventfd": 284, "fallocate": 285,
    "timerfd_settime": 286, "timerfd_gettime": 287, "accept4": 288, "signalfd4": 289,
    "eventfd2": 290, "epoll_create1": 291, "dup3": 292, "pipe2": 293, "inotify_init1": 294,
    "preadv": 295, "pwritev": 296, "rt_tgsigqueueinfo": 297, "perf_event_open": 298,
    "recvmmsg": 299, "fanotify_init": 300, "prlimit64": 302, "name_to_handle_at": 303,
    "open_by_handle_at": 304, "syncfs": 306, "sendmmsg": 307, "setns": 308, "getcpu": 309,
    "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312, "finit_module": 313,
    "renameat2": 316, "seccomp": 317, "getrandom": 318, "memfd_create": 319, "kexec_file_load": 320,
    "bpf": 321, "execveat": 322, "userfaultfd": 323, "membarrier": 324, "mlock2": 325,
    "copy_file_range": 326, "preadv2": 327, "pwritev2": 328, "pkey_mprotect": 329, "statx": 332,
    "rseq": 334, "pidfd_send_signal": 424, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
    "fsmount": 432, "fspick": 433, "pidfd_open": 434, "clone3": 435, "close_range": 436,
    "openat2": 437, "pidfd_getfd": 438, "faccessat2": 439, "process_madvise": 440,
    "epoll_pwait2": 441, "mount_setattr": 442, "quotactl_fd": 443, "landlock_create_ruleset": 444,
    "memfd_secret": 447, "process_mrelease": 448, "futex_waitv": 449, "fchmodat2": 452,
    "map_shadow_stack": 453, "futex_wake": 454, "futex_wait": 455, "futex_requeue": 456,
    "statmount": 457, "listmount": 458, "mseal": 462, "open_tree_attr": 467,
}  # fmt: skip

# aarch64 (include/uapi/asm-generic/unistd.h): the SQL worker's policy only. There is no open,
# fork, mkdir, unlink, ... on aarch64: their *at forms and clone serve them.
AARCH64 = {
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "setxattr": 5,
    "lsetxattr": 6, "fsetxattr": 7, "removexattr": 14, "lremovexattr": 15, "fremovexattr": 16,
    "mknodat": 33, "mkdirat": 34, "unlinkat": 35, "symlinkat": 36, "linkat": 37, "renameat": 38,
    "umount2": 39, "mount": 40, "pivot_root": 41, "truncate": 45, "chroot": 51, "fchmod": 52,
    "fchmodat": 53, "fchownat": 54, "fchown": 55, "openat": 56, "utimensat": 88, "unshare": 97,
    "kexec_load": 104, "init_module": 105, "delete_module": 106, "ptrace": 117, "kill": 129,
    "tkill": 130, "tgkill": 131, "reboot": 142, "socket": 198, "socketpair": 199, "bind": 200,
    "listen": 201, "accept": 202, "connect": 203, "add_key": 217, "request_key": 218, "keyctl": 219,
    "clone": 220, "execve": 221, "swapon": 224, "swapoff": 225, "perf_event_open": 241,
    "accept4": 242, "open_by_handle_at": 265, "setns": 268, "process_vm_readv": 270,
    "process_vm_writev": 271, "finit_module": 273, "renameat2": 276, "bpf": 280, "execveat": 281,
    "userfaultfd": 282, "kexec_file_load": 294, "pidfd_send_signal": 424, "pidfd_open": 434,
    "clone3": 435, "openat2": 437,
}  # fmt: skip

TABLES = {"x86_64": X86_64, "aarch64": AARCH64}
NEWEST_KNOWN = {"x86_64": 467}  # the newest syscall number the (complete) x86_64 table was checked to

_LD_W_ABS, _JA, _JEQ, _JGT, _JGE, _JSET, _RET = 0x20, 0x05, 0x15, 0x25, 0x35, 0x45, 0x06
_OFF_NR, _OFF_ARCH, _OFF_ARGS = 0, 4, 16  # struct seccomp_data; args are 64-bit, low half first
_TESTS = {"eq": _JEQ, "any_bits": _JSET}


@dataclass(frozen=True)
class ArgCheck:
    """Decide a syscall on the low 32 bits of argument `arg` (0-based): the action of the first
    test that holds, ("eq", value, action) or ("any_bits", mask, action), else `otherwise`."""

    arg: int
    tests: tuple[tuple[str, int, int], ...]
    otherwise: int


Rule = int | ArgCheck


def _ins(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


def _ret(action: int) -> bytes:
    return _ins(_RET, action)


def _body(rule: Rule) -> list[bytes]:
    """The instructions deciding one syscall; every path ends in a return."""
    if not isinstance(rule, ArgCheck):
        return [_ret(rule)]
    n = len(rule.tests)
    if not 0 <= rule.arg < 6 or n > 255:
        raise ValueError(f"bad argument check {rule}")
    actions = list(dict.fromkeys(action for _, _, action in rule.tests))  # one return per action
    out = [_ins(_LD_W_ABS, _OFF_ARGS + 8 * rule.arg)]
    for i, (kind, value, action) in enumerate(rule.tests):
        # past the later tests and `otherwise`, to the return of this test's action
        out.append(_ins(_TESTS[kind], value, n - i + actions.index(action), 0))
    return out + [_ret(rule.otherwise)] + [_ret(action) for action in actions]


def _decide(
    entries: list[tuple[int, list[bytes]]], default: int, past: tuple[int, int] | None
) -> list[bytes]:
    """A binary search on the syscall number (in the accumulator) over sorted `entries`; a number
    with no entry gets `default`, or past[1] when it is above past[0]."""
    if len(entries) <= 4:
        out: list[bytes] = []
        for nr, body in entries:
            out += [_ins(_JEQ, nr, 0, len(body)), *body]
        if past is not None:
            out += [_ins(_JGT, past[0], 0, 1), _ret(past[1])]
        return out + [_ret(default)]
    mid = len(entries) // 2
    left, right = _decide(entries[:mid], default, past), _decide(entries[mid:], default, past)
    # nr >= pivot: a long jump over the left half (conditional jumps reach 255 instructions only)
    return [_ins(_JGE, entries[mid][0], 0, 1), _ins(_JA, len(left)), *left, *right]


def build_program(arch: str, rules: Mapping[str, Rule], default: int, past_table: int | None = None) -> bytes:
    """The filter (a `sock_filter` array, little-endian) for `arch` ("x86_64" or "aarch64").

    rules: syscall name -> rule; names the architecture's table lacks are skipped (aarch64 has no
    `open`, say), so one policy serves both. default: the action for syscalls with no rule.
    past_table: the action for syscall numbers above the table's newest (None: `default`).
    """
    table = TABLES[arch]
    numbered: dict[int, list[bytes]] = {}
    for name, rule in rules.items():
        if name in table:
            numbered[table[name]] = _body(rule)
    prog = [
        _ins(_LD_W_ABS, _OFF_ARCH),
        _ins(_JEQ, AUDIT_ARCH[arch], 1, 0),
        _ret(KILL_PROCESS),  # i386 (int 0x80) or any other ABI
        _ins(_LD_W_ABS, _OFF_NR),
    ]
    if arch == "x86_64":
        prog += [_ins(_JGE, X32_SYSCALL_BIT, 0, 1), _ret(KILL_PROCESS)]  # the x32 ABI
    if past_table is not None and arch not in NEWEST_KNOWN:
        raise ValueError(f"the {arch} table is not complete: it cannot tell newer syscalls")
    past = None if past_table is None else (NEWEST_KNOWN[arch], past_table)
    prog += _decide(sorted(numbered.items()), default, past)
    if len(prog) > BPF_MAXINSNS:
        raise ValueError("seccomp program too long")
    return b"".join(prog)

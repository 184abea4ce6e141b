"""Kernel confinement of untrusted Python: namespaces, a seccomp allow-list, rlimits, no capabilities.

This file is both a module (the host imports its constants and its seccomp policy, and builds the
filter from it with `seccomp.build_program`) and the script a kernel zygote runs (`python -I -B -c
<this file's text> <filter> <filter with fork>`, the two filters as hex). The script uses the
standard library only and reaches the kernel through ctypes, so the project gains no compiled
dependency.

A zygote confines itself before any untrusted code exists, then serves requests:

1. Root of its own: a private mount namespace (as root) or a user + mount namespace (as another
   user); a small tmpfs becomes the new root; read-only bind mounts inside it give only what Python
   needs: the interpreter's standard library (with lib-dynload), the running environment's
   site-packages, the folders of the shared libraries the interpreter has loaded (libc, libpython),
   /etc/ld.so.cache, the time zone files and /dev/null, /dev/zero, /dev/urandom, /dev/random.
   pivot_root into it, the host's tree detached. No /proc, no /sys, no home folder, no project
   tree, no data or cache folder.
2. Unprivileged: as root, it becomes `nobody` first. Then a new user namespace (uid 0 inside mapped to
   that unprivileged id, nothing else mapped) with new mount, network (loopback only, down), IPC,
   UTS and cgroup namespaces and a pid namespace. The mounts copied into a less privileged user
   namespace are locked by the kernel: they cannot be remounted writable or unmounted from inside.
3. It forks the serving process, pid 1 of that pid namespace; its parent only waits for it. The
   server empties its capability bounding and ambient sets and locks its securebits (what only an
   exec could use), for itself and every call it forks.

Per request the server forks a call process in a fresh pid namespace (the call is its pid 1: when it
ends, the kernel kills every process it started) with a fresh mount namespace and a size- and
inode-capped tmpfs as its writable scratch folder and cwd (/tmp). Before running the code the call
process takes its own session, caps its resources (address space, CPU, file size, open files, tasks,
core dumps, locked memory, message queues), drops its remaining capabilities (effective, permitted,
inheritable), sets no_new_privs and installs the seccomp filter the host built: an allow-list on the
syscall number with the architecture checked first (a foreign architecture or the x32 ABI kills the
process), as a binary search; anything not listed fails with EPERM (ENOSYS for syscalls newer than
the table, so a newer libc falls back). The filter lets threads start but not processes (unless the
host asks for it), no exec, no sockets except an AF_UNIX pair, no namespace, mount, ptrace, bpf,
keyring, module, io_uring, userfaultfd, pidfd or process_vm call.

Everything here runs before the untrusted code; nothing in it relies on the code leaving Python
objects alone (the code may run arbitrary native instructions through ctypes: the limits are the
kernel's).
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import json
import os
import platform
import resource
import select
import signal
import struct
import sys
import time

# ----------------------------------------------------------------------------------- constants

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_THREAD = 0x00010000
# namespace flags of clone(2); 0x80 (CLONE_NEWTIME) is part of the exit-signal byte there
CLONE_NS_FLAGS = (
    CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
)

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC = 32, 4096, 16384
MS_NOATIME, MS_NODIRATIME, MS_PRIVATE, MS_RELATIME = 1024, 2048, 1 << 18, 1 << 21
MNT_DETACH = 2

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_SECCOMP = 1, 4, 22
PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 24, 28, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECCOMP_MODE_FILTER = 2
# SECBIT_NOROOT, _NO_SETUID_FIXUP, _KEEP_CAPS, _NO_CAP_AMBIENT_RAISE, each with its _LOCKED bit
SECUREBITS_LOCKED = 0xFF

EPERM, ENOTTY, ENOSYS = 1, 25, 38
AF_UNIX = 1

NOBODY = 65534  # the unprivileged id root's zygotes run as (outside their user namespace)
SCRATCH = "/tmp"  # the call's writable folder and cwd (tempfile finds it there too)
# Where the root keeps a second read-only view of bound folders that lie under SCRATCH (a project or
# virtual environment in /tmp): each call's scratch tmpfs hides them, so the call binds them again.
UNDER_SCRATCH = "/.under-tmp"
# Candidate mount points for the new root while it is built: the first that holds no bound folder
ROOT_MOUNT_POINTS = ("/tmp", "/mnt", "/var/tmp", "/media", "/srv")
HOSTNAME = b"sandbox"
_NR_PIVOT_ROOT, _NR_CAPSET = 155, 126  # x86_64: the calls glibc has no wrapper for

# What Python code needs: files (writes land in the scratch tmpfs or fail on read-only mounts),
# memory, time, signals to itself (the call is alone in its pid namespace), threads, polling.
ALLOWED = (
    "read write open close stat fstat lstat poll lseek mmap mprotect munmap brk rt_sigaction "
    "rt_sigprocmask rt_sigreturn pread64 pwrite64 readv writev access pipe select sched_yield mremap "
    "msync mincore madvise dup dup2 pause nanosleep getitimer alarm setitimer getpid sendfile "
    "sendto recvfrom sendmsg recvmsg shutdown getsockname getpeername setsockopt getsockopt exit "
    "wait4 kill uname fcntl flock fsync fdatasync truncate ftruncate getdents getcwd chdir fchdir "
    "rename mkdir rmdir creat link unlink symlink readlink chmod fchmod umask gettimeofday getrlimit "
    "getrusage sysinfo times getuid getgid geteuid getegid setpgid getppid getpgrp setsid getgroups "
    "getresuid getresgid getpgid getsid capget rt_sigpending rt_sigtimedwait rt_sigsuspend "
    "sigaltstack utime statfs fstatfs getpriority sched_getparam sched_getscheduler "
    "sched_get_priority_max sched_get_priority_min arch_prctl gettid readahead getxattr lgetxattr "
    "fgetxattr listxattr llistxattr flistxattr tkill time futex sched_getaffinity getdents64 "
    "set_tid_address restart_syscall fadvise64 timer_create timer_settime timer_gettime "
    "timer_getoverrun timer_delete clock_gettime clock_getres clock_nanosleep exit_group epoll_wait "
    "epoll_ctl tgkill utimes waitid openat mkdirat futimesat newfstatat unlinkat renameat linkat "
    "symlinkat readlinkat fchmodat faccessat pselect6 ppoll set_robust_list get_robust_list utimensat "
    "epoll_pwait signalfd timerfd_create eventfd fallocate timerfd_settime timerfd_gettime signalfd4 "
    "eventfd2 epoll_create epoll_create1 dup3 pipe2 preadv pwritev recvmmsg sendmmsg getcpu "
    "renameat2 getrandom preadv2 pwritev2 statx rseq close_range openat2 faccessat2 epoll_pwait2 "
    "futex_waitv fchmodat2 map_shadow_stack futex_wake futex_wait futex_requeue"
).split()
# Refused with a specific errno: clone3's flags sit in memory a filter cannot read, so libc falls
# back to clone (checked below); terminal ioctls answer "not a terminal".
ERRNO_RULES = {"clone3": ENOSYS}
IOCTL_ALLOWED = (0x5450, 0x5451, 0x5421, 0x541B)  # FIONCLEX, FIOCLEX, FIONBIO, FIONREAD
# Named so tests and readers see them: each is refused (EPERM) by the allow-list's default.
DENIED = (
    "ptrace mount umount2 pivot_root chroot unshare setns bpf perf_event_open keyctl add_key "
    "request_key kexec_load kexec_file_load init_module finit_module delete_module mknod mknodat "
    "io_uring_setup io_uring_enter io_uring_register userfaultfd process_vm_readv process_vm_writev "
    "pidfd_open pidfd_send_signal pidfd_getfd personality reboot swapon swapoff acct syslog quotactl "
    "quotactl_fd socket connect bind listen accept accept4 execve execveat prctl seccomp capset "
    "setuid setgid setreuid setregid setresuid setresgid setgroups setfsuid setfsgid sethostname "
    "setdomainname name_to_handle_at open_by_handle_at open_tree move_mount fsopen fsconfig fsmount "
    "fspick mount_setattr memfd_create memfd_secret shmget shmat shmctl semget msgget mq_open "
    "splice tee vmsplice copy_file_range iopl ioperm modify_ldt uselib vhangup lookup_dcookie kcmp "
    "mlock mlock2 mlockall setxattr chown fchown lchown fchownat fanotify_init inotify_init "
    "inotify_init1 io_setup migrate_pages move_pages process_madvise process_mrelease "
    "landlock_create_ruleset sched_setaffinity setpriority setrlimit rt_sigqueueinfo "
    "rt_tgsigqueueinfo clock_settime sync syncfs membarrier pkey_mprotect statmount listmount mseal "
    "open_tree_attr"
).split()

MAX_THREADS = 32  # threads of one call (RLIMIT_NPROC counts them)
MAX_OPEN_FILES = 64
SCRATCH_INODES = 512


def supported_machine() -> bool:
    """Whether this file carries the syscall table of the machine's architecture."""
    return platform.machine() in ("x86_64", "AMD64", "amd64")


# -------------------------------------------------------------------------------------- seccomp


def seccomp_rules(allow_fork: bool) -> dict:
    """The policy above as `seccomp.build_program` rules (syscall name -> rule)."""
    from seer_env.envs.toolqa import seccomp as bpf

    fork_action = bpf.ALLOW if allow_fork else bpf.errno(EPERM)
    rules: dict = {name: bpf.ALLOW for name in ALLOWED}
    rules.update({name: bpf.errno(err) for name, err in ERRNO_RULES.items()})
    # clone: threads always; a new process only when allowed; never a namespace flag
    rules["clone"] = bpf.ArgCheck(
        0,
        (("any_bits", CLONE_NS_FLAGS, bpf.errno(EPERM)), ("any_bits", CLONE_THREAD, bpf.ALLOW)),
        fork_action,
    )
    rules["fork"] = rules["vfork"] = fork_action
    rules["socketpair"] = bpf.ArgCheck(0, (("eq", AF_UNIX, bpf.ALLOW),), bpf.errno(EPERM))
    rules["prlimit64"] = bpf.ArgCheck(0, (("eq", 0, bpf.ALLOW),), bpf.errno(EPERM))  # its own limits (pid 0)
    ioctls = tuple(("eq", request, bpf.ALLOW) for request in IOCTL_ALLOWED)
    rules["ioctl"] = bpf.ArgCheck(1, ioctls, bpf.errno(ENOTTY))  # argument 1: the request
    return rules


def seccomp_program(allow_fork: bool = False) -> bytes:
    """The filter every call runs under, built in the host (`seccomp.build_program`; the zygote gets
    the bytes): anything not listed fails with EPERM, syscalls newer than the table with ENOSYS."""
    from seer_env.envs.toolqa import seccomp as bpf

    return bpf.build_program(
        "x86_64", seccomp_rules(allow_fork), bpf.errno(EPERM), past_table=bpf.errno(ENOSYS)
    )


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_seccomp(program: bytes) -> None:
    """Install `program` on the calling thread (no_new_privs must be set, or CAP_SYS_ADMIN held)."""
    buf = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    _check(_libc().prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")


# ----------------------------------------------------------------------------------------- libc

_LIBC = None


def _libc():
    global _LIBC
    if _LIBC is None:
        lib = ctypes.CDLL(None, use_errno=True)
        lib.mount.argtypes = [
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_ulong,
            ctypes.c_char_p,
        ]
        lib.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
        lib.unshare.argtypes = [ctypes.c_int]
        lib.setns.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        lib.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
        lib.syscall.restype = ctypes.c_long
        _LIBC = lib
    return _LIBC


def _check(ret: int, what: str) -> int:
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")
    return ret


def _step(what: str, fn, *args):
    """fn(*args), its OSError naming the set-up step that failed."""
    try:
        return fn(*args)
    except OSError as e:
        raise OSError(e.errno, f"{what}: {e.strerror or e}") from None


def _prctl(option: int, arg2: int = 0) -> int:
    return _libc().prctl(option, arg2, None, 0, 0)


def unshare(flags: int) -> None:
    _check(_libc().unshare(flags), f"unshare({flags:#x})")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = [None if s is None else s.encode() for s in (source, target, fstype, data)]
    _check(_libc().mount(enc[0], enc[1], enc[2], flags, enc[3]), f"mount {target}")


def _pivot_root(new_root: str, put_old: str) -> None:
    _check(_libc().syscall(_NR_PIVOT_ROOT, new_root.encode(), put_old.encode()), "pivot_root")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def drop_exec_privileges() -> None:
    """What only an exec could use, gone for this process and every child it forks: an empty
    capability bounding set, no ambient capabilities, securebits set and locked. (The zygote does
    this once; its effective capabilities stay for its own set-up work.)"""
    _check(_prctl(PR_SET_SECUREBITS, SECUREBITS_LOCKED), "securebits")
    for cap in range(64):
        if _prctl(PR_CAPBSET_DROP, cap) < 0:
            if ctypes.get_errno() == 22:  # EINVAL: past the kernel's last capability
                break
            _check(-1, f"drop capability {cap}")
    _check(_libc().prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, None, 0, 0), "ambient capabilities")


def drop_privileges() -> None:
    """No capability left (effective, permitted, inheritable), no_new_privs set, not dumpable."""
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    _check(_libc().syscall(_NR_CAPSET, ctypes.byref(header), ctypes.byref(data)), "capset")
    _check(_prctl(PR_SET_NO_NEW_PRIVS, 1), "no_new_privs")
    _check(_prctl(PR_SET_DUMPABLE, 0), "dumpable")


# ------------------------------------------------------------------------------- the new root

_ST_TO_MS = {1: MS_RDONLY, 2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 1024: MS_NOATIME, 2048: MS_NODIRATIME}
_ST_RELATIME = 4096


def _mount_flags(path: str) -> int:
    """The per-mount flags `path`'s mount has now (a remount must keep the ones the kernel locked)."""
    f = os.statvfs(path).f_flag
    flags = 0
    for st, ms in _ST_TO_MS.items():
        if f & st:
            flags |= ms
    if f & _ST_RELATIME:
        flags |= MS_RELATIME
    return flags


def _bind_sources() -> list[str]:
    """What Python needs, as the running interpreter names it: the standard library (with
    lib-dynload), the environment's site-packages, the folders of the shared libraries loaded now."""
    import site
    import sysconfig

    paths = []
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        with contextlib.suppress(Exception):
            paths.append(sysconfig.get_paths()[key])
    with contextlib.suppress(Exception):
        paths += site.getsitepackages()
    # sys.path folders inside the interpreter's or environment's prefix (lib-dynload); not a
    # folder a .pth file adds elsewhere (an editable install's project tree)
    prefixes = tuple(
        os.path.join(os.path.realpath(p), "") for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}
    )
    paths += [p for p in sys.path if p and os.path.join(os.path.realpath(p), "").startswith(prefixes)]
    # folders of the shared libraries loaded now (libc, libm, libpython...): extension modules
    # imported later link against their neighbours
    with contextlib.suppress(OSError), open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6 and ".so" in parts[5]:
                paths.append(os.path.dirname(parts[5].strip()))
    paths += ["/etc/ld.so.cache", "/etc/localtime", "/usr/share/zoneinfo"]
    paths += ["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"]
    return [p for p in dict.fromkeys(os.path.normpath(p) for p in paths if p) if os.path.exists(p)]


def _mirror_links(root: str, path: str, depth: int = 0) -> str:
    """Recreate under `root` the symlinks on the way to `path`; return the path they lead to."""
    if depth > 40:
        raise OSError(40, f"too many symbolic links in {path}")
    cur = ""
    for comp in path.strip("/").split("/"):
        cur = f"{cur}/{comp}"
        if os.path.islink(cur):
            dst = root + cur
            if not os.path.lexists(dst):
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                os.symlink(os.readlink(cur), dst)
            rest = path[len(cur) :]
            return _mirror_links(root, os.path.realpath(cur) + rest, depth + 1)
    return path


def build_root(root: str, sources: list[str]) -> list[str]:
    """Read-only binds of `sources` under `root` (a fresh tmpfs); returns what was bound."""
    real = []
    for src in sources:
        real.append(_mirror_links(root, src))
    bound: list[str] = []
    for src in sorted(dict.fromkeys(real), key=len):
        if any(src == b or src.startswith(b.rstrip("/") + "/") for b in bound):
            continue  # inside a folder already bound
        _bind_read_only(src, root + src, device=src.startswith("/dev/"))
        bound.append(src)
    return bound


def _bind_read_only(src: str, dst: str, device: bool = False) -> None:
    """Bind `src` at `dst` (made as an empty folder or file first), read-only, nosuid, and nodev
    unless it is a device node."""
    if os.path.isdir(src):
        os.makedirs(dst, mode=0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dst), mode=0o755, exist_ok=True)
        if not os.path.exists(dst):
            os.close(os.open(dst, os.O_WRONLY | os.O_CREAT, 0o644))
    mount(src, dst, None, MS_BIND)
    flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | (0 if device else MS_NODEV)
    mount(None, dst, None, flags | _mount_flags(dst))


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _mount_point_for_root(sources: list[str]) -> str:
    """A folder to build the new root on: mounting there must not hide a folder to bind."""
    for d in ROOT_MOUNT_POINTS:
        if os.path.isdir(d) and not os.path.islink(d) and not any(_inside(s, d) for s in sources):
            return d
    raise OSError(
        2,
        f"no folder to build the sandbox root on: each of {', '.join(ROOT_MOUNT_POINTS)} is missing or holds a folder Python needs",
    )


def names_in_fresh_scratch() -> list[str]:
    """What a call's scratch folder holds when it starts, as the host predicts it: empty, but for the
    first folder of each path Python needs that lies under SCRATCH (a virtual environment in /tmp)."""
    head = len(SCRATCH) + 1
    return sorted({p[head:].split("/")[0] for p in _bind_sources() if _inside(p, SCRATCH) and p != SCRATCH})


def keep_under_scratch(root: str, bound: list[str]) -> list[str]:
    """Second read-only binds, at UNDER_SCRATCH/<n> in `root`, of the bound paths under SCRATCH;
    returns those paths in the order of n, for `rebind_under_scratch`."""
    kept = [b for b in bound if _inside(b, SCRATCH)]
    for n, path in enumerate(kept):
        _bind_read_only(root + path, f"{root}{UNDER_SCRATCH}/{n}")
    return kept


def rebind_under_scratch(kept: list[str]) -> None:
    """In a call, over its fresh scratch: the kept paths back in place, read-only."""
    for n, path in enumerate(kept):
        _bind_read_only(f"{UNDER_SCRATCH}/{n}", path)


def _write_id_maps(proc: int, outer_uid: int, outer_gid: int, inner: int = 0) -> None:
    """Map `inner` (uid and gid) to one outer id; nothing else is mapped."""
    for name, data in (
        ("setgroups", "deny"),
        ("uid_map", f"{inner} {outer_uid} 1"),
        ("gid_map", f"{inner} {outer_gid} 1"),
    ):
        fd = os.open(f"self/{name}", os.O_WRONLY, dir_fd=proc)
        try:
            os.write(fd, data.encode())
        finally:
            os.close(fd)


_KEPT_UNDER_SCRATCH: list[str] = []  # set by confine_zygote, read by each call


def confine_zygote() -> int:
    """Steps 1-3 of the module docstring. Returns in the serving process (pid 1 of a new pid
    namespace) a descriptor of that pid namespace; the calling process stays behind as its waiting
    parent and never returns."""
    uid, gid = os.geteuid(), os.getegid()
    sources = _bind_sources()
    proc = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY)
    # 1. a root of our own
    if uid == 0:
        unshare(CLONE_NEWNS)
    else:
        unshare(CLONE_NEWUSER | CLONE_NEWNS)
        _step("map ids", _write_id_maps, proc, uid, gid, uid)
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    new_root = _step("build the root", _mount_point_for_root, sources)
    mount("sandbox-root", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=4096,mode=0755")
    bound = _step("build the root", build_root, new_root, sources)
    _KEPT_UNDER_SCRATCH[:] = _step("build the root", keep_under_scratch, new_root, bound)
    os.makedirs(new_root + SCRATCH, mode=0o755, exist_ok=True)
    os.chdir(new_root)
    _pivot_root(".", ".")
    _check(_libc().umount2(b".", MNT_DETACH), "detach the host's tree")
    os.chdir("/")
    mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    # 2. unprivileged: root becomes nobody before the user namespace that maps only that id
    if uid == 0:
        _step(f"become uid {NOBODY}", os.setgroups, [])
        _step(f"become uid {NOBODY}", os.setresgid, NOBODY, NOBODY, NOBODY)
        _step(f"become uid {NOBODY}", os.setresuid, NOBODY, NOBODY, NOBODY)
        outer_uid = outer_gid = NOBODY
    else:
        outer_uid, outer_gid = uid, gid
    _prctl(PR_SET_DUMPABLE, 1)  # our /proc/self files are ours again, to write the id maps
    unshare(
        CLONE_NEWUSER
        | CLONE_NEWNS
        | CLONE_NEWNET
        | CLONE_NEWIPC
        | CLONE_NEWUTS
        | CLONE_NEWCGROUP
        | CLONE_NEWPID
    )
    _step("map ids", _write_id_maps, proc, outer_uid, outer_gid)
    _check(_libc().sethostname(HOSTNAME, len(HOSTNAME)), "sethostname")
    # 3. the server is pid 1 of the new pid namespace: when it ends, so does everything under it
    pid = os.fork()
    if pid == 0:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # and it ends with its waiting parent
        pid_ns = os.open("self/ns/pid", os.O_RDONLY, dir_fd=proc)  # the host's /proc: our host pid
        _prctl(PR_SET_DUMPABLE, 0)
        os.close(proc)
        return pid_ns
    os.close(proc)
    _prctl(PR_SET_DUMPABLE, 0)
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)  # the host then sees the pipe close when the server ends
    _, status = os.waitpid(pid, 0)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def isolate_from_files_and_network() -> None:
    """For a process that has opened everything it will read (SQLInterpreter's worker loads this file
    by path and calls it): new mount, network, IPC and UTS namespaces, with a user namespace mapping
    only its own ids when it is not root, and an empty read-only root, so no path reaches the host's
    files (corpus, question files, /proc, home folders) and there is no network. Descriptors already
    open stay usable. Raises OSError when the kernel refuses; the process is then unchanged in
    what it can reach."""
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    proc = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY)
    try:
        unshare(flags if uid == 0 else flags | CLONE_NEWUSER)
        if uid != 0:
            _step("map ids", _write_id_maps, proc, uid, gid, uid)
    finally:
        os.close(proc)
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    new_root = _step("build the root", _mount_point_for_root, [])
    mount("empty-root", new_root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=4,mode=0555")
    os.chdir(new_root)
    _pivot_root(".", ".")
    _check(_libc().umount2(b".", MNT_DETACH), "detach the host's tree")
    os.chdir("/")
    mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)


# ------------------------------------------------------------------------------ one call (child)


def run_code(cfg: dict, code: str, out_fd: int, write=os.write) -> None:
    """Execute `code` with the answer variable preset to 0; write the marked JSON result (with the
    `write` taken before the code ran). Also the weak path's last step: it runs this function's text."""
    g = {"__name__": "__main__", "__builtins__": __builtins__, cfg["var"]: 0}
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            exec(compile(code, "<code>", "exec"), g)
        value = str(g[cfg["var"]])
        if len(value) > cfg["max_chars"]:
            value = value[: cfg["max_chars"]] + "...[too long, cut]"
        res = {"ok": True, "value": value}
    except BaseException as e:
        res = {"ok": False, "error": str(e) or type(e).__name__, "type": type(e).__name__}
    data = (cfg["mark"] + json.dumps(res) + "\n").encode("utf-8", "replace")
    while data:
        data = data[write(out_fd, data) :]


def _limit(kind: int, value: int) -> None:
    resource.setrlimit(kind, (value, value))


def _call_child(cfg: dict, code: str, w: int, programs: dict) -> None:
    """In the fresh pid namespace (we are its pid 1): confine, then run the code."""
    try:
        os.setsid()  # signals to our old process group (the zygote's) no longer reach it
        unshare(CLONE_NEWNS)
        size_kb = max(64, int(cfg.get("scratch_kb", 16384)))
        opts = f"size={size_kb}k,nr_inodes={SCRATCH_INODES},mode=0700"
        mount("scratch", SCRATCH, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts)
        rebind_under_scratch(_KEPT_UNDER_SCRATCH)
        os.chdir(SCRATCH)
        null = os.open("/dev/null", os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(w, 1)
        os.dup2(null, 2)
        os.closerange(3, 1 << 20)  # the zygote's pipes to the host, its pid namespace
        sys.stdin = sys.stdout = sys.stderr = None
        sys.argv = [""]
        _limit(resource.RLIMIT_CORE, 0)
        _limit(resource.RLIMIT_FSIZE, size_kb << 10)
        _limit(resource.RLIMIT_CPU, int(cfg["cpu"]))
        _limit(resource.RLIMIT_NOFILE, MAX_OPEN_FILES)
        _limit(resource.RLIMIT_MEMLOCK, 0)
        _limit(resource.RLIMIT_MSGQUEUE, 0)
        # tasks of this user namespace's uid 0: the zygote's two processes, this call and its threads
        _limit(resource.RLIMIT_NPROC, 3 + MAX_THREADS)
        _limit(resource.RLIMIT_AS, int(cfg["mem"]))
        drop_privileges()
        install_seccomp(programs[bool(cfg.get("fork"))])
    except BaseException:
        os._exit(71)
    run_code(cfg, code, 1)
    os._exit(0)


# ---------------------------------------------------------------------------- the zygote server


def _read_exact(n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        b = os.read(0, n - len(buf))
        if not b:
            raise EOFError
        buf += b
    return buf


def _send(obj: dict) -> None:
    data = json.dumps(obj).encode()
    data = struct.pack(">I", len(data)) + data
    while data:
        data = data[os.write(1, data) :]


def _serve(req: dict, own_pid_ns: int, programs: dict) -> dict:
    cfg, code = req["cfg"], req["code"]
    cap = cfg["max_chars"] * 4 + (1 << 20)
    r, w = os.pipe()
    try:
        unshare(CLONE_NEWPID)  # our next child is pid 1 of a fresh pid namespace
        try:
            pid = os.fork()
        except BaseException:
            _check(_libc().setns(own_pid_ns, CLONE_NEWPID), "setns")
            raise
        if pid == 0:
            try:
                os.close(r)
                _call_child(cfg, code, w, programs)
            finally:
                os._exit(70)
        # back to our own pid namespace for the next call's unshare
        _check(_libc().setns(own_pid_ns, CLONE_NEWPID), "setns")
        os.close(w)
        w = -1
        chunks, size, timed_out, overflow = [], 0, False, False
        deadline = time.monotonic() + cfg["timeout"]
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready = select.select([r, 0], [], [], left)[0]
            if 0 in ready:  # the host sends nothing during a call: it has gone (or broke the protocol)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                os._exit(0)
            if not ready:
                continue
            b = os.read(r, 65536)
            if not b:
                break
            chunks.append(b)
            size += len(b)
            if size > cap:
                overflow = True
                break
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # its pid namespace, and every process in it, goes too
        _, status, usage = os.wait4(pid, 0)
        # threads can spend the CPU limit before the wall limit: the kernel's SIGKILL is a timeout too
        cpu_spent = usage.ru_utime + usage.ru_stime >= cfg["cpu"] - 0.05
        if timed_out or (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL and cpu_spent):
            return {"timed_out": True}
        out = b"".join(chunks)[:cap].decode("utf-8", "replace")
        return {"out": out, "rc": os.waitstatus_to_exitcode(status), "overflow": overflow}
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def main() -> None:
    try:
        if not supported_machine():
            raise OSError(f"no seccomp syscall table for {platform.machine()}")
        # the host built the two filters (without and with fork) and passes them as hex arguments
        programs = {False: bytes.fromhex(sys.argv[1]), True: bytes.fromhex(sys.argv[2])}
        own_pid_ns = confine_zygote()
        drop_exec_privileges()
    except BaseException as e:
        with contextlib.suppress(OSError):
            _send({"error": str(e) or type(e).__name__})
        os._exit(1)
    # warm: what calls commonly import is loaded once here, shared copy-on-write by every call
    for name in ("math", "statistics", "datetime", "re", "collections", "itertools", "functools", "decimal",
                 "fractions", "random", "string", "heapq", "bisect"):  # fmt: skip
        with contextlib.suppress(ImportError):
            __import__(name)
    # the first compile() in a process builds the parser's lazily made tables: once, here
    null = os.open(os.devnull, os.O_WRONLY)
    run_code({"var": "ans", "max_chars": 10, "mark": ""}, "ans = [i * 2 for i in range(3)]", null)
    os.close(null)
    import gc

    gc.freeze()  # a call's collections then skip (and do not copy) the zygote's objects
    _send({"ready": True})
    while True:
        try:
            (n,) = struct.unpack(">I", _read_exact(4))
            req = json.loads(_read_exact(n))
        except EOFError:
            break
        _send(_serve(req, own_pid_ns, programs))
    os._exit(0)


if __name__ == "__main__":
    main()

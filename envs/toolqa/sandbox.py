"""Run untrusted Python (PythonInterpreter) in a separate, confined process.

Two protections, chosen by `isolation`:

- "kernel" (the default; Linux on x86_64 with user namespaces and seccomp): each call runs in a
  process confined by the kernel: its own user, mount, pid, network, IPC and UTS namespaces, a root
  holding only read-only views of what Python needs, a small private tmpfs as scratch folder and cwd,
  no capabilities, no_new_privs, a seccomp allow-list and rlimits. Ending the call ends every process
  it started. Details in `sandbox_kernel.py` and docs/sandbox.md. Where the kernel does not offer
  this, a "kernel" call is refused with a message naming the opt-in below.
- "weak" (opt-in: `python_isolation="weak"` on the env, or SEER_ENV_PYTHON_ISOLATION=weak): the
  former protection, a Python audit hook plus rlimits and, as root, the `nobody` user when it can
  still read the interpreter. Code inside can undo a hook; use it only where the kernel offers nothing
  better. The child: cwd a fresh temporary folder, RLIMIT_AS memory cap, RLIMIT_FSIZE 0, RLIMIT_CPU,
  RLIMIT_NPROC 0; the hook refuses writes, deletes, os.system, fork, exec, subprocesses, signals and
  sockets; the child's process group is killed at the wall-time limit.

Speed: starting an interpreter costs ~40 ms, so a "zygote" does it once. A zygote is a fresh
interpreter (`-I -B`, minimal environment, no corpus path) that talks to us over a private pipe; a
kernel zygote confines itself first, then for each request forks a child that confines itself
further and runs the code in fresh globals, then exits. Each call thus gets its own process: nothing a
call changes (globals, builtins, sys.modules, files) reaches the next. Zygotes are pooled (one busy per
concurrent call), restarted when dead and dropped after a fork of this process. A weak call without
`os.fork`, or without a usable zygote, starts its own interpreter.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import platform
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_MARK = "\x00SEER-RESULT\x00"

# The weak path's limits and hook; it ends in the kernel path's `run_code` (run, write the marked
# result), whose text `_weak_script` puts in front, with the kernel zygote's protocol functions.
_WEAK_SANDBOXED = r"""
def _sandboxed(cfg, code, out_fd, write=os.write):
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (cfg["cpu"], cfg["cpu"] + 1))
    if os.getuid() == 0 and cfg["drop"]:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (cfg["mem"], cfg["mem"]))
    def _install(write=os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND):
        # constants live in the closure, not in __main__, so the user's code cannot edit them by name
        deny = frozenset({"os.system", "os.fork", "os.forkpty", "os.kill", "os.killpg", "os.remove", "os.rename",
             "os.rmdir", "os.truncate", "os.chmod", "os.chown", "os.link", "os.symlink", "os.mkdir",
             "os.utime", "os.chflags", "os.lchflags", "os.setxattr", "os.removexattr", "os.startfile",
             "shutil.rmtree", "shutil.move", "shutil.copyfile", "shutil.copytree", "pty.spawn"})
        no_import = frozenset({"ctypes", "_ctypes", "_posixsubprocess", "subprocess", "multiprocessing",
             "_multiprocessing", "socket", "_socket", "pty", "asyncio", "concurrent"})
        prefixes = ("subprocess.", "os.exec", "os.spawn", "os.posix_spawn", "socket.")
        def hook(event, args):
            if event == "import":
                if str(args[0]).split(".")[0] in no_import:
                    raise ImportError("module " + str(args[0]) + " is not available here")
            elif event == "open":
                mode, flags = args[1], args[2]
                if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (isinstance(flags, int) and flags & write):
                    raise PermissionError("writing files is not allowed here")
            elif event in deny or event.startswith(prefixes):
                raise PermissionError(event + " is not allowed here")
            elif event == "ctypes.dlopen" and args and args[0] is not None:
                raise PermissionError("loading native libraries is not allowed here")
        sys.addaudithook(hook)
    _install()
    run_code(cfg, code, out_fd, write)
"""

# A weak call without a zygote: one interpreter per call
_WEAK_CHILD_MAIN = r"""
cfg = json.loads(sys.stdin.readline())
code = sys.stdin.read()
sys.stdout.flush()
_sandboxed(cfg, code, sys.stdout.fileno())
"""

# Requests and replies: 4-byte big-endian length, then JSON. Reads and writes go straight to the file
# descriptors, so a forked child inherits no buffered protocol data.
_WEAK_ZYGOTE_MAIN = r"""
def _child(cfg, code, w, workdir):
    try:
        os.setsid()  # own process group, killed as a whole at the limit
        os.chdir(workdir)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(w, 1)
        os.dup2(null, 2)
        os.closerange(3, 1 << 16)  # the protocol pipe to our parent is on 0/1, now gone too
        sys.stdin = sys.stdout = sys.stderr = None
        _sandboxed(cfg, code, 1)
    except BaseException:
        os._exit(70)
    os._exit(0)
def _serve(req):
    cfg, code = req["cfg"], req["code"]
    cap = cfg["max_chars"] * 4 + (1 << 20)
    workdir = tempfile.mkdtemp(prefix="seer-py-")
    os.chmod(workdir, 0o755)
    r, w = os.pipe()
    try:
        pid = os.fork()
        if pid == 0:
            _child(cfg, code, w, workdir)
        os.close(w)
        w = -1
        chunks, size, timed_out = [], 0, False
        deadline = time.monotonic() + cfg["timeout"]
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready = select.select([r, 0], [], [], left)[0]
            if 0 in ready:  # the host sends nothing during a call: it has gone
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise EOFError
            if not ready:
                continue
            b = os.read(r, 65536)
            if not b:
                break
            if size < cap:
                chunks.append(b)
                size += len(b)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)  # on timeout, and any straggler in the group
        _, status = os.waitpid(pid, 0)
        if timed_out:
            return {"timed_out": True}
        return {"out": b"".join(chunks).decode("utf-8", "replace"), "rc": os.waitstatus_to_exitcode(status)}
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
        shutil.rmtree(workdir, ignore_errors=True)
import gc
gc.freeze()  # a child's collections then skip (and do not copy-on-write) the zygote's objects
while True:
    try:
        (n,) = struct.unpack(">I", _read_exact(4))
        req = json.loads(_read_exact(n))
    except EOFError:
        break
    _send(_serve(req))
"""


@functools.cache
def _weak_script(main: str) -> str:
    """The text a weak interpreter runs: imports, the kernel path's shared functions, then `main`
    (made on first use: only the opt-in weak path pays for reading their source)."""
    import inspect

    from seer_env.envs.toolqa import sandbox_kernel

    shared = (sandbox_kernel.run_code, sandbox_kernel._read_exact, sandbox_kernel._send)
    return (
        "import contextlib, io, json, os, resource, select, shutil, signal, struct, sys, tempfile, time\n"
        + "".join(inspect.getsource(fn) for fn in shared)
        + _WEAK_SANDBOXED
        + main
    )


_ENV = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "LANG": "C.UTF-8"}


@dataclass
class PyResult:
    ok: bool
    value: str = ""
    error: str = ""
    timed_out: bool = False


def _world_readable(path: str) -> bool:
    """Whether every folder down to `path` lets other users in (so `nobody` can still import)."""
    p = os.path.realpath(path)
    while True:
        try:
            if not os.stat(p).st_mode & 0o005:
                return False
        except OSError:
            return False
        parent = os.path.dirname(p)
        if parent == p:
            return True
        p = parent


# Running as root, the child becomes `nobody` (file permissions then guard the corpus and
# RLIMIT_NPROC holds) unless that user could not read the interpreter's own library.
_CAN_DROP = os.name == "posix" and _world_readable(os.__file__) and _world_readable(sys.executable)

_TIMEOUT = PyResult(False, error="Execution timed out (possible infinite loop).", timed_out=True)

ISOLATION_ENV = "SEER_ENV_PYTHON_ISOLATION"
ISOLATION_MODES = ("kernel", "weak")
REFUSAL = (
    "PythonInterpreter is disabled: this system cannot confine untrusted code with the kernel ({reason}). "
    "To run it with the weaker, hook-based protection, pass python_isolation='weak' to the environment "
    "or set " + ISOLATION_ENV + "=weak."
)


def refusal_message(reason: str) -> str:
    return REFUSAL.format(reason=reason)


def run_python(
    code: str,
    answer_var: str = "ans",
    timeout: float = 5.0,
    memory_mb: int = 1024,
    max_chars: int = 100_000,
    isolation: str = "kernel",
    scratch_mb: int = 16,
    allow_fork: bool = False,
) -> PyResult:
    """Execute `code` with `answer_var = 0` preset; return `str(answer_var)` or the exception text.

    isolation: "kernel" (confined by the kernel; refused with a message where it is unavailable) or
        "weak" (the hook-based protection; see the module docstring).
    scratch_mb: size of the call's writable scratch folder (kernel isolation).
    allow_fork: let the code start processes (kernel isolation; each gets memory_mb, so a call can
        then use that much per process; they all end with the call). Threads are always allowed.
    """
    if isolation not in ISOLATION_MODES:
        raise ValueError(f"isolation must be one of {ISOLATION_MODES}, not {isolation!r}")
    code = code.encode("utf-8", "replace").decode("utf-8")  # lone surrogates would break JSON
    cfg = {
        "var": answer_var,
        "mem": int(memory_mb) << 20,
        "cpu": max(1, int(timeout) + 1),
        "max_chars": max_chars,
        "mark": _MARK,
        "timeout": float(timeout),
    }
    if isolation == "kernel":
        ok, reason = kernel_isolation()
        if not ok:
            return PyResult(False, error=refusal_message(reason))
        cfg.update(scratch_kb=int(scratch_mb) << 10, fork=bool(allow_fork))
        reply = _run_in_zygote("kernel", cfg, code)
        if reply is None:
            return PyResult(False, error="the confined Python process could not be started")
    else:
        cfg["drop"] = _CAN_DROP
        reply = _run_in_zygote("weak", cfg, code) if _USE_ZYGOTE else None
        if reply is None:
            reply = _run_subprocess(cfg, code, timeout)
    return _result(reply)


def _result(reply: dict) -> PyResult:
    if reply.get("timed_out"):
        return PyResult(False, error=_TIMEOUT.error, timed_out=True)
    text, rc = reply["out"], reply["rc"]
    if reply.get("overflow"):
        return PyResult(False, error="the code wrote too much output to its standard streams and was stopped")
    pos = text.rfind(_MARK)
    if pos < 0 and rc == -signal.SIGSYS:
        return PyResult(
            False, error="the Python process was stopped: it made a system call the sandbox forbids"
        )
    if pos < 0:
        return PyResult(False, error=f"the Python process ended abnormally (exit code {rc})")
    try:
        res = json.loads(text[pos + len(_MARK) :].splitlines()[0])
    except (json.JSONDecodeError, IndexError):
        res = None
    if not isinstance(res, dict):  # the code can write to the result's descriptor itself
        return PyResult(False, error="the Python process returned no result")
    if res.get("ok") is True:
        return PyResult(True, value=str(res.get("value", "")))
    return PyResult(False, error=str(res.get("error", "unknown error")))


# ---------------------------------------------------------------- which protection is in force

_probe_lock = threading.Lock()
_probe: tuple[bool, str] | None = None


def kernel_isolation() -> tuple[bool, str]:
    """(available, why): whether kernel isolation works here; probed once per process by starting a
    confined zygote and running one call in it (the zygote is then kept for later calls)."""
    global _probe
    if _probe is not None:
        return _probe
    with _probe_lock:
        if _probe is None:
            _probe = _probe_kernel()
        return _probe


def _probe_kernel() -> tuple[bool, str]:
    from seer_env.envs.toolqa import sandbox_kernel

    if not sys.platform.startswith("linux"):
        return False, f"{sys.platform} has no Linux namespaces or seccomp"
    if not sandbox_kernel.supported_machine():
        return False, f"no seccomp syscall table for the {platform.machine()} architecture"
    if not _USE_ZYGOTE:
        return False, "os.fork is unavailable"
    cfg = {"var": "ans", "mem": 256 << 20, "cpu": 5, "max_chars": 100, "mark": _MARK, "timeout": 10.0}
    cfg.update(scratch_kb=1024, fork=False)
    try:
        z = _acquire("kernel")
    except (OSError, _ZygoteError) as e:
        return False, str(e)
    try:
        # csv (with its extension module) is not preloaded: the unprivileged id must read the stdlib
        res = _result(z.call(cfg, "import csv\nans = 6 * 7"))
    except _ZygoteError as e:
        z.close()
        return False, f"the confined test call failed ({e})"
    if not (res.ok and res.value == "42"):
        z.close()
        return False, f"the confined test call failed ({res.error})"
    _release(z)
    return True, "user, mount, pid, network, IPC and UTS namespaces; seccomp; rlimits; no capabilities"


def resolve_isolation(requested: str | None = None) -> str:
    """The protection PythonInterpreter runs under: "kernel", "weak" or "refused".

    requested: "kernel" (only kernel isolation), "weak" (kernel isolation where available, else the
    hook-based protection) or None (the SEER_ENV_PYTHON_ISOLATION environment variable, else "kernel").
    """
    if requested is None:
        requested = os.environ.get(ISOLATION_ENV, "").strip().lower() or "kernel"
    if requested not in ISOLATION_MODES:
        raise ValueError(f"python_isolation must be one of {ISOLATION_MODES}, not {requested!r}")
    if kernel_isolation()[0]:
        return "kernel"
    return "weak" if requested == "weak" else "refused"


# ---------------------------------------------------------------- per-call interpreter (fallback)


def _run_subprocess(cfg: dict, code: str, timeout: float) -> dict:
    workdir = tempfile.mkdtemp(prefix="seer-py-")
    os.chmod(workdir, 0o755)
    proc = subprocess.Popen(
        [sys.executable, "-I", "-B", "-c", _weak_script(_WEAK_CHILD_MAIN)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=workdir,
        env=_ENV,
        start_new_session=True,
    )
    try:
        try:
            out, _ = proc.communicate(
                json.dumps(cfg).encode() + b"\n" + code.encode("utf-8"), timeout=timeout
            )
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            return {"timed_out": True}
        finally:
            _kill_group(proc)  # stragglers left in the group, if any
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"out": out.decode("utf-8", "replace"), "rc": proc.returncode}


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# ---------------------------------------------------------------- zygotes

_USE_ZYGOTE = os.name == "posix" and hasattr(os, "fork")
_MAX_IDLE = 16  # idle zygotes kept; more concurrent calls start more, closed on release
_REPLY_GRACE = 10.0  # seconds past the wall limit before a silent zygote is given up on


class _ZygoteError(Exception):
    pass


_START_TIMEOUT = 30.0  # seconds a kernel zygote may take to confine itself and say it is ready
_kernel_src: str | None = None


def _kernel_source() -> str:
    global _kernel_src
    if _kernel_src is None:
        _kernel_src = Path(__file__).with_name("sandbox_kernel.py").read_text(encoding="utf-8")
    return _kernel_src


@functools.lru_cache(maxsize=1)
def _kernel_filters() -> tuple[str, str]:
    """The seccomp filters of a call, without and with fork, as the hex arguments a zygote takes."""
    from seer_env.envs.toolqa import sandbox_kernel

    return sandbox_kernel.seccomp_program(False).hex(), sandbox_kernel.seccomp_program(True).hex()


class _Zygote:
    """One zygote: `kind` "kernel" (confines itself, then says it is ready) or "weak"."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        src = _kernel_source() if kind == "kernel" else _weak_script(_WEAK_ZYGOTE_MAIN)
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-B", "-c", src, *(_kernel_filters() if kind == "kernel" else ())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd="/" if kind == "kernel" else tempfile.gettempdir(),
            env=_ENV,
            start_new_session=True,
            bufsize=0,
        )
        if kind == "kernel":
            try:
                hello = self._frame(time.monotonic() + _START_TIMEOUT)
            except _ZygoteError as e:
                self.close()
                raise _ZygoteError(f"the confined interpreter did not start ({e})") from None
            if not hello.get("ready"):
                self.close()
                raise _ZygoteError(str(hello.get("error") or "the confined interpreter did not start"))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def call(self, cfg: dict, code: str) -> dict:
        data = json.dumps({"cfg": cfg, "code": code}).encode()
        try:
            self.proc.stdin.write(struct.pack(">I", len(data)) + data)
        except OSError as e:
            raise _ZygoteError(f"write: {e}") from e
        return self._frame(time.monotonic() + cfg["timeout"] + _REPLY_GRACE)

    def _frame(self, deadline: float) -> dict:
        (n,) = struct.unpack(">I", self._read(4, deadline))
        try:
            return json.loads(self._read(n, deadline))
        except json.JSONDecodeError as e:
            raise _ZygoteError("bad reply") from e

    def _read(self, n: int, deadline: float) -> bytes:
        fd = self.proc.stdout.fileno()
        buf = b""
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise _ZygoteError("no reply in time")
            b = os.read(fd, n - len(buf))
            if not b:
                raise _ZygoteError("zygote ended")
            buf += b
        return buf

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # a kernel zygote's server too (same group)
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        with contextlib.suppress(OSError):
            self.proc.stdout.close()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.proc.wait(timeout=1)


_lock = threading.Lock()
_idle: dict[str, list[_Zygote]] = {"kernel": [], "weak": []}
_owner_pid = os.getpid()
_inherited: list[_Zygote] = []  # zygotes of the process we were forked from: not ours to use or close


def _acquire(kind: str) -> _Zygote:
    global _owner_pid
    with _lock:
        if _owner_pid != os.getpid():
            for zs in _idle.values():
                _inherited.extend(zs)
                zs.clear()
            _owner_pid = os.getpid()
        idle = _idle[kind]
        while idle:
            z = idle.pop()
            if z.alive():
                return z
            z.close()
    return _Zygote(kind)


def _release(z: _Zygote) -> None:
    with _lock:
        idle = _idle[z.kind]
        if _owner_pid == os.getpid() and len(idle) < _MAX_IDLE and z.alive():
            idle.append(z)
            return
    if _owner_pid == os.getpid():
        z.close()


def _run_in_zygote(kind: str, cfg: dict, code: str) -> dict | None:
    """The reply from a zygote; None if none could serve."""
    for _ in range(3):  # a zygote that ends mid-call (killed, crashed) is replaced
        try:
            z = _acquire(kind)
        except (OSError, _ZygoteError):
            return None
        try:
            reply = z.call(cfg, code)
        except _ZygoteError as e:
            z.close()
            if str(e) == "no reply in time":
                return {"timed_out": True}
            continue
        _release(z)
        return reply
    return None


def zygote_pids(kind: str | None = None) -> list[int]:
    """Process ids of the idle zygotes of this process (for tests and diagnostics)."""
    with _lock:
        if _owner_pid != os.getpid():
            return []
        kinds = [kind] if kind else list(_idle)
        return [z.proc.pid for k in kinds for z in _idle[k] if z.alive()]


@atexit.register
def shutdown() -> None:
    """Close this process's idle zygotes (the next call starts a fresh one)."""
    with _lock:
        zs = [z for k in _idle for z in _idle[k]] if _owner_pid == os.getpid() else []
        for k in _idle:
            _idle[k].clear()
    for z in zs:
        z.close()

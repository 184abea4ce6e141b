"""Run untrusted Python (PythonInterpreter) in a separate, limited process.

The child: cwd a fresh temporary folder, RLIMIT_AS memory cap, RLIMIT_FSIZE 0 (no file bytes written),
RLIMIT_CPU as a backstop, and, when we run as root, the `nobody` user (so file permissions protect the
corpus and RLIMIT_NPROC is enforced); RLIMIT_NPROC 0 stops fork bombs. An audit hook refuses opening
files for writing, deleting/renaming files, os.system, fork, exec, subprocesses, signals and sockets.
The whole process group of the child is killed at the wall-time limit. The child is never given a
corpus path.

Speed: starting an interpreter costs ~40 ms, so a "zygote" does it once. A zygote is a fresh
interpreter (`-I -B`, minimal environment, no limits, no hook, no corpus path) that talks to us over a
private pipe; for each request it forks a child, which applies the limits and hook above (the same
`_sandboxed` code the per-call fallback runs), executes the code in fresh globals and exits. Each call
thus gets its own process: nothing a call changes (globals, builtins, sys.modules) reaches the next.
Zygotes are pooled (one busy per concurrent call), restarted when dead and dropped after a fork of
this process. Without `os.fork`, or if a zygote cannot be used, each call starts its own interpreter.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
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

_MARK = "\x00SEER-RESULT\x00"

# Shared by both paths: limits, hook, run, write the marked result to a file descriptor.
_SANDBOXED = r"""
import contextlib, io, json, os, resource, sys
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
        data = data[write(out_fd, data):]
"""

_CHILD = (
    _SANDBOXED
    + r"""
cfg = json.loads(sys.stdin.readline())
code = sys.stdin.read()
sys.stdout.flush()
_sandboxed(cfg, code, sys.stdout.fileno())
"""
)

# Requests and replies: 4-byte big-endian length, then JSON. Reads and writes go straight to the file
# descriptors, so a forked child inherits no buffered protocol data.
_ZYGOTE = (
    _SANDBOXED
    + r"""
import select, shutil, signal, struct, tempfile, time
def _read_exact(n):
    buf = b""
    while len(buf) < n:
        b = os.read(0, n - len(buf))
        if not b:
            raise EOFError
        buf += b
    return buf
def _send(obj):
    data = json.dumps(obj).encode()
    data = struct.pack(">I", len(data)) + data
    while data:
        data = data[os.write(1, data):]
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
            if not select.select([r], [], [], left)[0]:
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


def run_python(
    code: str,
    answer_var: str = "ans",
    timeout: float = 5.0,
    memory_mb: int = 1024,
    max_chars: int = 100_000,
) -> PyResult:
    """Execute `code` with `answer_var = 0` preset; return `str(answer_var)` or the exception text."""
    cfg = {
        "var": answer_var,
        "mem": int(memory_mb) << 20,
        "cpu": max(1, int(timeout) + 1),
        "max_chars": max_chars,
        "mark": _MARK,
        "drop": _CAN_DROP,
        "timeout": float(timeout),
    }
    code = code.encode("utf-8", "replace").decode("utf-8")  # lone surrogates would break JSON
    reply = _run_in_zygote(cfg, code) if _USE_ZYGOTE else None
    if reply is None:
        reply = _run_subprocess(cfg, code, timeout)
    if reply.get("timed_out"):
        return PyResult(False, error=_TIMEOUT.error, timed_out=True)
    text, rc = reply["out"], reply["rc"]
    pos = text.rfind(_MARK)
    if pos < 0:
        return PyResult(False, error=f"the Python process ended abnormally (exit code {rc})")
    try:
        res = json.loads(text[pos + len(_MARK) :].splitlines()[0])
    except (json.JSONDecodeError, IndexError):
        return PyResult(False, error="the Python process returned no result")
    if res.get("ok"):
        return PyResult(True, value=res.get("value", ""))
    return PyResult(False, error=res.get("error", "unknown error"))


# ---------------------------------------------------------------- per-call interpreter (fallback)


def _run_subprocess(cfg: dict, code: str, timeout: float) -> dict:
    workdir = tempfile.mkdtemp(prefix="seer-py-")
    os.chmod(workdir, 0o755)
    proc = subprocess.Popen(
        [sys.executable, "-I", "-B", "-c", _CHILD],
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


class _Zygote:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-B", "-c", _ZYGOTE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=tempfile.gettempdir(),
            env=_ENV,
            start_new_session=True,
            bufsize=0,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def call(self, cfg: dict, code: str) -> dict:
        data = json.dumps({"cfg": cfg, "code": code}).encode()
        try:
            self.proc.stdin.write(struct.pack(">I", len(data)) + data)
        except OSError as e:
            raise _ZygoteError(f"write: {e}") from e
        deadline = time.monotonic() + cfg["timeout"] + _REPLY_GRACE
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
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        with contextlib.suppress(OSError):
            self.proc.stdout.close()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.proc.wait(timeout=1)


_lock = threading.Lock()
_idle: list[_Zygote] = []
_owner_pid = os.getpid()
_inherited: list[_Zygote] = []  # zygotes of the process we were forked from: not ours to use or close


def _acquire() -> _Zygote:
    global _owner_pid
    with _lock:
        if _owner_pid != os.getpid():
            _inherited.extend(_idle)
            _idle.clear()
            _owner_pid = os.getpid()
        while _idle:
            z = _idle.pop()
            if z.alive():
                return z
            z.close()
    return _Zygote()


def _release(z: _Zygote) -> None:
    with _lock:
        if _owner_pid == os.getpid() and len(_idle) < _MAX_IDLE and z.alive():
            _idle.append(z)
            return
    if _owner_pid == os.getpid():
        z.close()


def _run_in_zygote(cfg: dict, code: str) -> dict | None:
    """The reply from a zygote; None if none could serve (the caller then starts its own interpreter)."""
    for _ in range(3):  # a zygote that ends mid-call (killed, crashed) is replaced
        try:
            z = _acquire()
        except OSError:
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


def zygote_pids() -> list[int]:
    """Process ids of the idle zygotes of this process (for tests and diagnostics)."""
    with _lock:
        return [z.proc.pid for z in _idle if z.alive()] if _owner_pid == os.getpid() else []


@atexit.register
def shutdown() -> None:
    """Close this process's idle zygotes (the next call starts a fresh one)."""
    with _lock:
        zs = list(_idle) if _owner_pid == os.getpid() else []
        _idle.clear()
    for z in zs:
        z.close()

"""Run untrusted Python (PythonInterpreter) in a separate, limited process.

The child: a fresh interpreter (`-I -B`), cwd a temporary folder, RLIMIT_AS memory cap, RLIMIT_FSIZE 0
(no file bytes written), RLIMIT_CPU as a backstop, and, when we run as root, the `nobody` user (so
file permissions protect the corpus and RLIMIT_NPROC is enforced); RLIMIT_NPROC 0 stops fork bombs. An
audit hook refuses opening files for writing, deleting/renaming files, os.system, fork, exec,
subprocesses, signals and sockets. The parent kills the whole process group at the wall-time limit.
The child is never given a corpus path.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass

_MARK = "\x00SEER-RESULT\x00"

_CHILD = r"""
import contextlib, io, json, os, resource, sys
cfg = json.loads(sys.stdin.readline())
code = sys.stdin.read()
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
del _install
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
sys.__stdout__.write(cfg["mark"] + json.dumps(res) + "\n")
sys.__stdout__.flush()
"""


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


def run_python(
    code: str,
    answer_var: str = "ans",
    timeout: float = 5.0,
    memory_mb: int = 1024,
    max_chars: int = 100_000,
) -> PyResult:
    """Execute `code` with `answer_var = 0` preset; return `str(answer_var)` or the exception text."""
    workdir = tempfile.mkdtemp(prefix="seer-py-")
    os.chmod(workdir, 0o755)
    cfg = {
        "var": answer_var,
        "mem": int(memory_mb) << 20,
        "cpu": max(1, int(timeout) + 1),
        "max_chars": max_chars,
        "mark": _MARK,
        "drop": _CAN_DROP,
    }
    env = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "LANG": "C.UTF-8"}
    proc = subprocess.Popen(
        [sys.executable, "-I", "-B", "-c", _CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=workdir,
        env=env,
        start_new_session=True,
    )
    try:
        try:
            out, _ = proc.communicate(
                json.dumps(cfg).encode() + b"\n" + code.encode("utf-8", "replace"), timeout=timeout
            )
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            return PyResult(False, error="Execution timed out (possible infinite loop).", timed_out=True)
        finally:
            _kill_group(proc)  # stragglers left in the group, if any
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text = out.decode("utf-8", "replace")
    pos = text.rfind(_MARK)
    if pos < 0:
        return PyResult(False, error=f"the Python process ended abnormally (exit code {proc.returncode})")
    try:
        res = json.loads(text[pos + len(_MARK) :].splitlines()[0])
    except (json.JSONDecodeError, IndexError):
        return PyResult(False, error="the Python process returned no result")
    if res.get("ok"):
        return PyResult(True, value=res.get("value", ""))
    return PyResult(False, error=res.get("error", "unknown error"))


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass

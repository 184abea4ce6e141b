"""Hostile PythonInterpreter actions through `env.step`, kernel isolation in force.

Each test is one attack (or one small family of the same attack); the `hostile` harness asserts the
common guarantees after every action (answered within its limit, the env still computes, corpus and
question files byte-identical, no process left, host and sentinel alive). The code may run arbitrary
native instructions (ctypes): the attacks use raw syscalls, not only Python APIs.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

import pytest

import seer_env
from seer_env.envs.toolqa import sandbox_kernel
from tests.security.conftest import OFFICIAL_QUESTIONS, PY_LIMIT

LIBC = "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.syscall.restype = ctypes.c_long\n"


def syscall_code(nr: int, *args: int) -> str:
    """Code that makes raw syscall `nr` and sets ans to (return value, errno)."""
    a = ", ".join(f"ctypes.c_long({x})" for x in args)
    return LIBC + f"r = libc.syscall({nr}{', ' if a else ''}{a})\nans = (r, ctypes.get_errno())"


def q(s: str) -> str:
    return json.dumps(str(s))


# ------------------------------------------------------------------ undoing the confinement


def test_the_env_reports_kernel_isolation(hostile):
    _, info = hostile.env.reset(seed=0)
    assert info["python_sandbox"] == "kernel"


def test_identity_inside_is_an_unprivileged_root_without_capabilities(hostile):
    code = (
        LIBC + "import os\nhdr = (ctypes.c_uint32 * 2)(0x20080522, 0)\ndata = (ctypes.c_uint32 * 6)()\n"
        "libc.syscall(125, hdr, data)\nans = (os.getuid(), os.getgid(), list(data))"
    )
    obs, _ = hostile.python(code)
    assert obs == "(0, 0, [0, 0, 0, 0, 0, 0])"  # uid 0 only inside; no effective/permitted/inheritable cap


@pytest.mark.parametrize(
    "name, args",
    [
        ("unshare", (0x10000000,)),  # CLONE_NEWUSER: regain capabilities in a new user namespace
        ("unshare", (0x00020000,)),  # CLONE_NEWNS
        ("setns", (0, 0)),
        ("mount", (0, 0, 0, 0, 0)),
        ("umount2", (0, 2)),
        ("pivot_root", (0, 0)),
        ("chroot", (0,)),
        ("ptrace", (0, 0, 0, 0)),  # PTRACE_TRACEME
        ("ptrace", (16, 1, 0, 0)),  # PTRACE_ATTACH to pid 1
        ("bpf", (0, 0, 0)),
        ("perf_event_open", (0, 0, -1, -1, 0)),
        ("keyctl", (0, 0, 0, 0, 0)),
        ("add_key", (0, 0, 0, 0, 0)),
        ("request_key", (0, 0, 0, 0)),
        ("kexec_load", (0, 0, 0, 0)),
        ("init_module", (0, 0, 0)),
        ("finit_module", (0, 0, 0)),
        ("delete_module", (0, 0)),
        ("mknodat", (-100, 0, 0o20666, 0)),
        ("io_uring_setup", (8, 0)),
        ("userfaultfd", (0,)),
        ("process_vm_readv", (1, 0, 0, 0, 0, 0)),
        ("pidfd_open", (1, 0)),
        ("pidfd_send_signal", (0, 9, 0, 0)),
        ("pidfd_getfd", (0, 0, 0)),
        ("personality", (0x0400000,)),  # READ_IMPLIES_EXEC
        ("reboot", (0, 0, 0, 0)),
        ("swapon", (0, 0)),
        ("acct", (0,)),
        ("syslog", (3, 0, 0)),
        ("quotactl", (0, 0, 0, 0)),
        ("open_by_handle_at", (-100, 0, 0)),
        ("name_to_handle_at", (-100, 0, 0, 0, 0)),
        ("setuid", (65534,)),
        ("capset", (0, 0)),
        ("prctl", (38, 0, 0, 0, 0)),  # any prctl, e.g. to read or change the seccomp mode
        ("seccomp", (0, 0, 0)),
        ("fsopen", (0, 0)),
        ("open_tree", (-100, 0, 0)),
        ("memfd_create", (0, 0)),
        ("shmget", (0, 4096, 0o1000)),
        ("execve", (0, 0, 0)),
    ],
)
def test_dangerous_syscalls_are_refused(hostile, name, args):
    from seer_env.envs.toolqa.seccomp import X86_64 as NR

    obs, _ = hostile.python(syscall_code(NR[name], *args))
    assert obs == "(-1, 1)", f"{name}: {obs}"  # -1, EPERM: refused by the filter before the kernel looks


def test_clone_with_namespace_flags_is_refused(hostile):
    # a thread-shaped clone asking for a new user + pid namespace; a plain fork
    code = (
        LIBC + "r1 = libc.syscall(56, ctypes.c_long(0x10000000 | 0x20000000 | 17), 0, 0, 0, 0)\n"
        "e1 = ctypes.get_errno()\nr2 = libc.syscall(57)\nans = (r1, e1, r2, ctypes.get_errno())"
    )
    obs, _ = hostile.python(code)
    assert obs == "(-1, 1, -1, 1)"


def test_clone3_is_not_available(hostile):
    obs, _ = hostile.python(syscall_code(435, 0, 0))
    assert obs == "(-1, 38)"  # ENOSYS: its flags cannot be checked, libc falls back to clone


def test_x32_abi_syscall_kills_the_call(hostile):
    obs, _ = hostile.python(syscall_code(0x40000000 + 39))  # getpid through the x32 ABI
    assert "system call the sandbox forbids" in obs  # SIGSYS: killed by the filter


def test_i386_syscall_through_int_0x80_kills_the_call(hostile):
    code = (
        "import ctypes, mmap\n"
        "m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
        "m.write(bytes([0xB8, 1, 0, 0, 0, 0x31, 0xDB, 0xCD, 0x80, 0xC3]))  # exit(0) via int 0x80\n"
        "f = ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(m)))\n"
        "ans = f()"
    )
    obs, _ = hostile.python(code)
    assert "system call the sandbox forbids" in obs  # the architecture check: SIGSYS, not exit(0)


def test_seccomp_cannot_be_lifted_or_replaced(hostile):
    code = (
        LIBC + "import socket\n"
        "libc.prctl(22, 0, 0, 0, 0)  # PR_SET_SECCOMP, disabled\n"
        "libc.syscall(317, 0, 0, 0)  # seccomp(SECCOMP_SET_MODE_STRICT)\n"
        "socket.socket()"
    )
    obs, _ = hostile.python(code)
    assert "Operation not permitted" in obs


def test_remounting_the_root_writable_is_refused(hostile):
    code = (
        LIBC + "r = libc.mount(None, b'/', None, ctypes.c_ulong(32 | 4096), None)\ne = ctypes.get_errno()\n"
        "try:\n    open('/etc/ld.so.cache', 'a').write('x')\n    w = 'written'\n"
        "except OSError as x:\n    w = x.errno\nans = (r, e, w)"
    )
    obs, _ = hostile.python(code)
    assert obs.startswith("(-1, 1, ") and "written" not in obs


def test_chroot_escape_through_a_directory_fd_stays_inside(hostile):
    code = (
        "import os\nfd = os.open('/', os.O_RDONLY)\nos.makedirs('jail', exist_ok=True)\n"
        "try:\n    os.chroot('jail')\n    c = 'chrooted'\nexcept OSError as e:\n    c = e.errno\n"
        "os.fchdir(fd)\nfor _ in range(20):\n    os.chdir('..')\n"
        "ans = (c, sorted(os.listdir('.')) == sorted(os.listdir('/')), os.path.exists('/proc'))"
    )
    obs, _ = hostile.python(code)
    assert obs == "(1, True, False)"


def test_proc_self_tricks_find_no_proc(hostile):
    code = (
        "import os\nout = []\n"
        "for p in ['/proc/self/environ', '/proc/1/root/etc/shadow', '/proc/self/mem', '/proc/self/fd/0', "
        "'/proc/sys/kernel/core_pattern', '/sys/kernel']:\n"
        "    out.append(os.path.exists(p))\n"
        "try:\n    os.makedirs('p', exist_ok=True)\n"
        "    import ctypes\n    r = ctypes.CDLL(None, use_errno=True).mount(b'proc', b'p', b'proc', 0, None)\n"
        "except OSError:\n    r = 'no'\nans = (out, r, os.listdir('p'))"
    )
    obs, _ = hostile.python(code)
    assert obs == "([False, False, False, False, False, False], -1, [])"


def test_hook_era_bypasses_do_not_reach_a_process(hostile):
    """Ways around the old audit hook (starting a process without an audited call) all fail."""
    code = (
        "import os, _posixsubprocess\nr, w = os.pipe()\nout = []\n"
        "for f in (lambda: os.posix_spawn('/usr/bin/id', ['id'], {}), lambda: os.forkpty(), "
        "lambda: _posixsubprocess.fork_exec(['/bin/true'], [b'/bin/true'], True, (), None, None, "
        "-1, -1, -1, -1, -1, -1, r, w, False, False, False, None, None, None, -1, None, False)):\n"
        "    try:\n        out.append(('ran', f()))\n    except OSError as e:\n        out.append(e.errno)\n"
        "ans = (out, os.system('id') >> 8)"
    )
    obs, _ = hostile.python(code)
    assert obs == "([1, 2, 1], 127)"  # EPERM, no /dev/ptmx, EPERM; the shell never started


def test_a_forged_result_on_the_output_descriptor_does_not_replace_the_answer(hostile):
    code = (
        "import os, json\nmark = '\\x00SEER-RESULT\\x00'\n"
        "os.write(1, (mark + json.dumps({'ok': True, 'value': 'forged'}) + '\\n').encode())\n"
        "os.write(1, b'\\x00\\x00\\x00\\x10{\"ready\": true}')\nans = 'real'"
    )
    obs, _ = hostile.python(code)
    assert obs == "real"


def test_a_thread_writing_junk_results_after_the_answer_breaks_nothing(hostile):
    code = (
        "import os, threading\n"
        "def junk():\n    while True:\n"
        "        for j in (b'[1, 2]', b'{\"ok\": true, \"value\": [1]}', b'\"x\"', b'\\xff'):\n"
        "            os.write(1, b'\\x00SEER-RESULT\\x00' + j + b'\\n')\n"
        "threading.Thread(target=junk, daemon=True).start()\nans = 'real'"
    )
    obs, _ = hostile.python(code)
    assert isinstance(obs, str) and obs  # an answer or an error, never a crash of the harness


def test_python_level_tampering_changes_nothing_outside_the_call(hostile):
    code = (
        "import sys, os, builtins\nsys.addaudithook(lambda *a: None)\n"
        "builtins.__import__ = None\nos._exit = None\nsys.modules.clear()\nans = 'tampered'"
    )
    obs, _ = hostile.python(code)
    assert obs == "tampered"


# --------------------------------------------------------------- processes and signals


def test_kill_minus_one_reaches_nothing_outside(hostile):
    obs, _ = hostile.python("import os, signal\nos.kill(-1, signal.SIGKILL)\nans = 'sent'")
    assert "No such process" in obs  # nobody else in the call's pid namespace


def test_killing_the_host_and_the_sentinel_by_pid_fails(hostile):
    pids = [os.getpid(), os.getppid(), hostile.sentinel_pid]
    code = (
        f"import os, signal\nout = []\nfor p in {pids}:\n"
        "    try:\n        os.kill(p, signal.SIGKILL)\n        out.append('killed')\n"
        "    except OSError as e:\n        out.append(e.errno)\nans = out"
    )
    obs, _ = hostile.python(code)
    assert "killed" not in obs


def test_signalling_every_pid_reaches_nothing_outside(hostile):
    code = (
        "import os, signal\nhit = []\nfor p in range(2, 1 << 16):\n"
        "    try:\n        os.kill(p, signal.SIGKILL)\n        hit.append(p)\n    except OSError:\n        pass\n"
        "ans = hit"
    )
    obs, _ = hostile.python(code, limit=PY_LIMIT)
    assert obs == "[]"


def test_killing_the_own_process_group_and_parent_spares_the_zygote(hostile, kernel_sandbox):
    before = set(kernel_sandbox.zygote_pids("kernel"))
    code = (
        "import os, signal\nfor f in (lambda: os.killpg(os.getpgrp(), 9), lambda: os.kill(os.getppid(), 9), "
        "lambda: os.kill(0, 9), lambda: os.kill(1, 9)):\n"
        "    try:\n        f()\n    except OSError:\n        pass\nans = 'still here'"
    )
    obs, _ = hostile.python(code)
    assert obs == "still here"  # the call is pid 1 of its own pid namespace: its own signals are ignored
    assert before and set(kernel_sandbox.zygote_pids("kernel")) == before  # no zygote had to be replaced


def test_pidfd_signal_to_the_host_is_refused(hostile):
    code = (
        f"import os, signal\ntry:\n    fd = os.pidfd_open({os.getpid()})\n    r = 'opened'\n"
        "except OSError as e:\n    r = e.errno\nans = r"
    )
    obs, _ = hostile.python(code)
    assert obs == "1"


def test_setsid_and_fork_to_outlive_the_call_fails(hostile):
    code = (
        "import os, time\nos.setsid()\npid = os.fork()\n"
        "if pid == 0:\n    time.sleep(60)\n    os._exit(0)\nans = pid"
    )
    obs, _ = hostile.python(code)
    assert "Operation not permitted" in obs


def test_double_fork_daemon_through_ctypes_fails(hostile):
    code = LIBC + "pids = [libc.fork() for _ in range(3)]\nans = (pids, ctypes.get_errno())"
    obs, _ = hostile.python(code)
    assert obs == "([-1, -1, -1], 1)"


def test_a_thread_left_running_ends_with_the_call(hostile):
    code = (
        "import threading, time\n"
        "def spin():\n    while True:\n        time.sleep(0.01)\n"
        "threading.Thread(target=spin).start()\nans = 'left a thread'"
    )
    obs, _ = hostile.python(code)
    assert obs == "left a thread"


def test_a_sleeping_call_is_stopped_at_the_limit(hostile):
    obs, info = hostile.python("import time\ntime.sleep(600)")
    assert (
        obs == "An error occurred: Execution timed out (possible infinite loop)."
        and info["error"] == "timeout"
    )


# ---------------------------------------------------------------- reading what is not ours


def test_question_files_with_gold_answers_are_not_visible(hostile):
    qfiles = sorted(str(p) for p in (hostile.root / "data" / "questions").rglob("*.jsonl"))
    gold = json.loads(Path(qfiles[0]).read_text().splitlines()[0])["answer"]
    official = sorted(str(p) for p in OFFICIAL_QUESTIONS.resolve().rglob("*.jsonl"))[:3]
    code = (
        f"import os\nout = []\nfor p in {qfiles + official!r} + [{q(hostile.root)}]:\n"
        "    try:\n        out.append(open(p).read()[:200])\n    except OSError as e:\n        out.append(e.errno)\n"
        "ans = out"
    )
    obs, _ = hostile.python(code)
    assert json.loads(obs) == [2] * (len(qfiles) + len(official) + 1)  # ENOENT for every one
    assert gold and str(gold) not in obs


def test_corpus_files_are_not_visible(hostile):
    corpus = hostile.root / "data" / "external_corpus"
    code = f"import os\nans = (os.path.exists({q(corpus)}), os.path.exists({q(corpus / 'coffee' / 'coffee_price.csv')}))"
    obs, _ = hostile.python(code)
    assert obs == "(False, False)"


def test_shadow_home_and_cache_folders_are_not_visible(hostile):
    from seer_env.embedding import cache_dir

    home = Path.home()
    paths = ["/etc/shadow", "/etc/passwd", "/etc/hosts", "/var", "/run", "/proc", "/sys", str(cache_dir())]
    paths += [str(home / ".cache"), str(home / ".ssh"), str(home / ".bash_history"), str(home / ".config")]
    code = f"import os\nans = [os.path.exists(p) for p in {paths!r}]"
    obs, _ = hostile.python(code)
    assert obs == str([False] * len(paths))


def test_host_environment_secrets_are_not_readable(hostile):
    pid = hostile.sentinel_pid
    code = (
        "import os\nout = [dict(os.environ)]\n"
        f"for p in ['/proc/{pid}/environ', '/proc/{os.getpid()}/environ', '/proc/self/environ']:\n"
        "    try:\n        out.append(open(p, 'rb').read())\n    except OSError as e:\n        out.append(e.errno)\n"
        "ans = out"
    )
    obs, _ = hostile.python(code)
    assert hostile.secret not in obs and "OPENAI" not in obs
    for key in ("HOME", "USER", "PWD", "VIRTUAL_ENV", "TOOLQA_DATA_DIR", "SEER_ENV_CACHE"):
        assert f"'{key}'" not in obs


def test_the_repository_is_not_visible(hostile):
    repo = Path(seer_env.__file__).resolve().parents[1]
    files = [repo / "pyproject.toml", repo / "envs" / "toolqa" / "tools.py", repo / "tests"]
    code = f"import os\nans = [os.path.exists(p) for p in {[str(p) for p in files]!r}]"
    obs, _ = hostile.python(code)
    assert obs == "[False, False, False]"


def test_only_the_interpreter_libraries_and_scratch_are_visible(hostile):
    code = "import os\nans = sorted(os.listdir('/')), sorted(os.listdir('/dev')), sorted(os.listdir('/etc'))"
    obs, _ = hostile.python(code)
    top, dev, etc = eval(obs)  # noqa: S307 - the tuple of lists the code built
    # the top folders of what Python needs (where this interpreter and its environment live)
    needed = {p.strip("/").split("/")[0] for p in sandbox_kernel._bind_sources()}
    under_scratch = any(p.startswith(sandbox_kernel.SCRATCH + "/") for p in sandbox_kernel._bind_sources())
    extra = {sandbox_kernel.UNDER_SCRATCH.strip("/")} if under_scratch else set()
    assert set(top) <= needed | extra | {"dev", "etc", "tmp"}
    assert "proc" not in top and "sys" not in top and "var" not in top
    assert dev == ["null", "random", "urandom", "zero"]
    assert set(etc) <= {"ld.so.cache", "localtime"}


# --------------------------------------------------------------- writing outside the scratch


def test_writing_the_corpus_and_questions_fails(hostile):
    targets = [
        hostile.root / "data" / "external_corpus" / "coffee" / "coffee_price.csv",
        next((hostile.root / "data" / "questions").rglob("*.jsonl")),
    ]
    code = (
        "import os, shutil\nout = []\n"
        f"for p in {[str(t) for t in targets]!r}:\n"
        "    for f in (lambda: open(p, 'w').write('x'), lambda: os.remove(p), lambda: shutil.rmtree(os.path.dirname(p))):\n"
        "        try:\n            f()\n            out.append('done')\n        except OSError as e:\n            out.append(e.errno)\n"
        "ans = out"
    )
    obs, _ = hostile.python(code)
    assert "done" not in obs


def test_writing_the_host_tmp_lands_in_the_private_scratch(hostile):
    marker = f"/tmp/seer-owned-{os.getpid()}"
    obs, _ = hostile.python(f"open({q(marker)}, 'w').write('owned')\nans = open({q(marker)}).read()")
    assert obs == "owned"
    assert not os.path.exists(marker)


def test_writing_the_interpreter_and_repository_fails(hostile):
    import os as host_os

    # the standard library, the project, and a file of the environment's site-packages (bound again
    # over each call's scratch when the environment lives under /tmp)
    targets = [host_os.__file__, str(Path(seer_env.__file__).resolve()), str(Path(pytest.__file__).resolve())]
    before = [Path(t).read_bytes() for t in targets]
    code = (
        "import os, mmap\nout = []\n"
        f"for p in {targets!r}:\n"
        "    try:\n        open(p, 'a').write('#')\n        out.append('appended')\n    except OSError as e:\n"
        "        out.append(e.errno)\n"
        "    try:\n        f = open(p, 'r+b')\n        m = mmap.mmap(f.fileno(), 0)\n        m[0:1] = b'#'\n"
        "        out.append('mapped')\n    except (OSError, ValueError) as e:\n        out.append(type(e).__name__)\n"
        "ans = out"
    )
    obs, _ = hostile.python(code)
    assert "appended" not in obs and "mapped" not in obs
    assert [Path(t).read_bytes() for t in targets] == before


def test_folders_bound_over_the_scratch_cannot_be_moved_removed_or_unmounted(hostile):
    """A virtual environment under /tmp is bound back over each call's scratch: from inside, the
    binds stay where they are, read-only, and their second view under UNDER_SCRATCH too. (The
    folders above a bind are the call's own scratch: moving them changes only what this call sees.)"""
    scratch = sandbox_kernel.SCRATCH + "/"
    kept = [p for p in sandbox_kernel._bind_sources() if p.startswith(scratch)]
    views = [f"{sandbox_kernel.UNDER_SCRATCH}/0"] if kept else []
    code = (
        "import ctypes, os, shutil\nout = []\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        f"for p in {kept + views!r}:\n"
        "    for f in (lambda: os.rename(p, p + '-moved'), lambda: os.rmdir(p), lambda: shutil.rmtree(p),\n"
        "              lambda: open(os.path.join(p, 'planted'), 'w')):\n"
        "        try:\n            f()\n            out.append('done')\n        except OSError as e:\n"
        "            out.append(e.errno)\n"
        "    out.append(libc.umount2(p.encode(), 2) == 0)\n"
        "ans = out"
    )
    obs, _ = hostile.python(code)
    assert "done" not in obs and "True" not in obs
    assert all(os.path.isdir(p) for p in kept)


def test_links_and_device_nodes_cannot_reach_outside(hostile):
    code = (
        "import os\nout = []\n"
        "for f in (lambda: os.link('/etc/ld.so.cache', 'cache'), lambda: os.mkfifo('fifo'), "
        "lambda: os.mknod('disk', 0o60666, os.makedev(8, 0)), lambda: os.symlink('/etc/ld.so.cache', 'l') "
        "or open('l', 'a').write('x')):\n"
        "    try:\n        f()\n        out.append('done')\n    except OSError as e:\n        out.append(e.errno)\n"
        "ans = out"
    )
    obs, _ = hostile.python(code)
    assert "done" not in obs


def test_scratch_files_do_not_reach_the_next_call(hostile):
    obs, _ = hostile.python("open('note', 'w').write('from call 1')\nans = 1")
    assert obs == "1"
    obs, _ = hostile.python("import os\nans = sorted(os.listdir('.'))")
    assert obs == repr(sandbox_kernel.names_in_fresh_scratch())


# --------------------------------------------------------------------------------- network


@pytest.fixture
def loopback_server():
    """A TCP server on 127.0.0.1 that records every connection it accepts."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    accepted: list[tuple] = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, addr = srv.accept()
            except OSError:
                continue
            accepted.append(addr)
            conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield srv.getsockname()[1], accepted
    stop.set()
    t.join()
    srv.close()


def test_tcp_to_a_loopback_server_fails(hostile, loopback_server):
    port, accepted = loopback_server
    code = f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=1)\nans = 'connected'"
    obs, _ = hostile.python(code)
    assert "Operation not permitted" in obs and accepted == []


def test_dns_and_raw_sockets_fail(hostile):
    code = (
        "import socket\nout = []\n"
        "for f in (lambda: socket.getaddrinfo('example.com', 80), lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
        ".sendto(b'x', ('127.0.0.1', 53)), lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW), "
        "lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0), lambda: socket.socket(socket.AF_UNIX)):\n"
        "    try:\n        f()\n        out.append('done')\n    except OSError as e:\n        out.append(type(e).__name__)\n"
        "ans = out"
    )
    obs, _ = hostile.python(code)
    assert "done" not in obs


def test_abstract_unix_socket_of_the_host_is_unreachable(hostile):
    name = f"\0seer-security-{os.getpid()}"
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(name)
    srv.listen(1)
    try:
        code = f"import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({name!r})\nans = 'connected'"
        obs, _ = hostile.python(code)
        assert "connected" not in obs
    finally:
        srv.close()


# -------------------------------------------------------------------- resource exhaustion


def test_memory_exhaustion_is_an_error(hostile):
    obs, _ = hostile.python("x = bytearray(10 * 2**30)")
    assert "MemoryError" in obs


def test_gradual_memory_growth_is_an_error(hostile):
    obs, _ = hostile.python("x = []\nwhile True:\n    x.append(bytearray(2**20))")
    assert "MemoryError" in obs or "timed out" in obs


def test_cpu_loop_is_stopped_at_the_limit(hostile):
    obs, info = hostile.python("while True: pass")
    assert info["error"] == "timeout" and "timed out" in obs


def test_cpu_loop_in_many_threads_is_stopped(hostile):
    """Threads spend the CPU limit faster than the wall clock: that is reported as a timeout too."""
    code = (
        "import threading\ndef spin():\n    while True: pass\n"
        "for _ in range(8):\n    threading.Thread(target=spin, daemon=True).start()\nspin()"
    )
    obs, info = hostile.python(code)
    assert info["error"] == "timeout"


def test_ignoring_signals_does_not_outlive_the_limit(hostile):
    code = (
        "import signal\nfor s in (signal.SIGTERM, signal.SIGXCPU, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):\n"
        "    signal.signal(s, signal.SIG_IGN)\nwhile True: pass"
    )
    obs, info = hostile.python(code)
    assert info["error"] == "timeout"


def test_disk_fill_stops_at_the_scratch_cap(hostile):
    code = (
        "n = 0\ntry:\n    with open('big', 'wb') as f:\n        while True:\n"
        "            f.write(b'x' * 2**20)\n            n += 1\nexcept OSError as e:\n    ans = (n, e.errno)"
    )
    obs, _ = hostile.python(code)
    n, err = eval(obs)  # noqa: S307
    assert n <= 16 and err in (27, 28)  # EFBIG or ENOSPC at the 16 MB scratch


def test_inode_fill_stops_at_the_scratch_cap(hostile):
    code = (
        "import os\nn = 0\ntry:\n    while True:\n        os.mkdir(f'd{n}')\n        n += 1\n"
        "except OSError as e:\n    ans = (n, e.errno)"
    )
    obs, _ = hostile.python(code)
    n, err = eval(obs)  # noqa: S307
    assert n < 1000 and err == 28


def test_file_descriptor_exhaustion_is_an_error(hostile):
    code = (
        "import os\nfds = []\ntry:\n    while True:\n        fds.append(os.open('/dev/null', os.O_RDONLY))\n"
        "except OSError as e:\n    ans = (len(fds), e.errno)"
    )
    obs, _ = hostile.python(code)
    n, err = eval(obs)  # noqa: S307
    assert n < 100 and err == 24


def test_huge_output_on_the_descriptors_is_stopped(hostile):
    obs, _ = hostile.python("import os\nwhile True:\n    os.write(1, b'x' * 65536)\n    os.write(2, b'y')")
    assert "too much output" in obs and len(obs) < 1000


def test_huge_answer_is_cut(hostile):
    obs, _ = hostile.python("ans = 'x' * (50 * 2**20)")
    assert obs.endswith("...[too long, cut]") and len(obs) <= 100_000 + 30


def test_endless_printing_is_an_error(hostile):
    obs, _ = hostile.python("while True:\n    print('x' * 10000)")
    assert "MemoryError" in obs or "timed out" in obs


def test_fork_bomb_is_refused(hostile):
    obs, _ = hostile.python("import os\nwhile True:\n    os.fork()")
    assert "Operation not permitted" in obs


def test_thread_bomb_is_bounded(hostile):
    code = (
        "import threading, time\nn = 0\ntry:\n    while True:\n"
        "        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n        n += 1\n"
        "except RuntimeError as e:\n    ans = n"
    )
    obs, _ = hostile.python(code)
    assert 0 < int(obs) <= 32


def test_sysv_shared_memory_and_message_queues_are_refused(hostile):
    code = (
        LIBC + "r = (libc.syscall(29, 0, 1 << 30, 0o1000), ctypes.get_errno(), "
        "libc.syscall(68, 0, 0o1000), ctypes.get_errno(), libc.syscall(240, b'/q', 64, 0o600, 0), ctypes.get_errno())\n"
        "ans = r"
    )
    obs, _ = hostile.python(code)
    assert obs == "(-1, 1, -1, 1, -1, 1)"

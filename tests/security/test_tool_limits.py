"""The time limit holds while corpus data is still being prepared, results are cut while they are
built, and the SQL worker's confinement refuses what SQL must never do (checked from inside it)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from seer_env.envs.toolqa import corpus, sqlworker
from seer_env.envs.toolqa.tools import CUT_SUFFIX, MSG_PREPARING, ToolQAToolkit
from tests.security.conftest import data_hashes, leftover_processes
from tests.security.tool_attacks import SLACK, descendants
from tests.toolqa.fixture import AGENDA, build_fixture, hash_embedder

LIMIT = 1.0


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return build_fixture(tmp_path_factory.mktemp("toolqa-limits"))


@pytest.fixture(autouse=True)
def untouched(request):
    """After each test: the corpus and question files byte-identical and no process left below this
    one but idle sandbox zygotes (background loads are threads; SQL workers end with their toolkit)."""
    root = request.getfixturevalue("root") if "root" in request.fixturenames else None
    hashes = data_hashes(root) if root is not None else None
    before = set(descendants())
    yield
    if hashes is not None:
        assert data_hashes(root) == hashes, "a corpus or question file changed"
    gc.collect()  # toolkits a test did not close end their SQL workers when collected
    assert leftover_processes(allowed=before) == [], "a process was left running"


def _timed(kit: ToolQAToolkit, name: str, argument: str):
    t0 = time.monotonic()
    res = kit.run(name, argument)
    return res, time.monotonic() - t0


class SlowEmbedder:
    """A stand-in for a sentence-transformers model that takes seconds to embed the corpus."""

    label = None  # never cached on disk, so every new instance builds its index

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.started = threading.Event()

    def __call__(self, texts: list[str]) -> np.ndarray:
        if len(texts) > 1:
            self.started.set()
            time.sleep(self.seconds)
        return hash_embedder(texts)


def _eventually(fn, seconds: float = 30.0):
    end = time.monotonic() + seconds
    while True:
        out = fn()
        if out or time.monotonic() > end:
            return out
        time.sleep(0.2)


def test_retriever_index_build_outlasting_a_call(root):
    kit = ToolQAToolkit(root, embedder=SlowEmbedder(4.0), tool_timeout=LIMIT)
    kit.run("LoadDB", "coffee")
    kit.run("FilterDB", "Date=2000-01-03")
    res, elapsed = _timed(kit, "RetrieveAgenda", "opera performance")
    assert elapsed <= LIMIT + SLACK
    assert res.error == "timeout"
    assert res.observation == MSG_PREPARING.format(what="The agenda retriever index")
    # the episode's state is untouched, and the build goes on in the background
    assert kit.run("GetValue", "Open").observation == "122.25"
    done = _eventually(lambda: kit.run("RetrieveAgenda", "opera performance").ok)
    assert done
    res = kit.run("RetrieveAgenda", "opera performance at the Lyric Opera House")
    assert res.observation.split("\n")[0] == AGENDA[0]


def test_loaddb_outlasting_a_call_leaves_the_current_table(root, monkeypatch):
    kit = ToolQAToolkit(root, tool_timeout=LIMIT)
    kit.run("LoadDB", "flights")
    assert (
        kit.run("FilterDB", "Origin=ATL").observation == "We have successfully filtered the data (50 rows)."
    )
    real = corpus.load_table
    slow = {"coffee": 3.0}

    def slow_load(r, name, cached_only=False):
        if name in slow:  # only the first load of coffee is slow (and not in the cache yet)
            if cached_only:
                return None
            time.sleep(slow.pop(name))
        return real(r, name, cached_only=cached_only)

    monkeypatch.setattr(corpus, "load_table", slow_load)
    res, elapsed = _timed(kit, "LoadDB", "coffee")
    assert elapsed <= LIMIT + SLACK and res.error == "timeout"
    assert res.observation.startswith("The coffee database is still being prepared")
    assert kit.run("GetValue", "Origin").observation == ", ".join(["ATL"] * 50)
    assert _eventually(lambda: kit.run("LoadDB", "coffee").ok)
    assert kit.run("GetValue", "Currency").observation.startswith("USD, USD")


def test_sql_copy_build_outlasting_a_call(tmp_path, monkeypatch):
    fresh = build_fixture(tmp_path)  # its own corpus: its SQLite copies are not built yet
    kit = ToolQAToolkit(fresh, sql_timeout=LIMIT)
    real = corpus.sqlite_db

    def slow_copy(r, name, cached_only=False, nocase=False):
        if cached_only:
            return None
        time.sleep(3.0)
        return real(r, name, nocase=nocase)

    monkeypatch.setattr(corpus, "sqlite_db", slow_copy)
    res, elapsed = _timed(kit, "SQLInterpreter", "SELECT COUNT(*) FROM coffee.coffee_data")
    assert elapsed <= LIMIT + SLACK and res.error == "timeout"
    assert res.observation.startswith("The SQL copy of the coffee table is still being prepared")
    monkeypatch.setattr(corpus, "sqlite_db", real)
    ok = _eventually(lambda: kit.run("SQLInterpreter", "SELECT COUNT(*) FROM coffee.coffee_data").observation)
    assert ok == "COUNT(*): 200"
    kit.close()


def test_results_are_cut_at_the_byte_cap_while_built(root):
    full = ToolQAToolkit(root)
    small = ToolQAToolkit(root, max_output_bytes=1000)
    for kit in (full, small):
        kit.run("LoadDB", "airbnb")  # NAME values hold "★", three bytes in UTF-8
        kit.run("LoadGraph", "dblp")
    whole = full.run("GetValue", "NAME").observation
    cut = small.run("GetValue", "NAME").observation
    assert len(whole.encode()) > 1000 and not whole.endswith(CUT_SUFFIX)
    assert cut.endswith(CUT_SUFFIX)
    head = cut[: -len(CUT_SUFFIX)]
    assert whole.startswith(head) and 996 < len(head.encode()) <= 1000
    sql = "SELECT NAME, price FROM airbnb.airbnb_data"
    whole, cut = full.run("SQLInterpreter", sql).observation, small.run("SQLInterpreter", sql).observation
    assert cut.endswith(CUT_SUFFIX) and whole.startswith(cut[: -len(CUT_SUFFIX)])
    assert len(cut[: -len(CUT_SUFFIX)].encode()) <= 1000
    tiny = ToolQAToolkit(root, max_output_bytes=10)
    tiny.run("LoadGraph", "dblp")
    out = tiny.run("NeighbourCheck", "AuthorNet, Chao Zhang").observation
    assert out.endswith(CUT_SUFFIX) and full.run(
        "NeighbourCheck", "AuthorNet, Chao Zhang"
    ).observation.startswith(out[: -len(CUT_SUFFIX)])
    for kit in (full, small, tiny):
        kit.close()


def test_a_late_filter_leaves_the_rows_as_they_were(root, monkeypatch):
    kit = ToolQAToolkit(root, tool_timeout=LIMIT)
    kit.run("LoadDB", "flights")
    kit.run("FilterDB", "Origin=ATL")
    real = ToolQAToolkit._match

    def slow_match(self, j, op, value):
        time.sleep(0.4)
        return real(self, j, op, value)

    monkeypatch.setattr(ToolQAToolkit, "_match", slow_match)
    res, elapsed = _timed(kit, "FilterDB", ", ".join(["Dest=MCO"] * 10))
    assert res.error == "timeout" and elapsed <= LIMIT + SLACK
    assert (
        res.observation == "The FilterDB call took longer than 1 seconds and was stopped. Please modify it."
    )
    monkeypatch.setattr(ToolQAToolkit, "_match", real)
    assert kit.run("GetValue", "Origin").observation == ", ".join(["ATL"] * 50)


_PROBE = r"""
import json, os, socket, sys
sys.path.insert(0, sys.argv[1])
import sqlworker
done = sqlworker._harden(512, bytes.fromhex(sys.argv[3]))
out = {"hardening": done}
def attempt(name, fn):
    try:
        fn()
        out[name] = "allowed"
    except OSError as exc:
        out[name] = exc.errno
out["root"] = os.listdir("/")
attempt("read_by_path", lambda: open(sys.argv[2]).read())
attempt("socket", lambda: socket.socket())
attempt("open_for_write", lambda: os.open(sys.argv[2], os.O_WRONLY))
attempt("create", lambda: os.open(sys.argv[2] + ".new", os.O_WRONLY | os.O_CREAT, 0o644))
attempt("unlink", lambda: os.unlink(sys.argv[2]))
attempt("fork", lambda: os.fork() or os._exit(0))
attempt("kill_parent", lambda: os.kill(os.getppid(), 0))
attempt("exec", lambda: os.execv("/bin/true", ["true"]))
os.write(1, json.dumps(out).encode())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="seccomp and /proc are Linux's")
def test_worker_confinement_refuses_files_network_writes_processes(tmp_path):
    target = tmp_path / "victim.txt"
    target.write_text("keep")
    proc = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            _PROBE,
            str(Path(sqlworker.__file__).parent),
            str(target),
            sqlworker.seccomp_program().hex(),
        ],  # fmt: skip
        capture_output=True,
        timeout=60,
        env={},
    )
    out = json.loads(proc.stdout)
    assert "seccomp" in out["hardening"] and "no_new_privs" in out["hardening"], out
    # an empty root: no path reaches the host's files (the question files, say), and no network
    assert "namespaces" in out["hardening"] and out["root"] == [], out
    for what in (
        "read_by_path",
        "socket",
        "open_for_write",
        "create",
        "unlink",
        "fork",
        "kill_parent",
        "exec",
    ):
        assert out[what] != "allowed", (what, out)
    assert target.read_text() == "keep" and not Path(str(target) + ".new").exists()


def test_a_worker_is_killed_with_its_toolkit_and_leaves_no_process(root):
    before = set(descendants())
    kit = ToolQAToolkit(root, sql_timeout=LIMIT)
    assert kit.run("SQLInterpreter", "SELECT COUNT(*) FROM coffee.coffee_data").observation == "COUNT(*): 200"
    pid = kit._sql.worker_pid
    assert pid in descendants() and pid != os.getpid()
    del kit  # not closed: collected
    assert _eventually(lambda: set(descendants()) <= before, 10)


def _query_in_child(kit: ToolQAToolkit, out) -> None:
    res = kit.run("SQLInterpreter", "SELECT COUNT(*) FROM coffee.coffee_data")
    out.put((res.observation, kit._sql.worker_pid))
    kit.close()  # must not end the parent's worker


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_copy_starts_its_own_worker_and_leaves_the_parents(root):
    import multiprocessing

    kit = ToolQAToolkit(root, sql_timeout=LIMIT)
    kit.run("SQLInterpreter", "SELECT 1 FROM coffee.coffee_data LIMIT 1")
    parent_worker = kit._sql.worker_pid
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=_query_in_child, args=(kit, out))
    child.start()
    answer, child_worker = out.get(timeout=60)
    child.join(60)
    assert answer == "COUNT(*): 200" and child_worker not in (None, parent_worker)
    assert kit._sql.worker_pid == parent_worker and Path(f"/proc/{parent_worker}").exists()
    assert kit.run("SQLInterpreter", "SELECT COUNT(*) FROM coffee.coffee_data").observation == "COUNT(*): 200"
    assert kit._sql.worker_pid == parent_worker
    kit.close()

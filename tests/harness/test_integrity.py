"""Runner integrity: agent text is recorded whatever it holds, one run per output folder, and the
`seer-env run` command says what is wrong with its input in one line instead of a traceback."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seer_env.files import LockHeldError, claim_lock
from seer_env.records import LOCK_FILE, read_episodes
from seer_env.runner import OutFolderError, PolicyEntry, Runner
from seer_env.text import clean_json, clean_text
from seer_env.types import ToolCall
from tests.harness.conftest import TINY
from tests.harness.fake_server import prompt_text
from tests.harness.helpers import read, run_policies

LONE = "\ud800"  # a high surrogate with no low one after it


def test_clean_text_escapes_only_what_files_and_requests_refuse():
    plain = "naïve café ✓ 😀"
    assert clean_text(plain) is plain
    assert clean_text(f"a{LONE}b") == "a\\ud800b"
    assert clean_text("x\udc80") == "x\\udc80"  # what surrogateescape makes of a byte 0x80
    assert clean_text("\ud83d\ude00") == "😀"  # a well-formed pair is the character it stands for
    assert clean_text("a\x00b") == "a\\x00b"
    for text in (f"a{LONE}b", "x\udc80\x00", "\ud83d\ude00\udfff"):
        clean_text(text).encode("utf-8")  # always encodable
    nested = {"k": [plain, (1, None)], "m": {"n": 2}}
    assert clean_json(nested) is nested  # nothing to clean: the same object
    dirty = {f"key{LONE}": [f"v{LONE}", ("t\x00",)], "n": 3}
    assert clean_json(dirty) == {"key\\ud800": ["v\\ud800", ("t\\x00",)], "n": 3}


class _SurrogateBrain:
    """A model that writes lone surrogates and a NUL into its actions (text ReAct form)."""

    def __init__(self):
        self.requests: list[str] = []

    def __call__(self, body: dict) -> dict:
        text = prompt_text(body)
        self.requests.append(text)
        if "Observation 1:" not in text:
            return {"content": f" I look it up {LONE}.\nAction 1: Lookup[k1{LONE}]"}
        return {"content": f" Done \udc80.\nAction 2: Finish[7\x00{LONE}]"}


def test_lone_surrogates_and_nuls_are_recorded_and_never_break_the_next_request(serve, tmp_path):
    brain = _SurrogateBrain()
    srv = serve(brain)
    out = tmp_path / "run"
    recs, _ = run_policies(out, ["react"], srv, [TINY], tasks="t000,t002", llm_options={"max_retries": 0})
    assert len(recs) == 2
    for rec in recs:
        assert rec["error"] is None, rec["error"]  # the request after the surrogate observation went out
        steps = rec["trajectory"]["steps"]
        assert [s["action"]["name"] for s in steps] == ["Lookup", "Finish"]
        assert steps[0]["action"]["arguments"] == {"key": "k1\\ud800"}
        assert steps[0]["observation"] == "There is no key k1\\ud800."
        assert steps[1]["action"]["arguments"]["answer"] == "7\\x00\\ud800"
        assert "\\ud800" in steps[0]["thought"]
    # the model saw the escaped observation in its next prompt
    followups = [r for r in brain.requests if "Observation 1:" in r]
    assert len(followups) == 2 and all("There is no key k1\\ud800." in r for r in followups)
    raw = (out / "results.jsonl").read_bytes()
    raw.decode("utf-8")  # a valid UTF-8 file
    assert len(read_episodes(out / "results.jsonl")) == 2


class _Scripted:
    """A policy that plays the tiny env's first task by its gold chain (Lookup k0, Finish 0)."""

    async def act(self, observation, info):
        return (
            ToolCall("Finish", {"answer": "0"})
            if observation.isdigit()
            else ToolCall("Lookup", {"key": "k0"})
        )


def _entry() -> PolicyEntry:
    from seer_env.policy import Policy

    class Scripted(_Scripted, Policy):
        pass

    return PolicyEntry("scripted", lambda env_id: Scripted())


def test_a_second_run_on_an_out_folder_stops_at_once_naming_the_first(tmp_path):
    out = tmp_path / "run"
    holder = claim_lock_in_subprocess(out)
    try:
        t0 = time.monotonic()
        with pytest.raises(OutFolderError) as err:
            asyncio.run(Runner([TINY], [_entry()], out, tasks="t000").run())
        assert time.monotonic() - t0 < 5
        msg = str(err.value)
        assert f"process {holder.pid} on {socket.gethostname()} since " in msg and "\n" not in msg
        assert not (out / "results.jsonl").exists()  # nothing was recorded by the refused run
        # the same from the command line: one line on stderr, exit code 2
        proc = subprocess.run(
            [sys.executable, "-m", "seer_env.cli", "run", "--env", TINY, "--out", str(out), "--no-progress"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and f"process {holder.pid}" in lines[0] and "in use by another run" in lines[0]
    finally:
        holder.kill()
        holder.wait()
    # the holder died without releasing: its lock is taken over, and the run plays
    counts = asyncio.run(Runner([TINY], [_entry()], out, tasks="t000").run())
    assert counts["done"] == 1 and len(read(out)) == 1
    owner = json.loads((out / LOCK_FILE).read_text())
    assert owner["pid"] == os.getpid()


def test_two_runners_of_one_process_cannot_share_a_folder(tmp_path):
    out = tmp_path / "run"
    lock = claim_lock(tmp_path / "run.lock-probe")
    with pytest.raises(LockHeldError):
        claim_lock(tmp_path / "run.lock-probe")  # a second claim in the same process
    lock.release()
    claim_lock(tmp_path / "run.lock-probe").release()  # released: free again

    async def both():
        first = Runner([TINY], [_entry()], out, tasks="t000")
        second = Runner([TINY], [_entry()], out, tasks="t000")
        return await asyncio.gather(first.run(), second.run(), return_exceptions=True)

    results = asyncio.run(both())
    assert sum(isinstance(r, OutFolderError) for r in results) == 1
    assert len(read(out)) == 1  # no duplicate record


def claim_lock_in_subprocess(out: Path) -> subprocess.Popen:
    """A process holding the run lock of `out` (as another `seer-env run` would), until killed."""
    code = (
        "import sys, time\n"
        "from seer_env.runner import claim_out_folder\n"
        "lock = claim_out_folder(sys.argv[1])\n"
        "print('held', flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--env-kwargs", "{scale: small"], "--env-kwargs is not valid JSON"),
        (["--env-kwargs", "[1, 2]"], "--env-kwargs must be a JSON object"),
    ],
)
def test_bad_env_kwargs_are_one_line(tmp_path, extra, expected):
    proc = _seer_env("run", "--env", TINY, "--out", str(tmp_path / "run"), *extra)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and expected in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()  # refused before anything was made


def test_an_unwritable_out_folder_is_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for out in (blocker / "run", Path("/proc/seer-env-cannot-write-here")):
        proc = _seer_env("run", "--env", TINY, "--out", str(out))
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot write to the output folder" in lines[0], proc.stderr
    assert blocker.read_text() == "not a folder"


def test_a_pool_that_is_not_a_pool_stops_the_run_in_one_line(tmp_path):
    import sqlite3

    other = tmp_path / "data.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE people (name TEXT)")
    con.commit()
    con.close()
    before = other.read_bytes()
    proc = _seer_env(
        "run", "--env", TINY, "--policy", "seer", "--model", "openai/none", "--api-base",
        "http://127.0.0.1:9", "--pool", str(other), "--out", str(tmp_path / "run"), "--no-preflight",
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "not an experience pool" in lines[0], proc.stderr
    assert other.read_bytes() == before


def _seer_env(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "80", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "seer_env.cli", *args, "--no-progress"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    if proc.returncode < 0:
        raise AssertionError(f"seer-env died of signal {signal.Signals(-proc.returncode).name}")
    return proc

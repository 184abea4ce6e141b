"""The declared contract: a third-party policy with only `act` runs in the runner; the episode record
round-trips and reads records written before it was versioned; `seer-env --help` imports nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from seer_env.policy import EnvInfo, Policy, env_info_of
from seer_env.records import RECORD_SCHEMA, EpisodeRecord, read_episodes, read_records
from seer_env.runner import PolicyEntry, Runner, run_sync
from seer_env.types import Step, ToolCall, Trajectory

REPO = Path(__file__).resolve().parents[2]
TINY = "tests.harness.tiny_env:Tiny-v0"


class AnswerFromTable(Policy):
    """A user's own policy, written against the contract only: it declares nothing but `act`."""

    async def act(self, observation: str, info: dict) -> ToolCall:
        from tests.harness.tiny_env import TABLE

        if info.get("tool") == "Lookup":  # the previous step looked the value up: answer with it
            return ToolCall("Finish", {"answer": observation})
        key = observation.rstrip("?").split()[-1]
        if key in TABLE:
            return ToolCall("Lookup", {"key": key})
        return ToolCall("Finish", {"answer": "?"})


def test_runner_plays_a_policy_that_declares_only_act(tmp_path):
    import tests.harness.tiny_env  # noqa: F401  (registers Tiny-v0)

    entry = PolicyEntry("mine", lambda env_id: AnswerFromTable())
    runner = Runner([TINY], [entry], tmp_path, tasks="t000,t001,t002,t004", concurrency=2)
    counts = run_sync(runner)
    assert counts["done"] == 4 and counts["errors"] == 0
    recs = {r.task_id: r for r in read_episodes(tmp_path / "results.jsonl")}
    # even tasks ask for a table value (solved in two steps); odd ones are sums it cannot do
    assert recs["t000"].success and recs["t002"].success and recs["t004"].success
    assert not recs["t001"].success
    assert [s.action.name for s in recs["t000"].trajectory.steps] == ["Lookup", "Finish"]
    assert recs["t000"].trajectory.intent is None and recs["t000"].pool_size is None
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["sessions"][-1]["pools"] == {}


def test_env_info_is_read_from_the_unwrapped_env():
    import gymnasium as gym

    import tests.harness.tiny_env  # noqa: F401

    env = gym.make(TINY)
    info: EnvInfo = env_info_of(env)
    assert info["pool_namespace"] == "toolqa" and info["intent_labels"] == ["lookup", "math"]
    assert env_info_of(object()) == {}


def _record() -> EpisodeRecord:
    traj = Trajectory(
        "E-v0", "t1", "q?", "math", [Step(ToolCall("Add", {"a": "1", "b": "2"}), "3")], "3", 1.0, True
    )
    return EpisodeRecord(
        env_id="E-v0",
        policy="p",
        task_id="t1",
        trial=1,
        index=3,
        success=True,
        reward=1.0,
        n_steps=1,
        usage={"calls": 2, "total_tokens": 10, "cost": 0.5},
        timings={"wall_s": 0.1},
        trajectory=traj,
        pool_size=9,
    )


def test_episode_record_round_trips_with_its_schema_version():
    rec = _record()
    d = json.loads(rec.to_json())
    assert d["schema"] == RECORD_SCHEMA and d["pool_size"] == 9 and "observe_error" not in d
    back = EpisodeRecord.from_dict(d)
    assert back == rec
    assert back.key == ("E-v0", "p", "t1", 1) and back.total_tokens == 10 and back.cost == 0.5
    assert back.trajectory.steps[0].action == ToolCall("Add", {"a": "1", "b": "2"})


def test_an_unversioned_record_still_reads(tmp_path):
    old = {  # as the runner wrote records before they carried a schema version
        "env_id": "ToolQA-easy-v0",
        "policy": "seer",
        "task_id": 7,
        "trial": 0,
        "success": 1,
        "usage": {"total_tokens": 5},
        "trajectory": {
            "env_id": "ToolQA-easy-v0",
            "task_id": "7",
            "query": "q",
            "meta": {"domain": "coffee"},
        },
        "future_key": {"kept": True},
    }
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(old) + "\n" + '{"env_id": "torn', encoding="utf-8")
    (rec,) = read_episodes(path)
    assert rec.task_id == "7" and rec.success is True and rec.total_tokens == 5
    assert rec.domain is None and rec.domain_or_meta() == "coffee"
    assert rec.extra == {"future_key": {"kept": True}}
    (as_dict,) = read_records(path)
    assert as_dict["schema"] == RECORD_SCHEMA and as_dict["future_key"] == {"kept": True}


def test_a_newer_record_schema_is_skipped_not_misread(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps({**_record().to_dict(), "schema": RECORD_SCHEMA + 1}) + "\n", encoding="utf-8")
    assert read_episodes(path) == []


HEAVY = ("sqlalchemy", "litellm", "torch", "pandas", "faiss", "sentence_transformers", "matplotlib")


def test_help_imports_nothing_heavy():
    script = (
        "import sys\n"
        "from seer_env.cli import build_parser\n"
        "p = build_parser()\n"
        "for argv in (['--help'], ['run', '--help'], ['taubench', 'run', '--help'], ['pool', 'stats', '--help']):\n"
        "    try:\n"
        "        p.parse_args(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage: seer-env" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "[]"

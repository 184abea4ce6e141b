"""What a run leaves on disk: one `EpisodeRecord` per line of `results.jsonl`, and `manifest.json`.

`EpisodeRecord` is the typed form of a results line, with a schema version (`RECORD_SCHEMA`, written
as `"schema"`). Records written before versioning (no `"schema"` key) read as version 0: the same
fields, every one of them optional. Version 2 added `verdicts` (every scorer's verdict on the final
answer); older records read with `verdicts` None. Report, the paper tables and resume read records
through it.

An episode that ended in an error (harness or LLM, not the policy's doing) is played again when the
run resumes, and its new record is appended: the last record of an episode key is the one that
counts (`read_episodes`; `history=True` gives every line).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seer_env.text import clean_json
from seer_env.types import Trajectory

log = logging.getLogger(__name__)

RESULTS_FILE = "results.jsonl"
MANIFEST_FILE = "manifest.json"
EVENTS_FILE = "events.jsonl"
LOCK_FILE = "run.lock"  # held by the run playing into the folder (`seer_env.runner.claim_out_folder`)
RECORD_SCHEMA = 2

EpisodeKey = tuple[str, str, str, int]  # env, policy, task, trial

_FIELDS = (
    "env_id", "policy", "task_id", "trial", "index", "model", "domain", "success", "reward", "n_steps",
    "error", "usage", "timings", "seed", "trajectory", "pool_size", "observe_error", "verdicts", "gold",
)  # fmt: skip


@dataclass
class EpisodeRecord:
    """One finished episode as the runner records it.

    error: `{"type", "message", "kind"}` when the episode failed (it then counts as unsuccessful).
    usage: LLM tokens, cost and calls (`Usage.to_dict()`). timings: start, end (epoch seconds), wall_s,
    env_s, llm_s, recall_s. index: the episode's place in its policy's sequence (accumulation order).
    pool_size: the policy's pool after this episode, when it has one. observe_error: the pool update
    failed (the episode is kept). verdicts: how the final answer was scored, when the env says
    (ToolQA: `{"scorer", "em", "judge", "judge_reason", "judge_error"}`; `success` is the verdict of
    `scorer`). gold: the task's expected answer as the env states it after the episode
    (`{"answer": ...}` and env-specific keys), for reading transcripts; None when the env does not
    say. extra: keys this version does not know, kept on rewrite.
    """

    env_id: str
    policy: str
    task_id: str
    trial: int = 0
    index: int = 0
    model: str | None = None
    domain: str | None = None
    success: bool = False
    reward: float = 0.0
    n_steps: int = 0
    error: dict[str, Any] | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    trajectory: Trajectory | None = None
    pool_size: int | None = None
    observe_error: str | None = None
    verdicts: dict[str, Any] | None = None
    gold: dict[str, Any] | None = None
    schema: int = RECORD_SCHEMA
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> EpisodeKey:
        return (self.env_id, self.policy, self.task_id, self.trial)

    @property
    def total_tokens(self) -> int:
        return int(self.usage.get("total_tokens") or 0)

    @property
    def cost(self) -> float:
        return float(self.usage.get("cost") or 0.0)

    def verdict(self, scorer: str) -> bool | None:
        """The verdict of one scorer (`em`, `judge`, ...) on the final answer; None when not taken."""
        v = (self.verdicts or {}).get(scorer)
        return None if v is None else bool(v)

    def domain_or_meta(self) -> str | None:
        """The task's domain: the record's own, else the trajectory's meta (older records)."""
        if self.domain:
            return self.domain
        return (self.trajectory.meta.get("domain") if self.trajectory is not None else None) or None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema": self.schema}
        for name in _FIELDS:
            value = getattr(self, name)
            if name in ("pool_size", "observe_error", "verdicts", "gold") and value is None:
                continue  # written only when there is something to say
            out[name] = value.to_dict() if isinstance(value, Trajectory) else value
        out.update(self.extra)
        return out

    def to_json(self) -> str:
        """One line of JSON that any UTF-8 file takes: agent text is escaped where it must be
        (`seer_env.text`); a string still unencodable (an object's `str`) becomes a JSON escape."""
        line = json.dumps(clean_json(self.to_dict()), ensure_ascii=False, default=str)
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            line = line.encode("utf-8", "backslashreplace").decode("utf-8")
        return line

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EpisodeRecord:
        """Read a record of any schema up to `RECORD_SCHEMA` (0: written before versioning)."""
        schema = int(d.get("schema", 0))
        if schema > RECORD_SCHEMA:
            raise ValueError(f"record schema {schema} is newer than this seer-env's {RECORD_SCHEMA}")
        traj = d.get("trajectory")
        return cls(
            env_id=str(d["env_id"]),
            policy=str(d["policy"]),
            task_id=str(d["task_id"]),
            trial=int(d.get("trial") or 0),
            index=int(d.get("index") or 0),
            model=d.get("model"),
            domain=d.get("domain"),
            success=bool(d.get("success")),
            reward=float(d.get("reward") or 0.0),
            n_steps=int(d.get("n_steps") or 0),
            error=d.get("error"),
            usage=dict(d.get("usage") or {}),
            timings=dict(d.get("timings") or {}),
            seed=d.get("seed"),
            trajectory=Trajectory.from_dict(traj) if isinstance(traj, Mapping) else None,
            pool_size=d.get("pool_size"),
            observe_error=d.get("observe_error"),
            verdicts=dict(d["verdicts"]) if isinstance(d.get("verdicts"), Mapping) else None,
            gold=d.get("gold") if isinstance(d.get("gold"), Mapping) else None,
            schema=RECORD_SCHEMA,
            extra={k: v for k, v in d.items() if k not in _FIELDS and k != "schema"},
        )

    @classmethod
    def coerce(cls, record: EpisodeRecord | Mapping[str, Any]) -> EpisodeRecord:
        return record if isinstance(record, EpisodeRecord) else cls.from_dict(record)


def latest_episodes(records: list[EpisodeRecord]) -> list[EpisodeRecord]:
    """The last record of each episode key (a replayed error's new record replaces it), in file order
    of those last records."""
    last = {r.key: i for i, r in enumerate(records)}
    return [r for i, r in enumerate(records) if last[r.key] == i]


def read_episodes(path: str | os.PathLike[str], history: bool = False) -> list[EpisodeRecord]:
    """The records of a results file, the last one of each episode (every line with `history=True`);
    a torn last line (a kill mid-write) is skipped."""
    out: list[EpisodeRecord] = []
    p = Path(path)
    if not p.exists():
        return out
    with p.open("r", encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(EpisodeRecord.from_dict(json.loads(line)))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
                log.warning("%s:%d: unreadable record skipped", p, n)
    return out if history else latest_episodes(out)


def read_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a results file as JSON dicts in the current schema (older records upgraded)."""
    return [r.to_dict() for r in read_episodes(path)]


class ResultsFile:
    """Appends records to `results.jsonl`: one whole line each, flushed (and fsync'd) as it is written."""

    def __init__(self, path: Path, fsync: bool = True):
        self.path = path
        self.fsync = fsync
        # a kill mid-write leaves a torn last line: start on a fresh line
        if path.exists() and path.stat().st_size:
            with path.open("rb") as f:
                f.seek(-1, os.SEEK_END)
                torn = f.read(1) != b"\n"
            if torn:
                with path.open("a", encoding="utf-8") as f:
                    f.write("\n")
        self._file = path.open("a", encoding="utf-8")

    def write(self, record: EpisodeRecord) -> None:
        self._file.write(record.to_json() + "\n")
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def append_event(path: Path, event: dict[str, Any], fsync: bool = True) -> None:
    """One JSON line in the run's events file (batch pool updates)."""
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(event) + "\n")
        f.flush()
        if fsync:
            os.fsync(f.fileno())


def read_events(path: Path) -> list[dict[str, Any]]:
    out = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                ev = json.loads(line)
                if isinstance(ev, dict):
                    out.append(ev)
    return out


# -- manifest ----------------------------------------------------------------------------------------
def package_versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in (
        "seer-env",
        "gymnasium",
        "litellm",
        "numpy",
        "sentence-transformers",
        "faiss-cpu",
        "sqlalchemy",
        "torch",
        "tau-bench",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def git_commit() -> str | None:
    head = Path(__file__).resolve().parents[1] / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            return (head.parent / ref[5:]).read_text().strip()
        return ref
    except OSError:
        return None


def write_manifest(
    path: Path, body: dict[str, Any], status: str, extra: dict[str, Any] | None = None
) -> None:
    """Write `manifest.json` (atomically): `body` plus the list of sessions, this one's status updated.

    A session starts with status "started"; later writes of the same session update it in place.
    """
    old: dict[str, Any] = {}
    if path.exists():
        with contextlib.suppress(OSError, json.JSONDecodeError):
            old = json.loads(path.read_text(encoding="utf-8"))
    sessions = list(old.get("sessions", []))
    session = {"status": status, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **(extra or {})}
    if status == "started" or not sessions:
        sessions.append(session)
    else:
        sessions[-1] = {**sessions[-1], **session}
    manifest = {**body, "versions": package_versions(), "git_commit": git_commit(), "sessions": sessions}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)

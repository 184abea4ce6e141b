"""Shared checks for the hostile-action tests of the ToolQA tools and the action parser.

`HostWatch` snapshots what an attack must not change (the corpus, question and SQLite-copy files,
this process's descendants) and checks it after the attack; `descendants` and `zombies` read /proc.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seer_env.envs.toolqa import corpus
from seer_env.envs.toolqa.sqlworker import KILL_GRACE

LIMIT = 2.0  # the time limits (python, SQL, every other tool) of the env under attack
SLACK = KILL_GRACE + 2.5  # answer within LIMIT + SLACK: kill, restart, a loaded 2-core machine
MAX_OUTPUT_BYTES = 1 << 20  # the env's default result cap


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state letter) of a process, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = text[text.rindex(")") + 2 :].split()  # the command name may hold spaces and ')'
    return int(rest[1]), rest[0]


def descendants(root: int | None = None) -> dict[int, str]:
    """Every process below `root` (default: this one), as pid -> state letter (Z: zombie)."""
    root = os.getpid() if root is None else root
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None:
                children.setdefault(st[0], []).append((int(entry), st[1]))
    out: dict[int, str] = {}
    todo = [root]
    while todo:
        for pid, state in children.get(todo.pop(), []):
            if pid not in out:
                out[pid] = state
                todo.append(pid)
    return out


def file_hashes(paths: list[Path]) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def protected_files(root: Path) -> list[Path]:
    """The corpus and question files under the root, and the SQLite copies the SQL worker opens
    (both kinds: text columns compared as SQLite does, and ignoring case for the MySQL dialect)."""
    files = sorted(p for p in (root / "data").rglob("*") if p.is_file())
    copies = [
        corpus.sqlite_db(root, n, nocase=nocase) for n in corpus.SQL_SCHEMAS for nocase in (False, True)
    ]
    return files + copies


def question_ids(root: Path) -> list[str]:
    """Every qid of the question files: strings that occur nowhere but in those files."""
    out = []
    for p in sorted((root / "data" / "questions").rglob("*.jsonl")):
        for line in p.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line.replace("NaN", "null"))["qid"])
    return out


def sql_worker_pid(env: Any) -> int | None:
    runner = env.unwrapped._toolkit._sql
    return runner.worker_pid if runner is not None else None


@dataclass
class HostWatch:
    """What an attack must leave as it was: files, processes; taken before the attack."""

    root: Path
    hashes: dict[str, str] = field(default_factory=dict)
    procs: dict[int, str] = field(default_factory=dict)

    @classmethod
    def take(cls, root: Path) -> HostWatch:
        return cls(root, file_hashes(protected_files(root)), descendants())

    def check(self, env: Any) -> None:
        """Files byte-identical; no process below this one but those before it and the env's own
        SQL worker; no zombie; this process alive (we are running it)."""
        assert file_hashes(protected_files(self.root)) == self.hashes
        # a killed worker is reaped at once; give the kernel a moment to remove its /proc entry
        for _ in range(50):
            now = descendants()
            extra = set(now) - set(self.procs) - {sql_worker_pid(env)}
            zombies = [pid for pid, state in now.items() if state == "Z"]
            if not extra and not zombies:
                break
            time.sleep(0.05)
        assert not extra, f"processes left over: {sorted(extra)}"
        assert not zombies, f"zombie processes: {zombies}"
        assert sql_worker_pid(env) != os.getpid()


def assert_env_works(env: Any) -> None:
    """A short good episode's tool calls still give the reference answers."""
    obs, *_ = env.step("Calculate[1+1]")
    assert obs == "2"
    obs, *_ = env.step("SQLInterpreter[SELECT Open FROM coffee.coffee_data WHERE Date = '2000-01-03']")
    assert obs == "Open: 122.25", obs
    env.step("LoadDB[coffee]")
    obs, *_ = env.step("FilterDB[Date=2000-01-03]")
    assert obs == "We have successfully filtered the data (1 rows).", obs
    obs, *_ = env.step("GetValue[Open]")
    assert obs == "122.25", obs

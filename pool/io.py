"""JSONL import and export of a pool, and the SEER reference library format.

- Our JSONL: one `Experience.to_dict()` per line (no embeddings; they are recomputed on import, so a
  file moves between embedders). Lines holding a `Trajectory` dict are accepted too.
- An import reads and checks the whole file before it writes, writes into the namespace and split
  its caller names (never those a file asks for, unless told to keep them), and reports each
  skipped record with its line (or entry) number and the reason (`ImportReport`).
- The SEER reference library format (its `library.json`): entries with `id`, `class`, `question`,
  `steps` (strings `"Step n: <thought> <CALL_BEGIN>Tool[params]<CALL_END>"`), `tools`, `parameters`,
  `full_text` (the whole trace with `Result n: ...` lines, the output of its retrieval tools, named
  `Retrieve...`, omitted). Read from a JSON list, a JSON object of entries, or JSONL.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seer_env.pool.render import render_experience
from seer_env.pool.types import PoolFrozenError
from seer_env.text import clean_json
from seer_env.types import Step, ToolCall, Trajectory

log = logging.getLogger(__name__)

_STEP_PREFIX = re.compile(r"^\s*Step\s*\d+\s*:\s*", re.IGNORECASE)
_TRACE_LINE = re.compile(r"^(Step|Result) (\d+): ?", re.MULTILINE)


@dataclass
class ImportReport:
    """What an import did: `added` experiences, and each record it skipped with where and why
    (`problems`: ("line 3", "not JSON: Expecting value"), ...)."""

    added: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return len(self.problems)

    def in_file_order(self, order: list[str]) -> ImportReport:
        """The problems sorted as their records appear in the file (`order`: every `where`)."""
        rank = {where: i for i, where in enumerate(order)}
        self.problems.sort(key=lambda p: rank.get(p[0], len(rank)))
        return self


def _json_records(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, record) for each record of a JSON list, a JSON object of entries, or JSONL; a line that
    is not JSON comes as (where, JSONDecodeError). Text is cleaned as `seer_env.text` says."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    stripped = text.lstrip()
    whole: Any = None
    if stripped.startswith(("[", "{")):
        try:
            whole = json.loads(text)
        except json.JSONDecodeError:
            whole = None  # JSONL (or broken JSON: each line is then reported)
    if isinstance(whole, list):
        yield from ((f"entry {n}", clean_json(r)) for n, r in enumerate(whole, 1))
        return
    if isinstance(whole, dict):
        if "question" in whole or "query" in whole:
            yield "entry 1", clean_json(whole)
        else:
            yield from ((f"entry {key!r}", clean_json(r)) for key, r in whole.items())
        return
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield f"line {n}", clean_json(json.loads(line))
        except json.JSONDecodeError as exc:
            yield f"line {n}", exc


def _check_trajectory(t: Trajectory) -> None:
    """ValueError naming the first field of `t` a pool cannot store as it is."""
    if not isinstance(t.query, str) or not t.query.strip():
        raise ValueError("no question (query) text")
    for name in ("env_id", "task_id", "intent", "answer"):
        value = getattr(t, name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be text, not {type(value).__name__}")
    if not isinstance(t.meta, dict):
        raise ValueError("meta must be an object")
    for i, step in enumerate(t.steps, 1):
        if not isinstance(step.action.name, str) or not isinstance(step.action.arguments, dict):
            raise ValueError(f"step {i}: the action needs a tool name and an arguments object")
        if not isinstance(step.observation, str) or not (
            step.thought is None or isinstance(step.thought, str)
        ):
            raise ValueError(f"step {i}: observation and thought must be text")


def _add_checked(
    memory, items: list[tuple[str, Trajectory, str, str, dict[str, Any]]], report: ImportReport
) -> None:
    """Add (where, trajectory, namespace, split, row facts) items, all already checked, in file order
    (runs of items with the same namespace, split, source and run id go in one batch); those the
    pool does not take are reported with the reason."""
    if items and memory.frozen:
        raise PoolFrozenError(f"the pool at {memory.url} is frozen; it takes no writes")
    batch: list[tuple[str, Trajectory]] = []
    key: tuple[Any, ...] | None = None

    def flush() -> None:
        if batch:
            ns, split, source, run_id = key
            flags = memory.add_many(
                [t for _, t in batch], split=split, source=source, run_id=run_id, namespace=ns
            )
            for (where, _), ok in zip(batch, flags, strict=True):
                if ok:
                    report.added += 1
                else:
                    report.problems.append((where, "already in the pool (or repeated in the file)"))
            batch.clear()

    for where, traj, ns, split, facts in items:
        if not memory.admits(traj, split):
            why = (
                f"split {split!r} is not allowed in this pool"
                if traj.success and float(traj.reward) >= memory.success_threshold
                else "not a success (a pool keeps successful trajectories only)"
            )
            report.problems.append((where, why))
            continue
        this = (ns, split, facts.get("source"), facts.get("run_id"))
        if this != key:
            flush()
            key = this
        batch.append((where, traj))
    flush()


def export_jsonl(memory, path: str | Path, namespace: str | None = None) -> int:
    """Write the experiences (one namespace, or all with "*") as JSONL; returns the count."""
    n = 0
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for exp in memory.experiences(namespace or memory.namespace):
            f.write(json.dumps(exp.to_dict(), ensure_ascii=False, default=str) + "\n")
            n += 1
    return n


def _experience_dict_to_traj(d: dict[str, Any]) -> Trajectory:
    if "env_id" in d and "success" in d:  # a Trajectory dict
        return Trajectory.from_dict(d)
    return Trajectory(
        env_id=d.get("env_id") or d.get("namespace") or "pool",
        task_id=str(d.get("task_id") or d.get("id") or ""),
        query=d["query"],
        intent=d.get("intent"),
        steps=[Step.from_dict(s) for s in d.get("steps", [])],
        answer=d.get("answer"),
        reward=float(d.get("reward", 1.0)),
        success=True,  # only successes are ever stored
        meta=dict(d.get("meta") or {}),
    )


def import_jsonl(
    memory,
    path: str | Path,
    *,
    namespace: str | None = None,
    split: str | None = None,
    keep_namespace: bool = False,
    keep_split: bool = False,
    source: str = "import",
) -> ImportReport:
    """Add the experiences of a JSONL file (our export, or Trajectory lines).

    The whole file is read and checked before anything is written. Every experience goes into
    `namespace` (default: the memory's) and `split` (default: train): what a record says about its
    own namespace or split counts only with `keep_namespace` / `keep_split`, so a file cannot place
    experiences in another namespace or in a test split unless the caller asks. Lines that are not
    JSON, not an experience, not a success or already in the pool are skipped and reported.
    """
    report = ImportReport()
    ns_default, split_default = namespace or memory.namespace, split or "train"
    items, order = [], []
    for where, d in _json_records(Path(path)):
        order.append(where)
        if isinstance(d, json.JSONDecodeError):
            report.problems.append((where, f"not JSON: {d.msg}"))
            continue
        try:
            if not isinstance(d, dict):
                raise ValueError(f"a JSON {type(d).__name__}, not an object")
            traj = _experience_dict_to_traj(d)
            _check_trajectory(traj)
            ns = d.get("namespace") if keep_namespace and d.get("namespace") else ns_default
            sp = d.get("split") if keep_split and d.get("split") else split_default
            if not isinstance(ns, str) or not isinstance(sp, str):
                raise ValueError("namespace and split must be text")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = f"no {exc.args[0]!r} field" if isinstance(exc, KeyError) else str(exc)
            report.problems.append((where, f"not an experience: {reason}"))
            continue
        facts = {"source": str(d.get("source") or source), "run_id": d.get("run_id")}
        if not isinstance(facts["run_id"], (str, type(None))):
            facts["run_id"] = str(facts["run_id"])
        items.append((where, traj, ns, sp, facts))
    _add_checked(memory, items, report)
    return report.in_file_order(order)


def _parse_reference_call(text: str) -> tuple[str | None, ToolCall | None]:
    """Split a reference step string into (thought, call); None call when it has none."""
    body = _STEP_PREFIX.sub("", text, count=1)
    start = body.find("<CALL_BEGIN>")
    if start < 0:
        return body.strip() or None, None
    thought = body[:start].strip() or None
    inner = body[start + len("<CALL_BEGIN>") :]
    end = inner.find("<CALL_END>")
    if end >= 0:
        inner = inner[:end]
    lb, rb = inner.find("["), inner.rfind("]")
    if lb < 0 or rb < lb:
        return thought, ToolCall(inner.strip(), {}, raw=inner)
    name = inner[:lb].strip()
    return thought, ToolCall(name, {"input": inner[lb + 1 : rb]}, raw=inner)


def _trace_results(full_text: str) -> dict[int, str]:
    """`Result n: ...` blocks of a reference trace (multi-line results kept whole)."""
    marks = list(_TRACE_LINE.finditer(full_text or ""))
    out = {}
    for i, m in enumerate(marks):
        if m.group(1) != "Result":
            continue
        end = marks[i + 1].start() if i + 1 < len(marks) else len(full_text)
        out[int(m.group(2))] = full_text[m.end() : end].rstrip("\n")
    return out


def reference_entry_to_trajectory(entry: dict[str, Any]) -> Trajectory:
    """One entry of the reference library (id, class, question, steps, tools, parameters, full_text)."""
    results = _trace_results(entry.get("full_text", ""))
    steps: list[Step] = []
    answer = None
    tools = list(entry.get("tools") or [])
    params = list(entry.get("parameters") or [])
    for i, s in enumerate(entry.get("steps") or [], 1):
        thought, call = _parse_reference_call(str(s))
        if call is None:
            name = tools[i - 1] if i - 1 < len(tools) else "None"
            call = ToolCall(name, {"input": ""})
        steps.append(Step(call, results.get(i, ""), True, thought))
        if call.name == "Finish":
            answer = call.arguments.get("input")
    if answer is None and params:
        answer = str(params[-1])
    return Trajectory(
        env_id="ToolQA",
        task_id=str(entry.get("id", "")),
        query=entry["question"],
        intent=entry.get("class"),
        steps=steps,
        answer=answer,
        reward=1.0,
        success=True,
        meta={"reference_id": entry.get("id"), "full_text": entry.get("full_text")},
    )


def import_reference(
    memory,
    path: str | Path,
    *,
    namespace: str | None = None,
    split: str | None = None,
    source: str = "reference",
) -> ImportReport:
    """Add the entries of a SEER reference library file into `namespace` (default: the memory's) and
    `split` (default: train). The whole file is checked before anything is written; entries that
    cannot be read are skipped and reported."""
    report = ImportReport()
    ns, sp = namespace or memory.namespace, split or "train"
    items, order = [], []
    for where, entry in _json_records(Path(path)):
        order.append(where)
        if isinstance(entry, json.JSONDecodeError):
            report.problems.append((where, f"not JSON: {entry.msg}"))
            continue
        try:
            if not isinstance(entry, dict):
                raise ValueError(f"a JSON {type(entry).__name__}, not an object")
            traj = reference_entry_to_trajectory(entry)
            _check_trajectory(traj)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = f"no {exc.args[0]!r} field" if isinstance(exc, KeyError) else str(exc)
            report.problems.append((where, f"not a reference entry: {reason}"))
            continue
        items.append((where, traj, ns, sp, {"source": source, "run_id": None}))
    _add_checked(memory, items, report)
    return report.in_file_order(order)


def _reference_omits(tool_names: list[str]) -> set[str]:
    """The tools whose output a reference trace omits: its retrieval tools, all named `Retrieve...`."""
    return {n for n in tool_names if n.startswith("Retrieve")}


def export_reference(memory, path: str | Path, namespace: str | None = None) -> int:
    """Write the pool in the reference library format (a JSON list). Returns the count."""
    entries = []
    for n, exp in enumerate(memory.experiences(namespace or memory.namespace), 1):
        entries.append(
            {
                "id": f"id_{n}",
                "class": exp.intent,
                "question": exp.query,
                "steps": [
                    f"Step {i}: "
                    + (f"{s.thought.strip()} " if s.thought else "")
                    + f"<CALL_BEGIN>{s.action.text()}<CALL_END>"
                    for i, s in enumerate(exp.steps, 1)
                ],
                "tools": list(exp.tool_chain),
                "parameters": [", ".join(str(v) for v in s.action.arguments.values()) for s in exp.steps],
                "full_text": render_experience(exp, _reference_omits(exp.tool_chain)),
            }
        )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(entries, ensure_ascii=False, indent=1), encoding="utf-8")
    return len(entries)

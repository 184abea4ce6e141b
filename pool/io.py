"""JSONL import and export of a pool, and the SEER reference library format.

- Our JSONL: one `Experience.to_dict()` per line (no embeddings; they are recomputed on import, so a
  file moves between embedders). Lines holding a `Trajectory` dict are accepted too.
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
from pathlib import Path
from typing import Any

from seer_env.pool.render import render_experience
from seer_env.types import Step, ToolCall, Trajectory

log = logging.getLogger(__name__)

_STEP_PREFIX = re.compile(r"^\s*Step\s*\d+\s*:\s*", re.IGNORECASE)
_TRACE_LINE = re.compile(r"^(Step|Result) (\d+): ?", re.MULTILINE)


def _json_records(path: Path) -> Iterator[dict[str, Any]]:
    text = Path(path).read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        yield from json.loads(text)
        return
    if stripped.startswith("{"):
        try:
            whole = json.loads(text)
        except json.JSONDecodeError:
            whole = None  # JSONL
        if isinstance(whole, dict):
            if "question" in whole or "query" in whole:
                yield whole
            else:
                yield from whole.values()
            return
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            log.warning("%s:%d: skipping a line that is not JSON (%s)", path, n, exc.msg)


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
    memory, path: str | Path, *, split: str | None = None, source: str = "import"
) -> tuple[int, int]:
    """Add the experiences of a JSONL file (our export, or Trajectory lines).

    Each keeps its own split (and namespace) unless `split` is given. Returns (added, skipped).
    """
    added = skipped = 0
    for d in _json_records(Path(path)):
        try:
            traj = _experience_dict_to_traj(d)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("skipping a record that is not an experience: %s", exc)
            skipped += 1
            continue
        ok = memory.add(
            traj,
            split=split or d.get("split") or "train",
            source=d.get("source") or source,
            run_id=d.get("run_id"),
            namespace=d.get("namespace") or memory.namespace,
        )
        added += ok
        skipped += not ok
    return added, skipped


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
    memory, path: str | Path, *, split: str = "train", source: str = "reference"
) -> tuple[int, int]:
    """Add the entries of a SEER reference library file. Returns (added, skipped)."""
    added = skipped = 0
    for entry in _json_records(Path(path)):
        try:
            traj = reference_entry_to_trajectory(entry)
        except (KeyError, TypeError) as exc:
            log.warning("skipping a reference entry without a question: %s", exc)
            skipped += 1
            continue
        ok = memory.add(traj, split=split, source=source)
        added += ok
        skipped += not ok
    return added, skipped


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

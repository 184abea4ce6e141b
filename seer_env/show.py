"""`seer-env show RUN`: an episode's transcript, read from the run's `results.jsonl`.

The question, then each step's thought, action and observation, the final answer, the gold answer
(when the env states it) and the verdict; an episode that ended in an error shows the error. Filters
(`--task`, `--policy`, `--env`, `--trial`, `--errors`) pick the episode; when several match, the first
is shown and the others are listed (`--all` shows them all).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seer_env.records import RESULTS_FILE, EpisodeRecord, read_episodes

DEFAULT_MAX_CHARS = 2000


def verdict(record: EpisodeRecord) -> tuple[str, str]:
    """(short label, one-line detail) of how an episode ended.

    Labels: error (a harness or LLM failure, not a result), correct, wrong answer, step cap (the env's
    or the runner's), stopped (the policy ended it).
    """
    if record.error:
        kind = record.error.get("kind") or record.error.get("type") or "error"
        return "error", f"{kind}: {first_line(str(record.error.get('message') or ''))}"
    if record.success:
        return "correct", "the env judged the answer correct"
    meta = record.trajectory.meta if record.trajectory is not None else {}
    if meta.get("truncated"):
        return "step cap", "the env's step cap ended the episode"
    halted = meta.get("halted")
    if halted:
        if "step cap" in str(halted):
            return "step cap", str(halted)
        return "stopped", str(halted)
    if meta.get("terminated"):
        return "wrong answer", "the env judged the answer wrong"
    return "failed", "the episode ended without success"


def first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def cut(text: str, limit: int) -> str:
    if limit <= 0 or len(text) <= limit:
        return text
    return text[:limit] + f" ...[{len(text) - limit} more characters]"


def action_text(action: Any) -> str:
    """An action as the policy wrote it: its raw text when it has one, else `Tool[args]`."""
    if getattr(action, "raw", None) and not getattr(action, "name", ""):
        return str(action.raw)
    try:
        return action.text()
    except Exception:
        return str(getattr(action, "raw", None) or action)


def select(
    records: Sequence[EpisodeRecord],
    task: str | None = None,
    policy: str | None = None,
    env: str | None = None,
    trial: int | None = None,
    errors: bool = False,
) -> list[EpisodeRecord]:
    """The records that match every filter given (task ids compare as text)."""
    out = []
    for r in records:
        if task is not None and r.task_id != str(task):
            continue
        if policy is not None and r.policy != policy:
            continue
        if env is not None and r.env_id != env:
            continue
        if trial is not None and r.trial != trial:
            continue
        if errors and not r.error:
            continue
        out.append(r)
    return out


def transcript(record: EpisodeRecord, max_chars: int = DEFAULT_MAX_CHARS) -> Any:
    """The episode as a rich renderable."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    label, detail = verdict(record)
    colour = {"correct": "green", "error": "red"}.get(label, "yellow")
    head = Text()
    head.append(f"{record.env_id}  ", style="bold")
    head.append(f"policy {record.policy}  task {record.task_id}  trial {record.trial}")
    if record.model:
        head.append(f"  model {record.model}")
    if record.domain:
        head.append(f"  domain {record.domain}")
    parts: list[Any] = [head]
    traj = record.trajectory
    if traj is not None and traj.query:
        parts.append(Text.assemble(("Question: ", "bold"), cut(traj.query, max_chars)))
    for i, step in enumerate(traj.steps if traj is not None else [], 1):
        block = Text()
        block.append(f"Step {i}\n", style="bold underline")
        if step.thought:
            block.append("Thought: ", style="bold magenta")
            block.append(cut(step.thought.strip(), max_chars) + "\n")
        block.append("Action: ", style="bold cyan")
        block.append(cut(action_text(step.action), max_chars) + "\n")
        block.append("Observation: ", style="bold" if step.ok else "bold red")
        block.append(cut(str(step.observation), max_chars))
        parts.append(block)
    answer = traj.answer if traj is not None else None
    parts.append(Text.assemble(("Final answer: ", "bold"), "-" if answer is None else str(answer)))
    gold = (record.gold or {}).get("answer") if record.gold else None
    parts.append(Text.assemble(("Gold: ", "bold"), "(not recorded)" if gold is None else str(gold)))
    parts.append(Text.assemble(("Verdict: ", "bold"), (label, f"bold {colour}"), f"  ({detail})"))
    if record.error:
        parts.append(
            Text.assemble(
                ("Error: ", "bold red"),
                f"{record.error.get('type')} [{record.error.get('kind') or '-'}]: ",
                cut(str(record.error.get("message") or ""), max_chars),
            )
        )
    usage = record.usage or {}
    if usage.get("calls"):
        parts.append(
            Text(
                f"LLM: {usage.get('calls')} calls, {usage.get('total_tokens', 0)} tokens, "
                f"${float(usage.get('cost') or 0):.4f}",
                style="dim",
            )
        )
    return Panel(Group(*parts), title=f"[{colour}]{label}[/]", title_align="left")


def show_command(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.text import Text

    console = Console()
    err = Console(stderr=True)
    path = Path(args.run) / RESULTS_FILE
    if not path.exists():
        err.print(f"error: no {RESULTS_FILE} in {args.run}", highlight=False)
        return 1
    records = read_episodes(path)
    found = select(records, args.task, args.policy, args.env, args.trial, args.errors)
    if not found:
        err.print("no episode matches; the run has:", highlight=False)
        for r in records[:20]:
            err.print(Text(f"  --env {r.env_id} --policy {r.policy} --task {r.task_id} --trial {r.trial}"))
        return 1
    chosen = found if args.all else found[:1]
    for r in chosen:
        console.print(transcript(r, args.max_chars))
    if len(found) > len(chosen):
        err.print(
            f"{len(found) - len(chosen)} more episodes match (--all shows them; narrow with "
            "--task, --policy, --env, --trial):",
            highlight=False,
        )
        for r in found[1:11]:
            err.print(Text(f"  --env {r.env_id} --policy {r.policy} --task {r.task_id} --trial {r.trial}"))
    return 0


def add_parser(subparsers: Any) -> None:
    """`seer-env show RUN [--task ID] [--policy P] [--env E] [--trial N] [--errors] [--all]`."""
    p = subparsers.add_parser(
        "show",
        help="print an episode's transcript (question, thoughts, actions, observations, answer, verdict)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("run", help="a run directory (with results.jsonl)")
    p.add_argument("--task", default=None, help="the task id (default: any)")
    p.add_argument("--policy", default=None, help="the policy label (default: any)")
    p.add_argument("--env", default=None, help="the env id or label (default: any)")
    p.add_argument("--trial", type=int, default=None, help="the trial (default: any)")
    p.add_argument("--errors", action="store_true", help="only episodes that ended in an error")
    p.add_argument("--all", action="store_true", help="every matching episode, not only the first")
    p.add_argument("--max-chars", type=int, default=DEFAULT_MAX_CHARS, help="cut longer texts (0: never)")
    p.set_defaults(func=show_command)

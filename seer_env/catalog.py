"""`seer-env envs`: the registered environments, how many tasks each has and what it needs.

Each env family answers through its describer (`seer_env.registration.DESCRIBERS`, named by string
so the core imports no env): a cheap look at data folders and installed packages, building no env.
"""

from __future__ import annotations

import argparse
import importlib
import json
from typing import Any

from seer_env.registration import DESCRIBERS, ENVS, MAX_EPISODE_STEPS


def describe(env_id: str, kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """{"id", "tasks" (None when unknown until built), "max_episode_steps", "ready", "needs", "status"}."""
    out: dict[str, Any] = {"id": env_id, "max_episode_steps": MAX_EPISODE_STEPS.get(env_id)}
    target = DESCRIBERS.get(env_id)
    if target is None:
        return {**out, "tasks": None, "ready": None, "needs": "?", "status": "no describer"}
    module, _, fn = target.partition(":")
    try:
        found = getattr(importlib.import_module(module), fn)(dict(ENVS[env_id][1]), dict(kwargs or {}))
    except Exception as exc:  # a listing must list: say what went wrong in this row
        found = {"tasks": None, "ready": False, "needs": "?", "status": f"{type(exc).__name__}: {exc}"}
    return {**out, **found}


def envs_command(args: argparse.Namespace) -> int:
    rows = [describe(env_id, json.loads(args.env_kwargs) if args.env_kwargs else None) for env_id in ENVS]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="seer-env environments")
    for col, justify in (("id", "left"), ("tasks", "right"), ("steps", "right"), ("ready", "center")):
        table.add_column(col, justify=justify, no_wrap=col == "id")
    table.add_column("needs", overflow="fold")
    table.add_column("status", overflow="fold")
    for r in rows:
        ready = {True: "[green]yes[/]", False: "[red]no[/]"}.get(r["ready"], "?")
        table.add_row(
            r["id"],
            "?" if r["tasks"] is None else str(r["tasks"]),
            str(r["max_episode_steps"] or "-"),
            ready,
            Text(str(r["needs"])),
            Text(str(r["status"])),
        )
    console = Console()
    console.print(table)
    for hint in dict.fromkeys(r["hint"] for r in rows if r.get("hint") and not r["ready"]):
        console.print(Text(hint), soft_wrap=True)
    return 0


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "envs",
        help="list the registered environments, their task counts and what they need",
        description="List the registered environments, their task counts and what each needs to run "
        "(data, packages). Nothing is built: counts come from question files and task lists.",
    )
    p.add_argument(
        "--env-kwargs",
        default=None,
        help='JSON object of env arguments to describe with, e.g. {"data_dir": "/data/ToolQA"} (default: none)',
    )
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(func=envs_command)

"""`seer-env run`: play policies (by name) on envs and record every episode; `--protocol` runs a recipe.

Heavy imports (litellm, the pool) happen inside the functions, so `seer-env --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from seer_env.agents.launch import PROTOCOLS, add_run_arguments

DEFAULT_POLICY = "random"
DEFAULT_ACCUMULATE = "online"


def run_command(args: argparse.Namespace) -> int:
    from rich.console import Console

    from seer_env.agents import guards
    from seer_env.agents.launch import (
        build_judge,
        claim_out,
        judge_env_kwargs,
        parse_env_kwargs,
        play,
        policy_entries_from_args,
    )
    from seer_env.runner import gym_id_of

    console = Console(stderr=True)
    if args.protocol is not None:
        import importlib

        return importlib.import_module(PROTOCOLS[args.protocol]).run_protocol_cli(args)
    if not args.env:
        console.print("[red]--env is required[/red]")
        return 2
    out = Path(args.out)
    envs = [e.strip() for e in args.env.split(",") if e.strip()]
    policies = [p.strip() for p in (args.policy or DEFAULT_POLICY).split(",") if p.strip()]
    accumulate = args.accumulate or DEFAULT_ACCUMULATE
    try:
        env_kwargs = parse_env_kwargs(args.env_kwargs)
    except ValueError as exc:
        console.print(f"[red]error[/red]: {exc}", highlight=False, soft_wrap=True)
        return 2
    try:
        policy_kwargs = json.loads(args.policy_kwargs) if args.policy_kwargs else {}
        if not isinstance(policy_kwargs, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        console.print(f"[red]error[/red]: --policy-kwargs must be a JSON object ({exc})")
        return guards.EXIT_USAGE
    from seer_env.agents.plugins import PolicyNotFound, resolve_policy

    for name in policies:
        try:
            resolve_policy(name)
        except PolicyNotFound as exc:
            console.print(f"[red]error[/red]: {exc}", highlight=False)
            return guards.EXIT_USAGE
    if args.scorer == "judge" and not all(gym_id_of(e).startswith("ToolQA") for e in envs):
        console.print("[red]--scorer judge scores ToolQA answers; other envs have their own reward[/red]")
        return 2
    lock = claim_out(out, console)
    if lock is None:
        return 2
    with lock:
        entries = policy_entries_from_args(
            args, policies, out=out, accumulate=accumulate, policy_kwargs=policy_kwargs
        )
        judge = build_judge(args)
        env_kwargs.update(judge_env_kwargs(judge))
        config = {k: v for k, v in vars(args).items() if k not in ("func", "api_key", "user_api_key")}
        config.update(policy=",".join(policies), accumulate=accumulate, scorer=args.scorer or "em")
        if judge is not None:
            config["judge"] = judge.describe()
        counts = play(
            args,
            envs,
            entries,
            out,
            accumulate=accumulate,
            env_kwargs=_env_kwargs(envs, env_kwargs, guards.user_env_kwargs(args)),
            config=config,
            shuffle=args.shuffle,
            judge=judge,
            out_lock=lock,
        )
        if isinstance(counts, int):
            return counts
        replayed = f", {counts['replayed']} earlier errors to play again" if counts.get("replayed") else ""
        console.print(
            f"{counts['done']} episodes played ({counts['skipped']} already recorded{replayed}), "
            f"{counts['success']} succeeded, {counts['errors']} errors; results in {out / 'results.jsonl'}"
        )
        return guards.finish(counts, out, console)


def _env_kwargs(envs: list[str], common: dict, user: dict) -> dict[str, dict] | None:
    """kwargs by env label: `common` for every env, plus the --user-* options for the τ-bench ones."""
    from seer_env.agents.guards import TAU_ENV_PREFIX
    from seer_env.runner import gym_id_of

    out: dict[str, dict] = {"*": dict(common)} if common else {}
    if user:
        for env in envs:
            if gym_id_of(env).startswith(TAU_ENV_PREFIX):
                out[env] = {**common, **user}
    return out or None


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from seer_env.agents.guards import EXIT_CODES_HELP

    run = subparsers.add_parser(
        "run",
        help="play policies on envs and record every episode",
        description="Play policies on envs and record every episode in OUT/results.jsonl.",
        epilog=EXIT_CODES_HELP,
    )
    add_run_arguments(run)
    run.set_defaults(func=run_command)

"""`seer-env taubench run`: SEER on τ-bench through τ-bench's own runner.

    seer-env taubench run --env TauBench-retail-v0 --model gpt-4o-mini --model-provider openai \
        --user-model gpt-4o --user-model-provider openai --task-split test --trials 3 --out results

Options follow `seer-env run`'s names (`--env`, `--trials`, `--concurrency`, `--out`, `--max-steps`)
with τ-bench's `run.py` defaults; τ-bench's own spellings (`--env retail`, `--num-trials`,
`--max-concurrency`, `--log-dir`, `--max-num-steps`) are accepted too. SEER's options (pool, k,
strategy, ...) follow. The user strategy also takes the offline `scripted` and `replay` simulators
(`--user-data` gives their data).
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from seer_env.pool.types import STRATEGIES

log = logging.getLogger(__name__)

USER_STRATEGIES = ("llm", "react", "verify", "reflection", "human", "scripted", "replay")
TAU_ENVS = ("retail", "airline")


def tau_env_name(text: str) -> str:
    """`retail`, `airline`, or the Gymnasium id `TauBench-retail-v0` / `TauBench-airline-v0`."""
    name = text.strip()
    if name.startswith("TauBench-") and name.endswith("-v0"):
        name = name[len("TauBench-") : -len("-v0")]
    if name not in TAU_ENVS:
        raise argparse.ArgumentTypeError(
            f"unknown τ-bench env {text!r}: one of {', '.join(TAU_ENVS)} or TauBench-<name>-v0"
        )
    return name


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("taubench", help="run SEER on τ-bench through τ-bench's own runner")
    sub = p.add_subparsers(dest="taubench_command", metavar="COMMAND")
    r = sub.add_parser("run", help="run SEER as a τ-bench agent; writes τ-bench's results file")
    t = r.add_argument_group("τ-bench (defaults as its run.py)")
    t.add_argument(
        "--env",
        type=tau_env_name,
        default="retail",
        help="TauBench-retail-v0 or TauBench-airline-v0 (or retail, airline)",
    )
    t.add_argument("--model", required=True, help="the agent's model (litellm name)")
    t.add_argument(
        "--model-provider", default=None, help="litellm provider (default: from --model, or openai)"
    )
    t.add_argument(
        "--user-model", default="gpt-4o", help="the simulated user's model (litellm name, e.g. openai/gpt-4o)"
    )
    t.add_argument(
        "--user-model-provider",
        default=None,
        help="litellm provider of the user model (default: from --user-model, or openai)",
    )
    t.add_argument(
        "--user-api-base",
        default=None,
        help="OpenAI-compatible endpoint for the user model, e.g. a local server (default: the provider's)",
    )
    t.add_argument(
        "--user-api-key", default=None, help="API key for --user-api-base (default: the provider's variable)"
    )
    t.add_argument(
        "--user-strategy",
        choices=USER_STRATEGIES,
        default="llm",
        help="the simulated user: τ-bench's (llm, react, verify, reflection, human) or offline (scripted, replay)",
    )
    t.add_argument(
        "--user-data",
        default=None,
        help="scripted: JSON {task index: [messages]}; replay: results file (default: none)",
    )
    t.add_argument(
        "--task-split", choices=("train", "test", "dev"), default="test", help="τ-bench's task split"
    )
    t.add_argument(
        "--task-ids",
        type=int,
        nargs="+",
        default=None,
        help="play only these task indices (default: the --start-index/--end-index range)",
    )
    t.add_argument("--start-index", type=int, default=0, help="first task index played")
    t.add_argument("--end-index", type=int, default=-1, help="task index to stop before (-1: the last)")
    t.add_argument(
        "--trials",
        "--num-trials",
        dest="trials",
        type=int,
        default=1,
        help="trials per task (pass^k needs k)",
    )
    t.add_argument(
        "--concurrency",
        "--max-concurrency",
        dest="concurrency",
        type=int,
        default=1,
        help="conversations played at once",
    )
    t.add_argument("--seed", type=int, default=10, help="τ-bench's random seed (task order with --shuffle)")
    t.add_argument("--shuffle", type=int, default=0, help="1: play the tasks in a seeded random order")
    t.add_argument("--temperature", type=float, default=0.0, help="the agent model's sampling temperature")
    t.add_argument(
        "--out", "--log-dir", dest="out", default="results", help="output directory (τ-bench's results file)"
    )
    t.add_argument(
        "--max-steps",
        "--max-num-steps",
        dest="max_steps",
        type=int,
        default=30,
        help="model replies per conversation",
    )
    s = r.add_argument_group("SEER")
    s.add_argument(
        "--pool", default=None, help="pool: SQLite path or SQLAlchemy URL (default OUT/seer-pool-ENV.sqlite)"
    )
    s.add_argument(
        "--embedder",
        default=None,
        help="sentence-transformers model for a new pool (default: the packaged all-MiniLM-L6-v2)",
    )
    s.add_argument("--no-recall", action="store_true", help="no pool: the plain tool-calling agent")
    s.add_argument("-k", "--k", dest="k", type=int, default=4, help="conversations recalled")
    s.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="hybrid",
        help="recall by the request (goal), the conversation so far (process), or both",
    )
    s.add_argument(
        "--min-similarity",
        type=float,
        default=None,
        help="recall nothing below this cosine similarity (default: no floor)",
    )
    s.add_argument(
        "--accumulate-splits",
        default="train",
        help="splits whose successes enter the pool (comma separated; 'any')",
    )
    s.add_argument(
        "--online",
        action="store_true",
        help="accumulate from the split being evaluated (--accumulate-splits any): SEER's continual setting",
    )
    s.add_argument("--no-accumulate", action="store_true", help="never add to the pool")
    s.add_argument("--no-predict-intent", action="store_true", help="no intent prediction call")
    s.add_argument(
        "--write-tools",
        default=None,
        help="state-changing tools that make up intents, comma separated (default: found by their names)",
    )
    s.add_argument(
        "--api-base",
        default=None,
        help="OpenAI-compatible endpoint for the agent's model (default: the provider's)",
    )
    r.add_argument(
        "--no-preflight",
        action="store_true",
        help="skip the check, before the first conversation, that the agent's and the user's models have "
        "credentials and answer one tiny call",
    )
    r.set_defaults(func=run_command)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _csv(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [x.strip() for x in text.split(",") if x.strip()]


def run_command(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from seer_env.agents.taubench.runner import TauRunOptions, run_tau
    from seer_env.envs.taubench import TauBenchNotInstalled, require_tau_bench

    console = Console(stderr=True)
    splits = ["any"] if args.online else _csv(args.accumulate_splits)
    opts = TauRunOptions(
        model=args.model,
        env=args.env,
        model_provider=args.model_provider,
        user_model=args.user_model,
        user_model_provider=args.user_model_provider,
        user_api_base=args.user_api_base,
        user_api_key=args.user_api_key,
        user_strategy=args.user_strategy,
        user_data=args.user_data,
        task_split=args.task_split,
        task_ids=args.task_ids,
        start_index=args.start_index,
        end_index=args.end_index,
        num_trials=args.trials,
        max_concurrency=args.concurrency,
        seed=args.seed,
        shuffle=args.shuffle,
        temperature=args.temperature,
        log_dir=args.out,
        pool=args.pool,
        embedder=args.embedder,
        recall=not args.no_recall,
        k=args.k,
        strategy=args.strategy,
        min_similarity=args.min_similarity,
        accumulate_splits=None if splits == ["any"] else splits,
        accumulate=not args.no_accumulate,
        predict_intent=not args.no_predict_intent,
        write_tools=_csv(args.write_tools),
        max_num_steps=args.max_steps,
        api_base=args.api_base,
    )
    try:
        require_tau_bench("tau_bench")
    except TauBenchNotInstalled as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
    if not args.no_preflight:
        problems = _preflight(opts)
        if problems:
            for line in problems:
                console.print(f"[red]preflight[/red]: {line}", highlight=False, soft_wrap=True)
            console.print("no conversation was played (skip this check with --no-preflight)")
            return 3
    try:
        out = run_tau(opts)
    except (TauBenchNotInstalled, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
    table = Table(title=f"SEER on τ-bench {args.env}/{args.task_split}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("episodes", str(len(out.results)))
    table.add_row("average reward", f"{out.average_reward:.4f}")
    for k, v in out.pass_hat_k.items():
        table.add_row(f"pass^{k}", f"{v:.4f}")
    if out.pool_size is not None:
        table.add_row("pool size", str(out.pool_size))
        table.add_row("added this run", str(out.added_to_pool))
    Console().print(table)
    console.print(f"results (τ-bench format): {out.results_path}")
    return 0


def _preflight(opts: Any) -> list[str]:
    """The agent's model and, unless the user is offline, the LLM user's: `seer_env.preflight`."""
    from seer_env.agents.guards import LLM_USER_STRATEGIES, split_provider
    from seer_env.preflight import ModelTarget, preflight

    def name(model: str, provider: str | None) -> str:
        if provider:
            return model if model.startswith(f"{provider}/") else f"{provider}/{model}"
        return model if split_provider(model)[0] else f"openai/{model}"  # τ-bench's default provider

    targets = [ModelTarget(name(opts.model, opts.model_provider), "agent", opts.api_base)]
    if opts.user_strategy in LLM_USER_STRATEGIES:
        user = name(opts.user_model, opts.user_model_provider)
        targets.append(ModelTarget(user, "τ-bench user", opts.user_api_base, opts.user_api_key))
    return preflight(targets)

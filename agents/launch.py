"""Launching runs: policies built by name for the runner, the run options, the progress bar.

`seer-env run` (`seer_env.agents.cli`) and the paper protocol (`seer_env.agents.paper`) both use it.
Heavy imports (litellm, the pool) happen inside the functions, so `seer-env --help` stays fast.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seer_env.agents.memory import SharedPools, open_memory
from seer_env.pool.types import STRATEGIES
from seer_env.runner import SAFETY_STEP_CAP

log = logging.getLogger(__name__)

# --protocol NAME -> the module whose run_protocol_cli(args) plays it
PROTOCOLS = {"seer-toolqa": "seer_env.agents.paper"}


def _pool_path(pool: str | None, out: Path, label: str, n_accumulating: int) -> str:
    """Where an accumulating policy's pool lives: `--pool` (one per policy when several accumulate)."""
    if pool is None:
        return str(out / f"pool-{label}.sqlite")
    if "://" in pool:
        if n_accumulating > 1:
            raise SystemExit("--pool as a database URL serves one accumulating policy; run them separately")
        return pool
    if n_accumulating > 1:
        p = Path(pool)
        return str(p.with_name(f"{p.stem}-{label}{p.suffix or '.sqlite'}"))
    return pool


@dataclass
class _RunPolicies:
    """What the policies of one run share: the LLM client, the options, one embedder for all pools."""

    client: Any
    seer_options: dict[str, Any]
    react_options: dict[str, Any]
    accumulate: bool
    run_id: str | None
    embedder: str | None
    _embedder: Any = None

    def embedder_once(self) -> Any:
        """The run's one embedder (loading a model takes seconds), made on first use."""
        if self._embedder is None:
            from seer_env.embedding import as_embedder

            self._embedder = as_embedder(self.embedder)
        return self._embedder

    def build(self, name: str, cls: type, pools: SharedPools) -> Any:
        """A new instance of the policy called `name`."""
        if name in ("random", "oracle"):
            return cls()
        if name == "react":
            return cls(self.client, **{k: v for k, v in self.react_options.items() if v is not None})
        kw = {k: v for k, v in self.seer_options.items() if v is not None}
        if name == "fewshot":
            kw = {k: v for k, v in kw.items() if k not in ("strategy", "accumulate")}
            return cls(self.client, **kw)
        kw["accumulate"] = self.accumulate and kw.get("accumulate", True)
        kw["run_id"] = self.run_id
        if name == "fewshot-random":
            kw.pop("strategy", None)
        return cls(self.client, memory_for=pools, **kw)


def build_policy_entries(
    policies: list[str],
    *,
    out: Path,
    model: str | None = None,
    api_base: str | None = None,
    api_key: str | None = None,
    pool: str | None = None,
    accumulate: str = "online",
    llm_options: dict[str, Any] | None = None,
    seer_options: dict[str, Any] | None = None,
    react_options: dict[str, Any] | None = None,
    embedder: str | None = None,
    run_id: str | None = None,
) -> list[Any]:
    """`PolicyEntry`s for policy names; LLM policies share one client, pool policies one pool each
    (a file per policy, a memory per namespace in it: the env names the namespace)."""
    from seer_env.agents import LLM_POLICIES, POOL_POLICIES, policy_class
    from seer_env.runner import PolicyEntry

    client = None
    if any(p in LLM_POLICIES for p in policies):
        if not model:
            raise SystemExit("LLM policies (react, fewshot, fewshot-random, seer, seer-tau) need --model")
        from seer_env.llm import LLMClient, preload

        preload()
        client = LLMClient(model, api_base=api_base, api_key=api_key, **dict(llm_options or {}))
    seer_options, react_options = dict(seer_options or {}), dict(react_options or {})
    run = _RunPolicies(client, seer_options, react_options, accumulate != "none", run_id, embedder)
    n_pooled = sum(p in POOL_POLICIES for p in policies)
    entries = []
    for name in policies:
        cls = policy_class(name)
        path = _pool_path(pool, out, name, n_pooled) if name in POOL_POLICIES else None
        pools = SharedPools(lambda ns, _path=path: open_memory(_path, ns, embedder=run.embedder_once()))
        describe: dict[str, Any] = {"policy": name}
        if name in LLM_POLICIES and client is not None:
            describe["llm"] = client.describe()
        if name in POOL_POLICIES:
            describe.update(pool=path if "://" not in (pool or "") else "url", seer_options=seer_options)
        if name == "react":
            describe["react_options"] = react_options
        entries.append(
            PolicyEntry(
                label=name,
                factory=lambda env_id, _n=name, _c=cls, _p=pools: run.build(_n, _c, _p),
                model=model if name in LLM_POLICIES else None,
                accumulates=name in POOL_POLICIES and run.accumulate and seer_options.get("accumulate", True),
                needs_gold=bool(getattr(cls, "needs_gold", False)),
                describe=describe,
            )
        )
    return entries


# -- progress ------------------------------------------------------------------------------------
class Progress:
    """A rich progress bar with the live success rate per policy (silent when not a terminal)."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled and sys.stderr.isatty()
        self.stats: dict[str, list[int]] = {}
        self._progress = None
        self._task = None

    def start(self, total: int, skipped: int) -> None:
        if not self.enabled:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("[bold]episodes"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[rates]}"),
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task("run", total=total, completed=skipped, rates="")

    def update(self, record: dict[str, Any]) -> None:
        s = self.stats.setdefault(record["policy"], [0, 0, 0])
        s[0] += 1
        s[1] += int(bool(record.get("success")))
        s[2] += int(record.get("error") is not None)
        if self._progress is not None:
            rates = "  ".join(
                f"{p} {ok / n:.0%}" + (f" ({err} err)" if err else "")
                for p, (n, ok, err) in self.stats.items()
            )
            self._progress.update(self._task, advance=1, rates=rates)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()


# -- run -----------------------------------------------------------------------------------------
def add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", required=False, default=None, help="env ids, comma separated")
    p.add_argument(
        "--policy",
        default=None,
        help="policies, comma separated: random,oracle,react,fewshot,fewshot-random,seer,seer-tau "
        "(default: random; with --protocol: seer)",
    )
    p.add_argument("--model", default=None, help="litellm model string, e.g. openai/gpt-4o-mini")
    p.add_argument("--api-base", default=None, help="OpenAI-compatible endpoint (vLLM, a proxy, ...)")
    p.add_argument("--api-key", default=None, help="API key (default: the provider's environment variable)")
    p.add_argument("--tasks", default=None, help="task ids (comma separated) or a slice start:stop")
    p.add_argument(
        "--episodes", type=int, default=None, help="at most this many tasks per env (seeded sample)"
    )
    p.add_argument("--trials", type=int, default=1, help="trials per task (pass^k needs k)")
    p.add_argument("--concurrency", type=int, default=8, help="episodes played at once")
    p.add_argument(
        "--pool",
        default=None,
        help="experience pool: SQLite path or SQLAlchemy URL (default OUT/pool-POLICY.sqlite)",
    )
    p.add_argument("--embedder", default=None, help="sentence-transformers model for a new pool")
    p.add_argument("--out", default="runs/latest", help="output directory (results.jsonl, manifest.json)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shuffle", action="store_true", help="play tasks in a seeded random order")
    p.add_argument(
        "--accumulate",
        default=None,
        help="pool updates: online, sequential (task order, reproducible), batch:N, none "
        "(default: online; with --protocol: sequential)",
    )
    p.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="the most steps (tool calls, Finish included) of an episode, for every policy; default: "
        f"each policy's own (SEER 6, as the reference), and {SAFETY_STEP_CAP} for a policy that has none",
    )
    p.add_argument("--seer-max-steps", dest="max_steps", type=int, help=argparse.SUPPRESS)  # older name
    p.add_argument(
        "--env-kwargs", default=None, help='JSON object passed to gymnasium.make, e.g. {"scale": "small"}'
    )
    p.add_argument("--no-progress", action="store_true")
    _add_llm_arguments(p)
    _add_seer_arguments(p)
    p.add_argument(
        "--protocol",
        default=None,
        choices=tuple(PROTOCOLS),
        help="run the paper's ToolQA protocol (domain order, easy then hard, one pool, k=4, process) "
        "and print the paper-shaped tables; --policy and --accumulate are honoured when given",
    )
    p.add_argument("--data-dir", default=None, help="ToolQA data directory for --protocol seer-toolqa")


def _add_llm_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("LLM")
    g.add_argument("--timeout", type=float, default=60.0, help="seconds per LLM call")
    g.add_argument("--max-retries", type=int, default=4)
    g.add_argument("--temperature", type=float, default=0.0)
    g.add_argument("--max-tokens", type=int, default=1024)
    g.add_argument("--cache-dir", default=None, help="on-disk LLM response cache")
    g.add_argument("--backoff-base", type=float, default=1.0, help="first retry's mean delay in seconds")
    g.add_argument(
        "--price",
        type=parse_price,
        default=None,
        metavar="IN,OUT",
        help="USD per million input and output tokens, for a model litellm has no price for "
        "(unknown models cost 0)",
    )


def _add_seer_arguments(p: argparse.ArgumentParser) -> None:
    s = p.add_argument_group("SEER and few-shot")
    s.add_argument("--strategy", choices=STRATEGIES, default="process")
    s.add_argument("-k", "--k", dest="k", type=int, default=4, help="exemplars recalled")
    s.add_argument(
        "--continue-on-error", action="store_true", help="go on after a failed step (the reference stops)"
    )
    s.add_argument("--no-hints", action="store_true", help="no intent hint line in the prompt")
    s.add_argument("--no-classify", action="store_true", help="no intent classification")
    s.add_argument("--action-format", choices=("text", "tools"), default="text")
    s.add_argument("--no-prefetch", action="store_true", help="recall only when the step starts")


def llm_options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The `LLMClient` options of the run parser's LLM group."""
    return {
        "timeout": args.timeout,
        "max_retries": args.max_retries,
        "temperature": args.temperature,
        "max_tokens": args.max_tokens,
        "cache_dir": args.cache_dir,
        "backoff_base": args.backoff_base,
        "price": args.price,
    }


def parse_price(text: str) -> tuple[float, float]:
    """`IN,OUT` USD per million tokens, as `--price` takes it."""
    try:
        a, b = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--price takes two numbers IN,OUT (USD per million tokens), got {text!r}"
        ) from None
    if a < 0 or b < 0:
        raise argparse.ArgumentTypeError(f"--price must not be negative, got {text!r}")
    return a, b


def seer_options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The SEER / few-shot policy options of the run parser."""
    return {
        "strategy": args.strategy,
        "k": args.k,
        "max_steps": args.max_steps,
        "continue_on_error": args.continue_on_error,
        "hints": not args.no_hints,
        "classify": not args.no_classify,
        "action_format": args.action_format,
        "prefetch": not args.no_prefetch,
        "seed": args.seed,
    }


def play(
    args: argparse.Namespace,
    envs: list[str],
    entries: list[Any],
    out: Path,
    *,
    accumulate: str,
    env_kwargs: dict[str, Any] | None,
    config: dict[str, Any],
    shuffle: bool = False,
) -> dict[str, int] | int:
    """Run the planned episodes with a progress bar; the counts, or an exit code when stopped.

    Ctrl-C stops cleanly (finished episodes are saved); a configuration error (unknown env id, bad
    task ids, no data) is said plainly instead of a traceback.
    """
    import gymnasium as gym
    from rich.console import Console

    from seer_env.runner import Runner

    console = Console(stderr=True)
    progress = Progress(enabled=not args.no_progress)
    runner = Runner(
        envs,
        entries,
        out,
        tasks=args.tasks,
        episodes=args.episodes,
        trials=args.trials,
        concurrency=args.concurrency,
        seed=args.seed,
        shuffle=shuffle,
        accumulate=accumulate,
        env_kwargs=env_kwargs,
        max_steps=args.max_steps or SAFETY_STEP_CAP,
        config=config,
        on_record=progress.update,
        on_plan=progress.start,
    )
    try:
        return asyncio.run(runner.run())
    except KeyboardInterrupt:
        progress.stop()
        console.print(
            f"[yellow]interrupted[/yellow]: finished episodes are saved in {out}; run again to resume"
        )
        return 130
    except (ValueError, FileNotFoundError, gym.error.Error, ImportError) as exc:
        progress.stop()
        console.print(f"[red]error[/red]: {type(exc).__name__}: {exc}")
        return 2
    finally:
        progress.stop()

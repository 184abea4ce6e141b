"""Launching runs: policies built by name for the runner, the run options, the progress bar.

`seer-env run` (`seer_env.agents.cli`) and the paper protocol (`seer_env.agents.paper`) both use it.
Heavy imports (litellm, the pool) happen inside the functions, so `seer-env --help` stays fast.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seer_env.agents.memory import SharedPools, open_memory
from seer_env.pool.types import STRATEGIES
from seer_env.runner import SAFETY_STEP_CAP

log = logging.getLogger(__name__)

# --protocol NAME -> the module whose run_protocol_cli(args) plays it
PROTOCOLS = {"seer-toolqa": "seer_env.agents.paper", "seer-toolqa-ablation": "seer_env.agents.paper"}

HALTING = ("reference", "any-error", "never")  # as seer_env.agents.react.HALTING (kept import-free)
SCORERS = ("em", "judge")


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
    pool_options: dict[str, Any] | None = None
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
        if name in ("react", "react-fewshot"):
            kw = {k: v for k, v in self.react_options.items() if v is not None}
            if name == "react":
                kw.pop("exemplars_file", None)
            return cls(self.client, **kw)
        kw = {k: v for k, v in self.seer_options.items() if v is not None}
        if name != "fewshot":
            kw.pop("exemplars_file", None)
        if name == "fewshot":
            kw = {k: v for k, v in kw.items() if k not in ("strategy", "accumulate")}
            return cls(self.client, **kw)
        kw["accumulate"] = self.accumulate and kw.get("accumulate", True)
        kw["run_id"] = self.run_id
        if name == "fewshot-random":
            kw.pop("strategy", None)
        return cls(self.client, memory_for=pools, **kw)

    def build_plugin(self, cls: type, policy_kwargs: dict[str, Any]) -> Any:
        """A new instance of a policy from outside seer-env (`seer_env.agents.plugins`)."""
        from seer_env.agents.plugins import constructor_kwargs

        offered = {
            "client": self.client,
            "seed": self.seer_options.get("seed"),
            "max_steps": self.seer_options.get("max_steps"),
        }
        offered = {k: v for k, v in offered.items() if v is not None}
        try:
            return cls(**{**constructor_kwargs(cls, offered), **policy_kwargs})
        except TypeError as exc:  # a --policy-kwargs key it does not take, a parameter it lacks
            raise ValueError(f"cannot build policy {cls.__module__}:{cls.__qualname__}: {exc}") from exc


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
    pool_options: dict[str, Any] | None = None,
    policy_kwargs: dict[str, Any] | None = None,
) -> list[Any]:
    """`PolicyEntry`s for policy names; LLM policies share one client, pool policies one pool each
    (a file per policy, a memory per namespace in it: the env names the namespace). A name that is
    no built-in policy is looked up as a plug-in (`seer_env.agents.plugins`), built with the
    `policy_kwargs`; one whose `__init__` takes `client` gets the run's LLM client.

    pool_options: `ExperienceMemory` options of the pools (`weights`, `allowed_splits`)."""
    from seer_env.agents import LLM_POLICIES, POLICIES, POOL_POLICIES
    from seer_env.agents.plugins import resolve_policy, takes_client
    from seer_env.runner import PolicyEntry

    classes = {name: resolve_policy(name) for name in policies}
    uses_llm = {n for n in policies if n in LLM_POLICIES or (n not in POLICIES and takes_client(classes[n]))}
    client = None
    if uses_llm:
        if not model:
            raise SystemExit(f"LLM policies ({', '.join(sorted(uses_llm))}) need --model")
        from seer_env.llm import LLMClient, preload

        preload()
        client = LLMClient(model, api_base=api_base, api_key=api_key, **dict(llm_options or {}))
    seer_options, react_options = dict(seer_options or {}), dict(react_options or {})
    pool_options = {k: v for k, v in (pool_options or {}).items() if v is not None or k == "allowed_splits"}
    run = _RunPolicies(
        client, seer_options, react_options, accumulate != "none", run_id, embedder, pool_options
    )
    n_pooled = sum(p in POOL_POLICIES for p in policies)
    entries = []
    for name in policies:
        cls = classes[name]
        if name not in POLICIES:  # a plug-in
            kwargs = dict(policy_kwargs or {})
            describe_plugin: dict[str, Any] = {"policy": f"{cls.__module__}:{cls.__qualname__}"}
            if kwargs:
                describe_plugin["policy_kwargs"] = kwargs
            if name in uses_llm and client is not None:
                describe_plugin["llm"] = client.describe()
            entries.append(
                PolicyEntry(
                    label=name,
                    factory=lambda env_id, _c=cls, _kw=kwargs: run.build_plugin(_c, _kw),
                    model=model if name in uses_llm else None,
                    accumulates=bool(getattr(cls, "accumulates", False)),
                    needs_gold=bool(getattr(cls, "needs_gold", False)),
                    describe=describe_plugin,
                )
            )
            continue
        path = _pool_path(pool, out, name, n_pooled) if name in POOL_POLICIES else None
        pools = SharedPools(
            lambda ns, _path=path: open_memory(_path, ns, embedder=run.embedder_once(), **pool_options)
        )
        describe: dict[str, Any] = {"policy": name}
        if name in LLM_POLICIES and client is not None:
            describe["llm"] = client.describe()
        if name in POOL_POLICIES:
            describe.update(pool=path if "://" not in (pool or "") else "url", seer_options=seer_options)
            if pool_options:
                describe["pool_options"] = _describable(pool_options)
        if name in ("react", "react-fewshot"):
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
    p.add_argument(
        "--env",
        required=False,
        default=None,
        help="env ids, comma separated (default: none; required unless --protocol)",
    )
    p.add_argument(
        "--policy",
        default=None,
        help="policies, comma separated: random,oracle,react,react-fewshot,fewshot,fewshot-random,seer,"
        "seer-tau, a name an installed package declares (entry points `seer_env.policies`), or your own "
        "class as package.module:ClassName (default: random; with --protocol: seer)",
    )
    p.add_argument(
        "--policy-kwargs",
        default=None,
        help='JSON object of keyword arguments for plug-in policies (package.module:ClassName or entry points), e.g. {"temperature": 0.2} (default: none)',
    )
    p.add_argument(
        "--model",
        default=None,
        help="litellm model string, e.g. openai/gpt-4o-mini (default: none; LLM policies need one)",
    )
    p.add_argument(
        "--api-base",
        default=None,
        help="OpenAI-compatible endpoint (vLLM, llama.cpp, a proxy, ...) (default: the provider's)",
    )
    p.add_argument("--api-key", default=None, help="API key (default: the provider's environment variable)")
    p.add_argument(
        "--tasks", default=None, help="task ids (comma separated) or a slice start:stop (default: every task)"
    )
    p.add_argument(
        "--episodes",
        type=int,
        default=None,
        help="at most this many tasks per env, a seeded sample (default: every task)",
    )
    p.add_argument("--trials", type=int, default=1, help="trials per task (pass^k needs k)")
    p.add_argument("--concurrency", type=int, default=8, help="episodes played at once")
    p.add_argument(
        "--pool",
        default=None,
        help="experience pool: SQLite path or SQLAlchemy URL (default OUT/pool-POLICY.sqlite)",
    )
    p.add_argument(
        "--embedder",
        default=None,
        help="sentence-transformers model for a new pool (default: the packaged all-MiniLM-L6-v2)",
    )
    p.add_argument("--out", default="runs/latest", help="output directory (results.jsonl, manifest.json)")
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the task sample, the task order and each episode"
    )
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
        "--env-kwargs",
        default=None,
        help='JSON object passed to gymnasium.make, e.g. {"scale": "small"} (default: none)',
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_executor_arguments(p)
    _add_llm_arguments(p)
    _add_seer_arguments(p)
    _add_reference_arguments(p)
    from seer_env.agents.guards import add_guard_arguments, add_user_arguments

    add_guard_arguments(p)
    add_user_arguments(p)
    p.add_argument(
        "--protocol",
        default=None,
        choices=tuple(PROTOCOLS),
        help="seer-toolqa: the paper's ToolQA protocol (domain order, easy then hard, one pool, k=4, "
        "process, SEER's tool profile, reference halting, LLM judge) and the paper-shaped tables; "
        "seer-toolqa-ablation: its ablations (query-based, w/o coverage, w/o intent) and k sweep, with "
        "plots; --policy, --accumulate, --halting, --scorer and --env-kwargs are honoured when given (default: none)",
    )
    p.add_argument(
        "--data-dir",
        default=None,
        help="ToolQA data directory for --protocol seer-toolqa (default: $TOOLQA_DATA_DIR)",
    )
    p.add_argument(
        "--domains",
        default=None,
        help="--protocol only: play these ToolQA domains (comma separated), in the protocol's order (default: all)",
    )
    a = p.add_argument_group("--protocol seer-toolqa-ablation")
    a.add_argument(
        "--variants",
        default=None,
        help="variants to play (comma separated; default all: seer, seer-query, seer-no-coverage, "
        "seer-no-intent, seer-k0, seer-k2, seer-k6, seer-k8)",
    )
    a.add_argument(
        "--seeds",
        default="0,1,2",
        help="seeds of the shuffled-batch runs behind the improvement curve (comma separated; '' for none)",
    )


def _add_executor_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("where envs run")
    g.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local: env copies in this process (default); ray: env copies in Ray actors placed by Ray "
        '(needs pip install "seer-env[ray]"; docs/scaling.md)',
    )
    g.add_argument(
        "--ray-address",
        default=None,
        help="the Ray cluster: auto (the one running on this machine), ray://HOST:10001 (Ray Client), or "
        "HOST:PORT; default: RAY_ADDRESS, else a local Ray started for the run",
    )
    g.add_argument(
        "--ray-env-cpus",
        type=float,
        default=0.0,
        help="CPUs each env copy reserves (default 0; 1 gives each copy an actor of its own and spreads "
        "CPU-heavy envs by free CPUs)",
    )
    g.add_argument(
        "--ray-copies-per-actor",
        type=int,
        default=None,
        help="env copies one Ray actor holds (default: a run's copies spread over one actor per cluster CPU)",
    )


def executor_options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The executor options of the run parser (none for the local executor)."""
    if getattr(args, "executor", "local") != "ray":
        return {}
    return {
        "address": args.ray_address,
        "env_cpus": args.ray_env_cpus,
        "copies_per_actor": args.ray_copies_per_actor,
    }


def _add_llm_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("LLM")
    g.add_argument("--timeout", type=float, default=60.0, help="seconds per LLM call")
    g.add_argument(
        "--max-retries",
        type=int,
        default=4,
        help="retries of a call that failed with a rate limit, a server or connection error or a timeout "
        "(never auth, bad request, context length, unknown model)",
    )
    g.add_argument(
        "--timeout-retries",
        type=int,
        default=1,
        help="how often a timed-out call is tried again (0: never), within --max-retries",
    )
    g.add_argument(
        "--timeout-growth",
        type=float,
        default=2.0,
        help="each retry of a timed-out call waits this many times longer than the last",
    )
    g.add_argument("--temperature", type=float, default=0.0, help="sampling temperature")
    g.add_argument(
        "--max-tokens",
        type=int,
        default=512,
        help="cap on a solver / ReAct step reply (stop sequences usually end it sooner)",
    )
    g.add_argument("--classifier-max-tokens", type=int, default=128, help="cap on an intent classifier reply")
    g.add_argument("--cache-dir", default=None, help="on-disk LLM response cache folder (default: no cache)")
    g.add_argument("--backoff-base", type=float, default=1.0, help="first retry's mean delay in seconds")
    g.add_argument(
        "--price",
        type=parse_price,
        default=None,
        metavar="IN,OUT",
        help="USD per million input and output tokens, for a model litellm has no price for "
        "(default: litellm's price; unknown models cost 0)",
    )


def _add_seer_arguments(p: argparse.ArgumentParser) -> None:
    s = p.add_argument_group("SEER and few-shot")
    s.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="process",
        help="recall by the question (goal), the trajectory so far (process), or both (hybrid)",
    )
    s.add_argument("-k", "--k", dest="k", type=int, default=4, help="exemplars recalled")
    s.add_argument(
        "--continue-on-error",
        action="store_true",
        help="the same as --halting never (go on after every failed step)",
    )
    s.add_argument("--no-hints", action="store_true", help="no intent hint line in the prompt")
    s.add_argument("--no-classify", action="store_true", help="no intent classification")
    s.add_argument(
        "--action-format",
        choices=("text", "tools"),
        default="text",
        help="actions as text (Tool[args]) or as native function calls",
    )
    s.add_argument("--no-prefetch", action="store_true", help="recall only when the step starts")


def _add_reference_arguments(p: argparse.ArgumentParser) -> None:
    """Options that set how close a run is to the references (docs/paper_protocol.md)."""
    r = p.add_argument_group("reference fidelity")
    r.add_argument(
        "--halting",
        choices=HALTING,
        default=None,
        help="when a failed step ends an LLM policy's episode: reference (the kinds the env's reference "
        "runner halts on), any-error, never (default: SEER reference, ReAct never; --protocol: reference)",
    )
    r.add_argument(
        "--scorer",
        choices=SCORERS,
        default=None,
        help="ToolQA answers: em (ToolQA's exact match) or judge (an LLM judge, as SEER's reference); "
        "every record keeps both verdicts under judge (default em; --protocol: judge)",
    )
    r.add_argument("--judge-model", default=None, help="the judge's litellm model (default: --model)")
    r.add_argument("--judge-api-base", default=None, help="the judge's endpoint (default: --api-base)")
    r.add_argument("--judge-max-tokens", type=int, default=100, help="cap on a judge reply (reference: 100)")
    r.add_argument(
        "--weights",
        type=parse_weights,
        default=None,
        metavar="SIM,TOOL,INTENT",
        help="SEER's recall weights (default 1,1,1, as the reference); 0 drops a term",
    )
    r.add_argument(
        "--exemplars",
        default=None,
        metavar="FILE",
        help="react-fewshot and fewshot: exemplars from a file (.txt block, .json blocks by "
        "difficulty/domain, .jsonl trajectories; docs/paper_protocol.md) (default: the seed ones)",
    )
    r.add_argument("--no-stop", action="store_true", help="send no stop sequences in text mode")
    r.add_argument(
        "--accumulate-splits",
        default=None,
        help="task splits whose successes enter a pool (comma separated, or 'any'; default train, so a "
        "τ-bench test run never grows its pool)",
    )
    r.add_argument(
        "--online",
        action="store_true",
        help="accumulate from the split being evaluated (--accumulate-splits any): SEER's continual setting",
    )


def parse_weights(text: str) -> tuple[float, float, float]:
    """`SIM,TOOL,INTENT` recall weights, as `--weights` takes them."""
    try:
        a, b, c = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--weights takes three numbers SIM,TOOL,INTENT, got {text!r}"
        ) from None
    if min(a, b, c) < 0 or not all(map(math.isfinite, (a, b, c))):
        raise argparse.ArgumentTypeError(f"--weights must be finite and not negative, got {text!r}")
    return a, b, c


def policy_entries_from_args(
    args: argparse.Namespace, policies: list[str], *, out: Path, accumulate: str, **overrides: Any
) -> list[Any]:
    """`build_policy_entries` with the options of `seer-env run`'s flags; `overrides` win."""
    options: dict[str, Any] = {
        "out": out,
        "model": args.model,
        "api_base": args.api_base,
        "api_key": args.api_key,
        "pool": args.pool,
        "accumulate": accumulate,
        "llm_options": llm_options_from_args(args),
        "seer_options": seer_options_from_args(args),
        "react_options": react_options_from_args(args),
        "embedder": args.embedder,
        "run_id": out.name,
        "pool_options": pool_options_from_args(args),
    }
    return build_policy_entries(policies, **{**options, **overrides})


def pool_options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The `ExperienceMemory` options of the run parser: recall weights and the splits that accumulate."""
    from seer_env.pool.types import RecallWeights

    out: dict[str, Any] = {}
    if getattr(args, "weights", None) is not None:
        out["weights"] = RecallWeights(*args.weights)
    splits = getattr(args, "accumulate_splits", None)
    if getattr(args, "online", False):
        splits = "any"
    if splits is not None:
        names = [x.strip() for x in splits.split(",") if x.strip()]
        out["allowed_splits"] = None if names == ["any"] else names
    return out


def react_options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The ReAct policies' options of the run parser."""
    return {
        "action_format": args.action_format,
        "max_steps": args.max_steps,
        "halting": "never" if args.continue_on_error else args.halting,
        "stop": [] if getattr(args, "no_stop", False) else None,
        "exemplars_file": getattr(args, "exemplars", None),
    }


def build_judge(args: argparse.Namespace) -> Any:
    """The LLM judge of `--scorer judge` (None under em), on the judge model's own client."""
    if (getattr(args, "scorer", None) or "em") != "judge":
        return None
    model = args.judge_model or args.model
    if not model:
        raise SystemExit("--scorer judge needs --judge-model (or --model)")
    from seer_env.judge import LLMJudge
    from seer_env.llm import LLMClient, preload

    preload()
    opts = llm_options_from_args(args)
    opts.update(temperature=0.0, max_tokens=args.judge_max_tokens)
    base = args.judge_api_base or (args.api_base if not args.judge_model else None)
    client = LLMClient(model, api_base=base, api_key=args.api_key, **opts)
    return LLMJudge(client, max_tokens=args.judge_max_tokens)


def judge_env_kwargs(judge: Any) -> dict[str, Any]:
    """The ToolQA env's scorer hook set to the judge (the env computes both verdicts at Finish)."""
    return {"scorer": "judge", "judge": judge} if judge is not None else {}


def _describable(options: dict[str, Any]) -> dict[str, Any]:
    return {k: (vars(v) if hasattr(v, "__dataclass_fields__") else v) for k, v in options.items()}


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
        "timeout_retries": args.timeout_retries,
        "timeout_growth": args.timeout_growth,
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
        "halting": "never" if args.continue_on_error else getattr(args, "halting", None),
        "classify_max_tokens": getattr(args, "classifier_max_tokens", None),
        "stop": [] if getattr(args, "no_stop", False) else None,
        "exemplars_file": getattr(args, "exemplars", None),
        "hints": not args.no_hints,
        "classify": not args.no_classify,
        "action_format": args.action_format,
        "prefetch": not args.no_prefetch,
        "seed": args.seed,
    }


def parse_env_kwargs(text: str | None) -> dict[str, Any]:
    """`--env-kwargs`: a JSON object (ValueError with a one-line reason otherwise)."""
    import json

    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--env-kwargs is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, dict):
        raise ValueError(
            f'--env-kwargs must be a JSON object, e.g. \'{{"scale": "small"}}\', not {text[:80]!r}'
        )
    return value


def claim_out(out: Path, console: Any) -> Any:
    """Lock the run's output folder (`seer_env.runner.claim_out_folder`); None, after saying why in
    one line, when another run holds it or it cannot be written."""
    from seer_env.runner import OutFolderError, claim_out_folder

    try:
        return claim_out_folder(out)
    except OutFolderError as exc:
        console.print(f"[red]error[/red]: {exc}", highlight=False, soft_wrap=True)
        return None


def play(
    args: argparse.Namespace,
    envs: list[str],
    entries: list[Any],
    out: Path,
    *,
    accumulate: str,
    env_kwargs: dict[str, Any] | None,
    config: dict[str, Any],
    shuffle: bool | str = False,
    judge: Any = None,
    out_lock: Any = None,
) -> dict[str, int] | int:
    """Check the run's models, then run the planned episodes with a progress bar; the counts, or an
    exit code (`seer_env.agents.guards`) when it could not run or was interrupted.

    Ctrl-C stops cleanly (finished episodes are saved); a configuration error (unknown env id, bad
    task ids, no data) is said plainly instead of a traceback; a model that fails the preflight stops
    the run before its first episode, with one line that names it and the fix. A judge
    (`build_judge`) answers the envs' calls on the run's event loop; its counts go to `judge.json` in
    `out`.
    """
    import gymnasium as gym
    from rich.console import Console
    from rich.markup import escape

    from seer_env.agents import guards
    from seer_env.runner import OutFolderError, Runner

    console = Console(stderr=True)
    if judge is not None and getattr(args, "executor", "local") == "ray":
        # the env calls the judge on this process's event loop, which an env in a Ray actor cannot reach
        console.print("[red]error[/red]: --scorer judge needs --executor local", soft_wrap=True)
        return 2
    if not getattr(args, "no_preflight", False):
        from seer_env.preflight import preflight

        targets = guards.run_models(args, entries, envs, env_kwargs, judge)
        problems = preflight(targets, timeout=getattr(args, "preflight_timeout", guards.DEFAULT_TIMEOUT))
        if problems:
            for line in problems:
                console.print(f"[red]preflight[/red]: {line}", highlight=False, soft_wrap=True)
            console.print("no episode was played (skip this check with --no-preflight)")
            return guards.EXIT_PREFLIGHT
    progress = Progress(enabled=not args.no_progress)
    try:
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
            out_lock=out_lock,
            executor=getattr(args, "executor", "local"),
            executor_options=executor_options_from_args(args),
            retry_errors=not getattr(args, "no_retry_errors", False),
            max_consecutive_errors=getattr(args, "max_consecutive_errors", 0),
        )

        async def main() -> dict[str, Any]:
            if judge is not None:
                judge.bind_loop(asyncio.get_running_loop())
            try:
                return await runner.run()
            finally:
                if judge is not None:
                    judge.bind_loop(None)
                    _write_judge_summary(out, judge)

        with warnings.catch_warnings():
            # episodes cancelled by the circuit breaker leave litellm's unstarted request coroutines
            warnings.filterwarnings(
                "ignore", message="coroutine '.*' was never awaited", category=RuntimeWarning
            )
            return asyncio.run(main())
    except KeyboardInterrupt:
        progress.stop()
        console.print(
            f"[yellow]interrupted[/yellow]: finished episodes are saved in {out}; run again to resume"
        )
        return 130
    except (ValueError, FileNotFoundError, gym.error.Error, ImportError, OutFolderError) as exc:
        progress.stop()
        # escaped: messages hold brackets (`seer-env[ray]`, `Tool[args]`) that rich would read as markup
        console.print(f"[red]error[/red]: {type(exc).__name__}: {escape(str(exc))}", soft_wrap=True)
        return 2
    finally:
        progress.stop()


def _write_judge_summary(out: Path, judge: Any) -> None:
    """`judge.json`: the judge's settings and this session's counts (calls, matches, errors, usage)."""
    import json

    try:
        (out / "judge.json").write_text(
            json.dumps({"judge": judge.describe(), "session": judge.summary()}, indent=2, default=str),
            encoding="utf-8",
        )
    except OSError as exc:
        log.warning("could not write judge.json: %s", exc)

"""Run SEER through τ-bench's own runner (`tau_bench.run.run`), unchanged.

τ-bench's `run()` asserts its four agent strategies, drops unknown `RunConfig` fields and rejects
unknown user strategies. So, for the duration of one call and restored after:

- `tau_bench.run.agent_factory` is replaced by a factory returning one `SeerTauAgent` (shared by
  `run()`'s worker threads; the agent locks its pool), while `RunConfig.agent_strategy` stays
  "tool-calling" (so the checkpoint file name says "tool-calling");
- with an offline user (scripted, replay), `RunConfig.user_strategy` says "llm" (`user_model` carries
  the offline strategy's name, so the file is named `..._user-scripted-llm_...`) and τ-bench's
  `load_user` is answered by the offline simulator in every thread (`users.user_override`);
- with `user_api_base`, τ-bench's LLM user calls go to that endpoint (`users.set_user_endpoint`).

`run()` draws its main env's task with `random.randint(0, n)` after `random.seed(seed)`, which is out
of range for some seeds (tau-bench's GitHub issue #36); that seed is refused up front with a clear message.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seer_env.envs.taubench import require_tau_bench
from seer_env.envs.taubench.users import (
    OFFLINE_STRATEGIES,
    offline_factory,
    set_user_endpoint,
    user_override,
)

log = logging.getLogger(__name__)

_PATCH_LOCK = threading.Lock()


@dataclass
class TauRunOptions:
    """τ-bench's run options (names as its `RunConfig`) and SEER's."""

    model: str
    env: str = "retail"
    model_provider: str | None = None
    user_model: str = "gpt-4o"
    user_model_provider: str | None = None
    user_api_base: str | None = None
    user_api_key: str | None = None
    user_strategy: str = "llm"
    user_data: Any = None
    task_split: str = "test"
    task_ids: list[int] | None = None
    start_index: int = 0
    end_index: int = -1
    num_trials: int = 1
    max_concurrency: int = 1
    seed: int = 10
    shuffle: int = 0
    temperature: float = 0.0
    log_dir: str = "results"
    # SEER
    pool: str | None = None
    embedder: Any = None
    recall: bool = True
    k: int = 4
    strategy: str = "hybrid"
    min_similarity: float | None = None
    accumulate_splits: Sequence[str] | None = ("train",)
    accumulate: bool = True
    predict_intent: bool = True
    write_tools: Sequence[str] | None = None
    max_num_steps: int = 30
    api_base: str | None = None
    run_id: str | None = None


@dataclass
class TauRunOutcome:
    results: list[Any]
    results_path: Path | None
    pass_hat_k: dict[int, float]
    average_reward: float
    pool_size: int | None = None
    added_to_pool: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def results_pass_hat_k(results: Sequence[Any]) -> dict[int, float]:
    """pass^k for k = 1..n of τ-bench results, as τ-bench's `display_metrics` computes it: every task
    counts n = the number of distinct trials (`seer_env.report.pass_hat_k`)."""
    from seer_env.report import pass_hat_k

    if not results:
        return {}
    trials = len({_get(r, "trial") for r in results})
    successes: dict[Any, int] = defaultdict(int)
    for r in results:
        successes[_get(r, "task_id")] += int(abs(float(_get(r, "reward")) - 1.0) <= 1e-6)
    counts = [(trials, c) for c in successes.values()]
    return {k: pass_hat_k(counts, k) for k in range(1, trials + 1)}


def _get(obj: Any, name: str) -> Any:
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


def split_model(model: str, provider: str | None, provider_list: Sequence[str]) -> tuple[str, str]:
    """(provider, model) as τ-bench wants them, from `--model a/b` with or without `--model-provider`."""
    if provider:
        return provider, model
    head, _, rest = model.partition("/")
    if rest and head in provider_list:
        return head, rest
    return "openai", model


@contextmanager
def patched_agent_factory(factory: Any) -> Iterator[None]:
    """Swap `tau_bench.run.agent_factory` (looked up at call time by `run()`) and restore it."""
    run_mod = require_tau_bench("tau_bench.run")
    with _PATCH_LOCK:
        original = run_mod.agent_factory
        run_mod.agent_factory = factory
        try:
            yield
        finally:
            run_mod.agent_factory = original


def load_tasks(env: str, task_split: str) -> list[Any]:
    """τ-bench's tasks for this env and split (the env is built with an offline user: no LLM call)."""
    envs = require_tau_bench("tau_bench.envs")
    with user_override(offline_factory(force="scripted")):
        return list(envs.get_env(env, "scripted", "none", task_split, task_index=0).tasks)


def check_seed(seed: int, n_tasks: int) -> None:
    """Refuse a seed for which `run()`'s first draw, `randint(0, n)`, is out of range (tau-bench #36)."""
    if random.Random(seed).randint(0, n_tasks) == n_tasks:
        raise ValueError(
            f"with seed {seed}, tau_bench.run.run() draws task index {n_tasks} for its main env, which is "
            f"out of range for {n_tasks} tasks (tau-bench issue #36); choose another --seed"
        )


def open_pool(opts: TauRunOptions):
    from seer_env.pool import ExperienceMemory

    url = opts.pool or str(Path(opts.log_dir) / f"seer-pool-{opts.env}.sqlite")
    if "://" not in url:
        Path(url).parent.mkdir(parents=True, exist_ok=True)
    return ExperienceMemory(
        url,
        embedder=opts.embedder,
        namespace=f"taubench-{opts.env}",
        k=opts.k,
        min_similarity=opts.min_similarity,
        allowed_splits=opts.accumulate_splits,
    )


def run_tau(opts: TauRunOptions, *, memory: Any = None, llm: Any = None) -> TauRunOutcome:
    """Run SEER on τ-bench through `tau_bench.run.run`; returns its results and where it wrote them."""
    run_mod = require_tau_bench("tau_bench.run")
    types = require_tau_bench("tau_bench.types")
    litellm = require_tau_bench("litellm")
    from seer_env.agents.taubench.agent import SeerTauAgent

    provider, model = split_model(opts.model, opts.model_provider, litellm.provider_list)
    user_provider, user_model = split_model(opts.user_model, opts.user_model_provider, litellm.provider_list)
    offline = opts.user_strategy in OFFLINE_STRATEGIES
    if opts.user_api_base and not offline:
        set_user_endpoint(user_model, user_provider, opts.user_api_base, opts.user_api_key)
    config = types.RunConfig(
        model_provider=provider,
        user_model_provider=user_provider,
        model=model,
        # an offline user has no model; its name in the file name is the next best thing
        user_model=opts.user_strategy if offline else user_model,
        num_trials=opts.num_trials,
        env=opts.env,
        agent_strategy="tool-calling",
        temperature=opts.temperature,
        task_split=opts.task_split,
        start_index=opts.start_index,
        end_index=opts.end_index,
        task_ids=list(opts.task_ids) if opts.task_ids else None,
        log_dir=opts.log_dir,
        max_concurrency=opts.max_concurrency,
        seed=opts.seed,
        shuffle=opts.shuffle,
        user_strategy="llm" if offline else opts.user_strategy,
    )
    tasks = load_tasks(opts.env, opts.task_split)
    check_seed(opts.seed, len(tasks))

    own_memory = memory is None and opts.recall
    if own_memory:
        memory = open_pool(opts)
    if opts.recall:
        from seer_env.agents.taubench.policy import warn_if_pool_cannot_grow

        warn_if_pool_cannot_grow(memory, opts.task_split, opts.accumulate)
    agents: list[Any] = []

    def factory(tools_info: list[dict[str, Any]], wiki: str, config: Any) -> Any:
        agent = SeerTauAgent(
            tools_info,
            wiki,
            model=config.model,
            provider=config.model_provider,
            temperature=config.temperature,
            llm=llm,
            memory=memory if opts.recall else None,
            env_name=config.env,
            task_split=config.task_split,
            k=opts.k,
            strategy=opts.strategy,
            write_tools=opts.write_tools,
            predict_intent=opts.predict_intent,
            accumulate=opts.accumulate,
            max_num_steps=opts.max_num_steps,
            run_id=opts.run_id,
            api_base=opts.api_base,
        )
        agents.append(agent)
        return agent

    users = offline_factory(opts.user_data, tasks, force=opts.user_strategy) if offline else None
    started = time.time()
    try:
        with patched_agent_factory(factory), user_override(users, all_threads=True):
            results = run_mod.run(config)
        path = _results_file(Path(opts.log_dir), started)
        pool_size = len(memory) if memory is not None else None
    finally:
        if own_memory and memory is not None:
            memory.close()
    rewards = [float(r.reward) for r in results]
    return TauRunOutcome(
        results=results,
        results_path=path,
        pass_hat_k=results_pass_hat_k(results),
        average_reward=sum(rewards) / len(rewards) if rewards else 0.0,
        pool_size=pool_size,
        added_to_pool=sum(a.added for a in agents),
    )


def _results_file(log_dir: Path, since: float) -> Path | None:
    """The checkpoint file `run()` wrote (it does not return its name): the newest JSON since `since`."""
    files = [p for p in log_dir.glob("*.json") if p.stat().st_mtime >= since - 1]
    return max(files, key=lambda p: p.stat().st_mtime) if files else None

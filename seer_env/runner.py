"""The async runner: policies × envs × tasks × trials, concurrently, recorded episode by episode.

- Bounded concurrency (an asyncio semaphore). Each concurrent episode has an env instance and a
  policy instance of its own, reused between episodes (`seer_env.instances`); instances of one policy
  share their LLM client and experience pool. Policies run in this event loop; where envs live is the
  executor's choice (`seer_env.executor`): in this process with `reset` and `step` in worker threads,
  so a slow tool never blocks LLM calls (`local`), or in Ray actors (`ray`).
- One line per finished episode in `results.jsonl` (an `EpisodeRecord`), written, flushed and fsync'd
  when the episode ends; `manifest.json` holds the config, package versions, models and pool hashes.
- Resume: episodes already in `results.jsonl` (key = env, policy, task, trial) are skipped, except
  those that ended in an error (a harness or LLM failure is not a result): they are played again
  unless `retry_errors=False`. A policy's failure (a wrong answer, the step cap) is a result.
- One run per output folder: a run holds `run.lock` in it, and a second run on the folder stops at
  once naming the first (`claim_out_folder`).
- A failing episode is recorded with its error; it never ends the run by itself, but when the same
  kind of error ends `max_consecutive_errors` episodes in a row the run stops (`seer_env.breaker`):
  `counts["stopped"]` says why. Ctrl-C (task cancellation) stops cleanly: every finished episode is
  already on disk.
- Policies that add to a pool are ordered by `accumulate` (`seer_env.accumulation`): online,
  sequential, batch:N or none.

The episode loop is `seer_env.episode`; what is called on policies and envs is `seer_env.policy`.
This module is core: it imports no agent, env or pool; policies come in as factories
(`seer_env.agents.launch` builds them by name).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seer_env.accumulation import Accumulation
from seer_env.breaker import CircuitBreaker
from seer_env.episode import EpisodeOutcome, episode_trajectory, episode_usage, error_of
from seer_env.executor import EnvDescription, Executor, make_executor
from seer_env.files import ClaimedLock, LockHeldError, claim_lock, describe_owner
from seer_env.instances import InstanceCache
from seer_env.llm import usage_scope
from seer_env.policy import Policy
from seer_env.records import (
    EVENTS_FILE,
    LOCK_FILE,
    MANIFEST_FILE,
    RESULTS_FILE,
    EpisodeKey,
    EpisodeRecord,
    ResultsFile,
    read_episodes,
    write_manifest,
)
from seer_env.types import Trajectory

log = logging.getLogger(__name__)

GC_YOUNG_THRESHOLD = 20_000  # allocations between collections of the young generation during a run
SAFETY_STEP_CAP = 50  # steps per episode when nothing else caps them (a policy that never finishes)


@dataclass(frozen=True)
class EpisodeSpec:
    env_id: str
    policy: str
    task_id: str
    trial: int
    index: int  # position in this policy's sequence (task order, the order accumulation follows)

    @property
    def key(self) -> EpisodeKey:
        return (self.env_id, self.policy, self.task_id, self.trial)


@dataclass
class PolicyEntry:
    """How the runner gets instances of one policy.

    factory(env_id) builds a new instance (sharing client and pool with the others).
    """

    label: str
    factory: Callable[[str], Policy]
    model: str | None = None
    accumulates: bool = False
    needs_gold: bool = False
    describe: dict[str, Any] = field(default_factory=dict)


def _verdicts(final_info: dict[str, Any]) -> dict[str, Any] | None:
    """The final step's `verdicts` (every scorer's verdict on the answer), when the env gives them."""
    v = final_info.get("verdicts")
    return dict(v) if isinstance(v, dict) else None


def gym_id_of(env_label: str) -> str:
    """An env label is a gym id, optionally with `#name` to tell apart several configurations of it
    (e.g. `ToolQA-easy-v0#flight`, with its kwargs under that label in `env_kwargs`)."""
    return env_label.split("#", 1)[0]


class OutFolderError(RuntimeError):
    """The output folder cannot take this run: another run holds it, or it cannot be written."""


def claim_out_folder(out: str | os.PathLike[str]) -> ClaimedLock:
    """Make `out` and lock it for one run (its `run.lock`), without waiting.

    Two runs recording into one folder would duplicate episodes, so the second stops at once with
    `OutFolderError` naming the first (pid, host, since when). A lock left by a run that died is
    taken over. Release the lock with `.release()`; the process ending releases it too.
    """
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        return claim_lock(out / LOCK_FILE)
    except LockHeldError as exc:
        raise OutFolderError(
            f"{out} is in use by another run: {describe_owner(exc.owner)}; "
            "wait for it to end or choose another output folder"
        ) from None
    except OSError as exc:
        raise OutFolderError(f"cannot write to the output folder {out}: {exc.strerror or exc}") from None


def stable_seed(*parts: Any) -> int:
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
    return int(h[:8], 16) & 0x7FFFFFFF


def select_tasks(
    task_ids: Sequence[str],
    tasks: str | Sequence[str] | None = None,
    episodes: int | None = None,
    seed: int = 0,
    shuffle: bool = False,
) -> list[str]:
    """The tasks to play, from an env's `task_ids`.

    tasks: ids (a list or a comma string), or a slice `start:stop` of the env's order. episodes: at
    most this many, a seeded sample kept in the env's order (so every domain is represented);
    shuffle: play them in a seeded random order (any true value; the runner's "all" also mixes envs).
    """
    ids = [str(t) for t in task_ids]
    chosen = ids
    if tasks:
        if isinstance(tasks, str) and ":" in tasks and "," not in tasks and tasks not in ids:
            a, b = tasks.split(":", 1)
            chosen = ids[slice(int(a) if a else None, int(b) if b else None)]
        else:
            wanted = (
                [t.strip() for t in tasks.split(",")] if isinstance(tasks, str) else [str(t) for t in tasks]
            )
            missing = [t for t in wanted if t not in set(ids)]
            if missing:
                raise ValueError(f"unknown task ids: {', '.join(missing[:5])}")
            chosen = wanted
    if episodes is not None and episodes < len(chosen):
        keep = sorted(random.Random(seed).sample(range(len(chosen)), episodes))
        chosen = [chosen[i] for i in keep]
    if shuffle:
        chosen = list(chosen)
        random.Random(seed).shuffle(chosen)
    return chosen


class Runner:
    """Plays a plan of episodes and records them. See the module docstring.

    envs: env ids for `gymnasium.make` (registered ids, or `module:Id`), each optionally labelled
    `id#name` (see `gym_id_of`). env_kwargs: kwargs by label, gym id, or "*" for all. policies:
    `PolicyEntry`s. max_steps: the most steps of one episode (`SAFETY_STEP_CAP` by default).
    shuffle: True plays each env's tasks in a seeded random order (envs one after another); "all"
    shuffles every policy's whole sequence across envs (the reference's shuffled run over all subsets).
    on_record(record dict): called after each record is written (progress bars).
    on_plan(planned, skipped): called once the plan is known. out_lock: the lock on `out` when the
    caller claimed it already (`claim_out_folder`); otherwise `run` claims it, and raises
    `OutFolderError` if another run holds the folder.
    executor: where envs live: "local" (default), "ray", or an `Executor`; executor_options go to
    its constructor (ray: address, env_cpus, retries; see `seer_env.ray_executor`).
    retry_errors: play again the recorded episodes that ended in an error (default) or keep them.
    max_consecutive_errors: stop the run when this many episodes in a row end in the same kind of
    error (0: never).
    """

    def __init__(
        self,
        envs: Sequence[str],
        policies: Sequence[PolicyEntry],
        out: str | os.PathLike[str],
        *,
        tasks: str | Sequence[str] | None = None,
        episodes: int | None = None,
        trials: int = 1,
        concurrency: int = 8,
        seed: int = 0,
        shuffle: bool | str = False,
        accumulate: str = "online",
        env_kwargs: dict[str, Any] | None = None,
        max_steps: int = SAFETY_STEP_CAP,
        config: dict[str, Any] | None = None,
        on_record: Callable[[dict[str, Any]], None] | None = None,
        on_plan: Callable[[int, int], None] | None = None,
        fsync: bool = True,
        out_lock: ClaimedLock | None = None,
        executor: str | Executor | None = None,
        executor_options: dict[str, Any] | None = None,
        retry_errors: bool = True,
        max_consecutive_errors: int = 0,
    ):
        if not envs or not policies:
            raise ValueError("need at least one env and one policy")
        self.envs = list(envs)
        self.policies = {p.label: p for p in policies}
        self.out = Path(out)
        self.tasks, self.episodes, self.seed, self.shuffle = tasks, episodes, seed, shuffle
        self.trials = max(1, int(trials))
        self.concurrency = max(1, int(concurrency))
        self.accumulate = accumulate
        self.env_kwargs = dict(env_kwargs or {})
        self.max_steps = max_steps
        self.config = dict(config or {})
        self.on_record, self.on_plan = on_record, on_plan
        self.fsync = fsync
        self.out_lock = out_lock
        self.retry_errors = retry_errors
        self.breaker = CircuitBreaker(max_consecutive_errors)
        self._tasks: list[asyncio.Future] = []
        self.results_path = self.out / RESULTS_FILE
        self.manifest_path = self.out / MANIFEST_FILE
        self.events_path = self.out / EVENTS_FILE
        self._executor: ThreadPoolExecutor | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._results: ResultsFile | None = None
        self.executor = make_executor(executor, **dict(executor_options or {}))
        self._env_specs: dict[str, EnvDescription] = {}
        self._policy_cache: dict[tuple[str, str], InstanceCache] = {}
        self.accumulation: Accumulation | None = None  # set when the run starts
        self.counts: dict[str, Any] = {}
        self.plan: list[EpisodeSpec] = []
        self.task_lists: dict[str, list[str]] = {}

    # -- threads, envs, policies --------------------------------------------------------------
    async def _in_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    def env_kwargs_for(self, env_id: str) -> dict[str, Any]:
        """kwargs for an env label: by the label, else by its gym id, else `"*"`."""
        for key in (env_id, gym_id_of(env_id), "*"):
            if key in self.env_kwargs:
                return dict(self.env_kwargs[key])
        return {}

    def env_args(self, env_id: str) -> tuple[str, dict[str, Any]]:
        """How an env of this label is built: its gym id and the kwargs for `gymnasium.make`."""
        kwargs = self.env_kwargs_for(env_id)
        if "max_steps" in kwargs:  # Gymnasium's TimeLimit follows the env's own cap
            kwargs.setdefault("max_episode_steps", kwargs["max_steps"])
        return gym_id_of(env_id), kwargs

    def _policies(self, label: str, env_id: str) -> InstanceCache:
        key = (label, env_id)
        if key not in self._policy_cache:
            entry = self.policies[label]

            async def build() -> Policy:
                policy = entry.factory(env_id)
                spec = self._env_specs.get(env_id)
                policy.prepare(spec.info if spec is not None else {})
                return policy

            self._policy_cache[key] = InstanceCache(build)
        return self._policy_cache[key]

    # -- plan ---------------------------------------------------------------------------------
    async def build_plan(self) -> list[EpisodeSpec]:
        """Every episode to play, policies interleaved so that all of them progress together."""
        for env_id in self.envs:
            self._env_specs[env_id] = spec = await self.executor.describe(env_id)
            self.task_lists[env_id] = select_tasks(
                spec.task_ids,
                self.tasks,
                self.episodes,
                seed=stable_seed(self.seed, env_id),
                shuffle=self.shuffle,
            )
        seqs = {label: self._sequence(label) for label in self.policies}
        longest = max(len(s) for s in seqs.values())
        self.plan = [
            seqs[label][i] for i in range(longest) for label in self.policies if i < len(seqs[label])
        ]
        # build one instance of each policy now: a configuration error fails the run at once
        for label in self.policies:
            for env_id in self.envs:
                cache = self._policies(label, env_id)
                cache.release(await cache.acquire())
        return self.plan

    def _sequence(self, label: str) -> list[EpisodeSpec]:
        seq: list[EpisodeSpec] = []
        for trial in range(self.trials):
            order = [(env_id, tid) for env_id in self.envs for tid in self.task_lists[env_id]]
            if self.shuffle == "all":
                random.Random(stable_seed(self.seed, "all", trial)).shuffle(order)
            for env_id, tid in order:
                seq.append(EpisodeSpec(env_id, label, tid, trial, len(seq)))
        return seq

    # -- one episode ----------------------------------------------------------------------------
    async def _play(self, spec: EpisodeSpec) -> tuple[EpisodeRecord, Trajectory, Policy | None]:
        entry = self.policies[spec.policy]
        seed = stable_seed(self.seed, spec.env_id, spec.task_id, spec.trial)
        options: dict[str, Any] = {
            "task_id": spec.task_id,
            **({"reveal_gold": True} if entry.needs_gold else {}),
        }
        t_start, t0 = time.time(), time.perf_counter()
        policy = None
        out = EpisodeOutcome()
        with usage_scope() as usage:
            try:
                policy = await self._policies(spec.policy, spec.env_id).acquire()
                # the one place an episode is dispatched: the executor hosts the env
                out = await self.executor.play(
                    spec.env_id, policy, seed=seed, options=options, max_steps=self.max_steps
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                out.error = error_of(exc)
            traj = episode_trajectory(spec.env_id, spec.task_id, out, policy)
            usage_d = episode_usage(usage.to_dict(), policy)
        timings = {
            "start": round(t_start, 3),
            "end": round(time.time(), 3),
            "wall_s": round(time.perf_counter() - t0, 4),
            "env_s": round(out.env_seconds, 4),
            "llm_s": usage_d.get("llm_seconds", 0.0),
            "recall_s": traj.meta.get("recall_seconds", 0.0),
        }
        record = EpisodeRecord(
            env_id=spec.env_id,
            policy=spec.policy,
            task_id=spec.task_id,
            trial=spec.trial,
            index=spec.index,
            model=entry.model,
            domain=out.reset_info.get("domain"),
            success=traj.success,
            reward=traj.reward,
            n_steps=len(traj.steps),
            error=out.error,
            usage=usage_d,
            timings=timings,
            seed=seed,
            trajectory=traj,
            verdicts=_verdicts(out.final_info) if out.terminated else None,
            gold=out.gold,
        )
        return record, traj, policy

    async def _after_episode(
        self, spec: EpisodeSpec, record: EpisodeRecord, traj: Trajectory, policy: Policy
    ) -> None:
        """The pool update (now, or held for the batch) and the pool's size; the episode is kept if they fail."""
        try:
            if record.error is None:
                if self.accumulation.batching(spec.policy):
                    self.accumulation.hold(spec, traj)
                else:
                    await policy.aobserve(traj)
                with contextlib.suppress(Exception):  # a database query: off the loop
                    record.pool_size = await self._in_thread(policy.pool_size)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("observe failed for %s: %s", spec.key, exc)
            record.observe_error = f"{type(exc).__name__}: {exc}"[:1000]
        finally:
            self._policies(spec.policy, spec.env_id).release(policy)

    async def _observe_batch(self, label: str, env_id: str, trajectories: list[Trajectory]) -> None:
        """A finished batch's successes into the pool of `label`, through one of its instances."""
        cache = self._policies(label, env_id)
        policy = await cache.acquire()
        try:
            for traj in trajectories:
                try:
                    await policy.aobserve(traj)
                except Exception as exc:
                    log.warning("pool update failed for %s: %s", traj.task_id, exc)
        finally:
            cache.release(policy)

    async def _episode(self, spec: EpisodeSpec, slots: asyncio.Semaphore) -> None:
        """Play one episode when its turn comes, update the pool, write its record."""
        await self.accumulation.wait_turn(spec)
        try:
            async with slots:
                record, traj, policy = await self._play(spec)
            # the pool update and the write run outside the slot: the next episode starts meanwhile
            if policy is not None:
                await self._after_episode(spec, record, traj, policy)
            # one writer thread: lines stay whole and in order, and fsync never blocks the loop
            await asyncio.get_running_loop().run_in_executor(self._writer, self._results.write, record)
        except asyncio.CancelledError:
            raise
        except Exception:  # recording failed (disk?): say so, and let the others go on
            log.exception("could not record episode %s", spec.key)
            self.counts["errors"] += 1
        else:
            self.counts["done"] += 1
            self.counts["success"] += int(record.success)
            self.counts["errors"] += int(record.error is not None)
            if self.on_record:
                with contextlib.suppress(Exception):
                    self.on_record(record.to_dict())
            if self.breaker.record(record.error):
                self._stop(self.breaker.reason or "circuit breaker")
        await self.accumulation.episode_done(spec)

    def _stop(self, reason: str) -> None:
        """End the run early: every episode not yet finished is cancelled (and played on resume)."""
        log.info("%s", reason)
        self.counts["stopped"] = reason
        current = asyncio.current_task()
        for t in self._tasks:
            if t is not current and not t.done():
                t.cancel()

    # -- the run ----------------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        """Play every planned episode not yet recorded. Returns counts."""
        lock = self.out_lock or claim_out_folder(self.out)
        self._executor = ThreadPoolExecutor(
            max_workers=min(64, self.concurrency + 4), thread_name_prefix="seer-env"
        )
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seer-env-writer")
        # What exists now (imported modules, corpora, models) lives as long as the run: keep it out of
        # the cyclic collector, whose full passes over it stalled every episode for ~0.3 s at a time.
        gc.freeze()
        # Episodes allocate many short-lived objects (requests, replies, records); collecting the young
        # generation every 700 allocations scanned the survivors of every episode in flight again and
        # again. A larger first threshold lets most of them die first (reference counting frees them).
        thresholds = gc.get_threshold()
        gc.set_threshold(max(thresholds[0], GC_YOUNG_THRESHOLD), *thresholds[1:])
        try:
            await self.executor.open(self.env_args, self._in_thread)
            return await self._run()
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()
            with contextlib.suppress(Exception):
                await self.executor.close()
            self._writer.shutdown(wait=True)  # every record handed to the writer reaches the disk
            if self._results is not None:
                self._results.close()
                self._results = None
            self._executor.shutdown(wait=False, cancel_futures=True)
            if lock is not self.out_lock:
                lock.release()

    async def _run(self) -> dict[str, Any]:
        await self.build_plan()
        recorded = {r.key: r for r in read_episodes(self.results_path)}
        if self.retry_errors:  # an error is not a result: play those episodes again
            replay = {k for k, r in recorded.items() if r.error is not None}
            recorded = {k: r for k, r in recorded.items() if k not in replay}
        else:
            replay = set()
        todo = [s for s in self.plan if s.key not in recorded]
        skipped = len(self.plan) - len(todo)
        replayed = sum(1 for s in todo if s.key in replay)
        gated = {label: e.accumulates and self.accumulate != "none" for label, e in self.policies.items()}
        self.accumulation = Accumulation(
            self.accumulate, self.plan, gated, self.events_path, self._observe_batch, self.fsync
        )
        if self.on_plan:
            self.on_plan(len(self.plan), skipped)
        self._results = ResultsFile(self.results_path, self.fsync)
        self._write_manifest(
            "started",
            {
                "skipped": skipped,
                "to_play": len(todo),
                "replayed_errors": replayed,
                "pools_at_start": self._pool_facts(),
            },
        )
        await self.accumulation.resume(self.plan, recorded)
        copies: dict[str, int] = {}
        for s in todo:
            copies[s.env_id] = min(self.concurrency, copies.get(s.env_id, 0) + 1)
        await self.executor.prepare(copies)
        self.counts = {"done": 0, "success": 0, "errors": 0, "skipped": skipped, "replayed": replayed}
        slots = asyncio.Semaphore(self.concurrency)
        tasks = self._tasks = [asyncio.ensure_future(self._episode(s, slots)) for s in todo]
        status = "finished"
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if "stopped" not in self.counts:
                status = "interrupted"
                raise
            status = "stopped"
        finally:
            self.counts["planned"] = len(self.plan)
            with contextlib.suppress(Exception):
                self._write_manifest(status, {**self.counts, "pools": self._pool_facts()})
        return self.counts

    # -- manifest -------------------------------------------------------------------------------
    def _pool_facts(self) -> dict[str, Any]:
        """Size and content hash of each policy's pool, keyed `label:namespace`."""
        facts: dict[str, Any] = {}
        for (label, _env), cache in self._policy_cache.items():
            # the instances of one policy share its pool: the first that answers speaks for all (hashing
            # the pool once per instance cost seconds at high concurrency)
            for policy in cache.idle:
                try:
                    summary = policy.pool_summary()
                except Exception:
                    continue
                if summary is not None and f"{label}:{summary['namespace']}" not in facts:
                    facts[f"{label}:{summary['namespace']}"] = {
                        "size": summary["size"],
                        "hash": summary["hash"],
                    }
                break
        return facts

    def _write_manifest(self, status: str, extra: dict[str, Any] | None = None) -> None:
        body = {
            "config": self.config
            or {
                "envs": self.envs,
                "policies": list(self.policies),
                "trials": self.trials,
                "concurrency": self.concurrency,
                "seed": self.seed,
                "accumulate": self.accumulate,
            },
            "policies": {label: {"model": e.model, **e.describe} for label, e in self.policies.items()},
            "models": sorted({e.model for e in self.policies.values() if e.model}),
            "tasks": {env: len(t) for env, t in self.task_lists.items()},
            "planned_episodes": len(self.plan),
            "executor": self.executor.facts(),
            # what `seer-env export` needs to render episodes as chat: each env's info and tools
            "env_specs": {env: {"info": d.info, "tools": d.tools} for env, d in self._env_specs.items()},
        }
        write_manifest(self.manifest_path, body, status, extra)


def run_sync(runner: Runner) -> dict[str, Any]:
    """Run a `Runner` to completion from synchronous code."""
    return asyncio.run(runner.run())

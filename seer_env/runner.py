"""The async runner: policies × envs × tasks × trials, concurrently, recorded episode by episode.

- Bounded concurrency (an asyncio semaphore). `env.reset`, `env.step` and env construction run in
  worker threads, so a slow tool never blocks LLM calls; one env instance per concurrent episode,
  reused through a pool of envs per env id; likewise one policy instance per concurrent episode
  (instances of one policy share their LLM client and experience pool).
- One JSON line per finished episode in `results.jsonl`, written, flushed and fsync'd when the
  episode ends; `manifest.json` holds the config, package versions, models and pool hashes.
- Resume: episodes already in `results.jsonl` (key = env, policy, task, trial) are skipped.
- A failing episode is recorded with its error; it never ends the run. Ctrl-C (task cancellation)
  stops cleanly: every finished episode is already on disk.
- Accumulation order for policies that add to a pool (`accumulate`): `online` (as episodes end),
  `sequential` (episode i starts after episode i-1 of that policy has updated the pool: the
  reference's domain-ordered run, reproducible), `batch:N` (episodes of a batch run concurrently, their
  successes enter the pool in task order when the whole batch is done, as the reference's shuffled
  run), `none` (the pool is not updated).

This module is core: it imports no agent, env or pool; policies come in as factories
(`seer_env.runner_cli` builds them by name).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import logging
import os
import platform
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seer_env.llm import usage_scope
from seer_env.types import Step, ToolCall, Trajectory

log = logging.getLogger(__name__)

RESULTS_FILE = "results.jsonl"
MANIFEST_FILE = "manifest.json"
EVENTS_FILE = "events.jsonl"


class StopEpisode(Exception):  # noqa: N818 (a signal, not an error)
    """Raised by a policy's `act` to end its episode early (step cap, stop at a failed step)."""


EpisodeKey = tuple[str, str, str, int]  # env, policy, task, trial


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
    factory: Callable[[str], Any]
    model: str | None = None
    accumulates: bool = False
    needs_gold: bool = False
    describe: dict[str, Any] = field(default_factory=dict)


def gym_id_of(env_label: str) -> str:
    """An env label is a gym id, optionally with `#name` to tell apart several configurations of it
    (e.g. `ToolQA-easy-v0#flight`, with its kwargs under that label in `env_kwargs`)."""
    return env_label.split("#", 1)[0]


def record_key(rec: dict[str, Any]) -> EpisodeKey:
    return (rec["env_id"], rec["policy"], str(rec["task_id"]), int(rec.get("trial", 0)))


def read_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every complete record of a results file; a torn last line (a kill mid-write) is skipped."""
    out: list[dict[str, Any]] = []
    p = Path(path)
    if not p.exists():
        return out
    with p.open("r", encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
                record_key(rec)
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                log.warning("%s:%d: unreadable record skipped", p, n)
                continue
            out.append(rec)
    return out


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
    shuffle: play them in a seeded random order.
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
            known = set(ids)
            missing = [t for t in wanted if t not in known]
            if missing:
                raise ValueError(f"unknown task ids: {', '.join(missing[:5])}")
            chosen = wanted
    if episodes is not None and episodes < len(chosen):
        rng = random.Random(seed)
        keep = sorted(rng.sample(range(len(chosen)), episodes))
        chosen = [chosen[i] for i in keep]
    if shuffle:
        chosen = list(chosen)
        random.Random(seed).shuffle(chosen)
    return chosen


def package_versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in (
        "seer-env",
        "gymnasium",
        "litellm",
        "numpy",
        "sentence-transformers",
        "faiss-cpu",
        "sqlalchemy",
        "torch",
        "tau-bench",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def _git_commit() -> str | None:
    head = Path(__file__).resolve().parents[1] / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            return (head.parent / ref[5:]).read_text().strip()
        return ref
    except OSError:
        return None


class _Pool:
    """Free instances, built on demand by an async factory."""

    def __init__(self, build: Callable[[], Any]):
        self.build = build
        self.free: list[Any] = []

    async def acquire(self) -> Any:
        if self.free:
            return self.free.pop()
        return await self.build()

    def release(self, obj: Any) -> None:
        self.free.append(obj)


class _Gates:
    """Start and pool-update order of accumulating policies (see the module docstring)."""

    def __init__(self, mode: str, sizes: dict[str, int]):
        self.mode = mode
        self.batch = 0
        if mode.startswith("batch:"):
            self.batch = int(mode.split(":", 1)[1])
            if self.batch <= 0:
                raise ValueError("batch size must be positive")
        elif mode not in ("online", "sequential", "none"):
            raise ValueError("accumulate must be online, sequential, batch:N or none")
        self.done: dict[str, list[asyncio.Event]] = {
            p: [asyncio.Event() for _ in range(n)] for p, n in sizes.items()
        }
        self.batch_applied: dict[str, dict[int, asyncio.Event]] = defaultdict(dict)
        self.buffers: dict[str, dict[int, list[tuple[int, Trajectory]]]] = defaultdict(
            lambda: defaultdict(list)
        )

    def batch_of(self, index: int) -> int:
        return index // self.batch

    def applied_event(self, policy: str, b: int) -> asyncio.Event:
        return self.batch_applied[policy].setdefault(b, asyncio.Event())

    async def wait_turn(self, spec: EpisodeSpec, gated: bool) -> None:
        if not gated or spec.index == 0:
            return
        if self.mode == "sequential":
            await self.done[spec.policy][spec.index - 1].wait()
        elif self.batch:
            b = self.batch_of(spec.index)
            if b > 0:
                await self.applied_event(spec.policy, b - 1).wait()

    def batch_complete(self, policy: str, b: int) -> bool:
        events = self.done[policy]
        lo, hi = b * self.batch, min(len(events), (b + 1) * self.batch)
        return all(e.is_set() for e in events[lo:hi])


class Runner:
    """Plays a plan of episodes and records them. See the module docstring.

    envs: env ids for `gymnasium.make` (registered ids, or `module:Id`), each optionally labelled
    `id#name` (see `gym_id_of`). env_kwargs: kwargs by label, gym id, or "*" for all. policies:
    `PolicyEntry`s.
    on_record(record): called after each record is written (progress bars).
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
        shuffle: bool = False,
        accumulate: str = "online",
        env_kwargs: dict[str, Any] | None = None,
        max_steps: int = 50,
        config: dict[str, Any] | None = None,
        on_record: Callable[[dict[str, Any]], None] | None = None,
        on_plan: Callable[[int, int], None] | None = None,
        fsync: bool = True,
    ):
        if not envs or not policies:
            raise ValueError("need at least one env and one policy")
        self.envs = list(envs)
        self.policies = {p.label: p for p in policies}
        self.out = Path(out)
        self.tasks = tasks
        self.episodes = episodes
        self.trials = max(1, int(trials))
        self.concurrency = max(1, int(concurrency))
        self.seed = seed
        self.shuffle = shuffle
        self.accumulate = accumulate
        self.env_kwargs = dict(env_kwargs or {})
        self.max_steps = max_steps
        self.config = dict(config or {})
        self.on_record = on_record
        self.on_plan = on_plan
        self.fsync = fsync
        self.results_path = self.out / RESULTS_FILE
        self.manifest_path = self.out / MANIFEST_FILE
        self.events_path = self.out / EVENTS_FILE
        self._executor: ThreadPoolExecutor | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._env_pools: dict[str, _Pool] = {}
        self._env_locks: dict[str, asyncio.Lock] = {}
        self._policy_pools: dict[tuple[str, str], _Pool] = {}
        self._results_file: Any = None
        self.counts: dict[str, Any] = {}
        self.plan: list[EpisodeSpec] = []
        self.task_lists: dict[str, list[str]] = {}
        self._stopping = False

    # -- threads, envs, policies --------------------------------------------------------------
    async def _in_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    def env_kwargs_for(self, env_id: str) -> dict[str, Any]:
        """kwargs for an env label: by the label, else by its gym id, else `"*"`."""
        gym_id = gym_id_of(env_id)
        for key in (env_id, gym_id, "*"):
            if key in self.env_kwargs:
                return dict(self.env_kwargs[key])
        return {}

    def _make_env_sync(self, env_id: str) -> Any:
        import gymnasium as gym

        import seer_env  # noqa: F401  (registers the ids)

        return gym.make(gym_id_of(env_id), disable_env_checker=True, **self.env_kwargs_for(env_id))

    async def _new_env(self, env_id: str) -> Any:
        lock = self._env_locks.setdefault(env_id, asyncio.Lock())
        # the first instance is built alone (it may generate or cache data other instances reuse)
        if env_id not in self.task_lists:
            async with lock:
                return await self._in_thread(self._make_env_sync, env_id)
        return await self._in_thread(self._make_env_sync, env_id)

    def _env_pool(self, env_id: str) -> _Pool:
        if env_id not in self._env_pools:
            self._env_pools[env_id] = _Pool(lambda: self._new_env(env_id))
        return self._env_pools[env_id]

    def _policy_pool(self, label: str, env_id: str) -> _Pool:
        key = (label, env_id)
        if key not in self._policy_pools:
            entry = self.policies[label]

            async def build() -> Any:
                return entry.factory(env_id)

            self._policy_pools[key] = _Pool(build)
        return self._policy_pools[key]

    # -- plan ---------------------------------------------------------------------------------
    async def build_plan(self) -> list[EpisodeSpec]:
        for env_id in self.envs:
            env = await self._new_env(env_id)
            ids = list(env.unwrapped.task_ids)
            self.task_lists[env_id] = select_tasks(
                ids, self.tasks, self.episodes, seed=stable_seed(self.seed, env_id), shuffle=self.shuffle
            )
            self._env_pool(env_id).release(env)
        seqs: dict[str, list[EpisodeSpec]] = {}
        for label in self.policies:
            seq = []
            for trial in range(self.trials):
                for env_id in self.envs:
                    for tid in self.task_lists[env_id]:
                        seq.append(EpisodeSpec(env_id, label, tid, trial, len(seq)))
            seqs[label] = seq
        # interleave policies so all of them progress together
        plan = []
        longest = max(len(s) for s in seqs.values())
        for i in range(longest):
            for label in self.policies:
                if i < len(seqs[label]):
                    plan.append(seqs[label][i])
        self.plan = plan
        # build one instance of each policy now: a configuration error fails the run at once
        for label in self.policies:
            for env_id in self.envs:
                pool = self._policy_pool(label, env_id)
                pool.release(await pool.acquire())
        return plan

    # -- one episode ----------------------------------------------------------------------------
    async def _play(self, spec: EpisodeSpec) -> tuple[dict[str, Any], Trajectory | None, Any]:
        entry = self.policies[spec.policy]
        env_pool = self._env_pool(spec.env_id)
        pol_pool = self._policy_pool(spec.policy, spec.env_id)
        t_start = time.time()
        t0 = time.perf_counter()
        env_s = 0.0
        env = policy = None
        env_broken = False
        error: dict[str, Any] | None = None
        halted: str | None = None
        traj: Trajectory | None = None
        steps: list[Step] = []
        info0: dict[str, Any] = {}
        final_info: dict[str, Any] = {}
        reward_total = 0.0
        terminated = truncated = False
        seed = stable_seed(self.seed, spec.env_id, spec.task_id, spec.trial)
        with usage_scope() as usage:
            try:
                env = await env_pool.acquire()
                policy = await pol_pool.acquire()
                options: dict[str, Any] = {"task_id": spec.task_id}
                if entry.needs_gold:
                    options["reveal_gold"] = True
                te = time.perf_counter()
                try:
                    obs, info0 = await self._in_thread(env.reset, seed=seed, options=options)
                except Exception:
                    env_broken = True
                    raise
                env_s += time.perf_counter() - te
                info0 = dict(info0 or {})
                policy.reset(seed=seed, info=info0)
                info = dict(info0)
                for _ in range(self.max_steps):
                    try:
                        action = await policy.act(obs, info)
                    except StopEpisode as stop:
                        halted = str(stop) or "stopped by the policy"
                        break
                    thought = getattr(policy, "last_thought", None)
                    te = time.perf_counter()
                    try:
                        obs, reward, terminated, truncated, step_info = await self._in_thread(
                            env.step, action
                        )
                    except Exception:
                        env_broken = True
                        raise
                    env_s += time.perf_counter() - te
                    step_info = dict(step_info or {})
                    reward_total += float(reward or 0.0)
                    call = action if isinstance(action, ToolCall) else ToolCall("", {}, raw=str(action))
                    steps.append(Step(call, str(obs), ok=bool(step_info.get("ok", True)), thought=thought))
                    final_info = step_info
                    if terminated or truncated:
                        break
                    info = {**info0, **step_info}
                else:
                    halted = f"runner step cap of {self.max_steps} reached"
            except asyncio.CancelledError:
                env_broken = True  # mid-episode: do not reuse
                raise
            except Exception as exc:
                log.debug("episode %s failed", spec.key, exc_info=True)
                error = {
                    "type": type(exc).__name__,
                    "message": str(exc)[:2000],
                    "kind": getattr(exc, "kind", None),
                }
            finally:
                if env is not None and not env_broken:
                    env_pool.release(env)
            meta: dict[str, Any] = {
                "domain": info0.get("domain"),
                "terminated": bool(terminated),
                "truncated": bool(truncated),
                "halted": halted,
            }
            if policy is not None:
                with contextlib.suppress(Exception):
                    meta.update(policy.episode_meta() if hasattr(policy, "episode_meta") else {})
            success = bool(final_info.get("success", reward_total >= 1.0)) if terminated else False
            if error is not None:
                success = False
            traj = Trajectory(
                env_id=spec.env_id,
                task_id=spec.task_id,
                query=str(info0.get("query") or ""),
                intent=getattr(policy, "intent", None) if policy is not None else None,
                steps=steps,
                answer=None if final_info.get("answer") is None else str(final_info.get("answer")),
                reward=reward_total,
                success=success,
                meta={k: v for k, v in meta.items() if v is not None},
            )
            wall = time.perf_counter() - t0
            usage_d = usage.to_dict()
            if policy is not None and not usage_d["calls"]:
                with contextlib.suppress(Exception):
                    pu = policy.usage() or {}
                    if pu.get("calls"):
                        usage_d.update(pu)
        record = {
            "env_id": spec.env_id,
            "policy": spec.policy,
            "task_id": spec.task_id,
            "trial": spec.trial,
            "index": spec.index,
            "model": entry.model,
            "domain": info0.get("domain"),
            "success": traj.success,
            "reward": traj.reward,
            "n_steps": len(steps),
            "error": error,
            "usage": usage_d,
            "timings": {
                "start": round(t_start, 3),
                "end": round(time.time(), 3),
                "wall_s": round(wall, 4),
                "env_s": round(env_s, 4),
                "llm_s": usage_d.get("llm_seconds", 0.0),
                "recall_s": meta.get("recall_seconds", 0.0),
            },
            "seed": seed,
            "trajectory": traj.to_dict(),
        }
        return record, traj, policy

    # -- recording --------------------------------------------------------------------------------
    def _write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, default=str)
        self._results_file.write(line + "\n")
        self._results_file.flush()
        if self.fsync:
            os.fsync(self._results_file.fileno())

    def _event(self, event: dict[str, Any]) -> None:
        with self.events_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(event) + "\n")
            f.flush()
            if self.fsync:
                os.fsync(f.fileno())

    def _pool_facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = {}
        seen: set[int] = set()
        for (label, _env), pool in self._policy_pools.items():
            for inst in pool.free:
                mem = getattr(inst, "memory", None)
                if mem is None or id(mem) in seen or not hasattr(mem, "content_hash"):
                    continue
                seen.add(id(mem))
                with contextlib.suppress(Exception):
                    facts[f"{label}:{getattr(mem, 'namespace', '?')}"] = {
                        "size": len(mem),
                        "hash": mem.content_hash(),
                    }
        return facts

    def _write_manifest(self, status: str, extra: dict[str, Any] | None = None) -> None:
        old: dict[str, Any] = {}
        if self.manifest_path.exists():
            with contextlib.suppress(OSError, json.JSONDecodeError):
                old = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        sessions = list(old.get("sessions", []))
        session = {
            "status": status,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **(extra or {}),
        }
        if status == "started" or not sessions:
            sessions.append(session)
        else:
            sessions[-1] = {**sessions[-1], **session}
        manifest = {
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
            "versions": package_versions(),
            "git_commit": _git_commit(),
            "tasks": {env: len(t) for env, t in self.task_lists.items()},
            "planned_episodes": len(self.plan),
            "sessions": sessions,
        }
        tmp = self.manifest_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, self.manifest_path)

    # -- the run ----------------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        """Play every planned episode not yet recorded. Returns counts."""
        self.out.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(
            max_workers=min(64, self.concurrency + 4), thread_name_prefix="seer-env"
        )
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seer-env-writer")
        # What exists now (imported modules, corpora, models) lives as long as the run: keep it out of
        # the cyclic collector, whose full passes over it stalled every episode for ~0.3 s at a time.
        gc.freeze()
        try:
            return await self._run()
        finally:
            gc.unfreeze()
            self._writer.shutdown(wait=True)  # every record handed to the writer reaches the disk
            if self._results_file is not None:
                self._results_file.close()
                self._results_file = None
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run(self) -> dict[str, Any]:
        await self.build_plan()
        existing = read_records(self.results_path)
        done_keys: set[EpisodeKey] = set()
        by_key: dict[EpisodeKey, dict[str, Any]] = {}
        for rec in existing:
            k = record_key(rec)
            done_keys.add(k)
            by_key[k] = rec
        todo = [s for s in self.plan if s.key not in done_keys]
        skipped = len(self.plan) - len(todo)
        sizes: dict[str, int] = defaultdict(int)
        for s in self.plan:
            sizes[s.policy] = max(sizes[s.policy], s.index + 1)
        gates = _Gates(self.accumulate, sizes)
        gated = {label: e.accumulates and self.accumulate != "none" for label, e in self.policies.items()}
        applied_batches = self._applied_batches()
        for s in self.plan:
            if s.key in done_keys:
                gates.done[s.policy][s.index].set()
        if self.on_plan:
            self.on_plan(len(self.plan), skipped)
        # torn last line from a kill: start the file on a fresh line
        if self.results_path.exists() and self.results_path.stat().st_size:
            with self.results_path.open("rb") as f:
                f.seek(-1, os.SEEK_END)
                needs_nl = f.read(1) != b"\n"
            if needs_nl:
                with self.results_path.open("a", encoding="utf-8") as f:
                    f.write("\n")
        self._results_file = self.results_path.open("a", encoding="utf-8")
        self._write_manifest(
            "started", {"skipped": skipped, "to_play": len(todo), "pools_at_start": self._pool_facts()}
        )

        if gates.batch:
            # resume: re-buffer recorded successes of batches whose pool update was not applied
            for s in self.plan:
                if s.key in done_keys and gated[s.policy]:
                    b = gates.batch_of(s.index)
                    if b in applied_batches.get(s.policy, set()):
                        gates.applied_event(s.policy, b).set()
                        continue
                    rec = by_key[s.key]
                    if rec.get("success"):
                        with contextlib.suppress(Exception):
                            gates.buffers[s.policy][b].append(
                                (s.index, Trajectory.from_dict(rec["trajectory"]))
                            )
            for label, events in gates.done.items():
                if not gated.get(label):
                    continue
                for b in range(0, (len(events) + gates.batch - 1) // gates.batch):
                    if not gates.applied_event(label, b).is_set() and gates.batch_complete(label, b):
                        env_id = self.plan[0].env_id
                        await self._apply_batch(gates, label, b, env_id)

        sem = asyncio.Semaphore(self.concurrency)
        stats = {"done": 0, "success": 0, "errors": 0, "skipped": skipped}

        async def one(spec: EpisodeSpec) -> None:
            g = gated[spec.policy]
            await gates.wait_turn(spec, g)
            try:
                async with sem:
                    record, traj, policy = await self._play(spec)
                # the pool update and the write run outside the slot: the next episode starts meanwhile
                try:
                    if traj is not None and policy is not None and record["error"] is None:
                        if g and gates.batch:
                            if traj.success:
                                gates.buffers[spec.policy][gates.batch_of(spec.index)].append(
                                    (spec.index, traj)
                                )
                        else:
                            await policy.aobserve(traj)
                        mem = getattr(policy, "memory", None)
                        if mem is not None and hasattr(mem, "__len__"):
                            with contextlib.suppress(Exception):  # a database query: off the loop
                                record["pool_size"] = await self._in_thread(len, mem)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the pool update failing must not lose the episode
                    log.warning("observe failed for %s: %s", spec.key, exc)
                    record["observe_error"] = f"{type(exc).__name__}: {exc}"[:1000]
                finally:
                    if policy is not None:
                        self._policy_pool(spec.policy, spec.env_id).release(policy)
                # one writer thread: lines stay whole and in order, and fsync never blocks the loop
                await asyncio.get_running_loop().run_in_executor(self._writer, self._write, record)
            except asyncio.CancelledError:
                raise
            except Exception:  # recording failed (disk?): say so, and let the others go on
                log.exception("could not record episode %s", spec.key)
                stats["errors"] += 1
            else:
                stats["done"] += 1
                stats["success"] += int(bool(record["success"]))
                stats["errors"] += int(record["error"] is not None)
                if self.on_record:
                    with contextlib.suppress(Exception):
                        self.on_record(record)
            gates.done[spec.policy][spec.index].set()
            if g and gates.batch:
                b = gates.batch_of(spec.index)
                if gates.batch_complete(spec.policy, b):
                    await self._apply_batch(gates, spec.policy, b, spec.env_id)

        tasks = [asyncio.ensure_future(one(s)) for s in todo]
        status = "finished"
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            status = "interrupted"
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            self.counts = {**stats, "planned": len(self.plan)}
            with contextlib.suppress(Exception):
                self._write_manifest(status, {**self.counts, "pools": self._pool_facts()})
        return self.counts

    def _plan_tag(self, label: str) -> str:
        """A hash of one policy's episode sequence and the batch size."""
        seq = [s.key for s in self.plan if s.policy == label]
        return hashlib.sha256(json.dumps([self.accumulate, seq]).encode()).hexdigest()[:16]

    def _applied_batches(self) -> dict[str, set[int]]:
        out: dict[str, set[int]] = defaultdict(set)
        if self.events_path.exists():
            for line in self.events_path.read_text(encoding="utf-8").splitlines():
                with contextlib.suppress(json.JSONDecodeError, KeyError, TypeError):
                    ev = json.loads(line)
                    # a marker counts only for the same batching of the same plan (a resume)
                    if ev.get("event") == "batch_applied" and ev.get("plan") == self._plan_tag(ev["policy"]):
                        out[ev["policy"]].add(int(ev["batch"]))
        return out

    async def _apply_batch(self, gates: _Gates, label: str, b: int, env_id: str) -> None:
        """Add a finished batch's successes to the pool, in task order, then let the next batch start."""
        ev = gates.applied_event(label, b)
        if ev.is_set():
            return
        items = sorted(gates.buffers[label].pop(b, []), key=lambda x: x[0])
        if items:
            pool = self._policy_pool(label, env_id)
            policy = await pool.acquire()
            try:
                for _, traj in items:
                    try:
                        await policy.aobserve(traj)
                    except Exception as exc:
                        log.warning("pool update failed for %s: %s", traj.task_id, exc)
            finally:
                pool.release(policy)
        self._event(
            {
                "event": "batch_applied",
                "policy": label,
                "batch": b,
                "added": len(items),
                "plan": self._plan_tag(label),
            }
        )
        ev.set()


def run_sync(runner: Runner) -> dict[str, Any]:
    """Run a `Runner` to completion from synchronous code."""
    return asyncio.run(runner.run())


def summarize(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Success rate per policy (a quick look; `seer_env.report` has the full tables)."""
    acc: dict[str, list[int]] = defaultdict(list)
    for r in records:
        acc[r["policy"]].append(int(bool(r.get("success"))))
    return {p: {"episodes": len(v), "success_rate": sum(v) / len(v) if v else 0.0} for p, v in acc.items()}

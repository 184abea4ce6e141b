"""`--executor ray`: env copies in Ray actors, policies in the runner's event loop (docs/scaling.md).

Env copies live in `EnvHost` actors placed by Ray (spread over the cluster's nodes). A host holds
several copies of one env label, each keyed by a number and played by one episode at a time; calls on
different copies run at once in the host's threads, as the local executor runs them in the runner's.
Copies are built on first need and kept for later episodes, as the local executor keeps env instances.
How many copies share a host is `copies_per_actor`: by default a run spreads its copies over as many
hosts as the cluster has CPUs (a process per copy would pay a Python start for each and add nothing to
envs that mostly wait), or gives each copy a host of its own when copies reserve CPUs (`env_cpus`,
for CPU-bound envs). The hosts a run needs are started all at once without waiting for them: an
episode goes to the least busy host that is up, and to one still starting only when those are full.

An episode plays in the runner: the policy acts in the runner's event loop and each `reset`/`step` is
one actor call, awaited without blocking the loop.

A lost worker (a host killed, its process or node gone) costs only the episodes its copies had in
flight: the host is dropped and each such episode starts again from `reset` on a copy of another host
(a new host when the others are full), up to `retries` times, with the same policy instance (its
`reset` clears the lost attempt's state). Pool updates happen after an episode ends, in the runner, so
a lost attempt adds nothing to a pool, and the runner writes one record per episode.

Ray is imported here only: `seer_env.executor.make_executor("ray")` imports this module when chosen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import ray
import ray.exceptions as rx

from seer_env.episode import EpisodeOutcome, InThread, play_episode
from seer_env.executor import EnvArgs, EnvDescription, Executor, describe_env, make_env
from seer_env.policy import Policy

log = logging.getLogger(__name__)

DEFAULT_RETRIES = 3  # fresh attempts of an episode whose worker was lost
# calls a host runs at once beyond one per copy: `pid`, `describe`, `drop`, `close`, and a call still
# running on a copy that was dropped
_SPARE_CALLS = 4
# copies the first host of a label may hold: it is started (to describe the env) before the run says
# how many copies it plays at once, and its threads are fixed when it starts
_FIRST_HOST_COPIES = 32

# what a call raises when the actor's process, its node or the object it returned is gone
_LOST = tuple(
    getattr(rx, name)
    for name in (
        "RayActorError",
        "WorkerCrashedError",
        "NodeDiedError",
        "ObjectLostError",
        "OwnerDiedError",
        "LocalRayletDiedError",
        "OutOfMemoryError",
    )
    if hasattr(rx, name)
)


class EnvHost:
    """A Ray actor holding copies of one env, keyed by number, each used by one episode at a time.

    A threaded actor: Ray runs up to its `max_concurrency` calls at once, each in a thread of its own,
    so the copies' tool calls overlap (cheaper per call than an async actor handing each call on to a
    thread pool).
    """

    def __init__(self, gym_id: str, kwargs: dict[str, Any]):
        self.gym_id, self.kwargs = gym_id, kwargs
        self.envs: dict[int, Any] = {}

    def _env(self, key: int) -> Any:
        env = self.envs.get(key)
        if env is None:  # one episode per key at a time: no other thread builds this one
            env = self.envs[key] = make_env(self.gym_id, self.kwargs)
        return env

    def describe(self, key: int) -> EnvDescription:
        return describe_env(self._env(key))

    def reset(self, key: int, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        """The env's `reset`, and the task's gold with it (one call less per episode for the runner)."""
        env = self._env(key)
        result = env.reset(seed=seed, options=options)
        return result, self._gold(env, (options or {}).get("task_id"))

    def step(self, key: int, action: Any) -> Any:
        return self.envs[key].step(action)

    def drop(self, key: int) -> None:
        """Forget a copy whose env raised or was interrupted mid-call; it is closed in a thread of its
        own (a call may still be running on it)."""
        env = self.envs.pop(key, None)
        if env is not None:
            threading.Thread(target=env.close, daemon=True, name="seer-env-drop").start()

    def close(self) -> None:
        envs, self.envs = list(self.envs.values()), {}
        for env in envs:
            try:
                env.close()
            except Exception as exc:  # the others still close
                log.debug("closing an env copy failed: %s", exc)

    @staticmethod
    def _gold(env: Any, task_id: str | None) -> Any:
        """The env's `task_gold(task_id)`, or None (no task id, no such method, or it raised: the
        record is what matters, the gold is for reading it)."""
        fn = getattr(env.unwrapped, "task_gold", None)
        if task_id is None or fn is None:
            return None
        try:
            return fn(task_id)
        except Exception as exc:
            log.debug("task_gold(%s) failed: %s", task_id, exc)
            return None

    def pid(self) -> int:
        return os.getpid()


@dataclass(eq=False)
class _Host:
    """The runner's view of one `EnvHost`: its copies, idle and in use."""

    actor: Any
    env_id: str
    capacity: int  # copies it may hold now
    limit: int  # most copies its threads allow (fixed when it starts)
    ready: bool = False  # the actor has answered once
    lost: bool = False
    idle: list[int] = field(default_factory=list)  # built copies free for an episode
    busy: set[int] = field(default_factory=set)  # copies with an episode in flight
    made: int = 0  # copies given out so far (the next new copy's key)


def _unwrap(exc: BaseException) -> BaseException:
    """A task's error as the env's own exception (so records read as with the local executor)."""
    cause = getattr(exc, "cause", None)
    if isinstance(exc, rx.RayTaskError) and isinstance(cause, Exception) and not isinstance(cause, _LOST):
        return cause
    return exc


class _ActorCalls:
    """`play_episode`'s `in_thread` for a host: `fn` is one of `_RemoteEnv`'s methods, which call the
    host. A task error comes back as the env's own exception; a lost actor is noted (`lost`) and raised
    as it is."""

    def __init__(self) -> None:
        self.lost: BaseException | None = None

    async def __call__(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except rx.RayTaskError as exc:
            cause = _unwrap(exc)
            if cause is not exc:
                raise cause from None
            raise
        except _LOST as exc:
            self.lost = exc
            raise


class _RemoteEnv:
    """The env side `play_episode` sees: `reset`, `step` and `task_gold` of one copy, on its host.
    The gold comes back with `reset`, so `task_gold` after the episode costs no call."""

    def __init__(self, actor: Any, key: int):
        self.actor, self.key = actor, key
        self.golds: dict[str, Any] = {}

    async def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        result, gold = await self.actor.reset.remote(self.key, seed, options)
        if options and "task_id" in options:
            self.golds[options["task_id"]] = gold
        return result

    async def step(self, action: Any) -> Any:
        return await self.actor.step.remote(self.key, action)

    async def task_gold(self, task_id: str) -> Any:
        return self.golds.get(task_id)


class RayExecutor(Executor):
    """Env copies in Ray actors (see the module docstring).

    address: the cluster to join: None (the one RAY_ADDRESS names, else a new local Ray for this run),
    "auto" (the running cluster on this machine), "ray://host:10001" (Ray Client), or HOST:PORT.
    When Ray is already initialised in this process, that session is used. A local Ray started here
    is shut down at the end of the run.
    env_cpus: CPUs each env copy reserves (0: placed anywhere; give 1 for envs whose tools are
    CPU-bound, so Ray spreads them by free CPUs); a host reserves its copies' CPUs.
    copies_per_actor: env copies one actor holds (None: the run's copies spread over one actor per
    cluster CPU, or one copy per actor when env_cpus is set). retries: fresh attempts of an episode
    whose worker was lost. actor_options: further `ray.remote` options of the env actors
    (runtime_env, resources). init_options: further `ray.init` options, when the executor starts or
    joins Ray itself.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        env_cpus: float = 0.0,
        copies_per_actor: int | None = None,
        retries: int = DEFAULT_RETRIES,
        actor_options: dict[str, Any] | None = None,
        init_options: dict[str, Any] | None = None,
    ):
        if copies_per_actor is not None and int(copies_per_actor) < 1:
            raise ValueError(f"copies_per_actor must be 1 or more, not {copies_per_actor!r}")
        self.address = address
        self.env_cpus = float(env_cpus)
        self.copies_per_actor = None if copies_per_actor is None else int(copies_per_actor)
        self.retries = max(0, int(retries))
        self.actor_options = dict(actor_options or {})
        self.init_options = dict(init_options or {})
        self._own_init = False
        self._host_cls: Any = None
        self._hosts: dict[str, list[_Host]] = {}  # live hosts by env label
        self._capacity: dict[str, int] = {}  # copies per host, by env label (set by `prepare`)
        self.stats: Counter[str] = Counter()

    # -- cluster and hosts ----------------------------------------------------------------------
    async def open(self, env_args: EnvArgs, in_thread: InThread) -> None:
        await super().open(env_args, in_thread)
        if not ray.is_initialized():
            # joining or starting a cluster blocks for seconds: off the event loop
            await in_thread(self._init)
        self._host_cls = ray.remote(EnvHost)

    def _init(self) -> None:
        kw: dict[str, Any] = {"logging_level": logging.WARNING}
        address = self.address or os.environ.get("RAY_ADDRESS") or "local"
        if address == "local":
            kw["include_dashboard"] = False  # a Ray of our own for this run: no web server
        ray.init(address=address, **{**kw, **self.init_options})
        self._own_init = True

    def _copies_per_host(self, copies: int) -> int:
        """Copies per host for a label that plays `copies` at once (see `copies_per_actor`)."""
        if self.copies_per_actor is not None:
            return self.copies_per_actor
        if self.env_cpus > 0:
            return 1
        cpus = int(ray.cluster_resources().get("CPU", 1))
        return math.ceil(copies / max(1, min(copies, cpus)))

    def _start_host(self, env_id: str) -> _Host:
        """A new host (Ray starts it in the background; calls made meanwhile wait for it)."""
        if env_id in self._capacity:
            capacity = limit = self._capacity[env_id]
        else:  # before `prepare`: one copy (to describe the env), room for more
            capacity = 1
            limit = self.copies_per_actor or (1 if self.env_cpus > 0 else _FIRST_HOST_COPIES)
        options = {
            "num_cpus": self.env_cpus * limit,
            "max_concurrency": limit + _SPARE_CALLS,
            "max_restarts": 0,
            "scheduling_strategy": "SPREAD",
            **self.actor_options,
        }
        actor = self._host_cls.options(**options).remote(*self.env_args(env_id))
        host = _Host(actor, env_id, capacity, limit)
        self.stats["actors_started"] += 1
        self._hosts.setdefault(env_id, []).append(host)

        def up(done: Any) -> None:  # on a Ray thread: only sets a flag
            host.ready = done.exception() is None

        host.actor.pid.remote().future().add_done_callback(up)
        return host

    def _acquire(self, env_id: str) -> tuple[_Host, int]:
        """A copy for one episode: on the least busy host that is up and not full, else on one still
        starting, else on a new host; an idle copy there, or a new one (built by its first reset)."""
        free = [h for h in self._hosts.get(env_id, []) if len(h.busy) < h.capacity]
        host = min(free, key=lambda h: (not h.ready, len(h.busy))) if free else self._start_host(env_id)
        if host.idle:
            key = host.idle.pop()
        else:
            key, host.made = host.made, host.made + 1
            self.stats["env_copies_started"] += 1
        host.busy.add(key)
        return host, key

    def _release(self, host: _Host, key: int, *, broken: bool) -> None:
        host.busy.discard(key)
        if host.lost:
            return
        if broken:  # its env raised or was interrupted mid-call: not reused
            with contextlib.suppress(Exception):
                host.actor.drop.remote(key)
        else:
            host.idle.append(key)

    def _lose(self, host: _Host) -> None:
        """Forget a host that was lost (its copies' episodes start again elsewhere) and end it."""
        if host.lost:
            return
        host.lost = True
        self.stats["workers_lost"] += 1
        with contextlib.suppress(ValueError):
            self._hosts[host.env_id].remove(host)
        with contextlib.suppress(Exception):
            ray.kill(host.actor, no_restart=True)

    def busy_actors(self) -> list[Any]:
        """Actors with an episode in flight (tests kill one to play a lost worker)."""
        return [h.actor for hosts in self._hosts.values() for h in hosts if h.busy]

    # -- Executor -------------------------------------------------------------------------------
    async def prepare(self, copies: dict[str, int]) -> None:
        """Start the hosts the run will use, all at once, without waiting for them: episodes begin on
        the hosts that are up while the others start."""
        for env_id, n in copies.items():
            capacity = self._capacity[env_id] = self._copies_per_host(n)
            hosts = self._hosts.setdefault(env_id, [])
            for host in hosts:
                host.capacity = max(min(capacity, host.limit), len(host.busy) + len(host.idle))
            for _ in range(math.ceil(max(0, n - sum(h.capacity for h in hosts)) / capacity)):
                self._start_host(env_id)

    async def describe(self, env_id: str) -> EnvDescription:
        # called before any episode, so the first copy is built alone (it may generate or cache data
        # that later copies reuse)
        host, key = self._acquire(env_id)
        try:
            desc = await host.actor.describe.remote(key)
        except BaseException as exc:
            self._lose(host)
            cause = _unwrap(exc)
            if cause is not exc:
                raise cause from None
            raise
        host.ready = True
        self._release(host, key, broken=False)
        return desc

    async def play(
        self, env_id: str, policy: Policy, *, seed: int, options: dict[str, Any], max_steps: int
    ) -> EpisodeOutcome:
        for attempt in range(self.retries + 1):
            host, key = self._acquire(env_id)
            calls = _ActorCalls()
            out = None
            try:
                out = await play_episode(
                    _RemoteEnv(host.actor, key),
                    policy,
                    seed=seed,
                    options=options,
                    max_steps=max_steps,
                    in_thread=calls,
                )
            finally:
                if calls.lost is not None:
                    self._lose(host)
                self._release(host, key, broken=out is None or out.env_broken)
            if calls.lost is None:
                return out
            if attempt < self.retries:
                self.stats["episodes_retried"] += 1
                log.warning(
                    "an env worker was lost (%s); the episode starts again", type(calls.lost).__name__
                )
        self.stats["episodes_lost"] += 1
        return out  # its error says the worker was lost, every time

    async def close(self) -> None:
        hosts = [h for hosts in self._hosts.values() for h in hosts]
        self._hosts.clear()
        if hosts:
            # let each env close its tools' processes, then end the hosts
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    asyncio.gather(*(h.actor.close.remote() for h in hosts), return_exceptions=True), 10
                )
            for h in hosts:
                with contextlib.suppress(Exception):
                    ray.kill(h.actor, no_restart=True)
        if self._own_init:
            self._own_init = False
            await self.in_thread(ray.shutdown)

    def facts(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.address,
            "env_cpus": self.env_cpus,
            "copies_per_actor": self.copies_per_actor,  # None: automatic
            "copies_per_actor_used": dict(self._capacity),
            "retries": self.retries,
            **dict(self.stats),
        }

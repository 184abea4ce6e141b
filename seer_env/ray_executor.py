"""`--executor ray`: env copies in Ray actors, policies in the runner's event loop (docs/scaling.md).

Each env copy lives in an `EnvActor`, an actor of its own placed by Ray (spread over the cluster's
nodes), built on first need and kept for later episodes of the same env label, as the local executor
keeps env instances. An episode plays in the runner: the policy acts in the runner's event loop and
each `reset`/`step` is one actor call, awaited without blocking the loop.

A lost worker (the actor killed, its process or node gone) costs only the episodes it had in flight:
the actor is dropped and each such episode starts again from `reset` on another actor, up to
`retries` times, with the same policy instance (its `reset` clears the lost attempt's state). Pool
updates happen after an episode ends, in the runner, so a lost attempt adds nothing to a pool, and the
runner writes one record per episode.

Ray is imported here only: `seer_env.executor.make_executor("ray")` imports this module when chosen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import Counter
from typing import Any

import ray
import ray.exceptions as rx

from seer_env.episode import EpisodeOutcome, InThread, play_episode
from seer_env.executor import EnvArgs, EnvDescription, Executor, describe_env, make_env
from seer_env.policy import Policy

log = logging.getLogger(__name__)

DEFAULT_RETRIES = 3  # fresh attempts of an episode whose worker was lost

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


class EnvActor:
    """One env copy in a Ray actor: the env's `reset` and `step`, one call at a time."""

    def __init__(self, gym_id: str, kwargs: dict[str, Any]):
        self.env = make_env(gym_id, kwargs)

    def describe(self) -> EnvDescription:
        return describe_env(self.env)

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any) -> Any:
        return self.env.step(action)

    def task_gold(self, task_id: str) -> Any:
        fn = getattr(self.env.unwrapped, "task_gold", None)
        return fn(task_id) if fn is not None else None

    def pid(self) -> int:
        return os.getpid()

    def close(self) -> None:
        self.env.close()


class _LostWorker(Exception):  # noqa: N818 (a signal between this module's functions)
    """The actor of an attempt was lost; the episode is played again on another one."""


class _ActorCalls:
    """`play_episode`'s `in_thread` for an actor: `fn` is one of the actor's methods, called remotely.

    A task error comes back as the env's own exception (so records read as with the local executor);
    a lost actor is noted (`lost`) and raised as it is.
    """

    def __init__(self) -> None:
        self.lost: BaseException | None = None

    async def __call__(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method.remote(*args, **kwargs)
        except rx.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, Exception) and not isinstance(cause, _LOST):
                raise cause from None
            raise
        except _LOST as exc:
            self.lost = exc
            raise


class _RemoteEnv:
    """The env side `play_episode` sees: its `reset` and `step` are the actor's methods."""

    def __init__(self, actor: Any):
        self.reset, self.step, self.task_gold = actor.reset, actor.step, actor.task_gold


class RayExecutor(Executor):
    """Env copies in Ray actors (see the module docstring).

    address: the cluster to join: None (the one RAY_ADDRESS names, else a new local Ray for this run),
    "auto" (the running cluster on this machine), "ray://host:10001" (Ray Client), or HOST:PORT.
    When Ray is already initialised in this process, that session is used. A local Ray started here
    is shut down at the end of the run.
    env_cpus: CPUs each env actor holds (0: placed anywhere; give 1 for envs whose tools are
    CPU-bound, so Ray spreads them by free CPUs). retries: fresh attempts of an episode whose worker
    was lost. actor_options: further `ray.remote` options of the env actors (runtime_env, resources).
    init_options: further `ray.init` options, when the executor starts or joins Ray itself.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        env_cpus: float = 0.0,
        retries: int = DEFAULT_RETRIES,
        actor_options: dict[str, Any] | None = None,
        init_options: dict[str, Any] | None = None,
    ):
        self.address = address
        self.env_cpus = float(env_cpus)
        self.retries = max(0, int(retries))
        self.actor_options = dict(actor_options or {})
        self.init_options = dict(init_options or {})
        self._own_init = False
        self._actor_cls: Any = None
        self._idle: dict[str, list[Any]] = {}
        self._busy: dict[Any, str] = {}  # actor -> env label, while an episode holds it
        self.stats: Counter[str] = Counter()

    # -- cluster and actors ---------------------------------------------------------------------
    async def open(self, env_args: EnvArgs, in_thread: InThread) -> None:
        await super().open(env_args, in_thread)
        if not ray.is_initialized():
            # joining or starting a cluster blocks for seconds: off the event loop
            await in_thread(self._init)
        options = {"num_cpus": self.env_cpus, "max_restarts": 0, "scheduling_strategy": "SPREAD"}
        self._actor_cls = ray.remote(**{**options, **self.actor_options})(EnvActor)

    def _init(self) -> None:
        kw: dict[str, Any] = {"logging_level": logging.WARNING}
        address = self.address or os.environ.get("RAY_ADDRESS") or "local"
        if address == "local":
            kw["include_dashboard"] = False  # a Ray of our own for this run: no web server
        ray.init(address=address, **{**kw, **self.init_options})
        self._own_init = True

    def _acquire(self, env_id: str) -> Any:
        """An idle actor of this env label, or a new one (Ray builds it while its first call waits)."""
        idle = self._idle.setdefault(env_id, [])
        if idle:
            actor = idle.pop()
        else:
            self.stats["actors_started"] += 1
            actor = self._actor_cls.remote(*self.env_args(env_id))
        self._busy[actor] = env_id
        return actor

    def _release(self, actor: Any) -> None:
        env_id = self._busy.pop(actor)
        self._idle.setdefault(env_id, []).append(actor)

    def _drop(self, actor: Any) -> None:
        """Forget an actor (lost, or its env broke) and end its process."""
        self._busy.pop(actor, None)
        with contextlib.suppress(Exception):
            ray.kill(actor, no_restart=True)

    def busy_actors(self) -> list[Any]:
        """Actors with an episode in flight (tests kill one to play a lost worker)."""
        return list(self._busy)

    # -- Executor -------------------------------------------------------------------------------
    async def prepare(self, copies: dict[str, int]) -> None:
        """Start the actors the run will use, all at once, and wait until their envs are built: the
        start-up (a Python process and an env each) is paid before the first episode, not inside it."""
        started = []
        for env_id, n in copies.items():
            idle = self._idle.setdefault(env_id, [])
            for _ in range(n - len(idle)):
                self.stats["actors_started"] += 1
                started.append((env_id, self._actor_cls.remote(*self.env_args(env_id))))
        ready = await asyncio.gather(*(a.pid.remote() for _, a in started), return_exceptions=True)
        for (env_id, actor), pid in zip(started, ready, strict=True):
            if isinstance(pid, BaseException):
                log.warning("an env actor of %s did not start: %s", env_id, pid)
                self._drop(actor)
            else:
                self._idle[env_id].append(actor)

    async def describe(self, env_id: str) -> EnvDescription:
        # called before any episode, so the first copy is built alone (it may generate or cache data
        # that later copies reuse)
        actor = self._acquire(env_id)
        try:
            desc = await actor.describe.remote()
        except BaseException:
            self._drop(actor)
            raise
        self._release(actor)
        return desc

    async def play(
        self, env_id: str, policy: Policy, *, seed: int, options: dict[str, Any], max_steps: int
    ) -> EpisodeOutcome:
        for attempt in range(self.retries + 1):
            actor = self._acquire(env_id)
            calls = _ActorCalls()
            out = None
            try:
                out = await play_episode(
                    _RemoteEnv(actor),
                    policy,
                    seed=seed,
                    options=options,
                    max_steps=max_steps,
                    in_thread=calls,
                )
            finally:
                if out is None or out.env_broken:
                    self._drop(actor)  # interrupted, lost, or its env raised: not reused
                else:
                    self._release(actor)
            if calls.lost is None:
                return out
            self.stats["workers_lost"] += 1
            if attempt < self.retries:
                self.stats["episodes_retried"] += 1
                log.warning(
                    "an env worker was lost (%s); the episode starts again", type(calls.lost).__name__
                )
        self.stats["episodes_lost"] += 1
        return out  # its error says the worker was lost, every time

    async def close(self) -> None:
        actors = [a for idle in self._idle.values() for a in idle] + list(self._busy)
        self._idle.clear()
        self._busy.clear()
        if actors:
            # let each env close its tools' processes, then end the actors
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    asyncio.gather(*(a.close.remote() for a in actors), return_exceptions=True), 10
                )
            for a in actors:
                with contextlib.suppress(Exception):
                    ray.kill(a, no_restart=True)
        if self._own_init:
            self._own_init = False
            await self.in_thread(ray.shutdown)

    def facts(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.address,
            "env_cpus": self.env_cpus,
            "retries": self.retries,
            **dict(self.stats),
        }

"""Where env instances live and how one episode is played on one: the runner's executor seam.

The runner (`seer_env.runner`) decides what to play, in which order, and records every episode; an
executor hosts the envs. It answers two questions: what an env label offers (`describe`: its task
ids, its `EnvInfo`, its tools) and what happened in one episode (`play`: an `EpisodeOutcome`). The
policy is always the runner's instance, in the runner's event loop; only the env's `reset` and
`step` run where the executor puts the env.

- `LocalExecutor` (`--executor local`, the default): env instances in this process, kept between
  episodes, their `reset`/`step` in the runner's worker threads.
- `seer_env.ray_executor.RayExecutor` (`--executor ray`): env copies in Ray actors placed by Ray;
  it needs the `ray` extra and is imported only when chosen (docs/scaling.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from seer_env.episode import EpisodeOutcome, InThread, play_episode
from seer_env.instances import InstanceCache
from seer_env.policy import EnvInfo, Policy, env_info_of

EXECUTORS = {"local": "seer_env.executor:LocalExecutor", "ray": "seer_env.ray_executor:RayExecutor"}
RAY_INSTALL_HINT = 'the ray executor needs Ray: pip install "seer-env[ray]"'

# an env label -> (gym id, kwargs for gymnasium.make): the runner's `env_args`
EnvArgs = Callable[[str], tuple[str, dict[str, Any]]]


def make_env(gym_id: str, kwargs: dict[str, Any]) -> Any:
    """`gymnasium.make(gym_id, **kwargs)` with seer-env's ids registered and the env checker off."""
    import gymnasium as gym

    import seer_env  # noqa: F401  (registers the ids)

    return gym.make(gym_id, disable_env_checker=True, **kwargs)


@dataclass
class EnvDescription:
    """What the runner learns about an env label before playing it."""

    task_ids: list[str]
    info: EnvInfo = field(default_factory=dict)  # type: ignore[assignment]
    tools: list[dict[str, Any]] = field(default_factory=list)  # OpenAI function schemas


def describe_env(env: Any) -> EnvDescription:
    """Task ids, `EnvInfo` and tools (from a `ToolCallSpace` action space) of a built env."""
    from seer_env.spaces import ToolCallSpace

    space = getattr(env, "action_space", None)
    tools = [s.openai() for s in space.tools.values()] if isinstance(space, ToolCallSpace) else []
    return EnvDescription([str(t) for t in env.unwrapped.task_ids], env_info_of(env), tools)


class Executor(ABC):
    """Hosts env instances for a runner: `open` once, then `describe` each env label and `play`
    episodes (concurrently), then `close`."""

    name = "executor"

    async def open(self, env_args: EnvArgs, in_thread: InThread) -> None:
        """Called once when the run starts. env_args(label) says how to build an env of that label
        (`make_env`); in_thread(fn, ...) runs a blocking call in the runner's worker threads."""
        self.env_args, self.in_thread = env_args, in_thread

    @abstractmethod
    async def describe(self, env_id: str) -> EnvDescription:
        """Task ids, env info and tools of an env label (builds its first instance)."""

    @abstractmethod
    async def play(
        self, env_id: str, policy: Policy, *, seed: int, options: dict[str, Any], max_steps: int
    ) -> EpisodeOutcome:
        """Play one episode of `env_id` with `policy` (see `seer_env.episode.play_episode`). An env
        that cannot be had raises; anything that goes wrong in the episode is in the outcome."""

    async def prepare(self, copies: dict[str, int]) -> None:  # noqa: B027 (an optional hook)
        """Called once the plan is known: at most `copies[label]` env copies of each label will play at
        once. An executor may build them now (the local one builds them as episodes need them)."""

    async def close(self) -> None:  # noqa: B027 (an optional hook)
        """Release what `open` and the episodes took (called once, also after an interruption)."""

    def facts(self) -> dict[str, Any]:
        """What the run manifest records about the executor."""
        return {"name": self.name}


class LocalExecutor(Executor):
    """Env instances in this process: one per concurrent episode, kept between episodes (an env that
    raised or was interrupted mid-call is dropped), `reset`/`step` in worker threads."""

    name = "local"

    def __init__(self) -> None:
        self._cache: dict[str, InstanceCache] = {}
        self._first: dict[str, asyncio.Lock] = {}
        self._described: set[str] = set()

    async def _new_env(self, env_id: str) -> Any:
        # the first instance is built alone (it may generate or cache data other instances reuse)
        if env_id not in self._described:
            async with self._first.setdefault(env_id, asyncio.Lock()):
                return await self.in_thread(make_env, *self.env_args(env_id))
        return await self.in_thread(make_env, *self.env_args(env_id))

    def _envs(self, env_id: str) -> InstanceCache:
        if env_id not in self._cache:
            self._cache[env_id] = InstanceCache(lambda: self._new_env(env_id))
        return self._cache[env_id]

    async def describe(self, env_id: str) -> EnvDescription:
        env = await self._new_env(env_id)
        self._described.add(env_id)
        self._envs(env_id).release(env)
        return describe_env(env)

    async def play(
        self, env_id: str, policy: Policy, *, seed: int, options: dict[str, Any], max_steps: int
    ) -> EpisodeOutcome:
        envs = self._envs(env_id)
        env = await envs.acquire()
        out = None
        try:
            out = await play_episode(
                env, policy, seed=seed, options=options, max_steps=max_steps, in_thread=self.in_thread
            )
        finally:
            # an interrupted episode (out is None) or an env that raised mid-call is not reused
            if out is not None and not out.env_broken:
                envs.release(env)
        return out

    async def close(self) -> None:
        """Close the kept envs (their tools' worker processes end with them)."""
        for cache in self._cache.values():
            while cache.idle:
                env = cache.idle.pop()
                with contextlib.suppress(Exception):
                    await self.in_thread(env.close)


def make_executor(executor: str | Executor | None = None, **options: Any) -> Executor:
    """An executor by name (`local`, `ray`) with its options, or the one given."""
    if isinstance(executor, Executor):
        if options:
            raise ValueError("executor options go to the executor's constructor, not with an instance")
        return executor
    name = executor or "local"
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}; known: {', '.join(EXECUTORS)}")
    module, cls = EXECUTORS[name].split(":")
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        if name == "ray" and (exc.name or "").split(".")[0] == "ray":
            raise ImportError(RAY_INSTALL_HINT) from None
        raise
    return getattr(mod, cls)(**options)

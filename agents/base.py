"""The one interface every policy implements, and a wrapper for plain synchronous gym loops.

A policy is async because most policies wait on an LLM; `act` returns the next `ToolCall`.
`reset` starts an episode, `observe` receives the finished `Trajectory` (SEER adds successes to
its pool there).
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from typing import Any, TypeVar

from seer_env.types import ToolCall, Trajectory

T = TypeVar("T")


class Policy(ABC):
    """Base class of all policies."""

    name: str = "policy"

    def reset(self, *, seed: int | None = None, info: dict[str, Any] | None = None) -> None:  # noqa: B027
        """Start a new episode. `info` is the env's reset info (tools, task id, intent labels)."""

    @abstractmethod
    async def act(self, observation: str, info: dict[str, Any]) -> ToolCall:
        """Choose the next tool call from the latest observation and info."""

    def observe(self, trajectory: Trajectory) -> None:  # noqa: B027 (an optional hook)
        """Receive the finished episode (called once per episode)."""

    async def aobserve(self, trajectory: Trajectory) -> None:
        """Async form of `observe`; policies with slow bookkeeping override it."""
        self.observe(trajectory)

    def usage(self) -> dict[str, Any]:
        """Tokens and cost spent since the last `reset` (LLM policies fill it)."""
        return {}


class _LoopThread:
    """One background event loop per process, for driving async policies from sync code."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def run(cls, coro: Coroutine[Any, Any, T]) -> T:
        with cls._lock:
            if cls._loop is None or cls._loop.is_closed():
                cls._loop = asyncio.new_event_loop()
                threading.Thread(target=cls._loop.run_forever, daemon=True, name="seer-env-policy").start()
        return asyncio.run_coroutine_threadsafe(coro, cls._loop).result()


class SyncPolicy:
    """Use any `Policy` from a plain synchronous loop::

    policy = SyncPolicy(RandomPolicy())
    obs, info = env.reset(seed=0)
    policy.reset(seed=0, info=info)
    action = policy.act(obs, info)
    """

    def __init__(self, policy: Policy):
        self.policy = policy

    def reset(self, *, seed: int | None = None, info: dict[str, Any] | None = None) -> None:
        self.policy.reset(seed=seed, info=info)

    def act(self, observation: str, info: dict[str, Any]) -> ToolCall:
        return _LoopThread.run(self.policy.act(observation, info))

    def observe(self, trajectory: Trajectory) -> None:
        _LoopThread.run(self.policy.aobserve(trajectory))

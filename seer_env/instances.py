"""Idle instances of envs and policies, kept for reuse between episodes.

The runner plays each episode on an env instance and a policy instance of its own; building either
can be costly (an env loads its corpus, a policy opens its pool), so finished ones wait here for the
next episode of the same kind. This holds no experience: the experience pool is `seer_env.pool`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any


class InstanceCache:
    """Idle instances of one kind (envs of one id, or policies of one label for one env), built on
    demand by an async `build`."""

    def __init__(self, build: Callable[[], Awaitable[Any]]):
        self.build = build
        self.idle: list[Any] = []

    async def acquire(self) -> Any:
        if self.idle:
            return self.idle.pop()
        return await self.build()

    def release(self, obj: Any) -> None:
        self.idle.append(obj)

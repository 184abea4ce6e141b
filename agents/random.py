"""A policy that samples uniformly from the env's action space: the floor any agent should beat."""

from __future__ import annotations

from typing import Any

import numpy as np

from seer_env.policy import Policy
from seer_env.spaces import ToolCallSpace
from seer_env.types import ToolCall, tool_specs_from_schemas


class RandomPolicy(Policy):
    """Sample a random tool call each step.

    The space is `space` if given, else built from `info["tools"]` at `reset` (or at the first `act`).
    Seeding: `RandomPolicy(seed)` fixes the whole stream; `reset(seed=s)` re-seeds for that episode.
    """

    name = "random"

    def __init__(self, seed: int | None = None, space: ToolCallSpace | None = None):
        self._rng = np.random.default_rng(seed)
        self._space = space
        self._tools_key: tuple[str, ...] | None = None
        if space is not None:
            space.seed(int(self._rng.integers(2**31)))

    def _ensure_space(self, info: dict[str, Any] | None) -> ToolCallSpace:
        tools = (info or {}).get("tools")
        if tools:
            key = tuple(sorted((t.get("function", t)).get("name", "") for t in tools))
            if self._space is None or key != self._tools_key:
                self._space = ToolCallSpace(
                    tool_specs_from_schemas(tools), seed=int(self._rng.integers(2**31))
                )
                self._tools_key = key
        if self._space is None:
            raise ValueError("RandomPolicy needs an action space: pass space= or reset with the env's info")
        return self._space

    def reset(self, *, seed: int | None = None, info: dict[str, Any] | None = None) -> None:
        space = self._ensure_space(info) if (info or self._space is not None) else None
        if seed is not None:
            # the episode's draws depend on its seed alone, not on what this instance played before
            self._rng = np.random.default_rng(seed)
            if space is not None:
                space.seed(int(self._rng.integers(2**31)))

    def sample(self, info: dict[str, Any] | None = None) -> ToolCall:
        return self._ensure_space(info).sample()

    async def act(self, observation: str, info: dict[str, Any]) -> ToolCall:
        return self.sample(info)

"""One oracle episode through `env.step`, timing each tool: shared by the ToolQA benchmarks."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any


def play_oracle(env: Any, policy: Any, task_id: str, seconds_by_tool: Counter) -> tuple[int, float]:
    """Play `task_id` with the oracle `policy` (gold revealed); add each step's wall time to
    `seconds_by_tool[tool name]`. Returns (steps, final reward)."""
    obs, info = env.reset(options={"task_id": task_id, "reveal_gold": True})
    policy.reset(info=info)
    steps = 0
    while True:
        action = asyncio.run(policy.act(obs, info))
        start = time.perf_counter()
        obs, reward, terminated, truncated, _ = env.step(action)
        seconds_by_tool[action.name] += time.perf_counter() - start
        steps += 1
        if terminated or truncated:
            return steps, reward

"""Pieces of the Ray executor tests: a slowed oracle (so episodes are in flight when a worker dies) and
a driver script run as a subprocess (so it can be killed)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from seer_env.agents.oracle import OraclePolicy
from seer_env.embedding import HashEmbedder
from seer_env.runner import PolicyEntry, Runner

ENV = "ToolQA-Synth-easy-v0"
# the retrieval tools embed with hashed words: each env copy loading a model would cost seconds
ENV_KWARGS = {ENV: {"embedder": HashEmbedder(64, name="test-hash-bow-64")}}


class SlowOracle(OraclePolicy):
    """The oracle, waiting `delay` seconds before each action as an LLM call would."""

    def __init__(self, delay: float = 0.05):
        super().__init__()
        self.delay = delay

    async def act(self, observation: str, info: dict[str, Any]):
        await asyncio.sleep(self.delay)
        return await super().act(observation, info)


def slow_oracle(delay: float = 0.05) -> PolicyEntry:
    return PolicyEntry("oracle", lambda _env: SlowOracle(delay), needs_gold=True)


def main(out: str, address: str, episodes: int, delay: float) -> None:
    """Play `episodes` slowed-oracle episodes of ToolQA-Synth on the Ray cluster at `address`."""
    runner = Runner(
        [ENV],
        [slow_oracle(delay)],
        Path(out),
        episodes=episodes,
        concurrency=2,
        env_kwargs=ENV_KWARGS,
        executor="ray",
        executor_options={"address": address},
    )
    print(asyncio.run(runner.run()), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))

"""Cheap stand-ins for the pool's embedder and helpers shared by the pool tests."""

from __future__ import annotations

import hashlib
import random

import numpy as np

from seer_env.types import Step, ToolCall, Trajectory


class HashEmbedder:
    """Stands in for `seer_env.pool.embedder.Embedder` (a sentence-transformers model).

    Same API (`name`, `dim`, `encode(texts) -> float32 (n, dim)` with unit rows); each text maps to a
    fixed pseudo-random unit vector derived from its SHA-256, so equal texts embed equally and the
    vectors of different texts are nearly orthogonal. No model is loaded.
    """

    def __init__(self, dim: int = 32, name: str = "hash-embedder"):
        self.name = name
        self._dim = dim

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(t.encode("utf-8")).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self._dim)
            out[i] = v / np.linalg.norm(v)
        return out


TOOLS = [
    "LoadDB",
    "FilterDB",
    "GetValue",
    "Calculate",
    "SQLInterpreter",
    "LoadGraph",
    "NeighbourCheck",
    "NodeCheck",
    "EdgeCheck",
    "RetrieveAgenda",
    "RetrieveScirex",
    "PythonInterpreter",
]
INTENTS = ["flight", "coffee", "yelp", "airbnb", "dblp", "scirex", "agenda", "gsm8k"]


def make_traj(
    i: int, rng: random.Random | None = None, success: bool = True, reward: float = 1.0
) -> Trajectory:
    """A small, distinct successful trajectory (its content depends on i)."""
    rng = rng or random.Random(i)
    n = rng.randint(1, 4)
    steps = [
        Step(ToolCall(rng.choice(TOOLS), {"input": f"arg{i}-{j}"}), f"obs {i}-{j}", True, f"thought {j}")
        for j in range(n)
    ]
    steps.append(Step(ToolCall("Finish", {"answer": str(i)}), str(i), True, "done"))
    return Trajectory(
        env_id="ToolQA-easy-v0",
        task_id=f"t{i}",
        query=f"question number {i} about {rng.choice(INTENTS)}",
        intent=rng.choice(INTENTS),
        steps=steps,
        answer=str(i),
        reward=reward,
        success=success,
    )

"""Cheap stand-ins for the pool's embedder and helpers shared by the pool tests."""

from __future__ import annotations

import random

from seer_env.embedding import HashEmbedder as _HashEmbedder
from seer_env.types import Step, ToolCall, Trajectory


class HashEmbedder(_HashEmbedder):
    """The pool tests' embedder: one pseudo-random unit vector per text (equal texts embed equally,
    different ones are nearly orthogonal); no model is loaded."""

    def __init__(self, dim: int = 32, name: str = "hash-embedder"):
        super().__init__(dim, name=name, mode="text")


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

"""Plain records of the experience pool: `Experience`, `Recalled`, `RecallWeights`, and its errors."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from seer_env.types import Step, Trajectory

# how a recall embeds the present: the question (goal), the steps so far (process), or the question at
# the first step and the steps after (hybrid)
STRATEGIES = ("goal", "process", "hybrid")


class PoolError(RuntimeError):
    """Base class of the pool's errors."""


class PoolFrozenError(PoolError):
    """A write was attempted on a frozen pool."""


class SchemaVersionError(PoolError):
    """The pool was written by a newer seer-env whose schema this version does not know."""


class EmbedderMismatchError(PoolError):
    """The pool's stored embeddings come from another embedder than the one given."""


@dataclass(frozen=True)
class RecallWeights:
    """Weights of SEER's recall score (reference defaults: all 1). All must be finite and >= 0."""

    sim: float = 1.0
    tool: float = 1.0
    intent: float = 1.0

    def __post_init__(self) -> None:
        for name in ("sim", "tool", "intent"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"RecallWeights.{name} must be a finite number >= 0, got {v!r}")


@dataclass
class Experience:
    """One stored successful trajectory."""

    id: int
    namespace: str
    intent: str | None
    query: str
    steps: list[Step]
    tool_chain: list[str]
    answer: str | None
    reward: float
    split: str | None = None
    source: str | None = None
    run_id: str | None = None
    env_id: str | None = None
    task_id: str | None = None
    created_at: float | None = None
    content_hash: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_trajectory(self) -> Trajectory:
        return Trajectory(
            env_id=self.env_id or self.namespace,
            task_id=self.task_id or f"pool-{self.id}",
            query=self.query,
            intent=self.intent,
            steps=list(self.steps),
            answer=self.answer,
            reward=self.reward,
            success=True,
            meta=dict(self.meta),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "namespace": self.namespace,
            "intent": self.intent,
            "query": self.query,
            "steps": [s.to_dict() for s in self.steps],
            "tool_chain": list(self.tool_chain),
            "answer": self.answer,
            "reward": self.reward,
            "split": self.split,
            "source": self.source,
            "run_id": self.run_id,
            "env_id": self.env_id,
            "task_id": self.task_id,
            "created_at": self.created_at,
            "content_hash": self.content_hash,
            "meta": dict(self.meta),
        }


@dataclass
class Recalled:
    """One recalled experience with the parts of its score."""

    experience: Experience
    score: float
    similarity: float
    coverage: float
    intent_match: bool

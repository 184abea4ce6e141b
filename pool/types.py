"""Plain records of the experience pool: `Experience`, `Recalled`, `RecallWeights`, and its errors."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from seer_env.types import Step, Trajectory

DEFAULT_NAMESPACE = "default"  # the namespace of a pool nobody named one for

# how a recall embeds the present: the question (goal), the steps so far (process), or the question at
# the first step and the steps after (hybrid)
STRATEGIES = ("goal", "process", "hybrid")


class PoolError(RuntimeError):
    """Base class of the pool's errors."""


class PoolFrozenError(PoolError):
    """A write was attempted on a frozen pool."""


class SchemaVersionError(PoolError):
    """The pool was written by a newer seer-env whose schema this version does not know."""


class PoolOpenError(PoolError, ValueError):
    """The pool cannot be opened: no file at the path, not an SQLite database, not a pool."""


class PoolReadOnlyError(PoolError):
    """A write was attempted through a pool opened read-only."""


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
    """One stored successful trajectory: the `Trajectory` itself, and what the store adds to it."""

    id: int
    namespace: str
    trajectory: Trajectory
    split: str | None = None
    source: str | None = None
    run_id: str | None = None
    created_at: float | None = None
    content_hash: str | None = None

    # the trajectory's own fields, read through (exemplars and recall read an experience like a trajectory)
    @property
    def query(self) -> str:
        return self.trajectory.query

    @property
    def intent(self) -> str | None:
        return self.trajectory.intent

    @property
    def steps(self) -> list[Step]:
        return self.trajectory.steps

    @property
    def tool_chain(self) -> list[str]:
        return self.trajectory.tool_chain

    @property
    def answer(self) -> str | None:
        return self.trajectory.answer

    @property
    def reward(self) -> float:
        return self.trajectory.reward

    @property
    def env_id(self) -> str | None:
        return self.trajectory.env_id

    @property
    def task_id(self) -> str | None:
        return self.trajectory.task_id

    @property
    def meta(self) -> dict[str, Any]:
        return self.trajectory.meta

    def to_dict(self) -> dict[str, Any]:
        """The JSONL export form: the trajectory's fields and the store's, flat."""
        t = self.trajectory
        return {
            "id": self.id,
            "namespace": self.namespace,
            "intent": t.intent,
            "query": t.query,
            "steps": [s.to_dict() for s in t.steps],
            "tool_chain": t.tool_chain,
            "answer": t.answer,
            "reward": t.reward,
            "split": self.split,
            "source": self.source,
            "run_id": self.run_id,
            "env_id": t.env_id,
            "task_id": t.task_id,
            "created_at": self.created_at,
            "content_hash": self.content_hash,
            "meta": dict(t.meta),
        }


@dataclass
class Recalled:
    """One recalled experience with the parts of its score."""

    experience: Experience
    score: float
    similarity: float
    coverage: float
    intent_match: bool

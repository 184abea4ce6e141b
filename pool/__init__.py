"""The experience pool: store, embedder, index, SEER recall, the memory facade.

    from seer_env.pool import ExperienceMemory, RecallWeights
    mem = ExperienceMemory("pool.sqlite", namespace="toolqa")
    mem.add_seeds("toolqa")
    hits = mem.recall(question, intent="flight", steps=steps_so_far, strategy="process")

faiss and sentence-transformers are imported on first use, not here.
"""

from seer_env.pool.memory import ExperienceMemory
from seer_env.pool.scoring import coverage, seer_score
from seer_env.pool.types import (
    EmbedderMismatchError,
    Experience,
    PoolError,
    PoolFrozenError,
    Recalled,
    RecallWeights,
    SchemaVersionError,
)

__all__ = [
    "EmbedderMismatchError",
    "Experience",
    "ExperienceMemory",
    "PoolError",
    "PoolFrozenError",
    "RecallWeights",
    "Recalled",
    "SchemaVersionError",
    "coverage",
    "seer_score",
]

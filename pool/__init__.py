"""The experience pool: store, index, SEER recall, the memory facade.

    from seer_env.pool import ExperienceMemory, RecallWeights
    mem = ExperienceMemory("pool.sqlite", namespace="toolqa")
    mem.add_seeds()                       # the seed experiences shipped for the namespace
    hits = mem.recall(question, intent="flight", steps=steps_so_far, strategy="process")

Names are resolved on first use, so importing `seer_env.pool` (or its CLI) loads neither SQLAlchemy
nor faiss nor sentence-transformers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seer_env.lazy import lazy_exports

if TYPE_CHECKING:
    from seer_env.pool.memory import ExperienceMemory, PoolReader  # noqa: F401
    from seer_env.pool.scoring import coverage, seer_score  # noqa: F401
    from seer_env.pool.types import (  # noqa: F401
        EmbedderMismatchError,
        Experience,
        PoolError,
        PoolFrozenError,
        PoolOpenError,
        Recalled,
        RecallWeights,
        SchemaVersionError,
    )

_EXPORTS = {
    "ExperienceMemory": "seer_env.pool.memory",
    "PoolReader": "seer_env.pool.memory",
    "coverage": "seer_env.pool.scoring",
    "seer_score": "seer_env.pool.scoring",
    "EmbedderMismatchError": "seer_env.pool.types",
    "Experience": "seer_env.pool.types",
    "PoolError": "seer_env.pool.types",
    "PoolFrozenError": "seer_env.pool.types",
    "PoolOpenError": "seer_env.pool.types",
    "Recalled": "seer_env.pool.types",
    "RecallWeights": "seer_env.pool.types",
    "SchemaVersionError": "seer_env.pool.types",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(globals(), _EXPORTS)

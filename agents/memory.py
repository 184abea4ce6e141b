"""The experience pools of pool-backed policies (SEER, few-shot, SEER-τ): opened, seeded, shared, described.

A policy learns its pool namespace from the env (`EnvInfo.pool_namespace`), so a pool is opened when
the namespace is known, not when the policy is built: `SharedPools` opens one `ExperienceMemory` per
namespace of one pool location, on first use, and hands the same one to every instance of a policy.
A fresh namespace gets the seed experiences the pool ships for it, if any (ToolQA has eight).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from seer_env.policy import PoolSummary
from seer_env.pool.types import DEFAULT_NAMESPACE
from seer_env.types import Trajectory

log = logging.getLogger(__name__)


def seed_trajectories(namespace: str) -> list[Trajectory]:
    """The seed experiences shipped for a namespace ([] when there are none)."""
    from seer_env.pool.seeds import seed_trajectories as shipped

    try:
        return list(shipped(namespace))
    except (KeyError, ValueError, FileNotFoundError) as exc:
        log.info("no seed trajectories for %s: %s", namespace, exc)
        return []


def open_memory(
    pool: str | None = None, namespace: str = DEFAULT_NAMESPACE, *, seed: bool = True, **kwargs: Any
):
    """An `ExperienceMemory` for a pool URL or path; a fresh namespace gets its seed trajectories."""
    from seer_env.pool import ExperienceMemory

    mem = ExperienceMemory(url=pool, namespace=namespace, **kwargs)
    if seed and len(mem) == 0:
        trajs = seed_trajectories(namespace)
        if trajs:
            mem.add_many(trajs, split="train", source="seed")
    return mem


class SharedPools:
    """One memory per namespace at one pool location, opened (and seeded) on first use, then shared.

    open_one(namespace) opens it (default: `open_memory(url, namespace)`).
    """

    def __init__(self, open_one: Callable[[str], Any]):
        self._open_one = open_one
        self._memories: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, namespace: str) -> Any:
        with self._lock:
            if namespace not in self._memories:
                self._memories[namespace] = self._open_one(namespace)
            return self._memories[namespace]


def pool_size_of(memory: Any) -> int | None:
    """The size of a memory's namespace, or None for an object that has no size (no pool)."""
    if memory is None or not hasattr(memory, "__len__"):
        return None
    return len(memory)


def pool_summary_of(memory: Any) -> PoolSummary | None:
    """Namespace, size and content hash of a memory, or None when it is not a pool."""
    if memory is None or not hasattr(memory, "content_hash") or not hasattr(memory, "__len__"):
        return None
    return {"namespace": str(memory.namespace), "size": len(memory), "hash": memory.content_hash()}

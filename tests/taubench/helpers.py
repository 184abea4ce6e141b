"""Shared pieces of the τ-bench tests: task scripts for the fake's toy domains, and env builders."""

from __future__ import annotations

from typing import Any

STOP = "###STOP###"


def all_tasks(env_name: str, split: str) -> list[Any]:
    from tau_bench.envs import get_env

    from seer_env.envs.taubench.users import offline_factory, user_override

    with user_override(offline_factory()):
        return list(get_env(env_name, "scripted", "m", split, task_index=0).tasks)


def make_env(env_name: str = "retail", split: str = "test", **kwargs: Any):
    import gymnasium as gym

    import seer_env  # noqa: F401  (registers the IDs)

    kwargs.setdefault("user_strategy", "scripted")
    return gym.make(f"TauBench-{env_name}-v0", task_split=split, **kwargs)


def make_memory(tmp_path, env_name: str = "retail", allowed_splits=("train",)):
    from seer_env.embedding import HashEmbedder
    from seer_env.pool import ExperienceMemory

    return ExperienceMemory(
        tmp_path / f"pool-{env_name}.sqlite",
        embedder=HashEmbedder(64, name="test-hash-bow-64"),
        namespace=f"taubench-{env_name}",
        allowed_splits=allowed_splits,
        k=2,
    )

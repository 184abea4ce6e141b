"""Shared pieces of the τ-bench tests: task scripts for the fake's toy domains, and env builders."""

from __future__ import annotations

from typing import Any

STOP = "###STOP###"


def all_tasks(env_name: str, split: str) -> list[Any]:
    from seer_env.envs.taubench.users import offline_factory, user_override
    from tau_bench.envs import get_env

    with user_override(offline_factory()):
        return list(get_env(env_name, "scripted", "m", split, task_index=0).tasks)


def make_env(env_name: str = "retail", split: str = "test", **kwargs: Any):
    import gymnasium as gym

    import seer_env  # noqa: F401  (registers the IDs)

    kwargs.setdefault("user_strategy", "scripted")
    return gym.make(f"TauBench-{env_name}-v0", task_split=split, **kwargs)

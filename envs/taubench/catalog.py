"""What `seer-env envs` says about the τ-bench ids: how many tasks, and what they need to run.

It imports τ-bench's task lists (no data, no user simulator, no model call).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

SPLITS = ("test", "train", "dev")


def _task_count(env_name: str, split: str) -> int | None:
    try:
        module = importlib.import_module(f"tau_bench.envs.{env_name}.tasks_{split}")
    except ImportError:
        return None
    for name, value in vars(module).items():
        if name.startswith("TASKS") and isinstance(value, list):
            return len(value)
    return None


def describe(spec_kwargs: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """`TauBench-{retail,airline}-v0`."""
    env_name = spec_kwargs["env_name"]
    needs = "tau_bench; a user model"
    hint = (
        "τ-bench: `pip install -e '.[taubench]'`; its simulated user is an LLM (gpt-4o by default: "
        "OPENAI_API_KEY, or --user-model/--user-api-base) unless user_strategy is scripted or replay"
    )
    if importlib.util.find_spec("tau_bench") is None:
        return {
            "tasks": None,
            "ready": False,
            "needs": needs,
            "status": "tau_bench not installed",
            "hint": hint,
        }
    split = str(kwargs.get("task_split", "test"))
    counts = {s: n for s in SPLITS if (n := _task_count(env_name, s)) is not None}
    status = ", ".join(f"{s} {n}" for s, n in counts.items()) if counts else "no task lists found"
    return {"tasks": counts.get(split), "ready": bool(counts), "needs": needs, "status": status, "hint": hint}

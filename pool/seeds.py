"""Seed experiences shipped with seer-env, so SEER starts from a non-empty pool as in the paper.

ToolQA: one solved trajectory per domain (flight, coffee, yelp, airbnb, dblp, scirex, agenda, gsm8k),
written for this project in ToolQA's tool syntax (`pool/data/toolqa_seeds.jsonl`). The reference ships 8
seeds too, but with three dblp ones and none for yelp or airbnb (spec/seer.md §1.2).
"""

from __future__ import annotations

from importlib import resources

from seer_env.types import Trajectory

SEED_FILES = {"toolqa": "toolqa_seeds.jsonl"}


def seed_trajectories(env: str = "toolqa") -> list[Trajectory]:
    """The shipped seed trajectories of an env family (a fresh list each call)."""
    name = SEED_FILES.get(env.lower())
    if name is None:
        raise KeyError(f"no seed experiences for {env!r}; known: {sorted(SEED_FILES)}")
    text = resources.files("seer_env.pool").joinpath("data", name).read_text(encoding="utf-8")
    return [Trajectory.from_json(line) for line in text.splitlines() if line.strip()]

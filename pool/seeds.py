"""Seed experiences shipped with seer-env, so a fresh pool does not start empty (as in the SEER paper).

A namespace's seeds are the file `data/<namespace>_seeds.jsonl` of this package, one `Trajectory` per
line. `toolqa_seeds.jsonl` holds one solved trajectory per ToolQA domain, written for this project in
ToolQA's tool syntax (the SEER reference ships eight too, with three dblp ones and none for yelp or
airbnb).
"""

from __future__ import annotations

import re
from importlib import resources

from seer_env.types import Trajectory

_NAMESPACE = re.compile(r"^[A-Za-z0-9_.-]+$")


def seed_trajectories(namespace: str) -> list[Trajectory]:
    """The shipped seed trajectories of a namespace (a fresh list each call); KeyError if it has none."""
    data = resources.files("seer_env.pool").joinpath("data")
    name = f"{namespace.lower()}_seeds.jsonl"
    if not _NAMESPACE.match(namespace) or not data.joinpath(name).is_file():
        known = sorted(
            p.name[: -len("_seeds.jsonl")] for p in data.iterdir() if p.name.endswith("_seeds.jsonl")
        )
        raise KeyError(f"no seed experiences for {namespace!r}; known: {known}")
    text = data.joinpath(name).read_text(encoding="utf-8")
    return [Trajectory.from_json(line) for line in text.splitlines() if line.strip()]

"""What `seer-env envs` says about the ToolQA ids: how many tasks, and what they need to run.

Cheap: it counts question lines and checks that corpus files exist; it loads no table, model or index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seer_env.envs.toolqa import corpus as _corpus


def _count_questions(root: Path, difficulty: str) -> int:
    from seer_env.envs.toolqa.questions import load_questions

    return len(load_questions(root, difficulty))


def describe_official(spec_kwargs: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """`ToolQA-{easy,hard}-v0`: the official questions and corpus from a data directory."""
    difficulty = spec_kwargs["difficulty"]
    needs = "official data"
    hint = (
        f"ToolQA official data: `seer-env data toolqa download --dest DIR`, then "
        f"`export {_corpus.DATA_ENV_VAR}=DIR` (or data_dir=DIR)"
    )
    root = _corpus.resolve_root(kwargs.get("data_dir"))
    if root is None:
        status = f"{_corpus.DATA_ENV_VAR} not set"
        return {"tasks": None, "ready": False, "needs": needs, "status": status, "hint": hint}
    try:
        questions = _count_questions(root, difficulty)
    except FileNotFoundError:
        status = f"no question files in {root}"
        return {"tasks": None, "ready": False, "needs": needs, "status": status, "hint": hint}
    from seer_env.envs.toolqa.domains import DOMAINS

    missing = _corpus.missing_files(root, [d for d in DOMAINS if d != "gsm8k"])
    status = f"data in {root}" if not missing else f"{root} lacks {len(missing)} corpus files"
    return {"tasks": questions, "ready": not missing, "needs": needs, "status": status, "hint": hint}


def describe_synth(spec_kwargs: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """`ToolQA-Synth-{easy,hard}-v0`: a generated corpus, cached after its first use."""
    difficulty = spec_kwargs["difficulty"]
    from seer_env.envs.toolqa.synth_corpus import SYNTH_VERSION
    from seer_env.envs.toolqa.synth_env import DONE_MARK
    from seer_env.files import cache_dir

    scale, seed = kwargs.get("scale", "small"), int(kwargs.get("seed", 0))
    base = Path(kwargs["cache_dir"]) if kwargs.get("cache_dir") else cache_dir() / "toolqa-synth"
    root = base / f"{scale}-{seed}-v{SYNTH_VERSION}"
    needs = "nothing"
    if not (root / DONE_MARK).exists() or kwargs.get("per_template") is not None:
        status = f"generated on first use ({scale}, seed {seed})"
        return {"tasks": None, "ready": True, "needs": needs, "status": status}
    status = f"cached ({scale}, seed {seed})"
    return {"tasks": _count_questions(root, difficulty), "ready": True, "needs": needs, "status": status}

"""Entry point of `ToolQA-Synth-easy-v0` / `ToolQA-Synth-hard-v0`: a generated corpus, no download.

On first use the corpus (and the question files) are generated into
`seer_env.files.cache_dir()/toolqa-synth/<scale>-<seed>-v<SYNTH_VERSION>` (or `cache_dir`), built in a temporary sibling
folder and renamed into place under a lock file, so parallel processes never both build nor see a half-built
folder; later uses reuse it. The env is a plain `ToolQAEnv` over that folder.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from seer_env.files import atomic_build
from seer_env.files import cache_dir as seer_cache_dir

log = logging.getLogger(__name__)

DONE_MARK = ".complete"


def _build_once(target: Path, fill) -> Path:
    """Run `fill(tmp_dir)` and rename the result to `target`, once across processes."""

    def fill_and_mark(tmp: Path) -> None:
        fill(tmp)
        (tmp / DONE_MARK).write_text("ok\n")

    return atomic_build(target, fill_and_mark, check=DONE_MARK, lock=True)


def synth_root(scale: str = "small", seed: int = 0, cache_dir: str | os.PathLike | None = None) -> Path:
    """The generated ToolQA root for (scale, seed), built on first use (corpus + official-count questions)."""
    from seer_env.envs.toolqa.synth_corpus import SYNTH_VERSION, generate_corpus
    from seer_env.envs.toolqa.synth_questions import generate_questions, write_questions

    base = seer_cache_dir() / "toolqa-synth" if cache_dir is None else Path(cache_dir)
    target = base / f"{scale}-{seed}-v{SYNTH_VERSION}"

    def fill(tmp: Path) -> None:
        log.info("generating the ToolQA-Synth corpus (%s, seed %d) into %s", scale, seed, target)
        generate_corpus(tmp, scale=scale, seed=seed)
        for diff in ("easy", "hard"):
            write_questions(tmp, generate_questions(tmp, diff, per_template=None, seed=seed))

    return _build_once(target, fill)


def synth_questions_dir(root: Path, per_template: int | None, seed: int) -> Path:
    """A folder of question files for `per_template` (None: the root's own official-count files)."""
    if per_template is None:
        return root
    from seer_env.envs.toolqa.synth_questions import generate_questions, write_questions

    target = root / f"questions-pt{int(per_template)}"

    def fill(tmp: Path) -> None:
        for diff in ("easy", "hard"):
            write_questions(tmp, generate_questions(root, diff, per_template=int(per_template), seed=seed))

    return _build_once(target, fill)


def make_synth_env(
    difficulty: str = "easy",
    scale: str = "small",
    seed: int = 0,
    domains: list[str] | tuple[str, ...] | None = None,
    per_template: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    **env_kwargs: Any,
):
    """A `ToolQAEnv` over a generated corpus and its questions (built on first use, then cached).

    scale: "tiny", "small" (default; builds in seconds) or "full" (official sizes; minutes, GBs).
    per_template: questions per template (None: the official counts, 100 per domain).
    Other keyword arguments go to `ToolQAEnv` (max_steps, scorer, embedder, typed_filters, ...).
    """
    from seer_env.envs.toolqa.env import ToolQAEnv

    root = synth_root(scale, seed, cache_dir)
    qdir = synth_questions_dir(root, per_template, seed)
    questions = None if qdir == root else qdir
    return ToolQAEnv(difficulty=difficulty, data_dir=root, questions=questions, domains=domains, **env_kwargs)

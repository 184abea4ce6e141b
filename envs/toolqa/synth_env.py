"""Entry point of `ToolQA-Synth-easy-v0` / `ToolQA-Synth-hard-v0`: a generated corpus, no download.

On first use the corpus (and the question files) are generated into
`seer_env.embedding.cache_dir()/toolqa-synth/<scale>-<seed>-v<SYNTH_VERSION>` (or `cache_dir`), built in a temporary sibling
folder and renamed into place under a lock file, so parallel processes never both build nor see a half-built
folder; later uses reuse it. The env is a plain `ToolQAEnv` over that folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DONE_MARK = ".complete"


@contextlib.contextmanager
def _file_lock(path: Path):
    """An exclusive inter-process lock (fcntl where available, else best effort)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "a+")
    try:
        try:
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - non-POSIX
            pass
        yield
    finally:
        with contextlib.suppress(Exception):
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        f.close()


def _build_once(target: Path, fill) -> Path:
    """Run `fill(tmp_dir)` and rename the result to `target`, once across processes."""
    if (target / DONE_MARK).is_file():
        return target
    with _file_lock(target.with_name(target.name + ".lock")):
        if (target / DONE_MARK).is_file():
            return target
        if target.exists():  # a leftover without the mark: rebuild
            shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-build-", dir=target.parent))
        try:
            fill(tmp)
            (tmp / DONE_MARK).write_text("ok\n")
            os.rename(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def synth_root(scale: str = "small", seed: int = 0, cache_dir: str | os.PathLike | None = None) -> Path:
    """The generated ToolQA root for (scale, seed), built on first use (corpus + official-count questions)."""
    from seer_env.envs.toolqa.synth_corpus import SYNTH_VERSION, generate_corpus
    from seer_env.envs.toolqa.synth_questions import generate_questions, write_questions

    if cache_dir is None:
        from seer_env.embedding import cache_dir as seer_cache

        base = seer_cache() / "toolqa-synth"
    else:
        base = Path(cache_dir)
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

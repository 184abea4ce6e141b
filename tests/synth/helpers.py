"""Shared helpers for the ToolQA-Synth tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

from seer_env.embedding import HashEmbedder as _HashEmbedder

OFFICIAL_QUESTIONS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "toolqa" / "questions"


def HashEmbedder() -> _HashEmbedder:  # noqa: N802 (a class stand-in)
    """The retrievers' embedder in the synth tests: hashed words, 1024-d; deterministic, instant, no
    model files. The real default model is exercised by `test_real_retriever_finds_the_texts`."""
    return _HashEmbedder(1024)


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under root, keyed by relative path."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }

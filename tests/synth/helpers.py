"""Shared helpers for the ToolQA-Synth tests."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

OFFICIAL_QUESTIONS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "toolqa" / "questions"


class HashEmbedder:
    """Stands in for a sentence-transformers model in the retrievers (`texts -> float32 rows`, L2-normalised).

    A hashed bag of lower-cased word tokens: deterministic, instant, no model files. It keeps the tests
    fast; the real default model is exercised by `test_real_retriever_finds_the_texts`.
    """

    dim = 1024

    def __call__(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for tok in re.findall(r"[a-z0-9]+", t.lower()):
                h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=4).digest(), "little")
                out[i, h % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under root, keyed by relative path."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }

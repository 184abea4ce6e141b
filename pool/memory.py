"""`ExperienceMemory`: the pool as SEER's agents use it (recall, add, freeze), sync and async.

- The store (`seer_env.pool.store`) is the source of truth; every process keeps its own vector indexes
  (`seer_env.pool.index`), one of query embeddings and one of trajectory embeddings, and catches up by
  row id before each recall, so experiences added by other processes are seen.
- Strategies (the similarity term of the score):
  - `goal`: the question's embedding against the stored questions' (the paper's query-based SEER).
  - `process`: the embedding of the steps so far (`render_steps`, "" at step 1, as the reference)
    against the stored complete step lists (trajectory-based SEER).
  - `hybrid`: goal while no step has been taken, process from the second step on. At step 1 the
    process text is empty, so its cosine carries no information; hybrid uses the
    question there instead.
- Async methods run the same work in a thread executor, off the event loop (faiss and torch release
  the GIL while they compute).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from seer_env.embedding import DEFAULT_EMBEDDER, ModelEmbedder, TextEmbedder, as_embedder, normalise
from seer_env.pool.index import VectorIndex
from seer_env.pool.render import render_steps
from seer_env.pool.store import SCHEMA_VERSION, Store, content_hash, safe_url
from seer_env.pool.types import (
    DEFAULT_NAMESPACE,
    STRATEGIES,
    EmbedderMismatchError,
    Experience,
    PoolFrozenError,
    Recalled,
    RecallWeights,
)
from seer_env.types import Step, Trajectory

log = logging.getLogger(__name__)

CACHE_SIZE = 4096  # embeddings of texts and stored experiences kept per memory
GAP_TTL_S = 120.0  # how long a missing id is re-checked (a concurrent transaction still committing)


class _LRU:
    """A thread-safe least-recently-used map of a bounded size."""

    def __init__(self, size: int):
        self._d: OrderedDict = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get_many(self, keys: Iterable) -> dict:
        """The cached entries among `keys` (each marked as just used)."""
        with self._lock:
            out = {k: self._d[k] for k in keys if k in self._d}
            for k in out:
                self._d.move_to_end(k)
        return out

    def put_many(self, items: dict) -> None:
        with self._lock:
            self._d.update(items)
            while len(self._d) > self._size:
                self._d.popitem(last=False)


def _settle(fut: asyncio.Future, ok: bool, value: Any) -> None:
    if fut.done():  # the waiting task was cancelled; the add went through all the same
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)


class ExperienceMemory:
    """An experience pool with SEER recall. See the module docstring and `seer_env.pool.scoring`.

    url: SQLAlchemy URL or a file path (SQLite); None makes a fresh SQLite file in a temp dir.
    embedder: sentence-transformers model name or path (None: the packaged all-MiniLM-L6-v2), or an
        object with `name`, `dim`, `encode(texts)`.
    on_mismatch: what to do when the pool's embeddings come from another embedder: "refuse" (raise
        `EmbedderMismatchError`) or "reembed" (recompute every stored embedding with this one).
    allowed_splits: splits `add` accepts (None: any).
    recall_log: path of a JSONL file that gets one line per recall (None: no log).
    sync_interval: how stale a recall may be about rows other processes wrote, in seconds (0: look at
        the store before every recall). This process's own writes are seen by the next recall always.
    threads: threads one recall may use to scan large groups side by side.
    executor_workers: threads that run `arecall`/`aadd` off the event loop (one by default: recalls
        are serialised on the index anyway, and fewer threads holding the GIL keep the loop responsive).
    """

    def __init__(
        self,
        url: str | os.PathLike | None = None,
        embedder: str | TextEmbedder | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        weights: RecallWeights | None = None,
        k: int = 4,
        min_similarity: float | None = None,
        success_threshold: float = 1.0,
        allowed_splits: Sequence[str] | None = ("train",),
        recall_log: str | os.PathLike | None = None,
        on_mismatch: str = "refuse",
        sync_interval: float = 0.5,
        threads: int = 1,
        executor_workers: int = 1,
    ):
        if on_mismatch not in ("refuse", "reembed"):
            raise ValueError('on_mismatch must be "refuse" or "reembed"')
        self.namespace = namespace
        self.weights = weights or RecallWeights()
        self.k = int(k)
        self.min_similarity = min_similarity
        self.success_threshold = float(success_threshold)
        self.allowed_splits = None if allowed_splits is None else tuple(allowed_splits)
        self.recall_log = Path(recall_log) if recall_log else None
        self.sync_interval = float(sync_interval)
        self.store = Store(url)
        self.url = self.store.url
        self.embedder = as_embedder(embedder)
        self._lock = threading.RLock()
        self._log_lock = threading.Lock()
        self._emb_cache = _LRU(CACHE_SIZE)  # text -> embedding
        # experiences never change once stored (re-embedding touches only vectors), so recalled ones
        # are kept: most recalls return the same few, and reading them back cost a query each time
        self._exp_cache = _LRU(CACHE_SIZE)  # id -> Experience
        self._executor = ThreadPoolExecutor(max(1, executor_workers), thread_name_prefix="seer-pool")
        # `aadd` calls waiting to be written: (add keyword arguments, trajectory, future, its loop)
        self._pending_adds: list[tuple[tuple, Trajectory, asyncio.Future, asyncio.AbstractEventLoop]] = []
        self._pending_lock = threading.Lock()
        self._draining = False
        self._threads = threads

        stored_name = self.store.get_meta("embedder")
        # a model embedder loads its model to learn the dimension: trust the stored one when the names
        # match (a wrong one still fails at the first encode); other embedders are asked directly
        known_dim = (
            self.embedder.known_dim if isinstance(self.embedder, ModelEmbedder) else int(self.embedder.dim)
        )
        stored_dim = int(self.store.get_meta("dim") or 0)
        if stored_name is not None and stored_name == self.embedder.name and known_dim in (None, stored_dim):
            self.dim = stored_dim
        else:
            name, dim = self.store.ensure_embedder(self.embedder.name, int(self.embedder.dim))
            self.dim = dim
            if name != self.embedder.name or dim != int(self.embedder.dim):
                if on_mismatch == "refuse":
                    raise EmbedderMismatchError(
                        f"the pool at {safe_url(self.url)} holds embeddings from {name!r} ({dim}-d), not "
                        f"{self.embedder.name!r} ({self.embedder.dim}-d); open it with that embedder, or "
                        f'with on_mismatch="reembed" to recompute all stored embeddings'
                    )
                self._reembed()
        self._reset_index()
        self.sync()

    # ---- index -----------------------------------------------------------------------------
    def _reset_index(self) -> None:
        self._qidx = VectorIndex(self.dim, threads=self._threads)
        self._tidx = VectorIndex(self.dim, threads=self._threads)
        self._last_id = 0
        self._gaps: dict[int, float] = {}
        self._last_sync = 0.0
        self._dirty = True  # this process wrote since the last sync

    def sync(self) -> int:
        """Catch up with rows other processes (or this one) wrote; returns how many were added."""
        with self._lock:
            self._dirty = False  # cleared first: a write committed while this runs marks it again
            now = time.monotonic()
            self._gaps = {i: t for i, t in self._gaps.items() if now - t < GAP_TTL_S}
            ids, nss, intents, chains, qv, tv = [], [], [], [], [], []
            prev_last = self._last_id
            for row in self.store.index_rows(
                self._last_id, self._gaps if self.store.dialect != "sqlite" else ()
            ):
                if row.id in self._gaps:
                    del self._gaps[row.id]
                elif row.id <= self._last_id:
                    continue
                if row.embedder != self.embedder.name or int(row.dim) != self.dim:
                    log.warning(
                        "skipping experience %s: embedded by %s, not %s",
                        row.id,
                        row.embedder,
                        self.embedder.name,
                    )
                    continue
                ids.append(row.id)
                nss.append(row.namespace)
                intents.append(row.intent)
                chains.append(json.loads(row.tool_chain))
                qv.append(np.frombuffer(row.query_emb, dtype=np.float32))
                tv.append(np.frombuffer(row.traj_emb, dtype=np.float32))
            if ids:
                self._qidx.add(ids, nss, intents, chains, np.stack(qv))
                self._tidx.add(ids, nss, intents, chains, np.stack(tv))
                new_last = max(max(ids), self._last_id)
                if self.store.dialect != "sqlite":
                    # ids are taken before commit on PostgreSQL: one still committing may appear later
                    seen = set(ids)
                    for i in range(prev_last + 1, new_last):
                        if i not in seen:
                            self._gaps.setdefault(i, now)
                self._last_id = new_last
            self._last_sync = now
            return len(ids)

    def _maybe_sync(self) -> None:
        if self._dirty or self.sync_interval <= 0 or time.monotonic() - self._last_sync >= self.sync_interval:
            self.sync()

    # ---- embedding -------------------------------------------------------------------------------
    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed texts (normalised float32 rows), reusing cached vectors of texts seen before."""
        got = self._emb_cache.get_many(texts)
        uniq = [t for t in dict.fromkeys(texts) if t not in got]
        if uniq:
            self._keep(uniq, self.embedder.encode(uniq), got)
        return self._stacked(texts, got)

    async def aembed(self, texts: list[str]) -> np.ndarray:
        """`embed` for async callers, through the embedder's `aencode` (texts seen before come from the cache)."""
        got = self._emb_cache.get_many(texts)
        uniq = [t for t in dict.fromkeys(texts) if t not in got]
        if uniq:
            self._keep(uniq, await self.embedder.aencode(uniq), got)
        return self._stacked(texts, got)

    def _keep(self, texts: list[str], vecs: np.ndarray, got: dict[str, np.ndarray]) -> None:
        """Check and cache freshly embedded texts (into `got` too)."""
        vecs = normalise(vecs)
        if vecs.shape != (len(texts), self.dim):
            raise EmbedderMismatchError(
                f"embedder returned shape {vecs.shape}, expected ({len(texts)}, {self.dim})"
            )
        new = dict(zip(texts, vecs, strict=True))
        self._emb_cache.put_many(new)
        got.update(new)

    def _stacked(self, texts: list[str], got: dict[str, np.ndarray]) -> np.ndarray:
        out = [got[t] for t in texts]
        return np.stack(out) if out else np.zeros((0, self.dim), dtype=np.float32)

    # ---- recall ----------------------------------------------------------------------------------
    def recall(
        self,
        query: str,
        *,
        intent: str | None = None,
        steps: Sequence[Step] = (),
        strategy: str = "process",
        k: int | None = None,
        namespace: str | None = None,
        tools: Sequence[str] | None = None,
        vector: np.ndarray | None = None,
    ) -> list[Recalled]:
        """The top-k experiences by SEER's score (best first; ties: more recent first).

        `steps` are the episode's steps so far; the tools used so far are their action names unless
        `tools` is given. `vector`: the embedding of the recall text (`recall_text`), when the caller
        has it already.
        """
        k = self.k if k is None else int(k)
        ns = namespace or self.namespace
        steps = list(steps)
        tools_so_far = list(tools) if tools is not None else [s.action.name for s in steps]
        text = self.recall_text(query, steps, strategy)
        if k <= 0:
            self._log(query, intent, strategy, ns, tools_so_far, k, [])
            return []
        qv = self.embed([text])[0] if vector is None else vector
        with self._lock:
            self._maybe_sync()
            idx = self._qidx if self._goal(strategy, steps) else self._tidx
            hits = idx.search(
                qv,
                namespace=ns,
                intent=intent,
                tools_so_far=tools_so_far,
                weights=self.weights,
                k=k,
                min_similarity=self.min_similarity,
            )
        exps = self._experiences([h.id for h in hits])
        out = [
            Recalled(exps[h.id], h.score, h.similarity, h.coverage, h.intent_match)
            for h in hits
            if h.id in exps
        ]
        self._log(query, intent, strategy, ns, tools_so_far, k, out)
        return out

    @staticmethod
    def _goal(strategy: str, steps: Sequence[Step]) -> bool:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; one of {STRATEGIES}")
        return strategy == "goal" or (strategy == "hybrid" and not steps)

    def recall_text(self, query: str, steps: Sequence[Step] = (), strategy: str = "process") -> str:
        """The text a recall embeds: the question (goal; hybrid before the first step) or the steps so far."""
        return query if self._goal(strategy, steps) else render_steps(list(steps))

    def _experiences(self, ids: list[int]) -> dict[int, Experience]:
        """Experiences by id, from the cache or the store (callers must not mutate them)."""
        out = self._exp_cache.get_many(ids)
        missing = [i for i in ids if i not in out]
        if missing:
            fetched = self.store.fetch(missing)
            self._exp_cache.put_many(fetched)
            out.update(fetched)
        return out

    async def arecall(self, query: str, **kwargs) -> list[Recalled]:
        """`recall` off the event loop. With an embedder that embeds asynchronously (`aencode`: a
        model's batcher), the text is embedded first, batched with the other episodes' recalls, and
        only the search runs in the pool's thread."""
        loop = asyncio.get_running_loop()
        aencode = getattr(self.embedder, "aencode", None)
        if (
            aencode is not None
            and kwargs.get("vector") is None
            and (kwargs.get("k") is None or kwargs["k"] > 0)
        ):
            text = self.recall_text(query, kwargs.get("steps", ()), kwargs.get("strategy", "process"))
            kwargs["vector"] = (await self.aembed([text]))[0]
        return await loop.run_in_executor(self._executor, functools.partial(self.recall, query, **kwargs))

    def _log(self, query, intent, strategy, ns, tools, k, out: list[Recalled]) -> None:
        if self.recall_log is None:
            return
        rec = {
            "time": time.time(),
            "namespace": ns,
            "strategy": strategy,
            "query": query,
            "intent": intent,
            "tools_so_far": tools,
            "k": k,
            "weights": {"sim": self.weights.sim, "tool": self.weights.tool, "intent": self.weights.intent},
            "min_similarity": self.min_similarity,
            "recalled": [
                {
                    "id": r.experience.id,
                    "content_hash": r.experience.content_hash,
                    "intent": r.experience.intent,
                    "score": r.score,
                    "similarity": r.similarity,
                    "coverage": r.coverage,
                    "intent_match": r.intent_match,
                }
                for r in out
            ],
        }
        line = json.dumps(rec, ensure_ascii=False, default=str) + "\n"
        try:
            with self._log_lock:
                self.recall_log.parent.mkdir(parents=True, exist_ok=True)
                with open(self.recall_log, "a", encoding="utf-8") as f:  # one write per line: O_APPEND
                    f.write(line)
        except OSError as exc:  # logging must never break a recall
            log.warning("could not write the recall log %s: %s", self.recall_log, exc)

    # ---- accumulation ------------------------------------------------------------------------------
    def admits(self, trajectory: Trajectory, split: str | None = "train") -> bool:
        """Whether `add` would consider this trajectory (success, reward threshold, split)."""
        if not trajectory.success or float(trajectory.reward) < self.success_threshold:
            return False
        return self.allowed_splits is None or split in self.allowed_splits

    def add(
        self,
        trajectory: Trajectory,
        *,
        split: str | None = "train",
        source: str | None = "online",
        run_id: str | None = None,
        namespace: str | None = None,
    ) -> bool:
        """Add a successful trajectory. False when it failed, is below the reward threshold, has a split
        that is not allowed, or is already in the pool. Raises PoolFrozenError on a frozen pool."""
        return self.add_many([trajectory], split=split, source=source, run_id=run_id, namespace=namespace)[0]

    async def aadd(self, trajectory: Trajectory, **kwargs) -> bool:
        """`add` off the event loop. Adds that arrive while earlier ones are being written are written
        together, in arrival order, in one transaction (`add_many`): at hundreds of episodes a second,
        one commit per episode would cost more CPU than the episodes."""
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        with self._pending_lock:
            self._pending_adds.append((tuple(sorted(kwargs.items())), trajectory, fut, loop))
            start, self._draining = not self._draining, True
        if start:
            try:
                self._executor.submit(self._drain_adds)
            except RuntimeError:  # the memory was closed
                with self._pending_lock:
                    self._pending_adds.clear()
                    self._draining = False
                raise
        return await fut

    def _drain_adds(self) -> None:
        """Write the waiting `aadd`s, a run of equal arguments at a time, until none is left."""
        while True:
            with self._pending_lock:
                batch, self._pending_adds = self._pending_adds, []
                if not batch:
                    self._draining = False
                    return
            i = 0
            while i < len(batch):
                j = i + 1
                while j < len(batch) and batch[j][0] == batch[i][0]:
                    j += 1
                run = batch[i:j]
                try:
                    outcomes: list[tuple[bool, Any]] = [
                        (True, ok) for ok in self.add_many([t for _, t, _, _ in run], **dict(run[0][0]))
                    ]
                except Exception as exc:
                    if len(run) == 1:
                        outcomes = [(False, exc)]
                    else:  # one at a time, so that each add gets its own outcome
                        outcomes = []
                        for key, traj, _, _ in run:
                            try:
                                outcomes.append((True, self.add(traj, **dict(key))))
                            except Exception as one:
                                outcomes.append((False, one))
                for (_, _, fut, loop), outcome in zip(run, outcomes, strict=True):
                    with contextlib.suppress(RuntimeError):  # its loop has closed: nobody waits
                        loop.call_soon_threadsafe(_settle, fut, *outcome)
                i = j

    def add_many(
        self,
        trajectories: Iterable[Trajectory],
        *,
        split: str | None = "train",
        source: str | None = "online",
        run_id: str | None = None,
        namespace: str | None = None,
        batch_size: int = 256,
    ) -> list[bool]:
        """`add` for many trajectories: embedded in batches, written one transaction per batch."""
        ns = namespace or self.namespace
        trajs = list(trajectories)
        out = [False] * len(trajs)
        todo = []
        seen = set()
        for i, t in enumerate(trajs):
            if not self.admits(t, split):
                log.debug("not adding %s: failed, below threshold or split %r not allowed", t.task_id, split)
                continue
            h = content_hash(ns, t.intent, t.query, t.steps, t.answer)
            if h in seen:
                continue
            seen.add(h)
            todo.append((i, t, h))
        for b in range(0, len(todo), batch_size):
            chunk = todo[b : b + batch_size]
            present = self.store.existing_hashes(ns, [h for _, _, h in chunk])
            chunk = [c for c in chunk if c[2] not in present]  # skip embedding known duplicates
            if not chunk:
                continue
            texts = []
            for _, t, _ in chunk:
                texts.append(t.query)
                texts.append(render_steps(t.steps))
            vecs = normalise(self.embedder.encode(texts))
            if vecs.shape != (len(texts), self.dim):
                raise EmbedderMismatchError(
                    f"embedder returned shape {vecs.shape}, expected ({len(texts)}, {self.dim})"
                )
            rows = [
                (
                    Experience(0, ns, t, split=split, source=source, run_id=run_id, content_hash=h),
                    vecs[2 * j],
                    vecs[2 * j + 1],
                )
                for j, (_, t, h) in enumerate(chunk)
            ]
            flags = self.store.insert_rows(rows, self.embedder.name, self.dim)
            for (i, _, _), ok in zip(chunk, flags, strict=True):
                out[i] = ok
        if not any(out) and self.store.is_frozen():
            # the write transaction checks too; this covers a batch that had nothing new to write
            raise PoolFrozenError(f"the pool at {safe_url(self.url)} is frozen; it takes no writes")
        if any(out):
            self._dirty = True  # the index catches up before the next recall
        return out

    def add_seeds(self, seeds_of: str | None = None, namespace: str | None = None) -> int:
        """Add the seed experiences shipped for the namespace `seeds_of` (default: this memory's) to
        `namespace` (default: this memory's), split "train", source "seed"; KeyError when none are
        shipped for it."""
        from seer_env.pool.seeds import seed_trajectories

        trajs = seed_trajectories(seeds_of or self.namespace)
        return sum(self.add_many(trajs, split="train", source="seed", namespace=namespace))

    # ---- pool-level ------------------------------------------------------------------------------
    def __len__(self) -> int:
        """Experiences in this memory's namespace."""
        return self.store.count(self.namespace)

    def experiences(self, namespace: str | None = None) -> Iterable[Experience]:
        """All experiences in id order (one namespace, or all with namespace="*")."""
        ns = namespace or self.namespace
        yield from self.store.iter_experiences(None if ns == "*" else ns)

    def get(self, ids: Sequence[int]) -> list[Experience]:
        found = self.store.fetch(list(ids))
        return [found[i] for i in ids if i in found]

    def content_hash(self) -> str:
        """SHA-256 of the pool's content (`pool_content_hash`)."""
        return pool_content_hash(self.store, self.embedder.name)

    def freeze(self) -> str:
        """Refuse all further writes (in every process) and return the content hash."""
        self.store.freeze()
        digest = self.content_hash()
        self.store.set_meta("frozen_hash", digest)
        return digest

    @property
    def frozen(self) -> bool:
        return self.store.is_frozen()

    def stats(self) -> dict[str, Any]:
        self.sync()
        return {**pool_stats(self.store, self.namespace), "indexed": len(self._qidx)}

    def _reembed(self) -> None:
        """Recompute every stored embedding with this memory's embedder, in one transaction."""
        if self.store.is_frozen():
            raise PoolFrozenError("the pool is frozen; its embeddings cannot be recomputed")
        log.info("re-embedding the pool at %s with %s", safe_url(self.url), self.embedder.name)

        def embed(batch: list[Experience]) -> tuple[np.ndarray, np.ndarray]:
            vecs = normalise(
                self.embedder.encode([x for e in batch for x in (e.query, render_steps(e.steps))])
            )
            return vecs[0::2], vecs[1::2]

        dim = int(self.embedder.dim)
        self.store.reembed(embed, self.embedder.name, dim)
        self.dim = dim

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.store.close()

    def __enter__(self) -> ExperienceMemory:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ExperienceMemory({safe_url(self.url)!r}, namespace={self.namespace!r}, embedder={self.embedder.name!r})"


def pool_content_hash(store: Store, embedder_name: str) -> str:
    """SHA-256 of a pool's content: the embedder and every experience's content hash, in id order
    (the order matters: recall breaks ties by recency)."""
    h = hashlib.sha256()
    h.update(f"seer-pool/{SCHEMA_VERSION}\n{embedder_name}\n".encode())
    for ns, ch in store.hash_lines():
        h.update(f"{ns}\t{ch}\n".encode())
    return h.hexdigest()


def pool_stats(store: Store, namespace: str) -> dict[str, Any]:
    """Counts (all, by namespace, intent, split, source), embedder, schema version, frozen state."""
    meta = store.all_meta()
    return {
        "url": safe_url(store.url),
        "schema_version": int(meta.get("schema_version") or 0),
        "embedder": meta.get("embedder"),
        "dim": int(meta.get("dim") or 0),
        "experiences": store.count(),
        "namespace": namespace,
        "in_namespace": store.count(namespace),
        "by_namespace": store.group_counts("namespace"),
        "by_intent": store.group_counts("intent"),
        "by_split": store.group_counts("split"),
        "by_source": store.group_counts("source"),
        "frozen": (meta.get("frozen") or "") == "1",
        "frozen_hash": meta.get("frozen_hash"),
    }


class PoolReader:
    """A pool opened only to read it (`seer-env pool stats` and `export`): it writes nothing, creates
    no file, loads no embedding model and builds no index. `PoolOpenError` when `url` holds no pool.

    namespace: the namespace `stats` and `experiences()` default to ("*": all); None picks the
    pool's only namespace, else all of them.
    """

    def __init__(self, url: str | os.PathLike, namespace: str | None = None):
        self.store = Store(url, read_only=True)
        self.url = self.store.url
        if namespace is None:
            present = sorted(self.store.group_counts("namespace"))
            namespace = present[0] if len(present) == 1 else "*"
        self.namespace = namespace

    @property
    def embedder_name(self) -> str:
        """The pool's embedder (the default one for a pool that never embedded anything)."""
        return self.store.get_meta("embedder") or DEFAULT_EMBEDDER

    def experiences(self, namespace: str | None = None) -> Iterable[Experience]:
        """All experiences in id order (one namespace, or all with namespace="*")."""
        ns = namespace or self.namespace
        yield from self.store.iter_experiences(None if ns == "*" else ns)

    def content_hash(self) -> str:
        return pool_content_hash(self.store, self.embedder_name)

    def stats(self) -> dict[str, Any]:
        return pool_stats(self.store, self.namespace)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> PoolReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

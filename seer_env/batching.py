"""Dynamic micro-batching of embedding requests, with a cache of the texts already embedded.

Concurrent episodes (and the ToolQA retrievers) each embed a text or two per step; a model embeds 32
texts in about the CPU time of 8 one by one. `MicroBatcher` gathers what callers ask for at about the
same time into one model call and embeds each distinct text once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import queue
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable

import numpy as np


class MicroBatcher:
    """One model call for the texts that many threads and tasks ask for at about the same time.

    `encode` (blocking, from any thread) and `aencode` (async) queue their texts; one worker thread
    takes the first request, waits at most `max_wait` seconds for others to join (and takes every
    request that queued while the previous batch ran), embeds the distinct texts of the batch in one
    `encode_fn` call, and hands each caller its rows. Texts embedded before come from a shared LRU cache
    of `cache_size` texts, so a text is embedded once per process. A request of `max_batch` texts or
    more runs as a batch of its own.

    The rows are those `encode_fn` gives for the text in a batch; a model whose output depends on the
    batch (padding) differs from one-by-one encoding only by float rounding (tests check the cosine).
    """

    def __init__(
        self,
        encode_fn: Callable[[list[str]], np.ndarray],
        *,
        max_batch: int = 64,
        max_wait: float = 0.002,
        cache_size: int = 8192,
        name: str = "embedder",
    ):
        self.encode_fn = encode_fn
        self.max_batch = max(1, int(max_batch))
        self.max_wait = max(0.0, float(max_wait))
        self.name = name
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = int(cache_size)
        self._cache_lock = threading.Lock()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self.batches = 0  # model calls so far
        self.embedded = 0  # texts embedded so far (cache misses)
        _BATCHERS_ALIVE.add(self)

    # -- the cache ----------------------------------------------------------------------------------
    def _cached(self, texts: list[str]) -> dict[str, np.ndarray]:
        with self._cache_lock:
            got = {t: self._cache[t] for t in texts if t in self._cache}
            for t in got:
                self._cache.move_to_end(t)
        return got

    def _remember(self, rows: dict[str, np.ndarray]) -> None:
        with self._cache_lock:
            self._cache.update(rows)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def clear(self) -> None:
        """Forget the cached texts (a benchmark starting cold, say)."""
        with self._cache_lock:
            self._cache.clear()

    # -- requests -----------------------------------------------------------------------------------
    def _submit(
        self, texts: list[str]
    ) -> tuple[dict[str, np.ndarray], list[str], concurrent.futures.Future | None]:
        got = self._cached(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in got]
        if not missing:
            return got, missing, None
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._ensure_worker()
        self._queue.put((missing, fut))
        return got, missing, fut

    @staticmethod
    def _rows(texts: list[str], got: dict[str, np.ndarray], dim: int | None) -> np.ndarray:
        if not texts:
            return np.zeros((0, dim or 0), dtype=np.float32)
        return np.stack([got[t] for t in texts]).astype(np.float32, copy=False)

    def encode(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        got, missing, fut = self._submit(texts)
        if fut is not None:
            got.update(zip(missing, fut.result(), strict=True))
        return self._rows(texts, got, None)

    async def aencode(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        got, missing, fut = self._submit(texts)
        if fut is not None:
            got.update(zip(missing, await asyncio.wrap_future(fut), strict=True))
        return self._rows(texts, got, None)

    # -- the worker ---------------------------------------------------------------------------------
    def _ensure_worker(self) -> None:
        if self._thread is not None and self._pid == os.getpid():
            return
        with self._start_lock:
            if self._pid != os.getpid():  # a forked child: the parent's worker and queue are not ours
                self._after_fork()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"embed-batcher-{self.name}", daemon=True
                )
                self._thread.start()

    def _after_fork(self) -> None:
        self._queue = queue.SimpleQueue()
        self._thread = None
        self._start_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._pid = os.getpid()

    def _run(self) -> None:
        q = self._queue
        while True:
            batch = [q.get()]
            n = len(batch[0][0])
            deadline = time.monotonic() + self.max_wait
            while n < self.max_batch:
                try:  # whatever queued while the last batch ran joins at once; then a bounded wait
                    item = q.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if len(item[0]) >= self.max_batch:  # a large request is a batch of its own, next
                    q.put(item)
                    break
                batch.append(item)
                n += len(item[0])
            self._embed(batch)

    def _embed(self, batch: list[tuple[list[str], concurrent.futures.Future]]) -> None:
        texts = list(dict.fromkeys(t for req, _ in batch for t in req))
        try:
            vecs = np.asarray(self.encode_fn(texts), dtype=np.float32)
            if vecs.shape[0] != len(texts):
                raise ValueError(f"the model returned {vecs.shape[0]} rows for {len(texts)} texts")
        except BaseException as exc:  # every waiting caller gets the error
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        rows = dict(zip(texts, vecs, strict=True))
        self.batches += 1
        self.embedded += len(texts)
        self._remember(rows)
        for req, fut in batch:
            if not fut.done():
                fut.set_result([rows[t] for t in req])


_BATCHERS_ALIVE: weakref.WeakSet[MicroBatcher] = weakref.WeakSet()


def clear_caches() -> None:
    """Forget the texts every batcher of this process has cached."""
    for b in list(_BATCHERS_ALIVE):
        b.clear()


def _batchers_after_fork() -> None:
    for b in list(_BATCHERS_ALIVE):
        b._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_batchers_after_fork)

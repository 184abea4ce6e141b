"""Embedding: micro-batching and its cache, the ONNX backend, the shared embedding service.

The batching logic is checked against a counting stand-in for a model (its calls are what is
asserted); the numbers against the packaged MiniLM itself: batched rows equal one-by-one rows, and the
ONNX backend's rows equal torch's, within the stated float tolerance.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time

import numpy as np
import pytest

from seer_env.batching import MicroBatcher
from seer_env.embedding import HashEmbedder, ModelEmbedder

# the tolerance the ONNX backend and batching are held to: cosine with the reference rows
COS_TOL = 1e-5

TEXTS = [
    "Step 1: I should load the flights table. <CALL_BEGIN>LoadDB[flights]<CALL_END>",
    "What is the value of k3?",
    "",
    "Ünïcödé names, emoji 🎉 and a ✓",
    "word " * 400,  # past the model's 256-token limit: truncated the same way
    "x",
]


class CountingModel:
    """Stands in for a model behind `MicroBatcher`: hashed-word rows, every call recorded."""

    def __init__(self, delay: float = 0.0):
        self.calls: list[list[str]] = []
        self.delay = delay
        self._hash = HashEmbedder(16)
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            self.calls.append(list(texts))
        time.sleep(self.delay)
        return self._hash.encode(texts)


def test_concurrent_callers_share_model_calls_and_get_their_own_rows():
    model = CountingModel(delay=0.05)
    b = MicroBatcher(model, max_wait=0.02)
    texts = [f"text number {i}" for i in range(24)]
    out: dict[int, np.ndarray] = {}

    def call(i: int) -> None:
        out[i] = b.encode([texts[i]])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = HashEmbedder(16).encode(texts)
    for i in range(24):
        np.testing.assert_array_equal(out[i][0], expected[i])
    assert sum(len(c) for c in model.calls) == 24
    assert len(model.calls) < 24 and max(len(c) for c in model.calls) > 1  # batched


def test_identical_texts_are_embedded_once():
    model = CountingModel()
    b = MicroBatcher(model)
    first = b.encode(["same", "other", "same"])
    again = b.encode(["same"])
    assert [t for c in model.calls for t in c] == ["same", "other"]
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_array_equal(first[0], again[0])
    b.clear()
    b.encode(["same"])
    assert model.calls[-1] == ["same"]


async def test_async_callers_are_batched():
    model = CountingModel(delay=0.02)
    b = MicroBatcher(model, max_wait=0.01)
    rows = await asyncio.gather(*[b.aencode([f"q{i}", "shared"]) for i in range(16)])
    assert all(r.shape == (2, 16) for r in rows)
    assert sum(len(c) for c in model.calls) == 17  # 16 distinct texts and "shared" once
    assert len(model.calls) < 16


def test_a_large_request_is_a_batch_of_its_own():
    model = CountingModel()
    b = MicroBatcher(model, max_batch=8)
    b.encode([f"t{i}" for i in range(20)])
    assert model.calls == [[f"t{i}" for i in range(20)]]


def test_a_failing_model_fails_every_waiting_caller_and_recovers():
    state = {"fail": True}

    def model(texts):
        if state["fail"]:
            raise RuntimeError("model broke")
        return np.ones((len(texts), 4), dtype=np.float32)

    b = MicroBatcher(model)
    with pytest.raises(RuntimeError, match="model broke"):
        b.encode(["a"])
    state["fail"] = False
    assert b.encode(["a"]).shape == (1, 4)


def test_a_forked_child_gets_a_worker_of_its_own():
    b = MicroBatcher(CountingModel())
    b.encode(["before the fork"])  # the parent's worker thread exists
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's worker thread is gone; a new one must serve it
        try:
            os.write(write, str(b.encode(["after the fork"]).shape).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        got = f.read()
    assert os.waitpid(pid, 0)[1] == 0
    assert got == "(1, 16)"


# -- the real model ---------------------------------------------------------------------------------
def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_batched_model_rows_equal_one_by_one_rows():
    emb = ModelEmbedder(service=False)
    emb._batcher().clear()
    batched = emb.encode(TEXTS)
    emb._batcher().clear()  # else the rows below would come from the cache
    alone = np.concatenate([emb.encode([t]) for t in TEXTS])
    assert batched.shape == (len(TEXTS), 384) and batched.dtype == np.float32
    assert np.all(_cos(batched, alone) >= 1 - COS_TOL)
    assert np.abs(batched - alone).max() < 1e-4


def test_onnx_backend_gives_torch_vectors_within_tolerance():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    torch_rows = ModelEmbedder(service=False, backend="torch").encode(TEXTS)
    onnx = ModelEmbedder(service=False, backend="onnx")
    onnx_rows = onnx.encode(TEXTS)
    assert onnx.name == ModelEmbedder().name  # one name: pools built with either backend mix
    assert onnx_rows.shape == torch_rows.shape
    assert np.all(_cos(onnx_rows, torch_rows) >= 1 - COS_TOL)
    onnx._batcher().clear()
    one_by_one = np.concatenate([onnx.encode([t]) for t in TEXTS])
    assert np.all(_cos(one_by_one, onnx_rows) >= 1 - COS_TOL)


def test_onnx_backend_recalls_what_torch_recalls(tmp_path):
    """Recall through a pool embedded by either backend: the same experiences, the same order, scores
    within w_sim * 1e-5 (an order may differ only between entries whose scores are that close)."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from seer_env.pool import ExperienceMemory
    from seer_env.pool.seeds import seed_trajectories

    seeds = seed_trajectories("toolqa")
    mems = {}
    for backend in ("torch", "onnx"):
        mem = ExperienceMemory(tmp_path / f"{backend}.sqlite", embedder=ModelEmbedder(backend=backend))
        mem.add_many(seeds, source="seed")
        mems[backend] = mem
    probes = [(t.query, t.intent, t.steps[:i]) for t in seeds[::5] for i in (0, 1, 2)]
    for strategy in ("goal", "process"):
        for query, intent, steps in probes:
            got = {
                b: m.recall(query, intent=intent, steps=steps, strategy=strategy, k=4)
                for b, m in mems.items()
            }
            a, b = got["torch"], got["onnx"]
            assert len(a) == len(b)
            for x, y in zip(a, b, strict=True):
                assert abs(x.score - y.score) <= 2 * COS_TOL
                if x.experience.content_hash != y.experience.content_hash:  # a near-tie, reordered
                    assert any(
                        abs(x.score - z.score) <= 2 * COS_TOL
                        and z.experience.content_hash == y.experience.content_hash
                        for z in a
                    )
    for m in mems.values():
        m.close()

"""The index's three passes give the exact brute-force top-k: one flat pass over a small namespace,
the groups in float32, and the groups' 8-bit codes (whose error bound must hold even for vectors
outside the range the codes were trained on)."""

from __future__ import annotations

import numpy as np
import pytest

from seer_env.embedding import normalise
from seer_env.pool import index as index_mod
from seer_env.pool.index import VectorIndex
from seer_env.pool.types import RecallWeights
from tests.pool.test_equivalence import CHAINS, INTENTS, reference_select


class E:
    def __init__(self, i, intents, chains):
        self.id, self.intent, self.tool_chain = i + 1, intents[i], chains[i]


@pytest.mark.parametrize("path", ["flat", "float32 groups", "8-bit groups"])
def test_every_pass_is_exact(monkeypatch, path):
    if path != "flat":
        monkeypatch.setattr(index_mod, "FLAT_MAX", 0)
    if path == "8-bit groups":
        monkeypatch.setattr(index_mod, "SQ_MIN", 32)
    else:
        monkeypatch.setattr(index_mod, "SQ_MIN", 10**9)
    rng = np.random.default_rng(5)
    n, d = 3000, 48
    centres = rng.standard_normal((5, d))
    x = centres[rng.integers(0, 5, n)] + 0.4 * rng.standard_normal((n, d))
    x[300:340] = x[299]  # exact ties
    x = normalise(x)
    # nearly one-hot rows, added after the codes were trained on the others: outside the trained range
    x[:200] = normalise(5 * np.eye(d)[rng.integers(0, d, 200)] + 0.1 * rng.standard_normal((200, d)))
    intents = [INTENTS[i] for i in rng.integers(0, 4, n)]
    chains = [CHAINS[i] for i in rng.integers(0, 4, n)]
    idx = VectorIndex(d)
    order = np.r_[200:n, 0:200]  # the outliers come last, after the codes were trained
    for lo in range(0, n, 500):
        sel = order[lo : lo + 500]
        idx.add(sel + 1, ["ns"] * len(sel), [intents[i] for i in sel], [chains[i] for i in sel], x[sel])
    if path == "8-bit groups":
        groups = [g for p in idx._ns["ns"].values() for g in p.pure.values()]
        assert any(g.sq is not None for g in groups) and all(g.err > index_mod.EPS for g in groups if g.sq)
    entries = [E(i, intents, chains) for i in range(n)]
    for trial in range(50):
        q = x[299] if trial % 6 == 0 else normalise(centres[trial % 5] + 0.6 * rng.standard_normal(d))[0]
        tools = list(CHAINS[trial % 4][: trial % 3])
        intent = [*INTENTS, "unknown"][trial % 5]
        k = [1, 4, 12][trial % 3]
        w = [RecallWeights(), RecallWeights(1.0, 0.3, 0.1), RecallWeights(0.0, 1.0, 1.0)][trial % 3]
        floor = 0.25 if trial % 4 == 0 else None
        got = idx.search(
            q, namespace="ns", intent=intent, tools_so_far=tools, weights=w, k=k, min_similarity=floor
        )
        want = reference_select(entries, x, q, tools, intent, k, w, floor)
        assert [h.id for h in got] == want, (path, trial)

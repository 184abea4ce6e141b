"""Recall with no (or a tiny) similarity weight ranks by the tool/intent bonus: ties must survive.

When `w_sim` is 0, or tiny next to `w_tool`, the bonus decides the ranking, so it has to be compared
exactly: a group of one tool set and the mixed group of rare tool sets can hold entries with the
same bonus (here a coverage of 1/3 for both, 4/3 with the intent), and ties go to the newest entry.
"""

from __future__ import annotations

import numpy as np
import pytest

from seer_env.pool.index import PROMOTE, VectorIndex
from seer_env.pool.scoring import exact_cosines
from seer_env.pool.types import RecallWeights

DIM = 16
COMMON = ["LoadDB", "FilterDB"]  # PROMOTE+ entries: a group of its own
RARE = ["LoadDB", "GetValue"]  # two entries, added last: the mixed group
TOOLS_SO_FAR = ["LoadDB", "Calculate", "SQLInterpreter"]  # coverage 1/3 of both tool sets


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _brute_force(ids, chains, vecs, q, w: RecallWeights, k: int) -> list[int]:
    """The reference's selection: every entry scored in float64, sorted with ties to the higher id."""
    cos = exact_cosines(vecs, q)
    scored = []
    for i, chain, c in zip(ids, chains, cos, strict=True):
        cov = len(set(TOOLS_SO_FAR) & set(chain)) / len(TOOLS_SO_FAR)
        scored.append((w.sim * float(c) + (w.tool * cov + w.intent * 1.0), i))
    return [i for _, i in sorted(scored, reverse=True)[:k]]


def _pool(q: np.ndarray):
    rng = np.random.default_rng(3)
    n_common = PROMOTE + 10
    ids = list(range(1, n_common + 3))
    chains = [COMMON] * n_common + [RARE, RARE]
    vecs = _unit(rng, len(ids))
    vecs[-1] = q  # the newest entry is also the closest one
    index = VectorIndex(DIM)
    index.add(ids, ["toolqa"] * len(ids), ["flight"] * len(ids), chains, vecs)
    assert index.groups("toolqa") == 2  # one group of its own, one mixed
    return index, ids, chains, vecs


@pytest.mark.parametrize(
    "weights",
    [RecallWeights(0.0, 1.0, 1.0), RecallWeights(1e-9, 1000.0, 1.0), RecallWeights(1e-7, 2.0, 2.0)],
)
@pytest.mark.parametrize("k", [1, 4])
def test_bonus_ties_match_the_brute_force_selection(weights, k):
    q = _unit(np.random.default_rng(11), 1)[0]
    index, ids, chains, vecs = _pool(q)
    got = [
        h.id
        for h in index.search(
            q, namespace="toolqa", intent="flight", tools_so_far=TOOLS_SO_FAR, weights=weights, k=k
        )
    ]
    assert got == _brute_force(ids, chains, vecs, q, weights, k)
    assert got[0] == ids[-1]  # the tie (or the closest of equal bonuses) goes to the newest entry

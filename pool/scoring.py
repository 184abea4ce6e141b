"""SEER's recall score: the one function every recall path ranks by.

    score = w_sim * cos + w_tool * coverage + w_intent * [intent matches]

- `cos`: cosine between the recall embedding (goal: the question; process: the steps so far) and the
  experience's embedding of the same kind. Embeddings are L2-normalised, so it is a dot product; the
  ranking computes it in float64 from the stored float32 vectors.
- `coverage = |set(tools_so_far) & set(exp.tools)| / len(tools_so_far)`, 0 when no tool was used yet.
  As in the SEER reference, the denominator counts repeated tools (a quirk kept on purpose).
- intent matches when both are known and equal (an unknown intent matches nothing).

Ranking: score descending; ties go to the more recently added entry (higher id), as the reference's
`sorted(zip(scores, idx), reverse=True)` does. Entries whose cosine is below the similarity floor
(when one is set) are left out, so a recall may return fewer than k entries, or none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from seer_env.pool.types import RecallWeights


def coverage(tools_so_far: Sequence[str], exp_tools: Iterable[str]) -> float:
    """Share of the tools used so far that the experience also used (0.0 when none used yet)."""
    if not tools_so_far:
        return 0.0
    return len(set(tools_so_far) & set(exp_tools)) / len(tools_so_far)


def intent_matches(query_intent: str | None, exp_intent: str | None) -> bool:
    return query_intent is not None and exp_intent is not None and query_intent == exp_intent


def bonus(weights: RecallWeights, cov: float, intent_match: bool) -> float:
    """The part of the score that does not depend on the embedding (constant per intent and tool set)."""
    return weights.tool * cov + weights.intent * (1.0 if intent_match else 0.0)


def seer_score(weights: RecallWeights, cos: float, cov: float, intent_match: bool) -> float:
    """`w_sim * cos + w_tool * coverage + w_intent * [intent matches]`, in float64."""
    return weights.sim * float(cos) + bonus(weights, cov, intent_match)


def exact_cosines(vectors: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Cosines of unit rows with a unit query, in float64, summed the same way for every row.

    (A BLAS product may round a row differently depending on where it sits in the matrix; an
    elementwise product reduced along each row does not, so equal vectors always tie exactly.)
    """
    x = np.asarray(vectors, dtype=np.float64)
    return (x * np.asarray(q, dtype=np.float64)[None, :]).sum(axis=1)

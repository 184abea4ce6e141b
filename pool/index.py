"""Exact SEER top-k over a growing set of embeddings, fast at a million entries.

The score (`seer_env.pool.scoring`) is `w_sim * cos + bonus`, where the bonus depends only on the entry's
intent and tool *set*. So entries are grouped by (namespace, intent, tool set): inside a group the bonus
is constant and the group's best entries are simply its nearest neighbours by cosine. Groups are visited
in decreasing bonus; a group whose best possible score (`bonus + w_sim * 1`, cosines of unit vectors are
at most 1) cannot reach the current k-th score is skipped, with every group after it.

Inside a group, candidates come from an approximate pass: a float32 product for small groups, and for
large groups a faiss `IndexScalarQuantizer` holding the vectors as float16 (half the memory traffic of
a flat float32 index). Every approximate cosine is within `EPS` of the exact one (float16 rounding is at
most 2^-11 relative per component, so at most 2^-11 on a dot product of unit vectors, plus float32
accumulation), so every entry whose approximate score is within `2 * w_sim * EPS` of the approximate
k-th score is kept, then all candidates are re-scored exactly (float64 dot products of the stored
float32 vectors) and sorted by (score desc, id desc). That gives the same top-k as a brute-force scan,
including the reference's tie-break (ties go to the more recently added entry).
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from seer_env.pool.scoring import bonus as score_bonus
from seer_env.pool.scoring import coverage, intent_matches
from seer_env.pool.types import RecallWeights

log = logging.getLogger(__name__)

EPS = 1e-3  # bound on |approximate cosine - exact cosine| for unit vectors (float16: <= 5.2e-4)
SQ_MIN = 8192  # groups at least this large get a float16 faiss index
EXTRA = 16  # candidates fetched per group beyond k
COS_MAX = 1.0 + 1e-5  # cosines of float32 unit vectors may exceed 1 by rounding


@dataclass
class Hit:
    id: int
    score: float
    similarity: float
    coverage: float
    intent_match: bool


class _Group:
    __slots__ = ("intent", "toolset", "dim", "ids", "vecs", "n", "sq")

    def __init__(self, intent: str | None, toolset: frozenset[str], dim: int):
        self.intent = intent
        self.toolset = toolset
        self.dim = dim
        self.ids = np.empty(0, dtype=np.int64)
        self.vecs = np.empty((0, dim), dtype=np.float32)
        self.n = 0
        self.sq = None

    def append(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        m = len(ids)
        need = self.n + m
        if need > len(self.ids):
            cap = max(need, int(len(self.ids) * 1.5) + 16) if self.n else need
            new_ids = np.empty(cap, dtype=np.int64)
            new_vecs = np.empty((cap, self.dim), dtype=np.float32)
            new_ids[: self.n] = self.ids[: self.n]
            new_vecs[: self.n] = self.vecs[: self.n]
            self.ids, self.vecs = new_ids, new_vecs
        self.ids[self.n : need] = ids
        self.vecs[self.n : need] = vecs
        self.n = need
        if self.sq is not None:
            self.sq.add(np.ascontiguousarray(vecs, dtype=np.float32))
        elif self.n >= SQ_MIN:
            self._build_sq()

    def _build_sq(self) -> None:
        import faiss

        sq = faiss.IndexScalarQuantizer(self.dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        for i in range(0, self.n, 65536):
            sq.add(np.ascontiguousarray(self.vecs[i : min(self.n, i + 65536)]))
        self.sq = sq

    def approx_top(self, q: np.ndarray, kk: int):
        """(positions, approximate cosines, complete, smallest returned cosine)."""
        n = self.n
        if n <= kk:
            return np.arange(n), self.vecs[:n] @ q, True, -np.inf
        if self.sq is not None:
            d, i = self.sq.search(q[None, :], kk)
            keep = i[0] >= 0
            return i[0][keep], d[0][keep], False, float(d[0][keep][-1])
        a = self.vecs[:n] @ q
        pos = np.argpartition(a, n - kk)[n - kk :]
        vals = a[pos]
        return pos, vals, False, float(vals.min())

    def all_cos(self, q: np.ndarray) -> np.ndarray:
        return self.vecs[: self.n] @ q


class VectorIndex:
    """Embeddings of one kind (query or trajectory) with the metadata the SEER score needs."""

    def __init__(self, dim: int, threads: int = 1):
        self.dim = int(dim)
        self._ns: dict[str, dict[tuple, _Group]] = {}
        self._n = 0
        self.threads = max(1, int(threads))
        self._pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None

    def __len__(self) -> int:
        return self._n

    def groups(self, namespace: str) -> int:
        return len(self._ns.get(namespace, {}))

    def add(
        self,
        ids: Sequence[int],
        namespaces: Sequence[str],
        intents: Sequence[str | None],
        tool_chains: Sequence[Sequence[str]],
        vecs: np.ndarray,
    ) -> None:
        """Add entries (vectors should be L2-normalised float32 rows)."""
        vecs = np.asarray(vecs, dtype=np.float32).reshape(len(ids), self.dim)
        ids = np.asarray(ids, dtype=np.int64)
        by_key: dict[tuple, list[int]] = {}
        for j, (ns, intent, chain) in enumerate(zip(namespaces, intents, tool_chains, strict=True)):
            by_key.setdefault((ns, intent, frozenset(chain)), []).append(j)
        for (ns, intent, toolset), rows in by_key.items():
            groups = self._ns.setdefault(ns, {})
            g = groups.get((intent, toolset))
            if g is None:
                g = groups[(intent, toolset)] = _Group(intent, toolset, self.dim)
            sel = np.asarray(rows)
            g.append(ids[sel], vecs[sel])
        self._n += len(ids)

    def search(
        self,
        q: np.ndarray,
        *,
        namespace: str,
        intent: str | None,
        tools_so_far: Sequence[str],
        weights: RecallWeights,
        k: int,
        min_similarity: float | None = None,
    ) -> list[Hit]:
        """The exact SEER top-k (see module docstring)."""
        groups = self._ns.get(namespace)
        if k <= 0 or not groups:
            return []
        q = np.asarray(q, dtype=np.float32).reshape(-1)
        nq = float(np.linalg.norm(q))
        if nq > 0:
            q = q / nq
        q = np.ascontiguousarray(q, dtype=np.float32)
        tools = list(tools_so_far)
        infos = []
        for g in groups.values():
            cov = coverage(tools, g.toolset)
            im = intent_matches(intent, g.intent)
            infos.append((score_bonus(weights, cov, im), cov, im, g))
        infos.sort(key=lambda t: -t[0])
        w = float(weights.sim)
        floor = -np.inf if min_similarity is None else float(min_similarity)
        margin = 2 * w * EPS
        kk = k + EXTRA

        sure: list[float] = []  # min-heap: the k best approximate scores that surely pass the floor
        found: list[list] = []  # [info, positions, approx cos, complete, smallest cos]

        def take(info, pos, acos, complete, c_last):
            b = info[0]
            if floor > -np.inf:
                keep = acos >= floor - EPS
                pos, acos = pos[keep], acos[keep]
                surely = acos >= floor + EPS
            else:
                surely = slice(None)
            for t in (b + w * acos[surely]).tolist():
                if len(sure) < k:
                    heapq.heappush(sure, t)
                elif t > sure[0]:
                    heapq.heapreplace(sure, t)
            found.append([info, pos, acos, complete, c_last])

        def fetch(info):
            g = info[3]
            if w == 0.0:  # cosine plays no part: every entry of the group is a candidate
                return np.arange(g.n), g.all_cos(q), True, -np.inf
            return g.approx_top(q, kk)

        i = 0
        while i < len(infos):
            b = infos[i][0]
            if len(sure) >= k and b + w * COS_MAX < sure[0] - w * EPS:
                break  # no entry of this or any later group can enter the top k
            # groups of the same bonus are independent: run them side by side when there are threads
            j = i
            while j < len(infos) and infos[j][0] == b:
                j += 1
            batch = infos[i:j]
            if self._pool is not None and len(batch) > 1 and sum(t[3].n for t in batch) > 50_000:
                for info, res in zip(batch, self._pool.map(fetch, batch), strict=True):
                    take(info, *res)
            else:
                for info in batch:
                    take(info, *fetch(info))
            i = j

        thr = sure[0] if len(sure) >= k else -np.inf
        lower = thr - margin
        cand_ids, cand_vecs, cand_bonus, cand_cov, cand_im = [], [], [], [], []
        for info, pos, acos, complete, c_last in found:
            b, cov, im, g = info
            if not complete and b + w * c_last >= lower:
                # entries below this group's approximate cut may still be candidates: rescan it
                a = g.all_cos(q)
                keep = (b + w * a >= lower) & (a >= floor - EPS)
                pos = np.nonzero(keep)[0]
            else:
                pos = pos[b + w * acos >= lower]
            if len(pos) == 0:
                continue
            cand_ids.append(g.ids[pos])
            cand_vecs.append(g.vecs[pos])
            cand_bonus.append(np.full(len(pos), b))
            cand_cov.append(np.full(len(pos), cov))
            cand_im.append(np.full(len(pos), im))
        if not cand_ids:
            return []
        ids = np.concatenate(cand_ids)
        cos = np.concatenate(cand_vecs).astype(np.float64) @ q.astype(np.float64)
        bon = np.concatenate(cand_bonus)
        score = w * cos + bon
        covs = np.concatenate(cand_cov)
        ims = np.concatenate(cand_im)
        if min_similarity is not None:
            ok = cos >= float(min_similarity)
            ids, cos, score, covs, ims = ids[ok], cos[ok], score[ok], covs[ok], ims[ok]
        order = np.lexsort((-ids, -score))[:k]
        return [Hit(int(ids[o]), float(score[o]), float(cos[o]), float(covs[o]), bool(ims[o])) for o in order]

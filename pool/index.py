"""Exact SEER top-k over a growing set of embeddings, fast at a million entries.

The score (`seer_env.pool.scoring`) is `w_sim * cos + bonus`, where the bonus depends only on the entry's
intent and tool *set*. So entries are grouped by (namespace, intent, tool set): inside a group the bonus
is constant and the group's best entries are simply its nearest neighbours by cosine. Tool sets with few
entries share one "mixed" group per (namespace, intent), scanned with a per-row bonus, so that thousands of
rare tool sets do not cost thousands of small searches; a tool set is moved to a group of its own once it
has `PROMOTE` entries. Groups are visited in decreasing bonus; a group whose best possible score
(`max bonus + w_sim * 1`, cosines of unit vectors are at most 1) cannot reach the current k-th score is
skipped, with every group after it.

Inside a group, candidates come from an approximate pass: a float32 product for small groups (its
cosines are within `EPS` of the exact ones), and for large groups a faiss `IndexScalarQuantizer` holding
the vectors as 8-bit codes (a quarter of the memory traffic of a float32 scan: the pass that must read
every vector when no group can be skipped, an intent that matches nothing at the first step, runs at
least twice as fast as a plain float32 product over all of them). A code's error is measured when it is
added: by Cauchy-Schwarz, |approximate cosine - exact cosine| <= ||x - decoded x|| for a unit query, so
each group keeps the largest such error (`_Group.err`, about 0.01-0.02). Every entry whose approximate
score could still reach the k-th best exact score (within `w_sim * (err of its group + largest err)`)
is kept, then all candidates are re-scored exactly (float64 dot products of the stored float32 vectors,
`scoring.exact_cosines`) and sorted by (score desc, id desc). That gives the same top-k as a brute-force scan,
including the reference's tie-break (ties go to the more recently added entry). Approximate scores add
the cosines to the bonus in float64, as the exact ones do: with `w_sim` 0 (or tiny next to the other
weights) the bonus alone decides, and a float32 sum would round it and drop exact ties.
"""

from __future__ import annotations

import heapq
import logging
import math
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from seer_env.pool.scoring import coverage, exact_cosines, intent_matches
from seer_env.pool.types import RecallWeights

log = logging.getLogger(__name__)

EPS = 1e-3  # bound on |float32 cosine - exact cosine| for unit vectors (float32 sums: ~1e-6)
SQ_MIN = 1024  # groups at least this large get an 8-bit faiss index
FLAT_MAX = 8192  # a namespace up to this size is also kept as one flat matrix, scanned in one pass
SQ_REBUILD = 0.05  # a group whose codes err more than this (vectors outside the trained range) is re-coded
EXTRA = 16  # candidates fetched per group beyond k
PROMOTE = 128  # a tool set with this many entries in an intent gets a group of its own
COS_MAX = 1.0 + 1e-5  # cosines of float32 unit vectors may exceed 1 by rounding


_omp_lock = threading.Lock()
_omp_users = 0
_omp_saved = None


@contextmanager
def _one_faiss_thread():
    """One query scans with one OpenMP thread: faiss parallelises over queries, and with one query its
    thread team only adds synchronisation, which stalls badly on a busy machine. Restored afterwards.
    (Parallelism comes from scanning groups side by side on the index's own threads instead.)"""
    global _omp_users, _omp_saved
    import faiss

    with _omp_lock:
        if _omp_users == 0:
            _omp_saved = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(1)
        _omp_users += 1
    try:
        yield
    finally:
        with _omp_lock:
            _omp_users -= 1
            if _omp_users == 0 and _omp_saved is not None:
                faiss.omp_set_num_threads(_omp_saved)


def _in_one_thread(fn):
    def run(*a):
        import faiss

        faiss.omp_set_num_threads(1)  # OpenMP settings are per thread: set it in the worker too
        return fn(*a)

    return run


@dataclass
class Hit:
    id: int
    score: float
    similarity: float
    coverage: float
    intent_match: bool


class _Group:
    """Rows of one (namespace, intent): of one tool set, or of several (`tsid` per row) when mixed."""

    __slots__ = ("dim", "ids", "vecs", "tsid", "n", "sq", "err", "mixed", "tid")

    def __init__(self, dim: int, mixed: bool, tid: int = -1):
        self.dim = dim
        self.ids = np.empty(0, dtype=np.int64)
        self.vecs = np.empty((0, dim), dtype=np.float32)
        self.tsid = np.empty(0, dtype=np.int32)
        self.n = 0
        self.sq = None
        self.err = EPS  # bound on |approximate cosine - exact cosine| of this group's approximate pass
        self.mixed = mixed
        self.tid = tid  # the tool set of a pure group

    def append(self, ids: np.ndarray, vecs: np.ndarray, tsid: np.ndarray | None = None) -> None:
        m = len(ids)
        need = self.n + m
        if need > len(self.ids):
            cap = max(need, int(len(self.ids) * 1.5) + 16) if self.n else need
            new_ids = np.empty(cap, dtype=np.int64)
            new_vecs = np.empty((cap, self.dim), dtype=np.float32)
            new_ids[: self.n] = self.ids[: self.n]
            new_vecs[: self.n] = self.vecs[: self.n]
            self.ids, self.vecs = new_ids, new_vecs
            if self.mixed:
                new_ts = np.empty(cap, dtype=np.int32)
                new_ts[: self.n] = self.tsid[: self.n]
                self.tsid = new_ts
        self.ids[self.n : need] = ids
        self.vecs[self.n : need] = vecs
        if self.mixed:
            self.tsid[self.n : need] = tsid
        self.n = need
        if self.mixed:
            return  # mixed groups stay small enough for a float32 scan
        if self.sq is not None:
            self._add_codes(np.ascontiguousarray(vecs, dtype=np.float32))
            if self.err > SQ_REBUILD:
                self._build_sq()
        elif self.n >= SQ_MIN:
            self._build_sq()

    def take_out(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        """Remove (and return, in order) the rows of one tool set from a mixed group."""
        sel = self.tsid[: self.n] == tid
        ids, vecs = self.ids[: self.n][sel].copy(), self.vecs[: self.n][sel].copy()
        keep = ~sel
        m = int(keep.sum())
        self.ids[:m] = self.ids[: self.n][keep]
        self.vecs[:m] = self.vecs[: self.n][keep]
        self.tsid[:m] = self.tsid[: self.n][keep]
        self.n = m
        return ids, vecs

    def _build_sq(self) -> None:
        """8-bit codes of every row, one range for all components trained on the rows."""
        import faiss

        sq = faiss.IndexScalarQuantizer(
            self.dim, faiss.ScalarQuantizer.QT_8bit_uniform, faiss.METRIC_INNER_PRODUCT
        )
        sq.train(np.ascontiguousarray(self.vecs[: min(self.n, 65536)]))
        self.sq, self.err = sq, 0.0
        for i in range(0, self.n, 65536):
            self._add_codes(np.ascontiguousarray(self.vecs[i : min(self.n, i + 65536)]))

    def _add_codes(self, vecs: np.ndarray) -> None:
        """Add rows' codes and raise `err` to the largest ||x - decoded x|| among them (plus room for
        float32 sums in the scan); a row outside the trained range is clipped and simply errs more."""
        codes = self.sq.sa_encode(vecs)
        decoded = self.sq.sa_decode(codes)
        worst = (
            float(np.sqrt(((vecs.astype(np.float64) - decoded) ** 2).sum(axis=1)).max()) if len(vecs) else 0.0
        )
        if hasattr(self.sq, "add_sa_codes"):
            self.sq.add_sa_codes(codes)
        else:  # older faiss: it encodes them again
            self.sq.add(vecs)
        self.err = max(self.err, worst * (1 + 1e-3) + 1e-5)

    def all_cos(self, q: np.ndarray) -> np.ndarray:
        if self.n < 1024:
            return self.vecs[: self.n] @ q
        # faiss's single-threaded kernel: a threaded BLAS stalls on a busy machine for one query (a
        # product of 2,000 rows took 8 ms on two busy cores, 0.1 ms on one thread)
        import faiss

        out = np.empty(self.n, dtype=np.float32)
        faiss.fvec_inner_products_ny(
            faiss.swig_ptr(out), faiss.swig_ptr(q), faiss.swig_ptr(self.vecs), self.dim, self.n
        )
        return out


class _Part:
    """All rows of one (namespace, intent)."""

    __slots__ = ("intent", "toolsets", "tids", "counts", "mixed", "pure", "masks", "bonuses")

    def __init__(self, intent: str | None, dim: int):
        self.intent = intent
        self.toolsets: list[frozenset[str]] = []
        self.tids: dict[frozenset[str], int] = {}
        self.counts: list[int] = []  # rows per tool set in the mixed group
        self.mixed = _Group(dim, mixed=True)
        self.pure: dict[int, _Group] = {}
        self.masks = np.empty(0, dtype=np.uint64)  # tool sets as bit masks (while the vocabulary fits)
        # (tools so far, intent match, weights) -> (coverages, bonuses, best bonus in the mixed group):
        # an episode's steps recall with the same few tool lists; emptied whenever the part changes
        self.bonuses: dict[tuple, tuple[np.ndarray, np.ndarray, float | None]] = {}

    def bonus_terms(
        self, tools: list[str], tools_key: tuple, vocab: dict[str, int], im: bool, weights: RecallWeights
    ) -> tuple[np.ndarray, np.ndarray, float | None]:
        """(coverage per tool set, bonus per tool set, best bonus among the mixed group's tool sets).

        `tools_key` identifies `tools` for coverage: the set of tools and how many were used."""
        key = (tools_key, im, weights.tool, weights.intent)
        got = self.bonuses.get(key)
        if got is None:
            covs = self.coverages(tools, vocab)
            # the same float64 operations as scoring.bonus, elementwise
            bons = weights.tool * covs + weights.intent * (1.0 if im else 0.0)
            best = None
            if self.mixed.n:
                best = float(bons[np.flatnonzero(np.asarray(self.counts) > 0)].max())
            if len(self.bonuses) >= 256:
                self.bonuses.clear()
            got = self.bonuses[key] = (covs, bons, best)
        return got

    def coverages(self, tools: list[str], vocab: dict[str, int]) -> np.ndarray:
        """`scoring.coverage(tools, ts)` for every tool set of this part, vectorised over bit masks."""
        if not tools:
            return np.zeros(len(self.toolsets), dtype=np.float64)
        if len(vocab) > 64 or len(self.masks) != len(self.toolsets) or not hasattr(np, "bitwise_count"):
            return np.array([coverage(tools, ts) for ts in self.toolsets], dtype=np.float64)
        m = 0
        for t in set(tools):
            bit = vocab.get(t)
            if bit is not None:
                m |= 1 << bit
        hits = np.bitwise_count(self.masks & np.uint64(m)).astype(np.float64)
        return hits / len(tools)


class _Flat:
    """All rows of a small namespace in insertion order, with each row's part and tool set: below
    `FLAT_MAX` rows one float32 pass over them beats visiting the groups one by one (a plain
    vectorised scan is then as fast as the index can be)."""

    def __init__(self, dim: int):
        self.rows = _Group(dim, mixed=True)  # ids, vecs and (here) the row's tool set in its part
        self.part = np.empty(0, dtype=np.int32)
        self.parts: list[_Part] = []
        self.index: dict[int, int] = {}  # id(part) -> its position in `parts`
        # (tools so far, intent, weights) -> (bonus, coverage, intent match) of every row; emptied on add
        self.terms: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def append(self, part: _Part, tid: int, ids: np.ndarray, vecs: np.ndarray) -> None:
        pi = self.index.get(id(part))
        if pi is None:
            pi = self.index[id(part)] = len(self.parts)
            self.parts.append(part)
        self.terms.clear()
        self.rows.append(ids, vecs, np.full(len(ids), tid, dtype=np.int32))
        if len(self.part) < self.rows.n:
            grown = np.empty(len(self.rows.ids), dtype=np.int32)
            grown[: len(self.part)] = self.part
            self.part = grown
        self.part[self.rows.n - len(ids) : self.rows.n] = pi


class VectorIndex:
    """Embeddings of one kind (query or trajectory) with the metadata the SEER score needs."""

    def __init__(self, dim: int, threads: int = 1):
        # import faiss now, not inside the first recall: importing it holds the GIL for a while,
        # which would stall an event loop whose recalls run in threads
        import faiss  # noqa: F401

        self.dim = int(dim)
        self._ns: dict[str, dict[str | None, _Part]] = {}
        self._vocab: dict[str, int] = {}  # tool name -> bit
        self._flat: dict[str, _Flat | None] = {}  # namespace -> its flat rows (None: grown past FLAT_MAX)
        self._n = 0
        self.threads = max(1, int(threads))
        self._pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None

    def __len__(self) -> int:
        return self._n

    def groups(self, namespace: str) -> int:
        """Number of groups searched separately in a namespace."""
        return sum(len(p.pure) + (p.mixed.n > 0) for p in self._ns.get(namespace, {}).values())

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
            parts = self._ns.setdefault(ns, {})
            part = parts.get(intent)
            if part is None:
                part = parts[intent] = _Part(intent, self.dim)
            tid = part.tids.get(toolset)
            if tid is None:
                tid = part.tids[toolset] = len(part.toolsets)
                part.toolsets.append(toolset)
                part.counts.append(0)
                for t in sorted(toolset):
                    self._vocab.setdefault(t, len(self._vocab))
                if len(self._vocab) <= 64:
                    mask = sum(1 << self._vocab[t] for t in toolset)
                    part.masks = np.append(part.masks, np.uint64(mask))
            part.bonuses.clear()
            sel = np.asarray(rows)
            flat = self._flat.setdefault(ns, _Flat(self.dim))
            if flat is not None:
                if flat.rows.n + len(rows) > FLAT_MAX:
                    self._flat[ns] = None  # large now: the groups alone (they prune)
                else:
                    flat.append(part, tid, ids[sel], vecs[sel])
            g = part.pure.get(tid)
            if g is not None:
                g.append(ids[sel], vecs[sel])
                continue
            if part.counts[tid] + len(rows) >= PROMOTE:
                old_ids, old_vecs = part.mixed.take_out(tid)
                g = part.pure[tid] = _Group(self.dim, mixed=False, tid=tid)
                g.append(np.concatenate([old_ids, ids[sel]]), np.concatenate([old_vecs, vecs[sel]]))
                part.counts[tid] = 0
            else:
                part.mixed.append(ids[sel], vecs[sel], np.full(len(rows), tid, dtype=np.int32))
                part.counts[tid] += len(rows)
        self._n += len(ids)

    def search(self, q: np.ndarray, **kwargs) -> list[Hit]:
        """The exact SEER top-k (see module docstring). Keyword arguments as `_search`."""
        if self._n < SQ_MIN:  # every group is scanned with numpy: no faiss call to keep to one thread
            return self._search(q, **kwargs)
        with _one_faiss_thread():
            return self._search(q, **kwargs)

    def _search(
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
        parts = self._ns.get(namespace)
        if k <= 0 or not parts:
            return []
        q = np.asarray(q, dtype=np.float32).reshape(-1)
        nq = math.sqrt(float(np.dot(q, q)))  # np.linalg.norm costs more than the product at 1k rows
        if nq > 0 and abs(nq - 1.0) > 1e-4:  # the bounds assume unit vectors; unit ones stay bit-exact
            q = q / nq
        q = np.ascontiguousarray(q, dtype=np.float32)
        tools = list(tools_so_far)
        tools_key = (frozenset(tools), len(tools))
        w = float(weights.sim)
        floor = -np.inf if min_similarity is None else float(min_similarity)
        flat = self._flat.get(namespace)
        if flat is not None:
            return self._flat_search(flat, q, intent, tools, tools_key, weights, k, floor, min_similarity)
        # an approximate score differs from the exact one by at most w * (its group's err), plus float64
        # rounding of sums of the size of the scores (a few ulps; it matters when w is tiny); the k-th
        # best exact score is at least the k-th best approximate one less w * (the largest err)
        ulps = 1e-12 * (w + max(weights.tool, 0.0) + max(weights.intent, 0.0) + 1.0)
        top_err = max(
            (g.err for p in parts.values() for g in (p.mixed, *p.pure.values()) if g.n), default=EPS
        )
        margin = w * top_err + ulps  # below the k-th approximate score, before a group's own err
        kk = k + EXTRA

        # items: (best possible bonus, group, per-tool-set bonus, coverage and intent match)
        items = []
        for part in parts.values():
            im = intent_matches(intent, part.intent)
            covs, bons, mixed_best = part.bonus_terms(tools, tools_key, self._vocab, im, weights)
            for tid, g in part.pure.items():
                items.append((float(bons[tid]), g, bons, covs, im))
            if mixed_best is not None:
                items.append((mixed_best, part.mixed, bons, covs, im))
        items.sort(key=lambda t: -t[0])

        sure: list[float] = []  # min-heap: the k best approximate scores that surely pass the floor
        found: list[tuple] = []

        def approx(item):
            """(positions, approximate cosines, approximate scores, complete, smallest score returned).

            Scores are float64, as the exact ones: a float32 sum would round the bonus, which decides
            the ranking when `w_sim` is 0 or tiny, and drop exact ties."""
            b, g, bons, _, _ = item
            n = g.n
            if g.mixed:
                a = g.all_cos(q)
                tot = w * a.astype(np.float64) + bons[g.tsid[:n]]
            elif w == 0.0 or n <= kk:  # the cosine plays no part, or the group is tiny: take it whole
                a = g.all_cos(q)
                tot = b + w * a.astype(np.float64)
            elif g.sq is not None:
                d, i = g.sq.search(q[None, :], kk)
                keep = i[0] >= 0
                pos, acos = i[0][keep], d[0][keep]
                tot = b + w * acos.astype(np.float64)
                return pos, acos, tot, False, float(tot[-1])
            else:
                a = g.all_cos(q)
                pos = np.argpartition(a, n - kk)[n - kk :]
                acos = a[pos]
                tot = b + w * acos.astype(np.float64)
                return pos, acos, tot, False, float(tot.min())
            if floor > -np.inf:
                ok = a >= floor - g.err
                pos = np.nonzero(ok)[0]
                a, tot = a[ok], tot[ok]
            else:
                pos = np.arange(len(a))
            if len(pos) <= kk or w == 0.0 and not g.mixed:
                return pos, a, tot, True, -np.inf
            sel = np.argpartition(tot, len(tot) - kk)[len(tot) - kk :]
            return pos[sel], a[sel], tot[sel], False, float(tot[sel].min())

        def take(item, pos, acos, tot, complete, c_last):
            surely = acos >= floor + item[1].err if floor > -np.inf else slice(None)
            for t in tot[surely].tolist():
                if len(sure) < k:
                    heapq.heappush(sure, t)
                elif t > sure[0]:
                    heapq.heapreplace(sure, t)
            found.append((item, pos, acos, tot, complete, c_last))

        i = 0
        while i < len(items):
            b = items[i][0]
            if len(sure) >= k and b + w * COS_MAX < sure[0] - margin - ulps:
                break  # no entry of this or any later group can enter the top k
            # groups of the same bonus are independent: run them side by side when there are threads
            j = i
            while j < len(items) and items[j][0] == b:
                j += 1
            batch = items[i:j]
            if self._pool is not None and len(batch) > 1 and sum(t[1].n for t in batch) > 50_000:
                for item, res in zip(batch, self._pool.map(_in_one_thread(approx), batch), strict=True):
                    take(item, *res)
            else:
                for item in batch:
                    take(item, *approx(item))
            i = j

        thr = sure[0] if len(sure) >= k else -np.inf
        c_ids, c_vecs, c_bon, c_cov, c_im = [], [], [], [], []
        for item, pos, _acos, tot, complete, c_last in found:
            b, g, bons, covs, im = item
            lower = thr - margin - w * g.err  # the lowest approximate score that may still make the top k
            if not complete and c_last >= lower:
                # entries below this group's approximate cut may still be candidates: rescan it whole
                # (in float32, within EPS of exact)
                a = g.all_cos(q)
                full = w * a.astype(np.float64) + (bons[g.tsid[: g.n]] if g.mixed else b)
                pos = np.nonzero((full >= thr - margin - w * EPS) & (a >= floor - EPS))[0]
            else:
                pos = pos[tot >= lower]
            if len(pos) == 0:
                continue
            c_ids.append(g.ids[pos])
            c_vecs.append(g.vecs[pos])
            tid = g.tsid[pos] if g.mixed else np.full(len(pos), g.tid)
            c_bon.append(bons[tid])
            c_cov.append(covs[tid])
            c_im.append(np.full(len(pos), im))
        if not c_ids:
            return []
        ids = np.concatenate(c_ids)
        cos = exact_cosines(np.concatenate(c_vecs), q)
        score = w * cos + np.concatenate(c_bon)
        covs = np.concatenate(c_cov)
        ims = np.concatenate(c_im)
        if min_similarity is not None:
            ok = cos >= float(min_similarity)
            ids, cos, score, covs, ims = ids[ok], cos[ok], score[ok], covs[ok], ims[ok]
        order = np.lexsort((-ids, -score))[:k]
        return [Hit(int(ids[o]), float(score[o]), float(cos[o]), float(covs[o]), bool(ims[o])) for o in order]

    def _flat_search(self, flat, q, intent, tools, tools_key, weights, k, floor, min_similarity) -> list[Hit]:
        """The top-k of a small namespace in one pass: float32 cosines of every row plus its bonus (in
        float64), then the rows within the float32 error of the k-th best re-scored exactly."""
        w = float(weights.sim)
        ulps = 1e-12 * (w + max(weights.tool, 0.0) + max(weights.intent, 0.0) + 1.0)
        rows, n = flat.rows, flat.rows.n
        key = (tools_key, intent, weights.tool, weights.intent)
        terms = flat.terms.get(key)
        if terms is None:
            bons, covs, ims = [], [], []
            for part in flat.parts:
                im = intent_matches(intent, part.intent)
                c, b, _ = part.bonus_terms(tools, tools_key, self._vocab, im, weights)
                covs.append(c)
                bons.append(b)
                ims.append(im)
            offsets = np.cumsum([0] + [len(b) for b in bons[:-1]])
            ts = offsets[flat.part[:n]] + rows.tsid[:n]  # each row's tool set among all parts'
            terms = (
                np.concatenate(bons)[ts],
                np.concatenate(covs)[ts],
                np.asarray(ims, dtype=bool)[flat.part[:n]],
            )
            if len(flat.terms) >= 256:
                flat.terms.clear()
            flat.terms[key] = terms
        bonus, coverages, matches = terms
        a = rows.all_cos(q)
        tot = w * a.astype(np.float64) + bonus
        if floor == -np.inf:
            if n > k:
                kth = float(np.partition(tot, n - k)[n - k])
                keep = np.flatnonzero(tot >= kth - 2 * w * EPS - ulps)
            else:
                keep = np.arange(n)
        else:  # the k-th best is taken among rows that pass the floor whatever the rounding
            keep, sure = np.nonzero(a >= floor - EPS)[0], tot[a >= floor + EPS]
            if len(sure) >= k and len(keep) > k:
                kth = float(np.partition(sure, len(sure) - k)[len(sure) - k])
                keep = keep[tot[keep] >= kth - 2 * w * EPS - ulps]
        if len(keep) == 0:
            return []
        cos = exact_cosines(rows.vecs[keep], q)
        score = w * cos + bonus[keep]
        ids = rows.ids[keep]
        if min_similarity is not None:
            ok = cos >= float(min_similarity)
            keep, cos, score, ids = keep[ok], cos[ok], score[ok], ids[ok]
        order = np.lexsort((-ids, -score))[:k]
        cov, im = coverages[keep], matches[keep]
        return [Hit(int(ids[o]), float(score[o]), float(cos[o]), float(cov[o]), bool(im[o])) for o in order]

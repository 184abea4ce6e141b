"""Recall speed: the SEER reference selection against seer-env's exact grouped index.

    python benchmarks/recall.py                       # 1k, 10k, 100k
    python benchmarks/recall.py --sizes 1000000       # 1M (about 6 GB peak)
    python benchmarks/recall.py --add                 # add throughput (real embedder)

The SEER reference's selection, recreated: per call a Python loop over the pool builds the
candidate matrix from the embedding cache, one numpy product gives the cosines, a Python loop adds
coverage and intent match, and a Python sort (ties to the higher index) takes the top k.

Pools are synthetic but shaped like ToolQA pools: 8 intents, tool chains from per-domain templates with
detours and failed-parse entries, 5% mislabelled intents, and 384-d unit embeddings clustered by intent
and template (cosines between related entries around 0.4-0.8, like MiniLM's). Queries: an intent (5%
wrong), tools so far = a prefix (possibly empty) of a template chain, a vector from the same clusters.

Every query's top-k from our index is checked against an exact float64 brute force (must be identical)
and, where the reference ran, against the reference's (which ranks float32 cosines, so a mismatch there
is reported with the score gap; float32 rounding is about 1e-7).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import statistics
import sys
import time

import numpy as np

from seer_env.pool.index import VectorIndex
from seer_env.pool.scoring import exact_cosines
from seer_env.pool.types import RecallWeights

DIM = 384
K = 4
INTENTS = ["flight", "coffee", "yelp", "airbnb", "dblp", "scirex", "agenda", "gsm8k"]
TABLE = [
    ["LoadDB", "FilterDB", "GetValue", "Finish"],
    ["LoadDB", "FilterDB", "GetValue", "GetValue", "Calculate", "Finish"],
    ["SQLInterpreter", "Finish"],
    ["LoadDB", "FilterDB", "GetValue", "PythonInterpreter", "Finish"],
    ["LoadDB", "FilterDB", "FilterDB", "GetValue", "Finish"],
]
TEMPLATES = {
    "flight": TABLE,
    "coffee": [*TABLE, ["LoadDB", "FilterDB", "GetValue", "Calculate", "Finish"]],
    "yelp": TABLE,
    "airbnb": TABLE,
    "dblp": [
        ["LoadGraph", "NodeCheck", "Finish"],
        ["LoadGraph", "NeighbourCheck", "Finish"],
        ["LoadGraph", "EdgeCheck", "NodeCheck", "Finish"],
        ["LoadGraph", "EdgeCheck", "NodeCheck", "NodeCheck", "Finish"],
    ],
    "scirex": [["RetrieveScirex", "Finish"], ["RetrieveScirex", "RetrieveScirex", "Finish"]],
    "agenda": [
        ["RetrieveAgenda", "Finish"],
        ["RetrieveAgenda", "RetrieveAgenda", "Finish"],
        ["RetrieveAgenda", "Calculate", "Finish"],
    ],
    "gsm8k": [
        ["PythonInterpreter", "Finish"],
        ["Calculate", "Finish"],
        ["PythonInterpreter", "PythonInterpreter", "Finish"],
    ],
}
EXTRA_TOOLS = [
    "LoadDB",
    "GetValue",
    "Calculate",
    "PythonInterpreter",
    "SQLInterpreter",
    "RetrieveAgenda",
    "None",
]


class Generator:
    """Clustered unit vectors and ToolQA-like metadata."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.py = random.Random(seed)
        self.c_int = self._unit(self.rng.standard_normal((len(INTENTS), DIM)))
        self.c_tpl = {
            (i, t): self._unit(self.rng.standard_normal(DIM))[0]
            for i, name in enumerate(INTENTS)
            for t in range(len(TEMPLATES[name]))
        }

    @staticmethod
    def _unit(x):
        x = np.atleast_2d(np.asarray(x, dtype=np.float32))
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    def vectors(self, intent_idx: np.ndarray, tpl_idx: np.ndarray) -> np.ndarray:
        n = len(intent_idx)
        noise = self._unit(self.rng.standard_normal((n, DIM), dtype=np.float32))
        tpl = np.stack([self.c_tpl[(int(i), int(t))] for i, t in zip(intent_idx, tpl_idx, strict=True)])
        v = 0.55 * self.c_int[intent_idx] + 0.35 * tpl + 0.75 * noise
        return self._unit(v)

    def entries(self, n: int):
        """(vectors float32 (n, DIM), intents, tool chains)."""
        intent_idx = self.rng.integers(0, len(INTENTS), n)
        tpl_idx = np.array([self.py.randrange(len(TEMPLATES[INTENTS[i]])) for i in intent_idx])
        vecs = np.empty((n, DIM), dtype=np.float32)
        for lo in range(0, n, 100_000):
            hi = min(n, lo + 100_000)
            vecs[lo:hi] = self.vectors(intent_idx[lo:hi], tpl_idx[lo:hi])
        intents, chains = [], []
        for i, t in zip(intent_idx, tpl_idx, strict=True):
            name = INTENTS[i]
            chain = list(TEMPLATES[name][t])
            r = self.py.random()
            if r < 0.10:  # a detour
                chain.insert(self.py.randrange(len(chain)), self.py.choice(EXTRA_TOOLS))
            elif r < 0.12:  # a failed parse recorded as 'None'
                chain.insert(0, "None")
            if self.py.random() < 0.05:  # the classifier got it wrong
                name = self.py.choice(INTENTS)
            intents.append(name)
            chains.append(chain)
        return vecs, intents, chains

    def queries(self, n: int):
        out = []
        intent_idx = self.rng.integers(0, len(INTENTS), n)
        tpl_idx = np.array([self.py.randrange(len(TEMPLATES[INTENTS[i]])) for i in intent_idx])
        qv = self.vectors(intent_idx, tpl_idx)
        for j, (i, t) in enumerate(zip(intent_idx, tpl_idx, strict=True)):
            chain = TEMPLATES[INTENTS[i]][t]
            tools = list(chain[: self.py.randrange(len(chain))])
            intent = INTENTS[i] if self.py.random() > 0.05 else self.py.choice(INTENTS)
            out.append((qv[j], intent, tools))
        return out


def reference_select(
    pool: list[dict], cache: dict, q: np.ndarray, tools_so_far: list[str], cls: str | None, k: int
):
    """The reference's per-call selection (Python loop, one numpy product, Python sort)."""
    cands = np.array([cache[e["key"]] for e in pool])
    sims = np.dot(cands, q)
    scores = []
    for i, e in enumerate(pool):
        s2 = len(set(tools_so_far) & set(e["tools"])) / len(tools_so_far) if tools_so_far else 0
        s3 = 1 if e["class"] == cls else 0
        scores.append(float(sims[i]) + s2 + s3)
    ranked = sorted(zip(scores, range(len(pool)), strict=True), reverse=True)[:k]
    return [i for _, i in ranked], [s for s, _ in ranked]


def exact_topk(vecs, intents, chains, q, tools, intent, k, w: RecallWeights):
    """Exact float64 brute force (chunked), ties to the higher index; returns 0-based indices."""
    bonus_cache: dict = {}
    bon = np.empty(len(intents))
    for i, (it, ch) in enumerate(zip(intents, chains, strict=True)):
        key = (it, frozenset(ch))
        b = bonus_cache.get(key)
        if b is None:
            cov = len(set(tools) & set(ch)) / len(tools) if tools else 0.0
            b = bonus_cache[key] = w.tool * cov + w.intent * (
                1.0 if intent is not None and it == intent else 0.0
            )
        bon[i] = b
    best_s, best_i = np.empty(0), np.empty(0, dtype=np.int64)
    for lo in range(0, len(vecs), 50_000):
        hi = min(len(vecs), lo + 50_000)
        s = w.sim * exact_cosines(vecs[lo:hi], q) + bon[lo:hi]
        best_s = np.concatenate([best_s, s])
        best_i = np.concatenate([best_i, np.arange(lo, hi)])
        if len(best_s) > 4 * k + 64:  # keep everything that could still tie the k-th
            cut = np.partition(best_s, len(best_s) - k)[len(best_s) - k]
            keep = best_s >= cut
            best_s, best_i = best_s[keep], best_i[keep]
    order = np.lexsort((-best_i, -best_s))[:k]
    return [int(i) for i in best_i[order]]


def vectorised_brute(vecs, bon_by_row, q, k):
    """A plain vectorised brute force (float32 product + bonus + argpartition), for scale."""
    s = vecs @ q + bon_by_row
    top = np.argpartition(s, len(s) - k)[len(s) - k :]
    return top[np.argsort(-s[top])]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def index_bytes(idx: VectorIndex) -> int:
    total = 0
    for parts in idx._ns.values():
        for part in parts.values():
            for g in [part.mixed, *part.pure.values()]:
                total += g.ids.nbytes + g.vecs.nbytes + g.tsid.nbytes
                if g.sq is not None:
                    total += g.sq.ntotal * g.sq.code_size
    return total


def bench_size(n: int, args) -> dict:
    gen = Generator(seed=n)
    t0 = time.perf_counter()
    vecs, intents, chains = gen.entries(n)
    t_gen = time.perf_counter() - t0
    w = RecallWeights()

    t0 = time.perf_counter()
    idx = VectorIndex(DIM, threads=args.threads)
    step = 200_000
    for lo in range(0, n, step):  # incremental adds, as a growing pool would see them
        hi = min(n, lo + step)
        idx.add(np.arange(lo + 1, hi + 1), ["toolqa"] * (hi - lo), intents[lo:hi], chains[lo:hi], vecs[lo:hi])
    t_build = time.perf_counter() - t0

    queries = gen.queries(args.queries)
    ours_ms, ours_res = [], []
    for q, intent, tools in queries[:5]:  # warm-up
        idx.search(q, namespace="toolqa", intent=intent, tools_so_far=tools, weights=w, k=K)
    for q, intent, tools in queries:
        t = time.perf_counter()
        hits = idx.search(q, namespace="toolqa", intent=intent, tools_so_far=tools, weights=w, k=K)
        ours_ms.append((time.perf_counter() - t) * 1000)
        ours_res.append([h.id - 1 for h in hits])
    step1 = [m for m, (_, _, tools) in zip(ours_ms, queries, strict=True) if not tools]
    later = [m for m, (_, _, tools) in zip(ours_ms, queries, strict=True) if tools]

    # worst case: an intent that matches nothing, at step 1 (no pruning by intent or tools)
    worst_ms = []
    for q, _, _ in queries[: args.worst]:
        t = time.perf_counter()
        idx.search(q, namespace="toolqa", intent="unknown", tools_so_far=[], weights=w, k=K)
        worst_ms.append((time.perf_counter() - t) * 1000)

    # exactness: ours == exact float64 brute force, on every checked query
    n_check = min(len(queries), args.check if n >= 1_000_000 else max(args.check, 50))
    exact_ok = 0
    for (q, intent, tools), got in zip(queries[:n_check], ours_res[:n_check], strict=True):
        want = exact_topk(vecs, intents, chains, q, tools, intent, K, w)
        assert got == want, f"n={n}: ours {got} != exact {want}"
        exact_ok += 1

    # plain vectorised brute force, for scale: float32 product + per-row bonus (from per-group values)
    keys: dict = {}
    inv = np.array(
        [keys.setdefault((it, frozenset(ch)), len(keys)) for it, ch in zip(intents, chains, strict=True)]
    )
    reps_of = [None] * len(keys)
    for i, g in enumerate(inv.tolist()):
        if reps_of[g] is None:
            reps_of[g] = i

    def brute(q, intent, tools, vecs=vecs, inv=inv):
        vals = np.array(
            [
                (len(set(tools) & set(chains[r])) / len(tools) if tools else 0) + (intents[r] == intent)
                for r in reps_of
            ],
            dtype=np.float32,
        )
        return vectorised_brute(vecs, vals[inv], q, K)

    # ours against the brute force on the same queries, timed back to back (so that both see the same
    # load): as asked, and with an intent that matches nothing at step 1 (nothing to prune)
    cmp = {
        "as asked": ([], []),
        "step 1": ([], []),
        "later steps": ([], []),
        "intent matching nothing": ([], []),
    }
    for q, intent, tools in queries[: args.compare]:
        for label, it, tl in (("as asked", intent, tools), ("intent matching nothing", "unknown", [])):
            t = time.perf_counter()
            idx.search(q, namespace="toolqa", intent=it, tools_so_far=tl, weights=w, k=K)
            ours_t = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            brute(q, it, tl)
            bf_t = (time.perf_counter() - t) * 1000
            labels = [label] + (["later steps" if tl else "step 1"] if label == "as asked" else [])
            for lab in labels:
                cmp[lab][0].append(ours_t)
                cmp[lab][1].append(bf_t)
    vb_ms = cmp["as asked"][1]
    del inv

    # the reference approach
    ref_ms, same, tie_explained = [], 0, 0
    reps = args.ref_reps(n)
    if reps:
        pool = [{"key": f"traj-{i}", "tools": chains[i], "class": intents[i]} for i in range(n)]
        cache = {f"traj-{i}": vecs[i] for i in range(n)}  # views, like the reference's embedding cache
        for (q, intent, tools), got in zip(queries[:reps], ours_res[:reps], strict=True):
            t = time.perf_counter()
            ref, ref_scores = reference_select(pool, cache, q, tools, intent, K)
            ref_ms.append((time.perf_counter() - t) * 1000)
            if ref == got:
                same += 1
            else:  # only float32 rounding may separate them
                gap = abs(ref_scores[-1] - ref_scores[-2]) if len(ref_scores) > 1 else 0
                assert gap < 1e-5, f"n={n}: reference {ref} != ours {got}"
                tie_explained += 1
        del pool, cache
        gc.collect()

    res = {
        "n": n,
        "groups": idx.groups("toolqa"),
        "gen_s": t_gen,
        "build_s": t_build,
        "index_mb": index_bytes(idx) / 2**20,
        "ours_p50": statistics.median(ours_ms),
        "ours_p99": pct(ours_ms, 99),
        "ours_step1_p50": statistics.median(step1) if step1 else float("nan"),
        "ours_later_p50": statistics.median(later) if later else float("nan"),
        "worst_p50": statistics.median(worst_ms) if worst_ms else float("nan"),
        "vb_p50": statistics.median(vb_ms) if vb_ms else float("nan"),
        "vs_brute": {k: (statistics.median(a), statistics.median(b)) for k, (a, b) in cmp.items() if a and b},
        "ref_p50": statistics.median(ref_ms) if ref_ms else float("nan"),
        "ref_p99": pct(ref_ms, 99) if ref_ms else float("nan"),
        "ref_reps": len(ref_ms),
        "same_as_ref": same,
        "ref_float32_ties": tie_explained,
        "exact_checked": exact_ok,
        "queries": len(queries),
        "rss_mb": rss_mb(),
    }
    del idx, vecs
    gc.collect()
    return res


def bench_add(args) -> None:
    """Experiences per second through ExperienceMemory.add_many (embedding included)."""
    import tempfile

    from seer_env.embedding import HashEmbedder
    from seer_env.pool import ExperienceMemory
    from seer_env.pool.seeds import seed_trajectories
    from seer_env.types import Trajectory

    seeds = seed_trajectories("toolqa")
    trajs = []
    for i in range(args.add_n):
        s = seeds[i % len(seeds)]
        d = s.to_dict()
        d["query"] = f"{s.query} (variant {i})"
        d["task_id"] = f"t{i}"
        trajs.append(Trajectory.from_dict(d))

    cheap = HashEmbedder(DIM, name="cheap", mode="text")  # shows the store's own cost: no model
    for label, embedder in (("store only, no model", cheap), ("packaged MiniLM", None)):
        d = tempfile.mkdtemp()
        mem = ExperienceMemory(os.path.join(d, "p.sqlite"), embedder=embedder)
        mem.embed(["warm up"])
        t = time.perf_counter()
        mem.add_many(trajs[: args.add_n // 2])  # batched
        t_batch = time.perf_counter() - t
        t = time.perf_counter()
        for tr in trajs[args.add_n // 2 :]:
            mem.add(tr)  # one at a time, as the agents do
        t_single = time.perf_counter() - t
        assert len(mem) == args.add_n
        print(
            f"add throughput ({label}, SQLite, {args.add_n} experiences): "
            f"add_many (batched) {args.add_n // 2 / t_batch:.1f}/s, add one by one "
            f"{(args.add_n - args.add_n // 2) / t_single:.1f}/s"
        )
        mem.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000", help="comma-separated pool sizes")
    ap.add_argument("--queries", type=int, default=300, help="timed queries per size")
    ap.add_argument("--check", type=int, default=20, help="queries checked against exact brute force at 1M")
    ap.add_argument("--worst", type=int, default=20, help="worst-case queries (intent matches nothing)")
    ap.add_argument(
        "--compare",
        type=int,
        default=40,
        help="queries timed back to back against the vectorised brute force",
    )
    ap.add_argument("--quick", action="store_true", help="1k, 10k, 100k with fewer queries")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--add", action="store_true", help="also measure add throughput with the real embedder")
    ap.add_argument("--add-n", type=int, default=400)
    args = ap.parse_args(argv)
    if args.quick:
        args.queries, args.compare = 100, 20
    args.ref_reps = lambda n: 50 if n <= 1000 else 30 if n <= 10_000 else 10 if n <= 100_000 else 3
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(
        f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; cores available: "
        f"{len(os.sched_getaffinity(0))}, threads for ours: {args.threads}, k={K}, dim={DIM}"
    )
    rows = []
    for n in [int(x) for x in args.sizes.split(",") if x]:
        r = bench_size(n, args)
        rows.append(r)
        print(
            f"n={n:>9,}  groups={r['groups']:>3}  ours p50 {r['ours_p50']:8.2f} ms  p99 {r['ours_p99']:8.2f} ms  "
            f"(step 1: {r['ours_step1_p50']:.2f}, later: {r['ours_later_p50']:.2f}; intent matching nothing: "
            f"{r['worst_p50']:.2f})  |  reference p50 {r['ref_p50']:9.2f} ms  p99 {r['ref_p99']:9.2f} ms "
            f"({r['ref_reps']} calls)  |  vectorised brute force p50 {r['vb_p50']:8.2f} ms  |  "
            f"speed-up vs reference at p50: {r['ref_p50'] / r['ours_p50']:7.1f}x",
            flush=True,
        )
        print(
            f"           top-{K}: identical to exact float64 brute force on {r['exact_checked']} queries; "
            f"identical to the reference on {r['same_as_ref']}/{r['ref_reps']} (float32 near-ties: {r['ref_float32_ties']})  |  "
            f"index {r['index_mb']:.0f} MB, process RSS {r['rss_mb']:.0f} MB, build {r['build_s']:.1f} s",
            flush=True,
        )
        vs = r["vs_brute"]
        print(
            "           vs vectorised brute force, same queries back to back (p50 ours / brute force ms): "
            + ", ".join(f"{k} {a:.2f} / {b:.2f} ({b / a:.1f}x)" for k, (a, b) in vs.items())
            + ("" if all(a <= b for a, b in vs.values()) else "  ! SLOWER somewhere"),
            flush=True,
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB; load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.add:
        bench_add(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

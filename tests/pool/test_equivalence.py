"""Our top-k equals a brute-force re-implementation of the SEER reference's selection."""

from __future__ import annotations

import random

import numpy as np
import pytest

from seer_env.embedding import normalise
from seer_env.pool import ExperienceMemory, RecallWeights
from seer_env.pool import index as index_mod
from seer_env.pool.index import VectorIndex
from seer_env.pool.render import render_steps
from seer_env.pool.scoring import exact_cosines
from seer_env.types import Step, ToolCall, Trajectory
from tests.pool.fakes import INTENTS, HashEmbedder

CHAINS = [
    ["LoadDB", "FilterDB", "GetValue", "Finish"],
    ["LoadDB", "FilterDB", "GetValue", "GetValue", "Calculate", "Finish"],
    ["SQLInterpreter", "Finish"],
    ["LoadGraph", "NeighbourCheck", "Finish"],
    ["LoadGraph", "NodeCheck", "Finish"],
    ["LoadGraph", "EdgeCheck", "NodeCheck", "Finish"],
    ["RetrieveAgenda", "Finish"],
    ["RetrieveScirex", "Finish"],
    ["PythonInterpreter", "Finish"],
    ["LoadDB", "FilterDB", "SQLInterpreter", "Finish"],
]


def random_traj(i: int, rng: random.Random) -> Trajectory:
    chain = list(rng.choice(CHAINS))
    if rng.random() < 0.2:  # some unusual chains, so there are many tool sets
        chain.insert(0, rng.choice(["GetValue", "Calculate", "PythonInterpreter", "LoadDB"]))
    # repeated questions (about 1 in 10) give exactly equal goal vectors: ties
    q = f"question {rng.randrange(200)}" if rng.random() < 0.1 else f"question {i} {rng.random()}"
    steps = [Step(ToolCall(t, {"input": f"{i}-{j}"}), f"r{j}", True, f"t{i}") for j, t in enumerate(chain)]
    return Trajectory("ToolQA-easy-v0", f"t{i}", q, rng.choice(INTENTS), steps, str(i), 1.0, True)


def reference_select(entries, vecs, q, tools_so_far, intent, k, w: RecallWeights, floor=None):
    """The reference's selection: a loop over the pool, one product, a sort with ties to the higher index.

    (The reference has no similarity floor; it filters by cosine when one is given.)
    """
    sims = exact_cosines(vecs, q)
    scored = []
    for idx, e in enumerate(entries):
        cov = len(set(tools_so_far) & set(e.tool_chain)) / len(tools_so_far) if tools_so_far else 0.0
        im = intent is not None and e.intent == intent
        if floor is not None and sims[idx] < floor:
            continue
        scored.append((w.sim * float(sims[idx]) + (w.tool * cov + w.intent * (1.0 if im else 0.0)), e.id))
    return [i for _, i in sorted(scored, reverse=True)[:k]]


@pytest.fixture(scope="module")
def pool2000(tmp_path_factory):
    rng = random.Random(7)
    emb = HashEmbedder(dim=48)
    mem = ExperienceMemory(tmp_path_factory.mktemp("eq") / "p.sqlite", embedder=emb)
    added = mem.add_many([random_traj(i, rng) for i in range(2000)])
    assert sum(added) == 2000
    entries = list(mem.experiences())
    qv = normalise(emb.encode([e.query for e in entries]))
    tv = normalise(emb.encode([render_steps(e.steps) for e in entries]))
    yield mem, entries, qv, tv
    mem.close()


@pytest.mark.parametrize("strategy", ["goal", "process", "hybrid"])
@pytest.mark.parametrize(
    "weights,floor",
    [
        (RecallWeights(), None),
        (RecallWeights(2.0, 0.5, 0.0), None),
        (RecallWeights(1.0, 1.0, 1.0), 0.05),
        (RecallWeights(0.0, 1.0, 1.0), None),
    ],
)
def test_equivalence_random_pool(pool2000, strategy, weights, floor):
    mem, entries, qv, tv = pool2000
    mem.weights, mem.min_similarity = weights, floor
    rng = random.Random(hash((strategy, weights, floor)) & 0xFFFF)
    try:
        for trial in range(40):
            src = rng.choice(entries)
            query = src.query if rng.random() < 0.5 else f"new question {trial}"
            n_steps = rng.randrange(0, len(src.steps))
            steps = src.steps[:n_steps]
            intent = rng.choice([*INTENTS, None, "unknown"])
            k = rng.choice([1, 4, 8])
            use_goal = strategy == "goal" or (strategy == "hybrid" and not steps)
            text = query if use_goal else render_steps(steps)
            q = normalise(mem.embedder.encode([text]))[0]
            tools = [s.action.name for s in steps]
            want = reference_select(entries, qv if use_goal else tv, q, tools, intent, k, weights, floor)
            got = mem.recall(query, intent=intent, steps=steps, strategy=strategy, k=k)
            assert [r.experience.id for r in got] == want, (trial, strategy, intent, tools)
    finally:
        mem.weights, mem.min_similarity = RecallWeights(), None


def test_equivalence_quantized_groups_and_ties(monkeypatch):
    """Large groups go through the 8-bit faiss pass; clustered vectors and duplicates make near and exact ties."""
    monkeypatch.setattr(index_mod, "FLAT_MAX", 0)  # the groups, not one flat pass
    monkeypatch.setattr(index_mod, "SQ_MIN", 64)
    monkeypatch.setattr(index_mod, "EXTRA", 1)  # forces the rescan of groups cut too early
    rng = np.random.default_rng(3)
    n, d = 6000, 64
    centres = rng.standard_normal((6, d))
    x = centres[rng.integers(0, 6, n)] + 0.35 * rng.standard_normal((n, d))
    x[100:160] = x[50]  # exact duplicates
    x = normalise(x)
    intents = [INTENTS[i] for i in rng.integers(0, 3, n)]
    chains = [CHAINS[i] for i in rng.integers(0, 4, n)]
    ids = np.arange(1, n + 1)
    idx = VectorIndex(d, threads=2)
    for lo in range(0, n, 1000):  # incremental adds
        hi = lo + 1000
        idx.add(ids[lo:hi], ["ns"] * 1000, intents[lo:hi], chains[lo:hi], x[lo:hi])

    class E:
        def __init__(self, i):
            self.id, self.intent, self.tool_chain = int(ids[i]), intents[i], chains[i]

    entries = [E(i) for i in range(n)]
    for trial in range(60):
        q = x[50] if trial % 5 == 0 else normalise(centres[trial % 6] + 0.5 * rng.standard_normal(d))[0]
        tools = list(CHAINS[trial % 4][: trial % 3])
        intent = INTENTS[trial % 4]
        k = [1, 4, 10, 70][trial % 4]
        w = [RecallWeights(), RecallWeights(1.0, 0.3, 0.1)][trial % 2]
        floor = 0.2 if trial % 7 == 0 else None
        got = idx.search(
            q, namespace="ns", intent=intent, tools_so_far=tools, weights=w, k=k, min_similarity=floor
        )
        assert [h.id for h in got] == reference_select(entries, x, q, tools, intent, k, w, floor), trial
    assert (
        idx.search(x[0], namespace="other", intent=None, tools_so_far=[], weights=RecallWeights(), k=4) == []
    )


def test_equivalence_while_the_index_grows(monkeypatch):
    """Searches between adds: the per-part bonuses kept between searches follow new tool sets, tool sets
    promoted out of the mixed group and the mixed group's changing members."""
    monkeypatch.setattr(index_mod, "PROMOTE", 6)
    monkeypatch.setattr(index_mod, "FLAT_MAX", 240)  # the flat pass first, the groups past 240 rows
    rng = np.random.default_rng(11)
    n, d = 480, 32
    x = normalise(rng.standard_normal((n, d)))
    intents = [INTENTS[i] for i in rng.integers(0, 3, n)]
    # a new tool set every now and then, so parts keep changing shape
    chains = [CHAINS[i] if i < len(CHAINS) else [*CHAINS[i % 4], f"Tool{i}"] for i in rng.integers(0, 14, n)]
    ids = np.arange(1, n + 1)

    class E:
        def __init__(self, i):
            self.id, self.intent, self.tool_chain = int(ids[i]), intents[i], chains[i]

    idx = VectorIndex(d)
    tool_lists = [[], ["LoadDB"], ["LoadDB", "FilterDB"], ["LoadGraph", "LoadGraph"], ["Tool12", "Finish"]]
    checked = 0
    for lo in range(0, n, 24):
        hi = lo + 24
        idx.add(ids[lo:hi], ["ns"] * 24, intents[lo:hi], chains[lo:hi], x[lo:hi])
        entries = [E(i) for i in range(hi)]
        for trial in range(6):  # the same tool lists again and again: the kept bonuses are reused
            q = normalise(rng.standard_normal(d))[0]
            tools = tool_lists[trial % len(tool_lists)]
            intent = INTENTS[trial % 3]
            got = idx.search(
                q, namespace="ns", intent=intent, tools_so_far=tools, weights=RecallWeights(), k=4
            )
            want = reference_select(entries, x[:hi], q, tools, intent, 4, RecallWeights())
            assert [h.id for h in got] == want, (lo, trial)
            checked += 1
    assert checked == 6 * (n // 24)


def test_equivalence_real_model(tmp_path, monkeypatch):
    """The packaged MiniLM (offline): the seeds plus a few short experiences, every strategy."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    from seer_env import embedding

    mem = ExperienceMemory(tmp_path / "real.sqlite", embedder=None)
    assert mem.embedder.name == "all-MiniLM-L6-v2" and mem.dim == 384
    assert mem.add_seeds("toolqa") == 8
    rng = random.Random(1)
    mem.add_many([random_traj(i, rng) for i in range(8)])
    entries = list(mem.experiences())
    assert len(entries) == 16
    vecs = normalise(embedding.embed([e.query for e in entries] + [render_steps(e.steps) for e in entries]))
    qv, tv = vecs[: len(entries)], vecs[len(entries) :]
    seeds = [e for e in entries if e.source == "seed"]
    cases = []
    for strategy in ("goal", "process", "hybrid"):
        for n, e in enumerate(seeds):
            steps = e.steps[: n % 2]
            use_goal = strategy == "goal" or (strategy == "hybrid" and not steps)
            cases.append((strategy, e, steps, use_goal, e.query if use_goal else render_steps(steps)))
    queries = normalise(embedding.embed(sorted({c[4] for c in cases})))
    qvec = dict(zip(sorted({c[4] for c in cases}), queries, strict=True))
    for strategy, e, steps, use_goal, text in cases:
        tools = [s.action.name for s in steps]
        want = reference_select(
            entries, qv if use_goal else tv, qvec[text], tools, e.intent, 4, RecallWeights()
        )
        got = mem.recall(e.query, intent=e.intent, steps=steps, strategy=strategy)
        assert [r.experience.id for r in got] == want
        if use_goal:  # its own question is recalled first: cos 1 + intent
            assert got[0].experience.id == e.id and got[0].similarity == pytest.approx(1.0, abs=1e-5)
    mem.close()


def test_equivalence_many_tool_names():
    """More than 64 distinct tools (coverage computed without bit masks) and many rare tool sets."""
    rng = np.random.default_rng(11)
    n, d = 3000, 32
    names = [f"Tool{i}" for i in range(90)]
    chains = [list(rng.choice(names, size=rng.integers(1, 5))) for _ in range(n)]
    intents = [INTENTS[i] for i in rng.integers(0, 4, n)]
    x = normalise(rng.standard_normal((n, d)))
    idx = VectorIndex(d)
    idx.add(np.arange(1, n + 1), ["ns"] * n, intents, chains, x)

    class E:
        def __init__(self, i):
            self.id, self.intent, self.tool_chain = i + 1, intents[i], chains[i]

    entries = [E(i) for i in range(n)]
    for trial in range(30):
        q = normalise(rng.standard_normal(d))[0]
        tools = list(rng.choice(names, size=trial % 4))
        got = idx.search(
            q, namespace="ns", intent=INTENTS[trial % 4], tools_so_far=tools, weights=RecallWeights(), k=5
        )
        assert [h.id for h in got] == reference_select(
            entries, x, q, tools, INTENTS[trial % 4], 5, RecallWeights()
        )

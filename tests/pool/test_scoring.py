"""SEER's recall score against hand-computed values: coverage, intent bonus, weights, floor, ties."""

from __future__ import annotations

import numpy as np
import pytest

from seer_env.pool import ExperienceMemory, RecallWeights
from seer_env.pool.scoring import coverage, seer_score
from seer_env.types import Step, ToolCall, Trajectory
from tests.pool.fakes import HashEmbedder


class TableEmbedder(HashEmbedder):
    """Stands in for the sentence-transformers embedder with hand-picked vectors for given texts
    (other texts fall back to HashEmbedder's pseudo-random unit vectors). Same API: name, dim, encode."""

    def __init__(self, table: dict[str, list[float]], dim: int = 4):
        super().__init__(dim=dim, name="table-embedder")
        self.table = {k: np.asarray(v, dtype=np.float32) for k, v in table.items()}

    def encode(self, texts):
        out = super().encode(texts)
        for i, t in enumerate(texts):
            if t in self.table:
                v = self.table[t]
                out[i] = v / np.linalg.norm(v)
        return out


def traj(query: str, intent: str | None, tools: list[str]) -> Trajectory:
    steps = [Step(ToolCall(t, {"input": f"{query}-{j}"}), "ok") for j, t in enumerate(tools)]
    steps.append(Step(ToolCall("Finish", {"answer": "x"}), "x"))
    return Trajectory("ToolQA-easy-v0", query, query, intent, steps, "x", 1.0, True)


# question vectors: cos with "Q" is 0.8 for A, 0.6 for B, 0.0 for C
TABLE = {"Q": [1, 0, 0, 0], "A": [0.8, 0.6, 0, 0], "B": [0.6, 0.8, 0, 0], "C": [0, 0, 1, 0]}


@pytest.fixture
def mem(tmp_path):
    m = ExperienceMemory(tmp_path / "p.sqlite", embedder=TableEmbedder(TABLE))
    m.add(traj("A", "flight", ["LoadDB", "FilterDB", "GetValue"]))
    m.add(traj("B", "coffee", ["LoadDB", "SQLInterpreter"]))
    m.add(traj("C", "coffee", ["PythonInterpreter"]))
    yield m
    m.close()


def _used(*tools: str) -> list[Step]:
    return [Step(ToolCall(t, {"input": "q"}), "ok") for t in tools]


def test_coverage_function():
    assert coverage([], ["LoadDB"]) == 0.0
    assert coverage(["LoadDB", "FilterDB"], ["LoadDB", "GetValue"]) == 0.5
    # the reference divides by the list length, repeats included (a quirk kept on purpose)
    assert coverage(["GetValue", "GetValue"], ["GetValue"]) == 0.5
    assert coverage(["LoadDB"], ["LoadDB", "LoadDB"]) == 1.0
    assert seer_score(RecallWeights(), 0.5, 0.25, True) == pytest.approx(1.75)
    assert seer_score(RecallWeights(2, 4, 0.5), 0.5, 0.25, False) == pytest.approx(2.0)


def test_no_tool_used_means_zero_coverage(mem):
    got = mem.recall("Q", intent=None, strategy="goal", k=3)
    assert [r.experience.query for r in got] == ["A", "B", "C"]
    assert [r.coverage for r in got] == [0.0, 0.0, 0.0]
    assert [r.score for r in got] == pytest.approx([0.8, 0.6, 0.0], abs=1e-6)
    assert [r.similarity for r in got] == pytest.approx([0.8, 0.6, 0.0], abs=1e-6)


def test_intent_bonus(mem):
    got = mem.recall("Q", intent="coffee", strategy="goal", k=3)
    # B: 0.6 + 1, C: 0.0 + 1, A: 0.8 + 0
    assert [r.experience.query for r in got] == ["B", "C", "A"]
    assert [r.score for r in got] == pytest.approx([1.6, 1.0, 0.8], abs=1e-6)
    assert [r.intent_match for r in got] == [True, True, False]


def test_tool_coverage_term(mem):
    got = mem.recall("Q", intent="coffee", steps=_used("LoadDB", "FilterDB"), strategy="goal", k=3)
    # A: 0.8 + 2/2 + 0 = 1.8; B: 0.6 + 1/2 + 1 = 2.1; C: 0 + 0 + 1 = 1.0
    assert [r.experience.query for r in got] == ["B", "A", "C"]
    assert [r.score for r in got] == pytest.approx([2.1, 1.8, 1.0], abs=1e-6)
    assert [r.coverage for r in got] == [0.5, 1.0, 0.0]


def test_weights(tmp_path, mem):
    mem.weights = RecallWeights(sim=2.0, tool=0.5, intent=0.25)
    got = mem.recall("Q", intent="coffee", steps=_used("LoadDB", "FilterDB"), strategy="goal", k=3)
    # A: 1.6 + 0.5 + 0 = 2.1; B: 1.2 + 0.25 + 0.25 = 1.7; C: 0 + 0 + 0.25 = 0.25
    assert [r.experience.query for r in got] == ["A", "B", "C"]
    assert [r.score for r in got] == pytest.approx([2.1, 1.7, 0.25], abs=1e-6)
    with pytest.raises(ValueError):
        RecallWeights(sim=-1.0)


def test_similarity_floor_and_recall_nothing(mem):
    mem.min_similarity = 0.7
    got = mem.recall("Q", intent="coffee", strategy="goal", k=3)
    assert [r.experience.query for r in got] == ["A"]  # B (0.6) and C (0.0) are below the floor
    mem.min_similarity = 0.99
    assert mem.recall("Q", intent="coffee", strategy="goal", k=3) == []
    mem.min_similarity = None
    assert mem.recall("Q", intent="coffee", strategy="goal", k=0) == []
    assert mem.recall("Q", intent="coffee", strategy="goal", namespace="taubench") == []


def test_ties_go_to_the_more_recent(tmp_path):
    m = ExperienceMemory(tmp_path / "t.sqlite", embedder=TableEmbedder({**TABLE, "A2": [0.8, 0.6, 0, 0]}))
    m.add(traj("A", "flight", ["LoadDB"]))
    m.add(traj("A2", "flight", ["LoadDB"]))  # same vector, same intent, same tools: an exact tie
    m.add(traj("B", "flight", ["LoadDB"]))
    got = m.recall("Q", intent="flight", strategy="goal", k=3)
    assert [r.experience.query for r in got] == ["A2", "A", "B"]
    assert got[0].score == got[1].score
    assert [r.experience.query for r in m.recall("Q", intent="flight", strategy="goal", k=1)] == ["A2"]
    m.close()


def test_process_strategy_embeds_steps_so_far(tmp_path):
    from seer_env.pool.render import render_steps

    a, b = traj("A", "flight", ["LoadDB"]), traj("B", "flight", ["SQLInterpreter"])
    so_far = _used("LoadDB")
    table = {
        render_steps(so_far): [1, 0, 0, 0],
        render_steps(a.steps): [0.8, 0.6, 0, 0],
        render_steps(b.steps): [0, 1, 0, 0],
    }
    m = ExperienceMemory(tmp_path / "p.sqlite", embedder=TableEmbedder(table))
    m.add(a)
    m.add(b)
    got = m.recall("whatever", intent="flight", steps=so_far, strategy="process", k=2)
    assert [r.experience.query for r in got] == ["A", "B"]
    assert [r.score for r in got] == pytest.approx([0.8 + 1 + 1, 0 + 0 + 1], abs=1e-6)
    # hybrid: the question at step 1, the steps from step 2 on
    h1 = m.recall("A", intent="flight", steps=(), strategy="hybrid", k=1)
    assert h1[0].experience.query == "A" and h1[0].similarity == pytest.approx(1.0, abs=1e-6)
    h2 = m.recall("B", intent="flight", steps=so_far, strategy="hybrid", k=2)
    assert [r.experience.query for r in h2] == ["A", "B"]
    with pytest.raises(ValueError):
        m.recall("x", strategy="mix")
    m.close()


def test_recall_log(tmp_path):
    import json

    log = tmp_path / "recalls.jsonl"
    m = ExperienceMemory(tmp_path / "p.sqlite", embedder=TableEmbedder(TABLE), recall_log=log)
    m.add(traj("A", "flight", ["LoadDB"]))
    m.recall("Q", intent="flight", strategy="goal", k=2)
    m.recall("Q", intent="coffee", strategy="goal", k=0)
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert len(lines) == 2
    first = lines[0]["recalled"][0]
    assert first["similarity"] == pytest.approx(0.8, abs=1e-6) and first["intent_match"] is True
    assert first["score"] == pytest.approx(1.8, abs=1e-6) and first["coverage"] == 0.0
    assert lines[1]["recalled"] == [] and lines[1]["k"] == 0
    m.close()

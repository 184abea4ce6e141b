"""Store, accumulation rules, freezing, embedder changes, import/export, seeds, rendering, CLI."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from seer_env.envs.toolqa.domains import RETRIEVAL_TOOLS
from seer_env.pool import EmbedderMismatchError, ExperienceMemory, PoolFrozenError, SchemaVersionError
from seer_env.pool.io import (
    export_jsonl,
    export_reference,
    import_jsonl,
    import_reference,
    reference_entry_to_trajectory,
)
from seer_env.pool.render import OMITTED, render_exemplars, render_experience, render_step
from seer_env.pool.seeds import seed_trajectories
from seer_env.pool.store import SCHEMA_VERSION, Store, pool_meta
from seer_env.types import Step, ToolCall
from tests.pool.fakes import HashEmbedder, make_traj


@pytest.fixture
def mem(tmp_path):
    m = ExperienceMemory(tmp_path / "p.sqlite", embedder=HashEmbedder(), namespace="toolqa")
    yield m
    m.close()


def test_wal_mode_and_default_url():
    m = ExperienceMemory(embedder=HashEmbedder(), namespace="toolqa")
    assert m.url.startswith("sqlite:///") and m.url.endswith(".sqlite")
    with m.store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar().lower() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
    m.close()


def test_accumulation_rules(mem):
    assert mem.add(make_traj(1)) is True
    assert mem.add(make_traj(1)) is False  # exact duplicate
    assert mem.add(make_traj(1), run_id="other-run", source="x") is False  # still the same content
    assert mem.add(make_traj(2, success=False)) is False
    assert mem.add(make_traj(3, reward=0.5)) is False  # below the success threshold
    assert mem.add(make_traj(4), split="test") is False  # test tasks never enter
    assert len(mem) == 1
    mem.success_threshold = 0.5
    assert mem.add(make_traj(3, reward=0.5)) is True
    mem.allowed_splits = None
    assert mem.add(make_traj(4), split="test") is True
    assert len(mem) == 3
    assert mem.add_many([make_traj(10), make_traj(10), make_traj(11, success=False), make_traj(12)]) == [
        True,
        False,
        False,
        True,
    ]
    st = mem.stats()
    assert st["experiences"] == 5 and st["by_split"] == {"train": 4, "test": 1}
    # a second namespace in the same pool
    assert mem.add(make_traj(1), namespace="taubench") is True
    assert len(mem) == 5 and mem.stats()["by_namespace"] == {"toolqa": 5, "taubench": 1}
    e = mem.get([1])[0]
    t = make_traj(1)
    assert (e.query, e.intent, e.answer, e.tool_chain, e.split, e.source) == (
        t.query,
        t.intent,
        t.answer,
        t.tool_chain,
        "train",
        "online",
    )
    assert [s.to_dict() for s in e.steps] == [s.to_dict() for s in t.steps]


def test_freeze(tmp_path, mem):
    mem.add_many([make_traj(i) for i in range(5)])
    h1 = mem.content_hash()
    digest = mem.freeze()
    assert digest == h1 == mem.content_hash() and len(digest) == 64
    with pytest.raises(PoolFrozenError):
        mem.add(make_traj(99))
    with pytest.raises(PoolFrozenError):
        mem.add(make_traj(0))  # even a duplicate is refused, not silently dropped
    assert len(mem) == 5
    # another process (here: another handle) sees the freeze
    other = ExperienceMemory(mem.url, embedder=HashEmbedder(), namespace="toolqa")
    with pytest.raises(PoolFrozenError):
        other.add(make_traj(100))
    assert other.stats()["frozen"] is True and other.stats()["frozen_hash"] == digest
    other.close()
    # the same content in another order hashes differently (ties depend on order)
    m2 = ExperienceMemory(tmp_path / "q.sqlite", embedder=HashEmbedder(), namespace="toolqa")
    m2.add_many([make_traj(i) for i in reversed(range(5))])
    assert m2.content_hash() != digest
    m3 = ExperienceMemory(tmp_path / "r.sqlite", embedder=HashEmbedder(), namespace="toolqa")
    m3.add_many([make_traj(i) for i in range(5)])
    assert m3.content_hash() == digest
    m2.close()
    m3.close()


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "p.sqlite"
    ExperienceMemory(path, embedder=HashEmbedder(), namespace="toolqa").close()
    s = Store(path)
    with s.engine.begin() as conn:
        conn.execute(
            update(pool_meta).where(pool_meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION + 1))
        )
    s.close()
    with pytest.raises(SchemaVersionError, match="upgrade seer-env"):
        ExperienceMemory(path, embedder=HashEmbedder(), namespace="toolqa")


def test_embedder_mismatch(tmp_path):
    path = tmp_path / "p.sqlite"
    m = ExperienceMemory(path, embedder=HashEmbedder(dim=16, name="a"))
    m.add_many([make_traj(i) for i in range(20)])
    m.close()
    with pytest.raises(EmbedderMismatchError, match="reembed"):
        ExperienceMemory(path, embedder=HashEmbedder(dim=16, name="b"))
    with pytest.raises(EmbedderMismatchError):
        ExperienceMemory(path, embedder=HashEmbedder(dim=24, name="a"))
    # re-embedding recomputes every vector with the new embedder; recall then uses only those
    new = HashEmbedder(dim=24, name="b")
    m = ExperienceMemory(path, embedder=new, on_mismatch="reembed")
    assert m.stats()["embedder"] == "b" and m.dim == 24 and len(m) == 20
    t = make_traj(7)
    got = m.recall(t.query, intent=t.intent, strategy="goal", k=1)
    assert got[0].experience.query == t.query and got[0].similarity == pytest.approx(1.0, abs=1e-5)
    m.close()
    ExperienceMemory(path, embedder=HashEmbedder(dim=24, name="b")).close()  # now it matches


def test_jsonl_roundtrip(tmp_path, mem):
    mem.add_many([make_traj(i) for i in range(12)])
    mem.add(make_traj(50), split="train", namespace="taubench")
    out = tmp_path / "pool.jsonl"
    assert export_jsonl(mem, out) == 12
    m2 = ExperienceMemory(tmp_path / "copy.sqlite", embedder=HashEmbedder(), namespace="toolqa")
    first = import_jsonl(m2, out)
    assert (first.added, first.skipped) == (12, 0)
    again = import_jsonl(m2, out)  # all duplicates now, each reported with its line
    assert (again.added, again.skipped) == (0, 12)
    assert again.problems[0] == ("line 1", "already in the pool (or repeated in the file)")
    assert m2.content_hash() == mem.content_hash() or len(m2) == 12
    assert [e.content_hash for e in m2.experiences()] == [e.content_hash for e in mem.experiences()]
    # bad lines are skipped, not fatal, and reported with their line numbers
    bad = tmp_path / "bad.jsonl"
    bad.write_text('not json\n{"foo": 1}\n' + json.dumps(make_traj(77).to_dict()) + "\n")
    report = import_jsonl(m2, bad)
    assert report.added == 1 and [where for where, _ in report.problems] == ["line 1", "line 2"]
    assert report.problems[0][1].startswith("not JSON") and "'query'" in report.problems[1][1]
    m2.close()


def test_reference_format(tmp_path, mem):
    entry = {
        "id": "id_9",
        "class": "flight",
        "question": "What was the delay of AA 10 on 2022-01-02?",
        "steps": [
            "Step 1: Load the table. <CALL_BEGIN>LoadDB[flights]<CALL_END>",
            "Step 2: <CALL_BEGIN>FilterDB[Flight_Number_Marketing_Airline=10, FlightDate=2022-01-02]<CALL_END>",
            "Step 3: Read it. <CALL_BEGIN>GetValue[DepDelay]<CALL_END>",
            "Step 4: Done. <CALL_BEGIN>Finish[12.0]<CALL_END>",
        ],
        "tools": ["LoadDB", "FilterDB", "GetValue", "Finish"],
        "parameters": ["flights", "...", "DepDelay", "12.0"],
        "full_text": "Question: What was the delay of AA 10 on 2022-01-02?\nStep 1: Load the table. <CALL_BEGIN>LoadDB[flights]<CALL_END>\n"
        "Result 1: We have loaded it.\nwith a second line\nStep 2: <CALL_BEGIN>FilterDB[Flight_Number_Marketing_Airline=10, FlightDate=2022-01-02]<CALL_END>\n"
        "Result 2: filtered\nStep 3: Read it. <CALL_BEGIN>GetValue[DepDelay]<CALL_END>\nResult 3: 12.0\n"
        "Step 4: Done. <CALL_BEGIN>Finish[12.0]<CALL_END>\nResult 4: 12.0",
    }
    t = reference_entry_to_trajectory(entry)
    assert t.intent == "flight" and t.tool_chain == entry["tools"] and t.answer == "12.0"
    assert (
        t.steps[0].thought == "Load the table."
        and t.steps[0].observation == "We have loaded it.\nwith a second line"
    )
    assert t.steps[1].action.text() == "FilterDB[Flight_Number_Marketing_Airline=10, FlightDate=2022-01-02]"
    assert render_experience(t) == entry["full_text"]
    path = tmp_path / "library.json"
    path.write_text(json.dumps([entry, {"id": "id_10"}]))
    report = import_reference(mem, path)
    assert report.added == 1 and report.problems == [
        ("entry 2", "not a reference entry: no 'question' field")
    ]
    out = tmp_path / "out.json"
    assert export_reference(mem, out) == 1
    back = json.loads(out.read_text())[0]
    assert (
        back["class"] == "flight"
        and back["steps"] == entry["steps"]
        and back["full_text"] == entry["full_text"]
    )
    assert back["tools"] == entry["tools"]


def test_seeds(mem):
    seeds = seed_trajectories("toolqa")
    assert sorted(t.intent for t in seeds) == sorted(
        ["flight", "coffee", "yelp", "airbnb", "dblp", "scirex", "agenda", "gsm8k"]
    )
    for t in seeds:
        assert t.success and t.reward == 1.0 and t.steps[-1].action.name == "Finish"
        assert t.answer == t.steps[-1].action.arguments["answer"]
    assert mem.add_seeds("toolqa") == 8 and mem.add_seeds("toolqa") == 0
    assert mem.stats()["by_source"] == {"seed": 8}
    with pytest.raises(KeyError):
        seed_trajectories("nope")


def test_render():
    s = Step(ToolCall("LoadDB", {"DBName": "flights"}), "loaded", True, "Load it.")
    assert render_step(1, s) == "Step 1: Load it. <CALL_BEGIN>LoadDB[flights]<CALL_END>"
    assert (
        render_step(2, Step(ToolCall("Finish", {"answer": "3"}), "3"))
        == "Step 2: <CALL_BEGIN>Finish[3]<CALL_END>"
    )
    scirex = seed_trajectories("toolqa")[5]
    text = render_experience(scirex, RETRIEVAL_TOOLS)
    assert text.splitlines()[0] == f"Question: {scirex.query}" and f"Result 1: {OMITTED}" in text
    assert OMITTED not in render_experience(scirex)
    long = Step(ToolCall("GetValue", {"c": "x"}), "y" * 5000)
    result_line = render_experience(type("E", (), {"query": "q", "steps": [long]})()).splitlines()[-1]
    assert result_line == "Result 1: " + "y" * 2048
    block = render_exemplars(seed_trajectories("toolqa")[:2])
    assert block.endswith("\n\n") and block.count("Question: ") == 2


def test_cli(tmp_path, capsys):
    from seer_env.cli import main

    db = str(tmp_path / "c.sqlite")
    m = ExperienceMemory(db, embedder=HashEmbedder(), namespace="toolqa")
    m.add_many([make_traj(i) for i in range(3)])
    m.close()
    assert main(["pool", "stats", db, "--json"]) == 0
    assert '"experiences": 3' in capsys.readouterr().out
    out = tmp_path / "x.jsonl"
    assert main(["pool", "export", db, str(out)]) == 0
    assert len(out.read_text().splitlines()) == 3
    assert main(["pool", "freeze", db]) == 0
    digest = capsys.readouterr().out.strip().splitlines()[-1]
    assert len(digest) == 64
    assert main(["pool", "import", db, str(out)]) == 1  # frozen

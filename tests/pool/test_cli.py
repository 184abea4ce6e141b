"""`seer-env pool`: read-only commands never write or create files; what is not a pool is said in one
line; `import` checks the whole file first, reports what it skipped, and writes where it is told."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from seer_env.cli import main
from seer_env.embedding import HashEmbedder
from seer_env.pool import ExperienceMemory
from tests.pool.fakes import make_traj

EMBEDDER = "test-hash-64"


class _HashByName(HashEmbedder):
    """Stands in for `ModelEmbedder(name)`, which the CLI builds from the name a pool stores: the
    hashed-words embedder under that name, so no model is loaded."""

    def __init__(self, model=None, **_):
        super().__init__(64, name=EMBEDDER)


@pytest.fixture(autouse=True)
def no_model(monkeypatch):
    monkeypatch.setattr("seer_env.embedding.ModelEmbedder", _HashByName)


def _pool(path: Path, n: int = 3, namespace: str = "toolqa") -> None:
    with ExperienceMemory(path, embedder=HashEmbedder(64, name=EMBEDDER), namespace=namespace) as mem:
        mem.add_many([make_traj(i) for i in range(n)])


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file of `folder` with the sha256 of its bytes."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()
    }


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_stats_and_export_neither_write_nor_create_files(tmp_path, capsys):
    folder = tmp_path / "pools"
    folder.mkdir()
    _pool(folder / "p.sqlite")
    before = _snapshot(folder)
    assert set(before) == {"p.sqlite", "p.sqlite.writelock"}  # the writers' lock file, made by the writes
    assert main(["pool", "stats", str(folder / "p.sqlite"), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["experiences"] == 3 and stats["by_namespace"] == {"toolqa": 3}
    assert len(stats["content_hash"]) == 64
    out = tmp_path / "export.jsonl"
    assert main(["pool", "export", str(folder / "p.sqlite"), str(out)]) == 0
    assert len(out.read_text().splitlines()) == 3
    assert _snapshot(folder) == before  # no byte written, no -wal/-shm file left behind
    # the content hash is the one the pool itself computes
    with ExperienceMemory(folder / "p.sqlite", embedder=HashEmbedder(64, name=EMBEDDER)) as mem:
        assert mem.content_hash() == stats["content_hash"]


def test_stats_reads_a_pool_that_a_writer_holds_open(tmp_path, capsys):
    path = tmp_path / "p.sqlite"
    _pool(path)
    with ExperienceMemory(path, embedder=HashEmbedder(64, name=EMBEDDER), namespace="toolqa") as writer:
        writer.add(make_traj(10))  # the writer's -wal file exists now
        assert main(["pool", "stats", str(path), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["experiences"] == 4


@pytest.mark.parametrize("command", ["stats", "export", "freeze"])
def test_a_missing_pool_is_refused_and_not_created(tmp_path, capsys, command):
    missing = tmp_path / "typo.sqlite"
    args = ["pool", command, str(missing)] + ([str(tmp_path / "out.jsonl")] if command == "export" else [])
    assert main(args) == 2
    assert "no pool at" in _err_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_other_sqlite_files_and_garbage_are_refused_untouched(tmp_path, capsys):
    other = tmp_path / "data.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE people (name TEXT)")
    con.execute("INSERT INTO people VALUES ('ada')")
    con.commit()
    con.close()
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database at all " * 100)
    folder = tmp_path / "folder.sqlite"
    folder.mkdir()
    before = _snapshot(tmp_path)
    seeds = tmp_path / "x.jsonl"
    for path, expected in ((other, "not an experience pool"), (garbage, "cannot read the pool")):
        for args in (
            ["stats", str(path)],
            ["export", str(path), str(tmp_path / "o.jsonl")],
            ["freeze", str(path)],
        ):
            assert main(["pool", *args]) == 2, args
            assert expected in _err_line(capsys), args
        seeds.write_text(json.dumps(make_traj(1).to_dict()) + "\n")
        assert main(["pool", "import", str(path), str(seeds)]) == 2  # a write is refused too
        assert expected in _err_line(capsys)
        seeds.unlink()
    assert main(["pool", "stats", str(folder)]) == 2
    assert "no pool at" in _err_line(capsys)
    assert _snapshot(tmp_path) == before


def test_import_checks_the_whole_file_and_reports_each_skipped_line(tmp_path, capsys):
    pool = tmp_path / "p.sqlite"
    _pool(pool, n=1)
    good = [make_traj(i) for i in range(20, 23)]
    lines = [
        json.dumps({**good[0].to_dict(), "namespace": "taubench-retail", "split": "test"}),
        "{not json",
        json.dumps({"query": {"a": 1}, "steps": []}),  # a query that is no text: refused before any write
        json.dumps({**good[1].to_dict(), "split": "test"}),
        json.dumps([1, 2]),
        json.dumps(make_traj(30, success=False).to_dict()),
        json.dumps(good[2].to_dict()),
        json.dumps(good[2].to_dict()),  # repeated
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n")
    assert main(["pool", "import", str(pool), str(src), "--namespace", "toolqa"]) == 0
    out = capsys.readouterr().out
    assert "added 3 into toolqa, skipped 5" in out
    for n, why in ((2, "not JSON"), (3, "query"), (5, "not an object"), (6, "not a success"), (8, "already")):
        assert any(f"skipped line {n}:" in line and why in line for line in out.splitlines()), (n, out)
    with ExperienceMemory(pool, embedder=HashEmbedder(64, name=EMBEDDER), namespace="toolqa") as mem:
        assert mem.stats()["by_namespace"] == {"toolqa": 4}  # the file's namespace was not taken
        assert mem.stats()["by_split"] == {"train": 4}  # nor its test split


def test_import_keeps_the_files_namespace_and_split_only_when_asked(tmp_path, capsys):
    pool = tmp_path / "p.sqlite"
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps({**make_traj(1).to_dict(), "namespace": "taubench-retail", "split": "test"}) + "\n"
    )
    assert main(["pool", "import", str(pool), str(src), "--keep-split", "--keep-namespace"]) == 0
    assert "added 1" in capsys.readouterr().out
    with ExperienceMemory(pool, embedder=HashEmbedder(64, name=EMBEDDER), allowed_splits=None) as mem:
        assert mem.stats()["by_namespace"] == {"taubench-retail": 1}
        assert mem.stats()["by_split"] == {"test": 1}
    # a pool of several namespaces: the target must be named
    src.write_text(json.dumps(make_traj(2).to_dict()) + "\n")
    _pool(pool, n=1, namespace="toolqa")
    assert main(["pool", "import", str(pool), str(src)]) == 2
    assert "name one with --namespace" in _err_line(capsys)


def test_import_into_a_frozen_pool_writes_nothing(tmp_path, capsys):
    pool = tmp_path / "p.sqlite"
    _pool(pool, n=2)
    assert main(["pool", "freeze", str(pool)]) == 0
    digest = capsys.readouterr().out.strip()
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(make_traj(40).to_dict()) + "\n")
    assert main(["pool", "import", str(pool), str(src)]) == 1
    assert "frozen" in _err_line(capsys)
    assert main(["pool", "stats", str(pool), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["experiences"] == 2 and stats["frozen_hash"] == digest == stats["content_hash"]

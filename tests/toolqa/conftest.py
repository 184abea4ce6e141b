"""Shared fixtures of the ToolQA tests: one fixture corpus per session."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.toolqa.fixture import build_fixture, hash_embedder

OFFICIAL_QUESTIONS = Path(__file__).parents[2] / ".." / "shared" / "data" / "toolqa" / "questions"


@pytest.fixture(scope="session")
def toolqa_root(tmp_path_factory) -> Path:
    return build_fixture(tmp_path_factory.mktemp("toolqa"))


def corpus_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under the corpus and question folders."""
    out = {}
    for p in sorted((root / "data").rglob("*")):
        if p.is_file():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def make_env(toolqa_root):
    from seer_env.envs.toolqa.env import ToolQAEnv

    envs = []

    def make(difficulty: str = "easy", **kw):
        kw.setdefault("embedder", hash_embedder)
        env = ToolQAEnv(difficulty, data_dir=toolqa_root, **kw)
        envs.append(env)
        return env

    yield make
    for e in envs:
        e.close()

"""Fixtures of the harness tests: the loopback model server, a fast embedder, tiny-env answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from seer_env.embedding import HashEmbedder
from tests.harness import tiny_env
from tests.harness.fake_server import FakeOpenAIServer
from tests.harness.scripted import ScriptedModel


@pytest.fixture(scope="session")
def hash_embedder() -> HashEmbedder:
    """The pool's embedder in the harness tests: hashed words, so recall is fast and deterministic."""
    return HashEmbedder(64, name="test-hash-bow-64")


@pytest.fixture()
def tiny_answers() -> dict:
    return {t["query"]: (t["domain"], t["chain"]) for t in tiny_env.make_tasks(60)}


@pytest.fixture()
def serve() -> Iterator[Callable[..., FakeOpenAIServer]]:
    """Start fake OpenAI servers for a test; all are stopped at its end."""
    servers: list[FakeOpenAIServer] = []

    def start(brain: Any, **kw: Any) -> FakeOpenAIServer:
        srv = FakeOpenAIServer(brain, **kw).start()
        servers.append(srv)
        return srv

    yield start
    for s in servers:
        s.stop()


@pytest.fixture()
def scripted(tiny_answers) -> ScriptedModel:
    return ScriptedModel(tiny_answers)


TINY = "tests.harness.tiny_env:Tiny-v0"

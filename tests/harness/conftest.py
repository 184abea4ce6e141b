"""Fixtures of the harness tests: the loopback model server, a fast embedder, tiny-env answers."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from tests.harness import tiny_env
from tests.harness.fake_server import FakeOpenAIServer
from tests.harness.scripted import ScriptedModel


class HashEmbedder:
    """Stands in for the sentence-transformers embedder of the pool (same `name`/`dim`/`encode` API):
    a normalised bag of hashed words, so recall is fast and deterministic in tests."""

    name = "test-hash-bow-64"
    dim = 64

    def encode(self, texts: list[str], **_: Any) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                out[i, int(hashlib.md5(w.encode()).hexdigest()[:6], 16) % self.dim] += 1.0
            n = np.linalg.norm(out[i])
            out[i] = out[i] / n if n else out[i]
        return out


@pytest.fixture(scope="session")
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


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

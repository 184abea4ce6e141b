"""A small recorded run to export: random and oracle on ToolQA-Synth (local executor), once per session."""

from __future__ import annotations

import asyncio

import pytest

from seer_env.agents.launch import build_policy_entries
from seer_env.embedding import HashEmbedder
from seer_env.runner import Runner

ENV = "ToolQA-Synth-easy-v0"
ENV_KWARGS = {ENV: {"embedder": HashEmbedder(64, name="test-hash-bow-64")}}


@pytest.fixture(scope="session")
def synth_run(tmp_path_factory):
    """A run directory with 5 random and 5 oracle episodes (results.jsonl, manifest.json)."""
    out = tmp_path_factory.mktemp("chat-run")
    entries = build_policy_entries(["random", "oracle"], out=out)
    runner = Runner(
        [ENV], entries, out, episodes=5, concurrency=4, seed=1, max_steps=8, env_kwargs=ENV_KWARGS
    )
    asyncio.run(runner.run())
    return out

"""Helpers shared by the harness tests."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

from seer_env.agents.launch import build_policy_entries
from seer_env.runner import Runner


class RecallSpy:
    """Wraps a real `ExperienceMemory`, recording every recall (number of steps, strategy) and add."""

    def __init__(self, memory: Any, events: list | None = None):
        self.memory = memory
        self.recalls: list[dict[str, Any]] = []
        self.events = events if events is not None else []
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.memory, name)

    def __len__(self) -> int:
        return len(self.memory)

    async def arecall(self, query: str, **kw: Any):
        with self._lock:
            self.recalls.append(
                {"query": query, "steps": len(kw.get("steps", ())), "strategy": kw.get("strategy")}
            )
            self.events.append(("recall", len(kw.get("steps", ()))))
        return await self.memory.arecall(query, **kw)


def run_policies(
    out: Path,
    policies: list[str],
    srv: Any,
    envs: list[str],
    *,
    embedder: Any = None,
    seer_options: dict | None = None,
    react_options: dict | None = None,
    llm_options: dict | None = None,
    **runner_kw: Any,
) -> tuple[list[dict], Runner]:
    llm = {"timeout": 3.0, "max_retries": 2, "backoff_base": 0.0, **(llm_options or {})}
    entries = build_policy_entries(
        policies,
        out=out,
        model="openai/scripted",
        api_base=srv.base_url if srv else None,
        api_key="sk-test",
        llm_options=llm,
        seer_options=seer_options or {},
        react_options=react_options or {},
        embedder=embedder,
        accumulate=runner_kw.get("accumulate", "online"),
    )
    runner = Runner(envs, entries, out, **runner_kw)
    asyncio.run(runner.run())
    return read(out), runner


def read(out: Path) -> list[dict]:
    return [
        json.loads(line) for line in (Path(out) / "results.jsonl").read_text().splitlines() if line.strip()
    ]


def solver_prompts(srv: Any) -> list[str]:
    out = []
    for body in srv.requests:
        text = body["messages"][-1].get("content") or ""
        if "(END OF TOOLS)" in text and "Question:" in text and "Thought k:" not in text:
            out.append(text)
    return out

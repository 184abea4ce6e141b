"""SEER for τ-bench as a seer-env `Policy`, for the Gymnasium runner (`seer-env run`, `Runner`).

It plays a `TauBenchEnv` episode with exactly the logic of `SeerTauAgent` (same prompt, recall,
intent, message bookkeeping and accumulation); only the loop is inverted: the runner calls `act` with
each observation. The `respond` tool of the env is not shown to the model: as in τ-bench's tool-calling
agent, a reply without a tool call is the message to the user.

The constructor takes the runner's `(client, memory, **options)` (or `memory_for`, opened once the
env's pool namespace is known); options it does not know (SEER's hints, action_format, ...) are ignored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from seer_env.agents.memory import pool_size_of, pool_summary_of
from seer_env.agents.taubench.agent import RESPOND, SeerTauAgent
from seer_env.envs.taubench.intents import intent_of
from seer_env.policy import EnvInfo, Policy, PoolSummary
from seer_env.types import Step, ToolCall, Trajectory

log = logging.getLogger(__name__)


_WARNED: set[tuple[int, str]] = set()


def warn_if_pool_cannot_grow(memory: Any, split: str | None, accumulate: bool) -> bool:
    """Warn (once per pool and split) when successes on `split` can never enter the pool: it accepts
    other splits only (by default train, and τ-bench's airline has no train split). True if warned."""
    allowed = getattr(memory, "allowed_splits", None)
    if not accumulate or memory is None or allowed is None or split is None or split in allowed:
        return False
    key = (id(memory), str(split))
    if key in _WARNED:
        return False
    _WARNED.add(key)
    log.warning(
        "SEER plays the %r split but its pool accepts only %s: the pool will never grow in this run "
        "(τ-bench's airline has no train split). Accumulate online from the evaluated split with "
        "--online (or --accumulate-splits any).",
        split,
        ", ".join(map(repr, allowed)) or "nothing",
    )
    return True


class SeerTauPolicy(Policy):
    """SEER on `TauBench-*` envs (see the module docstring)."""

    name = "seer-tau"

    def __init__(
        self,
        client: Any = None,
        memory: Any = None,
        *,
        memory_for: Callable[[str], Any] | None = None,
        model: str | None = None,
        strategy: str = "hybrid",
        k: int | None = None,
        predict_intent: bool = True,
        accumulate: bool = True,
        write_tools: list[str] | None = None,
        split: str | None = None,
        run_id: str | None = None,
        max_result_chars: int = 400,
        **ignored: Any,
    ):
        if client is None:
            if not model:
                raise ValueError("SeerTauPolicy needs an LLMClient or a model name")
            from seer_env.llm import LLMClient

            client = LLMClient(model)
        self.client = client
        self.memory = memory
        self._memory_for = memory_for
        self.namespace: str | None = getattr(memory, "namespace", None)
        self.options = dict(
            strategy=strategy,
            k=k,
            predict_intent=predict_intent,
            accumulate=accumulate,
            write_tools=write_tools,
            run_id=run_id,
            max_result_chars=max_result_chars,
        )
        self.split = split
        self.agent: SeerTauAgent | None = None
        self._reset_state()

    def _reset_state(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.steps: list[Step] = []
        self.query: str | None = None
        self.predicted: str | None = None
        self._pending: tuple[dict[str, Any], str, dict[str, Any]] | None = None
        self._recalled: list[Any] = []
        self.recalled_ids: list[list[int]] = []

    def prepare(self, env_info: EnvInfo) -> None:
        self._bind(env_info)
        warn_if_pool_cannot_grow(
            self.memory, self.split or env_info.get("task_split"), bool(self.options.get("accumulate"))
        )

    def _bind(self, env_info: EnvInfo | dict[str, Any]) -> None:
        """The env's pool namespace; the pool for it when this policy opens its own."""
        if self.memory is None and self._memory_for is not None and env_info.get("pool_namespace"):
            self.namespace = str(env_info["pool_namespace"])
            self.memory = self._memory_for(self.namespace)
        elif self.namespace is None:
            self.namespace = env_info.get("pool_namespace")

    def pool_size(self) -> int | None:
        return pool_size_of(self.memory)

    def pool_summary(self) -> PoolSummary | None:
        return pool_summary_of(self.memory)

    def reset(self, *, seed: int | None = None, info: dict[str, Any] | None = None) -> None:
        info = dict(info or {})
        self._bind(info)
        tools = [t for t in info.get("tools", []) if t.get("function", {}).get("name") != RESPOND]
        self.agent = SeerTauAgent(
            tools,
            str(info.get("policy") or ""),
            llm=self.client,
            memory=self.memory,
            env_name=str(info.get("domain") or "retail"),
            namespace=self.namespace,
            task_split=self.split or str(info.get("task_split") or "test"),
            **self.options,
        )
        self._reset_state()

    async def act(self, observation: str, info: dict[str, Any]) -> ToolCall | str:
        if self.agent is None:
            self.reset(info=info)
        agent = self.agent
        assert agent is not None
        if self.query is None:
            self.query = observation
            self.messages = [
                {"role": "system", "content": agent.wiki},
                {"role": "user", "content": observation},
            ]
            self.predicted = await agent.aintent_for(observation)
        elif self._pending is not None:
            self._record(observation)
        if not self.steps or agent.strategy != "goal":
            self._recalled = await asyncio.to_thread(
                agent.recall, self.query, self.predicted, list(self.steps)
            )
        self.recalled_ids.append(
            [int(getattr(getattr(r, "experience", r), "id", -1) or -1) for r in self._recalled]
        )
        prompt = [{"role": "system", "content": agent.system_prompt(self._recalled)}] + self.messages[1:]
        # on the runner's loop: a sync call per step would run litellm on a second loop
        message, name, kwargs, _cost = await agent._acomplete(prompt)
        self._pending = (message, name, kwargs)
        return ToolCall(name, dict(kwargs))

    def _record(self, observation: str) -> None:
        """Book the previous action's result as τ-bench's tool-calling agent does."""
        assert self._pending is not None
        message, name, kwargs = self._pending
        self._pending = None
        if name != RESPOND:
            message["tool_calls"] = message["tool_calls"][:1]
            call = message["tool_calls"][0]
            self.messages += [
                message,
                {
                    "role": "tool",
                    "tool_call_id": call["id"],
                    "name": call["function"]["name"],
                    "content": observation,
                },
            ]
        else:
            self.messages += [message, {"role": "user", "content": observation}]
        ok = not observation.startswith(("Error", "Unknown action"))
        self.steps.append(Step(ToolCall(name, kwargs), observation, ok=ok))

    def episode_meta(self) -> dict[str, Any]:
        return {"predicted_intent": self.predicted, "recalled_ids": self.recalled_ids}

    def _as_pool_trajectory(self, trajectory: Trajectory) -> Trajectory:
        agent = self.agent
        write_tools = agent.write_tools if agent is not None else []
        return replace(trajectory, intent=intent_of(trajectory.tool_chain, write_tools))

    def observe(self, trajectory: Trajectory) -> None:
        if self.agent is not None:
            self.agent.remember(self._as_pool_trajectory(trajectory))

    async def aobserve(self, trajectory: Trajectory) -> None:
        if self.agent is not None:
            await asyncio.to_thread(self.agent.remember, self._as_pool_trajectory(trajectory))

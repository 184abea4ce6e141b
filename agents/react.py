"""Zero-shot ReAct, with text actions (`Tool[args]`) or function calling, and the LLM policy base.

`LLMPolicy` holds what every LLM policy shares: the client, per-episode state (query, tools, the
steps so far, built from the observations `act` receives), the step cap, stopping at a tool error
when asked, per-episode usage, and the thought of the last action (the runner stores it in the
trajectory).
"""

from __future__ import annotations

import json
from typing import Any

from seer_env.actions import ActionParseError, parse_action_with_thought
from seer_env.agents.prompts import (
    react_prompt,
    react_system_prompt,
    tool_specs_from_info,
)
from seer_env.llm import LLMClient, LLMResponse, Usage
from seer_env.policy import Policy, StopEpisode
from seer_env.types import Step, ToolCall, ToolSpec


def make_client(
    client: LLMClient | None = None,
    model: str | None = None,
    api_base: str | None = None,
    api_key: str | None = None,
    **llm_kwargs: Any,
) -> LLMClient:
    if client is not None:
        return client
    if not model:
        raise ValueError("an LLM policy needs a model (e.g. --model openai/gpt-4o-mini) or a client")
    return LLMClient(model, api_base=api_base, api_key=api_key, **llm_kwargs)


def truncate(text: str, limit: int | None, keep_whole: bool = False) -> str:
    """Cut a long tool result for the prompt; results of retrieval tools are kept whole (`keep_whole`),
    as the reference keeps them."""
    if not limit or len(text) <= limit or keep_whole:
        return text
    return text[:limit] + "...[too long, cannot be fully displayed]"


class LLMPolicy(Policy):
    """Shared episode bookkeeping for LLM policies (not used on its own).

    `act` returns a `ToolCall`, or the model's raw text when it holds no readable call: the env then
    answers with what is wrong with it (a "parse" error), as it does for any bad action.
    """

    name = "llm"

    def __init__(
        self,
        client: LLMClient,
        *,
        max_steps: int | None = None,
        continue_on_error: bool = True,
        action_format: str = "text",
        max_observation_chars: int | None = 2048,
    ):
        if action_format not in ("text", "tools"):
            raise ValueError("action_format must be 'text' or 'tools'")
        self.client = client
        self.max_steps = max_steps
        self.continue_on_error = continue_on_error
        self.action_format = action_format
        self.max_observation_chars = max_observation_chars
        self._usage = Usage()
        self._reset_state(None, None)

    # -- episode state --------------------------------------------------------------------------
    def _reset_state(self, seed: int | None, info: dict[str, Any] | None) -> None:
        info = info or {}
        self.seed = seed
        self.info0 = info
        self.query: str | None = info.get("query")
        self.tools: list[ToolSpec] = tool_specs_from_info(info)
        self.retrieval_tools = frozenset(info.get("retrieval_tools") or ())
        self.steps: list[Step] = []
        self.intent: str | None = None
        self.last_thought: str | None = None
        self._pending: ToolCall | None = None
        self._pending_thought: str | None = None
        self._usage = Usage()

    def reset(self, *, seed: int | None = None, info: dict[str, Any] | None = None) -> None:
        self._reset_state(seed, info)

    def usage(self) -> dict[str, Any]:
        return self._usage.to_dict()

    def _count(self, resp: LLMResponse, seconds: float = 0.0) -> None:
        u = resp.usage or {}
        self._usage.add_call(
            int(u.get("prompt_tokens") or 0),
            int(u.get("completion_tokens") or 0),
            float(u.get("cost") or 0.0),
            seconds,
            resp.cached,
        )

    def _begin_step(self, observation: str, info: dict[str, Any]) -> bool:
        """Record the previous action's result; stop when the episode should not go on.

        Returns True on the episode's first step.
        """
        first = self._pending is None and not self.steps
        if first:
            if not self.tools:
                self.tools = tool_specs_from_info(info)
                self.retrieval_tools = frozenset(info.get("retrieval_tools") or ())
            if self.query is None:
                self.query = info.get("query") or observation
            self.info0 = self.info0 or info
        else:
            ok = bool(info.get("ok", True))
            self.steps.append(Step(self._pending, observation, ok=ok, thought=self._pending_thought))
            self._pending = None
            if not ok and not self.continue_on_error:
                raise StopEpisode(f"stopped at the first failed step ({info.get('error') or 'tool error'})")
        if self.max_steps is not None and len(self.steps) >= self.max_steps:
            raise StopEpisode(f"step cap of {self.max_steps} reached")
        return first

    def _finish_action(self, call: ToolCall, thought: str | None) -> ToolCall | str:
        self._pending = call
        self._pending_thought = thought
        self.last_thought = thought
        if not call.name:
            # unreadable: the env gets the text itself and answers with what is wrong with it
            return call.raw or ""
        return call

    def _action_from_text(self, text: str) -> ToolCall | str:
        """Parse the model's text; an unreadable one goes to the env as is (it answers with the error)."""
        try:
            call, thought = parse_action_with_thought(text, self.tools)
        except ActionParseError:
            call, thought = ToolCall("", {}, raw=text), None
        return self._finish_action(call, thought)

    def _action_from_response(self, resp: LLMResponse, text: str) -> ToolCall | str:
        if resp.tool_calls:
            call = resp.tool_calls[0]
            spec = {t.name: t for t in self.tools}
            from seer_env.actions import bind

            call = bind(call, spec)
            return self._finish_action(call, (resp.content or "").strip() or None)
        if resp.malformed_tool_calls:
            bad = resp.malformed_tool_calls[0]
            raw = json.dumps({"name": bad.get("name"), "arguments": bad.get("arguments")}, default=str)
            return self._finish_action(ToolCall("", {}, raw=raw), None)
        return self._action_from_text(text)

    def _result_text(self, step: Step) -> str:
        """A step's result as the scratchpad shows it (cut when long, unless retrieved text)."""
        return truncate(
            step.observation, self.max_observation_chars, step.action.name in self.retrieval_tools
        )


class ReactPolicy(LLMPolicy):
    """Zero-shot ReAct: the question, the tools and the scratchpad; no exemplars."""

    name = "react"

    def __init__(
        self,
        client: LLMClient | None = None,
        *,
        action_format: str = "text",
        max_steps: int | None = None,
        max_observation_chars: int | None = 2048,
        **client_kwargs: Any,
    ):
        super().__init__(
            make_client(client, **client_kwargs),
            max_steps=max_steps,
            continue_on_error=True,
            action_format=action_format,
            max_observation_chars=max_observation_chars,
        )

    def _scratchpad(self) -> str:
        lines = []
        for i, s in enumerate(self.steps, 1):
            if s.thought:
                lines.append(f"Thought {i}: {s.thought}")
            lines.append(f"Action {i}: {s.action.text() if s.action.name else (s.action.raw or '')}")
            lines.append(f"Observation {i}: {self._result_text(s)}")
        lines.append(f"Thought {len(self.steps) + 1}:")
        return "\n".join(lines)

    def _messages_tools(self) -> list[dict[str, Any]]:
        msgs: list[dict[str, Any]] = [
            {"role": "system", "content": react_system_prompt()},
            {"role": "user", "content": self.query or ""},
        ]
        for i, s in enumerate(self.steps):
            call_id = f"call_{i + 1}"
            msgs.append(
                {
                    "role": "assistant",
                    "content": s.thought or None,
                    "tool_calls": [
                        {
                            "id": call_id,
                            "type": "function",
                            "function": {
                                "name": s.action.name or "invalid",
                                "arguments": json.dumps(s.action.arguments, default=str),
                            },
                        }
                    ],
                }
            )
            msgs.append(
                {
                    "role": "tool",
                    "tool_call_id": call_id,
                    "content": self._result_text(s),
                }
            )
        return msgs

    async def act(self, observation: str, info: dict[str, Any]) -> ToolCall | str:
        self._begin_step(observation, info)
        if self.action_format == "tools":
            resp = await self.client.acomplete(self._messages_tools(), tools=[t.openai() for t in self.tools])
            self._count(resp)
            return self._action_from_response(resp, resp.content)
        prompt = react_prompt(tools=self.tools, question=self.query or "", scratchpad=self._scratchpad())
        resp = await self.client.acomplete([{"role": "user", "content": prompt}])
        self._count(resp)
        # the model may run on past its action and invent observations: keep up to the first action line
        text = resp.content or ""
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.strip().lower().startswith("action"):
                text = "\n".join(lines[: i + 1])
                break
        return self._action_from_response(resp, text)

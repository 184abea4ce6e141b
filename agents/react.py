"""ReAct (zero-shot, and few-shot as ToolQA runs it), with text actions (`Tool[args]`) or function
calling, and the LLM policy base.

`LLMPolicy` holds what every LLM policy shares: the client, per-episode state (query, tools, the
steps so far, built from the observations `act` receives), the step cap, when a failed step ends the
episode (`halting`), stop sequences and the reply cap of a step's calls, per-episode usage, and the
thought of the last action (the runner stores it in the trajectory).

Halting (`halting=`): "reference" ends the episode on a failed step whose `error_kind` is one the
env's reference runner halts on (reset info's `halting_error_kinds`; an env that names none is
treated as "any-error"), "any-error" on every failed step, "never" goes on (the error text is the
observation).
"""

from __future__ import annotations

import json
import re
from typing import Any

from seer_env.actions import ActionParseError, parse_action_with_thought
from seer_env.agents.exemplars import ExemplarFile
from seer_env.agents.memory import seed_trajectories
from seer_env.agents.prompts import (
    END_OF_EXAMPLES,
    EXAMPLES_HEADER,
    REACT_LINE_STOP,
    REACT_TEXT_STOP,
    react_fewshot_prompt,
    react_prompt,
    react_system_prompt,
    react_trace,
    strip_step_label,
    tool_specs_from_info,
)
from seer_env.llm import LLMClient, LLMResponse, Usage
from seer_env.policy import Policy, StopEpisode
from seer_env.types import Step, ToolCall, ToolSpec, Trajectory


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


HALTING = ("reference", "any-error", "never")


def halting_from(halting: str | None, continue_on_error: bool | None, default: str) -> str:
    """The halting rule: `halting` when given, else the older `continue_on_error` flag, else `default`."""
    if halting is None:
        if continue_on_error is None:
            return default
        return "never" if continue_on_error else "any-error"
    if halting not in HALTING:
        raise ValueError(f"halting must be one of {HALTING}, not {halting!r}")
    return halting


class LLMPolicy(Policy):
    """Shared episode bookkeeping for LLM policies (not used on its own).

    `act` returns a `ToolCall`, or the model's raw text when it holds no readable call: the env then
    answers with what is wrong with it (a "parse" error), as it does for any bad action.

    halting: see the module docstring (`continue_on_error` is its older form: True is "never", False
    "any-error"). stop: stop sequences of a text-mode step call (None: the policy's own; [] sends
    none). step_max_tokens: cap on a step call's reply (None: the client's).
    """

    name = "llm"
    default_halting = "never"
    text_stop: tuple[str, ...] = ()

    def __init__(
        self,
        client: LLMClient,
        *,
        max_steps: int | None = None,
        continue_on_error: bool | None = None,
        halting: str | None = None,
        action_format: str = "text",
        max_observation_chars: int | None = 2048,
        stop: list[str] | None = None,
        step_max_tokens: int | None = None,
    ):
        if action_format not in ("text", "tools"):
            raise ValueError("action_format must be 'text' or 'tools'")
        self.client = client
        self.max_steps = max_steps
        self.halting = halting_from(halting, continue_on_error, self.default_halting)
        self.action_format = action_format
        self.max_observation_chars = max_observation_chars
        self.stop = list(self.text_stop) if stop is None else list(stop)
        self.step_max_tokens = step_max_tokens
        self._usage = Usage()
        self._reset_state(None, None)

    @property
    def continue_on_error(self) -> bool:
        return self.halting == "never"

    def _step_call_options(self) -> dict[str, Any]:
        """Stop sequences (text mode) and the reply cap of a step's LLM call."""
        opts: dict[str, Any] = {"max_tokens": self.step_max_tokens}
        if self.action_format == "text" and self.stop:
            opts["stop"] = list(self.stop)
        return opts

    def _halts_on(self, info: dict[str, Any]) -> bool:
        """Whether this failed step ends the episode under the halting rule."""
        if self.halting == "never":
            return False
        kinds = self.info0.get("halting_error_kinds") if self.info0 else None
        if self.halting == "any-error" or kinds is None:
            return True
        return info.get("error_kind") in set(kinds)

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
            if not ok and self._halts_on(info):
                why = info.get("error_kind") or info.get("error") or "tool error"
                raise StopEpisode(f"stopped at a failed step ({why}; halting={self.halting})")
        if self.max_steps is not None and len(self.steps) >= self.max_steps:
            raise StopEpisode(f"step cap of {self.max_steps} reached")
        return first

    def _finish_action(self, call: ToolCall, thought: str | None) -> ToolCall | str:
        # a model that repeats the prompt's label ("Thought 1: ...") would see it twice next step
        thought = strip_step_label(thought) or None
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
    """Zero-shot ReAct: the question, the tools and the scratchpad; no exemplars.

    In text mode one call per step writes the thought and the action; it stops before an observation
    the model would invent (`stop`, default `\\nObservation`).
    """

    name = "react"
    text_stop = REACT_TEXT_STOP

    def __init__(
        self,
        client: LLMClient | None = None,
        *,
        action_format: str = "text",
        max_steps: int | None = None,
        max_observation_chars: int | None = 2048,
        halting: str | None = None,
        continue_on_error: bool | None = None,
        stop: list[str] | None = None,
        step_max_tokens: int | None = None,
        **client_kwargs: Any,
    ):
        super().__init__(
            make_client(client, **client_kwargs),
            max_steps=max_steps,
            halting=halting,
            continue_on_error=continue_on_error,
            action_format=action_format,
            max_observation_chars=max_observation_chars,
            stop=stop,
            step_max_tokens=step_max_tokens,
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

    def text_prompt(self) -> str:
        return react_prompt(tools=self.tools, question=self.query or "", scratchpad=self._scratchpad())

    async def act(self, observation: str, info: dict[str, Any]) -> ToolCall | str:
        self._begin_step(observation, info)
        if self.action_format == "tools":
            resp = await self.client.acomplete(
                self._messages_tools(),
                tools=[t.openai() for t in self.tools],
                max_tokens=self.step_max_tokens,
            )
            self._count(resp)
            return self._action_from_response(resp, resp.content)
        resp = await self.client.acomplete(
            [{"role": "user", "content": self.text_prompt()}], **self._step_call_options()
        )
        self._count(resp)
        # the model may run on past its action and invent observations: keep up to the first action line
        text = resp.content or ""
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.strip().lower().startswith("action"):
                text = "\n".join(lines[: i + 1])
                break
        return self._action_from_response(resp, text)


class ReactFewShotPolicy(ReactPolicy):
    """Few-shot ReAct, as ToolQA runs it: solved examples in the prompt, and in text mode one call per
    line, each stopped at the end of its line (`stop`, default `\\n`): the thought after
    `Thought k:`, then the action after `Action k:`.

    exemplars: the examples, as a text block or solved trajectories (default: the seed experiences the
    pool ships for the env's namespace, one per ToolQA domain). exemplars_file: a file of them
    (`agents.exemplars`: a text block, a JSON object of blocks by difficulty or domain, or JSONL
    trajectories). per_line: False asks for thought and action in one call (stopped before an
    observation). Function-calling mode shows the examples in the system message.
    """

    name = "react-fewshot"
    text_stop = REACT_LINE_STOP

    def __init__(
        self,
        client: LLMClient | None = None,
        *,
        exemplars: str | list[Trajectory] | None = None,
        exemplars_file: str | None = None,
        per_line: bool = True,
        stop: list[str] | None = None,
        **kwargs: Any,
    ):
        if stop is None and not per_line:
            stop = list(REACT_TEXT_STOP)
        super().__init__(client, stop=stop, **kwargs)
        self.per_line = per_line
        self._file = ExemplarFile(exemplars_file) if exemplars_file else None
        self._given = exemplars
        self._examples_cache: dict[tuple, str] = {}

    def examples_text(self) -> str:
        """The exemplar block of this episode."""
        info = self.info0 or {}
        key = (info.get("pool_namespace"), info.get("difficulty"), info.get("domain"))
        if key in self._examples_cache:
            return self._examples_cache[key]
        omit = tuple(info.get("retrieval_tools") or ())
        block: str | None = None
        trajs: list[Any] | None = None
        if isinstance(self._given, str):
            block = self._given
        elif self._given is not None:
            trajs = list(self._given)
        elif self._file is not None:
            block = self._file.block_for(info)
            trajs = self._file.trajectories
            if block is None and trajs is None:
                raise ValueError(
                    f"{self._file.path} has no exemplar block for this task ({key[1]}, {key[2]})"
                )
        else:
            trajs = seed_trajectories(str(info.get("pool_namespace") or ""))
        if block is None:
            block = "\n\n".join(react_trace(t.query, t.steps, omit) for t in trajs or [])
        if len(self._examples_cache) >= 64:
            self._examples_cache.clear()
        self._examples_cache[key] = block
        return block

    def _scratchpad(self) -> str:
        lines = []
        for i, s in enumerate(self.steps, 1):
            lines.append(f"Thought {i}: {s.thought or ''}".rstrip())
            lines.append(f"Action {i}: {s.action.text() if s.action.name else (s.action.raw or '')}")
            lines.append(f"Observation {i}: {self._result_text(s)}")
        lines.append(f"Thought {len(self.steps) + 1}:")
        return "\n".join(lines)

    def text_prompt(self) -> str:
        return react_fewshot_prompt(
            tools=self.tools,
            examples=self.examples_text(),
            question=self.query or "",
            scratchpad=self._scratchpad(),
        )

    def _messages_tools(self) -> list[dict[str, Any]]:
        msgs = super()._messages_tools()
        msgs[0] = {
            "role": "system",
            "content": f"{react_system_prompt()}\n\n{EXAMPLES_HEADER}\n{self.examples_text()}\n{END_OF_EXAMPLES}",
        }
        return msgs

    async def act(self, observation: str, info: dict[str, Any]) -> ToolCall | str:
        if self.action_format == "tools" or not self.per_line:
            return await super().act(observation, info)
        self._begin_step(observation, info)
        n = len(self.steps) + 1
        prompt = self.text_prompt()
        opts = self._step_call_options()
        resp = await self.client.acomplete([{"role": "user", "content": prompt}], **opts)
        self._count(resp)
        thought = strip_step_label(_first_line(resp.content))
        resp = await self.client.acomplete(
            [{"role": "user", "content": f"{prompt} {thought}\nAction {n}:"}], **opts
        )
        self._count(resp)
        line = _first_line(resp.content)
        label = _ACTION_LABEL.match(line)
        line = line[label.end() :] if label else line
        try:
            call, _ = parse_action_with_thought(line, self.tools)
        except ActionParseError:
            call = ToolCall("", {}, raw=line)
        return self._finish_action(call, thought)


# `Action 3:` before a call; one quantifier between the word and the colon, so linear on any reply
_ACTION_LABEL = re.compile(r"\s*action[\s\d]*:\s*", re.IGNORECASE)


def _first_line(text: str | None) -> str:
    """The first non-empty line (a server that ignores the stop sequence may send more)."""
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""

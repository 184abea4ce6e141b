"""Turn any accepted action form into a `ToolCall`.

Accepted forms (DESIGN, "Core types"):

- a `ToolCall` (returned as is, re-bound to the tool's parameter names when tools are given);
- `Tool[args]`, `Action 3: Tool[args]` (text before it is kept as the thought),
  `<CALL_BEGIN>Tool[args]<CALL_END>` (SEER's form: name before the first `[`, arguments up to the last `]`);
- a JSON text `{"name": ..., "arguments": {...}}`;
- an OpenAI / litellm tool-call object (`.function.name`, `.function.arguments` as JSON text) or its dict form;
- a dict `{"name": ..., "arguments": {...}}`.

A form that cannot be parsed raises `ActionParseError`, whose message is written for the agent:
environments turn it into an observation, never into a crash.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from seer_env.types import ToolCall, ToolSpec

# Positional text arguments carry no names until a ToolSpec binds them; until then they live here.
UNBOUND_KEY = "input"

_CALL_TAGS = re.compile(r"<CALL_BEGIN>(.*?)(?:<CALL_END>|$)", re.DOTALL)
_ACTION_PREFIX = re.compile(r"(?:^|\n)\s*Action\s*\d*\s*:\s*", re.IGNORECASE)
_BRACKET_CALL = re.compile(r"^\s*([A-Za-z_]\w*)\s*\[(.*)\]\s*$", re.DOTALL)

FORMAT_HINT = (
    "Write one tool call as Tool[arguments], e.g. LoadDB[flights], "
    'or as JSON {"name": "LoadDB", "arguments": {...}}.'
)


class ActionParseError(ValueError):
    """The action could not be read as a tool call. The message is meant for the agent."""


ToolSet = Mapping[str, ToolSpec] | Iterable[ToolSpec] | None


def as_tool_map(tools: ToolSet) -> dict[str, ToolSpec]:
    if tools is None:
        return {}
    if isinstance(tools, Mapping):
        return dict(tools)
    return {t.name: t for t in tools}


def bind_text_arguments(spec: ToolSpec | None, text: str) -> dict[str, Any]:
    """Bind the text between the brackets to the tool's parameter names.

    The split is on ", " with at most n-1 cuts, so `", ".join(values)` gives the original text back:
    tools that split arguments themselves (ToolQA's reference tools do) see exactly what was written.
    """
    names = spec.param_names if spec is not None else []
    if not names:
        return {UNBOUND_KEY: text}
    if len(names) == 1:
        return {names[0]: text}
    return dict(zip(names, text.split(", ", len(names) - 1), strict=False))


def _parse_json_arguments(name: str, args: Any) -> dict[str, Any]:
    if args is None or args == "":
        return {}
    if isinstance(args, Mapping):
        return dict(args)
    if isinstance(args, str):
        try:
            value = json.loads(args)
        except json.JSONDecodeError as exc:
            raise ActionParseError(
                f"The arguments of {name} are not valid JSON ({exc.msg}). {FORMAT_HINT}"
            ) from None
        if not isinstance(value, dict):
            raise ActionParseError(f"The arguments of {name} must be a JSON object. {FORMAT_HINT}")
        return value
    raise ActionParseError(f"The arguments of {name} must be an object, got {type(args).__name__}.")


def _from_mapping(d: Mapping[str, Any], raw: str | None) -> ToolCall:
    if "function" in d and isinstance(d["function"], Mapping):  # OpenAI tool-call dict
        d = d["function"]
    name = d.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ActionParseError(f"The action has no tool name. {FORMAT_HINT}")
    args = d.get("arguments", d.get("args", d.get("parameters")))
    return ToolCall(name=name.strip(), arguments=_parse_json_arguments(name, args), raw=raw)


def _from_text(text: str) -> tuple[ToolCall, str | None]:
    """Parse a text action; returns the call with unbound arguments and the thought before it."""
    stripped = text.strip()
    if not stripped:
        raise ActionParseError(f"The action is empty. {FORMAT_HINT}")

    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            return _from_mapping(obj, raw=text), None

    thought: str | None = None
    body = stripped
    tagged = _CALL_TAGS.search(stripped)
    if tagged:
        thought = stripped[: tagged.start()].strip() or None
        body = tagged.group(1).strip()
        if "[" not in body:
            raise ActionParseError(
                "The format is invalid. The output must contain <CALL_BEGIN>TOOL[PARAMETERS]<CALL_END>."
            )
        name, rest = body.split("[", 1)
        if "]" not in rest:
            raise ActionParseError(f"The call {body!r} has no closing ']'. {FORMAT_HINT}")
        args_text = rest[: rest.rindex("]")]
        name = name.strip()
        if not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise ActionParseError(f"{name!r} is not a tool name. {FORMAT_HINT}")
        return ToolCall(name, {UNBOUND_KEY: args_text}, raw=text), thought

    prefixes = list(_ACTION_PREFIX.finditer(stripped))
    if prefixes:
        last = prefixes[-1]
        thought = stripped[: last.start()].strip() or None
        body = stripped[last.end() :].strip()

    match = _BRACKET_CALL.match(body)
    if not match:
        shown = body if len(body) <= 80 else body[:77] + "..."
        raise ActionParseError(f"Could not read a tool call from {shown!r}. {FORMAT_HINT}")
    return ToolCall(match.group(1), {UNBOUND_KEY: match.group(2)}, raw=text), thought


def bind(call: ToolCall, tools: ToolSet) -> ToolCall:
    """Give positional (unbound) arguments their parameter names, when the tool is known."""
    spec = as_tool_map(tools).get(call.name)
    if spec is None or set(call.arguments) != {UNBOUND_KEY} or UNBOUND_KEY in spec.param_names:
        return call
    return ToolCall(call.name, bind_text_arguments(spec, call.arguments[UNBOUND_KEY]), raw=call.raw)


def parse_action_with_thought(action: Any, tools: ToolSet = None) -> tuple[ToolCall, str | None]:
    """Like `parse_action`, and also return the text written before the call (the thought)."""
    thought = None
    if isinstance(action, ToolCall):
        call = action
    elif isinstance(action, bytes):
        call, thought = _from_text(action.decode("utf-8", errors="replace"))
    elif isinstance(action, str):
        call, thought = _from_text(action)
    elif isinstance(action, Mapping):
        call = _from_mapping(action, raw=None)
    elif hasattr(action, "function") and hasattr(action.function, "name"):  # litellm / openai object
        fn = action.function
        call = _from_mapping({"name": fn.name, "arguments": getattr(fn, "arguments", None)}, None)
    else:
        raise ActionParseError(f"Cannot read an action of type {type(action).__name__}. {FORMAT_HINT}")
    return bind(call, tools), thought


def parse_action(action: Any, tools: ToolSet = None) -> ToolCall:
    """Read any accepted action form as a `ToolCall`; raise `ActionParseError` if impossible."""
    return parse_action_with_thought(action, tools)[0]

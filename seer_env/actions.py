"""Turn any accepted action form into a `ToolCall`.

Accepted forms:

- a `ToolCall` (returned as is, re-bound to the tool's parameter names when tools are given);
- `Tool[args]`, `Action 3: Tool[args]` (text before it is kept as the thought),
  `<CALL_BEGIN>Tool[args]<CALL_END>` (SEER's form: name before the first `[`, arguments up to the last `]`);
- a JSON text `{"name": ..., "arguments": {...}}`;
- an OpenAI / litellm tool-call object (`.function.name`, `.function.arguments` as JSON text) or its dict form;
- a dict `{"name": ..., "arguments": {...}}`.

A form that cannot be parsed raises `ActionParseError`, whose message is written for the agent:
environments turn it into an observation, never into a crash.

Actions are hostile input, so parsing is linear in the action's size: plain scans, and regular
expressions only where they cannot backtrack (no nested or adjacent quantifiers over the same
characters). An action longer than `MAX_ACTION_CHARS` characters, or whose arguments nest deeper
than `MAX_ARGUMENT_DEPTH`, is refused before any parsing (docs/tool_limits.md); error messages
quote at most `QUOTE_CHARS` characters of what was sent, and tool names longer than `MAX_TOOL_NAME_CHARS` are refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from seer_env.types import ToolCall, ToolSpec

# Positional text arguments carry no names until a ToolSpec binds them; until then they live here.
UNBOUND_KEY = "input"

MAX_ACTION_CHARS = 65_536  # longest action text (or JSON arguments) accepted
MAX_ARGUMENT_DEPTH = 32  # deepest nesting of lists and objects in an action's arguments
QUOTE_CHARS = 80  # most characters of an action an error message quotes
MAX_TOOL_NAME_CHARS = 128  # longest tool name (environments may echo the name of an unknown tool)

_CALL_BEGIN, _CALL_END = "<CALL_BEGIN>", "<CALL_END>"
_LABEL_WORD = re.compile("action", re.IGNORECASE)  # a literal: one pass, no backtracking
_TOOL_NAME = re.compile(r"[A-Za-z_]\w*")  # one quantifier, matched whole (fullmatch)

FORMAT_HINT = (
    "Write one tool call as Tool[arguments], e.g. LoadDB[flights], "
    'or as JSON {"name": "LoadDB", "arguments": {...}}.'
)


class ActionParseError(ValueError):
    """The action could not be read as a tool call. The message is meant for the agent."""


def _shown(text: str) -> str:
    """`text` as an error message quotes it: repr of at most QUOTE_CHARS characters."""
    return repr(text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 3] + "...")


def _too_long(n: int) -> ActionParseError:
    return ActionParseError(
        f"The action is too long ({n} characters; at most {MAX_ACTION_CHARS}). Send one shorter tool call."
    )


def _check_name(name: str) -> None:
    if len(name) > MAX_TOOL_NAME_CHARS:
        raise ActionParseError(
            f"The tool name is too long ({len(name)} characters; at most {MAX_TOOL_NAME_CHARS}). {FORMAT_HINT}"
        )


def _check_arguments(value: Any) -> None:
    """Refuse arguments larger than MAX_ACTION_CHARS or nested deeper than MAX_ARGUMENT_DEPTH,
    walking them once without recursion (and stopping as soon as a bound is passed)."""
    budget = MAX_ACTION_CHARS
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_ARGUMENT_DEPTH:
            raise ActionParseError(
                f"The arguments are nested too deeply (more than {MAX_ARGUMENT_DEPTH} levels). {FORMAT_HINT}"
            )
        if isinstance(item, (str, bytes)):
            budget -= len(item)
        elif isinstance(item, Mapping):
            budget -= len(item)
            stack.extend((k, depth + 1) for k in item.keys())
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            budget -= len(item)
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, int):
            budget -= 1 + item.bit_length() // 3
        else:
            budget -= 1
        if budget < 0:
            raise ActionParseError(
                f"The arguments are too large (more than {MAX_ACTION_CHARS} characters). {FORMAT_HINT}"
            )


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
        if len(args) > MAX_ACTION_CHARS:
            raise _too_long(len(args))
        try:
            value = json.loads(args)
        except json.JSONDecodeError as exc:
            raise ActionParseError(
                f"The arguments of {_shown(name)} are not valid JSON ({exc.msg}). {FORMAT_HINT}"
            ) from None
        except RecursionError:
            raise ActionParseError(
                f"The arguments of {_shown(name)} are nested too deeply. {FORMAT_HINT}"
            ) from None
        if not isinstance(value, dict):
            raise ActionParseError(f"The arguments of {_shown(name)} must be a JSON object. {FORMAT_HINT}")
        return value
    raise ActionParseError(f"The arguments of {_shown(name)} must be an object, got {type(args).__name__}.")


def _from_mapping(d: Mapping[str, Any], raw: str | None) -> ToolCall:
    if "function" in d and isinstance(d["function"], Mapping):  # OpenAI tool-call dict
        d = d["function"]
    name = d.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ActionParseError(f"The action has no tool name. {FORMAT_HINT}")
    _check_name(name)
    args = d.get("arguments", d.get("args", d.get("parameters")))
    return ToolCall(name=name.strip(), arguments=_parse_json_arguments(name, args), raw=raw)


def _last_action_label(text: str) -> tuple[int, int] | None:
    """Where the last `Action <n>:` label that begins a line starts and where its call starts.

    A label is `action` (any case) with only whitespace between it and the start of a line, then
    whitespace, optional digits, whitespace, `:` and whitespace. Each character is looked at a
    bounded number of times: the scans run over the whitespace and digits next to one label, and
    those stretches of different labels do not overlap.
    """
    n = len(text)
    found = None
    for m in _LABEL_WORD.finditer(text):
        i = m.start()
        while i > 0 and text[i - 1] != "\n" and text[i - 1].isspace():
            i -= 1
        if i > 0 and text[i - 1] != "\n":
            continue  # text before the label on its line
        j = m.end()
        while j < n and text[j].isspace():
            j += 1
        while j < n and text[j].isdecimal():
            j += 1
        while j < n and text[j].isspace():
            j += 1
        if j == n or text[j] != ":":
            continue
        j += 1
        while j < n and text[j].isspace():
            j += 1
        found = (max(i - 1, 0), j)
    return found


def _bracket_call(body: str) -> tuple[str, str] | None:
    """`Name[args]` (body already stripped): the name and everything between the first `[` and
    the final `]`, or None."""
    open_at = body.find("[")
    if open_at < 0 or not body.endswith("]"):
        return None
    name = body[:open_at].rstrip()
    if not _TOOL_NAME.fullmatch(name):
        return None
    return name, body[open_at + 1 : -1]


def _from_text(text: str) -> tuple[ToolCall, str | None]:
    """Parse a text action; returns the call with unbound arguments and the thought before it."""
    if len(text) > MAX_ACTION_CHARS:
        raise _too_long(len(text))
    stripped = text.strip()
    if not stripped:
        raise ActionParseError(f"The action is empty. {FORMAT_HINT}")

    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except (json.JSONDecodeError, RecursionError):
            obj = None
        if isinstance(obj, dict):
            _check_arguments(obj)
            return _from_mapping(obj, raw=text), None

    thought: str | None = None
    body = stripped
    begin = stripped.find(_CALL_BEGIN)
    if begin >= 0:
        thought = stripped[:begin].strip() or None
        start = begin + len(_CALL_BEGIN)
        end = stripped.find(_CALL_END, start)
        body = stripped[start : end if end >= 0 else len(stripped)].strip()
        if "[" not in body:
            raise ActionParseError(
                "The format is invalid. The output must contain <CALL_BEGIN>TOOL[PARAMETERS]<CALL_END>."
            )
        name, rest = body.split("[", 1)
        close_at = rest.rfind("]")
        if close_at < 0:
            raise ActionParseError(f"The call {_shown(body)} has no closing ']'. {FORMAT_HINT}")
        name = name.strip()
        if not _TOOL_NAME.fullmatch(name):
            raise ActionParseError(f"{_shown(name)} is not a tool name. {FORMAT_HINT}")
        _check_name(name)
        return ToolCall(name, {UNBOUND_KEY: rest[:close_at]}, raw=text), thought

    label = _last_action_label(stripped)
    if label is not None:
        thought = stripped[: label[0]].strip() or None
        body = stripped[label[1] :].strip()

    call = _bracket_call(body)
    if call is None:
        raise ActionParseError(f"Could not read a tool call from {_shown(body)}. {FORMAT_HINT}")
    _check_name(call[0])
    return ToolCall(call[0], {UNBOUND_KEY: call[1]}, raw=text), thought


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
        _check_name(str(action.name))
        _check_arguments(action.arguments)
        call = action
    elif isinstance(action, bytes):
        if len(action) > MAX_ACTION_CHARS:
            raise _too_long(len(action))
        call, thought = _from_text(action.decode("utf-8", errors="replace"))
    elif isinstance(action, str):
        call, thought = _from_text(action)
    elif isinstance(action, Mapping):
        _check_arguments(action)
        call = _from_mapping(action, raw=None)
    elif hasattr(action, "function") and hasattr(action.function, "name"):  # litellm / openai object
        fn = action.function
        d = {"name": fn.name, "arguments": getattr(fn, "arguments", None)}
        _check_arguments(d)
        call = _from_mapping(d, None)
    else:
        raise ActionParseError(f"Cannot read an action of type {type(action).__name__}. {FORMAT_HINT}")
    return bind(call, tools), thought


def parse_action(action: Any, tools: ToolSet = None) -> ToolCall:
    """Read any accepted action form as a `ToolCall`; raise `ActionParseError` if impossible."""
    return parse_action_with_thought(action, tools)[0]

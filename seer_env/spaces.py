"""Gymnasium spaces for tool-call actions and text observations."""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from seer_env.actions import ActionParseError, as_tool_map, parse_action
from seer_env.types import ToolCall, ToolSpec

DEFAULT_SHARED_TEXT_BYTES = 1 << 20  # one observation's UTF-8 bytes in a vector env's shared buffer
_LEN = 4  # bytes of the length before each shared observation

_LETTERS = np.array(list(string.ascii_lowercase + string.digits))

_JSON_TYPES = {
    "string": str,
    "integer": (int, np.integer),
    "number": (int, float, np.integer, np.floating),
    "boolean": (bool, np.bool_),
    "array": (list, tuple),
    "object": dict,
}


def _value_fits(value: Any, schema: dict[str, Any]) -> bool:
    if "enum" in schema:
        return value in schema["enum"]
    kind = schema.get("type")
    if kind is None:
        return True
    kinds = kind if isinstance(kind, list) else [kind]
    if "integer" in kinds or "number" in kinds:
        if isinstance(value, (bool, np.bool_)):
            return "boolean" in kinds
    return any(isinstance(value, _JSON_TYPES.get(k, object)) for k in kinds)


class ToolCallSpace(spaces.Space[ToolCall]):
    """The actions of an env: calls to one of its tools.

    `contains` accepts a `ToolCall`, a dict or a text form, and holds when the tool exists, every
    required argument is there and each value fits its schema. `sample` draws a valid call from the
    space's seeded generator; string parameters draw from their `enum` or `examples` when the schema
    has them, else they are short random words.
    """

    def __init__(self, tools: Sequence[ToolSpec], seed: int | np.random.Generator | None = None):
        if not tools:
            raise ValueError("ToolCallSpace needs at least one tool")
        self.tools: dict[str, ToolSpec] = as_tool_map(tools)
        super().__init__(shape=None, dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def contains(self, x: Any) -> bool:
        try:
            call = parse_action(x, self.tools)
        except ActionParseError:
            return False
        spec = self.tools.get(call.name)
        if spec is None:
            return False
        props = spec.parameters.get("properties", {})
        if any(name not in call.arguments for name in spec.required):
            return False
        if spec.parameters.get("additionalProperties") is False and set(call.arguments) - set(props):
            return False
        return all(_value_fits(v, props.get(k, {})) for k, v in call.arguments.items())

    def _sample_value(self, schema: dict[str, Any]) -> Any:
        rng = self.np_random
        if "enum" in schema:
            return schema["enum"][int(rng.integers(len(schema["enum"])))]
        kind = schema.get("type", "string")
        kind = kind[0] if isinstance(kind, list) else kind
        if kind == "integer":
            return int(rng.integers(0, 100))
        if kind == "number":
            return float(np.round(rng.uniform(0, 100), 2))
        if kind == "boolean":
            return bool(rng.integers(2))
        if kind == "array":
            return [self._sample_value(schema.get("items", {})) for _ in range(int(rng.integers(0, 3)))]
        if kind == "object":
            return {}
        examples = schema.get("examples")
        if examples:
            return str(examples[int(rng.integers(len(examples)))])
        # no examples: a short random word (an env makes samples realistic through its schemas)
        return "".join(rng.choice(_LETTERS, size=int(rng.integers(1, 9))))

    def sample(self, mask: Any = None, probability: Any = None) -> ToolCall:
        names = sorted(self.tools)
        spec = self.tools[names[int(self.np_random.integers(len(names)))]]
        props = spec.parameters.get("properties", {})
        args = {name: self._sample_value(props[name]) for name in props}
        return ToolCall(spec.name, args)

    def __repr__(self) -> str:
        return f"ToolCallSpace({', '.join(sorted(self.tools))})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ToolCallSpace) and self.tools == other.tools


class TextObservation(spaces.Text):
    """Any text: tool outputs carry arbitrary unicode (names with accents, emoji), so every
    character is allowed. `sample` draws short alphanumeric strings.

    Under `AsyncVectorEnv(shared_memory=True)` (what `gym.make_vec(..., vectorization_mode="async")`
    builds) each worker hands its observation back through a shared buffer of `max_bytes` UTF-8
    bytes (see `SharedTexts`); an env whose outputs are capped declares its cap here.
    """

    def __init__(
        self,
        max_length: int = 1 << 22,
        seed: int | np.random.Generator | None = None,
        max_bytes: int = DEFAULT_SHARED_TEXT_BYTES,
    ):
        super().__init__(max_length=max_length, min_length=0, charset=string.printable, seed=seed)
        self.max_bytes = int(max_bytes)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and len(x) <= self.max_length

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        if mask is not None or probability is not None:
            return super().sample(mask=mask, probability=probability)
        length = int(self.np_random.integers(0, 64))
        chars = np.array(list(string.ascii_letters + string.digits + " "))
        return "".join(self.np_random.choice(chars, size=length))

    def __repr__(self) -> str:
        return f"TextObservation(max_length={self.max_length})"


_ROLES = frozenset({"system", "user", "assistant", "tool"})


def _is_message(m: Any) -> bool:
    return (
        isinstance(m, dict)
        and m.get("role") in _ROLES
        and isinstance(m.get("content", ""), (str, type(None)))
    )


class ChatMessages(spaces.Space[list]):
    """A conversation: a list of OpenAI-style messages (`{"role", "content", ...}`, roles system,
    user, assistant, tool), the observation of `seer_env.wrappers.ChatEnv`. Not flattenable; vector
    envs batch it as a tuple of lists (Gymnasium's rule for spaces without arrays)."""

    def __init__(self, seed: int | np.random.Generator | None = None):
        super().__init__(shape=None, dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def contains(self, x: Any) -> bool:
        return isinstance(x, list) and all(_is_message(m) for m in x)

    def sample(self, mask: Any = None, probability: Any = None) -> list:
        return [
            {"role": "user", "content": TextObservation(seed=int(self.np_random.integers(1 << 31))).sample()}
        ]

    def __repr__(self) -> str:
        return "ChatMessages()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ChatMessages)


class AssistantMessage(spaces.Space[dict]):
    """An assistant turn, the action of `seer_env.wrappers.ChatEnv`: text, or an OpenAI-style message
    `{"role": "assistant", "content": ..., "tool_calls": [{"id", "type": "function", "function":
    {"name", "arguments"}}]}` whose calls name the env's tools. `sample` draws one valid call."""

    def __init__(self, tools: Sequence[ToolSpec], seed: int | np.random.Generator | None = None):
        self.calls = ToolCallSpace(tools, seed=seed)
        super().__init__(shape=None, dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def seed(self, seed: int | None = None) -> list[int]:
        return super().seed(seed) + self.calls.seed(seed)

    def contains(self, x: Any) -> bool:
        if isinstance(x, str):
            return True
        if not isinstance(x, dict) or x.get("role", "assistant") != "assistant":
            return False
        calls = x.get("tool_calls") or []
        return isinstance(calls, list) and all(
            isinstance(c, dict) and self.calls.contains(c.get("function", c)) for c in calls
        )

    def sample(self, mask: Any = None, probability: Any = None) -> dict:
        import json

        call = self.calls.sample()
        fn = {"name": call.name, "arguments": json.dumps(call.arguments)}
        return {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "call00001", "type": "function", "function": fn}],
        }

    def __repr__(self) -> str:
        return f"AssistantMessage({', '.join(sorted(self.calls.tools))})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssistantMessage) and self.calls == other.calls


# -- text observations through the shared memory of gymnasium's AsyncVectorEnv -------------------
# Gymnasium's own shared memory for `Text` stores one int32 per character of `max_length` (16 MB per
# env here), reads every slot back in a Python loop on every step, and hands back strings read once
# at start-up, so observations never change. For `TextObservation` each env gets a slot of a 4-byte
# length and `max_bytes` of UTF-8, and the vector env holds a live view that reads the slots on access.


class SharedTexts(Sequence):
    """The observations of `n` envs in a shared buffer, read (decoded) when accessed.

    `AsyncVectorEnv` keeps this view and returns `copy.deepcopy` of it (a tuple of the current
    strings) from `reset` and `step`, or the view itself with `copy=False`."""

    def __init__(self, buffer: Any, n: int, max_bytes: int):
        self._buffer, self._n, self._slot = buffer, n, _LEN + max_bytes

    def _raw(self) -> memoryview:
        obj = self._buffer.get_obj() if hasattr(self._buffer, "get_obj") else self._buffer
        return memoryview(obj).cast("B")

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(self._n)))
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        raw = self._raw()
        at = i * self._slot
        size = int.from_bytes(raw[at : at + _LEN], "little")
        return bytes(raw[at + _LEN : at + _LEN + size]).decode("utf-8", "surrogatepass")

    def __deepcopy__(self, memo: dict) -> tuple[str, ...]:
        return tuple(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (tuple, list, SharedTexts)) and tuple(self) == tuple(other)

    def __repr__(self) -> str:
        return f"SharedTexts({tuple(self)!r})"


def _register_shared_memory() -> None:
    from gymnasium.vector.utils import shared_memory as gym_shm

    @gym_shm.create_shared_memory.register(TextObservation)
    def _create(space: TextObservation, n: int = 1, ctx: Any = None) -> Any:
        import multiprocessing as mp

        return (ctx or mp).Array("B", n * (_LEN + space.max_bytes))

    @gym_shm.read_from_shared_memory.register(TextObservation)
    def _read(space: TextObservation, shared_memory: Any, n: int = 1) -> SharedTexts:
        return SharedTexts(shared_memory, n, space.max_bytes)

    @gym_shm.write_to_shared_memory.register(TextObservation)
    def _write(space: TextObservation, index: int, value: str, shared_memory: Any) -> None:
        data = str(value).encode("utf-8", "surrogatepass")
        if len(data) > space.max_bytes:
            raise ValueError(
                f"an observation of {len(data)} bytes does not fit the vector env's shared buffer of "
                f"{space.max_bytes} bytes: give the env's TextObservation a larger max_bytes, or build "
                "the vector env with shared_memory=False"
            )
        raw = SharedTexts(shared_memory, index + 1, space.max_bytes)._raw()
        at = index * (_LEN + space.max_bytes)
        raw[at + _LEN : at + _LEN + len(data)] = data
        raw[at : at + _LEN] = len(data).to_bytes(_LEN, "little")


_register_shared_memory()

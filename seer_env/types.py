"""The records every env, policy, runner and pool shares.

`ToolCall` is the one action type, `ToolSpec` describes a tool, `Step` and `Trajectory`
are what an episode leaves behind. All are plain dataclasses that round-trip through JSON.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ToolCall:
    """One tool call: the only action type of every seer-env environment.

    `arguments` maps parameter names to values; `raw` keeps the text the call was parsed from
    (an LLM's output, say), or None when the call was built directly.
    """

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    raw: str | None = field(default=None, compare=False)

    def text(self) -> str:
        """The bracket form `Name[arg1, arg2]` with the argument values in order."""
        return f"{self.name}[{', '.join(str(v) for v in self.arguments.values())}]"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": dict(self.arguments), "raw": self.raw}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ToolCall:
        return cls(name=d["name"], arguments=dict(d.get("arguments") or {}), raw=d.get("raw"))

    def __hash__(self) -> int:  # arguments is a dict, so hash its JSON form
        return hash((self.name, json.dumps(self.arguments, sort_keys=True, default=str)))


@dataclass(frozen=True)
class ToolSpec:
    """A tool's JSON-schema description.

    `parameters` is a JSON schema of type object; its `properties` are in positional order,
    which is how the text form `Tool[a, b]` binds to names.
    """

    name: str
    description: str
    parameters: dict[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}, "required": []}
    )

    @property
    def param_names(self) -> list[str]:
        return list(self.parameters.get("properties", {}))

    @property
    def required(self) -> list[str]:
        return list(self.parameters.get("required", self.param_names))

    def openai(self) -> dict[str, Any]:
        """The OpenAI / litellm function-calling form."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def signature(self) -> str:
        """The text form, e.g. `LoadDB[DBName]`."""
        return f"{self.name}[{', '.join(self.param_names)}]"

    @classmethod
    def from_openai(cls, schema: dict[str, Any]) -> ToolSpec:
        """A spec from the function-calling form (`{"type": "function", "function": {...}}` or the inner
        function object); KeyError when it names no function."""
        fn = schema.get("function", schema)
        params = fn.get("parameters") or {"type": "object", "properties": {}, "required": []}
        return cls(fn["name"], fn.get("description", ""), params)

    def __hash__(self) -> int:  # parameters is a dict, so hash its JSON form
        return hash((self.name, self.description, json.dumps(self.parameters, sort_keys=True)))


def tool_specs_from_schemas(schemas: list[Any] | None) -> list[ToolSpec]:
    """`ToolSpec`s from function-calling schemas (an env's `info["tools"]`), skipping malformed entries."""
    specs = []
    for schema in schemas or []:
        fn = schema.get("function", schema) if isinstance(schema, dict) else None
        if isinstance(fn, dict) and fn.get("name"):
            specs.append(ToolSpec.from_openai(fn))
    return specs


@dataclass
class Step:
    """One action and what came back. `ok` is False when the tool reported an error."""

    action: ToolCall
    observation: str
    ok: bool = True
    thought: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.to_dict(),
            "observation": self.observation,
            "ok": self.ok,
            "thought": self.thought,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Step:
        return cls(
            action=ToolCall.from_dict(d["action"]),
            observation=d.get("observation", ""),
            ok=bool(d.get("ok", True)),
            thought=d.get("thought"),
        )


@dataclass
class Trajectory:
    """A finished (or cut-off) episode: the record the runner writes, the pool stores and reports read."""

    env_id: str
    task_id: str
    query: str
    intent: str | None = None
    steps: list[Step] = field(default_factory=list)
    answer: str | None = None
    reward: float = 0.0
    success: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def tool_chain(self) -> list[str]:
        return [s.action.name for s in self.steps]

    def to_dict(self) -> dict[str, Any]:
        # field by field: dataclasses.asdict would deep-copy every step only to have it replaced
        return {
            "env_id": self.env_id,
            "task_id": self.task_id,
            "query": self.query,
            "intent": self.intent,
            "steps": [s.to_dict() for s in self.steps],
            "answer": self.answer,
            "reward": self.reward,
            "success": self.success,
            "meta": copy.deepcopy(self.meta),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trajectory:
        return cls(
            env_id=d["env_id"],
            task_id=str(d["task_id"]),
            query=d.get("query", ""),
            intent=d.get("intent"),
            steps=[Step.from_dict(s) for s in d.get("steps", [])],
            answer=d.get("answer"),
            reward=float(d.get("reward", 0.0)),
            success=bool(d.get("success", False)),
            meta=dict(d.get("meta") or {}),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, default=str)

    @classmethod
    def from_json(cls, s: str) -> Trajectory:
        return cls.from_dict(json.loads(s))

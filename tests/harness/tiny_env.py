"""A tiny tool-use env for the harness tests; it follows the seer-env env contract (seer_env.policy).

It stands in for ToolQA-Synth where the tests need full control: tasks are "what is X plus Y" or
"what is the value of KEY" questions over a fixed table, answered with `Lookup[key]`,
`Add[a, b]` and `Finish[answer]`. As ToolQA's stand-in it stores experiences under the pool
namespace "toolqa" (its `env_info`). Reset info carries that env info, tools, task_id, domain, query
(and gold with reveal_gold); step info carries tool, ok, error, and answer/success at the end;
`task_gold` gives the expected answer for the record. A
`slow` seconds argument makes every tool call sleep (a slow tool). Registered as
`tests.harness.tiny_env:Tiny-v0`.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym

from seer_env.actions import ActionParseError, parse_action
from seer_env.spaces import TextObservation, ToolCallSpace
from seer_env.types import ToolCall, ToolSpec

TABLE = {f"k{i}": (i * 7) % 23 for i in range(40)}

TOOLS = [
    ToolSpec(
        "Lookup",
        "Look up the value stored under a key.",
        {
            "type": "object",
            "properties": {"key": {"type": "string", "examples": ["k1"]}},
            "required": ["key"],
        },
    ),
    ToolSpec(
        "Add",
        "Add two integers.",
        {
            "type": "object",
            "properties": {
                "a": {"type": "string", "examples": ["1"]},
                "b": {"type": "string", "examples": ["2"]},
            },
            "required": ["a", "b"],
        },
    ),
    ToolSpec(
        "Finish",
        "Give the final answer.",
        {
            "type": "object",
            "properties": {"answer": {"type": "string", "examples": ["3"]}},
            "required": ["answer"],
        },
    ),
]

INTENTS = ["lookup", "math"]


def make_tasks(n: int = 60) -> list[dict[str, Any]]:
    tasks = []
    for i in range(n):
        if i % 2 == 0:
            key = f"k{i % 40}"
            tasks.append(
                {
                    "id": f"t{i:03d}",
                    "domain": "lookup",
                    "query": f"What is the value of {key}?",
                    "answer": str(TABLE[key]),
                    "chain": [
                        ToolCall("Lookup", {"key": key}),
                        ToolCall("Finish", {"answer": str(TABLE[key])}),
                    ],
                }
            )
        else:
            a, b = i, 3 * i + 1
            tasks.append(
                {
                    "id": f"t{i:03d}",
                    "domain": "math",
                    "query": f"What is {a} plus {b}?",
                    "answer": str(a + b),
                    "chain": [
                        ToolCall("Add", {"a": str(a), "b": str(b)}),
                        ToolCall("Finish", {"answer": str(a + b)}),
                    ],
                }
            )
    return tasks


_SHARED_TASKS: dict[int, list[dict[str, Any]]] = {}


def shared_tasks(n: int) -> list[dict[str, Any]]:
    """`make_tasks(n)` built once per process: env instances only read their tasks (a runner builds one
    instance per concurrent episode)."""
    tasks = _SHARED_TASKS.get(n)
    if tasks is None:
        tasks = _SHARED_TASKS[n] = make_tasks(n)
    return tasks


class TinyToolEnv(gym.Env):
    metadata = {"render_modes": []}

    def __init__(
        self, n_tasks: int = 60, max_steps: int = 8, slow: float = 0.0, fail_task: str | None = None
    ):
        self.tasks = shared_tasks(n_tasks)
        self.by_id = {t["id"]: t for t in self.tasks}
        self.task_ids = [t["id"] for t in self.tasks]
        self.env_info = {"pool_namespace": "toolqa", "intent_labels": list(INTENTS)}
        self.tool_specs = list(TOOLS)
        self.action_space = ToolCallSpace(self.tool_specs)
        self.observation_space = TextObservation()
        self.max_steps = max_steps
        self.slow = slow
        self.fail_task = fail_task  # a task whose reset raises (an env bug), for error recording
        self._task: dict[str, Any] | None = None
        self._steps = 0
        self._over = True

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = options or {}
        tid = options.get("task_id") or self.task_ids[int(self.np_random.integers(len(self.task_ids)))]
        if tid == self.fail_task:
            raise RuntimeError(f"cannot load task {tid}")
        self._task = self.by_id[tid]
        self._steps = 0
        self._over = False
        info = {
            **self.env_info,
            "intent_labels": list(INTENTS),  # a fresh list: infos never share an object
            "tools": [t.openai() for t in self.tool_specs],
            "task_id": tid,
            "domain": self._task["domain"],
            "query": self._task["query"],
        }
        if options.get("reveal_gold"):
            info["gold"] = {
                "answer": self._task["answer"],
                "chain": [c.to_dict() for c in self._task["chain"]],
            }
        return self._task["query"], info

    def task_gold(self, task_id: str) -> dict[str, Any]:
        return {"answer": self.by_id[task_id]["answer"]}

    def step(self, action: Any):
        if self._over:
            raise RuntimeError("episode is over; call reset()")
        self._steps += 1
        if self.slow:
            time.sleep(self.slow)
        info: dict[str, Any] = {"tool": None, "ok": False, "error": None}
        terminated = False
        reward = 0.0
        try:
            call = parse_action(action, self.tool_specs)
        except ActionParseError as exc:
            obs = str(exc)
            info["error"] = "parse"
        else:
            info["tool"] = call.name
            obs, info = self._run(call, info)
            if call.name == "Finish" and info["ok"]:
                terminated = True
                answer = str(call.arguments.get("answer", "")).strip()
                success = answer == self._task["answer"]
                reward = 1.0 if success else 0.0
                info.update(answer=answer, success=success)
        truncated = not terminated and self._steps >= self.max_steps
        if truncated:
            info.update(answer=None, success=False)
        self._over = terminated or truncated
        return obs, reward, terminated, truncated, info

    def _run(self, call: ToolCall, info: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        args = call.arguments
        if call.name == "Lookup":
            key = str(args.get("key", ""))
            if key in TABLE:
                info["ok"] = True
                return str(TABLE[key]), info
            info["error"] = "tool_error"
            return f"There is no key {key}.", info
        if call.name == "Add":
            try:
                total = int(str(args["a"]).strip()) + int(str(args["b"]).strip())
            except (KeyError, ValueError):
                info["error"] = "bad_arguments"
                return "Add needs two integers a and b.", info
            info["ok"] = True
            return str(total), info
        if call.name == "Finish":
            info["ok"] = True
            return str(args.get("answer", "")), info
        info["error"] = "unknown_tool"
        return f"The {call.name} is not in the tool list.", info


gym.register(id="Tiny-v0", entry_point="tests.harness.tiny_env:TinyToolEnv")

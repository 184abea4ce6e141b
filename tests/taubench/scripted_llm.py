"""A scripted LLM for the τ-bench tests, registered in litellm as the custom provider `seerscripted`.

It stands in for a tool-calling chat model. With tools, it plays the plan of the task whose customer
opened the conversation (the first user message): one tool call per request, then a reply that states
the task's outputs. Without tools, it answers SEER's intent question with the state-changing tools of
that plan. As the fake τ-bench's LLM user (its system prompt starts "You play a customer"), it says the
instruction's first line after the greeting and ###STOP### after that. Model `seerscripted/lazy` never calls a tool and always answers "Sorry, I cannot help."
Every request is kept in `requests` so tests can read the prompts.
"""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any

import litellm
from litellm import CustomLLM

PROVIDER = "seerscripted"
STOP = "###STOP###"


class ScriptedLLM(CustomLLM):
    def __init__(self) -> None:
        super().__init__()
        self.plans: dict[str, list[dict[str, Any]]] = {}
        self.intents: dict[str, str] = {}
        self.requests: list[dict[str, Any]] = []
        self.user_calls = 0
        self._ids = itertools.count()
        self._lock = threading.Lock()

    def set_plans(self, tasks: list[Any], write_tools: list[str]) -> None:
        """One plan per task: its gold actions, then a reply with its outputs (keyed by instruction)."""
        for task in tasks:
            plan = [{"name": a.name, "arguments": dict(a.kwargs)} for a in task.actions]
            if not plan or plan[-1]["name"] != "transfer_to_human_agents":
                plan.append({"content": "Done. " + " ".join(task.outputs)})
            key = " ".join(task.instruction.split())
            self.plans[key] = plan
            used = sorted({a.name for a in task.actions if a.name in write_tools})
            self.intents[key] = ", ".join(used) or "none"

    def _answer(self, model: str, messages: list[dict[str, Any]], tools: Any) -> litellm.ModelResponse:
        with self._lock:
            self.requests.append({"model": model, "messages": messages, "tools": tools})
            n = next(self._ids)
        opening = next((m.get("content") or "" for m in messages if m.get("role") == "user"), "")
        key = " ".join(str(opening).split())
        message: dict[str, Any]
        system = (
            str(messages[0].get("content") or "") if messages and messages[0].get("role") == "system" else ""
        )
        if system.startswith("You play a customer"):  # the fake user simulator's prompt
            # τ-bench's LLM user: state the instruction's first line, then stop at the next turn
            self.user_calls += 1
            if messages[-1].get("content") == "Hi! How can I help you today?":
                _, _, rest = system.partition("Instruction:")
                first = rest.strip().splitlines()[0] if rest.strip() else "Hello."
                message = {"role": "assistant", "content": first}
            else:
                message = {"role": "assistant", "content": STOP}
        elif "lazy" in model:
            message = {"role": "assistant", "content": "Sorry, I cannot help."}
        elif not tools:
            found = next(
                (v for k, v in self.intents.items() if k in " ".join(str(messages[-1]["content"]).split())),
                "none",
            )
            message = {"role": "assistant", "content": found}
        else:
            plan = self.plans.get(key, [{"content": "Sorry, I cannot help."}])
            done = sum(1 for m in messages if m.get("role") == "assistant")
            step = plan[min(done, len(plan) - 1)]
            if "name" in step:
                call = {
                    "id": f"call_{n}",
                    "type": "function",
                    "function": {"name": step["name"], "arguments": json.dumps(step["arguments"])},
                }
                message = {"role": "assistant", "content": None, "tool_calls": [call]}
            else:
                message = {"role": "assistant", "content": step["content"]}
        return litellm.ModelResponse(
            model=model,
            choices=[{"index": 0, "finish_reason": "stop", "message": message}],
            usage={"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        )

    def completion(self, model, messages, *args, optional_params=None, **kwargs):
        return self._answer(model, messages, (optional_params or {}).get("tools"))

    async def acompletion(self, model, messages, *args, optional_params=None, **kwargs):
        return self._answer(model, messages, (optional_params or {}).get("tools"))


def install() -> ScriptedLLM:
    """Register a fresh handler as provider `seerscripted` (replacing an earlier one)."""
    handler = ScriptedLLM()
    litellm.custom_provider_map = [m for m in litellm.custom_provider_map if m["provider"] != PROVIDER]
    litellm.custom_provider_map.append({"provider": PROVIDER, "custom_handler": handler})
    litellm.utils.custom_llm_setup()
    return handler


def uninstall() -> None:
    litellm.custom_provider_map = [m for m in litellm.custom_provider_map if m["provider"] != PROVIDER]

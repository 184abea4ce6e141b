"""SEER as a τ-bench agent.

`SeerTauAgent.solve(env, task_index, max_num_steps) -> SolveResult` runs one conversation. It keeps the
message bookkeeping of τ-bench's `ToolCallingAgent` (its "tool-calling" strategy) so results compare:

- `messages` starts `[system: wiki, user: first message]`; the model gets the tools natively;
- only the first tool call of a reply is run, and the reply is stored with its `tool_calls` cut to
  that one, followed by `{"role": "tool", "tool_call_id", "name", "content": observation}`;
- a reply without a tool call is a `respond`: its content goes to the user, whose answer follows as a
  `user` message; `max_num_steps` counts model replies; the result carries τ-bench's `info`.

What SEER adds (as the SEER paper applies it to τ-bench):

- intent: one LLM call predicts, from the first user message, which state-changing tools the request
  will need (`seer_env.envs.taubench.intents`); a finished trajectory's intent is the set it used;
- recall: the system prompt sent to the model is the wiki followed by the top-k earlier successful
  conversations from an `ExperienceMemory` (function-calling transcripts), recalled at the first step
  (goal) or at every step (process, hybrid); the stored `messages[0]` stays the wiki;
- accumulation: a successful conversation is added to the pool when its split is allowed (train by
  default: the pool's `allowed_splits`).

`solve` drives a τ-bench `Env` (τ-bench's runner) or a `TauBenchEnv` Gymnasium env (its `task_ids` are
the task indices), so one code path serves both. One agent serves every thread of τ-bench's runner:
per-conversation state lives in `solve`, and the pool is locked.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import uuid
from collections.abc import Sequence
from typing import Any

from seer_env.envs.taubench import TauBenchNotInstalled, require_tau_bench
from seer_env.envs.taubench.env import RESPOND
from seer_env.envs.taubench.intents import intent_examples, intent_of, parse_intent, state_changing_tools
from seer_env.envs.taubench.users import bind_user
from seer_env.pool.types import STRATEGIES
from seer_env.types import Step, ToolCall, Trajectory

log = logging.getLogger(__name__)

EXAMPLES_HEADER = (
    "# Past conversations that ended well\n"
    "These earlier conversations solved similar requests. Follow the policy above; use them only as "
    "examples of how to proceed, never as facts about this customer."
)

try:  # subclass τ-bench's Agent when it is there; the agent also works without it (gym envs)
    _AgentBase = require_tau_bench("tau_bench.agents.base").Agent
except TauBenchNotInstalled:
    _AgentBase = object


def _truncate(text: str, limit: int) -> str:
    text = str(text)
    return text if limit <= 0 or len(text) <= limit else text[:limit] + " ...[cut]"


def render_transcript(query: str, steps: Sequence[Step], max_result_chars: int = 400) -> str:
    """A conversation as a function-calling transcript (customer, agent calls, tool results, replies)."""
    lines = [f"Customer: {query}"]
    for step in steps:
        if step.action.name == RESPOND:
            lines.append(f"Agent: {step.action.arguments.get('content', '')}")
            lines.append(f"Customer: {step.observation}")
        else:
            args = json.dumps(step.action.arguments, ensure_ascii=False, sort_keys=True, default=str)
            lines.append(f"Agent calls {step.action.name}({args})")
            lines.append(f"Result: {_truncate(step.observation, max_result_chars)}")
    return "\n".join(lines)


def _tool_names(tools_info: Sequence[dict[str, Any]]) -> list[str]:
    return [t["function"]["name"] for t in tools_info if t.get("function")]


class _TauEnvDriver:
    """Drives a τ-bench `Env` (its offline user, if any, learns the env, so it keys by task index)."""

    def __init__(self, env: Any):
        self.env = env
        self.types = require_tau_bench("tau_bench.types")
        bind_user(env)

    def reset(self, task_index: int | None) -> tuple[str, dict[str, Any]]:
        res = self.env.reset(task_index=task_index)
        return res.observation, res.info.model_dump()

    def step(self, name: str, kwargs: dict[str, Any]) -> tuple[str, float, bool, dict[str, Any]]:
        res = self.env.step(self.types.Action(name=name, kwargs=kwargs))
        return res.observation, float(res.reward), bool(res.done), res.info.model_dump()


class _GymEnvDriver:
    """Drives a `TauBenchEnv` (or any env with its reset/step contract)."""

    def __init__(self, env: Any):
        self.env = env

    def reset(self, task_index: int | None) -> tuple[str, dict[str, Any]]:
        options = None if task_index is None else {"task_id": str(task_index)}
        obs, info = self.env.reset(options=options)
        return obs, dict(info)

    def step(self, name: str, kwargs: dict[str, Any]) -> tuple[str, float, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(ToolCall(name, kwargs))
        return obs, float(reward), bool(terminated or truncated), dict(info)


def _driver(env: Any):
    import gymnasium as gym

    return _GymEnvDriver(env) if isinstance(env, gym.Env) else _TauEnvDriver(env)


class SeerTauAgent(_AgentBase):
    """SEER for τ-bench; see the module docstring.

    tools_info, wiki: τ-bench's `env.tools_info` and `env.wiki` (as `agent_factory` receives them).
    model, provider, temperature: as `ToolCallingAgent`; the model string given to litellm is
    `provider/model` unless `llm` (an `LLMClient`) is passed.
    memory: an `ExperienceMemory`, or None for no recall at all. namespace: the pool namespace it
    recalls from and adds to (default "taubench-<env_name>", as `TauBenchEnv` names it).
    task_split: the split being played, checked against the pool's allowed splits on `add`.
    write_tools: the state-changing tools that make up intents (default: the name heuristic).
    """

    def __init__(
        self,
        tools_info: list[dict[str, Any]],
        wiki: str,
        model: str = "",
        provider: str | None = None,
        temperature: float = 0.0,
        *,
        llm: Any = None,
        memory: Any = None,
        env_name: str = "retail",
        namespace: str | None = None,
        task_split: str = "test",
        k: int | None = None,
        strategy: str = "hybrid",
        write_tools: Sequence[str] | None = None,
        predict_intent: bool = True,
        accumulate: bool = True,
        max_num_steps: int = 30,
        max_result_chars: int = 400,
        classify_max_tokens: int | None = 128,
        run_id: str | None = None,
        api_base: str | None = None,
    ):
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; one of {STRATEGIES}")
        self.tools_info = tools_info
        self.wiki = wiki
        self.model = model
        self.provider = provider
        self.temperature = temperature
        if llm is None:
            from seer_env.llm import LLMClient

            name = model if not provider or model.startswith(f"{provider}/") else f"{provider}/{model}"
            llm = LLMClient(name, api_base=api_base, temperature=temperature)
        self.llm = llm
        self.memory = memory
        self.env_name = env_name
        self.namespace = namespace or f"taubench-{env_name}"
        self.task_split = task_split
        self.k = k
        self.strategy = strategy
        names = _tool_names(tools_info)
        self.write_tools = state_changing_tools(names, write_tools)
        self.predict_intent = predict_intent
        self.accumulate = accumulate
        self.max_num_steps = int(max_num_steps)
        self.max_result_chars = int(max_result_chars)
        self.classify_max_tokens = classify_max_tokens
        self.run_id = run_id
        self._pool_lock = threading.Lock()
        self.added = 0

    # -- SEER pieces ------------------------------------------------------------------------------

    def _intent_messages(self, query: str) -> list[dict[str, Any]] | None:
        """The intent prediction prompt (None when there is no pool or prediction is off)."""
        if not self.predict_intent or self.memory is None or not self.write_tools:
            return None
        shots = "".join(
            f"Message: {e['query']}\nActions: {e['label']}\n\n" for e in intent_examples(self.write_tools)
        )
        prompt = (
            "Which of these state-changing actions will resolving a customer's support request need? "
            f"{', '.join(self.write_tools)}\n"
            "Answer with the action names separated by commas, or 'none' if it needs none of them.\n\n"
            + (f"Worked examples:\n\n{shots}" if shots else "")
            + f"Message: {query}\nActions:"
        )
        return [{"role": "user", "content": prompt}]

    def intent_for(self, query: str) -> str | None:
        """The predicted intent of a request (None when there is no pool or prediction is off)."""
        messages = self._intent_messages(query)
        if messages is None:
            return None
        try:
            resp = self.llm.complete(messages, max_tokens=self.classify_max_tokens)
        except Exception as exc:  # the intent only sharpens recall; never lose the episode over it
            log.warning("intent prediction failed: %s", exc)
            return None
        return parse_intent(resp.content, self.write_tools)

    async def aintent_for(self, query: str) -> str | None:
        """`intent_for` on the caller's event loop."""
        messages = self._intent_messages(query)
        if messages is None:
            return None
        try:
            resp = await self.llm.acomplete(messages, max_tokens=self.classify_max_tokens)
        except Exception as exc:
            log.warning("intent prediction failed: %s", exc)
            return None
        return parse_intent(resp.content, self.write_tools)

    def recall(self, query: str, intent: str | None, steps: Sequence[Step]) -> list[Any]:
        if self.memory is None:
            return []
        try:
            with self._pool_lock:
                return list(
                    self.memory.recall(
                        query,
                        intent=intent,
                        steps=list(steps),
                        strategy=self.strategy,
                        k=self.k,
                        namespace=self.namespace,
                    )
                )
        except Exception as exc:
            log.warning("recall failed; going on without examples: %s", exc)
            return []

    def system_prompt(self, recalled: Sequence[Any]) -> str:
        if not recalled:
            return self.wiki
        blocks = []
        for i, item in enumerate(recalled, 1):
            exp = getattr(item, "experience", item)
            label = f" (request type: {exp.intent})" if getattr(exp, "intent", None) else ""
            blocks.append(
                f"## Example {i}{label}\n" + render_transcript(exp.query, exp.steps, self.max_result_chars)
            )
        return f"{self.wiki}\n\n{EXAMPLES_HEADER}\n\n" + "\n\n".join(blocks)

    def remember(self, traj: Trajectory) -> bool:
        """Add a finished conversation to the pool (successes on allowed splits only)."""
        if self.memory is None or not self.accumulate or not traj.success:
            return False
        try:
            with self._pool_lock:
                added = bool(
                    self.memory.add(
                        traj,
                        split=self.task_split,
                        source="online",
                        run_id=self.run_id,
                        namespace=self.namespace,
                    )
                )
        except Exception as exc:  # a frozen or unreachable pool must not fail the episode
            log.warning("could not add the trajectory to the pool: %s", exc)
            return False
        if added:
            self.added += 1
        return added

    def _complete(self, messages: list[dict[str, Any]]) -> tuple[dict[str, Any], str, dict[str, Any], float]:
        """One model call -> (message dict as ToolCallingAgent stores it, action name, kwargs, cost)."""
        return self._reply(self.llm.complete(messages, tools=self.tools_info))

    async def _acomplete(
        self, messages: list[dict[str, Any]]
    ) -> tuple[dict[str, Any], str, dict[str, Any], float]:
        """`_complete` on the caller's event loop."""
        return self._reply(await self.llm.acomplete(messages, tools=self.tools_info))

    def _reply(self, resp: Any) -> tuple[dict[str, Any], str, dict[str, Any], float]:
        cost = float((resp.usage or {}).get("cost") or 0.0)
        message: dict[str, Any] | None = None
        raw = resp.raw
        if hasattr(raw, "model_response"):  # the lean transport's reply: litellm's object on demand
            raw = raw.model_response()
        try:
            if raw is not None:
                message = raw.choices[0].message.model_dump()
        except Exception:
            message = None
        if resp.tool_calls:
            call = resp.tool_calls[0]
            name, kwargs = call.name, dict(call.arguments)
        elif resp.malformed_tool_calls and resp.malformed_tool_calls[0].get("name"):
            # unreadable arguments: call the tool without them, so the env answers with an error
            name, kwargs = str(resp.malformed_tool_calls[0]["name"]), {}
        else:
            name, kwargs = RESPOND, {"content": resp.content}
        if message is None or (name != RESPOND and not message.get("tool_calls")):
            message = {"role": "assistant", "content": resp.content or None}
            if name != RESPOND:
                message["tool_calls"] = [
                    {
                        "id": f"call_{uuid.uuid4().hex[:24]}",
                        "type": "function",
                        "function": {"name": name, "arguments": json.dumps(kwargs, ensure_ascii=False)},
                    }
                ]
        return message, name, kwargs, cost

    # -- τ-bench Agent API -------------------------------------------------------------------------

    def solve(self, env: Any, task_index: int | None = None, max_num_steps: int | None = None):
        types = require_tau_bench("tau_bench.types")
        driver = _driver(env)
        max_steps = self.max_num_steps if max_num_steps is None else int(max_num_steps)
        obs, info = driver.reset(task_index)
        reward = 0.0
        total_cost = 0.0
        query = obs
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": self.wiki},
            {"role": "user", "content": obs},
        ]
        predicted = self.intent_for(query)
        steps: list[Step] = []
        recalled: list[Any] = []
        recall_log: list[list[int]] = []
        answer: str | None = None
        done = False
        for i in range(max_steps):
            if i == 0 or self.strategy != "goal":
                recalled = self.recall(query, predicted, steps)
            recall_log.append([int(getattr(getattr(r, "experience", r), "id", -1) or -1) for r in recalled])
            prompt = [{"role": "system", "content": self.system_prompt(recalled)}] + messages[1:]
            message, name, kwargs, cost = self._complete(prompt)
            total_cost += cost
            # deep copy: some τ-bench tools keep a reference to the arguments they get
            obs, reward, done, step_info = driver.step(name, copy.deepcopy(kwargs))
            info = {**info, **step_info}
            if name != RESPOND:
                message["tool_calls"] = message["tool_calls"][:1]
                messages.extend(
                    [
                        message,
                        {
                            "role": "tool",
                            "tool_call_id": message["tool_calls"][0]["id"],
                            "name": message["tool_calls"][0]["function"]["name"],
                            "content": obs,
                        },
                    ]
                )
            else:
                answer = kwargs.get("content")
                messages.extend([message, {"role": "user", "content": obs}])
            ok = not (isinstance(obs, str) and obs.startswith(("Error", "Unknown action")))
            steps.append(Step(ToolCall(name, kwargs), str(obs), ok=ok))
            if done:
                break
        if not done:
            reward = 0.0
        success = done and abs(reward - 1.0) <= 1e-6
        traj = Trajectory(
            env_id=f"tau_bench-{self.env_name}",
            task_id=str(
                info.get("task_id", task_index if task_index is not None else getattr(env, "task_index", ""))
            ),
            query=query,
            intent=intent_of((s.action.name for s in steps), self.write_tools),
            steps=steps,
            answer=answer,
            reward=float(reward),
            success=success,
            meta={"task_split": self.task_split, "predicted_intent": predicted},
        )
        added = self.remember(traj)
        info["seer"] = {
            "predicted_intent": predicted,
            "intent": traj.intent,
            "recalled_ids": recall_log,
            "added_to_pool": added,
            "strategy": self.strategy,
        }
        return types.SolveResult(reward=reward, info=info, messages=messages, total_cost=total_cost)

"""`ChatEnv`: any seer-env environment as a conversation, for LLM-RL loops (docs/training.md).

The observation is the message list so far (OpenAI form, the same as `seer_env.chat` exports) and
the action is one assistant message, so a chat model's output goes straight in::

    env = ChatEnv(gym.make("ToolQA-Synth-easy-v0"))
    messages, info = env.reset(seed=0)              # [system, user]; info["tools"]: the schemas to offer
    while True:
        reply = generate(messages, tools=info["tools"])    # {"role": "assistant", "content", "tool_calls"} or text
        messages, reward, terminated, truncated, info = env.step(reply)
        if terminated or truncated:
            break

An action is text or an assistant message (a dict, or an OpenAI/litellm message object). Each of its
tool calls is one env step, answered by a `tool` message with the call's id (ids are given to calls
that come without). Text without tool calls is the final answer on an env with an answer tool
(ToolQA's `Finish`), or a message to the user on an env with a reply tool (τ-bench's `respond`; the
user's reply comes back as a `user` message); elsewhere it goes to the env as a text action. Once an
episode ends, calls left in the same message are answered "not run". The reward of a step is the sum
of the env steps it made; `info["steps"]` has each env step's info, `info["ok"]` their `ok` flags.

Under `gymnasium.make_vec(..., wrappers=[ChatEnv])` (sync or async) observations batch as a tuple of
message lists and actions are given as a tuple of messages (Gymnasium batches spaces without arrays
as tuples).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from seer_env.chat import call_id, chat_tools, system_prompt
from seer_env.policy import env_info_of
from seer_env.spaces import AssistantMessage, ChatMessages, ToolCallSpace
from seer_env.types import ToolCall

NOT_RUN = "Not run: the episode ended at an earlier call of this message."


def _plain(message: Any) -> Any:
    """An OpenAI/litellm message object as a dict (dicts and text are returned as they are)."""
    if isinstance(message, (str, Mapping)) or message is None:
        return message
    for name in ("model_dump", "to_dict", "dict"):
        fn = getattr(message, name, None)
        if callable(fn):
            return fn()
    return {
        "role": "assistant",
        "content": getattr(message, "content", None),
        "tool_calls": getattr(message, "tool_calls", None),
    }


class ChatEnv(gym.Wrapper):
    """A seer-env environment played as a conversation (see the module docstring).

    system: the system message (default: `seer_env.chat.system_prompt` of the env's info).
    """

    def __init__(self, env: gym.Env, *, system: str | None = None):
        super().__init__(env)
        self.system = system
        self.info = env_info_of(env)
        self.answer_tool = self.info.get("answer_tool")
        self.reply_tool = self.info.get("reply_tool")
        space = env.action_space
        self._specs = dict(space.tools) if isinstance(space, ToolCallSpace) else {}
        self.observation_space = ChatMessages()
        if self._specs:
            self.action_space = AssistantMessage(list(self._specs.values()))
        self._messages: list[dict[str, Any]] = []
        self._over = True
        self._n_calls = 0

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The conversation so far (a copy)."""
        return copy.deepcopy(self._messages)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        info = dict(info or {})
        info["tools"] = chat_tools(info.get("tools"), self.info)
        system = self.system if self.system is not None else system_prompt({**self.info, **info})
        self._messages = [{"role": "system", "content": system}, {"role": "user", "content": str(obs)}]
        self._over = False
        self._n_calls = 0
        return self.messages, info

    def step(self, action: Any):
        if self._over:
            raise RuntimeError("the episode is over; call reset()")
        message = _plain(action)
        reward, terminated, truncated = 0.0, False, False
        infos: list[dict[str, Any]] = []

        def env_step(env_action: Any) -> str:
            nonlocal reward, terminated, truncated
            obs, r, terminated, truncated, info = self.env.step(env_action)
            reward += float(r or 0.0)
            infos.append(dict(info or {}))
            return str(obs)

        if isinstance(message, Mapping) and message.get("tool_calls"):
            calls = [self._call(c) for c in message["tool_calls"]]
            self._messages.append(
                {"role": "assistant", "content": message.get("content") or "", "tool_calls": calls}
            )
            for c in calls:
                # the call dict as it came: the env reads OpenAI tool calls and says what is wrong with one
                content = NOT_RUN if terminated or truncated else env_step(c)
                name = (c.get("function") or {}).get("name")
                self._messages.append(
                    {"role": "tool", "tool_call_id": c["id"], "name": name, "content": content}
                )
        else:
            text = message.get("content") if isinstance(message, Mapping) else message
            text = "" if text is None else str(text)
            self._messages.append({"role": "assistant", "content": text})
            env_action = self._text_action(text)
            obs = env_step(env_action)
            answered = isinstance(env_action, ToolCall) and env_action.name == self.answer_tool
            if not (answered and terminated):  # the env's verdict on an answer is the reward, not a message
                self._messages.append({"role": "user", "content": obs})
        self._over = terminated or truncated
        info = dict(infos[-1]) if infos else {}
        info.update(steps=infos, ok=[bool(i.get("ok", False)) for i in infos])
        return self.messages, reward, terminated, truncated, info

    def _call(self, call: Any) -> dict[str, Any]:
        """A tool call as a dict with an id (calls that come without get the next free one)."""
        c = _plain(call)
        c = dict(c) if isinstance(c, Mapping) else {"type": "function", "function": {}}
        if isinstance(c.get("function"), Mapping):
            c["function"] = dict(c["function"])
        if not c.get("id"):
            self._n_calls += 1
            c["id"] = call_id(self._n_calls)
        return c

    def _text_action(self, text: str) -> Any:
        """What plain text means to the env: a reply, the answer, or (neither tool) a text action."""
        tool = self.reply_tool or self.answer_tool
        spec = self._specs.get(tool) if tool else None
        if spec is None or not text.strip():
            return text
        return ToolCall(tool, {spec.param_names[0] if spec.param_names else "content": text})

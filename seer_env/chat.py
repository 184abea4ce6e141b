"""Episodes as chat messages in the OpenAI form, the shape LLM trainers read (docs/training.md).

One episode becomes::

    system      the env's standing instructions (τ-bench's policy) and how to answer
    user        the question (ToolQA) or the user's first message (τ-bench)
    assistant   {"content": thought, "tool_calls": [{"id", "type": "function",
                 "function": {"name", "arguments": JSON text}}]}
    tool        {"tool_call_id": the call's id, "name", "content": the tool's output}
    ...
    assistant   the final answer as text (the env's answer tool, ToolQA's `Finish`), or a message to
                the user (its reply tool, τ-bench's `respond`) followed by the user's reply as a
                `user` message

Which tools are the answer and the reply tool is the env's to say (`EnvInfo` keys `answer_tool`,
`reply_tool`); without them every step stays a tool call. An action that held no readable call
(raw model text) is an assistant message with that text, and the env's answer to it a `user` message.
Tool call ids are `call00001`, `call00002`, ... (nine letters and digits, the strictest form chat
templates ask for), unique within an episode.

`trajectory_messages` converts a live `Trajectory`; `episode_row` a recorded episode
(`EpisodeRecord`) into one dataset row; `ChatEnv` (`seer_env.wrappers`) plays the same form live.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from seer_env.records import EpisodeRecord
from seer_env.types import ToolCall, Trajectory

ROW_COLUMNS = (
    "messages", "prompt", "completion", "tools", "reward", "success", "step_ok", "task_id", "env_id",
    "policy", "model", "trial", "domain", "n_steps", "error",
)  # fmt: skip


def call_id(n: int) -> str:
    """The id of the n-th tool call of an episode (from 1): `call00001`."""
    return f"call{n:05d}"


def system_prompt(info: Mapping[str, Any] | None = None) -> str:
    """The system message for an env: its standing instructions, and how to answer or reply."""
    info = info or {}
    parts = []
    if info.get("instructions"):
        parts.append(str(info["instructions"]).strip())
    parts.append("Use the tools to find what you need; call them with JSON arguments.")
    if info.get("reply_tool"):
        parts.append("A message without a tool call goes to the user; their reply comes back to you.")
    elif info.get("answer_tool"):
        parts.append("When you know the answer, reply with the answer alone, without a tool call.")
    return "\n\n".join(parts)


def chat_tools(
    tools: Sequence[Mapping[str, Any]] | None, info: Mapping[str, Any] | None = None
) -> list[dict]:
    """The tools a chat model is offered: the env's, less its answer and reply tools (plain text
    stands for them)."""
    info = info or {}
    special = {info.get("answer_tool"), info.get("reply_tool")} - {None}
    out = []
    for t in tools or []:
        fn = t.get("function", t) if isinstance(t, Mapping) else None
        if isinstance(fn, Mapping) and fn.get("name") not in special:
            out.append(dict(t))
    return out


def text_argument(call: ToolCall) -> str:
    """The text an answer or reply call carries: its only (or `content`) argument."""
    args = call.arguments
    if "content" in args:
        value = args["content"]
    elif len(args) == 1:
        value = next(iter(args.values()))
    else:
        value = ", ".join(str(v) for v in args.values())
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def tool_call_message(
    call: ToolCall, cid: str, *, thought: str | None = None, arguments: str = "json"
) -> dict:
    """An assistant message with one tool call. arguments: "json" (a JSON string, as OpenAI sends
    them) or "dict" (an object, as some chat templates want)."""
    args: Any = dict(call.arguments)
    if arguments == "json":
        args = json.dumps(args, ensure_ascii=False, default=str)
    return {
        "role": "assistant",
        "content": thought or "",
        "tool_calls": [{"id": cid, "type": "function", "function": {"name": call.name, "arguments": args}}],
    }


def trajectory_messages(
    trajectory: Trajectory,
    *,
    info: Mapping[str, Any] | None = None,
    system: str | None = None,
    arguments: str = "json",
) -> list[dict[str, Any]]:
    """The episode as chat messages (see the module docstring). info: the env's `EnvInfo` (its
    `answer_tool`, `reply_tool`, `instructions`); system: a system message to use instead of
    `system_prompt(info)`; arguments: "json" or "dict" (see `tool_call_message`)."""
    info = info or {}
    answer_tool, reply_tool = info.get("answer_tool"), info.get("reply_tool")
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": system if system is not None else system_prompt(info)},
        {"role": "user", "content": trajectory.query},
    ]
    n_calls = 0
    for step in trajectory.steps:
        call = step.action
        if not call.name:  # raw text that held no call: the env answered what was wrong
            messages.append({"role": "assistant", "content": call.raw or step.thought or ""})
            messages.append({"role": "user", "content": step.observation})
        elif call.name == answer_tool:  # the final answer (the env's verdict is the reward)
            messages.append({"role": "assistant", "content": text_argument(call)})
        elif call.name == reply_tool:
            messages.append({"role": "assistant", "content": text_argument(call)})
            messages.append({"role": "user", "content": step.observation})
        else:
            n_calls += 1
            cid = call_id(n_calls)
            messages.append(tool_call_message(call, cid, thought=step.thought, arguments=arguments))
            messages.append(
                {"role": "tool", "tool_call_id": cid, "name": call.name, "content": step.observation}
            )
    return messages


def tool_call_problems(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    """What is wrong with the tool calls of a message list: an id used twice, a call no tool message
    answers (or answers twice), a tool message that answers no earlier call. Empty when all is well."""
    problems: list[str] = []
    open_ids: dict[str, int] = {}
    seen: set[str] = set()
    answered: set[str] = set()
    for i, m in enumerate(messages):
        if m.get("role") == "assistant":
            for tc in m.get("tool_calls") or []:
                cid = tc.get("id")
                if not cid or cid in seen:
                    problems.append(f"message {i}: tool call id {cid!r} missing or used twice")
                    continue
                seen.add(cid)
                open_ids[cid] = i
        elif m.get("role") == "tool":
            cid = m.get("tool_call_id")
            if cid in answered:
                problems.append(f"message {i}: tool call {cid!r} answered twice")
            elif cid not in open_ids:
                problems.append(f"message {i}: tool message answers no earlier call ({cid!r})")
            else:
                answered.add(cid)
                del open_ids[cid]
    problems += [f"message {i}: tool call {cid!r} never answered" for cid, i in open_ids.items()]
    return problems


def episode_row(
    record: EpisodeRecord | Mapping[str, Any],
    *,
    info: Mapping[str, Any] | None = None,
    tools: Sequence[Mapping[str, Any]] | None = None,
    system: str | None = None,
) -> dict[str, Any]:
    """One recorded episode as a dataset row (columns `ROW_COLUMNS`).

    `messages` is the whole episode (TRL's conversational language-modeling type); `prompt` (system
    and first user message) and `completion` (the rest) split it (TRL's prompt-completion type; GRPO
    reads `prompt`); `tools` is the JSON text of the tools offered (`chat_tools`), which TRL's
    trainers parse; `step_ok` has one flag per env step (its tool ran without error).
    """
    rec = EpisodeRecord.coerce(record)
    traj = rec.trajectory or Trajectory(rec.env_id, rec.task_id, "")
    messages = trajectory_messages(traj, info=info, system=system)
    offered = chat_tools(tools, info)
    error = None
    if rec.error:
        error = f"{rec.error.get('type')}: {rec.error.get('message')}"[:1000]
    return {
        "messages": messages,
        "prompt": messages[:2],
        "completion": messages[2:],
        "tools": json.dumps(offered, ensure_ascii=False) if offered else None,
        "reward": float(rec.reward),
        "success": bool(rec.success),
        "step_ok": [bool(s.ok) for s in traj.steps],
        "task_id": rec.task_id,
        "env_id": rec.env_id,
        "policy": rec.policy,
        "model": rec.model,
        "trial": int(rec.trial),
        "domain": rec.domain_or_meta(),
        "n_steps": int(rec.n_steps),
        "error": error,
    }

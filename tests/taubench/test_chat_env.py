"""`ChatEnv` on τ-bench (the fake tau_bench, scripted users): tool calls answered by tool messages, text
as the message to the user and the user's reply as a `user` message, τ-bench's reward at the end."""

from __future__ import annotations

import json

import pytest

from seer_env.chat import tool_call_problems
from tests.taubench.helpers import make_env


@pytest.mark.parametrize("env_name", ["retail", "airline"])
def test_gold_chain_through_chat_env_gets_tau_bench_reward(env_name):
    from seer_env.wrappers import ChatEnv

    env = ChatEnv(make_env(env_name))
    tau = env.unwrapped
    for tid in tau.task_ids:
        _, info = tau.reset(options={"task_id": tid, "reveal_gold": True})
        chain = info["gold"]["chain"]
        messages, info = env.reset(options={"task_id": tid})
        assert messages[0]["role"] == "system" and tau.tau_env.wiki in messages[0]["content"]
        assert messages[1] == {"role": "user", "content": info["query"]}
        assert "respond" not in {t["function"]["name"] for t in info["tools"]}
        terminated = False
        for n, call in enumerate(chain):
            if call["name"] == "respond":
                messages, reward, terminated, truncated, step_info = env.step(call["arguments"]["content"])
                assert messages[-2] == {"role": "assistant", "content": call["arguments"]["content"]}
                assert messages[-1]["role"] == "user"  # the simulated user's reply
            else:
                fn = {"name": call["name"], "arguments": json.dumps(call["arguments"])}
                action = {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [{"id": f"t{n}", "type": "function", "function": fn}],
                }
                messages, reward, terminated, truncated, step_info = env.step(action)
                assert messages[-1]["role"] == "tool" and messages[-1]["tool_call_id"] == f"t{n}"
                assert step_info["ok"] == [True]
            if terminated:
                break
        assert terminated and reward == 1.0, (env_name, tid)
        assert tool_call_problems(messages) == []

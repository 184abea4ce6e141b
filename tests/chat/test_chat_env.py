"""`ChatEnv` on ToolQA-Synth: messages in, messages out, the same conversation the export writes; under
`gymnasium.make_vec` (sync and async)."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

from seer_env.chat import tool_call_problems, trajectory_messages
from seer_env.spaces import ChatMessages
from seer_env.types import Step, ToolCall, Trajectory
from seer_env.wrappers import NOT_RUN, ChatEnv
from tests.chat.conftest import ENV, ENV_KWARGS


@pytest.fixture(scope="module")
def env():
    e = ChatEnv(gym.make(ENV, disable_env_checker=True, **ENV_KWARGS[ENV]))
    yield e
    e.close()


def gold(env, task_id: str) -> list[ToolCall]:
    _, info = env.unwrapped.reset(options={"task_id": task_id, "reveal_gold": True})
    chain = [ToolCall.from_dict(c) for c in info["gold"]["chain"]]
    if not chain or chain[-1].name != "Finish":
        chain.append(ToolCall("Finish", {"answer": str(info["gold"]["answer"])}))
    return chain


def as_message(call: ToolCall, cid: str | None = None) -> dict:
    fn = {"name": call.name, "arguments": json.dumps(call.arguments)}
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": cid, "type": "function", "function": fn}],
    }


def test_gold_chain_as_messages_scores_and_matches_the_export(env):
    task = next(t for t in env.unwrapped.task_ids if len(gold(env, t)) >= 3)
    chain = gold(env, task)
    messages, info = env.reset(options={"task_id": task})
    assert [m["role"] for m in messages] == ["system", "user"] and messages[1]["content"] == info["query"]
    names = {t["function"]["name"] for t in info["tools"]}
    assert "LoadDB" in names and "Finish" not in names  # the answer is plain text
    assert env.observation_space.contains(messages)
    steps, reward = [], 0.0
    for call in chain[:-1]:
        assert env.action_space.contains(as_message(call))
        messages, r, terminated, truncated, step_info = env.step(as_message(call))  # no id: the env gives one
        assert not (terminated or truncated) and step_info["ok"] == [True]
        steps.append(Step(call, messages[-1]["content"], ok=True))
        reward += r
    answer = chain[-1].arguments["answer"]
    messages, r, terminated, truncated, step_info = env.step({"role": "assistant", "content": answer})
    assert terminated and r == 1.0 and step_info["success"] is True
    assert messages[-1] == {"role": "assistant", "content": answer}
    assert tool_call_problems(messages) == []
    # the live conversation is what the export writes for the same episode
    traj = Trajectory(ENV, task, info["query"], steps=[*steps, Step(chain[-1], "Answer is CORRECT")])
    assert messages == trajectory_messages(traj, info=env.unwrapped.env_info)
    with pytest.raises(RuntimeError):
        env.step("more")


def test_several_calls_bad_calls_and_objects(env):
    from openai.types.chat import ChatCompletionMessage, ChatCompletionMessageToolCall
    from openai.types.chat.chat_completion_message_tool_call import Function

    env.reset(options={"task_id": env.unwrapped.task_ids[0]})
    reply = {
        "role": "assistant",
        "content": "two at once",
        "tool_calls": [
            {
                "id": "a1",
                "type": "function",
                "function": {"name": "Calculate", "arguments": '{"formula": "2+3"}'},
            },
            {"id": "a2", "type": "function", "function": {"name": "NoSuchTool", "arguments": "{}"}},
            {"id": "a3", "type": "function", "function": {"name": "Calculate", "arguments": "{not json"}},
        ],
    }
    messages, reward, terminated, truncated, info = env.step(reply)
    assert [m["tool_call_id"] for m in messages[-3:]] == ["a1", "a2", "a3"]
    assert messages[-3]["content"] == "5" and info["ok"] == [True, False, False]
    assert not terminated and reward == 0.0 and len(info["steps"]) == 3
    # an OpenAI client's message object, with the answer tool called explicitly and a call after it
    obj = ChatCompletionMessage(
        role="assistant",
        content=None,
        tool_calls=[
            ChatCompletionMessageToolCall(
                id="b1", type="function", function=Function(name="Finish", arguments='{"answer": "nope"}')
            ),
            ChatCompletionMessageToolCall(
                id="b2", type="function", function=Function(name="Calculate", arguments='{"formula": "1"}')
            ),
        ],
    )
    messages, reward, terminated, truncated, info = env.step(obj)
    assert terminated and reward == 0.0 and info["success"] is False
    assert messages[-2]["tool_call_id"] == "b1" and messages[-1] == {
        "role": "tool",
        "tool_call_id": "b2",
        "name": "Calculate",
        "content": NOT_RUN,
    }
    assert tool_call_problems(messages) == []


def test_empty_text_is_a_bad_action_not_an_answer(env):
    env.reset(options={"task_id": env.unwrapped.task_ids[0]})
    messages, reward, terminated, truncated, info = env.step("   ")
    assert not terminated and info["ok"] == [False]
    assert messages[-1]["role"] == "user" and messages[-1]["content"]  # the env says what is wrong


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_vector_env(mode):
    kw = {"vector_kwargs": {"shared_memory": False}} if mode == "async" else {}
    venv = gym.make_vec(ENV, num_envs=2, vectorization_mode=mode, wrappers=[ChatEnv], **kw, **ENV_KWARGS[ENV])
    try:
        obs, infos = venv.reset(seed=[0, 1])
        assert isinstance(obs, tuple) and len(obs) == 2
        assert all(o[0]["role"] == "system" and o[1]["role"] == "user" for o in obs)
        assert venv.observation_space == gym.spaces.Tuple((ChatMessages(), ChatMessages()))
        assert len(infos["tools"]) == 2 and "Finish" not in {t["function"]["name"] for t in infos["tools"][1]}
        calc = {"name": "Calculate", "arguments": '{"formula": "6*7"}'}
        actions = (
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"id": "c1", "type": "function", "function": calc}],
            },
            "surely 42",  # the final answer, as text
        )
        obs, rewards, terminated, truncated, infos = venv.step(actions)
        assert obs[0][-1] == {"role": "tool", "tool_call_id": "c1", "name": "Calculate", "content": "42"}
        assert list(terminated) == [False, True] and rewards[1] == 0.0
        # the next step resets the finished copy (Gymnasium's next-step autoreset) and goes on with the other
        obs, rewards, terminated, truncated, infos = venv.step(("still here", "ignored"))
        assert [m["role"] for m in obs[1]] == ["system", "user"]
        assert list(terminated) == [True, False]
    finally:
        venv.close()

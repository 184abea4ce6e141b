"""SEER as a τ-bench agent, with a scripted LLM (a litellm custom provider), on the fake tau_bench."""

from __future__ import annotations

import pytest

from tests.taubench.helpers import all_tasks, make_env, make_memory


def _agent(env, memory, split, model="seerscripted/oracle", **kw):
    from seer_env.agents.taubench.agent import SeerTauAgent

    u = env.unwrapped
    tau = u.tau_env
    return SeerTauAgent(
        tau.tools_info, tau.wiki, model, memory=memory, env_name=u.env_name, task_split=split, **kw
    )


def test_agent_subclasses_tau_bench_agent():
    from tau_bench.agents.base import Agent

    from seer_env.agents.taubench.agent import SeerTauAgent

    assert issubclass(SeerTauAgent, Agent)


def test_seer_solves_every_fake_task_through_the_gym_env(llm, tmp_path):
    memory = make_memory(tmp_path)
    env = make_env("retail", "train")
    agent = _agent(env, memory, "train")
    for tid in env.unwrapped.task_ids:
        res = agent.solve(env, task_index=int(tid))
        assert res.reward == 1.0, (tid, res.info.get("reward_breakdown"))
        assert res.info["seer"]["added_to_pool"] is True
    assert len(memory) == len(env.unwrapped.task_ids)
    # the stored intent is the set of state-changing tools used
    intents = sorted(e.intent for e in memory.experiences())
    assert intents == ["cancel_pending_order", "cancel_pending_order", "modify_user_address"]


def test_message_bookkeeping_matches_the_tool_calling_agent(llm, tmp_path):
    env = make_env("retail", "test")
    agent = _agent(env, None, "test")
    res = agent.solve(env.unwrapped.tau_env, task_index=0)
    msgs = res.messages
    assert res.reward == 1.0
    assert msgs[0] == {"role": "system", "content": env.unwrapped.tau_env.wiki}
    assert msgs[1]["role"] == "user"
    # three tool calls, each followed by its tool message, then a reply and the user's answer
    roles = [m["role"] for m in msgs[2:]]
    assert roles == ["assistant", "tool"] * 3 + ["assistant", "user"]
    for call_msg, tool_msg in zip(msgs[2:8:2], msgs[3:8:2], strict=True):
        assert len(call_msg["tool_calls"]) == 1
        assert tool_msg["tool_call_id"] == call_msg["tool_calls"][0]["id"]
        assert tool_msg["name"] == call_msg["tool_calls"][0]["function"]["name"]
    assert msgs[-1] == {"role": "user", "content": "###STOP###"}
    # τ-bench's info: the task, the source and the reward info of the last step
    assert res.info["task"]["user_id"] == "alice_smith_1000"
    assert res.info["reward_info"]["reward"] == 1.0


def test_recalled_successes_reach_the_prompt_and_only_train_grows_the_pool(llm, tmp_path):
    memory = make_memory(tmp_path)
    train = make_env("retail", "train")
    test = make_env("retail", "test")
    train_agent = _agent(train, memory, "train")
    train_agent.solve(train, task_index=0)  # carol cancels #W0000004
    assert len(memory) == 1
    test_agent = _agent(test, memory, "test")
    llm.requests.clear()
    res = test_agent.solve(test, task_index=0)  # alice cancels #W0000001
    assert res.reward == 1.0
    assert res.info["seer"]["predicted_intent"] == "cancel_pending_order"
    assert res.info["seer"]["added_to_pool"] is False  # test split: never stored
    assert len(memory) == 1
    prompts = [r["messages"][0]["content"] for r in llm.requests if r["tools"]]
    assert prompts and all("Past conversations that ended well" in p for p in prompts)
    assert all("#W0000004" in p for p in prompts)  # the train conversation, as a transcript
    assert any(r["messages"][0]["content"] == test.unwrapped.tau_env.wiki for r in llm.requests) is False
    assert res.messages[0]["content"] == test.unwrapped.tau_env.wiki  # stored as ToolCallingAgent does
    assert all(ids for ids in res.info["seer"]["recalled_ids"])


def test_failures_never_enter_the_pool(llm, tmp_path):
    memory = make_memory(tmp_path)
    env = make_env("retail", "train")
    agent = _agent(env, memory, "train", model="seerscripted/lazy")
    for tid in env.unwrapped.task_ids:
        res = agent.solve(env, task_index=int(tid))
        assert res.reward == 0.0 and res.info["seer"]["added_to_pool"] is False
    assert len(memory) == 0


def test_step_cap_ends_with_reward_zero(llm, tmp_path):
    env = make_env("retail", "test")
    agent = _agent(env, None, "test")
    res = agent.solve(env.unwrapped.tau_env, task_index=0, max_num_steps=2)
    assert res.reward == 0.0 and res.info.get("reward_info") is None
    assert len([m for m in res.messages if m["role"] == "assistant"]) == 2


def test_seer_policy_plays_through_the_harness_runner(llm, tmp_path):
    """The same agent logic as a seer-env Policy, run by `seer-env run`'s Runner on TauBench-retail-v0."""
    from seer_env.agents.taubench.policy import SeerTauPolicy
    from seer_env.llm import LLMClient
    from seer_env.records import read_records
    from seer_env.runner import PolicyEntry, Runner, run_sync

    memory = make_memory(tmp_path)
    client = LLMClient("seerscripted/oracle")
    entry = PolicyEntry(
        label="seer-tau", factory=lambda env_id: SeerTauPolicy(client, memory), accumulates=True
    )
    out = tmp_path / "run"
    runner = Runner(
        ["TauBench-retail-v0"],
        [entry],
        out,
        env_kwargs={"*": {"user_strategy": "scripted", "task_split": "train"}},
        concurrency=1,
        fsync=False,
    )
    run_sync(runner)
    records = read_records(out / "results.jsonl")
    n = len(all_tasks("retail", "train"))
    assert len(records) == n and all(r["success"] for r in records), [r.get("error") for r in records]
    assert len(memory) == n
    # the model never saw `respond` as a tool: replies to the user are plain messages
    tool_names = {t["function"]["name"] for r in llm.requests if r["tools"] for t in r["tools"]}
    assert "respond" not in tool_names and "cancel_pending_order" in tool_names


def _without_ids(messages):
    out = []
    for m in messages:
        m = dict(m)
        m.pop("tool_call_id", None)
        if m.get("tool_calls"):
            m["tool_calls"] = [{k: v for k, v in c.items() if k != "id"} for c in m["tool_calls"]]
        out.append(m)
    return out


@pytest.mark.parametrize("env_name", ["retail", "airline"])
def test_without_a_pool_seer_writes_what_tau_bench_tool_calling_agent_writes(llm, monkeypatch, env_name):
    """Same scripted model, same tasks: identical messages, rewards and info (tool-call ids aside)."""
    import litellm
    import tau_bench.agents.tool_calling_agent as tca

    # litellm >= 1.8x imports the optional `mcp` package for any call with tools unless told not to
    monkeypatch.setattr(tca, "completion", lambda **kw: litellm.completion(_skip_mcp_handler=True, **kw))
    env = make_env(env_name, "test")
    tau = env.unwrapped.tau_env
    baseline = tca.ToolCallingAgent(tau.tools_info, tau.wiki, "oracle", "seerscripted")
    seer = _agent(env, None, "test")
    for idx in range(len(tau.tasks)):
        a = baseline.solve(tau, task_index=idx)
        b = seer.solve(tau, task_index=idx)
        assert a.reward == b.reward == 1.0
        assert _without_ids(a.messages) == _without_ids(b.messages)
        assert {k: v for k, v in b.info.items() if k != "seer"} == a.info

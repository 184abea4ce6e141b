"""SEER and the other LLM policies against the loopback model, on the tiny env, with a real pool."""

from __future__ import annotations

import asyncio
import threading
import time

import gymnasium as gym
import pytest

from seer_env.agents import SyncPolicy, make_policy
from seer_env.agents.prompts import EXAMPLES_HEADER, parse_intent
from seer_env.agents.seer import open_memory
from seer_env.llm import LLMClient
from seer_env.policy import StopEpisode
from seer_env.types import ToolCall
from tests.harness import tiny_env
from tests.harness.conftest import TINY
from tests.harness.helpers import RecallSpy


def make_client(srv) -> LLMClient:
    return LLMClient("openai/scripted", api_base=srv.base_url, api_key="sk", timeout=3, backoff_base=0)


async def play(env, policy, task_id: str, reveal: bool = False):
    """A plain episode loop (what the runner does, minus recording); returns steps and final info."""
    obs, info = env.reset(options={"task_id": task_id, **({"reveal_gold": True} if reveal else {})})
    policy.reset(seed=0, info=info)
    steps, final, info0 = [], {}, dict(info)
    from seer_env.types import Step, Trajectory

    for _ in range(20):
        try:
            action = await policy.act(obs, info)
        except StopEpisode:
            break
        obs, reward, term, trunc, final = await asyncio.to_thread(env.step, action)
        steps.append(
            Step(action, obs, ok=final.get("ok", True), thought=getattr(policy, "last_thought", None))
        )
        if term or trunc:
            break
        info = {**info0, **final}
    traj = Trajectory(
        "Tiny-v0",
        task_id,
        info0["query"],
        intent=getattr(policy, "intent", None),
        steps=steps,
        answer=final.get("answer"),
        reward=float(final.get("success", False)),
        success=bool(final.get("success", False)),
    )
    return traj


@pytest.fixture()
def memory(tmp_path, hash_embedder):
    mem = open_memory(tmp_path / "pool.sqlite", "toolqa", embedder=hash_embedder)
    yield mem
    mem.close()


async def test_random_policy_draws_depend_on_the_episode_seed_only():
    """A reused instance draws what a fresh one draws for the same seed (so records do not depend on
    which instance the runner handed out, i.e. on concurrency)."""
    env = gym.make(TINY, disable_env_checker=True)
    _, info = env.reset(options={"task_id": env.unwrapped.task_ids[0]})

    async def actions(policy, seed):
        policy.reset(seed=seed, info=info)
        return [await policy.act("", info) for _ in range(5)]

    fresh = await actions(make_policy("random"), 7)
    reused = make_policy("random")
    await actions(reused, 3)
    assert await actions(reused, 7) == fresh
    assert await actions(reused, 8) != fresh


def test_parse_intent_takes_last_valid_label():
    labels = ["flight", "coffee"]
    assert parse_intent("maybe [coffee] but really [flight]", labels) == "flight"
    assert parse_intent("[flight] then [nonsense]", labels) == "flight"
    assert parse_intent("I think [Coffee]", labels) == "coffee"
    assert parse_intent("no label here", labels) is None


@pytest.mark.parametrize("strategy,expected_recalls", [("process", 2), ("goal", 1), ("hybrid", 2)])
async def test_seer_recalls_per_strategy_and_prompts_hold_exemplars(
    serve, scripted, memory, strategy, expected_recalls
):
    srv = serve(scripted)
    spy = RecallSpy(memory)
    policy = make_policy("seer", client=make_client(srv), memory=spy, strategy=strategy)
    env = gym.make(TINY, disable_env_checker=True)
    before = len(memory)
    traj = await play(env, policy, "t001")
    assert traj.success and traj.intent == "math"
    # two steps (Add, Finish): process/hybrid recall before each, goal only before the first
    assert [r["steps"] for r in spy.recalls] == list(range(expected_recalls))
    assert {r["strategy"] for r in spy.recalls} == {strategy}
    prompts = [
        b["messages"][0]["content"] for b in srv.requests if "(END OF TOOLS)" in b["messages"][0]["content"]
    ]
    assert len(prompts) == 2
    recalled = memory.get([int(i) for i in policy.exemplar_ids[0]])
    assert len(recalled) == 4
    for p in prompts:
        assert EXAMPLES_HEADER in p
        for exp in recalled if strategy == "goal" else []:
            assert f"Question: {exp.query}" in p
    if strategy != "goal":  # every step's prompt holds that step's recall
        for p, ids in zip(prompts, policy.exemplar_ids, strict=True):
            for exp in memory.get([int(i) for i in ids]):
                assert f"Question: {exp.query}" in p
    await policy.aobserve(traj)
    assert len(memory) == before + 1


async def test_seer_accumulates_only_successes(serve, tiny_answers, memory):
    from tests.harness.scripted import ScriptedModel

    tasks = tiny_env.make_tasks(60)[:8]
    wrong = {tasks[1]["query"], tasks[4]["query"]}
    srv = serve(ScriptedModel(tiny_answers, wrong=wrong))
    policy = make_policy("seer", client=make_client(srv), memory=memory)
    env = gym.make(TINY, disable_env_checker=True)
    before = len(memory)
    results = []
    for t in tasks:
        traj = await play(env, policy, t["id"])
        await policy.aobserve(traj)
        results.append(traj)
    ok = [t for t in results if t.success]
    assert len(ok) == 6
    assert len(memory) == before + len(ok)
    stored = {e.query for e in memory.experiences()}
    assert not (wrong & stored)
    assert {t.query for t in ok} <= stored
    # later episodes recall the successes stored before them
    last_prompt = srv.requests[-1]["messages"][0]["content"]
    assert any(f"Question: {t.query}" in last_prompt for t in ok[:-1])


async def test_seer_stops_at_first_error_unless_told(serve, memory):
    def brain(body):
        text = body["messages"][0]["content"]
        if "Reply with exactly one label" in text:
            return {"content": "[lookup]"}
        if "Result 1:" in text.split("(END OF EXAMPLES)")[-1]:
            return {"content": "<CALL_BEGIN>Finish[5]<CALL_END>"}
        return {"content": "<CALL_BEGIN>Lookup[nokey]<CALL_END>"}  # fails: no such key

    srv = serve(brain)
    env = gym.make(TINY, disable_env_checker=True)
    stop = make_policy("seer", client=make_client(srv), memory=memory)
    traj = await play(env, stop, "t000")
    assert [s.action.name for s in traj.steps] == ["Lookup"] and not traj.steps[0].ok
    go_on = make_policy("seer", client=make_client(srv), memory=memory, continue_on_error=True)
    traj = await play(env, go_on, "t000")
    assert [s.action.name for s in traj.steps] == ["Lookup", "Finish"]


async def test_seer_step_cap(serve, memory):
    srv = serve(lambda body: {"content": "again <CALL_BEGIN>Lookup[k1]<CALL_END>"})
    env = gym.make(TINY, disable_env_checker=True, max_steps=50)
    policy = make_policy("seer", client=make_client(srv), memory=memory, max_steps=6, classify=False)
    traj = await play(env, policy, "t000")
    assert len(traj.steps) == 6 and not traj.success
    policy3 = make_policy("seer", client=make_client(srv), memory=memory, max_steps=3, classify=False)
    assert len((await play(env, policy3, "t000")).steps) == 3


async def test_next_recall_starts_while_the_tool_runs(serve, scripted, memory):
    """Process strategy: the recall for step 2 begins before the env has returned step 1's result."""
    events: list = []
    lock = threading.Lock()

    class Recorded(gym.Wrapper):
        def step(self, action):
            with lock:
                events.append(("step_start", action.name))
            out = self.env.step(action)
            with lock:
                events.append(("step_end", action.name))
            return out

    srv = serve(scripted)
    spy = RecallSpy(memory, events)
    env = Recorded(gym.make(TINY, disable_env_checker=True, slow=0.3))
    policy = make_policy("seer", client=make_client(srv), memory=spy, strategy="process")
    traj = await play(env, policy, "t002")
    assert traj.success
    assert events.index(("recall", 1)) < events.index(("step_end", "Lookup"))
    # without prefetch the recall waits for the result
    events.clear()
    policy = make_policy("seer", client=make_client(srv), memory=spy, strategy="process", prefetch=False)
    await play(env, policy, "t002")
    assert events.index(("recall", 1)) > events.index(("step_end", "Lookup"))


@pytest.mark.parametrize("fmt", ["text", "tools"])
async def test_react_both_action_formats(serve, scripted, fmt):
    srv = serve(scripted)
    policy = make_policy("react", client=make_client(srv), action_format=fmt)
    env = gym.make(TINY, disable_env_checker=True)
    traj = await play(env, policy, "t003")
    assert traj.success
    assert [s.action.name for s in traj.steps] == ["Add", "Finish"]
    if fmt == "tools":
        assert all(b.get("tools") for b in srv.requests)
        assert srv.requests[-1]["messages"][-1]["role"] == "tool"
    else:
        assert not any(b.get("tools") for b in srv.requests)


async def test_seer_function_calling_mode(serve, scripted, memory):
    srv = serve(scripted)
    policy = make_policy("seer", client=make_client(srv), memory=memory, action_format="tools")
    traj = await play(gym.make(TINY, disable_env_checker=True), policy, "t005")
    assert traj.success
    assert any(b.get("tools") for b in srv.requests)


async def test_fewshot_uses_seed_exemplars_and_fewshot_random_draws_from_pool(serve, scripted, memory):
    from seer_env.agents.seer import seed_trajectories

    srv = serve(scripted)
    seeds = seed_trajectories("toolqa")
    fixed = make_policy("fewshot", client=make_client(srv))
    traj = await play(gym.make(TINY, disable_env_checker=True), fixed, "t007")
    assert traj.success
    prompt = srv.requests[-1]["messages"][0]["content"]
    assert all(f"Question: {s.query}" in prompt for s in seeds)
    rand = make_policy("fewshot-random", client=make_client(srv), memory=memory, k=3)
    traj = await play(gym.make(TINY, disable_env_checker=True), rand, "t009")
    assert traj.success
    prompt = srv.requests[-1]["messages"][0]["content"]
    assert sum(f"Question: {s.query}" in prompt for s in seeds) == 3


def test_sync_policy_in_a_plain_gym_loop(serve, scripted, memory):
    srv = serve(scripted)
    policy = SyncPolicy(make_policy("seer", client=make_client(srv), memory=memory))
    env = gym.make(TINY, disable_env_checker=True)
    obs, info = env.reset(options={"task_id": "t011"})
    policy.reset(seed=0, info=info)
    t0 = time.time()
    for _ in range(6):
        action = policy.act(obs, info)
        assert isinstance(action, ToolCall)
        obs, reward, term, trunc, step_info = env.step(action)
        if term:
            break
        info = {**info, **step_info}
    assert reward == 1.0 and time.time() - t0 < 60


async def test_unreadable_output_goes_to_the_env_as_text(serve, memory):
    srv = serve(
        lambda body: (
            {"content": "[math]"}
            if "Reply with exactly one label" in body["messages"][0]["content"]
            else {"content": "I think I should add <CALL_BEGIN>Add 1 2"}
        )
    )
    env = gym.make(TINY, disable_env_checker=True)
    obs, info = env.reset(options={"task_id": "t001"})
    policy = make_policy("seer", client=make_client(srv), memory=memory, continue_on_error=True)
    policy.reset(seed=0, info=info)
    action = await policy.act(obs, info)
    assert isinstance(action, str) and "<CALL_BEGIN>Add 1 2" in action
    obs, _, _, _, step_info = env.step(action)
    assert step_info["error"] == "parse" and not step_info["ok"]
    await policy.act(obs, {**info, **step_info})
    # the scratchpad shows the unreadable step as written, and the env's message as its result
    prompt = srv.requests[-1]["messages"][0]["content"].split("(END OF EXAMPLES)")[-1]
    assert "Step 1: I think I should add <CALL_BEGIN>Add 1 2" in prompt
    assert f"Result 1: {obs}" in prompt
    stop = make_policy("seer", client=make_client(srv), memory=memory)
    traj = await play(env, stop, "t001")
    assert len(traj.steps) == 1 and not traj.steps[0].ok and not traj.success

"""TauBenchEnv over the fake tau_bench: checker, gold replay, τ-bench's reward, its known pitfalls."""

from __future__ import annotations

import copy
import pickle
import random

import pytest

from tests.taubench.helpers import STOP, all_tasks, make_env

DOMAINS = [("retail", "test"), ("retail", "train"), ("retail", "dev"), ("airline", "test")]


def _write_tools(env_name: str) -> set[str]:
    env = make_env(env_name)
    return set(env.unwrapped.write_tools)


@pytest.mark.parametrize("env_name", ["retail", "airline"])
def test_check_env_passes(env_name):
    from gymnasium.utils.env_checker import check_env

    env = make_env(env_name, max_steps=5)
    check_env(env.unwrapped, skip_render_check=True)


def test_reset_info_follows_the_contract():
    env = make_env("retail")
    obs, info = env.reset(seed=0)
    u = env.unwrapped
    assert u.task_ids == [str(i) for i in range(len(all_tasks("retail", "test")))]
    assert info["task_id"] in u.task_ids and info["domain"] == "retail"
    assert info["query"] == obs and "gold" not in info
    names = [t["function"]["name"] for t in info["tools"]]
    assert "respond" in names and "cancel_pending_order" in names
    assert (
        "cancel_pending_order" in info["intent_labels"] and "get_order_details" not in info["intent_labels"]
    )
    assert info["policy"] == u.tau_env.wiki
    _, info = env.reset(options={"task_id": "1", "reveal_gold": True})
    assert info["task_id"] == "1" and info["gold"]["outputs"] == ["1045"]
    assert info["gold"]["chain"][0]["name"] == "find_user_id_by_email"


@pytest.mark.parametrize("env_name,split", DOMAINS)
def test_gold_actions_replayed_give_reward_one(env_name, split):
    env = make_env(env_name, split)
    for tid in env.unwrapped.task_ids:
        _, info = env.reset(options={"task_id": tid, "reveal_gold": True})
        terminated = truncated = False
        reward = None
        for call in info["gold"]["chain"]:
            _, reward, terminated, truncated, step_info = env.step(call)
            if terminated or truncated:
                break
        assert terminated and not truncated, (env_name, split, tid)
        assert reward == 1.0 and step_info["success"], (env_name, split, tid, step_info["reward_breakdown"])
        assert step_info["reward_breakdown"]["r_actions"] is True


def _tau_do_nothing_reward(env_name: str, split: str, idx: int, message: str) -> float:
    """τ-bench's own reward for an agent that only answers once, on a raw τ-bench Env."""
    from tau_bench.envs import get_env
    from tau_bench.types import Action

    from seer_env.envs.taubench.users import ScriptedUser, offline_factory, user_override

    with user_override(offline_factory()):
        tau = get_env(env_name, "scripted", "m", split, task_index=idx)
    tau.user = ScriptedUser({})
    tau.reset(task_index=idx)
    res = tau.step(Action(name="respond", kwargs={"content": message}))
    assert res.done
    return res.reward


@pytest.mark.parametrize("env_name,split", DOMAINS)
def test_do_nothing_gets_exactly_tau_bench_reward(env_name, split):
    env = make_env(env_name, split)
    writes = _write_tools(env_name) - {"transfer_to_human_agents"}
    tasks = all_tasks(env_name, split)
    for tid in env.unwrapped.task_ids:
        env.reset(options={"task_id": tid})
        _, reward, terminated, _, info = env.step({"name": "respond", "arguments": {"content": "Sorry, no."}})
        assert terminated
        expected = _tau_do_nothing_reward(env_name, split, int(tid), "Sorry, no.")
        assert reward == expected, (env_name, split, tid)
        # independent check: doing nothing passes exactly when nothing had to change or be said
        task = tasks[int(tid)]
        trivial = not task.outputs and not any(a.name in writes for a in task.actions)
        assert (reward == 1.0) == trivial, (env_name, split, tid)


def test_output_task_breakdown_keeps_the_data_hash_verdict():
    env = make_env("retail")
    env.reset(options={"task_id": "1"})
    *_, info = env.step({"name": "respond", "arguments": {"content": "It cost 1,045 dollars."}})
    bd = info["reward_breakdown"]
    assert bd["reward"] == 1.0 and bd["r_outputs"] == 1.0 and bd["outputs"] == {"1045": True}
    assert bd["r_actions"] is True and bd["data_hash"] == bd["gt_data_hash"]
    assert info["reward_info"]["info"] == {"r_outputs": 1.0, "outputs": {"1045": True}}
    # a wrong database with the right output: τ-bench reports only r_outputs; we keep r_actions
    env.reset(options={"task_id": "1"})
    env.step(
        {"name": "cancel_pending_order", "arguments": {"order_id": "#W0000003", "reason": "no longer needed"}}
    )
    _, reward, _, _, info = env.step({"name": "respond", "arguments": {"content": "You paid 1045."}})
    assert reward == 0.0 and info["reward_breakdown"]["r_outputs"] == 1.0
    assert info["reward_breakdown"]["r_actions"] is False


def test_step_after_termination_is_refused_and_no_second_reward():
    env = make_env("retail")
    env.reset(options={"task_id": "0"})
    *_, terminated, _, info = env.step({"name": "respond", "arguments": {"content": "bye"}})
    assert terminated and info["success"] is False
    for _ in range(2):
        with pytest.raises(RuntimeError, match="episode is over"):
            env.unwrapped.step({"name": "respond", "arguments": {"content": "again"}})
    # a fresh reset plays again
    obs, _ = env.reset(options={"task_id": "0"})
    assert obs


def test_step_before_reset_is_refused():
    env = make_env("retail").unwrapped
    with pytest.raises(RuntimeError, match="call reset"):
        env.step({"name": "think", "arguments": {"thought": "x"}})


def test_truncation_at_max_steps_gives_reward_zero():
    env = make_env("retail", max_steps=3)
    env.reset(options={"task_id": "2"})  # a task doing nothing would pass
    outs = [env.step({"name": "think", "arguments": {"thought": f"t{i}"}}) for i in range(3)]
    assert [o[3] for o in outs] == [False, False, True]
    assert all(o[1] == 0.0 and not o[2] for o in outs)
    assert outs[-1][4]["success"] is False and outs[-1][4]["truncated_at"] == 3
    with pytest.raises(RuntimeError):
        env.unwrapped.step({"name": "think", "arguments": {"thought": "late"}})


BAD_ACTIONS = [
    ("not a tool call ((", "parse"),
    ({"name": "no_such_tool", "arguments": {"x": 1}}, "unknown_tool"),
    ({"name": "get_order_details", "arguments": {}}, "bad_arguments"),
    ({"name": "get_order_details", "arguments": {"order_id": "#W0000001", "x": 1}}, "bad_arguments"),
    ({"name": "get_order_details", "arguments": {"order_id": "#nope"}}, "tool_error"),
    ({"name": "cancel_pending_order", "arguments": {"order_id": ["#W0000001"], "reason": "x"}}, "tool_error"),
    ({"name": "calculate", "arguments": {"expression": "1/0"}}, "tool_error"),
    ({"name": "respond", "arguments": {}}, "bad_arguments"),
    ({"name": "respond", "arguments": {"content": None}}, "bad_arguments"),
    ({"name": "respond", "arguments": {"content": "   "}}, "bad_arguments"),
]


@pytest.mark.parametrize("action,kind", BAD_ACTIONS)
def test_bad_actions_never_raise(action, kind):
    env = make_env("retail")
    env.reset(options={"task_id": "0"})
    obs, reward, terminated, truncated, info = env.step(action)
    assert isinstance(obs, str) and obs
    assert reward == 0.0 and not terminated and not truncated
    assert info["ok"] is False and info["error"] == kind
    # the episode goes on
    obs, *_ = env.step({"name": "think", "arguments": {"thought": "ok"}})
    assert obs == ""


def test_tool_returning_none_becomes_an_error_observation():
    env = make_env("airline")
    env.reset(options={"task_id": "1"})
    call = {"name": "send_certificate", "arguments": {"user_id": "noah_kim_2000", "amount": 50}}
    results = [env.step(call) for _ in range(4)]
    assert all(r[4]["ok"] for r in results[:3])
    obs, reward, terminated, _, info = results[3]  # the 4th returns None: pydantic fails inside τ-bench
    assert obs.startswith("Error:") and info["error"] == "tool_error" and not terminated


def test_arguments_are_deep_copied_before_tau_bench_sees_them():
    from seer_env.types import ToolCall

    env = make_env("retail")
    env.reset(options={"task_id": "3"})
    tau = env.unwrapped.tau_env
    seen = []
    original = tau.step

    def spy(action):
        seen.append(action)
        return original(action)

    tau.step = spy
    args = {
        "user_id": "bob_jones_2000",
        "address1": "9 Elm St",
        "address2": "",
        "city": "Troy",
        "state": "NY",
        "country": "USA",
        "zip": "12180",
    }
    nested = {"expression": "1+1"}
    call = ToolCall("modify_user_address", args)
    before = copy.deepcopy(args)
    env.step(call)
    env.step(ToolCall("calculate", nested))
    assert seen[0].kwargs == before and seen[0].kwargs is not args
    assert seen[1].kwargs is not nested
    # τ-bench mutating what it got leaves the agent's action intact
    seen[0].kwargs["city"] = "changed"
    assert call.arguments["city"] == "Troy"


def test_task_draw_uses_the_env_generator_not_global_random():
    env = make_env("retail")
    ids = env.unwrapped.task_ids
    drawn = []
    for seed in range(40):
        random.seed(12345)  # τ-bench's global generator would give the same draw every time
        _, info = env.reset(seed=seed)
        drawn.append(info["task_id"])
    assert set(drawn) == set(ids)  # never out of range, every task reachable
    a = [make_env("retail").reset(seed=s)[1]["task_id"] for s in (3, 4, 5)]
    b = [make_env("retail").reset(seed=s)[1]["task_id"] for s in (3, 4, 5)]
    assert a == b


def test_tau_env_is_built_once_and_load_user_is_restored():
    import tau_bench.envs.base as base
    import tau_bench.envs.user as user_mod

    original = base.load_user
    env = make_env("retail")
    tau = env.unwrapped.tau_env
    for tid in env.unwrapped.task_ids:
        env.reset(options={"task_id": tid})
        assert env.unwrapped.tau_env is tau
        assert tau.task_index == int(tid)
    assert base.load_user is original and user_mod.load_user is original
    with pytest.raises(ValueError):  # τ-bench itself still rejects the offline names
        user_mod.load_user("scripted")


def test_scripted_user_follows_its_script_by_task_index():
    scripts = {"0": ["I want to cancel #W0000001.", "Yes, no longer needed.", STOP]}
    env = make_env("retail", user_data=scripts)
    obs, _ = env.reset(options={"task_id": "0"})
    assert obs == "I want to cancel #W0000001."
    obs, _, terminated, *_ = env.step({"name": "respond", "arguments": {"content": "Why?"}})
    assert obs == "Yes, no longer needed." and not terminated
    obs, _, terminated, *_ = env.step({"name": "respond", "arguments": {"content": "Done."}})
    assert obs == STOP and terminated


def test_replay_user_answers_from_a_recorded_run():
    from tau_bench.types import EnvRunResult

    tasks = all_tasks("retail", "test")
    traj = [
        {"role": "system", "content": "wiki"},
        {"role": "user", "content": "Hi, cancel my order please."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "think", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "name": "think", "content": ""},
        {"role": "assistant", "content": "Which order?"},
        {"role": "user", "content": "#W0000001"},
        {"role": "assistant", "content": "Cancelled."},
        {"role": "user", "content": STOP},
    ]
    record = EnvRunResult(task_id=0, reward=0.0, info={"task": tasks[0].model_dump()}, traj=traj, trial=0)
    env = make_env("retail", user_strategy="replay", user_data=[record.model_dump()])
    obs, _ = env.reset(options={"task_id": "0"})
    assert obs == "Hi, cancel my order please."
    env.step({"name": "think", "arguments": {"thought": "tool calls do not reach the user"}})
    obs, *_ = env.step({"name": "respond", "arguments": {"content": "Which  order?"}})
    assert obs == "#W0000001"
    obs, _, terminated, *_ = env.step({"name": "respond", "arguments": {"content": "Cancelled."}})
    assert obs == STOP and terminated
    # a conversation that leaves the recording ends
    env.reset(options={"task_id": "0"})
    obs, _, terminated, *_ = env.step({"name": "respond", "arguments": {"content": "Something else"}})
    assert obs == STOP and terminated
    assert env.unwrapped.tau_env.user.misses == 1


def test_env_pickles_and_runs_after_unpickling():
    env = make_env("retail").unwrapped
    env.reset(seed=1)
    clone = pickle.loads(pickle.dumps(env))
    obs, info = clone.reset(options={"task_id": "4", "reveal_gold": True})
    for call in info["gold"]["chain"]:
        _, reward, terminated, *_ = clone.step(call)
    assert terminated and reward == 1.0


def test_async_vector_env_runs():
    import gymnasium as gym

    import seer_env  # noqa: F401

    fns = [lambda: gym.make("TauBench-retail-v0", user_strategy="scripted") for _ in range(2)]
    venv = gym.vector.AsyncVectorEnv(fns, shared_memory=False, context="fork")
    try:
        obs, info = venv.reset(seed=[0, 1])
        assert len(obs) == 2 and all(isinstance(o, str) for o in obs)
        actions = (
            {"name": "respond", "arguments": {"content": "bye"}},
            {"name": "respond", "arguments": {"content": "bye"}},
        )
        _, rewards, terminated, _, _ = venv.step(actions)
        assert list(terminated) == [True, True]
        assert set(rewards.tolist()) <= {0.0, 1.0}
    finally:
        venv.close()


def test_unknown_split_and_env_name_fail_like_tau_bench():
    with pytest.raises(ValueError, match="Unknown task split"):
        make_env("airline", "train")
    from seer_env.envs.taubench.env import TauBenchEnv

    with pytest.raises(ValueError, match="Unknown environment"):
        TauBenchEnv(env_name="bank", user_strategy="scripted")


def test_a_failing_user_simulator_raises_and_ends_the_episode():
    from seer_env.envs.taubench.env import UserSimulatorError
    from seer_env.envs.taubench.users import replay_key

    task = all_tasks("retail", "test")[0]
    records = {replay_key(task.instruction, []): "Hello."}  # a recording of the opening only
    env = make_env("retail", user_strategy="replay", user_data=records)
    env.unwrapped.tau_env.user.on_miss = "error"
    obs, _ = env.reset(options={"task_id": "0"})
    assert obs == "Hello."
    with pytest.raises(UserSimulatorError, match="ReplayMiss"):
        env.step({"name": "respond", "arguments": {"content": "Off script"}})
    with pytest.raises(RuntimeError, match="episode is over"):
        env.unwrapped.step({"name": "think", "arguments": {"thought": "x"}})

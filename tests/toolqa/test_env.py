from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import seer_env  # noqa: F401  (registers the IDs)
from seer_env.agents.random import RandomPolicy
from seer_env.envs.toolqa.env import ToolQAEnv
from seer_env.envs.toolqa.questions import DOMAINS
from seer_env.policy import SyncPolicy
from seer_env.types import ToolCall
from tests.toolqa.fixture import hash_embedder

REPO = Path(__file__).parents[2]


@pytest.mark.parametrize("env_id", ["ToolQA-easy-v0", "ToolQA-hard-v0"])
def test_check_env(env_id, toolqa_root):
    env = gym.make(env_id, data_dir=str(toolqa_root), embedder=hash_embedder, python_timeout=2, sql_timeout=2)
    try:
        check_env(env.unwrapped, skip_render_check=True)
    finally:
        env.close()


def test_reset_info_and_gold(make_env):
    env = make_env("easy")
    obs, info = env.reset(seed=0, options={"task_id": "easy-flight-0000", "reveal_gold": True})
    assert obs == "What was the departure time of the DL1575 flight from ATL to MCO on 2022-01-12?"
    assert info["task_id"] == "easy-flight-0000" and info["domain"] == "flight"
    assert info["intent_labels"] == list(DOMAINS)
    assert info["query"] == obs
    assert {t["function"]["name"] for t in info["tools"]} == {t.name for t in env.tool_specs}
    assert info["gold"]["answer"] == "11:23"
    _, info = env.reset(seed=0, options={"task_id": "easy-flight-0000"})
    assert "gold" not in info
    json.dumps(info)  # JSON-like
    with pytest.raises(ValueError):
        env.reset(options={"task_id": "nope"})


def test_seeded_reset_is_deterministic(make_env):
    env = make_env("easy")
    first = [env.reset(seed=s)[1]["task_id"] for s in range(20)]
    again = [env.reset(seed=s)[1]["task_id"] for s in range(20)]
    assert first == again
    assert len(set(first)) > 3
    assert set(env.task_ids) >= set(first)


def test_task_ids_unique_with_reused_qids(make_env):
    env = make_env("hard")
    assert len(env.task_ids) == len(set(env.task_ids))
    assert "hard-yelp-0000" in env.task_ids
    q = [env.question(t) for t in env.task_ids if env.question(t).qid == "hard-yelp-0000"]
    assert {x.domain for x in q} == {"yelp", "airbnb"}


def test_solve_each_domain_and_finish(make_env):
    env = make_env("easy")
    env.reset(options={"task_id": "easy-dblp-0000"})
    env.step("LoadGraph[dblp]")
    obs, *_ = env.step(ToolCall("NodeCheck", {"GraphName": "AuthorNet", "Node": "Chao Zhang"}))
    assert obs == "{'org': 'MIT'}"
    obs, reward, terminated, truncated, info = env.step({"name": "Finish", "arguments": {"answer": "MIT"}})
    assert (obs, reward, terminated, truncated) == ("Answer is CORRECT", 1.0, True, False)
    assert info["answer"] == "MIT" and info["success"] is True
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step("Finish[MIT]")
    env.reset(options={"task_id": "easy-gsm8k-0000"})
    obs, *_ = env.step("PythonInterpreter[ans = 3 + 4]")
    obs, reward, *_ = env.step("Finish[7]")
    assert obs == "Answer is INCORRECT" and reward == 0.0  # EM: '7' vs gold 7.0
    env.reset(options={"task_id": "easy-gsm8k-0000"})
    assert env.step("Finish[7.0]")[1] == 1.0


def test_numeric_scorer_and_answer_var(make_env):
    env = make_env("easy", scorer="numeric", answer_var="answer")
    env.reset(options={"task_id": "easy-gsm8k-0000"})
    assert env.step("PythonInterpreter[answer = 3 + 4]")[0] == "7"
    assert "answer" in next(t for t in env.tool_specs if t.name == "PythonInterpreter").description
    assert env.step("Finish[7]")[1] == 1.0


def test_max_steps_truncates(make_env):
    env = make_env("easy", max_steps=3)
    env.reset(seed=1)
    for i in range(3):
        obs, reward, terminated, truncated, info = env.step("Calculate[1+1]")
        assert reward == 0.0 and not terminated
        assert truncated is (i == 2)
    assert info["success"] is False and info["answer"] is None
    with pytest.raises(RuntimeError):
        env.step("Finish[x]")
    env.reset(seed=1)  # a reset starts over
    assert env.step("Calculate[2*3]")[0] == "6"


def test_thought_mentioning_tools_is_not_two_actions(make_env):
    env = make_env("easy")
    env.reset(seed=0)
    obs, *_, info = env.step(
        "I will run LoadDB[coffee], FilterDB[Date=x] next. <CALL_BEGIN>Calculate[1+2]<CALL_END>"
    )
    assert obs == "3" and info["ok"]
    obs, *_ = env.step("Action 2: LoadDB[coffee], GetValue[Open]")
    assert obs == "You are sending multiple actions at once. Please send one action at a time."


def test_max_obs_chars(make_env):
    env = make_env("easy", max_obs_chars=50)
    env.reset(seed=0)
    env.step("LoadDB[coffee]")
    obs, *_ = env.step("GetValue[Date]")
    assert obs == "2000-01-03, 2000-01-04, 2000-01-05, 2000-01-06, 20...[too long, cannot be fully displayed]"
    full = make_env("easy")
    full.reset(seed=0)
    full.step("LoadDB[coffee]")
    assert len(full.step("GetValue[Date]")[0].split(", ")) == 200


def test_state_does_not_leak_across_episodes(make_env):
    env = make_env("easy")
    env.reset(seed=0)
    env.step("LoadDB[coffee]")
    env.reset(seed=0)
    obs, *_ = env.step("GetValue[Open]")
    assert obs == "The value you are querying does not exist. Please modify it."


def test_missing_data_dir_message(monkeypatch):
    monkeypatch.delenv("TOOLQA_DATA_DIR", raising=False)
    with pytest.raises(ValueError) as err:
        gym.make("ToolQA-hard-v0")
    msg = str(err.value)
    assert "TOOLQA_DATA_DIR" in msg and "data_dir" in msg and "night-chen/ToolQA" in msg
    assert "seer-env data toolqa synth" in msg


def test_env_var_data_dir(monkeypatch, toolqa_root):
    monkeypatch.setenv("TOOLQA_DATA_DIR", str(toolqa_root))
    env = ToolQAEnv("hard", embedder=hash_embedder)
    assert env.root == toolqa_root.resolve()
    assert len(env.task_ids) == 8


def test_missing_corpus_file(tmp_path, toolqa_root):
    (tmp_path / "data" / "questions").mkdir(parents=True)
    import shutil

    shutil.copytree(toolqa_root / "data" / "questions" / "easy", tmp_path / "data" / "questions" / "easy")
    with pytest.raises(FileNotFoundError, match="coffee_price.csv"):
        ToolQAEnv("easy", data_dir=tmp_path, domains=["coffee"])


def test_gsm8k_needs_no_corpus(monkeypatch, toolqa_root):
    monkeypatch.delenv("TOOLQA_DATA_DIR", raising=False)
    qfile = toolqa_root / "data" / "questions" / "easy" / "gsm8k-easy.jsonl"
    env = ToolQAEnv(questions=qfile, domains=["gsm8k"])
    obs, info = env.reset(seed=0)
    assert info["domain"] == "gsm8k"
    assert env.step("PythonInterpreter[ans = 3.0 + 4]")[0] == "7.0"
    assert env.step("Finish[7.0]")[1] == 1.0
    with pytest.raises(ValueError, match="need a corpus"):
        ToolQAEnv(questions=toolqa_root / "data" / "questions" / "easy")


def test_questions_as_records(make_env, toolqa_root):
    from seer_env.envs.toolqa.questions import load_questions

    qs = load_questions(toolqa_root, difficulty="easy", domains=["coffee", "flight"])
    env = make_env("easy", questions=qs, question_ids=["easy-coffee-0000"])
    assert env.task_ids == ["easy-coffee-0000"]
    env = make_env("easy", domains=["agenda"])
    assert env.task_ids == ["easy-agenda-0000"]


def test_pickle_round_trip(make_env):
    env = make_env("easy")
    env.reset(seed=0)
    env.step("LoadDB[coffee]")
    env.step("SQLInterpreter[SELECT COUNT(*) FROM coffee.coffee_data]")
    clone = pickle.loads(pickle.dumps(env))
    clone.reset(options={"task_id": "easy-coffee-0000"})
    assert clone.step("LoadDB[coffee]")[4]["ok"]
    assert clone.step("SQLInterpreter[SELECT COUNT(*) FROM coffee.coffee_data]")[0] == "COUNT(*): 200"
    clone.close()


def test_random_policy_2000_steps(make_env):
    envs = [
        make_env("easy", python_timeout=2, sql_timeout=2),
        make_env("hard", python_timeout=2, sql_timeout=2),
    ]
    policy = SyncPolicy(RandomPolicy(seed=0))
    steps, episodes, tools = 0, 0, set()
    while steps < 2000:
        env = envs[episodes % 2]
        obs, info = env.reset(seed=episodes)
        policy.reset(seed=episodes, info=info)
        done = False
        while not done and steps < 2000:
            action = policy.act(obs, info)
            obs, reward, terminated, truncated, info = env.step(action)
            assert isinstance(obs, str) and reward in (0.0, 1.0)
            tools.add(info["tool"])
            steps += 1
            done = terminated or truncated
        episodes += 1
    assert steps == 2000 and episodes > 20
    assert tools >= {"LoadDB", "FilterDB", "GetValue", "Finish", "SQLInterpreter", "NodeCheck"}


def test_import_is_light_and_make_in_fresh_interpreter(toolqa_root):
    code = (
        "import sys, json\n"
        "import seer_env.envs.toolqa as t\n"
        "light = not any(m in sys.modules for m in ('torch', 'pandas', 'faiss'))\n"
        "import gymnasium as gym\n"
        f"env = gym.make('seer_env:ToolQA-easy-v0', data_dir={str(toolqa_root)!r}, domains=['coffee'])\n"
        "obs, info = env.reset(seed=0)\n"
        "o = [env.step(a)[0] for a in ['LoadDB[coffee]', 'FilterDB[Date=2000-01-03]', 'GetValue[Volume]']]\n"
        "print(json.dumps({'light': light, 'task': info['task_id'], 'obs': o[-1], 'torch': 'torch' in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res == {"light": True, "task": "easy-coffee-0000", "obs": "33418", "torch": False}


def _make_vec_env(root: str):
    def make():
        return gym.make("seer_env:ToolQA-easy-v0", data_dir=root, domains=["coffee", "flight", "dblp"])

    return make


def test_async_vector_env(toolqa_root):
    from gymnasium.vector import AsyncVectorEnv

    venv = AsyncVectorEnv([_make_vec_env(str(toolqa_root)) for _ in range(4)], shared_memory=False)
    try:
        obs, infos = venv.reset(seed=[0, 1, 2, 3])
        assert len(obs) == 4 and all(isinstance(o, str) for o in obs)
        actions = ("LoadDB[coffee]", "LoadGraph[dblp]", "Calculate[2+2]", "LoadDB[flights]")
        obs, rewards, terminated, truncated, infos = venv.step(actions)
        assert obs[2] == "4" and obs[1].startswith("DBLP data is loaded")
        assert obs[0].startswith("We have successfully loaded the coffee database")
        obs, *_ = venv.step(
            ("FilterDB[Date=2000-01-03]", "NodeCheck[AuthorNet, He Zhang]", "Finish[x]", "GetValue[Nope]")
        )
        assert obs[0] == "We have successfully filtered the data (1 rows)."
        assert obs[1] == "{'org': ''}"
    finally:
        venv.close()

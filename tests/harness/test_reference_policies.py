"""What the LLM policies do as the references do: halting rules, few-shot intent classification,
few-shot ReAct with a stop at the end of each line, stop sequences and reply caps in the requests,
thoughts shown back once, the gsm8k hint agreeing with the env, pool admission by the chosen scorer."""

from __future__ import annotations

import json
import re

import gymnasium as gym
import pytest

from seer_env.agents import make_policy
from seer_env.agents.prompts import CALL_END, classify_prompt
from seer_env.agents.seer import open_memory
from seer_env.envs.toolqa import domains
from seer_env.envs.toolqa.env import ToolQAEnv
from seer_env.envs.toolqa.questions import Question
from seer_env.judge import LLMJudge
from seer_env.llm import LLMClient
from tests.harness.conftest import TINY
from tests.harness.fake_server import prompt_text
from tests.harness.scripted import ScriptedModel
from tests.harness.test_policies import play


def client(srv, **kw) -> LLMClient:
    return LLMClient("openai/scripted", api_base=srv.base_url, api_key="sk", timeout=3, backoff_base=0, **kw)


@pytest.fixture()
def memory(tmp_path, hash_embedder):
    mem = open_memory(tmp_path / "pool.sqlite", "toolqa", embedder=hash_embedder)
    yield mem
    mem.close()


def tiny():
    return gym.make(TINY, disable_env_checker=True)


# -- thoughts are shown back once ------------------------------------------------------------------


def _labelled(scripted):
    """The scripted model, but repeating the prompt's `Thought n:` / `Step n:` label as models do."""

    def brain(body):
        out = scripted(body)
        m = re.search(r"(Thought|Step) (\d+):\s*$", prompt_text(body))
        if m and out.get("content"):
            out["content"] = f"{m.group(1)} {m.group(2)}: {out['content'].strip()}"
        return out

    return brain


@pytest.mark.parametrize("name,label", [("react", "Thought"), ("react-fewshot", "Thought"), ("seer", "Step")])
async def test_a_repeated_label_is_not_shown_back_twice(serve, scripted, memory, name, label):
    srv = serve(_labelled(scripted))
    kw = {"memory": memory} if name == "seer" else {}
    traj = await play(tiny(), make_policy(name, client=client(srv), **kw), "t003")
    assert traj.success and [s.action.name for s in traj.steps] == ["Add", "Finish"]
    assert traj.steps[0].thought and not traj.steps[0].thought.lower().startswith(label.lower())
    prompts = [prompt_text(b) for b in srv.requests]
    assert any(f"{label} 1: {traj.steps[0].thought}" in p for p in prompts)
    assert not any(f"{label} 1: {label} 1:" in p for p in prompts)


# -- stop sequences and reply caps -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name,stop",
    [("react", ["\nObservation"]), ("react-fewshot", ["\n"]), ("seer", [CALL_END]), ("fewshot", [CALL_END])],
)
async def test_text_mode_requests_carry_the_stop_sequence(serve, scripted, memory, name, stop):
    srv = serve(scripted)
    kw = {"memory": memory} if name == "seer" else {}
    traj = await play(tiny(), make_policy(name, client=client(srv), **kw), "t003")
    assert traj.success
    steps = [b for b in srv.requests if "Reply with exactly one label" not in prompt_text(b)]
    assert steps and all(b.get("stop") == stop for b in steps)
    # none in function-calling mode, and none when told
    srv.requests.clear()
    await play(tiny(), make_policy(name, client=client(srv), action_format="tools", **kw), "t003")
    assert not any("stop" in b for b in srv.requests)
    srv.requests.clear()
    await play(tiny(), make_policy(name, client=client(srv), stop=[], **kw), "t003")
    assert not any("stop" in b for b in srv.requests)


async def test_reply_caps_per_call_type(serve, scripted, memory):
    srv = serve(scripted)
    policy = make_policy(
        "seer", client=client(srv, max_tokens=999), memory=memory, classify_max_tokens=77, step_max_tokens=55
    )
    assert (await play(tiny(), policy, "t003")).success
    caps = {
        ("classify" if "Reply with exactly one label" in prompt_text(b) else "step"): b["max_tokens"]
        for b in srv.requests
    }
    assert caps == {"classify": 77, "step": 55}
    srv.requests.clear()
    await play(tiny(), make_policy("react-fewshot", client=client(srv), step_max_tokens=40), "t003")
    assert {b["max_tokens"] for b in srv.requests} == {40}


async def test_a_rambling_model_is_cut_by_the_stop(serve, memory):
    """A model that goes on after its action (the small model that wrote 1,024 tokens a call): the stop
    sequence ends its reply there, so it neither runs to the cap nor invents observations."""
    ramble = " I add them.\nAction 1: Add[3, 4]\nObservation 1: 7\n" + "Thought 2: and more\n" * 400

    def brain(body):
        text = prompt_text(body)
        if re.search(r"Action \d+:\s*$", text):
            return {"content": " Add[3, 4]\n" + "noise\n" * 400}
        if "Observation 1:" in text.split("(END OF EXAMPLES)")[-1]:
            return {"content": " Done.\nAction 2: Finish[7]\n" + "more\n" * 400}
        return {"content": ramble}

    srv = serve(brain)
    for name in ("react", "react-fewshot"):
        srv.requests.clear()
        traj = await play(tiny(), make_policy(name, client=client(srv)), "t003")
        assert [s.action.name for s in traj.steps][0] == "Add"
        assert all(b.get("stop") for b in srv.requests)


# -- few-shot ReAct --------------------------------------------------------------------------------


async def test_react_fewshot_shows_exemplars_and_calls_once_per_line(serve, scripted):
    srv = serve(scripted)
    traj = await play(tiny(), make_policy("react-fewshot", client=client(srv)), "t003")
    assert traj.success and len(traj.steps) == 2
    assert len(srv.requests) == 4  # a thought line and an action line per step
    first, second = (prompt_text(b) for b in srv.requests[:2])
    # the project's own exemplars: the seed experiences of the env's pool namespace, as ReAct traces
    assert "A bakery sells muffins in boxes of 6." in first and "Observation 1: 36" in first
    assert first.rstrip().endswith("Thought 1:") and second.rstrip().endswith("Action 1:")
    assert second.startswith(first.rstrip())  # the second call continues the first's text


@pytest.mark.parametrize("suffix", [".txt", ".json", ".jsonl"])
async def test_react_fewshot_exemplars_from_a_users_file(serve, scripted, tmp_path, suffix):
    path = tmp_path / f"shots{suffix}"
    block = "Question: What is 2 plus 2?\nThought 1: Add them.\nAction 1: Add[2, 2]\nObservation 1: 4"
    if suffix == ".txt":
        path.write_text(block)
    elif suffix == ".json":  # one block per difficulty or domain, as ToolQA's easy and hard prompts
        path.write_text(json.dumps({"math": block, "*": "Question: UNUSED"}))
    else:
        traj = {
            "query": "What is 2 plus 2?",
            "steps": [
                {
                    "action": {"name": "Add", "arguments": {"a": "2", "b": "2"}},
                    "observation": "4",
                    "thought": "Add them.",
                },
                {
                    "action": {"name": "Finish", "arguments": {"answer": "4"}},
                    "observation": "4",
                    "thought": "4.",
                },
            ],
        }
        path.write_text(json.dumps(traj) + "\n")
    srv = serve(scripted)
    policy = make_policy("react-fewshot", client=client(srv), exemplars_file=str(path))
    traj = await play(tiny(), policy, "t003")  # a "math" task of the tiny env
    assert traj.success
    first = prompt_text(srv.requests[0])
    assert "Question: What is 2 plus 2?\nThought 1: Add them.\nAction 1: Add[2, 2]\nObservation 1: 4" in first
    assert "UNUSED" not in first and "A bakery sells muffins" not in first


def test_exemplar_file_errors_are_plain(tmp_path):
    from seer_env.agents.exemplars import ExemplarFile

    with pytest.raises(FileNotFoundError):
        ExemplarFile(tmp_path / "missing.txt")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ValueError, match="object of text blocks"):
        ExemplarFile(bad)


# -- few-shot intent classification ----------------------------------------------------------------


def test_classifier_prompt_is_few_shot_with_label_descriptions():
    info = domains.env_info()
    text = classify_prompt(
        "How late was DL 12?", info["intent_labels"], info["intent_descriptions"], info["intent_examples"]
    )
    for ex in info["intent_examples"]:
        assert f"Question: {ex['query']}\nThoughts: {ex['thought']} [{ex['label']}]" in text
    assert {ex["label"] for ex in info["intent_examples"]} == set(domains.DOMAINS)
    for label, desc in info["intent_descriptions"].items():
        assert f"[{label}]: {desc}" in text
    assert text.endswith("Question: How late was DL 12?\nThoughts:")
    # examples of labels the env does not have are left out
    assert "[gsm8k]" not in classify_prompt("q", ["flight"], {}, info["intent_examples"])


async def test_failed_classification_means_no_intent_not_the_last_one(serve, scripted, memory):
    """The reference kept the previous question's class when a reply had no valid label; here a
    failed classification is no intent: hint None, no intent bonus, stored without an intent."""
    calls = {"n": 0}

    def brain(body):
        if "Reply with exactly one label" in prompt_text(body):
            calls["n"] += 1
            return {"content": "[math]" if calls["n"] == 1 else "I am not sure. [Maths]"}
        return scripted(body)

    srv = serve(brain)
    policy = make_policy("seer", client=client(srv), memory=memory)
    first = await play(tiny(), policy, "t003")
    assert first.intent == "math" and policy.episode_meta().get("classify_error") is None
    second = await play(tiny(), policy, "t005")
    assert second.intent is None and policy.hint == "Hint: None"
    assert policy.episode_meta()["classify_error"] == "no label"
    # an API error in the classifier: the episode goes on without an intent
    err = serve(scripted, fault_sequence=["400"])
    p2 = make_policy("seer", client=client(err), memory=memory)
    traj = await play(tiny(), p2, "t003")
    assert traj.success and traj.intent is None and p2.classify_error.startswith("LLMError")


# -- halting ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def flight_task():
    env = gym.make("ToolQA-Synth-easy-v0", disable_env_checker=True, tool_profile="seer", domains=["flight"])
    tid = env.unwrapped.task_ids[0]
    env.close()
    return tid


def _filter_brain(second: str):
    """Classifies as flight; LoadDB, then `second` (a FilterDB that finds nothing, or a bad call), then Finish."""

    def brain(body):
        text = prompt_text(body)
        if "Reply with exactly one label" in text:
            return {"content": "[flight]"}
        tail = text.split("(END OF EXAMPLES)")[-1]
        done = len(re.findall(r"^Result \d+:", tail, flags=re.M))
        calls = ["LoadDB[flights]", second, "Finish[none]"]
        return {"content": f"Next. <CALL_BEGIN>{calls[min(done, 2)]}<CALL_END>"}

    return brain


@pytest.mark.parametrize(
    "halting,second,tools",
    [
        ("reference", "FilterDB[Origin=NOWHERE]", ["LoadDB", "FilterDB", "Finish"]),  # an ordinary message
        ("any-error", "FilterDB[Origin=NOWHERE]", ["LoadDB", "FilterDB"]),
        ("never", "FilterDB[Origin=NOWHERE]", ["LoadDB", "FilterDB", "Finish"]),
        ("reference", "Fly[ATL]", ["LoadDB", "Fly"]),  # an unknown tool: the reference halts
        ("never", "Fly[ATL]", ["LoadDB", "Fly", "Finish"]),
        ("reference", "GetValue[NoSuchColumn]", ["LoadDB", "GetValue"]),  # a tool exception
    ],
)
async def test_halting_rules_on_toolqa(serve, memory, flight_task, halting, second, tools):
    srv = serve(_filter_brain(second))
    env = gym.make("ToolQA-Synth-easy-v0", disable_env_checker=True, tool_profile="seer", domains=["flight"])
    policy = make_policy("seer", client=client(srv), memory=memory, halting=halting)
    traj = await play(env, policy, flight_task)
    env.close()
    assert [s.action.name for s in traj.steps] == tools
    assert not traj.steps[1].ok
    if second.startswith("FilterDB"):
        assert "is incorrect" in traj.steps[1].observation


def test_halting_defaults_and_the_older_flag():
    from seer_env.agents.react import halting_from

    assert make_policy("seer", model="openai/x").halting == "reference"
    assert make_policy("react", model="openai/x").halting == "never"
    assert make_policy("seer", model="openai/x", continue_on_error=True).halting == "never"
    assert halting_from(None, False, "reference") == "any-error"
    with pytest.raises(ValueError):
        halting_from("sometimes", None, "never")


# -- the gsm8k hint, the seed and the env agree ------------------------------------------------------


def _hint_follower(body):
    """A model that writes the code the hint asks for (the variable it names) and finishes with the result."""
    text = prompt_text(body)
    if "Reply with exactly one label" in text:
        return {"content": "A word problem. [gsm8k]"}
    tail = text.split("(END OF EXAMPLES)")[-1]
    result = re.search(r"^Result 1: (.*)$", tail, flags=re.M)
    if result:
        return {"content": f"Done. <CALL_BEGIN>Finish[{result.group(1)}]<CALL_END>"}
    var = re.search(r"variable named (\w+)", tail).group(1)
    return {"content": f"Compute. <CALL_BEGIN>PythonInterpreter[{var} = 6 * 7.0]<CALL_END>"}


@pytest.mark.parametrize("profile,var", [("seer", "answer"), ("toolqa", "ans")])
async def test_a_gsm8k_episode_following_the_hint_scores_correct(serve, memory, profile, var):
    q = Question("easy-gsm8k-0001", "gsm8k", "easy", "Tom has 6 bags of 7 apples. How many apples?", 42.0)
    env = ToolQAEnv("easy", questions=[q], tool_profile=profile)
    srv = serve(_hint_follower)
    traj = await play(env, make_policy("seer", client=client(srv), memory=memory), env.task_ids[0])
    env.close()
    assert traj.success and traj.answer == "42.0"
    assert traj.steps[0].action.arguments["Python"] == f"{var} = 6 * 7.0"
    if profile == "seer":  # the seed exemplar the prompt shows uses the same variable
        solver = [prompt_text(b) for b in srv.requests if "(END OF EXAMPLES)" in prompt_text(b)][0]
        assert "answer = baked - sold" in solver


# -- pool admission follows the chosen scorer ---------------------------------------------------------


@pytest.mark.parametrize("scorer", ["em", "judge"])
async def test_the_pool_admits_by_the_chosen_scorer(serve, memory, scorer):
    """The answer "42" for the gold 42.0: wrong by ToolQA's exact match, right by the judge."""

    def brain(body):
        text = prompt_text(body)
        if "Reply with exactly one label" in text:
            return {"content": "[gsm8k]"}
        if "Evaluation:" in text:
            return ScriptedModel()(body)
        return {"content": "It is 42. <CALL_BEGIN>Finish[42]<CALL_END>"}

    srv = serve(brain)
    q = Question("easy-gsm8k-0001", "gsm8k", "easy", "Tom has 6 bags of 7 apples. How many apples?", 42.0)
    kw = {"scorer": "judge", "judge": LLMJudge(client(srv))} if scorer == "judge" else {}
    env = ToolQAEnv("easy", questions=[q], tool_profile="seer", **kw)
    policy = make_policy("seer", client=client(srv), memory=memory)
    before = len(memory)
    traj = await play(env, policy, env.task_ids[0])
    env.close()
    await policy.aobserve(traj)
    assert traj.success is (scorer == "judge")
    assert len(memory) == before + (scorer == "judge")


async def test_fewshot_takes_the_solver_exemplars_from_a_file(serve, scripted, tmp_path):
    """`fewshot --exemplars FILE`: e.g. the reference's static 8-shot solver examples saved as text."""
    block = "Question: What is 2 plus 2?\nStep 1: Add them. <CALL_BEGIN>Add[2, 2]<CALL_END>\nResult 1: 4"
    path = tmp_path / "solver.txt"
    path.write_text(block)
    srv = serve(scripted)
    traj = await play(tiny(), make_policy("fewshot", client=client(srv), exemplars_file=str(path)), "t003")
    assert traj.success
    solver = [prompt_text(b) for b in srv.requests if "(END OF EXAMPLES)" in prompt_text(b)]
    assert solver and all(f"Here are some examples:\n{block}\n(END OF EXAMPLES)" in p for p in solver)
    assert not any("A bakery sells muffins" in p for p in solver)

"""The LLM judge (SEER's way of scoring ToolQA): prompt, verdict reading, cache, errors, and the env and
record keeping both verdicts. The judge model is the loopback server with a scripted lenient judge."""

from __future__ import annotations

import asyncio
import json

import pytest

from seer_env.envs.toolqa.env import ToolQAEnv
from seer_env.envs.toolqa.questions import Question
from seer_env.judge import LLMJudge, judge_prompt, parse_verdict
from seer_env.llm import LLMClient
from seer_env.records import RECORD_SCHEMA, EpisodeRecord, read_episodes
from tests.harness.scripted import ScriptedModel, judge_case, lenient_judge_reply


def judge_client(srv, **kw) -> LLMClient:
    return LLMClient(
        "openai/judge", api_base=srv.base_url, api_key="sk", timeout=3, backoff_base=0, max_retries=1, **kw
    )


def test_verdict_reading_never_takes_no_match_for_match():
    assert parse_verdict("[Match] 3:00 PM is 15:00.") is True
    assert parse_verdict("[No Match] The response says 12.") is False
    # the reference's check (the text `[Match]` appears) is not fooled by `[No Match]`...
    assert "[Match]" not in "[No Match]"
    # ...and here the first verdict token decides, so a later quote of `[Match]` does not flip it
    assert parse_verdict("[No Match] It does not [Match] the gold.") is False
    assert parse_verdict("[match] fine") is True and parse_verdict("[NO MATCH]") is False
    assert parse_verdict("[ No  Match ]") is False and parse_verdict("[NoMatch]") is False
    assert parse_verdict("Match, I think") is None and parse_verdict("") is None


def test_prompt_follows_the_references_structure():
    text = judge_prompt("When does it leave?", "15:00", "3:00 PM")
    assert text.startswith("You are an evaluator.")
    assert "matches the correct answer or includes it" in text
    assert "[Match] or [No Match]" in text
    # lenient worked cases: a time, a number off by a rounding, a date in words, and None
    assert "Model Response: It arrived at 8:05 PM.\nEvaluation: [Match]" in text
    assert "12.001 km" in text and "March 7th" in text
    assert "Model Response: None\nEvaluation: [No Match]" in text
    assert text.endswith(
        "Question: When does it leave?, Correct Answer: 15:00, Model Response: 3:00 PM\nEvaluation:"
    )
    assert judge_case(text) == ("When does it leave?", "15:00", "3:00 PM")


# the reference's lenient examples, and two answers that must not match
CASES = [
    ("At what time did the flight depart?", "15:00", "3:00 PM", True),
    ("How far is it?", "9", "9.001", True),
    ("On which day is the meeting?", "01/12", "January 12th", True),
    ("What was the price?", "$9374", "None", False),
    ("How many flights were cancelled?", "12", "13", False),
    ("Who organised the event?", "Ana Ferreira", "The organiser was Ana Ferreira.", True),
]


@pytest.mark.parametrize("question,gold,response,correct", CASES)
def test_judge_verdicts_on_the_lenient_examples(serve, question, gold, response, correct):
    model = ScriptedModel()
    srv = serve(model)
    judge = LLMJudge(judge_client(srv))
    verdict = judge(question, gold, response)
    assert bool(verdict) is correct and verdict.error is None
    assert verdict.reason.startswith("[Match]" if correct else "[No Match]")
    (req,) = srv.requests
    assert req["temperature"] == 0.0 and req["max_tokens"] == 100
    assert model.kinds["judge"] == 1


def test_judge_is_cached_by_question_gold_and_response(serve, tmp_path):
    srv = serve(ScriptedModel())
    judge = LLMJudge(judge_client(srv, cache_dir=tmp_path / "cache"))
    assert judge("q", "15:00", "3:00 PM") and judge("q", "15:00", "3:00 PM")
    assert len(srv.requests) == 1 and judge.stats["memo_hits"] == 1
    assert not judge("q", "15:00", "4:00 PM")  # another response: another call
    assert len(srv.requests) == 2
    # a new judge on the same disk cache asks the model nothing
    again = LLMJudge(judge_client(srv, cache_dir=tmp_path / "cache"))
    v = again("q", "15:00", "3:00 PM")
    assert v and v.cached and len(srv.requests) == 2 and again.stats["cache_hits"] == 1


def test_api_errors_and_unreadable_replies_count_as_wrong_and_are_counted(serve):
    srv = serve(ScriptedModel(), fault_sequence=["400"])
    judge = LLMJudge(judge_client(srv))
    v = judge("q", "15:00", "3:00 PM")
    assert not v and v.error.startswith("bad_request")
    assert judge.stats["errors"] == 1 and judge.stats["error:bad_request"] == 1
    assert judge("q", "15:00", "3:00 PM")  # an error is not cached: the next call asks again
    mumble = serve(lambda body: {"content": "Hard to say."})
    j2 = LLMJudge(judge_client(mumble))
    v = j2("q", "1", "1")
    assert not v and v.error == "unreadable" and j2.stats["unreadable"] == 1


def test_judge_runs_on_a_bound_loop_from_worker_threads(serve):
    """The runner's env steps run in worker threads; the judge's calls then run on the runner's loop."""
    srv = serve(ScriptedModel())
    judge = LLMJudge(judge_client(srv))

    async def main():
        judge.bind_loop(asyncio.get_running_loop())
        return await asyncio.gather(*(asyncio.to_thread(judge, "q", "9", f"9.00{i}") for i in range(4)))

    assert all(asyncio.run(main()))
    assert judge.stats["calls"] == 4


def _gsm_env(judge=None, answer=42.0) -> ToolQAEnv:
    q = Question("easy-gsm8k-0001", "gsm8k", "easy", "Tom has 6 bags of 7 apples. How many apples?", answer)
    kw = {"scorer": "judge", "judge": judge} if judge is not None else {}
    return ToolQAEnv("easy", questions=[q], tool_profile="seer", **kw)


def test_env_keeps_both_verdicts_and_success_follows_the_chosen_scorer(serve):
    srv = serve(ScriptedModel())
    judge = LLMJudge(judge_client(srv))
    env = _gsm_env(judge)
    env.reset(options={"task_id": env.task_ids[0]})
    # ToolQA's exact match reads "42" against the gold 42.0 as "42" vs "420": wrong; the judge: right
    _, reward, terminated, _, info = env.step("Finish[42]")
    assert terminated and reward == 1.0 and info["success"]
    assert info["verdicts"]["scorer"] == "judge"
    assert info["verdicts"]["em"] is False and info["verdicts"]["judge"] is True
    assert info["verdicts"]["judge_reason"].startswith("[Match]") and info["verdicts"]["judge_error"] is None
    env.close()
    em_env = _gsm_env()
    em_env.reset(options={"task_id": em_env.task_ids[0]})
    _, reward, _, _, info = em_env.step("Finish[42]")
    assert reward == 0.0 and info["verdicts"] == {"scorer": "em", "em": False}
    em_env.close()
    with pytest.raises(ValueError, match="needs judge"):
        ToolQAEnv("easy", questions=[Question("q", "gsm8k", "easy", "?", 1)], scorer="judge")


def test_records_keep_verdicts_and_old_records_still_read(tmp_path):
    assert RECORD_SCHEMA == 2
    rec = EpisodeRecord(
        "E", "seer", "t1", success=True, verdicts={"scorer": "judge", "em": False, "judge": True}
    )
    d = rec.to_dict()
    assert d["schema"] == 2 and d["verdicts"]["judge"] is True
    back = EpisodeRecord.from_dict(d)
    assert back.verdict("judge") is True and back.verdict("em") is False and back.verdict("numeric") is None
    old = {"schema": 1, "env_id": "E", "policy": "seer", "task_id": "t0", "success": True}
    older = {"env_id": "E", "policy": "seer", "task_id": "t2", "success": False}  # before versioning
    path = tmp_path / "results.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in (old, older, d)) + "\n")
    recs = read_episodes(path)
    assert [r.task_id for r in recs] == ["t0", "t2", "t1"]
    assert recs[0].verdicts is None and recs[0].verdict("em") is None and recs[0].success


def test_lenient_judge_double_is_lenient_only_where_a_judge_would_be():
    """The scripted judge (a test double of a lenient judge model) on cases beyond the reference's."""
    assert lenient_judge_reply("q", "12:05", "at 12:05 PM").startswith("[Match]")
    assert lenient_judge_reply("q", "00:30", "12:30 PM").startswith("[No Match]")
    assert lenient_judge_reply("q", "$1,146", "It costs $1146 a night").startswith("[Match]")
    assert lenient_judge_reply("q", "0.5", "0.6").startswith("[No Match]")

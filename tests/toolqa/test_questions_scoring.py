from __future__ import annotations

import math
from collections import Counter

import pytest

from seer_env.envs.toolqa.questions import Question, load_questions, save_questions
from seer_env.envs.toolqa.scoring import normalize_answer, numeric_match, score_answer
from seer_env.types import ToolCall
from tests.toolqa.conftest import OFFICIAL_QUESTIONS

needs_official = pytest.mark.skipif(not OFFICIAL_QUESTIONS.is_dir(), reason="shared ToolQA questions absent")


@needs_official
def test_official_easy_questions_load():
    qs = load_questions(OFFICIAL_QUESTIONS, difficulty="easy")
    assert len(qs) == 800
    counts = Counter(q.domain for q in qs)
    assert counts == {
        d: 100 for d in ("flight", "coffee", "yelp", "airbnb", "dblp", "scirex", "agenda", "gsm8k")
    }
    assert len({q.qid for q in qs}) == 800
    for q in qs:
        assert q.difficulty == "easy"
        assert q.qid.startswith(f"easy-{q.domain}-"), q.qid
        assert q.question
    gsm = [q for q in qs if q.domain == "gsm8k"]
    assert all(isinstance(q.answer, float) for q in gsm)


@needs_official
def test_official_hard_questions_load():
    qs = load_questions(OFFICIAL_QUESTIONS / "hard")
    assert len(qs) == 730
    counts = Counter(q.domain for q in qs)
    assert counts["coffee"] == 130 and counts["agenda"] == 100 and "gsm8k" not in counts
    assert {q.difficulty for q in qs} == {"hard"}
    by_domain = {d: [q.qid for q in qs if q.domain == d] for d in counts}
    assert by_domain["coffee"][0] == "hard-coffee-0000" and by_domain["coffee"][-1] == "hard-coffee-0129"
    assert (
        load_questions(OFFICIAL_QUESTIONS, difficulty="hard", domains=["flight"])[0].qid == "hard-flight-0000"
    )


def test_fixture_quirks(toolqa_root):
    easy = load_questions(toolqa_root, difficulty="easy", domains=["airbnb"])
    assert [q.answer for q in easy] == ["$1,146 ", "NaN"]  # bare NaN read, kept as the string SEER writes
    hard = load_questions(toolqa_root, difficulty="hard")
    agenda = [q for q in hard if q.domain == "agenda"]
    assert len(agenda) == 1 and agenda[0].qid == "hard-agenda-0000"  # from genda-hard.jsonl
    airbnb = [q for q in hard if q.domain == "airbnb"]
    assert [q.qid for q in airbnb] == ["hard-airbnb-0000", "hard-yelp-0000"]  # domain from the file name
    flights = load_questions(toolqa_root / "data" / "questions" / "easy" / "flight-easy.jsonl")
    assert {q.domain for q in flights} == {"flight"} and len(flights) == 2


def test_question_round_trip(tmp_path):
    q = Question(
        "easy-coffee-0000", "coffee", "easy", "What?", "1.0", [ToolCall("LoadDB", {"DBName": "coffee"})], "t1"
    )
    path = save_questions([q], tmp_path / "x" / "coffee-easy.jsonl")
    back = load_questions(path)
    assert back == [q]
    assert Question.from_dict(q.to_dict()).gold_chain[0].arguments == {"DBName": "coffee"}


def test_missing_question_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_questions(tmp_path / "nope")
    with pytest.raises(FileNotFoundError):
        load_questions(tmp_path)


@pytest.mark.parametrize(
    "pred,gold,ok",
    [
        ("21:43", "2143", True),
        ("1.7%", "17", True),
        ("-10.0", "10.0", True),
        ("-10", "-10.0", False),
        ("15", "15.0", False),
        ("306.25 USD", "30625", True),
        ("The answer", "answer", True),
        ("Yes", "yes", True),
        (7, 7.0, False),
        ("nan", math.nan, True),
    ],
)
def test_exact_match(pred, gold, ok):
    assert score_answer(pred, gold) is ok


def test_normalize():
    assert normalize_answer("  The  Quick, brown fox!  ") == "quick brown fox"
    assert normalize_answer("$1,146 ") == "1146"


def test_numeric_and_judge():
    assert numeric_match("15", "15.0")
    assert numeric_match("$ 627.0", "627")
    assert numeric_match("198.2 minutes", "198.2")
    assert not numeric_match("15", "16")
    assert not numeric_match("15 apples and 3", "15")
    assert score_answer("15", 15.0, mode="numeric")
    calls = []

    def judge(question, gold, pred):
        calls.append((question, gold, pred))
        return pred.startswith("3")

    assert score_answer("3:00PM", "15:00", mode=judge, question="When?")
    assert calls == [("When?", "15:00", "3:00PM")]

    def broken(*_):
        raise RuntimeError("api down")

    assert score_answer("x", "x", mode="judge", judge=broken) is False
    with pytest.raises(ValueError):
        score_answer("x", "x", mode="bogus")
    assert score_answer(None, "x") is False

"""A scripted "model" for the fake OpenAI server: it reads the prompt and answers like an LLM would.

It stands in for a chat model behind an OpenAI-compatible endpoint. It knows each question's intent
and gold tool chain (`answers`: query -> (intent, [ToolCall])), recognises the prompt kinds seer-env
sends (the SEER/few-shot solver prompt, the intent classifier, ReAct in text and in function-calling
form, few-shot ReAct's line-by-line calls), counts the steps already taken in the scratchpad, and
answers with the next gold call. For
questions in `wrong`, it finishes with a wrong answer on purpose. Unknown questions get
`Finish[unknown]`. Asked to judge an answer (seer-env's judge prompt), it answers as a lenient judge
model would (`lenient_judge_reply`).
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from typing import Any

from seer_env.agents.prompts import CALL_BEGIN, CALL_END, CLASSIFY_MARKER, END_OF_EXAMPLES
from seer_env.types import ToolCall
from tests.harness.fake_server import prompt_text

Answers = dict[str, tuple[str | None, list[ToolCall]]]


class ScriptedModel:
    def __init__(self, answers: Answers | None = None, wrong: set[str] | None = None):
        self.answers: Answers = dict(answers or {})
        self.wrong = set(wrong or ())
        self.kinds: Counter = Counter()
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: str) -> ScriptedModel:
        data = json.loads(open(path, encoding="utf-8").read())
        answers = {
            q: (v["intent"], [ToolCall.from_dict(c) for c in v["chain"]]) for q, v in data["answers"].items()
        }
        return cls(answers, set(data.get("wrong", [])))

    def to_file(self, path: str) -> None:
        data = {
            "answers": {
                q: {"intent": i, "chain": [c.to_dict() for c in ch]} for q, (i, ch) in self.answers.items()
            },
            "wrong": sorted(self.wrong),
        }
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f)

    def _count(self, kind: str) -> None:
        with self._lock:
            self.kinds[kind] += 1

    def _next_call(self, question: str, done: int) -> ToolCall:
        intent, chain = self.answers.get(question.strip(), (None, []))
        if done >= len(chain):
            return ToolCall("Finish", {"answer": "unknown"})
        call = chain[done]
        if question.strip() in self.wrong and call.name == "Finish":
            return ToolCall("Finish", {"answer": "WRONG-ON-PURPOSE"})
        return call

    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        text = prompt_text(body)
        msgs = body.get("messages", [])
        case = judge_case(text)
        if case is not None:
            self._count("judge")
            return {"content": lenient_judge_reply(*case)}
        if CLASSIFY_MARKER in text:
            self._count("classify")
            q = _last_question(text)
            intent = self.answers.get(q, (None, []))[0] or "unknown"
            return {"content": f"The question asks about {intent} things. [{intent}]"}
        if any(m.get("role") == "tool" for m in msgs) or (
            body.get("tools") and msgs and msgs[0].get("role") == "system"
        ):
            # ReAct with function calling: the question is the first user message
            self._count("react-tools")
            q = next((m.get("content") or "" for m in msgs if m.get("role") == "user"), "")
            done = sum(1 for m in msgs if m.get("role") == "tool")
            call = self._next_call(q, done)
            return {"content": "Next step.", "tool_calls": [{"name": call.name, "arguments": call.arguments}]}
        if "Observation" in text or "Thought k:" in text:
            self._count("react-text")
            tail = _after_question(text)
            q = tail.splitlines()[0] if tail else ""
            done = len(re.findall(r"^Observation \d+:", tail, flags=re.M))
            call = self._next_call(q, done)
            if re.search(r"Action \d+:\s*$", text):  # ToolQA's per-line ReAct: the action line
                return {"content": f" {call.text()}"}
            return {"content": f" I should use {call.name}.\nAction {done + 1}: {call.text()}"}
        self._count("solver")
        tail = _after_question(text)
        q = tail.splitlines()[0] if tail else ""
        done = len(re.findall(r"^Result \d+:", tail, flags=re.M))
        call = self._next_call(q, done)
        if body.get("tools"):
            return {
                "content": "Calling a tool.",
                "tool_calls": [{"name": call.name, "arguments": call.arguments}],
            }
        return {
            "content": f" I will use {call.name} now. {CALL_BEGIN}{call.text()}{CALL_END}\nResult: made up"
        }


def _after_question(text: str) -> str:
    """The text after the last `Question: ` that follows the exemplars (the live question)."""
    start = text.rfind(END_OF_EXAMPLES)
    body = text[start:] if start >= 0 else text
    i = body.rfind("\nQuestion: ")
    if i < 0:
        i = body.rfind("Question: ")
        return body[i + len("Question: ") :] if i >= 0 else ""
    return body[i + len("\nQuestion: ") :]


def _last_question(text: str) -> str:
    m = re.findall(r"Question: (.*)", text)
    return m[-1].strip() if m else ""


# -- a lenient judge model ------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"), 1)}  # fmt: skip


def judge_case(text: str) -> tuple[str, str, str] | None:
    """(question, gold, response) of a judge prompt's last case, or None when it is not one."""
    end = text.rstrip()
    if "Correct Answer: " not in end or not end.endswith("Evaluation:"):
        return None
    last = end[: -len("Evaluation:")].rstrip()
    q_at = last.rfind("Question: ")
    g_at = last.rfind(", Correct Answer: ")
    r_at = last.rfind(", Model Response: ")
    if min(q_at, g_at, r_at) < 0:
        return None
    return (
        last[q_at + len("Question: ") : g_at],
        last[g_at + len(", Correct Answer: ") : r_at],
        last[r_at + len(", Model Response: ") :],
    )


def _minutes(text: str) -> int | None:
    m = re.search(r"\b(\d{1,2}):(\d{2})\s*([ap]\.?m\.?)?", text, flags=re.I)
    if not m:
        return None
    h, mi, ampm = int(m.group(1)), int(m.group(2)), (m.group(3) or "").lower()
    if ampm.startswith("p") and h < 12:
        h += 12
    if ampm.startswith("a") and h == 12:
        h = 0
    return h * 60 + mi


def _month_day(text: str) -> tuple[int, int] | None:
    m = re.search(r"\b(\d{1,2})/(\d{1,2})\b", text)
    if m:
        return int(m.group(1)), int(m.group(2))
    m = re.search(r"\b([a-z]+)\s+(\d{1,2})(?:st|nd|rd|th)?\b", text, flags=re.I)
    if m and m.group(1).lower() in _MONTHS:
        return _MONTHS[m.group(1).lower()], int(m.group(2))
    return None


def _numbers(text: str) -> list[float]:
    return [float(x.replace(",", "")) for x in re.findall(r"-?\d[\d,]*(?:\.\d+)?", text)]


def lenient_judge_reply(question: str, gold: str, response: str) -> str:
    """What a lenient judge model replies: `[Match]` when the response states the gold answer in any
    form (the same time, date or number, a number within 0.01, or the gold text inside it)."""
    g, r = gold.strip(), response.strip()
    if not r or r.lower() == "none":
        return "[No Match] The response gives no answer."
    norm = lambda t: " ".join(re.sub(r"[^\w\s.:/]", " ", t.lower()).split())  # noqa: E731
    same = norm(g) and norm(g) in norm(r)
    if not same and ":" in g and _minutes(g) is not None:
        same = _minutes(g) == _minutes(r)
    if not same and _month_day(g) is not None:
        same = _month_day(g) == _month_day(r)
    if not same:
        gn, rn = _numbers(g), _numbers(r)
        same = len(gn) == 1 and any(abs(x - gn[0]) <= 0.01 for x in rn)
    return "[Match] The response states the correct answer." if same else "[No Match] It differs."

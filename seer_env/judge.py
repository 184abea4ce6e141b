"""An LLM judge of answers: does the model's response match, or contain, the correct answer?

This is how the SEER paper scores ToolQA, and which of its trajectories enter the pool. One chat call
per answer (temperature 0, a short reply) with a prompt written for seer-env after the reference's
structure: the model acts as an evaluator, is shown lenient worked cases (a time written two ways,
9.001 for 9, a date written two ways, and "None", which never matches), then the case as
`Question: ..., Correct Answer: ..., Model Response: ...`, and replies `[Match]` or `[No Match]`
with a short reason.

Reading the reply: the reference counts a reply as correct when it contains the text `[Match]`.
`[No Match]` does not contain `[Match]` (the bracket must stand right before `Match`), so it is never
read as a match; here the first verdict token of the reply decides (case and inner spaces ignored),
so a reply that says `[No Match]` and later quotes `[Match]` in its reason is a no-match (the
reference would count it). A reply with no verdict token, or a call that fails for good (after the
client's retries), counts as wrong, as in the reference, and the verdict carries the error
(`JudgeVerdict.error`); `LLMJudge.stats` counts them.

Verdicts are cached: in memory by (question, gold, response), and on disk through the LLM client's
cache when it has one (its key hashes the request, whose prompt holds the three). Failed calls are
not cached.

The ToolQA env calls a judge from `step` (`ToolQAEnv(scorer="judge", judge=LLMJudge(...))`), which
the runner runs in a worker thread: `bind_loop` lets those synchronous calls run on the runner's
event loop (docs/architecture.md, "Scoring").
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

MATCH = "[Match]"
NO_MATCH = "[No Match]"
DEFAULT_JUDGE_MAX_TOKENS = 100
_MEMO_MAX = 65536

_VERDICT = re.compile(r"\[\s*(no\s*match|match)\s*\]", re.IGNORECASE)

# worked cases of the prompt: (question, gold, response, verdict, reason); our own wording
_CASES = (
    (
        "At what time did the 6:10 PM train from Lyon arrive in Paris?",
        "20:05",
        "It arrived at 8:05 PM.",
        MATCH,
        "8:05 PM is 20:05 written on a 12-hour clock.",
    ),
    (
        "How many kilometres is the trail long?",
        "12",
        "The trail is 12.001 km long.",
        MATCH,
        "12.001 rounds to the correct 12; the unit does not matter.",
    ),
    (
        "On which day is the dentist appointment?",
        "03/07",
        "The appointment is on March 7th.",
        MATCH,
        "March 7th is 03/07 written in words.",
    ),
    (
        "What was the total price of the order?",
        "$4,310",
        "None",
        NO_MATCH,
        "The response gives no answer.",
    ),
)


def judge_prompt(question: Any, gold: Any, response: Any) -> str:
    """The judge's prompt for one answer (one user message)."""
    cases = "\n\n".join(
        f"Question: {q}, Correct Answer: {g}, Model Response: {r}\nEvaluation: {v} {why}"
        for q, g, r, v, why in _CASES
    )
    return (
        "You are an evaluator. Decide whether the model's response to a question matches the correct "
        "answer or includes it. Be lenient about form: the same time, number, date or name written "
        "another way still matches, and so does a number that rounds to the correct one. A response "
        "that gives no answer, or a different one, does not match.\n\n"
        f"Reply with {MATCH} or {NO_MATCH} first, then one short sentence saying why.\n\n"
        f"{cases}\n\n"
        f"Question: {question}, Correct Answer: {gold}, Model Response: {response}\nEvaluation:"
    )


def parse_verdict(text: str | None) -> bool | None:
    """True for `[Match]`, False for `[No Match]` (the first of them in the reply), None for neither."""
    m = _VERDICT.search(text or "")
    if m is None:
        return None
    return not m.group(1).lower().startswith("no")


@dataclass(frozen=True)
class JudgeVerdict:
    """One verdict. It is truthy when the answer was judged correct.

    reason: the judge's reply. error: why no verdict could be read (`unreadable`, or the LLM error's
    kind and message); the answer then counts as wrong. cached: it came from a cache.
    """

    correct: bool
    reason: str = ""
    error: str | None = None
    cached: bool = False

    def __bool__(self) -> bool:
        return self.correct

    def to_dict(self) -> dict[str, Any]:
        return {"correct": self.correct, "reason": self.reason, "error": self.error, "cached": self.cached}


class LLMJudge:
    """The judge over an `LLMClient` (see the module docstring).

    `__call__(question, gold, response)` is the env's synchronous scorer hook and returns a
    `JudgeVerdict`; `ajudge` is the same from async code. `max_tokens` caps the reply (the
    reference's judge: 100).
    """

    def __init__(self, client: Any, *, max_tokens: int | None = DEFAULT_JUDGE_MAX_TOKENS):
        self.client = client
        self.max_tokens = max_tokens
        self.stats: Counter = Counter()
        self._memo: dict[tuple[str, str, str], JudgeVerdict] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- the verdict ----------------------------------------------------------------------------------
    async def ajudge(self, question: Any, gold: Any, response: Any) -> JudgeVerdict:
        key = (str(question), str(gold), str(response))
        with self._lock:
            hit = self._memo.get(key)
            if hit is not None:
                self.stats["memo_hits"] += 1
                self.stats["matches" if hit.correct else "no_matches"] += 1
                return JudgeVerdict(hit.correct, hit.reason, hit.error, cached=True)
        prompt = judge_prompt(*key)
        try:
            resp = await self.client.acomplete(
                [{"role": "user", "content": prompt}], max_tokens=self.max_tokens
            )
        except Exception as exc:  # an API error counts the answer wrong (and is counted)
            kind = getattr(exc, "kind", None) or type(exc).__name__
            log.warning("the judge's call failed (%s): the answer counts as wrong", kind)
            with self._lock:
                self.stats["calls"] += 1
                self.stats["errors"] += 1
                self.stats[f"error:{kind}"] += 1
            return JudgeVerdict(False, "", f"{kind}: {exc}"[:500])
        text = (resp.content or "").strip()
        found = parse_verdict(text)
        verdict = JudgeVerdict(
            bool(found), text[:1000], None if found is not None else "unreadable", resp.cached
        )
        with self._lock:
            self.stats["calls"] += 1
            self.stats["cache_hits"] += int(resp.cached)
            self.stats["matches" if verdict.correct else "no_matches"] += 1
            if found is None:
                self.stats["unreadable"] += 1
            if len(self._memo) >= _MEMO_MAX:
                self._memo.clear()
            self._memo[key] = verdict
        return verdict

    def bind_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Run the synchronous calls of other threads on `loop` (the runner's), where the client lives."""
        self._loop = loop

    def __call__(self, question: Any, gold: Any, response: Any) -> JudgeVerdict:
        coro = self.ajudge(question, gold, response)
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and loop.is_running() and running is not loop:
            return asyncio.run_coroutine_threadsafe(coro, loop).result()
        if running is None:
            return asyncio.run(coro)
        # called synchronously from inside an event loop: wait for it on a thread of its own
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, coro).result()

    # -- bookkeeping --------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        desc = self.client.describe() if hasattr(self.client, "describe") else {}
        return {**desc, "max_tokens": self.max_tokens, "prompt": "seer-env judge v1"}

    def summary(self) -> dict[str, Any]:
        """Calls, matches, errors (by kind), cache hits, and the client's token usage."""
        with self._lock:
            out: dict[str, Any] = dict(self.stats)
        usage = getattr(self.client, "usage", None)
        if isinstance(usage, dict):
            out["usage"] = usage
        return out

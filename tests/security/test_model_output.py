"""What the policies do to model output before the action parser: linear work on hostile text.

The `<think>` stripper (`agents.prompts.strip_think`) is measured without a clock: it scans with
`str.find`, so a `str` whose `find` adds up the characters each call looks at counts its work. The
regular expressions applied to model output are reviewed in test_action_parsing.py
(`REVIEWED_PATTERNS`); the label strippers, whose former patterns were quadratic on long runs of
spaces, are checked against those patterns and, as a backstop, by CPU time at two sizes.
"""

from __future__ import annotations

import re
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from seer_env.agents import react
from seer_env.agents.prompts import clean_solver_output, parse_intent, strip_step_label, strip_think

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)  # what the stripper replaced (and must match)


class CountingStr(str):
    """A str whose `find` counts the characters it scans (up to the match, or to the end)."""

    scanned = 0

    def find(self, sub, start=0, end=None):  # type: ignore[override]
        at = super().find(sub, start, end)
        stop = len(self) if at < 0 else at + len(sub)
        CountingStr.scanned += max(0, stop - start)
        return at


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["<think>", "</think>", "a", "\n", "<", "think>", "</", "x y"]), max_size=30))
def test_strip_think_removes_what_the_lazy_regex_removed(parts):
    text = "".join(parts)
    assert strip_think(text) == _THINK.sub("", text)


def test_strip_think_is_linear_on_many_unclosed_tags():
    for n in (1_000, 10_000, 100_000):
        text = CountingStr("<think>" * n + "answer")
        CountingStr.scanned = 0
        assert strip_think(text) == str(text)  # unclosed: nothing removed
        assert CountingStr.scanned <= 2 * len(text), (n, CountingStr.scanned)
    text = CountingStr(("<think>x</think>" * 1000) + "<think>" * 1000)
    CountingStr.scanned = 0
    assert strip_think(text) == "<think>" * 1000
    assert CountingStr.scanned <= 2 * len(text)


def test_clean_solver_output_on_a_large_hostile_reply():
    reply = "<think>" * 50_000 + "Step 1: <CALL_BEGIN>Finish[1]<CALL_END>\nmore"
    assert clean_solver_output(reply).endswith("<CALL_BEGIN>Finish[1]<CALL_END>")
    labels = ["flight", "coffee"]
    assert parse_intent("[" * 100_000 + "[coffee]", labels) == "coffee"
    assert parse_intent("[" + "a" * 100_000, labels) is None


_OLD_STEP_LABEL = re.compile(r"^\s*(?:thought|step)\s*\d*\s*:\s*", re.IGNORECASE)  # the quadratic form


def _old_strip_step_label(text: str) -> str:
    text = text.strip()
    while (m := _OLD_STEP_LABEL.match(text)) is not None and m.end():
        text = text[m.end() :].strip()
    return text


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["Thought", "step", "STEP ", " 3", "12", ":", " ", "\t", "x", "Action 2:"]),
        max_size=12,
    )
)
def test_label_strippers_read_labels_as_before(parts):
    text = "".join(parts)
    if re.search(r"\d\s+\d", text):
        return  # "Step 3 4:" is a label now too (one class for spaces and digits); no model writes it
    assert strip_step_label(text) == _old_strip_step_label(text)
    old = re.sub(r"^\s*action\s*\d*\s*:\s*", "", text, flags=re.IGNORECASE)
    m = react._ACTION_LABEL.match(text)
    assert (text[m.end() :] if m else text) == old


def _cpu(fn, text: str) -> float:
    best = float("inf")
    for _ in range(3):
        t0 = time.thread_time()
        fn(text)
        best = min(best, time.thread_time() - t0)
    return best


def test_label_strippers_are_linear_on_long_runs_of_spaces():
    """CPU time at 8 times the size: about 8 times when linear, 64 times when quadratic."""
    cases = [
        (strip_step_label, lambda n: "Thought" + " " * n + "x"),
        (strip_step_label, lambda n: "Step 1:" * (n // 7)),
        (lambda t: react._ACTION_LABEL.match(t), lambda n: "Action" + " " * n + "x"),
        (lambda t: react._ACTION_LABEL.match(t), lambda n: " " * n + "Action 1" + "\t" * n),
    ]
    for fn, make in cases:
        small, large = make(8_000), make(64_000)
        fn(small)
        assert _cpu(fn, large) <= 30 * max(_cpu(fn, small), 1e-4)

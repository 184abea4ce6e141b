"""What the policies do to model output before the action parser: linear work on hostile text.

The `<think>` stripper (`agents.prompts.strip_think`) is measured without a clock: it scans with
`str.find`, so a `str` whose `find` adds up the characters each call looks at counts its work. The
other expressions applied to model output (`parse_intent`'s `\\[([^\\[\\]]+)\\]`) have one quantifier
over a class that excludes the delimiters around it, so no two attempts overlap: linear.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from seer_env.agents.prompts import clean_solver_output, parse_intent, strip_think

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

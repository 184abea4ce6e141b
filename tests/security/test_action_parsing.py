"""The action parser on hostile text: bounded sizes, bounded quotes, and work linear in the input.

Work is measured without a clock: the parser's own scans are Python loops, so the number of line
events they trace (`sys.settrace`) counts the characters they look at; the rest is `str` methods
and regular expressions without quantifiers that could backtrack, which are linear by themselves.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seer_env.actions import (
    MAX_ACTION_CHARS,
    MAX_ARGUMENT_DEPTH,
    MAX_TOOL_NAME_CHARS,
    QUOTE_CHARS,
    ActionParseError,
    parse_action,
    parse_action_with_thought,
)
from seer_env.envs.toolqa import env as toolqa_env
from seer_env.envs.toolqa import tools as toolqa_tools

_TRACED = {
    str(Path(m.__file__).resolve()) for m in (sys.modules["seer_env.actions"], toolqa_env, toolqa_tools)
}

# pieces an attacker would repeat: whitespace runs next to labels, labels, brackets, tags, JSON
ATOMS = [
    "Action", "action", "ACTION 12", " ", "\t", "\n", "\r\n", "7", ":", "[", "]", "],", "], ", "{", "}",
    '"', "<CALL_BEGIN>", "<CALL_END>", "Calculate", "FilterDB", "x", "coffee.", "flights .", "\u00a0", "é",
]  # fmt: skip


def traced_lines(fn, *args) -> int:
    """How many lines of the action-path modules run during fn(*args)."""
    count = 0

    def local(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename in _TRACED else None

    sys.settrace(tracer)
    try:
        fn(*args)
    except ActionParseError:
        pass
    finally:
        sys.settrace(None)
    return count


def _action_path(text: str) -> None:
    """What the ToolQA env runs on a text action before any tool: parse, then the two-call check,
    and the schema scan SQLInterpreter runs on its argument."""
    try:
        call = parse_action(text)
    except ActionParseError:
        call = None
    for value in call.arguments.values() if call else [text]:
        toolqa_env.holds_second_call(str(value))
        toolqa_tools.schemas_named(str(value))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    unit=st.lists(st.sampled_from(ATOMS), min_size=1, max_size=6).map("".join), tail=st.sampled_from(ATOMS)
)
def test_parse_work_is_linear_in_the_action(unit, tail):
    small = unit * (400 // len(unit) + 1) + tail
    large = unit * (8 * 400 // len(unit) + 8) + tail  # about 8 times longer
    work_small, work_large = traced_lines(_action_path, small), traced_lines(_action_path, large)
    # a linear parser does a few steps per character; a quadratic one ~len(text)/2 per character
    assert work_large <= 20 * len(large) + 500, (unit, work_large, len(large))
    assert work_large <= 10 * work_small + 500, (unit, work_small, work_large)


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("Action:[]{}<>_ \n\t0123456789\"',.xé")), max_size=300))
def test_any_text_gives_a_call_or_a_bounded_error(text):
    try:
        call, thought = parse_action_with_thought(text)
    except ActionParseError as exc:
        assert len(str(exc)) <= 2 * QUOTE_CHARS + 300
    else:
        assert call.name.isidentifier() and len(call.name) <= MAX_TOOL_NAME_CHARS


@pytest.mark.parametrize(
    "text",
    [
        "x" + "\n" * 32_000 + "x",
        "Action" + " " * 64_000 + "x",
        "Action 1" + " " * 64_000 + "x",
        "\nAction 1:" * 6_000,
        "X" + "[" * 32_000 + "]" * 32_000,
        "<CALL_BEGIN>" * 5_000,
        '{"name": "X", "arguments": ' + "[" * 60_000,
        ("action " + " " * 993) * 65,
    ],
    ids=["newlines", "spaces_after_action", "spaces_after_number", "labels", "brackets", "call_begin",
         "json_depth", "action_words"],
)  # fmt: skip
def test_known_hostile_texts_take_linear_work(text):
    assert traced_lines(_action_path, text) <= 12 * len(text) + 500


def test_action_size_bound_is_exact():
    body = "x" * (MAX_ACTION_CHARS - len("Finish[]"))
    assert parse_action("Finish[" + body + "]").arguments["input"] == body
    with pytest.raises(ActionParseError, match="too long") as exc:
        parse_action("Finish[" + body + "x]")
    assert body[:100] not in str(exc.value)
    with pytest.raises(ActionParseError, match="too long"):
        parse_action(("Finish[" + body + "x]").encode())
    with pytest.raises(ActionParseError, match="too large"):
        parse_action({"name": "Finish", "arguments": {"answer": body + "xx"}})
    with pytest.raises(ActionParseError, match="too large"):
        parse_action({"name": "Finish", "arguments": '{"answer": "' + body + '"}'})

    class Function:  # the shape of an OpenAI / litellm tool call's `function`
        name = "Finish"
        arguments = '{"answer": "' + body + '"}'

    class ToolCallObject:
        function = Function()

    with pytest.raises(ActionParseError, match="too large"):
        parse_action(ToolCallObject())


def test_argument_depth_and_name_bounds_are_exact():
    def nested(depth):
        out: list = []
        for _ in range(depth):
            out = [out]
        return out

    assert parse_action({"name": "T", "arguments": {"a": nested(MAX_ARGUMENT_DEPTH - 2)}}).name == "T"
    with pytest.raises(ActionParseError, match="nested too deeply"):
        parse_action({"name": "T", "arguments": {"a": nested(MAX_ARGUMENT_DEPTH)}})
    with pytest.raises(ActionParseError, match="nested too deeply"):
        parse_action('{"name": "T", "arguments": "' + "[" * 50_000 + '"}')
    assert parse_action("N" * MAX_TOOL_NAME_CHARS + "[x]").name == "N" * MAX_TOOL_NAME_CHARS
    for form in (
        "N" * (MAX_TOOL_NAME_CHARS + 1) + "[x]",
        {"name": "N" * (MAX_TOOL_NAME_CHARS + 1), "arguments": {}},
        {"name": "N" * 10**6, "arguments": {}},
    ):
        with pytest.raises(ActionParseError, match="tool name is too long|too large") as exc:
            parse_action(form)
        assert "N" * QUOTE_CHARS not in str(exc.value)


def test_labels_and_tags_still_parse_as_before():
    call, thought = parse_action_with_thought("Thought: load it\n  Action 3 :  LoadDB[flights]")
    assert (call.name, call.arguments, thought) == ("LoadDB", {"input": "flights"}, "Thought: load it")
    call, thought = parse_action_with_thought("think\nAction:\nFilterDB[a=b, c=d]  ")
    assert (call.name, call.arguments["input"], thought) == ("FilterDB", "a=b, c=d", "think")
    with pytest.raises(ActionParseError):  # a label inside a line is not a label
        parse_action("He said Action: no. Calculate[1+2]")
    call, thought = parse_action_with_thought("plan <CALL_BEGIN>Calculate[(1+2)]\n]<CALL_END> rest")
    assert (call.name, call.arguments["input"], thought) == ("Calculate", "(1+2)]\n", "plan")
    assert toolqa_env.holds_second_call("flights], \n FilterDB [x")
    assert not toolqa_env.holds_second_call("a], b[c]")
    assert toolqa_tools.schemas_named("SELECT * FROM Coffee . coffee_data JOIN yelp.yelp_data, flights") == {
        "coffee",
        "yelp",
    }


# Every regular expression that sees action text in the environments (or model output in the
# policies), with why it cannot backtrack.
# A new one fails `test_regexes_on_the_action_path_cannot_backtrack` until it is reviewed here.
REVIEWED_PATTERNS = {
    "action": "a literal",
    r"[A-Za-z_]\w*": "one quantifier at the end, used with fullmatch only",
    r"\b(flights|coffee|airbnb|yelp)\b": "alternatives of literals, no quantifier",
    r"\b(a|an|the|usd)\b": "alternatives of literals, no quantifier",
    r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+": "findall: each quantifier ends at the first character it cannot take",
    r"\[([^\[\]]+)\]": "model output (intent labels): one quantifier over a class that excludes both brackets",
    r"\s*(?:thought|step)[\s\d]*:\s*": "model output: matched at one position; one class up to a literal colon",
    r"\s*action[\s\d]*:\s*": "model output: matched at one position; one class up to a literal colon",
    r"\[\s*(no\s*match|match)\s*\]": "judge replies: each \\s* runs up to a literal it cannot take; no two overlap",
}


def test_regexes_on_the_action_path_cannot_backtrack():
    import re

    from seer_env import actions, judge, llm
    from seer_env.agents import prompts, react
    from seer_env.envs.toolqa import scoring

    modules = [actions, toolqa_env, toolqa_tools, scoring, prompts, react, llm, judge]
    try:
        from seer_env.envs.taubench import env as tau_env

        modules.append(tau_env)
    except ImportError:  # pragma: no cover - the τ-bench extra is optional
        pass
    found = {v.pattern for m in modules for v in vars(m).values() if isinstance(v, re.Pattern)}
    assert found <= set(REVIEWED_PATTERNS), found - set(REVIEWED_PATTERNS)


def _cpu_seconds(fn, text: str) -> float:
    """The least CPU time of this thread over three runs of fn(text) (other processes do not count)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.thread_time()
        fn(text)
        best = min(best, time.thread_time() - t0)
    return best


@pytest.mark.parametrize(
    "make",
    [
        lambda n: "x" + "\n" * n + "x",
        lambda n: "Action" + " " * n + "x",
        lambda n: "Action 1" + " " * n + "x",
        lambda n: "X[" + "], " * (n // 3),
        lambda n: "<CALL_BEGIN>" * (n // 12),
    ],
    ids=["newlines", "spaces_after_action", "spaces_after_number", "second_call", "call_begin"],
)
def test_parse_time_grows_linearly(make):
    """A backstop for work the tracer cannot see (inside `str` methods and regular expressions): CPU
    time at 8 times the size grows about 8 times when linear, 64 times when quadratic."""
    small, large = make(MAX_ACTION_CHARS // 8 - 20), make(MAX_ACTION_CHARS - 20)
    _action_path(small)  # warm up
    t_small, t_large = _cpu_seconds(_action_path, small), _cpu_seconds(_action_path, large)
    assert t_large <= 30 * max(t_small, 1e-4), (t_small, t_large)

import json
from types import SimpleNamespace

import pytest

from seer_env import ActionParseError, ToolCall, ToolSpec, parse_action, parse_action_with_thought

NEIGHBOUR = ToolSpec(
    "NeighbourCheck",
    "neighbours of a node",
    {
        "type": "object",
        "properties": {"GraphName": {"type": "string"}, "Node": {"type": "string"}},
        "required": ["GraphName", "Node"],
    },
)
LOADDB = ToolSpec("LoadDB", "load a table", {"type": "object", "properties": {"DBName": {"type": "string"}}})
TOOLS = [NEIGHBOUR, LOADDB]


@pytest.mark.parametrize(
    "text",
    [
        "LoadDB[flights]",
        "Action 3: LoadDB[flights]",
        "Thought: I need the table.\nAction 1: LoadDB[flights]",
        "<CALL_BEGIN>LoadDB[flights]<CALL_END>",
        "I will load it. <CALL_BEGIN>LoadDB[flights]<CALL_END> trailing",
        '{"name": "LoadDB", "arguments": {"DBName": "flights"}}',
    ],
)
def test_text_forms_bind_to_parameter_names(text):
    call = parse_action(text, TOOLS)
    assert call == ToolCall("LoadDB", {"DBName": "flights"})
    assert call.raw == text


def test_thought_is_kept():
    call, thought = parse_action_with_thought("Thought: load it\nAction 1: LoadDB[coffee]", TOOLS)
    assert call.arguments == {"DBName": "coffee"}
    assert thought == "Thought: load it"


def test_openai_tool_call_object_and_dict():
    obj = SimpleNamespace(
        id="call_1",
        type="function",
        function=SimpleNamespace(name="LoadDB", arguments=json.dumps({"DBName": "yelp"})),
    )
    assert parse_action(obj) == ToolCall("LoadDB", {"DBName": "yelp"})
    as_dict = {"id": "c", "type": "function", "function": {"name": "LoadDB", "arguments": '{"DBName": "x"}'}}
    assert parse_action(as_dict) == ToolCall("LoadDB", {"DBName": "x"})
    assert parse_action({"name": "LoadDB", "arguments": {"DBName": "x"}}) == ToolCall(
        "LoadDB", {"DBName": "x"}
    )


def test_multi_argument_split_is_lossless():
    call = parse_action("NeighbourCheck[AuthorNet, Smith, John, Jr.]", TOOLS)
    assert call.arguments == {"GraphName": "AuthorNet", "Node": "Smith, John, Jr."}
    assert call.text() == "NeighbourCheck[AuthorNet, Smith, John, Jr.]"


def test_call_tags_keep_multiline_code_up_to_last_bracket():
    text = "<CALL_BEGIN>PythonInterpreter[x = [1, 2]\nanswer = x[0]]<CALL_END>"
    call = parse_action(text)
    assert call.name == "PythonInterpreter"
    assert call.arguments == {"input": "x = [1, 2]\nanswer = x[0]"}


def test_unknown_tool_keeps_unbound_arguments():
    assert parse_action("Frobnicate[a, b]", TOOLS).arguments == {"input": "a, b"}


def test_already_parsed_call_is_rebound():
    assert parse_action(ToolCall("LoadDB", {"input": "flights"}), TOOLS).arguments == {"DBName": "flights"}


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "just some words",
        "LoadDB(flights)",
        "LoadDB[flights",
        "<CALL_BEGIN>LoadDB<CALL_END>",
        '{"arguments": {}}',
        '{"name": "LoadDB", "arguments": "{not json"}',
        42,
        None,
    ],
)
def test_unparsable_actions_raise_a_readable_error(bad):
    with pytest.raises(ActionParseError) as info:
        parse_action(bad, TOOLS)
    assert str(info.value)

import dataclasses
import json
import pickle

import gymnasium as gym
import pytest

import seer_env
from seer_env import Step, TextObservation, ToolCall, ToolCallSpace, ToolSpec, Trajectory

SPECS = [
    ToolSpec(
        "LoadDB",
        "load",
        {
            "type": "object",
            "properties": {"DBName": {"type": "string", "enum": ["a", "b"]}},
            "required": ["DBName"],
        },
    ),
    ToolSpec(
        "Add",
        "add",
        {
            "type": "object",
            "properties": {"x": {"type": "integer"}, "y": {"type": "number"}},
            "required": ["x", "y"],
        },
    ),
]


def test_sample_is_valid_and_seeded():
    space = ToolCallSpace(SPECS, seed=3)
    first = [space.sample() for _ in range(50)]
    assert all(space.contains(c) for c in first)
    space.seed(3)
    assert [space.sample() for _ in range(50)] == first
    assert {c.name for c in first} == {"LoadDB", "Add"}


def test_contains_checks_name_required_and_types():
    space = ToolCallSpace(SPECS)
    assert space.contains("LoadDB[a]")
    assert space.contains({"name": "Add", "arguments": {"x": 1, "y": 2.5}})
    assert not space.contains("LoadDB[c]")  # not in the enum
    assert not space.contains({"name": "Add", "arguments": {"x": 1}})  # y missing
    assert not space.contains({"name": "Add", "arguments": {"x": True, "y": 1}})  # bool is not an integer
    assert not space.contains("Nope[a]")
    assert not space.contains("garbage")


def test_text_observation_accepts_any_unicode():
    space = TextObservation()
    assert "Café 🍕, naïve" in space
    assert "" in space
    assert 3 not in space
    assert isinstance(space.sample(), str)


def test_trajectory_round_trips_json():
    traj = Trajectory(
        env_id="ToolQA-easy-v0",
        task_id="easy-flight-0001",
        query="q?",
        intent="flight",
        steps=[
            Step(ToolCall("LoadDB", {"DBName": "flights"}, raw="LoadDB[flights]"), "loaded", True, "think")
        ],
        answer="42",
        reward=1.0,
        success=True,
        meta={"tokens": 10},
    )
    back = Trajectory.from_json(traj.to_json())
    assert back == traj
    assert back.tool_chain == ["LoadDB"]
    assert pickle.loads(pickle.dumps(traj)) == traj
    # to_dict names every field (it is written out by hand) and copies, so the record cannot alias it
    d = traj.to_dict()
    assert set(d) == {f.name for f in dataclasses.fields(Trajectory)}
    d["meta"]["tokens"] = 11
    assert traj.meta == {"tokens": 10}


def test_ids_registered_on_import():
    for env_id in seer_env.ENVS:
        assert env_id in gym.registry


def test_signature_and_openai_form():
    spec = ToolSpec("NeighbourCheck", "d", {"type": "object", "properties": {"GraphName": {}, "Node": {}}})
    assert spec.signature() == "NeighbourCheck[GraphName, Node]"
    assert spec.openai()["function"]["name"] == "NeighbourCheck"


@pytest.mark.parametrize("bad", [[]])
def test_space_needs_tools(bad):
    with pytest.raises(ValueError):
        ToolCallSpace(bad)


def test_tool_specs_hash_by_content():
    """A ToolSpec holds a dict, so its hash must come from its content (sets and dict keys of specs)."""
    params = {"type": "object", "properties": {"DBName": {"type": "string"}}, "required": ["DBName"]}
    a = ToolSpec("LoadDB", "load a table", params)
    b = ToolSpec("LoadDB", "load a table", json.loads(json.dumps(params)))
    assert hash(a) == hash(b)
    assert len({a, b, ToolSpec("LoadDB", "another description", params)}) == 2

"""One CLI vocabulary: `taubench run` takes `run`'s option names (and τ-bench's old spellings), one step
cap, and `--protocol` honours the user's --policy and --accumulate instead of rewriting them."""

from __future__ import annotations

import pytest

from seer_env.cli import build_parser


def test_taubench_run_takes_the_run_vocabulary_and_the_old_spellings():
    p = build_parser()
    new = p.parse_args(
        "taubench run --model m --env TauBench-airline-v0 --trials 3 --concurrency 2 --out o --max-steps 7".split()
    )
    old = p.parse_args(
        "taubench run --model m --env airline --num-trials 3 --max-concurrency 2 --log-dir o --max-num-steps 7".split()
    )
    for args in (new, old):
        assert (args.env, args.trials, args.concurrency, args.out, args.max_steps) == (
            "airline",
            3,
            2,
            "o",
            7,
        )
    defaults = p.parse_args("taubench run --model m".split())
    assert (defaults.env, defaults.trials, defaults.concurrency, defaults.out) == ("retail", 1, 1, "results")
    with pytest.raises(SystemExit):
        p.parse_args("taubench run --model m --env TauBench-bank-v0".split())


def test_run_has_one_step_cap():
    from seer_env.agents.launch import seer_options_from_args

    p = build_parser()
    assert p.parse_args(["run"]).max_steps is None  # each policy keeps its own cap
    for flag in ("--max-steps", "--seer-max-steps"):  # the older name is the same option
        args = p.parse_args(["run", flag, "4"])
        assert args.max_steps == 4 and seer_options_from_args(args)["max_steps"] == 4


@pytest.mark.parametrize(
    "extra,policies,accumulate",
    [
        ([], ["seer"], "sequential"),  # left out: the protocol's own
        (["--policy", "random", "--accumulate", "online"], ["random"], "online"),  # given: honoured
    ],
)
def test_protocol_honours_the_users_policy_and_accumulate(monkeypatch, tmp_path, extra, policies, accumulate):
    from seer_env.agents import launch, paper

    seen: dict = {}

    def entries(names, **kw):
        seen.update(policies=names, accumulate=kw["accumulate"])
        return []

    def play(args, envs, entries, out, *, accumulate, env_kwargs, config, **kw):
        seen.update(played=accumulate, config=config, envs=envs, env_kwargs=env_kwargs, args=args, **kw)
        return {"done": 0}

    monkeypatch.setattr(launch, "build_policy_entries", entries)
    monkeypatch.setattr(launch, "play", play)
    args = build_parser().parse_args(
        ["run", "--protocol", "seer-toolqa", "--env", "ToolQA-Synth", "--out", str(tmp_path), "--model", "m"]
        + extra
    )
    assert paper.run_protocol_cli(args) == 0
    assert seen["policies"] == policies and seen["accumulate"] == seen["played"] == accumulate
    assert seen["config"]["policy"] == ",".join(policies) and seen["config"]["accumulate"] == accumulate
    assert seen["envs"] == paper.protocol_envs("ToolQA-Synth")


@pytest.mark.parametrize(
    "extra,expect",
    [
        ([], {"halting": "reference", "scorer": "judge", "tool_profile": "seer", "max_obs_chars": None}),
        (
            [
                "--halting",
                "never",
                "--scorer",
                "em",
                "--env-kwargs",
                '{"tool_profile": "toolqa", "max_obs_chars": 0}',
            ],
            {"halting": "never", "scorer": "em", "tool_profile": "toolqa", "max_obs_chars": 0},
        ),
    ],
)
def test_protocol_defaults_are_the_references_and_the_users_options_win(monkeypatch, tmp_path, extra, expect):
    from seer_env.agents import launch, paper

    seen: dict = {}

    def play(args, envs, entries, out, *, accumulate, env_kwargs, config, judge=None, **kw):
        seen.update(args=args, env_kwargs=env_kwargs, judge=judge, config=config)
        return {"done": 0}

    monkeypatch.setattr(launch, "build_policy_entries", lambda names, **kw: [])
    monkeypatch.setattr(launch, "play", play)
    args = build_parser().parse_args(
        ["run", "--protocol", "seer-toolqa", "--env", "ToolQA-Synth", "--out", str(tmp_path), "--model", "m"]
        + ["--domains", "coffee,flight", *extra]
    )
    assert paper.run_protocol_cli(args) == 0
    assert seen["args"].halting == expect["halting"] and seen["config"]["scorer"] == expect["scorer"]
    kw = seen["env_kwargs"]
    assert list(kw) == ["ToolQA-Synth-easy-v0#flight", "ToolQA-Synth-hard-v0#flight", "ToolQA-Synth-easy-v0#coffee",
                        "ToolQA-Synth-hard-v0#coffee"]  # fmt: skip
    for label, one in kw.items():
        assert one["domains"] == [label.split("#")[1]] and one["tool_profile"] == expect["tool_profile"]
        assert one.get("max_obs_chars") == expect["max_obs_chars"]
        assert (one.get("scorer"), one.get("judge") is not None) == (
            ("judge", True) if expect["scorer"] == "judge" else (None, False)
        )
    assert (seen["judge"] is not None) == (expect["scorer"] == "judge")


def test_weights_k_and_online_reach_the_pools_and_policies(tmp_path):
    from seer_env.agents.launch import pool_options_from_args, react_options_from_args, seer_options_from_args
    from seer_env.pool.types import RecallWeights

    p = build_parser()
    args = p.parse_args(["run", "--weights", "1,0,0.5", "--k", "2", "--online", "--halting", "any-error"])
    assert pool_options_from_args(args) == {"weights": RecallWeights(1.0, 0.0, 0.5), "allowed_splits": None}
    opts = seer_options_from_args(args)
    assert opts["k"] == 2 and opts["halting"] == "any-error" and opts["classify_max_tokens"] == 128
    assert pool_options_from_args(p.parse_args(["run"])) == {}
    assert pool_options_from_args(p.parse_args(["run", "--accumulate-splits", "train,dev"])) == {
        "allowed_splits": ["train", "dev"]
    }
    no_stop = p.parse_args(["run", "--no-stop", "--exemplars", "x.json", "--continue-on-error"])
    assert react_options_from_args(no_stop) == {
        "action_format": "text",
        "max_steps": None,
        "halting": "never",
        "stop": [],
        "exemplars_file": "x.json",
    }
    for bad in ("1,2", "1,-1,0", "a,b,c", "1,nan,1"):
        with pytest.raises(SystemExit):
            p.parse_args(["run", "--weights", bad])


def test_the_judge_scores_toolqa_only(tmp_path, capsys):
    from seer_env.cli import main

    rc = main(
        ["run", "--env", "tests.harness.tiny_env:Tiny-v0", "--scorer", "judge", "--model", "m"]
        + ["--out", str(tmp_path), "--no-progress"]
    )
    assert rc == 2 and "--scorer judge scores ToolQA answers" in capsys.readouterr().err

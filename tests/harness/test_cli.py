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


def _parsers(parser, path=("seer-env",)):
    import argparse

    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if sub is not parser:
                    yield from _parsers(sub, (*path, name))


# options kept only as older spellings of another (hidden from help on purpose)
HIDDEN = {("seer-env", "run", "--seer-max-steps")}


def test_every_option_of_every_command_has_help_that_shows_its_default():
    import argparse

    seen = 0
    for path, parser in _parsers(build_parser()):
        help_text = " ".join(parser.format_help().split())
        for action in parser._actions:
            if isinstance(
                action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)
            ):
                continue
            if not action.option_strings:  # positionals: help, no default
                assert action.help, (path, action.dest)
                continue
            flag = action.option_strings[-1]
            if (*path, flag) in HIDDEN:
                assert action.help == argparse.SUPPRESS
                continue
            seen += 1
            assert action.help and action.help != argparse.SUPPRESS, (path, flag)
            if action.required:  # nothing to default to
                continue
            formatter = parser._get_formatter()
            shown = formatter._get_help_string(action) % {"default": action.default}
            assert "default" in shown, (path, flag, shown)
            assert flag in help_text, (path, flag)
    assert seen > 60


def test_version(capsys):
    from seer_env import __version__

    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"seer-env {__version__}"


def test_run_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--help"])
    out = capsys.readouterr().out
    for line in (
        "0    every planned episode",
        "3    a model the run names failed",
        "4    the circuit breaker",
    ):
        assert line in out
    assert "--max-consecutive-errors MAX_CONSECUTIVE_ERRORS" in out and "(default: 5)" in out


def test_envs_lists_every_registered_env_without_building_one(capsys, monkeypatch, tmp_path):
    import json

    import seer_env
    from seer_env.cli import main
    from seer_env.envs.toolqa import corpus

    monkeypatch.delenv(corpus.DATA_ENV_VAR, raising=False)
    assert main(["envs", "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == set(seer_env.ENVS)
    official = rows["ToolQA-hard-v0"]
    assert official["ready"] is False and "TOOLQA_DATA_DIR" in official["status"]
    assert rows["ToolQA-Synth-easy-v0"]["needs"] == "nothing"
    assert all(r["max_episode_steps"] in (20, 30) for r in rows.values())
    # a data folder with question files: counted
    qdir = tmp_path / "data" / "questions" / "hard"
    qdir.mkdir(parents=True)
    (qdir / "flight-hard.jsonl").write_text(
        "".join(
            json.dumps({"qid": f"hard-flight-{i}", "question": "q", "answer": "a"}) + "\n" for i in range(3)
        )
    )
    assert main(["envs", "--json", "--env-kwargs", json.dumps({"data_dir": str(tmp_path)})]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["ToolQA-hard-v0"]["tasks"] == 3 and rows["ToolQA-hard-v0"]["ready"] is False  # no corpus
    assert main(["envs"]) == 0 and "ToolQA-Synth-hard-v0" in capsys.readouterr().out


def test_max_episode_steps_is_registered_as_each_env_truncates():
    import inspect

    import gymnasium as gym

    import seer_env  # noqa: F401
    from seer_env.envs.taubench.env import TauBenchEnv
    from seer_env.envs.toolqa.env import ToolQAEnv
    from seer_env.registration import MAX_EPISODE_STEPS

    for env_id in seer_env.ENVS:
        cls = TauBenchEnv if env_id.startswith("TauBench") else ToolQAEnv
        cap = inspect.signature(cls).parameters["max_steps"].default
        assert gym.spec(env_id).max_episode_steps == MAX_EPISODE_STEPS[env_id] == cap, env_id
    env = gym.make("ToolQA-Synth-easy-v0")
    assert env.spec.max_episode_steps == 20
    env.reset(seed=0)
    for n in range(1, 21):
        _, _, terminated, truncated, info = env.step("LoadDB[nonexistent]")
        assert not terminated and truncated == (n == 20)
    assert info["success"] is False and info["answer"] is None  # the env's own truncation, at the same step


def test_no_model_loading_noise_without_a_model(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo), "HF_HUB_OFFLINE": "1"}

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "seer_env.cli", "run", "--no-progress", *args],
            cwd=repo, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    quiet = run(
        "--env",
        "tests.harness.tiny_env:Tiny-v0",
        "--policy",
        "random",
        "--episodes",
        "3",
        "--out",
        str(tmp_path / "a"),
    )
    assert quiet.returncode == 0, quiet.stderr
    assert "Loading weights" not in quiet.stderr and "loading the embedding model" not in quiet.stderr
    # an agenda question: its retriever embeds the query, so the model loads, and says so once
    loud = run(
        "--env",
        "ToolQA-Synth-easy-v0",
        "--policy",
        "oracle",
        "--tasks",
        "easy-agenda-0001",
        "--out",
        str(tmp_path / "b"),
    )
    assert loud.returncode == 0, loud.stderr
    assert "Loading weights" not in loud.stderr
    assert loud.stderr.count("loading the embedding model") == 1

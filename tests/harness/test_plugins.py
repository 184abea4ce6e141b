"""Policies from outside seer-env: by `package.module:ClassName`, by an installed package's entry point
(a dist-info with `seer_env.policies` entry points on sys.path), and the README's example, run as the
README says through `seer-env run` and through the Python runner API."""

from __future__ import annotations

import json
import re
import shlex
import sys
import textwrap
from pathlib import Path

import pytest

from seer_env.cli import main
from seer_env.records import read_episodes
from tests.harness.conftest import TINY
from tests.harness.scripted import ScriptedModel

REPO = Path(__file__).resolve().parents[2]

THIRD_PARTY = '''
from seer_env.policy import Policy
from seer_env.types import ToolCall


class GoldPolicy(Policy):
    """Replays the gold chain (asks the runner for it); `suffix` is a constructor option."""

    needs_gold = True

    def __init__(self, seed=None, suffix=""):
        self.seed, self.suffix, self.chain = seed, suffix, []

    def reset(self, *, seed=None, info=None):
        self.chain = list((info or {}).get("gold", {}).get("chain", []))

    async def act(self, observation, info):
        call = ToolCall.from_dict(self.chain.pop(0))
        if call.name == "Finish" and self.suffix:
            call = ToolCall("Finish", {"answer": call.arguments["answer"] + self.suffix})
        return call


class AskPolicy(Policy):
    """Takes the run's LLM client."""

    def __init__(self, client):
        self.client = client

    async def act(self, observation, info):
        reply = await self.client.acomplete([{"role": "user", "content": "PLUGIN " + observation}])
        return ToolCall("Finish", {"answer": reply.content})
'''


@pytest.fixture()
def site(tmp_path, monkeypatch):
    """A folder on sys.path with the module `thirdparty_policies` and an installed distribution
    (dist-info) that declares `gold = thirdparty_policies:GoldPolicy` in `seer_env.policies`."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "thirdparty_policies.py").write_text(THIRD_PARTY)
    dist = root / "thirdparty_policies-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-policies\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[seer_env.policies]\ngold = thirdparty_policies:GoldPolicy\n")
    monkeypatch.syspath_prepend(str(root))
    yield root
    sys.modules.pop("thirdparty_policies", None)


def _run(out: Path, policy: str, *extra: str) -> int:
    args = ["run", "--env", TINY, "--policy", policy, "--tasks", "t000,t001,t002", "--out", str(out)]
    return main([*args, "--no-progress", *extra])


def test_a_policy_by_module_and_class(site, tmp_path):
    out = tmp_path / "run"
    assert _run(out, "thirdparty_policies:GoldPolicy") == 0
    recs = read_episodes(out / "results.jsonl")
    assert len(recs) == 3 and all(r.success for r in recs)
    assert {r.policy for r in recs} == {"thirdparty_policies:GoldPolicy"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert (
        manifest["policies"]["thirdparty_policies:GoldPolicy"]["policy"] == "thirdparty_policies:GoldPolicy"
    )
    # --policy-kwargs reach its constructor: a suffix makes every answer wrong
    out2 = tmp_path / "run2"
    assert _run(out2, "thirdparty_policies:GoldPolicy", "--policy-kwargs", '{"suffix": "!"}') == 0
    assert not any(r.success for r in read_episodes(out2 / "results.jsonl"))


def test_a_policy_by_entry_point(site, tmp_path):
    from seer_env.agents.plugins import installed_policies

    assert installed_policies()["gold"] == "thirdparty_policies:GoldPolicy"
    out = tmp_path / "run"
    assert _run(out, "gold") == 0
    recs = read_episodes(out / "results.jsonl")
    assert len(recs) == 3 and all(r.success and r.policy == "gold" for r in recs)


def test_a_plugin_gets_the_run_llm_client(site, serve, tiny_answers, tmp_path):
    srv = serve(lambda body: {"content": "5"})
    out = tmp_path / "run"
    code = _run(
        out,
        "thirdparty_policies:AskPolicy",
        "--model",
        "openai/m",
        "--api-base",
        srv.base_url,
        "--api-key",
        "k",
    )
    assert code == 0
    asked = [b["messages"][-1]["content"] for b in srv.requests if "PLUGIN" in b["messages"][-1]["content"]]
    assert sorted(asked) == sorted(
        f"PLUGIN {q}" for q in ["What is the value of k0?", "What is 1 plus 4?", "What is the value of k2?"]
    )
    recs = {r.task_id: r for r in read_episodes(out / "results.jsonl")}
    assert recs["t001"].success and recs["t001"].model == "openai/m" and recs["t001"].usage["calls"] == 1
    with pytest.raises(SystemExit, match="need --model"):
        _run(tmp_path / "run2", "thirdparty_policies:AskPolicy")


def test_unknown_and_broken_plugins_are_said_plainly(site, tmp_path, capsys):
    assert _run(tmp_path / "a", "nosuchmodule:Policy") == 2
    assert "cannot import 'nosuchmodule'" in capsys.readouterr().err
    assert _run(tmp_path / "b", "thirdparty_policies:Nope") == 2
    assert "has no 'Nope'" in capsys.readouterr().err
    assert _run(tmp_path / "c", "nonsense") == 2
    assert "package.module:ClassName" in capsys.readouterr().err
    assert _run(tmp_path / "d", "thirdparty_policies:GoldPolicy", "--policy-kwargs", '{"nope": 1}') == 2
    assert "unexpected keyword argument 'nope'" in capsys.readouterr().err.replace("\n", "")


def _readme_block(name: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    m = re.search(rf"<!-- readme-example: {re.escape(name)} -->\n```\w+\n(.*?)```", text, re.S)
    assert m, f"README has no example {name}"
    return m.group(1)


def test_the_readme_example_policy_runs_as_the_readme_says(serve, tmp_path, monkeypatch):
    """The README's policy, its `seer-env run` command and its runner API code, as written; the model
    is the loopback server (OPENAI_BASE_URL), the env the generated ToolQA corpus."""
    srv = serve(ScriptedModel())  # answers `Finish[unknown]`-like text; the episodes just need to run
    monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_policy.py").write_text(_readme_block("my_policy.py"))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        lines = _readme_block("run").replace("\\\n", " ").splitlines()
        run_line = next(line for line in lines if " run " in line)
        argv = shlex.split(run_line.split("seer-env", 1)[1])
        assert main(argv) == 0
        recs = read_episodes(tmp_path / "runs/mine/results.jsonl")
        assert len(recs) == 10 and all(r.error is None and r.usage["calls"] == 1 for r in recs)
        assert all("Answer in one word:" in b["messages"][0]["content"] for b in srv.requests[1:])
        report_line = next(line for line in lines if " report " in line)
        assert main(shlex.split(report_line.split("seer-env", 1)[1])) == 0
        assert (tmp_path / "runs/mine/report.html").exists()

        code = textwrap.dedent(_readme_block("runner-api"))
        scope: dict = {}
        exec(compile(code, "README runner-api", "exec"), scope)
        counts = scope["counts"]
        assert counts["done"] == counts["planned"] == 10 and counts["errors"] == 0
        assert len(read_episodes(tmp_path / "runs/mine-api/results.jsonl")) == 10
    finally:
        sys.modules.pop("my_policy", None)

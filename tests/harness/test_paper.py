"""The paper-protocol recipe: subset order, env configuration, and the paper-shaped tables."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from seer_env.agents.paper import (
    DOMAINS,
    paper_tables,
    print_paper_tables,
    protocol_env_kwargs,
    protocol_envs,
)
from seer_env.records import read_records

REPO = Path(__file__).resolve().parents[2]


def test_protocol_order_easy_then_hard_per_domain():
    envs = protocol_envs("ToolQA")
    assert len(envs) == 15
    assert envs[:4] == [
        "ToolQA-easy-v0#flight",
        "ToolQA-hard-v0#flight",
        "ToolQA-easy-v0#coffee",
        "ToolQA-hard-v0#coffee",
    ]
    assert envs[-1] == "ToolQA-easy-v0#gsm8k"
    kw = protocol_env_kwargs(envs, "/data/toolqa")
    assert kw["ToolQA-hard-v0#dblp"] == {"domains": ["dblp"], "data_dir": "/data/toolqa"}
    assert len(protocol_envs("ToolQA-Synth")) == 14
    synth = protocol_env_kwargs(protocol_envs("ToolQA-Synth"), "/ignored")
    assert synth["ToolQA-Synth-easy-v0#agenda"] == {"domains": ["agenda"]}


def _records(rates: dict[str, float], n: int = 10) -> list[dict]:
    recs = []
    for label, rate in rates.items():
        for i in range(n):
            recs.append(
                {"env_id": label, "policy": "seer", "trial": 0, "task_id": str(i), "success": i < rate * n}
            )
    return recs


def test_paper_tables_means():
    rates = {f"ToolQA-easy-v0#{d}": 0.5 for d in DOMAINS}
    rates.update({f"ToolQA-hard-v0#{d}": 0.2 for d in DOMAINS[:-1]})
    t = paper_tables(_records(rates))
    assert t["per_subset"][("easy", "flight")] == (50.0, 10)
    assert t["easy"] == 50.0 and t["hard"] == 20.0
    assert abs(t["all"] - (8 * 50 + 7 * 20) / 15) < 1e-9
    buf = io.StringIO()
    print_paper_tables(_records(rates), console=Console(file=buf, width=200))
    text = buf.getvalue()
    assert "67.88" in text and "31.79" in text  # the published k=4 process averages
    assert "50.70" in text  # the ablation's All


@pytest.mark.slow
def test_protocol_command_on_synth(serve, tmp_path):
    """`seer-env run --protocol seer-toolqa --env ToolQA-Synth` plays the 14 synthetic subsets in order
    with one pool and prints the paper-shaped tables."""

    def brain(body):
        text = body["messages"][0]["content"]
        return {
            "content": "[flight]"
            if "Reply with exactly one label" in text
            else "<CALL_BEGIN>Finish[x]<CALL_END>"
        }

    srv = serve(brain)
    out = tmp_path / "proto"
    cmd = [sys.executable, "-m", "seer_env.cli", "run", "--protocol", "seer-toolqa", "--env", "ToolQA-Synth"]
    cmd += ["--model", "openai/scripted", "--api-base", srv.base_url, "--api-key", "x", "--episodes", "1"]
    cmd += ["--out", str(out), "--no-progress"]
    proc = subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "160"}
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ToolQA easy: accuracy" in proc.stdout and "67.88" in proc.stdout
    recs = read_records(out / "results.jsonl")
    assert [r["env_id"] for r in sorted(recs, key=lambda r: r["index"])] == protocol_envs("ToolQA-Synth")
    manifest = json.loads((out / "manifest.json").read_text())
    assert (
        manifest["config"]["accumulate"] == "sequential" and manifest["config"]["protocol"] == "seer-toolqa"
    )

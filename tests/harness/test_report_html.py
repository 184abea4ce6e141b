"""`seer-env report`: the HTML report opened in a real headless Chromium, the CSV, confidence
intervals, and plots with one panel per env and none empty."""

from __future__ import annotations

import csv
import os

import pytest

from seer_env.records import read_episodes
from seer_env.report import figures, llm_policies, make_report, tables, wilson_interval
from tests.harness import browser
from tests.harness.conftest import TINY
from tests.harness.helpers import run_policies
from tests.harness.scripted import ScriptedModel

TINY_B = TINY + "#other"  # a second env label (its own kwargs), plotted as the same env id


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory, hash_embedder):
    """react (an LLM policy) and random (none) on the tiny env; one task's env breaks (an error)."""
    from tests.harness import tiny_env
    from tests.harness.fake_server import FakeOpenAIServer

    answers = {t["query"]: (t["domain"], t["chain"]) for t in tiny_env.make_tasks(60)}
    out = tmp_path_factory.mktemp("mixed") / "run"
    with FakeOpenAIServer(ScriptedModel(answers, wrong={"What is 1 plus 4?"})) as srv:
        run_policies(
            out,
            ["react", "random"],
            srv,
            [TINY],
            embedder=hash_embedder,
            tasks="t000,t001,t002,t003,t004,t005,t006,t007",
            env_kwargs={"*": {"fail_task": "t006"}},
        )
    return out


def test_wilson_interval():
    assert wilson_interval(0, 0) == (0.0, 0.0)
    lo, hi = wilson_interval(0, 20)
    assert lo == 0.0 and hi == pytest.approx(0.1611, abs=1e-4)
    lo, hi = wilson_interval(10, 20)
    assert (lo, hi) == (pytest.approx(0.2993, abs=1e-4), pytest.approx(0.7007, abs=1e-4))
    lo, hi = wilson_interval(20, 20)
    assert lo == pytest.approx(0.8389, abs=1e-4) and hi == 1.0


def test_report_files_tables_and_csv(mixed_run):
    result = make_report(mixed_run)
    names = sorted(p.name for p in result["files"])
    assert names == sorted(
        [
            "report.md",
            "report.html",
            "records.csv",
            "success.png",
            "success_by_domain.png",
            "learning_curve.png",
            "tokens_cost.png",
        ]
    )
    md = (mixed_run / "report.md").read_text()
    assert "| success % | 95% CI |" in md and "## Errors (2 episodes)" in md
    assert "cannot load task t006" in md
    rows = list(csv.DictReader((mixed_run / "records.csv").open()))
    assert len(rows) == len(read_episodes(mixed_run / "results.jsonl")) == 16
    bad = [r for r in rows if r["verdict"] == "error"]
    assert {r["task_id"] for r in bad} == {"t006"} and bad[0]["error_type"] == "RuntimeError"
    wrong = next(r for r in rows if r["task_id"] == "t001" and r["policy"] == "react")
    assert (
        wrong["verdict"] == "wrong answer" and wrong["gold"] == "5" and wrong["answer"] == "WRONG-ON-PURPOSE"
    )
    assert int(next(r for r in rows if r["policy"] == "react" and r["success"] == "1")["llm_calls"]) > 0


def test_plots_have_a_panel_per_env_and_no_empty_one(mixed_run):
    records = read_episodes(mixed_run / "results.jsonl")
    # a second env id: the per-env plots get a second panel
    moved = [r for r in records if r.task_id in ("t000", "t001")]
    for r in moved:
        r.env_id = "Other-v0"
    t = tables(records)
    assert llm_policies(t) == ["react"]  # random called no LLM: no bar, no legend entry for it
    figs = figures(records, t)
    assert set(figs) == {"success.png", "success_by_domain.png", "learning_curve.png", "tokens_cost.png"}
    for name in ("success_by_domain.png", "learning_curve.png"):
        titles = sorted(ax.get_title() for ax in figs[name].axes if ax.get_title())
        assert titles == ["Other-v0", TINY], name
    for name, fig in figs.items():
        for ax in fig.axes:
            if ax.get_ylabel().startswith("pool size"):
                continue
            assert ax.patches or ax.lines, f"{name}: an empty panel"
    usage = figs["tokens_cost.png"]
    assert [t.get_text() for t in usage.axes[0].get_legend().get_texts()] == ["react"]
    # no LLM policy at all: no tokens/cost plot
    no_llm = [r for r in records if r.policy == "random"]
    assert "tokens_cost.png" not in figures(no_llm, tables(no_llm))


def test_html_report_opens_in_a_real_browser(mixed_run):
    if browser.find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    make_report(mixed_run)
    page = browser.open_page(mixed_run / "report.html")
    assert page.errors == []
    pngs = sorted(p.stem for p in mixed_run.glob("*.png"))
    assert sorted(i["alt"] for i in page.images) == pngs and len(pngs) == 4
    for img in page.images:
        assert img["complete"] and img["naturalWidth"] > 100, img
    assert "Errors" in page.text and "cannot load task t006" in page.text
    assert page.title.startswith("seer-env report")
    assert page.screenshot[:8] == b"\x89PNG\r\n\x1a\n"


def test_html_escapes_what_tools_and_models_returned(tmp_path):
    from seer_env.records import EpisodeRecord
    from seer_env.report_html import transcript_html
    from seer_env.types import Step, ToolCall, Trajectory

    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    traj = Trajectory(
        env_id="E", task_id="1", query=evil, steps=[Step(ToolCall("T", {"a": evil}), evil, thought=evil)]
    )
    html = transcript_html(
        EpisodeRecord(env_id="E", policy="p", task_id="1", trajectory=traj, gold={"answer": evil})
    )
    assert "<script>" not in html and "<img" not in html and "&lt;script&gt;" in html


def test_wilson_interval_always_holds_the_rate():
    for n in range(1, 300):
        for k in range(n + 1):
            lo, hi = wilson_interval(k, n)
            assert 0.0 <= lo <= k / n <= hi <= 1.0, (k, n, lo, hi)

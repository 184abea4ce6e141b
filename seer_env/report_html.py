"""`report.html` and `records.csv`, written by `seer-env report` beside `report.md`.

The HTML file is self-contained (one file to mail or attach): inline CSS, no script, the plots as
base64 PNG data URIs, the tables, the errors, and the transcript of every episode (question, each
thought, action and observation, final answer, gold, verdict, error) in collapsible sections. Every
text from a record is HTML-escaped: observations are whatever tools and models returned.
"""

from __future__ import annotations

import base64
import csv
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seer_env.records import EpisodeRecord
from seer_env.show import action_text, cut, verdict

MAX_TRANSCRIPTS = 2000
TEXT_LIMIT = 1500

CSV_COLUMNS = (
    "env_id", "policy", "task_id", "trial", "index", "model", "domain", "success", "verdict", "reward",
    "n_steps", "answer", "gold", "error_kind", "error_type", "error_message", "prompt_tokens",
    "completion_tokens", "total_tokens", "cost", "llm_calls", "wall_s", "llm_s", "env_s", "pool_size",
)  # fmt: skip

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .9rem; }
th, td { border: 1px solid #d0d0d0; padding: .25rem .5rem; text-align: right; vertical-align: top; }
th { background: #f3f3f3; } td.l, th.l { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; margin: .5rem 0; display: block; }
details { border: 1px solid #ddd; border-radius: 4px; margin: .3rem 0; padding: .2rem .6rem; }
summary { cursor: pointer; } .correct { color: #107c10; } .error { color: #c50f1f; } .other { color: #9a6700; }
.step { border-left: 3px solid #ccc; margin: .4rem 0; padding-left: .6rem; }
pre { white-space: pre-wrap; word-break: break-word; background: #f7f7f7; padding: .3rem .5rem; margin: .2rem 0; }
.k { font-weight: 600; } .muted { color: #666; font-size: .85rem; }
"""


def _e(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _verdict_class(label: str) -> str:
    return {"correct": "correct", "error": "error"}.get(label, "other")


def csv_row(r: EpisodeRecord) -> dict[str, Any]:
    e = r.error or {}
    u = r.usage or {}
    traj = r.trajectory
    return {
        "env_id": r.env_id,
        "policy": r.policy,
        "task_id": r.task_id,
        "trial": r.trial,
        "index": r.index,
        "model": r.model or "",
        "domain": r.domain_or_meta() or "",
        "success": int(bool(r.success)),
        "verdict": verdict(r)[0],
        "reward": r.reward,
        "n_steps": r.n_steps,
        "answer": "" if traj is None or traj.answer is None else traj.answer,
        "gold": "" if not r.gold or r.gold.get("answer") is None else r.gold.get("answer"),
        "error_kind": e.get("kind") or "",
        "error_type": e.get("type") or "",
        "error_message": str(e.get("message") or "")[:500],
        "prompt_tokens": u.get("prompt_tokens", 0),
        "completion_tokens": u.get("completion_tokens", 0),
        "total_tokens": u.get("total_tokens", 0),
        "cost": u.get("cost", 0.0),
        "llm_calls": u.get("calls", 0),
        "wall_s": r.timings.get("wall_s", ""),
        "llm_s": r.timings.get("llm_s", ""),
        "env_s": r.timings.get("env_s", ""),
        "pool_size": "" if r.pool_size is None else r.pool_size,
    }


def write_csv(records: Sequence[EpisodeRecord], path: Path) -> Path:
    """One row per episode (its last record), the columns of `CSV_COLUMNS`."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        w.writeheader()
        for r in records:
            w.writerow(csv_row(r))
    return path


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], left: int = 1) -> str:
    """An HTML table; the first `left` columns are text (left-aligned)."""
    out = ["<table><thead><tr>"]
    out += [f'<th class="{"l" if i < left else ""}">{_e(h)}</th>' for i, h in enumerate(head)]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append(
            "<tr>"
            + "".join(f'<td class="{"l" if i < left else ""}">{_e(c)}</td>' for i, c in enumerate(row))
            + "</tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)


def _summary_tables(t: dict[str, Any]) -> str:
    max_k = max((s["trials"] for s in t["policy"].values()), default=1)
    ks = list(range(1, max_k + 1)) if max_k > 1 else []
    head = ["env", "policy", "episodes", "success %", "95% CI"] + [f"pass^{k} %" for k in ks]
    head += ["avg steps", "avg tokens", "cost $", "errors"]
    rows = []
    for (env, pol), s in sorted(t["env_policy"].items()):
        rows.append(
            [env, pol, s["episodes"], _pct(s["success_rate"]), f"{_pct(s['ci_low'])} – {_pct(s['ci_high'])}"]
            + [_pct(s["pass_k"].get(k)) for k in ks]
            + [f"{s['avg_steps']:.2f}", f"{s['avg_tokens']:.0f}", f"{s['total_cost']:.4f}", s["errors"]]
        )
    parts = ["<h2>Success per env and policy</h2>", _table(head, rows, left=2)]
    pols = t["policies"]
    drows = []
    for group, dom in sorted({(g, d) for g, d, _ in t["group_domain_policy"]}):
        cells = []
        for p in pols:
            s = t["group_domain_policy"].get((group, dom, p))
            cells.append(f"{_pct(s['success_rate'])} ({s['successes']}/{s['episodes']})" if s else "-")
        drows.append([group, dom, *cells])
    parts += ["<h2>Success per env and domain (%)</h2>", _table(["env", "domain", *pols], drows, left=2)]
    return "".join(parts)


def error_rows(errors: Sequence[EpisodeRecord]) -> list[tuple[str, str, str, int, str, str]]:
    """(env, policy, task, trial, kind, first line of the message) per errored episode."""
    rows = []
    for r in errors:
        e = r.error or {}
        msg = str(e.get("message") or "").strip()
        first = msg.splitlines()[0] if msg else ""
        rows.append(
            (r.env_id, r.policy, r.task_id, r.trial, str(e.get("kind") or e.get("type") or "?"), first)
        )
    return rows


def _errors(t: dict[str, Any]) -> str:
    rows = error_rows(t["errors"])
    if not rows:
        return '<h2 id="errors">Errors</h2><p>No episode ended in an error.</p>'
    intro = (
        f"<p>{len(rows)} episodes ended in a harness or LLM error. They are not results: running the "
        "same command again plays them again (unless <code>--no-retry-errors</code>).</p>"
    )
    body = _table(["env", "policy", "task", "trial", "kind", "message"], [list(r) for r in rows], left=6)
    return f'<h2 id="errors">Errors</h2>{intro}{body}'


def _images(images: Sequence[Path]) -> str:
    parts = ["<h2>Plots</h2>"]
    for path in images:
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        parts.append(f'<img alt="{_e(Path(path).stem)}" src="data:image/png;base64,{data}">')
    return "".join(parts)


def transcript_html(r: EpisodeRecord, limit: int = TEXT_LIMIT) -> str:
    label, detail = verdict(r)
    traj = r.trajectory
    head = (
        f'<summary><span class="{_verdict_class(label)}">{_e(label)}</span> · {_e(r.env_id)} · '
        f"{_e(r.policy)} · task {_e(r.task_id)} · trial {r.trial} · {r.n_steps} steps</summary>"
    )
    parts = [head]
    if traj is not None and traj.query:
        parts.append(f'<p><span class="k">Question:</span> {_e(cut(traj.query, limit))}</p>')
    for i, step in enumerate(traj.steps if traj is not None else [], 1):
        block = [f'<div class="step"><div class="k">Step {i}</div>']
        if step.thought:
            block.append(
                f'<div><span class="k">Thought:</span><pre>{_e(cut(step.thought.strip(), limit))}</pre></div>'
            )
        block.append(
            f'<div><span class="k">Action:</span><pre>{_e(cut(action_text(step.action), limit))}</pre></div>'
        )
        cls = "" if step.ok else ' class="error"'
        block.append(
            f'<div><span class="k"{cls}>Observation:</span><pre>{_e(cut(str(step.observation), limit))}</pre></div>'
        )
        block.append("</div>")
        parts.append("".join(block))
    answer = traj.answer if traj is not None else None
    gold = r.gold.get("answer") if r.gold else None
    parts.append(f'<p><span class="k">Final answer:</span> {_e("-" if answer is None else answer)}</p>')
    parts.append(f'<p><span class="k">Gold:</span> {_e("(not recorded)" if gold is None else gold)}</p>')
    parts.append(
        f'<p><span class="k">Verdict:</span> <span class="{_verdict_class(label)}">{_e(label)}</span> '
        f'<span class="muted">({_e(detail)})</span></p>'
    )
    if r.error:
        parts.append(
            f'<p class="error"><span class="k">Error:</span> {_e(r.error.get("type"))} '
            f"[{_e(r.error.get('kind') or '-')}]</p><pre>{_e(cut(str(r.error.get('message') or ''), limit))}</pre>"
        )
    return "<details>" + "".join(parts) + "</details>"


def _transcripts(records: Sequence[EpisodeRecord], max_transcripts: int | None) -> str:
    cap = MAX_TRANSCRIPTS if max_transcripts is None else max(0, int(max_transcripts))
    ordered = sorted(records, key=lambda r: (r.error is None, r.env_id, r.policy, r.index, r.trial))
    shown = ordered[:cap]
    note = "" if len(shown) == len(ordered) else f" ({len(shown)} of {len(ordered)}, errored ones first)"
    body = "".join(transcript_html(r) for r in shown)
    return f"<h2>Episodes{_e(note)}</h2>{body}"


def write_html(
    records: Sequence[EpisodeRecord],
    t: dict[str, Any],
    manifest: dict[str, Any],
    images: Sequence[Path],
    path: Path,
    run_dir: str,
    max_transcripts: int | None = None,
) -> Path:
    """The self-contained report (see the module docstring)."""
    models = ", ".join(manifest.get("models") or []) or "none"
    sessions = manifest.get("sessions") or []
    status = sessions[-1].get("status") if sessions else "?"
    n_err = len(t["errors"])
    summary = (
        f"<p>{len(records)} episodes · policies {_e(', '.join(t['policies']))} · models {_e(models)} · "
        f"last session {_e(status)} · "
        + (f'<a href="#errors" class="error">{n_err} errors</a>' if n_err else "no errors")
        + "</p>"
    )
    doc = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>seer-env report: {_e(run_dir)}</title><style>{CSS}</style></head><body>"
        f"<h1>seer-env report: {_e(run_dir)}</h1>{summary}"
        + _summary_tables(t)
        + (_images(images) if images else "")
        + _errors(t)
        + _transcripts(records, max_transcripts)
        + "</body></html>"
    )
    path.write_text(doc, encoding="utf-8")
    return path

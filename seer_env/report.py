"""`seer-env report DIR`: tables (terminal and markdown) and PNG plots of a run directory.

Tables: success per env and policy (with pass^k when tasks have several trials, steps, tokens,
cost, errors), success per domain and policy. Plots (matplotlib, Agg): success per domain and policy,
the learning curve (rolling success against episodes in task order, with the pool size), tokens and
cost per policy.

pass^k is the τ-bench estimator: the mean over tasks of C(c, k) / C(n, k), n trials of which c
succeeded (the chance that k trials drawn from the n all succeed).
"""

from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from seer_env.records import MANIFEST_FILE, RESULTS_FILE, EpisodeRecord, read_episodes

log = logging.getLogger(__name__)


def pass_hat_k(successes_per_task: Iterable[tuple[int, int]], k: int) -> float | None:
    """Mean over tasks of C(c, k) / C(n, k); tasks with fewer than k trials are left out."""
    vals = [math.comb(c, k) / math.comb(n, k) for n, c in successes_per_task if n >= k]
    return sum(vals) / len(vals) if vals else None


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def group_stats(records: Sequence[EpisodeRecord]) -> dict[str, Any]:
    n = len(records)
    succ = [int(r.success) for r in records]
    tokens = [r.total_tokens for r in records]
    cost = [r.cost for r in records]
    steps = [r.n_steps for r in records]
    per_task: dict[tuple[str, str], list[int]] = defaultdict(list)
    for r, s in zip(records, succ, strict=True):
        per_task[(r.env_id, r.task_id)].append(s)
    trials = max((len(v) for v in per_task.values()), default=0)
    counts = [(len(v), sum(v)) for v in per_task.values()]
    out = {
        "episodes": n,
        "tasks": len(per_task),
        "success_rate": _mean(succ),
        "successes": sum(succ),
        "avg_steps": _mean(steps),
        "avg_tokens": _mean(tokens),
        "total_tokens": sum(tokens),
        "total_cost": sum(cost),
        "errors": sum(1 for r in records if r.error),
        "trials": trials,
        "pass_k": {k: pass_hat_k(counts, k) for k in range(1, trials + 1)},
    }
    return out


def load_run(run_dir: str | Path) -> tuple[list[EpisodeRecord], dict[str, Any]]:
    run_dir = Path(run_dir)
    path = run_dir / RESULTS_FILE
    if not path.exists():
        raise FileNotFoundError(f"no {RESULTS_FILE} in {run_dir}")
    manifest: dict[str, Any] = {}
    mpath = run_dir / MANIFEST_FILE
    if mpath.exists():
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            log.warning("unreadable manifest %s", mpath)
    return read_episodes(path), manifest


def tables(records: Sequence[EpisodeRecord]) -> dict[str, Any]:
    policies = list(dict.fromkeys(r.policy for r in records))  # in order of first appearance
    by_env_pol: dict[tuple[str, str], list[EpisodeRecord]] = defaultdict(list)
    by_dom_pol: dict[tuple[str, str], list[EpisodeRecord]] = defaultdict(list)
    by_pol: dict[str, list[EpisodeRecord]] = defaultdict(list)
    for r in records:
        by_env_pol[(r.env_id, r.policy)].append(r)
        by_dom_pol[(r.domain_or_meta() or "-", r.policy)].append(r)
        by_pol[r.policy].append(r)
    return {
        "policies": policies,
        "envs": sorted({r.env_id for r in records}),
        "domains": sorted({d for d, _ in by_dom_pol}),
        "env_policy": {k: group_stats(v) for k, v in by_env_pol.items()},
        "domain_policy": {k: group_stats(v) for k, v in by_dom_pol.items()},
        "policy": {k: group_stats(v) for k, v in by_pol.items()},
    }


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def markdown(t: dict[str, Any], manifest: dict[str, Any], run_dir: str) -> str:
    lines = [f"# Report: {run_dir}", ""]
    if manifest:
        models = ", ".join(manifest.get("models") or []) or "none"
        lines += [f"Models: {models}. Planned episodes: {manifest.get('planned_episodes', '?')}.", ""]
    max_k = max((s["trials"] for s in t["policy"].values()), default=1)
    ks = list(range(1, max_k + 1)) if max_k > 1 else []
    head = ["env", "policy", "episodes", "success %"] + [f"pass^{k} %" for k in ks]
    head += ["avg steps", "avg tokens", "cost $", "errors"]
    lines += ["## Success per env and policy", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (env, pol), s in sorted(t["env_policy"].items()):
        row = [env, pol, str(s["episodes"]), _pct(s["success_rate"])]
        row += [_pct(s["pass_k"].get(k)) for k in ks]
        row += [f"{s['avg_steps']:.2f}", f"{s['avg_tokens']:.0f}", f"{s['total_cost']:.4f}", str(s["errors"])]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "## Success per domain (%)", ""]
    pols = t["policies"]
    lines += ["| domain | " + " | ".join(pols) + " |", "|---|" + "---|" * len(pols)]
    for dom in t["domains"]:
        cells = []
        for p in pols:
            s = t["domain_policy"].get((dom, p))
            cells.append(f"{_pct(s['success_rate'])} ({s['successes']}/{s['episodes']})" if s else "-")
        lines.append(f"| {dom} | " + " | ".join(cells) + " |")
    lines += ["", "## Per policy", "", "| policy | episodes | success % | total tokens | cost $ | errors |"]
    lines += ["|---|---|---|---|---|---|"]
    for p in pols:
        s = t["policy"][p]
        lines.append(
            f"| {p} | {s['episodes']} | {_pct(s['success_rate'])} | {s['total_tokens']} | "
            f"{s['total_cost']:.4f} | {s['errors']} |"
        )
    lines.append("")
    return "\n".join(lines)


def show_tables(t: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    max_k = max((s["trials"] for s in t["policy"].values()), default=1)
    ks = list(range(1, max_k + 1)) if max_k > 1 else []
    tab = Table(title="success per env and policy")
    for c in [
        "env",
        "policy",
        "episodes",
        "success %",
        *[f"pass^{k} %" for k in ks],
        "steps",
        "tokens",
        "cost $",
        "errors",
    ]:
        tab.add_column(c, justify="left" if c in ("env", "policy") else "right", overflow="fold")
    for (env, pol), s in sorted(t["env_policy"].items()):
        tab.add_row(
            env,
            pol,
            str(s["episodes"]),
            _pct(s["success_rate"]),
            *[_pct(s["pass_k"].get(k)) for k in ks],
            f"{s['avg_steps']:.2f}",
            f"{s['avg_tokens']:.0f}",
            f"{s['total_cost']:.4f}",
            str(s["errors"]),
        )
    console.print(tab)
    dom = Table(title="success per domain (%)")
    dom.add_column("domain")
    for p in t["policies"]:
        dom.add_column(p, justify="right")
    for d in t["domains"]:
        row = []
        for p in t["policies"]:
            s = t["domain_policy"].get((d, p))
            row.append(_pct(s["success_rate"]) if s else "-")
        dom.add_row(d, *row)
    console.print(dom)


def plots(records: Sequence[EpisodeRecord], t: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: list[Path] = []
    pols = t["policies"]

    # success per domain and policy
    doms = t["domains"]
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(doms) * max(1, len(pols)) ** 0.5 + 3), 4))
    width = 0.8 / max(1, len(pols))
    for i, p in enumerate(pols):
        ys = [100 * (t["domain_policy"].get((d, p)) or {}).get("success_rate", 0.0) for d in doms]
        ax.bar([j + i * width for j in range(len(doms))], ys, width, label=p)
    ax.set_xticks([j + width * (len(pols) - 1) / 2 for j in range(len(doms))])
    ax.set_xticklabels(doms, rotation=30, ha="right")
    ax.set_ylabel("success %")
    ax.set_ylim(0, 105)
    ax.set_title("success per domain")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out / "success_by_domain.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    written.append(path)

    # learning curve: rolling success in task order, with the pool size
    fig, ax = plt.subplots(figsize=(8, 4))
    ax2 = None
    for p in pols:
        recs = sorted((r for r in records if r.policy == p), key=lambda r: (r.index, r.trial))
        if not recs:
            continue
        succ = [int(r.success) for r in recs]
        w = max(5, len(succ) // 10)
        roll = [100 * _mean(succ[max(0, i - w + 1) : i + 1]) for i in range(len(succ))]
        ax.plot(range(1, len(roll) + 1), roll, label=f"{p} (rolling {w})")
        sizes = [r.pool_size for r in recs]
        if any(s is not None for s in sizes):
            ax2 = ax2 or ax.twinx()
            xs = [i + 1 for i, s in enumerate(sizes) if s is not None]
            ax2.plot(
                xs, [s for s in sizes if s is not None], linestyle="--", alpha=0.6, label=f"{p} pool size"
            )
    ax.set_xlabel("episodes (task order)")
    ax.set_ylabel("success % (rolling)")
    ax.set_ylim(0, 105)
    ax.set_title("learning curve")
    ax.legend(loc="upper left", fontsize=8)
    if ax2 is not None:
        ax2.set_ylabel("pool size")
        ax2.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path = out / "learning_curve.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    written.append(path)

    # tokens and cost per policy
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.5))
    a1.bar(pols, [t["policy"][p]["avg_tokens"] for p in pols], color="tab:blue")
    a1.set_title("tokens per episode")
    a2.bar(pols, [t["policy"][p]["total_cost"] for p in pols], color="tab:orange")
    a2.set_title("total cost ($)")
    for a in (a1, a2):
        a.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    path = out / "tokens_cost.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    written.append(path)
    return written


def make_report(
    run_dir: str | Path,
    out: str | Path | None = None,
    plots_on: bool = True,
    print_tables: bool = False,
    **kw: Any,
) -> dict[str, Any]:
    """Write `report.md` (and PNGs) for a run directory; returns the tables and the files written."""
    plots_on = kw.pop("plots", plots_on)
    run_dir = Path(run_dir)
    out_dir = Path(out) if out else run_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    records, manifest = load_run(run_dir)
    if not records:
        raise FileNotFoundError(f"{run_dir / RESULTS_FILE} holds no episodes")
    t = tables(records)
    md = markdown(t, manifest, str(run_dir))
    (out_dir / "report.md").write_text(md, encoding="utf-8")
    files = [out_dir / "report.md"]
    if plots_on:
        files += plots(records, t, out_dir)
    if print_tables:
        show_tables(t)
    return {"tables": t, "files": files}


def report_command(args: Any) -> int:
    import sys

    try:
        make_report(args.dir, out=args.out, plots=not args.no_plots, print_tables=True)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def add_parser(subparsers: Any) -> None:
    """`seer-env report DIR [--out DIR] [--no-plots]`."""
    rep = subparsers.add_parser("report", help="tables and plots of a run directory")
    rep.add_argument("dir", help="a run directory (with results.jsonl)")
    rep.add_argument("--out", default=None, help="where to write report.md and PNGs (default: DIR)")
    rep.add_argument("--no-plots", action="store_true")
    rep.set_defaults(func=report_command)

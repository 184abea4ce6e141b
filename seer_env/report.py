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


# -- the paper's figures: ablation bars, success against k, the improvement curve --------------------


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_ablation(
    ours: dict[str, dict[str, float | None]], published: dict[str, dict[str, float]], path: str | Path
) -> Path:
    """Grouped bars: for each of Easy, Hard, All, every variant here (solid) beside its published value
    (hatched, lighter), labelled with the numbers. `ours` / `published`: variant -> {easy, hard, all} (%)."""
    plt = _pyplot()
    variants = list(ours)
    cols = ("easy", "hard", "all")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, ax = plt.subplots(figsize=(min(13.0, max(8.0, 1.5 * len(cols) * max(1, len(variants)) ** 0.6)), 4.8))
    width = 0.8 / max(1, 2 * len(variants))
    for i, v in enumerate(variants):
        color = colors[i % len(colors)]
        for j, src in enumerate((ours, published)):
            vals = [(src.get(v) or {}).get(c) for c in cols]
            xs = [c + (2 * i + j) * width - 0.4 + width / 2 for c in range(len(cols))]
            ys = [0.0 if y is None else float(y) for y in vals]
            bars = ax.bar(
                xs,
                ys,
                width * 0.95,
                color=color,
                alpha=1.0 if j == 0 else 0.45,
                hatch=None if j == 0 else "//",
                edgecolor="black" if j else color,
                linewidth=0.5,
                label=f"{v} (here)" if j == 0 else f"{v} (published)",
            )
            for b, y in zip(bars, vals, strict=True):
                ax.annotate(
                    "-" if y is None else f"{y:.1f}",
                    (b.get_x() + b.get_width() / 2, b.get_height()),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    rotation=90,
                    xytext=(0, 2),
                    textcoords="offset points",
                )
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels(["Easy", "Hard", "All"])
    ax.set_ylabel("accuracy %")
    ax.set_ylim(0, 115)
    ax.set_title("Ablation: here (solid) vs published (hatched)")
    ax.legend(fontsize=7, ncol=2, loc="upper right")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_k_sweep(
    ours: dict[str, dict[int, dict[str, float | None]]],
    published: dict[str, dict[int, dict[str, float]]],
    path: str | Path,
) -> Path:
    """Accuracy against the number of demonstrations k, Easy and Hard side by side; our series solid
    with markers, published ones dashed. Each argument: series -> {k: {easy, hard}} (%)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, diff in zip(axes, ("easy", "hard"), strict=True):
        for name, series in ours.items():
            ks = sorted(k for k, v in series.items() if v.get(diff) is not None)
            ax.plot(ks, [series[k][diff] for k in ks], marker="o", linewidth=2, label=name)
            for k in ks:
                ax.annotate(
                    f"{series[k][diff]:.1f}",
                    (k, series[k][diff]),
                    fontsize=7,
                    xytext=(3, 4),
                    textcoords="offset points",
                )
        for name, series in published.items():
            ks = sorted(series)
            ax.plot(ks, [series[k][diff] for k in ks], linestyle="--", marker=".", alpha=0.7, label=name)
        ax.set_title(f"ToolQA {diff}")
        ax.set_xlabel("demonstrations k")
        ticks = sorted({k for s in (*ours.values(), *published.values()) for k in s})
        ax.set_xticks(ticks)
        if ticks:
            ax.set_xlim(min(ticks) - 0.5, max(ticks) + 0.9)
        ax.set_ylim(0, 105)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy % (mean over domains)")
    axes[1].legend(fontsize=8, loc="lower right")
    fig.suptitle("Success against the number of demonstrations")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def improvement_curve(
    runs: Sequence[Sequence[EpisodeRecord]], batches: int = 10
) -> list[tuple[float, float, int]]:
    """Success per batch of a shuffled run, averaged over runs (seeds): (mean %, standard error, runs).

    Each run's episodes are taken in play order (record `index`, first trial) and cut into `batches`
    batches of equal size (the last may be shorter), as the runner's `batches:K` accumulation does.
    The standard error is the sample standard deviation across runs over sqrt(runs) (0 for one run).
    """
    per_run: list[list[float]] = []
    for recs in runs:
        seq = sorted((r for r in recs if r.trial == 0), key=lambda r: r.index)
        if not seq:
            continue
        size = max(1, math.ceil(len(seq) / batches))
        per_run.append(
            [100.0 * _mean([int(r.success) for r in seq[i : i + size]]) for i in range(0, len(seq), size)]
        )
    out = []
    for b in range(max((len(r) for r in per_run), default=0)):
        vals = [r[b] for r in per_run if b < len(r)]
        n = len(vals)
        m = _mean(vals)
        sd = math.sqrt(sum((v - m) ** 2 for v in vals) / (n - 1)) if n > 1 else 0.0
        out.append((m, sd / math.sqrt(n) if n > 1 else 0.0, n))
    return out


def plot_improvement(
    ours: dict[str, list[tuple[float, float, int]]],
    published: dict[str, list[float]],
    baselines: dict[str, float],
    path: str | Path,
) -> Path:
    """Success per batch: our curves with a standard-error band (from `improvement_curve`), the
    published per-batch means dashed, and the published baselines as horizontal lines."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.6))
    for name, curve in ours.items():
        xs = list(range(1, len(curve) + 1))
        means = [m for m, _, _ in curve]
        ses = [se for _, se, _ in curve]
        ax.plot(xs, means, marker="o", linewidth=2, label=name)
        ax.fill_between(
            xs,
            [m - e for m, e in zip(means, ses, strict=True)],
            [m + e for m, e in zip(means, ses, strict=True)],
            alpha=0.25,
        )
    for name, means in published.items():
        ax.plot(range(1, len(means) + 1), means, linestyle="--", marker=".", alpha=0.8, label=name)
    # baselines: dotted lines, labelled at the right edge, labels pushed apart (the values lie close)
    placed: list[float] = []
    for name, value in sorted(baselines.items(), key=lambda kv: kv[1]):
        ax.axhline(value, color="grey", linestyle=":", linewidth=1)
        y = max([value] + [p + 3.2 for p in placed[-1:]])
        placed.append(y)
        ax.annotate(
            f"{name} {value:.1f}",
            (1.0, y),
            xycoords=("axes fraction", "data"),
            fontsize=7,
            xytext=(4, -3),
            textcoords="offset points",
            color="dimgrey",
        )
    n = max([len(c) for c in ours.values()] + [len(v) for v in published.values()] + [1])
    ax.set_xticks(range(1, n + 1))
    ax.set_xlabel("batch (the pool grows after each)")
    ax.set_ylabel("accuracy % in the batch")
    ax.set_ylim(0, 105)
    ax.grid(alpha=0.3)
    ax.set_title("Improvement per batch (band: standard error across seeds)")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout(rect=(0, 0, 0.93, 1))
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


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

"""`seer-env report DIR`: tables (terminal and markdown), PNG plots, an HTML report and a CSV of a run.

Tables: success per env and policy with its 95% confidence interval (Wilson's score interval), pass^k
when tasks have several trials, steps, tokens, cost, errors; success per env, domain and policy; the
episodes that ended in an error. Plots (matplotlib, Agg), one panel per env (an env id is a family and
a difficulty, e.g. ToolQA-Synth-hard-v0): success per env and policy with its interval, success per
domain, the learning curve (rolling success against episodes in task order, with the pool size), and
tokens and cost for the policies that called an LLM (none: no such plot). `report.html` holds all of
it in one file, with every episode's transcript (`seer_env.report_html`); `records.csv` one row per
episode. Only the last record of an episode counts (an error replayed on resume is replaced).

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
from seer_env.report_html import error_rows, write_csv, write_html

log = logging.getLogger(__name__)


def pass_hat_k(successes_per_task: Iterable[tuple[int, int]], k: int) -> float | None:
    """Mean over tasks of C(c, k) / C(n, k); tasks with fewer than k trials are left out."""
    vals = [math.comb(c, k) / math.comb(n, k) for n, c in successes_per_task if n >= k]
    return sum(vals) / len(vals) if vals else None


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson's score interval of a success rate (95% for z = 1.96); (0, 0) when n is 0.

    Unlike the normal approximation it stays within [0, 1] and is not empty at 0 or n successes.
    """
    if n <= 0:
        return 0.0, 0.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # the rate itself always lies inside (rounding can put an end a hair past it at 0 or n successes)
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def env_group(env_label: str) -> str:
    """The env id of a label (`ToolQA-easy-v0#flight` -> `ToolQA-easy-v0`): plots split by it."""
    return env_label.split("#", 1)[0]


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
    lo, hi = wilson_interval(sum(succ), n)
    out = {
        "episodes": n,
        "tasks": len(per_task),
        "success_rate": _mean(succ),
        "ci_low": lo,
        "ci_high": hi,
        "successes": sum(succ),
        "avg_steps": _mean(steps),
        "avg_tokens": _mean(tokens),
        "total_tokens": sum(tokens),
        "total_cost": sum(cost),
        "errors": sum(1 for r in records if r.error),
        "llm_calls": sum(int(r.usage.get("calls") or 0) for r in records),
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
    """Stats per (env, policy), (domain, policy), (env id, domain, policy), policy; the errored episodes."""
    policies = list(dict.fromkeys(r.policy for r in records))  # in order of first appearance
    by_env_pol: dict[tuple[str, str], list[EpisodeRecord]] = defaultdict(list)
    by_dom_pol: dict[tuple[str, str], list[EpisodeRecord]] = defaultdict(list)
    by_group_dom_pol: dict[tuple[str, str, str], list[EpisodeRecord]] = defaultdict(list)
    by_group_pol: dict[tuple[str, str], list[EpisodeRecord]] = defaultdict(list)
    by_pol: dict[str, list[EpisodeRecord]] = defaultdict(list)
    for r in records:
        dom = r.domain_or_meta() or "-"
        by_env_pol[(r.env_id, r.policy)].append(r)
        by_dom_pol[(dom, r.policy)].append(r)
        by_group_dom_pol[(env_group(r.env_id), dom, r.policy)].append(r)
        by_group_pol[(env_group(r.env_id), r.policy)].append(r)
        by_pol[r.policy].append(r)
    return {
        "policies": policies,
        "envs": sorted({r.env_id for r in records}),
        "env_groups": sorted({env_group(r.env_id) for r in records}),
        "domains": sorted({d for d, _ in by_dom_pol}),
        "env_policy": {k: group_stats(v) for k, v in by_env_pol.items()},
        "domain_policy": {k: group_stats(v) for k, v in by_dom_pol.items()},
        "group_domain_policy": {k: group_stats(v) for k, v in by_group_dom_pol.items()},
        "group_policy": {k: group_stats(v) for k, v in by_group_pol.items()},
        "policy": {k: group_stats(v) for k, v in by_pol.items()},
        "errors": [r for r in records if r.error],
    }


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _ci(s: dict[str, Any]) -> str:
    """A success rate's 95% interval, in percent: `40.9-80.0`."""
    return f"{_pct(s['ci_low'])}-{_pct(s['ci_high'])}"


MAX_ERROR_ROWS = 50


def markdown(t: dict[str, Any], manifest: dict[str, Any], run_dir: str) -> str:
    lines = [f"# Report: {run_dir}", ""]
    if manifest:
        models = ", ".join(manifest.get("models") or []) or "none"
        lines += [f"Models: {models}. Planned episodes: {manifest.get('planned_episodes', '?')}.", ""]
    max_k = max((s["trials"] for s in t["policy"].values()), default=1)
    ks = list(range(1, max_k + 1)) if max_k > 1 else []
    head = ["env", "policy", "episodes", "success %", "95% CI"] + [f"pass^{k} %" for k in ks]
    head += ["avg steps", "avg tokens", "cost $", "errors"]
    lines += ["## Success per env and policy", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (env, pol), s in sorted(t["env_policy"].items()):
        row = [env, pol, str(s["episodes"]), _pct(s["success_rate"]), _ci(s)]
        row += [_pct(s["pass_k"].get(k)) for k in ks]
        row += [f"{s['avg_steps']:.2f}", f"{s['avg_tokens']:.0f}", f"{s['total_cost']:.4f}", str(s["errors"])]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "## Success per env and domain (%)", ""]
    pols = t["policies"]
    lines += ["| env | domain | " + " | ".join(pols) + " |", "|---|---|" + "---|" * len(pols)]
    for group, dom in sorted({(g, d) for g, d, _ in t["group_domain_policy"]}):
        cells = []
        for p in pols:
            s = t["group_domain_policy"].get((group, dom, p))
            cells.append(f"{_pct(s['success_rate'])} ({s['successes']}/{s['episodes']})" if s else "-")
        lines.append(f"| {group} | {dom} | " + " | ".join(cells) + " |")
    lines += ["", "## Per policy", ""]
    lines += ["| policy | episodes | success % | 95% CI | total tokens | cost $ | errors |"]
    lines += ["|---|---|---|---|---|---|---|"]
    for p in pols:
        s = t["policy"][p]
        lines.append(
            f"| {p} | {s['episodes']} | {_pct(s['success_rate'])} | {_ci(s)} | {s['total_tokens']} | "
            f"{s['total_cost']:.4f} | {s['errors']} |"
        )
    rows = error_rows(t["errors"])
    lines += ["", f"## Errors ({len(rows)} episodes)", ""]
    if not rows:
        lines += ["No episode ended in an error.", ""]
    else:
        lines += [
            "Episodes that ended in a harness or LLM error, not a result: running the same command "
            "again plays them again (unless --no-retry-errors).",
            "",
            "| env | policy | task | trial | kind | message |",
            "|---|---|---|---|---|---|",
        ]
        for env, pol, task, trial, kind, msg in rows[:MAX_ERROR_ROWS]:
            cell = msg.replace("|", "\\|")[:300]
            lines.append(f"| {env} | {pol} | {task} | {trial} | {kind} | {cell} |")
        if len(rows) > MAX_ERROR_ROWS:
            lines.append(
                f"\n... and {len(rows) - MAX_ERROR_ROWS} more (report.html and records.csv list all)"
            )
    lines.append("")
    return "\n".join(lines)


def show_tables(t: dict[str, Any]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    max_k = max((s["trials"] for s in t["policy"].values()), default=1)
    ks = list(range(1, max_k + 1)) if max_k > 1 else []
    usage = bool(llm_policies(t))  # tokens and cost only when some policy called an LLM
    cols = ["env", "policy", "n", "success", "95% CI", *[f"pass^{k}" for k in ks], "steps"]
    cols += ["tokens", "cost $"] if usage else []
    cols += ["errors"]
    tab = Table(
        title="success per env and policy (%)", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True
    )
    widest = {
        "env": min(12, max((len(e) for e, _ in t["env_policy"]), default=3)),
        "policy": min(16, max((len(p) for p in t["policies"]), default=6)),
    }
    for c in cols:
        text = c in widest
        tab.add_column(
            c, justify="left" if text else "right", overflow="fold", no_wrap=not text, min_width=widest.get(c)
        )
    for (env, pol), s in sorted(t["env_policy"].items()):
        row = [env, pol, str(s["episodes"]), _pct(s["success_rate"]), _ci(s)]
        row += [_pct(s["pass_k"].get(k)) for k in ks] + [f"{s['avg_steps']:.2f}"]
        row += [f"{s['avg_tokens']:.0f}", f"{s['total_cost']:.4f}"] if usage else []
        tab.add_row(*row, str(s["errors"]))
    console.print(tab)
    dom = Table(title="success per env and domain (%)")
    dom.add_column("env")
    dom.add_column("domain")
    for p in t["policies"]:
        dom.add_column(p, justify="right")
    for group, d in sorted({(g, d) for g, d, _ in t["group_domain_policy"]}):
        row = []
        for p in t["policies"]:
            s = t["group_domain_policy"].get((group, d, p))
            row.append(_pct(s["success_rate"]) if s else "-")
        dom.add_row(group, d, *row)
    console.print(dom)
    if t["errors"]:
        from rich.text import Text

        err = Table(title=f"episodes that ended in an error ({len(t['errors'])})")
        for c in ("env", "policy", "task", "trial", "kind", "message"):
            err.add_column(c, overflow="fold")
        for env, pol, task, trial, kind, msg in error_rows(t["errors"])[:20]:
            err.add_row(env, pol, task, str(trial), kind, Text(msg[:200]))
        console.print(err)


def _grid(n: int, width: float = 5.5, height: float = 3.6):
    """A figure with `n` panels, at most 2 per row; the axes as a flat list of exactly `n`."""
    import matplotlib.pyplot as plt

    cols = 1 if n == 1 else 2
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax in flat[n:]:  # an odd count leaves one cell: no empty panel
        ax.remove()
    return fig, flat[:n]


def _label_bars(
    ax: Any, bars: Any, values: Sequence[float], fmt: str, small: float, inside: bool = False
) -> None:
    """Write the value above each bar lower than `small` (a bar too short to read against the axis);
    with `inside`, the taller bars get theirs inside their top (clear of error bars above them)."""
    for bar, v in zip(bars, values, strict=True):
        x = bar.get_x() + bar.get_width() / 2
        if v < small:
            ax.annotate(
                fmt.format(v), (x, bar.get_height()), xytext=(0, 2), textcoords="offset points",
                ha="center", va="bottom", fontsize=7,
            )  # fmt: skip
        elif inside:
            ax.annotate(
                fmt.format(v), (x, bar.get_height()), xytext=(0, -3), textcoords="offset points",
                ha="center", va="top", fontsize=7, color="white", fontweight="bold",
            )  # fmt: skip


def _percent_axis(ax: Any, label: str) -> None:
    """0-100 %, with room above 100 for a legend in one row, which then hides no bar or line."""
    ax.set_ylim(0, 122)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel(label)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, fontsize=7, loc="upper center", ncol=min(4, len(handles)), frameon=False)


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


PLOT_FILES = ("success.png", "success_by_domain.png", "learning_curve.png", "tokens_cost.png")


def figures(records: Sequence[EpisodeRecord], t: dict[str, Any]) -> dict[str, Any]:
    """The report's matplotlib figures by file name; a plot with nothing to show is left out."""
    import matplotlib

    matplotlib.use("Agg")
    figs = {
        "success.png": _plot_success(t),
        "success_by_domain.png": _plot_domains(t),
        "learning_curve.png": _plot_learning(records, t),
    }
    usage = _plot_usage(t)
    if usage is not None:
        figs["tokens_cost.png"] = usage
    return figs


def plots(records: Sequence[EpisodeRecord], t: dict[str, Any], out: Path) -> list[Path]:
    """Write the report's PNGs (see the module docstring); a plot with nothing to show is not written
    (and one an earlier report wrote is removed)."""
    figs = figures(records, t)
    for name in PLOT_FILES:
        if name not in figs:
            (out / name).unlink(missing_ok=True)
    return [_save(fig, out / name) for name, fig in figs.items()]


def llm_policies(t: dict[str, Any]) -> list[str]:
    """The policies that called an LLM (tokens and cost are plotted for them only)."""
    return [p for p in t["policies"] if t["policy"][p]["llm_calls"] or t["policy"][p]["total_tokens"]]


def _plot_success(t: dict[str, Any]) -> Any:
    """Success per env and policy, with its 95% interval."""
    groups, pols = t["env_groups"], t["policies"]
    fig, (ax,) = _grid(1, width=max(6.0, 1.1 * len(groups) * len(pols) + 2.5), height=4.0)
    width = 0.8 / len(pols)
    for i, p in enumerate(pols):
        stats = [t["group_policy"].get((g, p)) for g in groups]
        xs = [j + i * width for j, s in enumerate(stats) if s]
        ys = [100 * s["success_rate"] for s in stats if s]
        err = [
            [max(0.0, 100 * (s["success_rate"] - s["ci_low"])) for s in stats if s],
            [max(0.0, 100 * (s["ci_high"] - s["success_rate"])) for s in stats if s],
        ]
        bars = ax.bar(xs, ys, width, yerr=err, capsize=3, label=p, error_kw={"elinewidth": 0.8})
        _label_bars(ax, bars, ys, "{:.0f}", small=12, inside=True)
    ax.set_xticks([j + width * (len(pols) - 1) / 2 for j in range(len(groups))])
    ax.set_xticklabels(groups, rotation=15, ha="right")
    ax.set_title("success per env")
    _percent_axis(ax, "success % (95% CI)")
    return fig


def _plot_domains(t: dict[str, Any]) -> Any:
    """Success per domain and policy, one panel per env."""
    groups, pols = t["env_groups"], t["policies"]
    fig, axes = _grid(len(groups))
    for ax, g in zip(axes, groups, strict=True):
        doms = sorted({d for gg, d, _ in t["group_domain_policy"] if gg == g})
        width = 0.8 / len(pols)
        for i, p in enumerate(pols):
            stats = [t["group_domain_policy"].get((g, d, p)) for d in doms]
            xs = [j + i * width for j, st in enumerate(stats) if st]
            ys = [100 * st["success_rate"] for st in stats if st]
            if xs:
                bars = ax.bar(xs, ys, width, label=p)
                _label_bars(ax, bars, ys, "{:.0f}", small=15)
        ax.set_xticks([j + width * (len(pols) - 1) / 2 for j in range(len(doms))])
        ax.set_xticklabels(doms, rotation=30, ha="right", fontsize=8)
        ax.set_title(g, fontsize=10)
        _percent_axis(ax, "success %")
    fig.suptitle("success per domain")
    return fig


def _plot_learning(records: Sequence[EpisodeRecord], t: dict[str, Any]) -> Any:
    """Rolling success in task order per policy, with the pool size, one panel per env."""
    from matplotlib.ticker import MaxNLocator

    groups = t["env_groups"]
    fig, axes = _grid(len(groups), height=3.4)
    for ax, g in zip(axes, groups, strict=True):
        ax2 = None
        for p in t["policies"]:
            recs = sorted(
                (r for r in records if r.policy == p and env_group(r.env_id) == g),
                key=lambda r: (r.index, r.trial),
            )
            if not recs:
                continue
            succ = [int(r.success) for r in recs]
            w = max(5, len(succ) // 10)
            roll = [100 * _mean(succ[max(0, i - w + 1) : i + 1]) for i in range(len(succ))]
            (line,) = ax.plot(range(1, len(roll) + 1), roll, label=f"{p} (rolling {w})")
            sizes = [r.pool_size for r in recs]
            if any(s is not None for s in sizes):
                ax2 = ax2 or ax.twinx()
                xs = [i + 1 for i, s in enumerate(sizes) if s is not None]
                ys = [s for s in sizes if s is not None]
                ax2.plot(xs, ys, linestyle="--", alpha=0.7, color=line.get_color(), label=f"{p} pool")
        ax.set_xlabel("episodes (task order)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(g, fontsize=10)
        if ax2 is not None:  # one legend for both axes
            h2, l2 = ax2.get_legend_handles_labels()
            ax2.set_ylabel("pool size (dashed)")
            top = max((max(ln.get_ydata(), default=0) for ln in ax2.lines), default=0)
            ax2.set_ylim(0, max(1.0, top) * 1.22)  # the legend row stays clear, as on the left axis
            for h, lab in zip(h2, l2, strict=True):
                ax.plot([], [], linestyle="--", color=h.get_color(), label=lab)
        _percent_axis(ax, "success % (rolling)")
    fig.suptitle("learning curve")
    return fig


def _plot_usage(t: dict[str, Any]) -> Any:
    """Tokens per episode and total cost per env, for the policies that called an LLM (None: none did)."""
    pols = llm_policies(t)
    if not pols:
        return None
    groups = t["env_groups"]
    fig, (a1, a2) = _grid(2, width=max(4.5, 0.9 * len(groups) * len(pols) + 2.0), height=3.6)
    width = 0.8 / len(pols)
    for i, p in enumerate(pols):
        stats = [t["group_policy"].get((g, p)) for g in groups]
        xs = [j + i * width for j, st in enumerate(stats) if st]
        tokens = [st["avg_tokens"] for st in stats if st]
        cost = [st["total_cost"] for st in stats if st]
        b1 = a1.bar(xs, tokens, width, label=p)
        b2 = a2.bar(xs, cost, width, label=p)
        _label_bars(a1, b1, tokens, "{:.0f}", small=0.15 * max(tokens + [1e-9]) or 1)
        _label_bars(a2, b2, cost, "${:.4f}", small=0.15 * max(cost + [1e-9]) or 1)
    for ax, title in ((a1, "tokens per episode"), (a2, "total cost ($)")):
        ax.set_xticks([j + width * (len(pols) - 1) / 2 for j in range(len(groups))])
        ax.set_xticklabels(groups, rotation=15, ha="right", fontsize=8)
        ax.set_title(title)
        ax.legend(fontsize=7)
        ax.set_ylim(bottom=0)
    return fig


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
    html: bool = True,
    **kw: Any,
) -> dict[str, Any]:
    """Write `report.md`, the PNGs, `report.html` and `records.csv` for a run directory; returns the
    tables and the files written."""
    plots_on = kw.pop("plots", plots_on)
    max_transcripts = kw.pop("max_transcripts", None)
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
    images: list[Path] = []
    if plots_on:
        images = plots(records, t, out_dir)
        files += images
    files.append(write_csv(records, out_dir / "records.csv"))
    if html:
        # and the other figures of the run folder (the paper protocol's ablation.png, k_sweep.png, ...)
        images += sorted(p for p in out_dir.glob("*.png") if p not in images) if plots_on else []
        files.append(
            write_html(records, t, manifest, images, out_dir / "report.html", str(run_dir), max_transcripts)
        )
    if print_tables:
        show_tables(t)
    return {"tables": t, "files": files}


def report_command(args: Any) -> int:
    import sys

    try:
        result = make_report(
            args.dir,
            out=args.out,
            plots=not args.no_plots,
            print_tables=True,
            html=not args.no_html,
            max_transcripts=args.max_transcripts,
        )
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("wrote:")
    for path in result["files"]:
        print(f"  {path}")
    return 0


def add_parser(subparsers: Any) -> None:
    """`seer-env report DIR [--out DIR] [--no-plots] [--no-html] [--max-transcripts N]`."""
    rep = subparsers.add_parser(
        "report",
        help="tables, plots, an HTML report and a CSV of a run directory",
        description="Tables (printed and report.md), PNG plots, report.html (self-contained: tables, "
        "plots, every episode's transcript, the errors) and records.csv of a run directory.",
    )
    rep.add_argument("dir", help="a run directory (with results.jsonl)")
    rep.add_argument("--out", default=None, help="where to write the report (default: DIR)")
    rep.add_argument("--no-plots", action="store_true", help="no PNG plots (report.html then has none)")
    rep.add_argument("--no-html", action="store_true", help="no report.html")
    rep.add_argument(
        "--max-transcripts",
        type=int,
        default=None,
        help="transcripts in report.html: at most this many episodes, errored ones first "
        "(default: all, up to 2000)",
    )
    rep.set_defaults(func=report_command)

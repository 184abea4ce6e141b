"""PythonInterpreter under its two protections, in one process: call latency, and oracle steps/s on
ToolQA-Synth hard.

"weak" is the former path (a Python audit hook, rlimits, `nobody` when it can read the interpreter;
kept as the opt-in fallback) and the reference here; "kernel" is the default (namespaces, seccomp,
rlimits, no capabilities; docs/sandbox.md). Both fork each call from a warm zygote.

1. Latency: the same small arithmetic snippet (what the oracle's chains run) through `run_python`,
   both protections warmed up first, then alternating blocks of calls so that load from other
   processes falls on both alike; p50/p90/p99 in milliseconds and the ratio.
2. Oracle steps/s: `OraclePolicy` through `env.step` over the ToolQA-Synth hard questions, the same
   env switching protection between alternating passes; steps/s of each and the ratio (the target:
   kernel within 10% of weak), and the seconds spent in PythonInterpreter.

Run:  python benchmarks/sandbox.py [--calls 400] [--scale small] [--passes 2] [--embedder hash]
On a shared machine, figures are indicative: compare the ratios, rerun when in doubt.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np

SNIPPET = "values = [12.5, 7.25, 3.0, 41.0]\nans = round(sum(values) / len(values), 2)"


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


def latency(calls: int, block: int = 20) -> None:
    from seer_env.envs.toolqa.sandbox import kernel_isolation, run_python

    ok, why = kernel_isolation()
    if not ok:
        print(f"kernel isolation unavailable here ({why}); only the weak path can be measured")
    modes = ["weak", "kernel"] if ok else ["weak"]
    times: dict[str, list[float]] = {m: [] for m in modes}
    for m in modes:  # warm: zygotes started, first-call costs paid
        for _ in range(5):
            assert run_python(SNIPPET, isolation=m).value == "15.94"
    done = 0
    while done < calls:
        for m in modes:
            for _ in range(block):
                t0 = time.perf_counter()
                res = run_python(SNIPPET, isolation=m)
                times[m].append((time.perf_counter() - t0) * 1000)
                assert res.ok and res.value == "15.94", res
        done += block
    print(f"PythonInterpreter call latency, {done} calls each (ms):")
    for m in modes:
        t = times[m]
        print(f"  {m:<7} p50 {pct(t, 50):6.2f}  p90 {pct(t, 90):6.2f}  p99 {pct(t, 99):6.2f}")
    if ok:
        print(
            f"  p50 kernel / weak: {pct(times['kernel'], 50) / pct(times['weak'], 50):.2f} (target p50 < 10 ms)"
        )


def oracle(scale: str, passes: int, embedder: str, cache_dir: str | None) -> None:
    from oracle_play import play_oracle

    from seer_env.agents.oracle import OraclePolicy
    from seer_env.embedding import HashEmbedder
    from seer_env.envs.toolqa.sandbox import kernel_isolation
    from seer_env.envs.toolqa.synth_env import make_synth_env

    ok, _ = kernel_isolation()
    t0 = time.perf_counter()
    env = make_synth_env(
        "hard",
        scale=scale,
        cache_dir=cache_dir,
        # a hashed bag of words: the retrievers' cost without a model, equal for both protections
        embedder=HashEmbedder(256) if embedder == "hash" else None,
        python_isolation="weak",
    )
    print(
        f"ToolQA-Synth hard ({scale}): {len(env.task_ids)} questions, ready in {time.perf_counter() - t0:.1f} s"
    )
    toolkit = env._toolkit  # the protection is fixed at construction; the benchmark switches it
    policy = OraclePolicy()
    by_tool: dict[str, Counter] = {}

    def play(tid: str, mode: str) -> tuple[int, float]:
        return play_oracle(env, policy, tid, by_tool[mode])

    modes = ["weak", "kernel"] if ok else ["weak"]
    steps = {m: 0 for m in modes}
    secs = {m: 0.0 for m in modes}
    wins = {m: 0.0 for m in modes}
    for m in modes:  # warm-up pass (loads tables, graphs, retrievers; starts zygotes)
        toolkit.python_sandbox = m
        by_tool[m] = Counter()
        for tid in env.task_ids[:: max(1, len(env.task_ids) // 20)]:
            play(tid, m)
        by_tool[m] = Counter()
    for _ in range(passes):
        for m in modes:
            toolkit.python_sandbox = m
            t0 = time.perf_counter()
            for tid in env.task_ids:
                n, r = play(tid, m)
                steps[m] += n
                wins[m] += r
            secs[m] += time.perf_counter() - t0
    env.close()
    print(f"oracle through env.step, {passes} pass(es) each:")
    for m in modes:
        rate = steps[m] / secs[m]
        py = by_tool[m]["PythonInterpreter"]
        print(
            f"  {m:<7} {steps[m]} steps in {secs[m]:.1f} s = {rate:7.1f} steps/s; reward {wins[m]:.0f}; "
            f"PythonInterpreter {py:.1f} s"
        )
    if ok:
        ratio = (steps["kernel"] / secs["kernel"]) / (steps["weak"] / secs["weak"])
        print(f"  steps/s kernel / weak: {ratio:.2f} (target >= 0.90)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=400, help="latency calls per protection")
    ap.add_argument("--scale", default="small", choices=["tiny", "small", "full"], help="ToolQA-Synth scale")
    ap.add_argument("--passes", type=int, default=2, help="oracle passes over the questions per protection")
    ap.add_argument("--embedder", default="hash", choices=["hash", "default"], help="retriever embeddings")
    ap.add_argument("--cache-dir", default=None, help="where the generated corpus lives (default: the cache)")
    ap.add_argument("--skip-oracle", action="store_true")
    args = ap.parse_args()
    latency(args.calls)
    if not args.skip_oracle:
        oracle(args.scale, args.passes, args.embedder, args.cache_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

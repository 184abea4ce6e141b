"""Vector envs: `gym.make_vec(..., vectorization_mode="async")` start time, memory per worker, oracle steps/s.

For each worker count (1, 2, 4, 8 by default) we build the vector env the way a user does,

    envs = gym.make_vec("ToolQA-Synth-hard-v0", num_envs=N, vectorization_mode="async")

and report:

- start: seconds from starting a fresh Python process to the end of the first `reset` (imports,
  workers started, envs built): each worker count runs in a process of its own;
- memory of each worker process, from /proc/PID/smaps_rollup: RSS (counts shared pages in full in
  every process), PSS (shared pages split between the processes mapping them: the honest share) and
  USS (pages only this process holds); measured after start and again after the oracle steps (by then
  every tool, the retrievers and their embedding model included, has been used); "each more worker"
  is the growth of the whole tree's PSS (parent, workers and the embedding service) per worker added;
- oracle steps/s: every worker replays gold tool chains (the oracle's actions) for `--seconds`; the
  speed-up over one worker.

The reference is the same env with every worker on its own: `SEER_ENV_EMBED_SERVICE=0` (each worker
loads the embedding model itself, as before the shared service), shown for the largest worker
count (`--reference`).

    python benchmarks/vector_envs.py                     # 1, 2, 4, 8 workers
    python benchmarks/vector_envs.py --quick             # 1, 2, 8 workers, shorter runs
    python benchmarks/vector_envs.py --reference         # also the per-worker-model reference

On a shared machine the figures move with the load: the load average is printed at the start and
the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def smaps(pid: int) -> dict[str, float]:
    """RSS, PSS and USS of a process in MB (Linux's /proc/PID/smaps_rollup)."""
    out = {"rss": 0.0, "pss": 0.0, "uss": 0.0}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3 or parts[-1] != "kB":
                    continue
                key, kb = parts[0].rstrip(":"), int(parts[1]) / 1024
                if key == "Rss":
                    out["rss"] = kb
                elif key == "Pss":
                    out["pss"] = kb
                elif key in ("Private_Clean", "Private_Dirty"):
                    out["uss"] += kb
    except OSError:
        pass
    return out


def descendants(pid: int) -> list[int]:
    """Every process under `pid` (workers, their SQL and sandbox helpers, the embedding service)."""
    try:
        out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    except OSError:
        return []
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        p, pp = (int(x) for x in line.split())
        children.setdefault(pp, []).append(p)
    found, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            found.append(c)
            todo.append(c)
    return found


def service_pids() -> list[int]:
    """The embedding service processes of this user (they are started detached, not as children)."""
    try:
        from seer_env.embedding_service import running_service_pids
    except ImportError:
        return []
    return running_service_pids()


def gold_plans(env_id: str) -> dict[str, list]:
    """task id -> the oracle's actions (gold chain, then Finish), read from a local env."""
    import gymnasium as gym

    from seer_env.agents.oracle import OraclePolicy

    env = gym.make(env_id, disable_env_checker=True)
    plans = {}
    oracle = OraclePolicy()
    for tid in env.unwrapped.task_ids:
        _, info = env.reset(options={"task_id": tid, "reveal_gold": True})
        chain, finish = oracle._plan(info)
        plans[tid] = [*chain, finish]
    env.close()
    return plans


def run_workers(env_id: str, n: int, seconds: float) -> dict:
    """In a fresh process (see `main`): build, reset, measure, step; returns the figures."""
    import gymnasium as gym
    import numpy as np

    import seer_env  # noqa: F401  (registers the ids)

    envs = gym.make_vec(env_id, num_envs=n, vectorization_mode="async")
    _obs, infos = envs.reset(seed=list(range(n)))
    started = time.time()
    plans = gold_plans(env_id)
    me = os.getpid()
    workers = [p.pid for p in envs.processes]
    mem_start = {pid: smaps(pid) for pid in workers}
    queues = [list(plans[infos["task_id"][i]]) for i in range(n)]
    steps = episodes = successes = 0
    pending_reset = [False] * n
    t1 = time.perf_counter()
    while time.perf_counter() - t1 < seconds:
        actions = tuple(queues[i][0] if not pending_reset[i] and queues[i] else None for i in range(n))
        for i in range(n):
            if not pending_reset[i] and queues[i]:
                queues[i].pop(0)
        _obs, rewards, terms, truncs, infos = envs.step(actions)
        for i in range(n):
            if pending_reset[i]:  # this step was the worker's autoreset: a new task began
                pending_reset[i] = False
                queues[i] = list(plans[infos["task_id"][i]])
                continue
            steps += 1
            if terms[i] or truncs[i]:
                episodes += 1
                successes += int(rewards[i] >= 1.0)
                pending_reset[i] = True
    wall = time.perf_counter() - t1
    tree = [me, *descendants(me), *service_pids()]
    mem_end = {pid: smaps(pid) for pid in set(tree)}
    envs.close()
    return {
        "n": n,
        "started": started,
        "steps": steps,
        "steps_per_s": steps / wall,
        "episodes": episodes,
        "successes": successes,
        "worker_start": {
            k: float(np.mean([mem_start[p][k] for p in workers])) for k in ("rss", "pss", "uss")
        },
        "worker_end": {
            k: float(np.mean([mem_end.get(p, smaps(p))[k] for p in workers])) for k in ("rss", "pss", "uss")
        },
        "tree_pss": sum(m["pss"] for m in mem_end.values()),
    }


def measure(env_id: str, n: int, seconds: float, extra_env: dict[str, str] | None = None) -> dict:
    """`run_workers` in a fresh Python process; start = from spawning it to its first reset's end."""
    env = {**os.environ, **(extra_env or {})}
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, __file__, "--one", str(n), "--env", env_id, "--seconds", str(seconds)],
        capture_output=True,
        text=True,
        env=env,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"the {n}-worker run failed:\n{out.stderr[-3000:]}")
    r = json.loads(lines[-1])
    r["start_s"] = r.pop("started") - t0
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--env", default="ToolQA-Synth-hard-v0")
    ap.add_argument("--workers", default="1,2,4,8")
    ap.add_argument("--seconds", type=float, default=20.0, help="oracle stepping time per worker count")
    ap.add_argument("--quick", action="store_true", help="1, 2 and 8 workers, 8 s of steps each")
    ap.add_argument(
        "--reference",
        action="store_true",
        help="also the largest worker count with every worker loading its own embedding model",
    )
    ap.add_argument("--one", type=int, default=0, help=argparse.SUPPRESS)  # a child: one worker count
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.one:
        print(json.dumps(run_workers(args.env, args.one, args.seconds)), flush=True)
        return 0
    if args.quick:
        args.workers, args.seconds = "1,2,8", 8.0
    print(f"load average at start: {load_average()} ({os.cpu_count()} CPUs)", flush=True)
    counts = [int(x) for x in args.workers.split(",")]
    measure(args.env, 1, 0.1)  # builds the corpus cache once, outside the timings
    print(
        f"{'workers':>7}{'start s':>9}{'steps/s':>9}{'vs 1':>6}{'episodes':>9}{'ok':>5}"
        f"   per worker MB after start (RSS/PSS/USS)   after steps (RSS/PSS/USS)   tree PSS MB"
    )
    rows = []
    for n in counts:
        r = measure(args.env, n, args.seconds)
        rows.append(r)
        base = rows[0]["steps_per_s"] if rows[0]["n"] == 1 else float("nan")
        ws, we = r["worker_start"], r["worker_end"]
        print(
            f"{n:>7}{r['start_s']:>9.1f}{r['steps_per_s']:>9.1f}{r['steps_per_s'] / base:>6.2f}"
            f"{r['episodes']:>9}{r['successes']:>5}   {ws['rss']:>7.0f} {ws['pss']:>7.0f} {ws['uss']:>7.0f}"
            f"              {we['rss']:>7.0f} {we['pss']:>7.0f} {we['uss']:>7.0f}   {r['tree_pss']:>8.0f}",
            flush=True,
        )
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        per = (b["tree_pss"] - a["tree_pss"]) / max(1, b["n"] - a["n"])
        print(f"each more worker adds {per:.0f} MB (tree PSS, {a['n']} -> {b['n']} workers, after steps)")
    if args.reference:
        n = counts[-1]
        r = measure(args.env, n, args.seconds, {"SEER_ENV_EMBED_SERVICE": "0"})
        we = r["worker_end"]
        print(
            f"reference, {n} workers each with its own embedding model: start {r['start_s']:.1f} s, "
            f"{r['steps_per_s']:.1f} steps/s, per worker after steps RSS {we['rss']:.0f} PSS {we['pss']:.0f} "
            f"USS {we['uss']:.0f} MB, tree PSS {r['tree_pss']:.0f} MB"
        )
    print(f"load average at the end: {load_average()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The Ray executor against the local one on one machine: SEER episodes per minute at concurrency 32.

The same set-up as benchmarks/runner.py: a loopback OpenAI-compatible server (its own process) answers
every call after `--latency` seconds (200 ms) with the gold next step; SEER plays with its pool (hashed
embedder by default, so embedding CPU does not hide the executors' cost). Each repeat runs the local
executor and then the Ray executor on the same tasks, on one local Ray started once (on loopback,
`--ray-cpus` CPUs). Per run:

- ep/min over the whole run, and "steady": between the 10th and the 90th percentile of finishing
  times (it leaves out the start, where the Ray executor starts its actors, and the last, partly
  empty wave);
- start: seconds until the first episode starts (the Ray executor waits for its first actor, which
  builds the env's first copy; the others start meanwhile); "running": ep/min from the first
  episode's start to the last one's end;
- CPU: cores used by this process and every process it started (Ray's servers and workers; sampled
  from /proc) and CPU ms per episode over the whole run; while episodes run: cores ("run cores"),
  and CPU ms per episode of this process (the driver: event loop, policies, and for the local
  executor the env steps) and of the others (Ray's workers and servers).

The ratio row is Ray over local (1.0 = as fast); the median of `--repeat` runs is shown with each
run's figure, since a shared 2-core machine's rates wander. The load average before and after is
printed: on a busy machine the figures are indicative only.

    python benchmarks/ray_executor.py                 # tiny tool env (tests/harness/tiny_env.py)
    python benchmarks/ray_executor.py --env synth     # ToolQA-Synth-easy-v0
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
# Ray's servers on the loopback address only (read when `ray` is first imported, here and by its processes)
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

from benchmarks.runner import env_setup, fresh_memory, seer_runner, start_server, steady_rate  # noqa: E402


class ProcessCPU:
    """CPU seconds of this process and of its descendants (Ray's servers and workers) over a span,
    sampled from /proc every `every` seconds (a process's last sample counts once it is gone)."""

    def __init__(self, every: float = 0.25):
        self.every, self._stop = every, threading.Event()
        self.tick = os.sysconf("SC_CLK_TCK")
        self.base = self._read()
        self.seen = dict(self.base)
        # (epoch, CPU s used so far by this process, by its descendants)
        self.timeline: list[tuple[float, float, float]] = [(time.time(), 0.0, 0.0)]

    def _read(self) -> dict[int, float]:
        parents, cpu = {}, {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(name)] = int(fields[1])
            cpu[int(name)] = (int(fields[11]) + int(fields[12])) / self.tick
        me, out, todo = os.getpid(), {}, [os.getpid()]
        out[me] = cpu.get(me, 0.0)
        kids: dict[int, list[int]] = {}
        for p, pp in parents.items():
            kids.setdefault(pp, []).append(p)
        while todo:
            for k in kids.get(todo.pop(), []):
                out[k] = cpu[k]
                todo.append(k)
        return out

    def __enter__(self) -> ProcessCPU:
        self._thread = threading.Thread(target=self._loop, daemon=True, name="cpu-sampler")
        self._thread.start()
        return self

    def _sample(self) -> None:
        self.seen.update(self._read())
        self.timeline.append((time.time(), *self.split()))

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def used_between(self, a: float, b: float) -> tuple[float, float]:
        """(this process, its descendants) CPU seconds used between two epoch times (from the samples
        nearest inside them)."""
        inside = [(own, others) for t, own, others in self.timeline if a <= t <= b]
        if len(inside) < 2:
            return float("nan"), float("nan")
        return inside[-1][0] - inside[0][0], inside[-1][1] - inside[0][1]

    def split(self) -> tuple[float, float]:
        """(this process, its descendants) CPU seconds used in the span."""
        me = os.getpid()
        own = self.seen[me] - self.base.get(me, 0.0)
        others = sum(v - self.base.get(p, 0.0) for p, v in self.seen.items() if p != me)
        return own, others


def one_run(executor, env_id, env_kwargs, ids, client, memory, concurrency, out: Path) -> dict:
    from seer_env.records import RESULTS_FILE, read_records

    runner = seer_runner(env_id, env_kwargs, ids, client, memory, concurrency, out, executor=executor)
    with ProcessCPU() as cpu:
        t0, w0 = time.time(), time.perf_counter()
        counts = asyncio.run(runner.run())
        wall = time.perf_counter() - w0
    own, others = cpu.split()
    timings = [r["timings"] for r in read_records(out / RESULTS_FILE)]
    first, last = min(t["start"] for t in timings), max(t["end"] for t in timings)
    return {
        "done": counts["done"],
        "success": counts["success"],
        "rate": 60 * counts["done"] / wall,
        "running": 60 * counts["done"] / (last - first),
        "steady": steady_rate(out),
        "start": first - t0,
        "wall": wall,
        "cores": (own + others) / wall,
        # while episodes run (from the first start to the last end): no start-up, no shut-down
        "run_cores": sum(cpu.used_between(first, last)) / (last - first),
        "run_driver": 1000 * cpu.used_between(first, last)[0] / counts["done"],
        "run_others": 1000 * cpu.used_between(first, last)[1] / counts["done"],
        "ms_per_ep": 1000 * (own + others) / max(1, counts["done"]),
        "facts": runner.executor.facts(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--env", choices=("tiny", "synth"), default="tiny")
    ap.add_argument("--latency", type=float, default=0.2, help="seconds per model call")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--episodes-per-slot", type=int, default=10, help="episodes per unit of concurrency")
    ap.add_argument("--repeat", type=int, default=3, help="local/ray pairs; the median is shown")
    ap.add_argument("--ray-cpus", type=int, default=None, help="CPUs of the local Ray (default: all)")
    ap.add_argument("--embedder", choices=("hash", "minilm"), default="hash")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    import ray

    from seer_env.embedding import HashEmbedder, as_embedder
    from seer_env.llm import LLMClient, preload
    from tests.harness.scripted import ScriptedModel

    load_before = os.getloadavg()
    n = max(20, args.episodes_per_slot * args.concurrency)
    env_id, env_kwargs, answers, ids = env_setup(args.env, n)
    work = Path(tempfile.mkdtemp(prefix="seer-bench-ray-"))
    answers_file = work / "answers.json"
    ScriptedModel(answers).to_file(str(answers_file))
    server, base = start_server(answers_file, args.latency)
    preload()
    embedder = HashEmbedder(64) if args.embedder == "hash" else as_embedder(None)
    embedder.encode(["warm up"])
    t0 = time.perf_counter()
    ray_temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    ray.init(
        num_cpus=args.ray_cpus or os.cpu_count(),
        include_dashboard=False,
        logging_level="WARNING",
        _temp_dir=ray_temp,
    )
    ray_start = time.perf_counter() - t0
    try:
        client = LLMClient("openai/scripted", api_base=base, api_key="sk", timeout=30, backoff_base=0.0)
        client.complete([{"role": "user", "content": "warm up"}])
        runs: dict[str, list[dict]] = {"local": [], "ray": []}
        for r in range(max(1, args.repeat)):
            for executor in ("local", "ray"):
                out = work / f"{executor}-{r}"
                res = one_run(
                    executor,
                    env_id,
                    env_kwargs,
                    ids[:n],
                    client,
                    fresh_memory(work, embedder),
                    args.concurrency,
                    out,
                )
                runs[executor].append(res)
                shutil.rmtree(out, ignore_errors=True)
        print(
            f"env {env_id}, SEER, model latency {args.latency * 1000:.0f} ms per call, concurrency "
            f"{args.concurrency}, {n} episodes per run, embedder {args.embedder}, {os.cpu_count()} CPUs; "
            f"Ray started in {ray_start:.1f} s (once, not in the figures); median of {args.repeat} runs"
        )
        cols = (
            "wall",
            "start",
            "rate",
            "running",
            "steady",
            "cores",
            "ms_per_ep",
            "run_cores",
            "run_driver",
            "run_others",
        )
        heads = (
            "wall s",
            "start s",
            "ep/min",
            "running",
            "steady",
            "cores",
            "ms CPU/ep",
            "run cores",
            "driver ms",
            "others ms",
        )
        print(
            f"{'executor':<10}{'episodes':>9}"
            + "".join(f"{h:>10}" for h in heads)
            + "  ep/min running, each run"
        )
        med = {}
        for executor, rs in runs.items():
            med[executor] = m = {k: statistics.median(x[k] for x in rs if x[k] is not None) for k in cols}
            each = " ".join(f"{x['running']:.0f}" for x in rs)
            print(f"{executor:<10}{rs[0]['done']:>9}" + "".join(f"{m[k]:>10.2f}" for k in cols) + f"  {each}")
        ratio = "".join(
            f"{med['ray'][k] / med['local'][k]:>10.2f}" if k in ("rate", "running", "steady") else f"{'':>10}"
            for k in cols
        )
        print(f"{'ray/local':<10}{'':>9}{ratio}  (target: 0.80 or more)")
        print(f"actors started per Ray run: {runs['ray'][0]['facts'].get('actors_started')}")
        load_after = os.getloadavg()
        print(
            "load average before: "
            + " ".join(f"{x:.2f}" for x in load_before)
            + "; after: "
            + " ".join(f"{x:.2f}" for x in load_after)
        )
    finally:
        server.kill()
        ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(ray_temp, ignore_errors=True)
        os._exit(0)  # the pool's and the server's threads need not be joined


if __name__ == "__main__":
    main()

"""Runner throughput: SEER episodes per minute against a model that takes 200 ms per call.

A loopback OpenAI-compatible server (tests/harness/fake_server.py, in its own process so its CPU is not
counted as the harness's; it is shown on its own) answers every call after `--latency` seconds with the
gold next step. We time:

- the reference's way: one question after the other, each call blocking (a plain synchronous loop over
  the same SEER policy, `SyncPolicy`, env steps inline);
- `seer_env.runner.Runner` at concurrency 1, 8, 32, 128.

Each concurrency level plays `--episodes-per-slot` (10) episodes per slot and is run `--repeat` (5)
times; the median run is shown with every run's speed-up and the lowest, since a 2-core machine's
rates wander. Next to the whole run's rate, "steady" is the rate between the 10th and 90th percentile
of finishing times: it leaves out the start (every slot at once) and the last wave (slots falling idle
one by one), which a long run hardly has.
For each: episodes per minute, the speed-up over the sequential loop, the harness's own CPU use
(process CPU time / wall time, in cores), its CPU per LLM call, and the model server's cores.
Then, at concurrency 32: the CPU of each thread group (event loop, env workers, the pool's thread,
the embedding batcher), the LLM client's CPU per call through litellm against the lean transport
(`seer_env.lean_transport`), each with a cProfile summary of the event-loop thread (the before and
after of that change), and the CPU one recall costs on its own.

The scripted model is priced like a hosted small model (`--price`, USD per million tokens), so calls
are priced as for real models; `--price none` shows an unpriced (self-hosted) model.

    python benchmarks/runner.py --levels 32,128 --embedder hash     # the harness alone
    python benchmarks/runner.py --levels 32,128 --embedder minilm   # with the packaged MiniLM
    python benchmarks/runner.py --quick                             # one short run per level
    python benchmarks/runner.py --env synth     # ToolQA-Synth-easy-v0 instead of the tiny tool env

On a shared machine the figures move with the load: the load average is printed at the start and
the end; compare runs made at similar loads.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def start_server(answers_file: Path, latency: float) -> tuple[subprocess.Popen, str]:
    port_file = answers_file.with_suffix(".port")
    code = (
        f"import sys, time; sys.path.insert(0, {str(REPO)!r})\n"
        "from tests.harness.fake_server import FakeOpenAIServer\n"
        "from tests.harness.scripted import ScriptedModel\n"
        f"srv = FakeOpenAIServer(ScriptedModel.from_file({str(answers_file)!r}), latency={latency!r}, record=False).start()\n"
        f"open({str(port_file)!r}, 'w').write(str(srv.port))\n"
        "import os; parent = os.getppid()\n"
        "while os.getppid() == parent: time.sleep(1)  # ends with the benchmark, however it ends\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    for _ in range(600):
        if port_file.exists() and port_file.read_text():
            return proc, f"http://127.0.0.1:{port_file.read_text()}/v1"
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not start")


def env_setup(kind: str, n: int):
    """(env id, env kwargs, answers for the scripted model, task ids)."""
    import gymnasium as gym

    from seer_env.types import ToolCall

    if kind == "synth":
        env_id, kwargs = "ToolQA-Synth-easy-v0", {}
    else:
        env_id, kwargs = "tests.harness.tiny_env:Tiny-v0", {"n_tasks": n}
    env = gym.make(env_id, disable_env_checker=True, **kwargs)
    answers, ids = {}, list(env.unwrapped.task_ids)[:n]
    for tid in ids:
        _, info = env.reset(options={"task_id": tid, "reveal_gold": True})
        chain = [ToolCall.from_dict(c) for c in info["gold"]["chain"]]
        if not chain or chain[-1].name != "Finish":
            chain.append(ToolCall("Finish", {"answer": str(info["gold"]["answer"])}))
        answers[info["query"]] = (info.get("domain"), chain)
    return env_id, kwargs, answers, ids


def fresh_memory(base: Path, embedder):
    """A new, empty pool; the embedders' text caches are emptied too, so every run starts cold."""
    from seer_env.agents.seer import open_memory
    from seer_env.batching import clear_caches

    clear_caches()
    path = Path(tempfile.mkdtemp(dir=base)) / "pool.sqlite"
    return open_memory(path, "toolqa", embedder=embedder)


def reference_loop(env_id, env_kwargs, ids, client, memory) -> float:
    """One question after another, every call blocking: the shape of the reference's tdqa.py loop."""
    import gymnasium as gym

    from seer_env.agents import SyncPolicy
    from seer_env.agents.seer import SeerPolicy
    from seer_env.policy import StopEpisode
    from seer_env.types import Step, Trajectory

    env = gym.make(env_id, disable_env_checker=True, **env_kwargs)
    policy = SyncPolicy(SeerPolicy(client, memory, prefetch=False))
    t0 = time.perf_counter()
    for tid in ids:
        obs, info = env.reset(options={"task_id": tid})
        policy.reset(seed=0, info=info)
        steps, final, info0 = [], {}, dict(info)
        for _ in range(10):
            try:
                action = policy.act(obs, info)
            except StopEpisode:
                break
            obs, reward, term, trunc, final = env.step(action)
            steps.append(Step(action, obs, ok=final.get("ok", True)))
            if term or trunc:
                break
            info = {**info0, **final}
        ok = bool(final.get("success"))
        policy.observe(
            Trajectory(
                env_id,
                tid,
                info0["query"],
                intent=policy.policy.intent,
                steps=steps,
                success=ok,
                reward=float(ok),
            )
        )
    return time.perf_counter() - t0


def seer_runner(env_id, env_kwargs, ids, client, memory, concurrency, out: Path, **options):
    """The measured approach: seer-env's `Runner` playing SEER on `ids`; `options` go to the Runner."""
    from seer_env.agents.seer import SeerPolicy
    from seer_env.runner import PolicyEntry, Runner

    entry = PolicyEntry("seer", lambda _env: SeerPolicy(client, memory), model=client.model, accumulates=True)
    return Runner(
        [env_id],
        [entry],
        out,
        tasks=",".join(ids),
        concurrency=concurrency,
        env_kwargs={env_id: env_kwargs},
        **options,
    )


def run_runner(env_id, env_kwargs, ids, client, memory, concurrency, out: Path, profile=False):
    runner = seer_runner(env_id, env_kwargs, ids, client, memory, concurrency, out, fsync=True)
    prof = cProfile.Profile() if profile else None
    c0, t0 = time.process_time(), time.perf_counter()
    if prof:
        prof.enable()
    counts = asyncio.run(runner.run())
    if prof:
        prof.disable()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return counts, wall, cpu, prof


def steady_rate(out: Path) -> float | None:
    """Episodes per minute between the 10th and the 90th percentile of finishing times.

    The whole run's rate also counts the start (every slot starting at once) and the last wave, in
    which slots fall idle one by one; a long run is dominated by the steady middle this measures.
    """
    from seer_env.records import RESULTS_FILE, read_records

    ends = sorted(r["timings"]["end"] for r in read_records(out / RESULTS_FILE) if r.get("timings"))
    if len(ends) < 20:
        return None
    lo, hi = len(ends) // 10, (9 * len(ends)) // 10
    return 60 * (hi - lo) / (ends[hi] - ends[lo]) if ends[hi] > ends[lo] else None


def profile_shares(prof: cProfile.Profile, wall: float) -> tuple[dict[str, float], str]:
    """Shares of the profiled thread's own time by part (and "_total", its own seconds)."""
    stats = pstats.Stats(prof)
    total = sum(v[2] for v in stats.stats.values())  # total own time in the profiled thread
    buckets = {
        "LLM client: litellm, OpenAI SDK, httpx": 0.0,
        "LLM client: lean transport, aiohttp": 0.0,
        "prompt building": 0.0,
        "recall (event-loop side)": 0.0,
        "json/record writing": 0.0,
        "waiting (epoll)": 0.0,
    }
    for (file, _line, func), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():
        if "agents/prompts.py" in file or func in (
            "build_prompt",
            "_scratchpad",
            "render_exemplar",
            "render_step",
        ):
            buckets["prompt building"] += tt
        elif "/pool/" in file or "embedding.py" in file:
            buckets["recall (event-loop side)"] += tt
        elif any(x in file for x in ("litellm", "/openai/", "httpx", "httpcore", "pydantic")):
            buckets["LLM client: litellm, OpenAI SDK, httpx"] += tt
        elif "aiohttp" in file or "lean_transport" in file or "seer_env/llm.py" in file:
            buckets["LLM client: lean transport, aiohttp"] += tt
        elif "json" in file and "encoder" in file:
            buckets["json/record writing"] += tt
        elif func == "<method 'poll' of 'select.epoll' objects>":
            buckets["waiting (epoll)"] += tt
    s = io.StringIO()
    pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(15)
    out = {k: v / total for k, v in buckets.items()}
    out["_total"] = total
    return out, s.getvalue()


class ThreadCPU:
    """CPU seconds per thread group (event loop, env workers, pool, litellm's executor) over a run.

    Executor threads end with the run, so /proc/self/task is sampled while it goes (Linux only).
    """

    def __init__(self, every: float = 0.25):
        self.every, self.seen, self._stop = every, {}, threading.Event()
        self.ok = os.path.isdir("/proc/self/task")
        self.base = self._read() if self.ok else {}

    def _read(self) -> dict[int, tuple[str, float]]:
        names = {t.native_id: t.name for t in threading.enumerate()}
        tick = os.sysconf("SC_CLK_TCK")
        out = {}
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:  # the thread ended
                continue
            name = names.get(int(tid), "other")
            if name == "cpu-sampler":  # this measurement's own thread
                continue
            group = "event loop" if name == "MainThread" else re.sub(r"[-_]?\d+(_\d+)?$", "", name)
            out[int(tid)] = (group, (int(fields[11]) + int(fields[12])) / tick)
        return out

    def __enter__(self) -> ThreadCPU:
        if self.ok:
            self._thread = threading.Thread(target=self._loop, daemon=True, name="cpu-sampler")
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.seen.update(self._read())

    def __exit__(self, *exc) -> None:
        if self.ok:
            self._stop.set()
            self._thread.join()
            self.seen.update(self._read())

    def by_group(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for tid, (group, cpu) in self.seen.items():
            out[group] = out.get(group, 0.0) + cpu - self.base.get(tid, (group, 0.0))[1]
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of another process so far (Linux; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def llm_calls(out: Path) -> int:
    """LLM calls counted in a run's records."""
    from seer_env.records import RESULTS_FILE, read_records

    return sum(int((r.get("usage") or {}).get("calls") or 0) for r in read_records(out / RESULTS_FILE))


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def make_embedder(kind: str):
    from seer_env.embedding import HashEmbedder, ModelEmbedder

    if kind == "hash":
        return HashEmbedder(64)
    return ModelEmbedder(backend="onnx" if kind == "minilm-onnx" else "torch")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", choices=("tiny", "synth"), default="tiny")
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--levels", default="1,8,32,128")
    ap.add_argument("--sequential-episodes", type=int, default=20)
    ap.add_argument(
        "--episodes-per-slot",
        type=int,
        default=10,
        help="episodes per unit of concurrency (20 episodes at least): enough waves that start-up and the "
        "last, partly empty wave do not decide the rate",
    )
    ap.add_argument("--repeat", type=int, default=5, help="runs per concurrency level; the median is shown")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="a short check: 10 sequential episodes, 5 episodes per slot, 2 runs per level, no profiles",
    )
    ap.add_argument(
        "--price",
        default="0.15,0.6",
        help="the scripted model's price, USD per million input,output tokens (as a hosted small model); "
        "'none' leaves it unpriced, as a self-hosted model without --price is",
    )
    ap.add_argument(
        "--embedder",
        choices=("minilm", "minilm-onnx", "hash"),
        default="minilm",
        help="the pool's embedder: the packaged MiniLM (real recall cost; minilm-onnx: its ONNX Runtime "
        "backend, needs the `onnx` extra) or a hashed bag of words (seer_env.embedding.HashEmbedder; "
        "isolates the harness from embedding CPU)",
    )
    ap.add_argument(
        "--transport",
        choices=("auto", "litellm"),
        default="auto",
        help="the LLM client's transport for the runner rows (auto: the lean transport for this "
        "self-hosted endpoint; litellm: every call through litellm.acompletion)",
    )
    ap.add_argument("--no-profile", action="store_true", help="skip the concurrency-32 profiles")
    args = ap.parse_args()
    if args.quick:
        args.sequential_episodes, args.episodes_per_slot, args.repeat = 10, 5, 2
        args.no_profile = True
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"load average at start: {load_average()} ({os.cpu_count()} CPUs)", flush=True)

    from seer_env.agents.launch import parse_price
    from seer_env.llm import LLMClient, preload
    from tests.harness.scripted import ScriptedModel

    levels = [int(x) for x in args.levels.split(",")]
    per = max(1, args.episodes_per_slot)
    n_max = max(args.sequential_episodes, *(max(20, per * c) for c in levels))
    env_id, env_kwargs, answers, ids = env_setup(args.env, n_max)
    work = Path(tempfile.mkdtemp(prefix="seer-bench-"))
    answers_file = work / "answers.json"
    ScriptedModel(answers).to_file(str(answers_file))
    server, base = start_server(answers_file, args.latency)
    preload()
    embedder = make_embedder(args.embedder)
    embedder.encode(["warm up"])
    price = None if args.price == "none" else parse_price(args.price)

    def client_for(transport: str) -> LLMClient:
        c = LLMClient(
            "openai/scripted",
            api_base=base,
            api_key="sk",
            timeout=30,
            backoff_base=0.0,
            price=price,
            transport=transport,
        )
        c.complete([{"role": "user", "content": "warm up"}])  # first-call set-up out of the timings
        return c

    try:
        client = client_for(args.transport)
        n_seq = min(args.sequential_episodes, len(ids))
        mem = fresh_memory(work, embedder)
        c0 = time.process_time()
        wall = reference_loop(env_id, env_kwargs, ids[:n_seq], client, mem)
        seq_cpu = time.process_time() - c0
        seq_rate = 60 * n_seq / wall
        print(
            f"env {env_id}, model latency {args.latency * 1000:.0f} ms per call, embedder {args.embedder}, "
            f"price {args.price}, transport {client.describe()['transport']}; runner rows: median of "
            f"{args.repeat} runs"
        )
        print(
            f"{'setting':<30}{'episodes':>9}{'wall s':>8}{'ep/min':>8}{'speed-up':>9}{'CPU cores':>10}"
            f"{'ms CPU/call':>12}{'server':>8}{'steady':>8}{'speed-up':>9}  speed-up of each run (lowest)"
        )
        print(
            f"{'sequential loop (reference)':<30}{n_seq:>9}{wall:>8.1f}{seq_rate:>8.0f}{1.0:>9.1f}"
            f"{seq_cpu / wall:>10.2f}{'':>12}{'':>8}{seq_rate:>8.0f}{1.0:>9.1f}",
            flush=True,
        )
        batcher = embedder._batcher() if hasattr(embedder, "_batcher") else None
        for c in levels:
            n = min(len(ids), max(20, per * c))
            runs = []
            b0 = (batcher.batches, batcher.embedded) if batcher else (0, 0)
            for r in range(max(1, args.repeat)):
                mem = fresh_memory(work, embedder)
                out = work / f"run-c{c}-{r}"
                s0 = proc_cpu(server.pid)
                counts, wall, cpu, _ = run_runner(env_id, env_kwargs, ids[:n], client, mem, c, out)
                server_cores = (proc_cpu(server.pid) - s0) / wall
                calls = max(1, llm_calls(out))
                runs.append(
                    (60 * counts["done"] / wall, counts, wall, cpu, steady_rate(out), calls, server_cores)
                )
                shutil.rmtree(out, ignore_errors=True)
            rate, counts, wall, cpu, steady, calls, server_cores = sorted(runs, key=lambda r: r[0])[
                len(runs) // 2
            ]
            each = " ".join(f"{x[0] / seq_rate:.1f}" for x in runs)
            lowest = min(x[0] for x in runs) / seq_rate
            steady_cols = f"{steady:>8.0f}{steady / seq_rate:>9.1f}" if steady else f"{'':>17}"
            print(
                f"{'runner, concurrency ' + str(c):<30}{counts['done']:>9}{wall:>8.1f}{rate:>8.0f}"
                f"{rate / seq_rate:>9.1f}{cpu / wall:>10.2f}{1000 * cpu / calls:>12.2f}{server_cores:>8.2f}"
                f"{steady_cols}  {each} ({lowest:.1f})",
                flush=True,
            )
            if counts["success"] != counts["done"]:
                print(f"  ! {counts['done'] - counts['success']} episodes failed", flush=True)
            if batcher and batcher.batches > b0[0]:
                calls_, texts_ = batcher.batches - b0[0], batcher.embedded - b0[1]
                print(
                    f"  embedder: {texts_ / len(runs):.0f} texts embedded per run, "
                    f"{texts_ / calls_:.1f} per model call (the rest from the cache)",
                    flush=True,
                )
        if 32 in levels and not args.no_profile:
            profile_32(args, env_id, env_kwargs, ids, per, work, embedder, client_for)
        # recall cost measured directly (it runs in the pool's worker thread)
        from seer_env.types import Step, ToolCall

        mem = fresh_memory(work, embedder)
        qs = list(answers)[:50]
        steps = (Step(ToolCall("Lookup", {"key": "k1"}), "", thought="look it up"),)
        c0, t0 = time.process_time(), time.perf_counter()
        for q in qs:
            mem.recall(q, intent="math", steps=steps, strategy="process", k=4)
        rc, rw = (time.process_time() - c0) / len(qs), (time.perf_counter() - t0) / len(qs)
        print(f"\none process recall: {rw * 1000:.1f} ms wall, {rc * 1000:.1f} ms CPU (pool of {len(mem)})")
    finally:
        print(f"load average at the end: {load_average()}", flush=True)
        server.kill()
        shutil.rmtree(work, ignore_errors=True)
        os._exit(0)  # the pool's and the server's threads need not be joined


def profile_32(args, env_id, env_kwargs, ids, per, work, embedder, client_for) -> None:
    """Concurrency 32: CPU per thread group, then litellm against the lean transport under cProfile."""
    n = min(len(ids), max(20, per * 32))
    client = client_for(args.transport)
    mem = fresh_memory(work, embedder)
    with ThreadCPU() as threads:
        counts, wall, _cpu, _ = run_runner(env_id, env_kwargs, ids[:n], client, mem, 32, work / "p0")
    groups = threads.by_group()
    calls = max(1, llm_calls(work / "p0"))
    if groups:
        total = sum(groups.values())
        print(
            f"\nconcurrency 32, CPU by thread ({n} episodes, {calls} LLM calls, {total / wall:.2f} cores in all):"
        )
        for g, v in groups.items():
            print(f"  {g:<28}{100 * v / total:6.1f}%  {1000 * v / calls:6.2f} ms/call")
    for transport in ("litellm", "auto"):
        client = client_for(transport)
        mem = fresh_memory(work, embedder)
        out = work / f"p-{transport}"
        c0 = time.process_time()
        counts, wall, _cpu, prof = run_runner(env_id, env_kwargs, ids[:n], client, mem, 32, out, profile=True)
        cpu = time.process_time() - c0
        calls = max(1, llm_calls(out))
        shares, text = profile_shares(prof, wall)
        label = client.describe()["transport"]
        print(
            f"\nconcurrency 32 through {label} under cProfile ({60 * counts['done'] / wall:.0f} ep/min, "
            f"{1000 * cpu / calls:.2f} ms CPU per LLM call in all threads), share of the event-loop "
            "thread's own time:"
        )
        own = shares.pop("_total")
        for k, v in shares.items():
            print(f"  {k:<40}{100 * v:6.1f}%  {1000 * v * own / calls:6.2f} ms/call")
        print("top functions by own time (cProfile, event-loop thread):")
        print("\n".join(text.splitlines()[:30]))


if __name__ == "__main__":
    main()

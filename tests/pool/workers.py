"""Worker processes of the pool's concurrency and crash tests: `python -m tests.pool.workers ROLE ...`."""

from __future__ import annotations

import json
import sys
import time

from seer_env.pool import ExperienceMemory
from seer_env.pool.render import render_steps
from seer_env.pool.store import content_hash
from tests.pool.fakes import HashEmbedder, make_traj


def writer(url: str, wid: int, n: int) -> None:
    """Add n distinct experiences, one `add` (one transaction) each."""
    mem = ExperienceMemory(url, embedder=HashEmbedder(), sync_interval=3600)
    added = 0
    for i in range(n):
        added += mem.add(make_traj(wid * 100_000 + i), run_id=f"w{wid}")
    mem.close()
    print(json.dumps({"added": added}))


def check_experience(exp, mem) -> str | None:
    """Why a recalled experience looks half-written, or None when it is whole."""
    if not exp.steps or exp.steps[-1].action.name != "Finish":
        return f"{exp.id}: steps incomplete"
    if [s.action.name for s in exp.steps] != exp.tool_chain:
        return f"{exp.id}: tool chain does not match steps"
    h = content_hash(exp.namespace, exp.intent, exp.query, exp.steps, exp.answer)
    if h != exp.content_hash:
        return f"{exp.id}: content hash mismatch"
    return None


def reader(url: str, stop_file: str, max_seconds: float = 300) -> None:
    """Recall until `stop_file` exists, checking every recalled experience is whole and that the score's
    similarity matches the row's own content (so index vectors and rows are never torn apart)."""
    import os

    import numpy as np

    emb = HashEmbedder()
    mem = ExperienceMemory(url, embedder=emb)
    recalls = 0
    errors: list[str] = []
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        stop = os.path.exists(stop_file)
        t = make_traj(recalls)
        for strategy in ("goal", "process"):
            try:
                got = mem.recall(t.query, intent=t.intent, steps=t.steps[:1], strategy=strategy, k=8)
            except Exception as exc:  # a lock error would show here
                errors.append(repr(exc))
                continue
            recalls += 1
            q = emb.encode([t.query if strategy == "goal" else render_steps(t.steps[:1])])[0]
            for r in got:
                why = check_experience(r.experience, mem)
                e = r.experience
                v = emb.encode([e.query if strategy == "goal" else render_steps(e.steps)])[0]
                if abs(float(np.dot(q.astype(np.float64), v.astype(np.float64))) - r.similarity) > 1e-6:
                    why = f"{e.id}: indexed vector does not match the row"
                if why:
                    errors.append(why)
        if stop:
            break
        time.sleep(0.02)  # leave the two cores mostly to the writers
    mem.sync()
    print(
        json.dumps(
            {"recalls": recalls, "errors": errors[:5], "n_errors": len(errors), "indexed": len(mem._tidx)}
        )
    )
    mem.close()


def crash_writer(url: str, marker: str, batch: int) -> None:
    """Write batches of `batch` experiences; after the first batch, announce the INSERT of the second
    batch (executed, not committed) in `marker` and wait to be killed."""
    from sqlalchemy import event

    mem = ExperienceMemory(url, embedder=HashEmbedder(), sync_interval=3600)
    state = {"batches": 0}

    @event.listens_for(mem.store.engine, "after_cursor_execute")
    def _after(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO EXPERIENCES"):
            state["batches"] += 1
            if state["batches"] == 2:
                with open(marker, "w") as f:
                    f.write("inserted")
                time.sleep(600)  # killed here, inside the open transaction

    mem.add_many([make_traj(i) for i in range(batch)], batch_size=batch)
    mem.add_many([make_traj(batch + i) for i in range(batch)], batch_size=batch)


if __name__ == "__main__":
    role = sys.argv[1]
    if role == "writer":
        writer(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif role == "reader":
        reader(sys.argv[2], sys.argv[3])
    elif role == "crash_writer":
        crash_writer(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        raise SystemExit(f"unknown role {role}")

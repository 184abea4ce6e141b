"""When episodes of a policy that grows a pool may start, and when their successes enter the pool.

Modes (`accumulate`):

- `online`: each episode's `aobserve` runs as it ends; episodes start freely.
- `sequential`: episode i of a policy starts after episode i-1 has updated the pool (task order,
  reproducible; the reference's domain-ordered run).
- `batch:N`: a policy's episodes run N at a time; when a whole batch has ended its successes enter the
  pool in task order, and only then does the next batch start (the reference's shuffled run). Each
  applied batch is logged in `events.jsonl`, so a resumed run neither applies a batch twice nor loses
  the successes of one that was cut off.
- `batches:K`: the same in K batches of equal size (the last one may be shorter): the reference's
  shuffled run is 10 batches of 153 questions.
- `none`: the pool is not updated (policies are built not to accumulate).

Only policies whose `PolicyEntry.accumulates` is set are ordered ("gated"); others run freely.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from seer_env.records import EpisodeKey, EpisodeRecord, append_event, read_events
from seer_env.types import Trajectory

if TYPE_CHECKING:
    from seer_env.runner import EpisodeSpec

log = logging.getLogger(__name__)

# adds a batch's successful trajectories (in task order) to one policy's pool
ObserveBatch = Callable[[str, str, list[Trajectory]], Awaitable[None]]


def parse_mode(mode: str) -> int:
    """The batch size of an accumulate mode (0 for online, sequential, none; for `batches:K`, -K: the
    size follows from the plan); ValueError if unknown."""
    if mode.startswith("batches:"):
        count = int(mode.split(":", 1)[1])
        if count <= 0:
            raise ValueError("the number of batches must be positive")
        return -count
    if mode.startswith("batch:"):
        size = int(mode.split(":", 1)[1])
        if size <= 0:
            raise ValueError("batch size must be positive")
        return size
    if mode not in ("online", "sequential", "none"):
        raise ValueError("accumulate must be online, sequential, batch:N or none")
    return 0


class Accumulation:
    """The start order and pool-update order of one run's gated policies (see the module docstring).

    plan: every planned episode; gated: label -> whether the policy is ordered; observe_batch: how a
    finished batch reaches the pool (the runner lends a policy instance for it).
    """

    def __init__(
        self,
        mode: str,
        plan: Sequence[EpisodeSpec],
        gated: Mapping[str, bool],
        events_path: Path,
        observe_batch: ObserveBatch,
        fsync: bool = True,
    ):
        self.mode = mode
        self.batch = parse_mode(mode)
        self.gated = dict(gated)
        self.events_path = events_path
        self.fsync = fsync
        self._observe_batch = observe_batch
        sizes: dict[str, int] = defaultdict(int)
        sequences: dict[str, list[EpisodeKey]] = defaultdict(list)
        for s in plan:
            sizes[s.policy] = max(sizes[s.policy], s.index + 1)
            sequences[s.policy].append(s.key)
        if self.batch < 0:  # batches:K: K batches of the (longest) sequence
            self.batch = max(1, -(-max(sizes.values(), default=1) // -self.batch))
        self.done = {p: [asyncio.Event() for _ in range(n)] for p, n in sizes.items()}
        # a marker of an applied batch counts only for the same batching of the same plan (a resume)
        self.tags = {
            p: hashlib.sha256(json.dumps([mode, seq]).encode()).hexdigest()[:16]
            for p, seq in sequences.items()
        }
        self._applied: dict[str, dict[int, asyncio.Event]] = defaultdict(dict)
        self._buffers: dict[str, dict[int, list[tuple[int, Trajectory]]]] = defaultdict(
            lambda: defaultdict(list)
        )

    def batching(self, label: str) -> bool:
        """Whether this policy's successes wait for the end of their batch."""
        return self.gated.get(label, False) and self.batch > 0

    def _batch_of(self, index: int) -> int:
        return index // self.batch

    def _applied_event(self, label: str, b: int) -> asyncio.Event:
        return self._applied[label].setdefault(b, asyncio.Event())

    def _batch_complete(self, label: str, b: int) -> bool:
        events = self.done[label]
        return all(e.is_set() for e in events[b * self.batch : (b + 1) * self.batch])

    async def wait_turn(self, spec: EpisodeSpec) -> None:
        """Wait until this episode may start."""
        if not self.gated.get(spec.policy) or spec.index == 0:
            return
        if self.mode == "sequential":
            await self.done[spec.policy][spec.index - 1].wait()
        elif self.batch and self._batch_of(spec.index) > 0:
            await self._applied_event(spec.policy, self._batch_of(spec.index) - 1).wait()

    def hold(self, spec: EpisodeSpec, trajectory: Trajectory) -> None:
        """Keep a batching policy's finished trajectory for its batch's update (failures are dropped)."""
        if trajectory.success:
            self._buffers[spec.policy][self._batch_of(spec.index)].append((spec.index, trajectory))

    async def episode_done(self, spec: EpisodeSpec) -> None:
        """Mark an episode ended (recorded or not); apply its batch when that completes it."""
        self.done[spec.policy][spec.index].set()
        if self.batching(spec.policy):
            b = self._batch_of(spec.index)
            if self._batch_complete(spec.policy, b):
                await self._apply(spec.policy, b, spec.env_id)

    async def resume(self, plan: Sequence[EpisodeSpec], recorded: Mapping[EpisodeKey, EpisodeRecord]) -> None:
        """Take account of the episodes a previous session recorded, and apply the batches it left."""
        applied = self._applied_batches()
        for s in plan:
            if s.key not in recorded:
                continue
            self.done[s.policy][s.index].set()
            if not self.batching(s.policy):
                continue
            b = self._batch_of(s.index)
            if b in applied[s.policy]:
                self._applied_event(s.policy, b).set()
            elif (traj := recorded[s.key].trajectory) is not None and recorded[s.key].success:
                self._buffers[s.policy][b].append((s.index, traj))
        for label, events in self.done.items():
            if not self.batching(label):
                continue
            for b in range((len(events) + self.batch - 1) // self.batch):
                if not self._applied_event(label, b).is_set() and self._batch_complete(label, b):
                    await self._apply(label, b, plan[0].env_id)

    def _applied_batches(self) -> dict[str, set[int]]:
        out: dict[str, set[int]] = defaultdict(set)
        for ev in read_events(self.events_path):
            if ev.get("event") == "batch_applied" and ev.get("plan") == self.tags.get(ev.get("policy")):
                out[ev["policy"]].add(int(ev["batch"]))
        return out

    async def _apply(self, label: str, b: int, env_id: str) -> None:
        """Add a finished batch's successes to the pool, in task order, then let the next batch start."""
        ev = self._applied_event(label, b)
        if ev.is_set():
            return
        items = sorted(self._buffers[label].pop(b, []), key=lambda x: x[0])
        if items:
            await self._observe_batch(label, env_id, [t for _, t in items])
        event = {
            "event": "batch_applied",
            "policy": label,
            "batch": b,
            "added": len(items),
            "plan": self.tags[label],
        }
        append_event(self.events_path, event, self.fsync)
        ev.set()

"""Few-shot baselines on the SEER solver prompt, without stepwise recall.

- `fewshot`: fixed exemplars, the pool's seed experiences (the reference's static 8-shot prompt);
- `fewshot-random`: k exemplars drawn at random from the pool at the episode's first step (the
  reference's `random` selection strategy); by default it accumulates successes like SEER, so it
  is the "recall without the SEER score" ablation.

Both keep the intent classification and hint of SEER (the reference ran every configuration with
them), so the only difference to SEER is how exemplars are chosen.
"""

from __future__ import annotations

import asyncio
from typing import Any

from seer_env.agents.exemplars import ExemplarFile
from seer_env.agents.memory import seed_trajectories
from seer_env.agents.seer import SeerPolicy, render_exemplar


class FewShotPolicy(SeerPolicy):
    """Fixed exemplars: the seed trajectories of the env's pool namespace, the `exemplars` given, or
    those of `exemplars_file` (`agents.exemplars`: a text block in the solver's trace format, a JSON
    object of such blocks by difficulty or domain, or JSONL trajectories)."""

    name = "fewshot"

    def __init__(
        self,
        client=None,
        memory=None,
        *,
        exemplars: list[Any] | None = None,
        exemplars_file: str | None = None,
        **kwargs: Any,
    ):
        kwargs.setdefault("accumulate", False)
        kwargs.setdefault("shuffle_exemplars", False)
        if memory is None:  # no pool: only the namespace matters (it names the seeds)
            kwargs.setdefault("memory_for", lambda _ns: _NoMemory())
        self._fixed = exemplars
        self._file = ExemplarFile(exemplars_file) if exemplars_file else None
        self._fixed_text: dict[tuple, list[str]] = {}
        super().__init__(client, memory, strategy="goal", **kwargs)

    def _fixed_exemplars(self) -> list[str]:
        info = self.info0 or {}
        block = self._file.block_for(info) if self._file is not None else None
        key = (self.namespace, self.retrieval_tools, block)
        if key not in self._fixed_text:
            if block is not None:
                self._fixed_text[key] = [block]
            else:
                items = self._fixed
                if items is None and self._file is not None:
                    items = self._file.trajectories
                    if items is None:
                        raise ValueError(f"{self._file.path} has no exemplar block for this task")
                if items is None:
                    items = seed_trajectories(self.namespace or "")
                self._fixed_text[key] = [render_exemplar(e, self.retrieval_tools) for e in items]
        return self._fixed_text[key]

    async def _exemplars_for_step(self, first: bool) -> None:
        if first:
            self.exemplars = list(self._fixed_exemplars())
            self.exemplar_ids.append(["seed"] * len(self.exemplars))


class RandomFewShotPolicy(SeerPolicy):
    """k exemplars drawn uniformly from the pool, once per episode."""

    name = "fewshot-random"

    def __init__(self, client=None, memory=None, **kwargs: Any):
        super().__init__(client, memory, strategy="goal", **kwargs)

    def _all(self) -> list[Any]:
        mem = self.memory
        for attr in ("experiences", "all"):
            fn = getattr(mem, attr, None)
            if callable(fn):
                return list(fn())
        # fall back to a recall that ranks the whole namespace, then ignore the ranking
        return list(mem.recall(self.query or "", strategy="goal", k=max(1, len(mem))))

    async def _exemplars_for_step(self, first: bool) -> None:
        if not first:
            return
        items = await asyncio.to_thread(self._all)
        self.recalls += 1
        rng = self._rng()
        chosen = rng.sample(items, min(self.k, len(items)))
        self.exemplars = [render_exemplar(r, self.retrieval_tools) for r in chosen]
        self.exemplar_ids.append([str(getattr(getattr(r, "experience", r), "id", "?")) for r in chosen])


class _NoMemory:
    """Stands in for a pool where none is needed (fixed few-shot)."""

    async def arecall(self, *a: Any, **k: Any) -> list[Any]:
        return []

    def add(self, *a: Any, **k: Any) -> bool:
        return False

    async def aadd(self, *a: Any, **k: Any) -> bool:
        return False

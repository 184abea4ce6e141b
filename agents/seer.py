"""SEER (Stepwise Experience Recall) as a policy (spec/seer.md §1).

Per episode:

1. intent: one LLM call classifies the query into the env's `info["intent_labels"]` (the last
   `[LABEL]` of the reply); for ToolQA the label also selects a hint line naming the domain's tools;
2. at each step (process, hybrid) or at the first step only (goal), recall the top-k experiences
   from the `ExperienceMemory` (score = similarity + tool-chain coverage + intent match) and render
   them as exemplars (`seer_env.pool.render.render_experience`);
3. the solver call writes one `<CALL_BEGIN>Tool[args]<CALL_END>` (or a function call);
4. at most `max_steps` steps (6, Finish included, as the reference); the episode stops at the first
   failed step unless `continue_on_error`;
5. `observe` / `aobserve` add the trajectory to the pool when it succeeded (the pool filters too).

While the env runs the chosen tool, the next step's recall is already being computed (process and
hybrid: the recall depends on the actions so far, not on their results, so it is known as soon as the
action is); goal mode has nothing to recall later.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Sequence
from typing import Any

from seer_env.agents.prompts import (
    CALL_BEGIN,
    CALL_END,
    TOOLQA_HINTS,
    TOOLQA_INTENTS,
    classify_prompt,
    clean_solver_output,
    intent_hint,
    parse_intent,
    solver_prompt,
)
from seer_env.agents.react import LLMPolicy, make_client, truncate
from seer_env.llm import LLMClient
from seer_env.types import Step, ToolCall, Trajectory

log = logging.getLogger(__name__)

STRATEGIES = ("process", "goal", "hybrid")


def namespace_for(env_id: str | None) -> str:
    """The pool namespace (env family) of an env id."""
    e = (env_id or "").lower()
    if "taubench" in e or "tau-bench" in e:
        return "taubench-airline" if "airline" in e else "taubench-retail"
    return "toolqa"


def open_memory(pool: str | None = None, namespace: str = "toolqa", *, seed: bool = True, **kwargs: Any):
    """An `ExperienceMemory` for a pool URL or path; a fresh pool gets the namespace's seed trajectories."""
    from seer_env.pool import ExperienceMemory

    mem = ExperienceMemory(url=pool, namespace=namespace, **kwargs)
    if seed and len(mem) == 0:
        trajs = seed_trajectories(namespace)
        if trajs:
            mem.add_many(trajs, split="train", source="seed")
    return mem


def seed_trajectories(namespace: str) -> list[Trajectory]:
    try:
        from seer_env.pool.seeds import seed_trajectories as _seeds

        return list(_seeds(namespace))
    except (ImportError, KeyError, ValueError, FileNotFoundError) as exc:
        log.info("no seed trajectories for %s: %s", namespace, exc)
        return []


# rendered exemplars of stored experiences by content hash (which covers namespace, intent, query,
# steps and answer): every step of every episode renders its k recalled exemplars, mostly the same few
_RENDERED: dict[str, str] = {}
_RENDERED_MAX = 4096


def render_exemplar(item: Any) -> str:
    """Render a recalled experience (or a trajectory) as a solved trace."""
    from seer_env.pool.render import render_experience

    exp = getattr(item, "experience", item)
    key = getattr(exp, "content_hash", None)
    if key is None:  # not a stored experience: nothing identifies it
        return render_experience(exp, omit_retrieval=True)
    text = _RENDERED.get(key)
    if text is None:
        if len(_RENDERED) >= _RENDERED_MAX:
            _RENDERED.clear()
        text = _RENDERED[key] = render_experience(exp, omit_retrieval=True)
    return text


def render_step(i: int, step: Step) -> str:
    try:
        from seer_env.pool.render import render_step as _render
    except ImportError:  # the pool is optional for rendering a scratchpad
        thought = f"{step.thought} " if step.thought else ""
        return f"Step {i}: {thought}{CALL_BEGIN}{step.action.text()}{CALL_END}"
    return _render(i, step)


class SeerPolicy(LLMPolicy):
    """SEER: stepwise experience recall from an `ExperienceMemory`.

    memory: an `ExperienceMemory` (shared by every instance of one run), or None to open `pool`.
    strategy: "process" (recall every step), "goal" (first step only), "hybrid" (every step, the
    pool mixing both signals). classify: ask the LLM for the intent label (else no intent, no hint).
    hints: put the intent's tool hint in the scratchpad (ToolQA; a confound, spec/seer.md §5.7).
    """

    name = "seer"

    def __init__(
        self,
        client: LLMClient | None = None,
        memory: Any = None,
        *,
        strategy: str = "process",
        k: int = 4,
        max_steps: int | None = 6,
        continue_on_error: bool = False,
        classify: bool = True,
        hints: bool = True,
        accumulate: bool = True,
        action_format: str = "text",
        shuffle_exemplars: bool = True,
        prefetch: bool = True,
        max_observation_chars: int | None = 2048,
        pool: str | None = None,
        namespace: str = "toolqa",
        split: str = "train",
        run_id: str | None = None,
        seed: int = 0,
        intent_descriptions: dict[str, str] | None = None,
        hint_table: dict[str, str] | None = None,
        **client_kwargs: Any,
    ):
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}")
        super().__init__(
            make_client(client, **client_kwargs),
            max_steps=max_steps,
            continue_on_error=continue_on_error,
            action_format=action_format,
            max_observation_chars=max_observation_chars,
        )
        self.strategy = strategy
        self.k = k
        self.classify = classify
        self.hints = hints
        self.accumulates = accumulate
        self.shuffle_exemplars = shuffle_exemplars
        self.prefetch = prefetch
        self.namespace = namespace
        self.split = split
        self.run_id = run_id
        self.base_seed = seed
        self.intent_descriptions = TOOLQA_INTENTS if intent_descriptions is None else intent_descriptions
        self.hint_table = TOOLQA_HINTS if hint_table is None else hint_table
        self.memory = memory if memory is not None else self._open_memory(pool)
        self._prefetched: asyncio.Task | None = None

    def _open_memory(self, pool: str | None) -> Any:
        return open_memory(pool, self.namespace)

    # -- episode state ----------------------------------------------------------------------------
    def _reset_state(self, seed: int | None, info: dict[str, Any] | None) -> None:
        super()._reset_state(seed, info)
        self._cancel_prefetch()
        self.exemplars: list[str] = []
        self.exemplar_ids: list[list[str]] = []
        self.recalls = 0
        self.recall_seconds = 0.0
        self.hint = "Hint: None"

    def _cancel_prefetch(self) -> None:
        task = getattr(self, "_prefetched", None)
        if task is not None and not task.done():
            task.cancel()
        self._prefetched = None

    def episode_meta(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "strategy": self.strategy,
            "recalls": self.recalls,
            "recall_seconds": round(self.recall_seconds, 4),
            "exemplar_ids": self.exemplar_ids,
        }

    # -- intent -----------------------------------------------------------------------------------
    async def _classify(self, info: dict[str, Any]) -> str | None:
        labels = list(info.get("intent_labels") or [])
        if not self.classify or not labels:
            return None
        prompt = classify_prompt(self.query or "", labels, self.intent_descriptions)
        resp = await self.client.acomplete([{"role": "user", "content": prompt}])
        self._count(resp)
        return parse_intent(resp.content, labels)

    # -- recall -----------------------------------------------------------------------------------
    async def _recall(self, steps: Sequence[Step]) -> list[Any]:
        t0 = time.perf_counter()
        try:
            return list(
                await self.memory.arecall(
                    self.query or "", intent=self.intent, steps=tuple(steps), strategy=self.strategy, k=self.k
                )
            )
        finally:
            self.recalls += 1
            self.recall_seconds += time.perf_counter() - t0

    def _rng(self) -> random.Random:
        key = f"{self.base_seed}:{self.info0.get('task_id')}:{self.seed}:{len(self.steps)}"
        return random.Random(int(hashlib.sha256(key.encode()).hexdigest()[:16], 16))

    def _use_recalled(self, recalled: list[Any]) -> None:
        if self.shuffle_exemplars:  # the reference shuffles its top-k; seeded per task and step here
            recalled = list(recalled)
            self._rng().shuffle(recalled)
        self.exemplars = [render_exemplar(r) for r in recalled]
        self.exemplar_ids.append([str(getattr(getattr(r, "experience", r), "id", "?")) for r in recalled])

    async def _exemplars_for_step(self, first: bool) -> None:
        """Set `self.exemplars` for this step (the recall policy of the strategy)."""
        if not (first or self.strategy in ("process", "hybrid")):
            return
        task, self._prefetched = self._prefetched, None
        if task is not None:
            try:
                recalled = await task
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failed prefetch is retried inline
                log.warning("prefetched recall failed (%s); recalling again", exc)
                recalled = await self._recall(self.steps)
        else:
            recalled = await self._recall(self.steps)
        self._use_recalled(recalled)

    def _start_prefetch(self, call: ToolCall, thought: str | None) -> None:
        """Start the next step's recall now, on the trajectory with this action (process, hybrid)."""
        if not self.prefetch or self.strategy == "goal":
            return
        if call.name.lower() == "finish":
            return
        if self.max_steps is not None and len(self.steps) + 1 >= self.max_steps:
            return
        future_steps = [*self.steps, Step(call, "", ok=True, thought=thought)]
        self._prefetched = asyncio.ensure_future(self._recall(future_steps))

    # -- prompting --------------------------------------------------------------------------------
    def _scratchpad(self) -> str:
        lines = [self.hint] if self.hints else []
        for i, s in enumerate(self.steps, 1):
            lines.append(render_step(i, s) if s.action.name else f"Step {i}: {s.action.raw or ''}".rstrip())
            lines.append(f"Result {i}: {truncate(s.observation, self.max_observation_chars, s.action.name)}")
        lines.append(f"Step {len(self.steps) + 1}:")
        return "\n".join(lines)

    def build_prompt(self) -> str:
        return solver_prompt(
            tools=self.tools,
            exemplars=self.exemplars,
            question=self.query or "",
            scratchpad=self._scratchpad(),
            action_format=self.action_format,
        )

    async def act(self, observation: str, info: dict[str, Any]) -> ToolCall | str:
        try:
            first = self._begin_step(observation, info)
        except BaseException:
            self._cancel_prefetch()
            raise
        if first:
            self.intent = await self._classify(info)
            self.hint = intent_hint(self.intent, self.hint_table)
        await self._exemplars_for_step(first)
        prompt = self.build_prompt()
        tools = [t.openai() for t in self.tools] if self.action_format == "tools" else None
        resp = await self.client.acomplete([{"role": "user", "content": prompt}], tools=tools)
        self._count(resp)
        text = clean_solver_output(resp.content)
        action = self._action_from_response(resp, text)
        if isinstance(action, ToolCall):
            self._start_prefetch(action, self.last_thought)
        return action

    # -- accumulation -----------------------------------------------------------------------------
    def _admit(self, trajectory: Trajectory) -> bool:
        return self.accumulates and bool(trajectory.success)

    def observe(self, trajectory: Trajectory) -> None:
        self._cancel_prefetch()
        if self._admit(trajectory):
            self.memory.add(trajectory, split=self.split, source="online", run_id=self.run_id)

    async def aobserve(self, trajectory: Trajectory) -> None:
        self._cancel_prefetch()
        if self._admit(trajectory):
            await self.memory.aadd(trajectory, split=self.split, source="online", run_id=self.run_id)


__all__ = ["SeerPolicy", "namespace_for", "open_memory", "seed_trajectories"]

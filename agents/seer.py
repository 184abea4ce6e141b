"""SEER (Stepwise Experience Recall) as a policy.

Per episode:

1. intent: one LLM call classifies the query into the env's `intent_labels` (the last `[LABEL]` of
   the reply), described to the model by the env's `intent_descriptions`; the label also selects the
   env's hint line (`intent_hints`) for the scratchpad;
2. at each step (process, hybrid) or at the first step only (goal), recall the top-k experiences
   from the `ExperienceMemory` (score = similarity + tool-chain coverage + intent match) and render
   them as exemplars (`seer_env.pool.render.render_experience`, the env's retrieval tools' output
   omitted);
3. the solver call writes one `<CALL_BEGIN>Tool[args]<CALL_END>` (or a function call);
4. at most `max_steps` steps (6, Finish included, as the reference); by default (`halting=
   "reference"`) the episode stops at a failed step of a kind the env's reference runner halts on
   (reset info's `halting_error_kinds`: SEER's stops on an unreadable or unknown call and on a tool
   exception, not on FilterDB's "incorrect" or other ordinary messages); "any-error" stops at every
   failed step, "never" goes on;
5. `observe` / `aobserve` add the trajectory to the pool when it succeeded (the pool filters too).

What SEER knows of an env comes from its `EnvInfo` (`prepare`, and every reset info): the pool
namespace, the intent labels, descriptions, worked examples and hints, the retrieval tools.

Intent classification is few-shot: the prompt describes every label and shows the env's worked
examples (`intent_examples`). When it fails (no valid label in the reply, or the call fails for good),
the episode goes on with no intent: the hint is "Hint: None", no pool entry gets the intent bonus
(an unknown intent matches nothing, not even entries stored without one), and a success is stored
without an intent. The reference instead kept the previous question's class (it never reset it),
so a failed classification borrowed the last question's intent; that is not reproduced.

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
from collections.abc import Callable, Collection, Sequence
from typing import Any

from seer_env.agents.memory import (
    DEFAULT_NAMESPACE,
    open_memory,
    pool_size_of,
    pool_summary_of,
    seed_trajectories,
)
from seer_env.agents.prompts import (
    SOLVER_TEXT_STOP,
    classify_prompt,
    clean_solver_output,
    intent_hint,
    parse_intent,
    solver_prompt,
)
from seer_env.agents.react import LLMPolicy, make_client
from seer_env.llm import LLMClient
from seer_env.policy import EnvInfo, PoolSummary
from seer_env.pool.render import render_experience, render_step
from seer_env.pool.types import STRATEGIES
from seer_env.types import Step, ToolCall, Trajectory

log = logging.getLogger(__name__)


# rendered exemplars of stored experiences by content hash (which covers namespace, intent, query,
# steps and answer) and the omitted tools: every step of every episode renders its k recalled
# exemplars, mostly the same few
_RENDERED: dict[tuple[str, frozenset[str]], str] = {}
_RENDERED_MAX = 4096


def render_exemplar(item: Any, omit_results_of: Collection[str] = ()) -> str:
    """Render a recalled experience (or a trajectory) as a solved trace."""
    exp = getattr(item, "experience", item)
    omit = frozenset(omit_results_of)
    key = getattr(exp, "content_hash", None)
    if key is None:  # not a stored experience: nothing identifies it
        return render_experience(exp, omit)
    text = _RENDERED.get((key, omit))
    if text is None:
        if len(_RENDERED) >= _RENDERED_MAX:
            _RENDERED.clear()
        text = _RENDERED[(key, omit)] = render_experience(exp, omit)
    return text


class SeerPolicy(LLMPolicy):
    """SEER: stepwise experience recall from an `ExperienceMemory`.

    memory: an `ExperienceMemory` (shared by every instance of one run); its namespace is the one used.
    memory_for: instead of `memory`, namespace -> memory (`agents.memory.SharedPools`), asked once the
        env's namespace is known; `pool` (a URL or path) opens one the same way.
    namespace, intent_descriptions, hint_table, retrieval_tools: override what the env's `EnvInfo` says.
    strategy: "process" (recall every step), "goal" (first step only), "hybrid" (every step, the
    pool mixing both signals). classify: ask the LLM for the intent label (else no intent, no hint).
    hints: put the intent's hint line in the scratchpad (the reference does; it tells the model which
    tools to use, a help the exemplars alone do not give).
    halting: "reference" (default), "any-error" or "never" (module docstring); `continue_on_error` is
    the older flag (True: never, False: any-error).
    stop: stop sequences of a text-mode solver call (default `<CALL_END>`: the reference keeps the
    reply up to it). step_max_tokens, classify_max_tokens: caps on the solver's and the classifier's
    replies (None: the client's; the reference: 2048 and 128).
    intent_examples: worked examples for the classifier (default: the env's `intent_examples`).
    """

    name = "seer"
    default_halting = "reference"
    text_stop = SOLVER_TEXT_STOP

    def __init__(
        self,
        client: LLMClient | None = None,
        memory: Any = None,
        *,
        strategy: str = "process",
        k: int = 4,
        max_steps: int | None = 6,
        continue_on_error: bool | None = None,
        halting: str | None = None,
        stop: list[str] | None = None,
        step_max_tokens: int | None = None,
        classify_max_tokens: int | None = 128,
        intent_examples: list[dict[str, Any]] | None = None,
        classify: bool = True,
        hints: bool = True,
        accumulate: bool = True,
        action_format: str = "text",
        shuffle_exemplars: bool = True,
        prefetch: bool = True,
        max_observation_chars: int | None = 2048,
        pool: str | None = None,
        memory_for: Callable[[str], Any] | None = None,
        namespace: str | None = None,
        split: str = "train",
        run_id: str | None = None,
        seed: int = 0,
        intent_descriptions: dict[str, str] | None = None,
        hint_table: dict[str, str] | None = None,
        retrieval_tools: Collection[str] | None = None,
        **client_kwargs: Any,
    ):
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}")
        super().__init__(
            make_client(client, **client_kwargs),
            max_steps=max_steps,
            continue_on_error=continue_on_error,
            halting=halting,
            action_format=action_format,
            max_observation_chars=max_observation_chars,
            stop=stop,
            step_max_tokens=step_max_tokens,
        )
        self.classify_max_tokens = classify_max_tokens
        self.strategy = strategy
        self.k = k
        self.classify = classify
        self.hints = hints
        self.accumulates = accumulate
        self.shuffle_exemplars = shuffle_exemplars
        self.prefetch = prefetch
        self.split = split
        self.run_id = run_id
        self.base_seed = seed
        # given here, these win over the env's EnvInfo
        self._given: dict[str, Any] = {
            "pool_namespace": namespace,
            "intent_descriptions": intent_descriptions,
            "intent_hints": hint_table,
            "retrieval_tools": retrieval_tools,
            "intent_examples": intent_examples,
        }
        self.memory = memory
        self._memory_for = memory_for or (lambda ns: open_memory(pool, ns))
        self.namespace: str | None = namespace or getattr(memory, "namespace", None)
        self.intent_descriptions: dict[str, str] = dict(intent_descriptions or {})
        self.hint_table: dict[str, str] = dict(hint_table or {})
        self.retrieval_tools = frozenset(retrieval_tools or ())
        self.intent_examples: list[dict[str, Any]] = list(intent_examples or [])
        self._prefetched: asyncio.Task | None = None
        if namespace is not None and memory is None:
            self._bind({})

    # -- what the env says about itself ------------------------------------------------------------
    def _bind(self, env_info: EnvInfo | dict[str, Any]) -> None:
        """Take the env's family facts (the constructor's own values win) and open the pool if needed."""
        facts = {k: v if v is not None else env_info.get(k) for k, v in self._given.items()}
        if self.memory is None:
            self.namespace = facts["pool_namespace"] or self.namespace or DEFAULT_NAMESPACE
            self.memory = self._memory_for(self.namespace)
        if facts["intent_descriptions"] is not None:
            self.intent_descriptions = dict(facts["intent_descriptions"])
        if facts["intent_hints"] is not None:
            self.hint_table = dict(facts["intent_hints"])
        if facts["retrieval_tools"] is not None:
            self.retrieval_tools = frozenset(facts["retrieval_tools"])
        if facts["intent_examples"] is not None:
            self.intent_examples = list(facts["intent_examples"])

    def prepare(self, env_info: EnvInfo) -> None:
        self._bind(env_info)

    def reset(self, *, seed: int | None = None, info: dict[str, Any] | None = None) -> None:
        super().reset(seed=seed, info=info)
        self._bind(info or {})

    def pool_size(self) -> int | None:
        return pool_size_of(self.memory)

    def pool_summary(self) -> PoolSummary | None:
        return pool_summary_of(self.memory)

    # -- episode state ----------------------------------------------------------------------------
    def _reset_state(self, seed: int | None, info: dict[str, Any] | None) -> None:
        super()._reset_state(seed, info)
        self._cancel_prefetch()
        self.exemplars: list[str] = []
        self.exemplar_ids: list[list[str]] = []
        self.recalls = 0
        self.recall_seconds = 0.0
        self.hint = "Hint: None"
        self.classify_error: str | None = None

    def _cancel_prefetch(self) -> None:
        task = getattr(self, "_prefetched", None)
        if task is not None and not task.done():
            task.cancel()
        self._prefetched = None

    def episode_meta(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "classify_error": self.classify_error,
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
        prompt = classify_prompt(self.query or "", labels, self.intent_descriptions, self.intent_examples)
        try:
            resp = await self.client.acomplete(
                [{"role": "user", "content": prompt}], max_tokens=self.classify_max_tokens
            )
        except Exception as exc:  # no intent is a worse prompt, not a lost episode
            self.classify_error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("intent classification failed (%s); going on with no intent", type(exc).__name__)
            return None
        self._count(resp)
        intent = parse_intent(resp.content, labels)
        if intent is None:
            self.classify_error = "no label"
        return intent

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
        self.exemplars = [render_exemplar(r, self.retrieval_tools) for r in recalled]
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
            lines.append(f"Result {i}: {self._result_text(s)}")
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
            if self.memory is None:  # act without reset or prepare: learn the env from this info
                self._bind(info)
            self.intent = await self._classify(info)
            self.hint = intent_hint(self.intent, self.hint_table)
        await self._exemplars_for_step(first)
        prompt = self.build_prompt()
        tools = [t.openai() for t in self.tools] if self.action_format == "tools" else None
        resp = await self.client.acomplete(
            [{"role": "user", "content": prompt}], tools=tools, **self._step_call_options()
        )
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


__all__ = ["SeerPolicy", "open_memory", "render_exemplar", "seed_trajectories"]

"""One episode: the loop between an env and a policy, and the record it leaves.

`play_episode` runs reset, then act/step until the env terminates or truncates, the policy raises
`StopEpisode`, or the step cap is reached; env calls run in worker threads (`in_thread`), so a slow
tool never blocks the event loop. Any exception is caught and returned as the episode's error: one
failing episode never ends a run. `episode_record` turns the outcome into the `Trajectory` and the
`EpisodeRecord` the runner writes. The calls made on the policy are those of `seer_env.policy`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from seer_env.policy import Policy, StopEpisode
from seer_env.text import clean_json
from seer_env.types import Step, ToolCall, Trajectory

log = logging.getLogger(__name__)

InThread = Callable[..., Awaitable[Any]]


@dataclass
class EpisodeOutcome:
    """What happened in one episode, before it becomes a record."""

    steps: list[Step] = field(default_factory=list)
    reset_info: dict[str, Any] = field(default_factory=dict)
    final_info: dict[str, Any] = field(default_factory=dict)
    reward: float = 0.0
    terminated: bool = False
    truncated: bool = False
    halted: str | None = None  # why the episode stopped early (policy's stop, step cap)
    error: dict[str, Any] | None = None
    env_seconds: float = 0.0
    env_broken: bool = False  # the env raised or was interrupted mid-call: do not reuse it
    gold: dict[str, Any] | None = None  # the env's expected answer for the task (its optional `task_gold`)


class _EnvCalls:
    """The env's reset/step in a worker thread, timed; an env that raises is marked broken."""

    def __init__(self, env: Any, in_thread: InThread, outcome: EpisodeOutcome):
        self.env, self.in_thread, self.outcome = env, in_thread, outcome

    async def __call__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            result = await self.in_thread(fn, *args, **kwargs)
        except BaseException:
            self.outcome.env_broken = True
            raise
        self.outcome.env_seconds += time.perf_counter() - t0
        return result


async def play_episode(
    env: Any,
    policy: Policy,
    *,
    seed: int,
    options: dict[str, Any],
    max_steps: int,
    in_thread: InThread,
) -> EpisodeOutcome:
    """Play one episode of `env` with `policy` (see the module docstring)."""
    out = EpisodeOutcome()
    call_env = _EnvCalls(env, in_thread, out)
    try:
        obs, info0 = await call_env(env.reset, seed=seed, options=options)
        out.reset_info = dict(info0 or {})
        policy.reset(seed=seed, info=out.reset_info)
        await _steps(env, policy, obs, out, call_env, max_steps)
    except asyncio.CancelledError:
        out.env_broken = True  # mid-episode: do not reuse
        raise
    except Exception as exc:
        log.debug("episode failed", exc_info=True)
        out.error = error_of(exc)
    if not out.env_broken and "task_id" in options:
        out.gold = await _task_gold(env, options["task_id"], in_thread)
    return out


async def _task_gold(env: Any, task_id: str, in_thread: InThread) -> dict[str, Any] | None:
    """The env's gold for a task (its optional `task_gold`), for the record; None if it has none."""
    fn = getattr(getattr(env, "unwrapped", env), "task_gold", None)
    if fn is None:
        return None
    try:
        gold = await in_thread(fn, task_id)
    except Exception as exc:  # the record is what matters; the gold is for reading it
        log.debug("task_gold(%s) failed: %s", task_id, exc)
        return None
    return dict(gold) if isinstance(gold, dict) else None


def error_of(exc: BaseException) -> dict[str, Any]:
    """An exception as a record's `error`: type, message (cut at 2000 characters), kind (LLM errors)."""
    return {"type": type(exc).__name__, "message": str(exc)[:2000], "kind": getattr(exc, "kind", None)}


async def _steps(
    env: Any, policy: Policy, obs: str, out: EpisodeOutcome, call_env: _EnvCalls, cap: int
) -> None:
    info = dict(out.reset_info)
    for _ in range(cap):
        try:
            action = await policy.act(obs, info)
        except StopEpisode as stop:
            out.halted = str(stop) or "stopped by the policy"
            return
        thought = policy.last_thought
        obs, reward, terminated, truncated, step_info = await call_env(env.step, action)
        step_info = dict(step_info or {})
        out.reward += float(reward or 0.0)
        call = action if isinstance(action, ToolCall) else ToolCall("", {}, raw=str(action))
        out.steps.append(Step(call, str(obs), ok=bool(step_info.get("ok", True)), thought=thought))
        out.final_info = step_info
        out.terminated, out.truncated = bool(terminated), bool(truncated)
        if terminated or truncated:
            return
        info = {**out.reset_info, **step_info}
    out.halted = f"runner step cap of {cap} reached"


def episode_trajectory(env_id: str, task_id: str, out: EpisodeOutcome, policy: Policy | None) -> Trajectory:
    """The trajectory of an outcome; success needs termination, the env's verdict and no error."""
    meta: dict[str, Any] = {
        "domain": out.reset_info.get("domain"),
        "terminated": out.terminated,
        "truncated": out.truncated,
        "halted": out.halted,
    }
    if policy is not None:
        with contextlib.suppress(Exception):
            meta.update(policy.episode_meta())
    success = bool(out.final_info.get("success", out.reward >= 1.0)) if out.terminated else False
    answer = out.final_info.get("answer")
    traj = Trajectory(
        env_id=env_id,
        task_id=task_id,
        query=str(out.reset_info.get("query") or ""),
        intent=policy.intent if policy is not None else None,
        steps=out.steps,
        answer=None if answer is None else str(answer),
        reward=out.reward,
        success=success and out.error is None,
        meta={k: v for k, v in meta.items() if v is not None},
    )
    # the record and the pool take agent text only in a form files and databases accept
    as_dict = traj.to_dict()
    cleaned = clean_json(as_dict)
    return traj if cleaned is as_dict else Trajectory.from_dict(cleaned)


def episode_usage(scope_usage: dict[str, Any], policy: Policy | None) -> dict[str, Any]:
    """The episode's LLM usage: what the usage scope counted, else what the policy reports (a policy
    whose calls bypass `seer_env.llm`, e.g. in another thread)."""
    usage = dict(scope_usage)
    if policy is not None and not usage.get("calls"):
        with contextlib.suppress(Exception):
            own = policy.usage() or {}
            if own.get("calls"):
                usage.update(own)
    return usage

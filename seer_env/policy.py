"""The contract between environments, policies and the runner.

An episode, as the runner plays it (`seer_env.episode`)::

    policy.prepare(env_info_of(env))            # once per policy instance, before its first episode
    obs, info = env.reset(seed=..., options={"task_id": ...})       # info: ResetInfo
    policy.reset(seed=..., info=info)
    while True:
        action = await policy.act(obs, info)    # a ToolCall, or raw text the env answers with an error
        thought = policy.last_thought
        obs, reward, terminated, truncated, step_info = env.step(action)   # step_info: StepInfo
        ...                                     # until terminated or truncated, or act raises StopEpisode
    meta = policy.episode_meta(); intent = policy.intent; usage = policy.usage()
    await policy.aobserve(trajectory)           # SEER adds a success to its pool here
    size = policy.pool_size()                   # in a worker thread: it may query a database

The runner calls nothing else on a policy, and reads nothing else of an env than `task_ids`,
`env_info` and `task_gold` (both optional), `reset`, `step`. A policy that only implements `act` works: every other hook
has a default here. Envs hand generic policies what they need to know about their family (pool
namespace, intent labels with descriptions and hints, retrieval tools) through `EnvInfo`, which is
also part of every reset info; no generic part of seer-env knows any env by name.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import Coroutine, Sequence
from typing import Any, ClassVar, Protocol, TypedDict, TypeVar, runtime_checkable

from seer_env.types import ToolCall, Trajectory

T = TypeVar("T")


class EnvInfo(TypedDict, total=False):
    """What an env tells generic policies about its family; the same for every episode.

    pool_namespace: the experience-pool namespace its episodes are stored and recalled under.
    intent_labels: the labels a policy may sort a task into.
    intent_descriptions: label -> what tasks of that label are about (for an intent classifier).
    intent_hints: label -> a hint line naming the tools such tasks call for.
    intent_examples: worked examples for a few-shot intent classifier: `{"query", "thought", "label"}`.
    retrieval_tools: tools that return retrieved text; rendered exemplars omit their output (it is long
        and says nothing about the next step) and prompts never cut it.
    answer_tool: the tool whose call ends an episode with an answer (ToolQA's `Finish`); in chat form
        (`seer_env.chat`) the assistant's final text.
    reply_tool: the tool whose argument goes to the user and whose observation is the user's reply
        (τ-bench's `respond`); in chat form assistant text and a user message.
    instructions: what every agent of this env is told before its first step (τ-bench's policy
        document); the chat form's system message.
    """

    pool_namespace: str
    intent_labels: list[str]
    intent_descriptions: dict[str, str]
    intent_hints: dict[str, str]
    intent_examples: list[dict[str, str]]
    retrieval_tools: list[str]
    answer_tool: str
    reply_tool: str
    instructions: str


class ResetInfo(EnvInfo, total=False):
    """The info of `env.reset`: `EnvInfo` plus the episode's own facts.

    tools: the env's tools as OpenAI function schemas. task_id: the task being played. query: the
    question or the user's first message. domain: the task's domain, when the env has several.
    gold: only with `options={"reveal_gold": True}`: `answer` and `chain` (the gold tool calls as
    `ToolCall.to_dict()`s), for the oracle. halting_error_kinds: the step `error_kind`s on which the
    env's reference runner ends an episode (a policy's `reference` halting follows them). Envs may add
    keys of their own (τ-bench: `policy`, its wiki, `task_split`).
    """

    tools: list[dict[str, Any]]
    task_id: str
    query: str
    domain: str | None
    gold: dict[str, Any]
    halting_error_kinds: list[str]


class StepInfo(TypedDict, total=False):
    """The info of `env.step`.

    tool: the tool the action named (None when it could not be read). ok: the tool ran without error.
    error: what went wrong (`parse`, `unknown_tool`, `bad_arguments`, `tool_error`, ...) or None.
    answer, success: at the step that ends the episode, the final answer and whether it was right.
    verdicts: at that step, how the answer was scored, when the env says: `scorer` (the one `success`
    follows) and each verdict taken (ToolQA: `em` always, `judge` with its `judge_reason` and
    `judge_error` under an LLM judge); the runner keeps it in the episode's record.
    error_kind: what kind of failure the step was, as the env's reference would have seen it (ToolQA:
    `empty_action`, `parse_error`, `unknown_tool`, `tool_exception`, `tool_message`, ...); None when
    it worked. Reset info's `halting_error_kinds` lists the kinds on which the reference ends an
    episode.
    """

    tool: str | None
    ok: bool
    error: str | None
    error_kind: str | None
    answer: str | None
    success: bool
    verdicts: dict[str, Any]


class PoolSummary(TypedDict):
    """The experience pool a policy recalls from: its namespace, size and content hash."""

    namespace: str
    size: int
    hash: str


@runtime_checkable
class TaskEnv(Protocol):
    """What the runner needs of an env beyond Gymnasium's reset/step: the ids of its tasks, in order.

    An env may also define `env_info: EnvInfo` (read with `env_info_of`), and
    `task_gold(task_id) -> dict` (`{"answer": ...}` and keys of its own), which the runner writes in
    each episode's record once the episode is over, so transcripts show what was expected.
    """

    task_ids: Sequence[str]


def env_info_of(env: Any) -> EnvInfo:
    """The `EnvInfo` an env declares (`env.unwrapped.env_info`), or an empty one."""
    info = getattr(getattr(env, "unwrapped", env), "env_info", None)
    return dict(info) if isinstance(info, dict) else {}  # type: ignore[return-value]


class StopEpisode(Exception):  # noqa: N818 (a signal, not an error)
    """Raised by a policy's `act` to end its episode early (its step cap, a stop at a failed step)."""


class Policy(ABC):
    """Base class of every policy. Only `act` is required; the other hooks have defaults.

    Class attributes: `name`; `needs_gold` (the runner resets the env with `reveal_gold` for it).
    Attributes the runner reads after each step or episode: `last_thought` (the reasoning behind the
    last action, stored in the trajectory), `intent` (the episode's intent label, if the policy
    chose one), `accumulates` (it adds successes to a pool in `observe`).
    """

    name: ClassVar[str] = "policy"
    needs_gold: ClassVar[bool] = False
    accumulates: bool = False
    intent: str | None = None
    last_thought: str | None = None

    def prepare(self, env_info: EnvInfo) -> None:  # noqa: B027 (an optional hook)
        """Learn the env's family before the first episode (the same facts come in every reset info)."""

    def reset(self, *, seed: int | None = None, info: ResetInfo | None = None) -> None:  # noqa: B027
        """Start a new episode. `info` is the env's reset info."""

    @abstractmethod
    async def act(self, observation: str, info: dict[str, Any]) -> ToolCall | str:
        """The next action for the latest observation. `info` is the reset info updated with the last
        step's info. A `str` is raw model text that holds no readable call: the env answers it with
        what is wrong, like any bad action. Raise `StopEpisode` to end the episode."""

    def observe(self, trajectory: Trajectory) -> None:  # noqa: B027 (an optional hook)
        """Receive the finished episode (called once per episode)."""

    async def aobserve(self, trajectory: Trajectory) -> None:
        """Async form of `observe`; policies with slow bookkeeping override it."""
        self.observe(trajectory)

    def usage(self) -> dict[str, Any]:
        """Tokens and cost spent since the last `reset` (`Usage.to_dict()`; LLM policies fill it)."""
        return {}

    def episode_meta(self) -> dict[str, Any]:
        """Extra facts about the finished episode for its record (JSON-serialisable)."""
        return {}

    def pool_size(self) -> int | None:
        """Experiences in the pool this policy recalls from (None: it has none). May block."""
        return None

    def pool_summary(self) -> PoolSummary | None:
        """Namespace, size and content hash of its pool, for the run manifest (None: no pool). May block."""
        return None


class _LoopThread:
    """One background event loop per process, for driving async policies from sync code."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def run(cls, coro: Coroutine[Any, Any, T]) -> T:
        with cls._lock:
            if cls._loop is None or cls._loop.is_closed():
                cls._loop = asyncio.new_event_loop()
                threading.Thread(target=cls._loop.run_forever, daemon=True, name="seer-env-policy").start()
        return asyncio.run_coroutine_threadsafe(coro, cls._loop).result()


class SyncPolicy:
    """Use any `Policy` from a plain synchronous loop::

    policy = SyncPolicy(RandomPolicy())
    obs, info = env.reset(seed=0)
    policy.reset(seed=0, info=info)
    action = policy.act(obs, info)
    """

    def __init__(self, policy: Policy):
        self.policy = policy

    def reset(self, *, seed: int | None = None, info: ResetInfo | None = None) -> None:
        self.policy.reset(seed=seed, info=info)

    def act(self, observation: str, info: dict[str, Any]) -> ToolCall | str:
        return _LoopThread.run(self.policy.act(observation, info))

    def observe(self, trajectory: Trajectory) -> None:
        _LoopThread.run(self.policy.aobserve(trajectory))

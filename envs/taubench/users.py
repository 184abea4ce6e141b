"""Offline user simulators for τ-bench, and how τ-bench's `load_user` finds them.

- `scripted`: the user's messages come from a per-task list (keyed by the task's instruction, or by its
  task index when the env's tasks are known); each `respond` of the agent gets the next message, and an
  exhausted list answers ``###STOP###``. A task with no script opens with its instruction and stops at
  the first reply.
- `replay`: answers recorded from an earlier run with an LLM user (a τ-bench results file: a JSON list
  of `EnvRunResult` dumps), keyed by the conversation so far (the task instruction and every agent
  message to the user). A conversation that leaves the recording ends with ``###STOP###`` (counted in
  `misses`) or raises `ReplayMiss`, as configured.

τ-bench's `Env.__init__` builds its user with `load_user(...)`, which rejects unknown strategy names.
`user_override(factory)` swaps `tau_bench.envs.base.load_user` (and `tau_bench.envs.user.load_user`) for a
dispatcher that asks `factory(strategy, model, provider)` first and falls back to the original when the
factory returns None. The swap is reference-counted and restored when the last override exits;
overrides are per thread unless `all_threads=True` (τ-bench's `run()` builds envs in worker threads).
"""

from __future__ import annotations

import enum
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from seer_env.envs.taubench._compat import require_tau_bench

log = logging.getLogger(__name__)

STOP = "###STOP###"
OFFLINE_STRATEGIES = ("scripted", "replay")

UserFactory = Callable[[str, Any, Any], Any]


class ReplayMiss(KeyError):
    """The conversation left the recorded ones (raised only with `on_miss="error"`)."""


def _norm(text: Any) -> str:
    return " ".join(str(text).split())


class ScriptedUser:
    """A τ-bench user simulator that says a fixed list of messages per task."""

    def __init__(
        self, scripts: Mapping[str, Sequence[str]] | None = None, tasks: Sequence[Any] | None = None
    ):
        self._raw = {str(k): [str(m) for m in v] for k, v in (scripts or {}).items()}
        self.scripts: dict[str, list[str]] = {}
        self.bind_tasks(tasks)
        self._queue: list[str] = []
        self.messages: list[dict[str, str]] = []

    def bind_tasks(self, tasks: Sequence[Any] | None) -> None:
        """Resolve task-index keys ("3") to the tasks' instructions."""
        self.scripts = {}
        for key, msgs in self._raw.items():
            if tasks is not None and key.isdigit() and int(key) < len(tasks):
                key = tasks[int(key)].instruction
            self.scripts[_norm(key)] = msgs

    def reset(self, instruction: str | None = None) -> str:
        script = self.scripts.get(_norm(instruction or ""))
        if script is None:
            log.debug("no script for this task; the user opens with its instruction")
            script = [instruction or "Hi."]
        self._queue = list(script)
        self.messages = []
        return self._next()

    def step(self, content: str) -> str:
        self.messages.append({"role": "agent", "content": content})
        return self._next()

    def _next(self) -> str:
        msg = self._queue.pop(0) if self._queue else STOP
        self.messages.append({"role": "user", "content": msg})
        return msg

    def get_total_cost(self) -> float:
        return 0.0


def replay_key(instruction: str | None, agent_turns: Sequence[str]) -> str:
    return json.dumps([_norm(instruction or "")] + [_norm(t) for t in agent_turns], ensure_ascii=False)


class ReplayUser:
    """A τ-bench user simulator that answers from recorded conversations."""

    def __init__(self, records: Mapping[str, str], on_miss: str = "stop"):
        if on_miss not in ("stop", "error"):
            raise ValueError("on_miss must be 'stop' or 'error'")
        self.records = dict(records)
        self.on_miss = on_miss
        self.misses = 0
        self._instruction: str | None = None
        self._turns: list[str] = []

    def reset(self, instruction: str | None = None) -> str:
        self._instruction = instruction
        self._turns = []
        return self._answer()

    def step(self, content: str) -> str:
        self._turns.append(content)
        return self._answer()

    def _answer(self) -> str:
        key = replay_key(self._instruction, self._turns)
        if key in self.records:
            return self.records[key]
        self.misses += 1
        if self.on_miss == "error":
            raise ReplayMiss(f"no recorded user answer after {len(self._turns)} agent message(s)")
        log.warning("replay user: conversation not in the recording; ending it with %s", STOP)
        return STOP

    def get_total_cost(self) -> float:
        return 0.0


def records_from_results(results: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Recorded user answers from τ-bench `EnvRunResult` dumps (the first answer wins on conflicts)."""
    records: dict[str, str] = {}
    conflicts = 0
    for rec in results:
        task = (rec.get("info") or {}).get("task") or {}
        instruction = task.get("instruction")
        if instruction is None:
            continue
        turns: list[str] = []
        pending: str | None = None
        opened = False
        for msg in rec.get("traj") or []:
            role = msg.get("role")
            if role == "assistant":
                # a message without tool calls is a `respond`: its content went to the user
                pending = None if msg.get("tool_calls") else msg.get("content")
            elif role == "user":
                if not opened:
                    key = replay_key(instruction, [])
                    opened = True
                elif pending is not None:
                    turns.append(pending)
                    key = replay_key(instruction, turns)
                    pending = None
                else:
                    continue
                answer = str(msg.get("content") or "")
                if key in records and records[key] != answer:
                    conflicts += 1
                    continue
                records.setdefault(key, answer)
    if conflicts:
        log.info("replay: %d conflicting recorded answers (kept the first)", conflicts)
    return records


def load_scripts(data: Any) -> dict[str, list[str]]:
    """Scripts from a mapping or a JSON file `{task index or instruction: [message, ...]}`."""
    if data is None:
        return {}
    if isinstance(data, (str, Path)):
        data = json.loads(Path(data).read_text(encoding="utf-8"))
    if not isinstance(data, Mapping):
        raise ValueError("user scripts must map a task index or instruction to a list of messages")
    return {str(k): list(v) for k, v in data.items()}


def load_replay(data: Any) -> dict[str, str]:
    """Recorded answers from results file path(s), a list of result dumps, or a ready key->answer map."""
    if data is None:
        raise ValueError("the replay user needs user_data: a τ-bench results file (or a list of them)")
    if isinstance(data, Mapping):
        return {str(k): str(v) for k, v in data.items()}
    if isinstance(data, (str, Path)):
        data = [data]
    results: list[Any] = []
    for item in data:
        if isinstance(item, (str, Path)):
            loaded = json.loads(Path(item).read_text(encoding="utf-8"))
            results.extend(loaded if isinstance(loaded, list) else [loaded])
        elif hasattr(item, "model_dump"):
            results.append(item.model_dump())
        else:
            results.append(item)
    return records_from_results(results)


def make_user(strategy: str, data: Any = None, tasks: Sequence[Any] | None = None, on_miss: str = "stop"):
    """Build an offline user simulator by strategy name."""
    if strategy == "scripted":
        return ScriptedUser(load_scripts(data), tasks=tasks)
    if strategy == "replay":
        return ReplayUser(load_replay(data), on_miss=on_miss)
    raise ValueError(f"unknown offline user strategy {strategy!r}; expected one of {OFFLINE_STRATEGIES}")


def strategy_name(strategy: Any) -> str:
    return str(strategy.value if isinstance(strategy, enum.Enum) else strategy)


# --- the load_user dispatcher ---------------------------------------------------------------------

_lock = threading.RLock()
_depth = 0
_saved: list[tuple[Any, str, Any]] = []
_local = threading.local()
_global_factories: list[UserFactory] = []


def _dispatch_factory(original: Callable[..., Any]) -> Callable[..., Any]:
    def load_user(user_strategy: Any, model: Any = "gpt-4o", provider: Any = None):
        name = strategy_name(user_strategy)
        for factory in reversed(list(getattr(_local, "factories", []))):
            user = factory(name, model, provider)
            if user is not None:
                return user
        with _lock:
            shared = list(_global_factories)
        for factory in reversed(shared):
            user = factory(name, model, provider)
            if user is not None:
                return user
        return original(user_strategy=user_strategy, model=model, provider=provider)

    load_user.__seer_dispatch__ = True  # type: ignore[attr-defined]
    return load_user


def _install() -> None:
    global _depth
    with _lock:
        if _depth == 0:
            user_mod = require_tau_bench("tau_bench.envs.user")
            base_mod = require_tau_bench("tau_bench.envs.base")
            dispatcher = _dispatch_factory(user_mod.load_user)
            for mod in (user_mod, base_mod):
                _saved.append((mod, "load_user", mod.load_user))
                mod.load_user = dispatcher
        _depth += 1


def _uninstall() -> None:
    global _depth
    with _lock:
        _depth -= 1
        if _depth == 0:
            while _saved:
                mod, attr, original = _saved.pop()
                setattr(mod, attr, original)


@contextmanager
def user_override(factory: UserFactory | None, *, all_threads: bool = False) -> Iterator[None]:
    """Let `factory(strategy, model, provider)` build τ-bench's users while the block runs.

    The factory returns a user simulator, or None to leave the strategy to τ-bench. With
    `all_threads=False` only the calling thread sees it.
    """
    if factory is None:
        yield
        return
    _install()
    if all_threads:
        with _lock:
            _global_factories.append(factory)
    else:
        if not hasattr(_local, "factories"):
            _local.factories = []
        _local.factories.append(factory)
    try:
        yield
    finally:
        if all_threads:
            with _lock:
                _global_factories.remove(factory)
        else:
            _local.factories.remove(factory)
        _uninstall()


def offline_factory(
    data: Any = None, tasks: Sequence[Any] | None = None, *, force: str | None = None, on_miss: str = "stop"
) -> UserFactory:
    """A factory answering the offline strategies; with `force`, it answers every strategy with that one.

    The scripts or recordings are read once and shared; each call builds a fresh user.
    """
    loaded: dict[str, Any] = {}
    lock = threading.Lock()

    def factory(name: str, model: Any, provider: Any):
        name = force or name
        if name not in OFFLINE_STRATEGIES:
            return None
        with lock:
            if name not in loaded:
                loaded[name] = load_scripts(data) if name == "scripted" else load_replay(data)
        if name == "scripted":
            return ScriptedUser(loaded[name], tasks=tasks)
        return ReplayUser(loaded[name], on_miss=on_miss)

    return factory

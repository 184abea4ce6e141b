"""Offline user simulators for τ-bench, and how τ-bench's `load_user` finds them.

- `scripted`: the user's messages come from a per-task list, keyed by the task's index (or by its
  instruction); each `respond` of the agent gets the next message, and an exhausted list answers
  ``###STOP###``. A task with no script opens with its instruction and stops at the first reply.
- `replay`: answers recorded from an earlier run with an LLM user (a τ-bench results file: a JSON list
  of `EnvRunResult` dumps), keyed by the task's index and the conversation so far (every agent
  message to the user). A conversation that leaves the recording ends with ``###STOP###`` (counted in
  `misses`) or raises `ReplayMiss`, as configured.

Both are keyed by task index, not by instruction, because tasks may share one instruction (τ-bench's
retail test tasks 93 and 95 do). τ-bench hands a user only the instruction, so the env that owns the
user tells it which task it plays: `bind_user(tau_env)` lets the user read `tau_env.task_index`, which
τ-bench's `Env.reset` sets before it resets the user. Without a binding they fall back to the
instruction (the first of the tasks that share it).

`set_user_endpoint(model, provider, api_base)` sends τ-bench's LLM users of that model to another
endpoint (a local server): τ-bench's user simulators call `litellm.completion` without an `api_base`,
so its `tau_bench.envs.user.completion` is wrapped once to add the endpoint registered for the
(model, provider) it is called with; calls of other models pass through unchanged.

τ-bench's `Env.__init__` builds its user with `load_user(...)`, which rejects unknown strategy names.
`user_override(factory)` swaps `tau_bench.envs.base.load_user` (and `tau_bench.envs.user.load_user`) for a
dispatcher that asks `factory(strategy, model, provider)` first and falls back to the original when the
factory returns None. The swap is reference-counted and restored when the last override exits;
overrides are per thread unless `all_threads=True` (τ-bench's `run()` builds envs in worker threads).
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import threading
import weakref
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


class _BoundUser:
    """The task index of the env a user is bound to (`bind_user`), if any."""

    _env: Any = None

    def bind_env(self, tau_env: Any) -> None:
        self._env = weakref.ref(tau_env)

    def task_index(self) -> int | None:
        env = self._env() if self._env is not None else None
        index = getattr(env, "task_index", None)
        return int(index) if isinstance(index, int) else None


def bind_user(tau_env: Any) -> None:
    """Tell the offline user of a τ-bench env which env it serves, so it keys by task index."""
    user = getattr(tau_env, "user", None)
    if isinstance(user, _BoundUser):
        user.bind_env(tau_env)


class ScriptedUser(_BoundUser):
    """A τ-bench user simulator that says a fixed list of messages per task.

    scripts: task index (as text) or instruction -> messages. tasks: the env's tasks, so that an
    unbound user can still find an index-keyed script by its task's instruction.
    """

    def __init__(
        self, scripts: Mapping[str, Sequence[str]] | None = None, tasks: Sequence[Any] | None = None
    ):
        self._raw = {str(k): [str(m) for m in v] for k, v in (scripts or {}).items()}
        self.by_index: dict[str, list[str]] = {}
        self.scripts: dict[str, list[str]] = {}  # by normalised instruction
        self.bind_tasks(tasks)
        self._queue: list[str] = []
        self.messages: list[dict[str, str]] = []

    def bind_tasks(self, tasks: Sequence[Any] | None) -> None:
        """Sort the scripts into index keys and instruction keys (an index key's task's instruction
        too, for an unbound user; the first script wins when tasks share an instruction)."""
        self.by_index, self.scripts = {}, {}
        for key, msgs in self._raw.items():
            if key.isdigit():
                self.by_index[str(int(key))] = msgs
                if tasks is not None and int(key) < len(tasks):
                    self.scripts.setdefault(_norm(tasks[int(key)].instruction), msgs)
            else:
                self.scripts[_norm(key)] = msgs

    def reset(self, instruction: str | None = None) -> str:
        index = self.task_index()
        script = self.by_index.get(str(index)) if index is not None else None
        if script is None:
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
    """The key of a recorded answer by instruction (the fallback of an unbound user)."""
    return json.dumps([_norm(instruction or "")] + [_norm(t) for t in agent_turns], ensure_ascii=False)


def task_replay_key(task_index: int, agent_turns: Sequence[str]) -> str:
    """The key of a recorded answer by task index and the agent's messages so far."""
    return json.dumps([{"task": int(task_index)}] + [_norm(t) for t in agent_turns], ensure_ascii=False)


class ReplayUser(_BoundUser):
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
        index = self.task_index()
        if index is not None:
            key = task_replay_key(index, self._turns)
            if key in self.records:
                return self.records[key]
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
    """Recorded user answers from τ-bench `EnvRunResult` dumps, keyed by task index and by instruction
    (the first answer wins on conflicts: trials of one task, or tasks sharing an instruction)."""
    records: dict[str, str] = {}
    conflicts = 0
    for rec in results:
        task = (rec.get("info") or {}).get("task") or {}
        instruction = task.get("instruction")
        task_id = rec.get("task_id")
        if instruction is None and not isinstance(task_id, int):
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
                    opened = True
                elif pending is not None:
                    turns.append(pending)
                    pending = None
                else:
                    continue
                answer = str(msg.get("content") or "")
                keys = [task_replay_key(task_id, turns)] if isinstance(task_id, int) else []
                if instruction is not None:
                    keys.append(replay_key(instruction, turns))
                for key in keys:
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


# --- τ-bench's LLM users on another endpoint --------------------------------------------------------

_endpoints: dict[tuple[str, str | None], dict[str, Any]] = {}
_endpoint_lock = threading.Lock()


def _user_model_string(model: str, provider: str | None) -> str:
    return model if not provider or model.startswith(f"{provider}/") else f"{provider}/{model}"


def set_user_endpoint(
    model: str, provider: str | None, api_base: str | None, api_key: str | None = None
) -> None:
    """Send τ-bench's LLM user calls for (model, provider) to `api_base` (see the module docstring).

    With no key given and none set for the provider, a placeholder is sent (a local server wants none;
    the OpenAI client refuses to send without one). `api_base=None` removes the endpoint.
    """
    user_mod = require_tau_bench("tau_bench.envs.user")
    key = (str(model), provider)
    with _endpoint_lock:
        if api_base is None:
            _endpoints.pop(key, None)
            return
        if api_key is None:
            import litellm

            with contextlib.suppress(Exception):
                found = litellm.validate_environment(model=_user_model_string(model, provider))
                if found.get("missing_keys"):
                    api_key = "no-key"
        _endpoints[key] = {"api_base": api_base, **({"api_key": api_key} if api_key else {})}
        if not getattr(user_mod.completion, "__seer_endpoints__", False):
            user_mod.completion = _with_endpoints(user_mod.completion)


def _with_endpoints(original: Callable[..., Any]) -> Callable[..., Any]:
    def completion(*args: Any, **kwargs: Any) -> Any:
        with _endpoint_lock:
            endpoint = _endpoints.get((str(kwargs.get("model")), kwargs.get("custom_llm_provider")))
        if endpoint:
            kwargs = {**endpoint, **kwargs}
        return original(*args, **kwargs)

    completion.__seer_endpoints__ = True  # type: ignore[attr-defined]
    return completion

"""The one way seer-env talks to LLMs: an async client over litellm.

- async calls (`litellm.acompletion`), a sync wrapper for plain loops;
- a per-call timeout, retries with exponential backoff and jitter on 429, 5xx and connection
  errors; a timed-out call is retried at most `timeout_retries` times, each time with the timeout
  multiplied by `timeout_growth` (a model that did not answer in 60 s rarely answers the same request
  in 60 s on the next try); errors that no retry can fix (auth, bad request, context length, model not
  found) are never retried. litellm reports some of these as server errors (a missing key is its
  `InternalServerError` with status 500), so `classify_error` reads the message too;
- `complete`, the sync form, runs on one event loop shared by every thread of the process (a fresh
  loop per call makes litellm move its logging queue to every new loop, logging warnings and keeping
  an item per call; `_SyncLoop`);
- token and cost accounting per client, and per episode through `usage_scope()` (a context
  variable, so concurrent episodes each see only their own calls);
- an optional on-disk cache keyed by a hash of the request (model, messages, tools, parameters),
  written atomically;
- function-calling (`tools=[...]`) and plain-text modes;
- error counts per kind (`rate_limit`, `server_error`, `timeout`, `connection`, `bad_request`,
  `empty`, `malformed_tool_call`, ...).

litellm is imported on first use only: it takes seconds to import.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import hashlib
import json
import logging
import os
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seer_env.text import clean_json
from seer_env.types import ToolCall

log = logging.getLogger(__name__)

# litellm fetches a price map from the network at import unless told not to; seer-env never reaches
# a network it was not asked to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# models whose price this process has told litellm (see LLMClient._ensure_priced)
_PRICED: dict[str, tuple[float, float] | None] = {}
_PRICED_LOCK = threading.Lock()

# "auto": self-hosted OpenAI-compatible endpoints through `seer_env.lean_transport` (same model strings,
# exceptions and usage as litellm, a fraction of its CPU per call), everything else through litellm;
# "litellm": every call through litellm.acompletion
TRANSPORTS = ("auto", "litellm")

RETRYABLE_KINDS = frozenset({"rate_limit", "server_error", "timeout", "connection", "empty"})
# kinds no retry can fix: the request, the key or the model is wrong
FATAL_KINDS = frozenset({"auth", "bad_request", "context_window", "not_found"})

# what providers and servers (OpenAI, vLLM, llama.cpp, litellm itself) say for these, whatever status
# or exception type they come with
_AUTH_WORDS = (
    "missing credentials",
    "api key",
    "api_key",
    "apikey",
    "invalid_api_key",
    "unauthorized",
    "authentication",
    "permission denied",
)
_CONTEXT_WORDS = (
    "context length",
    "context_length_exceeded",
    "maximum context",
    "context window",
    "context size",
    "exceed_context_size",
    "prompt is too long",
    "input is too long",
)
_NOT_FOUND_WORDS = ("model_not_found", "does not exist", "no such model", "model not found", "unknown model")
# litellm reports a refused or dropped connection as its InternalServerError (status 500)
_CONNECTION_WORDS = (
    "connection error",
    "connection refused",
    "connecterror",
    "cannot connect",
    "connection reset",
)


class LLMError(RuntimeError):
    """A call failed for good (retries exhausted, or an error that retrying cannot fix)."""

    def __init__(self, message: str, kind: str = "unknown", attempts: int = 1):
        super().__init__(message)
        self.kind = kind
        self.attempts = attempts


@dataclass
class Usage:
    """Tokens, cost, calls and errors; added up per client and per `usage_scope`."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    llm_seconds: float = 0.0
    errors_by_kind: Counter = field(default_factory=Counter)

    def add_call(self, prompt: int, completion: int, cost: float, seconds: float, cached: bool) -> None:
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        self.cost += cost
        self.calls += 1
        self.cache_hits += int(cached)
        self.llm_seconds += seconds

    def add_error(self, kind: str) -> None:
        self.errors_by_kind[kind] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "cost": round(self.cost, 8),
            "calls": self.calls,
            "cache_hits": self.cache_hits,
            "retries": self.retries,
            "llm_seconds": round(self.llm_seconds, 4),
            "errors_by_kind": dict(self.errors_by_kind),
        }


_SCOPE: contextvars.ContextVar[Usage | None] = contextvars.ContextVar("seer_env_llm_usage", default=None)


@contextlib.contextmanager
def usage_scope() -> Iterator[Usage]:
    """Count every LLM call made in this context (this task and tasks it starts) into a fresh `Usage`.

    The runner opens one per episode; asyncio tasks copy the context, so concurrent episodes never
    mix their counts.
    """
    usage = Usage()
    token = _SCOPE.set(usage)
    try:
        yield usage
    finally:
        _SCOPE.reset(token)


def preload() -> None:
    """Import litellm now (it takes seconds), so the first call does not stall an event loop."""
    import aiohttp  # noqa: F401  (the lean transport's HTTP client)
    import litellm

    litellm.suppress_debug_info = True


def current_scope() -> Usage | None:
    return _SCOPE.get()


@dataclass
class LLMResponse:
    """What a call returned: text content, parsed tool calls, usage numbers and the raw response."""

    content: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    raw: Any = None
    cached: bool = False
    # tool calls the model wrote but that could not be read (bad JSON arguments, no name)
    malformed_tool_calls: list[dict[str, Any]] = field(default_factory=list)

    def to_cache(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "tool_calls": [c.to_dict() for c in self.tool_calls],
            "usage": self.usage,
            "malformed_tool_calls": self.malformed_tool_calls,
        }

    @classmethod
    def from_cache(cls, d: dict[str, Any]) -> LLMResponse:
        return cls(
            content=d.get("content") or "",
            tool_calls=[ToolCall.from_dict(c) for c in d.get("tool_calls", [])],
            usage=dict(d.get("usage") or {}),
            malformed_tool_calls=list(d.get("malformed_tool_calls") or []),
            cached=True,
        )


def classify_error(exc: BaseException) -> str:
    """The kind of a failed call, as counted in `errors_by_kind`: by exception type, status and message.

    Kinds: timeout, rate_limit, auth, context_window, not_found, connection, bad_request, server_error,
    unknown. The message decides between a server error and an error no retry can fix, since litellm
    and the servers under it label those inconsistently.
    """
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timeout"
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    text = str(exc).lower()
    if name in ("Timeout", "APITimeoutError") or "Timeout" in name or status == 408:
        return "timeout"
    if name == "RateLimitError" or status == 429:
        return "rate_limit"
    if name in ("AuthenticationError", "PermissionDeniedError") or status in (401, 403):
        return "auth"
    if name == "ContextWindowExceededError" or any(w in text for w in _CONTEXT_WORDS):
        return "context_window"
    if any(w in text for w in _AUTH_WORDS):
        return "auth"
    if name == "NotFoundError" or status == 404 or any(w in text for w in _NOT_FOUND_WORDS):
        return "not_found"
    if name in ("APIConnectionError", "ConnectError", "ClientConnectionError", "ServerDisconnectedError"):
        return "connection"
    if any(w in text for w in _CONNECTION_WORDS):
        return "connection"
    if status is not None and status >= 500:
        return "server_error"
    if name in ("InternalServerError", "ServiceUnavailableError", "BadGatewayError", "APIError"):
        # litellm raises a bare APIError for 5xx and for unreadable response bodies
        return "server_error"
    if status is not None and 400 <= status < 500 or "BadRequest" in name or "UnprocessableEntity" in name:
        return "bad_request"
    return "unknown"


class _SyncLoop:
    """The one event loop, in a daemon thread, that runs every synchronous call of this process.

    litellm keeps one process-wide logging worker bound to the loop it last ran on: a fresh loop per
    call (`asyncio.run`) makes it move its queue every call (two warnings and one kept item per call),
    and loops in several threads at once break it (its tasks destroyed while pending). One loop for
    all sync callers keeps it on that loop; callers in many threads share it, as async code would.
    """

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    @classmethod
    def loop(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None or cls._loop.is_closed() or not (cls._thread and cls._thread.is_alive()):
                if cls._loop is None:
                    atexit.register(cls.shutdown)
                cls._loop = asyncio.new_event_loop()
                cls._thread = threading.Thread(
                    target=cls._loop.run_forever, daemon=True, name="seer-env-llm-sync"
                )
                cls._thread.start()
            return cls._loop

    @classmethod
    def shutdown(cls) -> None:
        """Stop the loop and cancel what still runs on it (litellm's logging worker), at exit."""
        with cls._lock:
            loop, thread, cls._loop, cls._thread = cls._loop, cls._thread, None, None
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(5)
        if thread is not None and thread.is_alive():
            return  # a call still runs in it: leave the loop to the interpreter's exit
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        with contextlib.suppress(Exception):
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()


def run_sync(coro: Any) -> Any:
    """Run a coroutine on the process's sync-call loop and wait for it (from any thread that is not
    running an event loop; inside one, await the coroutine instead)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        coro.close()
        raise RuntimeError("a synchronous LLM call inside a running event loop: await acomplete() instead")
    return asyncio.run_coroutine_threadsafe(coro, _SyncLoop.loop()).result()


def request_key(payload: dict[str, Any]) -> str:
    """A stable hash of everything that shapes the answer."""
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class DiskCache:
    """Responses on disk, one JSON file per request hash; writes are atomic (temp file + rename)."""

    def __init__(self, directory: str | os.PathLike[str]):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError):
            log.warning("unreadable cache entry %s; ignoring it", path)
            return None

    def put(self, key: str, value: dict[str, Any]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(value, f)  # ASCII: a lone surrogate from a server is written escaped
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _parse_tool_calls(raw_calls: Any) -> tuple[list[ToolCall], list[dict[str, Any]]]:
    calls: list[ToolCall] = []
    bad: list[dict[str, Any]] = []
    for tc in raw_calls or []:
        fn = _get(tc, "function")
        name = _get(fn, "name") if fn is not None else None
        args = _get(fn, "arguments") if fn is not None else None
        raw = json.dumps({"name": name, "arguments": args}, default=str)
        if not isinstance(name, str) or not name.strip():
            bad.append({"name": name, "arguments": args, "reason": "no name"})
            continue
        if isinstance(args, dict):
            calls.append(ToolCall(name.strip(), dict(args), raw=raw))
            continue
        try:
            parsed = json.loads(args) if args not in (None, "") else {}
        except (TypeError, json.JSONDecodeError):
            bad.append({"name": name, "arguments": args, "reason": "arguments are not JSON"})
            continue
        if not isinstance(parsed, dict):
            bad.append({"name": name, "arguments": args, "reason": "arguments are not an object"})
            continue
        calls.append(ToolCall(name.strip(), parsed, raw=raw))
    return calls, bad


class LLMClient:
    """An async litellm client with retries, timeouts, accounting and an optional disk cache.

    `model` is a litellm model string (`openai/gpt-4o-mini`, `hosted_vllm/Qwen/Qwen2.5-7B-Instruct`
    with `api_base`, ...). `extra` goes to litellm as is (e.g. `{"top_p": 1}`). `backoff_base`
    seconds is the first retry's mean delay, doubled per attempt up to `backoff_max`, with jitter.
    `price` is (input, output) USD per million tokens, for models litellm has no price for (a
    self-hosted model, say) or to override its price; a model with no known price costs 0.
    `timeout_retries`: how often a timed-out call is tried again (0: never), each time with the
    timeout multiplied by `timeout_growth`; they count within `max_retries`. With `api_base` and no
    key anywhere, a placeholder key is sent (local OpenAI-compatible servers want none, but the
    OpenAI client refuses to send a request without one).
    `transport`: "auto" (the default, or $SEER_ENV_LLM_TRANSPORT) sends calls to a self-hosted
    OpenAI-compatible endpoint through `seer_env.lean_transport` (litellm's model strings, exceptions
    and usage, a tenth of its CPU per call) and every other call through litellm; "litellm" sends
    every call through `litellm.acompletion`.
    """

    def __init__(
        self,
        model: str,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 4,
        temperature: float = 0.0,
        max_tokens: int = 1024,
        cache_dir: str | os.PathLike[str] | None = None,
        extra: dict[str, Any] | None = None,
        backoff_base: float = 1.0,
        backoff_max: float = 30.0,
        retry_empty: bool = True,
        max_concurrency: int | None = None,
        price: tuple[float, float] | None = None,
        timeout_retries: int = 1,
        timeout_growth: float = 2.0,
        transport: str | None = None,
    ):
        transport = transport or os.environ.get("SEER_ENV_LLM_TRANSPORT") or "auto"
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {TRANSPORTS}, got {transport!r}")
        if price is not None:
            price = (float(price[0]), float(price[1]))
            if min(price) < 0:
                raise ValueError(f"price must be two non-negative USD per million tokens, got {price}")
        self.model = model
        self.api_base = api_base
        self.api_key = api_key
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.timeout_retries = max(0, int(timeout_retries))
        self.timeout_growth = max(1.0, float(timeout_growth))
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.extra = dict(extra or {})
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.retry_empty = retry_empty
        self.cache = DiskCache(cache_dir) if cache_dir else None
        self.max_concurrency = max_concurrency
        self._sem: asyncio.Semaphore | None = None
        self._sem_loop: asyncio.AbstractEventLoop | None = None
        self._total = Usage()
        self._lock = threading.Lock()
        self._rng = random.Random()
        self.price = price
        self._priced = False
        self._key_checked = False
        self.transport = transport
        self._lean: Any = None  # a LeanTransport once known to apply
        self._lean_checked = transport == "litellm"

    # -- accounting ---------------------------------------------------------------------------
    @property
    def usage(self) -> dict[str, Any]:
        with self._lock:
            return self._total.to_dict()

    def _count_error(self, kind: str) -> None:
        scope = _SCOPE.get()
        with self._lock:
            self._total.add_error(kind)
        if scope is not None:
            scope.add_error(kind)

    def _count_retry(self) -> None:
        scope = _SCOPE.get()
        with self._lock:
            self._total.retries += 1
        if scope is not None:
            scope.retries += 1

    def _count_call(self, usage: dict[str, Any], seconds: float, cached: bool) -> None:
        prompt = int(usage.get("prompt_tokens") or 0)
        completion = int(usage.get("completion_tokens") or 0)
        cost = 0.0 if cached else float(usage.get("cost") or 0.0)
        scope = _SCOPE.get()
        with self._lock:
            self._total.add_call(prompt, completion, cost, seconds, cached)
        if scope is not None:
            scope.add_call(prompt, completion, cost, seconds, cached)

    # -- requests -----------------------------------------------------------------------------
    def _payload(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        stop: list[str] | None = None,
        max_tokens: int | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            # observations and earlier replies may hold lone surrogates or NULs, which no request takes
            "messages": clean_json(messages),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens if max_tokens is None else int(max_tokens),
            **self.extra,
        }
        if tools:
            payload["tools"] = tools
        if stop:
            payload["stop"] = list(stop)
        return payload

    def _backoff(self, attempt: int) -> float:
        if self.backoff_base <= 0:
            return 0.0
        delay = min(self.backoff_max, self.backoff_base * (2**attempt))
        return delay * (0.5 + self._rng.random())  # full jitter around the mean

    def _semaphore(self) -> asyncio.Semaphore | None:
        if not self.max_concurrency:
            return None
        loop = asyncio.get_running_loop()
        if self._sem is None or self._sem_loop is not loop:
            self._sem = asyncio.Semaphore(self.max_concurrency)
            self._sem_loop = loop
        return self._sem

    def _ensure_priced(self, litellm: Any) -> None:
        """Give litellm a price for this model once per process when it has none (or `price` says so).

        litellm prices every response; for a model missing from its price map it searches that map
        with fallback rules on every call, a large share of its CPU per call at high concurrency.
        A registered price (0 when unknown, the cost litellm would report anyway) makes that a lookup.
        """
        if self._priced:
            return
        with _PRICED_LOCK:
            self._priced = True
            if self.model in _PRICED and (self.price is None or _PRICED[self.model] == self.price):
                return
            price = self.price
            if price is None:
                try:
                    info = litellm.get_model_info(self.model)
                    known = info.get("input_cost_per_token") is not None
                except Exception:  # litellm raises for models it does not know
                    known = False
                if known:
                    _PRICED[self.model] = None
                    return
                log.info(
                    "litellm knows no price for %s: its cost is counted as 0 (set a price to count it)",
                    self.model,
                )
                price = (0.0, 0.0)
            try:
                provider = litellm.get_llm_provider(self.model, api_base=self.api_base)[1]
                per_in, per_out = price[0] / 1e6, price[1] / 1e6
                litellm.register_model(
                    {
                        self.model: {
                            "input_cost_per_token": per_in,
                            "output_cost_per_token": per_out,
                            "cache_creation_input_token_cost": per_in,
                            "cache_read_input_token_cost": per_in,
                            "litellm_provider": provider,
                            "mode": "chat",
                        }
                    }
                )
                _PRICED[self.model] = self.price
            except Exception as exc:  # pricing is bookkeeping: never fail a call for it
                log.warning("could not register a price for %s with litellm: %s", self.model, exc)

    def _ensure_key(self, litellm: Any) -> None:
        """With an `api_base` and no key set anywhere, use a placeholder (see the class docstring)."""
        if self._key_checked:
            return
        self._key_checked = True
        if self.api_key or not self.api_base:
            return
        try:
            missing = litellm.validate_environment(model=self.model).get("missing_keys") or []
        except Exception:  # a model string litellm cannot place: leave the key to litellm
            return
        if missing:
            log.info("%s at %s: no %s set; sending a placeholder key", self.model, self.api_base, missing[0])
            self.api_key = "no-key"

    def _lean_transport(self, payload: dict[str, Any]) -> Any:
        """The lean transport when it applies to this client and request, else None (litellm)."""
        if not self._lean_checked:
            from seer_env.lean_transport import LeanTransport

            self._lean = LeanTransport.for_model(self.model, self.api_base, self.api_key)
            self._lean_checked = True
        lean = self._lean
        if lean is None or not lean.accepts(payload):
            return None
        return lean

    async def _call_once(self, payload: dict[str, Any], timeout: float | None = None) -> Any:
        import litellm  # slow import, first call only

        litellm.suppress_debug_info = True  # no "Give Feedback" banners on every error
        self._ensure_key(litellm)  # before the transport is chosen: the lean one wants a key too
        lean = self._lean_transport(payload)  # before pricing: it asks whether litellm knows the model
        self._ensure_priced(litellm)
        timeout = self.timeout if timeout is None else timeout

        if lean is not None:
            call = lean.acompletion(payload, timeout)
        else:
            kwargs = dict(payload)
            if self.api_base:
                kwargs["api_base"] = self.api_base
            if self.api_key:
                kwargs["api_key"] = self.api_key
            # our retry loop is the only one: none in litellm, none in the OpenAI SDK under it
            kwargs.update(timeout=timeout, num_retries=0, max_retries=0)
            if kwargs.get("tools"):
                # litellm checks tools for MCP gateway entries by importing the optional `mcp` package,
                # which fails without it; our tools are plain functions, so skip that check
                kwargs["_skip_mcp_handler"] = True
            call = litellm.acompletion(**kwargs)
        # a hard cap too, in case a provider ignores the timeout
        if hasattr(asyncio, "timeout"):  # Python 3.11+: no extra task per call, unlike wait_for
            async with asyncio.timeout(timeout + 5.0):
                return await call
        return await asyncio.wait_for(call, timeout=timeout + 5.0)

    def _to_response(self, raw: Any) -> LLMResponse:
        choices = _get(raw, "choices") or []
        message = _get(choices[0], "message") if choices else None
        content = _get(message, "content") if message is not None else None
        calls, bad = _parse_tool_calls(_get(message, "tool_calls") if message is not None else None)
        u = _get(raw, "usage")
        usage = {
            "prompt_tokens": int(_get(u, "prompt_tokens", 0) or 0) if u is not None else 0,
            "completion_tokens": int(_get(u, "completion_tokens", 0) or 0) if u is not None else 0,
            "cost": self._cost(raw),
        }
        return LLMResponse(
            content=content or "", tool_calls=calls, usage=usage, raw=raw, malformed_tool_calls=bad
        )

    @staticmethod
    def _cost(raw: Any) -> float:
        hidden = getattr(raw, "_hidden_params", None) or {}
        if isinstance(hidden, dict) and "response_cost" in hidden:
            # litellm priced it already (None: a model without a known price); pricing again costs
            # milliseconds of CPU per call
            return float(hidden["response_cost"] or 0.0)
        try:
            import litellm

            return float(litellm.completion_cost(completion_response=raw) or 0.0)
        except Exception:  # unknown model price: cost unknown, counted as 0
            return 0.0

    async def acomplete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        *,
        stop: list[str] | None = None,
        max_tokens: int | None = None,
    ) -> LLMResponse:
        """One chat completion. Raises `LLMError` when it fails for good.

        stop: stop sequences sent with the request (the model's text ends before the first one).
        max_tokens: this call's cap on the reply (default: the client's).
        """
        payload = self._payload(messages, tools, stop, max_tokens)
        key = request_key(payload) if self.cache else None
        if self.cache and key:
            hit = self.cache.get(key)
            if hit is not None:
                resp = LLMResponse.from_cache(hit)
                self._count_call(resp.usage, 0.0, cached=True)
                return resp

        sem = self._semaphore()
        last_kind, last_msg = "unknown", ""
        attempts = self.max_retries + 1
        resp: LLMResponse | None = None
        timeout, timeouts = self.timeout, 0
        for attempt in range(attempts):
            if attempt:
                self._count_retry()
                delay = self._backoff(attempt - 1)
                if delay and last_kind != "timeout":  # a timeout has waited long enough already
                    await asyncio.sleep(delay)
            t0 = time.perf_counter()
            try:
                if sem is not None:
                    async with sem:
                        raw = await self._call_once(payload, timeout)
                else:
                    raw = await self._call_once(payload, timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                kind = classify_error(exc)
                self._count_error(kind)
                last_kind, last_msg = kind, f"{type(exc).__name__}: {exc}"
                log.debug("LLM call failed (%s, attempt %d/%d): %s", kind, attempt + 1, attempts, exc)
                if kind not in RETRYABLE_KINDS:
                    raise LLMError(last_msg[:2000], kind=kind, attempts=attempt + 1) from exc
                if kind == "timeout":
                    timeouts += 1
                    if timeouts > self.timeout_retries:
                        raise LLMError(
                            f"no answer within {timeout:g} s ({timeouts} timeouts): {last_msg}"[:2000],
                            kind="timeout",
                            attempts=attempt + 1,
                        ) from exc
                    timeout *= self.timeout_growth
                continue
            seconds = time.perf_counter() - t0
            try:
                resp = self._to_response(raw)
            except Exception as exc:  # a response litellm accepted but we cannot read
                self._count_error("bad_response")
                last_kind, last_msg = "bad_response", f"{type(exc).__name__}: {exc}"
                continue
            self._count_call(resp.usage, seconds, cached=False)
            if resp.malformed_tool_calls:
                self._count_error("malformed_tool_call")
            if not resp.content.strip() and not resp.tool_calls and not resp.malformed_tool_calls:
                self._count_error("empty")
                last_kind, last_msg = "empty", "the model returned no content and no tool call"
                if self.retry_empty and attempt + 1 < attempts:
                    continue
            break
        if resp is None:
            raise LLMError(
                f"LLM call failed after {attempts} attempts: {last_msg}"[:2000],
                kind=last_kind,
                attempts=attempts,
            )
        if self.cache and key and (resp.content.strip() or resp.tool_calls):
            try:
                self.cache.put(key, resp.to_cache())
            except OSError as exc:
                log.warning("could not write the LLM cache: %s", exc)
        return resp

    def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        *,
        stop: list[str] | None = None,
        max_tokens: int | None = None,
    ) -> LLMResponse:
        """Synchronous form of `acomplete` (for plain loops and worker threads; not from inside a
        running event loop). Every sync call of the process runs on one loop (`_SyncLoop`)."""
        return run_sync(self.acomplete(messages, tools, stop=stop, max_tokens=max_tokens))

    @property
    def transport_in_use(self) -> str:
        """ "lean" or "litellm" once the first call has settled it; the setting before that."""
        if not self._lean_checked:
            return self.transport
        return "lean" if self._lean is not None else "litellm"

    def describe(self) -> dict[str, Any]:
        """The settings that shape answers, for run manifests."""
        return {
            "model": self.model,
            "api_base": self.api_base,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "timeout_retries": self.timeout_retries,
            "timeout_growth": self.timeout_growth,
            "extra": self.extra,
            "price": self.price,
            "transport": self.transport_in_use,
            "cache": str(self.cache.dir) if self.cache else None,
        }

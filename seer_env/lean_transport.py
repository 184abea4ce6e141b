"""A lean path to self-hosted OpenAI-compatible chat endpoints, keeping litellm's interface.

litellm reaches an OpenAI-compatible server (vLLM, SGLang, llama.cpp, ...) through the OpenAI SDK,
httpx, pydantic response objects, its logging objects and its cost calculator: about 8-10 ms of CPU
per call, which caps what two cores can feed at RL scale (hundreds of episodes in flight). For the
requests where litellm only forwards an OpenAI-format body, this module sends that same body over one
keep-alive aiohttp session per event loop and reads the JSON reply itself (under 1 ms of CPU), and
keeps what a caller gets from litellm:

- the same model strings: litellm's `get_llm_provider` splits them (`openai/<name>` with an
  `api_base`, `hosted_vllm/<name>`), and the request body is the one litellm would send (tests
  compare them on a loopback server);
- the same exceptions: a failed HTTP status, a timeout or a refused connection is handed to
  litellm's own exception mapping (`litellm.exception_type`), so it raises `litellm.RateLimitError`,
  `litellm.Timeout`, `litellm.InternalServerError`, ... exactly as litellm does;
- the same usage numbers and cost: tokens as the server counts them, priced from litellm's model
  map (`litellm.cost_per_token` where a price is tiered).

`LeanTransport.for_model` says whether a model qualifies: an `openai/` model litellm has no entry
for (a self-hosted model behind an OpenAI-compatible route; litellm gates parameters of the models it
knows) with an `api_base` and a key, or any `hosted_vllm/` model. `accepts(payload)` checks each
request (parameters litellm passes through unchanged, plain text messages, function tools); anything
else goes through litellm.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import weakref
from collections.abc import AsyncIterator
from typing import Any

# providers whose chat route litellm serves as a plain OpenAI-format request to `api_base`
PROVIDERS = frozenset({"openai", "hosted_vllm"})
# request parameters litellm passes through unchanged to those providers
PLAIN_PARAMS = frozenset(
    {
        "model",
        "messages",
        "temperature",
        "max_tokens",
        "tools",
        "top_p",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "user",
        "logprobs",
        "top_logprobs",
        "tool_choice",
        "parallel_tool_calls",
    }
)
_ROLES = frozenset({"system", "user", "assistant"})


class LeanResponse:
    """A chat completion as the server sent it, read the way litellm's `ModelResponse` is read
    (`choices`, `usage`, `_hidden_params["response_cost"]`); `model_response()` builds litellm's
    object on demand (a caller that wants pydantic messages)."""

    __slots__ = ("data", "_hidden_params", "_model_response")

    def __init__(self, data: dict[str, Any], cost: float):
        self.data = data
        self._hidden_params = {"response_cost": cost}
        self._model_response: Any = None

    @property
    def choices(self) -> list[dict[str, Any]]:
        return self.data.get("choices") or []

    @property
    def usage(self) -> dict[str, Any] | None:
        return self.data.get("usage")

    def model_response(self) -> Any:
        if self._model_response is None:
            import litellm

            self._model_response = litellm.ModelResponse(**self.data)
            self._model_response._hidden_params.update(self._hidden_params)
        return self._model_response


# one client session per event loop, closed when the loop shuts its async generators down
# (asyncio.run and pytest's loops do): the generator below holds it open until then
_SESSIONS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, AsyncIterator[None]]] = (
    weakref.WeakKeyDictionary()
)


async def _hold_open(session: Any) -> AsyncIterator[None]:
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            await session.close()


async def _session() -> Any:
    loop = asyncio.get_running_loop()
    held = _SESSIONS.get(loop)
    if held is not None and not held[0].closed:
        return held[0]
    import aiohttp

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300))
    keeper = _hold_open(session)
    await keeper.__anext__()  # registered with the loop's shutdown from here on
    _SESSIONS[loop] = (session, keeper)
    return session


def _error_message(status: int, body: bytes) -> str:
    """The error text of a failed reply, as the OpenAI SDK reads it (`error.message`, else the body)."""
    text = body.decode("utf-8", "replace")
    try:
        err = json.loads(text).get("error")
    except (ValueError, AttributeError):
        return text[:2000] or f"HTTP {status}"
    if isinstance(err, dict) and err.get("message"):
        return str(err["message"])
    return text[:2000] or f"HTTP {status}"


class LeanTransport:
    """Chat completions for one model over aiohttp (see the module docstring)."""

    def __init__(self, model: str, provider: str, name: str, api_base: str, api_key: str | None):
        self.model = model  # the litellm model string, as given
        self.provider = provider
        self.name = name  # the model name the server sees
        self.url = api_base.rstrip("/") + "/chat/completions"
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self._linear: tuple[float, float] | None = None  # USD per prompt, completion token
        self._tiered = False
        self._priced = False

    # -- eligibility -----------------------------------------------------------------------------
    @classmethod
    def for_model(cls, model: str, api_base: str | None, api_key: str | None) -> LeanTransport | None:
        """A transport for this model, or None where litellm does more than forward its requests."""
        if not api_base:
            return None
        import litellm

        try:
            name, provider, dynamic_key, _ = litellm.get_llm_provider(
                model, api_base=api_base, api_key=api_key
            )
        except Exception:  # a model string litellm cannot place: let litellm say so
            return None
        if provider not in PROVIDERS:
            return None
        if provider == "openai":
            # litellm knows OpenAI's own models and rewrites their parameters (max_completion_tokens,
            # fixed temperatures, ...); a name it does not know is served as sent
            if name in litellm.model_cost:
                return None
            key = api_key or dynamic_key or os.environ.get("OPENAI_API_KEY")
            if not key:
                return None  # litellm refuses the call for want of credentials: let it
        else:
            key = api_key or dynamic_key or os.environ.get("HOSTED_VLLM_API_KEY") or "fake-api-key"
        return cls(model, provider, name, api_base, key)

    @staticmethod
    def accepts(payload: dict[str, Any]) -> bool:
        """Whether litellm would forward this request as is: parameters it passes through, text
        messages, function tools."""
        if not set(payload) <= PLAIN_PARAMS:
            return False
        for m in payload.get("messages") or ():
            if (
                not isinstance(m, dict)
                or m.get("role") not in _ROLES
                or not isinstance(m.get("content"), str)
            ):
                return False
            if set(m) - {"role", "content", "name"}:
                return False
        for t in payload.get("tools") or ():
            if (
                not isinstance(t, dict)
                or t.get("type") != "function"
                or not isinstance(t.get("function"), dict)
            ):
                return False
        return True

    def body(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The request body litellm sends for `payload` (model name without the provider prefix)."""
        body = {**payload, "model": self.name}
        if self.provider == "hosted_vllm" and body.get("tools"):
            # litellm strips these schema keys for vLLM, whose validator rejects them
            from litellm.utils import remove_additional_properties, remove_strict_from_schema

            body["tools"] = remove_strict_from_schema(
                remove_additional_properties(copy.deepcopy(body["tools"]))
            )
        return body

    # -- the call ----------------------------------------------------------------------------------
    async def acompletion(self, payload: dict[str, Any], timeout: float) -> LeanResponse:
        """One chat completion; raises what litellm would raise for the same failure."""
        import aiohttp

        data = json.dumps(self.body(payload)).encode("utf-8")
        session = await _session()
        try:
            async with session.post(
                self.url, data=data, headers=self.headers, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as r:
                status, raw, headers = r.status, await r.read(), dict(r.headers)
        except (asyncio.TimeoutError, TimeoutError):
            raise self._mapped(500, "Request timed out.", None) from None
        except aiohttp.ClientError as exc:
            raise self._mapped(500, "Connection error.", None) from exc
        if status != 200:
            raise self._mapped(status, _error_message(status, raw), headers)
        try:
            reply = json.loads(raw)
        except ValueError:
            raise self._mapped(500, f"the server's reply is not JSON: {raw[:200]!r}", headers) from None
        if not isinstance(reply, dict) or not isinstance(reply.get("choices"), list):
            raise self._mapped(500, f"the server's reply has no choices: {raw[:200]!r}", headers)
        return LeanResponse(reply, self.cost(reply.get("usage")))

    def _mapped(self, status: int, message: str, headers: dict[str, str] | None) -> Exception:
        """The exception litellm raises for this failure (its own mapping of an OpenAI-route error)."""
        import litellm
        from litellm.llms.openai.common_utils import OpenAIError

        litellm.suppress_debug_info = True
        err = OpenAIError(status_code=status, message=message, headers=headers)
        try:
            return litellm.exception_type(
                model=self.name, original_exception=err, custom_llm_provider=self.provider
            )
        except Exception as mapped:  # exception_type raises the mapped exception
            return mapped

    # -- cost --------------------------------------------------------------------------------------
    def cost(self, usage: dict[str, Any] | None) -> float:
        """USD for these tokens at litellm's price for the model (0 when it has none)."""
        if not usage:
            return 0.0
        prompt = int(usage.get("prompt_tokens") or 0)
        completion = int(usage.get("completion_tokens") or 0)
        if not self._priced:
            self._load_price()
        if self._tiered:
            import litellm

            try:
                p, c = litellm.cost_per_token(
                    model=self.model, prompt_tokens=prompt, completion_tokens=completion
                )
                return float(p) + float(c)
            except Exception:
                return 0.0
        if self._linear is None:
            return 0.0
        return prompt * self._linear[0] + completion * self._linear[1]

    def _load_price(self) -> None:
        import litellm

        self._priced = True
        try:
            info = litellm.get_model_info(self.model)
        except Exception:  # no price known: litellm reports None, counted as 0
            return
        per_in, per_out = info.get("input_cost_per_token"), info.get("output_cost_per_token")
        if per_in is None and per_out is None:
            return
        # a price that changes with the prompt's size is litellm's to compute, call by call
        self._tiered = any("above" in k and v for k, v in info.items() if "cost" in k)
        self._linear = (float(per_in or 0.0), float(per_out or 0.0))

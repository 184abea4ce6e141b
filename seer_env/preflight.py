"""Before any episode: is every model the run names usable? (`seer-env run` calls it; `--no-preflight` skips it)

For each model (the policies' model, a judge's, τ-bench's simulated user's), in this order:

1. credentials: the keys its provider needs, as litellm sees them (`litellm.validate_environment`);
   a model given an API key, or served at an `api_base` (a local server needs no key), passes;
2. one tiny call (a one-word prompt, a few tokens, no retry) through `seer_env.llm.LLMClient`, which
   shows that the endpoint is reachable, the model exists and the key is accepted.

A failure is one line that names the model, what is wrong and the fix; the run stops before its first
episode. Models are checked concurrently, each distinct (model, endpoint) once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
PROMPT = [{"role": "user", "content": "Reply with the single word: ready"}]


@dataclass(frozen=True)
class ModelTarget:
    """A model a run will call. role: who calls it (policy, judge, user), for the messages."""

    model: str
    role: str = "policy"
    api_base: str | None = None
    api_key: str | None = None

    @property
    def key(self) -> tuple[str, str | None, str | None]:
        return (self.model, self.api_base, self.api_key)


class PreflightError(RuntimeError):
    """A model the run names cannot be used; `str()` is one line with the model and the fix."""


def missing_keys(target: ModelTarget) -> list[str]:
    """The environment variables its provider needs that are not set (none when a key or base is given)."""
    if target.api_key or target.api_base:
        return []
    import litellm

    try:
        found = litellm.validate_environment(model=target.model)
    except Exception as exc:  # litellm raises for model strings it cannot place
        log.debug("validate_environment(%s) failed: %s", target.model, exc)
        return []
    return [str(k) for k in found.get("missing_keys") or []]


def _fix_for(kind: str, target: ModelTarget, message: str) -> str:
    where = target.api_base or "the provider"
    first = message.strip().splitlines()[0][:240] if message.strip() else kind
    if kind == "auth":
        return (
            f"{where} refused the credentials ({first}); check the key (--api-key or the provider's variable)"
        )
    if kind == "not_found":
        return f"{where} does not serve this model ({first}); check the model name"
    if kind == "connection":
        return f"cannot reach {where} ({first}); is the server running and --api-base right?"
    if kind == "timeout":
        return f"{where} did not answer in time ({first}); is the server up? (--preflight-timeout)"
    if kind == "rate_limit":
        return f"{where} is rate limiting ({first}); wait, or lower --concurrency"
    if kind == "bad_request":
        return f"{where} refused a one-line request ({first}); check the model name and its options"
    return f"a one-line test call failed ({kind}: {first})"


async def check_model(target: ModelTarget, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Raise `PreflightError` when `target` cannot be used (see the module docstring)."""
    missing = missing_keys(target)
    if missing:
        names = " and ".join(missing)
        verb = "is" if len(missing) == 1 else "are"
        raise PreflightError(
            f"{target.model} ({target.role} model): {names} {verb} not set; export it, pass --api-key, "
            "or pass --api-base for a local server"
        )
    from seer_env.llm import LLMClient, LLMError

    client = LLMClient(
        target.model,
        api_base=target.api_base,
        api_key=target.api_key,
        timeout=timeout,
        max_retries=0,
        timeout_retries=0,
        max_tokens=16,
        retry_empty=False,
    )
    try:
        await client.acomplete(PROMPT)
    except LLMError as exc:
        raise PreflightError(
            f"{target.model} ({target.role} model): {_fix_for(exc.kind, target, str(exc))}"
        ) from exc


async def check_models(targets: Sequence[ModelTarget], timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """Every problem of `targets` (one line each, in their order); empty when all can be used."""
    unique: dict[Any, ModelTarget] = {}
    for t in targets:
        unique.setdefault(t.key, t)
    results = await asyncio.gather(
        *(check_model(t, timeout) for t in unique.values()), return_exceptions=True
    )
    problems = []
    for target, res in zip(unique.values(), results, strict=True):
        if isinstance(res, PreflightError):
            problems.append(str(res))
        elif isinstance(res, BaseException):
            problems.append(
                f"{target.model} ({target.role} model): preflight failed: {type(res).__name__}: {res}"
            )
    return problems


def preflight(targets: Sequence[ModelTarget], timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """`check_models` from synchronous code."""
    if not targets:
        return []
    return asyncio.run(check_models(targets, timeout))

"""How the LLM client tells errors apart, through litellm's real HTTP path against the loopback server:
errors no retry can fix are raised at once, timeouts are retried with a longer timeout or not at all."""

from __future__ import annotations

import time

import pytest

from seer_env.llm import FATAL_KINDS, LLMClient, LLMError, classify_error

MSG = [{"role": "user", "content": "hello"}]


def echo(body):
    return {"content": "ok"}


def client(srv, **kw) -> LLMClient:
    kw.setdefault("timeout", 2.0)
    kw.setdefault("max_retries", 4)
    kw.setdefault("backoff_base", 0.0)
    return LLMClient("openai/fake-model", api_base=srv.base_url, api_key=kw.pop("api_key", "sk-test"), **kw)


@pytest.mark.parametrize(
    "fault,kind",
    [("401", "auth"), ("404", "not_found"), ("context", "context_window"), ("400", "bad_request")],
)
async def test_errors_no_retry_can_fix_are_raised_at_once(serve, fault, kind):
    srv = serve(echo, fault_for=lambda body: fault)
    c = client(srv)
    with pytest.raises(LLMError) as err:
        await c.acomplete(MSG)
    assert err.value.kind == kind and kind in FATAL_KINDS
    assert err.value.attempts == 1 and len(srv.requests) == 1
    assert c.usage["retries"] == 0


async def test_a_wrong_key_is_auth(serve):
    srv = serve(echo, api_key="sk-right")
    c = client(srv, api_key="sk-wrong")
    with pytest.raises(LLMError) as err:
        await c.acomplete(MSG)
    assert err.value.kind == "auth" and srv.fault_counts["wrong_key"] == 1
    assert (await client(srv, api_key="sk-right").acomplete(MSG)).content == "ok"


async def test_missing_credentials_are_auth_not_a_server_error(serve, monkeypatch):
    """litellm raises its InternalServerError (status 500) when no key is set; nothing is sent."""
    srv = serve(echo)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)  # were anything sent, it would reach loopback
    c = LLMClient("openai/fake-model", timeout=2.0, max_retries=4, backoff_base=0.0)
    t0 = time.perf_counter()
    with pytest.raises(LLMError) as err:
        await c.acomplete(MSG)
    assert err.value.kind == "auth" and err.value.attempts == 1
    assert "credentials" in str(err.value).lower()
    assert time.perf_counter() - t0 < 5 and srv.requests == []


async def test_an_api_base_needs_no_key(serve, monkeypatch):
    """A local OpenAI-compatible server: no key anywhere, the client sends a placeholder."""
    srv = serve(echo)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    c = LLMClient("openai/fake-model", api_base=srv.base_url, timeout=2.0)
    assert (await c.acomplete(MSG)).content == "ok"


async def test_a_server_that_is_not_there_is_a_connection_error():
    from tests.harness.fake_server import free_port

    c = LLMClient(
        "openai/m",
        api_base=f"http://127.0.0.1:{free_port()}/v1",
        api_key="k",
        max_retries=1,
        backoff_base=0.0,
    )
    with pytest.raises(LLMError) as err:
        await c.acomplete(MSG)
    assert err.value.kind == "connection" and err.value.attempts == 2  # retried: a server may come up


async def test_a_timeout_is_retried_once_with_a_longer_timeout(serve):
    srv = serve(echo, faults={"hang": 1.0}, hang_seconds=3.0)
    c = client(srv, timeout=0.3, timeout_retries=1, timeout_growth=2.0)
    t0 = time.perf_counter()
    with pytest.raises(LLMError) as err:
        await c.acomplete(MSG)
    elapsed = time.perf_counter() - t0
    assert err.value.kind == "timeout" and err.value.attempts == 2
    assert len(srv.requests) == 2  # not max_retries + 1 = 5
    assert 0.3 + 0.6 <= elapsed < 2.5  # the second try waited twice as long as the first
    assert c.usage["errors_by_kind"] == {"timeout": 2}


async def test_timeouts_not_retried_at_all(serve):
    srv = serve(echo, faults={"hang": 1.0}, hang_seconds=3.0)
    c = client(srv, timeout=0.3, timeout_retries=0)
    with pytest.raises(LLMError) as err:
        await c.acomplete(MSG)
    assert err.value.kind == "timeout" and len(srv.requests) == 1


async def test_a_timeout_then_an_answer_within_the_longer_timeout(serve):
    srv = serve(echo, fault_sequence=["hang"], hang_seconds=3.0)
    c = client(srv, timeout=0.3, timeout_retries=1)
    assert (await c.acomplete(MSG)).content == "ok" and len(srv.requests) == 2


def test_classify_reads_type_status_and_message():
    import litellm

    missing = litellm.InternalServerError(
        message="OpenAIException - Missing credentials. Please pass an `api_key`",
        llm_provider="openai",
        model="gpt-4o-mini",
    )
    assert missing.status_code == 500 and classify_error(missing) == "auth"
    overflow = litellm.BadRequestError(
        message="the request exceeds the available context size, try increasing it",
        model="m",
        llm_provider="openai",
    )
    assert classify_error(overflow) == "context_window"
    gone = litellm.APIError(
        status_code=500, message="The model `x` does not exist", llm_provider="openai", model="x"
    )
    assert classify_error(gone) == "not_found"
    busy = litellm.InternalServerError(message="upstream overloaded", llm_provider="openai", model="m")
    assert classify_error(busy) == "server_error"
    limited = litellm.RateLimitError(
        message="Rate limit reached for tokens per min (TPM)", llm_provider="openai", model="m"
    )
    assert classify_error(limited) == "rate_limit"

"""The LLM client through litellm's real HTTP path against the loopback server."""

from __future__ import annotations

import asyncio

import pytest

from seer_env.llm import LLMClient, LLMError, classify_error, request_key, usage_scope

MSG = [{"role": "user", "content": "hello"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "Finish",
            "description": "answer",
            "parameters": {"type": "object", "properties": {"answer": {"type": "string"}}},
        },
    }
]


def echo(body):
    if body.get("tools"):
        return {"tool_calls": [{"name": "Finish", "arguments": {"answer": "42"}}]}
    return {"content": "answer: " + body["messages"][-1]["content"]}


def client(srv, **kw) -> LLMClient:
    kw.setdefault("timeout", 2.0)
    kw.setdefault("max_retries", 3)
    kw.setdefault("backoff_base", 0.0)
    return LLMClient("openai/fake-model", api_base=srv.base_url, api_key="sk-test", **kw)


async def test_text_call_counts_tokens(serve):
    srv = serve(echo)
    c = client(srv)
    resp = await c.acomplete(MSG)
    assert resp.content == "answer: hello"
    assert resp.tool_calls == []
    assert srv.requests[0]["model"] == "fake-model"
    assert srv.requests[0]["messages"] == MSG
    u = c.usage
    assert u["calls"] == 1 and u["prompt_tokens"] > 0 and u["completion_tokens"] > 0
    assert u["errors_by_kind"] == {}


async def test_cost_from_a_given_price_or_zero_for_an_unknown_model(serve):
    srv = serve(echo)
    unknown = LLMClient("openai/no-price-model", api_base=srv.base_url, api_key="sk", timeout=2.0)
    await unknown.acomplete(MSG)
    assert unknown.usage["cost"] == 0.0
    # USD per million tokens: the cost is the server's token counts at that price
    priced = LLMClient("openai/priced-model", api_base=srv.base_url, api_key="sk", price=(2.0, 8.0))
    with usage_scope() as scope:
        await priced.acomplete(MSG)
    u = priced.usage
    want = (u["prompt_tokens"] * 2.0 + u["completion_tokens"] * 8.0) / 1e6
    assert u["cost"] == pytest.approx(want) and scope.cost == pytest.approx(want) and want > 0
    assert priced.describe()["price"] == (2.0, 8.0)
    with pytest.raises(ValueError):
        client(srv, price=(-1.0, 0.0))


async def test_function_calling_mode(serve):
    srv = serve(echo)
    c = client(srv)
    resp = await c.acomplete(MSG, tools=TOOLS)
    assert [(t.name, t.arguments) for t in resp.tool_calls] == [("Finish", {"answer": "42"})]
    assert srv.requests[0]["tools"][0]["function"]["name"] == "Finish"


@pytest.mark.parametrize("fault,kind", [("429", "rate_limit"), ("500", "server_error"), ("empty", "empty")])
async def test_retries_then_succeeds(serve, fault, kind):
    srv = serve(echo, fault_sequence=[fault, fault])
    c = client(srv)
    resp = await c.acomplete(MSG)
    assert resp.content == "answer: hello"
    assert len(srv.requests) == 3
    assert c.usage["errors_by_kind"] == {kind: 2}
    assert c.usage["retries"] == 2


async def test_hang_past_timeout_is_retried(serve):
    srv = serve(echo, fault_sequence=["hang"], hang_seconds=3.0)
    c = client(srv, timeout=0.5)
    resp = await c.acomplete(MSG)
    assert resp.content == "answer: hello"
    assert c.usage["errors_by_kind"] == {"timeout": 1}


async def test_bad_request_is_not_retried(serve):
    srv = serve(echo, fault_sequence=["400"])
    c = client(srv)
    with pytest.raises(LLMError) as err:
        await c.acomplete(MSG)
    assert err.value.kind == "bad_request"
    assert len(srv.requests) == 1


async def test_retries_exhausted_raise(serve):
    srv = serve(echo, faults={"500": 1.0})
    c = client(srv, max_retries=2)
    with pytest.raises(LLMError) as err:
        await c.acomplete(MSG)
    assert err.value.kind == "server_error" and err.value.attempts == 3
    assert len(srv.requests) == 3


async def test_malformed_tool_call_counted(serve):
    srv = serve(echo, fault_sequence=["malformed"])
    c = client(srv)
    resp = await c.acomplete(MSG, tools=TOOLS)
    assert resp.tool_calls == [] and resp.malformed_tool_calls
    assert c.usage["errors_by_kind"] == {"malformed_tool_call": 1}


async def test_disk_cache(serve, tmp_path):
    srv = serve(echo)
    c = client(srv, cache_dir=tmp_path / "cache")
    a = await c.acomplete(MSG)
    b = await c.acomplete(MSG)
    other = await c.acomplete([{"role": "user", "content": "other"}])
    assert a.content == b.content and b.cached and not a.cached
    assert other.content == "answer: other"
    assert len(srv.requests) == 2
    files = list((tmp_path / "cache").rglob("*"))
    assert not [f for f in files if f.name.startswith(".tmp-")]
    assert len([f for f in files if f.suffix == ".json"]) == 2
    # a fresh client on the same directory answers from disk
    c2 = client(srv, cache_dir=tmp_path / "cache")
    assert (await c2.acomplete(MSG)).cached
    assert len(srv.requests) == 2


def test_request_key_depends_on_everything():
    base = {"model": "m", "messages": MSG, "temperature": 0.0}
    assert request_key(base) == request_key(dict(reversed(list(base.items()))))
    assert request_key(base) != request_key({**base, "temperature": 0.5})
    assert request_key(base) != request_key({**base, "tools": TOOLS})


async def test_usage_scopes_are_per_task(serve):
    srv = serve(echo)
    c = client(srv)

    async def episode(n: int) -> dict:
        with usage_scope() as u:
            for _ in range(n):
                await c.acomplete(MSG)
            return u.to_dict()

    a, b = await asyncio.gather(episode(1), episode(3))
    assert a["calls"] == 1 and b["calls"] == 3
    assert c.usage["calls"] == 4


def test_sync_complete(serve):
    srv = serve(echo)
    assert client(srv).complete(MSG).content == "answer: hello"


def test_classify_error_kinds():
    class E(Exception):
        def __init__(self, status):
            self.status_code = status

    assert classify_error(asyncio.TimeoutError()) == "timeout"
    assert classify_error(E(429)) == "rate_limit"
    assert classify_error(E(503)) == "server_error"
    assert classify_error(E(400)) == "bad_request"
    assert classify_error(E(401)) == "auth"

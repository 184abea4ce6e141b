"""The lean transport against litellm itself, on the loopback OpenAI-compatible server.

For the requests the lean path takes, it must be indistinguishable from litellm to a caller: the same
request body on the wire, the same content, tool calls, token counts and cost, the same exception
classes for the same failures; everything else must go through litellm.
"""

from __future__ import annotations

import asyncio

import pytest

from seer_env import lean_transport
from seer_env.lean_transport import LeanTransport
from seer_env.llm import LLMClient, LLMError, classify_error
from tests.harness.fake_server import free_port

MSG = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello ünïcode ✓"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "Finish",
            "description": "answer",
            "parameters": {
                "type": "object",
                "properties": {"answer": {"type": "string"}},
                "required": ["answer"],
                "additionalProperties": False,
            },
        },
    }
]
MODELS = ["openai/my-local-model", "hosted_vllm/Qwen/Qwen2.5-7B-Instruct"]


def brain(body):
    if body.get("tools"):
        return {"content": "calling", "tool_calls": [{"name": "Finish", "arguments": {"answer": "42"}}]}
    return {"content": "answer: " + body["messages"][-1]["content"]}


def make(srv, model, transport, **kw):
    kw.setdefault("timeout", 2.0)
    kw.setdefault("max_retries", 0)
    kw.setdefault("backoff_base", 0.0)
    return LLMClient(model, api_base=srv.base_url, api_key="sk-test", transport=transport, **kw)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("tools", [None, TOOLS], ids=["text", "tools"])
def test_same_body_reply_usage_and_cost_as_litellm(serve, model, tools):
    srv = serve(brain)
    lean = make(srv, model, "auto", price=(0.15, 0.6), extra={"top_p": 0.9, "seed": 7})
    ref = make(srv, model, "litellm", price=(0.15, 0.6), extra={"top_p": 0.9, "seed": 7})
    a = lean.complete(MSG, tools=tools)
    b = ref.complete(MSG, tools=tools)
    assert lean.transport_in_use == "lean" and ref.transport_in_use == "litellm"
    sent_lean, sent_ref = srv.requests
    assert sent_lean == sent_ref  # the same JSON on the wire (vLLM's tools lose additionalProperties)
    assert sent_lean["model"] == model.split("/", 1)[1]
    assert a.content == b.content
    assert [c.to_dict() for c in a.tool_calls] == [c.to_dict() for c in b.tool_calls]
    assert a.usage["prompt_tokens"] == b.usage["prompt_tokens"] > 0
    assert a.usage["completion_tokens"] == b.usage["completion_tokens"] > 0
    assert a.usage["cost"] == pytest.approx(b.usage["cost"], rel=1e-9) and a.usage["cost"] > 0
    assert lean.usage["cost"] == pytest.approx(ref.usage["cost"], rel=1e-9)


def test_unpriced_model_costs_zero_on_both(serve):
    srv = serve(brain)
    model = "openai/an-unpriced-local-model"  # prices are per process: a name no other test prices
    assert make(srv, model, "auto").complete(MSG).usage["cost"] == 0.0
    assert make(srv, model, "litellm").complete(MSG).usage["cost"] == 0.0


def test_the_reply_reads_as_litellm_objects(serve):
    srv = serve(brain)
    resp = make(srv, MODELS[1], "auto").complete(MSG, tools=TOOLS)
    message = resp.raw.model_response().choices[0].message.model_dump()
    assert message["tool_calls"][0]["function"]["name"] == "Finish"
    assert resp.raw.model_response()._hidden_params["response_cost"] == resp.usage["cost"]


async def _raised(coro) -> BaseException:
    try:
        await coro
    except Exception as exc:
        return exc
    raise AssertionError("no exception")


@pytest.mark.parametrize("fault", ["429", "500", "400", "hang", "closed"])
async def test_same_exceptions_as_litellm(serve, fault):
    import litellm

    srv = serve(brain, fault_sequence=[fault, fault], hang_seconds=3.0)
    base = srv.base_url if fault != "closed" else f"http://127.0.0.1:{free_port()}/v1"
    model = MODELS[0]
    payload = {"model": model, "messages": MSG, "temperature": 0.0, "max_tokens": 16}
    transport = LeanTransport.for_model(model, base, "sk-test")
    assert transport is not None
    ours = await _raised(transport.acompletion(payload, timeout=1.0))
    theirs = await _raised(
        litellm.acompletion(
            **payload, api_base=base, api_key="sk-test", timeout=1.0, num_retries=0, max_retries=0
        )
    )
    expected = {
        "429": litellm.RateLimitError,
        "500": litellm.InternalServerError,
        "400": litellm.BadRequestError,
        "hang": litellm.Timeout,
        "closed": litellm.InternalServerError,  # litellm reports a refused connection as a 500
    }[fault]
    assert type(ours) is type(theirs) is expected
    assert getattr(ours, "status_code", None) == getattr(theirs, "status_code", None)
    # the client's retry decisions read the kind from type, status and message: the same kind on both
    assert classify_error(ours) == classify_error(theirs)


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_retries_and_error_counts_agree(serve, transport):
    srv = serve(brain, fault_sequence=["429", "500", None])
    c = make(srv, MODELS[0], transport, max_retries=3)
    assert c.complete(MSG).content.startswith("answer:")
    assert c.usage["errors_by_kind"] == {"rate_limit": 1, "server_error": 1}
    assert c.usage["retries"] == 2


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_bad_request_is_final_on_both(serve, transport):
    srv = serve(brain, fault_sequence=["400"])
    with pytest.raises(LLMError) as info:
        make(srv, MODELS[0], transport, max_retries=3).complete(MSG)
    assert info.value.kind == "bad_request" and info.value.attempts == 1


def test_what_goes_through_litellm():
    base, payload = "http://127.0.0.1:9/v1", {"model": "x", "messages": MSG, "temperature": 0.0}
    assert LeanTransport.for_model("openai/my-local-model", base, "sk") is not None
    # a model litellm knows (its parameters are rewritten per model), no endpoint, a provider of its own
    assert LeanTransport.for_model("openai/gpt-4o-mini", base, "sk") is None
    assert LeanTransport.for_model("openai/my-local-model", None, "sk") is None
    assert LeanTransport.for_model("anthropic/claude-3-5-haiku-20241022", base, "sk") is None
    # requests litellm changes: a parameter it translates, images, tool results, non-function tools
    assert LeanTransport.accepts({**payload, "tools": TOOLS, "stop": ["\n"], "max_tokens": 5})
    assert not LeanTransport.accepts({**payload, "drop_params": True})
    assert not LeanTransport.accepts(
        {**payload, "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]}
    )
    assert not LeanTransport.accepts(
        {**payload, "messages": [{"role": "tool", "content": "1", "tool_call_id": "a"}]}
    )
    assert not LeanTransport.accepts({**payload, "tools": [{"type": "custom", "custom": {"name": "x"}}]})


def test_an_image_request_goes_through_litellm(serve):
    srv = serve(brain)
    c = make(srv, MODELS[0], "auto")
    c.complete(MSG)
    assert c.transport_in_use == "lean"
    content = [{"type": "text", "text": "look"}]
    assert c._lean_transport({"model": c.model, "messages": [{"role": "user", "content": content}]}) is None


def test_one_session_per_loop_closed_when_the_loop_ends(serve):
    srv = serve(brain)
    c = make(srv, MODELS[0], "auto")
    seen = []

    async def many():
        await asyncio.gather(*[c.acomplete([{"role": "user", "content": f"q{i}"}]) for i in range(20)])
        seen.append(lean_transport._SESSIONS[asyncio.get_running_loop()][0])
        await c.acomplete(MSG)
        assert lean_transport._SESSIONS[asyncio.get_running_loop()][0] is seen[0]

    asyncio.run(many())
    assert len(srv.requests) == 21
    assert seen[0].closed  # closed by the loop's shutdown, no warning about an unclosed session

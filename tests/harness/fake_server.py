"""A loopback OpenAI-compatible chat server for tests and benchmarks.

It stands in for an OpenAI-compatible endpoint (`POST /v1/chat/completions`, as vLLM or the OpenAI
API serve it): it answers with the JSON shape of a chat completion (`choices[0].message` with
`content` and/or `tool_calls`, `usage`), so litellm's real HTTP path (`openai/<name>` with
`api_base`) runs end to end. What it answers comes from a `brain(request_json) -> dict` callable
(`{"content": str}` or `{"tool_calls": [{"name":..., "arguments": str|dict}]}`); faults (429, 500,
a hang, malformed tool calls, empty content) are injected at given rates from a seeded generator,
scripted for the first calls, or chosen per request by `fault_for`. The error bodies are those the
OpenAI API sends (`{"error": {"message", "type", "code"}}`), including its 401 for a wrong key, 404
for an unknown model and 400 `context_length_exceeded`. With `api_key` set, a request whose bearer
token differs is refused with 401, as the OpenAI API does. Every request body is recorded in
`requests`. As an OpenAI-compatible server does, the text ends before the first of the request's
`stop` strings (which is left out), and a reply longer than the request's `max_tokens` (counted here
as 4 characters a token) is cut there with `finish_reason: "length"`.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiohttp import web

Brain = Callable[[dict[str, Any]], dict[str, Any]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prompt_text(request: dict[str, Any]) -> str:
    """All message contents of a request, joined."""
    parts = []
    for m in request.get("messages", []):
        c = m.get("content")
        if isinstance(c, list):
            c = " ".join(p.get("text", "") for p in c if isinstance(p, dict))
        parts.append(c or "")
    return "\n".join(parts)


class FakeOpenAIServer:
    """A scripted chat-completions server on 127.0.0.1, in a background thread.

    faults: rates in [0, 1] for "429", "500", "hang", "malformed", "empty" (drawn once per call, in
    that order, from one seeded generator); `fault_sequence` scripts the first calls' faults (also
    "400", "401", "404", "context"); `fault_for(request_json)` picks a fault for one request (None:
    answer normally) before both. `latency` seconds are added to every answer;
    `hang_seconds` is how long a hang lasts (longer than the client's timeout). `api_key`: the only
    bearer token accepted (None: any).
    """

    def __init__(
        self,
        brain: Brain,
        *,
        latency: float = 0.0,
        faults: dict[str, float] | None = None,
        hang_seconds: float = 5.0,
        seed: int = 0,
        record: bool = True,
        fault_sequence: list[str | None] | None = None,
        fault_for: Callable[[dict[str, Any]], str | None] | None = None,
        api_key: str | None = None,
    ):
        self.brain = brain
        self.latency = latency
        self.faults = dict(faults or {})
        # faults for the first calls, in order (None: answer normally), before the random rates apply
        self.fault_sequence = list(fault_sequence or [])
        self.hang_seconds = hang_seconds
        self.fault_for = fault_for
        self.api_key = api_key
        self.rng = random.Random(seed)
        self.record = record
        self.requests: list[dict[str, Any]] = []
        self.fault_counts: Counter = Counter()
        self.port = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._ids = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> FakeOpenAIServer:
        self.port = free_port()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="fake-openai")
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("fake server did not start")
        return self

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._handle)
        app.router.add_post("/chat/completions", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, backlog=1024)
        self._loop.run_until_complete(site.start())
        self._started.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- answering ----------------------------------------------------------------------------
    def _draw_fault(self, body: dict[str, Any]) -> str | None:
        if self.fault_for is not None:
            kind = self.fault_for(body)
            if kind:
                with self._lock:
                    self.fault_counts[kind] += 1
                return kind
        with self._lock:
            if self.fault_sequence:
                kind = self.fault_sequence.pop(0)
                if kind:
                    self.fault_counts[kind] += 1
                return kind
            for kind in ("429", "500", "hang", "malformed", "empty"):
                rate = self.faults.get(kind, 0.0)
                if rate and self.rng.random() < rate:
                    self.fault_counts[kind] += 1
                    return kind
        return None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.record:
            with self._lock:
                self.requests.append(body)
        if self.api_key is not None and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            with self._lock:
                self.fault_counts["wrong_key"] += 1
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        fault = self._draw_fault(body)
        if self.latency:
            await asyncio.sleep(self.latency)
        if fault == "429":
            return web.json_response(
                {"error": {"message": "rate limited", "type": "rate_limit", "code": 429}}, status=429
            )
        if fault == "400":
            return web.json_response(
                {"error": {"message": "bad request", "type": "invalid_request"}}, status=400
            )
        if fault == "401":
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        if fault == "404":
            return _error(
                404,
                f"The model `{body.get('model')}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            )
        if fault == "context":
            return _error(
                400,
                "This model's maximum context length is 8192 tokens. However, your messages resulted in "
                "9000 tokens. Please reduce the length of the messages.",
                "invalid_request_error",
                "context_length_exceeded",
            )
        if fault == "500":
            return web.json_response({"error": {"message": "boom", "type": "server_error"}}, status=500)
        if fault == "hang":
            await asyncio.sleep(self.hang_seconds)
        try:
            answer = self.brain(body)
        except Exception as exc:  # a broken brain is a test bug: say so loudly in the answer
            answer = {"content": f"BRAIN ERROR {type(exc).__name__}: {exc}"}
        answer = _apply_limits(body, answer)
        if fault == "empty":
            answer = {"content": ""}
        elif fault == "malformed":
            if body.get("tools"):
                answer = {"tool_calls": [{"name": "Finish", "arguments": '{"answer": '}]}
            else:
                answer = {"content": "I will call <CALL_BEGIN>LoadDB flights"}
        return web.json_response(self._completion(body, answer))

    def _completion(self, body: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._ids += 1
            n = self._ids
        message: dict[str, Any] = {"role": "assistant", "content": answer.get("content")}
        finish = answer.get("finish_reason", "stop")
        if answer.get("tool_calls"):
            finish = "tool_calls"
            message["tool_calls"] = [
                {
                    "id": f"call_{n}_{i}",
                    "type": "function",
                    "function": {
                        "name": tc["name"],
                        "arguments": tc["arguments"]
                        if isinstance(tc["arguments"], str)
                        else json.dumps(tc["arguments"]),
                    },
                }
                for i, tc in enumerate(answer["tool_calls"])
            ]
        prompt_tokens = max(1, len(prompt_text(body)) // 4)
        completion_tokens = max(1, len(json.dumps(message)) // 4)
        return {
            "id": f"chatcmpl-{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def _apply_limits(body: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """The brain's answer as the request's `stop` and `max_tokens` leave it."""
    text = answer.get("content")
    if not isinstance(text, str):
        return answer
    stops = body.get("stop") or []
    if isinstance(stops, str):
        stops = [stops]
    cuts = [i for i in (text.find(st) for st in stops if st) if i >= 0]
    if cuts:
        text = text[: min(cuts)]
    finish = "stop"
    cap = body.get("max_tokens")
    if isinstance(cap, int) and cap > 0 and len(text) > 4 * cap:
        text, finish = text[: 4 * cap], "length"
    return {**answer, "content": text, "finish_reason": finish}


def _error(status: int, message: str, kind: str, code: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind, "code": code}}, status=status)


def _cli() -> None:  # `python -m tests.harness.fake_server --latency 0.2` for benchmarks by hand
    import argparse

    from tests.harness.scripted import ScriptedModel

    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--port-file", default=None)
    args = ap.parse_args()
    server = FakeOpenAIServer(ScriptedModel(), latency=args.latency, record=False).start()
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write(str(server.port))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    _cli()

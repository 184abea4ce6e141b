"""The oracle: replays the gold tool chain of each task, then finishes with the gold answer.

It needs the env to reveal the gold (`reset(options={"reveal_gold": True})`; the runner does so for
policies with `needs_gold = True`). It is the ceiling every other policy is measured against and the
env's self-test: on generated ToolQA-Synth questions it must reach reward 1 in every episode.
"""

from __future__ import annotations

import logging
from typing import Any

from seer_env.policy import Policy
from seer_env.types import ToolCall

log = logging.getLogger(__name__)


class OraclePolicy(Policy):
    """Replay `info["gold"]["chain"]`, then `Finish[gold answer]` unless the chain already finishes."""

    name = "oracle"
    needs_gold = True

    def __init__(self, finish_tool: str = "Finish", answer_param: str = "answer"):
        self.finish_tool = finish_tool
        self.answer_param = answer_param
        self._queue: list[ToolCall] = []
        self._finish: ToolCall | None = None

    def reset(self, *, seed: int | None = None, info: dict[str, Any] | None = None) -> None:
        self._queue, self._finish = self._plan(info or {})

    def _plan(self, info: dict[str, Any]) -> tuple[list[ToolCall], ToolCall]:
        gold = info.get("gold")
        if not isinstance(gold, dict):
            log.warning("oracle: no gold in the reset info (reset with options={'reveal_gold': True})")
            return [], ToolCall(self.finish_tool, {self.answer_param: ""})
        chain = []
        for c in gold.get("chain") or []:
            try:
                chain.append(c if isinstance(c, ToolCall) else ToolCall.from_dict(c))
            except (KeyError, TypeError, AttributeError):
                log.warning("oracle: skipping a malformed gold call %r", c)
        answer = gold.get("answer")
        finish = ToolCall(self.finish_tool, {self.answer_param: "" if answer is None else str(answer)})
        if chain and chain[-1].name == self.finish_tool:
            finish = chain.pop()
        return chain, finish

    async def act(self, observation: str, info: dict[str, Any]) -> ToolCall:
        if self._finish is None:  # act without reset: plan from this info
            self._queue, self._finish = self._plan(info)
        if self._queue:
            return self._queue.pop(0)
        return self._finish

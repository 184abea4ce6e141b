"""Intent labels for τ-bench: which state-changing tools a conversation used.

SEER's intent for a τ-bench task is the kind of request (cancel, modify, book, ...). We read it off
the tools: a trajectory's intent is the sorted set of state-changing tools it called, joined by "+"
("cancel_pending_order", "modify_pending_order_items+modify_pending_order_payment"), or "none" when
it changed nothing. Which tools count as state-changing is a heuristic over the names (read-only tools
of both domains start with get_/find_/list_/search_, plus calculate and think) and can be overridden.
`transfer_to_human_agents` counts: handing over is the outcome of a request type of its own.
"""

from __future__ import annotations

from collections.abc import Iterable

READ_ONLY_PREFIXES = ("get_", "find_", "list_", "search_")
READ_ONLY_TOOLS = frozenset({"calculate", "think", "respond"})
NO_INTENT = "none"


def state_changing_tools(tool_names: Iterable[str], write_tools: Iterable[str] | None = None) -> list[str]:
    """The tools among `tool_names` that count as intents (`write_tools` overrides the heuristic)."""
    names = list(dict.fromkeys(tool_names))
    if write_tools is not None:
        allowed = set(write_tools)
        return [n for n in names if n in allowed]
    return [n for n in names if n not in READ_ONLY_TOOLS and not n.startswith(READ_ONLY_PREFIXES)]


def intent_of(used_tools: Iterable[str], write_tools: Iterable[str]) -> str:
    """The intent label of a trajectory that called `used_tools`."""
    allowed = set(write_tools)
    used = sorted({n for n in used_tools if n in allowed})
    return "+".join(used) if used else NO_INTENT


def parse_intent(text: str | None, write_tools: Iterable[str]) -> str:
    """Read an intent from an LLM's answer: every known state-changing tool it names (or "none")."""
    if not text:
        return NO_INTENT
    lowered = text.lower()
    return intent_of((t for t in write_tools if t.lower() in lowered), write_tools)

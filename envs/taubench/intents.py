"""Intent labels for τ-bench: which state-changing tools a conversation used.

SEER's intent for a τ-bench task is the kind of request (cancel, modify, book, ...). We read it off
the tools: a trajectory's intent is the sorted set of state-changing tools it called, joined by "+"
("cancel_pending_order", "modify_pending_order_items+modify_pending_order_payment"), or "none" when
it changed nothing. Which tools count as state-changing is a heuristic over the names (read-only tools
of both domains start with get_/find_/list_/search_, plus calculate and think) and can be overridden.
`transfer_to_human_agents` counts: handing over is the outcome of a request type of its own.

`intent_examples` gives a worked example per state-changing tool of the env (a customer's opening
message and the request type it calls for), for a few-shot intent prediction; written for seer-env.
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


# a customer's opening message per state-changing tool of retail and airline (our own wording)
_EXAMPLE_MESSAGES: dict[str, str] = {
    "cancel_pending_order": "Hi, I ordered a desk lamp yesterday but I no longer need it. Can you cancel it?",
    "modify_pending_order_items": "My order hasn't shipped yet; I'd like the blue version of the kettle "
    "instead of the red one.",
    "modify_pending_order_address": "I just placed an order but I'm moving. Please send it to my new "
    "address instead.",
    "modify_pending_order_payment": "For my pending order, I want to pay with my gift card instead of "
    "the credit card.",
    "modify_user_address": "I moved last month, please update the address on my account.",
    "return_delivered_order_items": "The headphones I received don't fit well. I want to return them for "
    "a refund.",
    "exchange_delivered_order_items": "The hiking boots that arrived are a size too small; can I swap "
    "them for a larger size?",
    "book_reservation": "I need a one-way economy flight from Boston to Seattle on May 20 for two people.",
    "cancel_reservation": "Something came up and I can't travel. Please cancel my reservation.",
    "update_reservation_flights": "Can I move my return flight two days later, same cabin?",
    "update_reservation_baggages": "I want to add one more checked bag to my trip next week.",
    "update_reservation_passengers": "The second passenger on my booking should be my sister, not my "
    "brother.",
    "send_certificate": "My flight was delayed five hours and I missed a meeting. I'd like some "
    "compensation.",
    "transfer_to_human_agents": "I need to speak with a real person about a complaint, not a bot.",
}


def intent_examples(write_tools: Iterable[str]) -> list[dict[str, str]]:
    """Worked examples of intent prediction for the env's state-changing tools (those we have one for)."""
    out = []
    for tool in write_tools:
        msg = _EXAMPLE_MESSAGES.get(tool)
        if msg is not None:
            out.append(
                {"query": msg, "thought": f"Resolving it needs {tool.replace('_', ' ')}.", "label": tool}
            )
    return out

"""What ToolQA is made of, in one place: its domains, and what it tells generic policies about them.

The eight domains, easy and hard question sets (gsm8k has no hard set), and the `EnvInfo` every
ToolQA env puts in its reset info: the pool namespace `toolqa`, the domains as intent labels with what
each covers (for SEER's intent classifier) and a hint line naming the tools it calls for (SEER's
scratchpad hint), and the retrieval tools whose output exemplars omit.
"""

from __future__ import annotations

from seer_env.policy import EnvInfo

DOMAINS = ("flight", "coffee", "yelp", "airbnb", "dblp", "scirex", "agenda", "gsm8k")
HARD_DOMAINS = tuple(d for d in DOMAINS if d != "gsm8k")  # the released hard set has no gsm8k
DIFFICULTIES = ("easy", "hard")
QUESTION_SETS = {"easy": DOMAINS, "hard": HARD_DOMAINS}

POOL_NAMESPACE = "toolqa"
RETRIEVAL_TOOLS = ("RetrieveAgenda", "RetrieveScirex")

# What each domain's questions are about, for an intent classifier.
INTENT_DESCRIPTIONS: dict[str, str] = {
    "flight": "US domestic flights of 2022 in a table: departure and arrival times, delays, airlines, "
    "flight numbers, distances, cancellations",
    "coffee": "a table of daily coffee futures prices: open, high, low, close, volume, by date",
    "yelp": "a table of businesses listed on Yelp: name, address, city, state, postal code, star rating, "
    "review count, opening hours, categories",
    "airbnb": "a table of New York Airbnb listings: host, neighbourhood, price, room type, minimum nights, "
    "reviews, availability",
    "dblp": "the DBLP graphs of papers and authors: who wrote what, co-authors, citations, venues, "
    "numbers of papers or citations",
    "scirex": "results reported in machine-learning papers: which method scores what on which dataset "
    "under which metric",
    "agenda": "a personal calendar: events, who attends them, when and where they happen",
    "gsm8k": "grade-school math word problems to compute",
}

# The tool subset each domain calls for (the SEER reference's hint line, reworded).
INTENT_HINTS: dict[str, str] = {
    "flight": "Hint: a flights table question. Use LoadDB, FilterDB, GetValue, Calculate or SQLInterpreter "
    "step by step, then Finish. Times need no conversion.",
    "coffee": "Hint: a coffee prices table question. Use LoadDB, FilterDB, GetValue, Calculate or "
    "SQLInterpreter step by step, then Finish.",
    "yelp": "Hint: a yelp businesses table question. Use LoadDB, FilterDB, GetValue, Calculate or "
    "SQLInterpreter step by step, then Finish.",
    "airbnb": "Hint: an airbnb listings table question. Use LoadDB, FilterDB, GetValue, Calculate or "
    "SQLInterpreter step by step, then Finish.",
    "dblp": "Hint: a DBLP graph question. Use LoadGraph, then NeighbourCheck, NodeCheck or EdgeCheck, "
    "then Finish.",
    "scirex": "Hint: a paper results question. Use RetrieveScirex, then Finish.",
    "agenda": "Hint: a calendar question. Use RetrieveAgenda, then Finish.",
    "gsm8k": "Hint: a math word problem. Use PythonInterpreter (put the result in a variable named answer), "
    "then Finish.",
}


def env_info() -> EnvInfo:
    """The family facts of every ToolQA env (fresh objects each call: an env's infos never share one)."""
    return {
        "pool_namespace": POOL_NAMESPACE,
        "intent_labels": list(DOMAINS),
        "intent_descriptions": dict(INTENT_DESCRIPTIONS),
        "intent_hints": dict(INTENT_HINTS),
        "retrieval_tools": list(RETRIEVAL_TOOLS),
    }

"""What ToolQA is made of, in one place: its domains, and what it tells generic policies about them.

The eight domains, easy and hard question sets (gsm8k has no hard set), and the `EnvInfo` every
ToolQA env puts in its reset info: the pool namespace `toolqa`, the domains as intent labels with what
each covers and a worked example each (for SEER's few-shot intent classifier), a hint line naming the
tools it calls for (SEER's scratchpad hint), and the retrieval tools whose output exemplars omit.
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
    "gsm8k": "Hint: a math word problem. Use PythonInterpreter (put the result in a variable named "
    "{answer_var}), then Finish.",
}

# Worked examples for a few-shot intent classifier, one per domain (written for seer-env; the SEER
# reference's classifier also shows one per dataset): a question, the reasoning, the label.
INTENT_EXAMPLES: tuple[dict[str, str], ...] = (
    {
        "query": "Which airline operated flight 1342 from ORD to LGA on 2022-03-18?",
        "thought": "It asks about a flight on a given day: the flights table has airlines and flight numbers.",
        "label": "flight",
    },
    {
        "query": "What was the closing price of coffee on 2019-06-14?",
        "thought": "A daily coffee price: the coffee prices table.",
        "label": "coffee",
    },
    {
        "query": "How many stars does Blue Door Diner in Tucson, AZ have?",
        "thought": "A business's star rating in a city: the Yelp businesses table.",
        "label": "yelp",
    },
    {
        "query": "How much does the listing 'Sunny loft near the park' in Harlem cost per night?",
        "thought": "A rental listing's nightly price in a New York neighbourhood: the Airbnb table.",
        "label": "airbnb",
    },
    {
        "query": "Which organization does Ana Ferreira, co-author of a graph neural network paper, work for?",
        "thought": "Authors, co-authors and their organizations live in the DBLP graphs.",
        "label": "dblp",
    },
    {
        "query": "What F1 score does the BiLSTM-CRF method get on CoNLL-2003 for named entity recognition?",
        "thought": "A score a method reaches on a dataset under a metric: results of papers.",
        "label": "scirex",
    },
    {
        "query": "Where is Priya's pottery class on 2022/09/03?",
        "thought": "Someone's event on a date: a personal calendar.",
        "label": "agenda",
    },
    {
        "query": "Tom reads 12 pages a day for 5 days and then 20 pages a day for 3 days. How many pages does "
        "he read?",
        "thought": "A word problem to compute, with no table or document behind it.",
        "label": "gsm8k",
    },
)


def env_info(answer_var: str = "answer") -> EnvInfo:
    """The family facts of every ToolQA env (fresh objects each call: an env's infos never share one).

    answer_var: the variable PythonInterpreter returns under the env's tool profile, named in the
    gsm8k hint so that code following the hint is read back (`ans` under `toolqa`, `answer` under
    `seer`)."""
    return {
        "pool_namespace": POOL_NAMESPACE,
        "intent_labels": list(DOMAINS),
        "intent_descriptions": dict(INTENT_DESCRIPTIONS),
        "intent_hints": {d: h.replace("{answer_var}", answer_var) for d, h in INTENT_HINTS.items()},
        "intent_examples": [dict(e) for e in INTENT_EXAMPLES],
        "retrieval_tools": list(RETRIEVAL_TOOLS),
        "answer_tool": "Finish",
    }

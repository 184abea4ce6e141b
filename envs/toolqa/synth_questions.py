"""Questions for a (generated) ToolQA corpus: every template of spec §4, with gold answers and gold chains.

`generate_questions(corpus_dir, difficulty, per_template=None, seed=0)` instantiates the 55 easy and 62 hard
templates (gsm8k has no template) in the official wording, computes each answer from the corpus with the
semantics the tools expose (every cell is the string pandas 1.x `astype(str)` gives, FilterDB compares
strings), and records a gold tool chain: the tool calls that lead to the answer through the env's tools.
Where the answer needs arithmetic the chain ends with a PythonInterpreter call over the values the previous
GetValue/EdgeCheck/NodeCheck calls returned, so its observation is the answer itself. Chains use at most 19
calls, so the oracle finishes within the env's 20 steps.

Where the official generator's gold disagrees with its own wording, the generated gold FOLLOWS THE WORDING:

- flight easy "How long was the different between the CRS recorded departure time and actual departure
  time": minutes between the two HHMM clock times (official: difference of the raw HHMM numbers).
- flight hard "What percentage of the flights from {O} were delayed on {date}?": share of that origin's
  flights on that date with DepDelayMinutes > 0, cancelled flights in the denominator (official: the share
  of CANCELLED flights).
- flight hard "average delay time of all the flights that departed": mean DepDelayMinutes over flights that
  departed (official: NaN rows of cancelled flights counted in the denominator).
- flight hard "distance greater than 500 miles": Distance > 500 (official: > 300).
- coffee hard "coffee price range from {s} to {e}": max High - min Low (official: max High, min set to 0).
- yelp hard: "{cat} businesses" means `cat` is one of the business's categories (official: regex substring
  match, so "Bars" also counted "Wine Bars"); "in {city}, {state}" filters on both.
- yelp hard "within a 5-mile radius": great-circle distance <= 5 miles (official: a +-5 km box).
- yelp hard "nearest {cat} business to {name}": nearest by great-circle distance anywhere, excluding the
  business itself (official: same city only, squared degree distance, could return the business itself).
- yelp hard "Can you recommend a {cat} business with the highest star rating within a 5-mile radius of
  {address}": the category is applied (official: category filter overwritten, any business).
- airbnb hard "within 5 miles" / "within 10 miles": great-circle distance in miles (official: a 5 km box /
  a 0.13-degree Euclidean radius).
- airbnb hard "most expensive entire home/apt": numerically highest price (official: highest price STRING,
  so '$999 ' beat '$1,200 '); answered as the price without the trailing space, as released.
- airbnb hard "review rate higher than 4": review rate number > 4 (official: >= 4).
- airbnb hard "hotel room with the lowest price": room type `Hotel room`, numerically lowest price
  (official: any room type, lowest price string).
- dblp easy "How many papers did {a1} and {a2} write together": number of distinct papers on their
  AuthorNet edge (official: number of common collaborators).
- dblp easy/hard "What papers did {a} write" / "How many papers did {a} write" / venue, keyword and citation
  questions over an author's papers: each distinct paper counted once (official: the edge lists repeat a
  paper 2k-1 times and every co-author edge repeats it again); the author is chosen so that all their
  papers are co-authored (solo papers are invisible to every tool).
- dblp hard "Which venue does {a} publish the most papers": the venue with most distinct papers (official:
  a list built from the last paper of each edge).
- dblp hard "How many papers in all do {a} and his/her collaborators have": distinct papers on AuthorNet
  edges incident to the author or a collaborator (official: number of EDGES of the 2-hop subgraph).
- dblp hard "What institutions participated in the study of {title}": distinct non-empty orgs in author
  order joined "; " (official: Python set order, empty org included).
- dblp hard "What keywords does {a} focus on most": the most frequent keyword(s) over the author's papers,
  ties joined ", " in first-seen order (official: the union of all keywords in set order).
- scirex hard "Which datasets is {Method} method evaluated on for {Task} task?": every dataset with a
  relation for that method and task, joined ", " (official: only the sampled relation's dataset).
- scirex hard "highest ... score": highest numeric score among relations whose score parses as a number.
- agenda hard "When should I schedule a meeting with {p} from 9:00 AM to 6:00 PM": free gaps of at least 60
  minutes inside 9:00 AM-6:00 PM between that person's events of the day, clipped to the window
  (official: negative gaps wrapped by `timedelta.seconds`, windows not clipped).

Other choices: questions that the official generator would make unanswerable by its own tool chain are
resampled (airline names, airbnb names or titles containing ", " are never used in a FilterDB condition:
the chain filters on the carrier code or the listing id instead; "How many papers did {title} cite" uses
papers whose references are all 2021+ papers; "Who are the authors of {title}" uses 2021+ papers). "How many
papers in the DBLP citation network cited {title}?" keeps its official gold (in-degree) although no tool
lists citing papers (its chain only loads the graph). Agenda hard questions aggregate over many events,
which three retrieved descriptions cannot show; their chains retrieve and finish. Easy agenda questions that
name a person and a time ("What did {p} do from ... on {date}?") or an event and a time ("Who attended ...")
are often not found by a dense retriever (it does not tell dates apart); their chains retrieve and finish.
Kept as in the official generator: "How many flights from {O} to {D} host by {airline}?" counts distinct
flight numbers; "Who collaborated with {a} most" keeps ties; scirex easy answers keep the raw score (a few are
JSON numbers); the agenda "unavailble" spelling is used for every question of that template.

Chains use the reference tools only: LoadDB/FilterDB/GetValue (conditions never carry ", "), SQLInterpreter
where the yelp `categories` cell (which contains ", ") must be matched, PythonInterpreter for arithmetic over
values copied from earlier observations, the graph tools, and the retrievers.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import pickle
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seer_env.types import ToolCall

log = logging.getLogger(__name__)

MAX_CHAIN = 19  # tool calls before Finish; the env allows 20 steps

# ---------------------------------------------------------------------------------------- tools


def _tc(name: str, **args: str) -> ToolCall:
    return ToolCall(name, {k: str(v) for k, v in args.items()})


def load_db(name: str) -> ToolCall:
    return _tc("LoadDB", DBName=name)


def filter_db(conds: list[tuple[str, str, str]]) -> ToolCall:
    return _tc("FilterDB", condition=", ".join(f"{c}{op}{v}" for c, op, v in conds))


def get_value(col: str) -> ToolCall:
    return _tc("GetValue", column_name=col)


def python(code: str) -> ToolCall:
    return _tc("PythonInterpreter", Python=code)


def load_graph() -> ToolCall:
    return _tc("LoadGraph", GraphName="dblp")


def neighbours(graph: str, node: str) -> ToolCall:
    return _tc("NeighbourCheck", GraphName=graph, Node=node)


def node_check(graph: str, node: str) -> ToolCall:
    return _tc("NodeCheck", GraphName=graph, Node=node)


def edge_check(graph: str, a: str, b: str) -> ToolCall:
    return _tc("EdgeCheck", GraphName=graph, Node1=a, Node2=b)


def retrieve(kind: str, keyword: str) -> ToolCall:
    return _tc("RetrieveAgenda" if kind == "agenda" else "RetrieveScirex", keyword=keyword)


# ---------------------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class Template:
    tid: str  # e.g. "flight-easy-01"
    domain: str
    difficulty: str
    wording: str  # with {placeholders}
    count: int  # official number of questions
    fn: str  # generator method name
    verify: bool = True  # the chain's last observation holds the answer

    def regex(self) -> re.Pattern:
        """A pattern matching questions of this template (placeholders match any text)."""
        parts = re.split(r"\{[a-z0-9_]+\}", self.wording)
        return re.compile("^" + "(.+?)".join(re.escape(p) for p in parts) + "$")


def _t(domain, difficulty, n, wording, count, fn, verify=True) -> Template:
    return Template(f"{domain}-{difficulty}-{n:02d}", domain, difficulty, wording, count, fn, verify)


TEMPLATES: list[Template] = [
    # ---- flight easy
    _t("flight", "easy", 1, "What was the departure time of the {flight} flight from {origin} to {dest} on {date}?", 10, "fe_clock:DepTime"),
    _t("flight", "easy", 2, "Was the flight {flight} from {origin} to {dest} cancelled on {date}?", 10, "fe_cancelled"),
    _t("flight", "easy", 3, "What is the flight number of the {airline} flight from {origin} to {dest} on {date}?", 10, "fe_number"),
    _t("flight", "easy", 4, "How long was the different between the CRS recorded departure time and actual departure time of the {flight} flight from {origin} to {dest} on {date}?", 10, "fe_crs_diff"),
    _t("flight", "easy", 5, "How long did {flight} delay when arrival on {date}?", 10, "fe_arr_delay"),
    _t("flight", "easy", 6, "How many extra minutes did the {flight} flight take from {origin} to {dest} on {date}?", 10, "fe_extra"),
    _t("flight", "easy", 7, "What was the local arrival time of the {flight} flight from {origin} to {dest} on {date}?", 10, "fe_clock:ArrTime"),
    _t("flight", "easy", 8, "What was the CRS-recorded arrival time of the {flight} flight from {origin} to {dest} on {date}?", 10, "fe_clock:CRSArrTime"),
    _t("flight", "easy", 9, "How long was the flight {flight} from {origin} to {dest} on {date}?", 10, "fe_int:AirTime"),
    _t("flight", "easy", 10, "How many minutes did the {flight} flight take to taxi in on {date}?", 10, "fe_int:TaxiIn"),
    # ---- flight hard
    _t("flight", "hard", 1, "What percentage of the flights from {origin} were delayed on {date}?", 10, "fh_pct_delayed"),
    _t("flight", "hard", 2, "What is the average delay time of all the flights that departed from {origin} on {date}?", 10, "fh_avg_delay"),
    _t("flight", "hard", 3, "How many flights were diverted on {date}?", 10, "fh_diverted"),
    _t("flight", "hard", 4, "How many flights with a distance greater than 500 miles on {date}?", 10, "fh_distance"),
    _t("flight", "hard", 5, "What is the average airtime of the flights from {origin} to {dest} host by {airline}?", 10, "fh_avg_airtime"),
    _t("flight", "hard", 6, "How many flights from {origin} to {dest} host by {airline}?", 10, "fh_n_flights"),
    _t("flight", "hard", 7, "What is the average flight time of {flight}?", 10, "fh_avg_flight_time"),
    _t("flight", "hard", 8, "What is the fastest flight from {origin} to {dest} on {dow}?", 10, "fh_fastest"),
    _t("flight", "hard", 9, "What is the average speed of {flight} from {origin} to {dest} (miles per minute)?", 10, "fh_speed"),
    _t("flight", "hard", 10, "What is the total number of flights operated by {airline} on {date}?", 10, "fh_total"),
    # ---- coffee easy
    _t("coffee", "easy", 1, "What was the opening price of coffee on {date}?", 13, "ce_col:Open"),
    _t("coffee", "easy", 2, "What was the lowest price of coffee on {date}?", 13, "ce_col:Low"),
    _t("coffee", "easy", 3, "What was the highest price of coffee on {date}?", 13, "ce_col:High"),
    _t("coffee", "easy", 4, "What was the closing price of coffee on {date}?", 13, "ce_col:Close"),
    _t("coffee", "easy", 5, "What was the volume of coffee on {date}?", 12, "ce_col:Volume"),
    _t("coffee", "easy", 6, "What was the percentage change in coffee price on {date}, based on the difference between the opening and closing prices?", 12, "ce_pct"),
    _t("coffee", "easy", 7, "Was {date} a bearish or bullish day for coffee price?", 12, "ce_bull"),
    _t("coffee", "easy", 8, "What was the range of coffee price on {date}, based on the difference between the high and low prices??", 12, "ce_range"),
    # ---- coffee hard
    _t("coffee", "hard", 1, "What was the highest coffee price from {start} to {end}?", 10, "ch_max_high"),
    _t("coffee", "hard", 2, "What was the lowest coffee price from {start} to {end}?", 10, "ch_min_low"),
    _t("coffee", "hard", 3, "What was the average coffee price from {start} to {end}?", 10, "ch_avg_close"),
    _t("coffee", "hard", 4, "How much did the coffee price change from {start} to {end}?", 10, "ch_change"),
    _t("coffee", "hard", 5, "What was the percentage change in coffee price on {date} compared to the previous day?", 10, "ch_pct_prev"),
    _t("coffee", "hard", 6, "On which date from {start} to {end} was the difference between the highest and lowest coffee prices the greatest?", 10, "ch_max_spread"),
    _t("coffee", "hard", 7, "What was the average daily volume of coffee traded from {start} to {end}?", 10, "ch_avg_volume"),
    _t("coffee", "hard", 8, "On which date from {start} to {end} did the coffee price have the highest increase compared to the previous day?", 10, "ch_max_increase"),
    _t("coffee", "hard", 9, "How many times from {start} to {end} did the coffee price increase compared to the previous day?", 10, "ch_n_increase"),
    _t("coffee", "hard", 10, "What was the percentage increase in coffee price from {start} to {end}?", 10, "ch_pct_increase"),
    _t("coffee", "hard", 11, "What was the coffee price range from {start} to {end}?", 10, "ch_range"),
    _t("coffee", "hard", 12, "On how many days from {start} to {end} did the coffee price close higher than the opening price?", 10, "ch_n_up_days"),
    _t("coffee", "hard", 13, "What was the average percentage change in coffee price from {start} to {end}?", 10, "ch_avg_pct"),
    # ---- yelp easy
    _t("yelp", "easy", 1, "What is the address of {name} in area with postal code {postal_code}?", 10, "ye_address"),
    _t("yelp", "easy", 2, "Which city is {name} located in {state}?", 9, "ye_city"),
    _t("yelp", "easy", 3, "What state is {name} located in?", 9, "ye_state"),
    _t("yelp", "easy", 4, "What is the postal code of {name} in {city}, {state}?", 9, "ye_postal"),
    _t("yelp", "easy", 5, "What is the star rating of {name} in area with postal code {postal_code}, {city}, {state}?", 9, "ye_col:stars"),
    _t("yelp", "easy", 6, "How many reviews does {name} receive in the area with postal code {postal_code}, {city}, {state}, received?", 9, "ye_col:review_count"),
    _t("yelp", "easy", 7, "Is {name} still open in area with postal code {postal_code}, {city}, {state}?", 9, "ye_open"),
    _t("yelp", "easy", 8, "Does {name} require appointment in area with postal code {postal_code}, {city}, {state}?", 9, "ye_appointment"),
    _t("yelp", "easy", 9, "What are the hours of operation for {name} in area with postal code {postal_code}, {city}, {state}?", 9, "ye_hours"),
    _t("yelp", "easy", 10, "What categories does {name} belong to, in area with postal code {postal_code}, {city}, {state}?", 9, "ye_col:categories"),
    _t("yelp", "easy", 11, "What are the coordinates of {name} in area with postal code {postal_code}, {city}, {state}?", 9, "ye_coords"),
    # ---- yelp hard
    _t("yelp", "hard", 1, "How many {category} businesses are there in {city}, {state}?", 10, "yh_n_cat"),
    _t("yelp", "hard", 2, "How many businesses are there in {postal_code} area of {city}, {state}?", 10, "yh_n_postal"),
    _t("yelp", "hard", 3, "Which {category} business has the highest star rating in {city}, {state}?", 10, "yh_best:stars"),
    _t("yelp", "hard", 4, "Which {category} business has the highest review count in {city}, {state}?", 10, "yh_best:review_count"),
    _t("yelp", "hard", 5, "What is the average review counts of businesses within a 5-mile radius from {name}?", 10, "yh_radius_reviews"),
    _t("yelp", "hard", 6, "Which is the nearest {category} business to {name}?", 10, "yh_nearest"),
    _t("yelp", "hard", 7, "Can you recommend a {category} business with the highest star rating within a 5-mile radius of {address}?", 10, "yh_recommend"),
    _t("yelp", "hard", 8, "How many businesses are not open currently in {city}?", 10, "yh_closed"),
    _t("yelp", "hard", 9, "What is the average star rating of {category} businesses in {city}?", 10, "yh_avg_stars"),
    _t("yelp", "hard", 10, "Which postal code region has most businesses in {city}, {state}?", 10, "yh_top_postal"),
    # ---- airbnb easy
    _t("airbnb", "easy", 1, "What is the host's name for {name} in {neighbourhood}?", 10, "ae_host"),
    _t("airbnb", "easy", 2, "How many days are {name} (id: {id}) available during a year (365 days)?", 10, "ae_int:availability 365:0"),
    _t("airbnb", "easy", 3, "What is the room type of {name} (id: {id}) in {neighbourhood}?", 10, "ae_raw:room type"),
    _t("airbnb", "easy", 4, "What is the price of {name} (id: {id}) in {neighbourhood}?", 10, "ae_raw:price"),
    _t("airbnb", "easy", 5, "What is the minimum number of nights of {name} (id: {id}) in {neighbourhood}?", 10, "ae_int:minimum nights:1"),
    _t("airbnb", "easy", 6, "When was of {name} (id: {id}) in {neighbourhood} constructed?", 10, "ae_int:Construction year:1"),
    _t("airbnb", "easy", 7, "How many reviews does {name} (id: {id}) in {neighbourhood} have?", 10, "ae_int:number of reviews:1"),
    _t("airbnb", "easy", 8, "What is the last review date of {name} (id: {id}) in {neighbourhood}?", 10, "ae_raw:last review"),
    _t("airbnb", "easy", 9, "What is the review rate number of {name} (id: {id}) in {neighbourhood}?", 10, "ae_raw:review rate number"),
    _t("airbnb", "easy", 10, "What is the average number of reviews per month of {name} (id: {id}) in {neighbourhood}?", 10, "ae_raw:reviews per month"),
    # ---- airbnb hard
    _t("airbnb", "hard", 1, "What is the total price at least if you want to stay at {name} in {neighbourhood} for {k} nights?", 10, "ah_total"),
    _t("airbnb", "hard", 2, "How many airbnbs are there in {neighbourhood}?", 10, "ah_count"),
    _t("airbnb", "hard", 3, "What is the average price of airbnbs in {neighbourhood}?", 10, "ah_avg_price"),
    _t("airbnb", "hard", 4, "What is the average review rates within 5 miles from {name} in {neighbourhood}?", 10, "ah_radius_rate"),
    _t("airbnb", "hard", 5, "How much proporion of airbnbs in {neighbourhood} have a flexible cancellation policy?", 10, "ah_flexible"),
    _t("airbnb", "hard", 6, "How much does it cost per night to stay at the most expensive entire home/apt in {neighbourhood}?", 10, "ah_max_entire"),
    _t("airbnb", "hard", 7, "How many airbnbs are there in {neighbourhood} that have a review rate higher than 4?", 10, "ah_rate_gt4"),
    _t("airbnb", "hard", 8, "Can you recommend me a hotel room with the lowest price in {neighbourhood}?", 10, "ah_cheapest_hotel"),
    _t("airbnb", "hard", 9, "Can you recommend me a private room with the highest review rate that can host at least 2 people in {neighbourhood}?", 10, "ah_private"),
    _t("airbnb", "hard", 10, "Can you recommend a shared room with the lowest price within 10 miles from {lon} longitude and {lat} latitude?", 10, "ah_shared"),
    # ---- dblp easy
    _t("dblp", "easy", 1, "Who are the authors of {title}?", 10, "de_authors"),
    _t("dblp", "easy", 2, "What organization is {author} from?", 10, "de_org"),
    _t("dblp", "easy", 3, "How many pages is {title}?", 10, "de_pages"),
    _t("dblp", "easy", 4, "How many papers did {title} cite?", 10, "de_n_cite"),
    _t("dblp", "easy", 5, "How many papers in the DBLP citation network cited {title}?", 10, "de_n_cited", False),
    _t("dblp", "easy", 6, "How many collaborators does {author} have in the DBLP citation network?", 10, "de_n_collab"),
    _t("dblp", "easy", 7, "How many papers did {author1} and {author2} write together in the DBLP citation network?", 10, "de_n_together"),
    _t("dblp", "easy", 8, "What papers did {author} write in the DBLP citation network?", 10, "de_papers"),
    _t("dblp", "easy", 9, "How many papers did {author} write in the DBLP citation network?", 10, "de_n_papers"),
    _t("dblp", "easy", 10, "What venue did {author1} and {author2} collaborate most in the DBLP citation network?", 10, "de_venue"),
    # ---- dblp hard
    _t("dblp", "hard", 1, "How many people does {author1} need to know at least to know {author2} in the DBLP citation network?", 10, "dh_distance"),
    _t("dblp", "hard", 2, "How many common collaborators does {author1} have with {author2}?", 10, "dh_common"),
    _t("dblp", "hard", 3, "Which is the most cited paper written by {author} in the DBLP citation network?", 10, "dh_most_cited"),
    _t("dblp", "hard", 4, "Which collaborator does {author} have the most citations with in the DBLP citation network?", 10, "dh_collab_citations"),
    _t("dblp", "hard", 5, "Which venue does {author} publish the most papers in the DBLP citation network?", 10, "dh_venue"),
    _t("dblp", "hard", 6, "How many accumulated citations do papers collaborated by {author1} and {author2} have in the DBLP citation network?", 10, "dh_acc_citations"),
    _t("dblp", "hard", 7, "How many papers in all do {author} and his/her collaborators have in the DBLP citation network?", 10, "dh_n_papers_2hop"),
    _t("dblp", "hard", 8, "Who collaborated with {author} most in the DBLP citation network?", 10, "dh_top_collab"),
    _t("dblp", "hard", 9, "What institutions participated in the study of {title} in the DBLP citation network?", 10, "dh_orgs"),
    _t("dblp", "hard", 10, "What keywords does {author} focus on most in the DBLP citation network?", 10, "dh_keywords"),
    # ---- scirex
    _t("scirex", "easy", 1, "What is the corresponding {metric} score of the {method} method on {dataset} dataset for {task} task?", 100, "se_score"),
    _t("scirex", "hard", 1, "On which dataset does the {method} method achieve the highest {metric} score for {task} task?", 25, "sh_best_dataset", False),
    _t("scirex", "hard", 2, "Which method achieves the highest {metric} score on {dataset} dataset for {task} task?", 25, "sh_best_method", False),
    _t("scirex", "hard", 3, "On what metrics is the {method} method evaluated on {dataset} dataset for {task} task?", 25, "sh_metrics", False),
    _t("scirex", "hard", 4, "Which datasets is {method} method evaluated on for {task} task?", 25, "sh_datasets", False),
    # ---- agenda
    _t("agenda", "easy", 1, "What did {person} do from {start} to {end} on {date}?", 20, "ge_what", False),
    _t("agenda", "easy", 2, "Where did {event} that {person} attended take place on {date}?", 20, "ge_where"),
    _t("agenda", "easy", 3, "When did {person} attend {event} on {date}?", 20, "ge_when"),
    _t("agenda", "easy", 4, "How long did {person} attend {event} on {date}?", 20, "ge_how_long"),
    _t("agenda", "easy", 5, "Who attended {event} between {start} and {end} on {date} in {location}?", 20, "ge_who", False),
    _t("agenda", "hard", 1, "How many events happen on {date} in the agenda table?", 20, "gh_n_events", False),
    _t("agenda", "hard", 2, "How many people are unavailble between {start} and {end} on {date} in the agenda table?", 20, "gh_busy", False),
    _t("agenda", "hard", 3, "When should I schedule a meeting with {person} from 9:00 AM to 6:00 PM on {date} in the agenda table?", 20, "gh_free", False),
    _t("agenda", "hard", 4, "What events does {person} have on {date} in the agenda table?", 20, "gh_events", False),
    _t("agenda", "hard", 5, "How many dates in the agenda table have {person} scheduled?", 20, "gh_n_dates", False),
]  # fmt: skip

QUESTION_DOMAINS = ("flight", "coffee", "yelp", "airbnb", "dblp", "scirex", "agenda")


def templates(difficulty: str | None = None, domain: str | None = None) -> list[Template]:
    return [
        t
        for t in TEMPLATES
        if (difficulty is None or t.difficulty == difficulty) and (domain is None or t.domain == domain)
    ]


# ---------------------------------------------------------------------------------------- helpers


def _f(s: str) -> float:
    try:
        return float(s)
    except (TypeError, ValueError):
        return math.nan


def _isnan(x: float) -> bool:
    return x != x


def _clock(hhmm: str) -> str:
    """HHMM (`2143.0`, `751`) -> `21:43`, `7:51`."""
    v = int(float(hhmm))
    return f"{v // 100}:{v % 100:02d}"


def _gv(values) -> str:
    """What GetValue prints for these cells."""
    values = list(values)
    return values[0] if len(values) == 1 else ", ".join(values)


def _vals_code(name: str, gv_text: str, conv: str = "float") -> str:
    return f"{name} = [{conv}(x) for x in {gv_text!r}.split(', ')]"


def _safe_value(v: str) -> bool:
    """A value usable in a FilterDB condition (no separator, no operator characters)."""
    return (
        bool(v)
        and ", " not in v
        and not any(c in v for c in "<>=")
        and v == v.strip(" ")
        or (bool(v) and ", " not in v and not any(c in v for c in "<>="))
    )


def _haversine_miles(lat1, lon1, lat2, lon2):
    r = 3958.7613
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(a))


_HAV_CODE = (
    "import math\n"
    "def miles(a, b, c, d):\n"
    "    p1, p2 = math.radians(a), math.radians(c)\n"
    "    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(d - b) / 2) ** 2\n"
    "    return 2 * 3958.7613 * math.asin(math.sqrt(h))\n"
)


def _miles(a, b, c, d) -> float:
    """Same arithmetic as _HAV_CODE (scalar math), so gold and chain agree to the last bit."""
    p1, p2 = math.radians(a), math.radians(c)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(d - b) / 2) ** 2
    return 2 * 3958.7613 * math.asin(math.sqrt(h))


class _Col:
    """One dictionary-encoded column: `cats` (distinct strings) and one code per row.

    Indexing with a row or an array of rows gives the cell strings, so millions of rows (the full flights
    table) cost a few bytes each instead of one Python string each.
    """

    def __init__(self, codes: np.ndarray, cats: np.ndarray):
        self.codes = codes
        self.cats = cats

    def __getitem__(self, k):
        return self.cats[self.codes[k]]

    def __len__(self) -> int:
        return len(self.codes)

    def __iter__(self):
        return iter(self.cats[self.codes])


def _encode(values) -> _Col:
    import pandas as pd

    codes, cats = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    cats = np.array(
        ["nan" if (x is None or (isinstance(x, float) and x != x)) else x for x in cats], dtype=object
    )
    return _Col(np.asarray(codes, dtype=np.int32), cats)


class _Table:
    """An all-string view of one corpus table, as the tools show it."""

    def __init__(self, cols: dict[str, _Col]):
        self.cols = cols
        self.n = len(next(iter(cols.values())))

    def __getitem__(self, c: str) -> _Col:
        return self.cols[c]

    def where(self, conds: list[tuple[str, str, str]], rows: np.ndarray | None = None) -> np.ndarray:
        """Rows FilterDB keeps for these conditions (string comparison), starting from `rows`."""
        from seer_env.envs.toolqa.tools import compare_strings

        idx = np.arange(self.n) if rows is None else np.asarray(rows)
        for c, op, v in conds:
            col = self.cols[c]
            lut = compare_strings(col.cats, op, v)
            idx = idx[lut[col.codes[idx]]]
        return idx

    def gv(self, col: str, rows: np.ndarray) -> str:
        return _gv(self.cols[col][rows].tolist())


def _read_csv_str(path: Path, usecols=None) -> _Table:
    import pandas as pd

    # every cell as its CSV text, dictionary-encoded on the fly (the full flights file has 4M rows);
    # a missing cell is what str() of pandas' NaN prints: "nan"
    df = pd.read_csv(path, dtype="category", usecols=usecols, keep_default_na=True)
    cols = {}
    for c in usecols or list(df.columns):
        cat = df[c].cat
        cats = np.array(list(cat.categories.astype(str)) + ["nan"], dtype=object)
        codes = np.asarray(cat.codes, dtype=np.int32)
        codes = np.where(codes < 0, len(cats) - 1, codes).astype(np.int32)
        cols[c] = _Col(codes, cats)
    return _Table(cols)


# ---------------------------------------------------------------------------------------- generator


class _Gen:
    def __init__(self, root: Path, difficulty: str, seed: int):
        self.root = root
        self.ext = root / "data" / "external_corpus"
        self.raw = root / "data" / "raw_data"
        self.difficulty = difficulty
        self.seed = seed
        self.rnd = random.Random(f"toolqa-synth-{seed}-{difficulty}")
        self._cache: dict[str, Any] = {}

    # ------------------------------------------------------------------ data access

    def table(self, name: str) -> _Table:
        if name not in self._cache:
            if name == "flights":
                cols = ["FlightDate", "Airline", "Origin", "Dest", "Cancelled", "Diverted", "CRSDepTime", "DepTime",
                        "DepDelayMinutes", "DepDelay", "ArrTime", "ArrDelayMinutes", "ArrDelay", "AirTime",
                        "Distance", "DayOfWeek", "IATA_Code_Marketing_Airline", "Flight_Number_Marketing_Airline",
                        "IATA_Code_Operating_Airline", "TaxiIn", "CRSArrTime"]  # fmt: skip
                self._cache[name] = _read_csv_str(self.ext / "flights" / "Combined_Flights_2022.csv", cols)
            elif name == "coffee":
                self._cache[name] = _read_csv_str(self.ext / "coffee" / "coffee_price.csv")
            elif name == "airbnb":
                self._cache[name] = _read_csv_str(self.ext / "airbnb" / "Airbnb_Open_Data.csv")
            elif name == "yelp":
                rows = []
                with open(self.ext / "yelp" / "yelp_academic_dataset_business.json", encoding="utf-8") as f:
                    for line in f:
                        rows.append(json.loads(line))
                keys = list(rows[0])
                self._cache[name] = _Table({k: _encode([str(r.get(k)) for r in rows]) for k in keys})
                self._cache["yelp_raw"] = rows
        return self._cache[name]

    def dblp(self) -> dict:
        if "dblp" not in self._cache:
            d = {}
            for k in (
                "paper_net",
                "author_net",
                "title2id_dict",
                "author2id_dict",
                "id2title_dict",
                "id2author_dict",
            ):
                with open(self.ext / "dblp" / f"{k}.pkl", "rb") as f:
                    d[k] = pickle.load(f)
            d["name_count"] = Counter(d["id2author_dict"].values())
            d["authors"] = sorted(d["author_net"].nodes)
            d["papers"] = sorted(d["id2title_dict"])
            self._cache["dblp"] = d
        return self._cache["dblp"]

    def jsonl(self, path: Path) -> list[dict]:
        key = str(path)
        if key not in self._cache:
            with open(path, encoding="utf-8") as f:
                self._cache[key] = [json.loads(x) for x in f if x.strip()]
        return self._cache[key]

    def pick(self, seq):
        return seq[self.rnd.randrange(len(seq))]

    # ------------------------------------------------------------------ driver

    def run(self, tmpl: Template, n: int) -> list[tuple[str, Any, list[ToolCall]]]:
        name, _, arg = tmpl.fn.partition(":")
        fn = getattr(self, name)
        out, seen = [], set()
        attempts = 0
        while len(out) < n and attempts < 60 * n + 200:
            attempts += 1
            try:
                r = fn(tmpl, *arg.split(":")) if arg else fn(tmpl)
            except _Skip:
                continue
            if r is None:
                continue
            q, a, chain = r
            if q in seen or len(chain) > MAX_CHAIN:
                continue
            seen.add(q)
            out.append((q, a, chain))
        if len(out) < n:
            log.warning("template %s: only %d of %d questions could be made", tmpl.tid, len(out), n)
        return out

    def fmt(self, tmpl: Template, **kw) -> str:
        return tmpl.wording.format(**kw)

    # ================================================================== flights

    def _flight_row(self, need: tuple[str, ...] = (), cancelled: bool | None = None):
        t = self.table("flights")
        i = self.rnd.randrange(t.n)
        if cancelled is not None and (t["Cancelled"][i] == "True") != cancelled:
            raise _Skip
        for c in need:
            v = _f(t[c][i])
            if _isnan(v):
                raise _Skip
        return t, i

    def _flight_key(self, t: _Table, i: int, route: bool = True) -> tuple[list, np.ndarray]:
        conds = [("IATA_Code_Marketing_Airline", "=", t["IATA_Code_Marketing_Airline"][i]),
                 ("Flight_Number_Marketing_Airline", "=", t["Flight_Number_Marketing_Airline"][i])]  # fmt: skip
        if route:
            conds += [("Origin", "=", t["Origin"][i]), ("Dest", "=", t["Dest"][i])]
        conds.append(("FlightDate", "=", t["FlightDate"][i]))
        rows = t.where(conds)
        if len(rows) != 1:
            raise _Skip
        return conds, rows

    def _fq(self, tmpl, t, i, **extra):
        return self.fmt(
            tmpl,
            flight=t["IATA_Code_Marketing_Airline"][i] + t["Flight_Number_Marketing_Airline"][i],
            origin=t["Origin"][i],
            dest=t["Dest"][i],
            date=t["FlightDate"][i],
            **extra,
        )

    def fe_clock(self, tmpl, col):
        t, i = self._flight_row((col,))
        conds, _ = self._flight_key(t, i)
        raw = t[col][i]
        ans = _clock(raw)
        chain = [load_db("flights"), filter_db(conds), get_value(col),
                 python(f"v = int(float({raw!r})); ans = '{{}}:{{:02d}}'.format(v // 100, v % 100)")]  # fmt: skip
        return self._fq(tmpl, t, i), ans, chain

    def fe_cancelled(self, tmpl):
        t, i = self._flight_row(cancelled=self.rnd.random() < 0.3)
        conds, _ = self._flight_key(t, i)
        raw = t["Cancelled"][i]
        ans = "Yes" if raw == "True" else "No"
        chain = [load_db("flights"), filter_db(conds), get_value("Cancelled"),
                 python(f"ans = 'Yes' if {raw!r} == 'True' else 'No'")]  # fmt: skip
        return self._fq(tmpl, t, i), ans, chain

    def _airline_cond(self, t: _Table, i: int) -> tuple[str, str, str]:
        name = t["Airline"][i]
        if ", " in name:  # the name would be split apart by FilterDB: use the carrier code
            return ("IATA_Code_Operating_Airline", "=", t["IATA_Code_Operating_Airline"][i])
        return ("Airline", "=", name)

    def fe_number(self, tmpl):
        t, i = self._flight_row()
        conds = [self._airline_cond(t, i), ("Origin", "=", t["Origin"][i]), ("Dest", "=", t["Dest"][i]),
                 ("FlightDate", "=", t["FlightDate"][i])]  # fmt: skip
        rows = t.where(conds)
        nums = list(dict.fromkeys(t["Flight_Number_Marketing_Airline"][rows].tolist()))
        ans = ", ".join(nums)
        gv = t.gv("Flight_Number_Marketing_Airline", rows)
        chain = [load_db("flights"), filter_db(conds), get_value("Flight_Number_Marketing_Airline")]
        if gv != ans:
            chain.append(python(f"ans = ', '.join(dict.fromkeys({gv!r}.split(', ')))"))
        return self._fq(tmpl, t, i, airline=t["Airline"][i]), ans, chain

    def fe_crs_diff(self, tmpl):
        t, i = self._flight_row(("DepTime",))
        conds, _ = self._flight_key(t, i)
        crs, dep = t["CRSDepTime"][i], t["DepTime"][i]

        def mins(x):
            v = int(float(x))
            return (v // 100) * 60 + v % 100

        d = (mins(dep) - mins(crs) + 720) % 1440 - 720
        if d == 0:
            raise _Skip
        ans = str(abs(d))
        code = (
            f"c = int(float({crs!r})); d = int(float({dep!r})); "
            "ans = abs(((d // 100) * 60 + d % 100 - (c // 100) * 60 - c % 100 + 720) % 1440 - 720)"
        )
        chain = [
            load_db("flights"),
            filter_db(conds),
            get_value("CRSDepTime"),
            get_value("DepTime"),
            python(code),
        ]
        return self._fq(tmpl, t, i), ans, chain

    def fe_arr_delay(self, tmpl):
        t, i = self._flight_row(("ArrDelayMinutes",))
        v = _f(t["ArrDelayMinutes"][i])
        if v == 0:
            raise _Skip
        conds, _ = self._flight_key(t, i, route=False)
        ans = str(float(v))
        chain = [load_db("flights"), filter_db(conds), get_value("ArrDelayMinutes")]
        return self._fq(tmpl, t, i), ans, chain

    def fe_extra(self, tmpl):
        t, i = self._flight_row(("ArrDelay", "DepDelay"))
        a, d = t["ArrDelay"][i], t["DepDelay"][i]
        v = float(a) - float(d)
        if v == 0:
            raise _Skip
        conds, _ = self._flight_key(t, i)
        chain = [load_db("flights"), filter_db(conds), get_value("DepDelay"), get_value("ArrDelay"),
                 python(f"ans = float({a!r}) - float({d!r})")]  # fmt: skip
        return self._fq(tmpl, t, i), str(v), chain

    def fe_int(self, tmpl, col):
        t, i = self._flight_row((col,))
        raw = t[col][i]
        if float(raw) == 0:
            raise _Skip
        conds, _ = self._flight_key(t, i)
        chain = [load_db("flights"), filter_db(conds), get_value(col), python(f"ans = int(float({raw!r}))")]
        return self._fq(tmpl, t, i), str(int(float(raw))), chain

    # ---- flights hard

    def fh_pct_delayed(self, tmpl):
        t, i = self._flight_row()
        conds = [("Origin", "=", t["Origin"][i]), ("FlightDate", "=", t["FlightDate"][i])]
        rows = t.where(conds)
        v = [_f(x) for x in t["DepDelayMinutes"][rows]]
        share = 100 * sum(1 for x in v if x > 0) / len(v)
        ans = f"{share:.1f}%"
        gv = t.gv("DepDelayMinutes", rows)
        code = _vals_code("v", gv) + "; ans = '{:.1f}%'.format(100 * sum(1 for x in v if x > 0) / len(v))"
        chain = [load_db("flights"), filter_db(conds), get_value("DepDelayMinutes"), python(code)]
        return self.fmt(tmpl, origin=t["Origin"][i], date=t["FlightDate"][i]), ans, chain

    def fh_avg_delay(self, tmpl):
        t, i = self._flight_row(("DepDelayMinutes",))
        conds = [("Origin", "=", t["Origin"][i]), ("FlightDate", "=", t["FlightDate"][i])]
        rows = t.where(conds)
        v = [_f(x) for x in t["DepDelayMinutes"][rows]]
        v = [x for x in v if x == x]
        ans = f"{sum(v) / len(v):.1f}"
        code = (
            _vals_code("v", t.gv("DepDelayMinutes", rows))
            + "; v = [x for x in v if x == x]; ans = '{:.1f}'.format(sum(v) / len(v))"
        )
        chain = [load_db("flights"), filter_db(conds), get_value("DepDelayMinutes"), python(code)]
        return self.fmt(tmpl, origin=t["Origin"][i], date=t["FlightDate"][i]), ans, chain

    def fh_diverted(self, tmpl):
        t = self.table("flights")
        date = t["FlightDate"][self.rnd.randrange(t.n)]
        conds = [("FlightDate", "=", date), ("Diverted", "=", "True")]
        rows = t.where(conds)
        if len(rows) == 0:
            raise _Skip
        return self.fmt(tmpl, date=date), str(len(rows)), [load_db("flights"), filter_db(conds)]

    def fh_distance(self, tmpl):
        t = self.table("flights")
        date = t["FlightDate"][self.rnd.randrange(t.n)]
        conds = [("FlightDate", "=", date)]
        rows = t.where(conds)
        ans = str(sum(1 for x in t["Distance"][rows] if float(x) > 500))
        code = _vals_code("v", t.gv("Distance", rows)) + "; ans = sum(1 for x in v if x > 500)"
        chain = [load_db("flights"), filter_db(conds), get_value("Distance"), python(code)]
        return self.fmt(tmpl, date=date), ans, chain

    def _route_airline(self):
        t, i = self._flight_row()
        conds = [self._airline_cond(t, i), ("Origin", "=", t["Origin"][i]), ("Dest", "=", t["Dest"][i])]
        return t, i, conds, t.where(conds)

    def fh_avg_airtime(self, tmpl):
        t, i, conds, rows = self._route_airline()
        v = [x for x in (_f(s) for s in t["AirTime"][rows]) if x == x]
        if not v:
            raise _Skip
        ans = f"{sum(v) / len(v):.1f} minutes"
        code = (
            _vals_code("v", t.gv("AirTime", rows))
            + "; v = [x for x in v if x == x]; ans = '{:.1f} minutes'.format(sum(v) / len(v))"
        )
        chain = [load_db("flights"), filter_db(conds), get_value("AirTime"), python(code)]
        q = self.fmt(tmpl, origin=t["Origin"][i], dest=t["Dest"][i], airline=t["Airline"][i])
        return q, ans, chain

    def fh_n_flights(self, tmpl):
        t, i, conds, rows = self._route_airline()
        ans = len(set(t["Flight_Number_Marketing_Airline"][rows].tolist()))
        gv = t.gv("Flight_Number_Marketing_Airline", rows)
        chain = [load_db("flights"), filter_db(conds), get_value("Flight_Number_Marketing_Airline"),
                 python(f"ans = len(set({gv!r}.split(', ')))")]  # fmt: skip
        q = self.fmt(tmpl, origin=t["Origin"][i], dest=t["Dest"][i], airline=t["Airline"][i])
        return q, ans, chain

    def fh_avg_flight_time(self, tmpl):
        t, i = self._flight_row()
        conds = [("IATA_Code_Marketing_Airline", "=", t["IATA_Code_Marketing_Airline"][i]),
                 ("Flight_Number_Marketing_Airline", "=", t["Flight_Number_Marketing_Airline"][i])]  # fmt: skip
        rows = t.where(conds)
        v = [x for x in (_f(s) for s in t["AirTime"][rows]) if x == x]
        if not v:
            raise _Skip
        ans = f"{sum(v) / len(v):.1f} minutes"
        code = (
            _vals_code("v", t.gv("AirTime", rows))
            + "; v = [x for x in v if x == x]; ans = '{:.1f} minutes'.format(sum(v) / len(v))"
        )
        chain = [load_db("flights"), filter_db(conds), get_value("AirTime"), python(code)]
        flight = t["IATA_Code_Marketing_Airline"][i] + t["Flight_Number_Marketing_Airline"][i]
        return self.fmt(tmpl, flight=flight), ans, chain

    def fh_fastest(self, tmpl):
        t, i = self._flight_row(("AirTime",))
        conds = [
            ("Origin", "=", t["Origin"][i]),
            ("Dest", "=", t["Dest"][i]),
            ("DayOfWeek", "=", t["DayOfWeek"][i]),
        ]
        rows = t.where(conds)
        air = [_f(s) for s in t["AirTime"][rows]]
        best = min(x for x in air if x == x)
        names = {t["IATA_Code_Marketing_Airline"][r] + t["Flight_Number_Marketing_Airline"][r]
                 for r, x in zip(rows, air, strict=False) if x == best}  # fmt: skip
        if len(names) != 1:
            raise _Skip
        ans = names.pop()
        code = (
            _vals_code("a", t.gv("AirTime", rows))
            + f"; c = {t.gv('IATA_Code_Marketing_Airline', rows)!r}.split(', ')"
            + f"; n = {t.gv('Flight_Number_Marketing_Airline', rows)!r}.split(', ')"
            + "; k = min((x, j) for j, x in enumerate(a) if x == x)[1]; ans = c[k] + n[k]"
        )
        chain = [load_db("flights"), filter_db(conds), get_value("AirTime"), get_value("IATA_Code_Marketing_Airline"),
                 get_value("Flight_Number_Marketing_Airline"), python(code)]  # fmt: skip
        q = self.fmt(tmpl, origin=t["Origin"][i], dest=t["Dest"][i], dow=t["DayOfWeek"][i])
        return q, ans, chain

    def fh_speed(self, tmpl):
        t, i = self._flight_row(("AirTime",))
        conds = [("IATA_Code_Marketing_Airline", "=", t["IATA_Code_Marketing_Airline"][i]),
                 ("Flight_Number_Marketing_Airline", "=", t["Flight_Number_Marketing_Airline"][i]),
                 ("Origin", "=", t["Origin"][i]), ("Dest", "=", t["Dest"][i])]  # fmt: skip
        rows = t.where(conds)
        pairs = [(float(d), _f(a)) for d, a in zip(t["Distance"][rows], t["AirTime"][rows], strict=False)]
        sp = [d / a for d, a in pairs if a == a]
        ans = f"{sum(sp) / len(sp):.1f}"
        code = (
            _vals_code("d", t.gv("Distance", rows))
            + "; "
            + _vals_code("a", t.gv("AirTime", rows))
            + "; s = [x / y for x, y in zip(d, a) if y == y]; ans = '{:.1f}'.format(sum(s) / len(s))"
        )
        chain = [
            load_db("flights"),
            filter_db(conds),
            get_value("Distance"),
            get_value("AirTime"),
            python(code),
        ]
        return self._fq(tmpl, t, i), ans, chain

    def fh_total(self, tmpl):
        t, i = self._flight_row()
        conds = [self._airline_cond(t, i), ("FlightDate", "=", t["FlightDate"][i])]
        rows = t.where(conds)
        q = self.fmt(tmpl, airline=t["Airline"][i], date=t["FlightDate"][i])
        return q, str(len(rows)), [load_db("flights"), filter_db(conds)]

    # ================================================================== coffee

    def _coffee_day(self):
        t = self.table("coffee")
        i = self.rnd.randrange(t.n)
        return t, i, [("Date", "=", t["Date"][i])]

    def ce_col(self, tmpl, col):
        t, i, conds = self._coffee_day()
        return (
            self.fmt(tmpl, date=t["Date"][i]),
            t[col][i],
            [load_db("coffee"), filter_db(conds), get_value(col)],
        )

    def ce_pct(self, tmpl):
        t, i, conds = self._coffee_day()
        o, c = t["Open"][i], t["Close"][i]
        ans = str(round((float(c) - float(o)) / float(o) * 100, 2)) + "%"
        code = f"o = float({o!r}); c = float({c!r}); ans = str(round((c - o) / o * 100, 2)) + '%'"
        chain = [load_db("coffee"), filter_db(conds), get_value("Open"), get_value("Close"), python(code)]
        return self.fmt(tmpl, date=t["Date"][i]), ans, chain

    def ce_bull(self, tmpl):
        t, i, conds = self._coffee_day()
        o, c = t["Open"][i], t["Close"][i]
        ans = "bullish" if float(c) > float(o) else "bearish"
        code = f"ans = 'bullish' if float({c!r}) > float({o!r}) else 'bearish'"
        chain = [load_db("coffee"), filter_db(conds), get_value("Open"), get_value("Close"), python(code)]
        return self.fmt(tmpl, date=t["Date"][i]), ans, chain

    def ce_range(self, tmpl):
        t, i, conds = self._coffee_day()
        h, lo = t["High"][i], t["Low"][i]
        ans = str(round(float(h) - float(lo), 2))
        code = f"ans = round(float({h!r}) - float({lo!r}), 2)"
        chain = [load_db("coffee"), filter_db(conds), get_value("High"), get_value("Low"), python(code)]
        return self.fmt(tmpl, date=t["Date"][i]), ans, chain

    def _coffee_range(self, from_first: bool = False, min_len: int = 2):
        t = self.table("coffee")
        i = 0 if from_first else self.rnd.randrange(t.n - min_len)
        j = self.rnd.randrange(i + min_len - 1, t.n)
        s, e = t["Date"][i], t["Date"][j]
        conds = [("Date", ">=", s), ("Date", "<=", e)]
        rows = t.where(conds)
        return t, s, e, conds, rows

    def _coffee_agg(self, tmpl, cols: list[str], calc: Callable, code: str, **kw):
        t, s, e, conds, rows = self._coffee_range(**kw)
        vals = {c: [float(x) if c != "Date" else x for x in t[c][rows]] for c in cols}
        ans = calc(vals, t, rows)
        if ans is None:
            raise _Skip
        lines = []
        for c in cols:
            lines.append(_vals_code(c.lower(), t.gv(c, rows), "str" if c == "Date" else "float"))
        chain = (
            [load_db("coffee"), filter_db(conds)]
            + [get_value(c) for c in cols]
            + [python("; ".join(lines) + "; " + code)]
        )
        return self.fmt(tmpl, start=s, end=e), ans, chain

    def ch_max_high(self, tmpl):
        return self._coffee_agg(
            tmpl, ["High"], lambda v, *_: f"{max(v['High'])} USD", "ans = str(max(high)) + ' USD'"
        )

    def ch_min_low(self, tmpl):
        return self._coffee_agg(
            tmpl, ["Low"], lambda v, *_: f"{min(v['Low'])} USD", "ans = str(min(low)) + ' USD'"
        )

    def ch_avg_close(self, tmpl):
        return self._coffee_agg(
            tmpl, ["Close"], lambda v, *_: "{:.1f} USD".format(sum(v["Close"]) / len(v["Close"])),
            "ans = '{:.1f} USD'.format(sum(close) / len(close))",
        )  # fmt: skip

    def ch_change(self, tmpl):
        return self._coffee_agg(
            tmpl, ["Open", "Close"], lambda v, *_: "{:.1f} USD".format(v["Close"][-1] - v["Open"][0]),
            "ans = '{:.1f} USD'.format(close[-1] - open[0])",
        )  # fmt: skip

    def ch_pct_prev(self, tmpl):
        t = self.table("coffee")
        i = self.rnd.randrange(1, t.n)
        conds = [("Date", ">=", t["Date"][i - 1]), ("Date", "<=", t["Date"][i])]
        rows = t.where(conds)
        c0, c1 = float(t["Close"][i - 1]), float(t["Close"][i])
        ans = f"{(c1 - c0) / c0 * 100:.1f}%"
        code = (
            _vals_code("close", t.gv("Close", rows))
            + "; ans = '{:.1f}%'.format((close[1] - close[0]) / close[0] * 100)"
        )
        chain = [load_db("coffee"), filter_db(conds), get_value("Close"), python(code)]
        return self.fmt(tmpl, date=t["Date"][i]), ans, chain

    def ch_max_spread(self, tmpl):
        def calc(v, *_):
            sp = [h - lo for h, lo in zip(v["High"], v["Low"], strict=False)]
            return v["Date"][sp.index(max(sp))]

        code = "sp = [h - l for h, l in zip(high, low)]; ans = date[sp.index(max(sp))]"
        return self._coffee_agg(tmpl, ["Date", "High", "Low"], calc, code)

    def ch_avg_volume(self, tmpl):
        return self._coffee_agg(
            tmpl, ["Volume"], lambda v, *_: "{:.1f}".format(sum(v["Volume"]) / len(v["Volume"])),
            "ans = '{:.1f}'.format(sum(volume) / len(volume))",
        )  # fmt: skip

    def ch_max_increase(self, tmpl):
        def calc(v, *_):
            c = v["Close"]
            inc = [c[k] - c[k - 1] for k in range(1, len(c))]
            if not inc or max(inc) <= 0:
                return None
            return v["Date"][1 + inc.index(max(inc))]

        code = "inc = [close[k] - close[k - 1] for k in range(1, len(close))]; ans = date[1 + inc.index(max(inc))]"
        return self._coffee_agg(tmpl, ["Date", "Close"], calc, code, min_len=3)

    def ch_n_increase(self, tmpl):
        return self._coffee_agg(
            tmpl, ["Close"], lambda v, *_: str(sum(1 for k in range(1, len(v["Close"])) if v["Close"][k] > v["Close"][k - 1])),
            "ans = sum(1 for k in range(1, len(close)) if close[k] > close[k - 1])",
        )  # fmt: skip

    def ch_pct_increase(self, tmpl):
        return self._coffee_agg(
            tmpl, ["Open", "Close"], lambda v, *_: "{:.1f}%".format((v["Close"][-1] - v["Open"][0]) / v["Open"][0] * 100),
            "ans = '{:.1f}%'.format((close[-1] - open[0]) / open[0] * 100)",
        )  # fmt: skip

    def ch_range(self, tmpl):
        return self._coffee_agg(
            tmpl, ["High", "Low"], lambda v, *_: "{:.1f} USD".format(max(v["High"]) - min(v["Low"])),
            "ans = '{:.1f} USD'.format(max(high) - min(low))", from_first=True,
        )  # fmt: skip

    def ch_n_up_days(self, tmpl):
        return self._coffee_agg(
            tmpl, ["Open", "Close"], lambda v, *_: str(sum(1 for o, c in zip(v["Open"], v["Close"], strict=False) if c > o)),
            "ans = sum(1 for o, c in zip(open, close) if c > o)", from_first=True,
        )  # fmt: skip

    def ch_avg_pct(self, tmpl):
        def calc(v, *_):
            p = [(c - o) / o * 100 for o, c in zip(v["Open"], v["Close"], strict=False)]
            return f"{sum(p) / len(p):.1f}%"

        code = "p = [(c - o) / o * 100 for o, c in zip(open, close)]; ans = '{:.1f}%'.format(sum(p) / len(p))"
        return self._coffee_agg(tmpl, ["Open", "Close"], calc, code)

    # ================================================================== yelp

    def _yelp_row(self, need_fields: tuple[str, ...] = ("name", "postal_code", "city", "state")):
        t = self.table("yelp")
        i = self.rnd.randrange(t.n)
        for c in need_fields:
            if not _safe_value(t[c][i]) or t[c][i] == "None":
                raise _Skip
        return t, i

    def _ye_full(self, tmpl):
        """A business identified by name + postal code + city + state (exactly one row)."""
        t, i = self._yelp_row()
        conds = [(c, "=", t[c][i]) for c in ("name", "postal_code", "city", "state")]
        rows = t.where(conds)
        if len(rows) != 1:
            raise _Skip
        q = self.fmt(
            tmpl, name=t["name"][i], postal_code=t["postal_code"][i], city=t["city"][i], state=t["state"][i]
        )
        return t, i, conds, q

    def ye_address(self, tmpl):
        t, i = self._yelp_row(("name", "postal_code"))
        conds = [("name", "=", t["name"][i]), ("postal_code", "=", t["postal_code"][i])]
        rows = t.where(conds)
        ans = ", ".join(dict.fromkeys(t["address"][rows].tolist()))
        chain = [load_db("yelp"), filter_db(conds), get_value("address")]
        gv = t.gv("address", rows)
        if gv != ans:
            chain.append(python(f"ans = ', '.join(dict.fromkeys({gv!r}.split(', ')))"))
        return self.fmt(tmpl, name=t["name"][i], postal_code=t["postal_code"][i]), ans, chain

    def ye_city(self, tmpl):
        t, i = self._yelp_row(("name", "state"))
        conds = [("name", "=", t["name"][i]), ("state", "=", t["state"][i])]
        rows = t.where(conds)
        cities = list(dict.fromkeys(t["city"][rows].tolist()))
        if any(", " in c for c in cities):
            raise _Skip
        ans = ", ".join(cities)
        chain = [load_db("yelp"), filter_db(conds), get_value("city")]
        gv = t.gv("city", rows)
        if gv != ans:
            chain.append(python(f"ans = ', '.join(dict.fromkeys({gv!r}.split(', ')))"))
        return self.fmt(tmpl, name=t["name"][i], state=t["state"][i]), ans, chain

    def ye_state(self, tmpl):
        t, i = self._yelp_row(("name",))
        conds = [("name", "=", t["name"][i])]
        rows = t.where(conds)
        states = set(t["state"][rows].tolist())
        if len(states) != 1:
            raise _Skip
        ans = states.pop()
        chain = [load_db("yelp"), filter_db(conds), get_value("state")]
        if len(rows) > 1:
            chain.append(python(f"ans = {t.gv('state', rows)!r}.split(', ')[0]"))
        return self.fmt(tmpl, name=t["name"][i]), ans, chain

    def ye_postal(self, tmpl):
        t, i = self._yelp_row(("name", "city", "state", "postal_code"))
        conds = [("name", "=", t["name"][i]), ("city", "=", t["city"][i]), ("state", "=", t["state"][i])]
        rows = t.where(conds)
        if len(set(t["postal_code"][rows].tolist())) != 1:
            raise _Skip
        ans = t["postal_code"][i]
        chain = [load_db("yelp"), filter_db(conds), get_value("postal_code")]
        if len(rows) > 1:
            chain.append(python(f"ans = {t.gv('postal_code', rows)!r}.split(', ')[0]"))
        return self.fmt(tmpl, name=t["name"][i], city=t["city"][i], state=t["state"][i]), ans, chain

    def ye_col(self, tmpl, col):
        t, i, conds, q = self._ye_full(tmpl)
        if t[col][i] == "None":
            raise _Skip
        return q, t[col][i], [load_db("yelp"), filter_db(conds), get_value(col)]

    def ye_open(self, tmpl):
        t, i, conds, q = self._ye_full(tmpl)
        raw = t["is_open"][i]
        ans = "No" if raw == "0" else "Yes"
        return q, ans, [load_db("yelp"), filter_db(conds), get_value("is_open"),
                        python(f"ans = 'No' if {raw!r} == '0' else 'Yes'")]  # fmt: skip

    def ye_appointment(self, tmpl):
        t, i, conds, q = self._ye_full(tmpl)
        raw = t["attributes"][i]
        attrs = self._cache["yelp_raw"][i]["attributes"]
        ans = "Yes" if attrs and attrs.get("ByAppointmentOnly") == "True" else "No"
        code = f"a = {raw}; ans = 'Yes' if a and a.get('ByAppointmentOnly') == 'True' else 'No'"
        return q, ans, [load_db("yelp"), filter_db(conds), get_value("attributes"), python(code)]

    def ye_hours(self, tmpl):
        t, i, conds, q = self._ye_full(tmpl)
        hours = self._cache["yelp_raw"][i]["hours"]
        if not hours:
            raise _Skip
        ans = ", ".join(f"{d}: {v}" for d, v in hours.items())
        code = f"h = {t['hours'][i]}; ans = ', '.join('{{}}: {{}}'.format(d, v) for d, v in h.items())"
        return q, ans, [load_db("yelp"), filter_db(conds), get_value("hours"), python(code)]

    def ye_coords(self, tmpl):
        t, i, conds, q = self._ye_full(tmpl)
        ans = f"{t['latitude'][i]}, {t['longitude'][i]}"
        code = f"ans = {t['latitude'][i]!r} + ', ' + {t['longitude'][i]!r}"
        return (
            q,
            ans,
            [load_db("yelp"), filter_db(conds), get_value("latitude"), get_value("longitude"), python(code)],
        )

    # ---- yelp hard

    def _categories(self) -> list[str]:
        if "yelp_cats" not in self._cache:
            t = self.table("yelp")
            cats = set()
            for c in t["categories"]:
                if c != "None":
                    cats.update(c.split(", "))
            self._cache["yelp_cats"] = sorted(cats)
        return self._cache["yelp_cats"]

    @staticmethod
    def _has_cat(cell: str, cat: str) -> bool:
        return cell != "None" and cat in cell.split(", ")

    _HAS_CAT = "def has(c, cat): return c != 'None' and cat in c.split(', ')\n"

    def _city_cat(self):
        t, i = self._yelp_row(("city", "state", "categories"))
        cat = self.pick(t["categories"][i].split(", "))
        conds = [("city", "=", t["city"][i]), ("state", "=", t["state"][i])]
        return t, i, cat, conds, t.where(conds)

    @staticmethod
    def _sql_str(v: str) -> str:
        return "'" + v.replace("'", "''") + "'"

    def _cat_sql(self, cat: str) -> str:
        return f"instr(', ' || categories || ', ', {self._sql_str(', ' + cat + ', ')}) > 0"

    @staticmethod
    def _sql_obs(t: _Table, rows, cols: list[str]) -> str:
        """What SQLInterpreter prints for `SELECT cols` over these rows (yelp: missing values are `---`)."""

        def cell(v: str) -> str:
            return "---" if v in ("nan", "None") else v[:250]

        return "\n".join(", ".join(f"{c}: {cell(t[c][r])}" for c in cols) for r in rows)

    @staticmethod
    def _parse_code(obs: str, cols: list[str]) -> str:
        """Python lines reading SQLInterpreter output back into per-column lists (last column may hold ', ')."""
        k = len(cols)
        lines = [
            f"rows = [[x.split(': ', 1)[1] for x in l.split(', ', {k - 1})] for l in {obs!r}.splitlines()]"
        ]
        for j, c in enumerate(cols):
            conv = "str" if c in ("name", "postal_code", "categories") else "float"
            lines.append(f"{c} = [{conv}(r[{j}]) for r in rows]")
        return "\n".join(lines) + "\n"

    def yh_n_cat(self, tmpl):
        t, i, cat, conds, rows = self._city_cat()
        ans = sum(1 for c in t["categories"][rows] if self._has_cat(c, cat))
        sql = (
            f"SELECT COUNT(*) FROM yelp.yelp_data WHERE city = {self._sql_str(t['city'][i])} "
            f"AND state = {self._sql_str(t['state'][i])} AND {self._cat_sql(cat)}"
        )
        q = self.fmt(tmpl, category=cat, city=t["city"][i], state=t["state"][i])
        return q, ans, [_tc("SQLInterpreter", SQL=sql)]

    def yh_n_postal(self, tmpl):
        t, i = self._yelp_row(("postal_code", "city", "state"))
        conds = [
            ("postal_code", "=", t["postal_code"][i]),
            ("city", "=", t["city"][i]),
            ("state", "=", t["state"][i]),
        ]
        rows = t.where(conds)
        q = self.fmt(tmpl, postal_code=t["postal_code"][i], city=t["city"][i], state=t["state"][i])
        return q, len(rows), [load_db("yelp"), filter_db(conds)]

    def yh_best(self, tmpl, col):
        t, i, cat, conds, rows = self._city_cat()
        sel = [r for r in rows if self._has_cat(t["categories"][r], cat)]
        if len(sel) > 1000 or any(", " in t["name"][r] or ": " in t["name"][r] for r in sel):
            raise _Skip
        best = max(float(t[col][r]) for r in sel)
        names = {t["name"][r] for r in sel if float(t[col][r]) == best}
        if len(names) != 1:
            raise _Skip
        ans = names.pop()
        sql = (
            f"SELECT {col}, name FROM yelp.yelp_data WHERE city = {self._sql_str(t['city'][i])} "
            f"AND state = {self._sql_str(t['state'][i])} AND {self._cat_sql(cat)}"
        )
        obs = self._sql_obs(t, sel, [col, "name"])
        code = self._parse_code(obs, [col, "name"]) + f"b = max({col}); ans = name[{col}.index(b)]"
        chain = [_tc("SQLInterpreter", SQL=sql), python(code)]
        return self.fmt(tmpl, category=cat, city=t["city"][i], state=t["state"][i]), ans, chain

    def _lat_band(self, t: _Table, lat: float, half: float):
        lo, hi = f"{lat - half:.4f}", f"{lat + half:.4f}"
        if len(lo.split(".")[0]) != len(hi.split(".")[0]) or lat - half <= 0:
            raise _Skip  # string comparison equals numeric only with equal integer digits
        conds = [("latitude", ">=", lo), ("latitude", "<=", hi)]
        return conds, t.where(conds)

    def _ref_business(self, key: str):
        t, i = self._yelp_row((key, "latitude"))
        conds = [(key, "=", t[key][i])]
        if len(t.where(conds)) != 1:
            raise _Skip
        return t, i, conds

    def yh_radius_reviews(self, tmpl):
        t, i, conds0 = self._ref_business("name")
        lat, lon = float(t["latitude"][i]), float(t["longitude"][i])
        band, rows = self._lat_band(t, lat, 0.1)  # 0.1 degree of latitude is ~6.9 miles
        la = [float(x) for x in t["latitude"][rows]]
        lo = [float(x) for x in t["longitude"][rows]]
        rc = [float(x) for x in t["review_count"][rows]]
        inside = [k for k in range(len(rows)) if _miles(lat, lon, la[k], lo[k]) <= 5]
        ans = round(sum(rc[k] for k in inside) / len(inside), 2)
        code = (
            _HAV_CODE
            + f"lat0 = float({t['latitude'][i]!r}); lon0 = float({t['longitude'][i]!r})\n"
            + _vals_code("la", t.gv("latitude", rows)) + "\n"
            + _vals_code("lo", t.gv("longitude", rows)) + "\n"
            + _vals_code("rc", t.gv("review_count", rows)) + "\n"
            + "ins = [k for k in range(len(la)) if miles(lat0, lon0, la[k], lo[k]) <= 5]\n"
            + "ans = round(sum(rc[k] for k in ins) / len(ins), 2)"
        )  # fmt: skip
        chain = [load_db("yelp"), filter_db(conds0), get_value("latitude"), get_value("longitude"), load_db("yelp"),
                 filter_db(band), get_value("latitude"), get_value("longitude"), get_value("review_count"),
                 python(code)]  # fmt: skip
        return self.fmt(tmpl, name=t["name"][i]), ans, chain

    def _yelp_lat(self) -> np.ndarray:
        if "yelp_lat" not in self._cache:
            col = self.table("yelp")["latitude"]
            self._cache["yelp_lat"] = np.array([float(x) for x in col.cats])[col.codes]
        return self._cache["yelp_lat"]

    def _near_chain(self, t, i, conds0, half, cat, cols, tail):
        """Reference coordinates by FilterDB/GetValue, candidates of the category in a latitude band by SQL."""
        lat = float(t["latitude"][i])
        lo, hi = f"{lat - half:.4f}", f"{lat + half:.4f}"
        la = self._yelp_lat()
        band = np.flatnonzero((la >= float(lo)) & (la <= float(hi)))
        sel = [int(r) for r in band if self._has_cat(t["categories"][r], cat)]
        if not sel or len(sel) > 1000 or any(", " in t["name"][r] or ": " in t["name"][r] for r in sel):
            raise _Skip
        sql = (
            f"SELECT {', '.join(cols)} FROM yelp.yelp_data WHERE CAST(latitude AS REAL) BETWEEN {lo} AND {hi} "
            f"AND {self._cat_sql(cat)}"
        )
        code = (
            _HAV_CODE
            + f"lat0 = float({t['latitude'][i]!r}); lon0 = float({t['longitude'][i]!r})\n"
            + self._parse_code(self._sql_obs(t, sel, list(cols)), list(cols))
            + tail
        )
        chain = [load_db("yelp"), filter_db(conds0), get_value("latitude"), get_value("longitude"),
                 _tc("SQLInterpreter", SQL=sql), python(code)]  # fmt: skip
        return sel, chain

    def yh_nearest(self, tmpl):
        t, i, conds0 = self._ref_business("name")
        cat = self.pick(self._categories())
        lat, lon = float(t["latitude"][i]), float(t["longitude"][i])
        tail = (
            "d = [(miles(lat0, lon0, latitude[k], longitude[k]), k) for k in range(len(name))\n"
            "     if not (latitude[k] == lat0 and longitude[k] == lon0)]\n"
            "ans = name[min(d)[1]]"
        )
        sel, chain = self._near_chain(t, i, conds0, 0.2, cat, ("latitude", "longitude", "name"), tail)
        cand = sorted(
            (_miles(lat, lon, float(t["latitude"][r]), float(t["longitude"][r])), k, r)
            for k, r in enumerate(sel)
            if not (float(t["latitude"][r]) == lat and float(t["longitude"][r]) == lon)
        )
        if not cand or cand[0][0] > 13.5 or (len(cand) > 1 and cand[1][0] == cand[0][0]):
            raise _Skip  # the nearest must lie inside the band (0.2 degrees of latitude is ~13.8 miles)
        return self.fmt(tmpl, category=cat, name=t["name"][i]), t["name"][cand[0][2]], chain

    def yh_recommend(self, tmpl):
        t, i, conds0 = self._ref_business("address")
        lat, lon = float(t["latitude"][i]), float(t["longitude"][i])
        band = np.flatnonzero(np.abs(self._yelp_lat() - lat) < 0.1)
        near = [int(r) for r in band if t["categories"][r] != "None"
                and _miles(lat, lon, float(t["latitude"][r]), float(t["longitude"][r])) <= 5]  # fmt: skip
        if not near:
            raise _Skip
        cat = self.pick(self.pick([t["categories"][r] for r in near]).split(", "))
        sel = [r for r in near if self._has_cat(t["categories"][r], cat)]
        best = max(float(t["stars"][r]) for r in sel)
        names = [t["name"][r] for r in sel if float(t["stars"][r]) == best]
        if len(set(names)) != 1:
            raise _Skip
        tail = (
            "ok = [k for k in range(len(name)) if miles(lat0, lon0, latitude[k], longitude[k]) <= 5]\n"
            "b = max(stars[k] for k in ok); ans = [name[k] for k in ok if stars[k] == b][0]"
        )
        _, chain = self._near_chain(t, i, conds0, 0.1, cat, ("latitude", "longitude", "stars", "name"), tail)
        return self.fmt(tmpl, category=cat, address=t["address"][i]), names[0], chain

    def yh_closed(self, tmpl):
        t, i = self._yelp_row(("city",))
        conds = [("city", "=", t["city"][i]), ("is_open", "=", "0")]
        rows = t.where(conds)
        if len(rows) == 0:
            raise _Skip
        return self.fmt(tmpl, city=t["city"][i]), len(rows), [load_db("yelp"), filter_db(conds)]

    def yh_avg_stars(self, tmpl):
        t, i = self._yelp_row(("city", "categories"))
        cat = self.pick(t["categories"][i].split(", "))
        sel = [r for r in t.where([("city", "=", t["city"][i])]) if self._has_cat(t["categories"][r], cat)]
        if len(sel) > 1000:
            raise _Skip
        v = [float(t["stars"][r]) for r in sel]
        ans = round(sum(v) / len(v), 2)
        sql = f"SELECT stars FROM yelp.yelp_data WHERE city = {self._sql_str(t['city'][i])} AND {self._cat_sql(cat)}"
        code = (
            self._parse_code(self._sql_obs(t, sel, ["stars"]), ["stars"])
            + "ans = round(sum(stars) / len(stars), 2)"
        )
        chain = [_tc("SQLInterpreter", SQL=sql), python(code)]
        return self.fmt(tmpl, category=cat, city=t["city"][i]), ans, chain

    def yh_top_postal(self, tmpl):
        t, i = self._yelp_row(("city", "state"))
        conds = [("city", "=", t["city"][i]), ("state", "=", t["state"][i])]
        rows = t.where(conds)
        top = Counter(t["postal_code"][rows].tolist()).most_common()
        if len(top) > 1 and top[0][1] == top[1][1] or top[0][0] == "":
            raise _Skip
        gv = t.gv("postal_code", rows)
        code = f"from collections import Counter; ans = Counter({gv!r}.split(', ')).most_common(1)[0][0]"
        chain = [load_db("yelp"), filter_db(conds), get_value("postal_code"), python(code)]
        return self.fmt(tmpl, city=t["city"][i], state=t["state"][i]), top[0][0], chain

    # ================================================================== airbnb

    def _listing(self, by_name: bool = False):
        t = self.table("airbnb")
        i = self.rnd.randrange(t.n)
        name, hood = t["NAME"][i], t["neighbourhood"][i]
        if name == "nan" or not name.strip() or "\n" in name:
            raise _Skip
        if by_name:
            if not _safe_value(name):
                raise _Skip
            conds = [("NAME", "=", name), ("neighbourhood", "=", hood)]
        elif _safe_value(name):
            conds = [("NAME", "=", name), ("id", "=", t["id"][i]), ("neighbourhood", "=", hood)]
        else:  # a name FilterDB cannot express: the id alone identifies the listing
            conds = [("id", "=", t["id"][i]), ("neighbourhood", "=", hood)]
        if len(t.where(conds)) != 1:
            raise _Skip
        return t, i, conds

    def _aq(self, tmpl, t, i, **kw):
        return self.fmt(tmpl, name=t["NAME"][i], id=t["id"][i], neighbourhood=t["neighbourhood"][i], **kw)

    def ae_host(self, tmpl):
        t, i, conds = self._listing(by_name=True)
        return (
            self._aq(tmpl, t, i),
            t["host name"][i],
            [load_db("airbnb"), filter_db(conds), get_value("host name")],
        )

    def ae_int(self, tmpl, col, min_ok):
        t, i, conds = self._listing()
        raw = t[col][i]
        if raw == "nan" or float(raw) < int(min_ok):
            raise _Skip
        chain = [load_db("airbnb"), filter_db(conds), get_value(col), python(f"ans = int(float({raw!r}))")]
        return self._aq(tmpl, t, i), str(int(float(raw))), chain

    def ae_raw(self, tmpl, col):
        t, i, conds = self._listing()
        raw = t[col][i]
        if raw == "nan":
            raise _Skip
        return self._aq(tmpl, t, i), raw, [load_db("airbnb"), filter_db(conds), get_value(col)]

    # ---- airbnb hard

    @staticmethod
    def _price(s: str) -> float:
        return float(s[1:].replace(",", "")) if s != "nan" else math.nan

    _PRICE_CODE = "def price(s): return float(s[1:].replace(',', '')) if s != 'nan' else float('nan')\n"

    def ah_total(self, tmpl):
        t, i, conds = self._listing(by_name=True)
        p, f, m = t["price"][i], t["service fee"][i], t["minimum nights"][i]
        if "nan" in (p, f, m):
            raise _Skip
        k = self.rnd.randint(1, 20)
        ans = f"$ {(self._price(p) + self._price(f)) * max(k, float(m)):.1f}"
        code = (
            self._PRICE_CODE
            + f"ans = '$ {{:.1f}}'.format((price({p!r}) + price({f!r})) * max({k}, float({m!r})))"
        )
        chain = [load_db("airbnb"), filter_db(conds), get_value("price"), get_value("service fee"),
                 get_value("minimum nights"), python(code)]  # fmt: skip
        return self.fmt(tmpl, name=t["NAME"][i], neighbourhood=t["neighbourhood"][i], k=k), ans, chain

    def _hood(self):
        t = self.table("airbnb")
        hood = t["neighbourhood"][self.rnd.randrange(t.n)]
        conds = [("neighbourhood", "=", hood)]
        return t, hood, conds, t.where(conds)

    def ah_count(self, tmpl):
        t, hood, conds, rows = self._hood()
        return self.fmt(tmpl, neighbourhood=hood), str(len(rows)), [load_db("airbnb"), filter_db(conds)]

    def ah_avg_price(self, tmpl):
        t, hood, conds, rows = self._hood()
        v = [x for x in (self._price(s) for s in t["price"][rows]) if x == x]
        ans = f"$ {sum(v) / len(v):.1f}"
        code = (
            self._PRICE_CODE
            + f"v = [price(s) for s in {t.gv('price', rows)!r}.split(', ')]; v = [x for x in v if x == x]\n"
            + "ans = '$ {:.1f}'.format(sum(v) / len(v))"
        )
        return (
            self.fmt(tmpl, neighbourhood=hood),
            ans,
            [load_db("airbnb"), filter_db(conds), get_value("price"), python(code)],
        )

    def ah_radius_rate(self, tmpl):
        t, i, conds0 = self._listing(by_name=True)
        lat, lon = float(t["lat"][i]), float(t["long"][i])
        lo_s, hi_s = f"{lat - 0.08:.4f}", f"{lat + 0.08:.4f}"  # 0.08 degree of latitude is ~5.5 miles
        band = [("lat", ">=", lo_s), ("lat", "<=", hi_s)]
        rows = t.where(band)
        la = [float(x) for x in t["lat"][rows]]
        lo = [float(x) for x in t["long"][rows]]
        rr = [_f(x) for x in t["review rate number"][rows]]
        v = [rr[k] for k in range(len(rows)) if _miles(lat, lon, la[k], lo[k]) <= 5 and rr[k] == rr[k]]
        ans = str(round(sum(v) / len(v), 2))
        code = (
            _HAV_CODE
            + f"lat0 = float({t['lat'][i]!r}); lon0 = float({t['long'][i]!r})\n"
            + _vals_code("la", t.gv("lat", rows)) + "\n"
            + _vals_code("lo", t.gv("long", rows)) + "\n"
            + _vals_code("rr", t.gv("review rate number", rows)) + "\n"
            + "v = [rr[k] for k in range(len(la)) if miles(lat0, lon0, la[k], lo[k]) <= 5 and rr[k] == rr[k]]\n"
            + "ans = round(sum(v) / len(v), 2)"
        )  # fmt: skip
        chain = [load_db("airbnb"), filter_db(conds0), get_value("lat"), get_value("long"), load_db("airbnb"),
                 filter_db(band), get_value("lat"), get_value("long"), get_value("review rate number"),
                 python(code)]  # fmt: skip
        return self.fmt(tmpl, name=t["NAME"][i], neighbourhood=t["neighbourhood"][i]), ans, chain

    def ah_flexible(self, tmpl):
        t, hood, conds, rows = self._hood()
        pol = t["cancellation_policy"][rows].tolist()
        ans = str(round(sum(1 for p in pol if p == "flexible") / len(pol), 2))
        gv = t.gv("cancellation_policy", rows)
        code = f"v = {gv!r}.split(', '); ans = round(sum(1 for p in v if p == 'flexible') / len(v), 2)"
        return self.fmt(tmpl, neighbourhood=hood), ans, [load_db("airbnb"), filter_db(conds),
                                                          get_value("cancellation_policy"), python(code)]  # fmt: skip

    def ah_max_entire(self, tmpl):
        t, hood, _, _ = self._hood()
        conds = [("neighbourhood", "=", hood), ("room type", "=", "Entire home/apt")]
        rows = t.where(conds)
        ps = [s for s in t["price"][rows] if s != "nan"]
        if not ps:
            raise _Skip
        best = max(ps, key=self._price)
        ans = best.strip()
        code = self._PRICE_CODE + (
            f"v = [s for s in {t.gv('price', rows)!r}.split(', ') if s != 'nan']; ans = max(v, key=price).strip()"
        )
        return (
            self.fmt(tmpl, neighbourhood=hood),
            ans,
            [load_db("airbnb"), filter_db(conds), get_value("price"), python(code)],
        )

    def _pick_by_price_then_name(self, t, conds, rows, cmp: str):
        """Chain: prices -> Python picks the extreme price -> FilterDB on it -> GetValue[NAME]."""
        ps = [(self._price(s), s) for s in t["price"][rows] if s != "nan"]
        if not ps:
            raise _Skip
        target = (min if cmp == "min" else max)(ps)[1]
        final = t.where([("price", "=", target)], rows)
        if len(final) != 1 or t["NAME"][final[0]] in ("nan",) or "\n" in t["NAME"][final[0]]:
            raise _Skip
        if len([p for p in ps if p[0] == self._price(target)]) != 1:
            raise _Skip
        code = self._PRICE_CODE + (
            f"v = [s for s in {t.gv('price', rows)!r}.split(', ') if s != 'nan']; ans = {cmp}(v, key=price)"
        )
        chain = [get_value("price"), python(code), filter_db([("price", "=", target)]), get_value("NAME")]
        return t["NAME"][final[0]], chain

    def ah_rate_gt4(self, tmpl):
        t, hood, conds, rows = self._hood()
        ans = str(sum(1 for x in t["review rate number"][rows] if _f(x) > 4))
        code = _vals_code("v", t.gv("review rate number", rows)) + "; ans = sum(1 for x in v if x > 4)"
        return self.fmt(tmpl, neighbourhood=hood), ans, [load_db("airbnb"), filter_db(conds),
                                                          get_value("review rate number"), python(code)]  # fmt: skip

    def ah_cheapest_hotel(self, tmpl):
        t, hood, _, _ = self._hood()
        conds = [("neighbourhood", "=", hood), ("room type", "=", "Hotel room")]
        rows = t.where(conds)
        if len(rows) == 0:
            raise _Skip
        ans, tail = self._pick_by_price_then_name(t, conds, rows, "min")
        return self.fmt(tmpl, neighbourhood=hood), ans, [load_db("airbnb"), filter_db(conds)] + tail

    def ah_private(self, tmpl):
        t, hood, _, _ = self._hood()
        conds = [("neighbourhood", "=", hood), ("room type", "=", "Private room")]
        rows = t.where(conds)
        ok = [
            r
            for r in rows
            if _f(t["calculated host listings count"][r]) >= 2
            and _f(t["reviews per month"][r]) == _f(t["reviews per month"][r])
        ]
        if not ok:
            raise _Skip
        best = max(_f(t["reviews per month"][r]) for r in ok)
        top = [r for r in ok if _f(t["reviews per month"][r]) == best]
        if len(top) != 1 or t["NAME"][top[0]] == "nan" or "\n" in t["NAME"][top[0]]:
            raise _Skip
        rpm = t["reviews per month"][top[0]]
        hc = t["calculated host listings count"][top[0]]
        final_conds = [("reviews per month", "=", rpm), ("calculated host listings count", "=", hc)]
        final = t.where(final_conds, rows)
        if len(final) != 1:
            raise _Skip
        code = (
            _vals_code("c", t.gv("calculated host listings count", rows)) + "\n"
            + _vals_code("r", t.gv("reviews per month", rows)) + "\n"
            + "k = max((r[j], j) for j in range(len(r)) if c[j] >= 2 and r[j] == r[j])[1]\n"
            + "ans = 'reviews per month={}, calculated host listings count={}'.format(r[k], c[k])"
        )  # fmt: skip
        chain = [load_db("airbnb"), filter_db(conds), get_value("calculated host listings count"),
                 get_value("reviews per month"), python(code), filter_db(final_conds), get_value("NAME")]  # fmt: skip
        return self.fmt(tmpl, neighbourhood=hood), t["NAME"][top[0]], chain

    def ah_shared(self, tmpl):
        t = self.table("airbnb")
        lon0 = self.rnd.uniform(-74.2589, -73.7004)
        lat0 = self.rnd.uniform(40.4774, 40.9176)
        conds = [("room type", "=", "Shared room")]
        rows = t.where(conds)
        near = [r for r in rows if t["price"][r] != "nan"
                and _miles(lat0, lon0, float(t["lat"][r]), float(t["long"][r])) <= 10]  # fmt: skip
        if not near:
            raise _Skip
        best = min(self._price(t["price"][r]) for r in near)
        top = [r for r in near if self._price(t["price"][r]) == best]
        if len(top) != 1 or t["NAME"][top[0]] == "nan" or "\n" in t["NAME"][top[0]]:
            raise _Skip
        target = t["price"][top[0]]
        final = t.where([("price", "=", target)], rows)
        if len(final) != 1:
            raise _Skip
        code = (
            _HAV_CODE + self._PRICE_CODE
            + f"lat0 = {lat0!r}; lon0 = {lon0!r}\n"
            + _vals_code("la", t.gv("lat", rows)) + "\n"
            + _vals_code("lo", t.gv("long", rows)) + "\n"
            + f"p = {t.gv('price', rows)!r}.split(', ')\n"
            + "ok = [k for k in range(len(p)) if p[k] != 'nan' and miles(lat0, lon0, la[k], lo[k]) <= 10]\n"
            + "ans = min((price(p[k]), p[k]) for k in ok)[1]"
        )  # fmt: skip
        chain = [load_db("airbnb"), filter_db(conds), get_value("lat"), get_value("long"), get_value("price"),
                 python(code), filter_db([("price", "=", target)]), get_value("NAME")]  # fmt: skip
        return self.fmt(tmpl, lon=repr(lon0), lat=repr(lat0)), t["NAME"][top[0]], chain

    # ================================================================== dblp

    def _ok_author(self, aid: str) -> bool:
        d = self.dblp()
        name = d["id2author_dict"].get(aid)
        return (
            name is not None
            and d["name_count"][name] == 1
            and d["author2id_dict"].get(name) == aid
            and ", " not in name
        )

    def _author(self, max_deg: int | None = None, min_deg: int = 1) -> tuple[str, list[str]]:
        d = self.dblp()
        aid = self.pick(d["authors"])
        nbs = list(d["author_net"].neighbors(aid))
        if not self._ok_author(aid) or len(nbs) < min_deg or (max_deg is not None and len(nbs) > max_deg):
            raise _Skip
        return aid, nbs

    def _edge_papers(self, a: str, b: str) -> list[str]:
        """Distinct paper ids on an AuthorNet edge, in first-seen order."""
        return list(dict.fromkeys(self.dblp()["author_net"][a][b]["papers"]))

    def _author_papers(self, aid: str, nbs: list[str]) -> list[str]:
        ps: list[str] = []
        for nb in nbs:
            ps.extend(self._edge_papers(aid, nb))
        return list(dict.fromkeys(ps))

    def _all_papers_coauthored(self, aid: str, papers: list[str]) -> bool:
        """True when every 2021+ paper of the author is on one of their AuthorNet edges."""
        d = self.dblp()
        if "papers_of" not in d:
            po: dict[str, list[str]] = {}
            for pid in d["papers"]:
                for au in d["paper_net"].nodes[pid]["authors"]:
                    if au["id"]:
                        po.setdefault(au["id"], []).append(pid)
            d["papers_of"] = po
        return set(d["papers_of"].get(aid, [])) == set(papers)

    def _name(self, aid: str) -> str:
        return self.dblp()["id2author_dict"][aid]

    def _title(self, pid: str) -> str:
        return self.dblp()["id2title_dict"][pid]

    def _edge_obs(self, a: str, b: str) -> str:
        """What EdgeCheck[AuthorNet, a, b] prints."""
        e = dict(self.dblp()["author_net"][a][b])
        e["papers"] = [self._title(p) for p in e["papers"]]
        return str(e)

    def _nb_obs(self, aid: str) -> str:
        g = self.dblp()["author_net"]
        return str([self._name(n) for n in g.neighbors(aid)])

    def _paper(self, pred: Callable[[dict], bool] | None = None) -> tuple[str, dict]:
        d = self.dblp()
        pid = self.pick(d["papers"])
        attrs = d["paper_net"].nodes[pid]
        t = attrs.get("title", "")
        if ", " in t or d["title2id_dict"].get(t) != pid or (pred and not pred(attrs)):
            raise _Skip
        return pid, attrs

    def de_authors(self, tmpl):
        pid, attrs = self._paper()
        ans = ", ".join(a["name"] for a in attrs["authors"])
        code = f"n = {str(dict(attrs))}; ans = ', '.join(a['name'] for a in n['authors'])"
        return (
            self.fmt(tmpl, title=attrs["title"]),
            ans,
            [load_graph(), node_check("PaperNet", attrs["title"]), python(code)],
        )

    def de_org(self, tmpl):
        aid, _ = self._author()
        org = self.dblp()["author_net"].nodes[aid]["org"]
        if not org:
            raise _Skip
        return (
            self.fmt(tmpl, author=self._name(aid)),
            org,
            [load_graph(), node_check("AuthorNet", self._name(aid))],
        )

    def de_pages(self, tmpl):
        def ok(a):
            try:
                return int(float(a["page_end"])) - int(float(a["page_start"])) + 1 > 0
            except (ValueError, KeyError):
                return False

        pid, attrs = self._paper(ok)
        ans = int(float(attrs["page_end"])) - int(float(attrs["page_start"])) + 1
        code = f"n = {str(dict(attrs))}; ans = int(float(n['page_end'])) - int(float(n['page_start'])) + 1"
        return (
            self.fmt(tmpl, title=attrs["title"]),
            ans,
            [load_graph(), node_check("PaperNet", attrs["title"]), python(code)],
        )

    def de_n_cite(self, tmpl):
        d = self.dblp()
        pid, attrs = self._paper()
        succ = list(d["paper_net"].successors(pid))
        if not succ or any(s not in d["id2title_dict"] for s in succ):
            raise _Skip
        obs = str([self._title(s) for s in succ])
        return self.fmt(tmpl, title=attrs["title"]), len(succ), [load_graph(), neighbours("PaperNet", attrs["title"]),
                                                                   python(f"ans = len({obs})")]  # fmt: skip

    def de_n_cited(self, tmpl):
        d = self.dblp()
        pid, attrs = self._paper()
        n = d["paper_net"].in_degree(pid)
        if n == 0:
            raise _Skip
        return self.fmt(tmpl, title=attrs["title"]), n, [load_graph()]

    def de_n_collab(self, tmpl):
        aid, nbs = self._author()
        return self.fmt(tmpl, author=self._name(aid)), len(nbs), [load_graph(), neighbours("AuthorNet", self._name(aid)),
                                                                   python(f"ans = len({self._nb_obs(aid)})")]  # fmt: skip

    def _pair(self, max_deg: int | None = None):
        aid, nbs = self._author(max_deg=max_deg)
        b = self.pick(nbs)
        if not self._ok_author(b):
            raise _Skip
        return aid, b

    def de_n_together(self, tmpl):
        a, b = self._pair()
        n = len(self._edge_papers(a, b))
        code = f"e = {self._edge_obs(a, b)}; ans = len(set(e['papers']))"
        return (self.fmt(tmpl, author1=self._name(a), author2=self._name(b)), n,
                [load_graph(), edge_check("AuthorNet", self._name(a), self._name(b)), python(code)])  # fmt: skip

    def _author_with_papers(self, max_deg: int = 8):
        aid, nbs = self._author(max_deg=max_deg)
        if not all(self._ok_author(n) for n in nbs):
            raise _Skip
        papers = self._author_papers(aid, nbs)
        if not self._all_papers_coauthored(aid, papers):
            raise _Skip
        chain = [load_graph(), neighbours("AuthorNet", self._name(aid))]
        chain += [edge_check("AuthorNet", self._name(aid), self._name(n)) for n in nbs]
        edges = "[" + ", ".join(self._edge_obs(aid, n) for n in nbs) + "]"
        return aid, nbs, papers, chain, edges

    def de_papers(self, tmpl):
        aid, nbs, papers, chain, edges = self._author_with_papers()
        ans = ", ".join(self._title(p) for p in papers)
        code = f"es = {edges}; ans = ', '.join(dict.fromkeys(t for e in es for t in e['papers']))"
        return self.fmt(tmpl, author=self._name(aid)), ans, chain + [python(code)]

    def de_n_papers(self, tmpl):
        aid, nbs, papers, chain, edges = self._author_with_papers()
        code = f"es = {edges}; ans = len(set(t for e in es for t in e['papers']))"
        return self.fmt(tmpl, author=self._name(aid)), len(papers), chain + [python(code)]

    def de_venue(self, tmpl):
        a, b = self._pair()
        ps = self._edge_papers(a, b)
        if len(ps) > 12 or (len(ps) < 2 and self.rnd.random() < 0.7):
            raise _Skip
        g = self.dblp()["paper_net"]
        venues = [g.nodes[p]["venue"]["raw"] for p in ps]
        top = Counter(venues).most_common()
        if len(top) > 1 and top[0][1] == top[1][1]:
            raise _Skip
        titles = [self._title(p) for p in ps]
        nodes = "[" + ", ".join(str(g.nodes[p]) for p in ps) + "]"
        code = f"from collections import Counter; ns = {nodes}; ans = Counter(n['venue']['raw'] for n in ns).most_common(1)[0][0]"
        chain = [load_graph(), edge_check("AuthorNet", self._name(a), self._name(b))]
        chain += [node_check("PaperNet", t) for t in titles] + [python(code)]
        return self.fmt(tmpl, author1=self._name(a), author2=self._name(b)), top[0][0], chain

    # ---- dblp hard

    def dh_distance(self, tmpl):
        a, b = self._pair()
        code = f"ans = 1 if {self._name(b)!r} in {self._nb_obs(a)} else None"
        return (self.fmt(tmpl, author1=self._name(a), author2=self._name(b)), "1",
                [load_graph(), neighbours("AuthorNet", self._name(a)), python(code)])  # fmt: skip

    def dh_common(self, tmpl):
        a, b = self._pair()
        g = self.dblp()["author_net"]
        na, nb = set(g.neighbors(a)), set(g.neighbors(b))
        if not all(self._ok_author(x) for x in na | nb):
            raise _Skip
        ans = str(len(na & nb))
        code = f"ans = len(set({self._nb_obs(a)}) & set({self._nb_obs(b)}))"
        return (self.fmt(tmpl, author1=self._name(a), author2=self._name(b)), ans,
                [load_graph(), neighbours("AuthorNet", self._name(a)), neighbours("AuthorNet", self._name(b)),
                 python(code)])  # fmt: skip

    def dh_most_cited(self, tmpl):
        aid, nbs, papers, chain, edges = self._author_with_papers(max_deg=12)
        g = self.dblp()["paper_net"]
        cites = [g.nodes[p]["n_citation"] for p in papers]
        best = max(cites)
        if best <= 0 or cites.count(best) != 1:
            raise _Skip
        ans = self._title(papers[cites.index(best)])
        code = (
            f"es = {edges}\n"
            "c = {}\nfor e in es:\n    for t, n in zip(e['papers'], e['n_citation']):\n        c[t] = n\n"
            "ans = max(c, key=c.get)"
        )
        return self.fmt(tmpl, author=self._name(aid)), ans, chain + [python(code)]

    def dh_collab_citations(self, tmpl):
        aid, nbs, papers, chain, edges = self._author_with_papers(max_deg=12)
        g = self.dblp()["paper_net"]
        sums = [sum(g.nodes[p]["n_citation"] for p in self._edge_papers(aid, n)) for n in nbs]
        best = max(sums)
        if best <= 0 or sums.count(best) != 1:
            raise _Skip
        ans = self._name(nbs[sums.index(best)])
        code = (
            f"nb = {self._nb_obs(aid)}; es = {edges}\n"
            "s = [sum(dict(zip(e['papers'], e['n_citation'])).values()) for e in es]\n"
            "ans = nb[s.index(max(s))]"
        )
        return self.fmt(tmpl, author=self._name(aid)), ans, chain + [python(code)]

    def dh_venue(self, tmpl):
        aid, nbs, papers, chain, edges = self._author_with_papers(max_deg=5)
        if len(chain) + len(papers) + 1 > MAX_CHAIN:
            raise _Skip
        g = self.dblp()["paper_net"]
        top = Counter(g.nodes[p]["venue"]["raw"] for p in papers).most_common()
        if len(top) > 1 and top[0][1] == top[1][1]:
            raise _Skip
        nodes = "[" + ", ".join(str(g.nodes[p]) for p in papers) + "]"
        code = f"from collections import Counter; ns = {nodes}; ans = Counter(n['venue']['raw'] for n in ns).most_common(1)[0][0]"
        chain = chain + [node_check("PaperNet", self._title(p)) for p in papers] + [python(code)]
        return self.fmt(tmpl, author=self._name(aid)), top[0][0], chain

    def dh_acc_citations(self, tmpl):
        a, b = self._pair()
        g = self.dblp()["paper_net"]
        ans = str(sum(g.nodes[p]["n_citation"] for p in self._edge_papers(a, b)))
        code = f"e = {self._edge_obs(a, b)}; ans = sum(dict(zip(e['papers'], e['n_citation'])).values())"
        return (self.fmt(tmpl, author1=self._name(a), author2=self._name(b)), ans,
                [load_graph(), edge_check("AuthorNet", self._name(a), self._name(b)), python(code)])  # fmt: skip

    def dh_n_papers_2hop(self, tmpl):
        g = self.dblp()["author_net"]
        aid, nbs = self._author(max_deg=4)
        edges: list[tuple[str, str]] = []
        seen = set()
        chain = [load_graph(), neighbours("AuthorNet", self._name(aid))]
        for x in [aid] + nbs:
            if x != aid:
                chain.append(neighbours("AuthorNet", self._name(x)))
            for y in g.neighbors(x):
                if frozenset((x, y)) not in seen:
                    seen.add(frozenset((x, y)))
                    edges.append((x, y))
        if any(not self._ok_author(v) for e in edges for v in e):
            raise _Skip
        if len(chain) + len(edges) + 1 > MAX_CHAIN:
            raise _Skip
        papers = set()
        for x, y in edges:
            papers.update(self._edge_papers(x, y))
        chain += [edge_check("AuthorNet", self._name(x), self._name(y)) for x, y in edges]
        obs = "[" + ", ".join(self._edge_obs(x, y) for x, y in edges) + "]"
        chain.append(python(f"es = {obs}; ans = len(set(t for e in es for t in e['papers']))"))
        return self.fmt(tmpl, author=self._name(aid)), len(papers), chain

    def dh_top_collab(self, tmpl):
        aid, nbs, papers, chain, edges = self._author_with_papers(max_deg=12)
        g = self.dblp()["author_net"]
        w = [g[aid][n]["weight"] for n in nbs]
        ans = ", ".join(self._name(n) for n, x in zip(nbs, w, strict=False) if x == max(w))
        code = f"nb = {self._nb_obs(aid)}; es = {edges}; w = [e['weight'] for e in es]\nans = ', '.join(n for n, x in zip(nb, w) if x == max(w))"
        return self.fmt(tmpl, author=self._name(aid)), ans, chain + [python(code)]

    def dh_orgs(self, tmpl):
        pid, attrs = self._paper()
        orgs = list(dict.fromkeys(a["org"] for a in attrs["authors"] if a["org"]))
        if not orgs:
            raise _Skip
        code = f"n = {str(dict(attrs))}; ans = '; '.join(dict.fromkeys(a['org'] for a in n['authors'] if a['org']))"
        return (self.fmt(tmpl, title=attrs["title"]), "; ".join(orgs),
                [load_graph(), node_check("PaperNet", attrs["title"]), python(code)])  # fmt: skip

    def dh_keywords(self, tmpl):
        aid, nbs, papers, chain, edges = self._author_with_papers(max_deg=5)
        if len(chain) + len(papers) + 1 > MAX_CHAIN:
            raise _Skip
        g = self.dblp()["paper_net"]
        cnt = Counter()
        for p in papers:
            cnt.update(list(dict.fromkeys(g.nodes[p]["keywords"])))
        if not cnt:
            raise _Skip
        top = max(cnt.values())
        ans = ", ".join(k for k, v in cnt.items() if v == top)
        nodes = "[" + ", ".join(str(g.nodes[p]) for p in papers) + "]"
        code = (
            f"from collections import Counter; ns = {nodes}; c = Counter()\n"
            "for n in ns:\n    c.update(list(dict.fromkeys(n['keywords'])))\n"
            "ans = ', '.join(k for k, v in c.items() if v == max(c.values()))"
        )
        chain = chain + [node_check("PaperNet", self._title(p)) for p in papers] + [python(code)]
        return self.fmt(tmpl, author=self._name(aid)), ans, chain

    # ================================================================== scirex

    def _relations(self) -> list[dict]:
        if "rels" not in self._cache:
            rels = []
            for split in ("train", "dev", "test"):
                for doc in self.jsonl(self.raw / "scirex" / f"{split}.jsonl"):
                    for r in doc["n_ary_relations"]:
                        rels.append(dict(r))
            self._cache["rels"] = rels
        return self._cache["rels"]

    @staticmethod
    def _num(score) -> float | None:
        if isinstance(score, (int, float)):
            return float(score)
        s = str(score).replace("---", "-").replace("\ufeff", "").replace(",", ".")
        if not s or s == "-" or any(c in s for c in "±/%mMkKB"):
            return None
        try:
            return float(s)
        except ValueError:
            return None

    def se_score(self, tmpl):
        rels = self._relations()
        r = self.pick(rels)
        same = [x for x in rels if all(x[k] == r[k] for k in ("Material", "Method", "Metric", "Task"))]
        if len({str(x["score"]) for x in same}) != 1:
            raise _Skip
        q = self.fmt(tmpl, metric=r["Metric"], method=r["Method"], dataset=r["Material"], task=r["Task"])
        kw = f"{r['Method']} method {r['Metric']} score on {r['Material']} for {r['Task']}"
        return q, r["score"], [retrieve("scirex", kw)]

    def sh_best_dataset(self, tmpl):
        rels = self._relations()
        r = self.pick(rels)
        grp = [
            x for x in rels if (x["Method"], x["Metric"], x["Task"]) == (r["Method"], r["Metric"], r["Task"])
        ]
        scored = [(self._num(x["score"]), x["Material"]) for x in grp if self._num(x["score"]) is not None]
        if len({m for _, m in scored}) < 2:
            raise _Skip
        best = max(s for s, _ in scored)
        mats = {m for s, m in scored if s == best}
        if len(mats) != 1:
            raise _Skip
        q = self.fmt(tmpl, method=r["Method"], metric=r["Metric"], task=r["Task"])
        return (
            q,
            mats.pop(),
            [retrieve("scirex", f"{r['Method']} method {r['Metric']} score for {r['Task']}")],
        )

    def sh_best_method(self, tmpl):
        rels = self._relations()
        r = self.pick(rels)
        grp = [
            x
            for x in rels
            if (x["Material"], x["Metric"], x["Task"]) == (r["Material"], r["Metric"], r["Task"])
        ]
        scored = [(self._num(x["score"]), x["Method"]) for x in grp if self._num(x["score"]) is not None]
        if len({m for _, m in scored}) < 2:
            raise _Skip
        best = max(s for s, _ in scored)
        ms = {m for s, m in scored if s == best}
        if len(ms) != 1:
            raise _Skip
        q = self.fmt(tmpl, metric=r["Metric"], dataset=r["Material"], task=r["Task"])
        return q, ms.pop(), [retrieve("scirex", f"{r['Metric']} score on {r['Material']} for {r['Task']}")]

    def sh_metrics(self, tmpl):
        rels = self._relations()
        r = self.pick(rels)
        mets = list(dict.fromkeys(x["Metric"] for x in rels
                                  if (x["Material"], x["Method"], x["Task"]) == (r["Material"], r["Method"], r["Task"])))  # fmt: skip
        q = self.fmt(tmpl, method=r["Method"], dataset=r["Material"], task=r["Task"])
        return (
            q,
            ", ".join(mets),
            [retrieve("scirex", f"{r['Method']} method on {r['Material']} for {r['Task']}")],
        )

    def sh_datasets(self, tmpl):
        rels = self._relations()
        r = self.pick(rels)
        mats = list(
            dict.fromkeys(x["Material"] for x in rels if (x["Method"], x["Task"]) == (r["Method"], r["Task"]))
        )
        q = self.fmt(tmpl, method=r["Method"], task=r["Task"])
        return q, ", ".join(mats), [retrieve("scirex", f"{r['Method']} method evaluated for {r['Task']}")]

    # ================================================================== agenda

    def _events(self) -> list[dict]:
        return self.jsonl(self.raw / "agenda" / "agenda_events.jsonl")

    @staticmethod
    def _minutes(s: str) -> int:
        for f in ("%I:%M %p", "%I %p"):
            try:
                t = dt.datetime.strptime(s.strip(), f)
                return t.hour * 60 + t.minute
            except ValueError:
                continue
        raise ValueError(s)

    @staticmethod
    def _words_date(d: str) -> str:
        y, m, dd = (int(x) for x in d.split("/"))
        return f"{dt.date(y, m, dd):%B} {dd}, {y}"

    def _event(self, unique_on: tuple[str, ...]):
        evs = self._events()
        e = self.pick(evs)
        same = [x for x in evs if all(x[k] == e[k] for k in unique_on)]
        if len(same) != 1:
            raise _Skip
        return e

    def ge_what(self, tmpl):
        e = self._event(("person", "start_time", "end_time", "date"))
        kw = f"{e['person']} on {self._words_date(e['date'])} from {e['start_time']} to {e['end_time']}"
        q = self.fmt(tmpl, person=e["person"], start=e["start_time"], end=e["end_time"], date=e["date"])
        return q, e["event"], [retrieve("agenda", kw)]

    def ge_where(self, tmpl):
        e = self._event(("event", "person", "date"))
        kw = f"{e['person']} {e['event']} on {self._words_date(e['date'])}"
        return (
            self.fmt(tmpl, event=e["event"], person=e["person"], date=e["date"]),
            e["location"],
            [retrieve("agenda", kw)],
        )

    def ge_when(self, tmpl):
        e = self._event(("event", "person", "date"))
        kw = f"{e['person']} {e['event']} on {self._words_date(e['date'])}"
        return (
            self.fmt(tmpl, event=e["event"], person=e["person"], date=e["date"]),
            e["start_time"],
            [retrieve("agenda", kw)],
        )

    def ge_how_long(self, tmpl):
        e = self._event(("event", "person", "date"))
        kw = f"{e['person']} {e['event']} on {self._words_date(e['date'])}"
        fmt = "%I:%M %p"
        delta = dt.datetime.strptime(e["end_time"], fmt) - dt.datetime.strptime(e["start_time"], fmt)
        code = (
            "from datetime import datetime as D; "
            f"ans = str(D.strptime({e['end_time']!r}, '%I:%M %p') - D.strptime({e['start_time']!r}, '%I:%M %p'))"
        )
        q = self.fmt(tmpl, event=e["event"], person=e["person"], date=e["date"])
        return q, str(delta), [retrieve("agenda", kw), python(code)]

    def ge_who(self, tmpl):
        e = self._event(("event", "start_time", "end_time", "date", "location"))
        kw = f"{e['event']} at {e['location'].strip()} on {self._words_date(e['date'])} from {e['start_time']} to {e['end_time']}"
        q = self.fmt(
            tmpl,
            event=e["event"],
            start=e["start_time"],
            end=e["end_time"],
            date=e["date"],
            location=e["location"],
        )
        return q, e["person"], [retrieve("agenda", kw)]

    def _span(self, e: dict) -> tuple[int, int]:
        s, t = self._minutes(e["start_time"]), self._minutes(e["end_time"])
        return s, t if t > s else t + 1440

    def gh_n_events(self, tmpl):
        e = self.pick(self._events())
        n = sum(1 for x in self._events() if x["date"] == e["date"])
        return (
            self.fmt(tmpl, date=e["date"]),
            n,
            [retrieve("agenda", f"events on {self._words_date(e['date'])}")],
        )

    def gh_busy(self, tmpl):
        e = self.pick(self._events())
        s, t = self._span(e)
        people = {x["person"] for x in self._events() if x["date"] == e["date"]
                  and self._span(x)[0] < t and self._span(x)[1] > s}  # fmt: skip
        q = self.fmt(tmpl, start=e["start_time"], end=e["end_time"], date=e["date"])
        kw = f"events on {self._words_date(e['date'])} between {e['start_time']} and {e['end_time']}"
        return q, len(people), [retrieve("agenda", kw)]

    def gh_free(self, tmpl):
        e = self.pick(self._events())
        busy = sorted(
            self._span(x) for x in self._events() if x["date"] == e["date"] and x["person"] == e["person"]
        )
        lo, hi = 9 * 60, 18 * 60
        slots, cur = [], lo
        for s, t in busy:
            if s > cur and min(s, hi) - cur >= 60:
                slots.append((cur, min(s, hi)))
            cur = max(cur, t)
            if cur >= hi:
                break
        if cur < hi and hi - cur >= 60:
            slots.append((cur, hi))
        if not slots:
            raise _Skip
        from seer_env.envs.toolqa.synth_corpus import fmt_12h

        ans = ", ".join(f"{fmt_12h(a)}-{fmt_12h(b)}" for a, b in slots)
        kw = f"{e['person']} on {self._words_date(e['date'])}"
        return self.fmt(tmpl, person=e["person"], date=e["date"]), ans, [retrieve("agenda", kw)]

    def gh_events(self, tmpl):
        e = self.pick(self._events())
        names = list(
            dict.fromkeys(
                x["event"] for x in self._events() if x["date"] == e["date"] and x["person"] == e["person"]
            )
        )
        kw = f"{e['person']} on {self._words_date(e['date'])}"
        return self.fmt(tmpl, person=e["person"], date=e["date"]), ", ".join(names), [retrieve("agenda", kw)]

    def gh_n_dates(self, tmpl):
        e = self.pick(self._events())
        n = len({x["date"] for x in self._events() if x["person"] == e["person"]})
        return self.fmt(tmpl, person=e["person"]), n, [retrieve("agenda", f"{e['person']}'s agenda")]


class _Skip(Exception):
    """This draw cannot make a question (resample)."""


# ---------------------------------------------------------------------------------------- entry


def _default_counts(tmpls: list[Template], per_template: int | None) -> list[int]:
    return [t.count if per_template is None else per_template for t in tmpls]


def generate_questions(
    corpus_dir: str | os.PathLike,
    difficulty: str,
    per_template: int | None = None,
    seed: int = 0,
    domains: list[str] | tuple[str, ...] | None = None,
):
    """Questions (`seer_env.envs.toolqa.Question`, with `gold_chain` and `template`) for a corpus.

    `corpus_dir` is the ToolQA root (holding `data/external_corpus` and `data/raw_data`).
    `per_template=None` makes the official number of questions per template (100 per domain, coffee hard
    130); an int makes that many per template. Same corpus + seed give the same questions.
    """
    from seer_env.envs.toolqa.questions import Question

    if difficulty not in ("easy", "hard"):
        raise ValueError("difficulty must be 'easy' or 'hard'")
    root = Path(corpus_dir)
    if not (root / "data" / "external_corpus").is_dir() and (root / "external_corpus").is_dir():
        root = root.parent
    out: list[Question] = []
    for domain in QUESTION_DOMAINS:
        if domains is not None and domain not in domains:
            continue
        gen = _Gen(root, difficulty, seed)
        gen.rnd = random.Random(f"toolqa-synth-{seed}-{difficulty}-{domain}")
        tmpls = templates(difficulty, domain)
        k = 0
        for tmpl, n in zip(tmpls, _default_counts(tmpls, per_template), strict=False):
            for q, a, chain in gen.run(tmpl, n):
                out.append(
                    Question(
                        qid=f"{difficulty}-{domain}-{k:04d}",
                        domain=domain,
                        difficulty=difficulty,
                        question=q,
                        answer=a,
                        gold_chain=list(chain),
                        template=tmpl.tid,
                    )
                )
                k += 1
    return out


def write_questions(out_dir: str | os.PathLike, questions) -> list[Path]:
    """Write questions as `out_dir/data/questions/{difficulty}/{domain}-{difficulty}.jsonl` (official names)."""
    by_file: dict[tuple[str, str], list] = {}
    for q in questions:
        by_file.setdefault((q.domain, q.difficulty), []).append(q)
    paths = []
    for (domain, diff), qs in sorted(by_file.items()):
        d = Path(out_dir) / "data" / "questions" / diff
        d.mkdir(parents=True, exist_ok=True)
        p = d / f"{domain}-{diff}.jsonl"
        with open(p, "w", encoding="utf-8", newline="\n") as f:
            for q in qs:
                rec = {
                    "qid": q.qid,
                    "question": q.question,
                    "answer": q.answer,
                    "gold_chain": [c.to_dict() for c in q.gold_chain or []],
                    "template": q.template,
                }
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        paths.append(p)
    return paths

"""Synthetic ToolQA corpora in the official layout, formats and schemas.

`generate_corpus(out_dir, scale, seed)` writes, under `out_dir/data/`:

- `external_corpus/flights/Combined_Flights_2022.csv` (61 BTS columns, HHMM times: CRS ints, actual floats),
- `external_corpus/coffee/coffee_price.csv` (Date, Open, High, Low, Close, Volume, Currency),
- `external_corpus/yelp/yelp_academic_dataset_business.json` (JSON Lines; attributes/hours dicts, nulls),
- `external_corpus/airbnb/Airbnb_Open_Data.csv` (26 columns, `'$1,146 '` prices, `M/D/YYYY` reviews, gaps),
- `external_corpus/dblp/*.pkl` (PaperNet DiGraph, AuthorNet Graph with the weight/papers/n_citation
  duplication quirk, and the four id/name dicts),
- `external_corpus/agenda/agenda_descriptions_merged.jsonl` (free-text `event` descriptions) and the structured
  `raw_data/agenda/agenda_events.jsonl` the question generator reads,
- `external_corpus/scirex/Preprocessed_Scirex.jsonl` (one `content` line per paper section) and the raw
  `raw_data/scirex/{train,dev,test}.jsonl` documents with `n_ary_relations`.

Everything is drawn from `numpy.random.Generator(PCG64)` streams derived from the seed, floats are written
with Python's repr (what pandas `to_csv` does), dicts keep insertion order, pickles use protocol 4 and
nothing records a time, so the same seed gives byte-identical files. Flights are generated and written one
block of dates at a time so `full` (4,078,318 rows) stays memory-bounded.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import pickle
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

DOMAINS = ("flights", "coffee", "yelp", "airbnb", "dblp", "agenda", "scirex")
# bump when generated content changes, so caches of older builds are not reused
SYNTH_VERSION = 2


@dataclass(frozen=True)
class Sizes:
    flights: int
    flight_days: int
    airports: int
    coffee: int
    yelp: int
    airbnb: int
    dblp_papers: int
    dblp_authors: int
    agenda: int
    agenda_people: int
    scirex_papers: int


SCALES: dict[str, Sizes] = {
    # for unit tests: seconds
    "tiny": Sizes(2_400, 8, 24, 1_200, 1_500, 1_500, 600, 700, 240, 12, 24),
    "small": Sizes(12_000, 30, 40, 5_746, 5_000, 5_000, 3_000, 3_200, 600, 24, 60),
    # benchmarks: an eighth of flights and DBLP, half of yelp/airbnb/agenda; the reference approach
    # still fits in memory here (it does not at full size)
    "eighth": Sizes(509_789, 26, 375, 5_746, 75_173, 51_299, 69_165, 44_421, 5_000, 60, 438),
    "full": Sizes(4_078_318, 212, 375, 5_746, 150_346, 102_599, 553_320, 355_368, 10_000, 60, 438),
}

FLIGHT_COLUMNS = [
    "FlightDate", "Airline", "Origin", "Dest", "Cancelled", "Diverted", "CRSDepTime", "DepTime",
    "DepDelayMinutes", "DepDelay", "ArrTime", "ArrDelayMinutes", "AirTime", "CRSElapsedTime",
    "ActualElapsedTime", "Distance", "Year", "Quarter", "Month", "DayofMonth", "DayOfWeek",
    "Marketing_Airline_Network", "Operated_or_Branded_Code_Share_Partners", "DOT_ID_Marketing_Airline",
    "IATA_Code_Marketing_Airline", "Flight_Number_Marketing_Airline", "Operating_Airline",
    "DOT_ID_Operating_Airline", "IATA_Code_Operating_Airline", "Tail_Number",
    "Flight_Number_Operating_Airline", "OriginAirportID", "OriginAirportSeqID", "OriginCityMarketID",
    "OriginCityName", "OriginState", "OriginStateFips", "OriginStateName", "OriginWac", "DestAirportID",
    "DestAirportSeqID", "DestCityMarketID", "DestCityName", "DestState", "DestStateFips", "DestStateName",
    "DestWac", "DepDel15", "DepartureDelayGroups", "DepTimeBlk", "TaxiOut", "WheelsOff", "WheelsOn",
    "TaxiIn", "CRSArrTime", "ArrDelay", "ArrDel15", "ArrivalDelayGroups", "ArrTimeBlk", "DistanceGroup",
    "DivAirportLandings",
]  # fmt: skip

AIRBNB_COLUMNS = [
    "id", "NAME", "host id", "host_identity_verified", "host name", "neighbourhood group", "neighbourhood",
    "lat", "long", "country", "country code", "instant_bookable", "cancellation_policy", "room type",
    "Construction year", "price", "service fee", "minimum nights", "number of reviews", "last review",
    "reviews per month", "review rate number", "calculated host listings count", "availability 365",
    "house_rules", "license",
]  # fmt: skip

# (operating carrier name, operating code, DOT id, marketing codes it flies for)
AIRLINES = [
    ("Delta Air Lines Inc.", "DL", 19790, ("DL",)),
    ("American Airlines Inc.", "AA", 19805, ("AA",)),
    ("United Air Lines Inc.", "UA", 19977, ("UA",)),
    ("Southwest Airlines Co.", "WN", 19393, ("WN",)),
    ("JetBlue Airways", "B6", 20409, ("B6",)),
    ("Alaska Airlines Inc.", "AS", 19930, ("AS",)),
    ("Spirit Air Lines", "NK", 20416, ("NK",)),
    ("Frontier Airlines Inc.", "F9", 20436, ("F9",)),
    ("Allegiant Air", "G4", 20368, ("G4",)),
    ("Hawaiian Airlines Inc.", "HA", 19690, ("HA",)),
    ("SkyWest Airlines Inc.", "OO", 20304, ("DL", "UA", "AA", "AS")),
    ("Envoy Air", "MQ", 20398, ("AA",)),
    ("Endeavor Air Inc.", "9E", 20363, ("DL",)),
    ("Republic Airlines", "YX", 20452, ("AA", "DL", "UA")),
    ("Mesa Airlines Inc.", "YV", 20378, ("UA", "AA")),
    ("Comair Inc.", "OH", 20397, ("AA",)),
    ("Air Wisconsin Airlines Corp", "ZW", 20046, ("UA",)),
    ("Horizon Air", "QX", 19687, ("AS",)),
    ("Capital Cargo International", "PT", 20427, ("AA",)),
    # names with ", " exist in the real data (they break FilterDB's condition splitting)
    ("Commutair Aka Champlain Enterprises, Inc.", "C5", 20445, ("UA",)),
    ("GoJet Airlines, LLC d/b/a United Express", "G7", 20500, ("UA",)),
]  # fmt: skip
MKT_DOT = {"DL": 19790, "AA": 19805, "UA": 19977, "WN": 19393, "B6": 20409, "AS": 19930, "NK": 20416,
           "F9": 20436, "G4": 20368, "HA": 19690}  # fmt: skip

STATES = [
    ("AL", "Alabama", 1, 81), ("AZ", "Arizona", 4, 81), ("CA", "California", 6, 91), ("CO", "Colorado", 8, 82),
    ("FL", "Florida", 12, 33), ("GA", "Georgia", 13, 34), ("IL", "Illinois", 17, 41), ("LA", "Louisiana", 22, 72),
    ("MA", "Massachusetts", 25, 13), ("MI", "Michigan", 26, 43), ("MN", "Minnesota", 27, 63),
    ("MO", "Missouri", 29, 64), ("NC", "North Carolina", 37, 36), ("NJ", "New Jersey", 34, 21),
    ("NV", "Nevada", 32, 85), ("NY", "New York", 36, 22), ("OH", "Ohio", 39, 44), ("OR", "Oregon", 41, 92),
    ("PA", "Pennsylvania", 42, 23), ("TN", "Tennessee", 47, 54), ("TX", "Texas", 48, 74), ("UT", "Utah", 49, 87),
    ("VA", "Virginia", 51, 38), ("WA", "Washington", 53, 93), ("WI", "Wisconsin", 55, 45), ("ID", "Idaho", 16, 83),
    ("IN", "Indiana", 18, 42), ("AB", "Alberta", 0, 0),
]  # fmt: skip

SYLLABLES = ["an", "ber", "ca", "dor", "el", "fa", "gan", "hol", "is", "jen", "ka", "lor", "mar", "nel", "or",
             "pin", "quin", "ros", "san", "tor", "ul", "ver", "wel", "xan", "yor", "zel", "bro", "cle", "dal",
             "fen", "gris", "har", "lan", "mon", "por", "ril", "sten", "tan", "val", "wick"]  # fmt: skip
CITY_SUFFIX = ["ville", "ton", " City", "field", " Falls", "burg", " Springs", "dale", "port", " Heights", ""]
FIRST_NAMES = ["Mia", "William", "Emily", "Grace", "Daisy", "George", "Adrian", "Hector", "Benjamin", "Charlotte",
               "Patrick", "James", "Alice", "Brian", "Molly", "Chloe", "Natalie", "Sophia", "Hannah", "Faith",
               "Oliver", "Lucas", "Ethan", "Ava", "Isabella", "Liam", "Noah", "Zoe", "Ruby", "Felix", "Ivy",
               "Jack", "Leo", "Nora", "Owen", "Paul", "Quinn", "Rosa", "Sam", "Tess", "Uma", "Victor", "Wendy",
               "Xavier", "Yara", "Zack", "Carmen", "Diego", "Elena", "Frank", "Gina", "Hugo", "Irene", "Jonas",
               "Kira", "Lena", "Marco", "Nina", "Omar", "Priya"]  # fmt: skip
LAST_NAMES = ["Smith", "Chen", "Garcia", "Wang", "Kumar", "Müller", "Rossi", "Kim", "Nguyen", "Silva", "Ivanov",
              "Tanaka", "Novak", "Cohen", "Haddad", "Larsen", "Okafor", "Dubois", "Santos", "Zhang", "Li", "Liu",
              "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma", "Hu", "Guo", "He", "Lin", "Luo", "Gao",
              "Park", "Lee", "Choi", "Jung", "Kang", "Singh", "Patel", "Shah", "Gupta", "Das", "Roy", "Bose",
              "Jensen", "Hansen", "Berg", "Lund", "Costa", "Lopez", "Perez", "Diaz", "Ruiz", "Vega", "Ortiz",
              "Moreau", "Laurent", "Fischer", "Weber", "Wagner", "Becker", "Schulz", "Hoffmann", "Koch",
              "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Braun", "Hofmann", "Hartmann", "Lange",
              "Krause", "Meier", "Lehmann", "Huber", "Kaiser", "Fuchs", "Peters", "Scott", "Young", "Allen",
              "King", "Wright", "Hill", "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Roberts"]  # fmt: skip
INITIALS = list("ABCDEFGHJKLMNPRSTWXYZ")


def _rng(seed: int, stream: str) -> np.random.Generator:
    """An independent, reproducible stream per domain (a domain's data never depends on another's)."""
    key = sum((i + 1) * ord(c) for i, c in enumerate(stream))
    return np.random.Generator(np.random.PCG64([seed, key]))


def _word(rng: np.random.Generator, n_syl: tuple[int, int] = (2, 3)) -> str:
    k = int(rng.integers(n_syl[0], n_syl[1] + 1))
    return "".join(SYLLABLES[int(i)] for i in rng.integers(0, len(SYLLABLES), k)).capitalize()


def _unique_words(rng: np.random.Generator, n: int, make: Callable[[], str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        w = make()
        if w not in seen:
            seen.add(w)
            out.append(w)
    return out


def _write_jsonl(path: Path, rows, ensure_ascii: bool = True) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=ensure_ascii))
            f.write("\n")


def _csv(df, path: Path, mode: str = "w", header: bool = True) -> None:
    df.to_csv(path, index=False, mode=mode, header=header, lineterminator="\n")


# ---------------------------------------------------------------------------------------------- flights


def _hhmm(minutes: np.ndarray) -> np.ndarray:
    """Minutes since midnight (any integer) -> BTS HHMM, where midnight is 2400."""
    m = np.mod(minutes, 1440)
    v = (m // 60) * 100 + m % 60
    return np.where(v == 0, 2400, v)


def _time_blk(hhmm: np.ndarray) -> np.ndarray:
    h = (hhmm // 100) % 24
    labels = np.array(["0001-0559"] * 6 + [f"{x:02d}00-{x:02d}59" for x in range(6, 24)], dtype=object)
    return labels[h]


def _flights(root: Path, sz: Sizes, seed: int, progress: Callable[[int], None] | None) -> None:
    import pandas as pd

    rng = _rng(seed, "flights")
    n_ap = sz.airports
    codes = _unique_words(rng, n_ap, lambda: "".join(chr(65 + int(i)) for i in rng.integers(0, 26, 3)))
    ap_state = rng.integers(0, len(STATES) - 1, n_ap)  # no Alberta airports
    ap_city = [
        f"{_word(rng)}{CITY_SUFFIX[int(rng.integers(0, len(CITY_SUFFIX)))]}, {STATES[int(s)][0]}"
        for s in ap_state
    ]
    ap_id = 10000 + rng.choice(6000, n_ap, replace=False)
    ap_market = 30000 + rng.choice(5000, n_ap, replace=False)
    ap_xy = rng.uniform(0, 2400, (n_ap, 2))
    ap_tz = rng.integers(-3, 1, n_ap) * 60
    ap_weight = rng.pareto(1.2, n_ap) + 0.05  # hubs and small airports

    # a timetable of scheduled flights; each day flies a subset, so (carrier+number, day) is unique
    n_days = sz.flight_days
    per_day = -(-sz.flights // n_days)
    n_sched = int(per_day * 1.3) + 50
    al_w = np.array([14, 13, 11, 16, 4, 3, 3, 3, 2, 1, 12, 5, 4, 4, 3, 2, 2, 2, 1, 1, 2], float)
    s_al = rng.choice(len(AIRLINES), n_sched, p=al_w / al_w.sum())
    s_mkt = np.array([AIRLINES[a][3][int(rng.integers(0, len(AIRLINES[a][3])))] for a in s_al], dtype=object)
    s_num = np.zeros(n_sched, np.int64)
    for code in np.unique(s_mkt):  # unique flight number per marketing carrier
        idx = np.flatnonzero(s_mkt == code)
        s_num[idx] = 1 + rng.choice(max(9000, len(idx)), len(idx), replace=False)
    p = ap_weight / ap_weight.sum()
    s_o = rng.choice(n_ap, n_sched, p=p)
    s_d = rng.choice(n_ap, n_sched, p=p)
    same = s_o == s_d
    s_d[same] = (s_d[same] + 1 + rng.integers(0, n_ap - 1, same.sum())) % n_ap
    dist = np.hypot(*(ap_xy[s_o] - ap_xy[s_d]).T)
    s_dist = np.round(np.maximum(dist, 67.0))
    s_crs_dep = (rng.integers(5 * 60, 23 * 60 + 30, n_sched) // 5) * 5
    s_crs_el = np.round(s_dist / 7.5 + 35 + rng.integers(0, 20, n_sched)).astype(np.int64)
    s_tail = np.array(
        [f"N{int(x)}{AIRLINES[a][1]}" for x, a in zip(rng.integers(100, 999, n_sched), s_al, strict=False)]
    )
    s_opnum = np.where(
        np.isin(s_mkt, [AIRLINES[a][1] for a in s_al]), s_num, rng.integers(2000, 7000, n_sched)
    )

    al_name = np.array([a[0] for a in AIRLINES], dtype=object)
    al_code = np.array([a[1] for a in AIRLINES], dtype=object)
    al_dot = np.array([a[2] for a in AIRLINES])
    st_code = np.array([s[0] for s in STATES], dtype=object)
    st_name = np.array([s[1] for s in STATES], dtype=object)
    st_fips = np.array([s[2] for s in STATES])
    st_wac = np.array([s[3] for s in STATES])
    ap_city_arr = np.array(ap_city, dtype=object)
    codes_arr = np.array(codes, dtype=object)

    path = root / "external_corpus" / "flights" / "Combined_Flights_2022.csv"
    start = dt.date(2022, 1, 1)
    remaining = sz.flights
    block = 8 if sz.flights > 500_000 else n_days  # days per written block
    first = True
    day = 0
    while day < n_days:
        days = range(day, min(day + block, n_days))
        idx_parts, date_parts = [], []
        for d in days:
            k = min(per_day, remaining)
            remaining -= k
            idx_parts.append(np.sort(rng.choice(n_sched, k, replace=False)))
            date_parts.append(np.full(k, d))
        idx = np.concatenate(idx_parts)
        dday = np.concatenate(date_parts)
        n = len(idx)
        dates = [start + dt.timedelta(days=int(x)) for x in range(days.start, days.stop)]
        date_str = np.array([x.isoformat() for x in dates], dtype=object)[dday - days.start]
        dow = np.array([x.isoweekday() for x in dates])[dday - days.start]
        month = np.array([x.month for x in dates])[dday - days.start]
        dom = np.array([x.day for x in dates])[dday - days.start]

        a = s_al[idx]
        o, de = s_o[idx], s_d[idx]
        crs_dep = s_crs_dep[idx]
        crs_el = s_crs_el[idx]
        tz = ap_tz[de] - ap_tz[o]
        crs_arr_min = crs_dep + crs_el + tz
        u = rng.random(n)
        cancelled = u < 0.03
        diverted = (~cancelled) & (u > 0.9975)
        delay = np.round(
            rng.normal(-4, 6, n) + np.where(rng.random(n) < 0.22, rng.exponential(35, n), 0)
        ).astype(np.int64)
        taxi_out = np.round(rng.gamma(4, 4, n) + 5).astype(np.int64)
        taxi_in = np.round(rng.gamma(2, 3, n) + 2).astype(np.int64)
        air = np.round(np.maximum(crs_el - 28 + rng.normal(0, 6, n), 18)).astype(np.int64)
        act_el = taxi_out + air + taxi_in
        arr_delay = delay + act_el - crs_el
        dep_min = crs_dep + delay
        wheels_off = dep_min + taxi_out
        wheels_on = wheels_off + air + tz
        arr_min = wheels_on + taxi_in

        nan = np.nan
        flown = ~cancelled
        landed = flown & ~diverted

        def f(x, mask):
            return np.where(mask, x.astype(float), np.nan)

        dep_delay = f(delay, flown)
        arr_delay_f = f(arr_delay, landed)
        cols = {
            "FlightDate": date_str,
            "Airline": al_name[a],
            "Origin": codes_arr[o],
            "Dest": codes_arr[de],
            "Cancelled": cancelled,
            "Diverted": diverted,
            "CRSDepTime": _hhmm(crs_dep),
            "DepTime": f(_hhmm(dep_min), flown),
            "DepDelayMinutes": np.where(flown, np.maximum(dep_delay, 0.0), nan),
            "DepDelay": dep_delay,
            "ArrTime": f(_hhmm(arr_min), landed),
            "ArrDelayMinutes": np.where(landed, np.maximum(arr_delay_f, 0.0), nan),
            "AirTime": f(air, landed),
            "CRSElapsedTime": crs_el.astype(float),
            "ActualElapsedTime": f(act_el, landed),
            "Distance": s_dist[idx],
            "Year": np.full(n, 2022),
            "Quarter": (month - 1) // 3 + 1,
            "Month": month,
            "DayofMonth": dom,
            "DayOfWeek": dow,
            "Marketing_Airline_Network": s_mkt[idx],
            "Operated_or_Branded_Code_Share_Partners": np.where(
                s_mkt[idx] == al_code[a], s_mkt[idx], s_mkt[idx] + "_CODESHARE"
            ),
            "DOT_ID_Marketing_Airline": np.array([MKT_DOT[c] for c in s_mkt[idx]]),
            "IATA_Code_Marketing_Airline": s_mkt[idx],
            "Flight_Number_Marketing_Airline": s_num[idx],
            "Operating_Airline": al_code[a],
            "DOT_ID_Operating_Airline": al_dot[a],
            "IATA_Code_Operating_Airline": al_code[a],
            "Tail_Number": s_tail[idx],
            "Flight_Number_Operating_Airline": s_opnum[idx],
            "OriginAirportID": ap_id[o],
            "OriginAirportSeqID": ap_id[o] * 100 + 2,
            "OriginCityMarketID": ap_market[o],
            "OriginCityName": ap_city_arr[o],
            "OriginState": st_code[ap_state[o]],
            "OriginStateFips": st_fips[ap_state[o]],
            "OriginStateName": st_name[ap_state[o]],
            "OriginWac": st_wac[ap_state[o]],
            "DestAirportID": ap_id[de],
            "DestAirportSeqID": ap_id[de] * 100 + 2,
            "DestCityMarketID": ap_market[de],
            "DestCityName": ap_city_arr[de],
            "DestState": st_code[ap_state[de]],
            "DestStateFips": st_fips[ap_state[de]],
            "DestStateName": st_name[ap_state[de]],
            "DestWac": st_wac[ap_state[de]],
            "DepDel15": np.where(flown, (delay >= 15).astype(float), nan),
            "DepartureDelayGroups": np.where(flown, np.clip(np.floor(delay / 15), -2, 12), nan),
            "DepTimeBlk": _time_blk(_hhmm(crs_dep)),
            "TaxiOut": f(taxi_out, flown),
            "WheelsOff": f(_hhmm(wheels_off), flown),
            "WheelsOn": f(_hhmm(wheels_on), landed),
            "TaxiIn": f(taxi_in, landed),
            "CRSArrTime": _hhmm(crs_arr_min),
            "ArrDelay": arr_delay_f,
            "ArrDel15": np.where(landed, (arr_delay >= 15).astype(float), nan),
            "ArrivalDelayGroups": np.where(landed, np.clip(np.floor(arr_delay / 15), -2, 12), nan),
            "ArrTimeBlk": _time_blk(_hhmm(crs_arr_min)),
            "DistanceGroup": np.minimum(s_dist[idx] // 250 + 1, 11).astype(int),
            "DivAirportLandings": diverted.astype(int),
        }
        df = pd.DataFrame(cols, columns=FLIGHT_COLUMNS)
        _csv(df, path, mode="w" if first else "a", header=first)
        first = False
        if progress:
            progress(n)
        day = days.stop


# ---------------------------------------------------------------------------------------------- coffee


def _coffee(root: Path, sz: Sizes, seed: int) -> None:
    import pandas as pd

    rng = _rng(seed, "coffee")
    dates = pd.bdate_range("2000-01-03", periods=sz.coffee)
    steps = rng.normal(0, 0.018, sz.coffee)
    level = 100 * np.exp(np.cumsum(steps) - np.linspace(0, steps.sum() - 0.3, sz.coffee))
    level = np.clip(level, 41, 300)
    open_ = np.round(level * (1 + rng.normal(0, 0.004, sz.coffee)), 2)
    close = np.round(level * (1 + rng.normal(0, 0.012, sz.coffee)), 2)
    flat = rng.random(sz.coffee) < 0.02  # a few days where nothing moved
    close[flat] = open_[flat]
    high = np.round(np.maximum(open_, close) + np.abs(rng.normal(0, 0.01, sz.coffee)) * level, 2)
    low = np.round(np.minimum(open_, close) - np.abs(rng.normal(0, 0.01, sz.coffee)) * level, 2)
    high[int(rng.integers(0, sz.coffee))] = 306.25  # an all-time high like the real series
    vol = np.where(
        rng.random(sz.coffee) < 0.01, rng.integers(0, 100, sz.coffee), rng.integers(1000, 60000, sz.coffee)
    )
    df = pd.DataFrame(
        {
            "Date": [d.strftime("%Y-%m-%d") for d in dates],
            "Open": open_,
            "High": high,
            "Low": low,
            "Close": close,
            "Volume": vol,
            "Currency": "USD",
        }
    )
    _csv(df, root / "external_corpus" / "coffee" / "coffee_price.csv")


# ---------------------------------------------------------------------------------------------- yelp

YELP_CATEGORIES = [
    "Restaurants", "Bars", "Nightlife", "Pubs", "Wine Bars", "Coffee & Tea", "Cafes", "Pizza", "Chinese",
    "Mexican", "Italian", "Sandwiches", "Burgers", "American (Traditional)", "Bakeries", "Beauty & Spas",
    "Nail Salons", "Hair Salons", "Dentists", "General Dentistry", "Health & Medical", "Home Services",
    "Real Estate", "Shopping", "Fashion", "Bridal", "Formal Wear", "Auto Repair", "Automotive", "Tires",
    "Pets", "Veterinarians", "Fitness & Instruction", "Gyms", "Yoga", "Hotels", "Event Planning & Services",
    "Limos", "Arts & Crafts", "Art Supplies", "Grocery", "Food", "Desserts", "Ice Cream & Frozen Yogurt",
    "Home Organization", "Condominiums", "Apartments", "Wholesale Stores", "Pharmacy", "Drugstores",
]  # fmt: skip
CHAINS = ["Jimmy John's", "Starbucks", "Subway", "Dunkin'", "McDonald's", "Walgreens", "Great Clips",
          "Men's Wearhouse", "Pizza Hut", "Taco Bell", "Chipotle Mexican Grill", "CVS Pharmacy"]  # fmt: skip
BIZ_WORDS = ["Cafe", "Grill", "Bistro", "Nails", "Spa", "Dental", "Auto", "Market", "Studio", "Bar", "Kitchen",
             "Bakery", "Salon", "Fitness", "Pharmacy", "Realty", "Tavern", "Pizza", "Tires", "Boutique"]  # fmt: skip
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _yelp(root: Path, sz: Sizes, seed: int) -> None:
    rng = _rng(seed, "yelp")
    n = sz.yelp
    n_city = max(20, n // 180)
    states = [s for s in STATES]
    cities = []
    for _ in range(n_city):
        st = states[int(rng.integers(0, len(states)))]
        cities.append((_word(rng) + CITY_SUFFIX[int(rng.integers(0, len(CITY_SUFFIX)))], st[0],
                       rng.uniform(27, 53), rng.uniform(-120, -75)))  # fmt: skip
    city_zip = {}
    for ci, (_c, st, _, _) in enumerate(cities):
        if st == "AB":
            city_zip[ci] = [f"T{int(rng.integers(1, 9))}{chr(65 + int(rng.integers(0, 26)))} "
                            f"{int(rng.integers(0, 9))}{chr(65 + int(rng.integers(0, 26)))}{int(rng.integers(0, 9))}"
                            for _ in range(int(rng.integers(2, 6)))]  # fmt: skip
        else:
            base = int(rng.integers(1000, 99000))
            city_zip[ci] = [f"{base + i:05d}" for i in range(int(rng.integers(2, 8)))]
    cw = rng.pareto(1.0, n_city) + 0.1
    city_of = rng.choice(n_city, n, p=cw / cw.sum())
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
    ids = set()
    rows = []
    for i in range(n):
        while True:
            bid = "".join(alphabet[rng.integers(0, 64, 22)])
            if bid not in ids:
                ids.add(bid)
                break
        ci = int(city_of[i])
        cname, st, clat, clon = cities[ci]
        if rng.random() < 0.04:
            cname_s = cname + (" " if rng.random() < 0.5 else "")  # messy spellings, trailing spaces
            cname_s = cname_s.lower().capitalize() if rng.random() < 0.3 else cname_s
        else:
            cname_s = cname
        if rng.random() < 0.12:
            name = CHAINS[int(rng.integers(0, len(CHAINS)))]
        else:
            name = f"{_word(rng)} {BIZ_WORDS[int(rng.integers(0, len(BIZ_WORDS)))]}"
        k = int(rng.integers(1, 5))
        cats = [YELP_CATEGORIES[int(j)] for j in rng.choice(len(YELP_CATEGORIES), k, replace=False)]
        if rng.random() < 0.02:
            categories = None
        else:
            categories = ", ".join(cats)
        if rng.random() < 0.1:
            attributes = None
        else:
            attributes = {}
            if rng.random() < 0.5:
                attributes["ByAppointmentOnly"] = "True" if rng.random() < 0.4 else "False"
            attributes["BusinessAcceptsCreditCards"] = "True" if rng.random() < 0.9 else "False"
            if rng.random() < 0.5:
                attributes["WiFi"] = ["u'free'", "u'no'", "'paid'"][int(rng.integers(0, 3))]
            if rng.random() < 0.4:
                attributes["RestaurantsPriceRange2"] = str(int(rng.integers(1, 5)))
        if rng.random() < 0.15:
            hours = None
        else:
            op = int(rng.integers(0, 12))
            cl = int(rng.integers(op + 4, op + 13))
            om = [0, 30][int(rng.integers(0, 2))]
            hours = {}
            for dname in DAYS:
                if rng.random() < 0.12:
                    continue
                hours[dname] = "0:0-0:0" if op == 0 and cl == 24 else f"{op}:{om}-{cl % 24}:{0}"
        rows.append(
            {
                "business_id": bid,
                "name": name,
                "address": f"{int(rng.integers(1, 9999))} {_word(rng)} {['St', 'Ave', 'Rd', 'Blvd', 'Dr'][int(rng.integers(0, 5))]}",
                "city": cname_s,
                "state": st,
                "postal_code": city_zip[ci][int(rng.integers(0, len(city_zip[ci])))]
                if rng.random() > 0.01
                else "",
                "latitude": round(float(clat + rng.normal(0, 0.08)), 7),
                "longitude": round(float(clon + rng.normal(0, 0.08)), 7),
                "stars": float(rng.integers(2, 11)) / 2,
                "review_count": int(5 + rng.pareto(1.1) * 8),
                "is_open": int(rng.random() < 0.8),
                "attributes": attributes,
                "categories": categories,
                "hours": hours,
            }
        )
    _write_jsonl(root / "external_corpus" / "yelp" / "yelp_academic_dataset_business.json", rows)


# ---------------------------------------------------------------------------------------------- airbnb

NYC = {
    "Brooklyn": ["Bushwick", "Bedford-Stuyvesant", "Clinton Hill", "South Slope", "Boerum Hill", "Williamsburg",
                 "Park Slope", "Crown Heights", "Greenpoint", "Flatbush"],
    "Manhattan": ["Hell's Kitchen", "Harlem", "Midtown", "Little Italy", "East Village", "Chelsea",
                  "Upper West Side", "Murray Hill", "SoHo", "Tribeca"],
    "Queens": ["Rego Park", "Maspeth", "College Point", "Rosedale", "Astoria", "Flushing", "Jamaica",
               "Long Island City", "Sunnyside", "Woodside"],
    "Bronx": ["Eastchester", "Fordham", "Mott Haven", "Riverdale", "Concourse"],
    "Staten Island": ["Tompkinsville", "West Brighton", "St. George", "Stapleton", "Great Kills"],
}  # fmt: skip
AIRBNB_ADJ = ["Cozy", "Spacious", "Sunny", "Bright", "Modern", "Charming", "Quiet", "Large", "Lovely", "Amazing",
              "Stylish", "Renovated", "Beautiful", "Huge", "Private", "Clean", "Luxury", "Premium"]  # fmt: skip
AIRBNB_NOUN = ["Room", "Bedroom", "Apartment", "Studio", "Loft", "Suite", "Home", "APT", "Duplex", "Flat"]
AIRBNB_TAIL = ["in Prime Brooklyn", "near subway", "with Garden", "Close to Park", "by the Park", "w/ View",
               "in the heart of the city", "steps to train", "★ Great Location ★", "for female",
               "(LGBT friendly)", "with Bathroom", "& Rooftop", "– walk to everything"]  # fmt: skip


def _airbnb(root: Path, sz: Sizes, seed: int) -> None:
    import pandas as pd

    rng = _rng(seed, "airbnb")
    n = sz.airbnb
    hoods = [(g, h) for g, hs in NYC.items() for h in hs]
    hw = rng.pareto(1.5, len(hoods)) + 0.2
    hi = rng.choice(len(hoods), n, p=hw / hw.sum())
    centre = {h: (rng.uniform(40.55, 40.85), rng.uniform(-74.15, -73.75)) for _, h in hoods}
    ids = 1000000 + rng.choice(56_000_000, n, replace=False)
    names = []
    for _ in range(n):
        r = rng.random()
        words = [AIRBNB_ADJ[int(rng.integers(0, len(AIRBNB_ADJ)))]]
        if r < 0.3:
            words.append(f"{int(rng.integers(1, 4))} {['BR', 'bedroom', 'Bedroom'][int(rng.integers(0, 3))]}")
        words.append(AIRBNB_NOUN[int(rng.integers(0, len(AIRBNB_NOUN)))])
        name = " ".join(words)
        if rng.random() < 0.7:
            name += " " + AIRBNB_TAIL[int(rng.integers(0, len(AIRBNB_TAIL)))]
        if rng.random() < 0.08:
            name = name.replace(" ", ", ", 1)  # names with ", " exist in the real file
        if rng.random() < 0.03:
            name = name.replace(" ", "  ", 1)
        names.append(name)
    name_arr = np.array(names, dtype=object)
    name_arr[rng.random(n) < 0.002] = np.nan
    price = rng.integers(50, 1201, n)
    fee = np.round(price * 0.2).astype(int)

    def money(v):
        return np.array([f"${x:,} " for x in v], dtype=object)

    price_s, fee_s = money(price), money(fee)
    price_s[rng.random(n) < 0.003] = np.nan
    fee_s[rng.random(n) < 0.003] = np.nan

    def gaps(x, frac=0.004):
        x = x.astype(float)
        x[rng.random(n) < frac] = np.nan
        return x

    last = [
        f"{int(m)}/{int(d)}/{int(y)}"
        for m, d, y in zip(
            rng.integers(1, 13, n), rng.integers(1, 29, n), rng.integers(2012, 2023, n), strict=False
        )
    ]
    no_rev = rng.random(n) < 0.15
    last_s = np.array(last, dtype=object)
    last_s[no_rev] = np.nan
    rpm = np.round(rng.gamma(1.0, 1.0, n), 2)
    rpm = np.where(no_rev, np.nan, np.maximum(rpm, 0.01))
    n_rev = np.where(no_rev, 0, rng.integers(1, 400, n)).astype(float)
    room = np.array(["Private room", "Entire home/apt", "Shared room", "Hotel room"], dtype=object)[
        rng.choice(4, n, p=[0.45, 0.5, 0.03, 0.02])
    ]
    first = np.array(FIRST_NAMES, dtype=object)[rng.integers(0, len(FIRST_NAMES), n)]
    lic = np.full(n, np.nan, dtype=object)
    lic[rng.random(n) < 0.001] = "41662/AL"  # the mixed-type column
    df = pd.DataFrame(
        {
            "id": ids,
            "NAME": name_arr,
            "host id": 10_000_000_000 + rng.choice(89_000_000_000, n, replace=False),
            "host_identity_verified": np.array(["unconfirmed", "verified"], dtype=object)[
                rng.integers(0, 2, n)
            ],
            "host name": first,
            "neighbourhood group": np.array([hoods[i][0] for i in hi], dtype=object),
            "neighbourhood": np.array([hoods[i][1] for i in hi], dtype=object),
            "lat": np.round([centre[hoods[i][1]][0] + rng.normal(0, 0.012) for i in hi], 5),
            "long": np.round([centre[hoods[i][1]][1] + rng.normal(0, 0.012) for i in hi], 5),
            "country": "United States",
            "country code": "US",
            "instant_bookable": rng.random(n) < 0.5,
            "cancellation_policy": np.array(["flexible", "moderate", "strict"], dtype=object)[
                rng.integers(0, 3, n)
            ],
            "room type": room,
            "Construction year": gaps(rng.integers(2003, 2023, n)),
            "price": price_s,
            "service fee": fee_s,
            "minimum nights": gaps(
                np.where(rng.random(n) < 0.6, rng.integers(1, 4, n), rng.integers(1, 31, n))
            ),
            "number of reviews": n_rev,
            "last review": last_s,
            "reviews per month": rpm,
            "review rate number": gaps(rng.integers(1, 6, n)),
            "calculated host listings count": gaps(rng.integers(1, 6, n)),
            "availability 365": gaps(rng.integers(0, 366, n)),
            "house_rules": np.array(
                ["No smoking", "No parties or events", "Quiet hours after 10pm", np.nan], dtype=object
            )[rng.integers(0, 4, n)],  # fmt: skip
            "license": lic,
        },
        columns=AIRBNB_COLUMNS,
    )
    _csv(df, root / "external_corpus" / "airbnb" / "Airbnb_Open_Data.csv")


# ---------------------------------------------------------------------------------------------- dblp

TITLE_A = ["Learning", "Towards", "Efficient", "Robust", "Scalable", "Adaptive", "Secure", "Deep", "Federated",
           "Graph", "Neural", "Optimal", "Distributed", "Interpretable", "Fast", "Privacy-Preserving",
           "Self-Supervised", "Contrastive", "Sparse", "Bayesian"]  # fmt: skip
TITLE_B = ["Representation Learning", "Trace Reconstruction", "Point Cloud Compression", "Crowd Flow Prediction",
           "Network Structure Learning", "Entity Recognition", "Edge Computing", "Image Segmentation",
           "Question Answering", "Fact Verification", "Code Generation", "Anomaly Detection",
           "Recommendation", "Speech Synthesis", "Motion Planning", "Knowledge Graph Completion",
           "Channel Estimation", "Weight Matching", "Time Series Forecasting", "Domain Adaptation"]  # fmt: skip
TITLE_C = ["for Internet of Things", "with Transformers", "in Fog Computing", "on General Graphs",
           "via Attention", "under Uncertainty", "at Scale", "for Autonomous Driving", "in the Wild",
           "with Limited Labels", "over Wireless Channels", "for Medical Imaging", ""]  # fmt: skip
VENUES = ["IEEE Internet of Things Journal", "Annual Conference on Neural Information Processing Systems",
          "DIGITAL SIGNAL PROCESSING", "ICLR", "AAAI", "CVPR", "IEEE Access", "Neurocomputing",
          "ACM Computing Surveys", "ICML", "KDD", "WWW", "Information Sciences", "Pattern Recognition",
          "IEEE Transactions on Wireless Communications", "ACL"]  # fmt: skip
KEYWORDS = ["Image-to-image translation", "Discriminator", "Generative adversarial networks", "Attribute label",
            "Multi-domain", "Unsupervised", "Deep learning", "Graph neural networks", "Privacy", "Edge computing",
            "Reinforcement learning", "Transformers", "Federated learning", "Optimization", "Robustness",
            "Point clouds", "Speech", "Knowledge graphs", "Anomaly detection", "Recommender systems"]  # fmt: skip
ORGS = ["Computer Science University of {c}, United States", "Shandong Univ, Sch Software, {c}, Peoples R China",
        "Department of Electrical Engineering, {c} Institute of Technology", "{c} Research Lab",
        "School of Informatics, University of {c}"]  # fmt: skip


def _hexid(rng: np.random.Generator, n: int) -> list[str]:
    raw = rng.integers(0, 2**63 - 1, (n, 2), dtype=np.int64)
    return [f"{int(a):016x}"[:12] + f"{int(b):016x}"[:12] for a, b in raw]


def _dblp(root: Path, sz: Sizes, seed: int, progress: Callable[[int], None] | None) -> None:
    import networkx as nx

    rng = _rng(seed, "dblp")
    n_p, n_a = sz.dblp_papers, sz.dblp_authors
    n_old = n_p // 4  # pre-2021 papers that appear only as references
    ids = _hexid(rng, n_p + n_old)
    # unique titles (no ", " so tools that split on it can name them)
    titles: list[str] = []
    seen: set[str] = set()
    while len(titles) < n_p + n_old:
        a = TITLE_A[int(rng.integers(0, len(TITLE_A)))]
        b = TITLE_B[int(rng.integers(0, len(TITLE_B)))]
        c = TITLE_C[int(rng.integers(0, len(TITLE_C)))]
        t = f"{a} {b} {c}".strip()
        if t in seen or rng.random() < 0.7:
            t = f"{_word(rng, (2, 4))}: {t}"
        if rng.random() < 0.3:
            t += "."
        if t not in seen:
            seen.add(t)
            titles.append(t)
    author_ids = _hexid(rng, n_a)
    n_names = int(n_a * 0.97)  # a few names shared by two ids
    names = _unique_words(
        rng,
        n_names,
        lambda: (
            f"{FIRST_NAMES[int(rng.integers(0, len(FIRST_NAMES)))]} {LAST_NAMES[int(rng.integers(0, len(LAST_NAMES)))]}"
            if rng.random() < 0.3
            else f"{INITIALS[int(rng.integers(0, len(INITIALS)))]}{_word(rng, (1, 2)).lower()} {_word(rng, (1, 3))}"
        ),
    )
    a_name = names + [names[int(i)] for i in rng.integers(0, n_names, n_a - n_names)]
    cities = [_word(rng) for _ in range(200)]
    a_org = [
        ""
        if rng.random() < 0.25
        else ORGS[int(rng.integers(0, len(ORGS)))].format(c=cities[int(rng.integers(0, 200))])
        for _ in range(n_a)
    ]
    # authors cluster into groups so collaborations repeat
    group_size = 8
    n_groups = max(1, n_a // group_size)

    def paper(i: int, year: int) -> dict:
        g = int(rng.integers(0, n_groups))
        k = int(rng.choice([1, 2, 3, 4, 5, 6], p=[0.08, 0.22, 0.28, 0.22, 0.12, 0.08]))
        members = g * group_size + rng.choice(group_size, k, replace=False)
        if rng.random() < 0.3:
            members[-1] = rng.integers(0, n_a)
        authors = []
        for m in members:
            m = int(m) % n_a
            anon = rng.random() < 0.03
            authors.append(
                {"id": "" if anon else author_ids[m], "name": a_name[m], "org": "" if anon else a_org[m]}
            )
        ps = int(rng.integers(1, 900))
        pages = ("", "") if rng.random() < 0.2 else (str(ps), str(ps + int(rng.integers(0, 20))))
        return {
            "title": titles[i],
            "authors": authors,
            "year": year,
            "venue": {"raw": VENUES[int(rng.integers(0, len(VENUES)))]},
            "n_citation": int(rng.pareto(1.3) * 3),
            "keywords": [
                KEYWORDS[int(j)] for j in rng.choice(len(KEYWORDS), int(rng.integers(0, 5)), replace=False)
            ],
            "doc_type": "Conference" if rng.random() < 0.5 else "Journal",
            "page_start": pages[0],
            "page_end": pages[1],
        }

    new = [paper(i, int(rng.choice([2021, 2022, 2023]))) for i in range(n_p)]
    with_attrs = rng.random(n_old) < 0.6  # old references found in the full dump get attributes
    old = {i: paper(n_p + i, int(rng.integers(1990, 2021))) for i in range(n_old) if with_attrs[i]}
    # references: mostly other 2021+ papers, some older ones
    n_ref = rng.poisson(3.0, n_p)
    order = np.argsort(
        np.array([p["n_citation"] for p in new]), kind="stable"
    )  # sub_data sorted by n_citation
    paper_net = nx.DiGraph()
    author_net = nx.Graph()
    id2title, title2id, id2author, author2id = {}, {}, {}, {}
    attrs_keys = (
        "title",
        "authors",
        "year",
        "venue",
        "n_citation",
        "keywords",
        "doc_type",
        "page_start",
        "page_end",
    )
    for i in order:
        p = new[i]
        id2title[ids[i]] = p["title"]
        title2id[p["title"]] = ids[i]
        for au in p["authors"]:
            if au["id"] and au["id"] not in id2author:
                id2author[au["id"]] = au["name"]
                author2id[au["name"]] = au["id"]
    for c, i in enumerate(order):
        i = int(i)
        p = new[i]
        pid = ids[i]
        if pid not in paper_net:
            paper_net.add_node(pid, **{k: p[k] for k in attrs_keys})
        else:  # seen earlier as a reference: now with attributes
            paper_net.nodes[pid].update({k: p[k] for k in attrs_keys})
        for _ in range(int(n_ref[i])):
            if rng.random() < 0.75:
                j = int(rng.integers(0, n_p))
                if j == i:
                    continue
                rid, rp = ids[j], new[j]
            else:
                j = int(rng.integers(0, n_old))
                rid, rp = ids[n_p + j], old.get(j)
            if rid not in paper_net:
                if rp is None:
                    paper_net.add_node(rid)
                else:
                    paper_net.add_node(rid, **{k: rp[k] for k in attrs_keys})
            paper_net.add_edge(pid, rid)
        aus = []
        for au in p["authors"]:
            if au["id"] and au["id"] not in aus:
                aus.append(au["id"])
                if au["id"] not in author_net:
                    author_net.add_node(au["id"], org=au["org"])
        for x in range(len(aus)):
            for y in range(x + 1, len(aus)):
                a, b = aus[x], aus[y]
                if author_net.has_edge(a, b):
                    e = author_net[a][b]  # (a,b) and (b,a) are one dict in a Graph: the official double count
                    for _ in range(2):
                        e["weight"] += 1
                        e["papers"].append(pid)
                        e["n_citation"].append(p["n_citation"])
                else:
                    author_net.add_edge(a, b, weight=1, papers=[pid], n_citation=[p["n_citation"]])
        if progress and c % 10000 == 9999:
            progress(10000)
    d = root / "external_corpus" / "dblp"
    for name, obj in (
        ("paper_net", paper_net),
        ("author_net", author_net),
        ("title2id_dict", title2id),
        ("author2id_dict", author2id),
        ("id2title_dict", id2title),
        ("id2author_dict", id2author),
    ):
        with open(d / f"{name}.pkl", "wb") as f:
            pickle.dump(obj, f, protocol=4)


# ---------------------------------------------------------------------------------------------- agenda

AGENDA_EVENTS = [
    ("Breakfast meeting", ["The Breakfast Club", "Sunrise Diner"], (7, 9), 1),
    ("Broadway Show", ["Lyric Theatre", "Majestic Theatre"], (19, 21), 3),
    ("Late Night Movie", ["AMC Empire 25", "Regal Cinema"], (23, 23), 2),
    ("Coffee tasting", ["Cafe Grumpy", "Blue Bottle Coffee"], (9, 15), 1),
    ("Star Gazing", ["Observatory, Griffith Park Observatory"], (20, 22), 3),
    ("Movie Night", ["The Standard Hotel rooftop ", "Nitehawk Cinema"], (19, 21), 2),
    ("Poetry reading", ["Beyond Baroque", "Poets House"], (18, 20), 2),
    ("Landscape photography workshop", ["Central Park", "Prospect Park"], (7, 10), 3),
    ("Business meeting", ["Conference Room B", "WeWork Office"], (9, 16), 2),
    ("Intermediate Spanish lesson", ["Instituto Cervantes"], (10, 18), 1),
    ("Happy Hour", ["The Dead Rabbit", "Local Tavern"], (17, 19), 2),
    ("Farmers Market Visit", ["Union Square Greenmarket"], (8, 12), 2),
    ("Photography Class", ["The Camera Store ", "Art Center"], (10, 15), 2),
    ("Culinary festival", ["The Convention Center "], (11, 16), 4),
    ("Volunteer work", ["Food Bank", "Animal Shelter"], (9, 13), 4),
    ("Art walk", ["Chelsea Galleries", "Arts District"], (14, 17), 2),
    ("Book signing", ["Barnes & Noble", "The Strand"], (15, 18), 1),
    ("Hiking trail", ["Bear Mountain", "Runyon Canyon"], (7, 11), 3),
    ("Yoga class", ["Sunset Yoga Studio", "Y7 Studio"], (6, 19), 1),
    ("Dentist appointment", ["Smile Dental Clinic"], (9, 16), 1),
    ("Opera performance", ["Lyric Opera House"], (19, 20), 2),
    ("Team lunch", ["Olive Garden", "Shake Shack"], (12, 13), 1),
    ("Cooking class", ["Sur La Table ", "Institute of Culinary Education"], (10, 18), 2),
    ("Jazz concert", ["Blue Note Jazz Club", "Village Vanguard"], (20, 21), 2),
    ("Gym workout", ["Equinox", "Planet Fitness"], (6, 20), 1),
    ("Doctor's appointment", ["City Medical Center"], (8, 16), 1),
    ("Wine tasting", ["Napa Wine Bar", "City Winery"], (17, 20), 2),
    ("Museum visit", ["The Met", "MoMA"], (10, 15), 3),
]  # fmt: skip
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]  # fmt: skip


def fmt_12h(minutes: int) -> str:
    """Minutes since midnight -> `9:00 AM` / `1:30 PM` (the agenda's 12-hour clock)."""
    m = minutes % 1440
    h, mm = divmod(m, 60)
    suffix = "AM" if h < 12 else "PM"
    h12 = h % 12 or 12
    return f"{h12}:{mm:02d} {suffix}"


def _agenda_description(e: dict, rng: np.random.Generator) -> str:
    y, mo, d = (int(x) for x in e["date"].split("/"))
    when = f"{MONTHS[mo - 1]} {d}, {y}"
    loc = e["location"].strip()
    forms = [
        f"On {when}, {e['person']} will attend {e['event']} at {loc}. The event starts at {e['start_time']} "
        f"and ends at {e['end_time']}.",
        f"{e['person']} has {e['event']} scheduled on {when} from {e['start_time']} to {e['end_time']} at {loc}.",
        f"On {when}, there will be a {e['event']} at {loc}, attended by {e['person']}. It will start at "
        f"{e['start_time']} and end at {e['end_time']}.",
    ]
    extra = [" Don't forget to bring a water bottle.", " It should be a lot of fun.", "",
             " Remember to arrive a few minutes early.", " Friends may join as well."]  # fmt: skip
    return forms[int(rng.integers(0, 3))] + extra[int(rng.integers(0, len(extra)))]


def _agenda(root: Path, sz: Sizes, seed: int) -> None:
    rng = _rng(seed, "agenda")
    people = FIRST_NAMES[: sz.agenda_people]
    # a smaller set of dates keeps several events per date, as in the official file (~27 per day)
    n_dates = max(10, min(365, sz.agenda // 27))
    day_idx = np.sort(rng.choice(365, n_dates, replace=False))
    dates = [(dt.date(2022, 1, 1) + dt.timedelta(days=int(x))).strftime("%Y/%m/%d") for x in day_idx]
    events = []
    for i in range(sz.agenda):
        name, locs, (h0, h1), dur = AGENDA_EVENTS[int(rng.integers(0, len(AGENDA_EVENTS)))]
        start = int(rng.integers(h0, h1 + 1)) * 60 + (30 if rng.random() < 0.25 else 0)
        length = dur * 60 + (30 if rng.random() < 0.2 else 0)
        events.append(
            {
                "event": name,
                "start_time": fmt_12h(start),
                "end_time": fmt_12h(start + length),
                "location": locs[int(rng.integers(0, len(locs)))],
                "person": people[int(rng.integers(0, len(people)))],
                "date": dates[int(rng.integers(0, n_dates))],
                "id": f"agenda-{i:04d}",
            }
        )
    raw = root / "raw_data" / "agenda"
    raw.mkdir(parents=True, exist_ok=True)
    _write_jsonl(raw / "agenda_events.jsonl", events)
    merged = [{"event": _agenda_description(e, rng), "id": e["id"]} for e in events]
    _write_jsonl(root / "external_corpus" / "agenda" / "agenda_descriptions_merged.jsonl", merged)


# ---------------------------------------------------------------------------------------------- scirex

SCI_TASKS = ["Semantic_Segmentation", "Natural_Language_Inference", "Image_Classification", "Link_Prediction",
             "Object_Detection", "Language_Modelling", "Dependency_Parsing", "Question_Answering",
             "Named_Entity_Recognition__NER_", "Sentiment_Analysis", "Atari_Games", "Image_Generation",
             "Scene_Text_Detection", "Collaborative_Filtering", "Keypoint_Detection"]  # fmt: skip
SCI_DATASETS = ["MNIST", "Cityscapes", "JNLPBA", "IC17-MLT", "SNLI", "WN18", "PASCAL_VOC_2007", "CIFAR-10",
                "Penn_Treebank__Word_Level_", "Penn_Treebank", "MultiNLI", "SQuAD1_1", "Atari_2600_Road_Runner",
                "Atari_2600_Robotank", "Million_Song_Dataset", "IMDb", "COCO", "ImageNet", "WikiText-103",
                "FB15k-237", "Yelp_Fine-grained_classification", "CNN___Daily_Mail", "Bing_News"]  # fmt: skip
SCI_METRICS = ["Accuracy", "Mean_IoU", "F1", "F-Measure", "Hits_1", "MAP", "NLL_Test", "Validation_perplexity",
               "LAS", "UAS", "Error", "Score", "Recall_50", "AUC", "Log_Loss", "Test_perplexity", "EM"]  # fmt: skip
SCI_FILLER = ["we propose a novel approach that improves over the state - of - the - art",
              "our model is trained end - to - end with stochastic gradient descent",
              "experiments show consistent gains across benchmarks", "we analyse the effect of each component",
              "the architecture uses residual connections and attention", "code and models are released"]  # fmt: skip


def _sci_score(rng: np.random.Generator) -> str | float:
    r = rng.random()
    v = rng.uniform(20, 99)
    if r < 0.45:
        return f"{v:.2f}"
    if r < 0.7:
        return f"{v:.1f}%"
    if r < 0.8:
        return f"0.{int(rng.integers(100, 999))}"
    if r < 0.85:
        return f"{int(rng.integers(1, 900))}{['M', 'k'][int(rng.integers(0, 2))]}"
    return round(float(v), 2)  # a few scores are JSON numbers


def _scirex(root: Path, sz: Sizes, seed: int) -> None:
    rng = _rng(seed, "scirex")
    methods = _unique_words(
        rng,
        sz.scirex_papers * 2,
        lambda: _word(rng, (1, 3)) + rng.choice(["Net", "-GAN", "_BERT", "", "_LSTM", "++"]),
    )
    # each task has its usual datasets and metrics, so papers on one task compare on shared benchmarks
    task_mats = {
        t: [SCI_DATASETS[int(j)] for j in rng.choice(len(SCI_DATASETS), 3, replace=False)] for t in SCI_TASKS
    }
    task_mets = {
        t: [SCI_METRICS[int(j)] for j in rng.choice(len(SCI_METRICS), 2, replace=False)] for t in SCI_TASKS
    }
    docs = []
    for i in range(sz.scirex_papers):
        task = SCI_TASKS[int(rng.integers(0, len(SCI_TASKS)))]
        own = [methods[2 * i], methods[2 * i + 1]] if rng.random() < 0.4 else [methods[2 * i]]
        pool_m, pool_k = task_mats[task], task_mets[task]
        mats = [pool_m[int(j)] for j in rng.choice(3, int(rng.integers(1, 4)), replace=False)]
        mets = [pool_k[int(j)] for j in rng.choice(2, int(rng.integers(1, 3)), replace=False)]
        rels = []
        for m in own:
            for mat in mats:
                for met in mets:
                    if rng.random() < 0.8 or not rels:
                        rels.append(
                            {
                                "Material": mat,
                                "Method": m,
                                "Metric": met,
                                "Task": task,
                                "score": _sci_score(rng),
                            }
                        )
        title = f"{own[0]} : {TITLE_A[int(rng.integers(0, len(TITLE_A)))]} {task.replace('_', ' ').strip()}"
        sections = [
            f"section : Abstract {title} . "
            + " . ".join(SCI_FILLER[int(j)] for j in rng.choice(6, 3, replace=False))
            + " .",
            "section : Introduction "
            + task.replace("_", " ")
            + " is an important problem . "
            + " . ".join(SCI_FILLER[int(j)] for j in rng.choice(6, 4, replace=False))
            + " .",
        ]
        for mat in mats:
            lines = [f"section : Experiments on {mat} We evaluate on the {mat} dataset for the {task} task ."]
            for r in rels:
                if r["Material"] == mat:
                    lines.append(
                        f"The {r['Method']} method achieves a {r['Metric']} score of {r['score']} on {mat} for {task} ."
                    )
            sections.append(" ".join(lines))
        sections.append(
            "section : Conclusion "
            + " . ".join(SCI_FILLER[int(j)] for j in rng.choice(6, 2, replace=False))
            + " ."
        )
        words, spans = [], []
        for s in sections:
            w = s.split(" ")
            spans.append([len(words), len(words) + len(w)])
            words.extend(w)
        docs.append({"doc_id": f"synth-{i:04d}", "words": words, "sections": spans, "n_ary_relations": rels})
    raw = root / "raw_data" / "scirex"
    raw.mkdir(parents=True, exist_ok=True)
    n = len(docs)
    splits = {
        "train": docs[: int(n * 0.7)],
        "dev": docs[int(n * 0.7) : int(n * 0.85)],
        "test": docs[int(n * 0.85) :],
    }
    lines = []
    for split in ("train", "dev", "test"):
        _write_jsonl(raw / f"{split}.jsonl", splits[split])
        for doc in splits[split]:
            for a, b in doc["sections"]:
                lines.append({"id": f"scirex-{len(lines):04d}", "content": " ".join(doc["words"][a:b])})
    _write_jsonl(root / "external_corpus" / "scirex" / "Preprocessed_Scirex.jsonl", lines)


# ---------------------------------------------------------------------------------------------- entry


def expected_files() -> list[str]:
    """Paths (relative to the data root `<dir>/data`) of every official corpus file."""
    return [
        "external_corpus/flights/Combined_Flights_2022.csv",
        "external_corpus/coffee/coffee_price.csv",
        "external_corpus/yelp/yelp_academic_dataset_business.json",
        "external_corpus/airbnb/Airbnb_Open_Data.csv",
        *(f"external_corpus/dblp/{n}.pkl" for n in
          ("paper_net", "author_net", "title2id_dict", "author2id_dict", "id2title_dict", "id2author_dict")),
        "external_corpus/agenda/agenda_descriptions_merged.jsonl",
        "external_corpus/scirex/Preprocessed_Scirex.jsonl",
    ]  # fmt: skip


def generate_corpus(
    out_dir: str | os.PathLike,
    scale: str = "small",
    seed: int = 0,
    domains: tuple[str, ...] | list[str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Path:
    """Write the seven ToolQA corpora under `out_dir/data/` and return `out_dir`.

    `scale` is `tiny` (tests), `small` (under a minute) or `full` (official sizes). `progress(domain, done,
    total)` is called as the build advances (the CLI draws a bar with it).
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, not {scale!r}")
    sz = SCALES[scale]
    out = Path(out_dir)
    root = out / "data"
    for d in DOMAINS:
        (root / "external_corpus" / d).mkdir(parents=True, exist_ok=True)
    todo = [d for d in DOMAINS if domains is None or d in domains]
    totals = {"flights": sz.flights, "dblp": sz.dblp_papers}
    for d in todo:
        done = [0]
        total = totals.get(d, 1)

        def tick(n: int, d: str = d, done: list[int] = done, total: int = total) -> None:
            done[0] += n
            if progress:
                progress(d, min(done[0], total), total)

        log.info("generating %s (%s, seed %d)", d, scale, seed)
        if d == "flights":
            _flights(root, sz, seed, tick)
        elif d == "dblp":
            _dblp(root, sz, seed, tick)
        else:
            {"coffee": _coffee, "yelp": _yelp, "airbnb": _airbnb, "agenda": _agenda, "scirex": _scirex}[d](
                root, sz, seed
            )
        if progress:
            progress(d, total, total)
    return out


def remove_tree(path: str | os.PathLike) -> None:
    shutil.rmtree(path, ignore_errors=True)

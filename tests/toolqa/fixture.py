"""A small ToolQA corpus in the official layout, with known values, for the tests.

`build_fixture(root)` writes `root/data/external_corpus/...` (all seven corpora: a few hundred table
rows, a few DBLP nodes, a few agenda/scirex texts) and `root/data/questions/{easy,hard}/...` (a few
questions per domain, official file names including `genda-hard.jsonl`). Row 0 of each table and
the named DBLP nodes carry the values the tests assert.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from seer_env.embedding import HashEmbedder

FLIGHT_COLUMNS = (
    "FlightDate, Airline, Origin, Dest, Cancelled, Diverted, CRSDepTime, DepTime, DepDelayMinutes, DepDelay, "
    "ArrTime, ArrDelayMinutes, AirTime, CRSElapsedTime, ActualElapsedTime, Distance, Year, Quarter, Month, "
    "DayofMonth, DayOfWeek, Marketing_Airline_Network, Operated_or_Branded_Code_Share_Partners, "
    "DOT_ID_Marketing_Airline, IATA_Code_Marketing_Airline, Flight_Number_Marketing_Airline, Operating_Airline, "
    "DOT_ID_Operating_Airline, IATA_Code_Operating_Airline, Tail_Number, Flight_Number_Operating_Airline, "
    "OriginAirportID, OriginAirportSeqID, OriginCityMarketID, OriginCityName, OriginState, OriginStateFips, "
    "OriginStateName, OriginWac, DestAirportID, DestAirportSeqID, DestCityMarketID, DestCityName, DestState, "
    "DestStateFips, DestStateName, DestWac, DepDel15, DepartureDelayGroups, DepTimeBlk, TaxiOut, WheelsOff, "
    "WheelsOn, TaxiIn, CRSArrTime, ArrDelay, ArrDel15, ArrivalDelayGroups, ArrTimeBlk, DistanceGroup, "
    "DivAirportLandings"
).split(", ")

AIRBNB_COLUMNS = [
    "id", "NAME", "host id", "host_identity_verified", "host name", "neighbourhood group", "neighbourhood",
    "lat", "long", "country", "country code", "instant_bookable", "cancellation_policy", "room type",
    "Construction year", "price", "service fee", "minimum nights", "number of reviews", "last review",
    "reviews per month", "review rate number", "calculated host listings count", "availability 365",
    "house_rules", "license",
]  # fmt: skip

AIRLINES = {
    "DL": "Delta Air Lines Inc.",
    "AA": "American Airlines Inc.",
    "UA": "United Air Lines Inc.",
    "WN": "Southwest Airlines Co.",
    "C5": "Commutair Aka Champlain Enterprises, Inc.",
}
AIRPORTS = ["ATL", "MCO", "LAX", "JFK", "ORD", "DEN"]
N_FLIGHTS = 300
N_COFFEE = 200
N_YELP = 120
N_AIRBNB = 150

# DBLP ids
P1, P2, P3, P0 = (
    "p0000000000000000000001",
    "p0000000000000000000002",
    "p0000000000000000000003",
    "p0000000000000000000000",
)
A1, A2, A3, A4 = "a1", "a2", "a3", "a4"
TITLE1 = "Learning to Fly with Graphs."
TITLE2 = "Deep Nets for Coffee Prices."
TITLE3 = "A Survey of Everything."
TITLE0 = "An Old Paper From 2019."

AGENDA = [
    "On January 29, 2022, there will be an opera performance at the Lyric Opera House, featuring Stephen. "
    "The show will start at 7:00 PM and end at 9:00 PM.",
    "Amelia has a breakfast meeting at Sur La Table on February 17, 2022 from 9:00 AM to 10:30 AM.",
    "On March 3, 2022, Mia attends a yoga class at the Community Center from 6:00 PM to 7:00 PM.",
    "William will go to a dentist appointment at Bright Smiles on April 5, 2022, 2:00 PM to 3:00 PM.",
    "Emily plans a picnic in Central Park on May 21, 2022 from 11:00 AM to 1:00 PM.",
    "A book club meeting with Olivia takes place at the City Library on June 8, 2022 from 5:00 PM to 6:30 PM.",
]
SCIREX = [
    "section : Abstract Semantic image segmentation with deep convolutional networks reaches 71.8 % mIoU on "
    "PASCAL VOC .",
    "section : Experiments BiDAF ( ensemble ) achieves an F1 score of 81.1 on the SQuAD dataset for question "
    "answering .",
    "section : Results Our language model obtains a perplexity of 58.3 on Penn Treebank word level .",
    "section : Introduction Object detection on COCO is evaluated with box AP .",
    "section : Conclusion We presented a new method for machine translation with BLEU 28.4 on WMT 2014 .",
]


def _flights(rng: np.random.Generator) -> pd.DataFrame:
    n = N_FLIGHTS
    codes = list(AIRLINES)
    carrier = [codes[i % len(codes)] for i in range(n)]
    origin = [AIRPORTS[i % len(AIRPORTS)] for i in range(n)]
    dest = [
        AIRPORTS[(i + 1 + i // 6) % len(AIRPORTS)]
        if AIRPORTS[(i + 1 + i // 6) % len(AIRPORTS)] != origin[i]
        else "SEA"
        for i in range(n)
    ]
    day = [1 + (i * 7) % 28 for i in range(n)]
    month = [1 + (i // 50) for i in range(n)]
    date = [f"2022-{m:02d}-{d:02d}" for m, d in zip(month, day, strict=False)]
    crs_dep = rng.integers(500, 2300, n)
    crs_dep = np.where(crs_dep % 100 >= 60, crs_dep - 40, crs_dep)
    dep_delay = rng.integers(-15, 90, n).astype(float)
    cancelled = np.zeros(n, dtype=bool)
    cancelled[7::25] = True
    dep_time = (crs_dep + dep_delay).astype(float)
    dep_time[cancelled] = np.nan
    arr_delay = dep_delay + rng.integers(-10, 20, n)
    arr_delay[cancelled] = np.nan
    air_time = rng.integers(40, 300, n).astype(float)
    air_time[cancelled] = np.nan
    distance = (air_time * 7).round(0)
    distance[cancelled] = 500.0
    crs_arr = (crs_dep + 200) % 2400
    df = pd.DataFrame({c: [np.nan] * n for c in FLIGHT_COLUMNS})
    df["FlightDate"] = date
    df["Airline"] = [AIRLINES[c] for c in carrier]
    df["Origin"] = origin
    df["Dest"] = dest
    df["Cancelled"] = cancelled
    df["Diverted"] = np.arange(n) % 40 == 3
    df["CRSDepTime"] = crs_dep
    df["DepTime"] = dep_time
    df["DepDelayMinutes"] = np.where(cancelled, np.nan, np.clip(dep_delay, 0, None))
    df["DepDelay"] = np.where(cancelled, np.nan, dep_delay)
    df["ArrTime"] = np.where(cancelled, np.nan, (crs_arr + arr_delay).astype(float))
    df["ArrDelayMinutes"] = np.clip(arr_delay, 0, None)
    df["AirTime"] = air_time
    df["CRSElapsedTime"] = air_time + 30
    df["ActualElapsedTime"] = air_time + 25
    df["Distance"] = distance
    df["Year"] = 2022
    df["Quarter"] = [1 + (m - 1) // 3 for m in month]
    df["Month"] = month
    df["DayofMonth"] = day
    df["DayOfWeek"] = [1 + i % 7 for i in range(n)]
    df["Marketing_Airline_Network"] = carrier
    df["Operated_or_Branded_Code_Share_Partners"] = carrier
    df["DOT_ID_Marketing_Airline"] = 19000 + np.arange(n) % 5
    df["IATA_Code_Marketing_Airline"] = carrier
    df["Flight_Number_Marketing_Airline"] = 1000 + np.arange(n) * 7 % 900
    df["Operating_Airline"] = carrier
    df["DOT_ID_Operating_Airline"] = 19000 + np.arange(n) % 5
    df["IATA_Code_Operating_Airline"] = carrier
    df["Tail_Number"] = [f"N{100 + i % 37}XX" for i in range(n)]
    df["Flight_Number_Operating_Airline"] = df["Flight_Number_Marketing_Airline"]
    df["OriginCityName"] = [f"City {o}, ST" for o in origin]
    df["DestCityName"] = [f"City {d}, ST" for d in dest]
    df["TaxiIn"] = np.where(cancelled, np.nan, rng.integers(2, 20, n).astype(float))
    df["CRSArrTime"] = crs_arr
    df["ArrDelay"] = arr_delay
    df["DepTimeBlk"] = [f"{h:02d}00-{h:02d}59" for h in crs_dep // 100]
    df["DistanceGroup"] = (distance // 250 + 1).astype(int)
    # row 0: the known flight (DL1575 ATL -> MCO on 2022-01-12)
    row0 = {
        "FlightDate": "2022-01-12", "Airline": AIRLINES["DL"], "Origin": "ATL", "Dest": "MCO",
        "Cancelled": False, "CRSDepTime": 1133, "DepTime": 1123.0, "DepDelay": -10.0, "DepDelayMinutes": 0.0,
        "ArrTime": 1252.0, "ArrDelay": -7.0, "ArrDelayMinutes": 0.0, "AirTime": 70.0, "Distance": 404.0,
        "IATA_Code_Marketing_Airline": "DL", "Flight_Number_Marketing_Airline": 1575, "TaxiIn": 5.0,
        "CRSArrTime": 1259, "DayOfWeek": 3,
    }  # fmt: skip
    for k, v in row0.items():
        df.loc[0, k] = v
    return df


def _coffee() -> pd.DataFrame:
    dates = pd.bdate_range("2000-01-03", periods=N_COFFEE)
    i = np.arange(N_COFFEE)
    openp = np.round(100 + 10 * np.sin(i / 7.0), 2)
    close = np.round(openp + np.cos(i / 3.0), 2)
    df = pd.DataFrame(
        {
            "Date": dates.strftime("%Y-%m-%d"),
            "Open": openp,
            "High": np.round(np.maximum(openp, close) + 1.25, 2),
            "Low": np.round(np.minimum(openp, close) - 0.75, 2),
            "Close": close,
            "Volume": 1000 + i * 13 % 977,
            "Currency": "USD",
        }
    )
    df.loc[0, ["Open", "High", "Low", "Close", "Volume"]] = [122.25, 124.0, 121.0, 123.5, 33418]
    return df


def _yelp() -> list[dict]:
    cities = [("Philadelphia", "PA", "19107"), ("Tampa", "FL", "33602"), ("Reno", "NV", "89501")]
    rows = []
    for i in range(N_YELP):
        city, state, pc = cities[i % 3]
        rows.append(
            {
                "business_id": f"biz{i:019d}",
                "name": f"Place {i}",
                "address": f"{100 + i} Main St",
                "city": city,
                "state": state,
                "postal_code": pc if i % 11 else "08083",
                "latitude": 39.9 + i / 1000,
                "longitude": -75.15 - i / 1000,
                "stars": [3.0, 3.5, 4.0, 4.5, 5.0][i % 5],
                "review_count": 5 + i,
                "is_open": i % 2,
                "attributes": {"ByAppointmentOnly": "True" if i % 4 == 0 else "False"} if i % 6 else None,
                "categories": "Nightlife, Pubs, Bars"
                if i % 3 == 0
                else ("Restaurants" if i % 3 == 1 else None),
                "hours": {"Monday": "7:0-20:30", "Tuesday": "0:0-0:0"} if i % 5 else None,
            }
        )
    rows[0].update(
        name="Thach Used Tires",
        address="1505 S 4th St",
        latitude=39.9288599,
        longitude=-75.1566897,
        stars=4.5,
        review_count=7,
    )
    return rows


def _airbnb() -> pd.DataFrame:
    n = N_AIRBNB
    i = np.arange(n)
    hoods = ["Bushwick", "Hell's Kitchen", "Bedford-Stuyvesant"]
    df = pd.DataFrame(
        {
            "id": 32113500 + i * 11,
            "NAME": [f"Cozy room {k} ★" for k in i],
            "host id": 1000 + i,
            "host_identity_verified": np.where(i % 2, "verified", "unconfirmed"),
            "host name": [["Ana", "Bo", "Cy"][k % 3] for k in i],
            "neighbourhood group": "Brooklyn",
            "neighbourhood": [hoods[k % 3] for k in i],
            "lat": 40.6 + i / 1000,
            "long": -73.9 - i / 1000,
            "country": "United States",
            "country code": "US",
            "instant_bookable": i % 2 == 0,
            "cancellation_policy": [["flexible", "moderate", "strict"][k % 3] for k in i],
            "room type": [["Private room", "Entire home/apt", "Shared room"][k % 3] for k in i],
            "Construction year": (2003 + i % 19).astype(float),
            "price": [f"${p:,} " for p in 50 + (i * 37) % 1200],
            "service fee": [f"${p} " for p in 10 + i % 200],
            "minimum nights": (1 + i % 10).astype(float),
            "number of reviews": (i % 50).astype(float),
            "last review": [f"{1 + k % 12}/{1 + k % 28}/2019" for k in i],
            "reviews per month": np.round(i / 100, 2),
            "review rate number": (1 + i % 5).astype(float),
            "calculated host listings count": (1 + i % 3).astype(float),
            "availability 365": (i * 3 % 365).astype(float),
            "house_rules": "No smoking",
            "license": np.nan,
        }
    )
    df.loc[0, ["NAME", "price", "availability 365"]] = ["Sunny Loft", "$1,146 ", 286.0]
    df.loc[1, ["last review", "reviews per month"]] = [np.nan, np.nan]
    return df


def _dblp(base: Path) -> None:
    def paper(title, year, n_cit, authors, venue="ICLR"):
        return {
            "title": title,
            "authors": [{"id": a, "name": name, "org": org} for a, name, org in authors],
            "year": year,
            "venue": {"raw": venue},
            "n_citation": n_cit,
            "keywords": ["graphs"],
            "doc_type": "Conference",
            "page_start": "1",
            "page_end": "10",
        }

    names = {
        A1: ("Chao Zhang", "MIT"),
        A2: ("Weihong Lin", "Tsinghua"),
        A3: ("He Zhang", ""),
        A4: ("Solo Author", "ETH"),
    }
    pn = nx.DiGraph()
    pn.add_node(P1, **paper(TITLE1, 2021, 8, [(A1, *names[A1]), (A2, *names[A2])]))
    pn.add_node(
        P2, **paper(TITLE2, 2022, 3, [(A1, *names[A1]), (A2, *names[A2]), (A3, *names[A3])], "NeurIPS")
    )
    pn.add_node(P3, **paper(TITLE3, 2021, 1, [(A4, *names[A4])]))
    pn.add_node(P0)  # a pre-2021 reference: no attributes, not in the dicts
    pn.add_edge(P2, P1)
    pn.add_edge(P3, P1)
    pn.add_edge(P3, P2)
    pn.add_edge(P1, P0)
    an = nx.Graph()
    for a in (A1, A2, A3, A4):
        an.add_node(a, org=names[a][1])
    an.add_edge(A1, A2, weight=3, papers=[P1, P2, P2], n_citation=[8, 3, 3])
    an.add_edge(A1, A3, weight=1, papers=[P2], n_citation=[3])
    an.add_edge(A2, A3, weight=1, papers=[P2], n_citation=[3])
    objs = {
        "paper_net.pkl": pn,
        "author_net.pkl": an,
        "title2id_dict.pkl": {TITLE1: P1, TITLE2: P2, TITLE3: P3},
        "id2title_dict.pkl": {P1: TITLE1, P2: TITLE2, P3: TITLE3},
        "author2id_dict.pkl": {v[0]: k for k, v in names.items()},
        "id2author_dict.pkl": {k: v[0] for k, v in names.items()},
    }
    for name, obj in objs.items():
        with open(base / name, "wb") as f:
            pickle.dump(obj, f)


QUESTIONS = {
    ("easy", "flight"): [
        ("What was the departure time of the DL1575 flight from ATL to MCO on 2022-01-12?", "11:23"),
        ("How many extra minutes did the DL1575 flight take from ATL to MCO on 2022-01-12?", "3.0"),
    ],
    ("easy", "coffee"): [("What was the opening price of coffee on 2000-01-03?", "122.25")],
    ("easy", "yelp"): [
        ("What is the address of Thach Used Tires in area with postal code 08083?", "1505 S 4th St")
    ],
    ("easy", "airbnb"): [("What is the price of Sunny Loft (id: 32113500) in Bushwick?", "$1,146 ")],
    ("easy", "dblp"): [("What organization is Chao Zhang from?", "MIT")],
    ("easy", "scirex"): [
        ("What is the corresponding F1 score of the BiDAF method on SQuAD dataset?", "81.1")
    ],
    ("easy", "agenda"): [
        ("Where did breakfast meeting that Amelia attended take place on 2022/02/17?", "Sur La Table")
    ],
    ("easy", "gsm8k"): [("Tom has 3 apples and buys 4 more. How many apples does he have?", 7.0)],
    ("hard", "flight"): [("How many flights were diverted on 2022-01-04?", "1")],
    ("hard", "coffee"): [("What was the highest coffee price from 2000-01-03 to 2000-01-10?", "124.0 USD")],
    ("hard", "yelp"): [("How many businesses are not open currently in Tampa?", 20)],
    ("hard", "airbnb"): [("How many airbnbs are there in Bushwick?", "50")],
    ("hard", "dblp"): [
        ("Who collaborated with Chao Zhang most in the DBLP citation network?", "Weihong Lin")
    ],
    ("hard", "scirex"): [
        ("Which datasets is BiDAF method evaluated on for question answering task?", "SQuAD")
    ],
    ("hard", "agenda"): [("How many events happen on 2022/02/17 in the agenda table?", 1)],
}


def write_questions(root: Path) -> None:
    for (diff, dom), items in QUESTIONS.items():
        folder = root / "data" / "questions" / diff
        folder.mkdir(parents=True, exist_ok=True)
        stem = "genda" if (diff, dom) == ("hard", "agenda") else dom  # the released file name
        with open(folder / f"{stem}-{diff}.jsonl", "w", encoding="utf-8") as f:
            for k, (q, a) in enumerate(items):
                f.write(json.dumps({"qid": f"{diff}-{dom}-{k:04d}", "question": q, "answer": a}) + "\n")
            # the released files' quirks: a bare NaN answer, a yelp qid inside airbnb-hard
            if (diff, dom) == ("easy", "airbnb"):
                q = "What is the last review date of Cozy room 1 ★ (id: 32113511) in Hell's Kitchen?"
                f.write('{"qid": "easy-airbnb-0001", "question": ' + json.dumps(q) + ', "answer": NaN}\n')
            if (diff, dom) == ("hard", "airbnb"):
                q = "What is the average review rates within 5 miles from Sunny Loft in Bushwick?"
                f.write(json.dumps({"qid": "hard-yelp-0000", "question": q, "answer": "3.0"}) + "\n")


def build_fixture(root: str | Path) -> Path:
    """Write the fixture corpus and questions under `root`; return `root`."""
    root = Path(root)
    base = root / "data" / "external_corpus"
    for sub in ("flights", "coffee", "yelp", "airbnb", "dblp", "agenda", "scirex"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    _flights(rng).to_csv(base / "flights" / "Combined_Flights_2022.csv", index=False)
    _coffee().to_csv(base / "coffee" / "coffee_price.csv", index=False)
    with open(base / "yelp" / "yelp_academic_dataset_business.json", "w", encoding="utf-8") as f:
        for r in _yelp():
            f.write(json.dumps(r) + "\n")
    _airbnb().to_csv(base / "airbnb" / "Airbnb_Open_Data.csv", index=False)
    _dblp(base / "dblp")
    with open(base / "agenda" / "agenda_descriptions_merged.jsonl", "w", encoding="utf-8") as f:
        for k, t in enumerate(AGENDA):
            f.write(json.dumps({"id": f"agenda-{k:04d}", "event": t}) + "\n")
    with open(base / "scirex" / "Preprocessed_Scirex.jsonl", "w", encoding="utf-8") as f:
        for k, t in enumerate(SCIREX):
            f.write(json.dumps({"id": f"scirex-{k:04d}", "content": t}) + "\n")
    write_questions(root)
    return root


# stands in for the sentence-transformers model of the retrievers: hashed words, no model to load
hash_embedder = HashEmbedder(1024, name="test-hash-1024")

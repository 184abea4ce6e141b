"""Flight templates, over the `flights` table (Combined_Flights_2022.csv).

Where the official generator's gold disagrees with its own wording, the gold follows the wording:

- easy "How long was the different between the CRS recorded departure time and actual departure time":
  minutes between the two HHMM clock times (official: difference of the raw HHMM numbers).
- hard "What percentage of the flights from {O} were delayed on {date}?": share of that origin's flights
  on that date with DepDelayMinutes > 0, cancelled flights in the denominator (official: the share of
  CANCELLED flights).
- hard "average delay time of all the flights that departed": mean DepDelayMinutes over flights that
  departed (official: NaN rows of cancelled flights counted in the denominator).
- hard "distance greater than 500 miles": Distance > 500 (official: > 300).

Airline names containing ", " are never used in a FilterDB condition: the chain filters on the carrier code
instead. Kept as in the official generator: "How many flights from {O} to {D} host by {airline}?" counts
distinct flight numbers.
"""

from __future__ import annotations

import math

import numpy as np

from seer_env.envs.toolqa.synth_questions.common import (
    Instance,
    Sampler,
    Skip,
    TableView,
    filter_db,
    get_value,
    list_code,
    load_db,
    python,
    template,
    to_float,
)

# ---------------------------------------------------------------------------------------- drawing


def _draw_flight(s: Sampler, need: tuple[str, ...] = (), cancelled: bool | None = None):
    """A random row (with a number in every `need` column, cancelled or not as asked)."""
    t = s.table("flights")
    i = s.rng.randrange(t.n_rows)
    if cancelled is not None and (t["Cancelled"][i] == "True") != cancelled:
        raise Skip
    if any(math.isnan(to_float(t[c][i])) for c in need):
        raise Skip
    return t, i


def _identify_flight(t: TableView, i: int, route: bool = True) -> tuple[list, np.ndarray]:
    """Conditions naming row i's flight (carrier + number [+ route] + date); it must be the only match."""
    conds = [("IATA_Code_Marketing_Airline", "=", t["IATA_Code_Marketing_Airline"][i]),
             ("Flight_Number_Marketing_Airline", "=", t["Flight_Number_Marketing_Airline"][i])]  # fmt: skip
    if route:
        conds += [("Origin", "=", t["Origin"][i]), ("Dest", "=", t["Dest"][i])]
    conds.append(("FlightDate", "=", t["FlightDate"][i]))
    rows = t.where(conds)
    if len(rows) != 1:
        raise Skip
    return conds, rows


def _flight_fields(t: TableView, i: int, **extra) -> dict:
    return dict(
        flight=t["IATA_Code_Marketing_Airline"][i] + t["Flight_Number_Marketing_Airline"][i],
        origin=t["Origin"][i],
        dest=t["Dest"][i],
        date=t["FlightDate"][i],
        **extra,
    )


def _airline_condition(t: TableView, i: int) -> tuple[str, str, str]:
    name = t["Airline"][i]
    if ", " in name:  # the name would be split apart by FilterDB: use the carrier code
        return ("IATA_Code_Operating_Airline", "=", t["IATA_Code_Operating_Airline"][i])
    return ("Airline", "=", name)


def _draw_airline_route(s: Sampler):
    t, i = _draw_flight(s)
    conds = [_airline_condition(t, i), ("Origin", "=", t["Origin"][i]), ("Dest", "=", t["Dest"][i])]
    return t, i, conds, t.where(conds)


def _hhmm_minutes(hhmm: str) -> int:
    v = int(float(hhmm))
    return (v // 100) * 60 + v % 100


# ---------------------------------------------------------------------------------------- easy


@template("flight", "easy", 1, "What was the departure time of the {flight} flight from {origin} to {dest} on {date}?", 10, column="DepTime")  # fmt: skip
@template("flight", "easy", 7, "What was the local arrival time of the {flight} flight from {origin} to {dest} on {date}?", 10, column="ArrTime")  # fmt: skip
@template("flight", "easy", 8, "What was the CRS-recorded arrival time of the {flight} flight from {origin} to {dest} on {date}?", 10, column="CRSArrTime")  # fmt: skip
def clock_time(s: Sampler, column: str) -> Instance:
    """An HHMM column of one flight (`2143.0`, `751`) as a clock time (`21:43`, `7:51`)."""
    t, i = _draw_flight(s, (column,))
    conds, _ = _identify_flight(t, i)
    raw = t[column][i]
    v = int(float(raw))
    chain = [load_db("flights"), filter_db(conds), get_value(column),
             python(f"v = int(float({raw!r})); ans = '{{}}:{{:02d}}'.format(v // 100, v % 100)")]  # fmt: skip
    return Instance(_flight_fields(t, i), f"{v // 100}:{v % 100:02d}", chain)


@template("flight", "easy", 2, "Was the flight {flight} from {origin} to {dest} cancelled on {date}?", 10)
def was_cancelled(s: Sampler) -> Instance:
    t, i = _draw_flight(s, cancelled=s.rng.random() < 0.3)
    conds, _ = _identify_flight(t, i)
    raw = t["Cancelled"][i]
    ans = "Yes" if raw == "True" else "No"
    chain = [load_db("flights"), filter_db(conds), get_value("Cancelled"),
             python(f"ans = 'Yes' if {raw!r} == 'True' else 'No'")]  # fmt: skip
    return Instance(_flight_fields(t, i), ans, chain)


@template("flight", "easy", 3, "What is the flight number of the {airline} flight from {origin} to {dest} on {date}?", 10)  # fmt: skip
def flight_numbers_of_airline_route(s: Sampler) -> Instance:
    """The distinct flight numbers an airline flew on a route that day, joined ", "."""
    t, i = _draw_flight(s)
    conds = [_airline_condition(t, i), ("Origin", "=", t["Origin"][i]), ("Dest", "=", t["Dest"][i]),
             ("FlightDate", "=", t["FlightDate"][i])]  # fmt: skip
    rows = t.where(conds)
    ans = ", ".join(dict.fromkeys(t["Flight_Number_Marketing_Airline"][rows].tolist()))
    shown = t.get_value("Flight_Number_Marketing_Airline", rows)
    chain = [load_db("flights"), filter_db(conds), get_value("Flight_Number_Marketing_Airline")]
    if shown != ans:
        chain.append(python(f"ans = ', '.join(dict.fromkeys({shown!r}.split(', ')))"))
    return Instance(_flight_fields(t, i, airline=t["Airline"][i]), ans, chain)


@template("flight", "easy", 4, "How long was the different between the CRS recorded departure time and actual departure time of the {flight} flight from {origin} to {dest} on {date}?", 10)  # fmt: skip
def departure_clock_difference(s: Sampler) -> Instance:
    """Minutes between the scheduled and actual departure clock times (across midnight the short way)."""
    t, i = _draw_flight(s, ("DepTime",))
    conds, _ = _identify_flight(t, i)
    crs, dep = t["CRSDepTime"][i], t["DepTime"][i]
    d = (_hhmm_minutes(dep) - _hhmm_minutes(crs) + 720) % 1440 - 720
    if d == 0:
        raise Skip
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
    return Instance(_flight_fields(t, i), str(abs(d)), chain)


@template("flight", "easy", 5, "How long did {flight} delay when arrival on {date}?", 10)
def arrival_delay_minutes(s: Sampler) -> Instance:
    t, i = _draw_flight(s, ("ArrDelayMinutes",))
    v = to_float(t["ArrDelayMinutes"][i])
    if v == 0:
        raise Skip
    conds, _ = _identify_flight(t, i, route=False)
    chain = [load_db("flights"), filter_db(conds), get_value("ArrDelayMinutes")]
    return Instance(_flight_fields(t, i), str(float(v)), chain)


@template("flight", "easy", 6, "How many extra minutes did the {flight} flight take from {origin} to {dest} on {date}?", 10)  # fmt: skip
def arrival_minus_departure_delay(s: Sampler) -> Instance:
    t, i = _draw_flight(s, ("ArrDelay", "DepDelay"))
    a, d = t["ArrDelay"][i], t["DepDelay"][i]
    v = float(a) - float(d)
    if v == 0:
        raise Skip
    conds, _ = _identify_flight(t, i)
    chain = [load_db("flights"), filter_db(conds), get_value("DepDelay"), get_value("ArrDelay"),
             python(f"ans = float({a!r}) - float({d!r})")]  # fmt: skip
    return Instance(_flight_fields(t, i), str(v), chain)


@template("flight", "easy", 9, "How long was the flight {flight} from {origin} to {dest} on {date}?", 10, column="AirTime")  # fmt: skip
@template("flight", "easy", 10, "How many minutes did the {flight} flight take to taxi in on {date}?", 10, column="TaxiIn")  # fmt: skip
def whole_minutes(s: Sampler, column: str) -> Instance:
    """A non-zero minutes column of one flight, as a whole number."""
    t, i = _draw_flight(s, (column,))
    raw = t[column][i]
    if float(raw) == 0:
        raise Skip
    conds, _ = _identify_flight(t, i)
    chain = [load_db("flights"), filter_db(conds), get_value(column), python(f"ans = int(float({raw!r}))")]
    return Instance(_flight_fields(t, i), str(int(float(raw))), chain)


# ---------------------------------------------------------------------------------------- hard


@template("flight", "hard", 1, "What percentage of the flights from {origin} were delayed on {date}?", 10)
def percent_delayed_from_origin(s: Sampler) -> Instance:
    t, i = _draw_flight(s)
    conds = [("Origin", "=", t["Origin"][i]), ("FlightDate", "=", t["FlightDate"][i])]
    rows = t.where(conds)
    v = [to_float(x) for x in t["DepDelayMinutes"][rows]]
    ans = f"{100 * sum(1 for x in v if x > 0) / len(v):.1f}%"
    code = (
        list_code("v", t.get_value("DepDelayMinutes", rows))
        + "; ans = '{:.1f}%'.format(100 * sum(1 for x in v if x > 0) / len(v))"
    )
    chain = [load_db("flights"), filter_db(conds), get_value("DepDelayMinutes"), python(code)]
    return Instance(dict(origin=t["Origin"][i], date=t["FlightDate"][i]), ans, chain)


@template("flight", "hard", 2, "What is the average delay time of all the flights that departed from {origin} on {date}?", 10)  # fmt: skip
def mean_departure_delay_from_origin(s: Sampler) -> Instance:
    t, i = _draw_flight(s, ("DepDelayMinutes",))
    conds = [("Origin", "=", t["Origin"][i]), ("FlightDate", "=", t["FlightDate"][i])]
    rows = t.where(conds)
    v = [x for x in (to_float(cell) for cell in t["DepDelayMinutes"][rows]) if x == x]
    ans = f"{sum(v) / len(v):.1f}"
    code = (
        list_code("v", t.get_value("DepDelayMinutes", rows))
        + "; v = [x for x in v if x == x]; ans = '{:.1f}'.format(sum(v) / len(v))"
    )
    chain = [load_db("flights"), filter_db(conds), get_value("DepDelayMinutes"), python(code)]
    return Instance(dict(origin=t["Origin"][i], date=t["FlightDate"][i]), ans, chain)


@template("flight", "hard", 3, "How many flights were diverted on {date}?", 10)
def diverted_on_date(s: Sampler) -> Instance:
    t = s.table("flights")
    date = t["FlightDate"][s.rng.randrange(t.n_rows)]
    conds = [("FlightDate", "=", date), ("Diverted", "=", "True")]
    rows = t.where(conds)
    if len(rows) == 0:
        raise Skip
    return Instance(dict(date=date), str(len(rows)), [load_db("flights"), filter_db(conds)])


@template("flight", "hard", 4, "How many flights with a distance greater than 500 miles on {date}?", 10)
def over_500_miles_on_date(s: Sampler) -> Instance:
    t = s.table("flights")
    date = t["FlightDate"][s.rng.randrange(t.n_rows)]
    conds = [("FlightDate", "=", date)]
    rows = t.where(conds)
    ans = str(sum(1 for x in t["Distance"][rows] if float(x) > 500))
    code = list_code("v", t.get_value("Distance", rows)) + "; ans = sum(1 for x in v if x > 500)"
    chain = [load_db("flights"), filter_db(conds), get_value("Distance"), python(code)]
    return Instance(dict(date=date), ans, chain)


@template("flight", "hard", 5, "What is the average airtime of the flights from {origin} to {dest} host by {airline}?", 10)  # fmt: skip
def mean_airtime_of_airline_route(s: Sampler) -> Instance:
    t, i, conds, rows = _draw_airline_route(s)
    v = [x for x in (to_float(cell) for cell in t["AirTime"][rows]) if x == x]
    if not v:
        raise Skip
    ans = f"{sum(v) / len(v):.1f} minutes"
    code = (
        list_code("v", t.get_value("AirTime", rows))
        + "; v = [x for x in v if x == x]; ans = '{:.1f} minutes'.format(sum(v) / len(v))"
    )
    chain = [load_db("flights"), filter_db(conds), get_value("AirTime"), python(code)]
    return Instance(dict(origin=t["Origin"][i], dest=t["Dest"][i], airline=t["Airline"][i]), ans, chain)


@template("flight", "hard", 6, "How many flights from {origin} to {dest} host by {airline}?", 10)
def flight_numbers_on_airline_route(s: Sampler) -> Instance:
    """How many distinct flight numbers an airline flies on a route."""
    t, i, conds, rows = _draw_airline_route(s)
    ans = len(set(t["Flight_Number_Marketing_Airline"][rows].tolist()))
    shown = t.get_value("Flight_Number_Marketing_Airline", rows)
    chain = [load_db("flights"), filter_db(conds), get_value("Flight_Number_Marketing_Airline"),
             python(f"ans = len(set({shown!r}.split(', ')))")]  # fmt: skip
    return Instance(dict(origin=t["Origin"][i], dest=t["Dest"][i], airline=t["Airline"][i]), ans, chain)


@template("flight", "hard", 7, "What is the average flight time of {flight}?", 10)
def mean_airtime_of_flight_number(s: Sampler) -> Instance:
    t, i = _draw_flight(s)
    conds = [("IATA_Code_Marketing_Airline", "=", t["IATA_Code_Marketing_Airline"][i]),
             ("Flight_Number_Marketing_Airline", "=", t["Flight_Number_Marketing_Airline"][i])]  # fmt: skip
    rows = t.where(conds)
    v = [x for x in (to_float(cell) for cell in t["AirTime"][rows]) if x == x]
    if not v:
        raise Skip
    ans = f"{sum(v) / len(v):.1f} minutes"
    code = (
        list_code("v", t.get_value("AirTime", rows))
        + "; v = [x for x in v if x == x]; ans = '{:.1f} minutes'.format(sum(v) / len(v))"
    )
    chain = [load_db("flights"), filter_db(conds), get_value("AirTime"), python(code)]
    flight = t["IATA_Code_Marketing_Airline"][i] + t["Flight_Number_Marketing_Airline"][i]
    return Instance(dict(flight=flight), ans, chain)


@template("flight", "hard", 8, "What is the fastest flight from {origin} to {dest} on {dow}?", 10)
def fastest_on_route_and_weekday(s: Sampler) -> Instance:
    """The flight (carrier + number) with the shortest air time on a route and day of the week."""
    t, i = _draw_flight(s, ("AirTime",))
    conds = [
        ("Origin", "=", t["Origin"][i]),
        ("Dest", "=", t["Dest"][i]),
        ("DayOfWeek", "=", t["DayOfWeek"][i]),
    ]
    rows = t.where(conds)
    air = [to_float(cell) for cell in t["AirTime"][rows]]
    best = min(x for x in air if x == x)
    names = {t["IATA_Code_Marketing_Airline"][r] + t["Flight_Number_Marketing_Airline"][r]
             for r, x in zip(rows, air, strict=False) if x == best}  # fmt: skip
    if len(names) != 1:
        raise Skip
    code = (
        list_code("a", t.get_value("AirTime", rows))
        + f"; c = {t.get_value('IATA_Code_Marketing_Airline', rows)!r}.split(', ')"
        + f"; n = {t.get_value('Flight_Number_Marketing_Airline', rows)!r}.split(', ')"
        + "; k = min((x, j) for j, x in enumerate(a) if x == x)[1]; ans = c[k] + n[k]"
    )
    chain = [load_db("flights"), filter_db(conds), get_value("AirTime"), get_value("IATA_Code_Marketing_Airline"),
             get_value("Flight_Number_Marketing_Airline"), python(code)]  # fmt: skip
    return Instance(dict(origin=t["Origin"][i], dest=t["Dest"][i], dow=t["DayOfWeek"][i]), names.pop(), chain)


@template("flight", "hard", 9, "What is the average speed of {flight} from {origin} to {dest} (miles per minute)?", 10)  # fmt: skip
def mean_speed_of_flight_on_route(s: Sampler) -> Instance:
    t, i = _draw_flight(s, ("AirTime",))
    conds = [("IATA_Code_Marketing_Airline", "=", t["IATA_Code_Marketing_Airline"][i]),
             ("Flight_Number_Marketing_Airline", "=", t["Flight_Number_Marketing_Airline"][i]),
             ("Origin", "=", t["Origin"][i]), ("Dest", "=", t["Dest"][i])]  # fmt: skip
    rows = t.where(conds)
    pairs = [(float(d), to_float(a)) for d, a in zip(t["Distance"][rows], t["AirTime"][rows], strict=False)]
    speeds = [d / a for d, a in pairs if a == a]
    ans = f"{sum(speeds) / len(speeds):.1f}"
    code = (
        list_code("d", t.get_value("Distance", rows))
        + "; "
        + list_code("a", t.get_value("AirTime", rows))
        + "; s = [x / y for x, y in zip(d, a) if y == y]; ans = '{:.1f}'.format(sum(s) / len(s))"
    )
    chain = [load_db("flights"), filter_db(conds), get_value("Distance"), get_value("AirTime"), python(code)]
    return Instance(_flight_fields(t, i), ans, chain)


@template("flight", "hard", 10, "What is the total number of flights operated by {airline} on {date}?", 10)
def flights_of_airline_on_date(s: Sampler) -> Instance:
    t, i = _draw_flight(s)
    conds = [_airline_condition(t, i), ("FlightDate", "=", t["FlightDate"][i])]
    rows = t.where(conds)
    fields = dict(airline=t["Airline"][i], date=t["FlightDate"][i])
    return Instance(fields, str(len(rows)), [load_db("flights"), filter_db(conds)])

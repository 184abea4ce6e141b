"""Yelp templates, over the `yelp` table (yelp_academic_dataset_business.json, one business per row).

Where the official generator's gold disagrees with its own wording, the gold follows the wording:

- hard: "{cat} businesses" means `cat` is one of the business's categories (official: regex substring
  match, so "Bars" also counted "Wine Bars"); "in {city}, {state}" filters on both.
- hard "within a 5-mile radius": great-circle distance <= 5 miles (official: a +-5 km box).
- hard "nearest {cat} business to {name}": nearest by great-circle distance anywhere, excluding the
  business itself (official: same city only, squared degree distance, could return the business itself).
- hard "Can you recommend a {cat} business with the highest star rating within a 5-mile radius of
  {address}": the category is applied (official: category filter overwritten, any business).

The `categories` cell holds ", ", which FilterDB cannot match: chains that filter on a category use
SQLInterpreter, and PythonInterpreter reads its printed rows back.
"""

from __future__ import annotations

import ast
from collections import Counter

import numpy as np

from seer_env.envs.toolqa.synth_questions.common import (
    MILES_CODE,
    Instance,
    Sampler,
    Skip,
    TableView,
    filter_db,
    get_value,
    list_code,
    load_db,
    miles,
    python,
    sql,
    sql_rows_text,
    template,
    usable_in_filter,
)

# ---------------------------------------------------------------------------------------- drawing


def _draw_business(s: Sampler, need: tuple[str, ...] = ("name", "postal_code", "city", "state")):
    """A random business whose `need` fields are set and usable in a FilterDB condition."""
    t = s.table("yelp")
    i = s.rng.randrange(t.n_rows)
    for c in need:
        if not usable_in_filter(t[c][i]) or t[c][i] == "None":
            raise Skip
    return t, i


def _draw_identified_business(s: Sampler):
    """A business that name + postal code + city + state identify (exactly one row)."""
    t, i = _draw_business(s)
    conds = [(c, "=", t[c][i]) for c in ("name", "postal_code", "city", "state")]
    if len(t.where(conds)) != 1:
        raise Skip
    fields = dict(name=t["name"][i], postal_code=t["postal_code"][i], city=t["city"][i], state=t["state"][i])
    return t, i, conds, fields


def _has_category(cell: str, category: str) -> bool:
    return cell != "None" and category in cell.split(", ")


def _all_categories(s: Sampler) -> list[str]:
    def build() -> list[str]:
        cats = set()
        for c in s.table("yelp")["categories"]:
            if c != "None":
                cats.update(c.split(", "))
        return sorted(cats)

    return s.memo("yelp categories", build)


def _latitudes(s: Sampler) -> np.ndarray:
    """Every business's latitude as a float, by row."""

    def build() -> np.ndarray:
        col = s.table("yelp")["latitude"]
        return np.array([float(x) for x in col.cats])[col.codes]

    return s.memo("yelp latitudes", build)


def _sql_literal(v: str) -> str:
    return "'" + v.replace("'", "''") + "'"


def _category_sql(category: str) -> str:
    """An SQL condition: `category` is one of the ", "-separated categories."""
    return f"instr(', ' || categories || ', ', {_sql_literal(', ' + category + ', ')}) > 0"


def _read_sql_rows_code(text: str, columns: list[str]) -> str:
    """Python reading SQLInterpreter's printed rows back into one list per column (the last may hold ", ")."""
    k = len(columns)
    lines = [f"rows = [[x.split(': ', 1)[1] for x in l.split(', ', {k - 1})] for l in {text!r}.splitlines()]"]
    for j, c in enumerate(columns):
        conv = "str" if c in ("name", "postal_code", "categories") else "float"
        lines.append(f"{c} = [{conv}(r[{j}]) for r in rows]")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------- easy


@template("yelp", "easy", 1, "What is the address of {name} in area with postal code {postal_code}?", 10)
def address(s: Sampler) -> Instance:
    t, i = _draw_business(s, ("name", "postal_code"))
    conds = [("name", "=", t["name"][i]), ("postal_code", "=", t["postal_code"][i])]
    rows = t.where(conds)
    ans = ", ".join(dict.fromkeys(t["address"][rows].tolist()))
    chain = [load_db("yelp"), filter_db(conds), get_value("address")]
    shown = t.get_value("address", rows)
    if shown != ans:
        chain.append(python(f"ans = ', '.join(dict.fromkeys({shown!r}.split(', ')))"))
    return Instance(dict(name=t["name"][i], postal_code=t["postal_code"][i]), ans, chain)


@template("yelp", "easy", 2, "Which city is {name} located in {state}?", 9)
def city(s: Sampler) -> Instance:
    t, i = _draw_business(s, ("name", "state"))
    conds = [("name", "=", t["name"][i]), ("state", "=", t["state"][i])]
    rows = t.where(conds)
    cities = list(dict.fromkeys(t["city"][rows].tolist()))
    if any(", " in c for c in cities):
        raise Skip
    ans = ", ".join(cities)
    chain = [load_db("yelp"), filter_db(conds), get_value("city")]
    shown = t.get_value("city", rows)
    if shown != ans:
        chain.append(python(f"ans = ', '.join(dict.fromkeys({shown!r}.split(', ')))"))
    return Instance(dict(name=t["name"][i], state=t["state"][i]), ans, chain)


@template("yelp", "easy", 3, "What state is {name} located in?", 9)
def state(s: Sampler) -> Instance:
    t, i = _draw_business(s, ("name",))
    conds = [("name", "=", t["name"][i])]
    rows = t.where(conds)
    states = set(t["state"][rows].tolist())
    if len(states) != 1:
        raise Skip
    chain = [load_db("yelp"), filter_db(conds), get_value("state")]
    if len(rows) > 1:
        chain.append(python(f"ans = {t.get_value('state', rows)!r}.split(', ')[0]"))
    return Instance(dict(name=t["name"][i]), states.pop(), chain)


@template("yelp", "easy", 4, "What is the postal code of {name} in {city}, {state}?", 9)
def postal_code(s: Sampler) -> Instance:
    t, i = _draw_business(s, ("name", "city", "state", "postal_code"))
    conds = [("name", "=", t["name"][i]), ("city", "=", t["city"][i]), ("state", "=", t["state"][i])]
    rows = t.where(conds)
    if len(set(t["postal_code"][rows].tolist())) != 1:
        raise Skip
    chain = [load_db("yelp"), filter_db(conds), get_value("postal_code")]
    if len(rows) > 1:
        chain.append(python(f"ans = {t.get_value('postal_code', rows)!r}.split(', ')[0]"))
    return Instance(
        dict(name=t["name"][i], city=t["city"][i], state=t["state"][i]), t["postal_code"][i], chain
    )


@template("yelp", "easy", 5, "What is the star rating of {name} in area with postal code {postal_code}, {city}, {state}?", 9, column="stars")  # fmt: skip
@template("yelp", "easy", 6, "How many reviews does {name} receive in the area with postal code {postal_code}, {city}, {state}, received?", 9, column="review_count")  # fmt: skip
@template("yelp", "easy", 10, "What categories does {name} belong to, in area with postal code {postal_code}, {city}, {state}?", 9, column="categories")  # fmt: skip
def business_value(s: Sampler, column: str) -> Instance:
    t, i, conds, fields = _draw_identified_business(s)
    if t[column][i] == "None":
        raise Skip
    return Instance(fields, t[column][i], [load_db("yelp"), filter_db(conds), get_value(column)])


@template("yelp", "easy", 7, "Is {name} still open in area with postal code {postal_code}, {city}, {state}?", 9)  # fmt: skip
def still_open(s: Sampler) -> Instance:
    t, i, conds, fields = _draw_identified_business(s)
    raw = t["is_open"][i]
    ans = "No" if raw == "0" else "Yes"
    return Instance(fields, ans, [load_db("yelp"), filter_db(conds), get_value("is_open"),
                                  python(f"ans = 'No' if {raw!r} == '0' else 'Yes'")])  # fmt: skip


@template("yelp", "easy", 8, "Does {name} require appointment in area with postal code {postal_code}, {city}, {state}?", 9)  # fmt: skip
def by_appointment_only(s: Sampler) -> Instance:
    t, i, conds, fields = _draw_identified_business(s)
    raw = t["attributes"][i]  # a dict's repr, or "None"
    attrs = ast.literal_eval(raw)
    ans = "Yes" if attrs and attrs.get("ByAppointmentOnly") == "True" else "No"
    code = f"a = {raw}; ans = 'Yes' if a and a.get('ByAppointmentOnly') == 'True' else 'No'"
    return Instance(fields, ans, [load_db("yelp"), filter_db(conds), get_value("attributes"), python(code)])


@template("yelp", "easy", 9, "What are the hours of operation for {name} in area with postal code {postal_code}, {city}, {state}?", 9)  # fmt: skip
def opening_hours(s: Sampler) -> Instance:
    t, i, conds, fields = _draw_identified_business(s)
    raw = t["hours"][i]  # a dict's repr, or "None"
    hours = ast.literal_eval(raw)
    if not hours:
        raise Skip
    ans = ", ".join(f"{d}: {v}" for d, v in hours.items())
    code = f"h = {raw}; ans = ', '.join('{{}}: {{}}'.format(d, v) for d, v in h.items())"
    return Instance(fields, ans, [load_db("yelp"), filter_db(conds), get_value("hours"), python(code)])


@template("yelp", "easy", 11, "What are the coordinates of {name} in area with postal code {postal_code}, {city}, {state}?", 9)  # fmt: skip
def coordinates(s: Sampler) -> Instance:
    t, i, conds, fields = _draw_identified_business(s)
    ans = f"{t['latitude'][i]}, {t['longitude'][i]}"
    code = f"ans = {t['latitude'][i]!r} + ', ' + {t['longitude'][i]!r}"
    chain = [load_db("yelp"), filter_db(conds), get_value("latitude"), get_value("longitude"), python(code)]
    return Instance(fields, ans, chain)


# ---------------------------------------------------------------------------------------- hard


def _draw_city_and_category(s: Sampler):
    t, i = _draw_business(s, ("city", "state", "categories"))
    category = s.pick(t["categories"][i].split(", "))
    conds = [("city", "=", t["city"][i]), ("state", "=", t["state"][i])]
    return t, i, category, conds, t.where(conds)


@template("yelp", "hard", 1, "How many {category} businesses are there in {city}, {state}?", 10)
def businesses_of_category_in_city(s: Sampler) -> Instance:
    t, i, category, conds, rows = _draw_city_and_category(s)
    ans = sum(1 for c in t["categories"][rows] if _has_category(c, category))
    query = (
        f"SELECT COUNT(*) FROM yelp.yelp_data WHERE city = {_sql_literal(t['city'][i])} "
        f"AND state = {_sql_literal(t['state'][i])} AND {_category_sql(category)}"
    )
    return Instance(dict(category=category, city=t["city"][i], state=t["state"][i]), ans, [sql(query)])


@template("yelp", "hard", 2, "How many businesses are there in {postal_code} area of {city}, {state}?", 10)
def businesses_in_postal_code(s: Sampler) -> Instance:
    t, i = _draw_business(s, ("postal_code", "city", "state"))
    conds = [
        ("postal_code", "=", t["postal_code"][i]),
        ("city", "=", t["city"][i]),
        ("state", "=", t["state"][i]),
    ]
    rows = t.where(conds)
    fields = dict(postal_code=t["postal_code"][i], city=t["city"][i], state=t["state"][i])
    return Instance(fields, len(rows), [load_db("yelp"), filter_db(conds)])


@template("yelp", "hard", 3, "Which {category} business has the highest star rating in {city}, {state}?", 10, column="stars")  # fmt: skip
@template("yelp", "hard", 4, "Which {category} business has the highest review count in {city}, {state}?", 10, column="review_count")  # fmt: skip
def top_business_of_category_in_city(s: Sampler, column: str) -> Instance:
    t, i, category, conds, rows = _draw_city_and_category(s)
    sel = [r for r in rows if _has_category(t["categories"][r], category)]
    if len(sel) > 1000 or any(", " in t["name"][r] or ": " in t["name"][r] for r in sel):
        raise Skip
    best = max(float(t[column][r]) for r in sel)
    names = {t["name"][r] for r in sel if float(t[column][r]) == best}
    if len(names) != 1:
        raise Skip
    query = (
        f"SELECT {column}, name FROM yelp.yelp_data WHERE city = {_sql_literal(t['city'][i])} "
        f"AND state = {_sql_literal(t['state'][i])} AND {_category_sql(category)}"
    )
    shown = sql_rows_text(t, sel, [column, "name"])
    code = _read_sql_rows_code(shown, [column, "name"]) + f"b = max({column}); ans = name[{column}.index(b)]"
    fields = dict(category=category, city=t["city"][i], state=t["state"][i])
    return Instance(fields, names.pop(), [sql(query), python(code)])


def _latitude_band(t: TableView, lat: float, half: float):
    """FilterDB conditions keeping latitudes within `half` degrees of `lat`, and the rows they keep."""
    lo, hi = f"{lat - half:.4f}", f"{lat + half:.4f}"
    if len(lo.split(".")[0]) != len(hi.split(".")[0]) or lat - half <= 0:
        raise Skip  # string comparison equals numeric only with equal integer digits
    conds = [("latitude", ">=", lo), ("latitude", "<=", hi)]
    return conds, t.where(conds)


def _draw_reference_business(s: Sampler, key: str):
    """A business that its `key` field alone identifies."""
    t, i = _draw_business(s, (key, "latitude"))
    conds = [(key, "=", t[key][i])]
    if len(t.where(conds)) != 1:
        raise Skip
    return t, i, conds


@template("yelp", "hard", 5, "What is the average review counts of businesses within a 5-mile radius from {name}?", 10)  # fmt: skip
def mean_reviews_within_5_miles(s: Sampler) -> Instance:
    t, i, conds0 = _draw_reference_business(s, "name")
    lat, lon = float(t["latitude"][i]), float(t["longitude"][i])
    band, rows = _latitude_band(t, lat, 0.1)  # 0.1 degree of latitude is ~6.9 miles
    la = [float(x) for x in t["latitude"][rows]]
    lo = [float(x) for x in t["longitude"][rows]]
    rc = [float(x) for x in t["review_count"][rows]]
    inside = [k for k in range(len(rows)) if miles(lat, lon, la[k], lo[k]) <= 5]
    ans = round(sum(rc[k] for k in inside) / len(inside), 2)
    code = (
        MILES_CODE
        + f"lat0 = float({t['latitude'][i]!r}); lon0 = float({t['longitude'][i]!r})\n"
        + list_code("la", t.get_value("latitude", rows)) + "\n"
        + list_code("lo", t.get_value("longitude", rows)) + "\n"
        + list_code("rc", t.get_value("review_count", rows)) + "\n"
        + "ins = [k for k in range(len(la)) if miles(lat0, lon0, la[k], lo[k]) <= 5]\n"
        + "ans = round(sum(rc[k] for k in ins) / len(ins), 2)"
    )  # fmt: skip
    chain = [load_db("yelp"), filter_db(conds0), get_value("latitude"), get_value("longitude"), load_db("yelp"),
             filter_db(band), get_value("latitude"), get_value("longitude"), get_value("review_count"),
             python(code)]  # fmt: skip
    return Instance(dict(name=t["name"][i]), ans, chain)


def _nearby_of_category_chain(
    s: Sampler, t: TableView, i: int, conds0, half: float, category: str, columns, tail
):
    """Businesses of `category` within `half` degrees of latitude of business i, and the chain: its
    coordinates by FilterDB/GetValue, the candidates by SQL, then Python (MILES_CODE + reading + `tail`)."""
    lat = float(t["latitude"][i])
    lo, hi = f"{lat - half:.4f}", f"{lat + half:.4f}"
    la = _latitudes(s)
    band = np.flatnonzero((la >= float(lo)) & (la <= float(hi)))
    sel = [int(r) for r in band if _has_category(t["categories"][r], category)]
    if not sel or len(sel) > 1000 or any(", " in t["name"][r] or ": " in t["name"][r] for r in sel):
        raise Skip
    query = (
        f"SELECT {', '.join(columns)} FROM yelp.yelp_data WHERE CAST(latitude AS REAL) BETWEEN {lo} AND {hi} "
        f"AND {_category_sql(category)}"
    )
    code = (
        MILES_CODE
        + f"lat0 = float({t['latitude'][i]!r}); lon0 = float({t['longitude'][i]!r})\n"
        + _read_sql_rows_code(sql_rows_text(t, sel, list(columns)), list(columns))
        + tail
    )
    chain = [load_db("yelp"), filter_db(conds0), get_value("latitude"), get_value("longitude"),
             sql(query), python(code)]  # fmt: skip
    return sel, chain


@template("yelp", "hard", 6, "Which is the nearest {category} business to {name}?", 10)
def nearest_of_category(s: Sampler) -> Instance:
    t, i, conds0 = _draw_reference_business(s, "name")
    category = s.pick(_all_categories(s))
    lat, lon = float(t["latitude"][i]), float(t["longitude"][i])
    tail = (
        "d = [(miles(lat0, lon0, latitude[k], longitude[k]), k) for k in range(len(name))\n"
        "     if not (latitude[k] == lat0 and longitude[k] == lon0)]\n"
        "ans = name[min(d)[1]]"
    )
    sel, chain = _nearby_of_category_chain(
        s, t, i, conds0, 0.2, category, ("latitude", "longitude", "name"), tail
    )
    cand = sorted(
        (miles(lat, lon, float(t["latitude"][r]), float(t["longitude"][r])), k, r)
        for k, r in enumerate(sel)
        if not (float(t["latitude"][r]) == lat and float(t["longitude"][r]) == lon)
    )
    if not cand or cand[0][0] > 13.5 or (len(cand) > 1 and cand[1][0] == cand[0][0]):
        raise Skip  # the nearest must lie inside the band (0.2 degrees of latitude is ~13.8 miles)
    return Instance(dict(category=category, name=t["name"][i]), t["name"][cand[0][2]], chain)


@template("yelp", "hard", 7, "Can you recommend a {category} business with the highest star rating within a 5-mile radius of {address}?", 10)  # fmt: skip
def best_rated_of_category_within_5_miles(s: Sampler) -> Instance:
    t, i, conds0 = _draw_reference_business(s, "address")
    lat, lon = float(t["latitude"][i]), float(t["longitude"][i])
    band = np.flatnonzero(np.abs(_latitudes(s) - lat) < 0.1)
    near = [int(r) for r in band if t["categories"][r] != "None"
            and miles(lat, lon, float(t["latitude"][r]), float(t["longitude"][r])) <= 5]  # fmt: skip
    if not near:
        raise Skip
    category = s.pick(s.pick([t["categories"][r] for r in near]).split(", "))
    sel = [r for r in near if _has_category(t["categories"][r], category)]
    best = max(float(t["stars"][r]) for r in sel)
    names = [t["name"][r] for r in sel if float(t["stars"][r]) == best]
    if len(set(names)) != 1:
        raise Skip
    tail = (
        "ok = [k for k in range(len(name)) if miles(lat0, lon0, latitude[k], longitude[k]) <= 5]\n"
        "b = max(stars[k] for k in ok); ans = [name[k] for k in ok if stars[k] == b][0]"
    )
    columns = ("latitude", "longitude", "stars", "name")
    _, chain = _nearby_of_category_chain(s, t, i, conds0, 0.1, category, columns, tail)
    return Instance(dict(category=category, address=t["address"][i]), names[0], chain)


@template("yelp", "hard", 8, "How many businesses are not open currently in {city}?", 10)
def closed_in_city(s: Sampler) -> Instance:
    t, i = _draw_business(s, ("city",))
    conds = [("city", "=", t["city"][i]), ("is_open", "=", "0")]
    rows = t.where(conds)
    if len(rows) == 0:
        raise Skip
    return Instance(dict(city=t["city"][i]), len(rows), [load_db("yelp"), filter_db(conds)])


@template("yelp", "hard", 9, "What is the average star rating of {category} businesses in {city}?", 10)
def mean_stars_of_category_in_city(s: Sampler) -> Instance:
    t, i = _draw_business(s, ("city", "categories"))
    category = s.pick(t["categories"][i].split(", "))
    sel = [r for r in t.where([("city", "=", t["city"][i])]) if _has_category(t["categories"][r], category)]
    if len(sel) > 1000:
        raise Skip
    v = [float(t["stars"][r]) for r in sel]
    ans = round(sum(v) / len(v), 2)
    query = f"SELECT stars FROM yelp.yelp_data WHERE city = {_sql_literal(t['city'][i])} AND {_category_sql(category)}"
    code = (
        _read_sql_rows_code(sql_rows_text(t, sel, ["stars"]), ["stars"])
        + "ans = round(sum(stars) / len(stars), 2)"
    )
    return Instance(dict(category=category, city=t["city"][i]), ans, [sql(query), python(code)])


@template("yelp", "hard", 10, "Which postal code region has most businesses in {city}, {state}?", 10)
def postal_code_with_most_businesses(s: Sampler) -> Instance:
    t, i = _draw_business(s, ("city", "state"))
    conds = [("city", "=", t["city"][i]), ("state", "=", t["state"][i])]
    rows = t.where(conds)
    top = Counter(t["postal_code"][rows].tolist()).most_common()
    if len(top) > 1 and top[0][1] == top[1][1] or top[0][0] == "":
        raise Skip
    shown = t.get_value("postal_code", rows)
    code = f"from collections import Counter; ans = Counter({shown!r}.split(', ')).most_common(1)[0][0]"
    chain = [load_db("yelp"), filter_db(conds), get_value("postal_code"), python(code)]
    return Instance(dict(city=t["city"][i], state=t["state"][i]), top[0][0], chain)

"""Coffee templates, over the `coffee` table (coffee_price.csv: one row per trading day, in date order).

Where the official generator's gold disagrees with its own wording, the gold follows the wording:
hard "coffee price range from {s} to {e}" is max High - min Low (official: max High, the min set to 0).
"""

from __future__ import annotations

from collections.abc import Callable

from seer_env.envs.toolqa.synth_questions.common import (
    Instance,
    Sampler,
    Skip,
    filter_db,
    get_value,
    list_code,
    load_db,
    python,
    template,
)

# ---------------------------------------------------------------------------------------- easy


def _draw_day(s: Sampler):
    t = s.table("coffee")
    i = s.rng.randrange(t.n_rows)
    return t, i, [("Date", "=", t["Date"][i])]


@template("coffee", "easy", 1, "What was the opening price of coffee on {date}?", 13, column="Open")
@template("coffee", "easy", 2, "What was the lowest price of coffee on {date}?", 13, column="Low")
@template("coffee", "easy", 3, "What was the highest price of coffee on {date}?", 13, column="High")
@template("coffee", "easy", 4, "What was the closing price of coffee on {date}?", 13, column="Close")
@template("coffee", "easy", 5, "What was the volume of coffee on {date}?", 12, column="Volume")
def value_on_day(s: Sampler, column: str) -> Instance:
    t, i, conds = _draw_day(s)
    return Instance(
        dict(date=t["Date"][i]), t[column][i], [load_db("coffee"), filter_db(conds), get_value(column)]
    )


@template("coffee", "easy", 6, "What was the percentage change in coffee price on {date}, based on the difference between the opening and closing prices?", 12)  # fmt: skip
def open_to_close_percent_on_day(s: Sampler) -> Instance:
    t, i, conds = _draw_day(s)
    o, c = t["Open"][i], t["Close"][i]
    ans = str(round((float(c) - float(o)) / float(o) * 100, 2)) + "%"
    code = f"o = float({o!r}); c = float({c!r}); ans = str(round((c - o) / o * 100, 2)) + '%'"
    chain = [load_db("coffee"), filter_db(conds), get_value("Open"), get_value("Close"), python(code)]
    return Instance(dict(date=t["Date"][i]), ans, chain)


@template("coffee", "easy", 7, "Was {date} a bearish or bullish day for coffee price?", 12)
def bearish_or_bullish_day(s: Sampler) -> Instance:
    t, i, conds = _draw_day(s)
    o, c = t["Open"][i], t["Close"][i]
    ans = "bullish" if float(c) > float(o) else "bearish"
    code = f"ans = 'bullish' if float({c!r}) > float({o!r}) else 'bearish'"
    chain = [load_db("coffee"), filter_db(conds), get_value("Open"), get_value("Close"), python(code)]
    return Instance(dict(date=t["Date"][i]), ans, chain)


@template("coffee", "easy", 8, "What was the range of coffee price on {date}, based on the difference between the high and low prices??", 12)  # fmt: skip
def high_low_range_on_day(s: Sampler) -> Instance:
    t, i, conds = _draw_day(s)
    h, lo = t["High"][i], t["Low"][i]
    ans = str(round(float(h) - float(lo), 2))
    code = f"ans = round(float({h!r}) - float({lo!r}), 2)"
    chain = [load_db("coffee"), filter_db(conds), get_value("High"), get_value("Low"), python(code)]
    return Instance(dict(date=t["Date"][i]), ans, chain)


# ---------------------------------------------------------------------------------------- hard


def _over_date_range(
    s: Sampler,
    columns: list[str],
    gold: Callable[[dict[str, list]], str | None],
    code: str,
    from_first: bool = False,
    min_len: int = 2,
) -> Instance:
    """A question over the days of a random date range (of at least `min_len` days; from the first day
    with `from_first`): `gold` computes the answer from the columns' values (None: no question), `code`
    does the same in the chain over the lists GetValue printed (named after the columns, lower case)."""
    t = s.table("coffee")
    i = 0 if from_first else s.rng.randrange(t.n_rows - min_len)
    j = s.rng.randrange(i + min_len - 1, t.n_rows)
    start, end = t["Date"][i], t["Date"][j]
    conds = [("Date", ">=", start), ("Date", "<=", end)]
    rows = t.where(conds)
    values = {c: [float(x) if c != "Date" else x for x in t[c][rows]] for c in columns}
    ans = gold(values)
    if ans is None:
        raise Skip
    lines = [list_code(c.lower(), t.get_value(c, rows), "str" if c == "Date" else "float") for c in columns]
    chain = (
        [load_db("coffee"), filter_db(conds)]
        + [get_value(c) for c in columns]
        + [python("; ".join(lines) + "; " + code)]
    )
    return Instance(dict(start=start, end=end), ans, chain)


@template("coffee", "hard", 1, "What was the highest coffee price from {start} to {end}?", 10)
def highest_price_in_range(s: Sampler) -> Instance:
    return _over_date_range(s, ["High"], lambda v: f"{max(v['High'])} USD", "ans = str(max(high)) + ' USD'")


@template("coffee", "hard", 2, "What was the lowest coffee price from {start} to {end}?", 10)
def lowest_price_in_range(s: Sampler) -> Instance:
    return _over_date_range(s, ["Low"], lambda v: f"{min(v['Low'])} USD", "ans = str(min(low)) + ' USD'")


@template("coffee", "hard", 3, "What was the average coffee price from {start} to {end}?", 10)
def mean_close_in_range(s: Sampler) -> Instance:
    return _over_date_range(
        s, ["Close"], lambda v: "{:.1f} USD".format(sum(v["Close"]) / len(v["Close"])),
        "ans = '{:.1f} USD'.format(sum(close) / len(close))",
    )  # fmt: skip


@template("coffee", "hard", 4, "How much did the coffee price change from {start} to {end}?", 10)
def first_open_to_last_close_change(s: Sampler) -> Instance:
    return _over_date_range(
        s, ["Open", "Close"], lambda v: "{:.1f} USD".format(v["Close"][-1] - v["Open"][0]),
        "ans = '{:.1f} USD'.format(close[-1] - open[0])",
    )  # fmt: skip


@template("coffee", "hard", 5, "What was the percentage change in coffee price on {date} compared to the previous day?", 10)  # fmt: skip
def percent_change_from_previous_close(s: Sampler) -> Instance:
    t = s.table("coffee")
    i = s.rng.randrange(1, t.n_rows)
    conds = [("Date", ">=", t["Date"][i - 1]), ("Date", "<=", t["Date"][i])]
    rows = t.where(conds)
    c0, c1 = float(t["Close"][i - 1]), float(t["Close"][i])
    ans = f"{(c1 - c0) / c0 * 100:.1f}%"
    code = (
        list_code("close", t.get_value("Close", rows))
        + "; ans = '{:.1f}%'.format((close[1] - close[0]) / close[0] * 100)"
    )
    chain = [load_db("coffee"), filter_db(conds), get_value("Close"), python(code)]
    return Instance(dict(date=t["Date"][i]), ans, chain)


@template("coffee", "hard", 6, "On which date from {start} to {end} was the difference between the highest and lowest coffee prices the greatest?", 10)  # fmt: skip
def day_with_widest_spread(s: Sampler) -> Instance:
    def gold(v):
        spread = [h - lo for h, lo in zip(v["High"], v["Low"], strict=False)]
        return v["Date"][spread.index(max(spread))]

    code = "sp = [h - l for h, l in zip(high, low)]; ans = date[sp.index(max(sp))]"
    return _over_date_range(s, ["Date", "High", "Low"], gold, code)


@template("coffee", "hard", 7, "What was the average daily volume of coffee traded from {start} to {end}?", 10)  # fmt: skip
def mean_volume_in_range(s: Sampler) -> Instance:
    return _over_date_range(
        s, ["Volume"], lambda v: "{:.1f}".format(sum(v["Volume"]) / len(v["Volume"])),
        "ans = '{:.1f}'.format(sum(volume) / len(volume))",
    )  # fmt: skip


@template("coffee", "hard", 8, "On which date from {start} to {end} did the coffee price have the highest increase compared to the previous day?", 10)  # fmt: skip
def day_with_largest_close_increase(s: Sampler) -> Instance:
    def gold(v):
        c = v["Close"]
        inc = [c[k] - c[k - 1] for k in range(1, len(c))]
        if not inc or max(inc) <= 0:
            return None
        return v["Date"][1 + inc.index(max(inc))]

    code = (
        "inc = [close[k] - close[k - 1] for k in range(1, len(close))]; ans = date[1 + inc.index(max(inc))]"
    )
    return _over_date_range(s, ["Date", "Close"], gold, code, min_len=3)


@template("coffee", "hard", 9, "How many times from {start} to {end} did the coffee price increase compared to the previous day?", 10)  # fmt: skip
def closes_above_previous_close(s: Sampler) -> Instance:
    return _over_date_range(
        s, ["Close"], lambda v: str(sum(1 for k in range(1, len(v["Close"])) if v["Close"][k] > v["Close"][k - 1])),
        "ans = sum(1 for k in range(1, len(close)) if close[k] > close[k - 1])",
    )  # fmt: skip


@template("coffee", "hard", 10, "What was the percentage increase in coffee price from {start} to {end}?", 10)
def first_open_to_last_close_percent(s: Sampler) -> Instance:
    return _over_date_range(
        s, ["Open", "Close"], lambda v: "{:.1f}%".format((v["Close"][-1] - v["Open"][0]) / v["Open"][0] * 100),
        "ans = '{:.1f}%'.format((close[-1] - open[0]) / open[0] * 100)",
    )  # fmt: skip


@template("coffee", "hard", 11, "What was the coffee price range from {start} to {end}?", 10)
def price_range_from_first_day(s: Sampler) -> Instance:
    return _over_date_range(
        s, ["High", "Low"], lambda v: "{:.1f} USD".format(max(v["High"]) - min(v["Low"])),
        "ans = '{:.1f} USD'.format(max(high) - min(low))", from_first=True,
    )  # fmt: skip


@template("coffee", "hard", 12, "On how many days from {start} to {end} did the coffee price close higher than the opening price?", 10)  # fmt: skip
def up_days_from_first_day(s: Sampler) -> Instance:
    return _over_date_range(
        s, ["Open", "Close"], lambda v: str(sum(1 for o, c in zip(v["Open"], v["Close"], strict=False) if c > o)),
        "ans = sum(1 for o, c in zip(open, close) if c > o)", from_first=True,
    )  # fmt: skip


@template("coffee", "hard", 13, "What was the average percentage change in coffee price from {start} to {end}?", 10)  # fmt: skip
def mean_open_to_close_percent_in_range(s: Sampler) -> Instance:
    def gold(v):
        p = [(c - o) / o * 100 for o, c in zip(v["Open"], v["Close"], strict=False)]
        return f"{sum(p) / len(p):.1f}%"

    code = "p = [(c - o) / o * 100 for o, c in zip(open, close)]; ans = '{:.1f}%'.format(sum(p) / len(p))"
    return _over_date_range(s, ["Open", "Close"], gold, code)

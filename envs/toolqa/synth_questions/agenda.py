"""Agenda templates, over the raw agenda events (person, event, date, start and end time, location).

No tool reads those records: agents see free-text descriptions through RetrieveAgenda, and every chain is
one retrieval (plus, for a duration, Python over the two times). Easy questions that name a person and a
time ("What did {p} do from ... on {date}?") or an event and a time ("Who attended ...") are often not
found by a dense retriever (it does not tell dates apart), and hard questions aggregate over more events
than three retrieved descriptions show: those chains retrieve and finish.

Where the official generator's gold disagrees with its own wording, the gold follows the wording: hard
"When should I schedule a meeting with {p} from 9:00 AM to 6:00 PM" lists the free gaps of at least 60
minutes inside 9:00 AM-6:00 PM between that person's events of the day, clipped to the window (official:
negative gaps wrapped by `timedelta.seconds`, windows not clipped). Kept as in the official generator: the
"unavailble" spelling.
"""

from __future__ import annotations

import datetime as dt

from seer_env.envs.toolqa.synth_corpus import fmt_12h
from seer_env.envs.toolqa.synth_questions.common import Instance, Sampler, Skip, python, retrieve, template


def _events(s: Sampler) -> list[dict]:
    return s.raw_records("agenda")


def _minutes(clock: str) -> int:
    """`9:30 AM` or `9 AM` -> minutes after midnight."""
    for f in ("%I:%M %p", "%I %p"):
        try:
            t = dt.datetime.strptime(clock.strip(), f)
            return t.hour * 60 + t.minute
        except ValueError:
            continue
    raise ValueError(clock)


def _span(e: dict) -> tuple[int, int]:
    """An event's start and end in minutes (an end past midnight runs into the next day)."""
    start, end = _minutes(e["start_time"]), _minutes(e["end_time"])
    return start, end if end > start else end + 1440


def _date_in_words(d: str) -> str:
    """`2022/01/05` -> `January 5, 2022`, as the descriptions write dates."""
    y, m, dd = (int(x) for x in d.split("/"))
    return f"{dt.date(y, m, dd):%B} {dd}, {y}"


def _draw_unique_event(s: Sampler, unique_on: tuple[str, ...]) -> dict:
    """An event that its `unique_on` fields identify."""
    events = _events(s)
    e = s.pick(events)
    if sum(1 for x in events if all(x[k] == e[k] for k in unique_on)) != 1:
        raise Skip
    return e


# ---------------------------------------------------------------------------------------- easy


@template("agenda", "easy", 1, "What did {person} do from {start} to {end} on {date}?", 20, verify=False)
def event_of_person_at_time(s: Sampler) -> Instance:
    e = _draw_unique_event(s, ("person", "start_time", "end_time", "date"))
    keyword = f"{e['person']} on {_date_in_words(e['date'])} from {e['start_time']} to {e['end_time']}"
    fields = dict(person=e["person"], start=e["start_time"], end=e["end_time"], date=e["date"])
    return Instance(fields, e["event"], [retrieve("agenda", keyword)])


@template("agenda", "easy", 2, "Where did {event} that {person} attended take place on {date}?", 20, answer="location")  # fmt: skip
@template("agenda", "easy", 3, "When did {person} attend {event} on {date}?", 20, answer="start_time")
def field_of_persons_event(s: Sampler, answer: str) -> Instance:
    """The `answer` field of the event a person attended on a date."""
    e = _draw_unique_event(s, ("event", "person", "date"))
    keyword = f"{e['person']} {e['event']} on {_date_in_words(e['date'])}"
    return Instance(
        dict(event=e["event"], person=e["person"], date=e["date"]), e[answer], [retrieve("agenda", keyword)]
    )


@template("agenda", "easy", 4, "How long did {person} attend {event} on {date}?", 20)
def event_duration(s: Sampler) -> Instance:
    e = _draw_unique_event(s, ("event", "person", "date"))
    keyword = f"{e['person']} {e['event']} on {_date_in_words(e['date'])}"
    fmt = "%I:%M %p"
    duration = dt.datetime.strptime(e["end_time"], fmt) - dt.datetime.strptime(e["start_time"], fmt)
    code = (
        "from datetime import datetime as D; "
        f"ans = str(D.strptime({e['end_time']!r}, '%I:%M %p') - D.strptime({e['start_time']!r}, '%I:%M %p'))"
    )
    fields = dict(event=e["event"], person=e["person"], date=e["date"])
    return Instance(fields, str(duration), [retrieve("agenda", keyword), python(code)])


@template("agenda", "easy", 5, "Who attended {event} between {start} and {end} on {date} in {location}?", 20, verify=False)  # fmt: skip
def attendee_of_event(s: Sampler) -> Instance:
    e = _draw_unique_event(s, ("event", "start_time", "end_time", "date", "location"))
    keyword = (
        f"{e['event']} at {e['location'].strip()} on {_date_in_words(e['date'])} "
        f"from {e['start_time']} to {e['end_time']}"
    )
    fields = dict(
        event=e["event"], start=e["start_time"], end=e["end_time"], date=e["date"], location=e["location"]
    )
    return Instance(fields, e["person"], [retrieve("agenda", keyword)])


# ---------------------------------------------------------------------------------------- hard


@template("agenda", "hard", 1, "How many events happen on {date} in the agenda table?", 20, verify=False)
def events_on_date(s: Sampler) -> Instance:
    e = s.pick(_events(s))
    n = sum(1 for x in _events(s) if x["date"] == e["date"])
    return Instance(dict(date=e["date"]), n, [retrieve("agenda", f"events on {_date_in_words(e['date'])}")])


@template("agenda", "hard", 2, "How many people are unavailble between {start} and {end} on {date} in the agenda table?", 20, verify=False)  # fmt: skip
def people_busy_in_window(s: Sampler) -> Instance:
    e = s.pick(_events(s))
    start, end = _span(e)
    people = {x["person"] for x in _events(s) if x["date"] == e["date"]
              and _span(x)[0] < end and _span(x)[1] > start}  # fmt: skip
    keyword = f"events on {_date_in_words(e['date'])} between {e['start_time']} and {e['end_time']}"
    fields = dict(start=e["start_time"], end=e["end_time"], date=e["date"])
    return Instance(fields, len(people), [retrieve("agenda", keyword)])


@template("agenda", "hard", 3, "When should I schedule a meeting with {person} from 9:00 AM to 6:00 PM on {date} in the agenda table?", 20, verify=False)  # fmt: skip
def free_slots_of_person(s: Sampler) -> Instance:
    """Gaps of at least an hour between the person's events that day, inside 9:00 AM-6:00 PM."""
    e = s.pick(_events(s))
    busy = sorted(_span(x) for x in _events(s) if x["date"] == e["date"] and x["person"] == e["person"])
    lo, hi = 9 * 60, 18 * 60
    slots, cur = [], lo
    for start, end in busy:
        if start > cur and min(start, hi) - cur >= 60:
            slots.append((cur, min(start, hi)))
        cur = max(cur, end)
        if cur >= hi:
            break
    if cur < hi and hi - cur >= 60:
        slots.append((cur, hi))
    if not slots:
        raise Skip
    ans = ", ".join(f"{fmt_12h(a)}-{fmt_12h(b)}" for a, b in slots)
    keyword = f"{e['person']} on {_date_in_words(e['date'])}"
    return Instance(dict(person=e["person"], date=e["date"]), ans, [retrieve("agenda", keyword)])


@template("agenda", "hard", 4, "What events does {person} have on {date} in the agenda table?", 20, verify=False)  # fmt: skip
def events_of_person_on_date(s: Sampler) -> Instance:
    e = s.pick(_events(s))
    names = dict.fromkeys(
        x["event"] for x in _events(s) if x["date"] == e["date"] and x["person"] == e["person"]
    )
    keyword = f"{e['person']} on {_date_in_words(e['date'])}"
    return Instance(dict(person=e["person"], date=e["date"]), ", ".join(names), [retrieve("agenda", keyword)])


@template("agenda", "hard", 5, "How many dates in the agenda table have {person} scheduled?", 20, verify=False)  # fmt: skip
def dates_with_events_of_person(s: Sampler) -> Instance:
    e = s.pick(_events(s))
    n = len({x["date"] for x in _events(s) if x["person"] == e["person"]})
    return Instance(dict(person=e["person"]), n, [retrieve("agenda", f"{e['person']}'s agenda")])

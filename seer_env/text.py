"""Text an agent or a tool produced, made safe to store and to send to a model.

A Python string can hold what no UTF-8 file, JSON request or database text column accepts: lone
surrogates (a model's output cut inside a surrogate pair, a file name decoded with
`surrogateescape`, a `"\\ud800"` the agent wrote in code) and NUL characters (PostgreSQL text
refuses them; some model servers too). `clean_text` escapes exactly those, as visible text
(`\\udc80`, `\\x00`), and leaves every other string as it is (the same object, at the cost of one
scan). Well-formed surrogate pairs are joined into the character they stand for. `clean_json`
does the same to every string (keys included) inside dicts, lists and tuples.

Bytes that are not UTF-8 never reach here as such: tools decode their output with
`errors="replace"`, and the action parser does the same with a bytes action.
"""

from __future__ import annotations

from typing import Any


def _needs_cleaning(s: str) -> bool:
    if s.isascii():
        return "\x00" in s
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return "\x00" in s


def clean_text(s: str) -> str:
    """`s` with lone surrogates and NULs escaped as text (see the module docstring)."""
    if not _needs_cleaning(s):
        return s
    # join well-formed pairs first (UTF-16 round trip); what is left unpaired gets escaped
    joined = s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return joined.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def clean_json(value: Any) -> Any:
    """`value` with `clean_text` applied to every string in it (dicts, lists and tuples are walked;
    anything else is returned as is). Containers holding nothing to clean come back unchanged."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        pairs = [(k, v, clean_json(k), clean_json(v)) for k, v in value.items()]
        if all(k is ck and v is cv for k, v, ck, cv in pairs):
            return value  # nothing to clean: the caller's object
        return {ck: cv for _, _, ck, cv in pairs}
    if isinstance(value, (list, tuple)):
        items = [clean_json(v) for v in value]
        if all(a is b for a, b in zip(value, items, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    return value

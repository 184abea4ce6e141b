"""The MySQL reading of SQLInterpreter queries (`sqlworker.mysql_to_sqlite`, `qualify_table_names`):
the rewrite itself, MySQL's string-to-number comparison on an in-memory SQLite table, and hostile
text that must not break the lexer."""

from __future__ import annotations

import re
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seer_env.envs.toolqa.sqlworker import mysql_to_sqlite, qualify_table_names

VALUES = ["12", "12.5", "---", "abc", "1e3", " 7", "-3", "12abc", "0", "", "ATL", "atl", "1123.0", ".5"]
_NUMBER_PREFIX = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def mysql_number(text: str) -> float:
    """What MySQL makes of a string in a numeric comparison: the number its prefix spells, else 0."""
    m = _NUMBER_PREFIX.match(text)
    return float(m.group(0)) if m else 0.0


@pytest.fixture(scope="module")
def con():
    c = sqlite3.connect(":memory:")
    c.execute("CREATE TABLE t (v TEXT COLLATE NOCASE, w TEXT COLLATE NOCASE)")
    c.executemany("INSERT INTO t VALUES (?, ?)", [(v, v) for v in VALUES])
    yield c
    c.close()


def _count(con, sql: str) -> int:
    return con.execute(mysql_to_sqlite(sql)).fetchone()[0]


@pytest.mark.parametrize("op", ["=", "!=", "<>", "<", "<=", ">", ">="])
@pytest.mark.parametrize("num", ["0", "12", "7", "-3", "1000", "12.5", "0.5"])
def test_text_against_number_compares_as_mysql(con, op, num):
    py = {
        "=": "__eq__",
        "!=": "__ne__",
        "<>": "__ne__",
        "<": "__lt__",
        "<=": "__le__",
        ">": "__gt__",
        ">=": "__ge__",
    }
    want = sum(1 for v in VALUES if getattr(mysql_number(v), py[op])(float(num)))
    assert _count(con, f"SELECT COUNT(*) FROM t WHERE v {op} {num}") == want
    flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
    assert _count(con, f"SELECT COUNT(*) FROM t WHERE {num} {flipped} v") == want


def test_quoted_and_column_comparisons_stay_text(con):
    assert _count(con, "SELECT COUNT(*) FROM t WHERE v = '12'") == 1
    assert _count(con, "SELECT COUNT(*) FROM t WHERE v > '5'") == sum(1 for v in VALUES if v.lower() > "5")
    assert _count(con, "SELECT COUNT(*) FROM t WHERE v = 'atl'") == 2  # ignoring case
    assert _count(con, "SELECT COUNT(*) FROM t WHERE v = w") == len(VALUES)


def test_rewrites():
    cases = {
        "SELECT a FROM t WHERE c > 5": "SELECT a FROM t WHERE CAST(c AS REAL) > 5",
        "SELECT a FROM t WHERE 5 <= t.c": "SELECT a FROM t WHERE 5 <= CAST(t.c AS REAL)",
        "SELECT a FROM t WHERE c = -5": "SELECT a FROM t WHERE CAST(c AS REAL) = -5",
        "SELECT a FROM t WHERE c = '5'": "SELECT a FROM t WHERE c = '5'",
        "SELECT a FROM t WHERE c = d": "SELECT a FROM t WHERE c = d",
        "SELECT a FROM t WHERE c + 1 > 5": "SELECT a FROM t WHERE c + 1 > 5",
        "SELECT a FROM t WHERE c > d * 2": "SELECT a FROM t WHERE CAST(c AS REAL) > d * 2",
        "SELECT a FROM t WHERE SUBSTR(c, 1, 4) = 2022": "SELECT a FROM t WHERE CAST(SUBSTR(c, 1, 4) AS REAL) = 2022",
        "SELECT a FROM t WHERE LENGTH(c) > 3": "SELECT a FROM t WHERE LENGTH(c) > 3",
        "SELECT a FROM t WHERE c > (SELECT AVG(c) FROM t)": (
            "SELECT a FROM t WHERE CAST(c AS REAL) > (SELECT AVG(c) FROM t)"
        ),
        "SELECT a FROM t WHERE c > (SELECT MAX(c) FROM t)": "SELECT a FROM t WHERE c > (SELECT MAX(c) FROM t)",
        "SELECT a FROM t WHERE c NOT BETWEEN 1 AND 5": "SELECT a FROM t WHERE CAST(c AS REAL) NOT BETWEEN 1 AND 5",
        "SELECT a FROM t WHERE c IN (1, 2)": "SELECT a FROM t WHERE CAST(c AS REAL) IN (1, 2)",
        "SELECT a FROM t WHERE c IN (1, 'x')": "SELECT a FROM t WHERE c IN (1, 'x')",
        "SELECT a FROM t WHERE c IN (SELECT 1)": "SELECT a FROM t WHERE c IN (SELECT 1)",
        "SELECT a FROM t WHERE c <=> 5": "SELECT a FROM t WHERE CAST(c AS REAL)  IS  5",
        'SELECT a FROM t WHERE c = "x\'y"': "SELECT a FROM t WHERE c = 'x''y'",
        "SELECT a FROM t WHERE c LIKE 'a\\_b'": "SELECT a FROM t WHERE c LIKE 'a\\_b' ESCAPE '\\'",
        "SELECT a FROM t # note": "SELECT a FROM t ",
        "SELECT a / b FROM t": 'SELECT a  * 1.0 / b AS "a / b" FROM t',
        "SELECT a / b AS r FROM t": "SELECT a  * 1.0 / b AS r FROM t",
        "SELECT COUNT(*) FROM t WHERE '5' = 5": "SELECT COUNT(*) FROM t WHERE CAST('5' AS REAL) = 5",
        "SELECT a FROM t WHERE CASE WHEN b THEN c END > 2": (
            "SELECT a FROM t WHERE CAST(CASE WHEN b THEN c END AS REAL) > 2"
        ),
    }
    for sql, want in cases.items():
        assert mysql_to_sqlite(sql) == want, sql


def test_bare_names():
    cases = {
        "SELECT * FROM coffee": "SELECT * FROM coffee.coffee_data",
        "SELECT * FROM coffee;": "SELECT * FROM coffee.coffee_data;",
        "SELECT * FROM (SELECT * FROM yelp)": "SELECT * FROM (SELECT * FROM yelp.yelp_data)",
        "SELECT * FROM flight, airbnb": "SELECT * FROM flights.flights_data, airbnb.airbnb_data",
        "SELECT * FROM coffee.coffee_data": "SELECT * FROM coffee.coffee_data",
        "SELECT coffee.Date FROM coffee.coffee_data AS coffee": "SELECT coffee.Date FROM coffee.coffee_data AS coffee",
        "SELECT 'coffee' FROM Coffee": "SELECT 'coffee' FROM Coffee",  # lower case only, as SEER's rewrite
    }
    for sql, want in cases.items():
        assert qualify_table_names(sql) == want, sql


def test_labels_stay_as_written(con):
    cur = con.execute(mysql_to_sqlite("SELECT v > 5, COUNT(*) / 2, v > 5 AS big FROM t"))
    assert [d[0] for d in cur.description] == ["v > 5", "COUNT(*) / 2", "big"]


_PIECES = list("()'\"`#-/*+<>=!,.; \\\n") + [
    "a", "1", "select ", "case ", "end ", "between ", "and ", "in ", "over ", "coffee ", "from ", "e",
]  # fmt: skip
_SQLISH = st.lists(st.sampled_from(_PIECES), max_size=80).map("".join)


@settings(max_examples=400, deadline=None)
@given(_SQLISH)
def test_any_text_is_read_without_error(text):
    assert isinstance(mysql_to_sqlite(text), str)
    assert isinstance(qualify_table_names(text), str)


def test_deep_nesting_and_long_chains_do_not_recurse():
    for sql in (
        "SELECT " + "(" * 8000 + "1" + ")" * 8000 + " > 5",
        "SELECT a FROM t WHERE a > " + "(SELECT " * 2000 + "1" + ")" * 2000,
        "SELECT " + "CASE WHEN a > 1 THEN " * 500 + "1" + " END" * 500,
        "SELECT 1 WHERE " + "f(" * 5000 + ")" * 5000 + " = 1",
        "SELECT 1 WHERE " + "- " * 5000 + "c > 1",
    ):
        assert mysql_to_sqlite(sql).startswith("SELECT")

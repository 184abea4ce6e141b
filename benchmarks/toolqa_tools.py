"""ToolQA tool-call latency: SQLInterpreter in its worker process against the in-process runner it
replaces, and the cost of the other tools' limits.

The previous approach (re-created here as `InProcessSQL`) ran SQL in the env's own process through
SQLAlchemy over sqlite3, with an authorizer and a progress handler; a single slow SQL function call
could not be stopped. Ours (`ToolQAToolkit.run("SQLInterpreter", ...)`) sends the query to a warm
worker process that is killed at the limit. Both read the same SQLite copies of a generated corpus.

Printed: per-call latency p50/p99 for a few realistic queries, both ways, and the ratio; the same
queries and two numeric comparisons read as MySQL (the default: `mysql_to_sqlite` in the worker
over copies whose text ignores case, as both references' MySQL did) against SQLite's own reading,
and the rewrite's own cost; the worker's start-up time; the time ours takes to answer a query whose single `instr` call runs ~15 s (the limit
plus the kill); and what a LoadDB call of a table already loaded costs over the cache lookup itself
(limits, argument checks, the result cap).

Run:  python benchmarks/toolqa_tools.py [--scale small] [--calls 2000] [--workdir DIR] [--hostile-reference]
`--hostile-reference` also times the slow query in-process (it runs to its end, ~15 s or more).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

QUERIES = {
    "count by indexed column": "SELECT COUNT(*) FROM flights.flights_data WHERE Origin = '{origin}'",
    "one value by date": "SELECT Close FROM coffee.coffee_data WHERE Date = '{date}'",
    "range aggregate": "SELECT AVG(Close), MAX(High) FROM coffee.coffee_data WHERE Date >= '{date}'",
    "yelp substring count": (
        "SELECT COUNT(*) FROM yelp.yelp_data WHERE city = '{city}' "
        "AND instr(', ' || categories || ', ', ', Restaurants, ') > 0"
    ),
}
NUMERIC_QUERIES = {  # comparisons MySQL makes numeric: the worker casts the text column
    "delays over 15 minutes": "SELECT COUNT(*) FROM flights.flights_data WHERE DepDelay > 15",
    "flight number, date": (
        "SELECT DepTime FROM flights.flights_data WHERE Flight_Number_Marketing_Airline = {number} "
        "AND FlightDate = '{flight_date}'"
    ),
}
R6 = "replace(" * 6 + "'a'" + ",'a','aaaaaaaaaa')" * 6
HOSTILE = f"WITH s(h) AS (SELECT {R6}) SELECT instr(h, substr(h, 1, 500000) || 'b') FROM s"


class InProcessSQL:
    """The previous SQLInterpreter runner: in-process sqlite3 behind SQLAlchemy, an authorizer that
    allows reads and every function, a progress handler for the time limit, a row cap."""

    def __init__(self, databases: dict[str, Path], timeout: float = 10.0, max_rows: int = 1000):
        import sqlite3

        from sqlalchemy import create_engine
        from sqlalchemy.pool import StaticPool

        self.timeout, self.max_rows = timeout, max_rows
        self._deadline = 0.0
        self._setup = True
        self._lock = threading.Lock()
        allowed = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, 33}
        con = sqlite3.connect("file::memory:", uri=True, check_same_thread=False)
        con.execute("PRAGMA query_only = ON")
        con.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 10_000_000)
        for name, path in databases.items():
            con.execute("ATTACH DATABASE ? AS " + name, (f"file:{path}?mode=ro&immutable=1",))
        con.set_authorizer(lambda a, *_: 0 if self._setup or a in allowed else 1)
        con.set_progress_handler(
            lambda: 1 if self._deadline and time.monotonic() > self._deadline else 0, 20_000
        )
        self._engine = create_engine("sqlite://", creator=lambda: con, poolclass=StaticPool)
        with self._engine.connect():
            pass
        self._setup = False

    def run(self, sql: str) -> str:
        with self._lock:
            self._deadline = time.monotonic() + self.timeout
            try:
                with self._engine.connect() as conn:
                    result = conn.exec_driver_sql(sql)
                    keys = list(result.keys())
                    rows = result.fetchmany(self.max_rows + 1)
            finally:
                self._deadline = 0.0
        return "\n".join(
            ", ".join(f"{k}: {v}" for k, v in zip(keys, r, strict=False)) for r in rows[: self.max_rows]
        )


def _stats(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s) * 1e6, s[min(len(s) - 1, int(0.99 * len(s)))] * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="small", choices=["tiny", "small", "eighth", "full"])
    ap.add_argument("--calls", type=int, default=2000, help="calls per query and side")
    ap.add_argument("--workdir", type=Path, default=None, help="an existing or new generated root")
    ap.add_argument("--hostile-reference", action="store_true", help="also run the slow query in-process")
    args = ap.parse_args()

    from seer_env.envs.toolqa import corpus
    from seer_env.envs.toolqa.profiles import TOOLQA
    from seer_env.envs.toolqa.sqlworker import mysql_to_sqlite
    from seer_env.envs.toolqa.synth_corpus import generate_corpus
    from seer_env.envs.toolqa.tools import ToolQAToolkit

    root = args.workdir or Path(tempfile.mkdtemp(prefix="toolqa-tools-bench-"))
    if not (root / "data" / "external_corpus" / "coffee" / "coffee_price.csv").is_file():
        generate_corpus(root, scale=args.scale, seed=0)
    dbs = {name: corpus.sqlite_db(root, name) for name in ("flights", "coffee", "yelp")}
    flights, coffee, yelp = (corpus.load_table(root, n) for n in ("flights", "coffee", "yelp"))
    params = {
        "origin": flights.value("Origin", 0),
        "date": coffee.value("Date", coffee.n_rows // 2),
        "city": yelp.value("city", 0),
        "number": flights.value("Flight_Number_Marketing_Airline", 0),
        "flight_date": flights.value("FlightDate", 0),
    }
    queries = {k: q.format(**params) for k, q in QUERIES.items()}
    numeric = {k: q.format(**params) for k, q in NUMERIC_QUERIES.items()}

    ref = InProcessSQL(dbs)
    kit = ToolQAToolkit(root, profile=TOOLQA.replace(sql_dialect="sqlite"))  # the same reading as ref
    for sql in queries.values():  # same answers, and everything warm (worker started, pages cached)
        ours = kit.run("SQLInterpreter", sql)
        assert ours.ok and ours.observation == ref.run(sql), (sql, ours.observation)

    print(f"SQLInterpreter per call, {args.calls} calls per query (microseconds, p50 / p99):")
    print(f"  {'query':<24} {'in-process (before)':>22} {'worker (after)':>18} {'p50 ratio':>10}")
    for label, sql in queries.items():
        t_ref, t_ours = [], []
        for _ in range(args.calls):  # interleaved, so both see the same machine load
            t0 = time.perf_counter()
            ref.run(sql)
            t1 = time.perf_counter()
            kit.run("SQLInterpreter", sql)
            t2 = time.perf_counter()
            t_ref.append(t1 - t0)
            t_ours.append(t2 - t1)
        (r50, r99), (o50, o99) = _stats(t_ref), _stats(t_ours)
        print(f"  {label:<24} {r50:10.0f} / {r99:8.0f} {o50:8.0f} / {o99:7.0f} {o50 / r50:9.2f}x")

    mysql = ToolQAToolkit(root)  # the default profile reads SQL as MySQL
    print("SQLInterpreter read as MySQL against SQLite's own reading, per call (microseconds, p50 / p99):")
    print(
        f"  {'query':<24} {'SQLite reading':>22} {'MySQL reading':>18} {'p50 ratio':>10} {'rewrite p50':>12}"
    )
    for label, sql in {**queries, **numeric}.items():
        assert mysql.run("SQLInterpreter", sql).ok and kit.run("SQLInterpreter", sql).ok, sql
        t_plain, t_mysql, t_rewrite = [], [], []
        for _ in range(max(1, args.calls // 10)):
            t0 = time.perf_counter()
            kit.run("SQLInterpreter", sql)
            t1 = time.perf_counter()
            mysql.run("SQLInterpreter", sql)
            t2 = time.perf_counter()
            mysql_to_sqlite(sql)
            t3 = time.perf_counter()
            t_plain.append(t1 - t0)
            t_mysql.append(t2 - t1)
            t_rewrite.append(t3 - t2)
        (p50, p99), (m50, m99) = _stats(t_plain), _stats(t_mysql)
        print(
            f"  {label:<24} {p50:10.0f} / {p99:8.0f} {m50:8.0f} / {m99:7.0f} {m50 / p50:9.2f}x "
            f"{_stats(t_rewrite)[0]:10.0f}"
        )
    mysql.close()

    from seer_env.envs.toolqa.sqlworker import SQLWorker

    starts = []
    for _ in range(10):
        t0 = time.perf_counter()
        SQLWorker({k: str(v) for k, v in dbs.items()}).close()
        starts.append(time.perf_counter() - t0)
    print(f"worker start-up (3 databases): p50 {statistics.median(starts) * 1e3:.0f} ms")

    limited = ToolQAToolkit(root, sql_timeout=2.0)
    t0 = time.perf_counter()
    res = limited.run("SQLInterpreter", HOSTILE)
    print(
        f"one slow instr call, ours with a 2 s limit: answered in {time.perf_counter() - t0:.2f} s ({res.error})"
    )
    if args.hostile_reference:
        t0 = time.perf_counter()
        ref.run(HOSTILE)
        print(f"the same in-process with a 10 s limit: {time.perf_counter() - t0:.1f} s (not stoppable)")

    direct, via = [], []
    for _ in range(args.calls):
        t0 = time.perf_counter()
        corpus.load_table(root, "coffee")
        t1 = time.perf_counter()
        kit.run("LoadDB", "coffee")
        t2 = time.perf_counter()
        direct.append(t1 - t0)
        via.append(t2 - t1)
    print(
        f"LoadDB[coffee] (cached): direct lookup p50 {_stats(direct)[0]:.0f} us, "
        f"the tool call p50 {_stats(via)[0]:.0f} us"
    )
    kit.close()
    limited.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

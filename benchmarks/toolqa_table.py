"""ToolQA table speed: our dictionary-encoded tables against the reference approach (pandas, as ToolQA's tools use it).

The reference loads a table with `pd.read_csv`, casts the whole frame with `astype(str)`, filters with
boolean masks on string columns, and re-reads the file on every LoadDB. This script:

1. writes a flights CSV with the official 61 columns at the official 4,078,318 rows (a quick numpy
   generator; `--generator synth` uses `seer_env.envs.toolqa.synth_corpus` instead) and its first
   1,000,000 rows as a second file;
2. side by side at 1,000,000 rows (one process): reference LoadDB / 5-condition FilterDB / GetValue
   against ours, asserting identical outputs (every cell of every column, filter counts, values);
3. ours alone at 4,078,318 rows (a fresh process): first parse, load from the disk cache, repeated
   LoadDB, FilterDB, GetValue, and the resident memory of the whole table.

Run:  python benchmarks/toolqa_table.py [--workdir DIR] [--rows N] [--ref-rows N]
Peak memory is the reference at 1M rows (about 6 GB); each part runs in its own process.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

FULL_ROWS = 4_078_318
REF_ROWS = 1_000_000
REL = Path("data/external_corpus/flights/Combined_Flights_2022.csv")

COLUMNS = (
    "FlightDate,Airline,Origin,Dest,Cancelled,Diverted,CRSDepTime,DepTime,DepDelayMinutes,DepDelay,ArrTime,"
    "ArrDelayMinutes,AirTime,CRSElapsedTime,ActualElapsedTime,Distance,Year,Quarter,Month,DayofMonth,DayOfWeek,"
    "Marketing_Airline_Network,Operated_or_Branded_Code_Share_Partners,DOT_ID_Marketing_Airline,"
    "IATA_Code_Marketing_Airline,Flight_Number_Marketing_Airline,Operating_Airline,DOT_ID_Operating_Airline,"
    "IATA_Code_Operating_Airline,Tail_Number,Flight_Number_Operating_Airline,OriginAirportID,OriginAirportSeqID,"
    "OriginCityMarketID,OriginCityName,OriginState,OriginStateFips,OriginStateName,OriginWac,DestAirportID,"
    "DestAirportSeqID,DestCityMarketID,DestCityName,DestState,DestStateFips,DestStateName,DestWac,DepDel15,"
    "DepartureDelayGroups,DepTimeBlk,TaxiOut,WheelsOff,WheelsOn,TaxiIn,CRSArrTime,ArrDelay,ArrDel15,"
    "ArrivalDelayGroups,ArrTimeBlk,DistanceGroup,DivAirportLandings"
).split(",")
CARRIERS = [
    ("Delta Air Lines Inc.", "DL"), ("American Airlines Inc.", "AA"), ("United Air Lines Inc.", "UA"),
    ("Southwest Airlines Co.", "WN"), ("JetBlue Airways", "B6"), ("Alaska Airlines Inc.", "AS"),
    ("Spirit Air Lines", "NK"), ("Frontier Airlines Inc.", "F9"), ("Allegiant Air", "G4"),
    ("Hawaiian Airlines Inc.", "HA"), ("SkyWest Airlines Inc.", "OO"), ("Envoy Air", "MQ"),
    ("Endeavor Air Inc.", "9E"), ("Republic Airlines", "YX"), ("Mesa Airlines Inc.", "YV"), ("Comair Inc.", "OH"),
    ("Air Wisconsin Airlines Corp", "ZW"), ("Horizon Air", "QX"), ("Capital Cargo International", "PT"),
    ("Commutair Aka Champlain Enterprises, Inc.", "C5"), ("GoJet Airlines, LLC d/b/a United Express", "G7"),
]  # fmt: skip
MARKETING = ["DL", "AA", "UA", "WN", "B6", "AS", "NK", "F9", "G4", "HA"]


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# ----------------------------------------------------------------------------------- generator


def _block(rng: np.random.Generator, n: int, day0: int, days: int, ap: dict) -> dict:
    """n flights on days day0..day0+days-1 of 2022 (HHMM times, NaN when cancelled)."""
    import pandas as pd

    n_ap = len(ap["code"])
    day = day0 + np.sort(rng.integers(0, days, n))
    dates = pd.Timestamp("2022-01-01") + pd.to_timedelta(day, unit="D")
    car = rng.integers(0, len(CARRIERS), n)
    mkt = np.array(MARKETING)[rng.integers(0, len(MARKETING), n)]
    o = rng.integers(0, n_ap, n)
    d = (o + 1 + rng.integers(0, n_ap - 1, n)) % n_ap
    crs_dep = rng.integers(5 * 60, 23 * 60 + 30, n) // 5 * 5
    dist = np.round(np.abs(ap["x"][o] - ap["x"][d]) + 67.0)
    air = np.round(dist / 7.5 + rng.integers(-5, 25, n)).astype(float)
    dep_delay = np.round(rng.gamma(0.6, 25, n) - 8).astype(float)
    cancelled = rng.random(n) < 0.03
    diverted = ~cancelled & (rng.random(n) < 0.002)
    taxi_out = rng.integers(6, 40, n).astype(float)
    taxi_in = rng.integers(2, 25, n).astype(float)
    arr_delay = dep_delay + rng.integers(-15, 20, n)

    def hhmm(minutes):
        m = np.asarray(minutes) % 1440
        return (m // 60 * 100 + m % 60).astype(float)

    nan = np.nan
    dep = np.where(cancelled, nan, hhmm(crs_dep + dep_delay))
    crs_arr = hhmm(crs_dep + air + 30).astype(int)
    arr = np.where(cancelled | diverted, nan, hhmm(crs_dep + air + 30 + arr_delay))
    air = np.where(cancelled | diverted, nan, air)
    dd = np.where(cancelled, nan, dep_delay)
    ad = np.where(cancelled | diverted, nan, arr_delay)
    num = rng.integers(1, 9000, n)
    dot = 19000 + car * 37
    st = ap["state"]
    cols = {
        "FlightDate": dates.strftime("%Y-%m-%d"),
        "Airline": np.array([c[0] for c in CARRIERS], dtype=object)[car],
        "Origin": ap["code"][o],
        "Dest": ap["code"][d],
        "Cancelled": cancelled,
        "Diverted": diverted,
        "CRSDepTime": hhmm(crs_dep).astype(int),
        "DepTime": dep,
        "DepDelayMinutes": np.clip(dd, 0, None),
        "DepDelay": dd,
        "ArrTime": arr,
        "ArrDelayMinutes": np.clip(ad, 0, None),
        "AirTime": air,
        "CRSElapsedTime": air + 30,
        "ActualElapsedTime": np.where(cancelled, nan, air + taxi_in + taxi_out),
        "Distance": dist,
        "Year": 2022,
        "Quarter": dates.quarter,
        "Month": dates.month,
        "DayofMonth": dates.day,
        "DayOfWeek": dates.day_of_week + 1,
        "Marketing_Airline_Network": mkt,
        "Operated_or_Branded_Code_Share_Partners": mkt,
        "DOT_ID_Marketing_Airline": 19000 + np.searchsorted(sorted(MARKETING), mkt),
        "IATA_Code_Marketing_Airline": mkt,
        "Flight_Number_Marketing_Airline": num,
        "Operating_Airline": np.array([c[1] for c in CARRIERS], dtype=object)[car],
        "DOT_ID_Operating_Airline": dot,
        "IATA_Code_Operating_Airline": np.array([c[1] for c in CARRIERS], dtype=object)[car],
        "Tail_Number": ap["tails"][rng.integers(0, len(ap["tails"]), n)],
        "Flight_Number_Operating_Airline": num,
        "OriginAirportID": ap["id"][o],
        "OriginAirportSeqID": ap["id"][o] * 100 + 3,
        "OriginCityMarketID": ap["market"][o],
        "OriginCityName": ap["city"][o],
        "OriginState": st[o],
        "OriginStateFips": ap["fips"][o],
        "OriginStateName": ap["sname"][o],
        "OriginWac": ap["wac"][o],
        "DestAirportID": ap["id"][d],
        "DestAirportSeqID": ap["id"][d] * 100 + 3,
        "DestCityMarketID": ap["market"][d],
        "DestCityName": ap["city"][d],
        "DestState": st[d],
        "DestStateFips": ap["fips"][d],
        "DestStateName": ap["sname"][d],
        "DestWac": ap["wac"][d],
        "DepDel15": np.where(cancelled, nan, (dep_delay >= 15).astype(float)),
        "DepartureDelayGroups": np.where(cancelled, nan, np.clip(dep_delay // 15, -2, 12)),
        "DepTimeBlk": np.char.add(np.char.zfill((crs_dep // 60).astype(str), 2), "00-")
        + np.char.add(np.char.zfill((crs_dep // 60).astype(str), 2), "59"),
        "TaxiOut": np.where(cancelled, nan, taxi_out),
        "WheelsOff": np.where(cancelled, nan, hhmm(crs_dep + dep_delay + taxi_out)),
        "WheelsOn": np.where(cancelled | diverted, nan, hhmm(crs_dep + air + arr_delay + 20)),
        "TaxiIn": np.where(cancelled | diverted, nan, taxi_in),
        "CRSArrTime": crs_arr,
        "ArrDelay": ad,
        "ArrDel15": np.where(cancelled | diverted, nan, (arr_delay >= 15).astype(float)),
        "ArrivalDelayGroups": np.where(cancelled | diverted, nan, np.clip(arr_delay // 15, -2, 12)),
        "ArrTimeBlk": np.char.add(np.char.zfill((crs_arr // 100).astype(str), 2), "00-")
        + np.char.add(np.char.zfill((crs_arr // 100).astype(str), 2), "59"),
        "DistanceGroup": (dist // 250 + 1).astype(int),
        "DivAirportLandings": diverted.astype(int),
    }
    return cols


def generate_flights(path: Path, rows: int, seed: int = 0) -> None:
    """Write a flights CSV with the official columns and value formats, in blocks of dates."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    n_ap = 375
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    codes = np.unique(["".join(rng.choice(letters, 3)) for _ in range(n_ap * 2)])[:n_ap]
    states = np.array(["GA", "CA", "TX", "FL", "NY", "IL", "CO", "WA", "AZ", "NV", "MA", "PA", "NC", "MN"])
    snames = dict(zip(states, [f"State {s}" for s in states], strict=True))
    sidx = rng.integers(0, len(states), n_ap)
    ap = {
        "code": codes.astype(object),
        "x": rng.uniform(0, 2500, n_ap),
        "state": states[sidx].astype(object),
        "sname": np.array([snames[s] for s in states[sidx]], dtype=object),
        "fips": sidx + 1,
        "wac": sidx + 30,
        "id": 10000 + rng.choice(6000, n_ap, replace=False),
        "market": 30000 + rng.choice(5000, n_ap, replace=False),
        "city": np.array(
            [f"City {c.title()}, {s}" for c, s in zip(codes, states[sidx], strict=True)], dtype=object
        ),
        "tails": np.array(
            [
                f"N{k}{c}"
                for k, c in zip(rng.integers(100, 999, 6000), rng.choice(letters, 6000), strict=True)
            ],
            dtype=object,
        ),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    days, block = 212, 200_000
    n_blocks = -(-rows // block)
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        for b in range(n_blocks):
            n = min(block, rows - b * block)
            d0 = b * days // n_blocks
            d1 = max(d0 + 1, (b + 1) * days // n_blocks)
            df = pd.DataFrame(_block(rng, n, d0, d1 - d0, ap), columns=COLUMNS)
            df.to_csv(f, header=(b == 0), index=False)
    os.replace(tmp, path)


def head_csv(src: Path, dst: Path, rows: int) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as g:
        for i, line in enumerate(f):
            if i > rows:
                break
            g.write(line)


# ------------------------------------------------------------------------ the reference approach


@contextlib.contextmanager
def pandas1_strings():
    """pandas >= 3 keeps NaN as missing in astype(str); the reference ran pandas 1.x (`'nan'`)."""
    import pandas as pd

    with warnings.catch_warnings(), contextlib.ExitStack() as st:
        warnings.simplefilter("ignore")
        with contextlib.suppress(Exception):
            st.enter_context(pd.option_context("future.infer_string", False))
        yield


def ref_load(path: Path):
    import pandas as pd

    with pandas1_strings():
        t0 = time.perf_counter()
        df = pd.read_csv(path)
        t1 = time.perf_counter()
        df = df.astype(str)
        t2 = time.perf_counter()
    return df, t1 - t0, t2 - t1


def ref_filter(df, argument: str):
    for cond in argument.split(", "):
        for op in (">=", "<=", ">", "<", "="):
            if op in cond:
                col, val = cond.split(op)[:2]
                s = df[col]
                mask = {">=": s >= val, "<=": s <= val, ">": s > val, "<": s < val, "=": s == val}[op]
                df = df[mask]
                break
        if len(df) == 0:
            return None
    return df


def ref_getvalue(df, col: str) -> str:
    if len(df) == 1:
        return str(df.iloc[0][col])
    return ", ".join(df[col].tolist())


# --------------------------------------------------------------------------------------- parts


def _median_time(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _queries(table) -> list[tuple[str, list[str]]]:
    """A 5-condition query per the easy flight template (from a real row), and a broad one."""
    row = table.n_rows // 3
    while table.value("Cancelled", row) != "False":
        row += 1
    v = {c: table.value(c, row) for c in table.columns}
    specific = (
        f"IATA_Code_Marketing_Airline={v['IATA_Code_Marketing_Airline']}, "
        f"Flight_Number_Marketing_Airline={v['Flight_Number_Marketing_Airline']}, Origin={v['Origin']}, "
        f"Dest={v['Dest']}, FlightDate={v['FlightDate']}"
    )
    broad = (
        f"FlightDate>=2022-01-01, FlightDate<=2022-12-31, Origin={v['Origin']}, Cancelled=False, Distance>500"
    )
    return [
        (specific, ["DepTime", "ArrDelay", "AirTime"]),
        (broad, ["Flight_Number_Marketing_Airline", "DepDelay"]),
    ]


def part_ours(root: Path, repeat: int) -> dict:
    from seer_env.envs.toolqa import corpus
    from seer_env.envs.toolqa.tools import ToolQAToolkit

    res: dict = {}
    path = corpus.corpus_dir(root) / corpus.TABLE_FILES["flights"]
    cache = corpus._table_cache_dir(path)
    rss0 = rss_mb()
    t0 = time.perf_counter()
    if not (cache / "meta.json").is_file():
        corpus.load_table(root, "flights")
        res["first_parse_s"] = time.perf_counter() - t0
        corpus.clear_process_cache()
        gc.collect()
    else:
        res["first_parse_s"] = None  # already cached by an earlier run
    rss1 = rss_mb()
    t0 = time.perf_counter()
    table = corpus.load_table(root, "flights")
    res["load_from_disk_cache_s"] = time.perf_counter() - t0
    for c in table.codes:  # make the whole table resident, then measure it
        int(np.asarray(c).sum())
    res["resident_mb"] = rss_mb() - rss1
    res["table_nbytes_mb"] = table.nbytes() / 2**20
    res["rows"] = table.n_rows
    res["rss_before_mb"] = rss0
    kit = ToolQAToolkit(root)
    res["loaddb_repeat_s"], _ = _median_time(lambda: kit.run("LoadDB", "flights"), repeat * 4)
    res["queries"] = []
    for q, cols in _queries(table):
        kit.run("LoadDB", "flights")
        t0 = time.perf_counter()
        kit.run("FilterDB", q)  # the first use of a column builds its per-value row lists
        first = time.perf_counter() - t0

        def filt(q=q):
            kit.run("LoadDB", "flights")
            return kit.run("FilterDB", q)

        tf, out = _median_time(filt, repeat)
        tg, _ = _median_time(lambda cols=cols: [kit.run("GetValue", c) for c in cols], repeat)
        res["queries"].append(
            {
                "query": q,
                "first_filter_s": first,
                "filter_s": tf,
                "getvalue_s": tg / len(cols),
                "out": out.observation,
            }
        )
    res["peak_mb"] = peak_mb()
    return res


def part_side_by_side(root: Path, repeat: int) -> dict:
    from seer_env.envs.toolqa import corpus
    from seer_env.envs.toolqa.tools import ToolQAToolkit

    path = corpus.corpus_dir(root) / corpus.TABLE_FILES["flights"]
    res: dict = {}
    t0 = time.perf_counter()
    table = corpus.load_table(root, "flights")
    res["ours_first_load_s"] = time.perf_counter() - t0
    kit = ToolQAToolkit(root)
    res["ours_loaddb_repeat_s"], _ = _median_time(lambda: kit.run("LoadDB", "flights"), repeat * 4)
    rss0 = rss_mb()
    df, t_read, t_cast = ref_load(path)
    res["ref_read_s"], res["ref_cast_s"] = t_read, t_cast
    res["ref_loaddb_s"] = t_read + t_cast
    res["ref_resident_mb"] = rss_mb() - rss0
    res["ref_frame_mb"] = float(df.memory_usage(deep=True).sum()) / 2**20
    res["ours_table_mb"] = table.nbytes() / 2**20
    # identical outputs: every cell of every column
    assert list(df.columns) == table.columns
    for c in table.columns:
        if df[c].tolist() != table.strings(c).tolist():
            raise AssertionError(f"column {c} differs from the reference strings")
    res["cells_compared"] = table.n_rows * len(table.columns)
    res["queries"] = []
    for q, cols in _queries(table):
        t_ref, sub = _median_time(lambda q=q: ref_filter(df, q), repeat)

        def ours(q=q):
            kit.run("LoadDB", "flights")
            return kit.run("FilterDB", q)

        t_ours, out = _median_time(ours, repeat)
        assert (
            sub is not None
            and out.observation == f"We have successfully filtered the data ({len(sub)} rows)."
        ), q
        g_ref = g_ours = 0.0
        for c in cols:
            tr, vr = _median_time(lambda c=c, sub=sub: ref_getvalue(sub, c), repeat)
            to, vo = _median_time(lambda c=c: kit.run("GetValue", c).observation, repeat)
            assert vr == vo, (q, c)
            g_ref, g_ours = g_ref + tr, g_ours + to
        res["queries"].append(
            {
                "query": q,
                "rows": len(sub),
                "ref_filter_s": t_ref,
                "ours_filter_s": t_ours,
                "ref_getvalue_s": g_ref / len(cols),
                "ours_getvalue_s": g_ours / len(cols),
            }
        )
    res["peak_mb"] = peak_mb()
    return res


def _run_part(part: str, root: Path, repeat: int) -> dict:
    cmd = [sys.executable, __file__, "--part", part, "--root", str(root), "--repeat", str(repeat)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"part {part} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fmt_ms(s: float | None) -> str:
    return "n/a" if s is None else f"{s * 1000:.2f} ms" if s < 1 else f"{s:.2f} s"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "seer-toolqa-bench")
    ap.add_argument("--rows", type=int, default=FULL_ROWS)
    ap.add_argument("--ref-rows", type=int, default=REF_ROWS)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--generator", choices=["quick", "synth"], default="quick")
    ap.add_argument("--skip-reference", action="store_true")
    ap.add_argument("--generate-only", action="store_true", help="write the CSV files and stop")
    ap.add_argument("--part", choices=["ours", "side"], help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.part:
        fn = part_ours if args.part == "ours" else part_side_by_side
        print(json.dumps(fn(args.root, args.repeat)))
        return 0

    full_root = args.workdir / f"full-{args.rows}"
    ref_root = args.workdir / f"ref-{args.ref_rows}"
    full_csv, ref_csv = full_root / REL, ref_root / REL
    if not full_csv.is_file():
        t0 = time.perf_counter()
        if args.generator == "synth":
            from seer_env.envs.toolqa.synth_corpus import generate_corpus

            if args.rows != FULL_ROWS:
                raise SystemExit("--generator synth writes the official 4,078,318 rows only")
            generate_corpus(full_root, scale="full", domains=["flights"])
        else:
            generate_flights(full_csv, args.rows)
        print(f"wrote {full_csv} ({args.rows:,} rows) in {time.perf_counter() - t0:.0f} s", flush=True)
    if not ref_csv.is_file():
        head_csv(full_csv, ref_csv, args.ref_rows)
    if args.generate_only:
        return 0

    ours = _run_part("ours", full_root, args.repeat)
    print(f"\n== ours at {ours['rows']:,} rows (fresh process) ==")
    print(f"first parse of the CSV (one-time, then cached): {_fmt_ms(ours['first_parse_s'])}")
    print(f"LoadDB from the disk cache (a new process):     {_fmt_ms(ours['load_from_disk_cache_s'])}")
    print(
        f"repeated LoadDB:                                 {_fmt_ms(ours['loaddb_repeat_s'])}  (target < 10 ms)"
    )
    print(f"whole table resident:                            {ours['resident_mb']:.0f} MB  (target < 3 GB)")
    print(f"table size (codes + distinct strings):           {ours['table_nbytes_mb']:.0f} MB")
    for q in ours["queries"]:
        print(f"FilterDB[{q['query']}] -> {q['out']}")
        print(
            f"   FilterDB {_fmt_ms(q['filter_s'])} (first use of its columns {_fmt_ms(q['first_filter_s'])}), "
            f"GetValue {_fmt_ms(q['getvalue_s'])}"
        )
    print(f"peak RSS of this process: {ours['peak_mb']:.0f} MB")

    if args.skip_reference:
        return 0
    side = _run_part("side", ref_root, args.repeat)
    print(f"\n== side by side at {args.ref_rows:,} rows (one process, identical outputs asserted) ==")
    print(f"cells compared identical: {side['cells_compared']:,}")
    print(
        f"LoadDB   reference {_fmt_ms(side['ref_loaddb_s'])} (read {_fmt_ms(side['ref_read_s'])} + "
        f"astype(str) {_fmt_ms(side['ref_cast_s'])}, on every LoadDB)   ours repeated "
        f"{_fmt_ms(side['ours_loaddb_repeat_s'])}   ratio {side['ref_loaddb_s'] / side['ours_loaddb_repeat_s']:,.0f}x"
    )
    print(
        f"memory   reference frame {side['ref_frame_mb']:.0f} MB (RSS +{side['ref_resident_mb']:.0f} MB)   "
        f"ours {side['ours_table_mb']:.0f} MB   ratio {side['ref_frame_mb'] / side['ours_table_mb']:.1f}x"
    )
    for q in side["queries"]:
        print(f"FilterDB[{q['query']}] ({q['rows']:,} rows)")
        print(
            f"   FilterDB reference {_fmt_ms(q['ref_filter_s'])}  ours {_fmt_ms(q['ours_filter_s'])}  "
            f"ratio {q['ref_filter_s'] / q['ours_filter_s']:.0f}x (target >= 50x)"
        )
        print(
            f"   GetValue reference {_fmt_ms(q['ref_getvalue_s'])}  ours {_fmt_ms(q['ours_getvalue_s'])}  "
            f"ratio {q['ref_getvalue_s'] / q['ours_getvalue_s']:.1f}x"
        )
    print(f"peak RSS of the side-by-side process: {side['peak_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`seer-env data toolqa ...`: generate a synthetic ToolQA data folder, verify one, explain where data lives.

seer-env data toolqa synth --out DIR [--scale small|full] [--seed N] [--per-template N]
seer-env data toolqa verify DIR
seer-env data toolqa where
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

QUESTION_FILES = {
    "easy": ["flight", "coffee", "yelp", "airbnb", "dblp", "scirex", "agenda", "gsm8k"],
    "hard": ["flight", "coffee", "yelp", "airbnb", "dblp", "scirex", "agenda"],
}

WHERE_TEXT = """\
[bold]Official ToolQA data[/bold]
  The corpora are a separate download linked from the README of https://github.com/night-chen/ToolQA
  (a file-sharing link, several GB); the question files are in that repository under data/questions/.
  Put both under one root so that it holds
    <root>/data/external_corpus/{flights,coffee,yelp,airbnb,dblp,agenda,scirex}/...
    <root>/data/questions/{easy,hard}/<domain>-<difficulty>.jsonl   (flight-easy.jsonl, genda-hard.jsonl, ...)
  then point seer-env at it:
    export TOOLQA_DATA_DIR=<root>          # or gym.make("seer_env:ToolQA-easy-v0", data_dir="<root>")
  Check it with:  seer-env data toolqa verify <root>

[bold]No download needed[/bold]
  ToolQA-Synth-easy-v0 / ToolQA-Synth-hard-v0 generate a corpus in the same layout on first use, or write one:
    seer-env data toolqa synth --out <dir> --scale small    # seconds
    seer-env data toolqa synth --out <dir> --scale full     # official sizes (minutes, several GB)
  and play it with ToolQA-easy-v0 / ToolQA-hard-v0 and data_dir=<dir>.
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "data", help="ToolQA data: generate a synthetic corpus, verify a folder, where to get it"
    )
    sub = p.add_subparsers(dest="data_cmd", metavar="SOURCE")
    tq = sub.add_parser("toolqa", help="ToolQA corpora and question files")
    tsub = tq.add_subparsers(dest="toolqa_cmd", metavar="ACTION")

    s = tsub.add_parser("synth", help="write a generated corpus and question files in the official layout")
    s.add_argument("--out", required=True, help="output folder (the ToolQA root: <out>/data/...)")
    s.add_argument("--scale", default="small", choices=["tiny", "small", "eighth", "full"])
    s.add_argument("--seed", type=int, default=0)
    s.add_argument(
        "--per-template", type=int, default=None, help="questions per template (default: official counts)"
    )
    s.add_argument("--no-questions", action="store_true", help="write the corpus only")
    s.set_defaults(func=_synth)

    v = tsub.add_parser("verify", help="check that a folder has the official ToolQA layout")
    v.add_argument("dir", help="a ToolQA root (holding data/external_corpus and data/questions)")
    v.set_defaults(func=_verify)

    w = tsub.add_parser("where", help="where the official data comes from and how to point at it")
    w.set_defaults(func=_where)

    def _help(args, _p=p, _tq=tq) -> int:
        (_tq if getattr(args, "data_cmd", None) == "toolqa" else _p).print_help()
        return 2

    p.set_defaults(func=_help)
    tq.set_defaults(func=_help)


def _synth(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from seer_env.envs.toolqa.synth_corpus import generate_corpus
    from seer_env.envs.toolqa.synth_questions import generate_questions, write_questions

    console = Console()
    out = Path(args.out)
    t0 = time.perf_counter()
    with Progress(
        TextColumn("{task.description:<10}"), BarColumn(), TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
        TimeElapsedColumn(), console=console,
    ) as progress:  # fmt: skip
        tasks: dict[str, int] = {}

        def tick(domain: str, done: int, total: int) -> None:
            if domain not in tasks:
                tasks[domain] = progress.add_task(domain, total=total)
            progress.update(tasks[domain], completed=done, total=total)

        generate_corpus(out, scale=args.scale, seed=args.seed, progress=tick)
        if not args.no_questions:
            qt = progress.add_task("questions", total=2)
            for diff in ("easy", "hard"):
                qs = generate_questions(out, diff, per_template=args.per_template, seed=args.seed)
                write_questions(out, qs)
                progress.advance(qt)
    console.print(
        f"wrote a {args.scale} ToolQA-Synth folder (seed {args.seed}) to {out} in {time.perf_counter() - t0:.1f} s"
    )
    console.print(f"play it with: gym.make('seer_env:ToolQA-easy-v0', data_dir='{out}')")
    return 0


def verify_dir(root: str | Path) -> dict[str, list[str]]:
    """What a ToolQA root has and lacks: {"missing": [...], "present": [...], "problems": [...]}."""
    from seer_env.envs.toolqa.synth_corpus import AIRBNB_COLUMNS, FLIGHT_COLUMNS, expected_files

    root = Path(root)
    data = root / "data"
    present, missing, problems = [], [], []
    for rel in expected_files():
        (present if (data / rel).is_file() else missing).append(f"data/{rel}")
    for diff, domains in QUESTION_FILES.items():
        for d in domains:
            names = [f"{d}-{diff}.jsonl"] + (["genda-hard.jsonl"] if (d, diff) == ("agenda", "hard") else [])
            if any((data / "questions" / diff / n).is_file() for n in names):
                present.append(f"data/questions/{diff}/{names[0]}")
            else:
                missing.append(f"data/questions/{diff}/{names[0]}")
    for rel, cols in (
        ("external_corpus/flights/Combined_Flights_2022.csv", FLIGHT_COLUMNS),
        ("external_corpus/airbnb/Airbnb_Open_Data.csv", AIRBNB_COLUMNS),
        (
            "external_corpus/coffee/coffee_price.csv",
            ["Date", "Open", "High", "Low", "Close", "Volume", "Currency"],
        ),
    ):
        p = data / rel
        if p.is_file():
            import csv

            with open(p, encoding="utf-8", newline="") as f:
                header = next(csv.reader(f), [])
            if header != cols:
                problems.append(f"data/{rel}: header differs from the official columns")
    return {"present": present, "missing": missing, "problems": problems}


def _verify(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console()
    rep = verify_dir(args.dir)
    for p in rep["present"]:
        console.print(f"[green]ok[/green]       {p}")
    for p in rep["missing"]:
        console.print(f"[red]missing[/red]  {p}")
    for p in rep["problems"]:
        console.print(f"[yellow]problem[/yellow]  {p}")
    if rep["missing"] or rep["problems"]:
        gsm_only = all("gsm8k" in m for m in rep["missing"]) and not rep["problems"]
        console.print(
            "gsm8k has no corpus; its question file only comes with the official data."
            if gsm_only
            else "Not a complete ToolQA folder. `seer-env data toolqa where` explains how to get one."
        )
        return 0 if gsm_only else 1
    console.print("complete ToolQA folder")
    return 0


def _where(args: argparse.Namespace) -> int:
    from rich.console import Console

    Console().print(WHERE_TEXT)
    return 0

"""`seer-env data toolqa ...`: fetch the official ToolQA data, generate a synthetic folder, verify one.

seer-env data toolqa download [--dest DIR] [--url URL | --archive FILE] [--sha256 HEX] [--force] ...
seer-env data toolqa synth --out DIR [--scale small|full] [--seed N] [--per-template N]
seer-env data toolqa verify DIR
seer-env data toolqa where
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from seer_env.envs.toolqa.domains import QUESTION_SETS

WHERE_TEXT = """\
[bold]Official ToolQA data[/bold]
  One command fetches it all (resumable, checksummed) and verifies it:
    seer-env data toolqa download --dest <root>
  The corpora are a separate download linked from the README of https://github.com/night-chen/ToolQA
  (a Google Drive zip, several GB); the question files are in that repository under data/questions/.
  By hand, put both under one root so that it holds
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

    _add_download_parser(tsub)

    s = tsub.add_parser("synth", help="write a generated corpus and question files in the official layout")
    s.add_argument("--out", required=True, help="output folder (the ToolQA root: <out>/data/...)")
    s.add_argument(
        "--scale",
        default="small",
        choices=["tiny", "small", "eighth", "full"],
        help="corpus size: tiny and small build in seconds, full has the official sizes (minutes, GBs)",
    )
    s.add_argument("--seed", type=int, default=0, help="seed of the generated corpus and questions")
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
    for diff, domains in QUESTION_SETS.items():
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

    return _print_verify(Console(), args.dir)


def _print_verify(console, root) -> int:
    rep = verify_dir(root)
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


def _add_download_parser(tsub) -> None:
    # for the defaults shown in --help; the module imports only the standard library
    from seer_env.envs.toolqa import download as dl

    d = tsub.add_parser(
        "download",
        help="fetch the official ToolQA corpus and question files, unpack, checksum and verify them",
        description="Download the ToolQA external corpus (the Google Drive zip linked from the ToolQA "
        "README) and the question files (ToolQA's data/questions at a pinned commit) into "
        "DEST/data/{external_corpus,questions}. An interrupted download resumes from "
        "DEST/external_corpus.zip.part; sha256 digests go to DEST/data/download-manifest.json and are "
        "checked on later runs; `verify` runs at the end.",
    )
    d.add_argument(
        "--dest",
        default=os.environ.get("TOOLQA_DATA_DIR") or "ToolQA",
        help="the ToolQA root to fill (default: $TOOLQA_DATA_DIR when set, else ./ToolQA; now %(default)s)",
    )
    d.add_argument(
        "--url",
        default=dl.CORPUS_URL,
        help="where to fetch the corpus archive, e.g. a mirror (default: %(default)s)",
    )
    d.add_argument(
        "--archive",
        metavar="FILE",
        help="unpack this corpus archive, downloaded by other means, instead of fetching one (default: download it)",
    )
    d.add_argument(
        "--sha256",
        metavar="HEX",
        help="the archive's expected sha256 (default: the one recorded by the first download)",
    )
    d.add_argument(
        "--questions-url",
        default=dl.QUESTIONS_URL,
        help="base URL of the question files, e.g. a mirror (default: %(default)s)",
    )
    d.add_argument("--no-questions", action="store_true", help="fetch the corpus only")
    d.add_argument(
        "--force", action="store_true", help="download and unpack again even when the files check out"
    )
    d.add_argument("--keep-archive", action="store_true", help="keep the archive after unpacking it")
    d.add_argument(
        "--max-size",
        metavar="GIB",
        type=float,
        default=dl.MAX_UNPACKED_BYTES / 2**30,
        help="refuse an archive that unpacks to more than this (default: %(default)g GiB)",
    )
    d.add_argument(
        "--retries",
        type=int,
        default=3,
        help="retries, resuming, after a dropped connection (default: %(default)s)",
    )
    d.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds without data before a retry (default: %(default)g)",
    )
    d.add_argument("--quiet", action="store_true", help="no progress bars")
    d.set_defaults(func=_download)


def _download(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from seer_env.envs.toolqa.download import DownloadError, download

    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    dest = Path(args.dest).expanduser()

    def say(line: str) -> None:
        console.print(line, markup=False, soft_wrap=True)

    try:
        rep = download(
            dest,
            url=args.url,
            archive=args.archive,
            sha256=args.sha256,
            questions=not args.no_questions,
            questions_url=args.questions_url,
            force=args.force,
            keep_archive=args.keep_archive,
            max_bytes=int(args.max_size * 2**30),
            retries=args.retries,
            timeout=args.timeout,
            progress=not args.quiet,
            say=say,
        )
    except DownloadError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        return 1
    except OSError as exc:  # the local side: disk full, no permission, a file where a folder should be
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        err.print("interrupted: run the same command again to resume the download", soft_wrap=True)
        return 130
    for note in rep.notes:
        say(note)
    code = _print_verify(console, dest)
    say(f"use it with:  export TOOLQA_DATA_DIR={dest.resolve()}")
    return code

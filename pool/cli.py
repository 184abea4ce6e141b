"""`seer-env pool`: stats, export, import, freeze.

`stats` and `export` only read: they open the pool read-only (`PoolReader`), write nothing into it
and create no file, and refuse a path that holds no pool. `import` and `freeze` write; `freeze` too
needs an existing pool. A path that is not a pool, a corrupt file or a newer schema is said in one
line (exit code 2), never as a traceback.
"""

from __future__ import annotations

import argparse
import functools

MAX_PROBLEMS_SHOWN = 20  # skipped records listed by `import` (the count covers all)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("pool", help="inspect and move experience pools")
    sub = p.add_subparsers(dest="pool_command", metavar="ACTION")

    def common(sp, embedder: bool = True):
        sp.add_argument("url", help="pool: SQLAlchemy URL or SQLite file path")
        sp.add_argument(
            "--namespace",
            default=None,
            help="env family, e.g. toolqa or taubench-retail ('*' = all; default: the pool's only one, "
            "else all)",
        )
        if embedder:
            sp.add_argument(
                "--embedder",
                default=None,
                help="sentence-transformers model name/path (default: the pool's own, else the packaged "
                "MiniLM)",
            )

    s = sub.add_parser("stats", help="counts by namespace, intent, split, source; embedder; frozen")
    common(s, embedder=False)
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=_stats)

    e = sub.add_parser("export", help="write the pool as JSONL (or the SEER reference format)")
    common(e, embedder=False)
    e.add_argument("out", help="output file")
    e.add_argument(
        "--format",
        choices=("jsonl", "reference"),
        default="jsonl",
        help="seer-env's JSONL, or the SEER reference library's format",
    )
    e.set_defaults(func=_export)

    i = sub.add_parser(
        "import",
        help="add experiences from JSONL, the SEER reference format, or the seeds",
        description="Add experiences to a pool (created if the path holds none). The whole file is "
        "checked first; every record goes into --namespace and --split, whatever the file says, "
        "unless --keep-namespace / --keep-split.",
    )
    common(i)
    i.add_argument("source", help="input file, or 'seeds' for the shipped seeds of the namespace")
    i.add_argument(
        "--format",
        choices=("jsonl", "reference"),
        default="jsonl",
        help="seer-env's JSONL, or the SEER reference library's format",
    )
    i.add_argument("--split", default=None, help="split to record (default: train)")
    i.add_argument(
        "--keep-namespace", action="store_true", help="JSONL: each record into the namespace it names"
    )
    i.add_argument(
        "--keep-split", action="store_true", help="JSONL: each record into the split it names (test too)"
    )
    i.add_argument(
        "--on-mismatch",
        choices=("refuse", "reembed"),
        default="refuse",
        help="when the pool was embedded by another model than this one: refuse, or embed every stored experience again",
    )
    i.set_defaults(func=_import)

    f = sub.add_parser("freeze", help="refuse further writes and print the pool's content hash")
    common(f)
    f.set_defaults(func=_freeze)

    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _one_line_errors(fn):
    """Known failures (no pool, not a pool, corrupt, newer schema, unreadable file) as one line."""

    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        from rich.console import Console
        from sqlalchemy.exc import DBAPIError

        from seer_env.pool.types import PoolError, PoolFrozenError

        try:
            return fn(args)
        except PoolFrozenError as exc:
            Console(stderr=True).print(f"[red]error[/red]: {exc}", highlight=False, soft_wrap=True)
            return 1
        except (PoolError, ValueError, OSError, DBAPIError) as exc:
            if isinstance(exc, DBAPIError):
                why = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
                msg = f"cannot read the pool at {args.url}: {why}"
            elif isinstance(exc, OSError) and not isinstance(exc, PoolError):
                msg = f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
            else:
                msg = str(exc)
            Console(stderr=True).print(f"[red]error[/red]: {msg}", highlight=False, soft_wrap=True)
            return 2

    return run


def _reader(args):
    from seer_env.pool import PoolReader

    return PoolReader(args.url, args.namespace)


def _open(args, *, writes_namespace: bool = True, **kw):
    """The pool at `args.url` for writing (created if the path holds none), in the namespace the
    command writes (`_target_namespace`; a command that writes no namespace takes any)."""
    from seer_env.embedding import ModelEmbedder
    from seer_env.pool import ExperienceMemory
    from seer_env.pool.store import Store

    store = Store(args.url)
    try:
        stored = store.get_meta("embedder")
        present = sorted(store.group_counts("namespace"))
    finally:
        store.close()
    ns = _target_namespace(args, present) if writes_namespace else (present[:1] or [None])[0]
    embedder = args.embedder
    if embedder is None:  # the pool's own embedder; it is loaded only if the command embeds something
        embedder = ModelEmbedder(stored) if stored else None
    return ExperienceMemory(
        args.url, embedder=embedder, namespace=ns or _default_namespace(), allowed_splits=None, **kw
    )


def _default_namespace() -> str:
    from seer_env.pool.types import DEFAULT_NAMESPACE

    return DEFAULT_NAMESPACE


def _target_namespace(args, present: list[str]) -> str:
    """The namespace a writing command works in: --namespace, else the pool's only one, else the
    default one of an empty pool; several namespaces and none named is a ValueError."""
    if args.namespace not in (None, "*"):
        return args.namespace
    if len(present) > 1 and not getattr(args, "keep_namespace", False):
        raise ValueError(
            f"the pool holds several namespaces ({', '.join(present)}): name one with --namespace"
        )
    return present[0] if present else _default_namespace()


def _require_pool(args) -> None:
    """A path with no pool behind it is an error for commands that never create one."""
    from seer_env.pool.store import resolve_url
    from seer_env.pool.types import PoolOpenError

    url = resolve_url(args.url)
    if url.startswith("sqlite:///"):
        import os

        path = url[len("sqlite:///") :]
        if not os.path.isfile(path):
            raise PoolOpenError(f"no pool at {path}: there is no such file")


@_one_line_errors
def _stats(args: argparse.Namespace) -> int:
    import json

    from rich.console import Console
    from rich.table import Table

    with _reader(args) as pool:
        st = pool.stats()
        st["content_hash"] = pool.content_hash()
    console = Console()
    if args.json:
        console.print_json(json.dumps(st))
        return 0
    t = Table(title=f"pool {st['url']}", show_header=False)
    for key in ("experiences", "embedder", "dim", "schema_version", "frozen", "content_hash"):
        t.add_row(key, str(st[key]))
    for key in ("by_namespace", "by_intent", "by_split", "by_source"):
        t.add_row(key, ", ".join(f"{k}: {v}" for k, v in sorted(st[key].items())) or "-")
    console.print(t)
    return 0


@_one_line_errors
def _export(args: argparse.Namespace) -> int:
    from rich.console import Console

    from seer_env.pool.io import export_jsonl, export_reference

    with _reader(args) as pool:
        n = (export_reference if args.format == "reference" else export_jsonl)(pool, args.out, pool.namespace)
    Console().print(f"wrote {n} experiences to {args.out}")
    return 0


@_one_line_errors
def _import(args: argparse.Namespace) -> int:
    from rich.console import Console

    from seer_env.pool.io import ImportReport, import_jsonl, import_reference

    console = Console()
    if args.source != "seeds":
        with open(args.source, "rb"):  # a missing or unreadable file: said before the pool is touched
            pass
    if args.keep_namespace and args.format == "reference":
        raise ValueError("--keep-namespace applies to JSONL files (reference entries name no namespace)")
    with _open(args, on_mismatch=args.on_mismatch) as mem:
        if args.source == "seeds":
            report = ImportReport(added=mem.add_seeds(mem.namespace))
        elif args.format == "reference":
            report = import_reference(mem, args.source, split=args.split)
        else:
            report = import_jsonl(
                mem,
                args.source,
                split=args.split,
                keep_namespace=args.keep_namespace,
                keep_split=args.keep_split,
            )
        where = mem.namespace if not args.keep_namespace else "the namespaces the file names"
    console.print(f"added {report.added} into {where}, skipped {report.skipped}", highlight=False)
    for place, why in report.problems[:MAX_PROBLEMS_SHOWN]:
        console.print(f"  skipped {place}: {why}", highlight=False, markup=False)
    if report.skipped > MAX_PROBLEMS_SHOWN:
        console.print(f"  ... and {report.skipped - MAX_PROBLEMS_SHOWN} more", highlight=False)
    return 0


@_one_line_errors
def _freeze(args: argparse.Namespace) -> int:
    from rich.console import Console

    _require_pool(args)
    with _open(args, writes_namespace=False) as mem:
        digest = mem.freeze()
    Console().print(digest)
    return 0

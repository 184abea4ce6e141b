"""`seer-env pool`: stats, export, import, freeze."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("pool", help="inspect and move experience pools")
    sub = p.add_subparsers(dest="pool_command", metavar="ACTION")

    def common(sp):
        sp.add_argument("url", help="pool: SQLAlchemy URL or SQLite file path")
        sp.add_argument(
            "--namespace",
            default=None,
            help="env family, e.g. toolqa or taubench-retail ('*' = all; default: the pool's only one, "
            "else all)",
        )
        sp.add_argument(
            "--embedder",
            default=None,
            help="sentence-transformers model name/path (default: the pool's own, else the packaged MiniLM)",
        )

    s = sub.add_parser("stats", help="counts by namespace, intent, split, source; embedder; frozen")
    common(s)
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=_stats)

    e = sub.add_parser("export", help="write the pool as JSONL (or the SEER reference format)")
    common(e)
    e.add_argument("out", help="output file")
    e.add_argument("--format", choices=("jsonl", "reference"), default="jsonl")
    e.set_defaults(func=_export)

    i = sub.add_parser("import", help="add experiences from JSONL, the SEER reference format, or the seeds")
    common(i)
    i.add_argument("source", help="input file, or 'seeds' for the shipped seeds of the namespace")
    i.add_argument("--format", choices=("jsonl", "reference"), default="jsonl")
    i.add_argument("--split", default=None, help="split to record (default: each record's own, else train)")
    i.add_argument("--on-mismatch", choices=("refuse", "reembed"), default="refuse")
    i.set_defaults(func=_import)

    f = sub.add_parser("freeze", help="refuse further writes and print the pool's content hash")
    common(f)
    f.set_defaults(func=_freeze)

    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _open(args, **kw):
    from seer_env.embedding import ModelEmbedder
    from seer_env.pool import ExperienceMemory
    from seer_env.pool.store import Store
    from seer_env.pool.types import DEFAULT_NAMESPACE

    store = Store(args.url)
    stored = store.get_meta("embedder")
    present = sorted(store.group_counts("namespace"))
    store.close()
    if args.namespace is None:  # the pool's only namespace, else all of them
        args.namespace = present[0] if len(present) == 1 else "*"
    ns = args.namespace if args.namespace != "*" else (present[0] if present else DEFAULT_NAMESPACE)
    embedder = args.embedder
    if embedder is None:  # the pool's own embedder; it is loaded only if the command embeds something
        embedder = ModelEmbedder(stored) if stored else None
    return ExperienceMemory(args.url, embedder=embedder, namespace=ns, allowed_splits=None, **kw)


def _stats(args: argparse.Namespace) -> int:
    import json

    from rich.console import Console
    from rich.table import Table

    with _open(args) as mem:
        st = mem.stats()
        st["content_hash"] = mem.content_hash()
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


def _export(args: argparse.Namespace) -> int:
    from rich.console import Console

    from seer_env.pool.io import export_jsonl, export_reference

    with _open(args) as mem:
        n = (export_reference if args.format == "reference" else export_jsonl)(mem, args.out, args.namespace)
    Console().print(f"wrote {n} experiences to {args.out}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from rich.console import Console

    from seer_env.pool import PoolFrozenError
    from seer_env.pool.io import import_jsonl, import_reference

    console = Console()
    try:
        with _open(args, on_mismatch=args.on_mismatch) as mem:
            if args.source == "seeds":
                if args.namespace == "*":
                    console.print("[red]name the namespace whose seeds to import: --namespace NAME[/red]")
                    return 2
                added = mem.add_seeds(mem.namespace)
                skipped = 0
            elif args.format == "reference":
                added, skipped = import_reference(mem, args.source, split=args.split or "train")
            else:
                added, skipped = import_jsonl(mem, args.source, split=args.split)
    except PoolFrozenError as exc:
        console.print(f"[red]{exc}[/red]")
        return 1
    console.print(f"added {added}, skipped {skipped} (failed, duplicate or not allowed)")
    return 0


def _freeze(args: argparse.Namespace) -> int:
    from rich.console import Console

    with _open(args) as mem:
        digest = mem.freeze()
    Console().print(digest)
    return 0

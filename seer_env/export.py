"""`seer-env export RUN --format chat --out FILE.jsonl|FILE.parquet`: a run's episodes as a chat dataset.

Each recorded episode becomes one row (`seer_env.chat.episode_row`): OpenAI-style messages with the
reward, success, per-step `ok` flags, task, env, policy and model. The env's answer and reply tools
and its tools' schemas come from the run's manifest (`env_specs`, written by the runner). The file
loads with `datasets.load_dataset("json" | "parquet", data_files=FILE)`; docs/training.md shows it in
TRL's trainers. pyarrow (a dependency of seer-env) writes Parquet.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from seer_env.chat import ROW_COLUMNS, episode_row, tool_call_problems
from seer_env.records import MANIFEST_FILE, RESULTS_FILE, EpisodeRecord, read_episodes

log = logging.getLogger(__name__)

FORMATS = ("chat",)


def _names(value: str | Iterable[str] | None) -> set[str] | None:
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    return {v.strip() for v in items if v.strip()} or None


def env_specs(run: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Each env label's `{"info": EnvInfo, "tools": [...]}` from a run's manifest ({} if it has none)."""
    path = Path(run) / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    specs = manifest.get("env_specs")
    return specs if isinstance(specs, dict) else {}


def chat_rows(
    run: str | os.PathLike[str],
    *,
    only_success: bool = False,
    policies: str | Iterable[str] | None = None,
    envs: str | Iterable[str] | None = None,
    system: str | None = None,
) -> list[dict[str, Any]]:
    """The rows of a run's episodes (filtered by success, policy names and env labels)."""
    wanted_policies, wanted_envs = _names(policies), _names(envs)
    specs = env_specs(run)
    rows = []
    missing: set[str] = set()
    for rec in read_episodes(Path(run) / RESULTS_FILE):
        if only_success and not rec.success:
            continue
        if wanted_policies is not None and rec.policy not in wanted_policies:
            continue
        if wanted_envs is not None and rec.env_id not in wanted_envs:
            continue
        spec = specs.get(rec.env_id)
        if spec is None:
            missing.add(rec.env_id)
            spec = {}
        rows.append(_row(rec, spec, system))
    if missing:
        log.warning(
            "the manifest has no env specs for %s (a run from an older seer-env): answers and replies "
            "stay tool calls, and rows carry no tools",
            ", ".join(sorted(missing)),
        )
    return rows


def _row(rec: EpisodeRecord, spec: dict[str, Any], system: str | None) -> dict[str, Any]:
    row = episode_row(rec, info=spec.get("info") or {}, tools=spec.get("tools") or [], system=system)
    problems = tool_call_problems(row["messages"])
    if problems:  # the conversion guarantees this; a failure here is a bug, not bad data
        raise AssertionError(f"episode {rec.key}: {problems[0]}")
    return row


def arrow_schema() -> Any:
    """The Parquet schema of a chat dataset: fixed, so every file reads the same way."""
    import pyarrow as pa

    call = pa.struct(
        [
            ("id", pa.string()),
            ("type", pa.string()),
            ("function", pa.struct([("name", pa.string()), ("arguments", pa.string())])),
        ]
    )
    message = pa.struct(
        [
            ("role", pa.string()),
            ("content", pa.string()),
            ("tool_calls", pa.list_(call)),
            ("tool_call_id", pa.string()),
            ("name", pa.string()),
        ]
    )
    types = {
        "messages": pa.list_(message),
        "prompt": pa.list_(message),
        "completion": pa.list_(message),
        "tools": pa.string(),
        "reward": pa.float64(),
        "success": pa.bool_(),
        "step_ok": pa.list_(pa.bool_()),
        "task_id": pa.string(),
        "env_id": pa.string(),
        "policy": pa.string(),
        "model": pa.string(),
        "trial": pa.int64(),
        "domain": pa.string(),
        "n_steps": pa.int64(),
        "error": pa.string(),
    }
    return pa.schema([(name, types[name]) for name in ROW_COLUMNS])


def write_rows(rows: list[dict[str, Any]], out: str | os.PathLike[str]) -> Path:
    """Write rows as JSON lines (`.jsonl`, `.json`) or Parquet (`.parquet`), atomically."""
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".json", ".parquet"):
        raise ValueError(f"--out must end in .jsonl or .parquet, not {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows, schema=arrow_schema()), tmp)
    else:
        with tmp.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    os.replace(tmp, path)
    return path


def export_chat(
    run: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    only_success: bool = False,
    policies: str | Iterable[str] | None = None,
    envs: str | Iterable[str] | None = None,
    system: str | None = None,
) -> int:
    """Write a run's episodes as a chat dataset; returns the number of rows."""
    rows = chat_rows(run, only_success=only_success, policies=policies, envs=envs, system=system)
    write_rows(rows, out)
    return len(rows)


def export_command(args: Any) -> int:
    from rich.console import Console

    console = Console(stderr=True)
    run = Path(args.run)
    if not (run / RESULTS_FILE).exists():
        console.print(f"[red]error[/red]: no {RESULTS_FILE} in {run}")
        return 2
    system = args.system
    if system is not None and system.startswith("@"):
        system = Path(system[1:]).read_text(encoding="utf-8")
    try:
        n = export_chat(
            run, args.out, only_success=args.only_success, policies=args.policy, envs=args.env, system=system
        )
    except (ValueError, OSError) as exc:
        console.print(f"[red]error[/red]: {exc}")
        return 2
    console.print(f"{n} episodes written to {args.out}")
    return 0


def add_parser(subparsers: Any) -> None:
    """`seer-env export RUN --format chat --out FILE [--only-success] [--policy P] [--env E]`."""
    p = subparsers.add_parser("export", help="a run's episodes as a chat dataset (JSON lines or Parquet)")
    p.add_argument("run", help="a run directory (with results.jsonl)")
    p.add_argument("--format", choices=FORMATS, default="chat", help="chat: OpenAI-style messages")
    p.add_argument("--out", required=True, help="FILE.jsonl or FILE.parquet")
    p.add_argument("--only-success", action="store_true", help="only the episodes that succeeded")
    p.add_argument("--policy", default=None, help="only these policies (comma separated; default: all)")
    p.add_argument("--env", default=None, help="only these env labels (comma separated; default: all)")
    p.add_argument(
        "--system",
        default=None,
        help="the system message (TEXT, or @FILE to read it; default: the env's own)",
    )
    p.set_defaults(func=export_command)

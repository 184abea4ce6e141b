"""The `seer-env` command.

Each command group lives beside the code it drives; this module only assembles them. A group
module exposes `add_parser(subparsers)`, which adds its parser and sets `func(args) -> int`.
Group modules keep heavy imports inside their functions so `seer-env --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# by name: the core imports no agent, env or pool module (each is loaded only to add its commands)
COMMAND_MODULES = (
    "seer_env.agents.cli",  # run
    "seer_env.report",  # report
    "seer_env.export",  # export
    "seer_env.envs.toolqa.cli",  # data
    "seer_env.pool.cli",  # pool
    "seer_env.agents.taubench.cli",  # taubench
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seer-env",
        description="Benchmark tool-using LLM agents on ToolQA and τ-bench as Gymnasium environments.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the module exists but one of its imports is missing
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

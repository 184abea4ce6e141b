"""The `seer-env` command.

Each command group lives beside the code it drives; this module only assembles them. A group
module exposes `add_parser(subparsers)`, which adds its parser and sets `func(args) -> int`.
Group modules keep heavy imports inside their functions so `seer-env --help` stays fast. Every
parser, the groups' included, shows each option's default in its help (`HelpFormatter`).
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
    "seer_env.show",  # show
    "seer_env.catalog",  # envs
    "seer_env.envs.toolqa.cli",  # data
    "seer_env.pool.cli",  # pool
    "seer_env.agents.taubench.cli",  # taubench
)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Help with each option's default (unless its help already says it, or there is none to show),
    and descriptions and epilogs laid out as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        help_text = action.help or ""
        if (
            "default" in help_text
            or action.default in (None, argparse.SUPPRESS)
            or isinstance(action, (argparse._HelpAction, argparse._VersionAction))
        ):
            return help_text
        if not action.option_strings and action.nargs not in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return help_text
        return f"{help_text} (default: %(default)s)"


def _every_parser(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases share one parser
                yield from _every_parser(sub)


def build_parser() -> argparse.ArgumentParser:
    from seer_env import __version__

    parser = argparse.ArgumentParser(
        prog="seer-env",
        description="Benchmark tool-using LLM agents on ToolQA and τ-bench as Gymnasium environments.",
    )
    parser.add_argument("--version", action="version", version=f"seer-env {__version__}")
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
    for p in _every_parser(parser):
        p.formatter_class = HelpFormatter
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    notice = logging.getLogger("seer_env.text_models")  # its one line says a model is loading (seconds)
    if not args.verbose and not notice.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        notice.addHandler(handler)
        notice.setLevel(logging.INFO)
        notice.propagate = False
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

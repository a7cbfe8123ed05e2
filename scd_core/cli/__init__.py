"""The ``scd`` command line: one module per sub-command, each with ``add_parser`` and ``run``.

User mistakes (:class:`~scd_core.errors.ScdInputError`) print one line naming the file and exit with
code 2; a full disk (:class:`~scd_core.errors.NoSpaceError`) one line naming the file, exit 1; an
interrupted run exits with 130.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from scd_core.cpu_memory import keep_freed_memory
from scd_core.errors import NoSpaceError, ScdInputError
from scd_core.version import __version__

#: Sub-commands, in the order ``scd --help`` lists them; each is ``scd_core.cli.<name>``.
COMMANDS = (
    "evaluate", "models", "detect", "batch", "series", "score", "sample", "assess", "zones", "report", "train",
    "export", "synth",
)  # fmt: skip

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """The ``scd`` parser, each sub-command's part added by its own module."""
    parser = argparse.ArgumentParser(
        prog="scd", description="Semantic change detection for aerial and satellite imagery."
    )
    parser.add_argument("--version", action="version", version=f"scd {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"scd_core.cli.{name}")
        module.add_parser(commands).set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``scd`` with ``argv`` (default: the process's); its exit code."""
    args = build_parser().parse_args(argv)
    keep_freed_memory()  # this process is ours: let the model reuse its memory (scd_core.cpu_memory)
    try:
        return args.handler(args) or 0
    except ScdInputError as error:
        print(f"scd {args.command}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except NoSpaceError as error:
        print(f"scd {args.command}: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"scd {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())

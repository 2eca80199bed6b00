"""The ``s4`` command line. Each subcommand lives in ``s4_core.commands.<name>``."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import List, Optional

from . import __version__
from .errors import S4Error, SettingError

# Subcommand modules, in the order ``s4 --help`` lists them. Each has ``register(subparsers)``
# that adds its parser and sets ``func(args) -> int`` as the default.
COMMANDS = [
    "version",
    "fetch",
    "align",
    "pretrain",
    "finetune",
    "segment",
    "evaluate",
    "info",
    "demo_data",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s4",
        description="S4: self-supervised segmentation of Sentinel-1/-2 image time series.",
    )
    parser.add_argument("--version", action="version", version=f"s4 {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"{__package__}.commands.{name}").register(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SettingError as exc:  # the option as typed on the command line
        print(f"s4 {args.command}: error: {exc.for_command_line()}", file=sys.stderr)
        return 2
    except S4Error as exc:
        print(f"s4 {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"s4 {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

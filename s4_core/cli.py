"""The ``s4`` command line. Each subcommand lives in ``s4_core.commands.<name>``."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
import warnings
from typing import TYPE_CHECKING, Callable, List, Optional, TextIO, Tuple, Type, Union

from . import __version__
from .errors import S4Error, S4Warning, SettingError

if TYPE_CHECKING:
    from types import FrameType

# Subcommand modules, in the order ``s4 --help`` lists them (``demo_data`` is ``s4 demo-data``).
# A module's docstring is the command's help: its first line the one-line summary ``s4 --help``
# shows, the paragraphs after it the description of ``s4 CMD --help``; ``add_arguments(parser)``
# adds its options and ``run(args) -> int`` does the work.
COMMANDS = [
    "version",
    "fetch",
    "align",
    "pretrain",
    "finetune",
    "segment",
    "export_onnx",
    "evaluate",
    "info",
    "demo_data",
]


def build_parser() -> argparse.ArgumentParser:
    """The ``s4`` argument parser: one sub-command per ``s4_core.commands`` module."""
    parser = argparse.ArgumentParser(
        prog="s4",
        description="S4: self-supervised segmentation of Sentinel-1/-2 image time series.",
    )
    parser.add_argument("--version", action="version", version=f"s4 {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"{__package__}.commands.{name}")
        summary, description = _help_texts(module.__doc__ or "")
        command = sub.add_parser(
            name.replace("_", "-"), help=summary, description=description or None
        )
        module.add_arguments(command)
        command.set_defaults(func=module.run)
        _annotate_help(command)
    return parser


def _help_texts(docstring: str) -> Tuple[str, str]:
    """A command module's docstring as (one-line help, description).

    Args:
        docstring: the summary sentence, then optionally a blank line and the description.

    Returns:
        The summary in ``s4 --help``'s style (lower-case start, no final period) and the
        description (argparse re-wraps it).
    """
    summary, _, description = docstring.strip().partition("\n\n")
    summary = " ".join(summary.split()).rstrip(".")
    return summary[:1].lower() + summary[1:], description.strip()


def _annotate_help(parser: argparse.ArgumentParser) -> None:
    """Make the options not built from ``settings.py`` show their default in ``--help``.

    Options built from ``settings.py`` say their range and default themselves; so ``s4 CMD --help``
    says what any value may be.
    """
    for action in parser._actions:  # argparse keeps no public list of a parser's actions
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        default = action.default
        if isinstance(default, bool):  # a switch (--no-contrastive): its help says what it does
            continue
        if default not in (None, argparse.SUPPRESS) and "default" not in (action.help or ""):
            shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else default
            action.help = f"{action.help or ''} (default {shown})".strip()


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that the engine's cleanup runs as for Ctrl-C.

    ``finally`` and ``except BaseException`` blocks run: temporary files are removed.
    """


def _raise_terminated(signum: int, frame: Optional[FrameType]) -> None:
    raise Terminated()


def _warning_printer(command: str) -> Callable[..., None]:
    """A ``warnings.showwarning`` printing engine warnings as ``s4 CMD: warning: ...``.

    No file name or source line; other warnings keep Python's format.
    """
    default = warnings.showwarning

    def show(
        message: Union[Warning, str],
        category: Type[Warning],
        filename: str,
        lineno: int,
        file: Optional[TextIO] = None,
        line: Optional[str] = None,
    ) -> None:
        if issubclass(category, S4Warning):
            print(f"s4 {command}: warning: {message}", file=sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)

    return show


def main(argv: Optional[List[str]] = None) -> int:
    """Run the ``s4`` command line with ``argv`` (default: ``sys.argv[1:]``); the exit status."""
    args = build_parser().parse_args(argv)
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default", S4Warning)
            warnings.showwarning = _warning_printer(args.command)
            return _run(args)
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _run(args: argparse.Namespace) -> int:
    from .commands.common import other_rank

    name = args.command
    if other_rank():  # a distributed run's other processes say which one they are
        name = f"{args.command} (rank {os.environ.get('RANK')})"
    try:
        return int(args.func(args) or 0)
    except SettingError as exc:  # the option as typed on the command line
        print(f"s4 {name}: error: {exc.for_command_line()}", file=sys.stderr)
        return 2
    except S4Error as exc:
        note = getattr(exc, "s4_note", "")
        print(f"s4 {name}: error: {exc}" + (f"; {note}" if note else ""), file=sys.stderr)
        return 2
    except OSError as exc:  # the environment (disk full, permissions), not a bug in S4
        print(f"s4 {name}: error: {exc}", file=sys.stderr)
        return 1
    except Terminated as exc:
        note = getattr(exc, "s4_note", "")
        print(
            f"s4 {name}: terminated (SIGTERM); temporary files removed"
            + (f"; {note}" if note else ""),
            file=sys.stderr,
        )
        return 143
    except KeyboardInterrupt as exc:
        note = getattr(exc, "s4_note", "")
        print(
            f"s4 {name}: interrupted (Ctrl-C); temporary files removed"
            + (f"; {note}" if note else ""),
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())

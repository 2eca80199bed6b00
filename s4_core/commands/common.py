"""Helpers shared by the subcommands.

Tqdm progress, options built from ``settings.py``, printing results.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar, Union, overload

from tqdm import tqdm

from ..results import Result
from ..settings import OPERATIONS, SECTIONS, Operation, Setting

R = TypeVar("R", bound=Result)


def other_rank() -> bool:
    """Whether this is a process of a distributed run other than rank 0.

    torchrun sets ``WORLD_SIZE`` and ``RANK``; such a process shows no progress and prints no
    result.
    """
    return int(os.environ.get("WORLD_SIZE", "1") or 1) > 1 and os.environ.get("RANK", "0") != "0"


class TqdmProgress:
    """An engine ``progress(fraction, message, metrics)`` callback drawing a tqdm bar.

    None in a distributed run's processes other than rank 0.
    """

    def __init__(self, desc: str, disable: bool = False) -> None:
        self.other_rank = other_rank()
        self.bar = tqdm(
            total=1000,
            desc=desc,
            disable=disable or self.other_rank,
            unit="‰",
            leave=True,
            file=sys.stderr,
        )
        self.steps: list = []  # (fraction, metrics) of every report with metrics (--plot)

    def __call__(self, fraction: float, message: str, metrics: Optional[dict] = None) -> None:
        """Move the bar to ``fraction`` and show ``message`` and ``metrics``."""
        if metrics:
            self.steps.append((float(fraction), dict(metrics)))
        self.bar.n = int(round(1000 * min(1.0, max(0.0, fraction))))
        post = {k: f"{v:.4g}" for k, v in (metrics or {}).items() if isinstance(v, (int, float))}
        self.bar.set_description_str(message[:60])
        self.bar.set_postfix(post, refresh=False)
        self.bar.refresh()

    def log(self, message: str) -> None:
        """Print a message above the bar, on stderr (stdout stays clean for ``--json``).

        Rank 0 only in a distributed run.
        """
        if self.other_rank:
            return
        self.bar.write(message, file=sys.stderr)

    def close(self) -> None:
        """Close the bar."""
        self.bar.close()

    def __enter__(self) -> TqdmProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def option_help(setting: Setting) -> str:
    """A setting's command-line help: its text, then its allowed range and its default."""
    extra = []
    if setting.kind in ("int", "float", "ints"):
        extra.append(setting.describe())
    default = setting.default
    if default is not None and setting.kind != "bool":
        extra.append(
            "default " + (" ".join(map(str, default)) if setting.kind == "ints" else str(default))
        )
    return f"{setting.help} ({'; '.join(extra)})".strip() if extra else setting.help


def add_settings(parser: argparse.ArgumentParser, operation: Operation) -> None:
    """One option per command-line setting of ``operation`` (``settings.py``).

    Flag, type, default, choices, help with range and default; ``dest`` is the api name.
    """
    groups: Dict[str, Any] = {}
    for s in operation:
        if not s.cli:
            continue
        target: Any = parser
        if s.section:
            if s.section not in groups:
                groups[s.section] = parser.add_argument_group(SECTIONS[s.section])
            target = groups[s.section]
        kwargs: Dict[str, Any] = {"dest": s.name, "help": option_help(s)}
        if s.kind == "bool":
            kwargs["action"] = "store_false" if s.default else "store_true"
        else:
            kwargs["type"] = {"int": int, "float": float, "ints": int}.get(s.kind, str)
            kwargs["default"] = list(s.default) if s.kind == "ints" else s.default
            if s.kind == "ints":
                kwargs["nargs"] = "+"
            if s.choices:
                kwargs["choices"] = list(s.choices)
            if s.metavar:
                kwargs["metavar"] = s.metavar
        target.add_argument(s.cli_flag, **kwargs)


def settings_from(
    args: argparse.Namespace, operation: Operation, api_only: bool = True
) -> Dict[str, Any]:
    """The settings of ``operation`` as parsed by ``add_settings``, by api name.

    Args:
        args: the parsed command line.
        operation: the operation whose settings ``add_settings`` added.
        api_only: only the settings the api takes (else every command-line setting).

    Returns:
        The settings' values by name.
    """
    return {s.name: getattr(args, s.name) for s in operation if s.cli and (s.api or not api_only)}


@overload
def sources(values: None) -> None: ...


@overload
def sources(values: Sequence[str]) -> Union[str, List[str]]: ...


def sources(values: Optional[Sequence[str]]) -> Union[None, str, List[str]]:
    """What the engine takes as ``Sources`` from a ``nargs="+"`` option.

    None, one path (a folder, stack or file) or the list of files.
    """
    if values is None:
        return None
    return values[0] if len(values) == 1 else list(values)


def add_output_args(p: argparse.ArgumentParser) -> None:
    """--json and --quiet."""
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_plot_arg(p: argparse.ArgumentParser) -> None:
    """``--plot FILE``: the training curves as a figure (.png, .svg or .pdf)."""
    p.add_argument(
        "--plot",
        default=None,
        metavar="FILE",
        help="also write the training curves (loss, validation scores; per step and per "
        "epoch) to FILE (.png, .svg or .pdf; needs matplotlib)",
    )


def check_plot(args: argparse.Namespace, inputs: dict) -> None:
    """Refuse a bad --plot path before the training starts."""
    if getattr(args, "plot", None):
        from ..figures import check_figure_path
        from ..validate import check_outputs

        check_figure_path(args.plot, "--plot")
        check_outputs({"--plot figure": args.plot, "--out model": args.out}, inputs)


def write_plot(args: argparse.Namespace, result: dict, steps: list, title: str) -> Optional[str]:
    """Write the curves of ``result["history"]`` and the recorded ``steps`` at ``args.plot``.

    By rank 0 alone in a distributed run.
    """
    if not getattr(args, "plot", None) or other_rank():
        return None
    from ..figures import curves_figure, save_figure

    fig = curves_figure(result.get("history") or [], steps=steps, title=title)
    return str(save_figure(fig, args.plot))


def add_training_args(p: argparse.ArgumentParser, operation: Operation) -> None:
    """The options every training command has after its inputs.

    ``operation``'s settings, ``--json``, ``--quiet`` and ``--plot``.
    """
    add_settings(p, operation)
    add_output_args(p)
    add_plot_arg(p)


def run_training(
    args: argparse.Namespace,
    train: Callable[..., R],
    *inputs: Any,
    checked: Dict[str, Any],
    title: str,
) -> Tuple[R, Optional[str]]:
    """Run a training command under a distributed session, with a progress bar.

    Checks ``--plot``, calls ``train`` (one process of a torchrun run; ``distributed.py``) with the
    command's settings, then writes ``--plot``.

    Args:
        args: the parsed options; ``args.command`` names the operation in ``settings.py``.
        train: the api function (``api.pretrain``, ``api.finetune``).
        *inputs: its positional arguments before ``args.out``.
        checked: the inputs ``--plot`` must not overwrite, by what they are.
        title: what the figure's title says before the model path ("fine-tuning").

    Returns:
        The api's result and the figure written (None without ``--plot``).
    """
    from .. import distributed

    check_plot(args, checked)
    with distributed.session(args.device), TqdmProgress(args.command, disable=args.quiet) as bar:
        result = train(
            *inputs,
            args.out,
            progress=bar,
            log=bar.log,
            **settings_from(args, OPERATIONS[args.command]),
        )
    return result, write_plot(args, result, bar.steps, f"{title} {args.out}")


def print_trained(
    args: argparse.Namespace, result: Result, plot: Optional[str], lines: list
) -> None:
    """A training command's result: the model written, ``lines``, the curves figure."""
    wrote = f"wrote {result['path']} ({result['seconds']:.0f} s on {result['device']})"
    curves = [f"training curves: {plot}"] if plot else []
    print_result(result, args.json, [wrote, *lines, *curves])


def print_result(result: Result, as_json: bool, lines: list) -> None:
    """Print ``result`` as JSON (``Result.to_json``), or the human-readable ``lines`` (rank 0)."""
    if other_rank():
        return
    if as_json:
        print(result.to_json())
    else:
        for line in lines:
            print(line)

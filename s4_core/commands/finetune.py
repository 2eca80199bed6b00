"""``s4 finetune``: fine-tune on labelled polygons for S1-only or S2-only inference."""

from __future__ import annotations

import argparse

from ..settings import FINETUNE
from .common import (
    TqdmProgress,
    add_output_args,
    add_plot_arg,
    add_settings,
    check_plot,
    print_result,
    settings_from,
    write_plot,
)


def register(sub) -> None:
    p = sub.add_parser(
        "finetune",
        help="fine-tune on labelled polygons (from a pretrained checkpoint or from scratch)",
    )
    p.add_argument("--s1", nargs="+", default=None, help="S1 folder, stack or files")
    p.add_argument("--s2", nargs="+", default=None, help="S2 folder, stack or files")
    p.add_argument("--labels", required=True, help="polygon layer (GeoPackage, shapefile, ...)")
    p.add_argument("--class-field", required=True, help="field holding the class (text or integer)")
    p.add_argument("--out", required=True, help="checkpoint to write (.pt)")
    add_settings(p, FINETUNE)
    add_output_args(p)
    add_plot_arg(p)
    p.set_defaults(func=run)


def _sources(values):
    if values is None:
        return None
    return values[0] if len(values) == 1 else values


def run(args: argparse.Namespace) -> int:
    from .. import api, distributed

    check_plot(
        args, {"labels": args.labels, "Sentinel-1 input": args.s1, "Sentinel-2 input": args.s2}
    )
    # under torchrun: one process of a distributed run (distributed.py; --head unet)
    with distributed.session(args.device), TqdmProgress("finetune", disable=args.quiet) as bar:
        result = api.finetune(
            _sources(args.s1),
            _sources(args.s2),
            args.labels,
            args.class_field,
            args.out,
            progress=bar,
            log=bar.log,
            **settings_from(args, FINETUNE),
        )
    m = result["metrics"]
    plot = write_plot(args, result, bar.steps, f"fine-tuning {args.out}")
    if not result.get("written", True):
        return _nothing_written(args, result)
    print_result(
        result,
        args.json,
        [
            f"wrote {result['path']} ({result['seconds']:.0f} s on {result['device']})",
            f"classes: {', '.join(result['classes'])}",
            "best epoch: " + ", ".join(f"{k} {v:.4g}" for k, v in m.items()),
        ]
        + ([f"training curves: {plot}"] if plot else []),
    )
    return 0


def _nothing_written(args: argparse.Namespace, result: dict) -> int:
    """No epoch of a resumed run beat the resumed checkpoint: say so (not "wrote"). Exit 0 when
    ``--out`` is the resumed checkpoint (it stays the best model), else 1 (no ``--out``)."""
    import os
    import sys

    from .common import other_rank

    same = os.path.exists(args.out) and os.path.samefile(args.out, args.resume)
    if other_rank():  # a distributed run: rank 0 says it
        return 0 if same else 1
    best = ", ".join(f"{k} {v:.4g}" for k, v in result["metrics"].items() if k != "epoch")
    where = (
        f"{args.out} is unchanged"
        if same
        else f"nothing was written to {args.out}; use {args.resume} as the model"
    )
    print(
        f"s4 finetune: no epoch beat the resumed checkpoint {args.resume} ({best}): {where}",
        file=sys.stderr,
    )
    if args.json:
        print_result(result, True, [])
    return 0 if same else 1

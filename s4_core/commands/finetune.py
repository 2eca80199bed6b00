"""Fine-tune on labelled polygons (from a pretrained checkpoint or from scratch).

The model maps from S1, S2, or both together (--modality both).
"""

from __future__ import annotations

import argparse

from ..results import FinetuneResult
from ..settings import FINETUNE
from .common import add_training_args, print_result, print_trained, run_training, sources


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``s4 finetune``."""
    p.add_argument("--s1", nargs="+", default=None, help="S1 folder, stack or files")
    p.add_argument("--s2", nargs="+", default=None, help="S2 folder, stack or files")
    p.add_argument("--labels", required=True, help="polygon layer (GeoPackage, shapefile, ...)")
    p.add_argument("--class-field", required=True, help="field holding the class (text or integer)")
    p.add_argument("--out", required=True, help="checkpoint to write (.pt)")
    add_training_args(p, FINETUNE)


def run(args: argparse.Namespace) -> int:
    """Run ``s4 finetune`` with the parsed ``args``; the exit status."""
    """Fine-tune (one process of a distributed run under torchrun; ``--head unet``)."""
    from .. import api

    result, plot = run_training(
        args,
        api.finetune,
        sources(args.s1),
        sources(args.s2),
        args.labels,
        args.class_field,
        checked={"labels": args.labels, "Sentinel-1 input": args.s1, "Sentinel-2 input": args.s2},
        title="fine-tuning",
    )
    if not result.written:
        return _nothing_written(args, result)
    print_trained(
        args,
        result,
        plot,
        [
            f"classes: {', '.join(result['classes'])}",
            "best epoch: " + ", ".join(f"{k} {v:.4g}" for k, v in result["metrics"].items()),
        ],
    )
    return 0


def _nothing_written(args: argparse.Namespace, result: FinetuneResult) -> int:
    """Report that no epoch of a resumed run beat the resumed checkpoint.

    Says so (not "wrote"). Exit 0 when ``--out`` is the resumed checkpoint (it stays the best
    model), else 1 (no ``--out``).
    """
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

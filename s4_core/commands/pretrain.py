"""Self-supervised pretraining on S1 + S2, or S1 / S2 alone (no labels).

Pretrain the S4 network without labels. Repeat --s1/--s2 for several areas. The model is written
to --out when the run ends; until then the last epoch is in OUT.partial (give it to --resume to
continue an interrupted run).
"""

from __future__ import annotations

import argparse
from typing import List, Optional, Sequence, Union

from ..settings import PRETRAIN
from ..types import Sources
from .common import add_training_args, print_trained, run_training


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``s4 pretrain``."""
    p.add_argument("--s1", action="append", default=None, help="S1 folder/stack (repeatable)")
    p.add_argument("--s2", action="append", default=None, help="S2 folder/stack (repeatable)")
    p.add_argument("--out", required=True, help="checkpoint to write (.pt)")
    add_training_args(p, PRETRAIN)


def run(args: argparse.Namespace) -> int:
    """Run ``s4 pretrain`` with the parsed ``args``; the exit status."""
    from .. import api

    if args.objective in ("mae", "dino"):  # one modality: the other series is not needed
        if not (args.s1 if args.ssl_modality == "s1" else args.s2):
            raise SystemExit(
                f"s4 pretrain: --objective {args.objective} --ssl-modality {args.ssl_modality} "
                f"needs --{args.ssl_modality}"
            )
    elif not args.s1 or not args.s2:
        raise SystemExit(f"s4 pretrain: --objective {args.objective} needs --s1 and --s2")
    elif len(args.s1) != len(args.s2):
        raise SystemExit("s4 pretrain: give --s1 and --s2 in pairs (one of each per area)")
    result, plot = run_training(
        args,
        api.pretrain,
        _sources(args.s1),
        _sources(args.s2),
        checked={"Sentinel-1 input": args.s1 or [], "Sentinel-2 input": args.s2 or []},
        title="pretraining",
    )
    last = result["history"][-1] if result["history"] else {}
    print_trained(
        args,
        result,
        plot,
        ["last epoch: " + ", ".join(f"{k} {v:.4f}" for k, v in last.items() if k != "epoch")],
    )
    return 0


def _sources(values: Optional[Sequence[str]]) -> Union[None, Sources, List[Sources]]:
    """One series (a folder/stack) or, repeated, one series per area."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    per_area: List[Sources] = [[x] if not _is_dir(x) else x for x in values]
    return per_area


def _is_dir(path: str) -> bool:
    from pathlib import Path

    return Path(path).is_dir()

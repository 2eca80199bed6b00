"""``s4 finetune``: fine-tune on labelled polygons for S1-only or S2-only inference."""

from __future__ import annotations

import argparse

from .common import TqdmProgress, add_common_training_args, print_result


def register(sub) -> None:
    p = sub.add_parser(
        "finetune",
        help="fine-tune on labelled polygons (from a pretrained checkpoint or from scratch)",
    )
    p.add_argument("--s1", nargs="+", default=None, help="S1 folder, stack or files")
    p.add_argument("--s2", nargs="+", default=None, help="S2 folder, stack or files")
    p.add_argument("--labels", required=True, help="polygon layer (GeoPackage, shapefile, ...)")
    p.add_argument("--labels-layer", default=None, help="layer name inside --labels")
    p.add_argument("--class-field", required=True, help="field holding the class (text or integer)")
    p.add_argument("--modality", choices=["s1", "s2"], default="s2", help="inference modality")
    p.add_argument("--init", default=None, help="pretrained checkpoint (default: from scratch)")
    p.add_argument("--out", required=True, help="checkpoint to write (.pt)")
    p.add_argument(
        "--head",
        choices=["pixel", "unet"],
        default="pixel",
        help="pixel (default): frozen network, per-pixel MLP ensemble on the series and the "
        "network's features, edge-aware smoothing; unet: the paper's 3D U-Net fine-tuning "
        "(--epochs, --lr, --freeze-encoder and the regularisers apply to it)",
    )
    p.add_argument(
        "--composite-months",
        type=int,
        default=None,
        help="monthly (1) or n-month cloud-free composites as input, 0 = the acquisitions as "
        "they are (default: as the --init model was pretrained; 1 without one)",
    )
    p.add_argument(
        "--resolution",
        type=float,
        default=None,
        help="map pixel size in CRS units (default: the imagery's grid)",
    )
    p.add_argument(
        "--freeze-encoder", action="store_true", help="unet head: train the decoder only"
    )
    p.add_argument("--val-fraction", type=float, default=0.2, help="held-out polygons per class")
    p.add_argument(
        "--class-weighting",
        choices=["none", "balanced"],
        default="none",
        help="none (default): plain loss; balanced: inverse class frequency",
    )
    p.add_argument("--lr", type=float, default=1e-3)
    reg = p.add_argument_group("regularisation for very few polygons (all off by default)")
    reg.add_argument(
        "--crops-per-epoch",
        type=int,
        default=None,
        help="random class-balanced crops per epoch instead of the fixed windows over the labels",
    )
    reg.add_argument(
        "--frame-dropout", type=float, default=0.0, help="chance of hiding a date in a crop"
    )
    reg.add_argument("--noise-std", type=float, default=0.0, help="band noise (standardised)")
    reg.add_argument(
        "--band-shift-std", type=float, default=0.0, help="one random offset per band and crop"
    )
    reg.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay")
    add_common_training_args(p, epochs=20)
    p.set_defaults(func=run)


def _sources(values):
    if values is None:
        return None
    return values[0] if len(values) == 1 else values


def run(args: argparse.Namespace) -> int:
    from .. import api

    with TqdmProgress("finetune", disable=args.quiet) as bar:
        result = api.finetune(
            _sources(args.s1),
            _sources(args.s2),
            args.labels,
            args.class_field,
            args.out,
            modality=args.modality,
            init=args.init,
            epochs=args.epochs,
            crop_size=args.crop_size,
            batch_size=args.batch_size,
            time_length=args.time_length,
            lr=args.lr,
            freeze_encoder=args.freeze_encoder,
            val_fraction=args.val_fraction,
            class_weighting=args.class_weighting,
            max_cloud_fraction=args.max_cloud,
            labels_layer=args.labels_layer,
            widths=args.widths,
            crops_per_epoch=args.crops_per_epoch,
            frame_dropout=args.frame_dropout,
            noise_std=args.noise_std,
            band_shift_std=args.band_shift_std,
            weight_decay=args.weight_decay,
            head=args.head,
            composite_months=args.composite_months,
            resolution=args.resolution,
            device=args.device,
            seed=args.seed,
            resume=args.resume,
            progress=bar,
            log=bar.log,
        )
    m = result["metrics"]
    if not result.get("written", True):
        return _nothing_written(args, result)
    print_result(
        result,
        args.json,
        [
            f"wrote {result['path']} ({result['seconds']:.0f} s on {result['device']})",
            f"classes: {', '.join(result['classes'])}",
            "best epoch: " + ", ".join(f"{k} {v:.4g}" for k, v in m.items()),
        ],
    )
    return 0


def _nothing_written(args: argparse.Namespace, result: dict) -> int:
    """No epoch of a resumed run beat the resumed checkpoint: say so (not "wrote"). Exit 0 when
    ``--out`` is the resumed checkpoint (it stays the best model), else 1 (no ``--out``)."""
    import os
    import sys

    best = ", ".join(f"{k} {v:.4g}" for k, v in result["metrics"].items() if k != "epoch")
    same = os.path.exists(args.out) and os.path.samefile(args.out, args.resume)
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

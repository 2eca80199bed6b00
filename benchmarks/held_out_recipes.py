"""Fine-tuning recipes on real data: overall accuracy on never-seen parcels vs the majority class.

Data: ``../shared/data/worldcereal/flanders_2018`` (see its README). Per seed, about half of the
parcels of each class with >= 2 parcels are held out (``benchmarks/few_labels.py``'s split with
``--test-fraction`` and every remaining parcel used for training); the model is fine-tuned for
S2-only inference on the 2018 S2 acquisitions with cloud fraction <= 0.3, maps the scene with
``api.segment`` and is scored with ``api.evaluate`` on the held-out parcels. The reference is
the majority class of the held-out pixels (what "predict the commonest class" scores).

Recipes (fine-tuning settings, everything else equal):
- ``scratch/balanced``: random initialisation, all layers trained, balanced class weights
  (the engine defaults);
- ``scratch/none``: the same with an unweighted loss;
- ``s4/balanced``: from the S4-pretrained checkpoint, all layers trained, balanced weights;
- ``s4-frozen/balanced``: from S4, encoder frozen, balanced weights;
- ``s4-frozen/none``: from S4, encoder frozen, unweighted loss.
S4 pretraining runs once (seed 0) on the 2018 S1 + S2 series of the same area (no labels).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/held_out_recipes.py --seeds 4

Prints one line per run and a summary table (Markdown) of OA minus majority per recipe.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from few_labels import (  # noqa: E402
    CLASS_FIELD,
    DEFAULT_DATA,
    read_parcels,
    split_parcels,
    write_parcels,
)

RECIPES = {
    "scratch/balanced": dict(init=False, freeze_encoder=False, class_weighting="balanced"),
    "scratch/none": dict(init=False, freeze_encoder=False, class_weighting="none"),
    "s4/balanced": dict(init=True, freeze_encoder=False, class_weighting="balanced"),
    "s4-frozen/balanced": dict(init=True, freeze_encoder=True, class_weighting="balanced"),
    "s4-frozen/none": dict(init=True, freeze_encoder=True, class_weighting="none"),
}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=None, help="shared data folder (../shared/data)")
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    p.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64])
    p.add_argument("--pretrain-epochs", type=int, default=30)
    p.add_argument("--finetune-epochs", type=int, default=25)
    p.add_argument("--test-fraction", type=float, default=0.5)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    if args.data is None:
        args.data = Path(os.environ.get("S4_REAL_DATA") or DEFAULT_DATA)
    return args


def majority(scores: dict) -> float:
    """Share of the reference pixels in their commonest class (``api.evaluate`` scores)."""
    support = np.asarray(scores["confusion_matrix"]).sum(axis=1)
    return float(support.max() / support.sum())


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    import torch

    from s4_core import api

    torch.set_num_threads(args.threads)
    area = args.data / "worldcereal" / "flanders_2018"
    if not area.is_dir():
        print(f"error: {area} not found: pass --data or set S4_REAL_DATA", file=sys.stderr)
        return 2
    s2 = sorted(str(p) for p in (area / "S2").glob("S2_L2A_2018*.tif"))
    s1 = sorted(str(p) for p in (area / "S1").glob("S1_GRD_ASC_2018*.tif"))
    meta, feats = read_parcels(area / "labels" / "parcels.gpkg")
    results: Dict[str, List[float]] = {name: [] for name in args.recipes}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="s4_recipes_") as tmp:
        tmp = Path(tmp)
        pre = tmp / "pre.pt"
        if any(RECIPES[name]["init"] for name in args.recipes):
            t0 = time.perf_counter()
            h = api.pretrain(
                s1, s2, pre, epochs=args.pretrain_epochs, max_cloud_fraction=0.3,
                widths=args.widths, device=args.device, seed=0,
            )["history"]  # fmt: skip
            print(
                f"pretraining: {time.perf_counter() - t0:.0f} s, retrieval accuracy "
                f"{h[0]['accuracy']:.3f} -> {h[-1]['accuracy']:.3f}",
                flush=True,
            )
        for seed in range(args.seeds):
            test, train = split_parcels(feats, seed, args.test_fraction, [len(feats)])
            train_gpkg = write_parcels(tmp / f"train{seed}.gpkg", meta, train[len(feats)])
            test_gpkg = write_parcels(tmp / f"test{seed}.gpkg", meta, test)
            for name in args.recipes:
                recipe = RECIPES[name]
                t0 = time.perf_counter()
                model, pred = tmp / f"{seed}_{name.replace('/', '_')}.pt", tmp / "pred.tif"
                api.finetune(
                    None, s2, train_gpkg, CLASS_FIELD, model, modality="s2",
                    init=pre if recipe["init"] else None, epochs=args.finetune_epochs,
                    crop_size=32, batch_size=2, max_cloud_fraction=0.3, val_fraction=0.0,
                    freeze_encoder=recipe["freeze_encoder"],
                    class_weighting=recipe["class_weighting"], widths=args.widths,
                    device=args.device, seed=seed,
                )  # fmt: skip
                api.segment(model, pred, s2=s2, max_cloud_fraction=0.3, device=args.device)
                scores = api.evaluate(pred, test_gpkg, class_field=CLASS_FIELD)
                oa, maj = float(scores["oa"]), majority(scores)
                results[name].append(oa - maj)
                print(
                    f"seed {seed} {name:20s} OA {oa:.3f} majority {maj:.3f} "
                    f"margin {oa - maj:+.3f} ({time.perf_counter() - t0:.0f} s)",
                    flush=True,
                )
    print(f"\n{args.seeds} held-out splits, {time.perf_counter() - start:.0f} s in all\n")
    print("| recipe | OA - majority, per split | mean | splits above majority |")
    print("|---|---|---:|---:|")
    for name, margins in results.items():
        per = " / ".join(f"{m:+.3f}" for m in margins)
        above = sum(m > 0 for m in margins)
        print(f"| {name} | {per} | {np.mean(margins):+.3f} | {above} of {len(margins)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

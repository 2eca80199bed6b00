"""Benchmark: what bf16 mapping (``s4 segment --precision bf16``) changes against fp32.

For each site, a model is made with the default recipe (``api.pretrain`` then
``api.finetune`` with every setting at its default: monthly composites, the frozen network and
the per-pixel head), then the whole scene is mapped twice with the same model: ``precision
fp32`` (the default, exact) and ``bf16`` (CPUs with AVX512-BF16 / AMX). Printed per site:
class-map agreement (% of mapped pixels with the same class), probability error (max and mean
absolute difference), and both maps' overall accuracy / mIoU against the reference labels.
``--unet`` also fine-tunes the paper's 3D U-Net head (``head="unet"``) and compares it the
same way. Nothing is asserted.

Sites: the synthetic demo scene (``s4_core.demo``, 128 px, 24 S2 / 30 S1 dates; labels = all
its parcels) and, when ``../shared/data`` is there, the real flanders_2018 site (labels =
``labels/parcels.gpkg``).

    .venv/bin/python benchmarks/inference_precision.py
    .venv/bin/python benchmarks/inference_precision.py --sites demo --unet
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from s4_core import api  # noqa: E402
from s4_core.backends import bf16_supported  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "worldcereal"


def site_inputs(name: str, tmp: Path) -> Tuple[Path, Path, Path, str, Path]:
    """(S1 folder, S2 folder, label polygons, class field, reference for evaluation)."""
    if name == "demo":
        from s4_core.demo import make_demo_scene

        scene = make_demo_scene(tmp / "demo")
        return scene.s1_dir, scene.s2_dir, scene.parcels, scene.class_field, scene.parcels
    root = DATA / name
    if not root.is_dir():
        raise SystemExit(f"{root} not found: the real data lives in ../shared/data")
    parcels = root / "labels" / "parcels.gpkg"
    return root / "S1", root / "S2", parcels, "crop_name", parcels


def read_pair(a: Path, b: Path) -> Tuple[np.ndarray, np.ndarray]:
    import rasterio

    with rasterio.open(a) as da, rasterio.open(b) as db:
        return da.read(), db.read()


def compare(site: str, head: str, s2: Path, model: Path, ref: Path, field: str, tmp: Path) -> Dict:
    """Map with fp32 and bf16; agreement, probability error and accuracies."""
    out: Dict[str, Dict] = {}
    for precision in ("fp32", "bf16"):
        d = tmp / f"{site}_{head}_{precision}"
        d.mkdir()
        t = time.perf_counter()
        res = api.segment(
            model, d / "classes.tif", s2=str(s2), probabilities_out=d / "probs.tif",
            device="cpu", precision=precision,
        )  # fmt: skip
        seconds = time.perf_counter() - t
        scores = api.evaluate(d / "classes.tif", ref, class_field=field)
        out[precision] = {"dir": d, "seconds": seconds, "scores": scores, "res": res}
    c32, c16 = read_pair(out["fp32"]["dir"] / "classes.tif", out["bf16"]["dir"] / "classes.tif")
    p32, p16 = read_pair(out["fp32"]["dir"] / "probs.tif", out["bf16"]["dir"] / "probs.tif")
    mapped = c32[0] != 255
    err = np.abs(p32[:, mapped] - p16[:, mapped])
    row = {
        "site": site,
        "head": head,
        "pixels": int(mapped.sum()),
        "agreement_pct": round(100.0 * float((c32[0] == c16[0])[mapped].mean()), 3),
        "pixels_changed": int((c32[0] != c16[0])[mapped].sum()),
        "prob_err_max": float(f"{err.max():.2e}"),
        "prob_err_mean": float(f"{err.mean():.2e}"),
    }
    for precision in ("fp32", "bf16"):
        s = out[precision]["scores"]
        row[f"oa_{precision}"] = round(float(s["oa"]), 4)
        row[f"miou_{precision}"] = round(float(s["miou"]), 4)
        row[f"seconds_{precision}"] = round(out[precision]["seconds"], 1)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sites", nargs="+", default=["demo", "flanders_2018"])
    ap.add_argument("--unet", action="store_true", help="also the paper's 3D U-Net head")
    ap.add_argument(
        "--pretrain-epochs", type=int, default=None, help="default: the engine's default (10)"
    )
    args = ap.parse_args()
    print(f"native bf16 on this CPU: {bf16_supported()}")
    rows: List[Dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for site in args.sites:
            s1, s2, labels, field, ref = site_inputs(site, tmp)
            t = time.perf_counter()
            pre = tmp / f"{site}_pretrained.pt"
            extra = {} if args.pretrain_epochs is None else {"epochs": args.pretrain_epochs}
            api.pretrain(str(s1), str(s2), pre, device="cpu", **extra)
            print(f"{site}: pretrained in {time.perf_counter() - t:.0f} s ({extra or 'defaults'})")
            heads = ["pixel"] + (["unet"] if args.unet else [])
            for head in heads:
                model = tmp / f"{site}_{head}.pt"
                api.finetune(None, str(s2), labels, field, model, init=pre, head=head, device="cpu")
                row = compare(site, head, s2, model, ref, field, tmp)
                rows.append(row)
                print(json.dumps(row))
                sys.stdout.flush()


if __name__ == "__main__":
    main()

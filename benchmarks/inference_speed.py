"""Benchmark: tiled segmentation speed, and tiled vs whole-scene agreement.

Generates the synthetic demo scene (``s4_core.demo``, ``--size`` px, ``--frames`` S2 dates)
into a temporary folder, builds a fine-tuned checkpoint with random weights of the reference
network (widths 32-64-128 by default: ~1.55 M parameters, receptive-field radius 27 px), and
runs ``segment_scene`` for each ``--tile-size`` x ``--batch-size`` combination. Prints, per
run: windows, seconds, megapixels per second, the share of time spent reading/normalising
windows, peak resident memory, and the fraction of pixels whose class differs from the run
with the largest tile (a whole-scene run when that tile covers the scene) and the largest
difference of a class probability from that run.

    .venv/bin/python benchmarks/inference_speed.py                      # 128 px, 16 dates
    .venv/bin/python benchmarks/inference_speed.py --size 512 --frames 32 --tile-size 128 256 \\
        --overlap 32 64 --batch-size 1 4 --device cuda
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from s4_core import inference as inf  # noqa: E402
from s4_core.align import build_scene  # noqa: E402
from s4_core.demo import make_demo_scene  # noqa: E402
from s4_core.device import resolve_device  # noqa: E402
from s4_core.labels import ClassMap  # noqa: E402
from s4_core.model import NetConfig, S4Net  # noqa: E402
from s4_core.normalize import BandStats, compute_band_stats  # noqa: E402
from s4_core.series import open_series  # noqa: E402


def checkpoint(scene, widths, n_classes: int, frames: int) -> dict:
    bands = list(scene.s2.band_names)
    cfg = NetConfig(s1_channels=2, s2_channels=len(bands), widths=widths, num_classes=n_classes)
    torch.manual_seed(0)
    model = S4Net(cfg).eval()
    return {
        "kind": "finetuned",
        "net_config": cfg.to_dict(),
        "state_dict": model.state_dict(),
        "modality": "s2",
        "bands": {"s2": bands},
        "band_stats": {"s2": compute_band_stats(scene, "s2").to_dict()},
        "time": {"length": frames, "mode": "even"},
        "classes": ClassMap.from_names([f"class {i}" for i in range(n_classes)]).to_dict(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", type=int, default=128, help="scene side in px")
    ap.add_argument("--frames", type=int, default=16, help="S2 dates (all used)")
    ap.add_argument("--tile-size", type=int, nargs="+", default=[64, 128])
    ap.add_argument(
        "--overlap", type=int, nargs="+", default=[32], help="one per tile size, or one"
    )
    ap.add_argument("--batch-size", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--widths", default="32,64,128")
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    widths = tuple(int(w) for w in args.widths.split(","))
    overlaps = (
        args.overlap
        if len(args.overlap) == len(args.tile_size)
        else args.overlap * len(args.tile_size)
    )
    device = resolve_device(args.device)
    print(
        f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else f'{torch.get_num_threads()} CPU threads'}), "
        f"torch {torch.__version__}, scene {args.size} px, {args.frames} frames, widths {widths}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        demo = make_demo_scene(tmp / "demo", size=args.size, n_s2=args.frames, n_s1=2)
        scene = build_scene(s2=open_series(demo.s2_dir, sensor="s2"))
        ckpt = checkpoint(scene, widths, args.classes, scene.n_frames)
        print(f"scene generated and statistics computed in {time.perf_counter() - t:.1f} s")

        # time spent reading + normalising windows (no network), per tile size
        read_time = {}
        for tile, overlap in zip(args.tile_size, overlaps):
            tiles = inf.plan_tiles(
                scene.grid.height, scene.grid.width, tile, overlap, 2 ** (len(widths) - 1)
            )
            predictor = inf._Predictor(
                S4Net(NetConfig.from_dict(ckpt["net_config"])), scene, "s2",
                BandStats.from_dict(ckpt["band_stats"]["s2"]), scene.n_frames, "even", device, None,
            )  # fmt: skip
            t = time.perf_counter()
            for tl in tiles:
                predictor.read(tl)
            read_time[tile] = time.perf_counter() - t

        rows = []
        reference = None
        order = sorted(zip(args.tile_size, overlaps), key=lambda p: -p[0])
        for tile, overlap in order:
            for batch in args.batch_size:
                out = tmp / f"c_{tile}_{batch}.tif"
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t = time.perf_counter()
                res = inf.segment_scene(
                    ckpt,
                    scene,
                    out,
                    probabilities_path=out.with_suffix(".probs.tif"),
                    tile_size=tile,
                    overlap=overlap,
                    batch_size=batch,
                    device=device,
                )
                if device.type == "cuda":
                    torch.cuda.synchronize()
                seconds = time.perf_counter() - t
                with rasterio.open(out) as ds:
                    classes = ds.read(1)
                with rasterio.open(out.with_suffix(".probs.tif")) as ds:
                    probs = ds.read()
                if reference is None:
                    reference, ref_probs = classes, probs
                rows.append(
                    {
                        "tile": tile,
                        "overlap": overlap,
                        "batch": res.batch_size,
                        "windows": res.tiles,
                        "seconds": round(seconds, 2),
                        "mpx_per_s": round(args.size * args.size / seconds / 1e6, 4),
                        "read_share": round(read_time[tile] / seconds, 3),
                        "differs_from_largest_tile": float(np.mean(classes != reference)),
                        "max_prob_diff": float(np.nanmax(np.abs(probs - ref_probs))),
                        "peak_rss_mb": round(
                            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                        ),
                    }
                )
                print(json.dumps(rows[-1]))
                sys.stdout.flush()


if __name__ == "__main__":
    main()

"""Benchmark: the real ``s4 segment`` path against the machine's fp32 matmul peak.

Generates the synthetic demo scene (``s4_core.demo``: ``--size`` px, ``--frames`` S2 dates,
10 bands, per-date GeoTIFFs) and a fine-tuned checkpoint with random weights of the reference
network (widths 32-64-128, the paper's head), then for each ``--threads`` value (``S4_THREADS``,
what the engine uses on a CPU):

- the fp32 matmul peak measured in the same run (2048 x 2048 ``torch.mm``, best of 5);
- the network alone: one forward pass over a 128 x 128 window (channels_last_3d, inference
  mode, as the engine runs it);
- ``segment_scene`` end to end (reading the GeoTIFFs, normalising, tiling with the default
  automatic tile size and overlap, the model, writing class map + probabilities +
  confidence) with the torch backend and, when onnxruntime is installed, the ONNX backend.

Printed per run: seconds, km^2/h (10 m pixels), and the ratio of (FLOPs of ONE whole-scene pass,
counted by ``torch.utils.flop_counter`` / seconds) to the matmul peak: overlap recomputation,
reading and writing all count against it. Nothing is asserted.

    .venv/bin/python benchmarks/inference_speed.py                        # 256 px, 32 dates
    .venv/bin/python benchmarks/inference_speed.py --size 512 --threads 1 2 --tile-size 256
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from s4_core import inference as inf  # noqa: E402
from s4_core.align import build_scene  # noqa: E402
from s4_core.checkpoint import save_checkpoint  # noqa: E402
from s4_core.demo import make_demo_scene  # noqa: E402
from s4_core.labels import ClassMap  # noqa: E402
from s4_core.model import NetConfig, S4Net  # noqa: E402
from s4_core.normalize import compute_band_stats  # noqa: E402
from s4_core.series import open_series  # noqa: E402

KM2_PER_PX = 100.0 / 1e6  # 10 m pixels


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


def matmul_peak(n: int = 2048, repeats: int = 5) -> float:
    """fp32 GFLOP/s of an n x n matrix product (best of ``repeats``)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t)
    return 2.0 * n**3 / best / 1e9


def flops_per_pixel(model: S4Net, frames: int, channels: int, side: int = 64) -> float:
    """Forward FLOPs per pixel of the segmentation path (convolutions scale with the area)."""
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.randn(1, frames, channels, side, side)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model.segment(x, "s2")
    return counter.get_total_flops() / float(side * side)


def forward_rate(model: S4Net, frames: int, channels: int, per_px: float, side: int = 128):
    """GFLOP/s of the network alone on one window (channels_last_3d, as the engine runs it)."""
    net = model.to(memory_format=torch.channels_last_3d)
    x = torch.randn(1, frames, channels, side, side)
    with torch.inference_mode():
        net.segment(x, "s2")
        t = time.perf_counter()
        net.segment(x, "s2")
        seconds = time.perf_counter() - t
    return per_px * side * side / seconds / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", type=int, default=256, help="scene side in px")
    ap.add_argument("--frames", type=int, default=32, help="S2 dates (all used)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--tile-size", type=int, default=None, help="default: automatic")
    ap.add_argument("--overlap", type=int, default=None, help="default: automatic")
    ap.add_argument("--widths", default="32,64,128")
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime backend")
    args = ap.parse_args()
    widths = tuple(int(w) for w in args.widths.split(","))
    print(f"torch {torch.__version__}, scene {args.size} px, {args.frames} frames, widths {widths}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        demo = make_demo_scene(tmp / "demo", size=args.size, n_s2=args.frames, n_s1=2)
        scene = build_scene(s2=open_series(demo.s2_dir, sensor="s2"))
        ckpt = checkpoint(scene, widths, args.classes, scene.n_frames)
        channels = len(ckpt["bands"]["s2"])
        model = S4Net(NetConfig.from_dict(ckpt["net_config"])).eval()
        model.load_state_dict(ckpt["state_dict"])
        per_px = flops_per_pixel(model, scene.n_frames, channels)
        pass_flops = per_px * args.size * args.size
        print(
            f"scene generated in {time.perf_counter() - t:.1f} s; one whole-scene pass = "
            f"{pass_flops / 1e9:.1f} GFLOP ({per_px / 1e6:.2f} MFLOP/px)"
        )
        onnx_path = None
        if not args.no_onnx:
            try:
                import onnxruntime  # noqa: F401

                from s4_core.onnx_export import export_onnx

                pt = save_checkpoint(tmp / "model.pt", ckpt)
                onnx_path = Path(export_onnx(pt, tmp / "model.onnx")["path"])
            except Exception as exc:  # noqa: BLE001 - a benchmark reports and goes on
                print(f"ONNX backend skipped: {exc}")
        for threads in args.threads:
            os.environ["S4_THREADS"] = str(threads)
            torch.set_num_threads(threads)
            peak = matmul_peak()
            net_rate = forward_rate(model, scene.n_frames, channels, per_px)
            print(
                f"{threads} thread(s): fp32 matmul peak {peak:.1f} GFLOP/s; network alone "
                f"{net_rate:.1f} GFLOP/s ({100 * net_rate / peak:.0f} % of peak)"
            )
            runs = [("torch", ckpt)]
            if onnx_path is not None:
                from s4_core.backends import open_model

                runs.append(("onnx", open_model(onnx_path)[0]))
            for kind, model_dict in runs:
                out = tmp / f"c_{kind}_{threads}.tif"
                t = time.perf_counter()
                res = inf.segment_scene(
                    model_dict, scene, out, probabilities_path=out.with_suffix(".p.tif"),
                    confidence_path=out.with_suffix(".conf.tif"), tile_size=args.tile_size,
                    overlap=args.overlap, device="cpu",
                )  # fmt: skip
                seconds = time.perf_counter() - t
                rate = pass_flops / seconds / 1e9
                row = {
                    "backend": kind,
                    "threads": threads,
                    "tile": res.tile_size,
                    "overlap": res.overlap,
                    "windows": res.tiles,
                    "batch": res.batch_size,
                    "seconds": round(seconds, 2),
                    "km2_per_h": round(args.size**2 * KM2_PER_PX / seconds * 3600, 2),
                    "gflops_whole_scene_pass": round(rate, 1),
                    "ratio_to_matmul_peak": round(rate / peak, 3),
                    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                }
                print(json.dumps(row))
                sys.stdout.flush()


if __name__ == "__main__":
    main()

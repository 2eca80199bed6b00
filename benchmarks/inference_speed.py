"""Benchmark: the real ``s4 segment`` path against the machine's fp32 matmul peak.

Generates the synthetic demo scene (``s4_core.demo``: ``--size`` px, ``--frames`` S2 dates,
10 bands, per-date GeoTIFFs) and a fine-tuned checkpoint with random weights of the reference
network (widths 32-64-128, the paper's head), then for each ``--threads`` value (``S4_THREADS``,
what the engine uses on a CPU):

- the fp32 matmul peak (2048 x 2048 ``torch.mm``, best of 5), measured again right before and
  after every timed run; ratios use the higher of the two (noisy shared machines);
- conv3d alone: the network's most expensive layer (Conv3d 64 -> 32, k3, at full resolution,
  channels_last_3d) on one 128 px window, in fp32 and, where the CPU has native bfloat16, bf16;
- the network alone, as the engine runs it (``backends.TorchBackend``: batch norms folded,
  LeakyReLU fused, channels_last_3d), on one 128 px window and on one window of the automatic
  tile size, per precision;
- ``segment_scene`` end to end (reading the GeoTIFFs, normalising, tiling with the default
  automatic tile size and overlap, the model, writing class map + probabilities +
  confidence) with the torch backend per ``--precisions`` value and, when onnxruntime is
  installed, the ONNX backend (fp32).

Printed per run: seconds, km^2/h (10 m pixels), and the ratio of (FLOPs of ONE whole-scene
pass, counted by ``torch.utils.flop_counter`` / seconds) to the fp32 matmul peak: overlap
recomputation, reading and writing all count against it. bf16 runs count the same FLOPs
against the same fp32 peak. Nothing is asserted.

    .venv/bin/python benchmarks/inference_speed.py                        # 512 px, 32 dates
    .venv/bin/python benchmarks/inference_speed.py --size 256 --threads 1 --no-onnx
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


def matmul_peak(n: int = 2048, repeats: int = 5, dtype: torch.dtype = torch.float32) -> float:
    """GFLOP/s of an n x n matrix product (best of ``repeats``), fp32 unless ``dtype``."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
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


def conv_rate(frames: int, side: int, dtype: torch.dtype) -> float:
    """GFLOP/s of the network's largest layer alone: Conv3d 64 -> 32, k3, full resolution."""
    conv = torch.nn.Conv3d(64, 32, 3, padding=1).eval()
    conv = conv.to(memory_format=torch.channels_last_3d, dtype=dtype)
    x = torch.randn(1, 64, frames, side, side).to(dtype)
    x = x.contiguous(memory_format=torch.channels_last_3d)
    flops = 2.0 * 27 * 64 * 32 * frames * side * side
    with torch.inference_mode():
        conv(x)
        best = float("inf")
        for _ in range(2):
            t = time.perf_counter()
            conv(x)
            best = min(best, time.perf_counter() - t)
    return flops / best / 1e9


def forward_rate(backend, frames: int, channels: int, per_px: float, shape) -> float:
    """GFLOP/s of the network alone on one window (side or (height, width)), as the engine runs."""
    import numpy as np

    from s4_core.tiling import tile_shape

    height, width = tile_shape(shape)
    x = np.random.default_rng(0).normal(size=(1, frames, channels, height, width))
    x = x.astype(np.float32)
    masks = np.ones((1, frames), dtype=bool)
    backend.predict(x, masks, 1)
    t = time.perf_counter()
    backend.predict(x, masks, 1)
    return per_px * height * width / (time.perf_counter() - t) / 1e9


def main() -> None:
    from s4_core.backends import TorchBackend, bf16_supported, open_model

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", type=int, default=512, help="scene side in px")
    ap.add_argument("--frames", type=int, default=32, help="S2 dates (all used)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=("fp32", "bf16"))
    ap.add_argument("--tile-size", type=int, default=None, help="default: automatic")
    ap.add_argument("--overlap", type=int, default=None, help="default: automatic")
    ap.add_argument("--widths", default="32,64,128")
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime backend")
    args = ap.parse_args()
    widths = tuple(int(w) for w in args.widths.split(","))
    precisions = [p for p in args.precisions if p == "fp32" or bf16_supported()]
    print(
        f"torch {torch.__version__}, scene {args.size} px, {args.frames} frames, widths {widths}, "
        f"native bf16: {bf16_supported()}"
    )
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
            line = [f"{threads} thread(s): fp32 matmul peak {peak:.1f} GFLOP/s"]
            if bf16_supported():
                line.append(f"bf16 matmul {matmul_peak(dtype=torch.bfloat16):.1f} GFLOP/s")
            print("; ".join(line))
            for precision in precisions:
                dtype = torch.bfloat16 if precision == "bf16" else torch.float32
                backend = TorchBackend(ckpt, "cpu", precision=precision)
                tile, _ = inf.choose_tiling(
                    ckpt["net_config"], scene.n_frames, args.size, args.size, args.tile_size,
                    args.overlap, 2 if precision == "bf16" else 4,
                )  # fmt: skip
                before = matmul_peak()
                conv = conv_rate(scene.n_frames, 128, dtype)
                small = forward_rate(backend, scene.n_frames, channels, per_px, 128)
                large = forward_rate(backend, scene.n_frames, channels, per_px, tile)
                ref = max(before, matmul_peak())
                print(
                    f"  {precision}: conv3d alone {conv:.1f} GFLOP/s ({conv / ref:.2f} of the fp32 "
                    f"peak); network alone {small:.1f} GFLOP/s on 128 px ({small / ref:.2f}), "
                    f"{large:.1f} GFLOP/s on {tile[0]} x {tile[1]} px, h x w ({large / ref:.2f}); "
                    f"fp32 peak {ref:.1f}"
                )
                del backend
            runs = [("torch", precision, ckpt) for precision in precisions]
            if onnx_path is not None:
                runs.append(("onnx", "fp32", open_model(onnx_path)[0]))
            for kind, precision, model_dict in runs:
                out = tmp / f"c_{kind}_{precision}_{threads}.tif"
                before = matmul_peak()
                t = time.perf_counter()
                res = inf.segment_scene(
                    model_dict,
                    scene,
                    out,
                    inf.Prediction(
                        tile_size=args.tile_size,
                        overlap=args.overlap,
                        device="cpu",
                        precision=precision,
                    ),
                    probabilities_path=out.with_suffix(".p.tif"),
                    confidence_path=out.with_suffix(".conf.tif"),
                )
                seconds = time.perf_counter() - t
                ref = max(before, matmul_peak())
                rate = pass_flops / seconds / 1e9
                tiles = inf.plan_tiles(args.size, args.size, res.tile, res.overlap, 4)
                computed = sum(tl.height * tl.width for tl in tiles) / float(args.size**2)
                row = {
                    "backend": kind,
                    "precision": res.precision,
                    "threads": threads,
                    "tile": list(res.tile),
                    "overlap": res.overlap,
                    "windows": res.tiles,
                    "computed_area": round(computed, 2),
                    "batch": res.batch_size,
                    "seconds": round(seconds, 2),
                    "km2_per_h": round(args.size**2 * KM2_PER_PX / seconds * 3600, 1),
                    "gflops_whole_scene_pass": round(rate, 1),
                    "fp32_matmul_peak": round(ref, 1),
                    "ratio_to_matmul_peak": round(rate / ref, 3),
                    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                }
                print(json.dumps(row))
                sys.stdout.flush()


if __name__ == "__main__":
    main()

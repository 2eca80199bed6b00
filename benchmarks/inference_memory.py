"""Benchmark: peak memory of ``segment_scene`` does not grow with the scene's area.

Each size runs in its own process (``--child``), which prints its peak resident memory
(``ru_maxrss``). The scene is a synthetic in-memory S2 series (``SyntheticScene``: values
computed per window, so no multi-GB input files have to be written; the reading, normalising,
tiling, model and block-by-block writing of class map + probabilities + confidence are the
engine's). Defaults keep the run short on a laptop CPU: 32 dates x 10 bands, small widths
(4-8-16); pass ``--widths 32,64,128`` and ``--sizes 1024 2048 4096`` for the reference network
(hours on 2 CPU cores). Nothing is asserted.

    .venv/bin/python benchmarks/inference_memory.py                      # 512, 1024, 2048 px
    .venv/bin/python benchmarks/inference_memory.py --sizes 1024 2048 4096
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BANDS = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]


class _Series:
    band_names = BANDS


class SyntheticScene:
    """The ``Scene`` read interface over values computed per window (smooth fields + noise)."""

    modalities = ("s2",)

    def __init__(self, size: int, frames: int) -> None:
        from affine import Affine

        from s4_core.grid import Grid

        self.grid = Grid("EPSG:32631", Affine(10.0, 0, 500000.0, 0, -10.0, 5600000.0), size, size)
        self.n_frames = frames
        self.s2 = _Series()

    def read(self, window, modalities=("s2",), frames=None):
        r, c = window.offset_in(self.grid)
        h, w = window.height, window.width
        frames = np.arange(self.n_frames) if frames is None else np.asarray(frames)
        yy, xx = np.mgrid[r : r + h, c : c + w].astype(np.float32)
        field = (np.sin(xx / 37.0) + np.cos(yy / 23.0)).astype(np.float32)
        x = np.empty((len(frames), len(BANDS), h, w), dtype=np.float32)
        for i, t in enumerate(frames):
            for b in range(len(BANDS)):
                x[i, b] = 0.15 + 0.05 * field * np.cos(0.2 * t + b)
        valid = np.ones((len(frames), h, w), dtype=bool)
        return {"s2": x, "s2_valid": valid, "frame_valid": np.ones(len(frames), dtype=bool)}


def child(size: int, frames: int, widths) -> None:
    import torch

    from s4_core import inference as inf
    from s4_core.labels import ClassMap
    from s4_core.model import NetConfig, S4Net
    from s4_core.normalize import BandStats

    cfg = NetConfig(s1_channels=2, s2_channels=len(BANDS), widths=widths, num_classes=5)
    torch.manual_seed(0)
    ckpt = {
        "kind": "finetuned",
        "net_config": cfg.to_dict(),
        "state_dict": S4Net(cfg).eval().state_dict(),
        "modality": "s2",
        "bands": {"s2": BANDS},
        "band_stats": {"s2": BandStats(BANDS, [0.15] * 10, [0.05] * 10).to_dict()},
        "time": {"length": frames, "mode": "even"},
        "classes": ClassMap.from_names([f"class {i}" for i in range(5)]).to_dict(),
    }
    scene = SyntheticScene(size, frames)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "classes.tif"
        t = time.perf_counter()
        res = inf.segment_scene(
            ckpt, scene, out, probabilities_path=Path(tmp) / "p.tif",
            confidence_path=Path(tmp) / "c.tif", device="cpu",
        )  # fmt: skip
        seconds = time.perf_counter() - t
    print(
        json.dumps(
            {
                "size": size,
                "frames": frames,
                "widths": list(widths),
                "tile": res.tile_size,
                "overlap": res.overlap,
                "windows": res.tiles,
                "seconds": round(seconds, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--widths", default="4,8,16")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    widths = tuple(int(w) for w in args.widths.split(","))
    if args.child is not None:
        child(args.child, args.frames, widths)
        return
    rows = []
    for size in args.sizes:
        cmd = [sys.executable, __file__, "--child", str(size), "--frames", str(args.frames),
               "--widths", args.widths]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"{size} px failed:\n{proc.stderr[-2000:]}")
            continue
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]))
        sys.stdout.flush()
    if len(rows) > 1:
        peaks = [r["peak_rss_mb"] for r in rows]
        print(f"peak RSS {min(peaks)}-{max(peaks)} MB: max/min = {max(peaks) / min(peaks):.2f}")


if __name__ == "__main__":
    main()

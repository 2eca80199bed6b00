"""Benchmark: align a large synthetic S1 + S2 scene window by window to GeoTIFF.

Generates (window by window, into a temporary folder) an S2 series of ``--dates`` dates at
10 m, ``--size`` x ``--size`` px in EPSG:32631 (bands B02 B03 B04 B08 + SCL, uint16), and an S1
series (1.5x as many dates, VV VH float32 dB) at 20 m on a different grid in another CRS
(EPSG:32632). Then, in a child process, opens both series, aligns them on the S2 grid and writes
the aligned stacks with ``write_aligned``, and prints wall time, peak resident memory
(``getrusage``) and the peak of Python/numpy allocations (``tracemalloc``).

    .venv/bin/python benchmarks/align_large.py                 # 4096 px, 40 dates
    .venv/bin/python benchmarks/align_large.py --size 1024 --dates 8 --keep DIR
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from affine import Affine
from rasterio.warp import transform_bounds

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from s4_core.grid import Grid  # noqa: E402
from s4_core.raster_io import RasterWriter  # noqa: E402

S2_CRS, S1_CRS = "EPSG:32631", "EPSG:32632"
X0, Y0 = 640000.0, 5650000.0  # east of zone 31, close to zone 32: both UTM zones are valid
S2_BANDS = ["B02", "B03", "B04", "B08"]


def _fields(x: np.ndarray, y: np.ndarray, cell: float) -> np.ndarray:
    """A deterministic parcel id per map coordinate (square-ish fields of ``cell`` m)."""
    i = np.floor(x / cell).astype(np.int64)
    j = np.floor(y / cell).astype(np.int64)
    return (i * 73856093) ^ (j * 19349663)


def generate(root: Path, size: int, n_dates: int) -> dict:
    """Write the synthetic S2 and S1 series (window by window, bounded memory)."""
    rng = np.random.default_rng(0)
    s2_dir, s1_dir = root / "S2", root / "S1"
    s2_dir.mkdir(parents=True)
    s1_dir.mkdir(parents=True)
    t2 = Affine(10, 0, X0, 0, -10, Y0)
    rows = 512
    start = dt.date(2020, 3, 1)
    for k in range(n_dates):
        day = start + dt.timedelta(days=9 * k)
        phase = np.sin(2 * np.pi * k / n_dates)
        path = s2_dir / f"S2_L2A_{day:%Y%m%d}.tif"
        with RasterWriter(
            path, Grid(S2_CRS, t2, size, size), 5, "uint16", 0, descriptions=S2_BANDS + ["SCL"],
            tags={"ACQUISITION_DATETIME": f"{day.isoformat()}T10:50:00"}, block=512, fast=True,
        ) as ds:  # fmt: skip
            cloud_x = rng.uniform(0, size)
            for r in range(0, size, rows):
                h = min(rows, size - r)
                rr, cc = np.mgrid[r : r + h, 0:size]
                x, y = t2 * (cc + 0.5, rr + 0.5)
                fid = _fields(x, y, 640.0)
                base = (fid % 997).astype(np.float32) / 997.0
                out = np.empty((5, h, size), np.uint16)
                for b in range(4):
                    v = 600 + 2500 * base * (1 + 0.3 * phase * (b + 1) / 4)
                    v += rng.normal(0, 25, v.shape)
                    out[b] = np.clip(v, 1, 65000).astype(np.uint16)
                scl = np.where(np.abs(cc - cloud_x) < size * 0.1, 9, 4)
                out[4] = scl
                ds.write(out, r, 0)
    # S1: 20 m, EPSG:32632, covering the S2 extent plus a margin
    left, bottom, right, top = transform_bounds(
        S2_CRS, S1_CRS, X0, Y0 - 10 * size, X0 + 10 * size, Y0
    )
    left, bottom, right, top = left - 1000, bottom - 1000, right + 1000, top + 1000
    w1 = int(np.ceil((right - left) / 20))
    h1 = int(np.ceil((top - bottom) / 20))
    t1 = Affine(20, 0, left, 0, -20, top)
    for k in range(int(n_dates * 1.5)):
        day = start + dt.timedelta(days=6 * k + 1)
        path = s1_dir / f"S1_GRD_{day:%Y%m%d}.tif"
        tags = {"ACQUISITION_DATETIME": f"{day.isoformat()}T17:30:00", "UNITS": "sigma0, dB"}
        with RasterWriter(
            path, Grid(S1_CRS, t1, w1, h1), 2, "float32", float("nan"), descriptions=["VV", "VH"],
            tags=tags, block=512, fast=True,
        ) as ds:  # fmt: skip
            for r in range(0, h1, rows):
                h = min(rows, h1 - r)
                rr, cc = np.mgrid[r : r + h, 0:w1]
                x, y = t1 * (cc + 0.5, rr + 0.5)
                base = (_fields(x, y, 500.0) % 991).astype(np.float32) / 991.0
                vv = -18 + 8 * base + np.sin(k / 5) + rng.normal(0, 0.7, base.shape)
                ds.write(np.stack([vv, vv - 7]).astype(np.float32), r, 0)
    return {
        "s2_size": [size, size],
        "s1_size": [w1, h1],
        "s2_dates": n_dates,
        "s1_dates": int(n_dates * 1.5),
    }


def align_only(root: Path, block: int) -> dict:
    """Open, align and write; returns timings and memory (run in a fresh process)."""
    import tracemalloc

    from s4_core.align import build_scene, write_aligned
    from s4_core.series import open_series

    tracemalloc.start()
    t0 = time.perf_counter()
    s1 = open_series(root / "S1")
    s2 = open_series(root / "S2")
    scene = build_scene(s1, s2)
    t_open = time.perf_counter() - t0
    paths = write_aligned(scene, root / "aligned", block=block)
    total = time.perf_counter() - t0
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss = usage.ru_maxrss * 1024  # kB on Linux
    sizes = {k: os.path.getsize(v) for k, v in paths.items()}
    return {
        "frames": scene.n_frames,
        "grid": [scene.grid.width, scene.grid.height],
        "open_and_align_s": round(t_open, 2),
        "total_s": round(total, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(rss / 2**20, 1),
        "tracemalloc_peak_mb": round(py_peak / 2**20, 1),
        "output_bytes": sizes,
        "output_pixels": scene.n_frames
        * (len(s1.band_names) + len(s2.band_names))
        * scene.grid.width
        * scene.grid.height,
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--dates", type=int, default=40)
    p.add_argument("--block", type=int, default=512)
    p.add_argument("--keep", default=None, help="generate into this folder and keep it")
    p.add_argument("--align-only", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.align_only:
        print(json.dumps(align_only(Path(args.align_only), args.block)))
        return
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="s4_align_bench_"))
    try:
        t0 = time.perf_counter()
        info = generate(root, args.size, args.dates)
        gen_s = time.perf_counter() - t0
        print(f"generated {info} in {gen_s:.0f} s under {root}", flush=True)
        child = subprocess.run(
            [sys.executable, __file__, "--align-only", str(root), "--block", str(args.block)],
            check=True,
            capture_output=True,
            text=True,
        )
        res = json.loads(child.stdout.strip().splitlines()[-1])
        mpx = res["output_pixels"] / 1e6
        print(
            f"frames            {res['frames']} on a {res['grid'][0]} x {res['grid'][1]} grid (block {args.block})"
        )
        print(f"open + align      {res['open_and_align_s']} s")
        print(f"total             {res['total_s']} s ({mpx / res['total_s']:.1f} Mpx/s written)")
        print(f"CPU time          {res['cpu_s']} s (user + system, main thread and GDAL threads)")
        print(f"peak RSS          {res['peak_rss_mb']} MB (getrusage ru_maxrss)")
        print(f"tracemalloc peak  {res['tracemalloc_peak_mb']} MB (Python + numpy allocations)")
        print(
            "outputs           "
            + ", ".join(f"{k} {v / 2**20:.0f} MB" for k, v in res["output_bytes"].items())
        )
        print(json.dumps({"generate_s": round(gen_s, 1), **info, **res}))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

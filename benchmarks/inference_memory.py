"""Benchmark: peak memory of ``s4 segment`` does not grow with the scene's area.

For each ``--sizes`` value the real command runs in its own process (``python -m s4_core
segment`` with class map, probabilities and confidence outputs, ``S4_THREADS=1``, niced), and
its peak resident memory is read from the kernel when it ends (``os.wait4``: ``ru_maxrss`` of
that process alone). Nothing is asserted.

Input: real files read through GDAL, without writing ``frames`` full-size rasters: one
``size`` x ``size`` px, 10-band uint16 GeoTIFF of digital numbers (smooth fields + noise,
DEFLATE) and one VRT per date (``S2_L2A_YYYYMMDD.vrt``, band names in the band descriptions)
that reads it with its own gain and offset, so every date differs. A 4096^2 px x 32-date S2
series in per-date GeoTIFFs would take 11 GB of disk; this takes one file (~0.2-0.3 GB at
4096 px) and reads the same amount of data per window as per-date files would.

The model: a fine-tuned checkpoint with random weights (``--widths``; small by default so
that 4096 px finishes on one busy CPU core: 4-8-16), 5 classes, the paper's head, all dates
used (time length = ``--frames``).

    .venv/bin/python benchmarks/inference_memory.py                          # 1024 2048 4096
    .venv/bin/python benchmarks/inference_memory.py --time-limit 900     # stop long runs
    .venv/bin/python benchmarks/inference_memory.py --sizes 512 1024 --widths 32,64,128
    .venv/bin/python benchmarks/inference_memory.py --sizes 1024 2048 --tile-size 420
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from s4_core.checkpoint import load_checkpoint  # noqa: E402
from s4_core.inference import choose_tiling  # noqa: E402
from s4_core.tiling import plan_tiles  # noqa: E402

BANDS = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]
CLASSES = 5


def write_base(path: Path, size: int, block: int = 512) -> None:
    """``size`` x ``size`` px, 10 bands of uint16 DN (0 = nodata, never used), block by block."""
    from affine import Affine

    from s4_core.grid import Grid
    from s4_core.raster_io import RasterWriter

    grid = Grid("EPSG:32631", Affine(10.0, 0, 500000.0, 0, -10.0, 5600000.0), size, size)
    rng = np.random.default_rng(0)
    writer = RasterWriter(path, grid, len(BANDS), "uint16", 0, descriptions=BANDS, tiled=True)
    try:
        for r in range(0, size, block):
            for c in range(0, size, block):
                h, w = min(block, size - r), min(block, size - c)
                yy, xx = np.mgrid[r : r + h, c : c + w].astype(np.float32)
                field = np.sin(xx / 37.0) + np.cos(yy / 23.0) + np.sin((xx + yy) / 91.0)
                data = np.empty((len(BANDS), h, w), dtype=np.uint16)
                for b in range(len(BANDS)):
                    noise = rng.normal(0.0, 60.0, (h, w))
                    data[b] = np.clip(1500 + 120 * b + 500 * field + noise, 1, 10000)
                writer.write(data, r, c)
        writer.commit()
    except BaseException:
        writer.discard()
        raise


def write_dates(folder: Path, base: Path, size: int, frames: int) -> List[Path]:
    """One VRT per date over ``base``, each with its own gain/offset (a seasonal cycle)."""
    import rasterio

    folder.mkdir(parents=True, exist_ok=True)
    with rasterio.open(base) as ds:
        crs, tr = ds.crs.to_wkt(), ds.transform.to_gdal()
    paths = []
    start = _dt.date(2018, 3, 1)
    for t in range(frames):
        day = start + _dt.timedelta(days=7 * t)
        gain = 0.8 + 0.3 * np.sin(2 * np.pi * t / max(frames, 1))
        bands = []
        for b, name in enumerate(BANDS):
            bands.append(
                f'  <VRTRasterBand dataType="UInt16" band="{b + 1}">\n'
                f"    <Description>{name}</Description>\n"
                "    <NoDataValue>0</NoDataValue>\n"
                "    <ComplexSource>\n"
                f'      <SourceFilename relativeToVRT="0">{base}</SourceFilename>\n'
                f"      <SourceBand>{b + 1}</SourceBand>\n"
                f'      <SrcRect xOff="0" yOff="0" xSize="{size}" ySize="{size}"/>\n'
                f'      <DstRect xOff="0" yOff="0" xSize="{size}" ySize="{size}"/>\n'
                f"      <ScaleOffset>{20 * t + 5 * b}</ScaleOffset>\n"
                f"      <ScaleRatio>{gain:.4f}</ScaleRatio>\n"
                "      <NODATA>0</NODATA>\n"
                "    </ComplexSource>\n"
                "  </VRTRasterBand>\n"
            )
        xml = (
            f'<VRTDataset rasterXSize="{size}" rasterYSize="{size}">\n'
            f"  <SRS>{crs.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}</SRS>\n"
            f"  <GeoTransform>{', '.join(repr(float(v)) for v in tr)}</GeoTransform>\n"
            + "".join(bands)
            + "</VRTDataset>\n"
        )
        path = folder / f"S2_L2A_{day:%Y%m%d}.vrt"
        path.write_text(xml)
        paths.append(path)
    return paths


def write_model(path: Path, widths: Sequence[int], frames: int) -> Path:
    """A fine-tuned checkpoint with random weights of the given widths (S2, all dates)."""
    import torch

    from s4_core.checkpoint import save_checkpoint
    from s4_core.labels import ClassMap
    from s4_core.model import NetConfig, S4Net
    from s4_core.normalize import BandStats

    cfg = NetConfig(s1_channels=2, s2_channels=len(BANDS), widths=tuple(widths),
                    num_classes=CLASSES)  # fmt: skip
    torch.manual_seed(0)
    ckpt = {
        "kind": "finetuned",
        "net_config": cfg.to_dict(),
        "state_dict": S4Net(cfg).eval().state_dict(),
        "modality": "s2",
        "bands": {"s2": BANDS},
        "band_stats": {"s2": BandStats(BANDS, [0.2] * 10, [0.06] * 10).to_dict()},
        "time": {"length": frames, "mode": "even"},
        "classes": ClassMap.from_names([f"class {i}" for i in range(CLASSES)]).to_dict(),
        "metrics": {},
        "history": [],
        "epoch": 1,
        "seed": 0,
    }
    return save_checkpoint(path, ckpt)


def _windows_written(out: Path) -> int:
    """Bytes of the probabilities written so far (temporary file while the run goes on)."""
    return sum(p.stat().st_size for p in out.glob("*probs.tif*"))


def run_segment(
    model: Path, s2: Path, out: Path, precision: str, limit: float, tile: Optional[int] = None
) -> dict:
    """``s4 segment`` in its own niced process; its result JSON plus its peak RSS. After
    ``limit`` seconds (0: none) the process is stopped (SIGKILL) and the row says so: its peak
    RSS then covers the windows done until then."""
    cmd = [sys.executable, "-m", "s4_core", "segment", "--model", str(model), "--s2", str(s2),
           "--out", str(out / "classes.tif"), "--probabilities", str(out / "probs.tif"),
           "--confidence", str(out / "confidence.tif"), "--device", "cpu", "--json", "--quiet",
           "--precision", precision]  # fmt: skip
    if tile:
        cmd += ["--tile-size", str(tile)]
    env = dict(os.environ, S4_THREADS="1", PYTHONPATH=str(ROOT))
    t = time.perf_counter()
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            cmd, stdout=stdout, stderr=stderr, env=env, preexec_fn=lambda: os.nice(10)
        )
        stopped = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if limit and time.perf_counter() - t > limit:
                proc.kill()  # the peak RSS so far still comes back with wait4
                stopped = True
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(1.0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - t
        stdout.seek(0)
        stderr.seek(0)
        text, err = stdout.read().decode(), stderr.read().decode()
    if stopped:
        result = {"stopped_after_s": round(seconds), "probabilities_bytes": _windows_written(out)}
    elif proc.returncode != 0:
        raise RuntimeError(f"s4 segment failed ({proc.returncode}):\n{err[-3000:]}")
    else:
        result = json.loads(text[text.index("{") :])
    result["seconds_wall"] = round(seconds, 1)
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024)
    result["cpu_seconds"] = round(usage.ru_utime + usage.ru_stime)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--widths", default="4,8,16")
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    ap.add_argument("--tmp", default=None, help="folder for the inputs and outputs")
    ap.add_argument(
        "--time-limit",
        type=float,
        default=0,
        help="stop a run after this many seconds and report the peak so far (0: no limit)",
    )
    ap.add_argument(
        "--tile-size",
        type=int,
        default=None,
        help="the same window size for every scene (default: the automatic choice)",
    )
    args = ap.parse_args()
    widths = [int(w) for w in args.widths.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        tmp = Path(tmp)
        model = write_model(tmp / "model.pt", widths, args.frames)
        model_config = load_checkpoint(model)["net_config"]
        for size in args.sizes:
            work = tmp / str(size)
            work.mkdir()
            t = time.perf_counter()
            base = work / "base.tif"
            write_base(base, size)
            write_dates(work / "S2", base, size, args.frames)
            made = time.perf_counter() - t
            out = work / "out"
            out.mkdir()
            res = run_segment(
                model, work / "S2", out, args.precision, args.time_limit, args.tile_size
            )
            nbytes = 2 if args.precision == "bf16" else 4
            tile, overlap = choose_tiling(
                model_config, args.frames, size, size, args.tile_size, None, nbytes
            )
            n_windows = len(plan_tiles(size, size, tile, overlap, 2 ** (len(widths) - 1)))
            row = {
                "size": size,
                "frames": args.frames,
                "widths": widths,
                "precision": res.get("precision", args.precision),
                "input_mb_on_disk": round(base.stat().st_size / 2**20),
                "input_mb_as_float32": round(size * size * len(BANDS) * args.frames * 4 / 2**20),
                "outputs_mb": round(sum(p.stat().st_size for p in out.iterdir()) / 2**20),
                "tile": list(tile),
                "overlap": overlap,
                "windows": n_windows,
                "complete": "stopped_after_s" not in res,
                "probabilities_mb_written": round(_windows_written(out) / 2**20, 1),
                "seconds": res["seconds_wall"],
                "cpu_seconds": res["cpu_seconds"],
                "input_seconds": round(made, 1),
                "peak_rss_mb": res["peak_rss_mb"],
            }
            rows.append(row)
            print(json.dumps(row))
            sys.stdout.flush()
            for p in list(out.iterdir()) + [base]:
                p.unlink()
    if len(rows) > 1:
        peaks = [r["peak_rss_mb"] for r in rows]
        print(f"peak RSS {min(peaks)}-{max(peaks)} MB: max/min = {max(peaks) / min(peaks):.2f}")


if __name__ == "__main__":
    main()

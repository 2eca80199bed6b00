"""Synthetic per-date rasters for the engine tests (written by the engine's one writer), and
faulty copies of the demo scene's inputs for the fault matrices (tests/test_faults.py, tests/qgis)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import rasterio
from affine import Affine

from s4_core.grid import Grid
from s4_core.raster_io import write_raster

X0, Y0 = 500000.0, 5600000.0  # upper-left corner of the synthetic grids (EPSG:32631)


def write_tif(
    path, data, *, descriptions=(), nodata=None, tags=None, res=10.0, transform=None,
    crs="EPSG:32631",
):  # fmt: skip
    """Write ``data`` (bands, h, w) with band descriptions and dataset tags; return ``path``."""
    data = np.asarray(data)
    _, h, w = data.shape
    grid = Grid(crs, transform or Affine(res, 0, X0, 0, -res, Y0), w, h)
    write_raster(path, data, grid, nodata=nodata, descriptions=descriptions, tags=tags,
                 compress=None)  # fmt: skip
    return path


def _write_copy(path: Path, profile: dict, data: np.ndarray, tags: dict, names) -> None:
    """A copy of an image: ``data`` with the original's ``profile`` (its size and band count
    from ``data``), dataset ``tags`` and band ``names``."""
    profile = {**profile, "count": data.shape[0], "height": data.shape[1], "width": data.shape[2]}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        dst.update_tags(**tags)
        for i, name in enumerate(names):
            dst.set_band_description(i + 1, name)


def rewrite_series(src_dir: Path, dst_dir: Path, change: Callable) -> Path:
    """Copies of the GeoTIFFs of ``src_dir`` with ``change(data, descriptions)`` applied (it
    returns the new data and band names); dates (tags, names) kept."""
    dst_dir.mkdir(parents=True)
    for path in sorted(src_dir.glob("*.tif")):
        with rasterio.open(path) as src:
            profile, tags = src.profile, src.tags()
            data, names = change(src.read(), list(src.descriptions))
        _write_copy(dst_dir / path.name, profile, data, tags, names)
    return dst_dir


def crop_series(src_dir: Path, dst_dir: Path, fraction: float) -> Path:
    """Copies keeping the left ``fraction`` of the columns (a footprint of that share)."""
    from rasterio.windows import Window

    dst_dir.mkdir(parents=True)
    for path in sorted(src_dir.glob("*.tif")):
        with rasterio.open(path) as src:
            width = max(1, int(src.width * fraction))
            window = Window(0, 0, width, src.height)
            profile = {**src.profile, "transform": src.window_transform(window)}
            data, names, tags = src.read(window=window), src.descriptions, src.tags()
        _write_copy(dst_dir / path.name, profile, data, tags, names)
    return dst_dir


def faulty_inputs(e, folder: Path) -> None:
    """Faulty copies of a demo scene's inputs, set on the namespace ``e`` (which has ``s1``,
    ``s2``, ``parcels``, ``field``): ``s2_no_b11`` (S2 without band B11), ``s1_nan`` (every S1
    value NaN), ``s1_partial`` (S1 covering the left 40 % of the S2 grid), ``one_class`` (the
    polygons of one class), ``corrupt`` (a GeoPackage with a valid header and random bytes),
    ``s2_truncated`` (one image cut to 60 % of its bytes: its header opens, its pixels do not)."""
    import fiona

    def drop_b11(values, names):
        keep = [i for i, n in enumerate(names) if n != "B11"]
        return values[keep], [names[i] for i in keep]

    e.s2_no_b11 = rewrite_series(e.s2, folder / "S2_no_B11", drop_b11)
    e.s1_nan = rewrite_series(
        e.s1, folder / "S1_nan", lambda v, n: (np.full_like(v, np.nan, dtype="float32"), n)
    )
    e.s1_partial = crop_series(e.s1, folder / "S1_partial", 0.4)
    e.one_class = folder / "one_class.gpkg"
    with fiona.open(e.parcels) as src:
        features = list(src)
        first = features[0]["properties"][e.field]
        with fiona.open(e.one_class, "w", **src.meta) as dst:
            dst.writerecords(f for f in features if f["properties"][e.field] == first)
    e.corrupt = folder / "corrupt.gpkg"
    e.corrupt.write_bytes(b"SQLite format 3\0" + os.urandom(4096))
    e.s2_truncated = folder / "S2_truncated"
    shutil.copytree(e.s2, e.s2_truncated)
    victim = sorted(e.s2_truncated.glob("*.tif"))[2]
    with open(victim, "r+b") as f:
        f.truncate(int(victim.stat().st_size * 0.6))

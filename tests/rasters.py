"""Synthetic per-date rasters for the engine tests, written by the engine's one writer."""

from __future__ import annotations

import numpy as np
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

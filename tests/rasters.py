"""Small GeoTIFF writer shared by the engine tests (synthetic per-date rasters)."""

from __future__ import annotations

import numpy as np
import rasterio
from affine import Affine

X0, Y0 = 500000.0, 5600000.0  # upper-left corner of the synthetic grids (EPSG:32631)


def write_tif(
    path, data, *, descriptions=(), nodata=None, tags=None, res=10.0, transform=None,
    crs="EPSG:32631",
):  # fmt: skip
    """Write ``data`` (bands, h, w) with band descriptions and dataset tags; return ``path``."""
    data = np.asarray(data)
    count, h, w = data.shape
    profile = dict(
        driver="GTiff",
        width=w,
        height=h,
        count=count,
        dtype=data.dtype.name,
        crs=crs,
        transform=transform or Affine(res, 0, X0, 0, -res, Y0),
        nodata=nodata,
    )
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data)
        for i, d in enumerate(descriptions or ()):
            ds.set_band_description(i + 1, d)
        if tags:
            ds.update_tags(**tags)
    return path

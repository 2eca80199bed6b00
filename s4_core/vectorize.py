"""Class raster -> polygons (vector export).

``vectorize_classes``: polygons of 4-connected same-class pixels (``rasterio.features.shapes``)
in a GeoPackage layer ``classes`` with fields ``class_id`` (class index), ``class_name`` and
``area_m2``. With ``min_area_m2`` > 0, regions smaller than that are first merged into their
largest neighbouring class (GDAL sieve, 4-connected; nodata is never filled and never
absorbs), then polygons still smaller (regions with no class neighbour, e.g. surrounded by
nodata) are dropped. Imports neither torch nor QGIS.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

from .control import NO_CONTROL, Control
from .errors import DataError, OutputError
from .grid import apply_transform
from .labels import ClassMap
from .raster_io import NODATA, check_output, remove_file, tag_class_map
from .types import PathLike
from .validate import temp_path

if TYPE_CHECKING:
    import rasterio.crs

LAYER_NAME = "classes"

__all__ = ["LAYER_NAME", "vectorize_classes"]


CANCELLED = "vector export cancelled by the user"


def _ring_area(ring: Sequence[Sequence[float]]) -> float:
    xy = np.asarray(ring, dtype=np.float64)[:, :2]
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * abs(float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])))


class _AreaMeter:
    """Polygon area in m²: planar in projected CRSs, geodesic (WGS 84) in geographic ones."""

    def __init__(self, crs: rasterio.crs.CRS) -> None:
        self.geodesic = bool(crs.is_geographic)
        self.factor = 1.0
        if self.geodesic:
            try:
                from pyproj import Geod
            except ImportError as exc:  # pragma: no cover - pyproj ships with QGIS and rasterio
                raise DataError(
                    "polygon areas in a geographic CRS need pyproj: install it, or reproject the "
                    "scene to a projected CRS (e.g. UTM)"
                ) from exc
            self.geod = Geod(ellps="WGS84")
        else:
            factor = crs.linear_units_factor[1] if crs.is_projected else 1.0
            self.factor = float(factor) ** 2

    def ring(self, ring: Sequence[Sequence[float]]) -> float:
        """The area (m²) of a ring of coordinates in the CRS."""
        if self.geodesic:
            xy = np.asarray(ring, dtype=np.float64)
            area, _ = self.geod.polygon_area_perimeter(xy[:, 0], xy[:, 1])
            return abs(float(area))
        return _ring_area(ring) * self.factor

    def polygon(self, geom: dict) -> float:
        rings = geom["coordinates"]
        return max(0.0, self.ring(rings[0]) - sum(self.ring(r) for r in rings[1:]))


def vectorize_classes(
    class_raster: PathLike,
    out_gpkg: PathLike,
    *,
    class_map: Optional[ClassMap] = None,
    min_area_m2: float = 0.0,
    control: Control = NO_CONTROL,
) -> int:
    """Class raster -> polygons in the GeoPackage layer ``classes``; the number written.

    Fields ``class_id``, ``class_name``, ``area_m2``. See the module docstring for ``min_area_m2``.
    ``class_map`` overrides the raster's class tags.
    """
    import fiona
    import rasterio
    from rasterio import features

    src = Path(os.fspath(class_raster))
    out = Path(os.fspath(out_gpkg))
    check_output(out, "--vector")
    if not src.is_file():
        raise DataError(f"class raster {src} does not exist: check the path")
    with rasterio.open(src) as ds:
        data = ds.read(1)
        tags = ds.tags()
        transform, crs = ds.transform, ds.crs
    if crs is None:
        raise DataError(f"{src} has no CRS: polygons need one")
    if class_map is None:
        class_map = tag_class_map(tags, src)
    names = list(class_map.names) if class_map is not None else []
    meter = _AreaMeter(crs)
    mask = data != NODATA
    if min_area_m2 and min_area_m2 > 0 and mask.any():
        cy, cx = data.shape[0] / 2.0, data.shape[1] / 2.0
        px = [
            apply_transform(transform, cx + dx, cy + dy)
            for dx, dy in ((0, 0), (1, 0), (1, 1), (0, 1), (0, 0))
        ]
        pixel_area = meter.ring(px)
        min_pixels = int(math.ceil(min_area_m2 / pixel_area - 1e-9)) if pixel_area > 0 else 0
        if min_pixels > 1:
            data = features.sieve(data, size=min_pixels, mask=mask, connectivity=4)
    control.check(CANCELLED)
    control.report(0.1, "tracing polygons")

    schema = {
        "geometry": "Polygon",
        "properties": {"class_id": "int", "class_name": "str", "area_m2": "float"},
    }
    tmp = temp_path(out, ".tmp.gpkg")
    n = 0
    total = max(1, int(mask.sum()))
    covered = 0
    try:
        with fiona.open(
            tmp, "w", driver="GPKG", layer=LAYER_NAME, schema=schema, crs_wkt=crs.to_wkt()
        ) as sink:
            buffer = []
            for geom, value in features.shapes(
                data, mask=mask, connectivity=4, transform=transform
            ):
                cid = int(value)
                area = meter.polygon(geom)
                covered += 1
                if min_area_m2 and area < min_area_m2:
                    continue
                name = names[cid] if cid < len(names) else str(cid)
                buffer.append(
                    {
                        "geometry": geom,
                        "properties": {"class_id": cid, "class_name": name, "area_m2": area},
                    }
                )
                if len(buffer) >= 1000:
                    control.check(CANCELLED)
                    sink.writerecords(buffer)
                    n += len(buffer)
                    buffer = []
                    control.report(min(0.95, 0.1 + 0.85 * n / total), f"{n} polygons")
            if buffer:
                sink.writerecords(buffer)
                n += len(buffer)
        control.check(CANCELLED)
        os.replace(tmp, out)
    except BaseException as exc:
        for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal")):
            remove_file(p)
        # fiona/GDAL report a failed write (full disk, lost folder) as RuntimeError/FionaError
        if isinstance(exc, (OSError, RuntimeError, fiona.errors.FionaError)):
            raise OutputError(
                f"could not write {out}: {exc}; check that the disk holding {out.parent} has "
                "free space, then run again"
            ) from None
        raise
    control.report(1.0, f"wrote {n} polygons to {out.name}")
    return n

"""Scores of a class raster against reference polygons or a reference class raster.

Imports neither torch nor QGIS (the metrics are in ``metrics.py``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from .errors import LabelError
from .grid import Grid
from .metrics import confusion_matrix, scores
from .raster_io import NODATA, read_class_raster, tag_class_map, value_table
from .types import PathLike

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

__all__ = ["evaluate"]


def _is_raster(path: Path) -> bool:
    import rasterio

    try:
        with rasterio.open(path) as ds:
            return ds.count >= 1
    except rasterio.errors.RasterioIOError:
        return False


def _is_vector(path: Path) -> bool:
    """Whether OGR finds a layer in ``path`` (a model file or a folder of images: no)."""
    import fiona

    try:
        return bool(fiona.listlayers(str(path)))
    except Exception:  # noqa: BLE001 - fiona raises DriverError and friends
        return False


def short_list(items: Sequence[str], limit: int = 10) -> str:
    """``a, b, c`` of the first ``limit`` items, then how many more (messages stay readable)."""
    items = list(items)
    text = ", ".join(items[:limit])
    return text + (f" ... and {len(items) - limit} more" if len(items) > limit else "")


def unmatched_text(unmatched: Dict[str, int], limit: int = 10) -> str:
    """The reference classes the model does not know with their pixels, the largest first."""
    ranked = sorted(unmatched.items(), key=lambda kv: -kv[1])
    return short_list([f"{k} ({v} px)" for k, v in ranked], limit)


# more distinct values than this in a reference raster without a class table: an image, not
# class codes (said when none of them is a class of the model)
_MANY_CODES = 100


def _not_class_raster_hint(path: Path, n_codes: int) -> str:
    """Why the reference raster ``path`` looks like an image rather than class codes, or ""."""
    import rasterio

    with rasterio.open(path) as ds:
        bands, dtype = ds.count, ds.dtypes[0]
    signs = [f"{bands} bands"] if bands > 1 else []
    if n_codes > _MANY_CODES:
        signs.append(f"{n_codes} distinct values in band 1")
    if not signs:
        return ""
    return f". {path} has {', '.join(signs)} ({dtype}): {_NOT_CLASSES}"


_NOT_CLASSES = (
    "it does not look like a class raster (one band of class codes); give a class raster (e.g. "
    "rasterised reference labels) or reference polygons with their class field"
)


def _where(grid: Grid) -> str:
    """``grid``'s bounds and CRS, for messages."""
    west, south, east, north = grid.bounds
    return (
        f"{west:.1f}, {south:.1f}, {east:.1f}, {north:.1f} (west, south, east, north) in {grid.crs}"
    )


def _read_truth_raster(
    path: Path, grid: Grid, prediction: PathLike
) -> Tuple[np.ndarray, Optional[Dict[int, Tuple[str, Any]]]]:
    """(values on ``grid`` as int64 with -1 = nodata, value table from the tags or None).

    A raster on another grid is resampled onto ``grid`` (nearest neighbour); LabelError when it
    covers no pixel of ``grid`` (the grid of the class raster ``prediction``).
    """
    import rasterio
    from rasterio.warp import Resampling, reproject

    def onto_grid(
        source: Union[np.ndarray, rasterio.Band], dtype: DTypeLike, **kwargs: Any
    ) -> np.ndarray:
        """``source`` resampled onto ``grid`` (nearest neighbour; ``kwargs``: reproject's)."""
        out = np.zeros(grid.shape, dtype=dtype)
        reproject(
            source,
            out,
            dst_transform=grid.transform,
            dst_crs=grid.crs,
            resampling=Resampling.nearest,
            **kwargs,
        )
        return out

    with rasterio.open(path) as ds:
        tags = ds.tags()
        nodata = ds.nodata
        if ds.crs is None:
            raise LabelError(f"reference raster {path} has no CRS: assign one")
        own = Grid(ds.crs, ds.transform, ds.width, ds.height)
        if own.same_as(grid):
            data = ds.read(1)
            valid = ds.read_masks(1) > 0
        else:
            data = onto_grid(
                rasterio.band(ds, 1),
                ds.dtypes[0],
                src_nodata=nodata,
                dst_nodata=nodata if nodata is not None else 0,
            )
            # the pixels of ``grid`` the reference covers
            inside = onto_grid(
                np.ones(own.shape, dtype=np.uint8),
                np.uint8,
                src_transform=own.transform,
                src_crs=own.crs,
                dst_nodata=0,
            )
            valid = inside > 0
            if not valid.any():
                raise LabelError(
                    f"the reference {path} and the prediction {prediction} do not overlap: the "
                    f"reference covers {_where(own)}, the prediction {_where(grid)}. Give a "
                    "reference of the mapped area (and check that each raster's CRS is right)"
                )
            if nodata is not None:
                valid &= data != nodata
    values = data.astype(np.float64)
    out = np.full(grid.shape, -1, dtype=np.int64)
    finite = valid & np.isfinite(values) & (values >= 0)
    out[finite] = values[finite].astype(np.int64)
    if np.any(values[finite] != out[finite]):
        raise LabelError(
            f"reference raster {path} holds non-integer values ({data.dtype}): {_NOT_CLASSES}"
        )
    table = value_table(tags, path)
    if table is not None and tag_class_map(tags, path) is not None:
        out[out == NODATA] = -1  # S4 class rasters: 255 = nodata
    return out, table


def evaluate(pred_path: PathLike, truth: PathLike, *, class_field: Optional[str] = None) -> dict:
    """Scores of a class raster against reference polygons or a reference class raster.

    Polygons carry their class in ``class_field``; classes are matched to the prediction's by name
    or value.

    Reference classes the model does not know are left out (listed in ``unmatched``); labelled
    pixels the prediction leaves as nodata are not counted (``unpredicted_pixels``).
    """
    from .labels import rasterize_labels

    pred, class_map, grid = read_class_raster(pred_path)
    truth = Path(os.fspath(truth))
    if not truth.exists():
        raise LabelError(f"reference {truth} does not exist: check the path")
    k = len(class_map)
    mapped = np.full(grid.shape, NODATA, dtype=np.uint8)
    unmatched: Dict[str, int] = {}

    folded = [n.strip().casefold() for n in class_map.names]

    def match(value: object, name: str) -> Optional[int]:
        """By name (exact, then case-insensitive), else by class value (e.g. a crop code)."""
        if name in class_map.names:
            return class_map.names.index(name)
        if name.strip().casefold() in folded:
            return folded.index(name.strip().casefold())
        try:
            return class_map.index_of(value)
        except LabelError:
            return None

    if _is_raster(truth):
        values, table = _read_truth_raster(truth, grid, pred_path)
        codes, counts = np.unique(values[values >= 0], return_counts=True)
        for code, count in zip(codes.tolist(), counts.tolist()):
            if table is not None and code in table:
                label, value = table[code]
                idx = match(value, label)
            else:
                label = str(code)
                idx = match(code, label)
            if idx is None:
                unmatched[label] = unmatched.get(label, 0) + int(count)
            else:
                mapped[values == code] = idx
        source = "raster"
    else:
        if not _is_vector(truth):
            raise LabelError(
                f"the reference {truth} is neither a raster nor a polygon layer GDAL/OGR can "
                "read: give the reference polygons (GeoPackage, shapefile, GeoJSON) with their "
                "class field, or a class raster"
            )
        if not class_field:
            raise LabelError(
                f"{truth} is a polygon layer: give the field that holds the class (--class-field)"
            )
        labels, truth_map, _report = rasterize_labels(truth, class_field, grid)
        hist = np.bincount(labels.ravel(), minlength=256)
        for i, (name, value) in enumerate(zip(truth_map.names, truth_map.values)):
            idx = match(value, name)
            if idx is None:
                unmatched[name] = unmatched.get(name, 0) + int(hist[i])
            else:
                mapped[labels == i] = idx
        source = "polygons"
    labelled = mapped != NODATA
    if not labelled.any():
        known = ", ".join(class_map.names)
        names = sorted(unmatched, key=lambda n: (not n.isdigit(), int(n) if n.isdigit() else 0, n))
        hint = _not_class_raster_hint(truth, len(unmatched)) if source == "raster" else ""
        raise LabelError(
            f"no pixel of the reference {truth} has a class the model knows ({known}) on the "
            f"prediction's grid; unmatched reference classes: {short_list(names) or 'none'}" + hint
        )
    cm = confusion_matrix(pred, mapped, k, ignore=NODATA)
    result = scores(cm, class_map.names)
    result.update(
        confusion_matrix=cm.tolist(),
        class_names=list(class_map.names),
        prediction=str(pred_path),
        truth=str(truth),
        truth_type=source,
        unmatched=unmatched,
        unpredicted_pixels=int((labelled & (pred == NODATA)).sum()),
    )
    return result

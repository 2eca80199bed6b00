"""The reference grid: CRS, affine transform and size, and its windows.

A :class:`Grid` is what every layer is resampled onto (``s4_core.align``). Windows of a grid
are grids themselves (same CRS and resolution, shifted origin), so any reader that takes a
``Grid`` reads a window the same way it reads a whole scene.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence, Tuple, Union

import affine
import rasterio
from rasterio.crs import CRS

from .errors import DataError
from .types import CrsLike, PathLike

Bounds = Tuple[float, float, float, float]


def apply_transform(transform: affine.Affine, x: float, y: float) -> Tuple[float, float]:
    """``transform`` applied to the point ``(x, y)``.

    The same with every affine release: ``transform * (x, y)`` is deprecated from affine 3
    (rasterio 1.4, QGIS 3.40+) and ``transform @ (x, y)`` does not exist in affine 2.
    """
    t = transform
    return (t.a * x + t.b * y + t.c, t.d * x + t.e * y + t.f)


def as_crs(value: CrsLike) -> CRS:
    """A ``rasterio.crs.CRS`` from a CRS, an EPSG code (int), ``"EPSG:XXXX"``, WKT or PROJ text."""
    if isinstance(value, CRS):
        return value
    try:
        if isinstance(value, int):
            return CRS.from_epsg(value)
        text = str(value).strip()
        if text.isdigit():
            return CRS.from_epsg(int(text))
        return CRS.from_user_input(text)
    except Exception as exc:  # rasterio raises CRSError; keep the message for the user
        raise DataError(
            f"cannot understand the CRS {value!r} ({exc}); give it as 'EPSG:32631' or WKT"
        ) from exc


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid: ``crs``, ``transform`` (pixel -> CRS), ``width``, ``height``."""

    crs: CRS
    transform: affine.Affine
    width: int
    height: int

    def __post_init__(self) -> None:
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise DataError(f"grid size must be positive, got {self.width} x {self.height}")
        object.__setattr__(self, "crs", as_crs(self.crs))
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))
        if not isinstance(self.transform, affine.Affine):
            object.__setattr__(self, "transform", affine.Affine(*list(self.transform)[:6]))

    # -- geometry -------------------------------------------------------------------------
    @property
    def res(self) -> Tuple[float, float]:
        """Pixel size ``(x, y)`` in CRS units (both positive)."""
        t = self.transform
        return (math.hypot(t.a, t.d), math.hypot(t.b, t.e))

    @property
    def bounds(self) -> Bounds:
        """``(left, bottom, right, top)`` in CRS units."""
        t = self.transform
        w, h = self.width, self.height
        corners = [apply_transform(t, x, y) for x, y in ((0, 0), (w, 0), (0, h), (w, h))]
        xs = [c[0] for c in corners]
        ys = [c[1] for c in corners]
        return (min(xs), min(ys), max(xs), max(ys))

    @property
    def shape(self) -> Tuple[int, int]:
        """``(height, width)``."""
        return (self.height, self.width)

    def window(self, row: int, col: int, height: int, width: int) -> Grid:
        """The sub-grid whose top-left pixel is ``(row, col)`` of this grid (may extend past it)."""
        t = self.transform
        x, y = apply_transform(t, col, row)  # = transform * translation(col, row), any affine
        return Grid(self.crs, affine.Affine(t.a, t.b, x, t.d, t.e, y), width, height)

    def iter_windows(self, block: int = 512) -> Iterator[Tuple[int, int, Grid]]:
        """``(row, col, window)`` tiles of at most ``block`` x ``block`` px covering the grid."""
        if block <= 0:
            raise ValueError(f"block must be positive, got {block}")
        for row in range(0, self.height, block):
            for col in range(0, self.width, block):
                h = min(block, self.height - row)
                w = min(block, self.width - col)
                yield row, col, self.window(row, col, h, w)

    def offset_in(self, parent: Grid) -> Tuple[int, int] | None:
        """The ``(row, col)`` of this grid's origin in ``parent``, or None.

        None unless this grid is an integer-pixel window of ``parent`` (same CRS and pixel size).
        """
        if self.crs != parent.crs:
            return None
        a, p = self.transform, parent.transform
        if not all(
            math.isclose(x, y, rel_tol=0, abs_tol=1e-9 * max(1.0, abs(y)))
            for x, y in zip((a.a, a.b, a.d, a.e), (p.a, p.b, p.d, p.e))
        ):
            return None
        col_f, row_f = apply_transform(~p, a.c, a.f)
        col, row = round(col_f), round(row_f)
        if abs(col - col_f) > 1e-6 or abs(row - row_f) > 1e-6:
            return None
        return int(row), int(col)

    def covering(
        self, bounds: Sequence[float], resolution: Optional[Tuple[float, float]] = None
    ) -> Grid:
        """The part of this grid's pixel lattice that covers ``bounds`` (left bottom right top).

        In this grid's CRS; edges are moved outwards onto the lattice (``resolution``: its pixel
        size instead of this grid's, same origin), so the pixels are this grid's, not resampled.
        Assumes a north-up grid.
        """
        left, bottom, right, top = (float(v) for v in bounds)
        if right <= left or top <= bottom:
            raise DataError(f"bounds {tuple(bounds)} are empty: give them as left bottom right top")
        xres, yres = resolution if resolution is not None else self.res
        x0, y0 = self.transform.c, self.transform.f
        col0 = math.floor((left - x0) / xres + 1e-6)
        col1 = math.ceil((right - x0) / xres - 1e-6)
        row0 = math.floor((y0 - top) / yres + 1e-6)
        row1 = math.ceil((y0 - bottom) / yres - 1e-6)
        transform = affine.Affine(xres, 0.0, x0 + col0 * xres, 0.0, -yres, y0 - row0 * yres)
        return Grid(self.crs, transform, max(1, col1 - col0), max(1, row1 - row0))

    def same_as(self, other: Grid) -> bool:
        """True when both grids are the same pixels (tolerant to float noise in the transform)."""
        return self.shape == other.shape and self.offset_in(other) == (0, 0)

    # -- constructors ---------------------------------------------------------------------
    @classmethod
    def from_raster(cls, path: PathLike) -> Grid:
        """The grid of a raster file."""
        try:
            with rasterio.open(path) as ds:
                if ds.crs is None:
                    raise DataError(
                        f"{path} has no CRS; assign one (e.g. gdal_edit.py -a_srs EPSG:32631)"
                    )
                return cls(ds.crs, ds.transform, ds.width, ds.height)
        except rasterio.errors.RasterioIOError as exc:
            raise DataError(f"cannot read {path}: {exc}") from exc

    @classmethod
    def from_bounds(
        cls, crs: CrsLike, bounds: Sequence[float], resolution: Union[float, Sequence[float]]
    ) -> Grid:
        """A north-up grid covering ``bounds`` (left, bottom, right, top) at ``resolution``.

        The origin is the top-left corner; the size is rounded up to whole pixels.
        """
        left, bottom, right, top = (float(v) for v in bounds)
        if right <= left or top <= bottom:
            raise DataError(f"bounds {tuple(bounds)} are empty: give them as left bottom right top")
        if isinstance(resolution, (int, float)):
            xres = yres = float(resolution)
        else:
            xres, yres = (float(v) for v in resolution)
        if xres <= 0 or yres <= 0:
            raise DataError(f"resolution must be positive, got {resolution}")
        width = max(1, math.ceil((right - left) / xres - 1e-6))
        height = max(1, math.ceil((top - bottom) / yres - 1e-6))
        return cls(as_crs(crs), affine.Affine(xres, 0.0, left, 0.0, -yres, top), width, height)

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-friendly form: CRS as ``"EPSG:n"`` when it has a code, else WKT."""
        epsg = self.crs.to_epsg()
        crs = f"EPSG:{epsg}" if epsg is not None else self.crs.to_wkt()
        return {
            "crs": crs,
            "transform": [float(v) for v in tuple(self.transform)[:6]],
            "width": self.width,
            "height": self.height,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Grid:
        """The grid of :meth:`to_dict`'s output."""
        return cls(as_crs(d["crs"]), affine.Affine(*d["transform"][:6]), d["width"], d["height"])

    def __repr__(self) -> str:
        epsg = self.crs.to_epsg()
        crs = f"EPSG:{epsg}" if epsg is not None else "custom CRS"
        xres, yres = self.res
        return f"Grid({self.width} x {self.height} px, {xres:g} x {yres:g}, {crs}, bounds={self.bounds})"

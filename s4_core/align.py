"""Spatial and temporal alignment of S1 and S2 time series (paper section 5).

Spatial: every layer is resampled onto one reference :class:`~s4_core.grid.Grid` (default the
S2 grid) — bilinear for measurements, nearest for the SCL classes — reading only the source
window that covers the requested window (plus a margin for the resampling kernel). A window
that is an integer-pixel window of the source grid is read directly, without resampling.
Radiometry (reflectance / dB, validity) is applied before resampling; invalid source pixels
do not contribute to resampled values.

Temporal (:func:`align_in_time`): the shorter series is kept unchanged (equal lengths: S1, as
in the paper); for each of its dates the other modality's nearest acquisition is taken (ties:
the earlier). Gaps are reported in days; with ``max_gap_days`` frames beyond it are invalid.

Fixed length for batching (:func:`fixed_length_indices`): the paper repeats the last frame of
shorter series and clips longer ones to the 90th-percentile length (:func:`percentile_length`).
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union, cast

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.warp import calculate_default_transform, reproject, transform_bounds
from rasterio.windows import Window

from . import radiometry
from .control import NO_CONTROL, Control
from .errors import DataError, OutputError, unreadable_pixels, warn
from .grid import Grid, apply_transform, as_crs
from .raster_io import RasterWriter
from .series import Acquisition, TimeSeries, open_dataset
from .types import CrsLike, PathLike, SceneLike, override

MODALITIES = ("s1", "s2")

#: Resampling used for measurement bands and for class/mask bands (SCL).
MEASUREMENT_RESAMPLING = Resampling.bilinear
CLASS_RESAMPLING = Resampling.nearest

SENSOR_NAMES = {"s1": "Sentinel-1", "s2": "Sentinel-2"}
UNITS = {"s1": "sigma0 backscatter, dB", "s2": "reflectance"}


# ------------------------------------------------------------------------------------------
# Temporal alignment
# ------------------------------------------------------------------------------------------
@dataclass
class TemporalAlignment:
    """Frame t pairs ``s1_index[t]`` with ``s2_index[t]`` (indexes into each series' dates).

    ``reference``: the modality kept unchanged; ``dates``: its dates (the frame dates);
    ``gap_days``: |reference date - other date| per frame; ``valid``: gap within the maximum.
    """

    reference: str
    dates: List[_dt.date]
    s1_index: np.ndarray
    s2_index: np.ndarray
    gap_days: np.ndarray
    valid: np.ndarray

    def __len__(self) -> int:
        return len(self.dates)

    def index(self, modality: str) -> np.ndarray:
        """The indices of the ``modality`` ("s1" or "s2") acquisitions paired with each date."""
        return self.s1_index if modality == "s1" else self.s2_index


def _days(d: object) -> float:
    if isinstance(d, _dt.datetime):
        return d.toordinal() + (d.hour * 3600 + d.minute * 60 + d.second) / 86400.0
    if isinstance(d, _dt.date):
        return float(d.toordinal())
    if isinstance(d, np.datetime64):
        return float(d.astype("datetime64[s]").astype(np.int64)) / 86400.0 + 719163.0
    raise TypeError(f"not a date: {d!r}")


def nearest_indices(ref_days: np.ndarray, other_days: np.ndarray) -> np.ndarray:
    """Per reference day, the index of the nearest of ``other_days``.

    Ties go to the earlier acquisition; among equal dates the first is taken.
    """
    other_days = np.asarray(other_days, dtype=np.float64)
    ref_days = np.asarray(ref_days, dtype=np.float64)
    order = np.argsort(other_days, kind="stable")
    o = other_days[order]
    pos = np.searchsorted(o, ref_days, side="left")
    right = np.clip(pos, 0, len(o) - 1)
    left = np.clip(pos - 1, 0, len(o) - 1)
    d_right = np.where(pos < len(o), o[right] - ref_days, np.inf)
    d_left = np.where(pos > 0, ref_days - o[left], np.inf)
    chosen = np.where(d_left <= d_right, left, right)  # ties -> the earlier acquisition
    # among equal dates take the first one in sorted order
    chosen = np.searchsorted(o, o[chosen], side="left")
    return order[chosen]


def align_in_time(
    s1_dates: Sequence, s2_dates: Sequence, max_gap_days: Optional[float] = None
) -> TemporalAlignment:
    """The paper's nearest-timestamp alignment of two series' dates.

    The shorter series is kept and each of its dates paired with the other modality's nearest
    acquisition (ties: the earlier).
    """
    if len(s1_dates) == 0 or len(s2_dates) == 0:
        raise DataError(
            f"cannot align in time: the S1 series has {len(s1_dates)} dates and the S2 series "
            f"{len(s2_dates)}; both need at least one"
        )
    d1 = np.array([_days(d) for d in s1_dates])
    d2 = np.array([_days(d) for d in s2_dates])
    if len(d1) <= len(d2):
        reference, ref, other = "s1", d1, d2
        ref_dates = list(s1_dates)
    else:
        reference, ref, other = "s2", d2, d1
        ref_dates = list(s2_dates)
    pick = nearest_indices(ref, other)
    keep = np.arange(len(ref))
    gap = np.abs(other[pick] - ref)
    valid = np.ones(len(ref), dtype=bool) if max_gap_days is None else gap <= float(max_gap_days)
    s1_index, s2_index = (keep, pick) if reference == "s1" else (pick, keep)
    dates = [d.date() if isinstance(d, _dt.datetime) else d for d in ref_dates]
    return TemporalAlignment(
        reference, dates, s1_index.astype(np.int64), s2_index.astype(np.int64), gap, valid
    )


def percentile_length(lengths: Sequence[int], q: float = 90, *, multiple: int = 1) -> int:
    """The ``q``-th percentile of series lengths, rounded up to a multiple of ``multiple``.

    Numpy's linear percentile, rounded up, then rounded up to a multiple of ``multiple`` (e.g. 4 for
    a 3D U-Net that halves T twice).
    """
    if len(lengths) == 0:
        raise ValueError("percentile_length needs at least one length")
    n = int(math.ceil(float(np.percentile(np.asarray(lengths, dtype=np.float64), q)) - 1e-9))
    n = max(1, n)
    if multiple > 1:
        n = int(math.ceil(n / multiple) * multiple)
    return n


def fixed_length_indices(
    n: int, length: int, mode: str = "repeat"
) -> Tuple[np.ndarray, np.ndarray]:
    """Frame indices (into ``0..n-1``) and a frame-valid mask, both of length ``length``.

    - ``"repeat"`` / ``"clip"`` (the paper's rule; the two names are synonyms): a longer series
      keeps its first ``length`` frames; a shorter one repeats its last frame, the repeats
      marked invalid in the mask.
    - ``"even"``: a longer series takes ``length`` evenly spaced frames (first and last
      included, e.g. for inference on long series); a shorter one repeats as above.
    Padding is explicit in the mask, never inferred from pixel values.
    """
    if n <= 0:
        raise ValueError(f"cannot fix the length of an empty series (n={n})")
    if length <= 0:
        raise ValueError(f"length must be positive, got {length}")
    if mode not in ("repeat", "clip", "even"):
        raise ValueError(f"unknown mode {mode!r}: use 'repeat', 'clip' or 'even'")
    if n >= length:
        if mode == "even" and n > length:
            if length == 1:
                idx = np.zeros(1, dtype=np.int64)
            else:
                idx = np.round(np.linspace(0, n - 1, length)).astype(np.int64)
        else:
            idx = np.arange(length, dtype=np.int64)
        return idx, np.ones(length, dtype=bool)
    idx = np.concatenate([np.arange(n), np.full(length - n, n - 1)]).astype(np.int64)
    valid = np.arange(length) < n
    return idx, valid


# ------------------------------------------------------------------------------------------
# Spatial alignment: reading one acquisition onto a grid window
# ------------------------------------------------------------------------------------------
def _read_source(ds: rasterio.io.DatasetReader, indexes: List[int], window: Window) -> np.ndarray:
    """Read ``indexes`` of ``window`` from an open dataset (a seam for tests)."""
    try:
        return ds.read(indexes, window=window)
    except Exception as exc:
        raise unreadable_pixels(ds.name, exc) from exc


def _source_grid(ds: rasterio.io.DatasetReader) -> Grid:
    """The grid of an open dataset; DataError when it has no CRS."""
    if ds.crs is None:
        raise DataError(f"{ds.name} has no CRS; assign one (e.g. gdal_edit.py -a_srs EPSG:32631)")
    return Grid(ds.crs, ds.transform, ds.width, ds.height)


def _bounds_in(grid: Grid, crs: rasterio.crs.CRS) -> Tuple[float, float, float, float]:
    """The bounds of ``grid`` in ``crs``."""
    if grid.crs == crs:
        return grid.bounds
    return transform_bounds(grid.crs, crs, *grid.bounds, densify_pts=21)


def read_acquisition(
    series: TimeSeries, acq: Acquisition, grid: Grid
) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """One acquisition of ``series`` resampled onto ``grid``.

    Returns float32 ``(C, h, w)`` in reflectance/dB with NaN where invalid (nodata, NaN, SCL cloud),
    and its SCL classes ``(h, w)`` uint8 (0 outside the file) or None. Reads only the source window
    that covers ``grid``.
    """
    ds = open_dataset(acq.path)
    src = _source_grid(ds)
    indexes = list(acq.band_indexes)
    scl_i = acq.scl_index
    read_idx = indexes + ([scl_i] if scl_i is not None else [])
    nb = len(indexes)
    out = np.full((nb, grid.height, grid.width), np.nan, dtype=np.float32)
    scl_out = np.zeros((grid.height, grid.width), dtype=np.uint8) if scl_i is not None else None

    def physical(raw: np.ndarray) -> np.ndarray:
        return radiometry.to_physical(
            raw[:nb],
            series.sensor,
            acq.nodata,
            linear=series.linear if acq.linear is None else acq.linear,
            scale=series.scale,
            offset=series.offset,
            scl=raw[nb] if scl_i is not None else None,
        )

    offset = grid.offset_in(src)
    if offset is not None:  # same pixels: direct windowed read, no resampling
        row, col = offset
        r0, c0 = max(row, 0), max(col, 0)
        r1, c1 = min(row + grid.height, src.height), min(col + grid.width, src.width)
        if r1 <= r0 or c1 <= c0:
            return out, scl_out
        raw = _read_source(ds, read_idx, Window(c0, r0, c1 - c0, r1 - r0))
        ys, xs = slice(r0 - row, r1 - row), slice(c0 - col, c1 - col)
        out[:, ys, xs] = physical(raw)
        if scl_out is not None:
            scl_out[ys, xs] = np.clip(raw[nb], 0, 255).astype(np.uint8)
        return out, scl_out

    # resampling path: source window covering the target (plus the kernel's margin)
    left, bottom, right, top = _bounds_in(grid, ds.crs)
    # the source pixels of the bounds' corners: any geotransform (north-up, south-up, rotated)
    inverse = ~ds.transform
    corners = [
        apply_transform(inverse, *xy)
        for xy in ((left, top), (right, top), (right, bottom), (left, bottom))
    ]
    cols = [c for c, _ in corners]
    rows = [r for _, r in corners]
    sx, sy = src.res
    scale = max(
        1.0, (right - left) / max(grid.width, 1) / sx, (top - bottom) / max(grid.height, 1) / sy
    )
    pad = 2 + int(math.ceil(2 * scale))
    c0 = max(int(math.floor(min(cols))) - pad, 0)
    r0 = max(int(math.floor(min(rows))) - pad, 0)
    c1 = min(int(math.ceil(max(cols))) + pad, src.width)
    r1 = min(int(math.ceil(max(rows))) + pad, src.height)
    if c1 <= c0 or r1 <= r0:
        return out, scl_out
    win = Window(c0, r0, c1 - c0, r1 - r0)
    raw = _read_source(ds, read_idx, win)
    src_transform = ds.window_transform(win)
    values = physical(raw)
    reproject(
        values,
        out,
        src_transform=src_transform,
        src_crs=ds.crs,
        src_nodata=np.nan,
        dst_transform=grid.transform,
        dst_crs=grid.crs,
        dst_nodata=np.nan,
        resampling=MEASUREMENT_RESAMPLING,
    )
    if scl_out is not None:
        scl_src = np.clip(raw[nb], 0, 255).astype(np.uint8)
        reproject(
            scl_src,
            scl_out,
            src_transform=src_transform,
            src_crs=ds.crs,
            src_nodata=0,
            dst_transform=grid.transform,
            dst_crs=grid.crs,
            dst_nodata=0,
            resampling=CLASS_RESAMPLING,
        )
        out[:, ~radiometry.scl_clear(scl_out)] = np.nan
    bad = ~np.isfinite(out).all(axis=0)
    out[:, bad] = np.nan
    return out, scl_out


def frame_selection(frames: Union[None, Sequence[int], np.ndarray], n_frames: int) -> np.ndarray:
    """``frames`` (None: all ``n_frames``) as an int64 index array, checked to be in range."""
    if frames is None:
        return np.arange(n_frames, dtype=np.int64)
    index = np.asarray(frames, dtype=np.int64).reshape(-1)
    if index.size and (index.min() < 0 or index.max() >= n_frames):
        raise IndexError(f"frame index out of range 0..{n_frames - 1}")
    return index


def frame_info(scene: SceneLike, frames: np.ndarray) -> Dict[str, object]:
    """What every ``read`` returns beside the pixels: ``frame_valid`` and ``dates``.

    Of ``frames``, for a ``Scene`` or anything with the same frame interface.
    """
    all_dates = scene.dates
    return {
        "frame_valid": scene.frame_valid[frames],
        "dates": [all_dates[i] for i in frames],
    }


# ------------------------------------------------------------------------------------------
# Scene: a reference grid plus aligned series
# ------------------------------------------------------------------------------------------
def zero_invalid(values: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """``values`` ``(C, h, w)`` with pixels not finite in every band set to 0, and validity ``(h, w)``."""
    valid = np.isfinite(values).all(axis=0)
    values[:, ~valid] = 0.0
    return values, valid


class FrameReader:
    """The ``read`` of every scene: per modality its frames' pixels and validity, + frame_info.

    A scene supplies ``grid``, ``modalities``, ``n_frames``, ``dates``, ``frame_valid`` and
    ``read_frames`` (how one modality's frames are made: aligned acquisitions, composites ...).
    """

    def read(
        self,
        window: Optional[Grid] = None,
        modalities: Optional[Sequence[str]] = None,
        frames: Optional[np.ndarray] = None,
    ) -> Dict[str, Any]:
        """Frames on ``window`` (None: the whole grid).

        Returns, per modality m: ``m`` float32 ``(T, C, h, w)`` (invalid pixels 0) and
        ``m + "_valid"`` bool ``(T, h, w)``; plus ``"frame_valid"`` bool ``(T,)`` and ``"dates"``
        (frame dates). ``frames`` selects frame indices (may repeat).
        """
        scene = cast("SceneLike", self)
        grid = window or scene.grid
        mods = list(modalities) if modalities is not None else scene.modalities
        frames = frame_selection(frames, scene.n_frames)
        out: Dict[str, Any] = {}
        for m in mods:
            out[m], out[m + "_valid"] = self.read_frames(m, grid, frames)
        out.update(frame_info(scene, frames))
        return out

    def read_frames(
        self, modality: str, grid: Grid, frames: np.ndarray
    ) -> Tuple[np.ndarray, np.ndarray]:
        """Override: float32 ``(T, C, h, w)`` (invalid 0) and bool ``(T, h, w)`` of ``frames``."""
        raise NotImplementedError


class Scene(FrameReader):
    """S1 and/or S2 series on one reference grid, aligned in time.

    Frames are the alignment's frames (the shorter series' dates) or, for a single-modality
    scene, that series' dates. Picklable (it holds paths, not open files).
    """

    def __init__(
        self,
        grid: Grid,
        s1: Optional[TimeSeries] = None,
        s2: Optional[TimeSeries] = None,
        alignment: Optional[TemporalAlignment] = None,
    ) -> None:
        if s1 is None and s2 is None:
            raise DataError("a scene needs an S1 or an S2 series (or both)")
        if s1 is not None and s2 is not None and alignment is None:
            alignment = align_in_time(s1.dates, s2.dates)
        self.grid = grid
        self.s1 = s1
        self.s2 = s2
        self.alignment = alignment

    # -- frames ---------------------------------------------------------------------------
    @property
    def modalities(self) -> List[str]:
        """The modalities this scene has ("s1", "s2")."""
        return [m for m in MODALITIES if getattr(self, m) is not None]

    def series(self, modality: str) -> TimeSeries:
        """The ``modality`` series; DataError when the scene has none."""
        s = getattr(self, modality, None) if modality in MODALITIES else None
        if s is None:
            raise DataError(
                f"this scene has no {modality!r} series (it has {self.modalities}); "
                "give that modality's images"
            )
        return s

    @property
    def reference(self) -> str:
        """The modality whose dates are the frame dates."""
        return self.alignment.reference if self.alignment is not None else self.modalities[0]

    @property
    def dates(self) -> List[_dt.date]:
        """The frame dates (the reference modality's acquisition dates)."""
        if self.alignment is not None:
            return list(self.alignment.dates)
        return self.series(self.modalities[0]).dates

    @property
    def n_frames(self) -> int:
        """The number of frames."""
        return len(self.dates)

    @property
    def frame_valid(self) -> np.ndarray:
        """Bool ``(n_frames,)``: False where the pair's gap exceeds ``max_gap_days``."""
        if self.alignment is not None:
            return self.alignment.valid.copy()
        return np.ones(self.n_frames, dtype=bool)

    @property
    def gap_days(self) -> np.ndarray:
        """Per frame, the days between the paired S1 and S2 acquisitions (0 for one modality)."""
        if self.alignment is not None:
            return self.alignment.gap_days.copy()
        return np.zeros(self.n_frames)

    def frame_index(self, modality: str) -> np.ndarray:
        """Per frame, the index of the modality's acquisition used."""
        self.series(modality)
        if self.alignment is not None:
            return self.alignment.index(modality).copy()
        return np.arange(self.n_frames, dtype=np.int64)

    def acquisition_dates(self, modality: str) -> List[_dt.date]:
        """Per frame, the date of the modality's acquisition used."""
        d = self.series(modality).dates
        return [d[i] for i in self.frame_index(modality)]

    # -- reading --------------------------------------------------------------------------
    def read_acquisition(
        self, modality: str, index: int, window: Optional[Grid] = None
    ) -> Tuple[np.ndarray, np.ndarray]:
        """Acquisition ``index`` of a modality on ``window``.

        Returns float32 ``(C, h, w)`` (invalid -> 0) and its validity ``(h, w)``.
        """
        series = self.series(modality)
        values, _ = read_acquisition(series, series.acquisitions[int(index)], window or self.grid)
        return zero_invalid(values)

    @override
    def read_frames(
        self, modality: str, grid: Grid, frames: np.ndarray
    ) -> Tuple[np.ndarray, np.ndarray]:
        """The aligned acquisitions of ``frames``, each acquisition read once."""
        series = self.series(modality)
        acq_idx = self.frame_index(modality)[frames]
        data = np.zeros((len(frames), len(series.band_names), grid.height, grid.width), np.float32)
        valid = np.zeros((len(frames), grid.height, grid.width), dtype=bool)
        for a in np.unique(acq_idx):
            values, ok = self.read_acquisition(modality, int(a), grid)
            where = np.nonzero(acq_idx == a)[0]
            data[where] = values
            valid[where] = ok
        return data, valid

    def describe(self) -> dict:
        """A JSON-friendly summary: grid, reference, frames and each series' source and dates."""
        xres, yres = self.grid.res
        d = {
            "frames": self.n_frames,
            "modalities": self.modalities,
            "reference": self.reference,
            "grid": self.grid.to_dict(),
            "width": self.grid.width,
            "height": self.grid.height,
            "resolution": [xres, yres],
        }
        for m in self.modalities:
            d[m] = self.series(m).describe()
        return d

    def __repr__(self) -> str:
        parts = ", ".join(f"{m}={len(self.series(m))} dates" for m in self.modalities)
        return f"Scene({self.n_frames} frames, {parts}, {self.grid!r})"


def _overlaps(a: Tuple[float, ...], b: Tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


# Below these, the run goes on with a warning: too few dates for a temporal model, or one
# series covering little of the other's grid (the rest of the map has no data of it).
MIN_DATES = 4
MIN_COVERAGE = 0.8


def _coverage(a: Tuple[float, ...], grid: Tuple[float, ...]) -> float:
    """Fraction of the box ``grid`` covered by the box ``a``."""
    w = max(0.0, min(a[2], grid[2]) - max(a[0], grid[0]))
    h = max(0.0, min(a[3], grid[3]) - max(a[1], grid[1]))
    area = (grid[2] - grid[0]) * (grid[3] - grid[1])
    return w * h / area if area > 0 else 0.0


def _check_overlap(series: TimeSeries, grid: Grid) -> TimeSeries:
    keep, outside = [], []
    coverage = 0.0
    for i, acq in enumerate(series.acquisitions):
        src = _source_grid(open_dataset(acq.path))
        b = _bounds_in(src, grid.crs) if src.crs != grid.crs else src.bounds
        if _overlaps(b, grid.bounds):
            keep.append(i)
            coverage = max(coverage, _coverage(b, grid.bounds))
        else:
            outside.append((acq, b))
    if not keep:
        acq, b = outside[0]
        raise DataError(
            f"{series.sensor.upper()} image {acq.path} does not overlap the reference grid: it "
            f"covers {tuple(round(v, 6) for v in b)} but the grid covers "
            f"{tuple(round(v, 6) for v in grid.bounds)} (in {grid.crs.to_string()}); check the "
            "bounds/CRS, or that the S1 and S2 images show the same place"
        )
    if keep and coverage < MIN_COVERAGE:
        warn(
            f"the {series.sensor.upper()} images {series.source} cover only "
            f"{100 * coverage:.0f} % of the map's grid (the rest has no "
            f"{series.sensor.upper()} data): check that the Sentinel-1 and Sentinel-2 images "
            "show the same area"
        )
    if outside:
        radiometry.warn(
            f"{len(outside)} {series.sensor.upper()} image(s) do not overlap the reference grid "
            f"and are left out: {', '.join(str(a.path) for a, _ in outside[:5])}"
        )
        return series.subset(keep)
    return series


def _check_length(series: TimeSeries) -> None:
    dates = len(set(series.dates))
    if dates < MIN_DATES:
        warn(
            f"the {series.sensor.upper()} series {series.source} has {dates} date(s): S4 learns "
            f"from how the fields change over time, so with fewer than {MIN_DATES} dates the map "
            f"will be poor: give {MIN_DATES} or more dates across the season"
        )


def build_scene(
    s1: Optional[TimeSeries] = None,
    s2: Optional[TimeSeries] = None,
    *,
    grid: Optional[Grid] = None,
    crs: Optional[CrsLike] = None,
    resolution: Optional[Union[float, Tuple[float, float]]] = None,
    bounds: Optional[Sequence[float]] = None,
    max_gap_days: Optional[float] = None,
) -> Scene:
    """A :class:`Scene` of ``s1`` and/or ``s2`` on a reference grid.

    The grid is ``grid``, else S2's grid (S1's without S2), with ``crs`` / ``resolution`` /
    ``bounds`` (in ``crs``, else the base grid's CRS) overriding it.

    Raises :class:`DataError` when a series does not overlap the grid at all; images of a series
    that do not overlap it are left out with a warning.
    """
    for name, s in (("S1", s1), ("S2", s2)):
        if s is not None and len(s) == 0:
            raise DataError(f"the {name} series {s.source} has no acquisitions left")
    if s1 is None and s2 is None:
        raise DataError("give an S1 series, an S2 series or both")
    if s1 is not None and s1.sensor != "s1":
        raise DataError(f"{s1.source} is a {s1.sensor.upper()} series, given as S1")
    if s2 is not None and s2.sensor != "s2":
        raise DataError(f"{s2.source} is a {s2.sensor.upper()} series, given as S2")
    if grid is None:
        first = s2 if s2 is not None else s1
        assert first is not None  # checked above
        base = first.grid()
        if crs is not None or resolution is not None or bounds is not None:
            dst_crs = as_crs(crs) if crs is not None else base.crs
            if bounds is not None:
                b = tuple(float(v) for v in bounds)
                if len(b) != 4:
                    raise DataError(f"bounds need 4 numbers (left bottom right top), got {bounds}")
            else:
                b = _bounds_in(base, dst_crs)
            if resolution is not None:
                res = resolution
            elif dst_crs == base.crs:
                res = base.res
            else:
                t, _, _ = calculate_default_transform(
                    base.crs, dst_crs, base.width, base.height, *base.bounds
                )
                res = (abs(t.a), abs(t.e))
            grid = Grid.from_bounds(dst_crs, b, res)
        else:
            grid = base
    if s1 is not None:
        s1 = _check_overlap(s1, grid)
        _check_length(s1)
    if s2 is not None:
        s2 = _check_overlap(s2, grid)
        _check_length(s2)
    alignment = None
    if s1 is not None and s2 is not None:
        alignment = align_in_time(s1.dates, s2.dates, max_gap_days)
    return Scene(grid, s1, s2, alignment)


# ------------------------------------------------------------------------------------------
# Writing aligned stacks
# ------------------------------------------------------------------------------------------
DATES_CSV_COLUMNS = (
    "frame",
    "date",
    "s1_date",
    "s2_date",
    "gap_days",
    "valid",
    "s2_cloud_fraction",
    "s1_valid_fraction",
    "s2_valid_fraction",
)


def _fmt(v: float, digits: int = 6) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if float(v).is_integer():
        return str(int(v))
    return f"{v:.{digits}f}".rstrip("0").rstrip(".")


def write_aligned(
    scene: Scene,
    out_dir: PathLike,
    *,
    control: Control = NO_CONTROL,
    block: int = 512,
    compress: Optional[str] = "deflate",
) -> Dict[str, Path]:
    """Write the aligned stacks (``s1_aligned.tif``, ``s2_aligned.tif``) and ``dates.csv``.

    Stacks are float32 GeoTIFFs on the scene grid, one band per (frame, band) described
    ``YYYY-MM-DD_BAND`` with the FRAME date (the source acquisition's date is in the band tag
    ``SOURCE_DATE`` and in ``dates.csv``), NaN = invalid (nodata, cloud, and the non-reference
    modality of frames beyond ``max_gap_days``). They re-read as stack sources with
    :func:`~s4_core.series.open_series`. Written window by window (``block`` px), each source
    acquisition read once per window; outputs appear atomically (temporary files, then
    ``os.replace``); nothing remains on error or cancel.

    Returns ``{"s1": path, "s2": path, "dates_csv": path}`` (modalities present only).
    """
    out_dir = Path(out_dir)
    new = [p for p in (out_dir, *out_dir.parents) if not p.exists()]  # removed again on failure
    out_dir.mkdir(parents=True, exist_ok=True)
    mods = scene.modalities
    windows = list(scene.grid.iter_windows(block))
    uniques = {m: np.unique(scene.frame_index(m)) for m in mods}
    total = max(1, sum(len(uniques[m]) for m in mods) * len(windows))
    every = max(1, total // 200)  # at most ~200 progress reports
    frame_valid = scene.frame_valid
    reference = scene.reference
    npix = float(scene.grid.width * scene.grid.height)
    valid_count = {m: np.zeros(scene.n_frames) for m in mods}
    cloud_count: Dict[int, float] = {}
    tag = uuid.uuid4().hex[:8]
    tmp: Dict[str, Path] = {}
    final: Dict[str, Path] = {}
    writers: Dict[str, RasterWriter] = {}
    done = 0
    try:
        with rasterio.Env(GDAL_CACHEMAX=256 * 1024 * 1024):
            for m in mods:
                series = scene.series(m)
                names = series.band_names
                nb = len(names)
                final[m] = out_dir / f"{m}_aligned.tif"
                acq_idx = scene.frame_index(m)
                frame_dates = scene.dates
                descriptions, band_tags = [], {}
                for t in range(scene.n_frames):
                    acq = series.acquisitions[int(acq_idx[t])]
                    for c, name in enumerate(names):
                        descriptions.append(f"{frame_dates[t].isoformat()}_{name}")
                        band_tags[t * nb + c + 1] = {
                            "SOURCE_DATE": acq.date.isoformat(),
                            "SOURCE_FILE": acq.path.name,
                        }
                dst = writers[m] = RasterWriter(
                    final[m], scene.grid, scene.n_frames * nb, "float32", float("nan"),
                    descriptions=descriptions, band_tags=band_tags, compress=compress, fast=True,
                    tags={"SENSOR": SENSOR_NAMES[m], "UNITS": UNITS[m], "S4_ALIGNED": "1",
                          "S4_REFERENCE": reference, "S4_BANDS": ",".join(names)},
                )  # fmt: skip
                for a in uniques[m]:
                    frames = np.nonzero(acq_idx == a)[0]
                    for row, col, win in windows:
                        control.check("alignment cancelled; no output was written")
                        values, scl = read_acquisition(series, series.acquisitions[int(a)], win)
                        ok = np.isfinite(values).all(axis=0)
                        if m == "s2" and scl is not None:
                            cloud_count[int(a)] = cloud_count.get(int(a), 0.0) + float(
                                np.isin(scl, radiometry.SCL_INVALID).sum()
                            )
                        for t in frames:
                            if not frame_valid[t] and m != reference:
                                data = np.full_like(values, np.nan)
                            else:
                                data = values
                                valid_count[m][t] += float(ok.sum())
                            dst.write(
                                data, row, col, indexes=list(range(t * nb + 1, t * nb + nb + 1))
                            )
                        done += 1
                        if done == total or done % every == 0:
                            control.report(
                                done / total,
                                f"aligning {m.upper()} {series.acquisitions[int(a)].date}",
                            )
        for m in mods:  # a full disk can leave a truncated stack without a GDAL error
            writers[m].check()
        # dates.csv
        final["dates_csv"] = out_dir / "dates.csv"
        tmp["dates_csv"] = out_dir / f".dates.{tag}.tmp.csv"
        s1_dates = scene.acquisition_dates("s1") if "s1" in mods else None
        s2_dates = scene.acquisition_dates("s2") if "s2" in mods else None
        s2_idx = scene.frame_index("s2") if "s2" in mods else None
        gaps = scene.gap_days
        try:
            with open(tmp["dates_csv"], "w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(DATES_CSV_COLUMNS)
                for t, d in enumerate(scene.dates):
                    cf = float("nan")
                    if s2_idx is not None and int(s2_idx[t]) in cloud_count:
                        cf = cloud_count[int(s2_idx[t])] / npix
                    writer.writerow(
                        [
                            t,
                            d.isoformat(),
                            s1_dates[t].isoformat() if s1_dates else "",
                            s2_dates[t].isoformat() if s2_dates else "",
                            _fmt(float(gaps[t])) if scene.alignment is not None else "",
                            "true" if frame_valid[t] else "false",
                            _fmt(cf),
                            _fmt(valid_count["s1"][t] / npix) if "s1" in mods else "",
                            _fmt(valid_count["s2"][t] / npix) if "s2" in mods else "",
                        ]
                    )
        except OSError as exc:
            raise OutputError(
                f"could not write {final['dates_csv']}: {exc.strerror or exc}; check that the "
                f"disk holding {out_dir} has free space, then run again"
            ) from None
        for m in mods:
            writers.pop(m).commit(check=False)
        for key, path in tmp.items():
            os.replace(path, final[key])
        tmp.clear()
        new.clear()
        _remove_stale_stacks(out_dir, mods)
    finally:
        for unfinished in writers.values():
            unfinished.discard()
        for path in tmp.values():
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            for side in (path.with_name(path.name + ".aux.xml"),):
                if side.exists():
                    side.unlink()
        for folder in new:  # the folders this run made, deepest first, if still empty
            try:
                folder.rmdir()
            except OSError:
                break
    control.report(1.0, "aligned stacks written")
    return {k: final[k] for k in (*mods, "dates_csv")}


def _remove_stale_stacks(out_dir: Path, mods: Sequence[str]) -> None:
    """Remove the stack of a modality this alignment lacks, left by an earlier one in ``out_dir``.

    It would sit beside stacks and a ``dates.csv`` of other dates. Only S4's own aligned stacks
    (tag ``S4_ALIGNED``) are removed, with a warning; anything else by that name stays.
    """
    for m in ("s1", "s2"):
        stale = out_dir / f"{m}_aligned.tif"
        if m in mods or not stale.is_file():
            continue
        try:
            with rasterio.open(stale) as ds:
                ours = ds.tags().get("S4_ALIGNED") == "1"
        except rasterio.errors.RasterioError:
            ours = False
        if not ours:
            continue
        try:
            stale.unlink()
        except OSError as exc:
            raise OutputError(
                f"the new aligned stacks and dates.csv are in {out_dir}, but {stale} of an "
                f"earlier alignment could not be removed ({exc.strerror or exc}): delete it, "
                "it does not match the new dates.csv"
            ) from None
        Path(f"{stale}.aux.xml").unlink(missing_ok=True)
        warn(
            f"removed {stale}: the {m.upper()} stack of an earlier alignment in this folder "
            f"(this one has no {m.upper()}), which the new dates.csv does not describe"
        )


def read_dates_csv(path: PathLike) -> List[dict]:
    """Rows of a ``dates.csv`` written by :func:`write_aligned`, typed (dates, floats, bools)."""
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            row: dict = {"frame": int(r["frame"]), "valid": r["valid"] == "true"}
            for k in ("date", "s1_date", "s2_date"):
                row[k] = _dt.date.fromisoformat(r[k]) if r.get(k) else None
            for k in ("gap_days", "s2_cloud_fraction", "s1_valid_fraction", "s2_valid_fraction"):
                row[k] = float(r[k]) if r.get(k) else float("nan")
            rows.append(row)
    return rows


def alignment_summary(scene: Scene, dates_csv: Optional[PathLike] = None) -> dict:
    """Figures for the command line: frames, grid, cloud-free fraction, median gap."""
    xres, yres = scene.grid.res
    epsg = scene.grid.crs.to_epsg()
    summary = {
        "frames": scene.n_frames,
        "reference": scene.reference,
        "s1_acquisitions": len(scene.s1) if scene.s1 is not None else 0,
        "s2_acquisitions": len(scene.s2) if scene.s2 is not None else 0,
        "width": scene.grid.width,
        "height": scene.grid.height,
        "resolution": [xres, yres],
        "crs": f"EPSG:{epsg}" if epsg is not None else scene.grid.crs.to_wkt(),
        "bounds": list(scene.grid.bounds),
        "first_date": scene.dates[0].isoformat() if scene.n_frames else None,
        "last_date": scene.dates[-1].isoformat() if scene.n_frames else None,
        "valid_frames": int(scene.frame_valid.sum()),
        "median_gap_days": float(np.median(scene.gap_days))
        if scene.alignment is not None
        else None,
        "max_gap_days": float(np.max(scene.gap_days)) if scene.alignment is not None else None,
    }
    if dates_csv is not None:
        rows = read_dates_csv(dates_csv)
        cf = np.array([r["s2_cloud_fraction"] for r in rows])
        s2v = np.array([r["s2_valid_fraction"] for r in rows])
        s1v = np.array([r["s1_valid_fraction"] for r in rows])
        summary["s2_cloud_fraction_mean"] = float(np.nanmean(cf)) if np.isfinite(cf).any() else None
        summary["cloud_free_fraction"] = (
            float(1.0 - np.nanmean(cf))
            if np.isfinite(cf).any()
            else (float(np.nanmean(s2v)) if np.isfinite(s2v).any() else None)
        )
        summary["s2_valid_fraction"] = float(np.nanmean(s2v)) if np.isfinite(s2v).any() else None
        summary["s1_valid_fraction"] = float(np.nanmean(s1v)) if np.isfinite(s1v).any() else None
    return summary

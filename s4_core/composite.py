"""Regular time grids of composites: per-pixel cloud-free medians per period, gaps filled.

An analyst's S2 series is irregular and cloudy (Flanders 2018: 118 acquisitions, most of them
partly cloudy); S1 passes on other days. Compositing both onto the same periods (calendar
months by default) gives every pixel one clear value per period, puts S1 and S2 on the same
frames (temporal alignment by construction) and keeps the series short (one year = 12 frames).

- ``period_starts``: the first day of each period covering a date range.
- ``composite``: per period and pixel, the median of the valid (cloud-free, not nodata)
  observations; NaN where a period has none.
- ``fill_gaps``: NaN periods filled by linear interpolation in time between the nearest
  observed periods of the same pixel, and with the nearest one before the first / after the
  last; pixels never observed stay NaN.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from .align import FrameReader
from .errors import DataError, warn
from .types import SceneLike, override

if TYPE_CHECKING:
    from .align import Scene
    from .grid import Grid
    from .series import TimeSeries


def _month_add(d: _dt.date, months: int) -> _dt.date:
    m = d.month - 1 + months
    return _dt.date(d.year + m // 12, m % 12 + 1, 1)


def period_starts(first: _dt.date, last: _dt.date, months: int = 1) -> List[_dt.date]:
    """First days of the ``months``-long periods covering ``first .. last``.

    Periods are aligned on calendar months.
    """
    if months < 1:
        raise DataError(f"the composite period must be >= 1 month, got {months}")
    if last < first:
        raise DataError(f"empty date range {first} .. {last}")
    start = _dt.date(first.year, first.month, 1)
    out = [start]
    while _month_add(out[-1], months) <= last:
        out.append(_month_add(out[-1], months))
    return out


def period_index(dates: Sequence[_dt.date], starts: Sequence[_dt.date]) -> np.ndarray:
    """Per date, the index of its period in ``starts``.

    -1 before the first or after the last period, whose end is the next period's length after its
    start.
    """
    if len(starts) == 0:
        return np.full(len(dates), -1, dtype=np.int64)
    ordinals = np.array([s.toordinal() for s in starts], dtype=np.int64)
    step_months = (
        (starts[1].year - starts[0].year) * 12 + starts[1].month - starts[0].month
        if len(starts) > 1
        else 1
    )
    end = _month_add(starts[-1], step_months).toordinal()
    d = np.array([x.toordinal() for x in dates], dtype=np.int64)
    idx = np.searchsorted(ordinals, d, side="right") - 1
    idx[(d < ordinals[0]) | (d >= end)] = -1
    return idx.astype(np.int64)


def period_centres(starts: Sequence[_dt.date]) -> List[_dt.date]:
    """The middle day of each period (the frame dates of a composite series)."""
    if not starts:
        return []
    if len(starts) > 1:
        step = (starts[1].year - starts[0].year) * 12 + starts[1].month - starts[0].month
    else:
        step = 1
    out = []
    for s in starts:
        e = _month_add(s, step)
        out.append(s + _dt.timedelta(days=(e - s).days // 2))
    return out


def composite(values: np.ndarray, index: np.ndarray, n_periods: int) -> np.ndarray:
    """Per-period median of ``values`` over the dates whose ``index`` is that period.

    ``values``: ``(N, C, H, W)`` with NaN = invalid. Returns float32 ``(n_periods, C, H, W)``, NaN
    where no valid value.
    """
    values = np.asarray(values, dtype=np.float32)
    index = np.asarray(index, dtype=np.int64)
    if values.ndim != 4 or index.shape != (values.shape[0],):
        raise ValueError(f"values must be (N, C, H, W) with one index per date, got {values.shape}")
    out = np.full((n_periods,) + values.shape[1:], np.nan, dtype=np.float32)
    for p in range(n_periods):
        sel = np.flatnonzero(index == p)
        if sel.size == 0:
            continue
        block = values[sel]
        if sel.size == 1:
            out[p] = block[0]
            continue
        ok = np.isfinite(block)
        any_ok = ok.any(axis=0)
        if any_ok.any():
            med = np.full(block.shape[1:], np.nan, dtype=np.float32)
            # nanmedian on the positions with at least one value (no all-NaN warnings)
            med[any_ok] = np.nanmedian(block[:, any_ok], axis=0)
            out[p] = med
    return out


def fill_gaps(stack: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Fill the NaN periods of ``stack`` ``(T, C, H, W)`` per pixel and band along time.

    Linear between observed periods, nearest at the ends. Returns the filled stack (NaN only where a
    pixel has no value at all) and ``observed`` ``(T, H, W)``: the period had a valid value.
    """
    stack = np.asarray(stack, dtype=np.float32)
    t = stack.shape[0]
    observed = np.isfinite(stack).all(axis=1)
    flat = stack.reshape(t, -1).copy()
    ok = np.isfinite(flat)
    if ok.all() or t == 0:
        return flat.reshape(stack.shape), observed
    pos = np.arange(t, dtype=np.float32)[:, None]
    big = np.float32(1e9)
    # previous and next observed period of every (period, pixel-band)
    prev_i = np.where(ok, pos, -big)
    prev_i = np.maximum.accumulate(prev_i, axis=0)
    next_i = np.where(ok, pos, big)
    next_i = np.minimum.accumulate(next_i[::-1], axis=0)[::-1]
    has_prev, has_next = prev_i >= 0, next_i < t
    cols = np.arange(flat.shape[1])[None, :].repeat(t, 0)
    pv = np.where(has_prev, flat[np.clip(prev_i, 0, t - 1).astype(np.int64), cols], np.nan)
    nv = np.where(has_next, flat[np.clip(next_i, 0, t - 1).astype(np.int64), cols], np.nan)
    span = np.where(has_prev & has_next, next_i - prev_i, 1.0)
    w = np.where(has_prev & has_next, (pos - prev_i) / np.maximum(span, 1.0), 0.0)
    interp = np.where(has_prev & has_next, pv + w * (nv - pv), np.where(has_prev, pv, nv))
    filled = np.where(ok, flat, interp).astype(np.float32)
    return filled.reshape(stack.shape), observed


# ------------------------------------------------------------------------------------------
# A scene of composites
# ------------------------------------------------------------------------------------------
def _shift_years(starts: List[_dt.date], years: int) -> List[_dt.date]:
    return [_dt.date(s.year + years, s.month, 1) for s in starts]


def match_periods(
    periods: Sequence[_dt.date], dates: Sequence[_dt.date], months: int = 1
) -> List[_dt.date]:
    """``periods`` (from a model) moved by whole years onto the season of ``dates``.

    The shift that puts the most acquisitions of the scene inside the periods (0 on ties): a model
    trained on 2018 maps 2019 on the same calendar months.
    """
    periods = list(periods)
    if not periods or not dates:
        return periods
    best, best_n = 0, -1
    span = dates[-1].year - dates[0].year + periods[-1].year - periods[0].year + 2
    for shift in sorted(range(-span - 1, span + 2), key=abs):
        moved = _shift_years(periods, shift)
        n = int((period_index(dates, moved) >= 0).sum()) if len(moved) > 1 else 0
        if len(moved) == 1:
            n = int((period_index(dates, moved + [_month_add(moved[0], months)]) == 0).sum())
        if n > best_n:
            best, best_n = shift, n
    return _shift_years(periods, best)


class CompositeScene(FrameReader):
    """A :class:`~s4_core.align.Scene` seen through per-period composites (same read interface).

    Frames are the periods (``starts``, default: calendar periods of ``months`` covering every
    acquisition of the scene); every modality has one composite per period, so S1 and S2 are
    aligned by construction. ``read`` fills periods without a clear observation (see
    :func:`fill_gaps`); ``read_acquisition`` gives one period's unfilled composite (used for
    band statistics).
    """

    def __init__(
        self, scene: Scene, months: int = 1, starts: Sequence[_dt.date] | None = None
    ) -> None:
        self.base = scene
        self.months = int(months)
        if starts is None:
            dates = sorted(d for m in scene.modalities for d in scene.series(m).dates)
            starts = period_starts(dates[0], dates[-1], self.months)
        self.starts = list(starts)
        if not self.starts:
            raise DataError("no composite period: the scene has no acquisition")
        self.grid = scene.grid
        self.alignment = None
        self._index = {
            m: period_index(scene.series(m).dates, self.starts) for m in scene.modalities
        }
        for m, idx in self._index.items():
            if not (idx >= 0).any():
                first, last = self.starts[0], self.starts[-1]
                raise DataError(
                    f"no {m.upper()} acquisition of {scene.series(m).source} falls in the "
                    f"composite periods {first} .. {last} (the model's season): give images "
                    "of that season"
                )

    # -- the Scene interface --------------------------------------------------------------
    s1 = property(lambda self: self.base.s1)
    s2 = property(lambda self: self.base.s2)
    modalities = property(lambda self: self.base.modalities)

    def series(self, modality: str) -> TimeSeries:
        """The ``modality`` series of the underlying scene."""
        return self.base.series(modality)

    @property
    def reference(self) -> str:
        """The first modality (every modality has a value per period)."""
        return self.modalities[0]

    @property
    def dates(self) -> List[_dt.date]:
        """The centre dates of the periods (the frame dates)."""
        return period_centres(self.starts)

    @property
    def n_frames(self) -> int:
        """The number of periods."""
        return len(self.starts)

    @property
    def frame_valid(self) -> np.ndarray:
        """Every period is a frame (all True)."""
        return np.ones(self.n_frames, dtype=bool)

    @property
    def gap_days(self) -> np.ndarray:
        """No pairing gap (zeros): S1 and S2 share the periods."""
        return np.zeros(self.n_frames)

    def frame_index(self, modality: str) -> np.ndarray:
        """Per frame, its period index."""
        self.series(modality)
        return np.arange(self.n_frames, dtype=np.int64)

    def acquisition_dates(self, modality: str) -> List[_dt.date]:
        """The period centre dates (one composite per period)."""
        return self.dates

    def acquisitions_in(self, modality: str, period: int) -> np.ndarray:
        """Indices of the modality's acquisitions composited into ``period``."""
        return np.flatnonzero(self._index[modality] == int(period))

    def _period(self, modality: str, period: int, window: Optional[Grid]) -> np.ndarray:
        from .align import read_acquisition

        series = self.series(modality)
        grid = window or self.grid
        sel = self.acquisitions_in(modality, period)
        if sel.size == 0:
            return np.full((len(series.band_names), grid.height, grid.width), np.nan, np.float32)
        stack = np.stack([read_acquisition(series, series.acquisitions[i], grid)[0] for i in sel])
        return composite(stack, np.zeros(len(sel), dtype=np.int64), 1)[0]

    def read_acquisition(
        self, modality: str, index: int, window: Optional[Grid] = None
    ) -> Tuple[np.ndarray, np.ndarray]:
        """Period ``index``'s composite (C, h, w) (no value -> 0) and its validity (h, w)."""
        from .align import zero_invalid

        return zero_invalid(self._period(modality, index, window))

    @override
    def read_frames(
        self, modality: str, grid: Grid, frames: np.ndarray
    ) -> Tuple[np.ndarray, np.ndarray]:
        """Gap-filled composites as frames.

        Invalid (False) only where a pixel has no clear observation in any period.
        """
        series = self.series(modality)
        stack = np.full(
            (self.n_frames, len(series.band_names), grid.height, grid.width), np.nan, np.float32
        )
        # every period is read (not only ``frames``) so the gap filling is the same
        for p in range(self.n_frames):
            if self.acquisitions_in(modality, p).size:
                stack[p] = self._period(modality, p, grid)
        filled, _ = fill_gaps(stack)
        filled = filled[frames]
        valid = np.isfinite(filled).all(axis=1)
        filled[~np.broadcast_to(valid[:, None], filled.shape)] = 0.0
        return filled, valid

    def describe(self) -> dict:
        """A JSON-friendly summary: the base scene's plus the periods."""
        d = self.base.describe()
        d.update(
            frames=self.n_frames,
            composite={
                "months": self.months,
                "first": self.starts[0].isoformat(),
                "last": self.starts[-1].isoformat(),
            },
        )
        return d

    def __repr__(self) -> str:
        return f"CompositeScene({self.n_frames} periods of {self.months} month(s), {self.base!r})"


# ------------------------------------------------------------------------------------------
# The VV/VH ratio band of Sentinel-1
# ------------------------------------------------------------------------------------------
#: name of the derived S1 band: the VV/VH ratio in dB (VV_dB - VH_dB)
RATIO_BAND = "VV/VH"


def vv_vh_ratio(values: np.ndarray, band_names: Sequence[str], axis: int = 0) -> np.ndarray:
    """The VV/VH ratio in dB of S1 ``values``: ``VV - VH``, float32.

    ``values``: dB bands ``band_names`` along ``axis``; NaN wherever either band is.
    """
    names = list(band_names)
    missing = [b for b in ("VV", "VH") if b not in names]
    if missing:
        raise DataError(
            f"the VV/VH ratio band (s1_ratio) needs Sentinel-1 bands VV and VH, the S1 layers "
            f"have {names}: give VV + VH layers or switch s1_ratio off (--s1-ratio, "
            "S1_RATIO)"
        )
    vv = np.take(values, names.index("VV"), axis=axis)
    vh = np.take(values, names.index("VH"), axis=axis)
    return (np.asarray(vv, dtype=np.float32) - np.asarray(vh, dtype=np.float32)).astype(np.float32)


class _RatioSeries:
    """A Sentinel-1 series seen with the ratio band appended to its band names.

    Everything else is the series' own.
    """

    def __init__(self, series: TimeSeries) -> None:
        self.base = series
        vv_vh_ratio(np.zeros((len(series.band_names), 1)), series.band_names)  # VV + VH?
        self.band_names = list(series.band_names) + [RATIO_BAND]

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 (delegates to the wrapped object)
        if name == "base":  # not set yet (unpickling)
            raise AttributeError(name)
        return getattr(self.base, name)

    def describe(self) -> dict:
        """The series' description with the ratio band listed."""
        d = dict(self.base.describe())
        d["bands"] = list(self.band_names)
        return d


class S1RatioScene(FrameReader):
    """A scene whose Sentinel-1 series has a third band, the VV/VH ratio in dB.

    ``VV - VH``, :data:`RATIO_BAND`, as the SAR self-supervised literature feeds it (VV, VH, ratio);
    the scene is an ``align.Scene`` or a :class:`CompositeScene`. Computed on every read, after
    compositing and gap filling (the ratio of the composites), valid where VV and VH are. Everything
    else (grid, frames, S2) is the wrapped scene's.
    """

    def __init__(self, scene: Union[Scene, CompositeScene]) -> None:
        self.base = scene
        self._s1 = _RatioSeries(scene.s1) if scene.s1 is not None else None

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 (delegates to the wrapped object)
        if name == "base":  # not set yet (unpickling)
            raise AttributeError(name)
        return getattr(self.base, name)

    @property
    def s1(self) -> Optional[_RatioSeries]:
        """The S1 series with the ratio band in its band names (None: no S1)."""
        return self._s1

    def series(self, modality: str) -> Union[TimeSeries, _RatioSeries]:
        """A modality's series (S1's with the ratio band)."""
        if modality == "s1" and self._s1 is not None:
            return self._s1
        return self.base.series(modality)

    def read_acquisition(
        self, modality: str, index: int, window: Optional[Grid] = None
    ) -> Tuple[np.ndarray, np.ndarray]:
        """The wrapped scene's, with the ratio band for S1 (0 where invalid)."""
        values, valid = self.base.read_acquisition(modality, index, window)
        return self._with_ratio(modality, values, valid, axis=0), valid

    def _with_ratio(
        self, modality: str, values: np.ndarray, valid: np.ndarray, axis: int
    ) -> np.ndarray:
        """S1 ``values`` with the ratio band appended along the band ``axis`` (0 where invalid)."""
        if modality != "s1":
            return values
        ratio = vv_vh_ratio(values, self.base.series("s1").band_names, axis=axis)
        ratio[~valid] = 0.0
        return np.concatenate([values, np.expand_dims(ratio, axis)], axis=axis)

    @override
    def read_frames(
        self, modality: str, grid: Grid, frames: np.ndarray
    ) -> Tuple[np.ndarray, np.ndarray]:
        """The wrapped scene's, with the ratio band for S1 (0 where invalid)."""
        values, valid = self.base.read_frames(modality, grid, frames)
        return self._with_ratio(modality, values, valid, axis=1), valid

    def describe(self) -> dict:
        """The wrapped scene's description, with ``s1_ratio`` and S1's bands."""
        d = dict(self.base.describe())
        d["s1_ratio"] = True
        if self._s1 is not None:
            d["s1"] = self._s1.describe()
        return d

    def __repr__(self) -> str:
        return f"S1RatioScene({self.base!r})"


def has_s1_ratio(scene: SceneLike) -> bool:
    """Whether ``scene`` adds the VV/VH ratio band to S1."""
    return isinstance(scene, S1RatioScene)


def describe_input(scene: SceneLike) -> dict:
    """What a checkpoint records about its input representation (``input`` key)."""
    ratio = isinstance(scene, S1RatioScene)
    base = scene.base if isinstance(scene, S1RatioScene) else scene
    res = float(abs(base.grid.res[0]))
    if isinstance(base, CompositeScene):
        out = {
            "composite_months": base.months,
            "periods": [s.isoformat() for s in base.starts],
            "resolution": res,
        }
    else:
        out = {"composite_months": 0, "resolution": res}
    out["crs"] = base.grid.crs.to_string()  # the unit of ``resolution``
    out["s1_ratio"] = ratio
    return out


def _month_ranges(starts: Sequence[_dt.date], months: int, shown: int = 3) -> str:
    """``starts`` as runs of consecutive periods ("2018-03 .. 2018-05, 2018-09").

    The first ``shown`` runs, then "...".
    """
    runs: List[List[_dt.date]] = []
    for s in starts:
        if runs and _month_add(runs[-1][-1], months) == s:
            runs[-1].append(s)
        else:
            runs.append([s])
    text = [f"{r[0]:%Y-%m}" + (f" .. {r[-1]:%Y-%m}" if len(r) > 1 else "") for r in runs[:shown]]
    return ", ".join(text) + (", ..." if len(runs) > shown else "")


def _warn_missing_periods(scene: CompositeScene) -> None:
    """Warn where a model's periods (matched onto the imagery's season) lack acquisitions.

    Periods of a sensor before its first or after its last acquisition, or more than a quarter
    of them: those composites are filled from the nearest periods (``fill_gaps``), the input is
    unlike the training's.
    """
    n = len(scene.starts)
    what = "months" if scene.months == 1 else f"periods of {scene.months} months"
    for m in scene.modalities:
        idx = scene._index[m]
        seen = {int(i) for i in idx[idx >= 0]}
        missing = [s for p, s in enumerate(scene.starts) if p not in seen]
        # an odd month between observed ones is interpolated (as it was in training); months
        # before the first or after the last acquisition, or many, make the input unlike it
        outside = not seen or min(seen) > 0 or max(seen) < n - 1
        if missing and (outside or len(missing) > n // 4):
            warn(
                f"{len(missing)} of the model's {n} {what} "
                f"({_month_ranges(missing, scene.months)}) have no acquisition in the "
                f"{m.upper()} imagery {scene.series(m).source}: those {what} are filled from "
                "the nearest ones and the map may be poor; give imagery of the model's "
                f"months ({scene.starts[0]:%Y-%m} .. "
                f"{_month_add(scene.starts[-1], scene.months - 1):%Y-%m}, any year)",
                stacklevel=4,
            )


def as_model_input(
    scene: SceneLike, months: int, periods: Sequence[str] | None = None, s1_ratio: bool = False
) -> SceneLike:
    """``scene`` as the model sees it: composites of ``months``, and the ratio band if asked.

    ``months`` 0: the acquisitions as they are; the VV/VH ratio as a third S1 band when ``s1_ratio``
    (:class:`S1RatioScene`, on top of the composites). ``periods``: a model's period starts (ISO
    dates), moved onto the scene's season by whole years (:func:`match_periods`).
    """
    ratio = s1_ratio or has_s1_ratio(scene)
    if isinstance(scene, S1RatioScene):
        scene = scene.base
    if months and not isinstance(scene, CompositeScene):
        starts = None
        if periods:
            dates = sorted(d for m in scene.modalities for d in scene.series(m).dates)
            parsed = [_dt.date.fromisoformat(str(p)) for p in periods]
            starts = match_periods(parsed, dates, int(months))
        scene = CompositeScene(scene, int(months), starts)
        if periods:
            _warn_missing_periods(scene)
    return S1RatioScene(scene) if ratio and scene.s1 is not None else scene


def model_s1_ratio(ckpt: dict) -> bool:
    """Whether a checkpoint (or an ONNX model's metadata) was made with the ratio band."""
    if (ckpt.get("input") or {}).get("s1_ratio"):
        return True
    return RATIO_BAND in list((ckpt.get("bands") or {}).get("s1") or [])

"""Per-band standardisation: mean and standard deviation computed from the data.

:func:`compute_band_stats` streams over windows and acquisitions of a scene, honouring the
validity masks, and merges partial results in float64 with Chan et al.'s parallel variance
update (numerically stable, unlike a naive sum of squares). :class:`BandStats` serialises to a
JSON-friendly dict so checkpoints can carry it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .control import NO_CONTROL, Control
from .errors import DataError
from .types import SceneLike

#: Standard deviations below this are replaced by 1 when standardising (constant bands).
MIN_STD = 1e-8


@dataclass
class BandStats:
    """Per-band ``mean`` and ``std`` (population) of ``band_names``; ``count`` valid pixels."""

    band_names: List[str]
    mean: np.ndarray
    std: np.ndarray
    count: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        self.band_names = list(self.band_names)
        self.mean = np.asarray(self.mean, dtype=np.float64).reshape(-1)
        self.std = np.asarray(self.std, dtype=np.float64).reshape(-1)
        if self.count is not None:
            self.count = np.asarray(self.count, dtype=np.float64).reshape(-1)
        n = len(self.band_names)
        if self.mean.shape != (n,) or self.std.shape != (n,):
            raise ValueError(
                f"BandStats: {n} band names but mean {self.mean.shape} and std {self.std.shape}"
            )

    def apply(
        self, x: np.ndarray, valid: Optional[np.ndarray] = None, *, inplace: bool = False
    ) -> np.ndarray:
        """Standardise ``x`` ``(..., T, C, H, W)`` per band to float32.

        Where ``valid`` ``(..., T, H, W)`` is False the result is 0 (the mean).

        Args:
            x: Values, any real dtype.
            valid: Optional validity mask.
            inplace: Overwrite ``x`` when it is a writeable float32 array (no copy; the same
                values as a copy).

        Returns:
            The standardised float32 values (``x`` itself when done in place).
        """
        x = np.asarray(x)
        if inplace and x.dtype == np.float32 and x.flags.writeable:
            self._check_shape(x)
            mean, scale = self._mean_scale()
            x -= mean
            x *= scale
            if valid is not None:
                np.copyto(x, np.float32(0), where=~np.expand_dims(np.asarray(valid, bool), -3))
            x[~np.isfinite(x)] = 0.0
            return x
        self._check_shape(x)
        mean, scale = self._mean_scale()
        out = (x.astype(np.float32) - mean) * scale
        if valid is not None:
            valid = np.asarray(valid, dtype=bool)
            out = np.where(np.expand_dims(valid, -3), out, np.float32(0))
        out[~np.isfinite(out)] = 0.0
        return out.astype(np.float32, copy=False)

    def _check_shape(self, x: np.ndarray) -> None:
        if x.ndim < 4 or x.shape[-3] != len(self.band_names):
            raise DataError(
                f"expected (..., T, {len(self.band_names)}, H, W) for bands {self.band_names}, "
                f"got shape {x.shape}; the data's bands differ from the normalisation statistics"
            )

    def _mean_scale(self) -> Tuple[np.ndarray, np.ndarray]:
        std = np.where(self.std > MIN_STD, self.std, 1.0)
        mean = self.mean.astype(np.float32)[:, None, None]
        scale = (1.0 / std).astype(np.float32)[:, None, None]
        return mean, scale

    def to_dict(self) -> dict:
        """The statistics as a plain dict (stored in checkpoints)."""
        d = {
            "band_names": list(self.band_names),
            "mean": [float(v) for v in self.mean],
            "std": [float(v) for v in self.std],
        }
        if self.count is not None:
            d["count"] = [float(v) for v in self.count]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> BandStats:
        """The statistics of :meth:`to_dict`'s output."""
        return cls(d["band_names"], d["mean"], d["std"], d.get("count"))


@dataclass
class RunningStats:
    """Streaming per-band mean/variance (float64, Chan et al. merge), masked and weighted."""

    band_names: List[str]
    n: np.ndarray = field(init=False)
    mean: np.ndarray = field(init=False)
    m2: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        c = len(self.band_names)
        self.n = np.zeros(c)
        self.mean = np.zeros(c)
        self.m2 = np.zeros(c)

    def update(
        self, x: np.ndarray, valid: Optional[np.ndarray] = None, weight: float = 1.0
    ) -> None:
        """Add ``x`` ``(C, H, W)`` or ``(T, C, H, W)`` with ``valid`` ``(H, W)`` / ``(T, H, W)``.

        Each valid pixel counts ``weight`` times (e.g. an acquisition used by several frames).
        """
        x = np.asarray(x)
        if x.ndim == 3:
            x = x[None]
            if valid is not None:
                valid = np.asarray(valid)[None]
        c = x.shape[1]
        if c != len(self.band_names):
            raise ValueError(f"expected {len(self.band_names)} bands, got {c}")
        flat = np.moveaxis(x, 1, 0).reshape(c, -1)
        ok = np.isfinite(flat).all(axis=0)
        if valid is not None:
            ok &= np.asarray(valid, dtype=bool).reshape(-1)
        vals = flat[:, ok].astype(np.float64)
        nb = vals.shape[1]
        if nb == 0 or weight <= 0:
            return
        mb = vals.mean(axis=1)
        m2b = ((vals - mb[:, None]) ** 2).sum(axis=1)
        wn = nb * float(weight)
        m2b = m2b * float(weight)
        tot = self.n + wn
        delta = mb - self.mean
        self.mean = self.mean + delta * (wn / tot)
        self.m2 = self.m2 + m2b + delta**2 * self.n * wn / tot
        self.n = tot

    def result(self) -> BandStats:
        """The mean and standard deviation of everything added (std floored to avoid 0)."""
        if not (self.n > 0).all():
            raise DataError(
                "no valid pixels to compute band statistics from; check nodata and cloud masks"
            )
        return BandStats(
            self.band_names, self.mean.copy(), np.sqrt(self.m2 / self.n), self.n.copy()
        )


def compute_band_stats(
    scene: SceneLike,
    modality: str,
    *,
    block: int = 256,
    control: Control = NO_CONTROL,
    frames: Optional[Sequence[int]] = None,
) -> BandStats:
    """Per-band mean/std of ``modality`` over the scene's valid pixels of its valid frames.

    Streams window by window (``block`` px) over each acquisition the frames use, each read
    once and weighted by how many frames use it, so the statistics are those of the aligned
    frames the model sees. ``frames`` restricts to some frame indices.
    """
    series = scene.series(modality)
    idx = scene.frame_index(modality)
    fv = scene.frame_valid
    sel = np.arange(scene.n_frames) if frames is None else np.asarray(frames, dtype=np.int64)
    sel = sel[fv[sel]]
    if sel.size == 0:
        raise DataError("no valid frames to compute band statistics from (check max_gap_days)")
    acqs, weights = np.unique(idx[sel], return_counts=True)
    windows = list(scene.grid.iter_windows(block))
    stats = RunningStats(series.band_names)
    total = len(acqs) * len(windows)
    done = 0
    for a, w in zip(acqs, weights):
        for _, _, win in windows:
            control.check("band statistics cancelled")
            values, ok = scene.read_acquisition(modality, int(a), win)
            stats.update(values, ok, weight=float(w))
            done += 1
            control.report(done / total, f"band statistics {modality.upper()}")
    try:
        return stats.result()
    except DataError:
        raise DataError(
            f"the {modality.upper()} layers {series.source} have no valid pixel in some band "
            f"({', '.join(series.band_names)}): every value is NaN, nodata or masked as cloud; "
            f"check the files and their nodata value, or leave {modality.upper()} out"
        ) from None


def stats_from_dicts(d: Dict[str, dict]) -> Dict[str, BandStats]:
    """``{"s1": {...}, "s2": {...}}`` (as stored in a checkpoint) -> ``BandStats`` per modality."""
    return {k: BandStats.from_dict(v) for k, v in d.items()}

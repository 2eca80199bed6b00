"""Radiometry: Sentinel-2 digital numbers to reflectance, Sentinel-1 linear to dB, validity masks.

Conventions (docs/architecture.md): S2 in reflectance (0..1), S1 in dB, validity as explicit
boolean masks. A pixel is valid in a frame when every band is finite and differs from the
file's nodata value, and (S2 with an SCL band) its scene class is not in :data:`SCL_INVALID`.
"""

from __future__ import annotations

import warnings
from typing import Optional

import numpy as np

from .errors import S4Warning

#: Sen2Cor scene classes treated as invalid: 0 no data, 1 saturated/defective, 3 cloud shadow,
#: 8 cloud medium probability, 9 cloud high probability, 10 thin cirrus.
SCL_INVALID = (0, 1, 3, 8, 9, 10)

#: Sentinel-2 L1C/L2A digital numbers: reflectance = (DN + offset) * S2_SCALE.
S2_SCALE = 1e-4

#: The L2A offset of processing baseline 04.00 and later (products from 2022-01-25 on).
S2_L2A_OFFSET_PB04 = -1000.0


def valid_mask(raw: np.ndarray, nodata: Optional[float] = None) -> np.ndarray:
    """Pixels whose every band is finite and not ``nodata``: ``(C, H, W)`` -> bool ``(H, W)``."""
    raw = np.asarray(raw)
    if raw.ndim == 2:
        raw = raw[None]
    ok = np.ones(raw.shape[-2:], dtype=bool)
    if np.issubdtype(raw.dtype, np.floating):
        ok &= np.isfinite(raw).all(axis=0)
    if nodata is not None and not np.isnan(nodata):
        ok &= (raw != nodata).all(axis=0)
    return ok


def s2_reflectance(raw: np.ndarray, *, scale: float = S2_SCALE, offset: float = 0.0) -> np.ndarray:
    """``(raw + offset) * scale`` as float32 (``offset`` in DN, e.g. -1000 for L2A PB 04.00)."""
    out = np.asarray(raw, dtype=np.float32)
    if offset:
        out = out + np.float32(offset)
    if scale != 1.0:
        out = out * np.float32(scale)
    return out


def s1_db(raw: np.ndarray, *, linear: bool) -> np.ndarray:
    """Sigma0 in dB as float32: ``10 log10(raw)`` when ``linear`` (values <= 0 become NaN)."""
    out = np.asarray(raw, dtype=np.float32)
    if not linear:
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        db = np.where(out > 0, 10.0 * np.log10(np.where(out > 0, out, 1.0)), np.nan)
    return db.astype(np.float32)


def scl_clear(scl: np.ndarray) -> np.ndarray:
    """Boolean mask: True where the SCL class is not in :data:`SCL_INVALID`."""
    return ~np.isin(np.asarray(scl), SCL_INVALID)


def cloud_fraction(scl: np.ndarray) -> float:
    """Fraction of pixels whose SCL class is in :data:`SCL_INVALID` (no data counts as cloudy)."""
    scl = np.asarray(scl)
    if scl.size == 0:
        return float("nan")
    return float(np.isin(scl, SCL_INVALID).sum() / scl.size)


def to_physical(
    raw: np.ndarray,
    sensor: str,
    nodata: Optional[float] = None,
    *,
    linear: bool = False,
    scale: float = 1.0,
    offset: float = 0.0,
    scl: Optional[np.ndarray] = None,
) -> np.ndarray:
    """Raw ``(C, H, W)`` pixels -> float32 reflectance (s2) or dB (s1), NaN where invalid.

    A pixel is NaN in every band when any band is nodata/NaN, when (s1, linear) a value is
    <= 0, or when ``scl`` is given and its class is in :data:`SCL_INVALID`.
    """
    ok = valid_mask(raw, nodata)
    if sensor == "s2":
        out = s2_reflectance(raw, scale=scale, offset=offset)
    elif sensor == "s1":
        out = s1_db(raw, linear=linear)
        ok &= np.isfinite(out).all(axis=0)
    else:
        raise ValueError(f"unknown sensor {sensor!r}: use 's1' or 's2'")
    if scl is not None:
        ok &= scl_clear(scl)
    out = np.array(out, dtype=np.float32, copy=True)
    out[:, ~ok] = np.nan
    return out


def looks_linear(values: np.ndarray) -> bool:
    """Heuristic: do these S1 backscatter values look linear (power) rather than dB?

    Linear sigma0 is non-negative with a median well below 1; dB is mostly negative.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return False
    return bool((v >= 0).mean() > 0.99 and np.median(v) < 1.0)


def looks_like_dn(values: np.ndarray) -> bool:
    """Heuristic: are these S2 values digital numbers (0..10000+) rather than reflectance (0..1)?"""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return True
    return bool(np.percentile(v, 99) > 5.0)


#: The 99th percentile of Sentinel-2 L2A visible/NIR digital numbers (reflectance x 10000) in
#: a scene is in the thousands (vegetation NIR ~3000, soil, roofs, clouds brighter); below this
#: the values are implausible as DN (e.g. 8-bit 0..255 images).
S2_DN_P99_MIN = 300.0


def implausible_dn(values: np.ndarray) -> Optional[float]:
    """The 99th percentile of these S2 digital numbers when it is implausibly low, else None."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    p99 = float(np.percentile(v, 99))
    return p99 if p99 < S2_DN_P99_MIN else None


def warn(message: str) -> None:
    """Warn through ``warnings`` (the command line and QGIS both surface it)."""
    warnings.warn(message, S4Warning, stacklevel=3)

"""Temporal profiles of labelled classes: what the model will see, per class and per polygon.

For a label layer (polygons with a class field) and the Sentinel-2 and/or Sentinel-1 series,
``class_profiles`` computes per class and per acquisition date:

- ``NDVI`` (S2): (B08 - B04) / (B08 + B04) of every pixel that is valid in that acquisition
  (nodata, NaN and the SCL classes 0 1 3 8 9 10 are masked: ``radiometry.SCL_INVALID``; B8A
  stands in for a missing B08). A series without B04 gets ``NDRE`` instead, the red-edge
  index (B8A - B05) / (B8A + B05) (B08 for a missing B8A);
- ``VV`` and ``VH`` (S1): backscatter in dB (linear files are converted).

Each series is read on its own grid (S2 10 m, S1 as it is), only over the window that holds
the polygons. A pixel belongs to the polygon that covers its centre (``labels`` rasterising).
Class statistics are over pixels: ``mean`` and ``std`` (population) of the class's valid
pixels at that date, ``n`` = their number. Polygon profiles are the mean of the polygon's
valid pixels per date (NaN where none is valid).

Outliers (a polygon whose profile sits far from its class): every variable and date is scaled
by the pooled within-class spread ``s_t`` (the root mean of the classes' pixel variances at
that date, at least 10 % of its median over dates); the distance between two profiles is the
root mean square of their scaled differences over the dates where both are defined (all
variables together). A polygon's own-class distance ``d_own`` is measured to the mean profile
of the OTHER polygons of its class (leave-one-out); ``d_other`` to the nearest other class's
mean polygon profile. A polygon is flagged when ``d_other < ratio * d_own`` (default ratio
0.5: at most half as far from another class as from its own: often a wrong class) or
``d_own > threshold`` (default 2: further than twice the usual within-class spread from its
class). Classes with a single polygon have no leave-one-out reference: their polygon is only
compared through ``d_own`` = 0: it is never flagged.
(With ratio 1, every polygon merely nearer another class was flagged: 9 of the 19 Flanders
parcels, mostly grassland vs leguminous, whose profiles overlap.)
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .control import NO_CONTROL, Control
from .errors import DataError
from .types import PathLike
from .validate import temp_path

if TYPE_CHECKING:
    from .labels import ClassMap
    from .series import TimeSeries

VARIABLES = ("NDVI", "NDRE", "VV", "VH")
UNITS = {"NDVI": "", "NDRE": "", "VV": "dB", "VH": "dB"}
DEFAULT_THRESHOLD = 2.0
DEFAULT_RATIO = 0.5
CSV_FIELDS = ("kind", "class", "polygon", "variable", "date", "mean", "std", "n")

__all__ = [
    "CSV_FIELDS",
    "ClassProfiles",
    "PolygonCheck",
    "VariableProfile",
    "class_profiles",
    "write_profiles_csv",
]


@dataclass
class VariableProfile:
    """One variable's profiles: ``dates`` (T,), per class (K, T) and per polygon (P, T)."""

    variable: str
    sensor: str
    dates: List[_dt.date]
    class_mean: np.ndarray
    class_std: np.ndarray
    class_n: np.ndarray
    polygon_mean: np.ndarray
    polygon_std: np.ndarray
    polygon_n: np.ndarray


@dataclass
class PolygonCheck:
    """The outlier check of one polygon (``index``: its position in the layer, 0-based)."""

    index: int
    class_index: int
    class_name: str
    pixels: int
    d_own: Optional[float]
    nearest_other: Optional[str]
    d_other: Optional[float]
    outlier: bool
    reason: str = ""

    def to_dict(self) -> Dict[str, Any]:
        """The profiles as JSON-friendly lists (NaN as None), per variable."""
        return {
            "index": self.index,
            "class": self.class_name,
            "pixels": self.pixels,
            "d_own": self.d_own,
            "nearest_other": self.nearest_other,
            "d_other": self.d_other,
            "outlier": self.outlier,
            "reason": self.reason,
        }


@dataclass
class ClassProfiles:
    """``class_profiles``'s result: class names, variables and the polygon checks."""

    classes: List[str]
    variables: Dict[str, VariableProfile]
    polygons: List[PolygonCheck]
    polygon_class: np.ndarray  # (P,) class index per polygon (-1: no pixel / no class)
    threshold: float = DEFAULT_THRESHOLD
    messages: List[str] = field(default_factory=list)

    @property
    def outliers(self) -> List[PolygonCheck]:
        """Every polygon check flagged as an outlier, by polygon position."""
        return [p for p in self.polygons if p.outlier]

    def to_dict(self) -> Dict[str, Any]:
        """JSON-friendly: per variable dates, class means/stds; the polygon checks."""

        def plain(a: np.ndarray) -> list:
            return [[None if not np.isfinite(v) else float(v) for v in row] for row in a]

        return {
            "classes": list(self.classes),
            "threshold": self.threshold,
            "variables": {
                name: {
                    "sensor": v.sensor,
                    "dates": [d.isoformat() for d in v.dates],
                    "mean": plain(v.class_mean),
                    "std": plain(v.class_std),
                    "n": v.class_n.astype(int).tolist(),
                    "polygon_mean": plain(v.polygon_mean),
                }
                for name, v in self.variables.items()
            },
            "polygon_class": [int(c) for c in self.polygon_class],
            "polygons": [p.to_dict() for p in self.polygons],
            "outliers": [p.to_dict() for p in self.outliers],
            "messages": list(self.messages),
        }

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> ClassProfiles:
        """The inverse of ``to_dict`` (polygon stds and counts are not kept there)."""

        def arr(rows: Sequence[Sequence[Optional[float]]]) -> np.ndarray:
            return np.array([[np.nan if x is None else x for x in r] for r in rows], float)

        classes = list(d["classes"])
        variables = {}
        for name, v in d["variables"].items():
            mean = arr(v["mean"]).reshape(len(classes), -1)
            poly = arr(v.get("polygon_mean") or []).reshape(-1, mean.shape[1])
            variables[name] = VariableProfile(
                name, v["sensor"], [_dt.date.fromisoformat(x) for x in v["dates"]], mean,
                arr(v["std"]).reshape(mean.shape), np.asarray(v["n"], float).reshape(mean.shape),
                poly, np.full(poly.shape, np.nan), np.isfinite(poly).astype(float),
            )  # fmt: skip
        index = {c: i for i, c in enumerate(classes)}
        checks = [
            PolygonCheck(
                int(p["index"]),
                index.get(p["class"], -1),
                p["class"],
                int(p["pixels"]),
                p["d_own"],
                p["nearest_other"],
                p["d_other"],
                bool(p["outlier"]),
                p["reason"],
            )  # fmt: skip
            for p in d.get("polygons", [])
        ]
        return cls(
            classes, variables, checks, np.asarray(d.get("polygon_class", []), np.int64),
            float(d.get("threshold", DEFAULT_THRESHOLD)), list(d.get("messages", [])),
        )  # fmt: skip


# ----------------------------------------------------------------------------- reading
def _label_window(ids: np.ndarray) -> Tuple[int, int, int, int]:
    rows = np.flatnonzero(ids.any(axis=1))
    cols = np.flatnonzero(ids.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def _band(series: TimeSeries, names: Sequence[str]) -> Optional[int]:
    """The index of the first of ``names`` among the series' bands, or None."""
    bands = list(series.band_names)
    for n in names:
        if n in bands:
            return bands.index(n)
    return None


def _stats(
    values: np.ndarray, groups: np.ndarray, n_groups: int
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group (0..n_groups-1; -1 = none): mean, population std and count of finite values."""
    ok = np.isfinite(values) & (groups >= 0)
    g, v = groups[ok], values[ok].astype(np.float64)
    n = np.bincount(g, minlength=n_groups).astype(np.float64)
    s = np.bincount(g, weights=v, minlength=n_groups)
    mean = np.full(n_groups, np.nan)
    np.divide(s, n, out=mean, where=n > 0)
    dev = np.zeros_like(v)
    if v.size:
        dev = (v - mean[g]) ** 2
    ss = np.bincount(g, weights=dev, minlength=n_groups)
    std = np.full(n_groups, np.nan)
    np.divide(ss, n, out=std, where=n > 0)
    return mean, np.sqrt(std), n


def _series_profiles(
    series: TimeSeries,
    labels: PathLike,
    class_field: str,
    class_map: Optional[ClassMap],
    layer: Optional[str],
    control: Control,
) -> Tuple[ClassMap, np.ndarray, Dict[str, VariableProfile], List[str]]:
    """The class map, polygon classes ``(P,)``, profiles per variable and messages of one series.

    ``class_map``: the classes of an earlier series (the same order), or None.
    """
    from .align import read_acquisition
    from .labels import rasterize_labels, rasterize_polygon_ids

    grid = series.grid()
    cls, cmap, report = rasterize_labels(
        labels, class_field, grid, layer=layer, class_map=class_map
    )
    ids = rasterize_polygon_ids(labels, grid, layer=layer)
    names = list(cmap.names)
    r0, c0, h, w = _label_window(ids)
    win = grid.window(r0, c0, h, w)
    ids = ids[r0 : r0 + h, c0 : c0 + w].astype(np.int64) - 1  # -1 = no polygon
    cls = cls[r0 : r0 + h, c0 : c0 + w]
    cls_groups = np.where(cls == 255, -1, cls.astype(np.int64))
    n_poly = int(report.n_features)
    # a polygon's class: the class of most of its pixels
    poly_class = np.full(n_poly, -1, np.int64)
    both = (ids >= 0) & (cls_groups >= 0)
    if both.any():
        k = len(names)
        counts = np.bincount(ids[both] * k + cls_groups[both], minlength=n_poly * k)
        counts = counts.reshape(n_poly, k)
        has = counts.sum(1) > 0
        poly_class[has] = counts[has].argmax(1)
    if series.sensor == "s2":
        red, nir = _band(series, ("B04",)), _band(series, ("B08", "B8A"))
        index = "NDVI"
        if red is None:  # no red band: the red-edge index
            red, nir, index = _band(series, ("B05",)), _band(series, ("B8A", "B08")), "NDRE"
        if red is None or nir is None:
            raise DataError(
                f"the Sentinel-2 series has bands {list(series.band_names)}: NDVI needs B04 (red) "
                "and B08 or B8A (near infrared); NDRE needs B05 and B8A or B08"
            )
        wanted: List[Tuple[str, Optional[int]]] = [(index, None)]
    else:
        wanted = [(v, _band(series, (v,))) for v in ("VV", "VH")]
        wanted = [(v, i) for v, i in wanted if i is not None]
        if not wanted:
            raise DataError(
                f"the Sentinel-1 series has bands {list(series.band_names)}: profiles need VV or VH"
            )
    t = len(series.acquisitions)
    k = len(names)
    out = {
        v: {
            "cm": np.full((k, t), np.nan),
            "cs": np.full((k, t), np.nan),
            "cn": np.zeros((k, t)),
            "pm": np.full((n_poly, t), np.nan),
            "ps": np.full((n_poly, t), np.nan),
            "pn": np.zeros((n_poly, t)),
        }
        for v, _ in wanted
    }
    for j, acq in enumerate(series.acquisitions):
        control.check("class profiles cancelled")
        data, _ = read_acquisition(series, acq, win)
        for v, band in wanted:
            if v in ("NDVI", "NDRE"):
                with np.errstate(divide="ignore", invalid="ignore"):
                    r, n = data[red].astype(np.float64), data[nir].astype(np.float64)
                    values = (n - r) / (n + r)
            else:
                values = data[band].astype(np.float64)
            o = out[v]
            o["cm"][:, j], o["cs"][:, j], o["cn"][:, j] = _stats(values, cls_groups, k)
            o["pm"][:, j], o["ps"][:, j], o["pn"][:, j] = _stats(values, ids, n_poly)
        control.report((j + 1) / t, f"{series.sensor.upper()} profiles: {j + 1}/{t} dates")
    profiles = {
        v: VariableProfile(
            v,
            series.sensor,
            list(series.dates),
            o["cm"],
            o["cs"],
            o["cn"],
            o["pm"],
            o["ps"],
            o["pn"],
        )
        for v, o in out.items()
    }
    return cmap, poly_class, profiles, list(report.messages)


# ----------------------------------------------------------------------------- outliers
def _scaled(profiles: Dict[str, VariableProfile], k: int) -> Tuple[np.ndarray, np.ndarray]:
    """(polygon profiles (P, D), per-feature scale (D,)) over all variables' dates."""
    polys, scales = [], []
    for v in profiles.values():
        with np.errstate(invalid="ignore"):
            var = np.nanmean(v.class_std[:k] ** 2, axis=0) if k else np.zeros(len(v.dates))
        s = np.sqrt(var)
        ok = np.isfinite(s)
        floor = 0.1 * float(np.median(s[ok])) if ok.any() else 1.0
        floor = floor if floor > 0 else 1e-6
        s = np.where(ok, np.maximum(s, floor), np.nan)
        polys.append(v.polygon_mean)
        scales.append(s)
    return np.concatenate(polys, axis=1), np.concatenate(scales)


def _distance(a: np.ndarray, b: np.ndarray, scale: np.ndarray) -> Optional[float]:
    d = (a - b) / scale
    d = d[np.isfinite(d)]
    return float(np.sqrt(np.mean(d**2))) if d.size else None


def check_polygons(
    profiles: Dict[str, VariableProfile],
    classes: Sequence[str],
    polygon_class: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    ratio: float = DEFAULT_RATIO,
) -> List[PolygonCheck]:
    """The outlier rule of the module docstring for every polygon with a class and pixels."""
    k = len(classes)
    x, scale = _scaled(profiles, k)
    pixels = np.zeros(len(polygon_class), dtype=np.int64)
    for v in profiles.values():
        pixels = np.maximum(pixels, v.polygon_n.max(axis=1).astype(np.int64))
    members = {c: np.flatnonzero(polygon_class == c) for c in range(k)}
    with np.errstate(invalid="ignore"):
        centroid = {
            c: np.nanmean(x[idx], axis=0) if len(idx) else None for c, idx in members.items()
        }
    checks: List[PolygonCheck] = []
    for p, c in enumerate(polygon_class):
        if c < 0 or pixels[p] == 0:
            continue
        others = [i for i in members[c] if i != p]
        d_own: Optional[float] = 0.0
        if others:
            with np.errstate(invalid="ignore"):
                d_own = _distance(x[p], np.nanmean(x[others], axis=0), scale)
        best, best_d = None, None
        for o in range(k):
            centre = centroid[o]
            if o == c or centre is None:
                continue
            d = _distance(x[p], centre, scale)
            if d is not None and (best_d is None or d < best_d):
                best, best_d = o, d
        reason = ""
        if (
            others
            and d_own is not None
            and best is not None
            and best_d is not None
            and best_d < ratio * d_own
        ):
            reason = f"closer to {classes[best]} ({best_d:.2f}) than to its class ({d_own:.2f})"
        elif d_own is not None and d_own > threshold:
            reason = f"far from its class ({d_own:.2f} > {threshold:g} within-class spreads)"
        checks.append(
            PolygonCheck(
                int(p),
                int(c),
                str(classes[c]),
                int(pixels[p]),
                None if d_own is None else round(d_own, 4),
                None if best is None else str(classes[best]),
                None if best_d is None else round(best_d, 4),
                bool(reason),
                reason,
            )  # fmt: skip
        )
    return checks


# ----------------------------------------------------------------------------- api
def class_profiles(
    sensors: Sequence[TimeSeries],
    labels: PathLike,
    class_field: str,
    *,
    labels_layer: Optional[str] = None,
    threshold: float = DEFAULT_THRESHOLD,
    ratio: float = DEFAULT_RATIO,
    control: Control = NO_CONTROL,
) -> ClassProfiles:
    """Per-class NDVI (S2) and VV/VH (S1) profiles of ``sensors`` over ``labels``' polygons.

    With their outlier checks (see the module docstring). ``sensors``: one series or two (S2
    first, then S1, as ``api.class_profiles`` opens them).
    """
    if not sensors:
        raise DataError("class profiles need a Sentinel-2 or a Sentinel-1 series: give one")
    cmap = None
    poly_class: Optional[np.ndarray] = None
    variables: Dict[str, VariableProfile] = {}
    messages: List[str] = []
    for i, series in enumerate(sensors):
        cmap, pc, prof, msgs = _series_profiles(
            series,
            labels,
            class_field,
            cmap,
            labels_layer,
            control.part(i / len(sensors), 1 / len(sensors)),
        )
        if poly_class is None:
            poly_class = pc
        else:  # a polygon without pixels on the first grid may have some on the second
            poly_class = np.where(poly_class >= 0, poly_class, pc)
        variables.update(prof)
        messages += [m for m in msgs if m not in messages]
    assert cmap is not None and poly_class is not None
    names = list(cmap.names)
    checks = check_polygons(variables, names, poly_class, threshold, ratio)
    return ClassProfiles(names, variables, checks, poly_class, float(threshold), messages)


def _num(value: float) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.6g}"


def write_profiles_csv(result: ClassProfiles, path: PathLike) -> Path:
    """Write the numbers as CSV (``CSV_FIELDS``) via a temporary file renamed at the end.

    One row per class (kind "class") and per polygon (kind "polygon", ``polygon`` = its 0-based
    position in the layer) and variable and date.
    """
    from .validate import make_parent

    path = Path(os.fspath(path))
    make_parent(path)
    tmp = temp_path(path)
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(CSV_FIELDS)
            for name, v in result.variables.items():
                for c, cname in enumerate(result.classes):
                    for j, d in enumerate(v.dates):
                        w.writerow(
                            ["class", cname, "", name, d.isoformat(), _num(v.class_mean[c, j]),
                             _num(v.class_std[c, j]), int(v.class_n[c, j])]
                        )  # fmt: skip
                for p, c in enumerate(result.polygon_class):
                    if c < 0:
                        continue
                    for j, d in enumerate(v.dates):
                        if v.polygon_n[p, j] == 0:
                            continue
                        w.writerow(
                            ["polygon", result.classes[c], p, name, d.isoformat(),
                             _num(v.polygon_mean[p, j]), _num(v.polygon_std[p, j]),
                             int(v.polygon_n[p, j])]
                        )  # fmt: skip
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path

"""The built-in synthetic demo scene: parcels with crop phenology seen by Sentinel-1 and -2.

A georeferenced UTM scene (EPSG:32631, near Ypres, 50.85 N 2.9 E) of agricultural parcels
(jittered-grid quadrilaterals, some split in two, separated by field margins and two roads)
with one of several crops each. Every crop has its own phenology: a double-logistic green
canopy cover with green-up, senescence and harvest dates (grassland: mown a few times), jittered
per parcel. From it the generator renders, on purpose like the real data in ../shared/data:

- ``S2/S2_L2A_YYYYMMDD.tif``: 10 reflectance bands (B02 ... B12) as uint16 DN (x 10000, nodata
  0) + SCL, on a 10 m grid; clouds (bright, SCL 8/9) and their shadows (dark, SCL 3) as blobs on
  some dates, SCL 4/5 elsewhere; every 5 to 10 days with gaps; one date has a no-data corner.
- ``S1/S1_GRD_ASC_YYYYMMDD.tif``: VV and VH sigma0 in dB (float32, nodata NaN) on a 20 m grid
  offset from S2's, every 6 days (a few passes missing), on other days than S2; backscatter
  follows the canopy (VH rises with biomass, drops after harvest; grassland stable), soil
  moisture varies by date, speckle is multiplicative (gamma, ENL 4.5); one date has a NaN strip.
- ``labels/truth.tif``: class index per S2 pixel (uint8, 255 = no label: roads and margins),
  class names in the tag ``CLASSES``; ``labels/parcels.gpkg`` (layer ``parcels``, fields
  ``crop_name`` and ``crop_code``): the parcels an analyst would digitise.
- ``scene.json``: what was generated (seed, sizes, dates, classes).

Both sensors render the same parcels at 5 m and average to their pixels (mixed edge pixels).
Class indices follow the alphabetical order of the class names, the order
``labels.rasterize_labels(parcels, "crop_name", grid)`` uses, so that both agree.
The same seed gives identical arrays.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .errors import Cancelled, DataError
from .grid import Grid
from .settings import DEMO
from .types import Cancel, CrsLike, PathLike, Progress

if TYPE_CHECKING:
    import affine

EPSG = 32631
CENTRE = (492960.0, 5633150.0)  # 50.85 N, 2.90 E in UTM 31N
S2_BANDS = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
S1_BANDS = ("VV", "VH")
S1_OFFSET_M = (-25.0, 15.0)  # S1 grid origin relative to S2's (x, y), not a multiple of 20 m
FINE = 5.0  # metres: both sensors are rendered at this resolution and averaged
SEASON_START = date(2018, 3, 1)
SEASON_END = date(2018, 10, 31)
S2_REVISIT, S1_REVISIT = 5, 6
S1_FIRST = date(2018, 3, 3)
ENL = 4.5  # equivalent number of looks of the S1 speckle

# reflectance spectra for B02 B03 B04 B05 B06 B07 B08 B8A B11 B12
_VEG = np.array([0.025, 0.060, 0.025, 0.090, 0.250, 0.330, 0.400, 0.420, 0.200, 0.100])
_DRY = np.array([0.060, 0.085, 0.110, 0.150, 0.200, 0.230, 0.260, 0.275, 0.360, 0.270])
_SOIL = np.array([0.070, 0.095, 0.120, 0.145, 0.170, 0.185, 0.200, 0.210, 0.290, 0.230])
_FLOWER = np.array([0.040, 0.120, 0.100, 0.145, 0.260, 0.310, 0.340, 0.350, 0.200, 0.100])
_ASPHALT = np.array([0.080, 0.090, 0.100, 0.110, 0.120, 0.125, 0.130, 0.135, 0.160, 0.150])
_CLOUD = np.array([0.450, 0.440, 0.430, 0.440, 0.450, 0.450, 0.460, 0.460, 0.330, 0.220])
_HAZE = np.array([1.0, 0.8, 0.6, 0.5, 0.4, 0.35, 0.3, 0.3, 0.1, 0.05])
_NIR_BANDS = np.array([0, 0, 0, 0, 1, 1, 1, 1, 0, 0], dtype=float)  # B06..B8A scale with leaves


@dataclass(frozen=True)
class Crop:
    """Phenology and signatures of one crop (days are days of year 2018)."""

    name: str
    code: int
    green0: float  # green cover at the start of the season (winter crops > 0)
    green_max: float
    green_up: float  # day of the green-up midpoint
    green_up_days: float  # logistic scale of the green-up
    senescence: float  # day of the senescence midpoint
    senescence_days: float
    harvest: float  # day of harvest (grassland: none)
    stubble: float  # dry cover left after harvest
    nir: float  # scale of the canopy's red-edge/NIR reflectance
    vv: float  # canopy sigma0 in dB at full cover
    vh: float
    flowering: Tuple[float, float] = (0.0, 0.0)  # (start, end) day: yellow flowers
    mowing: Tuple[float, ...] = ()


# fmt: off
CROPS: Tuple[Crop, ...] = (
    #    name             code  g0    gmax  up  days sen  days harvest stubble nir  vv     vh
    Crop("winter wheat",   311, 0.35, 0.92,  95, 10, 182,  7, 212, 0.45, 0.95, -12.5, -17.0),
    Crop("maize",         1200, 0.00, 0.95, 175,  8, 262,  8, 282, 0.15, 1.05,  -9.0, -14.0),
    Crop("potatoes",      5100, 0.00, 0.90, 158,  6, 222,  5, 252, 0.00, 1.15,  -9.0, -14.5),
    Crop("sugar beet",    8410, 0.00, 0.93, 168, 10, 310, 10, 292, 0.00, 1.12,  -8.0, -13.5),
    Crop("grassland",     9120, 0.70, 0.85,  80, 12, 400, 10, 999, 0.00, 1.00, -10.5, -16.5,
         mowing=(140.0, 190.0, 245.0)),
    Crop("winter rapeseed", 4300, 0.50, 0.90, 80, 10, 165, 6, 196, 0.40, 1.05, -8.5, -12.5,
         flowering=(105.0, 135.0)),
    Crop("spring barley",  321, 0.00, 0.85, 130,  7, 185,  6, 210, 0.40, 0.95, -12.0, -17.5),
)
# fmt: on


@dataclass
class DemoScene:
    """Where the generated demo scene lies."""

    root: Path
    s1_dir: Path
    s2_dir: Path
    parcels: Path
    truth: Path
    class_field: str = "crop_name"
    class_names: List[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- phenology
def _logistic(t: np.ndarray, mid: float, scale: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(t - mid) / scale))


def crop_cover(
    crop: Crop,
    doy: np.ndarray,
    shift: Union[float, np.ndarray] = 0.0,
    amp: Union[float, np.ndarray] = 1.0,
) -> Tuple[np.ndarray, np.ndarray]:
    """(green, dry) canopy cover fractions of ``crop`` on the days of year ``doy``.

    ``shift`` moves every date of the calendar (days), ``amp`` scales the peak green cover;
    the three broadcast (e.g. days ``(T,)`` against per-parcel ``(P, 1)`` shifts).
    """
    t = np.asarray(doy, dtype=float) - np.asarray(shift, dtype=float)
    gmax = np.minimum(0.98, crop.green_max * np.asarray(amp, dtype=float)) + np.zeros_like(t)
    g0 = np.minimum(crop.green0, gmax)
    cover = g0 + (gmax - g0) * _logistic(t, crop.green_up, crop.green_up_days)
    if crop.mowing:
        green = cover.copy()
        for day in crop.mowing:
            cut = 0.45 * gmax * np.exp(-np.maximum(t - day, 0.0) / 12.0)
            green = green - np.where(t >= day, cut, 0.0)
        green = np.clip(green, 0.05, 1.0)
        dry = np.clip(cover - green, 0.0, None) * 0.6
        return green, dry
    down = _logistic(t, crop.senescence, crop.senescence_days)
    green = cover * (1.0 - down)
    dry = cover * down
    harvested = t >= crop.harvest
    regrowth = np.clip((t - crop.harvest) / 60.0, 0.0, 1.0) * 0.08
    green = np.where(harvested, regrowth, green)
    dry = np.where(harvested, crop.stubble, dry)
    return green, dry


def _flowering(crop: Crop, doy: np.ndarray, shift: Union[float, np.ndarray] = 0.0) -> np.ndarray:
    """Fraction of the green canopy hidden by (yellow) flowers."""
    t = np.asarray(doy, dtype=float) - np.asarray(shift, dtype=float)
    a, b = crop.flowering
    if b <= a:
        return np.zeros_like(t)
    mid, half = (a + b) / 2, (b - a) / 2
    return 0.7 * np.clip(1.0 - np.abs(t - mid) / half, 0.0, 1.0) ** 0.5


def _db(x: np.ndarray) -> np.ndarray:
    """Linear backscatter to dB."""
    return 10.0 * np.log10(x)


def _lin(x: np.ndarray) -> np.ndarray:
    """DB to linear backscatter."""
    return 10.0 ** (np.asarray(x, dtype=float) / 10.0)


# ----------------------------------------------------------------------------- geometry
def _inset_convex(pts: np.ndarray, dist: Sequence[float]) -> Optional[np.ndarray]:
    """Move edge i (pts[i] -> pts[i+1]) of a convex polygon inward by dist[i].

    None if it collapses.
    """
    pts = np.asarray(pts, dtype=float)
    n = len(pts)
    area = 0.5 * np.sum(pts[:, 0] * np.roll(pts[:, 1], -1) - np.roll(pts[:, 0], -1) * pts[:, 1])
    if area <= 0:  # make it counter-clockwise
        pts = pts[::-1]
        dist = list(dist)[::-1]
        dist = dist[1:] + dist[:1]
    lines = []
    for i in range(n):
        a, b = pts[i], pts[(i + 1) % n]
        e = b - a
        length = math.hypot(*e)
        if length < 1e-6:
            return None
        e = e / length
        normal = np.array([-e[1], e[0]])  # left of the edge = inside for CCW
        lines.append((a + normal * dist[i], e))
    corners = []
    for i in range(n):
        (p1, d1), (p2, d2) = lines[i - 1], lines[i]
        det = d1[0] * (-d2[1]) - d1[1] * (-d2[0])
        if abs(det) < 1e-9:
            return None
        rhs = p2 - p1
        s = (rhs[0] * (-d2[1]) - rhs[1] * (-d2[0])) / det
        corners.append(p1 + s * d1)
    out = np.array(corners)
    new_area = 0.5 * np.sum(out[:, 0] * np.roll(out[:, 1], -1) - np.roll(out[:, 0], -1) * out[:, 1])
    if new_area <= 0 or not _convex(out):
        return None
    return out


def _convex(pts: np.ndarray) -> bool:
    d = np.roll(pts, -1, axis=0) - pts
    cross = d[:, 0] * np.roll(d[:, 1], -1) - d[:, 1] * np.roll(d[:, 0], -1)
    return bool(np.all(cross > 0) or np.all(cross < 0))


def _parcels(
    rng: np.random.Generator, width_m: float, height_m: float, spacing: float
) -> List[np.ndarray]:
    """Parcel polygons (local metres: x right, y down) covering [0, width] x [0, height]."""

    def edges(extent: float) -> np.ndarray:
        pos = [-0.5 * spacing * rng.uniform(0.5, 1.0)]
        while pos[-1] < extent + 0.3 * spacing:
            pos.append(pos[-1] + spacing * rng.uniform(0.7, 1.3))
        return np.array(pos)

    xs, ys = edges(width_m), edges(height_m)
    nx, ny = len(xs), len(ys)
    vx = xs[:, None] + rng.uniform(-0.18, 0.18, (nx, ny)) * spacing
    vy = ys[None, :] + rng.uniform(-0.18, 0.18, (nx, ny)) * spacing
    road_x = int(rng.integers(1, nx - 1)) if nx > 3 else -1  # vertex column that is a road
    road_y = int(rng.integers(1, ny - 1)) if ny > 3 else -1
    road_half, min_split = 9.0, max(1.1 * spacing, 90.0)

    def gap() -> float:
        return float(rng.uniform(2.0, 6.0))

    polys = []
    for i in range(nx - 1):
        for j in range(ny - 1):
            q = np.array(
                [
                    (vx[i, j], vy[i, j]),
                    (vx[i + 1, j], vy[i + 1, j]),
                    (vx[i + 1, j + 1], vy[i + 1, j + 1]),
                    (vx[i, j + 1], vy[i, j + 1]),
                ]
            )
            # edges: top (row line j), right (col line i+1), bottom (j+1), left (i)
            d = [
                road_half if j == road_y else gap(),
                road_half if i + 1 == road_x else gap(),
                road_half if j + 1 == road_y else gap(),
                road_half if i == road_x else gap(),
            ]
            w = np.hypot(*(q[1] - q[0]))
            h = np.hypot(*(q[3] - q[0]))
            split = rng.uniform() < 0.55 and max(w, h) >= min_split
            if not split:
                polys.append((q, d))
                continue
            t1 = rng.uniform(0.35, 0.65)
            t2 = np.clip(t1 + rng.uniform(-0.1, 0.1), 0.3, 0.7)
            g = gap()
            if w >= h:  # cut top and bottom edges
                a = q[0] + t1 * (q[1] - q[0])
                b = q[3] + t2 * (q[2] - q[3])
                polys.append((np.array([q[0], a, b, q[3]]), [d[0], g, d[2], d[3]]))
                polys.append((np.array([a, q[1], q[2], b]), [d[0], d[1], d[2], g]))
            else:  # cut left and right edges
                a = q[0] + t1 * (q[3] - q[0])
                b = q[1] + t2 * (q[2] - q[1])
                polys.append((np.array([q[0], q[1], b, a]), [d[0], d[1], g, d[3]]))
                polys.append((np.array([a, b, q[2], q[3]]), [g, d[1], d[2], d[3]]))
    out = []
    for q, d in polys:
        p = _inset_convex(q, d)
        if p is None:
            continue
        area = 0.5 * abs(np.sum(p[:, 0] * np.roll(p[:, 1], -1) - np.roll(p[:, 0], -1) * p[:, 1]))
        if area >= 400.0:
            out.append(p)
    return out


def _smooth_field(rng: np.random.Generator, shape: Tuple[int, int], sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise (periodic), standardised to mean 0, std 1."""
    noise = rng.standard_normal(shape)
    fy = np.fft.fftfreq(shape[0], d=1.0)[:, None]
    fx = np.fft.rfftfreq(shape[1], d=1.0)[None, :]
    kernel = np.exp(-2.0 * (math.pi * sigma) ** 2 * (fx**2 + fy**2))
    out = np.fft.irfft2(np.fft.rfft2(noise) * kernel, s=shape)
    out -= out.mean()
    sd = out.std()
    return out / sd if sd > 0 else out


def _shift(mask: np.ndarray, dr: int, dc: int) -> np.ndarray:
    """``mask`` moved by (dr, dc) pixels, False where nothing moved in."""
    out = np.zeros_like(mask)
    h, w = mask.shape
    rs, rd = (slice(0, h - dr), slice(dr, h)) if dr >= 0 else (slice(-dr, h), slice(0, h + dr))
    cs, cd = (slice(0, w - dc), slice(dc, w)) if dc >= 0 else (slice(-dc, w), slice(0, w + dc))
    out[rd, cd] = mask[rs, cs]
    return out


def _block_mean(a: np.ndarray, k: int) -> np.ndarray:
    """Mean over k x k blocks of the last two axes."""
    *lead, h, w = a.shape
    return a.reshape(*lead, h // k, k, w // k, k).mean(axis=(-3, -1))


def _dates(rng: np.random.Generator, first: date, step: int, n: int) -> List[date]:
    """``n`` dates drawn one per stratum from the revisit days over the season (gaps)."""
    span = (SEASON_END - first).days // step + 1
    candidates = max(span, n)
    edges = np.round(np.linspace(0, candidates, n + 1)).astype(int)
    picks = [int(rng.integers(a, b)) for a, b in zip(edges[:-1], edges[1:])]
    return [first + timedelta(days=step * k) for k in picks]


# ----------------------------------------------------------------------------- writing
def _write_tif(
    path: Path,
    data: np.ndarray,
    crs: CrsLike,
    transform: affine.Affine,
    *,
    nodata: Optional[float],
    descriptions: Sequence[str],
    tags: Dict[str, str],
) -> None:
    """Write a GeoTIFF with the scene's conventions (pixel interleaved)."""
    from .raster_io import write_raster

    grid = Grid(crs, transform, data.shape[2], data.shape[1])
    write_raster(
        path, data, grid, nodata=nodata, descriptions=descriptions, tags=tags, interleave="pixel"
    )


def _write_truth(
    path: Path,
    truth: np.ndarray,
    crs: CrsLike,
    transform: affine.Affine,
    names: Sequence[str],
    codes: Sequence[int],
) -> None:
    """Write the truth class raster with the S4 class tags and a colour table."""
    from .labels import IGNORE_INDEX, ClassMap
    from .raster_io import class_colormap, write_raster

    cmap = ClassMap.from_names(names, names)
    tags = dict(
        CLASSES=json.dumps({str(i): n for i, n in enumerate(names)}),
        CLASS_CODES=json.dumps({str(i): int(c) for i, c in enumerate(codes)}),
        S4_CLASS_MAP=json.dumps(cmap.to_dict()),
        NODATA_MEANING=f"{IGNORE_INDEX} = no label (roads, field margins)",
    )
    grid = Grid(crs, transform, truth.shape[1], truth.shape[0])
    write_raster(
        path, truth, grid, nodata=IGNORE_INDEX, descriptions=["crop class index"], tags=tags,
        colormap=class_colormap(cmap),
    )  # fmt: skip


def _write_parcels(
    path: Path,
    polys_crs: Sequence[np.ndarray],
    names: Sequence[str],
    codes: Sequence[int],
    crs_wkt: str,
) -> None:
    """Write the parcel polygons with their crop name and code as a GeoPackage."""
    import fiona

    schema = {"geometry": "Polygon", "properties": {"crop_name": "str", "crop_code": "int"}}
    with fiona.open(
        str(path), "w", driver="GPKG", layer="parcels", schema=schema, crs_wkt=crs_wkt
    ) as dst:
        for ring, name, code in zip(polys_crs, names, codes):
            coords = [(float(x), float(y)) for x, y in ring]
            coords.append(coords[0])
            dst.write(
                {
                    "geometry": {"type": "Polygon", "coordinates": [coords]},
                    "properties": {"crop_name": name, "crop_code": int(code)},
                }
            )


# ----------------------------------------------------------------------------- main
def make_demo_scene(
    out_dir: PathLike,
    *,
    seed: int = DEMO.default("seed"),
    size: int = DEMO.default("size"),
    n_s2: int = DEMO.default("n_s2"),
    n_s1: int = DEMO.default("n_s1"),
    n_classes: int = DEMO.default("n_classes"),
    overwrite: bool = False,
    progress: Optional[Progress] = None,
    cancel: Optional[Cancel] = None,
) -> DemoScene:
    """Generate the demo scene into ``out_dir`` (see the module docstring); same seed, same data.

    ``size`` is the S2 grid side in 10 m pixels, ``n_s2``/``n_s1`` the numbers of dates,
    ``n_classes`` the number of crops (2 to 7). In an existing non-empty ``out_dir`` an
    earlier demo scene is replaced only with ``overwrite=True``: its own files (``DEMO_FILES``:
    the S1/S2 images, ``labels/truth.tif``, ``labels/parcels.gpkg``, ``scene.json``), while
    anything else in ``out_dir`` is kept. The scene is written to a temporary folder beside
    ``out_dir`` and moved into place at the end.
    """
    from affine import Affine
    from rasterio.crs import CRS
    from rasterio.features import rasterize

    DEMO.check(dict(seed=seed, size=size, n_s2=n_s2, n_s1=n_s1, n_classes=n_classes))
    size, n_s2, n_s1, n_classes = int(size), int(n_s2), int(n_s1), int(n_classes)
    out = Path(os.fspath(out_dir)).resolve()
    if out.exists() and not out.is_dir():
        raise DataError(f"{out} is a file: give a folder for the demo scene")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise DataError(
                f"{out} is not empty: give an empty or new folder, or allow replacing an earlier "
                "demo scene (overwrite=True; s4 demo-data --overwrite)"
            )
        if not (out / "scene.json").is_file():
            raise DataError(
                f"{out} is not empty and holds no earlier demo scene (no scene.json): refusing "
                "to replace it; give an empty or new folder"
            )

    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(fraction, message, None)
        if cancel is not None and cancel():
            raise Cancelled("demo scene generation cancelled")

    rng = np.random.default_rng(seed)
    crops = CROPS[:n_classes]
    names = sorted(c.name for c in crops)
    crops = tuple(next(c for c in crops if c.name == n) for n in names)
    codes = [c.code for c in crops]

    # --- grids: S2 10 m; S1 20 m offset; a common 5 m grid with S1's origin
    crs = CRS.from_epsg(EPSG)
    half = size * 10.0 / 2
    x0 = round(CENTRE[0] - half)
    y0 = round(CENTRE[1] + half)
    s2_tf = Affine(10.0, 0.0, x0, 0.0, -10.0, y0)
    w1 = math.ceil((10 * size - S1_OFFSET_M[0]) / 20) + 1
    h1 = math.ceil((10 * size + S1_OFFSET_M[1]) / 20) + 1
    s1_tf = Affine(20.0, 0.0, x0 + S1_OFFSET_M[0], 0.0, -20.0, y0 + S1_OFFSET_M[1])
    fine_tf = Affine(FINE, 0.0, s1_tf.c, 0.0, -FINE, s1_tf.f)
    hf, wf = 4 * h1, 4 * w1
    r_off, c_off = int(S1_OFFSET_M[1] / FINE), int(-S1_OFFSET_M[0] / FINE)  # S2 in fine grid

    # --- parcels and classes
    spacing = float(np.clip(size * 10.0 / 6.5, 55.0, 200.0))
    local = _parcels(rng, wf * FINE, hf * FINE, spacing)
    polys = [np.column_stack([fine_tf.c + p[:, 0], fine_tf.f - p[:, 1]]) for p in local]
    n_par = len(polys)
    cls = rng.permutation(np.arange(n_par) % n_classes)
    shift = rng.normal(0.0, 5.0, n_par)
    amp = rng.uniform(0.9, 1.05, n_par)
    soil_b = rng.uniform(0.85, 1.15, n_par)
    rough = rng.normal(0.0, 0.8, n_par)

    def geo(p: np.ndarray) -> Dict[str, object]:
        ring = [(float(x), float(y)) for x, y in p] + [(float(p[0, 0]), float(p[0, 1]))]
        return {"type": "Polygon", "coordinates": [ring]}

    shapes = [(geo(p), k + 1) for k, p in enumerate(polys)]
    ids_fine = rasterize(shapes, out_shape=(hf, wf), transform=fine_tf, fill=0, dtype="int32")
    ids_s2 = rasterize(shapes, out_shape=(size, size), transform=s2_tf, fill=0, dtype="int32")
    present = np.unique(ids_s2[ids_s2 > 0]) - 1  # parcels with an S2 pixel centre
    lut = np.full(n_par + 1, 255, dtype=np.uint8)
    lut[1:] = cls
    truth = lut[ids_s2]

    s2_fine = (slice(r_off, r_off + 2 * size), slice(c_off, c_off + 2 * size))
    tex = _smooth_field(rng, (hf, wf), sigma=4.0)[s2_fine]

    # --- dates
    s2_dates = _dates(rng, SEASON_START, S2_REVISIT, n_s2)
    s1_dates = _dates(rng, S1_FIRST, S1_REVISIT, n_s1)
    s2_secs = rng.integers(0, 60, n_s2)
    s1_secs = rng.integers(0, 60, n_s1)

    def parcel_states(days: Sequence[date]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per parcel (row 0 = roads/margins) and date: green, dry and flower fractions."""
        t = np.array([float(d.timetuple().tm_yday) for d in days])[None, :]
        green = np.empty((n_par + 1, len(days)))
        dry = np.empty_like(green)
        flower = np.zeros_like(green)
        green[0], dry[0] = 0.30, 0.05  # road verges
        for ci, c in enumerate(crops):
            idx = np.flatnonzero(cls == ci)
            green[idx + 1], dry[idx + 1] = crop_cover(c, t, shift[idx, None], amp[idx, None])
            flower[idx + 1] = _flowering(c, t, shift[idx, None])
        return green, dry, flower

    nir = np.array([1.0] + [crops[c].nir for c in cls])
    soil = np.vstack([_ASPHALT] + [_SOIL * b for b in soil_b])  # (P+1, 10)
    veg = _VEG[None, :] * (1.0 + (nir[:, None] - 1.0) * _NIR_BANDS[None, :])  # (P+1, 10)
    veg_soil = veg - soil
    s2_green, s2_dry, s2_flower = parcel_states(s2_dates)
    s1_green, s1_dry, _ = parcel_states(s1_dates)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=str(out.parent)))
    tmp.chmod(0o755)  # mkdtemp makes it private; the scene is an ordinary folder
    try:
        s2_dir, s1_dir, lab_dir = tmp / "S2", tmp / "S1", tmp / "labels"
        for folder in (s2_dir, s1_dir, lab_dir):
            folder.mkdir()
        steps = n_s2 + n_s1 + 2
        ids_fine_s2 = ids_fine[s2_fine]
        wedge_date = int(rng.integers(0, n_s2))
        rr, cc = np.mgrid[0:size, 0:size]
        wedge = (rr / size + cc / size) > 1.6
        cloud_sigma = max(2.0, size / 12.0)
        sh = (-(2 + size // 12), -(1 + size // 24))  # shadows fall north-west of the clouds

        # --- Sentinel-2
        for k, d in enumerate(s2_dates):
            report(k / steps, f"Sentinel-2 {d.isoformat()}")
            g, dr, fl = s2_green[:, k], s2_dry[:, k], s2_flower[:, k]
            spec = (
                (g * (1 - fl))[:, None] * veg
                + (g * fl)[:, None] * _FLOWER[None, :]
                + dr[:, None] * _DRY[None, :]
                + np.clip(1 - g - dr, 0, 1)[:, None] * soil
            )  # (P+1, 10)
            g_fine = 0.08 * tex * g[ids_fine_s2]  # within-parcel vigour texture
            refl = np.empty((len(S2_BANDS), size, size))
            for b in range(len(S2_BANDS)):
                fine = spec[:, b][ids_fine_s2] + g_fine * veg_soil[:, b][ids_fine_s2]
                refl[b] = _block_mean(fine, 2)
            refl = refl * (1 + rng.normal(0, 0.02, refl.shape)) + rng.normal(0, 0.003, refl.shape)
            refl = refl + rng.uniform(0, 0.015) * _HAZE[:, None, None]
            ndvi = (refl[6] - refl[2]) / np.maximum(refl[6] + refl[2], 1e-6)
            scl = np.where(ndvi > 0.4, 4, 5).astype(np.uint16)
            kind = rng.uniform()  # half the dates clear, a few heavily clouded
            if kind < 0.5:
                frac = 0.0
            elif kind < 0.85:
                frac = rng.uniform(0.03, 0.3)
            else:
                frac = rng.uniform(0.4, 0.8)
            cloud_field = _smooth_field(rng, (size, size), cloud_sigma)
            if frac > 0:
                thr = np.quantile(cloud_field, 1 - frac)
                alpha = np.clip((cloud_field - thr) / 0.8, 0, 1)
                cloudy = cloud_field > thr
                shadow = _shift(cloudy, *sh) & ~cloudy
                cloud_spec = _CLOUD * rng.uniform(0.85, 1.15)
                refl = np.where(
                    shadow[None], refl * rng.uniform(0.3, 0.45), refl
                )  # diffuse light only
                refl = refl * (1 - alpha[None]) + cloud_spec[:, None, None] * alpha[None]
                scl[shadow] = 3
                scl[cloudy] = 8
                scl[alpha > 0.6] = 9
            dn = np.clip(np.round(refl * 10000.0), 1, 65535).astype(np.uint16)
            data = np.concatenate([dn, scl[None]], axis=0)
            if k == wedge_date and n_s2 >= 4:
                data[:, wedge] = 0
            stamp = f"{d.isoformat()}T10:56:{int(s2_secs[k]):02d}Z"
            _write_tif(
                s2_dir / f"S2_L2A_{d:%Y%m%d}.tif",
                data,
                crs,
                s2_tf,
                nodata=0,
                descriptions=list(S2_BANDS) + ["SCL"],
                tags={
                    "ACQUISITION_DATETIME": stamp,
                    "SENSOR": "Sentinel-2 L2A (synthetic demo)",
                    "SCALE": "reflectance = DN / 10000; SCL = scene classification",
                },
            )

        # --- Sentinel-1
        cls_vv = np.array([crops[c].vv for c in cls])
        cls_vh = np.array([crops[c].vh for c in cls])
        col_grad = 0.6 * (0.5 - (np.arange(w1) + 0.5) / w1)[None, :]
        nan_date = int(rng.integers(0, n_s1))
        for k, d in enumerate(s1_dates):
            report((n_s2 + k) / steps, f"Sentinel-1 {d.isoformat()}")
            g, dr = s1_green[:, k], s1_dry[:, k]
            moist = rng.normal(0.0, 1.0)
            soil_vv = np.concatenate([[-14.0], -11.0 + rough + moist])
            soil_vh = soil_vv - 8.0
            can_vv = np.concatenate([[-11.0], cls_vv + 0.3 * moist])
            can_vh = np.concatenate([[-17.0], cls_vh + 0.3 * moist])
            bare = np.clip(1 - g - dr, 0, 1)
            vv = bare * _lin(soil_vv) + g * _lin(can_vv) + dr * _lin(can_vv + 0.5)
            vh = bare * _lin(soil_vh) + g * _lin(can_vh) + dr * _lin(can_vh - 1.5)
            sig = np.stack([vv[ids_fine], vh[ids_fine]])  # (2, hf, wf) linear power
            sig = _block_mean(sig, 4)
            sig = sig * rng.gamma(ENL, 1.0 / ENL, sig.shape)
            db = (_db(np.maximum(sig, 1e-6)) + col_grad[None]).astype(np.float32)
            if k == nan_date and n_s1 >= 4:
                db[:, :, : max(1, w1 // 10)] = np.nan
            stamp = f"{d.isoformat()}T17:40:{int(s1_secs[k]):02d}Z"
            _write_tif(
                s1_dir / f"S1_GRD_ASC_{d:%Y%m%d}.tif",
                db,
                crs,
                s1_tf,
                nodata=float("nan"),
                descriptions=list(S1_BANDS),
                tags={
                    "ACQUISITION_DATETIME": stamp,
                    "SENSOR": "Sentinel-1 GRD IW ascending (synthetic demo)",
                    "UNITS": "sigma0 backscatter, dB",
                },
            )

        # --- labels
        report((n_s2 + n_s1) / steps, "labels")
        _write_truth(lab_dir / "truth.tif", truth, crs, s2_tf, names, codes)
        _write_parcels(
            lab_dir / "parcels.gpkg",
            [polys[k] for k in present],
            [names[cls[k]] for k in present],
            [codes[cls[k]] for k in present],
            crs.to_wkt(),
        )
        meta = {
            "generator": "s4_core.demo.make_demo_scene",
            "seed": int(seed),
            "size": size,
            "n_classes": n_classes,
            "classes": [
                {"index": i, "name": n, "code": c} for i, (n, c) in enumerate(zip(names, codes))
            ],
            "class_field": "crop_name",
            "parcels": int(len(present)),
            "s2_grid": {
                "crs": f"EPSG:{EPSG}",
                "transform": list(s2_tf)[:6],
                "width": size,
                "height": size,
            },
            "s1_grid": {
                "crs": f"EPSG:{EPSG}",
                "transform": list(s1_tf)[:6],
                "width": w1,
                "height": h1,
            },
            "s2_dates": [d.isoformat() for d in s2_dates],
            "s1_dates": [d.isoformat() for d in s1_dates],
        }
        (tmp / "scene.json").write_text(json.dumps(meta, indent=2) + "\n")
        report((steps - 1) / steps, "moving into place")
        _move_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if progress is not None:
        progress(1.0, "demo scene written", None)
    return DemoScene(
        root=out,
        s1_dir=out / "S1",
        s2_dir=out / "S2",
        parcels=out / "labels" / "parcels.gpkg",
        truth=out / "labels" / "truth.tif",
        class_field="crop_name",
        class_names=list(names),
    )


# The files a demo scene writes (relative glob patterns), with the sidecars GDAL and SQLite add
# beside them (.aux.xml, -wal, -shm): --overwrite replaces these and keeps anything else.
DEMO_FILES = (
    "scene.json",
    "S2/S2_L2A_*.tif*",
    "S1/S1_GRD_ASC_*.tif*",
    "labels/truth.tif*",
    "labels/parcels.gpkg*",
)


def demo_files(root: Path) -> List[Path]:
    """The files of a demo scene in ``root`` (paths relative to it; see ``DEMO_FILES``)."""
    found = {p for pattern in DEMO_FILES for p in root.glob(pattern) if p.is_file()}
    return sorted(p.relative_to(root) for p in found)


def _move_into_place(tmp: Path, out: Path) -> None:
    """Move the scene written in ``tmp`` into ``out``; ``tmp`` is removed.

    A new or empty ``out`` is replaced by ``tmp`` in one rename. Otherwise only the earlier demo
    scene's own files (``demo_files``) are replaced, anything else the user keeps in ``out``
    (models, results, edited labels) stays: the old demo files are first renamed into a
    folder beside ``out``, then the new ones renamed into place (same file system), and
    should a rename fail, everything is renamed back; the old files are deleted last.
    """
    if not (out.is_dir() and any(out.iterdir())):
        if out.is_dir():
            out.rmdir()
        os.replace(tmp, out)
        return
    old, new = demo_files(out), sorted(p.relative_to(tmp) for p in tmp.rglob("*") if p.is_file())
    trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=str(out.parent)))
    moved: List[Path] = []
    placed: List[Path] = []
    made: List[Path] = []  # folders created in out, removed again on failure

    def move(src: Path, dst: Path) -> None:
        for parent in reversed(dst.parents):
            if not parent.exists():
                parent.mkdir()
                made.append(parent)
        os.replace(src, dst)

    try:
        for rel in old:
            move(out / rel, trash / rel)
            moved.append(rel)
        for rel in new:
            move(tmp / rel, out / rel)
            placed.append(rel)
    except BaseException:
        for rel in reversed(placed):
            os.replace(out / rel, tmp / rel)
        for rel in reversed(moved):
            os.replace(trash / rel, out / rel)
        for folder in reversed(made):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        shutil.rmtree(trash, ignore_errors=True)
        raise
    shutil.rmtree(trash, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)


def load_meta(root: PathLike) -> Dict:
    """The ``scene.json`` of a generated demo scene."""
    path = Path(os.fspath(root)) / "scene.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}; is {root} a demo scene?") from exc

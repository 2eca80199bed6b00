"""Discovering Sentinel-1 / Sentinel-2 time series: folders, file lists and multi-band stacks.

Three source forms give the same :class:`TimeSeries`:

- a folder of per-date GeoTIFFs (``*.tif``, ``*.tiff``, ``*.vrt``, ``*.jp2``; sorted by name);
- an explicit list of files;
- one multi-band stack whose band descriptions carry date and band, e.g. ``2018-04-12_B04``
  (``20180412_B04`` and ``B04_2018-04-12`` work too). Folders and lists may hold stacks.

Dates, in this order: the ``ACQUISITION_DATETIME`` tag of a per-date file; else the date in its
band descriptions; else a date in its file name (``YYYYMMDD`` or ``YYYY-MM-DD``). A tag that
disagrees with the date in the file name is used, with a warning naming the files and both dates. A file whose
band descriptions carry several dates is a stack and every band takes its own date.

Band names come from the band descriptions (``B4`` -> ``B04``, ``vv`` -> ``VV``); the sensor from
the band names (VV/VH/HH/HV: ``s1``; B01..B12, B8A: ``s2``), overridable with ``sensor=``. An S2
band named ``SCL`` is the Sen2Cor scene classification used as cloud mask, not a measurement.
Bands are ordered canonically (B01 B02 ... B8A ... B12; VV VH HH HV), unknown names after them.

Same-day duplicates (two files, or a file and a stack band group, on one date): the one with
the most valid pixels is kept (estimated on a decimated read of its first band and SCL; ties:
the first in file-name order), with a warning naming the files dropped.

Open datasets are cached in a small LRU (:func:`open_dataset`) so that repeated windowed reads
do not reopen files; the cache is per process and per thread (GDAL handles are not
thread-safe, and a forked data-loader worker opens its own).
"""

from __future__ import annotations

import atexit
import datetime as _dt
import math
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import rasterio
from rasterio.io import DatasetReader
from rasterio.windows import Window

from . import radiometry
from .errors import NO_READ_ACCESS, DataError, unreadable, unreadable_pixels
from .grid import Grid
from .types import PathLike, Sources
from .validate import RASTER_SUFFIXES

S2_BANDS = (
    "B01",
    "B02",
    "B03",
    "B04",
    "B05",
    "B06",
    "B07",
    "B08",
    "B8A",
    "B09",
    "B10",
    "B11",
    "B12",
)
S1_BANDS = ("VV", "VH", "HH", "HV")
SCL = "SCL"
DATE_TAGS = ("ACQUISITION_DATETIME", "ACQUISITION_DATE", "DATETIME_ACQUISITION")


# ------------------------------------------------------------------------------------------
# Data classes
# ------------------------------------------------------------------------------------------
@dataclass
class Acquisition:
    """One date of a series: where its bands are and how to read them.

    ``band_indexes`` are 1-based band numbers in ``path``, in ``TimeSeries.band_names`` order;
    ``scl_index`` the SCL band (S2) or None. ``linear`` (S1): this file holds linear power
    (converted to dB when read); None: as ``TimeSeries.linear``. ``cloud_fraction`` (a lazy property) is the
    fraction of the file's pixels whose SCL class is invalid (:data:`radiometry.SCL_INVALID`).
    """

    path: Path
    date: _dt.date
    band_indexes: Tuple[int, ...]
    scl_index: Optional[int]
    nodata: Optional[float]
    timestamp: Optional[str] = None
    date_source: str = ""
    linear: Optional[bool] = None
    _cloud_fraction: Optional[float] = field(default=None, repr=False, compare=False)

    @property
    def cloud_fraction(self) -> Optional[float]:
        """Fraction of the file's pixels with an invalid SCL class; None without SCL.

        Computed on first access (reads the SCL band in row chunks), then cached.
        """
        if self._cloud_fraction is None and self.scl_index is not None:
            self._cloud_fraction = _file_cloud_fraction(self)
        return self._cloud_fraction

    @property
    def label(self) -> str:
        """The file, plus the date when the file is a multi-date stack."""
        return (
            f"{self.path} ({self.date.isoformat()})"
            if self.date_source == "stack"
            else str(self.path)
        )


@dataclass
class TimeSeries:
    """A Sentinel-1 or Sentinel-2 image time series, one acquisition per day, sorted by date.

    Radiometry applied by readers: s2 reflectance = (raw + ``offset``) * ``scale``; s1 raw is
    converted from linear power to dB when its acquisition's ``linear`` is true (decided per
    file; None there: this series' ``linear``, which :func:`open_series` sets when any file is
    linear).
    """

    sensor: str
    band_names: List[str]
    acquisitions: List[Acquisition]
    source: str
    linear: bool = False
    scale: float = 1.0
    offset: float = 0.0
    dropped: List[str] = field(default_factory=list)

    @property
    def dates(self) -> List[_dt.date]:
        """The acquisition dates, in series order."""
        return [a.date for a in self.acquisitions]

    def __len__(self) -> int:
        return len(self.acquisitions)

    @property
    def has_scl(self) -> bool:
        """Whether the series carries Sentinel-2 SCL classes (cloud masking)."""
        return any(a.scl_index is not None for a in self.acquisitions)

    def grid(self) -> Grid:
        """The grid of the first acquisition's file."""
        return dataset_grid(self.acquisitions[0].path)

    def subset(self, indexes: Sequence[int]) -> TimeSeries:
        """A series with only the acquisitions at ``indexes`` (kept in date order)."""
        keep = sorted(set(int(i) for i in indexes))
        return replace(
            self, acquisitions=[self.acquisitions[i] for i in keep], dropped=list(self.dropped)
        )

    def cloud_fractions(self) -> np.ndarray:
        """Per acquisition, the fraction of the file's pixels with an invalid SCL class.

        NaN where the file has no SCL band. Reads the SCL band in row chunks; results are cached.
        """
        out = np.full(len(self), np.nan)
        for i, acq in enumerate(self.acquisitions):
            if acq.scl_index is not None:
                out[i] = acq.cloud_fraction
        return out

    def describe(self) -> dict:
        """A JSON-friendly summary."""
        d = self.dates
        return {
            "sensor": self.sensor,
            "source": self.source,
            "bands": list(self.band_names),
            "frames": len(self),
            "first": d[0].isoformat() if d else None,
            "last": d[-1].isoformat() if d else None,
            "scl": self.has_scl,
            "linear": self.linear,
            "scale": self.scale,
            "offset": self.offset,
        }


# ------------------------------------------------------------------------------------------
# Dataset handle cache
# ------------------------------------------------------------------------------------------
_CACHE: OrderedDict[tuple, DatasetReader] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_PID = os.getpid()
_OPEN_COUNT = 0  # datasets opened through the cache (tests check that reads reuse handles)


def _cache_capacity() -> int:
    value = os.environ.get("S4_MAX_OPEN_DATASETS")
    if value:
        return max(1, int(value))
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft <= 0 or soft == resource.RLIM_INFINITY:
            soft = 4096
    except (ImportError, ValueError, OSError):
        soft = 1024
    return int(min(512, max(32, soft // 4)))


def open_dataset(path: PathLike) -> DatasetReader:
    """An open rasterio dataset for ``path`` from a small LRU cache (do not close it).

    The key holds the file's modification time and size, so a rewritten file is reopened.
    Raises :class:`DataError` naming the file when it cannot be read.
    """
    global _CACHE_PID, _OPEN_COUNT
    path = Path(path)
    try:
        st = path.stat()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}; check the path") from exc
    # A thread not started by ``threading`` (a QGIS task's QThread) is not in
    # threading.enumerate() until current_thread() registers it; another thread's next open
    # would take it for ended and close the handles it reads from. (rasterio.open registers
    # it today as a side effect: this does not rely on that.)
    threading.current_thread()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size, threading.get_ident())
    with _CACHE_LOCK:
        if _CACHE_PID != os.getpid():  # forked: the parent's handles are not ours to use
            _CACHE.clear()
            _CACHE_PID = os.getpid()
        ds = _CACHE.get(key)
        if ds is not None and not ds.closed:
            _CACHE.move_to_end(key)
            return ds
    try:
        ds = rasterio.open(path)
    except Exception as exc:  # RasterioIOError and friends: not a readable raster
        if unreadable(path):
            raise DataError(f"cannot read {path}: {NO_READ_ACCESS}") from None
        raise DataError(
            f"cannot read {path}: {exc}; check that it is a complete GeoTIFF (try gdalinfo on it)"
        ) from exc
    with _CACHE_LOCK:
        _OPEN_COUNT += 1
        _CACHE[key] = ds
        alive = _alive_threads()
        _close_where(lambda k: k[3] not in alive)  # handles of finished threads
        capacity = _cache_capacity()
        while len(_CACHE) > capacity:
            _, old = _CACHE.popitem(last=False)
            try:
                old.close()
            except Exception:  # closing a broken handle must not break reading
                pass
    return ds


def _alive_threads() -> set:
    """The idents of the threads alive now."""
    return {t.ident for t in threading.enumerate()}


def _close_where(drop: Callable[[tuple], bool]) -> None:
    """Close and forget the cached datasets whose key ``drop`` selects (lock held)."""
    for key in [k for k in _CACHE if drop(k)]:
        try:
            _CACHE.pop(key).close()
        except Exception:  # closing a broken handle must not break reading
            pass


def release_thread_datasets() -> None:
    """Close the cached datasets the calling thread opened.

    A reading thread calls it before it ends, so that no handle outlives the work it served.
    """
    ident = threading.get_ident()
    with _CACHE_LOCK:
        _close_where(lambda k: k[3] == ident)


def clear_dataset_cache() -> None:
    """Close every cached dataset (e.g. before deleting or rewriting files on Windows)."""
    with _CACHE_LOCK:
        while _CACHE:
            _, ds = _CACHE.popitem()
            try:
                ds.close()
            except Exception:
                pass


def _release_at_exit() -> None:
    """At interpreter exit, keep cached datasets alive instead of closing them.

    A host may tear GDAL down before Python finalises (QGIS's ``exitQgis()``, e.g. at the end
    of a pytest-qgis session); closing a dataset after that crashes the process. The handles are
    read-only, so leaving them to the operating system loses nothing.
    """
    import ctypes

    with _CACHE_LOCK:
        for ds in _CACHE.values():
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(ds))
        _CACHE.clear()


atexit.register(_release_at_exit)


def dataset_grid(path: PathLike) -> Grid:
    """The :class:`Grid` of a raster (through the handle cache)."""
    ds = open_dataset(path)
    if ds.crs is None:
        raise DataError(f"{path} has no CRS; assign one (e.g. gdal_edit.py -a_srs EPSG:32631)")
    return Grid(ds.crs, ds.transform, ds.width, ds.height)


# ------------------------------------------------------------------------------------------
# Parsing dates and band names
# ------------------------------------------------------------------------------------------
_DATE_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})([-_./]?)(\d{2})\2(\d{2})(?!\d)")


def parse_date(text: str) -> Optional[_dt.date]:
    """The first valid ``YYYYMMDD`` / ``YYYY-MM-DD`` date in ``text``, or None."""
    for m in _DATE_RE.finditer(text or ""):
        try:
            return _dt.date(int(m.group(1)), int(m.group(3)), int(m.group(4)))
        except ValueError:
            continue
    return None


def normalize_band(name: str) -> str:
    """Canonical band name: ``b4`` -> ``B04``, ``b8a`` -> ``B8A``, ``vv`` -> ``VV``."""
    n = name.strip().upper()
    m = re.fullmatch(r"B(\d{1,2})(A?)", n)
    if m:
        return f"B{int(m.group(1))}A" if m.group(2) else f"B{int(m.group(1)):02d}"
    m = re.fullmatch(r"(?:SIGMA0_?|S1_?)?(VV|VH|HH|HV)(?:_DB|_LIN)?", n)
    if m:
        return m.group(1)
    if n in ("SCL", "SCENE_CLASSIFICATION", "SCENECLASSIFICATION"):
        return SCL
    return n


_DESC_DATE_FIRST = re.compile(
    r"^\s*((?:19|20)\d{2}-?\d{2}-?\d{2})(?:T[0-9:.]+Z?)?\s*[_\s:-]\s*(?P<band>\S.*?)\s*$"
)
_DESC_DATE_LAST = re.compile(
    r"^\s*(?P<band>\S.*?)\s*[_\s:-]\s*((?:19|20)\d{2}-?\d{2}-?\d{2})(?:T[0-9:.]+Z?)?\s*$"
)


def parse_description(desc: Optional[str]) -> Tuple[Optional[_dt.date], Optional[str]]:
    """``"2018-04-12_B04"`` -> ``(date(2018, 4, 12), "B04")``; ``"B04"`` -> ``(None, "B04")``."""
    if not desc or not desc.strip():
        return None, None
    for rx, date_group in ((_DESC_DATE_FIRST, 1), (_DESC_DATE_LAST, 2)):
        m = rx.match(desc)
        if m:
            d = parse_date(m.group(date_group))
            if d is not None:
                return d, normalize_band(m.group("band"))
    d = parse_date(desc)
    if d is not None and re.fullmatch(r"[\d\-_.T:Z ]+", desc.strip()):
        return d, None  # a bare date as description
    return None, normalize_band(desc)


def _order_key(sensor: str) -> Callable[[Tuple[int, str]], Tuple[int, int]]:
    """A sort key for ``(position, band name)``: the sensor's canonical band order first."""
    canonical = {"s1": S1_BANDS, "s2": S2_BANDS}.get(sensor, ())

    def key(item: Tuple[int, str]) -> Tuple[int, int]:
        pos, name = item
        return (canonical.index(name), 0) if name in canonical else (len(canonical), pos)

    return key


def detect_sensor(band_names: Sequence[str]) -> Optional[str]:
    """``"s1"`` for radar polarisations, ``"s2"`` for optical band names, None when unclear."""
    names = set(band_names)
    is_s1 = bool(names & set(S1_BANDS))
    is_s2 = bool(names & (set(S2_BANDS) | {SCL}))
    if is_s1 and not is_s2:
        return "s1"
    if is_s2 and not is_s1:
        return "s2"
    return None


# ------------------------------------------------------------------------------------------
# Scanning files
# ------------------------------------------------------------------------------------------
@dataclass
class _Entry:
    path: Path
    date: _dt.date
    bands: Dict[str, int]  # band name -> 1-based index in path
    nodata: Optional[float]
    timestamp: Optional[str]
    date_source: str
    order: Tuple[int, int]  # (file number, first band) for stable tie-breaking
    name_date: Optional[_dt.date] = None  # the file name's date where it differs from the tag


def _resolve_files(source: Sources) -> Tuple[List[Path], str]:
    """The image files of ``source`` (a folder, one file or a list) and a label for messages."""
    if isinstance(source, (str, os.PathLike)):
        items = [Path(source)]
        label = str(source)
    else:
        items = [Path(s) for s in source]
        label = ", ".join(str(s) for s in items[:3]) + (" ..." if len(items) > 3 else "")
        if not items:
            raise DataError("the list of files is empty; give a folder, a stack or files")
    files: List[Path] = []
    for item in items:
        if unreadable(item):
            raise DataError(f"cannot read {item}: {NO_READ_ACCESS}")
        if item.is_dir():
            found = sorted(
                p for p in item.iterdir() if p.is_file() and p.suffix.lower() in RASTER_SUFFIXES
            )
            if not found:
                raise DataError(
                    f"no raster files ({', '.join(RASTER_SUFFIXES)}) in folder {item}; "
                    "point to the folder that holds the per-date GeoTIFFs"
                )
            files.extend(found)
        elif item.exists():
            files.append(item)
        else:
            raise DataError(f"{item} does not exist; check the path")
    return files, label


def _tag_date(tags: Dict[str, str]) -> Tuple[Optional[_dt.date], Optional[str]]:
    upper = {k.upper(): v for k, v in tags.items()}
    for name in DATE_TAGS:
        if name in upper:
            d = parse_date(upper[name])
            if d is not None:
                return d, upper[name]
    return None, None


def _scan(path: Path, fileno: int, band_names: Optional[Sequence[str]]) -> List[_Entry]:
    ds = open_dataset(path)
    if ds.crs is None:
        raise DataError(f"{path} has no CRS; assign one (e.g. gdal_edit.py -a_srs EPSG:32631)")
    descs = list(ds.descriptions)
    if not any(d and d.strip() for d in descs):
        if band_names is None:
            raise DataError(
                f"{path} has no band names (empty band descriptions), so S4 cannot tell which band "
                "is which: set each band's description to its name (Sentinel-2: B02, B03, "
                "B04, B08 ..., SCL; Sentinel-1: VV, VH), e.g. in the QGIS Python console or "
                "Python with rasterio (with rasterio.open(path, 'r+') as ds: "
                "ds.set_band_description(1, 'B02') ...) or GDAL (band.SetDescription('B02')), "
                "or wrap the file in a VRT whose bands carry <Description> elements"
            )
        if len(band_names) != ds.count:
            raise DataError(
                f"{path} has {ds.count} bands but {len(band_names)} band names were given; "
                "give one name per band"
            )
        descs = list(band_names)
    parsed = [parse_description(d) for d in descs]
    for i, (d, b) in enumerate(parsed):
        if b is None and d is None:
            raise DataError(
                f"{path}: band {i + 1} has no description while others do; name every band"
            )
    dated = [d for d, _ in parsed if d is not None]
    nodatavals = ds.nodatavals

    def nod(index: int) -> Optional[float]:
        v = nodatavals[index - 1] if nodatavals else None
        return None if v is None else float(v)

    if len(set(dated)) > 1:  # a multi-date stack
        if len(dated) != len(parsed):
            bad = [i + 1 for i, (d, _) in enumerate(parsed) if d is None]
            raise DataError(
                f"{path} looks like a multi-date stack but bands {bad} have no date in their "
                "description; describe every band as YYYY-MM-DD_BAND"
            )
        groups: Dict[_dt.date, Dict[str, int]] = {}
        for i, (d, b) in enumerate(parsed):
            if b is None:
                raise DataError(f"{path}: band {i + 1} ('{descs[i]}') has a date but no band name")
            assert d is not None  # every band is dated here (checked above)
            g = groups.setdefault(d, {})
            if b in g:
                raise DataError(f"{path}: band {b} appears twice for {d.isoformat()}")
            g[b] = i + 1
        return [
            _Entry(
                path, d, g, nod(min(g.values())), d.isoformat(), "stack", (fileno, min(g.values()))
            )
            for d, g in sorted(groups.items())
        ]

    date, timestamp = _tag_date(ds.tags())
    source = "tag"
    if date is None and dated:
        date, timestamp, source = dated[0], dated[0].isoformat(), "band description"
    if date is None:
        date = parse_date(path.stem)
        timestamp, source = (date.isoformat() if date else None), "file name"
    if date is None:
        raise DataError(
            f"no acquisition date found for {path}: set the ACQUISITION_DATETIME tag, put the "
            "date in the band descriptions (YYYY-MM-DD_BAND) or in the file name (YYYYMMDD)"
        )
    bands: Dict[str, int] = {}
    for i, (_, b) in enumerate(parsed):
        if b is None:
            raise DataError(f"{path}: band {i + 1} ('{descs[i]}') has no band name")
        if b in bands:
            raise DataError(f"{path}: band {b} appears twice; give each band a distinct name")
        bands[b] = i + 1
    named = parse_date(path.stem) if source == "tag" else None
    name_date = named if named is not None and named != date else None
    return [_Entry(path, date, bands, nod(1), timestamp, source, (fileno, 1), name_date)]


def _sample(path: Path, indexes: Sequence[int], size: int = 256) -> np.ndarray:
    """A decimated read (at most ``size`` px a side) of ``indexes``: ``(len(indexes), h, w)``."""
    ds = open_dataset(path)
    h = max(1, min(ds.height, size))
    w = max(1, min(ds.width, size))
    try:
        return ds.read(list(indexes), out_shape=(len(indexes), h, w))
    except Exception as exc:
        raise unreadable_pixels(path, exc) from exc


def _valid_fraction(entry: _Entry, measurement: Sequence[str]) -> float:
    first = entry.bands[measurement[0]]
    idx = [first] + ([entry.bands[SCL]] if SCL in entry.bands else [])
    arr = _sample(entry.path, idx)
    ok = radiometry.valid_mask(arr[:1], entry.nodata)
    if SCL in entry.bands:
        ok &= radiometry.scl_clear(arr[1])
    return float(ok.mean())


def _file_cloud_fraction(acq: Acquisition) -> float:
    ds = open_dataset(acq.path)
    rows = max(1, min(ds.height, 4_000_000 // max(1, ds.width)))
    cloudy = 0
    try:
        for row in range(0, ds.height, rows):
            h = min(rows, ds.height - row)
            scl = ds.read(acq.scl_index, window=Window(0, row, ds.width, h))
            cloudy += int(np.isin(scl, radiometry.SCL_INVALID).sum())
    except Exception as exc:
        raise unreadable_pixels(acq.path, exc, "the SCL band of ") from exc
    return cloudy / float(ds.width * ds.height)


# ------------------------------------------------------------------------------------------
# open_series
# ------------------------------------------------------------------------------------------
def open_series(
    source: Union[PathLike, Sequence[PathLike]],
    sensor: Optional[str] = None,
    *,
    s1_linear: Optional[bool] = None,
    s2_offset: float = 0.0,
    max_cloud_fraction: Optional[float] = None,
    band_names: Optional[Sequence[str]] = None,
) -> TimeSeries:
    """Discover a time series from a folder, a list of files or a multi-band stack.

    ``sensor``: ``"s1"``/``"s2"`` overrides the detection from band names when those are
    unclear; a contradiction (S2 bands given as S1 and vice versa) is a ``DataError``. ``s1_linear``: S1
    values are linear power (converted to dB); None decides per file from its ``UNITS`` tag or
    its values (with a warning when it decides "linear", and when values impossible in the
    tag's unit overrule it). ``s2_offset``: added to S2 digital numbers
    before scaling by 1/10000 (-1000 for L2A processing baseline 04.00+); float S2 files whose
    values are already reflectance are not rescaled. ``max_cloud_fraction``: drop S2 frames
    whose fraction of SCL-invalid pixels (whole file) is above it. ``band_names``: names for
    files whose band descriptions are empty.
    """
    if sensor is not None and sensor not in ("s1", "s2"):
        raise DataError(f"sensor must be 's1' or 's2', got {sensor!r}")
    files, label = _resolve_files(source)
    entries: List[_Entry] = []
    for n, path in enumerate(files):
        entries.extend(_scan(path, n, band_names))
    first = entries[0]
    disagree = [e for e in entries if e.name_date is not None]
    if disagree:
        e = disagree[0]
        assert e.name_date is not None
        radiometry.warn(
            f"{len(disagree)} file(s) have an acquisition date tag that disagrees with the date "
            f"in their file name ({_files_of([d.path for d in disagree])}), e.g. {e.path}: name "
            f"{e.name_date.isoformat()}, tag {e.date.isoformat()}; using the tag's dates: fix the "
            "ACQUISITION_DATETIME tag (gdal_edit.py -mo) or the file name if that is wrong"
        )

    detected = detect_sensor(list(first.bands))
    if sensor is None:
        if detected is None:
            raise DataError(
                f"cannot tell whether {first.path} is Sentinel-1 or Sentinel-2 from its band "
                f"names {sorted(first.bands)}; pass sensor='s1' or sensor='s2'"
            )
        sensor = detected
    elif detected is not None and detected != sensor:  # the override is for unclear names
        raise DataError(
            f"{first.path} was given as Sentinel-{sensor[1]} but its bands "
            f"{sorted(first.bands)} are Sentinel-{detected[1]} "
            f"{'radar' if detected == 's1' else 'optical'} bands: swap the Sentinel-1 and "
            "Sentinel-2 inputs"
        )

    def measurement(e: _Entry) -> List[str]:
        return [b for b in e.bands if not (sensor == "s2" and b == SCL)]

    ref = measurement(first)
    ref_set = set(ref)
    for e in entries[1:]:
        got = set(measurement(e))
        if got != ref_set:
            missing = sorted(ref_set - got)
            extra = sorted(got - ref_set)
            where = f"{e.path} ({e.date.isoformat()})" if e.date_source == "stack" else str(e.path)
            raise DataError(
                f"band set of {where} differs from {first.path}: "
                + (f"missing {missing}" if missing else "")
                + ("; " if missing and extra else "")
                + (f"extra {extra}" if extra else "")
                + "; every file of a series needs the same bands (split them into separate series)"
            )
    if not ref:
        raise DataError(f"{first.path} has no measurement bands (only {sorted(first.bands)})")
    names = [n for _, n in sorted(enumerate(ref), key=_order_key(sensor))]

    # same-day duplicates: keep the most valid pixels, ties -> first in file order
    by_date: Dict[_dt.date, List[_Entry]] = {}
    for e in entries:
        by_date.setdefault(e.date, []).append(e)
    kept: List[_Entry] = []
    dropped: List[str] = []
    for d in sorted(by_date):
        group = sorted(by_date[d], key=lambda e: e.order)
        if len(group) == 1:
            kept.append(group[0])
            continue
        scores = [_valid_fraction(e, names) for e in group]
        best = int(np.argmax(scores))  # argmax returns the first maximum: ties -> first
        kept.append(group[best])
        lost = [
            f"{e.path} ({s:.0%} valid)" for i, (e, s) in enumerate(zip(group, scores)) if i != best
        ]
        dropped.extend(str(e.path) for i, e in enumerate(group) if i != best)
        radiometry.warn(
            f"{len(group)} {sensor.upper()} acquisitions on {d.isoformat()}: keeping "
            f"{group[best].path} ({scores[best]:.0%} valid pixels), dropping {', '.join(lost)}"
        )

    acqs = [
        Acquisition(
            path=e.path,
            date=e.date,
            band_indexes=tuple(e.bands[n] for n in names),
            scl_index=e.bands.get(SCL) if sensor == "s2" else None,
            nodata=e.nodata,
            timestamp=e.timestamp,
            date_source=e.date_source,
        )
        for e in kept
    ]
    series = TimeSeries(sensor, names, acqs, label, dropped=dropped)
    _set_radiometry(series, s1_linear=s1_linear, s2_offset=s2_offset)

    if max_cloud_fraction is not None:
        if sensor != "s2":
            radiometry.warn(f"max_cloud_fraction applies to Sentinel-2 only; ignored for {label}")
        elif not series.has_scl:
            radiometry.warn(
                f"no SCL band in {label}: cannot compute cloud fractions, "
                f"max_cloud_fraction={max_cloud_fraction} ignored"
            )
        else:
            frac = series.cloud_fractions()
            keep = [i for i, f in enumerate(frac) if not (f > max_cloud_fraction)]
            if not keep:
                raise DataError(
                    f"every frame of {label} has a cloud fraction above {max_cloud_fraction} "
                    f"(lowest {np.nanmin(frac):.2f}); raise max_cloud_fraction"
                )
            series.dropped.extend(
                f"{series.acquisitions[i].label} (cloud {frac[i]:.0%})"
                for i in range(len(series))
                if i not in set(keep)
            )
            series.acquisitions = [series.acquisitions[i] for i in keep]
    return series


def _units(path: Path) -> str:
    """The file's ``UNITS`` tags, lower case ("" without)."""
    tags = open_dataset(path).tags()
    return " ".join(
        v for k, v in tags.items() if k.upper() in ("UNITS", "UNIT", "S4_UNITS")
    ).lower()


def _values(acq: Acquisition, count: int = 1) -> np.ndarray:
    """A decimated float64 read of the first ``count`` measurement bands, nodata as NaN."""
    sample = _sample(acq.path, acq.band_indexes[:count]).astype(np.float64)
    if acq.nodata is not None and not math.isnan(acq.nodata):
        sample[sample == acq.nodata] = np.nan
    return sample


def _files(acqs: Sequence[Acquisition], limit: int = 3) -> str:
    """``a.tif, b.tif, c.tif`` (+ how many more) for a warning."""
    return _files_of([a.label for a in acqs], limit)


def _files_of(names: Sequence[object], limit: int = 3) -> str:
    """The first ``limit`` of ``names`` (+ how many more) for a warning."""
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(str(n) for n in names[:limit]) + more


def _set_s1_units(series: TimeSeries, s1_linear: Optional[bool]) -> None:
    """Decide linear power or dB per file: the ``UNITS`` tag, unless the values contradict it.

    Values all >= 0 with a median below 1 are impossible in dB (they are linear power); values
    mostly negative are impossible in linear power. Without a tag the values decide.
    """
    acqs = series.acquisitions
    if s1_linear is not None:
        for acq in acqs:
            acq.linear = bool(s1_linear)
        series.linear = bool(s1_linear)
        return
    detected: List[Tuple[Acquisition, float]] = []  # no tag, values linear
    contradicted: List[Tuple[Acquisition, str, float]] = []  # (file, tag, median)
    for acq in acqs:
        units = _units(acq.path)
        tag: Optional[bool] = None
        if "db" in re.split(r"[^a-z0-9]+", units):
            tag = False
        elif "linear" in units or "power" in units:
            tag = True
        values = _values(acq)
        finite = values[np.isfinite(values)]
        median = float(np.median(finite)) if finite.size else float("nan")
        looks_linear = radiometry.looks_linear(values)
        looks_db = bool(finite.size and (finite < 0).mean() > 0.5)
        if tag is None:
            acq.linear = looks_linear
            if looks_linear:
                detected.append((acq, median))
        elif tag is False and looks_linear:
            acq.linear = True
            contradicted.append((acq, "dB", median))
        elif tag is True and looks_db:
            acq.linear = False
            contradicted.append((acq, "linear", median))
        else:
            acq.linear = tag
    series.linear = any(bool(a.linear) for a in acqs)
    if detected:
        which = [a for a, _ in detected]
        medians = [m for _, m in detected]
        where = (
            f"{which[0].path}"
            if len(which) == 1
            else f"{len(which)} of {len(acqs)} files ({_files(which)})"
        )
        radiometry.warn(
            f"Sentinel-1 values in {where} look linear (non-negative, median "
            f"{float(np.nanmedian(medians)):.3g}): converting to dB; pass s1_linear=False "
            "(--s1-db) if they already are dB"
            + ("" if len(which) == len(acqs) else "; the other files are taken as dB")
        )
    if contradicted:
        a, tag_units, median = contradicted[0]
        values_are = "linear power" if tag_units == "dB" else "dB"
        radiometry.warn(
            f"the UNITS tag of {len(contradicted)} Sentinel-1 file(s) contradicts their values "
            f"({_files([c[0] for c in contradicted])}), e.g. {a.label}: tag {tag_units}, median "
            f"{median:.3g}, impossible in {tag_units}: reading them as {values_are}; fix the "
            "tag (gdal_edit.py -mo UNITS=...) or pass s1_linear (--s1-linear / --s1-db)"
        )


#: The bands whose values tell the scale of S2 digital numbers: visible and near infrared.
_VIS_NIR = ("B02", "B03", "B04", "B08", "B8A")


def _check_dn_scale(series: TimeSeries, files: int = 6) -> None:
    """Warn when S2 digital numbers are implausibly low (e.g. 8-bit 0..255 imagery).

    Looks at up to ``files`` files spread over the series (a decimated read of their
    visible/NIR bands, ``series.offset`` added).
    """
    acqs = series.acquisitions
    picks = sorted(set(np.linspace(0, len(acqs) - 1, min(files, len(acqs))).round().astype(int)))
    positions = [i for i, n in enumerate(series.band_names) if n in _VIS_NIR] or list(
        range(len(series.band_names))
    )
    low: List[Tuple[Acquisition, float, str]] = []
    for i in picks:
        acq = acqs[i]
        sample = _sample(acq.path, [acq.band_indexes[p] for p in positions]).astype(np.float64)
        if acq.nodata is not None and not math.isnan(acq.nodata):
            sample[sample == acq.nodata] = np.nan
        p99 = radiometry.implausible_dn(sample + series.offset)
        if p99 is not None:
            dtype = open_dataset(acq.path).dtypes[acq.band_indexes[positions[0]] - 1]
            low.append((acq, p99, str(dtype)))
    if low:
        acq, p99, dtype = low[0]
        bands = ", ".join(series.band_names[p] for p in positions)
        radiometry.warn(
            f"the Sentinel-2 values of {len(low)} of the {len(picks)} files checked "
            f"({_files([a for a, _, _ in low])}) are implausible as L2A "
            f"digital numbers: e.g. {acq.label} ({dtype}) has a 99th percentile of {p99:.4g} "
            f"in {bands}, i.e. reflectance {p99 * series.scale:.3g}, where real scenes reach "
            "thousands (reflectance 0.3 and more); the map will be poor. Give digital numbers "
            "(DN = reflectance x 10000, uint16) or reflectance as floats 0..1, not rescaled "
            "(e.g. 8-bit 0..255) images"
        )


def _set_radiometry(series: TimeSeries, *, s1_linear: Optional[bool], s2_offset: float) -> None:
    acq = series.acquisitions[0]
    if series.sensor == "s1":
        _set_s1_units(series, s1_linear)
        series.scale, series.offset = 1.0, 0.0
        return
    ds = open_dataset(acq.path)
    units = _units(acq.path)
    # Sentinel-2
    dtype = np.dtype(ds.dtypes[acq.band_indexes[0] - 1])
    if np.issubdtype(dtype, np.integer):
        is_dn = True
    elif "reflectance" in units and "dn" not in re.split(r"[^a-z0-9]+", units):
        is_dn = False
    else:
        is_dn = radiometry.looks_like_dn(_values(acq))
    if is_dn:
        series.scale, series.offset = radiometry.S2_SCALE, float(s2_offset)
        _check_dn_scale(series)
    else:
        if s2_offset:
            radiometry.warn(
                f"{acq.path} already holds reflectance (float values): s2_offset={s2_offset} ignored"
            )
        series.scale, series.offset = 1.0, 0.0

"""The one GeoTIFF writer of the engine, and the S4 class-raster tags.

Every raster the engine writes (aligned stacks, class maps, probabilities, confidence, the demo
scene, STAC downloads, the tests' synthetic rasters) goes through :class:`RasterWriter`:

- one profile (:func:`gtiff_profile`): GeoTIFF, DEFLATE (predictor 2 for integers, 3 for
  floats), 256 px tiles when the raster is at least that large, BigTIFF when needed;
- written to a temporary file beside the target (``.NAME.XXXXXXXX.tmp``) and moved into place
  by :meth:`RasterWriter.commit` after reading it back (``validate.check_written_raster``: a
  full disk can leave a truncated file without a GDAL error); on error or cancel
  :meth:`RasterWriter.discard` removes it, so no half-written output is ever left;
- band descriptions, dataset and per-band tags, a colour table, scales/offsets;
- block by block: :meth:`RasterWriter.write` takes a window (``row``, ``col``), so memory is
  bounded by one block whatever the raster's size.

Class rasters carry their class map in tags (``S4_CLASSES``: JSON list of ``{"index", "name",
"value", "color"}``; ``S4_CLASS_NAMES``: JSON list of names); :func:`read_class_raster` reads
them back. This module imports neither torch nor QGIS.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Iterable,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    Union,
)

import numpy as np

from . import __version__
from .errors import DataError, LabelError, OutputError
from .grid import Grid
from .labels import IGNORE_INDEX, ClassMap
from .types import PathLike
from .validate import claim_temp, release_temp, temp_path

if TYPE_CHECKING:
    from types import TracebackType

    import rasterio.io

NODATA = IGNORE_INDEX  # 255 in class rasters
TAG_CLASSES = "S4_CLASSES"  # JSON [{"index", "name", "value", "color": [r, g, b]}, ...]
TAG_NAMES = "S4_CLASS_NAMES"  # JSON [name, ...]
BLOCK = 256
_PROFILE_OPTIONS = ("compress", "interleave", "block", "tiled", "fast")

__all__ = [
    "NODATA",
    "TAG_CLASSES",
    "TAG_NAMES",
    "RasterWriter",
    "class_tags",
    "commit_all",
    "gtiff_profile",
    "read_class_raster",
    "remove_file",
    "tag_class_map",
    "temp_path",
    "value_table",
    "write_raster",
]


def gtiff_profile(
    grid: Grid,
    count: int,
    dtype: str,
    nodata: Optional[float] = None,
    *,
    compress: Optional[str] = "deflate",
    interleave: str = "band",
    block: int = BLOCK,
    tiled: Optional[bool] = None,
    fast: bool = False,
) -> Dict[str, Any]:
    """The rasterio profile of an S4 GeoTIFF on ``grid``.

    ``tiled`` None: ``block`` px tiles when the raster is at least that large.

    ``fast``: DEFLATE level 1 and all CPU threads (large stacks: ~7x faster than level 6 for
    about the same size).
    """
    profile: Dict[str, Any] = {
        "driver": "GTiff",
        "width": int(grid.width),
        "height": int(grid.height),
        "count": int(count),
        "dtype": str(np.dtype(dtype).name),
        "crs": grid.crs,
        "transform": grid.transform,
        "nodata": nodata,
        "interleave": interleave,
        "BIGTIFF": "IF_SAFER",
    }
    if compress:
        kind = np.dtype(dtype).kind
        profile.update(compress=compress, predictor=3 if kind == "f" else 2)
        if fast:
            profile.update(NUM_THREADS="ALL_CPUS")
            if compress.lower() == "deflate":
                profile["zlevel"] = 1
    if tiled is None:
        tiled = grid.width >= block and grid.height >= block
    if tiled:
        profile.update(tiled=True, blockxsize=block, blockysize=block)
    return profile


def remove_file(path: Optional[Path]) -> None:
    """Remove ``path`` and its ``.aux.xml`` sidecar when they exist."""
    if path is None:
        return
    for p in (Path(path), Path(str(path) + ".aux.xml")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:  # a name too long for the file system: no such file either
            if exc.errno != errno.ENAMETOOLONG:
                raise


class RasterWriter:
    """A GeoTIFF written to a temporary file and moved into place by :meth:`commit`.

    Use as a context manager (commit on success, discard on any exception), or call
    :meth:`commit` / :meth:`discard` yourself (several outputs that appear together:
    :func:`commit_all`). ``profile`` overrides :func:`gtiff_profile`'s entries.
    """

    def __init__(
        self,
        path: PathLike,
        grid: Grid,
        count: int,
        dtype: str,
        nodata: Optional[float] = None,
        *,
        descriptions: Sequence[str] = (),
        tags: Optional[Mapping[str, Any]] = None,
        band_tags: Optional[Mapping[int, Mapping[str, Any]]] = None,
        colormap: Optional[Mapping[int, Tuple[int, ...]]] = None,
        scales: Optional[Sequence[float]] = None,
        offsets: Optional[Sequence[float]] = None,
        atomic: bool = True,
        **profile: Any,
    ) -> None:
        import rasterio

        self.path = Path(os.fspath(path))
        self.grid = grid
        self.count = int(count)
        self.tmp = temp_path(self.path) if atomic else self.path
        try:
            self._lock = claim_temp(self.tmp) if atomic else None  # marks it as being written
        except OSError as exc:
            raise OutputError(
                f"could not write {self.path}: {exc.strerror or exc}; check that the folder "
                f"{self.path.parent} is writable and its disk has free space, then run again"
            ) from None
        options = {k: profile.pop(k) for k in list(profile) if k in _PROFILE_OPTIONS}
        self.profile = {**gtiff_profile(grid, count, dtype, nodata, **options), **profile}
        try:
            self._ds = rasterio.open(self.tmp, "w", **self.profile)
        except BaseException:
            self._ds = None
            self.discard()
            raise
        try:
            for i, name in enumerate(descriptions, start=1):
                self._ds.set_band_description(i, str(name))
            if tags:
                self._ds.update_tags(**{k: str(v) for k, v in tags.items()})
            for band, items in (band_tags or {}).items():
                self._ds.update_tags(int(band), **{k: str(v) for k, v in items.items()})
            if colormap is not None:
                self._ds.write_colormap(1, dict(colormap))
            if scales is not None:
                self._ds.scales = list(scales)
                self._ds.offsets = list(offsets) if offsets is not None else [0.0] * self.count
        except BaseException:
            self.discard()
            raise

    @property
    def dataset(self) -> rasterio.io.DatasetWriter:
        """The open rasterio dataset (for what this class does not wrap)."""
        return self._ds

    def write(
        self,
        data: np.ndarray,
        row: int = 0,
        col: int = 0,
        *,
        indexes: Union[int, Sequence[int], None] = None,
    ) -> None:
        """Write ``data`` ((bands,) h, w) with its upper-left pixel at (``row``, ``col``)."""
        from rasterio.windows import Window

        data = np.asarray(data)
        h, w = data.shape[-2:]
        if indexes is None and data.ndim == 2:
            indexes = 1
        try:
            self._ds.write(data, indexes=indexes, window=Window(col, row, w, h))
        except Exception as exc:  # rasterio >= 1.4 raises where 1.3 left a truncated file
            raise self._failed(exc) from None

    def _failed(self, exc: BaseException) -> OutputError:
        """``OutputError`` naming the final file, GDAL's reason and the fix."""
        cause = f"{exc}: {exc.__cause__}" if exc.__cause__ is not None else str(exc)
        return OutputError(
            f"could not write {self.path} ({cause}); check that the disk holding "
            f"{self.path.parent} has free space and is writable, then run again"
        )

    def close(self) -> None:
        """Close the dataset (idempotent)."""
        if self._ds is not None and not self._ds.closed:
            self._ds.close()

    def check(self) -> None:
        """Close, flush and read the temporary file back (``OutputError`` when incomplete)."""
        from .validate import check_written_raster

        try:
            self.close()
        except Exception as exc:  # the last blocks are flushed at close
            raise self._failed(exc) from None
        check_written_raster(self.tmp, self.path, self.grid.width, self.grid.height, self.count)

    def commit(self, *, check: bool = True) -> Path:
        """Close, check and move the file into place; returns the final path."""
        try:
            if check:
                self.check()
            else:
                self.close()
            if self.tmp != self.path:
                os.replace(self.tmp, self.path)
                remove_file(Path(str(self.tmp) + ".aux.xml"))
        except BaseException:
            self.discard()
            raise
        release_temp(self._lock)
        self._lock = None
        return self.path

    def discard(self) -> None:
        """Close and remove the temporary file (nothing is left behind)."""
        try:
            self.close()
        except Exception:  # a failed flush of a file that is thrown away anyway
            pass
        finally:
            if self.tmp != self.path:
                remove_file(self.tmp)
            release_temp(self._lock)
            self._lock = None

    def __enter__(self) -> RasterWriter:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def commit_all(writers: Iterable[Optional[RasterWriter]]) -> None:
    """Check every writer, then move them all into place (none moves if one check fails)."""
    todo = [w for w in writers if w is not None]
    try:
        for w in todo:
            w.check()
    except BaseException:
        for w in todo:
            w.discard()
        raise
    for w in todo:
        w.commit(check=False)


def write_raster(
    path: PathLike,
    data: np.ndarray,
    grid: Grid,
    *,
    nodata: Optional[float] = None,
    descriptions: Sequence[str] = (),
    tags: Optional[Mapping[str, Any]] = None,
    colormap: Optional[Mapping[int, Tuple[int, ...]]] = None,
    check: bool = True,
    **profile: Any,
) -> Path:
    """Write a whole array ``data`` ((bands,) h, w) on ``grid`` atomically; returns the path."""
    data = np.asarray(data)
    if data.ndim == 2:
        data = data[None]
    writer = RasterWriter(
        path, grid, data.shape[0], data.dtype.name, nodata, descriptions=descriptions, tags=tags,
        colormap=colormap, **profile,
    )  # fmt: skip
    try:
        writer.write(data)
    except BaseException:
        writer.discard()
        raise
    return writer.commit(check=check)


# ----------------------------------------------------------------------------- class rasters
def class_tags(class_map: ClassMap, modality: str) -> Dict[str, str]:
    """The tags of an S4 class raster (class map, modality, engine version)."""
    classes = [
        {"index": i, "name": n, "value": v, "color": list(c)}
        for i, (n, v, c) in enumerate(zip(class_map.names, class_map.values, class_map.colors))
    ]
    return {
        TAG_CLASSES: json.dumps(classes),
        TAG_NAMES: json.dumps(list(class_map.names)),
        "S4_MODALITY": modality,
        "S4_ENGINE_VERSION": __version__,
    }


def class_colormap(class_map: ClassMap) -> Dict[int, Tuple[int, int, int, int]]:
    """Colour table: class i -> its colour, 255 (nodata) transparent."""
    table = {i: (int(c[0]), int(c[1]), int(c[2]), 255) for i, c in enumerate(class_map.colors)}
    table[NODATA] = (0, 0, 0, 0)
    return table


def tag_class_map(tags: Dict[str, str], path: Path) -> Optional[ClassMap]:
    """The class map in an S4 class raster's tags, or None without one.

    From ``S4_CLASSES`` (written by ``segment``), ``S4_CLASS_MAP`` (``ClassMap.to_dict()``) or
    ``S4_CLASS_NAMES``. Pixel value i is class i.
    """
    try:
        if TAG_CLASSES in tags:
            items = sorted(json.loads(tags[TAG_CLASSES]), key=lambda c: int(c["index"]))
            if [int(c["index"]) for c in items] != list(range(len(items))):
                raise ValueError("class indices are not 0..K-1")
            return ClassMap(
                names=[c["name"] for c in items],
                values=[c.get("value", c["name"]) for c in items],
                colors=[tuple(c["color"]) for c in items],
            )
        if "S4_CLASS_MAP" in tags:
            return ClassMap.from_dict(json.loads(tags["S4_CLASS_MAP"]))
        if TAG_NAMES in tags:
            return ClassMap.from_names(json.loads(tags[TAG_NAMES]))
    except (ValueError, TypeError, KeyError, AttributeError, LabelError) as exc:
        raise DataError(
            f"{path}: the class tags are damaged ({exc}): re-create the raster"
        ) from exc
    return None


def value_table(tags: Dict[str, str], path: Path) -> Optional[Dict[int, Tuple[str, Any]]]:
    """Pixel value -> (class name, class value) from a reference raster's tags.

    The S4 tags, or ``CLASSES`` = JSON ``{pixel value: name}``; None without them.
    """
    class_map = tag_class_map(tags, path)
    if class_map is not None:
        return {i: (n, v) for i, (n, v) in enumerate(zip(class_map.names, class_map.values))}
    if "CLASSES" in tags:
        try:
            table = json.loads(tags["CLASSES"])
            return {int(k): (str(v), int(k)) for k, v in dict(table).items()}
        except (ValueError, TypeError) as exc:
            raise LabelError(f"{path}: its CLASSES tag is not a JSON {{value: name}} map") from exc
    return None


def read_class_raster(path: PathLike) -> Tuple[np.ndarray, ClassMap, Grid]:
    """The classes, class map and grid of a class raster written by ``s4 segment``.

    Classes: uint8 ``(H, W)`` with 255 = nodata; the ClassMap comes from the tags.
    """
    import rasterio

    path = Path(os.fspath(path))
    if not path.is_file():
        raise DataError(f"class raster {path} does not exist: check the path")
    try:
        with rasterio.open(path) as ds:
            tags = ds.tags()
            data = ds.read(1)
            dtype = ds.dtypes[0]
    except rasterio.errors.RasterioIOError as exc:
        raise DataError(f"cannot read the class raster {path}: {exc}") from exc
    class_map = tag_class_map(tags, path)
    if class_map is None or dtype != "uint8":
        raise DataError(
            f"{path} is not an S4 class raster (uint8 with class names in the {TAG_CLASSES} tag): "
            "give a raster written by s4 segment"
        )
    return data, class_map, Grid.from_raster(path)


def check_output(path: Path, flag: str) -> None:
    """Create the output's folder; DataError when that is impossible (or it is a folder)."""
    if path.is_dir():
        raise DataError(f"{path} is a folder ({flag}): give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create the folder of {path} ({flag}): {exc}") from exc

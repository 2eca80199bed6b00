"""Label polygons -> class raster on a reference grid, and ``ClassMap`` (names <-> indices).

Any polygon layer OGR can read (GeoPackage, shapefile, GeoJSON, ...) is read with fiona and
burnt onto a ``Grid`` with the pixel-centre rule (``rasterio.features.rasterize``,
``all_touched=False``): a pixel gets a polygon's class when its centre lies inside the polygon.
Unlabelled pixels are ``IGNORE_INDEX`` (255) in a uint8 raster, so at most 255 classes.
Polygons in another CRS are reprojected onto the grid's CRS. Where polygons overlap, the later
feature wins (the same rule for the class raster and the polygon-id raster).
"""

from __future__ import annotations

import colorsys
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .errors import NO_READ_ACCESS, LabelError, NoPolygonOnGrid, S4Warning, unreadable
from .types import PathLike

if TYPE_CHECKING:
    import fiona

if TYPE_CHECKING:  # pragma: no cover
    from .grid import Grid

IGNORE_INDEX = 255
MAX_CLASSES = 255  # indices 0..254; 255 is IGNORE_INDEX

# A qualitative palette (Tableau-10-like hues, then lighter variants): distinct, print-friendly.
_PALETTE: Tuple[Tuple[int, int, int], ...] = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
    (174, 199, 232),
    (255, 187, 120),
    (152, 223, 138),
    (255, 152, 150),
    (197, 176, 213),
    (196, 156, 148),
    (247, 182, 210),
    (199, 199, 199),
    (219, 219, 141),
    (158, 218, 229),
)

_POLYGONAL = {"Polygon", "MultiPolygon"}


class LabelWarning(S4Warning):
    """Label polygons were skipped (empty, outside the grid, no class value, ...)."""


def default_colors(n: int) -> List[Tuple[int, int, int]]:
    """``n`` distinct RGB colours: a fixed qualitative palette, then golden-ratio hues."""
    colors = list(_PALETTE[:n])
    k = 0
    while len(colors) < n:
        hue = (k * 0.618033988749895) % 1.0
        light = 0.45 if k % 2 == 0 else 0.62
        r, g, b = colorsys.hls_to_rgb(hue, light, 0.65)
        colors.append((round(r * 255), round(g * 255), round(b * 255)))
        k += 1
    return colors


def _plain(value: object) -> object:
    """A class value as a JSON-friendly Python scalar: integral numbers -> int, text stripped."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return None
        return int(v) if v.is_integer() else v
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip()
    return text if text else None


def _same(a: object, b: object) -> bool:
    """Loose equality of class values: 1200 == 1200.0 == "1200"."""
    if a == b:
        return True
    try:
        return float(a) == float(b)  # type: ignore[arg-type]  # TypeError/ValueError: not equal
    except (TypeError, ValueError):
        return False


@dataclass
class ClassMap:
    """Class names, the original field values they came from, and display colours.

    The position in the lists is the class index written in class rasters (0..254).
    """

    names: List[str]
    values: List[Any]
    colors: List[Tuple[int, int, int]]

    def __post_init__(self) -> None:
        self.names = [str(n) for n in self.names]
        self.values = [_plain(v) for v in self.values]
        self.colors = [(int(rgb[0]), int(rgb[1]), int(rgb[2])) for rgb in self.colors]
        n = len(self.names)
        if len(self.values) != n or len(self.colors) != n:
            raise LabelError(
                f"class map has {n} names, {len(self.values)} values and {len(self.colors)} "
                "colours: give one value and one colour per class"
            )
        if n > MAX_CLASSES:
            raise LabelError(
                f"{n} classes: at most {MAX_CLASSES} fit a uint8 class raster "
                f"(index {IGNORE_INDEX} means unlabelled); merge classes"
            )
        if len(set(self.names)) != n:
            dup = sorted({x for x in self.names if self.names.count(x) > 1})
            raise LabelError(f"class names must be unique; repeated: {dup}")
        for rgb in self.colors:
            if len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
                raise LabelError(f"class colour {rgb} is not an (r, g, b) triple of 0..255")

    def __len__(self) -> int:
        return len(self.names)

    def index_of(self, value: object) -> int:
        """Index of a class given its field value or its name; LabelError when unknown."""
        v = _plain(value)
        if v is not None:
            for i, known in enumerate(self.values):
                if _same(known, v):
                    return i
            text = str(v)
            if text in self.names:
                return self.names.index(text)
            folded = text.casefold()
            for i, name in enumerate(self.names):
                if name.strip().casefold() == folded:
                    return i
        known = ", ".join(
            n if _same(n, val) else f"{n} ({val})" for n, val in zip(self.names, self.values)
        )
        raise LabelError(f"unknown class {value!r}: the known classes are {known}")

    def to_dict(self) -> Dict[str, Any]:
        """JSON-friendly form (lists of plain values)."""
        return {
            "names": list(self.names),
            "values": list(self.values),
            "colors": [list(c) for c in self.colors],
        }

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> ClassMap:
        """The class map of :meth:`to_dict`'s output."""
        try:
            names = list(d["names"])
        except (KeyError, TypeError) as exc:
            raise LabelError(f"class map {d!r} has no 'names' list") from exc
        values = d.get("values")
        colors = d.get("colors")
        return cls(
            names=names,
            values=list(values) if values is not None else list(names),
            colors=[tuple(c) for c in colors] if colors is not None else default_colors(len(names)),
        )

    @classmethod
    def from_names(cls, names: Sequence[str], values: Optional[Sequence[Any]] = None) -> ClassMap:
        """Class map with default colours; ``values`` default to the names."""
        names = [str(n) for n in names]
        vals = list(values) if values is not None else list(names)
        return cls(names=names, values=vals, colors=default_colors(len(names)))

    @classmethod
    def from_values(cls, values: Sequence[Any]) -> ClassMap:
        """Class map for the distinct values of a class field, sorted (numbers numerically)."""
        uniq: List[Any] = []
        for v in (_plain(x) for x in values):
            if v is not None and not any(_same(v, u) and type(v) is type(u) for u in uniq):
                uniq.append(v)
        if all(isinstance(v, (int, float)) for v in uniq):
            uniq.sort()
        else:
            uniq.sort(key=lambda v: (str(v).casefold(), str(v)))
        return cls.from_names([str(v) for v in uniq], uniq)


def class_list(classes: Optional[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """A model's classes (``ClassMap.to_dict()`` form, or None) as one dict per class.

    ``index``, ``name``, ``value`` (the label field's value) and ``color``: what ``s4 info``
    shows of a checkpoint or an ONNX model.
    """
    if not classes:
        return []
    names = list(classes.get("names", []))
    values = list(classes.get("values") or names)
    colors: List[Optional[List[int]]] = [list(c) for c in (classes.get("colors") or [])]
    colors = colors or [None] * len(names)
    return [
        {"index": i, "name": n, "value": v, "color": c}
        for i, (n, v, c) in enumerate(zip(names, values, colors))
    ]


@dataclass
class LabelReport:
    """What happened to the polygons of a label layer."""

    n_features: int
    n_used: int
    n_empty: int
    n_outside: int
    pixels_per_class: Dict[str, int]
    messages: List[str] = field(default_factory=list)
    n_no_class: int = 0  # features whose class field is empty (NULL / blank)
    # the ``messages`` already announced as ``LabelWarning`` (not to be logged again)
    warned: List[str] = field(default_factory=list)

    @property
    def notes(self) -> List[str]:
        """The ``messages`` not announced as warnings (for a log)."""
        return [m for m in self.messages if m not in self.warned]


# ----------------------------------------------------------------------------- reading
def _open_error(path: Path, exc: Exception) -> LabelError:
    if unreadable(path):
        return LabelError(f"cannot read label polygons from {path}: {NO_READ_ACCESS}")
    return LabelError(
        f"cannot read label polygons from {path}: {exc}. "
        "Give a polygon layer OGR can read (GeoPackage, shapefile, GeoJSON)"
    )


def _check_path(path: PathLike) -> Path:
    """``path`` as a Path; LabelError when it does not exist."""
    p = Path(os.fspath(path))
    if not p.exists():
        raise LabelError(f"label layer {p} does not exist: check the path")
    return p


def _layers(path: Path) -> List[str]:
    import fiona

    try:
        return list(fiona.listlayers(str(path)))
    except Exception as exc:  # fiona raises DriverError and friends
        raise _open_error(path, exc) from exc


def _open(path: Path, layer: Optional[str]) -> fiona.Collection:
    """Open ``layer`` of ``path`` (or its first polygon layer) with fiona."""
    import fiona

    names = _layers(path)
    if not names:
        raise LabelError(f"{path} contains no vector layer: give a polygon layer")
    if layer is not None:
        if layer not in names:
            raise LabelError(
                f"layer {layer!r} not found in {path}; its layers are: {', '.join(names)}"
            )
        chosen = layer
    else:
        chosen = names[0]
        if len(names) > 1:
            for name in names:
                try:
                    with fiona.open(str(path), layer=name) as c:
                        gtype = str(c.schema.get("geometry", ""))
                except Exception:  # skip unreadable layers when guessing
                    continue
                if "Polygon" in gtype:
                    chosen = name
                    break
    try:
        return fiona.open(str(path), layer=chosen)
    except Exception as exc:
        raise _open_error(path, exc) from exc


def list_fields(path: PathLike, layer: Optional[str] = None) -> List[str]:
    """Attribute field names of a polygon layer (in layer order)."""
    p = _check_path(path)
    with _open(p, layer) as c:
        return list(c.schema["properties"].keys())


def _to_dict(geom: object) -> Optional[dict]:
    """A geometry as a GeoJSON-like dict (from a dict or ``__geo_interface__``), or None."""
    if geom is None:
        return None
    if isinstance(geom, dict):
        return geom
    gi = getattr(geom, "__geo_interface__", None)
    if gi is not None:
        return dict(gi)
    return None


def _rings(poly: Optional[Sequence[Sequence[Sequence[float]]]]) -> Optional[list]:
    """A polygon's rings as 2-D coordinate lists (Z dropped); None when the shell is empty."""
    if not poly:
        return None
    rings = [[(float(p[0]), float(p[1])) for p in ring] for ring in poly if ring]
    if not rings or len(rings[0]) < 3 or len(poly[0] or ()) < 3:
        return None
    return [rings[0]] + [r for r in rings[1:] if len(r) >= 3]


def _polygonal(geom: Optional[dict]) -> Tuple[Optional[dict], bool]:
    """(polygon or multipolygon with only non-empty parts, or None; whether it was polygonal)."""
    if geom is None:
        return None, True
    gtype = str(geom.get("type", ""))
    if gtype == "Polygon":
        rings = _rings(geom.get("coordinates"))
        return ({"type": "Polygon", "coordinates": rings} if rings else None), True
    if gtype == "MultiPolygon":
        polys = [r for r in (_rings(p) for p in geom.get("coordinates") or []) if r]
        return ({"type": "MultiPolygon", "coordinates": polys} if polys else None), True
    if gtype == "GeometryCollection":
        parts = [_to_dict(part) for part in geom.get("geometries") or []]
        polys = []
        for part in parts:
            g, _ = _polygonal(part)
            if g is not None:
                polys.extend([g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"])
        if polys:
            return {"type": "MultiPolygon", "coordinates": polys}, True
        has_poly = any(str((p or {}).get("type")) in _POLYGONAL for p in parts)
        return None, has_poly or not parts
    return None, False


def _bbox(geom: dict) -> Tuple[float, float, float, float]:
    polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
    xs: List[float] = []
    ys: List[float] = []
    for poly in polys:
        for ring in poly:
            arr = np.asarray(ring, dtype=float)[:, :2]
            xs.extend((arr[:, 0].min(), arr[:, 0].max()))
            ys.extend((arr[:, 1].min(), arr[:, 1].max()))
    return min(xs), min(ys), max(xs), max(ys)


def _grid_bounds(grid: Grid) -> Tuple[float, float, float, float]:
    """The (west, south, east, north) bounds of ``grid``."""
    from rasterio.transform import array_bounds

    south_north = array_bounds(grid.height, grid.width, grid.transform)
    west, south, east, north = south_north[0], south_north[1], south_north[2], south_north[3]
    return min(west, east), min(south, north), max(west, east), max(south, north)


def _same_crs(a: object, b: object) -> bool:
    """Whether two CRS values (any form rasterio takes) are the same CRS; False when unreadable."""
    from rasterio.crs import CRS

    try:
        return CRS.from_user_input(a) == CRS.from_user_input(b)
    except Exception:
        return False


@dataclass
class _Layer:
    path: Path
    layer: str
    fields: List[str]
    geoms: List[Optional[dict]]  # in grid CRS, polygonal or None (empty / unusable)
    values: List[Any]  # class values (None where absent or no class field asked)
    n_empty: int
    n_not_polygon: int
    messages: List[str]


def _read(path: PathLike, grid: Grid, class_field: Optional[str], layer: Optional[str]) -> _Layer:
    """Read a polygon layer reprojected to ``grid``'s CRS, with its class values."""
    from fiona.transform import transform_geom

    p = _check_path(path)
    messages: List[str] = []
    with _open(p, layer) as c:
        name = c.name
        fields = list(c.schema["properties"].keys())
        if class_field is not None and class_field not in fields:
            folded = [f for f in fields if f.casefold() == class_field.casefold()]
            hint = f" (did you mean {folded[0]!r}?)" if folded else ""
            raise LabelError(
                f"class field {class_field!r} does not exist in {p} (layer {name!r}){hint}; "
                f"its fields are: {', '.join(fields) if fields else '(none)'}"
            )
        schema_type = str(c.schema.get("geometry", "") or "")
        src_wkt = c.crs_wkt or ""
        dst_wkt = grid.crs.to_wkt()
        reproject = bool(src_wkt) and not _same_crs(src_wkt, grid.crs)
        if not src_wkt:
            messages.append(
                f"layer {name!r} of {p} has no CRS: assuming the grid's CRS ({grid.crs})"
            )
        if layer is None and len(names := _layers(p)) > 1:
            messages.append(
                f"{p} holds {len(names)} layers ({', '.join(names)}): the labels were read from "
                f"{name!r}, its first polygon layer; name the layer to read with --labels-layer "
                "to use another"
            )
        geoms: List[Optional[dict]] = []
        values: List[Any] = []
        n_empty = n_not_polygon = 0
        try:
            features = list(c)
        except Exception as exc:
            raise _open_error(p, exc) from exc
    if not features:
        raise LabelError(f"layer {name!r} of {p} is empty: it has no polygons")
    raw = []
    n_null = 0  # features without any geometry (a table's rows, GeoJSON "geometry": null)
    for feat in features:
        geom = _to_dict(feat["geometry"])
        n_null += geom is None
        g, ok = _polygonal(geom)
        if not ok:
            n_not_polygon += 1
        elif g is None:
            n_empty += 1
        raw.append(g)
        if class_field is not None:
            values.append(_plain(feat["properties"].get(class_field)))
        else:
            values.append(None)
    if n_null == len(features):
        raise LabelError(
            f"{p} has no geometries (polygons): none of the {len(features)} feature(s) of its "
            f"layer {name!r} has a geometry, only attributes. Give a polygon layer (e.g. a "
            "GeoPackage or shapefile of the labelled parcels)"
        )
    if n_not_polygon == len(features):
        raise LabelError(
            f"layer {name!r} of {p} holds no polygons (geometry type {schema_type or 'unknown'}): "
            "give a polygon layer"
        )
    if all(g is None for g in raw):
        raise LabelError(
            f"layer {name!r} of {p} holds no usable polygon: of its {len(features)} features, "
            f"{n_null} have no geometry, {n_empty - n_null} an empty one and {n_not_polygon} "
            "are not polygons. Give a polygon layer"
        )
    if reproject:
        todo = [i for i, g in enumerate(raw) if g is not None]
        try:
            out = transform_geom(src_wkt, dst_wkt, [raw[i] for i in todo])
        except Exception as exc:
            raise LabelError(
                f"cannot reproject the polygons of {p} to the grid's CRS ({grid.crs}): {exc}"
            ) from exc
        geoms = list(raw)
        for i, g in zip(todo, out):
            gd, _ = _polygonal(_to_dict(g))
            geoms[i] = gd
        messages.append(f"polygons reprojected from the layer's CRS to {grid.crs}")
    else:
        geoms = raw
    if n_not_polygon:
        messages.append(f"{n_not_polygon} feature(s) are not polygons and were skipped")
    if n_empty:
        messages.append(f"{n_empty} feature(s) have an empty geometry and were skipped")
    return _Layer(p, name, fields, geoms, values, n_empty, n_not_polygon, messages)


def _burn_ids(lay: _Layer, grid: Grid) -> Tuple[np.ndarray, int, int, List[int]]:
    """(polygon ids int32 with i+1 for feature i and 0 = none, n_outside, n_overlap_px, ids in).

    ``n_outside`` counts polygons whose bounding box misses the grid; ``n_overlap_px`` counts
    pixels covered by more than one polygon; the last item lists the ids of the others.
    """
    from rasterio.enums import MergeAlg
    from rasterio.features import rasterize

    gx0, gy0, gx1, gy1 = _grid_bounds(grid)
    shapes = []
    n_outside = 0
    for i, g in enumerate(lay.geoms):
        if g is None:
            continue
        x0, y0, x1, y1 = _bbox(g)
        finite = np.all(np.isfinite((x0, y0, x1, y1)))
        if not finite or x1 < gx0 or x0 > gx1 or y1 < gy0 or y0 > gy1:
            n_outside += 1
            continue
        shapes.append((g, i + 1))
    shape = (grid.height, grid.width)
    if not shapes:
        return np.zeros(shape, dtype=np.int32), n_outside, 0, []
    kw = dict(out_shape=shape, transform=grid.transform, fill=0, all_touched=False, dtype="int32")
    ids = rasterize(shapes, **kw)
    count = rasterize(((g, 1) for g, _ in shapes), merge_alg=MergeAlg.add, **kw)
    n_overlap = int((count > 1).sum())
    return ids.astype(np.int32, copy=False), n_outside, n_overlap, [i for _, i in shapes]


def _near_duplicate_names(values: Sequence[object], class_field: str) -> List[str]:
    """Messages about class names that differ only in case or spaces ("maize", "MAIZE ").

    One per group, with the polygons of each name: they stay different classes (the user's
    classes are not changed behind their back).
    """
    polygons: Dict[str, int] = {}
    for value in (_plain(v) for v in values):  # the class names (surrounding spaces dropped)
        if isinstance(value, str):
            polygons[value] = polygons.get(value, 0) + 1
    groups: Dict[str, List[str]] = {}
    for name in sorted(polygons):
        groups.setdefault(" ".join(name.split()).casefold(), []).append(name)
    messages = []
    for names in groups.values():
        if len(names) > 1:
            each = ", ".join(
                f"{n!r} ({polygons[n]} polygon{'' if polygons[n] == 1 else 's'})" for n in names
            )
            messages.append(
                f"class names in {class_field!r} differ only in upper/lower case or spaces: "
                f"{each} are treated as {len(names)} different classes; if they are one class, "
                "give its polygons the same spelling"
            )
    return messages


def _warn(messages: Sequence[str]) -> None:
    for m in messages:
        warnings.warn(m, LabelWarning, stacklevel=3)


def rasterize_polygon_ids(path: PathLike, grid: Grid, *, layer: Optional[str] = None) -> np.ndarray:
    """Polygon-id raster on ``grid``: int32, 0 = no polygon, ``i + 1`` for the layer's feature i.

    Feature i is the i-th feature in the layer's reading order (0-based). Used to split training
    and validation pixels by polygon. NoPolygonOnGrid (a LabelError) when no polygon covers a
    pixel of the grid.
    """
    lay = _read(path, grid, None, layer)
    ids, n_outside, _, inside = _burn_ids(lay, grid)
    if not (ids > 0).any():
        raise NoPolygonOnGrid(_no_overlap_message(lay, grid, n_outside, len(inside)))
    return ids


def _no_overlap_message(lay: _Layer, grid: Grid, n_outside: int, n_inside: int) -> str:
    """The message when no polygon of ``lay`` covers a pixel centre of ``grid``.

    ``n_inside``: the polygons over the grid (too small or thin to hold a pixel centre),
    ``n_outside``: those entirely outside it.
    """
    gx0, gy0, gx1, gy1 = _grid_bounds(grid)
    xres, yres = (abs(r) for r in grid.res)
    unit = (
        " m"
        if grid.crs.linear_units == "metre"
        else ("°" if grid.crs.is_geographic else f" {grid.crs.linear_units}")
    )
    pixel = f"{xres:g}{unit}" if xres == yres else f"{xres:g} x {yres:g}{unit}"
    why = []
    if n_inside:
        why.append(
            f"{n_inside} of {len(lay.geoms)} polygons lie inside the grid but cover no pixel "
            f"centre (smaller or thinner than a {pixel} pixel): draw larger polygons"
        )
    if n_outside or not n_inside:
        why.append(
            f"{n_outside} of {len(lay.geoms)} polygons lie entirely outside it: check that the "
            "polygons and the imagery cover the same area (and that the layer's CRS is set "
            "correctly)"
        )
    return (
        f"no polygon of {lay.path} (layer {lay.layer!r}) covers a pixel centre of the grid "
        f"({grid.width} x {grid.height} px of {pixel}, bounds {gx0:.1f}, {gy0:.1f}, {gx1:.1f}, "
        f"{gy1:.1f} in {grid.crs}); " + "; ".join(why)
    )


def rasterize_labels(
    path: PathLike,
    class_field: str,
    grid: Grid,
    *,
    layer: Optional[str] = None,
    class_map: Optional[ClassMap] = None,
) -> Tuple[np.ndarray, ClassMap, LabelReport]:
    """Burn the polygons of ``path`` onto ``grid``: (uint8 class raster, ClassMap, LabelReport).

    ``class_field`` holds the class (text or integer). Without ``class_map`` the classes are the
    distinct values of the polygons that label at least one pixel, sorted (numbers numerically,
    text alphabetically). With ``class_map`` (e.g. from a checkpoint) values are matched to it by
    value or name; an unknown value raises LabelError listing the known classes.
    Skipped polygons (empty, outside the grid, no class value, too small for a pixel centre) are
    counted in the report and announced with ``LabelWarning``.
    """
    lay = _read(path, grid, class_field, layer)
    ids, n_outside, n_overlap, inside = _burn_ids(lay, grid)
    messages = list(lay.messages)
    if not (ids > 0).any():
        raise NoPolygonOnGrid(_no_overlap_message(lay, grid, n_outside, len(inside)))

    # polygons with at least one pixel (after later polygons painted over earlier ones)
    counts = np.bincount(ids.ravel(), minlength=len(lay.geoms) + 1)
    n_no_class = 0
    hidden = 0
    used: List[int] = []
    for fid in inside:
        i = fid - 1
        if lay.values[i] is None:
            n_no_class += 1
            continue
        if counts[fid] == 0:
            hidden += 1
            continue
        used.append(i)
    if n_no_class:
        messages.append(
            f"{n_no_class} polygon(s) have no value in {class_field!r} and were left unlabelled"
        )
    if n_outside:
        messages.append(f"{n_outside} polygon(s) lie entirely outside the grid and were skipped")
    if hidden:
        messages.append(
            f"{hidden} polygon(s) cover no pixel centre of the grid (too small, at the edge, or "
            "hidden under later overlapping polygons)"
        )
    if n_overlap:
        messages.append(
            f"{n_overlap} pixel(s) are covered by more than one polygon: the later polygon wins"
        )
    if not used:
        raise LabelError(
            f"no polygon of {lay.path} with a value in {class_field!r} covers a pixel centre of "
            f"the grid ({'; '.join(messages)}): fill in the class field or draw polygons over "
            "the imagery"
        )

    if class_map is None:
        messages += _near_duplicate_names([lay.values[i] for i in used], class_field)
        class_map = ClassMap.from_values([lay.values[i] for i in used])
        if len(class_map) > MAX_CLASSES:  # pragma: no cover - ClassMap already raises
            raise LabelError(f"too many classes in {class_field!r}")
    lut = np.full(len(lay.geoms) + 1, IGNORE_INDEX, dtype=np.uint8)
    unknown = []
    for i in used:
        try:
            lut[i + 1] = class_map.index_of(lay.values[i])
        except LabelError:
            unknown.append(lay.values[i])
    if unknown:
        uniq = sorted({str(u) for u in unknown})
        known = ", ".join(class_map.names)
        raise LabelError(
            f"{len(unknown)} polygon(s) of {lay.path} have classes in {class_field!r} that the "
            f"class map does not know: {', '.join(uniq)}; the known classes are: {known}. "
            "Relabel those polygons or fine-tune a new model with these classes"
        )
    labels = lut[ids]
    hist = np.bincount(labels.ravel(), minlength=256)
    pixels = {name: int(hist[k]) for k, name in enumerate(class_map.names)}
    report = LabelReport(
        n_features=len(lay.geoms),
        n_used=len(used),
        n_empty=lay.n_empty,
        n_outside=n_outside,
        pixels_per_class=pixels,
        messages=messages,
        n_no_class=n_no_class,
        warned=[m for m in messages if "reprojected" not in m],
    )
    _warn(report.warned)
    return labels, class_map, report

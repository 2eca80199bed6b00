"""QGIS layers <-> engine inputs: sensor/date of raster layers, files for the engine, label layers.

Everything here is cheap and torch-free (GDAL through ``osgeo``): the dock uses it to list the
project's Sentinel layers while the engine is not even imported.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransformContext,
    QgsEditorWidgetSetup,
    QgsFeatureRequest,
    QgsField,
    QgsFields,
    QgsMapLayer,
    QgsProject,
    QgsProviderRegistry,
    QgsRasterLayer,
    QgsVectorFileWriter,
    QgsVectorLayer,
)

from .compat import WKB_MULTIPOLYGON, field_type
from .i18n import tr

S1_BANDS = {"VV", "VH", "HH", "HV"}
S2_BANDS = {f"B{i:02d}" for i in range(1, 13)} | {"B8A", "SCL"}
SCL_CLOUD = (3, 8, 9, 10)  # cloud shadow, cloud medium/high probability, thin cirrus
SCL_NODATA = 0
LABEL_FIELD = "class_name"
LABEL_LAYER_NAME = "labels"
_DATE_IN_NAME = re.compile(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)")
_BAND_PREFIX = re.compile(r"^Band \d+\s*:?\s*")


@dataclass
class LayerInfo:
    """What the dock needs to list a raster layer: sensor, acquisition date, cloudiness."""

    sensor: Optional[str]  # "s1" | "s2" | None
    date: Optional[dt.date]
    bands: List[str] = field(default_factory=list)
    path: str = ""
    scl_band: Optional[int] = None  # 1-based index of an SCL band

    def label(self, cloud_fraction: Optional[float] = None) -> str:
        """The layer's name in the project, with the cloud fraction when known."""
        when = self.date.isoformat() if self.date else "no date"
        text = f"{when}  {Path(self.path).name}"
        if cloud_fraction is not None:
            text += f"  ({cloud_fraction:.0%} cloud)"
        return text


def file_path(layer: QgsMapLayer) -> str:
    """The file behind a file-based layer (the ``|layername=...`` suffix and URI parts removed)."""
    provider = layer.providerType() or "gdal"
    parts = QgsProviderRegistry.instance().decodeUri(provider, layer.source())
    path = parts.get("path") or layer.source()
    return path


def raster_files(layers: Iterable[QgsMapLayer], parameter: str = "") -> List[str]:
    """The files of raster layers, in order; a layer that is not a readable file is an error."""
    files = []
    for layer in layers:
        path = file_path(layer)
        if not os.path.isfile(path):
            where = f"{parameter}: " if parameter else ""
            if _was_local_file(layer, path):
                raise ValueError(
                    tr(
                        "{where}the file of layer '{0}' ({1}) no longer exists (moved, renamed or deleted): fix the layer's data source (Layer Properties > Source) or remove the layer"
                    ).format(layer.name(), path, where=where)
                )
            raise ValueError(
                tr(
                    "{where}layer '{0}' is not a local raster file ({1}); S4 reads GeoTIFFs from disk: save the layer as GeoTIFF (Export > Save As) first"
                ).format(layer.name(), layer.source(), where=where)
            )
        files.append(path)
    return files


def _was_local_file(layer: QgsMapLayer, path: str) -> bool:
    """Whether ``layer`` names a local file that is not there (moved or deleted since added).

    A GDAL layer whose path is absolute, not a URL and not on a GDAL virtual file system.
    """
    if layer.providerType() != "gdal" or not path or os.path.exists(path):
        return False
    return os.path.isabs(path) and not path.startswith("/vsi") and "://" not in path


def file_kind(path: str) -> Optional[str]:
    """``"raster"`` or ``"vector"``: what GDAL / OGR can open ``path`` as (raster first); None."""
    from osgeo import gdal

    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        for kind, flag in (("raster", gdal.OF_RASTER), ("vector", gdal.OF_VECTOR)):
            if gdal.OpenEx(path, flag) is not None:
                return kind
    finally:
        gdal.PopErrorHandler()
    return None


def band_names(layer: QgsRasterLayer) -> List[str]:
    """Band descriptions (``VV``, ``B02`` ...) from GDAL, else from QGIS's band names."""
    names: List[str] = []
    path = file_path(layer)
    if layer.providerType() == "gdal" and os.path.isfile(path):
        from osgeo import gdal

        dataset = gdal.Open(path)
        if dataset is not None:
            names = [
                (dataset.GetRasterBand(i).GetDescription() or "").strip()
                for i in range(1, dataset.RasterCount + 1)
            ]
            dataset = None
    if not any(names):
        names = [
            _BAND_PREFIX.sub("", layer.bandName(i)).strip() for i in range(1, layer.bandCount() + 1)
        ]
    return names


def sensor_of_bands(names: Sequence[str]) -> Optional[str]:
    """``"s1"`` for radar polarisations, ``"s2"`` for Sentinel-2 band names, else None."""
    upper = {n.upper() for n in names if n}
    s1, s2 = upper & S1_BANDS, upper & S2_BANDS
    if s1 and not s2:
        return "s1"
    if len(s2 - {"SCL"}) >= 3 and not s1:
        return "s2"
    return None


def acquisition_date(path: str) -> Optional[dt.date]:
    """Date from the GeoTIFF tag ``ACQUISITION_DATETIME``, else from ``YYYYMMDD`` in the name."""
    if os.path.isfile(path):
        from osgeo import gdal

        dataset = gdal.Open(path)
        if dataset is not None:
            value = dataset.GetMetadataItem("ACQUISITION_DATETIME") or ""
            dataset = None
            try:
                return dt.date.fromisoformat(value[:10])
            except ValueError:
                pass
    match = _DATE_IN_NAME.search(Path(path).name)
    if match:
        try:
            return dt.date(*(int(g) for g in match.groups()))
        except ValueError:
            return None
    return None


def scan_raster_layer(layer: QgsRasterLayer) -> LayerInfo:
    """Sensor (by band names), date and SCL band of a raster layer; no pixel is read."""
    names = band_names(layer)
    path = file_path(layer)
    scl = next((i + 1 for i, n in enumerate(names) if n.upper() == "SCL"), None)
    return LayerInfo(sensor_of_bands(names), acquisition_date(path), names, path, scl)


def cloud_fraction(path: str, scl_band: int, max_size: int = 256) -> Optional[float]:
    """Share of valid pixels flagged cloud/shadow/cirrus by the SCL band (decimated read)."""
    from osgeo import gdal

    dataset = gdal.Open(path)
    if dataset is None:
        return None
    try:
        band = dataset.GetRasterBand(scl_band)
        scale = max(1.0, max(dataset.RasterXSize, dataset.RasterYSize) / max_size)
        width = max(1, int(dataset.RasterXSize / scale))
        height = max(1, int(dataset.RasterYSize / scale))
        array = band.ReadAsArray(buf_xsize=width, buf_ysize=height)
    finally:
        dataset = None
    if array is None:
        return None
    valid = array != SCL_NODATA
    n_valid = int(valid.sum())
    if n_valid == 0:
        return None
    cloudy = 0
    for value in SCL_CLOUD:
        cloudy += int(((array == value) & valid).sum())
    return cloudy / n_valid


class CloudCache:
    """Cloud fractions keyed by (path, mtime): computed once per file version."""

    def __init__(self) -> None:
        self._values: Dict[Tuple[str, float], Optional[float]] = {}

    def key(self, path: str) -> Tuple[str, float]:
        """The cache key of ``path``: the path and its modification time."""
        try:
            return path, os.path.getmtime(path)
        except OSError:
            return path, -1.0

    def get(self, path: str) -> Tuple[bool, Optional[float]]:
        """Whether ``path``'s cloud fraction is cached, and the cached value."""
        key = self.key(path)
        return (key in self._values), self._values.get(key)

    def compute(self, path: str, scl_band: int) -> Optional[float]:
        """Compute and cache the cloud fraction of ``path`` from SCL band ``scl_band``."""
        key = self.key(path)
        if key not in self._values:
            self._values[key] = cloud_fraction(path, scl_band)
        return self._values[key]


# Vector layers for the engine ------------------------------------------------------------
_VECTOR_SUFFIXES = {".gpkg", ".shp", ".geojson", ".json", ".fgb", ".sqlite"}
# Formats whose text QGIS decodes itself, in the layer's encoding (the .cpg, or the one chosen in
# the layer's properties): QGIS sets GDAL's SHAPE_ENCODING to "" in its process, so an engine
# reading the file there gets undecoded bytes ('maÃ¯s' for 'maïs'). They go through a UTF-8 copy.
_ENCODED_SUFFIXES = {".shp"}


def _ogr_layer_count(path: str) -> int:
    """The number of data layers of ``path``.

    A GeoPackage's ``layer_styles`` table (the styles QGIS saves in it, e.g. the form of a label
    layer made by the dock) does not count.
    """
    from osgeo import ogr

    dataset = ogr.Open(path)
    if dataset is None:
        return 0
    try:
        names = [dataset.GetLayer(i).GetName() for i in range(dataset.GetLayerCount())]
        return sum(1 for name in names if name.lower() != "layer_styles")
    finally:
        dataset = None


def vector_file_as_is(layer: QgsVectorLayer) -> Optional[str]:
    """The file behind ``layer`` when the engine can read it unchanged, else None.

    Unchanged means: an OGR file of a common format whose text is UTF-8 (not a shapefile: QGIS
    decodes those itself, see ``_ENCODED_SUFFIXES``), a single layer (or the file's only layer),
    no subset filter and no unsaved edits.
    """
    if layer.providerType() != "ogr" or layer.isModified() or layer.subsetString():
        return None
    parts = QgsProviderRegistry.instance().decodeUri("ogr", layer.source())
    path = parts.get("path") or ""
    suffix = Path(path).suffix.lower()
    if not os.path.isfile(path) or suffix not in _VECTOR_SUFFIXES or suffix in _ENCODED_SUFFIXES:
        return None
    if parts.get("layerName") or parts.get("layerId") not in (None, ""):
        if _ogr_layer_count(path) != 1:
            return None
    return path


def write_vector_copy(
    layer: QgsVectorLayer, out_path: str, layer_name: str = LABEL_LAYER_NAME
) -> str:
    """Write ``layer`` (memory, edited or filtered layers included) to a GeoPackage."""
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = layer_name
    options.fileEncoding = "UTF-8"
    context = QgsProject.instance().transformContext()
    result = QgsVectorFileWriter.writeAsVectorFormatV3(layer, out_path, context, options)
    error, message = result[0], result[1]
    if error != QgsVectorFileWriter.WriterError.NoError:
        raise OSError(
            tr("could not write layer '{0}' to {out_path}: {message}").format(
                layer.name(), out_path=out_path, message=message
            )
        )
    return out_path


def vector_for_engine(layer: QgsVectorLayer, tmp_dir: str) -> str:
    """A file path the engine can read for ``layer``; copies to ``tmp_dir`` when needed.

    The copy is a UTF-8 GeoPackage of what QGIS shows: memory, edited and filtered layers,
    shapefiles (text in the layer's encoding).
    """
    path = vector_file_as_is(layer)
    if path:
        return path
    fd, out = tempfile.mkstemp(prefix="s4_labels_", suffix=".gpkg", dir=tmp_dir)
    os.close(fd)
    os.remove(out)
    return write_vector_copy(layer, out)


def name_copies(text: str, copies: Dict[str, str]) -> str:
    """``text`` (an engine message) with each temporary copy named as the layer it copies.

    ``copies`` maps a file written by ``vector_for_engine`` to its layer's name: the engine names
    the file it read ("layer 'labels' of /tmp/.../s4_labels_x.gpkg"), a file the user has never
    seen; the message names the layer of their project instead ("layer 'parcels'").
    """
    inner = re.escape(repr(LABEL_LAYER_NAME))
    for path, name in copies.items():
        quoted = re.escape(path)
        named = f"layer '{name}'"

        def literal(_: re.Match[str], named: str = named) -> str:
            return named  # as it is: no group references or escapes in a layer's name

        text = re.sub(
            rf"layer {inner} of {quoted}|{quoted} \(layer {inner}\)|{quoted}", literal, text
        )
    return text


def feature_count_with_geometry(layer: QgsVectorLayer) -> int:
    """The number of features of ``layer`` that have a geometry."""
    request = QgsFeatureRequest().setNoAttributes()
    return sum(
        1 for f in layer.getFeatures(request) if f.hasGeometry() and not f.geometry().isEmpty()
    )


# Label layers -------------------------------------------------------------------------------
def parse_class_names(text: str) -> List[str]:
    """``"wheat, maize,  grass"`` -> ``["wheat", "maize", "grass"]`` (duplicates dropped)."""
    names: List[str] = []
    for part in text.replace(";", ",").replace("\n", ",").split(","):
        name = part.strip()
        if name and name not in names:
            names.append(name)
    return names


def set_class_value_map(
    layer: QgsVectorLayer, class_names: Sequence[str], field_name: str = LABEL_FIELD
) -> None:
    """Edit form: a drop-down (ValueMap widget) offering the class names for ``field_name``."""
    index = layer.fields().indexFromName(field_name)
    if index < 0:
        raise ValueError(
            tr("layer '{0}' has no field '{field_name}'").format(
                layer.name(), field_name=field_name
            )
        )
    value_map = [{name: name} for name in class_names]
    layer.setEditorWidgetSetup(index, QgsEditorWidgetSetup("ValueMap", {"map": value_map}))


def create_label_layer(
    path: str,
    class_names: Sequence[str],
    crs: QgsCoordinateReferenceSystem,
    *,
    name: str = "S4 labels",
) -> QgsVectorLayer:
    """A new GeoPackage polygon layer with a text field ``class_name`` offering ``class_names``.

    The ValueMap form is stored in the GeoPackage as the default style, so it comes back when
    the file is opened again. An existing file at ``path`` is refused (no silent overwrite).
    """
    if os.path.exists(path):
        raise FileExistsError(f"{path} exists already: choose a new file name for the label layer")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fields = QgsFields()
    fields.append(QgsField(LABEL_FIELD, field_type("string"), "string", 80))
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = LABEL_LAYER_NAME
    options.fileEncoding = "UTF-8"
    writer = QgsVectorFileWriter.create(
        path, fields, WKB_MULTIPOLYGON, crs, QgsCoordinateTransformContext(), options
    )
    if writer.hasError() != QgsVectorFileWriter.WriterError.NoError:
        message = writer.errorMessage()
        del writer
        raise OSError(tr("could not create {path}: {message}").format(path=path, message=message))
    del writer  # flushes and closes the file
    layer = QgsVectorLayer(f"{path}|layername={LABEL_LAYER_NAME}", name, "ogr")
    if not layer.isValid():
        raise OSError(tr("could not open the new label layer {path}").format(path=path))
    if class_names:
        set_class_value_map(layer, class_names)
        from .styling import save_default_style_to_database

        save_default_style_to_database(layer, "S4 label form")
    return layer

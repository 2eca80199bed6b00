"""Class styles for S4 outputs: paletted class rasters (+ ``.qml``) and categorized polygons.

Class lists are the engine's ``[{"index": int, "name": str, "color": [r, g, b]}, ...]``. A class
raster carries them in its GeoTIFF tag ``S4_CLASSES`` (and a colour table); the plugin turns
them into a ``QgsPalettedRasterRenderer`` with the class names as labels and saves the style
beside the raster (``<stem>.qml``, the file QGIS loads by default with the layer), so the
colours and names survive headless runs (``processing.run``, ``qgis_process``). Polygon
GeoPackages get a categorized renderer on ``class_name`` stored inside the GeoPackage
(``layer_styles`` table) as the default style. Confidence rasters (band 1 = the largest class
probability) get a red-yellow-green pseudocolour ramp from 0 to 1 (``confidence_renderer``).
"""

from __future__ import annotations

import json
import os
from collections import deque
from pathlib import Path
from typing import Any, Deque, Dict, List, Optional, Sequence

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsColorRampShader,
    QgsFillSymbol,
    QgsMapLayer,
    QgsPalettedRasterRenderer,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingLayerPostProcessorInterface,
    QgsRasterLayer,
    QgsRasterShader,
    QgsRendererCategory,
    QgsSingleBandPseudoColorRenderer,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtXml import QDomDocument

from s4_core.types import PathLike, override
from s4_core.validate import temp_path

from .i18n import tr

ClassList = List[Dict[str, Any]]

CLASSES_TAG = "S4_CLASSES"
NODATA = 255
STYLE_NAME = "S4 classes"
VECTOR_CLASS_FIELD = "class_name"

# Fallback colours (tab10-like) for classes that come without one.
_PALETTE = [
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
]  # fmt: skip


def default_color(index: int) -> List[int]:
    """A distinct colour for class ``index`` when the engine gave none."""
    return list(_PALETTE[index % len(_PALETTE)])


def normalize_classes(classes: Sequence[Any]) -> ClassList:
    """Accept engine class dicts, ``{"name", "color"}`` dicts (model_info) or plain names.

    Returns ``[{"index", "name", "color"}]`` sorted by index; missing indices are the position,
    missing colours come from a fixed palette.
    """
    out: ClassList = []
    for position, item in enumerate(classes):
        if isinstance(item, str):
            item = {"name": item}
        index = int(item.get("index", position))
        name = str(item.get("name", f"class {index}"))
        color = item.get("color") or default_color(index)
        out.append({"index": index, "name": name, "color": [int(c) for c in list(color)[:3]]})
    return sorted(out, key=lambda c: c["index"])


def read_classes(raster_path: PathLike) -> ClassList:
    """Classes of an S4 class raster: tag ``S4_CLASSES``, else its colour table, else []."""
    from osgeo import gdal

    dataset = gdal.Open(str(raster_path))
    if dataset is None:
        return []
    try:
        text = dataset.GetMetadataItem(CLASSES_TAG)
        if text:
            try:
                return normalize_classes(json.loads(text))
            except (ValueError, TypeError, AttributeError):
                pass
        band = dataset.GetRasterBand(1)
        table = band.GetColorTable() if band is not None else None
        if table is None:
            return []
        names = band.GetCategoryNames() or []
        classes: ClassList = []
        for index in range(min(table.GetCount(), NODATA)):
            r, g, b, a = table.GetColorEntry(index)
            name = names[index] if index < len(names) and names[index] else ""
            if not name:
                continue  # unnamed entries of a 256-entry table are not classes
            classes.append({"index": index, "name": name, "color": [r, g, b]})
        return classes
    finally:
        dataset = None


def qml_path(raster_path: PathLike) -> Path:
    """The default-style file QGIS reads with a file layer: ``<folder>/<stem>.qml``."""
    path = Path(raster_path)
    return path.with_name(path.stem + ".qml")


def class_raster_renderer(
    layer: QgsRasterLayer, classes: Sequence[Any]
) -> QgsPalettedRasterRenderer:
    """A paletted renderer on band 1 with one entry (colour, class name) per class."""
    entries = [
        QgsPalettedRasterRenderer.Class(float(c["index"]), QColor(*c["color"]), c["name"])
        for c in normalize_classes(classes)
    ]
    return QgsPalettedRasterRenderer(layer.dataProvider(), 1, entries)


def _write_style_atomically(layer: QgsMapLayer, path: Path) -> None:
    document = QDomDocument("qgis")
    error = layer.exportNamedStyle(document)
    if error:
        raise OSError(
            tr("could not export the style of {0}: {error}").format(layer.name(), error=error)
        )
    # os.open with mode 0o666 lets the umask decide (mkstemp would make the style 0600).
    tmp = str(temp_path(path, ".part"))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(document.toString(2))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def style_class_raster(
    layer: QgsRasterLayer, classes: Optional[Sequence[Any]] = None, *, save: bool = True
) -> Optional[Path]:
    """Apply the class palette to ``layer`` (classes read from its file when not given).

    With ``save`` the style is written beside the file as ``<stem>.qml`` (returned).
    """
    source = layer.source()
    if classes is None:
        classes = read_classes(source)
    if not classes:
        return None
    layer.setRenderer(class_raster_renderer(layer, classes))
    layer.triggerRepaint()
    if not save or not os.path.isfile(source):
        return None
    path = qml_path(source)
    _write_style_atomically(layer, path)
    return path


def confidence_renderer(layer: QgsRasterLayer) -> QgsSingleBandPseudoColorRenderer:
    """Band 1 (largest class probability) from red (unsure) over yellow to green (sure)."""
    ramp = QgsColorRampShader(0.0, 1.0)
    ramp.setColorRampType(QgsColorRampShader.Type.Interpolated)
    ramp.setColorRampItemList(
        [
            QgsColorRampShader.ColorRampItem(0.0, QColor(215, 25, 28), "0"),
            QgsColorRampShader.ColorRampItem(0.5, QColor(255, 255, 191), "0.5"),
            QgsColorRampShader.ColorRampItem(1.0, QColor(26, 150, 65), "1"),
        ]
    )
    shader = QgsRasterShader(0.0, 1.0)
    shader.setRasterShaderFunction(ramp)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader)
    renderer.setClassificationMin(0.0)
    renderer.setClassificationMax(1.0)
    return renderer


def style_confidence_file(path: PathLike) -> Optional[Path]:
    """Write ``<stem>.qml`` (the confidence ramp) beside the confidence raster at ``path``."""
    layer = QgsRasterLayer(str(path), "confidence")
    if not layer.isValid():
        raise OSError(tr("could not open the confidence raster {path}").format(path=path))
    layer.setRenderer(confidence_renderer(layer))
    target = qml_path(path)
    _write_style_atomically(layer, target)
    return target


def class_vector_renderer(
    classes: Sequence[Any], field: str = VECTOR_CLASS_FIELD
) -> QgsCategorizedSymbolRenderer:
    """A categorized renderer on ``field`` (class names), one category per class."""
    categories = []
    for c in normalize_classes(classes):
        symbol = QgsFillSymbol.createSimple(
            {
                "color": ",".join(str(v) for v in c["color"]) + ",255",
                "outline_color": "35,35,35,255",
                "outline_width": "0.2",
            }
        )
        categories.append(QgsRendererCategory(c["name"], symbol, c["name"]))
    return QgsCategorizedSymbolRenderer(field, categories)


def style_class_vector(
    layer: QgsVectorLayer, classes: Sequence[Any], *, save_to_database: bool = True
) -> None:
    """Categorize ``layer`` by class name; store the style in its GeoPackage as the default."""
    layer.setRenderer(class_vector_renderer(classes))
    layer.triggerRepaint()
    if save_to_database:
        save_default_style_to_database(layer, STYLE_NAME)


def save_default_style_to_database(layer: QgsVectorLayer, name: str) -> None:
    """``layer_styles`` table of the layer's GeoPackage, used as the default when it is opened."""
    description = "Written by the S4 plugin"
    save_v2 = getattr(layer, "saveStyleToDatabaseV2", None)  # QGIS >= 3.44 (the old one deprecated)
    if save_v2 is not None:
        _results, error = save_v2(name, description, True, "")
    else:
        error = layer.saveStyleToDatabase(name, description, True, "")
    if error:
        raise OSError(
            tr("could not store the style in {0}: {error}").format(layer.source(), error=error)
        )


def style_raster_file(path: PathLike, classes: Optional[Sequence[Any]] = None) -> Optional[Path]:
    """Write ``<stem>.qml`` beside the class raster at ``path``; returns the style file."""
    layer = QgsRasterLayer(str(path), Path(path).stem, "gdal")
    if not layer.isValid():
        raise OSError(tr("could not open the class raster {path}").format(path=path))
    return style_class_raster(layer, classes, save=True)


def style_vector_file(path: PathLike, classes: Sequence[Any]) -> QgsVectorLayer:
    """Open the GeoPackage at ``path``, style it and store the style inside it."""
    layer = QgsVectorLayer(str(path), Path(path).stem, "ogr")
    if not layer.isValid():
        raise OSError(tr("could not open the polygons {path}").format(path=path))
    style_class_vector(layer, classes)
    return layer


# Post-processors must outlive processAlgorithm (QGIS keeps a plain pointer to them).
_LIVE_POSTPROCESSORS: Deque[ClassStylePostProcessor] = deque(maxlen=64)


class ClassStylePostProcessor(QgsProcessingLayerPostProcessorInterface):
    """Styles an S4 output (class raster or polygons) when Processing loads it into a project."""

    def __init__(self, classes: Optional[Sequence[Any]]) -> None:
        super().__init__()
        self.classes = normalize_classes(classes) if classes is not None else None

    @override
    def postProcessLayer(
        self, layer: QgsMapLayer, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> None:  # noqa: N802 (QGIS API)
        if self.classes is None:  # a confidence raster
            layer.setRenderer(confidence_renderer(layer))
        elif isinstance(layer, QgsRasterLayer):
            layer.setRenderer(class_raster_renderer(layer, self.classes))
        elif isinstance(layer, QgsVectorLayer):
            layer.setRenderer(class_vector_renderer(self.classes))
        layer.triggerRepaint()

    @classmethod
    def create(cls, classes: Optional[Sequence[Any]]) -> ClassStylePostProcessor:
        """A processor kept alive for QGIS (which holds only a reference to it)."""
        processor = cls(classes)
        _LIVE_POSTPROCESSORS.append(processor)
        return processor


def attach_postprocessor(
    context: QgsProcessingContext,
    output: str,
    classes: Optional[Sequence[Any]],
    name: str,
    *,
    style: bool = True,
) -> None:
    """Name and style ``output`` there if Processing will load it into the project.

    ``classes`` None: a confidence raster. ``style`` False: only named (QGIS's own rendering,
    e.g. the class probabilities: one band per class).
    """
    if not output or not context.willLoadLayerOnCompletion(output):
        return
    details = context.layerToLoadOnCompletionDetails(output)
    details.name = name
    if style:
        details.setPostProcessor(ClassStylePostProcessor.create(classes))


def style_suggestions(layer: QgsVectorLayer) -> None:
    """The squares of "where to label next": hollow, a bright outline, the rank as a label."""
    from qgis.core import QgsPalLayerSettings, QgsSingleSymbolRenderer, QgsVectorLayerSimpleLabeling

    symbol = QgsFillSymbol.createSimple(
        {"color": "0,0,0,0", "outline_color": "255,0,255,255", "outline_width": "0.8"}
    )
    layer.setRenderer(QgsSingleSymbolRenderer(symbol))
    settings = QgsPalLayerSettings()
    settings.fieldName = "rank"
    layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
    layer.setLabelsEnabled(True)
    layer.triggerRepaint()

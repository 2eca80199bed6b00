"""One code base for QGIS 3.22 ... 4.x (Qt 5 and Qt 6): the names that differ between them.

The rest of ``s4_qgis`` follows rules that hold on every supported version (checked by
``tests/test_qt6_compat.py`` against the PyQt6 wheel and ``tests/qgis/test_qgis_enums.py``):

- Qt only through ``qgis.PyQt``, Qt enums fully scoped (``Qt.CheckState.Checked``; PyQt5 5.15
  accepts the scoped form too, PyQt6 only that one), ``exec()`` instead of ``exec_()``.
- QGIS enums scoped by their enum class (``Qgis.MessageLevel.Warning``,
  ``QgsTask.Flag.CanCancel``): QGIS 3.22 has those and later versions kept them.
- Enums that later QGIS versions moved into ``Qgis`` under new member names, field types and
  ``QAction`` (QtWidgets in Qt 5, QtGui in Qt 6) come from this module.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

import qgis.core
from qgis.core import Qgis
from qgis.PyQt.QtCore import QMetaType, QVariant

try:  # Qt 6 (QGIS 4): QAction moved to QtGui; QGIS's qgis.PyQt.QtWidgets does not re-export it
    from qgis.PyQt.QtGui import QAction
except ImportError:  # Qt 5 (QGIS 3.x)
    from qgis.PyQt.QtWidgets import QAction

__all__ = [
    "FIELD_TYPES_ARE_QMETATYPE",
    "FLAG_ADVANCED",
    "LAYER_FILTER_POLYGON",
    "NUMBER_DOUBLE",
    "NUMBER_INTEGER",
    "QAction",
    "QGIS_VERSION_INT",
    "SOURCE_POLYGON",
    "SOURCE_RASTER",
    "SOURCE_VECTOR",
    "WKB_MULTIPOLYGON",
    "WKB_NO_GEOMETRY",
    "field_type",
    "qgis_enum",
]

QGIS_VERSION_INT: int = Qgis.QGIS_VERSION_INT
#: QgsField takes a QMetaType.Type from QGIS 3.38 on (QVariant.Type is gone from PyQt6).
FIELD_TYPES_ARE_QMETATYPE: bool = QGIS_VERSION_INT >= 33800

# field_type name -> (QMetaType.Type member, QVariant member)
_FIELD_TYPES: Dict[str, Tuple[str, str]] = {
    "string": ("QString", "String"),
    "int": ("Int", "Int"),
    "longlong": ("LongLong", "LongLong"),
    "double": ("Double", "Double"),
    "bool": ("Bool", "Bool"),
}

QtEnum = Any
"""A QGIS or Qt enum member: the bindings have no type stubs, so Any to the type checker."""


def qgis_enum(*names: str, namespace: object = qgis.core) -> QtEnum:
    """The value of the first dotted name (newest API first) that this QGIS has.

    ``qgis_enum("Qgis.ProcessingSourceType.VectorPolygon",
    "QgsProcessing.SourceType.TypeVectorPolygon")`` gives the QGIS >= 3.36 member there and the
    3.22 one before. Raises ``AttributeError`` naming every candidate when none exists.
    """
    if not names:
        raise TypeError("qgis_enum needs at least one dotted name")
    for name in names:
        value: Any = namespace
        try:
            for part in name.split("."):
                value = getattr(value, part)
        except AttributeError:
            continue
        return value
    raise AttributeError(f"none of {', '.join(names)} exists in QGIS {Qgis.QGIS_VERSION}")


def field_type(name: str) -> QtEnum:
    """The type to give ``QgsField`` for ``name`` ("string", "int", "longlong", "double", "bool").

    ``QMetaType.Type`` on QGIS >= 3.38 (and so on QGIS 4 / Qt 6), ``QVariant.Type`` before.
    """
    try:
        metatype, variant = _FIELD_TYPES[name]
    except KeyError:
        raise ValueError(f"unknown field type {name!r}: one of {sorted(_FIELD_TYPES)}") from None
    if FIELD_TYPES_ARE_QMETATYPE:
        return getattr(QMetaType.Type, metatype)
    return getattr(QVariant, variant)


# Processing: moved into Qgis (with new member names) in QGIS 3.36.
SOURCE_RASTER = qgis_enum("Qgis.ProcessingSourceType.Raster", "QgsProcessing.SourceType.TypeRaster")
SOURCE_VECTOR = qgis_enum("Qgis.ProcessingSourceType.Vector", "QgsProcessing.SourceType.TypeVector")
SOURCE_POLYGON = qgis_enum(
    "Qgis.ProcessingSourceType.VectorPolygon", "QgsProcessing.SourceType.TypeVectorPolygon"
)
NUMBER_INTEGER = qgis_enum(
    "Qgis.ProcessingNumberParameterType.Integer", "QgsProcessingParameterNumber.Type.Integer"
)
NUMBER_DOUBLE = qgis_enum(
    "Qgis.ProcessingNumberParameterType.Double", "QgsProcessingParameterNumber.Type.Double"
)
FLAG_ADVANCED = qgis_enum(
    "Qgis.ProcessingParameterFlag.Advanced", "QgsProcessingParameterDefinition.Flag.FlagAdvanced"
)
# File parameters that pick a folder: Qgis.ProcessingFileParameterBehavior from QGIS 3.36.
FILE_FOLDER = qgis_enum(
    "Qgis.ProcessingFileParameterBehavior.Folder", "QgsProcessingParameterFile.Behavior.Folder"
)
# Geometry types: Qgis.WkbType from QGIS 3.30.
WKB_MULTIPOLYGON = qgis_enum("Qgis.WkbType.MultiPolygon", "QgsWkbTypes.Type.MultiPolygon")
WKB_NO_GEOMETRY = qgis_enum("Qgis.WkbType.NoGeometry", "QgsWkbTypes.Type.NoGeometry")
# Layer combo box filters: Qgis.LayerFilter from QGIS 3.34.
LAYER_FILTER_POLYGON = qgis_enum(
    "Qgis.LayerFilter.PolygonLayer", "QgsMapLayerProxyModel.Filter.PolygonLayer"
)

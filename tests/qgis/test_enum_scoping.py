"""On the QGIS in this process (3.22 in CI), every scoped Qt/QGIS enum the plugin spells exists.

The PyQt6 side is ``tests/test_qt6_compat.py``; this side makes sure the scoped spellings also
work on the oldest supported QGIS, and that ``s4_qgis.compat`` gives the same values as the old
unscoped names there (behaviour unchanged on QGIS 3.22).
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest
from modules import load_script

pytestmark = pytest.mark.qgis
ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def checker():
    return load_script("check_qt_compat")


def _qgis_pyqt(name: str):
    return importlib.import_module(f"qgis.PyQt.{name}" if name else "qgis.PyQt")


def _problems(checker, scans):
    return checker.resolution_problems(scans, _qgis_pyqt, label="qgis.PyQt", qgis=True)


def test_every_qt_and_qgis_enum_is_scoped_and_exists_here(qgis_app, checker):
    scans = checker.scan_paths([ROOT / p for p in checker.DEFAULT_PATHS])
    qgis_chains = [c for s in scans for _, c in s.chains if c[0] in s.qgis_names]
    assert len(qgis_chains) >= 40
    assert _problems(checker, scans) == []


def test_unscoped_enums_are_flagged_here_too(qgis_app, checker):
    source = (
        "from qgis.core import Qgis, QgsTask\n"
        "from qgis.PyQt.QtCore import Qt\n"
        "a = Qgis.Warning\n"
        "b = QgsTask.Flag.CanCancel\n"
        "c = Qt.Checked\n"
        "d = Qt.CheckState.Checked\n"
        "e = QgsTask.Terminated\n"
    )
    problems = _problems(checker, [checker.scan_source(source, Path("snippet.py"))])
    assert problems == [
        "snippet.py:3: Qgis.Warning is an unscoped enum member: use Qgis.MessageLevel.Warning",
        "snippet.py:5: Qt.Checked is an unscoped enum member: use Qt.CheckState.Checked",
        "snippet.py:7: QgsTask.Terminated is an unscoped enum member: use "
        "QgsTask.TaskStatus.Terminated",
    ]


# The old, unscoped QGIS 3.22 names, resolved at run time (spelled out they would fail the scan).
OLD_NAMES = {
    "SOURCE_RASTER": "QgsProcessing.TypeRaster",
    "SOURCE_VECTOR": "QgsProcessing.TypeVector",
    "SOURCE_POLYGON": "QgsProcessing.TypeVectorPolygon",
    "NUMBER_INTEGER": "QgsProcessingParameterNumber.Integer",
    "NUMBER_DOUBLE": "QgsProcessingParameterNumber.Double",
    "FLAG_ADVANCED": "QgsProcessingParameterDefinition.FlagAdvanced",
    "WKB_MULTIPOLYGON": "QgsWkbTypes.MultiPolygon",
    "WKB_NO_GEOMETRY": "QgsWkbTypes.NoGeometry",
    "LAYER_FILTER_POLYGON": "QgsMapLayerProxyModel.PolygonLayer",
}


@pytest.mark.parametrize("name", sorted(OLD_NAMES))
def test_compat_gives_the_value_of_the_old_name(qgis_app, name):
    from s4_qgis import compat

    old = compat.qgis_enum(OLD_NAMES[name])  # every QGIS to date still has the old names
    assert getattr(compat, name) == old


def test_compat_field_types(qgis_app):
    from qgis.core import Qgis, QgsField
    from qgis.PyQt import QtWidgets
    from qgis.PyQt.QtCore import QMetaType, QVariant

    from s4_qgis import compat

    if Qgis.QGIS_VERSION_INT < 33800:  # QVariant.Type members (spelled out they fail the scan)
        for kind, member in (("string", "String"), ("longlong", "LongLong")):
            assert compat.field_type(kind) == getattr(QVariant, member)
    else:
        assert compat.field_type("string") == QMetaType.Type.QString
    for kind in ("string", "int", "longlong", "double", "bool"):
        made = QgsField("x", compat.field_type(kind))
        assert made.type() == compat.field_type(kind), kind
        assert made.isNumeric() == (kind in ("int", "longlong", "double")), kind
    with pytest.raises(ValueError, match="unknown field type"):
        compat.field_type("date")
    qt5_action = getattr(QtWidgets, "QAction", None)  # None on Qt 6: QAction is in QtGui
    assert compat.QAction is (qt5_action or importlib.import_module("qgis.PyQt.QtGui").QAction)


def test_qgis_enum_takes_the_first_name_that_exists(qgis_app):
    from qgis.core import Qgis

    from s4_qgis.compat import qgis_enum

    found = qgis_enum("Qgis.NoSuchEnum.Member", "Qgis.MessageLevel.Warning")
    assert found == Qgis.MessageLevel.Warning
    with pytest.raises(AttributeError, match="Qgis.NoSuchEnum.A, Qgis.MessageLevel.Nope"):
        qgis_enum("Qgis.NoSuchEnum.A", "Qgis.MessageLevel.Nope")

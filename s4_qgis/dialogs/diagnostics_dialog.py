"""Raster > S4 > About / diagnostics…: versions, CUDA devices, where things live; copy for bugs."""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Dict, Optional

from qgis.PyQt.QtGui import QFontDatabase, QGuiApplication
from qgis.PyQt.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .. import dependencies as deps
from ..i18n import tr

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def qgis_facts() -> Dict[str, Any]:
    """What only the plugin knows: QGIS, Qt and QGIS's GDAL versions, the dependency folder."""
    out: Dict[str, Any] = {}
    qgis: Dict[str, Any] = {}
    try:
        from qgis.core import Qgis, QgsApplication
        from qgis.PyQt.QtCore import PYQT_VERSION_STR, QT_VERSION_STR

        qgis.update(
            version=Qgis.QGIS_VERSION,
            qt=QT_VERSION_STR,
            pyqt=PYQT_VERSION_STR,
            profile=QgsApplication.qgisSettingsDirPath() or None,
        )
    except Exception as exc:  # noqa: BLE001 - report, never raise
        qgis["error"] = f"{type(exc).__name__}: {exc}"
    try:
        from osgeo import gdal

        qgis["gdal"] = gdal.__version__
    except Exception:  # noqa: BLE001
        qgis["gdal"] = None
    qgis["plugin_folder"] = PLUGIN_DIR
    out["qgis"] = qgis

    folder = deps.dependency_dir()
    record = deps.install_record(folder)
    try:
        python = str(deps.python_executable(sys.platform, deps.SysInfo.current()))
    except deps.InstallError as exc:
        python = f"not found ({str(exc).splitlines()[0]})"
    out["dependencies"] = {
        "folder": str(folder),
        "exists": folder.is_dir(),
        "on_sys_path": str(folder) in sys.path,
        "pending_restart": folder.with_name(folder.name + ".pending").is_dir(),
        "torch_build": record.get("variant"),
        "installed": record.get("time"),
        "pip_python": python,
        "missing": deps.missing_engine_modules() or None,
    }
    return out


def build_report() -> Dict[str, Any]:
    """The system report with the QGIS facts, and a warning when GDALs differ."""
    from s4_core.diagnostics import system_report

    report = system_report(extra=qgis_facts())
    qgis_gdal = (report.get("qgis") or {}).get("gdal")
    rasterio_gdal = (report.get("rasterio") or {}).get("gdal")
    if qgis_gdal and rasterio_gdal and qgis_gdal != rasterio_gdal:
        report["warning"] = (
            f"rasterio uses GDAL {rasterio_gdal} but QGIS uses GDAL {qgis_gdal}: a pip wheel of "
            "rasterio carries its own GDAL; prefer the one of your QGIS distribution."
        )
    return report


class DiagnosticsDialog(QDialog):
    """A read-only report, with 'Copy to clipboard' for bug reports."""

    def __init__(
        self,
        parent: Optional[QWidget] = None,
        open_dependencies: Optional[Callable[[], None]] = None,
    ) -> None:
        super().__init__(parent)
        from s4_core import __version__
        from s4_core.diagnostics import format_report

        self.setWindowTitle(
            tr("S4 {__version__} — about and diagnostics").format(__version__=__version__)
        )
        self.setMinimumSize(680, 520)
        about = QLabel(
            tr(
                "<b>S4 {__version__}</b>: self-supervised segmentation of Sentinel-1/-2 image time series (Shenoy et al., <i>Remote Sensing</i> 2024). Algorithms: Processing Toolbox &gt; S4. Please attach this report to bug reports."
            ).format(__version__=__version__)
        )
        about.setWordWrap(True)
        self.report = build_report()
        self.text = format_report(self.report)
        self.view = QPlainTextEdit(self.text)
        self.view.setReadOnly(True)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton(tr("Copy to clipboard"))
        self.copy_button.clicked.connect(self.copy)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        if open_dependencies is not None:
            deps_button = QPushButton(tr("Dependencies…"))
            deps_button.clicked.connect(open_dependencies)
            buttons.addButton(deps_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(about)
        layout.addWidget(self.view)
        layout.addWidget(buttons)

    def copy(self) -> None:
        """Copy the report to the clipboard."""
        QGuiApplication.clipboard().setText(self.text)
        self.copy_button.setText(tr("Copied"))

"""Plugin object created by ``classFactory``: provider registration, menu and toolbar."""

from __future__ import annotations

import os
from typing import List, Optional

from qgis.core import QgsApplication
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction, QMessageBox

from .provider import ICON_PATH, S4Provider

MENU = "&S4"


class S4Plugin:
    """QGIS plugin instance. ``iface`` is None under qgis_process: only ``initProcessing`` runs."""

    def __init__(self, iface) -> None:
        self.iface = iface
        self.provider: Optional[S4Provider] = None
        self.actions: List[QAction] = []

    # Processing -------------------------------------------------------------------------
    def initProcessing(self) -> None:  # noqa: N802 (QGIS API name)
        if self.provider is None:
            self.provider = S4Provider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    # GUI ------------------------------------------------------------------------------
    def initGui(self) -> None:  # noqa: N802
        self.initProcessing()
        if self.iface is None:
            return
        about = QAction(QIcon(ICON_PATH), "About S4…", self.iface.mainWindow())
        about.setObjectName("s4_about")
        about.setToolTip("S4: segment Sentinel-1/-2 time series with few labels")
        about.triggered.connect(self.show_about)
        self.iface.addPluginToRasterMenu(MENU, about)
        self.iface.addRasterToolBarIcon(about)
        self.actions.append(about)

    def unload(self) -> None:
        for action in self.actions:
            if self.iface is not None:
                self.iface.removePluginRasterMenu(MENU, action)
                self.iface.removeRasterToolBarIcon(action)
            action.deleteLater()
        self.actions = []
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None

    def show_about(self) -> None:
        from s4_core import __version__

        text = (
            f"<b>S4 {__version__}</b><br>Self-supervised segmentation of Sentinel-1/-2 image "
            "time series (Shenoy et al., Remote Sensing 2024).<br>"
            "Algorithms: Processing Toolbox &gt; S4.<br>"
            f"Plugin folder: {os.path.dirname(os.path.dirname(__file__))}"
        )
        QMessageBox.about(self.iface.mainWindow(), "S4", text)

"""Plugin object created by ``classFactory``: provider registration, menu and toolbar."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

from qgis.core import QgsApplication
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QPushButton

from .algorithms.base import ICON_PATH
from .compat import QAction
from .i18n import install_translator, remove_translator, tr
from .provider import S4Provider

if TYPE_CHECKING:
    from qgis.gui import QgisInterface

    from .dock import S4DockWidget

MENU = "&S4"


class S4Plugin:
    """QGIS plugin instance. ``iface`` is None under qgis_process: only ``initProcessing`` runs."""

    def __init__(self, iface: QgisInterface) -> None:
        self.iface = iface
        self.provider: Optional[S4Provider] = None
        self.actions: List[QAction] = []
        self.dialogs: dict = {}
        self.offer = None  # message bar item offering to install torch
        self.dock: Optional[S4DockWidget] = None
        self.dock_action: Optional[QAction] = None
        # The user's language (s4_qgis/i18n/s4_<lang>.qm) before any text is built; English
        # when there is no translation for it.
        install_translator()

    # Processing -------------------------------------------------------------------------
    def initProcessing(self) -> None:  # noqa: N802 (QGIS API name)
        """Register the S4 Processing provider (QGIS calls this before initGui)."""
        if self.provider is None:
            self.provider = S4Provider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    # GUI ------------------------------------------------------------------------------
    def initGui(self) -> None:  # noqa: N802
        """Add the Raster > S4 menu entries, their toolbar buttons and the S4 dock."""
        self.initProcessing()
        if self.iface is None:
            return
        about = QAction(QIcon(ICON_PATH), tr("About / diagnostics…"), self.iface.mainWindow())
        about.setObjectName("s4_about")
        about.setToolTip(tr("S4: segment Sentinel-1/-2 time series with few labels"))
        about.triggered.connect(self.show_about)
        self.iface.addPluginToRasterMenu(MENU, about)
        self.iface.addRasterToolBarIcon(about)
        self.actions.append(about)
        deps_action = QAction(tr("Dependencies…"), self.iface.mainWindow())
        deps_action.setObjectName("s4_dependencies")
        deps_action.setToolTip(tr("Install PyTorch and the engine's other Python packages"))
        deps_action.triggered.connect(self.show_dependencies)
        self.iface.addPluginToRasterMenu(MENU, deps_action)
        self.actions.append(deps_action)
        self.init_dock()
        self.offer_dependencies()

    def offer_dependencies(self) -> None:
        """When torch is missing, offer the dependency dialog in the message bar (non-modal)."""
        from .dependencies import torch_missing

        if self.iface is None or self.offer is not None or not torch_missing():
            return
        from qgis.core import Qgis

        bar = self.iface.messageBar()
        item = bar.createMessage(
            "S4", tr("needs PyTorch, which QGIS's Python does not have yet. Install it now?")
        )
        button = QPushButton(tr("Install dependencies…"), item)
        button.clicked.connect(self.show_dependencies)
        item.layout().addWidget(button)
        self.offer = bar.pushWidget(item, Qgis.MessageLevel.Warning)

    def init_dock(self) -> None:
        """The "S4" dock (right side) and its show/hide action in Raster > S4 and the toolbar."""
        from qgis.PyQt.QtCore import Qt

        from .dock import S4DockWidget

        self.dock = S4DockWidget(self.iface, self.iface.mainWindow())
        self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock_action = self.dock.toggleViewAction()
        self.dock_action.setIcon(QIcon(ICON_PATH))
        self.dock_action.setText(tr("S4 panel"))
        self.dock_action.setObjectName("s4_dock")
        self.iface.addPluginToRasterMenu(MENU, self.dock_action)
        self.iface.addRasterToolBarIcon(self.dock_action)

    def unload_dock(self) -> None:
        """Remove the dock from the main window and delete it."""
        if self.dock_action is not None and self.iface is not None:
            self.iface.removePluginRasterMenu(MENU, self.dock_action)
            self.iface.removeRasterToolBarIcon(self.dock_action)
        self.dock_action = None
        if self.dock is not None:
            self.dock.cleanup()
            if self.iface is not None:
                self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None

    def unload(self) -> None:
        """Remove everything initGui and initProcessing added (the plugin is unloaded)."""
        self.unload_dock()
        for action in self.actions:
            if self.iface is not None:
                self.iface.removePluginRasterMenu(MENU, action)
                self.iface.removeRasterToolBarIcon(action)
            action.deleteLater()
        self.actions = []
        for dialog in self.dialogs.values():
            dialog.close()
            dialog.deleteLater()
        self.dialogs = {}
        if self.offer is not None and self.iface is not None:
            try:
                self.iface.messageBar().popWidget(self.offer)
            except RuntimeError:  # already closed by the user
                pass
        self.offer = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        remove_translator()

    def show_about(self) -> None:
        """Open Raster > S4 > About / diagnostics: the diagnostics dialog."""
        from .dialogs.diagnostics_dialog import DiagnosticsDialog

        old = self.dialogs.pop("about", None)
        if old is not None:  # a fresh report each time
            old.close()
            old.deleteLater()
        dialog = DiagnosticsDialog(self.iface.mainWindow(), self.show_dependencies)
        self.dialogs["about"] = dialog
        dialog.show()

    def show_dependencies(self) -> None:
        """Raster > S4 > Dependencies… (one dialog: an install keeps running when it is hidden)."""
        from .dialogs.dependencies_dialog import DependenciesDialog

        dialog = self.dialogs.get("dependencies")
        if dialog is None:
            dialog = DependenciesDialog(self.iface.mainWindow())
            dialog.installed.connect(self._installed)
            self.dialogs["dependencies"] = dialog
        else:
            dialog.refresh_status()
        dialog.show()
        dialog.raise_()

    def _installed(self, restart_required: bool) -> None:
        from qgis.core import Qgis

        if self.offer is not None:
            try:
                self.iface.messageBar().popWidget(self.offer)
            except RuntimeError:
                pass
            self.offer = None
        if restart_required:
            text = tr("dependencies installed: restart QGIS to use them.")
        else:
            text = tr("dependencies installed: the algorithms are ready.")
        self.iface.messageBar().pushMessage("S4", text, Qgis.MessageLevel.Success, 10)

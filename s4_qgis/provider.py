"""The S4 Processing provider (id ``s4``)."""

from __future__ import annotations

import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from s4_core.types import override

from .algorithms import all_algorithms
from .i18n import tr

ICON_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "resources", "icon.svg")


class S4Provider(QgsProcessingProvider):
    """Registers the S4 algorithms in the Processing toolbox, model designer and qgis_process."""

    @override
    def id(self) -> str:  # noqa: A003 (QGIS API name)
        return "s4"

    @override
    def name(self) -> str:
        return "S4"

    @override
    def longName(self) -> str:  # noqa: N802
        from s4_core import __version__

        return tr("S4 Sentinel time-series segmentation {0}").format(__version__)

    @override
    def icon(self) -> QIcon:
        return QIcon(ICON_PATH)

    @override
    def svgIconPath(self) -> str:  # noqa: N802
        return ICON_PATH

    @override
    def loadAlgorithms(self) -> None:  # noqa: N802
        for algorithm in all_algorithms():
            self.addAlgorithm(algorithm)

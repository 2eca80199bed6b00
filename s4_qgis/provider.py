"""The S4 Processing provider (id ``s4``)."""

from __future__ import annotations

from qgis.core import QgsProcessingProvider

from s4_core.types import override

from .algorithms import all_algorithms
from .algorithms.base import S4Icon
from .i18n import tr


class S4Provider(S4Icon, QgsProcessingProvider):
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
    def loadAlgorithms(self) -> None:  # noqa: N802
        for algorithm in all_algorithms():
            self.addAlgorithm(algorithm)

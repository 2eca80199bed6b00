"""Processing algorithms of the S4 provider; each module holds one algorithm."""

from __future__ import annotations

from typing import List

from qgis.core import QgsProcessingAlgorithm


def all_algorithms() -> List[QgsProcessingAlgorithm]:
    """Fresh instances of every S4 algorithm, in toolbox order."""
    return []

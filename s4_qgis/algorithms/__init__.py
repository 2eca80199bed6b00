"""Processing algorithms of the S4 provider; each module holds one algorithm."""

from __future__ import annotations

from typing import List

from qgis.core import QgsProcessingAlgorithm


def all_algorithms() -> List[QgsProcessingAlgorithm]:
    """Fresh instances of every S4 algorithm, in toolbox order."""
    from .align import AlignTimeSeries
    from .evaluate import Evaluate
    from .export import ExportGeopackage
    from .fetch import FetchTimeSeries
    from .finetune import Finetune
    from .pretrain import Pretrain
    from .profiles import ClassProfiles
    from .segment import SegmentTimeSeries
    from .suggest import SuggestLabels

    return [
        FetchTimeSeries(),
        AlignTimeSeries(),
        Pretrain(),
        Finetune(),
        SegmentTimeSeries(),
        SuggestLabels(),
        ExportGeopackage(),
        Evaluate(),
        ClassProfiles(),
    ]

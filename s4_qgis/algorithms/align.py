"""``s4:align_time_series``: align Sentinel-1 and Sentinel-2 series in space and time."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputFile,
    QgsProcessingOutputNumber,
    QgsProcessingOutputRasterLayer,
    QgsProcessingParameterFolderDestination,
)

from s4_core.settings import ALIGN
from s4_core.types import override

from ..i18n import tr, tr_noop
from .base import GROUP_PREPARE, OUTPUT, S4Algorithm


class AlignTimeSeries(S4Algorithm):
    """``s4:align_time_series``: S1 and S2 series resampled onto one grid and paired in time."""

    NAME = "align_time_series"
    DISPLAY_NAME = tr_noop("Align Sentinel-1 and Sentinel-2 time series")
    GROUP = GROUP_PREPARE
    HELP = tr_noop(
        "Puts a Sentinel-1 and a Sentinel-2 time series on one grid and one time axis, as S4 "
        "pretraining does (paper section 5): both are resampled onto the Sentinel-2 grid, the "
        "shorter series is kept and each of its dates is paired with the nearest acquisition "
        "of the other sensor.<br><br>"
        "<b>Sentinel-1 / Sentinel-2 layers</b>: one GeoTIFF per acquisition (dates read from the "
        "files).<br><b>Largest date gap</b> (optional, days): drop pairs further apart.<br>"
        "<b>Largest cloud fraction</b> (optional, 0..1): drop Sentinel-2 dates whose SCL band "
        "flags more clouds.<br><br>"
        "Output folder: the aligned S1 and S2 stacks (multi-band GeoTIFFs, one band per date "
        "and band) and the date table (CSV)."
    )

    @override
    def initAlgorithm(self, config: Optional[Dict[str, Any]] = None) -> None:  # noqa: N802
        self.add_series_parameters()
        self.add_settings(ALIGN)
        self.addParameter(QgsProcessingParameterFolderDestination(OUTPUT, tr("Output folder")))
        self.addOutput(QgsProcessingOutputRasterLayer("S1_STACK", tr("Aligned Sentinel-1 stack")))
        self.addOutput(QgsProcessingOutputRasterLayer("S2_STACK", tr("Aligned Sentinel-2 stack")))
        self.addOutput(QgsProcessingOutputFile("DATES_CSV", tr("Date table (CSV)")))
        self.addOutput(QgsProcessingOutputNumber("FRAMES", tr("Aligned dates")))

    @override
    def process(
        self,
        parameters: Dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> Dict[str, Any]:
        s1, s2 = self.both_series(
            parameters,
            context,
            tr(
                "Alignment needs both series: give Sentinel-1 layers (SENTINEL1 or a folder in "
                "SENTINEL1_FOLDER) and Sentinel-2 layers (SENTINEL2 or SENTINEL2_FOLDER) of the same area"
            ),
        )
        out_dir = self.parameterAsString(parameters, OUTPUT, context)
        api = self.engine(feedback, needs_torch=False)  # alignment is numpy + GDAL
        result = self.run_engine(
            api.align,
            s1,
            s2,
            out_dir,
            feedback=feedback,
            settings=self.setting_values(parameters, context, ALIGN),
            log=False,
        )
        summary = result.get("summary") or {}
        feedback.pushInfo("Alignment: " + json.dumps(summary))
        for key in ("s1", "s2", "dates_csv"):
            if result.get(key):
                feedback.pushInfo(f"{key}: {result[key]}")
        return {
            OUTPUT: out_dir,
            "S1_STACK": result.get("s1"),
            "S2_STACK": result.get("s2"),
            "DATES_CSV": result.get("dates_csv"),
            "FRAMES": summary.get("frames"),
        }

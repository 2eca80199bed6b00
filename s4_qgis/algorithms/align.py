"""``s4:align_time_series``: align Sentinel-1 and Sentinel-2 series in space and time."""

from __future__ import annotations

import json
from typing import Any, Dict

from qgis.core import (
    QgsProcessingOutputFile,
    QgsProcessingOutputNumber,
    QgsProcessingOutputRasterLayer,
    QgsProcessingParameterFolderDestination,
)

from s4_core.settings import ALIGN
from s4_core.types import override

from ..i18n import tr, tr_noop
from .base import GROUP_PREPARE, OUTPUT, Output, Parameter, Run, S4Algorithm, Series, Settings


class AlignTimeSeries(S4Algorithm):
    """``s4:align_time_series``: S1 and S2 series resampled onto one grid and paired in time."""

    NAME = "align_time_series"
    DISPLAY_NAME = tr_noop("Align Sentinel-1 and Sentinel-2 time series")
    GROUP = GROUP_PREPARE
    OPERATION = ALIGN
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

    PARAMETERS = (
        Series(),
        Settings(),
        Parameter(QgsProcessingParameterFolderDestination, OUTPUT, tr_noop("Output folder")),
        Output(QgsProcessingOutputRasterLayer, "S1_STACK", tr_noop("Aligned Sentinel-1 stack")),
        Output(QgsProcessingOutputRasterLayer, "S2_STACK", tr_noop("Aligned Sentinel-2 stack")),
        Output(QgsProcessingOutputFile, "DATES_CSV", tr_noop("Date table (CSV)")),
        Output(QgsProcessingOutputNumber, "FRAMES", tr_noop("Aligned dates")),
    )

    @override
    def work(self, run: Run) -> Dict[str, Any]:
        s1, s2 = run.both_series(
            tr(
                "Alignment needs both series: give Sentinel-1 layers (SENTINEL1 or a folder in "
                "SENTINEL1_FOLDER) and Sentinel-2 layers (SENTINEL2 or SENTINEL2_FOLDER) of the same area"
            ),
        )
        out_dir = run.string(OUTPUT)
        api = run.engine(needs_torch=False)  # alignment is numpy + GDAL
        result = run.call(api.align, s1, s2, out_dir, log=False)
        summary = result.get("summary") or {}
        run.info("Alignment: " + json.dumps(summary))
        for key in ("s1", "s2", "dates_csv"):
            if result.get(key):
                run.info(f"{key}: {result[key]}")
        return {
            OUTPUT: out_dir,
            "S1_STACK": result.get("s1"),
            "S2_STACK": result.get("s2"),
            "DATES_CSV": result.get("dates_csv"),
            "FRAMES": summary.get("frames"),
        }

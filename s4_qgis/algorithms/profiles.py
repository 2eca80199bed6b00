"""``s4:class_profiles``: NDVI and VV/VH over time per class of a label layer; outliers."""

from __future__ import annotations

from typing import Any, Dict

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFileDestination,
)

from s4_core.settings import PROFILES
from s4_core.types import override

from ..i18n import tr, tr_noop
from .base import (
    GROUP_EVALUATE,
    OUTPUT,
    OUTPUT_FIGURE,
    Figure,
    Labels,
    Output,
    Parameter,
    Run,
    S4Algorithm,
    Series,
    Settings,
)


class ClassProfiles(S4Algorithm):
    """``s4:class_profiles``: per-class NDVI and VV/VH profiles and their outlier polygons."""

    NAME = "class_profiles"
    DISPLAY_NAME = tr_noop("Class profiles (NDVI, VV, VH over time)")
    GROUP = GROUP_EVALUATE
    OPERATION = PROFILES
    HELP = tr_noop(
        "Per class of a label layer, the mean and spread (one standard deviation over the "
        "class's pixels) over time of NDVI (Sentinel-2, or the red-edge NDRE without B04; clouds, shadows and no data masked "
        "with the SCL band: classes 0 1 3 8 9 10) and of VV / VH (Sentinel-1, dB). Shows "
        "whether the classes differ at all, and which polygons do not look like their class."
        "<br><br><b>Outliers</b>: every date is scaled by the usual within-class spread; a "
        "polygon is flagged when its profile is at most half as far from another class's mean "
        "as from the mean of the other polygons of its class, or further than THRESHOLD "
        "spreads from it.<br><br>"
        "Outputs: the numbers as CSV (kind, class, polygon, variable, date, mean, std, n: one "
        "row per class or polygon, variable and date; polygons numbered from 0 in the layer's "
        "order) and a figure (PNG, SVG or PDF)."
    )

    PARAMETERS = (
        Series(s2_first=True),
        Labels(tr_noop("Labelled polygons")),
        Settings(),
        Parameter(
            QgsProcessingParameterFileDestination,
            OUTPUT,
            tr_noop("Profiles (CSV)"),
            "CSV (*.csv)",
            optional=True,
        ),
        Figure(tr_noop("Profiles figure (PNG or SVG)")),
        Output(QgsProcessingOutputNumber, "OUTLIERS", tr_noop("Outlier polygons")),
    )

    @override
    def work(self, run: Run) -> Dict[str, Any]:
        s1, s2 = run.series()
        if not s2 and not s1:
            raise QgsProcessingException(
                tr(
                    "No input layers: give the Sentinel-2 (SENTINEL2) and/or Sentinel-1 (SENTINEL1) layers"
                )
            )
        out = run.output(OUTPUT, (".csv",), "CSV")
        figure = run.figure()
        api = run.engine(needs_torch=False)
        result = run.call(
            api.class_profiles,
            self._labels_path,
            self._class_field,
            s2=s2,
            s1=s1,
            out_csv=out,
            out_figure=figure,
            log=False,
        )
        for name, v in result["variables"].items():
            run.info(f"{name}: {len(v['dates'])} dates")
        outliers = result.get("outliers") or []
        run.info(f"{len(outliers)} outlier polygon(s)")
        for p in outliers:
            run.info(f"polygon {p['index']} ({p['class']}): {p['reason']}")
        return {OUTPUT: out, OUTPUT_FIGURE: figure, "OUTLIERS": len(outliers)}

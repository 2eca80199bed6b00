"""``s4:fetch_time_series``: download Sentinel-1/-2 time series of an extent from STAC."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, Optional

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputFile,
    QgsProcessingOutputFolder,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterString,
)

from s4_core.settings import FETCH
from s4_core.types import override

from ..compat import qgis_enum
from ..i18n import tr, tr_noop
from .base import (
    EXTENT,
    GROUP_PREPARE,
    OUTPUT,
    Choice,
    Output,
    Parameter,
    Run,
    S4Algorithm,
    Settings,
)

if TYPE_CHECKING:
    from qgis.core import QgsProject

DATE_ONLY = qgis_enum(
    "Qgis.ProcessingDateTimeParameterDataType.Date", "QgsProcessingParameterDateTime.Type.Date"
)
#: PROVIDER options: the engine's presets, then "the STAC_URL below".
PROVIDERS = ["earth-search", "planetary-computer", "cdse", ""]
PROVIDER_LABELS = [
    tr_noop("Earth Search (Element 84, AWS): Sentinel-2 L2A"),
    tr_noop("Microsoft Planetary Computer: Sentinel-2 L2A + Sentinel-1 RTC"),
    tr_noop("Copernicus Data Space (needs S4_CDSE_USER / S4_CDSE_PASSWORD)"),
    tr_noop("Another STAC API (STAC_URL)"),
]


class FetchTimeSeries(S4Algorithm):
    """``s4:fetch_time_series``: download Sentinel-1/-2 time series of an area from a STAC API."""

    NAME = "fetch_time_series"
    DISPLAY_NAME = tr_noop("Download Sentinel-1/-2 time series (STAC)")
    GROUP = GROUP_PREPARE
    OPERATION = FETCH
    HELP = tr_noop(
        "Searches a STAC catalog for the Sentinel-2 L2A and Sentinel-1 acquisitions over an "
        "extent between two dates and downloads only that window of each Cloud-Optimised "
        "GeoTIFF, reprojected onto one grid (the extent's UTM zone at the chosen resolution). "
        "The output folder gets S2/ and S1/ with one GeoTIFF per date (same-day tiles "
        "mosaicked), ready for the other S4 algorithms, and manifest.json (items, asset URLs, "
        "cloud fractions).<br><br>"
        "<b>Provider</b>: Earth Search (Sentinel-2 only), Planetary Computer (Sentinel-2 and "
        "Sentinel-1 RTC backscatter, converted to dB), Copernicus Data Space (account in the "
        "environment variables S4_CDSE_USER / S4_CDSE_PASSWORD) or any STAC API URL.<br>"
        "<b>Collections</b>: empty = the provider's default; 'none' skips that sensor.<br>"
        "<b>Largest cloud fraction</b> (optional, 0..1): Sentinel-2 dates with more clouds "
        "inside the extent (from the SCL band) are skipped before their bands are read.<br><br>"
        "Running it again into the same folder resumes: finished dates are skipped."
    )

    PARAMETERS = (
        Parameter(QgsProcessingParameterExtent, EXTENT, tr_noop("Extent (area to download)")),
        Parameter(QgsProcessingParameterDateTime, "START", tr_noop("First date"), DATE_ONLY),
        Parameter(QgsProcessingParameterDateTime, "END", tr_noop("Last date"), DATE_ONLY),
        Choice("PROVIDER", tr_noop("STAC provider"), tuple(PROVIDER_LABELS)),
        Parameter(QgsProcessingParameterString, "STAC_URL", tr_noop("STAC API URL"), optional=True),
        Parameter(
            QgsProcessingParameterString,
            "S2_COLLECTION",
            tr_noop("Sentinel-2 collection (empty: the provider's)"),
            optional=True,
        ),
        Parameter(
            QgsProcessingParameterString,
            "S1_COLLECTION",
            tr_noop("Sentinel-1 collection (empty: the provider's)"),
            optional=True,
        ),
        Settings(),
        Parameter(
            QgsProcessingParameterBoolean,
            "ADD_TO_PROJECT",
            tr_noop("Add the series to the project (one group per sensor)"),
            True,
        ),
        Parameter(QgsProcessingParameterFolderDestination, OUTPUT, tr_noop("Output folder")),
        Output(QgsProcessingOutputFolder, "S2_FOLDER", tr_noop("Sentinel-2 folder")),
        Output(QgsProcessingOutputFolder, "S1_FOLDER", tr_noop("Sentinel-1 folder")),
        Output(QgsProcessingOutputFile, "MANIFEST", tr_noop("Manifest (JSON)")),
        Output(QgsProcessingOutputNumber, "S2_DATES", tr_noop("Sentinel-2 dates")),
        Output(QgsProcessingOutputNumber, "S1_DATES", tr_noop("Sentinel-1 dates")),
    )

    @staticmethod
    def _collection(text: str) -> Optional[str]:
        """A collection parameter: "" the provider's default, "none" skips the sensor (None)."""
        text = (text or "").strip()
        return None if text.lower() == "none" else text

    @override
    def work(self, run: Run) -> Dict[str, Any]:
        run.engine(needs_torch=False)  # numpy + GDAL: torch is not needed
        parameters, context = run.parameters, run.context
        provider = PROVIDERS[self.parameterAsEnum(parameters, "PROVIDER", context)]
        url = (run.string("STAC_URL") or "").strip()
        stac = url or provider
        if not stac:
            raise QgsProcessingException(tr("Give the STAC_URL of the STAC API to search"))
        extent = self.parameterAsExtent(parameters, EXTENT, context)
        crs = self.parameterAsExtentCrs(parameters, EXTENT, context)
        if extent.isNull() or extent.isEmpty():
            raise QgsProcessingException(tr("EXTENT is empty: draw or choose the area to download"))
        if not crs.isValid():
            raise QgsProcessingException(tr("EXTENT has no valid CRS"))
        dates = []
        for name in ("START", "END"):
            value = self.parameterAsDateTime(parameters, name, context)
            if not value.isValid():
                raise QgsProcessingException(tr("{name} is not a valid date").format(name=name))
            dates.append(value.date().toString("yyyy-MM-dd"))
        out_dir = run.string(OUTPUT)
        from s4_core import stac as engine_stac

        summary = run.call(
            engine_stac.fetch_time_series,
            stac,
            out_dir,
            bbox=(extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()),
            bbox_crs=crs.authid() or crs.toWkt(),
            start=dates[0],
            end=dates[1],
            s2_collection=self._collection(run.string("S2_COLLECTION")),
            s1_collection=self._collection(run.string("S1_COLLECTION")),
        )
        run.info(
            f"Sentinel-2: {len(summary['s2_dates'])} dates "
            f"({len(summary['s2_cloudy_dates'])} cloudy skipped); Sentinel-1: "
            f"{len(summary['s1_dates'])} dates; {summary['bytes_read'] / 1e6:.1f} MB read"
        )
        self._to_load = []
        if self.parameterAsBool(parameters, "ADD_TO_PROJECT", context):
            self._to_load = [
                (label, folder)
                for label, folder in (
                    ("Sentinel-2", summary["s2_dir"]),
                    ("Sentinel-1", summary["s1_dir"]),
                )
                if folder
            ]
        return {
            OUTPUT: out_dir,
            "S2_FOLDER": summary["s2_dir"],
            "S1_FOLDER": summary["s1_dir"],
            "MANIFEST": summary["manifest"],
            "S2_DATES": len(summary["s2_dates"]),
            "S1_DATES": len(summary["s1_dates"]),
        }

    @override
    def postProcessAlgorithm(
        self, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> Dict[str, Any]:  # noqa: N802
        """Add the downloaded series to the project (main thread), one group per sensor.

        So the S4 dock and the other algorithms find them in the project.
        """
        project = context.project()
        for label, folder in getattr(self, "_to_load", []):
            if project is None or not os.path.isdir(folder):
                continue
            add_series_group(project, f"S4 {label} ({os.path.basename(os.path.dirname(folder))})",
                             folder)  # fmt: skip
        return {}


def add_series_group(project: QgsProject, name: str, folder: str) -> int:
    """Add every GeoTIFF of ``folder`` (date order) to a new top group ``name``.

    The group is a top layer-tree group of ``project``; returns the number of layers added.
    """
    from qgis.core import QgsRasterLayer

    files = sorted(f for f in os.listdir(folder) if f.lower().endswith((".tif", ".tiff")))
    if not files:
        return 0
    group = project.layerTreeRoot().insertGroup(0, name)
    for f in files:
        layer = QgsRasterLayer(os.path.join(folder, f), os.path.splitext(f)[0])
        if layer.isValid():
            project.addMapLayer(layer, False)
            group.addLayer(layer)
    group.setExpanded(False)
    return len(files)

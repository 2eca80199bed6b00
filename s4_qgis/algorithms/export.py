"""``s4:export_geopackage``: class raster -> styled class polygons in a GeoPackage."""

from __future__ import annotations

from typing import Any, Dict

from qgis.core import QgsProcessingOutputNumber

from s4_core.settings import EXPORT
from s4_core.types import override

from ..i18n import tr_noop
from ..styling import attach_postprocessor, style_vector_file
from .base import (
    GROUP_MAP,
    OUTPUT_VECTOR,
    ClassRaster,
    Output,
    Polygons,
    Run,
    S4Algorithm,
    Settings,
)


class ExportGeopackage(S4Algorithm):
    """``s4:export_geopackage``: a class raster as GeoPackage polygons."""

    NAME = "export_geopackage"
    DISPLAY_NAME = tr_noop("Export segmentation as GeoPackage")
    GROUP = GROUP_MAP
    OPERATION = EXPORT
    HELP = tr_noop(
        "Turns an S4 class raster (output of 'S4 segment time series') into polygons: one "
        "polygon per connected patch of a class, with fields class_id, class_name and "
        "area_m2, styled by class (the style is stored in the GeoPackage).<br><br>"
        "<b>Smallest polygon</b>: patches smaller than this area (m²) are dropped."
    )

    PARAMETERS = (
        ClassRaster(),
        Settings(),
        Polygons(OUTPUT_VECTOR, tr_noop("Class polygons (GeoPackage)")),
        Output(QgsProcessingOutputNumber, "N_POLYGONS", tr_noop("Polygons written")),
    )

    @override
    def work(self, run: Run) -> Dict[str, Any]:
        raster = run.class_raster()
        out = run.output(OUTPUT_VECTOR, (".gpkg",), "GeoPackage")
        assert out is not None  # OUTPUT_VECTOR is required
        api = run.engine(needs_torch=False)  # numpy + GDAL only
        result = run.call(api.export_vector, raster, out, log=False)
        classes = result["classes"]
        run.save_style(style_vector_file, result.get("path") or out, classes)
        attach_postprocessor(run.context, out, classes, "S4 class polygons")
        run.info(f"{result.get('n_polygons')} polygons written to {out}")
        return {OUTPUT_VECTOR: out, "N_POLYGONS": result.get("n_polygons")}

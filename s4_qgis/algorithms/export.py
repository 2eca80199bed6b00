"""``s4:export_geopackage``: class raster -> styled class polygons in a GeoPackage."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterRasterLayer,
)

from s4_core.settings import EXPORT

from ..i18n import tr, tr_noop
from ..layers import file_path
from ..styling import attach_postprocessor, style_vector_file
from .base import GROUP_MAP, INPUT, OUTPUT_VECTOR, S4Algorithm


class ExportGeopackage(S4Algorithm):
    NAME = "export_geopackage"
    DISPLAY_NAME = tr_noop("Export segmentation as GeoPackage")
    GROUP = GROUP_MAP
    HELP = tr_noop(
        "Turns an S4 class raster (output of 'S4 segment time series') into polygons: one "
        "polygon per connected patch of a class, with fields class_id, class_name and "
        "area_m2, styled by class (the style is stored in the GeoPackage).<br><br>"
        "<b>Smallest polygon</b>: patches smaller than this area (m²) are dropped."
    )

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer(INPUT, tr("S4 class raster")))
        self.add_settings(EXPORT)
        self.add_polygon_destination(OUTPUT_VECTOR, tr("Class polygons (GeoPackage)"))
        self.addOutput(QgsProcessingOutputNumber("N_POLYGONS", tr("Polygons written")))

    def process(self, parameters, context, feedback):
        layer = self.parameterAsRasterLayer(parameters, INPUT, context)
        if layer is None:
            raise QgsProcessingException(tr("INPUT: choose an S4 class raster"))
        raster = file_path(layer)
        out = self.output_file(parameters, OUTPUT_VECTOR, context, (".gpkg",), "GeoPackage")
        api = self.engine(feedback, needs_torch=False)  # numpy + GDAL only
        result = self.run_engine(
            api.export_vector,
            raster,
            out,
            feedback=feedback,
            settings=self.setting_values(parameters, context, EXPORT),
            log=False,
        )
        classes = result["classes"]
        style_vector_file(result.get("path") or out, classes)
        attach_postprocessor(context, out, classes, "S4 class polygons")
        feedback.pushInfo(f"{result.get('n_polygons')} polygons written to {out}")
        return {OUTPUT_VECTOR: out, "N_POLYGONS": result.get("n_polygons")}

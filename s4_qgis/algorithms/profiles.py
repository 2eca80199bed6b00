"""``s4:class_profiles``: NDVI and VV/VH over time per class of a label layer; outliers."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterVectorLayer,
)

from s4_core.settings import PROFILES

from ..compat import SOURCE_POLYGON
from ..i18n import tr, tr_noop
from ..layers import feature_count_with_geometry, vector_for_engine
from .base import GROUP_EVALUATE, S4Algorithm
from .finetune import check_class_field
from .segment import check_output_suffix

FIGURE_FILTER = "PNG (*.png);;SVG (*.svg);;PDF (*.pdf)"


class ClassProfiles(S4Algorithm):
    NAME = "class_profiles"
    DISPLAY_NAME = tr_noop("Class profiles (NDVI, VV, VH over time)")
    GROUP = GROUP_EVALUATE
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

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        self.add_series_parameter("SENTINEL2", tr("Sentinel-2 layers (one per date)"))
        self.add_series_parameter("SENTINEL1", tr("Sentinel-1 layers (one per date)"))
        self.addParameter(
            QgsProcessingParameterVectorLayer("LABELS", tr("Labelled polygons"), [SOURCE_POLYGON])
        )
        self.addParameter(
            QgsProcessingParameterField(
                "CLASS_FIELD", tr("Class field"), parentLayerParameterName="LABELS"
            )
        )
        self.add_settings(PROFILES)
        self.addParameter(
            QgsProcessingParameterFileDestination(
                "OUTPUT", tr("Profiles (CSV)"), "CSV (*.csv)", optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterFileDestination(
                "OUTPUT_FIGURE", tr("Profiles figure (PNG or SVG)"), FIGURE_FILTER, optional=True
            )
        )
        self.addOutput(QgsProcessingOutputNumber("OUTLIERS", tr("Outlier polygons")))

    def prepare_inputs(self, parameters, context, feedback) -> None:
        labels = self.parameterAsVectorLayer(parameters, "LABELS", context)
        if labels is None or not labels.isValid():
            raise QgsProcessingException(
                tr("LABELS: choose a polygon layer with labelled polygons")
            )
        class_field = self.parameterAsString(parameters, "CLASS_FIELD", context)
        check_class_field(labels, class_field)
        if feature_count_with_geometry(labels) == 0:
            raise QgsProcessingException(
                tr("LABELS: layer '{0}' has no polygons").format(labels.name())
            )
        try:
            self._labels_path = vector_for_engine(labels, self.temp_dir())
        except OSError as error:
            raise QgsProcessingException(tr("LABELS: {error}").format(error=error)) from None
        self._class_field = class_field

    def process(self, parameters, context, feedback):
        self.check_prepared()
        try:
            s2 = self.series_files(parameters, "SENTINEL2", context)
            s1 = self.series_files(parameters, "SENTINEL1", context)
            if not s2 and not s1:
                raise QgsProcessingException(
                    tr(
                        "No input layers: give the Sentinel-2 (SENTINEL2) and/or Sentinel-1 (SENTINEL1) layers"
                    )
                )
            out = self.parameterAsFileOutput(parameters, "OUTPUT", context) or None
            check_output_suffix(out, (".csv",), "OUTPUT", "CSV")
            figure = self.parameterAsFileOutput(parameters, "OUTPUT_FIGURE", context) or None
            check_output_suffix(figure, (".png", ".svg", ".pdf"), "OUTPUT_FIGURE", "figure")
            api = self.engine(feedback, needs_torch=False)
            progress, cancel, log = self.callbacks(feedback)
            result = self.call(
                api.class_profiles,
                self._labels_path,
                self._class_field,
                s2=self.sources(s2),
                s1=self.sources(s1),
                out_csv=out,
                out_figure=figure,
                feedback=feedback,
                progress=progress,
                cancel=cancel,
                **self.setting_values(parameters, context, PROFILES),
            )
        finally:
            self.cleanup_temp()
        for name, v in result["variables"].items():
            feedback.pushInfo(f"{name}: {len(v['dates'])} dates")
        outliers = result.get("outliers") or []
        feedback.pushInfo(f"{len(outliers)} outlier polygon(s)")
        for p in outliers:
            feedback.pushInfo(f"polygon {p['index']} ({p['class']}): {p['reason']}")
        return {"OUTPUT": out, "OUTPUT_FIGURE": figure, "OUTLIERS": len(outliers)}

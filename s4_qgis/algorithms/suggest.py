"""``s4:suggest_labels``: where to label next (squares where the model is least sure)."""

from __future__ import annotations

import os

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFile,
    QgsProcessingParameterVectorDestination,
    QgsProcessingParameterVectorLayer,
)

from s4_core.settings import SUGGEST

from ..compat import SOURCE_POLYGON
from ..i18n import tr, tr_noop
from ..layers import feature_count_with_geometry, vector_for_engine
from .base import GROUP_MAP, S4Algorithm
from .segment import CHECKPOINT_FILTER, check_output_suffix


class SuggestLabels(S4Algorithm):
    NAME = "suggest_labels"
    DISPLAY_NAME = tr_noop("Where to label next (least confident squares)")
    GROUP = GROUP_MAP
    HELP = tr_noop(
        "Proposes small squares (5 x 5 pixels, like an analyst's label squares) where a "
        "fine-tuned S4 model is least sure of the class, spread over the area and over the "
        "predicted classes, away from the existing labels. Label them (copy a square into the "
        "label layer with its class) and fine-tune again: a few well-placed squares teach the "
        "model more than squares where it is already right.<br><br>"
        "<b>Labels</b> (optional): the polygons already labelled; no square touches them.<br>"
        "Squares lie inside one predicted class (not across field borders). The same inputs "
        "and SEED give the same squares.<br><br>"
        "Output: a polygon layer with fields rank (1 = least sure), uncertainty, predicted, "
        "confidence and an empty label field."
    )

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        self.addParameter(
            QgsProcessingParameterFile(
                "MODEL", tr("Fine-tuned S4 model"), fileFilter=CHECKPOINT_FILTER
            )
        )
        self.add_series_parameter("SENTINEL2", tr("Sentinel-2 layers (one per date)"))
        self.add_series_parameter("SENTINEL1", tr("Sentinel-1 layers (one per date)"))
        self.addParameter(
            QgsProcessingParameterVectorLayer(
                "LABELS", tr("Existing labels (avoided)"), [SOURCE_POLYGON], optional=True
            )
        )
        self.addParameter(QgsProcessingParameterExtent("EXTENT", tr("Extent"), optional=True))
        self.add_settings(SUGGEST)
        self.addParameter(
            QgsProcessingParameterVectorDestination(
                "OUTPUT", tr("Squares to label next"), SOURCE_POLYGON
            )
        )
        self.addOutput(QgsProcessingOutputNumber("N", tr("Squares proposed")))

    def prepare_inputs(self, parameters, context, feedback) -> None:
        self._labels_path = None
        if parameters.get("LABELS") in (None, ""):
            return
        labels = self.parameterAsVectorLayer(parameters, "LABELS", context)
        if labels is None or not labels.isValid():
            raise QgsProcessingException(tr("LABELS: not a valid polygon layer"))
        if feature_count_with_geometry(labels) == 0:
            return
        try:
            self._labels_path = vector_for_engine(labels, self.temp_dir())
        except OSError as error:
            raise QgsProcessingException(tr("LABELS: {error}").format(error=error)) from None

    def process(self, parameters, context, feedback):
        self.check_prepared()
        try:
            return self._process(parameters, context, feedback)
        finally:
            self.cleanup_temp()

    def _process(self, parameters, context, feedback):
        model = self.parameterAsFile(parameters, "MODEL", context)
        if not model or not os.path.isfile(model):
            raise QgsProcessingException(
                tr("MODEL: checkpoint file not found: {0}").format(model or "(none given)")
            )
        s2 = self.series_files(parameters, "SENTINEL2", context)
        s1 = self.series_files(parameters, "SENTINEL1", context)
        if not s2 and not s1:
            raise QgsProcessingException(
                tr("No input layers: give the layers of the modality the model was fine-tuned for")
            )
        bounds = bounds_crs = None
        if parameters.get("EXTENT") not in (None, ""):
            rect = self.parameterAsExtent(parameters, "EXTENT", context)
            if not rect.isNull() and not rect.isEmpty():
                crs = self.parameterAsExtentCrs(parameters, "EXTENT", context)
                bounds = (rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum())
                if crs.isValid():
                    bounds_crs = crs.authid() or crs.toWkt()
        out = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        check_output_suffix(out, (".gpkg",), "OUTPUT", "GeoPackage")
        device = self.device(parameters, context)
        api = self.engine(feedback)
        self.log_device(api, device, feedback)
        progress, cancel, log = self.callbacks(feedback)
        result = self.call(
            api.suggest_labels,
            model,
            out,
            s1=self.sources(s1),
            s2=self.sources(s2),
            labels=self._labels_path,
            bounds=bounds,
            bounds_crs=bounds_crs,
            feedback=feedback,
            progress=progress,
            cancel=cancel,
            log=log,
            **self.setting_values(parameters, context, SUGGEST),
        )
        feedback.pushInfo(f"{result['n']} squares written to {out}")
        return {"OUTPUT": out, "N": result["n"]}

"""``s4:segment_time_series``: map a scene with a fine-tuned S4 model (one modality)."""

from __future__ import annotations

import os

from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFile,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterVectorDestination,
)

from s4_core.settings import SEGMENT

from ..compat import SOURCE_POLYGON
from ..i18n import tr, tr_noop
from ..styling import (
    attach_postprocessor,
    style_confidence_file,
    style_raster_file,
    style_vector_file,
)
from .base import (
    EXTENT,
    GROUP_MAP,
    MODEL,
    OUTPUT,
    OUTPUT_VECTOR,
    SENTINEL1,
    SENTINEL2,
    S4Algorithm,
)

CHECKPOINT_FILTER = "S4 model (*.pt *.onnx)"
OUTPUT_CONFIDENCE = "OUTPUT_CONFIDENCE"


def check_output_suffix(path: str, suffixes, parameter: str, kind: str) -> None:
    if path and not path.lower().endswith(tuple(suffixes)):
        raise QgsProcessingException(
            tr("{parameter} must be a {kind} file ({0}), not {path}").format(
                ", ".join(suffixes), parameter=parameter, kind=kind, path=path
            )
        )


class SegmentTimeSeries(S4Algorithm):
    NAME = "segment_time_series"
    DISPLAY_NAME = tr_noop("S4 segment time series")
    GROUP = GROUP_MAP
    HELP = tr_noop(
        "Maps crop / land-cover classes over a scene from a Sentinel-2 or a Sentinel-1 image "
        "time series with a fine-tuned S4 model.<br><br>"
        "<b>Sentinel-2 / Sentinel-1 layers</b>: one GeoTIFF per acquisition; the acquisition "
        "date and the sensor are read from each file (tag ACQUISITION_DATETIME or YYYYMMDD in "
        "the name, band names). Give the series of the modality the model was fine-tuned for "
        "(the model runs on ONE modality).<br>"
        "<b>Model</b>: a fine-tuned checkpoint (.pt) from 'S4 fine-tune on labelled polygons' "
        "(needs PyTorch), or its ONNX export (.onnx, from 's4 export-onnx'), which needs only "
        "ONNX Runtime.<br>"
        "<b>Extent</b>: optional part of the scene to map (default: the whole series).<br>"
        "<b>Tile size / overlap</b>: the scene is predicted in overlapping tiles; 0 / -1 = "
        "automatic (overlap twice the network's receptive radius, so results equal one "
        "whole-scene pass; tiles as large as ~1 GB of activations allows); reduce the tile size "
        "when the GPU runs out of memory.<br><br>"
        "Output: a class raster (GeoTIFF, 255 = nodata) styled with class names and colours "
        "(style saved beside it as .qml) and, optionally, class polygons in a GeoPackage "
        "(fields class_id, class_name, area_m2; style stored in the GeoPackage) and the "
        "confidence (band 1: the largest class probability, band 2: its margin over the second "
        "class; styled red = unsure to green = sure)."
    )

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        self.add_series_parameter(SENTINEL2, tr("Sentinel-2 layers (one per date)"))
        self.add_series_parameter(SENTINEL1, tr("Sentinel-1 layers (one per date)"))
        self.addParameter(
            QgsProcessingParameterFile(
                MODEL, tr("Fine-tuned S4 model"), fileFilter=CHECKPOINT_FILTER
            )
        )
        self.addParameter(QgsProcessingParameterExtent(EXTENT, tr("Extent to map"), optional=True))
        self.add_settings(SEGMENT)
        self.addParameter(QgsProcessingParameterRasterDestination(OUTPUT, tr("Class raster")))
        vector = QgsProcessingParameterVectorDestination(
            OUTPUT_VECTOR,
            tr("Class polygons (GeoPackage)"),
            SOURCE_POLYGON,
            optional=True,
            createByDefault=False,
        )
        self.addParameter(vector)
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                OUTPUT_CONFIDENCE,
                tr("Confidence (largest class probability, margin)"),
                optional=True,
                createByDefault=False,
            )
        )

    def process(self, parameters, context, feedback):
        s2 = self.series_files(parameters, SENTINEL2, context)
        s1 = self.series_files(parameters, SENTINEL1, context)
        if not s2 and not s1:
            raise QgsProcessingException(
                tr(
                    "No input layers: give the Sentinel-2 (SENTINEL2) or Sentinel-1 (SENTINEL1) "
                    "layers of the modality the model was fine-tuned for"
                )
            )
        model = self.parameterAsFile(parameters, MODEL, context)
        if not model or not os.path.isfile(model):
            raise QgsProcessingException(
                tr(
                    "MODEL: model file not found: {0}; choose the .pt file written by 'S4 fine-tune on labelled polygons' or its .onnx export"
                ).format(model or "(none given)")
            )
        bounds = bounds_crs = None
        if parameters.get(EXTENT) not in (None, ""):
            rect = self.parameterAsExtent(parameters, EXTENT, context)
            if not rect.isNull() and not rect.isEmpty():
                crs = self.parameterAsExtentCrs(parameters, EXTENT, context)
                bounds = (rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum())
                if crs.isValid():
                    bounds_crs = crs.authid() or crs.toWkt()
        out = self.parameterAsOutputLayer(parameters, OUTPUT, context)
        check_output_suffix(out, (".tif", ".tiff"), OUTPUT, "GeoTIFF")
        vector_out = self.parameterAsOutputLayer(parameters, OUTPUT_VECTOR, context) or None
        check_output_suffix(vector_out, (".gpkg",), OUTPUT_VECTOR, "GeoPackage")
        conf_out = self.parameterAsOutputLayer(parameters, OUTPUT_CONFIDENCE, context) or None
        check_output_suffix(conf_out, (".tif", ".tiff"), OUTPUT_CONFIDENCE, "GeoTIFF")
        settings = self.setting_values(parameters, context, SEGMENT)
        onnx = model.lower().endswith(".onnx")
        api = self.engine(feedback, needs_torch=not onnx, needs_onnx=onnx)
        if onnx:
            feedback.pushInfo(tr("Device: cpu (ONNX Runtime)"))
        else:
            self.log_device(api, settings["device"], feedback)
        progress, cancel, log = self.callbacks(feedback)
        result = self.call(
            api.segment,
            model,
            out,
            s1=self.sources(s1),
            s2=self.sources(s2),
            bounds=bounds,
            bounds_crs=bounds_crs,
            vector_out=vector_out,
            feedback=feedback,
            confidence_out=conf_out,
            progress=progress,
            cancel=cancel,
            log=log,
            **settings,
        )
        classes = result["classes"]
        counts = result.get("pixel_counts") or {}
        feedback.pushInfo(
            f"Classes: {', '.join(c['name'] for c in classes)}; "
            f"ran on {result.get('device')} in {result.get('seconds')} s"
        )
        if counts:
            feedback.pushInfo(
                "Pixels per class: " + ", ".join(f"{k}: {v}" for k, v in counts.items())
            )

        qml = style_raster_file(out, classes)
        if qml:
            feedback.pushInfo(f"Style saved as {qml}")
        attach_postprocessor(context, out, classes, "S4 classes")
        outputs = {OUTPUT: out, OUTPUT_VECTOR: None, OUTPUT_CONFIDENCE: None}
        if conf_out:
            style_confidence_file(conf_out)
            attach_postprocessor(context, conf_out, None, "S4 confidence")
            outputs[OUTPUT_CONFIDENCE] = conf_out
        if vector_out:
            style_vector_file(result.get("vector") or vector_out, classes)
            attach_postprocessor(context, vector_out, classes, "S4 class polygons")
            outputs[OUTPUT_VECTOR] = vector_out
            if result.get("n_polygons") is not None:
                feedback.pushInfo(f"{result['n_polygons']} polygons written to {vector_out}")
        return outputs

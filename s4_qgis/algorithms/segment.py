"""``s4:segment_time_series``: map a scene with a fine-tuned S4 model (one modality)."""

from __future__ import annotations

from typing import Any, Dict

from qgis.core import QgsProcessingParameterRasterDestination

from s4_core.settings import SEGMENT
from s4_core.types import override

from ..i18n import tr_noop
from ..styling import (
    attach_postprocessor,
    style_confidence_file,
    style_raster_file,
    style_vector_file,
)
from .base import (
    GROUP_MAP,
    OUTPUT,
    OUTPUT_CONFIDENCE,
    OUTPUT_PROBABILITIES,
    OUTPUT_VECTOR,
    Extent,
    ModelFile,
    Parameter,
    Polygons,
    Run,
    S4Algorithm,
    Series,
    Settings,
)


class SegmentTimeSeries(S4Algorithm):
    """``s4:segment_time_series``: a class map of a scene with a fine-tuned model."""

    NAME = "segment_time_series"
    DISPLAY_NAME = tr_noop("S4 segment time series")
    GROUP = GROUP_MAP
    OPERATION = SEGMENT
    HELP = tr_noop(
        "Maps crop / land-cover classes over a scene from a Sentinel-2 or a Sentinel-1 image "
        "time series with a fine-tuned S4 model.<br><br>"
        "<b>Sentinel-2 / Sentinel-1 layers</b>: one GeoTIFF per acquisition; the acquisition "
        "date and the sensor are read from each file (tag ACQUISITION_DATETIME or YYYYMMDD in "
        "the name, band names). Give the series of the modality the model was fine-tuned for "
        "(one sensor, or both for a model fine-tuned for both).<br>"
        "<b>Model</b>: a fine-tuned checkpoint (.pt) from 'S4 fine-tune on labelled polygons' "
        "(needs PyTorch), or its ONNX export (.onnx, from 's4 export-onnx'), which needs only "
        "ONNX Runtime.<br>"
        "<b>Extent</b>: optional part of the scene to map (default: the whole series).<br>"
        "<b>Tile size / overlap</b>: the scene is predicted in overlapping tiles; 0 / -1 = "
        "automatic (overlap = how far each pixel's inputs reach through the network, so results "
        "equal one whole-scene pass; tiles as large as ~2 GB of activations allows); reduce the "
        "tile size when the GPU runs out of memory.<br><br>"
        "Output: a class raster (GeoTIFF, 255 = nodata) styled with class names and colours "
        "(style saved beside it as .qml) and, optionally, class polygons in a GeoPackage "
        "(fields class_id, class_name, area_m2; style stored in the GeoPackage) and the "
        "confidence (band 1: the largest class probability, band 2: its margin over the second "
        "class; styled red = unsure to green = sure) and the probability of each class (one "
        "float32 band per class, named after it)."
    )

    PARAMETERS = (
        Series(s2_first=True),
        ModelFile(tr_noop("Fine-tuned S4 model")),
        Extent(tr_noop("Extent to map")),
        Settings(),
        Parameter(QgsProcessingParameterRasterDestination, OUTPUT, tr_noop("Class raster")),
        Polygons(OUTPUT_VECTOR, tr_noop("Class polygons (GeoPackage)"), True),
        Parameter(
            QgsProcessingParameterRasterDestination,
            OUTPUT_CONFIDENCE,
            tr_noop("Confidence (largest class probability, margin)"),
            optional=True,
            createByDefault=False,
        ),
        Parameter(
            QgsProcessingParameterRasterDestination,
            OUTPUT_PROBABILITIES,
            tr_noop("Class probabilities (one band per class)"),
            optional=True,
            createByDefault=False,
        ),
    )

    @override
    def work(self, run: Run) -> Dict[str, Any]:
        scene = run.scene()
        model = run.model()
        out = run.output(OUTPUT, (".tif", ".tiff"), "GeoTIFF")
        vector_out = run.output(OUTPUT_VECTOR, (".gpkg",), "GeoPackage")
        conf_out = run.output(OUTPUT_CONFIDENCE, (".tif", ".tiff"), "GeoTIFF")
        prob_out = run.output(OUTPUT_PROBABILITIES, (".tif", ".tiff"), "GeoTIFF")
        onnx = model.lower().endswith(".onnx")
        api = run.engine(needs_torch=not onnx, needs_onnx=onnx)
        result = run.call(
            api.segment,
            model,
            out,
            vector_out=vector_out,
            confidence_out=conf_out,
            probabilities_out=prob_out,
            **scene,
        )
        classes = result["classes"]
        counts = result.get("pixel_counts") or {}
        run.info(
            f"Classes: {', '.join(c['name'] for c in classes)}; "
            f"ran on {result.get('device')} in {result.get('seconds')} s"
        )
        if counts:
            run.info("Pixels per class: " + ", ".join(f"{k}: {v}" for k, v in counts.items()))

        assert out is not None  # OUTPUT is required
        qml = run.save_style(style_raster_file, out, classes)
        if qml:
            run.info(f"Style saved as {qml}")
        attach_postprocessor(run.context, out, classes, "S4 classes")
        outputs = {
            OUTPUT: out,
            OUTPUT_VECTOR: None,
            OUTPUT_CONFIDENCE: None,
            OUTPUT_PROBABILITIES: None,
        }
        if conf_out:
            run.save_style(style_confidence_file, conf_out)
            attach_postprocessor(run.context, conf_out, None, "S4 confidence")
            outputs[OUTPUT_CONFIDENCE] = conf_out
        if prob_out:
            attach_postprocessor(run.context, prob_out, None, "S4 class probabilities", style=False)
            outputs[OUTPUT_PROBABILITIES] = prob_out
        if vector_out:
            run.save_style(style_vector_file, result.get("vector") or vector_out, classes)
            attach_postprocessor(run.context, vector_out, classes, "S4 class polygons")
            outputs[OUTPUT_VECTOR] = vector_out
            if result.get("n_polygons") is not None:
                run.info(f"{result['n_polygons']} polygons written to {vector_out}")
        return outputs

"""``s4:evaluate``: scores of a class raster against reference polygons or a reference raster."""

from __future__ import annotations

import os
import re
from typing import Any, Dict, List, Optional, Tuple

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMapLayer,
    QgsRasterLayer,
    QgsVectorLayer,
)

from s4_core.settings import EVALUATE
from s4_core.types import override
from s4_core.validate import HTML

from ..compat import SOURCE_POLYGON, SOURCE_RASTER, SOURCE_VECTOR, WKB_NO_GEOMETRY, field_type
from ..i18n import tr, tr_noop
from ..layers import file_path, name_copies
from .base import (
    GROUP_EVALUATE,
    OUTPUT_FIGURE,
    ClassRaster,
    Figure,
    Output,
    Parameter,
    Run,
    S4Algorithm,
    check_class_field,
)


def predicted_column(name: str, taken: List[str]) -> str:
    """Field name of the confusion-matrix column for predicted class ``name``."""
    base = "pred_" + (re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_") or "class")
    column, n = base, 2
    while column in taken:
        column, n = f"{base}_{n}", n + 1
    return column


def _per_class(values: object, names: List[str]) -> List[Optional[float]]:
    if isinstance(values, dict):
        return [values.get(n) for n in names]
    if isinstance(values, (list, tuple)):
        return list(values) + [None] * (len(names) - len(values))
    return [None] * len(names)


def score_table(scores: Dict[str, Any]) -> Tuple[QgsFields, List[List[Any]]]:
    """Fields and rows (class_name, iou, support, one count per predicted class) of a result."""
    names = [
        str(n) for n in scores.get("class_names") or list((scores.get("per_class") or {}).keys())
    ]
    iou = _per_class(scores.get("per_class") or scores.get("iou"), names)
    confusion = (
        scores.get("confusion")
        or scores.get("confusion_matrix")
        or [[0] * len(names) for _ in names]
    )
    support = _per_class(scores.get("support"), names)
    fields = QgsFields()
    fields.append(QgsField("class_name", field_type("string")))
    fields.append(QgsField("iou", field_type("double")))
    fields.append(QgsField("support", field_type("longlong")))
    columns: List[str] = ["class_name", "iou", "support"]
    for name in names:
        column = predicted_column(name, columns)
        columns.append(column)
        fields.append(QgsField(column, field_type("longlong")))
    rows = []
    for i, name in enumerate(names):
        row_counts = [int(v) for v in confusion[i]] if i < len(confusion) else [0] * len(names)
        score, count = iou[i], support[i]
        total = int(count) if count is not None else sum(row_counts)
        rows.append([name, None if score is None else float(score), total, *row_counts])
    return fields, rows


class Evaluate(S4Algorithm):
    """``s4:evaluate``: scores of a class raster against reference polygons or a class raster."""

    NAME = "evaluate"
    DISPLAY_NAME = tr_noop("Evaluate segmentation")
    GROUP = GROUP_EVALUATE
    OPERATION = EVALUATE
    HELP = tr_noop(
        "Compares an S4 class raster with reference data: overall accuracy (OA), mean "
        "intersection over union (mIoU), IoU per class and the confusion matrix.<br><br>"
        "<b>Class raster</b>: output of 'S4 segment time series'.<br>"
        "<b>Reference</b>: polygons with a class-name field (give <b>Class field</b>) or a class "
        "raster; classes are matched by name.<br><br>"
        "Outputs: OA and mIoU, and a table with one row per reference class: class_name, iou, "
        "support (reference pixels), then the confusion-matrix counts, one column per predicted "
        "class (pred_&lt;class&gt;); the confusion matrix as a figure (PNG or SVG; optional) "
        "and an HTML report (scores, per-class IoU, the matrix with its figure) that QGIS "
        "shows in the results viewer."
    )

    PARAMETERS = (
        ClassRaster(),
        Parameter(
            QgsProcessingParameterMapLayer,
            "REFERENCE",
            tr_noop("Reference (polygons or class raster)"),
            types=[SOURCE_POLYGON, SOURCE_RASTER],
        ),
        Parameter(
            QgsProcessingParameterField,
            "CLASS_FIELD",
            tr_noop("Class field of the reference polygons"),
            parentLayerParameterName="REFERENCE",
            optional=True,
        ),
        Parameter(
            QgsProcessingParameterFeatureSink,
            "OUTPUT",
            tr_noop("Per-class IoU and confusion matrix"),
            SOURCE_VECTOR,
        ),
        Figure(tr_noop("Confusion matrix figure (PNG or SVG)"), False),
        Parameter(
            QgsProcessingParameterFileDestination,
            "OUTPUT_HTML",
            tr_noop("Evaluation report (HTML)"),
            "HTML (*.html)",
            optional=True,
        ),
        Output(QgsProcessingOutputNumber, "OA", tr_noop("Overall accuracy")),
        Output(QgsProcessingOutputNumber, "MIOU", tr_noop("Mean IoU")),
    )

    @override
    def read_layers(self, run: Run) -> None:
        """Main thread: the reference as a file the engine reads (edited layers are copied)."""
        reference = self.parameterAsLayer(run.parameters, "REFERENCE", run.context)
        if reference is None:
            raise QgsProcessingException(
                tr("REFERENCE: choose reference polygons or a class raster")
            )
        class_field = run.string("CLASS_FIELD") or None
        if isinstance(reference, QgsVectorLayer):
            if not class_field:
                raise QgsProcessingException(
                    tr(
                        "CLASS_FIELD: REFERENCE '{0}' is a vector layer: choose the field that holds its class names"
                    ).format(reference.name())
                )
            check_class_field(reference, class_field, layer_parameter="REFERENCE")
            self._truth = self.layer_file(reference, "REFERENCE")
        elif isinstance(reference, QgsRasterLayer):
            self._truth = file_path(reference)
            class_field = None
        else:
            raise QgsProcessingException(tr("REFERENCE must be a vector or a raster layer"))
        self._class_field = class_field

    def table_path(self, parameters: Dict[str, Any], context: QgsProcessingContext) -> str:
        """The file OUTPUT asks for; "" for a memory or database destination."""
        return self.file_of(self.parameterAsOutputLayer(parameters, "OUTPUT", context) or "")

    @staticmethod
    def file_of(dest: str) -> str:
        """The file of a vector destination (the part before any ``|layername=``).

        "" for a memory or database destination. QGIS may add an ending to the name asked for
        (a table asked as "scores.json" is written as "scores.json.geojson"): the destination
        that ``parameterAsSink`` returns names the file written.
        """
        if dest.startswith("ogr:"):
            return ""
        path = dest.split("|", 1)[0]
        return path if path and "://" not in path and not path.startswith("memory:") else ""

    @staticmethod
    def report_not_scored(run: Run, scores: Dict[str, Any]) -> None:
        """Warn of the reference pixels left out of the scores (as ``s4 evaluate`` says)."""
        from s4_core.evaluate import unmatched_text

        if scores.get("unmatched"):
            run.warning(
                tr(
                    "reference classes the model does not know (not scored): {0}; the model's classes are {1}: give the reference those names (or the model's class values) to score them"
                ).format(
                    unmatched_text(scores["unmatched"]), ", ".join(scores.get("class_names") or [])
                )
            )
        if scores.get("unpredicted_pixels"):
            run.warning(
                tr("{0} reference pixel(s) left as nodata by the prediction (not scored)").format(
                    scores["unpredicted_pixels"]
                )
            )

    @override
    def work(self, run: Run) -> Dict[str, Any]:
        pred = run.class_raster()
        api = run.engine(needs_torch=False)  # numpy + GDAL only
        table = self.table_path(run.parameters, run.context)
        figure = run.figure()
        report = run.output("OUTPUT_HTML", HTML[1], "HTML")
        from s4_core.report import check_report_outputs

        self.call(
            check_report_outputs,
            pred,
            self._truth,
            {"OUTPUT table": table or None, OUTPUT_FIGURE: figure, "OUTPUT_HTML": report},
            figure=OUTPUT_FIGURE,
            html="OUTPUT_HTML",
        )
        scores = self.call(
            api.evaluate, pred, self._truth, class_field=self._class_field, feedback=run.feedback
        )
        # the report names the REFERENCE layer, not its temporary copy
        scores["truth"] = name_copies(str(scores["truth"]), self._copies or {})

        fields, rows = score_table(scores)
        sink, dest = self.parameterAsSink(
            run.parameters,
            "OUTPUT",
            run.context,
            fields,
            WKB_NO_GEOMETRY,
            QgsCoordinateReferenceSystem(),
        )
        if sink is None:
            raise QgsProcessingException(tr("OUTPUT: the table could not be created"))
        for row in rows:
            feature = QgsFeature(fields)
            feature.setAttributes(row)
            if not sink.addFeature(feature, QgsFeatureSink.Flag.FastInsert):
                raise QgsProcessingException(
                    tr("OUTPUT: could not write the table {dest}: {error}").format(
                        dest=dest, error=sink.lastError() or tr("unknown error")
                    )
                )
        del sink  # flushes and closes the file
        written_table = self.file_of(dest) if table else ""
        if written_table and not os.path.exists(written_table):
            raise QgsProcessingException(
                tr("OUTPUT: the table {dest} was not written: choose a writable folder").format(
                    dest=written_table
                )
            )
        oa, miou = scores.get("oa"), scores.get("miou")
        run.info(
            "OA: "
            + ("n/a" if oa is None else f"{oa:.4f}")
            + ", mIoU: "
            + ("n/a" if miou is None else f"{miou:.4f}")
        )
        header = [f.name() for f in fields]
        run.info("\t".join(header))
        for row in rows:
            run.info(
                "\t".join(
                    "" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v))
                    for v in row
                )
            )
        self.report_not_scored(run, scores)
        written = {"figure": None, "html": None}
        if figure or report:
            written = self.call(api.evaluation_report, scores, figure_out=figure, html_out=report)
            for path in written.values():
                if path:
                    run.info(f"Wrote {path}")
        return {
            "OUTPUT": dest,
            "OA": oa,
            "MIOU": miou,
            OUTPUT_FIGURE: written["figure"],
            "OUTPUT_HTML": written["html"],
        }

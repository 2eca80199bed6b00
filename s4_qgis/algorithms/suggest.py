"""``s4:suggest_labels``: where to label next (squares where the model is least sure)."""

from __future__ import annotations

from typing import Any, Dict, Optional

from qgis.core import QgsProcessingException, QgsProcessingOutputNumber

from s4_core.settings import SUGGEST
from s4_core.types import override

from ..i18n import tr, tr_noop
from ..layers import feature_count_with_geometry
from .base import (
    GROUP_MAP,
    LABELS,
    OUTPUT,
    Extent,
    Labels,
    ModelFile,
    Output,
    Polygons,
    Run,
    S4Algorithm,
    Series,
    Settings,
)


class SuggestLabels(S4Algorithm):
    """``s4:suggest_labels``: the squares to label next, where the model is least sure."""

    NAME = "suggest_labels"
    DISPLAY_NAME = tr_noop("Where to label next (least confident squares)")
    GROUP = GROUP_MAP
    OPERATION = SUGGEST
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

    PARAMETERS = (
        ModelFile(tr_noop("Fine-tuned S4 model")),
        Series(s2_first=True),
        Labels(tr_noop("Existing labels (avoided)"), optional=True, class_field=False),
        Extent(tr_noop("Extent")),
        Settings(),
        Polygons(OUTPUT, tr_noop("Squares to label next")),
        Output(QgsProcessingOutputNumber, "N", tr_noop("Squares proposed")),
    )

    @override
    def read_layers(self, run: Run) -> None:
        """Main thread: the existing labels (if any polygons) as a file the engine reads."""
        self._existing_labels: Optional[str] = None
        if run.parameters.get(LABELS) in (None, ""):
            return
        labels = self.parameterAsVectorLayer(run.parameters, LABELS, run.context)
        if labels is None or not labels.isValid():
            raise QgsProcessingException(tr("LABELS: not a valid polygon layer"))
        if feature_count_with_geometry(labels) > 0:
            self._existing_labels = self.layer_file(labels)

    @override
    def work(self, run: Run) -> Dict[str, Any]:
        model = run.model()
        scene = run.scene()
        out = run.output(OUTPUT, (".gpkg",), "GeoPackage")
        api = run.engine()
        result = run.call(api.suggest_labels, model, out, labels=self._existing_labels, **scene)
        run.info(f"{result['n']} squares written to {out}")
        return {OUTPUT: out, "N": result["n"]}

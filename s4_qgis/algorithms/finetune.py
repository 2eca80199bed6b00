"""``s4:finetune``: fine-tune S4 on labelled polygons for one inference modality."""

from __future__ import annotations

import os

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterVectorLayer,
)

from ..compat import SOURCE_POLYGON
from ..i18n import tr, tr_noop
from ..layers import feature_count_with_geometry, vector_for_engine
from .base import GROUP_TRAIN, S4Algorithm
from .segment import CHECKPOINT_FILTER, check_output_suffix

MODALITIES = ["s2", "s1"]
MODALITY_LABELS = [tr_noop("s2: Sentinel-2 (optical)"), tr_noop("s1: Sentinel-1 (radar)")]
HEADS = ["pixel", "unet"]
HEAD_LABELS = [
    tr_noop("Pixel head on the frozen network (default: best maps from a few polygons)"),
    tr_noop("3D U-Net fine-tuning (the paper's; uses epochs, crop and batch size)"),
]
INPUTS = [None, 1, 0]
INPUT_LABELS = [
    tr_noop("As the pretrained model (monthly composites without one)"),
    tr_noop("Monthly cloud-free composites"),
    tr_noop("The acquisitions as they are"),
]
WEIGHTINGS = ["balanced", "none"]
WEIGHTING_LABELS = [
    tr_noop("Balanced (inverse class frequency: favours small classes)"),
    tr_noop("None (default; plain loss: better maps when polygon areas differ a lot)"),
]


def check_class_field(
    layer, field: str, parameter: str = "CLASS_FIELD", layer_parameter: str = "LABELS"
) -> None:
    """The class field must exist in the layer (message lists the fields there are)."""
    if not field:
        raise QgsProcessingException(
            tr(
                "{parameter}: choose the field of {layer_parameter} that holds the class names"
            ).format(parameter=parameter, layer_parameter=layer_parameter)
        )
    names = layer.fields().names()
    if field not in names:
        raise QgsProcessingException(
            tr(
                "{parameter}: field '{field}' does not exist in layer '{0}' ({layer_parameter}); its fields are: {1}"
            ).format(
                layer.name(),
                ", ".join(names) or "none",
                parameter=parameter,
                field=field,
                layer_parameter=layer_parameter,
            )
        )


class Finetune(S4Algorithm):
    NAME = "finetune"
    DISPLAY_NAME = tr_noop("S4 fine-tune on labelled polygons")
    GROUP = GROUP_TRAIN
    HELP = tr_noop(
        "Trains an S4 model to map your classes from a few labelled polygons.<br><br>"
        "<b>Sentinel-1 / Sentinel-2 layers</b>: one GeoTIFF per acquisition; only the series "
        "of the inference modality is used (the model will map from that one sensor).<br>"
        "<b>Labels</b>: polygons of known classes (a memory layer or a layer being edited is "
        "fine); <b>Class field</b>: the field with the class names.<br>"
        "<b>Pretrained model</b>: optional checkpoint from 'S4 pretrain'; without one the "
        "network is trained from scratch (usually worse with few labels).<br>"
        "<b>Inference modality</b>: s2 (optical) or s1 (radar).<br>"
        "<b>Head</b> (advanced): the default keeps the pretrained network frozen and trains "
        "an ensemble of small per-pixel classifiers on each pixel's monthly series and the "
        "network's features, then smooths the map inside fields (seconds on a CPU; it beat "
        "a Random Forest on real sites, see docs/benchmarks.md). '3D U-Net fine-tuning' is "
        "the paper's recipe: <b>epochs, crop size, batch size</b>, freezing the encoder and "
        "class weighting apply to it.<br>"
        "<b>Input</b> (advanced): monthly cloud-free composites by default.<br>"
        "<b>Map resolution</b> (advanced): pixel size in the layers' CRS units (0 = the "
        "imagery's own grid); 'S4 segment' maps on the same resolution.<br>"
        "A share of the polygons is held out to report a validation mIoU.<br><br>"
        "Output: the fine-tuned checkpoint (.pt) for 'S4 segment time series'. The loss and "
        "the validation mIoU are logged per epoch; Cancel stops cleanly."
    )

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        self.add_series_parameter("SENTINEL1", tr("Sentinel-1 layers (one per date)"))
        self.add_series_parameter("SENTINEL2", tr("Sentinel-2 layers (one per date)"))
        self.addParameter(
            QgsProcessingParameterVectorLayer("LABELS", tr("Labelled polygons"), [SOURCE_POLYGON])
        )
        self.addParameter(
            QgsProcessingParameterField(
                "CLASS_FIELD", tr("Class field"), parentLayerParameterName="LABELS"
            )
        )
        self.addParameter(
            QgsProcessingParameterFile(
                "INIT_MODEL",
                tr("Pretrained model (optional; none = train from scratch)"),
                fileFilter=CHECKPOINT_FILTER,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                "MODALITY",
                tr("Inference modality"),
                options=[tr(o) for o in MODALITY_LABELS],
                defaultValue=0,
            )
        )
        self.add_training_parameters(epochs=20)
        head = QgsProcessingParameterEnum(
            "HEAD", tr("Head"), options=[tr(o) for o in HEAD_LABELS], defaultValue=0
        )
        self.add_parameter(head, advanced=True)
        inputs = QgsProcessingParameterEnum(
            "INPUT_SERIES", tr("Input"), options=[tr(o) for o in INPUT_LABELS], defaultValue=0
        )
        self.add_parameter(inputs, advanced=True)
        self.add_float(
            "RESOLUTION", tr("Map resolution (CRS units; 0 = the imagery's)"), 0.0, 0.0, 1e6,
            advanced=True,
        )  # fmt: skip
        freeze = QgsProcessingParameterBoolean(
            "FREEZE_ENCODER", tr("Freeze the pretrained encoder"), defaultValue=False
        )
        self.add_parameter(freeze, advanced=True)
        weighting = QgsProcessingParameterEnum(
            "CLASS_WEIGHTING",
            tr("Class weighting"),
            options=[tr(o) for o in WEIGHTING_LABELS],
            defaultValue=1,
        )
        self.add_parameter(weighting, advanced=True)
        self.add_float(
            "VAL_FRACTION",
            tr("Share of polygons held out for validation"),
            0.2,
            0.0,
            0.9,
            advanced=True,
        )
        self.addParameter(
            QgsProcessingParameterFileDestination(
                "OUTPUT", tr("Fine-tuned checkpoint"), fileFilter=CHECKPOINT_FILTER
            )
        )
        self.addOutput(QgsProcessingOutputNumber("VAL_MIOU", tr("Validation mIoU")))
        self.addOutput(QgsProcessingOutputString("CLASSES", tr("Class names (comma separated)")))

    def prepare_inputs(self, parameters, context, feedback) -> None:
        """Main thread: check the label layer and write it to a file when it is not one."""
        labels = self.parameterAsVectorLayer(parameters, "LABELS", context)
        if labels is None or not labels.isValid():
            raise QgsProcessingException(
                tr("LABELS: choose a polygon layer with labelled polygons")
            )
        class_field = self.parameterAsString(parameters, "CLASS_FIELD", context)
        check_class_field(labels, class_field)
        if feature_count_with_geometry(labels) == 0:
            raise QgsProcessingException(
                tr(
                    "LABELS: layer '{0}' has no polygons: digitise a few polygons of each class first"
                ).format(labels.name())
            )
        try:
            self._labels_path = vector_for_engine(labels, self.temp_dir())
        except OSError as error:
            raise QgsProcessingException(tr("LABELS: {error}").format(error=error)) from None
        self._labels_copied = self._labels_path.startswith(self.temp_dir())
        self._labels_name = labels.name()
        self._class_field = class_field

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        self.check_prepared()
        try:
            return self._process(parameters, context, feedback)
        finally:
            self.cleanup_temp()

    def _process(self, parameters, context, feedback):
        modality = MODALITIES[self.parameterAsEnum(parameters, "MODALITY", context)]
        s1 = self.series_files(parameters, "SENTINEL1", context)
        s2 = self.series_files(parameters, "SENTINEL2", context)
        series = s1 if modality == "s1" else s2
        if not series:
            name = "SENTINEL1" if modality == "s1" else "SENTINEL2"
            raise QgsProcessingException(
                tr(
                    "Inference modality is {0} but no {1} layers were given: add them to {name} or change MODALITY"
                ).format(modality.upper(), modality.upper(), name=name)
            )
        init = self.parameterAsFile(parameters, "INIT_MODEL", context) or None
        if init and not os.path.isfile(init):
            raise QgsProcessingException(
                tr("INIT_MODEL: checkpoint file not found: {init}").format(init=init)
            )
        out = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        check_output_suffix(out, (".pt",), "OUTPUT", "checkpoint")
        device = self.device(parameters, context)

        api = self.engine(feedback)
        self.log_device(api, device, feedback)
        feedback.pushInfo(
            f"Fine-tuning for {modality.upper()} inference "
            + (f"from {init}" if init else "from scratch (no pretrained model)")
        )
        if self._labels_copied:
            feedback.pushInfo(f"Labels written to a temporary GeoPackage ({self._labels_name})")
        progress, cancel, log = self.callbacks(feedback)
        result = self.call(
            api.finetune,
            self.sources(s1),
            self.sources(s2),
            self._labels_path,
            self._class_field,
            out,
            modality=modality,
            init=init,
            epochs=self.parameterAsInt(parameters, "EPOCHS", context),
            crop_size=self.parameterAsInt(parameters, "CROP_SIZE", context),
            batch_size=self.parameterAsInt(parameters, "BATCH_SIZE", context),
            device=device,
            seed=self.parameterAsInt(parameters, "SEED", context),
            widths=self.widths(parameters, context),
            freeze_encoder=self.parameterAsBool(parameters, "FREEZE_ENCODER", context),
            class_weighting=WEIGHTINGS[
                self.parameterAsEnum(parameters, "CLASS_WEIGHTING", context)
            ],
            val_fraction=self.parameterAsDouble(parameters, "VAL_FRACTION", context),
            head=HEADS[self.parameterAsEnum(parameters, "HEAD", context)],
            composite_months=INPUTS[self.parameterAsEnum(parameters, "INPUT_SERIES", context)],
            resolution=self.parameterAsDouble(parameters, "RESOLUTION", context) or None,
            progress=progress,
            cancel=cancel,
            log=log,
        )
        metrics = result.get("metrics") or {}
        miou = metrics.get("val_miou")
        classes = [
            c if isinstance(c, str) else c.get("name", "") for c in result.get("classes", [])
        ]
        feedback.pushInfo(
            f"Fine-tuned checkpoint: {result['path']} (classes: {', '.join(classes)}; "
            f"validation mIoU: {miou if miou is not None else 'n/a'}; {result.get('device')}, "
            f"{result.get('seconds')} s)"
        )
        return {
            "OUTPUT": result["path"],
            "VAL_MIOU": float(miou) if miou is not None else None,
            "CLASSES": ", ".join(classes),
        }

"""``s4:finetune``: fine-tune S4 on labelled polygons for one inference modality."""

from __future__ import annotations

import os
from typing import Any, Dict

from qgis.core import QgsProcessingException, QgsProcessingOutputNumber, QgsProcessingOutputString

from s4_core.settings import FINETUNE
from s4_core.types import override

from ..i18n import tr, tr_noop
from .base import (
    GROUP_TRAIN,
    OUTPUT,
    SENTINEL1,
    SENTINEL2,
    Checkpoint,
    Labels,
    Output,
    Run,
    S4Algorithm,
    Series,
    Settings,
)


class Finetune(S4Algorithm):
    """``s4:finetune``: fine-tune a pretrained model on labelled polygons."""

    NAME = "finetune"
    DISPLAY_NAME = tr_noop("S4 fine-tune on labelled polygons")
    GROUP = GROUP_TRAIN
    OPERATION = FINETUNE
    HELP = tr_noop(
        "Trains an S4 model to map your classes from a few labelled polygons.<br><br>"
        "<b>Sentinel-1 / Sentinel-2 layers</b>: one GeoTIFF per acquisition; only the series "
        "of the inference modality is used (the model will map from that sensor, or from both "
        "together).<br>"
        "<b>Labels</b>: polygons of known classes (a memory layer or a layer being edited is "
        "fine); <b>Class field</b>: the field with the class names.<br>"
        "<b>Pretrained model</b>: optional checkpoint from 'S4 pretrain'; without one the "
        "network is trained from scratch (usually worse with few labels).<br>"
        "<b>Inference modality</b>: s2 (optical), s1 (radar) or both (S1 + S2 together; best "
        "after joint MAE pretraining; mapping then needs both series too).<br>"
        "<b>Radar: VV/VH ratio</b> (advanced): adds VV - VH (dB) as a third S1 band when "
        "training from scratch; a pretrained model's own choice is always followed.<br>"
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

    PARAMETERS = (
        Series(),
        Labels(tr_noop("Labelled polygons")),
        Settings(),
        Checkpoint(tr_noop("Fine-tuned checkpoint")),
        Output(QgsProcessingOutputNumber, "VAL_MIOU", tr_noop("Validation mIoU")),
        Output(QgsProcessingOutputString, "CLASSES", tr_noop("Class names (comma separated)")),
    )

    @override
    def work(self, run: Run) -> Dict[str, Any]:
        modality, init = run.settings["modality"], run.settings["init"]
        s1, s2 = run.series()
        needed = ("s1", "s2") if modality == "both" else (modality,)
        for sensor in needed:
            if not (s1 if sensor == "s1" else s2):
                name = SENTINEL1 if sensor == "s1" else SENTINEL2
                raise QgsProcessingException(
                    tr(
                        "Inference modality is {0} but no {1} layers were given: add them to {name} or change MODALITY"
                    ).format(modality.upper(), sensor.upper(), name=name)
                )
        if init and not os.path.isfile(init):
            raise QgsProcessingException(
                tr("INIT_MODEL: checkpoint file not found: {init}").format(init=init)
            )
        out = run.output(OUTPUT, (".pt",), "checkpoint")
        api = run.engine()
        run.info(
            f"Fine-tuning for {'S1 + S2' if modality == 'both' else modality.upper()} inference "
            + (f"from {init}" if init else "from scratch (no pretrained model)")
        )
        if self._labels_copied:
            run.info(f"Labels written to a temporary GeoPackage ({self._labels_name})")
        result = run.call(api.finetune, s1, s2, self._labels_path, self._class_field, out)
        metrics = result.get("metrics") or {}
        miou = metrics.get("val_miou")
        classes = [
            c if isinstance(c, str) else c.get("name", "") for c in result.get("classes", [])
        ]
        run.info(
            f"Fine-tuned checkpoint: {result['path']} (classes: {', '.join(classes)}; "
            f"validation mIoU: {miou if miou is not None else 'n/a'}; {result.get('device')}, "
            f"{result.get('seconds')} s)"
        )
        return {
            OUTPUT: result["path"],
            "VAL_MIOU": float(miou) if miou is not None else None,
            "CLASSES": ", ".join(classes),
        }

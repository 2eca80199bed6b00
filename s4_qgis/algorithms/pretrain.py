"""``s4:pretrain``: self-supervised pretraining.

S4 on aligned Sentinel-1 + Sentinel-2 series, or MAE / DINO / joint MAE: ``OBJECTIVE``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Union

from qgis.core import QgsProcessingException, QgsProcessingOutputNumber

from s4_core.settings import PRETRAIN
from s4_core.types import override

from ..i18n import tr, tr_noop
from .base import GROUP_TRAIN, OUTPUT, Checkpoint, Output, Run, S4Algorithm, Series, Settings


def last_metrics(history: Union[List[Dict[str, Any]], Dict[str, List[Any]]]) -> dict:
    """The last epoch's metrics of an engine history (list of dicts, or dict of lists)."""
    if isinstance(history, list) and history and isinstance(history[-1], dict):
        return history[-1]
    if isinstance(history, dict):
        out = {}
        for key, values in history.items():
            if isinstance(values, list) and values:
                out[key] = values[-1]
        return out
    return {}


class Pretrain(S4Algorithm):
    """``s4:pretrain``: self-supervised pretraining of the S4 network."""

    NAME = "pretrain"
    DISPLAY_NAME = tr_noop("S4 pretrain (self-supervised, S1 + S2)")
    GROUP = GROUP_TRAIN
    OPERATION = PRETRAIN
    HELP = tr_noop(
        "Pretrains an S4 model WITHOUT labels on a Sentinel-1 and a Sentinel-2 time series of "
        "the same area (Shenoy et al., Remote Sensing 2024): a 3D U-Net learns that radar and "
        "optical pixels at the same place and time belong together (pixel-wise space-time "
        "contrastive loss) and to reconstruct one modality from the other.<br><br>"
        "<b>Sentinel-1 / Sentinel-2 layers</b>: one GeoTIFF per acquisition (dates read from the "
        "files); they are aligned in space (onto the Sentinel-2 grid) and time automatically.<br>"
        "<b>Epochs, crop size, batch size</b>: training length and the size of the random "
        "crops; small crops and batches need less memory.<br>"
        "<b>Seed</b>: makes runs repeatable.<br>"
        "<b>Objective</b>: S4 (default, both sensors), MAE or DINO on one sensor (only that "
        "series is needed: <i>Sensor for MAE / DINO</i>), or a joint S1 + S2 masked "
        "autoencoder; every objective trains the same network, so fine-tuning and mapping "
        "work the same way. Masking (share, patch size in pixels and frames, mode) is in the "
        "advanced parameters.<br><br>"
        "Output: a pretrained checkpoint (.pt) to start 'S4 fine-tune on labelled polygons' "
        "from. Progress and the loss per epoch are logged; Cancel stops cleanly."
    )

    PARAMETERS = (
        Series(),
        Settings(),
        Checkpoint(tr_noop("Pretrained checkpoint")),
        Output(QgsProcessingOutputNumber, "FINAL_LOSS", tr_noop("Loss of the last epoch")),
    )

    @override
    def work(self, run: Run) -> Dict[str, Any]:
        objective, sensor = run.settings["objective"], run.settings["ssl_modality"]
        if objective in ("mae", "dino"):  # one sensor: the other series is not read
            s1, s2 = run.series(only=sensor)
            if not (s1 or s2):
                raise QgsProcessingException(
                    tr(
                        "{objective} pretraining on {sensor} needs {sensor} layers: give them "
                        "(SENTINEL{n} or SENTINEL{n}_FOLDER) or choose the other sensor "
                        "(SSL_MODALITY)"
                    ).format(objective=objective.upper(), sensor=sensor.upper(), n=sensor[1])
                )
        else:
            s1, s2 = run.both_series(
                tr(
                    "Pretraining needs both series: give Sentinel-1 layers (SENTINEL1 or a folder in "
                    "SENTINEL1_FOLDER) and Sentinel-2 layers (SENTINEL2 or SENTINEL2_FOLDER) of the same area"
                ),
            )
        out = run.output(OUTPUT, (".pt",), "checkpoint")
        api = run.engine()
        result = run.call(api.pretrain, s1, s2, out)
        final = last_metrics(result.get("history"))
        loss = final.get("loss")
        run.info(
            f"Pretrained checkpoint: {result['path']} ({result.get('device')}, "
            f"{result.get('seconds')} s)"
        )
        return {OUTPUT: result["path"], "FINAL_LOSS": float(loss) if loss is not None else None}

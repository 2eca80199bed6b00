"""``s4 export-onnx``: a fine-tuned checkpoint -> an ONNX model that maps without PyTorch.

The graph (opset 17, TorchScript exporter, needs the ``onnx`` package at export time only):

- inputs ``x`` float32 ``(B, T, C, H, W)`` (normalised, ``T`` = the checkpoint's time length,
  ``H`` and ``W`` multiples of the network's down-sampling factor; B, H, W dynamic) and ``mask``
  bool ``(B, T, H, W)`` (real frames x real pixels: the caller pads windows to the factor and
  marks the padding False, exactly what the network does internally with its masked padding);
- output ``out`` ``(B, K, H, W)``: class probabilities (``"unet"`` head), or the pixel head's
  log-probabilities before edge-aware smoothing (``"pixel"`` head; ``backends.OnnxBackend``
  smooths in numpy on the cropped window, as ``S4Net.segment`` does on the whole window).

A model fine-tuned for modality "both" takes the S1 bands then the S2 bands in ``x`` (its
VV/VH ratio band, when made with one, after VV and VH); the metadata's ``input`` records the
ratio, so ONNX mapping adds it as the checkpoint does.

Metadata (``metadata_props``): ``s4_checkpoint`` = the checkpoint dict without weights and
optimiser (band names and normalisation, time policy, classes and colours, network config,
input settings) as JSON, ``s4_output``, and readable copies (``s4_bands``, ``s4_classes``,
``s4_time``, ``s4_modality``). A model card ``NAME.json`` is written beside the model.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import __version__
from .backends import ONNX_META_KEY, ONNX_OUTPUT_KEY
from .checkpoint import build_model, load_checkpoint
from .errors import CheckpointError, OutputError
from .model import Encoded, S4Net, _pool_mask, pixel_features
from .types import PathLike
from .validate import ONNX_CARD_FORMAT, onnx_card_path, temp_path

OPSET = 17
_SKIP_KEYS = ("state_dict", "optimizer", "history")
_BIG = 1 << 30  # slice end that keeps everything (the window is cropped outside the graph)


class _Exported(nn.Module):
    """The segmentation path of ``S4Net`` on padded windows with an explicit mask."""

    def __init__(self, net: S4Net, modality: str, frames: int) -> None:
        super().__init__()
        self.net = net
        self.modality = modality
        self.frames = int(frames)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        net, c = self.net, self.net.config
        t = self.frames
        pt = (-t) % c.factor
        m0 = F.pad(mask, (0, 0, 0, 0, 0, pt), value=False) if pt else mask
        masks: List[Optional[Tensor]] = [m0]
        level = m0
        for _ in range(c.levels):
            level = _pool_mask(level)
            masks.append(level)
        out = x.permute(0, 2, 1, 3, 4)
        if pt:
            out = F.pad(out, (0, 0, 0, 0, 0, pt))
        out = out.masked_fill(~m0.unsqueeze(1), 0.0)
        out, skips = net.encode_stages(out, masks, self.modality)
        frame_mask = mask[:, :, 0, 0]  # pixel (0, 0) is never padding
        enc = Encoded(out, skips, masks, frame_mask, (t, _BIG, _BIG), self.modality)
        dec = net._decode(enc)  # (B, D, T, H, W)
        if net.pixel_head is not None:
            xm = x * frame_mask.to(x.dtype)[:, :, None, None, None]
            return net.pixel_head(pixel_features(xm, dec))
        assert net.seg_head is not None  # a U-Net head (no pixel head)
        logits = net.seg_head(dec)
        weight = frame_mask.to(logits.dtype)
        count = weight.sum(1).clamp(min=1.0)
        mean = (logits * weight[:, None, :, None, None]).sum(2) / count[:, None, None, None]
        return torch.softmax(mean, dim=1)


def _plain_meta(ckpt: Dict[str, Any]) -> Dict[str, Any]:
    meta = {k: v for k, v in ckpt.items() if k not in _SKIP_KEYS}

    def plain(v: object) -> object:
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, torch.Tensor):
            return v.tolist()
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        return str(v)

    out = plain(meta)
    assert isinstance(out, dict)
    return out


def _add_metadata(path: Path, items: Dict[str, str]) -> None:
    import onnx

    model = onnx.load(str(path))
    for key, value in items.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.producer_name = "s4"
    model.producer_version = __version__
    onnx.save(model, str(path))


def export_onnx(model_path: PathLike, out_path: PathLike, *, tile: int = 64) -> Dict[str, Any]:
    """Export a fine-tuned checkpoint to ONNX (see the module docstring).

    Returns the model card (also written as JSON beside ``out_path``).
    """
    try:
        import onnx  # noqa: F401
    except ImportError as exc:
        raise CheckpointError(
            "exporting to ONNX needs the onnx package where PyTorch runs: pip install onnx"
        ) from exc
    ckpt = load_checkpoint(model_path)
    if ckpt.get("kind") != "finetuned" or not ckpt.get("classes"):
        raise CheckpointError(
            f"{model_path}: a {ckpt.get('kind', 'unknown')} checkpoint cannot be exported for "
            "mapping: fine-tune it on labelled polygons first (s4 finetune)"
        )
    out = Path(os.fspath(out_path))
    if out.suffix.lower() != ".onnx":
        raise OutputError(f"{out}: give an output name ending in .onnx")
    out.parent.mkdir(parents=True, exist_ok=True)
    net = build_model(ckpt).eval()
    modality = ckpt["modality"]
    sensors = ["s1", "s2"] if modality == "both" else [modality]
    frames = int(ckpt["time"]["length"])
    # "both": the S1 bands then the S2 bands, in one input (S4Net.encode)
    bands = [b for m in sensors for b in ckpt["bands"][m]]
    channels = len(bands)
    f = net.config.factor
    side = max(f, (int(tile) // f) * f)
    wrapper = _Exported(net, modality, frames).eval()
    x = torch.randn(1, frames, channels, side, side)
    mask = torch.ones(1, frames, side, side, dtype=torch.bool)
    mask[:, -1] = False  # trace the masked path (it equals the unmasked one when all are real)
    tmp = temp_path(out)
    card_path = onnx_card_path(out)
    card_tmp = temp_path(card_path)
    meta = _plain_meta(ckpt)
    stats = {m: meta["band_stats"][m] for m in sensors}
    normalisation = stats if modality == "both" else stats[modality]
    head = net.config.head
    output = "pixel_log_probabilities" if net.pixel_head is not None else "probabilities"
    items = {
        ONNX_META_KEY: json.dumps(meta),
        ONNX_OUTPUT_KEY: output,
        "s4_modality": modality,
        "s4_bands": json.dumps(bands),
        "s4_band_stats": json.dumps(normalisation),
        "s4_time": json.dumps(meta["time"]),
        "s4_classes": json.dumps(meta["classes"]),
        "s4_engine_version": __version__,
    }
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's and the legacy exporter's notices
            torch.onnx.export(
                wrapper,
                (x, mask),
                str(tmp),
                dynamo=False,
                opset_version=OPSET,
                input_names=["x", "mask"],
                output_names=["out"],
                dynamic_axes={
                    "x": {0: "batch", 3: "height", 4: "width"},
                    "mask": {0: "batch", 2: "height", 3: "width"},
                    "out": {0: "batch", 2: "height", 3: "width"},
                },
            )
        _add_metadata(tmp, items)
        card = {
            "format": ONNX_CARD_FORMAT,
            "model": out.name,
            "source_checkpoint": str(model_path),
            "engine_version": __version__,
            "opset": OPSET,
            "head": head,
            "output": output,
            "modality": modality,
            "bands": bands,
            "normalisation": normalisation,
            "time": meta["time"],
            "input": meta.get("input"),
            "classes": meta["classes"],
            "metrics": meta.get("metrics"),
            "inputs": {
                "x": f"float32 (batch, {frames}, {channels}, height, width); height and width "
                f"multiples of {f}",
                "mask": f"bool (batch, {frames}, height, width): real frames and pixels",
            },
            "smoothing": (
                {
                    "iters": net.config.pixel_head.smooth_iters,
                    "sigma": net.config.pixel_head.smooth_sigma,
                }
                if net.pixel_head is not None
                else None
            ),
        }
        card_tmp.write_text(json.dumps(card, indent=2), encoding="utf-8")
        os.replace(tmp, out)
        os.replace(card_tmp, card_path)
    except OSError as exc:
        raise OutputError(f"could not write {out}: {exc}; check the folder and free space") from exc
    finally:
        for p in (tmp, card_tmp):
            if p.exists():
                p.unlink()
    card["path"] = str(out)
    card["card"] = str(card_path)
    return card

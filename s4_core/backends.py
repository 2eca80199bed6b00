"""Inference backends: what turns a batch of normalised windows into class probabilities.

Two backends share one contract, ``predict(xs, frame_masks, batch_size) -> (probabilities
(N, K, h, w) float32, batch size used)`` for ``xs`` ``(N, T, C, h, w)`` float32 and
``frame_masks`` ``(N, T)`` bool:

- :class:`TorchBackend`: the checkpoint's network in PyTorch (CPU threads from
  ``device.cpu_threads``, channels_last_3d, autocast on CUDA, out-of-memory back-off);
- :class:`OnnxBackend`: a model exported by ``s4 export-onnx`` run by ONNX Runtime, without
  torch. The ONNX graph takes windows padded to multiples of the network's down-sampling
  factor and an explicit validity mask (the network's masked padding, exactly as in torch);
  the pixel head's edge-aware smoothing runs here in numpy (:func:`edge_aware_smooth_np`, the
  same arithmetic as ``model.edge_aware_smooth``) on the cropped window.

:func:`open_model` reads either kind of model file and returns its metadata (the checkpoint
dict without weights) and the backend. This module imports torch only inside
:class:`TorchBackend`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ContextManager, Dict, Optional, Tuple, Union

import numpy as np

from .errors import CheckpointError, DataError
from .types import DeviceLike, Log, PathLike

if TYPE_CHECKING:
    import onnxruntime as ort

ONNX_META_KEY = "s4_checkpoint"  # the checkpoint dict without weights, JSON
ONNX_OUTPUT_KEY = "s4_output"  # "probabilities" (unet head) or "pixel_log_probabilities"

__all__ = [
    "PRECISIONS",
    "OnnxBackend",
    "TorchBackend",
    "bf16_supported",
    "describe_onnx",
    "edge_aware_smooth_np",
    "is_onnx",
    "open_model",
    "read_onnx_metadata",
]


def is_onnx(path: PathLike) -> bool:
    """True for an ``.onnx`` file name."""
    return str(os.fspath(path)).lower().endswith(".onnx")


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def edge_aware_smooth_np(
    probs: np.ndarray, guide: np.ndarray, iters: int, sigma: float
) -> np.ndarray:
    """Numpy twin of ``model.edge_aware_smooth``.

    ``probs`` ``(B, K, H, W)``, ``guide`` ``(B, G, H, W)``, float32, borders replicate.
    """
    if iters <= 0:
        return probs
    h, w = guide.shape[-2:]
    pad = np.pad(guide, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
    d2 = np.stack(
        [
            np.square(pad[:, :, dr : dr + h, dc : dc + w] - guide).mean(1)
            for dr in range(3)
            for dc in range(3)
        ],
        axis=1,
    ).astype(np.float32)
    weight = _softmax(-d2 / np.float32(sigma * sigma), axis=1).astype(np.float32)
    for _ in range(iters):
        pp = np.pad(probs, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
        acc = np.zeros_like(probs)
        for dr in range(3):
            for dc in range(3):
                acc += pp[:, :, dr : dr + h, dc : dc + w] * weight[:, 3 * dr + dc : 3 * dr + dc + 1]
        probs = acc
    return probs


PRECISIONS = ("fp32", "bf16")


def bf16_supported() -> bool:
    """True when this CPU has native bfloat16 arithmetic for oneDNN (AVX512-BF16 or AMX).

    Elsewhere bf16 would be emulated, slower than float32.
    """
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class TorchBackend:
    """The checkpoint's network in PyTorch.

    On the CPU the network runs in channels_last_3d with its batch norms folded into the
    convolutions and each convolution's LeakyReLU fused into it (``model.fuse_for_inference``;
    float32 results equal the checkpoint's network up to rounding). ``precision`` "bf16" also
    casts weights and activations to bfloat16 (class logits, the temporal mean and a pixel
    head stay float32) where the CPU computes bfloat16 natively (:func:`bf16_supported`; else
    float32 with a warning). On CUDA, autocast chooses the precision
    (``device.autocast_context``).
    """

    kind = "torch"

    def __init__(
        self,
        ckpt: Dict[str, Any],
        device: DeviceLike = "auto",
        log: Optional[Log] = None,
        precision: str = "fp32",
    ) -> None:
        import torch

        from .checkpoint import build_model
        from .device import prepare_model, resolve_device
        from .model import fold_batchnorm, fuse_for_inference

        if precision not in PRECISIONS:
            raise DataError(f"precision {precision!r} is not one of {PRECISIONS} (--precision)")
        self.torch = torch
        self.device = resolve_device(device) if not isinstance(device, torch.device) else device
        self.model = prepare_model(build_model(ckpt), self.device).eval()
        self.dtype = torch.float32
        if self.device.type == "cpu":
            fold_batchnorm(self.model)  # in float32, before any cast to bfloat16
            if precision == "bf16":
                if bf16_supported():
                    self.dtype = torch.bfloat16
                else:
                    from .errors import warn

                    warn(
                        "this CPU has no native bfloat16 arithmetic (AVX512-BF16 / AMX): "
                        "mapping in float32 (precision fp32)"
                    )
            # ~25 % faster 3D convolutions on CPU (mkldnn)
            self.model = self.model.to(memory_format=torch.channels_last_3d, dtype=self.dtype)  # type: ignore[call-overload]
            if self.dtype != torch.float32 and self.model.pixel_head is not None:
                self.model.pixel_head.float()  # the per-pixel MLP ensemble stays float32
            fuse_for_inference(self.model)
        self.precision = "bf16" if self.dtype == torch.bfloat16 else "fp32"
        config = self.model.config
        self.factor = int(config.factor)
        self.n_classes = int(config.num_classes)
        self.config = config
        self.modality = str(ckpt["modality"])
        self.log = log

    def threads(self) -> ContextManager[int]:
        """Context manager: the engine's CPU thread setting for the prediction."""
        from .device import cpu_threads

        return cpu_threads(self.device)

    def _forward(self, xs: np.ndarray, masks: np.ndarray, batch_size: int) -> np.ndarray:
        from .device import autocast_context

        torch = self.torch
        out = []
        with torch.inference_mode():
            for i in range(0, len(xs), batch_size):
                x = torch.from_numpy(xs[i : i + batch_size]).to(self.device, non_blocking=True)
                x = x.to(self.dtype)
                fm = torch.from_numpy(masks[i : i + batch_size]).to(self.device)
                with autocast_context(self.device):
                    logits = self.model.segment(x, self.modality, fm)
                out.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
        return np.concatenate(out, axis=0)

    def predict(self, xs: np.ndarray, masks: np.ndarray, batch_size: int) -> Tuple[np.ndarray, int]:
        """Probabilities of a stack of windows, halving the batch on out-of-memory."""
        from .device import run_with_oom_backoff

        used = [batch_size]

        def attempt(size: int) -> np.ndarray:
            used[0] = size
            return self._forward(xs, masks, size)

        return run_with_oom_backoff(attempt, batch_size, log=self.log), used[0]


def read_onnx_metadata(path: PathLike) -> Dict[str, str]:
    """The ONNX model's custom metadata (needs onnxruntime)."""
    session = _session(Path(os.fspath(path)), threads=1)
    return dict(session.get_modelmeta().custom_metadata_map)


def describe_onnx(path: PathLike) -> Dict[str, Any]:
    """JSON-friendly summary of a model written by ``s4 export-onnx`` (``s4 info MODEL.onnx``).

    Read from the model's own metadata (ONNX Runtime), or, where ONNX Runtime is not
    installed, from the model card ``NAME.json`` that ``s4 export-onnx`` writes beside it.
    """
    from .composite import model_s1_ratio
    from .labels import class_list

    path = Path(os.fspath(path))
    if not path.is_file():
        raise CheckpointError(
            f"{path}: no such ONNX model file. Give the .onnx file written by 's4 export-onnx'."
        )
    card_path = path.with_suffix(".json")
    card: Optional[Dict[str, Any]] = None
    try:
        loaded = json.loads(card_path.read_text(encoding="utf-8"))
        card = loaded if isinstance(loaded, dict) and loaded.get("format") == "s4-onnx" else None
    except (OSError, ValueError):
        pass
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        if card is None:
            raise CheckpointError(
                f"{path} is an ONNX model: describing it needs ONNX Runtime (pip install "
                "onnxruntime; in QGIS: Plugins > S4 > Dependencies, 'mapping only (ONNX "
                f"Runtime)') or its model card {card_path.name} beside it, which 's4 "
                "export-onnx' writes (not found)"
            ) from None
        ckpt: Dict[str, Any] = dict(card)
        ckpt["classes"] = card.get("classes")
        ckpt["bands"] = {str(card.get("modality")): card.get("bands")}
        source = f"model card {card_path} (ONNX Runtime is not installed)"
        output = card.get("output")
    else:
        meta = read_onnx_metadata(path)
        if ONNX_META_KEY not in meta:
            raise CheckpointError(
                f"{path} is an ONNX model without S4 metadata ({ONNX_META_KEY}): it was not "
                "written by 's4 export-onnx'. s4 info describes S4 checkpoints (.pt) and their "
                "ONNX exports."
            )
        ckpt = json.loads(meta[ONNX_META_KEY])
        source = "the model's metadata"
        output = meta.get(ONNX_OUTPUT_KEY, "probabilities")
    classes = class_list(ckpt.get("classes"))
    time = ckpt.get("time") or {}
    info = {
        "path": str(path),
        "file_size_bytes": path.stat().st_size,
        "format": "onnx (s4 export-onnx): maps with ONNX Runtime, without PyTorch",
        "described_from": source,
        "model_card": str(card_path) if card is not None else None,
        "source_checkpoint": (card or {}).get("source_checkpoint"),
        "engine_version": ckpt.get("engine_version"),
        "created": ckpt.get("created"),
        "kind": ckpt.get("kind", "finetuned"),
        "modality": ckpt.get("modality"),
        "bands": {str(m): list(b or []) for m, b in (ckpt.get("bands") or {}).items()},
        "n_classes": len(classes),
        "classes": classes,
        "time": {"length": time.get("length"), "mode": time.get("mode")},
        "output": output,
        "metrics": ckpt.get("metrics") or {},
        "epoch": ckpt.get("epoch"),
        "net_config": ckpt.get("net_config"),
        "input": dict(ckpt.get("input") or {}),
        "s1_ratio": model_s1_ratio(ckpt),
    }
    plain = _finite(info)
    assert isinstance(plain, dict)
    return {k: v for k, v in plain.items() if v is not None}


def _finite(value: object) -> object:
    """``value`` with NaN / infinite floats as None (plain JSON)."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _session(path: Path, threads: int) -> ort.InferenceSession:
    """An ONNX Runtime session of ``path`` with ``threads`` intra-op threads."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise CheckpointError(
            f"{path} is an ONNX model: running it needs ONNX Runtime (pip install onnxruntime; "
            "in QGIS: Plugins > S4 > Dependencies, 'mapping only (ONNX Runtime)')"
        ) from exc
    if not path.is_file():
        raise CheckpointError(f"model {path} does not exist: check the path")
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise CheckpointError(
            f"{path} is not a readable ONNX model ({exc}): export it again with s4 export-onnx"
        ) from exc


def _threads() -> int:
    value = os.environ.get("S4_THREADS", "").strip()
    try:
        return max(1, int(value)) if value else 1
    except ValueError:
        return 1


class OnnxBackend:
    """A model exported by ``s4 export-onnx``, run by ONNX Runtime (CPU, no torch)."""

    kind = "onnx"
    device = "cpu (ONNX Runtime)"
    precision = "fp32"

    def __init__(self, path: PathLike, log: Optional[Log] = None) -> None:
        self.path = Path(os.fspath(path))
        self.session = _session(self.path, _threads())
        meta = dict(self.session.get_modelmeta().custom_metadata_map)
        if ONNX_META_KEY not in meta:
            raise CheckpointError(
                f"{self.path} has no S4 metadata ({ONNX_META_KEY}): export it with s4 export-onnx"
            )
        self.ckpt = json.loads(meta[ONNX_META_KEY])
        self.ckpt["onnx_path"] = str(self.path)
        self.output = meta.get(ONNX_OUTPUT_KEY, "probabilities")
        config = self.ckpt["net_config"]
        self.factor = 2 ** (len(config["widths"]) - 1)
        self.n_classes = int(config["num_classes"])
        self.smooth = (int(config.get("smooth_iters", 0)), float(config.get("smooth_sigma", 1.0)))
        self.log = log

    def threads(self) -> ContextManager[None]:
        """Context manager (threads are fixed when the session is made)."""
        import contextlib

        return contextlib.nullcontext()

    def _run(self, xs: np.ndarray, masks: np.ndarray) -> np.ndarray:
        n, t, c, h, w = xs.shape
        f = self.factor
        hp, wp = h + (-h) % f, w + (-w) % f
        x = np.zeros((n, t, c, hp, wp), dtype=np.float32)
        x[..., :h, :w] = xs
        mask = np.zeros((n, t, hp, wp), dtype=bool)
        mask[:, :, :h, :w] = masks[:, :, None, None]
        out = self.session.run(None, {"x": x, "mask": mask})[0][:, :, :h, :w]
        if self.output == "probabilities":
            return np.ascontiguousarray(out, dtype=np.float32)
        iters, sigma = self.smooth
        probs = np.exp(out.astype(np.float32))
        if iters > 0:
            guide = xs.reshape(n, t * c, h, w).astype(np.float32)
            probs = edge_aware_smooth_np(probs, guide, iters, sigma)
        logits = np.log(np.maximum(probs, np.float32(1e-8)))
        return _softmax(logits, axis=1).astype(np.float32)

    def predict(self, xs: np.ndarray, masks: np.ndarray, batch_size: int) -> Tuple[np.ndarray, int]:
        """Probabilities of a stack of windows."""
        size = max(1, int(batch_size))
        out = [self._run(xs[i : i + size], masks[i : i + size]) for i in range(0, len(xs), size)]
        return np.concatenate(out, axis=0), size


def _onnx_precision(precision: str) -> None:
    if precision != "fp32":
        from .errors import warn

        warn(f"precision {precision} applies to PyTorch models only: the ONNX model maps in fp32")


def open_model(
    path: PathLike,
    *,
    device: DeviceLike = "auto",
    log: Optional[Log] = None,
    precision: str = "fp32",
) -> Tuple[Dict[str, Any], Backend]:
    """The checkpoint dict and the backend of a fine-tuned model.

    An S4 checkpoint (``.pt``, PyTorch) or an ONNX export (``.onnx``, ONNX Runtime).
    ``precision``: "fp32" or "bf16" (PyTorch on a CPU with native bfloat16; see
    :class:`TorchBackend`).
    """
    if is_onnx(path):
        _onnx_precision(precision)
        backend = OnnxBackend(path, log=log)
        return backend.ckpt, backend
    try:
        from .checkpoint import load_checkpoint
    except ImportError as exc:
        raise CheckpointError(
            f"{path} is a PyTorch checkpoint and PyTorch is not installed: install it "
            "(Plugins > S4 > Dependencies, 'training (PyTorch)') or map with an ONNX export of "
            "the model (s4 export-onnx, on a machine with PyTorch)"
        ) from exc
    ckpt = load_checkpoint(path)
    if ckpt.get("kind") != "finetuned":
        raise CheckpointError(
            f"{path}: a {ckpt.get('kind', 'unknown')} checkpoint cannot segment: fine-tune it "
            "on labelled polygons first"
        )
    return ckpt, TorchBackend(ckpt, device, log, precision)


def backend_for(
    ckpt: Dict[str, Any],
    device: DeviceLike = "auto",
    log: Optional[Log] = None,
    precision: str = "fp32",
) -> Backend:
    """The backend of a loaded checkpoint dict (an ONNX model's dict carries ``onnx_path``).

    ``precision``: "fp32" or "bf16" (see :class:`TorchBackend`).
    """
    if ckpt.get("onnx_path"):
        _onnx_precision(precision)
        return OnnxBackend(ckpt["onnx_path"], log=log)
    if "state_dict" not in ckpt:
        raise DataError("the model holds no weights: give a fine-tuned checkpoint")
    return TorchBackend(ckpt, device, log, precision)


Backend = Union[TorchBackend, OnnxBackend]
"""A model ready to map: PyTorch or ONNX Runtime (same ``predict`` interface)."""

"""The S4 checkpoint format: everything needed to run a model later without its training data.

A checkpoint is a ``torch.save`` file holding one plain dict (dicts, lists, tuples, strings,
numbers, booleans, None and tensors only), so it loads with ``torch.load(weights_only=True)``
and no code from the file is ever executed. Keys:

=================  =====================================================================
``format``         ``"s4-checkpoint"`` (added by ``save_checkpoint``)
``format_version`` ``FORMAT_VERSION`` (added); other versions are refused with a clear error
``engine_version`` ``s4_core.__version__`` of the writer (added)
``created``        ISO 8601 UTC time of writing (added)
``kind``           ``"pretrained"`` or ``"finetuned"``
``net_config``     ``NetConfig.to_dict()``
``state_dict``     the network's ``state_dict()`` (CPU tensors)
``modality``       inference modality ``"s1"`` / ``"s2"`` (fine-tuned), None (pretrained)
``bands``          ``{modality: [band names in input order]}``
``band_stats``     ``{modality: BandStats.to_dict()}`` (input normalisation)
``time``           ``{"length": int, "mode": "repeat" | "clip" | "even"}``
``classes``        ``ClassMap.to_dict()`` (names, values, colours); None when pretrained
``class_field``    fine-tuned: the labels' field the classes came from (absent in older files)
``metrics``        the checkpoint's metrics (e.g. validation OA / mIoU); ``history``: per epoch
``optimizer``      optimizer ``state_dict()``; ``epoch``, ``seed``: for resuming
``objective``      pretrained: the objective and its settings (``{"name": "s4" | "mae" |
                   "dino" | "joint-mae", ...}``; absent = "s4"); ``extra_state``: the
                   objective's own modules (mask tokens, DINO teacher) for resuming
``pretraining``    fine-tuned: the ``objective`` of the ``init`` checkpoint (None: scratch)
=================  =====================================================================

Further plain keys (e.g. ``train_config``, ``init``) are kept as they are. Files are written
atomically (temporary file in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import collections
import datetime as _dt
import math
import os
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Optional, Union

import numpy as np
import torch

from . import __version__
from .composite import model_s1_ratio
from .errors import NO_READ_ACCESS, CheckpointError
from .labels import class_list
from .types import PathLike
from .validate import checkpoint_file_problem, claim_temp, release_temp, temp_path

if TYPE_CHECKING:
    from .model import S4Net

FORMAT = "s4-checkpoint"
FORMAT_VERSION = 1
KINDS = ("pretrained", "finetuned")
TIME_MODES = ("repeat", "clip", "even")


__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "build_model",
    "describe",
    "load_checkpoint",
    "parameter_count",
    "save_checkpoint",
]

_BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")


def _plain(value: object, where: str) -> object:
    """``value`` made of types ``torch.load(weights_only=True)`` accepts; TypeError otherwise.

    numpy scalars become Python numbers, numpy arrays tensors, paths strings, dates ISO text.
    """
    if value is None or isinstance(value, (bool, str, torch.Tensor, torch.Size)):
        return value
    if isinstance(value, (int, float)) and type(value) in (int, float):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.array(value, copy=True))
    if isinstance(value, (int, float)):  # subclasses (e.g. IntEnum) -> plain
        return float(value) if isinstance(value, float) else int(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        out = collections.OrderedDict() if isinstance(value, collections.OrderedDict) else {}
        for key, item in value.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"checkpoint key {where}[{key!r}]: keys must be str or int")
            out[key] = _plain(item, f"{where}[{key!r}]")
        meta = getattr(value, "_metadata", None)  # state_dict versions, used by load_state_dict
        if meta is not None:
            out._metadata = _plain(dict(meta), f"{where}._metadata")  # type: ignore[attr-defined]
        return out
    if isinstance(value, (list, tuple)):
        items = [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    raise TypeError(
        f"checkpoint entry {where} is a {type(value).__name__}: store plain dicts, lists, "
        "strings, numbers and tensors only (e.g. obj.to_dict())"
    )


def save_checkpoint(path: PathLike, payload: Dict[str, Any]) -> Path:
    """Write ``payload`` as a checkpoint at ``path`` atomically; returns the path.

    Adds ``format``, ``format_version``, ``engine_version`` and ``created``.
    """
    path = Path(os.fspath(path))
    if payload.get("kind") not in KINDS:
        raise ValueError(f"checkpoint kind must be one of {KINDS}, not {payload.get('kind')!r}")
    data = _plain(dict(payload), "payload")
    assert isinstance(data, dict)
    data.update(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        engine_version=__version__,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CheckpointError(f"cannot create the folder of {path}: {exc}") from exc
    tmp = temp_path(path)
    lock = None
    try:
        lock = claim_temp(tmp)  # marks it as being written (remove_stale_temps)
        with open(tmp, "wb") as fh:
            torch.save(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:  # torch's zip writer: RuntimeError on a full disk
        raise CheckpointError(
            f"cannot write the checkpoint {path}: {exc}; check the folder is writable and the "
            "disk has space"
        ) from exc
    finally:
        if tmp.exists():
            tmp.unlink()
        release_temp(lock)
    return path


def _require(ckpt: dict, key: str, path: Path, kind: str) -> object:
    if ckpt.get(key) is None:
        raise CheckpointError(
            f"{path} is an incomplete {kind} checkpoint: it has no {key!r}; re-create it with "
            "s4 pretrain / s4 finetune"
        )
    return ckpt[key]


def _validate(ckpt: dict, path: Path) -> None:
    kind = ckpt.get("kind")
    if kind not in KINDS:
        raise CheckpointError(f"{path}: unknown checkpoint kind {kind!r} (expected one of {KINDS})")
    for key in ("net_config", "state_dict", "bands", "band_stats", "time"):
        _require(ckpt, key, path, kind)
    from .model import NetConfig

    try:
        NetConfig.from_dict(dict(ckpt["net_config"]))
    except (CheckpointError, TypeError, ValueError) as exc:  # settings of a newer engine
        raise CheckpointError(f"{path}: {exc}") from None
    time = ckpt["time"]
    if not isinstance(time, dict) or "length" not in time or time.get("mode") not in TIME_MODES:
        raise CheckpointError(
            f"{path}: invalid time policy {time!r}; expected {{'length': int, 'mode': one of "
            f"{TIME_MODES}}}"
        )
    if kind == "finetuned":
        modality = _require(ckpt, "modality", path, kind)
        if modality not in ("s1", "s2", "both"):
            raise CheckpointError(
                f"{path}: inference modality {modality!r} is not 's1', 's2' or 'both'"
            )
        for key in ("bands", "band_stats"):
            for m in ("s1", "s2") if modality == "both" else (modality,):
                if m not in ckpt[key]:
                    raise CheckpointError(
                        f"{path}: fine-tuned for {modality.upper()} but has no {key!r} for "
                        f"{m.upper()}; re-create it with s4 finetune"
                    )
        _require(ckpt, "classes", path, kind)


def load_checkpoint(
    path: PathLike, map_location: Union[str, torch.device] = "cpu"
) -> Dict[str, Any]:
    """Read and validate a checkpoint (``weights_only=True``: no code from the file runs).

    Raises CheckpointError naming the file when it is missing, not a checkpoint, truncated,
    incomplete, or of another format version.
    """
    path = Path(os.fspath(path))
    if path.is_dir():
        raise CheckpointError(
            f"{path} is a folder, not a model file: give the .pt file written by s4 pretrain / "
            "s4 finetune"
        )
    if not path.is_file():
        raise CheckpointError(f"model file {path} does not exist: check the path")
    problem = checkpoint_file_problem(path)  # an ONNX export, a GeoTIFF ...: named as such
    if problem:
        raise CheckpointError(problem)
    try:
        with warnings.catch_warnings():
            # torch's notices about the file's pickle protocol: the error below says what it is
            warnings.simplefilter("ignore", UserWarning)
            ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except PermissionError:
        raise CheckpointError(f"cannot read the model file {path}: {NO_READ_ACCESS}") from None
    except Exception as exc:  # truncated zips (OSError), unpickling errors of every kind
        text = str(exc)
        if "weights only" in text.lower() or "weights_only" in text:
            # torch's own advice (weights_only=False: run the file's code) is never passed on
            found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
            what = f" (a {found.group(1)})" if found else ""
            why = f"it holds Python objects{what} other than plain data: not written by S4"
        else:
            first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
            why = f"it is not a PyTorch file or it is truncated/corrupt ({first})"
        raise CheckpointError(
            f"cannot read the model file {path}: {why}. Give a .pt file written by "
            "s4 pretrain / s4 finetune (re-copy it if it was cut short)"
        ) from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is a PyTorch file but not an S4 checkpoint (no format tag {FORMAT!r}): give "
            "a model written by s4 pretrain / s4 finetune"
        )
    version = ckpt.get("format_version")
    engine = ckpt.get("engine_version", "unknown")
    if version != FORMAT_VERSION:
        if isinstance(version, int) and version > FORMAT_VERSION:
            hint = f"update S4 (this is engine {__version__}) to read it"
            age = "newer"
        else:
            hint = "re-create the model with this version (s4 pretrain / s4 finetune)"
            age = "older"
        raise CheckpointError(
            f"{path} has checkpoint format version {version} (written by S4 engine {engine}), "
            f"{age} than the version {FORMAT_VERSION} this engine ({__version__}) reads: {hint}"
        )
    _validate(ckpt, path)
    return ckpt


def build_model(ckpt: Dict[str, Any]) -> S4Net:
    """The checkpoint's ``S4Net`` with its weights loaded, in eval mode (on the CPU)."""
    from .model import NetConfig, S4Net

    try:
        model = S4Net(NetConfig.from_dict(ckpt["net_config"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(
            f"the checkpoint's network configuration cannot be built by this engine "
            f"({__version__}): {exc}"
        ) from exc
    try:
        model.load_state_dict(ckpt["state_dict"], strict=True)
    except RuntimeError as exc:
        raise CheckpointError(
            "the checkpoint's weights do not fit its network configuration (written by S4 "
            f"engine {ckpt.get('engine_version', 'unknown')}): {str(exc).splitlines()[0]}"
        ) from exc
    return model.eval()


def parameter_count(state_dict: Dict[str, Any]) -> int:
    """Learnable parameters in a state_dict: all floating tensors but BatchNorm statistics."""
    total = 0
    for key, value in state_dict.items():
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            continue
        if key.rsplit(".", 1)[-1] in _BUFFER_SUFFIXES:
            continue
        total += value.numel()
    return total


def _finite_or_none(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, torch.Tensor):
        return _finite_or_none(value.item() if value.numel() == 1 else value.tolist())
    if isinstance(value, dict):
        return {str(k): _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def describe(path: PathLike) -> Dict[str, Any]:
    """JSON-friendly summary of a checkpoint (what ``s4 info MODEL`` prints)."""
    path = Path(os.fspath(path))
    ckpt = load_checkpoint(path)
    classes = class_list(ckpt.get("classes") or None)
    bands = {str(m): list(b) for m, b in (ckpt.get("bands") or {}).items()}
    modality = ckpt.get("modality")
    if ckpt["kind"] == "finetuned" and modality in ("s1", "s2"):
        # the sensor it maps from: the other one's input layers are left from pretraining
        bands = {m: b for m, b in bands.items() if m == modality}
    history = ckpt.get("history") or []
    return {
        "path": str(path),
        "file_size_bytes": path.stat().st_size,
        "format": ckpt["format"],
        "format_version": ckpt["format_version"],
        "engine_version": ckpt.get("engine_version"),
        "created": ckpt.get("created"),
        "kind": ckpt["kind"],
        "modality": modality,
        "modalities": sorted(bands),
        "bands": bands,
        "n_classes": len(classes),
        "classes": classes,
        "time": {"length": int(ckpt["time"]["length"]), "mode": ckpt["time"]["mode"]},
        "metrics": _finite_or_none(ckpt.get("metrics") or {}),
        "epoch": ckpt.get("epoch"),
        "epochs_recorded": len(history),
        "history": _finite_or_none(list(history)),
        "seed": ckpt.get("seed"),
        "parameters": parameter_count(ckpt["state_dict"]),
        "net_config": _finite_or_none(ckpt["net_config"]),
        "resumable": bool(ckpt.get("optimizer")),
        "objective": _finite_or_none(_objective(ckpt)),
        "input": _finite_or_none(dict(ckpt.get("input") or {})),
        "s1_ratio": model_s1_ratio(ckpt),
    }


def _objective(ckpt: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The pretraining objective of a checkpoint (None: trained from scratch).

    A pretrained checkpoint's own (older ones: S4), or the one a fine-tuned model started from.
    """
    if ckpt["kind"] == "pretrained":
        return ckpt.get("objective") or {"name": "s4"}
    return ckpt.get("pretraining")

"""Describe a model checkpoint and/or the system (versions, CUDA devices).

Describe a model (MODEL: a checkpoint .pt, or an ONNX model written by s4 export-onnx) and/or
the system S4 runs on (--system: Python, GDAL, numpy, torch, CUDA devices and memory). With
neither, describes the system. --json prints {'model': ..., 'system': ...} with the parts asked
for.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Dict

from ..errors import CheckpointError
from ..results import json_text


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``s4 info``."""
    p.add_argument(
        "model",
        nargs="?",
        type=Path,
        metavar="MODEL",
        help="a checkpoint (.pt) or an ONNX model (.onnx, s4 export-onnx)",
    )
    p.add_argument("--system", action="store_true", help="describe the system")
    p.add_argument("--json", action="store_true", help="print JSON")


def describe_model(path: Path) -> Dict[str, Any]:
    """``api.model_info(path)``: a checkpoint's description (needs torch) or an ONNX model's."""
    from ..backends import is_onnx

    if not path.is_file() and not is_onnx(path):
        what = "is a folder, not a model file" if path.is_dir() else "does not exist"
        raise CheckpointError(
            f"{path} {what}: give the .pt file written by 's4 pretrain' or 's4 finetune', or "
            "the .onnx file written by 's4 export-onnx'"
        )
    from ..api import model_info

    return model_info(path)


def _format_model(path: Path, info: Dict[str, Any]) -> str:
    from ..diagnostics import format_mapping

    info = dict(info)
    history = info.pop("history", None) or []
    return f"Model {path}\n" + format_mapping(info, 1) + _format_history(history)


def _format_history(history: list) -> str:
    """The per-epoch records as a small table (``--json`` prints them in full)."""
    if not history:
        return ""
    keys = [k for k in dict.fromkeys(k for r in history for k in r) if k != "epoch"]
    lines = ["  history (per epoch):", "    epoch  " + "  ".join(f"{k:>12s}" for k in keys)]
    for i, record in enumerate(history):
        cells = []
        for k in keys:
            v = record.get(k)
            cells.append(f"{v:12.4g}" if isinstance(v, (int, float)) else f"{'':>12s}")
        lines.append(f"    {record.get('epoch', i + 1)!s:>5}  " + "  ".join(cells))
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Run ``s4 info`` with the parsed ``args``; the exit status."""
    from ..diagnostics import format_report, system_report

    want_system = args.system or args.model is None
    out: Dict[str, Any] = {}
    if args.model is not None:
        out["model"] = describe_model(args.model)
    if want_system:
        out["system"] = system_report()
    if args.json:
        print(json_text(out, indent=1))
        return 0
    parts = []
    if "model" in out:
        parts.append(_format_model(args.model, out["model"]))
    if "system" in out:
        parts.append(format_report(out["system"]))
    print("\n".join(parts), end="")
    return 0

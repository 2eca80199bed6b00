"""Export a fine-tuned model to ONNX (mapping with ONNX Runtime, no PyTorch).

Export a fine-tuned checkpoint to ONNX. The model's band names, normalisation, time policy,
classes and colours go into the ONNX metadata and into a model card (JSON, same name as OUT with
.json). 's4 segment --model OUT' and the QGIS algorithm then map with ONNX Runtime alone
(identical class maps). Exporting needs PyTorch and the onnx package.
"""

from __future__ import annotations

import argparse

from .common import print_result


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``s4 export-onnx``."""
    p.add_argument("model", help="fine-tuned checkpoint (.pt)")
    p.add_argument("out", help="ONNX model to write (.onnx)")
    p.add_argument("--json", action="store_true", help="print the model card as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``s4 export-onnx`` with the parsed ``args``; the exit status."""
    from .. import api

    card = api.export_onnx(args.model, args.out)
    names = ", ".join(c for c in card["classes"]["names"])
    lines = [
        f"wrote {card['path']} and its model card {card['card']}",
        f"  {card['modality'].upper()} bands {', '.join(card['bands'])}; "
        f"time {card['time']['length']} frames ({card['time']['mode']}); head {card['head']}",
        f"  classes: {names}",
    ]
    print_result(card, args.json, lines)
    return 0

"""Score a class raster (OA, mIoU, per-class IoU, confusion matrix).

Compare a class raster written by 's4 segment' with a reference: a polygon layer (give --class-
field; its values are matched to the prediction's class names or values) or a raster (an S4
class raster, matched by class name, or raw class codes matched to the model's class values).
Reference classes the model does not know and pixels the prediction leaves as nodata are not
scored (both are reported). mIoU averages the classes present in the reference or the
prediction.
"""

from __future__ import annotations

import argparse
from typing import List, Optional

from ..settings import EVALUATE
from .common import add_settings, print_result, settings_from


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``s4 evaluate``."""
    p.add_argument("--pred", required=True, help="class raster written by s4 segment")
    p.add_argument("--truth", required=True, help="reference polygons or raster")
    add_settings(p, EVALUATE)
    p.add_argument(
        "--figure", default=None, help="also write the confusion matrix as a figure (.png/.svg)"
    )
    p.add_argument("--html", default=None, help="also write an HTML report (scores + figure)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _fmt(value: Optional[float]) -> str:
    """A score in 6 characters ("-" for None)."""
    return "   -  " if value is None else f"{value:6.3f}"


def format_scores(result: dict) -> List[str]:
    """Human-readable lines: OA, mIoU, per-class IoU and the confusion matrix."""
    names = result["class_names"]
    lines = [
        f"prediction {result['prediction']}",
        f"reference  {result['truth']} ({result['truth_type']})",
        f"pixels scored {result['n_pixels']}",
        f"overall accuracy {_fmt(result['oa']).strip()}",
        f"mIoU             {_fmt(result['miou']).strip()} (over {result['n_present']} classes)",
        "per-class IoU:",
    ]
    width = max([len(n) for n in names] + [5])
    for name, iou, support in zip(names, result["iou"], result["support"]):
        lines.append(f"  {name:{width}s} {_fmt(iou)}  ({support} reference px)")
    lines.append("confusion matrix (rows reference, columns prediction):")
    digits = max([len(str(v)) for row in result["confusion_matrix"] for v in row] + [4])
    cells = max(digits, min(10, max(len(n) for n in names)))
    short = [n[:cells] for n in names]
    lines.append("  " + " " * width + " " + " ".join(f"{n:>{cells}s}" for n in short))
    for name, row in zip(names, result["confusion_matrix"]):
        lines.append(f"  {name:{width}s} " + " ".join(f"{v:{cells}d}" for v in row))
    if result.get("unmatched"):
        from ..evaluate import unmatched_text

        lines.append(
            "reference classes the model does not know (not scored): "
            + unmatched_text(result["unmatched"])
        )
    if result.get("unpredicted_pixels"):
        lines.append(
            f"reference pixels left as nodata by the prediction: {result['unpredicted_pixels']}"
        )
    return lines


def run(args: argparse.Namespace) -> int:
    """Run ``s4 evaluate`` with the parsed ``args``; the exit status."""
    from .. import api
    from ..report import check_report_outputs

    check_report_outputs(
        args.pred,
        args.truth,
        {"--figure figure": args.figure, "--html report": args.html},
        figure="--figure figure",
        html="--html report",
    )
    result = api.evaluate(args.pred, args.truth, **settings_from(args, EVALUATE))
    lines = format_scores(result)
    if args.figure or args.html:
        written = api.evaluation_report(result, figure_out=args.figure, html_out=args.html)
        result.update({f"{k}_path": v for k, v in written.items() if v})
        lines += [f"wrote {v}" for v in written.values() if v]
    print_result(result, args.json, lines)
    return 0

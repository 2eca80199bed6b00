"""Map a scene with a fine-tuned model (S1, S2 or both, as the model says).

Segment an S1 or S2 time series (both, for a model fine-tuned with --modality both) with a
fine-tuned checkpoint into a class raster (uint8 GeoTIFF, 255 = nodata, colour table and class
names), optionally polygons (GeoPackage layer 'classes') and per-class probabilities. SRC is a
folder of per-date GeoTIFFs, a multi-band stack, or several files. The scene is processed in
overlapping windows; about OVERLAP/2 px are cropped on each inner side of a window.
"""

from __future__ import annotations

import argparse

from ..settings import SEGMENT
from .common import (
    TqdmProgress,
    add_output_args,
    add_settings,
    print_result,
    settings_from,
    sources,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``s4 segment``."""
    p.add_argument(
        "--model",
        required=True,
        help="fine-tuned checkpoint (.pt, needs PyTorch) or its ONNX export (.onnx, needs only "
        "ONNX Runtime; s4 export-onnx)",
    )
    p.add_argument("--s2", nargs="+", metavar="SRC", help="Sentinel-2 folder, stack or files")
    p.add_argument("--s1", nargs="+", metavar="SRC", help="Sentinel-1 folder, stack or files")
    p.add_argument("--out", required=True, help="class raster to write (.tif)")
    p.add_argument("--vector", default=None, help="also write polygons to this GeoPackage")
    p.add_argument(
        "--probabilities", default=None, help="also write per-class probabilities (.tif)"
    )
    p.add_argument(
        "--confidence",
        default=None,
        help="also write the confidence (.tif): band 1 the largest class probability, band 2 "
        "its margin over the second",
    )
    p.add_argument(
        "--bounds",
        nargs=4,
        type=float,
        default=None,
        metavar=("LEFT", "BOTTOM", "RIGHT", "TOP"),
        help="only this area (in the imagery's CRS)",
    )
    add_settings(p, SEGMENT)
    add_output_args(p)


def run(args: argparse.Namespace) -> int:
    """Run ``s4 segment`` with the parsed ``args``; the exit status."""
    from .. import api

    if not args.s1 and not args.s2:
        raise SystemExit("s4 segment: give --s2 or --s1 (both for a model fine-tuned for both)")
    with TqdmProgress("segment", disable=args.quiet) as bar:
        result = api.segment(
            args.model,
            args.out,
            s1=sources(args.s1),
            s2=sources(args.s2),
            bounds=args.bounds,
            vector_out=args.vector,
            probabilities_out=args.probabilities,
            confidence_out=args.confidence,
            progress=bar,
            log=bar.log,
            **settings_from(args, SEGMENT),
        )
    total = sum(result["pixel_counts"].values()) or 1
    lines = [f"wrote {result['path']} ({result['seconds']:.1f} s on {result['device']})"]
    if result.get("vector"):
        lines.append(f"wrote {result['n_polygons']} polygons to {result['vector']}")
    if result.get("probabilities"):
        lines.append(f"wrote probabilities to {result['probabilities']}")
    if result.get("confidence"):
        lines.append(f"wrote confidence to {result['confidence']}")
    for name, count in result["pixel_counts"].items():
        lines.append(f"  {name:24s} {count:10d} px  {100.0 * count / total:5.1f} %")
    print_result(result, args.json, lines)
    return 0

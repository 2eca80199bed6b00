"""Align S1 and S2 series on one grid and in time; write GeoTIFF stacks + dates.csv.

Resample S1 and S2 onto one reference grid (default: the S2 grid) and pair each date of the
shorter series with the other's nearest acquisition. Writes s1_aligned.tif, s2_aligned.tif
(bands YYYY-MM-DD_BAND, NaN = invalid) and dates.csv.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from ..settings import ALIGN
from .common import TqdmProgress, add_settings, settings_from, sources


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``s4 align``."""
    p.add_argument("--s1", nargs="+", default=None, help="S1 folder, stack or files")
    p.add_argument("--s2", nargs="+", default=None, help="S2 folder, stack or files")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--bounds",
        type=float,
        nargs=4,
        default=None,
        metavar=("L", "B", "R", "T"),
        help="reference extent (left bottom right top) in the reference CRS",
    )
    lin = p.add_mutually_exclusive_group()
    lin.add_argument(
        "--s1-linear",
        dest="s1_linear",
        action="store_const",
        const=True,
        default=None,
        help="S1 values are linear power (convert to dB)",
    )
    lin.add_argument(
        "--s1-db",
        dest="s1_linear",
        action="store_const",
        const=False,
        help="S1 values are already dB (default: detected)",
    )
    add_settings(p, ALIGN)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Run ``s4 align`` with the parsed ``args``; the exit status."""
    from ..align import alignment_summary, build_scene, write_aligned
    from ..control import Control
    from ..errors import DataError
    from ..series import open_series
    from ..validate import check_align

    if not args.s1 and not args.s2:
        raise DataError("give --s1 and/or --s2 (folders, stacks or files)")
    check_align(args.s1, args.s2, args.out, **settings_from(args, ALIGN, api_only=False))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s1 = open_series(sources(args.s1), "s1", s1_linear=args.s1_linear) if args.s1 else None
        s2 = (
            open_series(
                sources(args.s2),
                "s2",
                s2_offset=args.s2_offset,
                max_cloud_fraction=args.max_cloud_fraction,
            )
            if args.s2
            else None
        )
        scene = build_scene(
            s1,
            s2,
            crs=args.crs,
            resolution=args.resolution,
            bounds=args.bounds,
            max_gap_days=args.max_gap_days,
        )
    messages = list(dict.fromkeys(str(w.message) for w in caught))
    for m in messages:  # on stderr, as the other commands' warnings (stdout stays JSON)
        print(f"s4 align: warning: {m}", file=sys.stderr)
    with TqdmProgress("align", disable=args.quiet) as bar:
        paths = write_aligned(scene, args.out, control=Control(progress=bar), block=args.block)
    summary = alignment_summary(scene, paths["dates_csv"])
    summary["outputs"] = {k: str(v) for k, v in paths.items()}
    summary["warnings"] = messages
    if args.json:
        print(json.dumps(summary))
        return 0
    xres, yres = summary["resolution"]
    cf = summary.get("cloud_free_fraction")
    lines = [
        f"frames      {summary['frames']} (reference {summary['reference'].upper()}: "
        f"S1 {summary['s1_acquisitions']} dates, S2 {summary['s2_acquisitions']} dates; "
        f"{summary['valid_frames']} valid)",
        f"grid        {summary['width']} x {summary['height']} px at {xres:g} x {yres:g}, "
        f"{summary['crs'] if summary['crs'].startswith('EPSG') else 'custom CRS'}",
        f"dates       {summary['first_date']} .. {summary['last_date']}",
        "cloud-free  " + (f"{cf:.1%} of S2 pixels" if cf is not None else "n/a (no S2)"),
        "median gap  "
        + (
            f"{summary['median_gap_days']:g} days (max {summary['max_gap_days']:g})"
            if summary["median_gap_days"] is not None
            else "n/a (one modality)"
        ),
    ]
    lines += [f"wrote       {p}" for p in summary["outputs"].values()]
    for line in lines:
        print(line)
    return 0

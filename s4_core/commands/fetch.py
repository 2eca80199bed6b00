"""Download S1/S2 time series of an area from a STAC catalog (per-date GeoTIFFs).

Search a STAC API for Sentinel-2 L2A and Sentinel-1 items over an area and a date range, read
only the area's window of each Cloud-Optimised GeoTIFF, reproject onto one grid (the area's UTM
zone at 10 m by default) and write OUT/S2/S2_L2A_YYYYMMDD.tif, OUT/S1/S1_<collection>_YYYYMMDD.tif
and OUT/manifest.json. Running it again resumes.
"""

from __future__ import annotations

import argparse
import json
from typing import Optional

from ..settings import FETCH
from .common import add_settings, settings_from


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``s4 fetch``; the description also lists the STAC presets."""
    from ..stac import PRESETS

    p.description = (p.description or "") + (
        " Presets: "
        + "; ".join(
            f"{p.name} ({p.url}, S2 {p.s2_collection or '-'}, S1 {p.s1_collection or '-'})"
            for p in PRESETS.values()
        )
        + ". cdse reads S4_CDSE_USER / S4_CDSE_PASSWORD from the environment."
    )
    p.add_argument(
        "--stac", default="earth-search", help="preset name or STAC API URL (default earth-search)"
    )
    p.add_argument(
        "--s2-collection",
        default="",
        help="S2 L2A collection (default: the preset's; 'none' to skip Sentinel-2)",
    )
    p.add_argument(
        "--s1-collection",
        default="",
        help="S1 backscatter collection (default: the preset's; 'none' to skip Sentinel-1)",
    )
    area = p.add_mutually_exclusive_group(required=True)
    area.add_argument(
        "--bbox", type=float, nargs=4, metavar=("W", "S", "E", "N"), help="area bounds"
    )
    area.add_argument("--area", default=None, help="vector file whose extent is the area")
    p.add_argument("--bbox-crs", default="EPSG:4326", help="CRS of --bbox (default EPSG:4326)")
    p.add_argument("--start", required=True, help="first date, YYYY-MM-DD")
    p.add_argument("--end", required=True, help="last date, YYYY-MM-DD (inclusive)")
    add_settings(p, FETCH)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _collection(value: str) -> Optional[str]:
    """A collection option: "none" skips that sensor (None)."""
    return None if value.lower() == "none" else value


def run(args: argparse.Namespace) -> int:
    """Run ``s4 fetch`` with the parsed ``args``; the exit status."""
    from ..stac import fetch_time_series
    from .common import TqdmProgress

    with TqdmProgress("fetch", disable=args.quiet) as bar:
        summary = fetch_time_series(
            args.stac,
            args.out,
            bbox=args.bbox,
            bbox_crs=args.bbox_crs,
            area=args.area,
            start=args.start,
            end=args.end,
            s2_collection=_collection(args.s2_collection),
            s1_collection=_collection(args.s1_collection),
            progress=bar,
            log=bar.log,
            **settings_from(args, FETCH),
        )
    if args.json:
        print(json.dumps(summary))
        return 0
    grid = summary["grid"]
    lines = [
        f"grid        {grid['width']} x {grid['height']} px, {grid['crs']}",
        f"Sentinel-2  {len(summary['s2_dates'])} dates in {summary['s2_dir'] or '-'}"
        + (
            f" ({len(summary['s2_cloudy_dates'])} cloudy dates skipped)"
            if summary["s2_cloudy_dates"]
            else ""
        ),
        f"Sentinel-1  {len(summary['s1_dates'])} dates in {summary['s1_dir'] or '-'}",
        f"read        {summary['bytes_read'] / 1e6:.1f} MB",
        f"manifest    {summary['manifest']}",
    ]
    for line in lines:
        print(line)
    return 0

"""Write the synthetic demo scene (S1 + S2 per-date GeoTIFFs, parcels, truth).

Write a synthetic but realistic scene: parcels of several crops with distinct phenology, seen by
Sentinel-2 (10 m, clouds) and Sentinel-1 (20 m, speckle) on different dates and grids, laid out
like exported Sentinel data.
"""

from __future__ import annotations

import argparse
import json

from ..settings import DEMO
from .common import add_settings, settings_from


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``s4 demo-data``."""
    p.add_argument("--out", required=True, help="output folder (new or empty)")
    add_settings(p, DEMO)
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an earlier demo scene in --out (its own files: S1/, S2/ images, "
        "labels/truth.tif, labels/parcels.gpkg, scene.json; anything else in --out is kept)",
    )
    p.add_argument("--json", action="store_true", help="print the paths as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``s4 demo-data`` with the parsed ``args``; the exit status."""
    from ..demo import load_meta, make_demo_scene

    scene = make_demo_scene(args.out, overwrite=args.overwrite, **settings_from(args, DEMO))
    meta = load_meta(scene.root)
    info = {
        "root": str(scene.root),
        "s2": str(scene.s2_dir),
        "s1": str(scene.s1_dir),
        "parcels": str(scene.parcels),
        "truth": str(scene.truth),
        "class_field": scene.class_field,
        "classes": scene.class_names,
        "n_s2": len(meta["s2_dates"]),
        "n_s1": len(meta["s1_dates"]),
        "n_parcels": meta["parcels"],
    }
    if args.json:
        print(json.dumps(info))
        return 0
    print(f"demo scene written to {scene.root}")
    print(
        f"  Sentinel-2  {scene.s2_dir}  ({info['n_s2']} dates, 10 m, {args.size} x {args.size} px)"
    )
    print(f"  Sentinel-1  {scene.s1_dir}  ({info['n_s1']} dates, 20 m)")
    print(
        f"  parcels     {scene.parcels}  (layer 'parcels', class field '{scene.class_field}', "
        f"{info['n_parcels']} polygons)"
    )
    print(f"  truth       {scene.truth}  (class index, 255 = no label)")
    print(f"  classes     {', '.join(scene.class_names)}")
    return 0

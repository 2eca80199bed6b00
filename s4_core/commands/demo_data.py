"""Write the synthetic demo scene (S1 + S2 per-date GeoTIFFs, parcels, truth).

Write a synthetic but realistic scene: parcels of several crops with distinct phenology, seen by
Sentinel-2 (10 m, clouds) and Sentinel-1 (20 m, speckle) on different dates and grids, laid out
like exported Sentinel data.
"""

from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``s4 demo-data``."""
    p.add_argument("--out", required=True, help="output folder (new or empty)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same scene)")
    p.add_argument("--size", type=int, default=128, help="S2 grid side in 10 m pixels")
    p.add_argument("--s2-dates", type=int, default=24, help="number of Sentinel-2 dates")
    p.add_argument("--s1-dates", type=int, default=30, help="number of Sentinel-1 dates")
    p.add_argument("--classes", type=int, default=5, help="number of crop classes (2-7)")
    p.add_argument(
        "--overwrite", action="store_true", help="replace an earlier demo scene in --out"
    )
    p.add_argument("--json", action="store_true", help="print the paths as JSON")


def run(args: argparse.Namespace) -> int:
    from ..demo import load_meta, make_demo_scene

    scene = make_demo_scene(
        args.out,
        seed=args.seed,
        size=args.size,
        n_s2=args.s2_dates,
        n_s1=args.s1_dates,
        n_classes=args.classes,
        overwrite=args.overwrite,
    )
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

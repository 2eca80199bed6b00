"""An analyst's few labels on real sites: S4's default path against a per-pixel Random Forest.

Per labelled site of ``../shared/data`` (flanders_2018, tanzania_2021), on its own:

1. S4 pretraining with the engine defaults (``api.pretrain``) on the site's own unlabelled
   S1 + S2 series (``--extra`` adds the Liege 2021 imagery as a second scene).
2. Per seed and K (squares per class): K squares of 5 x 5 px per class drawn strictly inside
   parcels of that class (``sites.draw_squares``), written as polygons; every other labelled
   pixel, less a 1-px margin around the squares, is the test set.
3. Per inference modality (S2, S1) and method, train on the squares, map the site, score
   the test pixels (mIoU over the classes present in the test truth, OA, per-class IoU):
   - ``s4``: the default path, ``api.finetune(init=pretrained)`` then ``api.segment``;
   - ``rf``: scikit-learn Random Forest (300 trees) per pixel on monthly median composites
     (S2 masked with SCL 0 1 3 8 9 10, S1 dB, months without a clear value filled);
   - ``pixel-scratch``: the default head on an untrained (random) network (what pretraining
     adds to the head);
   - ``unet-scratch``: the 3D U-Net fine-tuned from random weights (the paper's supervised
     baseline), and ``unet-s4``: the paper's fine-tuning from the pretrained network
     (``--unet``; slow on a CPU);
   - ``--objectives mae-s1 dino-s1 joint-mae`` (also ``mae-s2``, ``dino-s2``): the same default
     path from a network pretrained with that objective instead of S4 (``objectives/``: MAE or
     DINO on one sensor, joint S1 + S2 MAE), one row each, pretraining minutes in the notes.
   ``mae-s1-ratio``: MAE on S1 with the VV/VH ratio band (``s1_ratio``).
   ``--methods`` keeps only the named methods (e.g. ``rf mae-s1``; S4 is then not pretrained
   unless ``s4`` or ``unet-s4`` is named).
   ``--modalities both``: mapping from S1 + S2 together (``modality="both"``; the Random
   Forest on both sensors' composites), for S4, joint MAE and the scratch head.

Maps are made on the label grid (10 m: ``resolution=10``). One command prints the tables and
writes the ``squares`` section of docs/benchmarks.md::

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/squares.py --unet
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sites import (  # noqa: E402
    IGNORE,
    REPO,
    SITES,
    Site,
    data_root,
    draw_parcels,
    draw_squares,
    load_site,
    score,
    start_run,
    work_folder,
    write_md_section,
    written_by,
)

# objective rows: method name -> api.pretrain keywords
OBJECTIVE_RUNS = {
    "mae-s1": {"objective": "mae", "ssl_modality": "s1"},
    "mae-s1-ratio": {"objective": "mae", "ssl_modality": "s1", "s1_ratio": True},
    "dino-s1": {"objective": "dino", "ssl_modality": "s1"},
    "joint-mae": {"objective": "joint-mae"},
    "mae-s2": {"objective": "mae", "ssl_modality": "s2"},
    "dino-s2": {"objective": "dino", "ssl_modality": "s2"},
}

MD_START = "<!-- squares:start -->"
MD_END = "<!-- squares:end -->"
CREDIT = (
    "Contains modified Copernicus Sentinel data 2017-2022 (free and open). Imagery and labels "
    "converted from the test resources of the ESA WorldCereal project (MIT licence). Crop "
    "labels: LPIS Flanders, Informatie Vlaanderen open data; Tanzania: Copernicus GEOGLAM "
    "reference data."
)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="folder with worldcereal/ (default ../shared/data)")
    p.add_argument("--sites", nargs="+", default=list(SITES), choices=list(SITES))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--k", type=int, nargs="+", default=[1, 2, 5])
    p.add_argument("--modalities", nargs="+", default=["s2", "s1"], choices=["s2", "s1", "both"])
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (fixed)")
    p.add_argument(
        "--protocols",
        nargs="+",
        default=["squares", "parcels"],
        choices=["squares", "parcels"],
        help="squares: K 5x5 squares per class; parcels: K whole parcels per class, half of "
        "each class's parcels held out",
    )
    p.add_argument("--unet", action="store_true", help="also the 3D U-Net baselines (K = 2)")
    p.add_argument("--extra", action="store_true", help="pretrain also on Liege 2021")
    p.add_argument(
        "--objectives",
        nargs="+",
        default=[],
        choices=list(OBJECTIVE_RUNS),
        help="also these pretraining objectives, each a row (pixel head, as s4)",
    )
    p.add_argument("--methods", nargs="+", help="only these methods (default: all)")
    p.add_argument("--pretrain-epochs", type=int, help="default: the engine's")
    p.add_argument(
        "--pretrain-seed",
        type=int,
        help="seed of the pretraining run (default: the engine's, 0); how much the tables move "
        "with it alone is the pretraining-run noise (docs/benchmarks.md)",
    )
    p.add_argument("--widths", type=int, nargs="+", help="default: the engine's")
    p.add_argument("--work", help="folder for checkpoints and maps (default: a temp folder)")
    p.add_argument(
        "--reuse", action="store_true", help="reuse a pretrained checkpoint already in --work"
    )
    p.add_argument("--out-md", default=str(REPO / "docs" / "benchmarks.md"))
    p.add_argument("--no-md", action="store_true", help="print only")
    p.add_argument(
        "--render",
        nargs="+",
        metavar="WORK",
        help="no runs: write the tables from the rows.json / notes.json of earlier --work folders",
    )
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- baselines
def monthly_composites(site: Site, modality: str) -> np.ndarray:
    """(months * bands, H, W) gap-filled monthly medians of the site's series ("both": S1's
    and S2's stacked)."""
    from s4_core.composite import composite, fill_gaps, period_index, period_starts

    if modality == "both":
        return np.concatenate([monthly_composites(site, "s1"), monthly_composites(site, "s2")])

    x, dates = (site.s2, site.s2_dates) if modality == "s2" else (site.s1, site.s1_dates)
    starts = period_starts(dates[0], dates[-1])
    filled, _ = fill_gaps(composite(x, period_index(dates, starts), len(starts)))
    return np.nan_to_num(filled).reshape(-1, *site.shape)


def random_forest(features: np.ndarray, train: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.ensemble import RandomForestClassifier

    x = features.reshape(features.shape[0], -1).T
    y = train.ravel()
    ok = y != IGNORE
    clf = RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=1)
    clf.fit(x[ok], y[ok])
    return clf.predict(x).reshape(train.shape).astype(np.uint8)


# ----------------------------------------------------------------------------- S4 runs
def write_squares(site: Site, train: np.ndarray, path: Path) -> Path:
    """The training squares as polygons (one per connected square), field ``crop_name``."""
    import fiona
    from rasterio.features import shapes

    t = site.grid.transform
    schema = {"geometry": "Polygon", "properties": {"crop_name": "str"}}
    with fiona.open(
        path, "w", driver="GPKG", layer="squares", crs_wkt=site.grid.crs.to_wkt(), schema=schema
    ) as dst:
        for geom, value in shapes(train, mask=train != IGNORE, transform=t):
            props = {"crop_name": site.class_names[int(value)]}
            dst.write({"geometry": geom, "properties": props})
    return path


def read_map(path: Path, site: Site, classes: List[dict]) -> np.ndarray:
    """A class raster written by ``api.segment`` as site class indices on the label grid."""
    import rasterio
    from rasterio.warp import Resampling, reproject

    with rasterio.open(path) as src:
        data = src.read(1)
        if (src.height, src.width) != site.shape or src.transform != site.grid.transform:
            out = np.full(site.shape, IGNORE, np.uint8)
            reproject(
                data, out, src_transform=src.transform, src_crs=src.crs,
                dst_transform=site.grid.transform, dst_crs=site.grid.crs,
                resampling=Resampling.nearest, src_nodata=IGNORE, dst_nodata=IGNORE,
            )  # fmt: skip
            data = out
    lut = np.full(256, IGNORE, np.uint8)
    for c in classes:
        lut[c["index"]] = site.class_names.index(c["name"])
    return lut[data]


def run_engine(
    site: Site, squares: Path, modality: str, work: Path, tag: str, *, init, head, widths, seed
) -> Dict:
    from s4_core import api

    dirs = {"s1": str(site.root / "S1"), "s2": str(site.root / "S2")}
    model, out = work / f"{tag}.pt", work / f"{tag}.tif"
    kw = {"widths": widths} if widths else {}
    t0 = time.perf_counter()
    api.finetune(
        dirs["s1"], dirs["s2"], str(squares), "crop_name", str(model),
        modality=modality, init=init, head=head, resolution=10, seed=seed, **kw,
    )  # fmt: skip
    t1 = time.perf_counter()
    given = dirs if modality == "both" else {modality: dirs[modality]}
    res = api.segment(str(model), str(out), **given)
    t2 = time.perf_counter()
    pred = read_map(out, site, res["classes"])
    return {"pred": pred, "finetune_s": t1 - t0, "segment_s": t2 - t1}


# ----------------------------------------------------------------------------- report
def fmt(values: Sequence[float]) -> str:
    v = np.asarray(values, dtype=float) * 100
    return f"{v.mean():.1f} ± {v.std(ddof=1) if len(v) > 1 else 0:.1f}"


def _proto(r: dict) -> str:
    return r.get("protocol", "squares")


def trained_miou(r: dict) -> float:
    """mIoU over the test classes that got training pixels (``r["squares"]`` > 0): a class no
    square or parcel could be drawn for scores IoU 0 for every method and only scales the
    differences between methods."""
    trained = [c for c, n in r["squares"].items() if n > 0 and c in r["iou"]]
    return float(np.mean([r["iou"][c] for c in trained])) if trained else float("nan")


def miou(r: dict) -> float:
    """A row's mIoU (over the classes present in the test truth)."""
    return float(r["miou"])


def versus(sel: List[dict], rf: Dict[int, dict], score: Callable[[dict], float]) -> str:
    """Mean over seeds of ``score(row) - score(RF row of the same seed)``, in points."""
    diffs = [score(r) - score(rf[r["seed"]]) for r in sel if r["seed"] in rf]
    return f"{100 * np.mean(diffs):+.1f}" if diffs else ""


def summarise(rows: List[dict], site: str, protocol: str = "squares") -> List[str]:
    rows = [r for r in rows if r["site"] == site and _proto(r) == protocol]
    unit = "squares" if protocol == "squares" else "parcels"
    lines = [
        f"#### {site}: K {unit} per class",
        "",
        "| inference | K | method | runs | mIoU % | OA % | mIoU − RF (points) "
        "| mIoU, trained classes % | − RF (points) |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    keys = sorted(
        {(r["modality"], r["k"], r["method"]) for r in rows},
        key=lambda x: (["s2", "s1", "both"].index(x[0]), x[1], x[2] != "s4", x[2]),
    )
    for m, k, meth in keys:
        sel = [r for r in rows if (r["modality"], r["k"], r["method"]) == (m, k, meth)]
        rf = {r["seed"]: r for r in rows if (r["modality"], r["k"], r["method"]) == (m, k, "rf")}
        if meth == "rf":
            rf = {}  # no difference to itself
        lines.append(
            f"| {m.upper()} | {k} | {meth} | {len(sel)} | {fmt([r['miou'] for r in sel])} | "
            f"{fmt([r['oa'] for r in sel])} | {versus(sel, rf, miou)} | "
            f"{fmt([trained_miou(r) for r in sel])} | {versus(sel, rf, trained_miou)} |"
        )
    return lines + [""]


def write_md(path: Path, body: str) -> None:
    """Replace (or append) this benchmark's section of ``path``; the rest stays."""
    write_md_section(path, MD_START, MD_END, body)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    start_run(args.threads)
    from s4_core import api

    if args.render:
        rows, notes, total = [], [], 0.0
        for folder in args.render:
            saved = json.loads((Path(folder) / "notes.json").read_text())
            rows += json.loads((Path(folder) / "rows.json").read_text())
            notes += [n for n in saved["notes"] if n not in notes]
            total += saved["seconds"]
        return _publish(args, rows, notes, total)
    root = data_root(args.data)
    work = work_folder(args.work, "s4-squares-")
    rows: List[dict] = []
    notes: List[str] = []
    started = time.perf_counter()
    widths = tuple(args.widths) if args.widths else None
    for name in args.sites:
        site = load_site(name, str(root))
        suffix = f"_seed{args.pretrain_seed}" if args.pretrain_seed else ""
        pre = work / f"{name}_pretrained{suffix}.pt"
        s1s = [str(site.root / "S1")]
        s2s = [str(site.root / "S2")]
        if args.extra:
            liege = root / "worldcereal" / "liege_2021_unlabelled"
            s1s.append(str(liege / "S1"))
            s2s.append(str(liege / "S2"))
        kw = {}
        if args.pretrain_epochs:
            kw["epochs"] = args.pretrain_epochs
        if args.pretrain_seed is not None:
            kw["seed"] = args.pretrain_seed
        if widths:
            kw["widths"] = widths
        wanted = set(args.methods) if args.methods else None
        pretrained = {}  # method -> checkpoint
        todo = [("s4", {})] if wanted is None or wanted & {"s4", "unet-s4"} else []
        todo += [(o, OBJECTIVE_RUNS[o]) for o in args.objectives]
        for meth, objective in todo:
            ckpt = pre if meth == "s4" else work / f"{name}_pretrained_{meth}.pt"
            pretrained[meth] = str(ckpt)
            record = ckpt.with_suffix(".json")
            if args.reuse and ckpt.is_file() and record.is_file():
                res = json.loads(record.read_text())
            else:
                t0 = time.perf_counter()
                res = api.pretrain(
                    s1s if args.extra else s1s[0], s2s if args.extra else s2s[0], str(ckpt),
                    **kw, **objective,
                )  # fmt: skip
                res["wall_s"] = time.perf_counter() - t0
                record.write_text(json.dumps(res, default=str))
            pre_s = res["wall_s"]
            first, last = res["history"][0], res["history"][-1]
            acc = (
                f"retrieval accuracy {first['accuracy']:.2f} -> {last['accuracy']:.2f}, "
                if "accuracy" in first
                else ""
            )
            notes.append(
                f"- {name}: {meth} pretraining {pre_s / 60:.1f} min ({len(res['history'])} "
                f"epochs; {acc}loss {first['loss']:.3f} -> {last['loss']:.3f})"
            )
            print(notes[-1], flush=True)
        comps = {m: monthly_composites(site, m) for m in args.modalities}
        for protocol, seed, k in [
            (p, seed, k) for p in args.protocols for seed in range(args.seeds) for k in args.k
        ]:
            if True:  # one (protocol, seed, K) split
                draw = draw_squares if protocol == "squares" else draw_parcels
                split = draw(site, k, seed)
                tag = (
                    f"{name}_{protocol}_s{seed}_k{k}"
                    if protocol != "squares"
                    else f"{name}_s{seed}_k{k}"
                )
                squares = write_squares(site, split.train, work / f"{tag}.gpkg")
                for m in args.modalities:
                    runs = {"rf": None, "s4": (str(pre), "pixel"), "pixel-scratch": (None, "pixel")}
                    if args.unet and k == 2 and protocol == "squares":
                        runs["unet-scratch"] = (None, "unet")
                        runs["unet-s4"] = (str(pre), "unet")
                    for o in args.objectives:
                        sensor = OBJECTIVE_RUNS[o].get("ssl_modality")
                        if sensor in (None, m):  # an S1-only network has no trained S2 branch
                            runs[o] = (pretrained[o], "pixel")
                    if wanted is not None:
                        runs = {key: v for key, v in runs.items() if key in wanted}
                    for meth, spec in runs.items():
                        t0 = time.perf_counter()
                        extra = {}
                        if spec is None:
                            pred = random_forest(comps[m], split.train, seed)
                        else:
                            out = run_engine(
                                site, squares, m, work, f"{tag}_{m}_{meth}",
                                init=spec[0], head=spec[1], widths=widths, seed=seed,
                            )  # fmt: skip
                            pred = out["pred"]
                            extra = {"finetune_s": out["finetune_s"], "segment_s": out["segment_s"]}
                        sc = score(pred, split.test, site.class_names)
                        row = {
                            "site": name, "protocol": protocol, "seed": seed, "k": k,
                            "modality": m, "method": meth,
                            "miou": sc["miou"], "oa": sc["oa"], "iou": sc["iou"],
                            "n_test": sc["n_test"], "squares": split.squares,
                            "seconds": time.perf_counter() - t0, **extra,
                        }  # fmt: skip
                        rows.append(row)
                        print(
                            f"{name} {protocol} seed {seed} K {k} {m} {meth:14s} "
                            f"mIoU {sc['miou']:.3f} "
                            f"OA {sc['oa']:.3f} ({row['seconds']:.0f} s)",
                            flush=True,
                        )
        (work / "rows.json").write_text(json.dumps(rows, indent=1, default=str))
    total = time.perf_counter() - started
    (work / "notes.json").write_text(json.dumps({"notes": notes, "seconds": total}))
    return _publish(args, rows, notes, total)


def _publish(args, rows: List[dict], notes: List[str], total: float) -> int:
    body = render(args, rows, notes, total)
    print(body)
    if not args.no_md:
        write_md(Path(args.out_md), body)
        print(f"wrote {args.out_md}")
    return 0


def render(args, rows: List[dict], notes: List[str], total: float) -> str:
    run_args = " ".join(sys.argv[1:])
    if args.render:  # the runs behind the joined tables
        run_args = "--unet   # here: one run per site (--sites NAME --work DIR), then --render"
    cmd = "QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/squares.py " + run_args
    out = [
        "## An analyst's few squares on real sites: S4 default path vs Random Forest",
        "",
        written_by("squares.py", args.threads, total, "in all"),
        "",
        f"```\n{cmd.strip()}\n```",
        "",
        "Protocols (per seed): *squares*: K squares of 5 x 5 px per class strictly inside one "
        "parcel of that class; test = every other labelled pixel less a 1-px margin around the "
        "squares. *parcels*: half of each class's parcels (at least one, classes with two or "
        "more) are test parcels, K of the others train. mIoU over the classes present in the "
        "test truth (a class without training pixels counts with IoU 0 for every method). "
        "*mIoU, trained classes*: the same over the test classes that got training pixels (no "
        "5 x 5 square fits in some small parcels: those classes are IoU 0 for every method and "
        "only scale the differences). Maps on the 10 m label grid.",
        "",
    ]
    for name in dict.fromkeys(r["site"] for r in rows):
        for protocol in dict.fromkeys(_proto(r) for r in rows if r["site"] == name):
            out += summarise(rows, name, protocol)
            first = [
                r for r in rows
                if r["site"] == name and _proto(r) == protocol and r["method"] == "rf"
                and r["seed"] == 0 and r["modality"] == rows[0]["modality"]
            ]  # fmt: skip
            for r in first:
                out.append(f"- K = {r['k']}: per class {r['squares']}, {r['n_test']} test px")
            out.append("")
    out += ["Cost (2-core CPU, 1 thread):", ""] + notes
    for name in dict.fromkeys(r["site"] for r in rows):
        own = [
            r for r in rows if r["site"] == name and r["method"] == "s4" and _proto(r) == "squares"
        ]
        ft = [r["finetune_s"] for r in own]
        sg = [r["segment_s"] for r in own]
        if ft:
            out.append(
                f"- {name}: default fine-tuning {np.mean(ft):.0f} s (max {np.max(ft):.0f} s), "
                f"segmentation {np.mean(sg):.1f} s per run"
            )
    out += ["", "<details><summary>Per-class IoU % (mean over seeds)</summary>", ""]
    for name in dict.fromkeys(r["site"] for r in rows):
        site_rows = [r for r in rows if r["site"] == name]
        cls = list(dict.fromkeys(c for r in site_rows for c in r["iou"]))
        out.append(f"| {name} | K | method | " + " | ".join(cls) + " |")
        out.append("|---|---:|---|" + "---:|" * len(cls))
        keys = sorted({(_proto(r), r["modality"], r["k"], r["method"]) for r in site_rows})
        for proto, m, k, meth in keys:
            sel = [
                r
                for r in site_rows
                if (_proto(r), r["modality"], r["k"], r["method"]) == (proto, m, k, meth)
            ]
            vals = []
            for c in cls:
                v = [r["iou"][c] for r in sel if c in r["iou"]]
                vals.append(f"{100 * np.mean(v):.0f}" if v else "–")
            unit = "sq" if proto == "squares" else "parcels"
            out.append(f"| {m.upper()} | {k} {unit} | {meth} | {' | '.join(vals)} |")
        out.append("")
    out += ["</details>", "", CREDIT]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())

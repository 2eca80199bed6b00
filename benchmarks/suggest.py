"""Where to label next, on real sites: K squares chosen by the model vs K random squares.

Per labelled site of ``../shared/data`` (flanders_2018, tanzania_2021) and seed, with the
analyst-squares protocol of ``benchmarks/squares.py`` (``sites.draw_squares``):

1. Start: K0 random squares of 5 x 5 px per class (``--k0``, default 1) inside parcels of
   that class; fine-tune the default path (``api.finetune``, pixel head, from the site's S4
   pretrained checkpoint) and map the site with class probabilities (``api.segment``).
2. Add N = ``--add`` x (number of classes) squares, three ways, each "labelled" with the truth
   (every square lies inside one labelled parcel: the pool is the same for all arms):
   - ``suggested``: ``s4_core.suggest.choose_squares`` on the start model's probabilities
     (margin uncertainty, homogeneous predicted class, spread over the scene and the
     predicted classes, away from the start squares); the engine's ``s4:suggest_labels``;
   - ``random``: N squares drawn uniformly from the pool;
   - ``random-per-class``: ``--add`` random squares per class (the analyst who knows each
     field's class picks them evenly; what the squares protocol does).
3. Fine-tune again on start + added squares; score every arm (and the start) on the same test
   pixels: every labelled pixel except all arms' squares and their 1-px margins. mIoU over the
   classes present in the test truth.

S2 inference, one pretrained checkpoint per site reused from ``--work`` (``--reuse``; e.g. the
``*_pretrained.pt`` + ``.json`` of an earlier ``squares.py --work``). One command prints the
table and writes the ``suggest`` section of docs/benchmarks.md::

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/suggest.py --work W --reuse
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sites import (  # noqa: E402
    IGNORE,
    REPO,
    SITES,
    Site,
    data_root,
    draw_squares,
    load_site,
    score,
    start_run,
    work_folder,
    write_md_section,
    written_by,
)
from squares import read_map, write_squares  # noqa: E402

MD_START = "<!-- suggest:start -->"
MD_END = "<!-- suggest:end -->"
ARMS = ("suggested", "random", "random-per-class")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="folder with worldcereal/ (default ../shared/data)")
    p.add_argument("--sites", nargs="+", default=list(SITES), choices=list(SITES))
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--k0", type=int, default=1, help="random start squares per class")
    p.add_argument("--add", type=int, default=1, help="squares added per class (N = add * K)")
    p.add_argument("--method", default="margin", choices=["margin", "entropy"])
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (fixed)")
    p.add_argument("--work", help="folder for checkpoints and maps (default: a temp folder)")
    p.add_argument(
        "--reuse", action="store_true", help="reuse a pretrained checkpoint already in --work"
    )
    p.add_argument("--out-md", default=str(REPO / "docs" / "benchmarks.md"))
    p.add_argument("--no-md", action="store_true", help="print only")
    p.add_argument(
        "--render", nargs="+", metavar="WORK", help="no runs: the table from WORK/suggest.json"
    )
    return p.parse_args(argv)


def pool(site: Site, size: int = 5) -> np.ndarray:
    """(H, W) bool: top-left corners whose size x size square lies in one labelled parcel."""
    h, w = site.shape
    n_r, n_c = h - size + 1, w - size + 1
    base = site.parcels[:n_r, :n_c]
    same = (base > 0) & (site.labels[:n_r, :n_c] != IGNORE)
    for dr in range(size):
        for dc in range(size):
            same &= site.parcels[dr : dr + n_r, dc : dc + n_c] == base
    out = np.zeros((h, w), bool)
    out[:n_r, :n_c] = same
    return out


def _block(blocked: np.ndarray, r: int, c: int, size: int = 5, margin: int = 1) -> None:
    blocked[max(r - margin, 0) : r + size + margin, max(c - margin, 0) : c + size + margin] = True


def add_random(
    site: Site, cand: np.ndarray, taken: np.ndarray, n: int, rng, per_class: Optional[int] = None
) -> List[tuple]:
    """Random squares from the pool not touching ``taken`` (squares + margins): ``n`` uniformly,
    or ``per_class`` for every class (the class of the parcel)."""
    blocked = taken.copy()
    corners = np.argwhere(cand)
    rng.shuffle(corners)
    chosen: List[tuple] = []
    quota = {c: per_class for c in range(len(site.class_names))} if per_class else None
    for r, c in corners:
        if quota is None and len(chosen) >= n:
            break
        if blocked[max(r - 1, 0) : r + 6, max(c - 1, 0) : c + 6].any():
            continue
        cls = int(site.labels[r, c])
        if quota is not None:
            if quota.get(cls, 0) <= 0:
                continue
            quota[cls] -= 1
        chosen.append((int(r), int(c)))
        _block(blocked, r, c)
    return chosen


def probabilities_on_grid(path: Path, site: Site) -> np.ndarray:
    """The probability raster of ``api.segment`` as (K, H, W) on the site's label grid."""
    import rasterio
    from rasterio.warp import Resampling, reproject

    with rasterio.open(path) as src:
        data = src.read().astype(np.float32)
        if (src.height, src.width) == site.shape and src.transform == site.grid.transform:
            return data
        out = np.full((data.shape[0], *site.shape), np.nan, np.float32)
        reproject(
            data, out, src_transform=src.transform, src_crs=src.crs,
            dst_transform=site.grid.transform, dst_crs=site.grid.crs,
            resampling=Resampling.nearest, src_nodata=np.nan, dst_nodata=np.nan,
        )  # fmt: skip
        return out


def fit_and_map(site: Site, train: np.ndarray, work: Path, tag: str, pre: Path, seed: int):
    """Fine-tune (default path) on the squares of ``train``; the map and probabilities."""
    from s4_core import api

    squares = write_squares(site, train, work / f"{tag}.gpkg")
    model, out, probs = work / f"{tag}.pt", work / f"{tag}.tif", work / f"{tag}_p.tif"
    t0 = time.perf_counter()
    api.finetune(
        None, str(site.root / "S2"), str(squares), "crop_name", str(model),
        modality="s2", init=str(pre), resolution=10, seed=seed,
    )  # fmt: skip
    res = api.segment(str(model), str(out), s2=str(site.root / "S2"), probabilities_out=str(probs))
    seconds = time.perf_counter() - t0
    # class indices of the model -> site class indices
    pred = read_map(out, site, res["classes"])
    p = probabilities_on_grid(probs, site)
    full = np.full((len(site.class_names), *site.shape), 0.0, np.float32)
    for c in res["classes"]:
        full[site.class_names.index(c["name"])] = p[c["index"]]
    full[:, ~np.isfinite(p).all(axis=0)] = np.nan
    return pred, full, seconds


def run_site(args, name: str, root: Path, work: Path, rows: List[dict], notes: List[str]) -> None:
    from s4_core.suggest import choose_squares

    site = load_site(name, str(root))
    pre = work / f"{name}_pretrained.pt"
    if not (args.reuse and pre.is_file()):
        from s4_core import api

        t0 = time.perf_counter()
        res = api.pretrain(str(site.root / "S1"), str(site.root / "S2"), str(pre))
        res["wall_s"] = time.perf_counter() - t0
        pre.with_suffix(".json").write_text(json.dumps(res, default=str))
    cand = pool(site)
    k = len(site.class_names)
    n_add = args.add * k
    for seed in range(args.seeds):
        start = draw_squares(site, args.k0, seed)
        taken = start.train != IGNORE
        margin0 = np.zeros(site.shape, bool)
        for r, c in np.argwhere(taken):
            _block(margin0, r, c, size=1)
        tag = f"{name}_s{seed}"
        pred0, probs0, sec0 = fit_and_map(site, start.train, work, f"{tag}_start", pre, seed)
        # the suggestions: the engine's choice on the start model's probabilities
        sugg = choose_squares(
            probs0, n_add, labelled=taken, candidates=cand, size=5, margin=1,
            method=args.method, seed=seed,
        )  # fmt: skip
        added = {"suggested": [(s.row, s.col) for s in sugg]}
        rng = np.random.default_rng(1000 + seed)
        added["random"] = add_random(site, cand, margin0, n_add, rng)
        rng = np.random.default_rng(2000 + seed)
        added["random-per-class"] = add_random(site, cand, margin0, 0, rng, per_class=args.add)
        blocked = margin0.copy()
        for squares in added.values():
            for r, c in squares:
                _block(blocked, r, c)
        test = np.where(blocked, IGNORE, site.labels).astype(np.uint8)
        sc = score(pred0, test, site.class_names)
        base = {"site": name, "seed": seed, "k0": args.k0, "n_add": n_add, "n_test": sc["n_test"]}
        rows.append({**base, "arm": "start", "miou": sc["miou"], "oa": sc["oa"], "seconds": sec0})
        print(f"{name} seed {seed} start         mIoU {sc['miou']:.3f}", flush=True)
        for arm, squares in added.items():
            train = start.train.copy()
            classes = []
            for r, c in squares:
                train[r : r + 5, c : c + 5] = site.labels[r : r + 5, c : c + 5]
                classes.append(site.class_names[int(site.labels[r, c])])
            pred, _, sec = fit_and_map(site, train, work, f"{tag}_{arm}", pre, seed)
            sc = score(pred, test, site.class_names)
            counts = {n: classes.count(n) for n in site.class_names if classes.count(n)}
            rows.append(
                {**base, "arm": arm, "miou": sc["miou"], "oa": sc["oa"], "seconds": sec,
                 "added": len(squares), "classes": counts}
            )  # fmt: skip
            print(
                f"{name} seed {seed} {arm:17s} mIoU {sc['miou']:.3f} ({len(squares)} squares: "
                f"{counts})",
                flush=True,
            )
        saved = {"rows": rows, "argv": [a for a in sys.argv[1:] if a != "--no-md"]}
        (work / "suggest.json").write_text(json.dumps(saved, indent=1))


def render(args, rows: List[dict], total: float, argvs: Sequence[Sequence[str]]) -> str:
    out = [
        "## Where to label next: squares suggested by the model vs random squares",
        "",
        written_by("suggest.py", args.threads, total, "of runs"),
        "",
        "```\n"
        + "\n".join(
            "QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/suggest.py " + " ".join(a)
            for a in argvs
        )
        + "\n```",
        "",
        "Start: K0 random 5 x 5 px squares per class (the squares protocol), the default path "
        "(S4 pretrained on the site, pixel head, S2 inference). Then N more squares, labelled "
        "with the truth: *suggested* by `s4_core.suggest` (margin uncertainty of the start "
        "model, one predicted class per square, spread over the scene and classes), *random* "
        "(uniform over the squares that fit inside a labelled parcel: the same pool), or "
        "*random-per-class* (`--add` per class, as an analyst who picks fields of every "
        "class; classes whose parcels hold no free 5 x 5 square get fewer). Test: every labelled pixel but all arms' squares and their 1-px "
        "margins (the same pixels for every arm of a seed). The pretrained checkpoint of each site "
        "is the engine-default one `benchmarks/squares.py` wrote (reused with `--reuse`). The "
        "suggestion may return fewer squares than asked when the spread-out, one-class squares "
        "run out (column 3 is the mean number added).",
        "",
        "| site | K0 | squares added (mean) | arm | runs | mIoU % | OA % | mIoU − random (points) | "
        "wins vs random |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]

    def fmt(values) -> str:
        v = np.asarray(values, float) * 100
        return f"{v.mean():.1f} ± {v.std(ddof=1) if len(v) > 1 else 0:.1f}"

    for name, n_add in dict.fromkeys((r["site"], r["n_add"]) for r in rows):
        own = [r for r in rows if r["site"] == name and r["n_add"] == n_add]
        rand = {r["seed"]: r["miou"] for r in own if r["arm"] == "random"}
        for arm in ("start",) + ARMS:
            sel = [r for r in own if r["arm"] == arm]
            if not sel:
                continue
            diffs = [r["miou"] - rand[r["seed"]] for r in sel if r["seed"] in rand]
            d = f"{100 * np.mean(diffs):+.1f}" if diffs and arm != "random" else ""
            wins = f"{sum(x > 0 for x in diffs)}/{len(diffs)}" if diffs and arm != "random" else ""
            added = "0" if arm == "start" else f"{np.mean([r['added'] for r in sel]):.1f}"
            out.append(
                f"| {name} | {sel[0]['k0']} | {added} | {arm} | {len(sel)} | "
                f"{fmt([r['miou'] for r in sel])} | {fmt([r['oa'] for r in sel])} | {d} | "
                f"{wins} |"
            )
    out.append("")
    for name, n_add in dict.fromkeys((r["site"], r["n_add"]) for r in rows):
        sug = [
            r for r in rows if r["site"] == name and r["n_add"] == n_add and r["arm"] == "suggested"
        ]
        if sug:
            merged: Dict[str, int] = {}
            for r in sug:
                for c, v in r.get("classes", {}).items():
                    merged[c] = merged.get(c, 0) + v
            out.append(
                f"- {name}, {n_add} added: classes of the suggested squares over all seeds (truth): "
                + ", ".join(f"{c} {v}" for c, v in sorted(merged.items(), key=lambda x: -x[1]))
            )
    out.append("")
    return "\n".join(out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    start_run(args.threads)
    if args.render:
        rows, argvs = [], []
        for folder in args.render:
            saved = json.loads((Path(folder) / "suggest.json").read_text())
            rows += saved["rows"]
            argvs.append(saved.get("argv", []))
        total = sum(r["seconds"] for r in rows)
    else:
        root = data_root(args.data)
        work = work_folder(args.work, "s4-suggest-")
        rows: List[dict] = []
        started = time.perf_counter()
        for name in args.sites:
            run_site(args, name, root, work, rows, [])
        total = time.perf_counter() - started
        argvs = [[a for a in sys.argv[1:] if a != "--no-md"]]
    body = render(args, rows, total, argvs)
    print(body)
    if not args.no_md:
        write_md(Path(args.out_md), body)
        print(f"wrote {args.out_md}")
    return 0


def write_md(path: Path, body: str) -> None:
    """Replace (or append) this benchmark's section of ``path``; the rest stays."""
    write_md_section(path, MD_START, MD_END, body)


if __name__ == "__main__":
    sys.exit(main())

"""Few labels on real data: S4 pretraining versus the same network trained from scratch.

Data: ``../shared/data/worldcereal`` (see its README). S4 is pretrained self-supervised on all
the unlabelled imagery there (Flanders 2018 S1 + S2 and Liege 2021 S1 + S2; the engine keeps
the S2 bands common to both areas), then fine-tuned with 1, 2 and 5 parcels per class from
``flanders_2018/labels/parcels.gpkg`` (class field ``crop_name``) for S2-only and for S1-only
inference. The baseline is the identical network (same widths, bands, time length, settings)
fine-tuned from a random initialisation. Each fine-tuned model maps the scene with
``api.segment`` and is scored with ``api.evaluate`` against held-out parcels.

Protocol (per seed): for every class with >= 2 parcels, ``round_down(test_fraction * n)``
parcels (at least 1) are drawn as the test set first; the training parcels are then the first
``k`` of a seeded permutation of the remaining ones (nested: the k = 1 parcel is also in the
k = 2 and k = 5 sets); classes with fewer parcels than ``k`` use what they have, and classes
with a single parcel are training-only (never tested). The test set of a seed is the same for
every k, modality and initialisation. All training parcels are used for training
(``val_fraction = 0``), so the saved checkpoint is the epoch with the lowest training loss.

Frames: fine-tuning and mapping use the S2 acquisitions of the labelled year (cloud fraction
<= ``--max-cloud``) thinned evenly to ``--time-length`` frames, and for S1 the acquisitions
nearest those S2 dates (the pretraining's nearest-date pairing). Pretraining uses every
cloud-filtered Flanders S2 acquisition: they are dealt round-robin into groups of at most
``--time-length`` frames, each group paired with the S1 series as one scene (every group spans
the whole period), plus the 20 monthly Liege composites as one scene.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/few_labels.py --quick
    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/few_labels.py \\
        --widths 16 32 64 --pretrain-epochs 10 --finetune-epochs 20

Prints a table of mIoU and OA (mean +- std over seeds) per (modality, labels per class,
initialisation) and writes it, with the settings, machine, wall time and data credit, into the
``few_labels`` section of ``--out-md`` (rewritten after every run, so an interrupted run leaves
the finished part).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import os
import platform
import shlex
import sys
import tempfile
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DEFAULT_DATA = REPO.parent / "shared" / "data"
CLASS_FIELD = "crop_name"
CREDIT = (
    "Contains modified Copernicus Sentinel data 2017-2022 (free and open). Imagery converted "
    "from the test resources of the ESA WorldCereal project "
    "(github.com/WorldCereal/worldcereal-classification, MIT licence, and "
    "github.com/WorldCereal/presto-worldcereal). Crop labels: LPIS Flanders, Informatie "
    "Vlaanderen open data (Modellicentie Gratis Hergebruik)."
)
MD_START = "<!-- few_labels:start -->"
MD_END = "<!-- few_labels:end -->"

QUICK = {
    "widths": [8, 16],
    "time_length": 8,
    "pretrain_epochs": 1,
    "pretrain_steps": 2,
    "finetune_epochs": 2,
    "crop_size": 16,
    "seeds": 2,
    "labels_per_class": [1, 5],
}
FULL = {
    "widths": [32, 64, 128],
    "time_length": 32,
    "pretrain_epochs": 20,
    "pretrain_steps": None,
    "finetune_epochs": 30,
    "crop_size": 32,
    "seeds": 3,
    "labels_per_class": [1, 2, 5],
}


# ----------------------------------------------------------------------------- arguments
def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", type=Path, default=None, help="shared data folder (../shared/data)")
    p.add_argument("--seeds", type=int, default=None, help="number of seeds (3; quick 2)")
    p.add_argument("--labels-per-class", type=int, nargs="+", default=None, help="(1 2 5)")
    p.add_argument("--pretrain-epochs", type=int, default=None, help="(20; quick 1)")
    p.add_argument(
        "--pretrain-steps", type=int, default=None, help="steps per epoch (engine default)"
    )
    p.add_argument("--finetune-epochs", type=int, default=None, help="(30; quick 2)")
    p.add_argument("--widths", type=int, nargs="+", default=None, help="(32 64 128)")
    p.add_argument("--time-length", type=int, default=None, help="frames per series (32)")
    p.add_argument("--crop-size", type=int, default=None, help="training crop size, px (32)")
    p.add_argument("--batch-size", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-3, help="fine-tuning learning rate")
    p.add_argument("--max-cloud", type=float, default=0.3, help="max cloud fraction of S2 frames")
    p.add_argument("--year", type=int, default=2018, help="labelled year for fine-tuning frames")
    p.add_argument("--test-fraction", type=float, default=0.5, help="test parcels per class")
    p.add_argument("--modalities", nargs="+", default=["s2", "s1"], choices=["s1", "s2"])
    p.add_argument(
        "--pretrain-per-seed",
        action="store_true",
        help="pretrain once per seed (default: once overall, with seed 0)",
    )
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default 1)")
    p.add_argument("--out-md", type=Path, default=REPO / "docs" / "benchmarks.md")
    p.add_argument("--no-md", action="store_true", help="print only, do not write --out-md")
    p.add_argument("--workdir", type=Path, default=None, help="keep intermediate files here")
    p.add_argument("--quick", action="store_true", help="tiny settings for a smoke run")
    args = p.parse_args(argv)
    preset = QUICK if args.quick else FULL
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.data is None:
        args.data = Path(os.environ.get("S4_REAL_DATA") or DEFAULT_DATA)
    if args.threads is None:
        args.threads = 1
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


# ----------------------------------------------------------------------------- data
@dataclass
class Frames:
    s2_finetune: List[Path]
    s1_finetune: List[Path]
    s2_groups: List[List[Path]]
    dates: List[_dt.date]
    n_s2_cloudfree: int
    n_s2_year: int


def choose_frames(data: Path, length: int, max_cloud: float, year: int) -> Frames:
    """The fine-tuning frames (labelled year, thinned) and the pretraining groups."""
    from s4_core.series import open_series

    fl = data / "worldcereal" / "flanders_2018"
    s2 = open_series(str(fl / "S2"), sensor="s2", max_cloud_fraction=max_cloud)
    s1 = open_series(str(fl / "S1"), sensor="s1")
    acq = sorted(s2.acquisitions, key=lambda a: a.date)
    in_year = [a for a in acq if a.date.year == year]
    if not in_year:
        raise SystemExit(f"no S2 frame of {year} with cloud fraction <= {max_cloud} in {fl}")
    idx = np.unique(np.round(np.linspace(0, len(in_year) - 1, min(length, len(in_year)))))
    chosen = [in_year[int(i)] for i in idx]
    s1_days = np.array([a.date.toordinal() for a in s1.acquisitions], dtype=np.int64)
    s1_pick = sorted(
        {int(np.argmin(np.abs(s1_days - a.date.toordinal()))) for a in chosen},
        key=lambda i: s1.acquisitions[i].date,
    )
    n_groups = max(1, math.ceil(len(acq) / length))
    groups = [[a.path for a in acq[g::n_groups]] for g in range(n_groups)]
    return Frames(
        s2_finetune=[a.path for a in chosen],
        s1_finetune=[s1.acquisitions[i].path for i in s1_pick],
        s2_groups=groups,
        dates=[a.date for a in chosen],
        n_s2_cloudfree=len(acq),
        n_s2_year=len(in_year),
    )


def read_parcels(path: Path) -> Tuple[dict, List[dict]]:
    import fiona

    with fiona.open(path, layer="parcels") as src:
        meta = {"crs_wkt": src.crs_wkt, "schema": src.schema, "driver": "GPKG"}
        feats = [
            {"geometry": f["geometry"], "properties": dict(f["properties"]), "id": i}
            for i, f in enumerate(src)
        ]
    return meta, feats


def write_parcels(path: Path, meta: dict, feats: Sequence[dict]) -> Path:
    import fiona

    with fiona.open(path, "w", layer="parcels", **meta) as dst:
        for f in feats:
            dst.write({"geometry": f["geometry"], "properties": f["properties"]})
    return path


def split_parcels(
    feats: Sequence[dict], seed: int, test_fraction: float, ks: Sequence[int]
) -> Tuple[List[dict], Dict[int, List[dict]]]:
    """(test parcels, {k: training parcels}) for one seed, as described in the module doc."""
    rng = np.random.default_rng(seed)
    by_class: Dict[str, List[dict]] = {}
    for f in feats:
        by_class.setdefault(str(f["properties"][CLASS_FIELD]), []).append(f)
    test: List[dict] = []
    pools: Dict[str, List[dict]] = {}
    for name in sorted(by_class):
        items = by_class[name]
        order = [items[i] for i in rng.permutation(len(items))]
        n_test = max(1, int(math.floor(test_fraction * len(items)))) if len(items) >= 2 else 0
        n_test = min(n_test, len(items) - 1)
        test.extend(order[:n_test])
        pools[name] = order[n_test:]
    train = {k: [f for name in sorted(pools) for f in pools[name][:k]] for k in ks}
    return test, train


# ----------------------------------------------------------------------------- runs
@dataclass
class Run:
    seed: int
    modality: str
    k: int
    init: str
    miou: Optional[float] = None
    oa: Optional[float] = None
    miou_test: Optional[float] = None
    test_px: int = 0
    train_parcels: Dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    error: Optional[str] = None


def miou_test_classes(ev: dict) -> Optional[float]:
    """Mean IoU over the classes present in the test truth only (api.evaluate's mIoU also
    averages classes that are only predicted, with IoU 0)."""
    cm = np.asarray(ev["confusion_matrix"], dtype=np.int64)
    tp, support, pred = np.diag(cm), cm.sum(1), cm.sum(0)
    ious = [tp[i] / (support[i] + pred[i] - tp[i]) for i in range(len(cm)) if support[i] > 0]
    return float(np.mean(ious)) if ious else None


def random_init_checkpoint(pre_path: Path, out: Path, seed: int) -> Path:
    """A 'pretrained' checkpoint with the pretrained one's network, bands, statistics and time
    policy but freshly initialised weights: the from-scratch baseline through the same path."""
    import torch

    from s4_core.checkpoint import load_checkpoint, save_checkpoint
    from s4_core.model import NetConfig, S4Net

    pre = load_checkpoint(pre_path)
    torch.manual_seed(10_000 + seed)
    net = S4Net(NetConfig.from_dict(pre["net_config"]))
    payload = {key: pre[key] for key in ("net_config", "bands", "band_stats", "time")}
    payload.update(
        kind="pretrained",
        state_dict={k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
        modality=None,
        classes=None,
        metrics={},
        history=[],
        epoch=0,
        seed=seed,
        note="random initialisation (from-scratch baseline)",
    )
    return save_checkpoint(out, payload)


def training_options(args) -> dict:
    """What pretraining and fine-tuning share: crop size, batch size, series length, device."""
    return {
        "crop_size": args.crop_size,
        "batch_size": args.batch_size,
        "time_length": args.time_length,
        "device": args.device,
    }


def pretrain(args, frames: Frames, out: Path, seed: int) -> dict:
    from s4_core import api

    fl = args.data / "worldcereal" / "flanders_2018"
    lg = args.data / "worldcereal" / "liege_2021_unlabelled"
    # One scene per Flanders S2 group (paired with the whole S1 folder) plus Liege.
    s1 = [str(fl / "S1")] * len(frames.s2_groups) + [str(lg / "S1")]
    s2 = [[str(p) for p in g] for g in frames.s2_groups] + [str(lg / "S2")]

    def progress(fraction, message, metrics=None):
        if message.startswith("epoch ") and metrics:
            print(
                f"  pretrain {message}: loss {metrics['loss']:.4f}, contrastive "
                f"{metrics['contrastive']:.4f}, reconstruction {metrics['reconstruction']:.4f}, "
                f"retrieval accuracy {metrics['accuracy']:.3f}",
                flush=True,
            )

    result = api.pretrain(
        s1,
        s2,
        str(out),
        epochs=args.pretrain_epochs,
        steps_per_epoch=args.pretrain_steps,
        widths=tuple(args.widths),
        seed=seed,
        progress=progress,
        **training_options(args),
    )
    history = result["history"]
    return {
        "seconds": float(result["seconds"]),
        "n_scenes": len(s2),
        "final": result["metrics"],
        "first": history[0] if history else {},
    }


def one_run(args, run: Run, frames: Frames, init: Path, train_gpkg: Path, test_gpkg: Path, tmp):
    from s4_core import api

    start = time.perf_counter()
    files = frames.s2_finetune if run.modality == "s2" else frames.s1_finetune
    sources = [str(p) for p in files]
    s1 = sources if run.modality == "s1" else None
    s2 = sources if run.modality == "s2" else None
    stem = f"seed{run.seed}_{run.modality}_k{run.k}_{run.init}"
    model = Path(tmp) / f"{stem}.s4model"
    ft = api.finetune(
        s1,
        s2,
        str(train_gpkg),
        CLASS_FIELD,
        str(model),
        modality=run.modality,
        init=str(init),
        epochs=args.finetune_epochs,
        lr=args.lr,
        val_fraction=0.0,
        seed=run.seed,
        **training_options(args),
    )
    out = Path(tmp) / f"{stem}.tif"
    api.segment(str(model), str(out), s1=s1, s2=s2, device=args.device)
    ev = api.evaluate(str(out), str(test_gpkg), class_field=CLASS_FIELD)
    run.miou, run.oa = ev["miou"], ev["oa"]
    run.miou_test = miou_test_classes(ev)
    run.test_px = int(ev["n_pixels"])
    run.seconds = time.perf_counter() - start
    run.classes = ft["classes"]  # type: ignore[attr-defined]
    return run


# ----------------------------------------------------------------------------- reporting
def _ms(values: Sequence[Optional[float]]) -> Tuple[Optional[float], Optional[float], int]:
    v = [x for x in values if x is not None]
    if not v:
        return None, None, 0
    return float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, len(v)


def _fmt(mean: Optional[float], std: Optional[float]) -> str:
    if mean is None:
        return "n/a"
    return f"{100 * mean:.1f} ± {100 * std:.1f}"


def summary_rows(runs: Sequence[Run], args) -> List[dict]:
    rows = []
    for m in args.modalities:
        for k in args.labels_per_class:
            for init in ("s4", "scratch"):
                sel = [r for r in runs if (r.modality, r.k, r.init) == (m, k, init) and not r.error]
                mi, ms, n = _ms([r.miou for r in sel])
                oi, os_, _ = _ms([r.oa for r in sel])
                ti, ts, _ = _ms([r.miou_test for r in sel])
                rows.append(
                    dict(modality=m, k=k, init=init, n=n, miou=(mi, ms), oa=(oi, os_), mt=(ti, ts))
                )
    return rows


def table_lines(rows: Sequence[dict]) -> List[str]:
    lines = [
        "| inference | labels / class | init | runs | mIoU % | OA % | mIoU % (test classes) |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        name = "S4 pretrained" if r["init"] == "s4" else "from scratch"
        lines.append(
            f"| {r['modality'].upper()} | {r['k']} | {name} | {r['n']} | {_fmt(*r['miou'])} | "
            f"{_fmt(*r['oa'])} | {_fmt(*r['mt'])} |"
        )
    return lines


def verdict(rows: Sequence[dict], runs: Sequence[Run], args) -> List[str]:
    """Plain statements of what the figures say about 'pretraining helps most with few labels'."""
    out = []
    gains: Dict[Tuple[str, int], float] = {}
    for m in args.modalities:
        for k in args.labels_per_class:
            a = {r["init"]: r for r in rows if (r["modality"], r["k"]) == (m, k)}
            if a["s4"]["n"] and a["scratch"]["n"]:
                gains[(m, k)] = a["s4"]["miou"][0] - a["scratch"]["miou"][0]
    if not gains:
        return ["No (modality, labels per class) cell has finished for both initialisations yet."]
    wins = sum(g > 0 for g in gains.values())
    out.append(
        f"- S4 pretraining has the higher mean mIoU in {wins} of {len(gains)} "
        "(modality, labels per class) cells; gains (S4 − scratch, mIoU points): "
        + ", ".join(f"{m.upper()} k={k}: {100 * g:+.1f}" for (m, k), g in gains.items())
        + "."
    )
    paired = []
    for m in args.modalities:
        for k in args.labels_per_class:
            for s in sorted({r.seed for r in runs}):
                a = [r for r in runs if (r.modality, r.k, r.seed) == (m, k, s) and not r.error]
                d = {r.init: r.miou for r in a}
                if d.get("s4") is not None and d.get("scratch") is not None:
                    paired.append(d["s4"] - d["scratch"])
    if paired:
        out.append(
            f"- Paired by seed, S4 beats scratch in {sum(p > 0 for p in paired)} of {len(paired)} "
            f"runs (ties {sum(p == 0 for p in paired)})."
        )
    ks = sorted(args.labels_per_class)
    for m in args.modalities:
        lo, hi = gains.get((m, ks[0])), gains.get((m, ks[-1]))
        if lo is None or hi is None or len(ks) < 2:
            continue
        agree = "agrees" if lo > hi and lo > 0 else "does not agree"
        out.append(
            f"- {m.upper()}: gain {100 * lo:+.1f} points with {ks[0]} parcel(s) per class vs "
            f"{100 * hi:+.1f} with {ks[-1]}: this {agree} with the paper's claim that "
            "pretraining helps most when labels are fewest."
        )
    spread = [r["miou"][1] for r in rows if r["n"] > 1 and r["miou"][1] is not None]
    if spread:
        out.append(
            f"- Seed-to-seed standard deviations are {100 * min(spread):.1f}–"
            f"{100 * max(spread):.1f} mIoU points: gains smaller than that are not "
            "distinguishable from noise with this many seeds and parcels."
        )
    return out


def machine(device: str) -> Dict[str, str]:
    import torch

    from s4_core import api

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": f"{cpu}, {os.cpu_count()} logical CPUs",
        "torch": f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)",
        "device": "{device} ({name})".format(**api.device_info(device)),
        "python": platform.python_version(),
    }


def write_md(path: Path, text: str) -> None:
    body = f"{MD_START}\n{text.rstrip()}\n{MD_END}\n"
    old = path.read_text() if path.exists() else ""
    if MD_START in old and MD_END in old:
        head, rest = old.split(MD_START, 1)
        tail = rest.split(MD_END, 1)[1].lstrip("\n")
        new = head + body + (("\n" + tail) if tail else "")
    elif old.strip():
        new = old.rstrip() + "\n\n" + body
    else:
        new = "# Benchmarks\n\n" + body
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(new)
    os.replace(tmp, path)


def report(args, ctx: dict, runs: Sequence[Run], total: int, done: bool) -> str:
    rows = summary_rows(runs, args)
    finished = sum(1 for r in runs if not r.error)
    failed = [r for r in runs if r.error]
    wall = time.perf_counter() - ctx["t0"]
    f: Frames = ctx["frames"]
    status = (
        f"complete: {finished} of {total} fine-tuning runs"
        if done
        else f"PARTIAL: {finished} of {total} fine-tuning runs finished so far"
    )
    pt = ctx.get("pretrain", {})
    kind = (
        "quick smoke run"
        if args.quick
        else "CPU-sized run (settings sized for a shared 2-core CPU)"
    )
    lines = [
        "## Few labels on real data: S4 pretraining vs training from scratch",
        "",
        f"Written by `benchmarks/few_labels.py` on {ctx['started']} ({status}). This is a "
        f"**{kind}, not the paper's configuration** (the paper pretrains on PASTIS-R with the "
        "reference widths 32-64-128); figures are for this tiny area only.",
        "",
        "```",
        "QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/few_labels.py "
        + " ".join(shlex.quote(a) for a in args.argv),
        "```",
        "",
        "### Results (test parcels; mean ± sample std over seeds)",
        "",
        *table_lines(rows),
        "",
        "`mIoU` is `api.evaluate`'s: the mean over classes present in the test truth *or* the "
        "prediction, so predicting a training-only class (cabbages, potatoes) on test pixels "
        "adds a class with IoU 0. `mIoU (test classes)` averages only the classes that have "
        "test parcels.",
        "",
        "### What the data says",
        "",
        *verdict(rows, runs, args),
        "- Caveats: 19 parcels in one 640 m × 640 m area (9 grassland, 4 maize, 4 other "
        "leguminous, 1 cabbages, 1 potatoes); the test set per seed is 4 grassland + 2 maize + "
        "2 leguminous parcels, whose sizes range from 2 to 628 pixels, so one large maize "
        "parcel weighs heavily on OA. With k = 2 and k = 5 only grassland gets more parcels "
        "(the other classes have at most 2 training parcels left).",
        "",
        "### Settings",
        "",
        f"- Data: `{args.data}/worldcereal`; labels `flanders_2018/labels/parcels.gpkg`, "
        f"field `{CLASS_FIELD}`.",
        f"- Pretraining ({'once per seed' if args.pretrain_per_seed else 'once overall, seed 0'}"
        f"): {pt.get('n_scenes', '?')} scenes = {len(f.s2_groups)} Flanders S2 groups "
        f"(all {f.n_s2_cloudfree} S2 acquisitions 2017-08..2018-11 with cloud fraction <= "
        f"{args.max_cloud}, dealt round-robin; each aligned with the nearest S1 passes) + "
        "Liege 2021 monthly S1+S2 composites (20 frames); common S2 bands B02 B03 B04 B05 B06 "
        f"B07 B08 B11 B12 (B8A dropped: Liege lacks it). Widths {' '.join(map(str, args.widths))}"
        f", T = {args.time_length} (shorter series padded and masked), crops "
        f"{args.crop_size} px, batch {args.batch_size}, {args.pretrain_epochs} epoch(s) of "
        f"{args.pretrain_steps or 'the engine default number of'} steps, Adam 1e-3, "
        "tau 0.5, lambda 0.01, sampled InfoNCE (4096 anchors)."
        + (
            f" Loss {pt['first'].get('loss', float('nan')):.4f} -> "
            f"{pt['final'].get('loss', float('nan')):.4f}, retrieval accuracy "
            f"{pt['first'].get('accuracy', float('nan')):.3f} -> "
            f"{pt['final'].get('accuracy', float('nan')):.3f}; {pt['seconds']:.0f} s."
            if pt.get("final")
            else ""
        ),
        f"- Fine-tuning frames: the {len(f.s2_finetune)} S2 acquisitions of {args.year} thinned "
        f"evenly from the {f.n_s2_year} with cloud fraction <= {args.max_cloud} "
        f"({f.dates[0]} .. {f.dates[-1]}); S1: the {len(f.s1_finetune)} distinct S1 passes "
        "nearest those dates. S2 runs map the 64 × 64 px 10 m grid; S1 runs use the S1 "
        "files' own 32 × 32 px 20 m grid (what `api.finetune`/`api.segment` do when given "
        "S1 only), so tiny parcels can vanish there.",
        f"- Fine-tuning: `api.finetune` with `init` = the pretrained checkpoint (S4) or a "
        "checkpoint of the same network with fresh random weights (scratch; same bands, time "
        f"length and settings), {args.finetune_epochs} epochs, crops {args.crop_size} px, "
        f"batch {args.batch_size}, Adam lr {args.lr}, balanced class weights, flips/rotations, "
        "`val_fraction=0` (every training parcel trains; the checkpoint kept is the epoch with "
        "the lowest training loss), full fine-tuning (encoder not frozen).",
        f"- Protocol: {args.seeds} seeds × labels per class {args.labels_per_class} × "
        f"{[m.upper() for m in args.modalities]} × {{S4, scratch}}. Per seed the test parcels "
        f"are drawn first (floor({args.test_fraction} × n), at least 1, for classes with >= 2 "
        "parcels; single-parcel classes are training-only), then the training parcels are the "
        "first k of a seeded permutation of the rest (nested across k; classes with fewer use "
        "all they have). The seed also sets the fine-tuning RNG and the scratch weights. "
        "Mapping with `api.segment`, scoring with `api.evaluate` against the seed's test "
        "GeoPackage (written with fiona).",
        f"- Machine: {ctx['machine']['cpu']}; {ctx['machine']['torch']} (set by --threads: on "
        "this shared 2-core machine 2 threads ran ~10x slower than 1); engine device "
        f"`{args.device}` -> {ctx['machine']['device']}; Python {ctx['machine']['python']}.",
        f"- Wall time: {wall / 60:.1f} min in all (pretraining {pt.get('seconds', 0) / 60:.1f} "
        f"min; mean {np.mean([r.seconds for r in runs if not r.error] or [0]):.0f} s per "
        "fine-tune + segment + evaluate run).",
    ]
    if failed:
        lines += ["", "### Failed runs", ""]
        lines += [f"- seed {r.seed} {r.modality} k={r.k} {r.init}: {r.error}" for r in failed]
    lines += [
        "",
        "<details><summary>Per-run figures</summary>",
        "",
        "| seed | inference | k | init | mIoU % | OA % | mIoU % (test classes) | test px | "
        "training parcels | s |",
        "|---:|---|---:|---|---:|---:|---:|---:|---|---:|",
    ]
    for r in runs:
        pct = lambda v: "n/a" if v is None else f"{100 * v:.1f}"  # noqa: E731
        parcels = ", ".join(f"{n} {c}" for c, n in r.train_parcels.items())
        lines.append(
            f"| {r.seed} | {r.modality.upper()} | {r.k} | {r.init} | {pct(r.miou)} | "
            f"{pct(r.oa)} | {pct(r.miou_test)} | {r.test_px} | {parcels} | {r.seconds:.0f} |"
        )
    lines += [
        "",
        "</details>",
        "",
        f"Data credit: {CREDIT}",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main
def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(max(1, args.threads))
    from s4_core.errors import S4Error
    from s4_core.labels import LabelWarning

    warnings.filterwarnings("ignore", category=LabelWarning)
    wc = args.data / "worldcereal"
    parcels_path = wc / "flanders_2018" / "labels" / "parcels.gpkg"
    if not parcels_path.exists():
        print(
            f"real data not found: {parcels_path} is missing; set --data or S4_REAL_DATA to the "
            "shared data folder (../shared/data)",
            file=sys.stderr,
        )
        return 2
    ctx: dict = {
        "t0": time.perf_counter(),
        "started": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": machine(args.device),
    }
    print(f"machine: {ctx['machine']}", flush=True)
    frames = choose_frames(args.data, args.time_length, args.max_cloud, args.year)
    ctx["frames"] = frames
    print(
        f"frames: {len(frames.s2_finetune)} S2 / {len(frames.s1_finetune)} S1 for fine-tuning "
        f"({frames.dates[0]} .. {frames.dates[-1]}); {len(frames.s2_groups)} Flanders S2 groups "
        f"for pretraining from {frames.n_s2_cloudfree} cloud-filtered acquisitions",
        flush=True,
    )
    meta, feats = read_parcels(parcels_path)
    total = args.seeds * len(args.labels_per_class) * len(args.modalities) * 2
    runs: List[Run] = []

    def save(done: bool) -> None:
        if not args.no_md:
            write_md(args.out_md, report(args, ctx, runs, total, done))

    tmp_ctx = None
    if args.workdir is not None:
        work = args.workdir
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp_ctx = tempfile.TemporaryDirectory(prefix="s4_few_labels_")
        work = Path(tmp_ctx.name)
    try:
        pretrained: Dict[int, Path] = {}
        for seed in range(args.seeds):
            pseed = seed if args.pretrain_per_seed else 0
            if pseed not in pretrained:
                print(f"pretraining (seed {pseed}) ...", flush=True)
                path = work / f"pretrained_seed{pseed}.s4model"
                info = pretrain(args, frames, path, pseed)
                ctx["pretrain"] = info
                pretrained[pseed] = path
                print(f"pretrained in {info['seconds']:.0f} s", flush=True)
            scratch = random_init_checkpoint(
                pretrained[pseed], work / f"random_seed{seed}.s4model", seed
            )
            test, train = split_parcels(feats, seed, args.test_fraction, args.labels_per_class)
            test_gpkg = write_parcels(work / f"test_seed{seed}.gpkg", meta, test)
            print(
                f"seed {seed}: test parcels "
                + ", ".join(f"{f['id'] + 1} {f['properties'][CLASS_FIELD]}" for f in test),
                flush=True,
            )
            for k in args.labels_per_class:
                train_gpkg = write_parcels(work / f"train_seed{seed}_k{k}.gpkg", meta, train[k])
                counts: Dict[str, int] = {}
                for f in train[k]:
                    name = f["properties"][CLASS_FIELD]
                    counts[name] = counts.get(name, 0) + 1
                for m in args.modalities:
                    for init_name, init in (("s4", pretrained[pseed]), ("scratch", scratch)):
                        run = Run(seed, m, k, init_name, train_parcels=counts)
                        t = time.perf_counter()
                        try:
                            one_run(args, run, frames, init, train_gpkg, test_gpkg, work)
                        except S4Error as exc:
                            run.error = f"{type(exc).__name__}: {exc}"
                            run.seconds = time.perf_counter() - t
                        runs.append(run)
                        print(
                            f"  seed {seed} {m.upper()} k={k} {init_name:7s}: "
                            + (
                                f"mIoU {100 * run.miou:.1f}  OA {100 * run.oa:.1f}  "
                                f"mIoU(test classes) {100 * (run.miou_test or 0):.1f}  "
                                f"({run.test_px} test px, {run.seconds:.0f} s)"
                                if not run.error
                                else f"FAILED {run.error}"
                            ),
                            flush=True,
                        )
                        save(False)
        save(True)
    finally:
        if tmp_ctx is not None:
            tmp_ctx.cleanup()
    rows = summary_rows(runs, args)
    print()
    print("\n".join(table_lines(rows)))
    print()
    print("\n".join(verdict(rows, runs, args)))
    print(f"\nwall time {(time.perf_counter() - ctx['t0']) / 60:.1f} min")
    if not args.no_md:
        print(f"wrote {args.out_md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

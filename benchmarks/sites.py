"""Labelled real sites for the analyst-shaped benchmarks: loading and the square protocol.

A site is read once onto its label grid (10 m): every S2 acquisition (reflectance, NaN where
SCL says cloud/shadow/no data) and every S1 pass (dB, NaN nodata), resampled onto that grid,
plus the crop-type raster burnt from ``labels/parcels.gpkg`` (class field ``crop_name``) and a
parcel-id raster.

Square protocol (what an analyst does with a dozen clicks): per class, K squares of
``size x size`` px drawn at random strictly inside parcels of that class (every pixel of the
square in one parcel), not overlapping each other's 1-px margin; training pixels = the
squares, test pixels = every other labelled pixel except a 1-px margin around the squares.
"""

from __future__ import annotations

import datetime as _dt
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DEFAULT_DATA = REPO.parent / "shared" / "data"
SITES = {
    "flanders_2018": "worldcereal/flanders_2018",
    "tanzania_2021": "worldcereal/tanzania_2021",
}
CLASS_FIELD = "crop_name"
IGNORE = 255


@dataclass
class Site:
    name: str
    root: Path
    s2: np.ndarray  # (N2, C2, H, W) float32 reflectance, NaN invalid
    s2_dates: List[_dt.date]
    s2_bands: List[str]
    s1: np.ndarray  # (N1, 2, H, W) float32 dB, NaN invalid
    s1_dates: List[_dt.date]
    labels: np.ndarray  # (H, W) uint8 class index, 255 none
    parcels: np.ndarray  # (H, W) int32 parcel id, 0 none
    class_names: List[str]
    grid: object

    @property
    def shape(self):
        return self.labels.shape


def data_root(path: Optional[str] = None) -> Path:
    root = Path(path) if path else DEFAULT_DATA
    if not (root / "worldcereal").is_dir():
        raise SystemExit(
            f"real data not found under {root} (expected {root}/worldcereal/...): pass --data "
            "or put ../shared/data beside the checkout"
        )
    return root


def _read_all(series, grid) -> np.ndarray:
    from s4_core.align import read_acquisition

    out = np.empty((len(series), len(series.band_names), grid.height, grid.width), np.float32)
    for i, acq in enumerate(series.acquisitions):
        out[i] = read_acquisition(series, acq, grid)[0]
    return out


def load_site(name: str, data: Optional[str] = None, cache: Optional[Path] = None) -> Site:
    """Read a labelled site (see the module docstring); ``cache``: an .npz folder reused."""
    import warnings

    from s4_core.labels import rasterize_labels, rasterize_polygon_ids
    from s4_core.series import dataset_grid, open_series

    root = data_root(data) / SITES[name]
    grid = dataset_grid(root / "labels" / "crop_type.tif")
    gpkg = root / "labels" / "parcels.gpkg"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        labels, cmap, _ = rasterize_labels(gpkg, CLASS_FIELD, grid)
        parcels = rasterize_polygon_ids(gpkg, grid)
        s2s = open_series(root / "S2")
        s1s = open_series(root / "S1")
    key = cache / f"{name}.npz" if cache else None
    if key is not None and key.exists():
        z = np.load(key)
        s2, s1 = z["s2"], z["s1"]
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s2, s1 = _read_all(s2s, grid), _read_all(s1s, grid)
        if key is not None:
            key.parent.mkdir(parents=True, exist_ok=True)
            np.savez(key, s2=s2, s1=s1)
    return Site(
        name, root, s2, s2s.dates, list(s2s.band_names), s1, s1s.dates, labels,
        parcels.astype(np.int32), list(cmap.names), grid,
    )  # fmt: skip


@dataclass
class Split:
    train: np.ndarray  # (H, W) uint8 class index on the squares, 255 elsewhere
    test: np.ndarray  # (H, W) uint8 class index on test pixels, 255 elsewhere
    squares: Dict[str, int]  # squares drawn per class


def draw_squares(site: Site, k: int, seed: int, size: int = 5, margin: int = 1) -> Split:
    """The square protocol (module docstring). Classes where fewer than ``k`` squares fit get
    what fits (reported in ``squares``)."""
    rng = np.random.default_rng(seed)
    h, w = site.shape
    lab, pid = site.labels, site.parcels
    train = np.full((h, w), IGNORE, np.uint8)
    blocked = np.zeros((h, w), bool)  # squares + margins already taken
    counts = {}
    # top-left corners whose square lies in one parcel
    n_r, n_c = h - size + 1, w - size + 1
    same = np.ones((n_r, n_c), bool)
    base = pid[:n_r, :n_c]
    for dr in range(size):
        for dc in range(size):
            same &= pid[dr : dr + n_r, dc : dc + n_c] == base
    same &= base > 0
    for ci, name in enumerate(site.class_names):
        cand = np.argwhere(same & (lab[:n_r, :n_c] == ci))
        rng.shuffle(cand)
        got = 0
        for r, c in cand:
            if got >= k:
                break
            r0, c0 = max(r - margin, 0), max(c - margin, 0)
            if blocked[r0 : r + size + margin, c0 : c + size + margin].any():
                continue
            train[r : r + size, c : c + size] = ci
            blocked[r0 : r + size + margin, c0 : c + size + margin] = True
            got += 1
        counts[name] = got
    test = np.where(blocked, IGNORE, lab).astype(np.uint8)
    return Split(train, test, counts)


def score(pred: np.ndarray, truth: np.ndarray, class_names: Sequence[str]) -> dict:
    """OA, mIoU over the classes present in ``truth`` and per-class IoU."""
    k = len(class_names)
    ok = truth != IGNORE
    t, p = truth[ok].astype(np.int64), pred[ok].astype(np.int64)
    cm = np.bincount(t * k + np.clip(p, 0, k - 1), minlength=k * k).reshape(k, k)
    tp = np.diag(cm).astype(float)
    support, predicted = cm.sum(1), cm.sum(0)
    iou = {}
    for i, n in enumerate(class_names):
        if support[i] > 0:
            iou[n] = tp[i] / (support[i] + predicted[i] - tp[i])
    return {
        "oa": float(tp.sum() / max(cm.sum(), 1)),
        "miou": float(np.mean(list(iou.values()))) if iou else float("nan"),
        "iou": iou,
        "n_test": int(ok.sum()),
    }


def draw_parcels(site: Site, k: int, seed: int, test_fraction: float = 0.5) -> Split:
    """The whole-parcel protocol (benchmarks/few_labels.py's split on this site's parcels): per
    class with two or more parcels, ``floor(test_fraction * n)`` (at least 1) are test
    parcels; ``k`` of the others (a seeded order) train; single-parcel classes only train."""
    rng = np.random.default_rng(seed)
    train = np.full(site.shape, IGNORE, np.uint8)
    test = np.full(site.shape, IGNORE, np.uint8)
    counts = {}
    for ci, name in enumerate(site.class_names):
        ids = np.unique(site.parcels[(site.labels == ci) & (site.parcels > 0)])
        order = ids[rng.permutation(len(ids))]
        n_test = min(max(1, int(np.floor(test_fraction * len(ids)))), len(ids) - 1)
        n_test = n_test if len(ids) >= 2 else 0
        for pid in order[:n_test]:
            test[(site.parcels == pid) & (site.labels == ci)] = ci
        chosen = order[n_test : n_test + k]
        for pid in chosen:
            train[(site.parcels == pid) & (site.labels == ci)] = ci
        counts[name] = int(len(chosen))
    return Split(train, test, counts)


def start_run(threads: int) -> None:
    """A site benchmark's process setup: ``threads`` torch threads (the engine's too, through
    ``S4_THREADS``), warnings silenced."""
    import os
    import warnings

    import torch

    os.environ.setdefault("S4_THREADS", str(threads))
    torch.set_num_threads(threads)
    warnings.simplefilter("ignore")


def work_folder(work: Optional[str], prefix: str) -> Path:
    """The folder a benchmark writes its runs to: ``work``, or a new temporary one."""
    import tempfile

    folder = Path(work) if work else Path(tempfile.mkdtemp(prefix=prefix))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def written_by(script: str, threads: int, seconds: float, total: str) -> str:
    """The first line of a benchmark's Markdown section: which script, when, on what machine
    (CPU, logical CPUs, torch, threads) and for how long (``total``: "in all", "of runs")."""
    import os
    import platform

    import torch

    return (
        f"Written by `benchmarks/{script}` on {_dt.datetime.now():%Y-%m-%d %H:%M} "
        f"({platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, torch "
        f"{torch.__version__}, {threads} thread(s); {seconds / 60:.0f} min {total})."
    )


def write_md_section(path: Path, start: str, end: str, body: str) -> None:
    """Replace the block between the ``start`` / ``end`` markers of the Markdown file ``path``
    with ``body`` (appended when the markers are missing); the rest of the file stays."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = f"{start}\n{body}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)

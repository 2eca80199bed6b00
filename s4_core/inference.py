"""Tiled sliding-window segmentation streamed to GeoTIFF, class raster -> polygons, evaluation.

Tiling (``plan_tiles``): the network sees windows of ``tile_size`` x ``tile_size`` px that
overlap their neighbours by at least ``overlap`` px. Each window contributes only its *core*:
the overlap between two neighbours is split in the middle, so about ``overlap / 2`` px of
margin are cropped on every side that borders another window (scene edges are kept). Every
scene pixel belongs to exactly one core. Window origins are multiples of the network's
down-sampling factor (``NetConfig.factor``) so that its pooling cells fall where they fall in a
whole-scene run, and the last window of a row/column ends exactly at the scene edge (it may be
up to ``factor - 1`` px larger than ``tile_size``). With margins at least as wide as the
network's receptive field, a tiled run is identical to a whole-scene run (up to float
rounding); with narrower margins only pixels near core borders can differ slightly. The
reference network (widths 32-64-128) has a receptive-field radius of 27 px, so an overlap of
56 px or more gives whole-scene results exactly; with the default 32 px, class probabilities
differed by at most ~2e-4 (no class changed) in our tests.
Cropping (not blending) is used so that results do not depend on the tiling, and outputs
stream window by window: memory is bounded by one batch of windows, whatever the scene size.

Inputs per window: the scene is read window by window (``Scene.read``), frames selected with
the checkpoint's time policy (``align.fixed_length_indices``), bands selected by name in the
checkpoint's order, normalised with the checkpoint's ``BandStats``. A pixel is *valid* when at
least one selected frame has a valid observation there; invalid pixels are 255 (nodata) in
the class raster.

Outputs (``segment_scene``): a uint8 class raster (class index = position in the checkpoint's
class map, 255 = nodata), tiled, DEFLATE-compressed, with a colour table from the class
colours and the class map in tags (``S4_CLASSES``: JSON list of ``{"index", "name", "value",
"color"}``; ``S4_CLASS_NAMES``: JSON list of names); optionally per-class probabilities (one band per class, band
descriptions = class names; float32 with NaN nodata, or uint8 = round(254 p) with 255 nodata
and band scale 1/254). Files are written to temporary files in the target folder and moved
into place at the end; on error or cancel nothing is left behind.

Vector export (``vectorize_classes``): polygons of 4-connected same-class pixels
(``rasterio.features.shapes``) in a GeoPackage layer ``classes`` with fields ``class_id``
(class index), ``class_name`` and ``area_m2``. With ``min_area_m2`` > 0, regions smaller than
that are first merged into their largest neighbouring class (GDAL sieve, 4-connected; nodata
is never filled and never absorbs), then polygons still smaller (regions with no class
neighbour, e.g. surrounded by nodata) are dropped.
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from . import __version__
from .checkpoint import build_model
from .composite import as_model_input
from .device import (
    autocast_context,
    cpu_threads,
    prepare_model,
    resolve_device,
    run_with_oom_backoff,
)
from .errors import Cancelled, CheckpointError, DataError, LabelError, OutputError
from .grid import Grid
from .labels import IGNORE_INDEX, ClassMap
from .metrics import confusion_matrix, scores
from .validate import check_written_raster

PathLike = Union[str, "os.PathLike[str]"]
Progress = Callable[..., None]
Cancel = Callable[[], bool]
Log = Callable[[str], None]

NODATA = IGNORE_INDEX  # 255 in class rasters
TAG_CLASSES = "S4_CLASSES"  # JSON [{"index", "name", "value", "color": [r, g, b]}, ...]
TAG_NAMES = "S4_CLASS_NAMES"  # JSON [name, ...]
PROBABILITY_DTYPES = ("float32", "uint8")
UINT8_SCALE = 254.0  # uint8 probabilities: round(254 p); 255 = nodata
LAYER_NAME = "classes"

__all__ = [
    "LAYER_NAME",
    "NODATA",
    "SegmentResult",
    "Tile",
    "evaluate",
    "plan_tiles",
    "predict_windows",
    "read_class_raster",
    "segment_scene",
    "vectorize_classes",
]


# ----------------------------------------------------------------------------- tiling
@dataclass(frozen=True)
class Tile:
    """A window the network reads (``row, col, height, width``) and the core it contributes
    (``core_row, core_col, core_height, core_width``, in scene pixels)."""

    row: int
    col: int
    height: int
    width: int
    core_row: int
    core_col: int
    core_height: int
    core_width: int

    @property
    def shape(self) -> Tuple[int, int]:
        return (self.height, self.width)


def _axis_plan(length: int, tile: int, overlap: int, align: int) -> List[Tuple[int, int, int, int]]:
    """Along one axis: (start, size, core_start, core_end) per window."""
    if length <= tile:
        return [(0, length, 0, length)]
    stride = max(align, ((tile - overlap) // align) * align)
    last = ((length - tile) // align) * align  # aligned, ends at the edge with size >= tile
    starts = [s for s in range(0, last, stride)] + [last]
    ends = [s + tile for s in starts[:-1]] + [length]
    bounds = [0]
    for i in range(len(starts) - 1):
        bounds.append((starts[i + 1] + ends[i]) // 2)  # middle of the overlap
    bounds.append(length)
    return [(s, e - s, bounds[i], bounds[i + 1]) for i, (s, e) in enumerate(zip(starts, ends))]


def plan_tiles(height: int, width: int, tile_size: int, overlap: int, align: int = 1) -> List[Tile]:
    """Windows covering a ``height`` x ``width`` scene, row-major (see the module docstring)."""
    tile_size, overlap, align = int(tile_size), int(overlap), max(1, int(align))
    if tile_size < 1:
        raise DataError(f"tile size must be at least 1 px, not {tile_size} (--tile-size)")
    if overlap < 0 or overlap >= tile_size:
        raise DataError(
            f"overlap {overlap} px must be >= 0 and smaller than the tile size {tile_size} px "
            "(--overlap, --tile-size)"
        )
    rows = _axis_plan(height, tile_size, overlap, align)
    cols = _axis_plan(width, tile_size, overlap, align)
    return [
        Tile(r, c, h, w, cr0, cc0, cr1 - cr0, cc1 - cc0)
        for r, h, cr0, cr1 in rows
        for c, w, cc0, cc1 in cols
    ]


# ----------------------------------------------------------------------------- prediction
def _net_factor(model: torch.nn.Module) -> int:
    config = getattr(model, "config", None)
    factor = getattr(config, "factor", None)
    return int(factor) if factor else 1


def _check_cancel(cancel: Optional[Cancel]) -> None:
    if cancel is not None and cancel():
        raise Cancelled("segmentation cancelled by the user")


def _band_index(scene, modality: str, bands: Sequence[str]) -> np.ndarray:
    if modality not in getattr(scene, "modalities", ()):
        other = ", ".join(m.upper() for m in getattr(scene, "modalities", ())) or "nothing"
        raise DataError(
            f"the model segments from {modality.upper()} but the scene holds {other}: give "
            f"{modality.upper()} layers (--{modality})"
        )
    series = getattr(scene, modality, None)
    have = list(getattr(series, "band_names", None) or bands)
    missing = [b for b in bands if b not in have]
    if missing:
        raise DataError(
            f"the {modality.upper()} layers have bands {have} but the model was trained on "
            f"{list(bands)} (missing {missing}): give {modality.upper()} layers with those bands"
        )
    return np.array([have.index(b) for b in bands], dtype=np.int64)


class _Predictor:
    """Reads, normalises and predicts windows; keeps the batch size reduced after an OOM."""

    def __init__(self, model, scene, modality, band_stats, time_length, time_mode, device, log):
        from .align import fixed_length_indices

        self.model = model
        self.scene = scene
        self.modality = modality
        self.stats = band_stats
        self.device = torch.device(device)
        self.log = log
        bands = list(getattr(band_stats, "band_names", []) or [])
        if not bands:
            raise CheckpointError("the model's band statistics name no bands")
        self.band_index = _band_index(scene, modality, bands)
        indices, frame_valid = fixed_length_indices(
            int(scene.n_frames), int(time_length), time_mode
        )
        indices = np.asarray(indices, dtype=np.int64)
        self.frames, self.inverse = np.unique(indices, return_inverse=True)
        self.policy_valid = np.asarray(frame_valid, dtype=bool)
        self.batch_size = 1  # set by _predict_tiles; lowered after an out-of-memory back-off

    def read(self, tile: Tile) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(normalised x (T, C, h, w) float32, frame mask (T,), pixel validity (h, w))."""
        m = self.modality
        window = self.scene.grid.window(tile.row, tile.col, tile.height, tile.width)
        data = self.scene.read(window, modalities=[m], frames=self.frames)
        x = np.asarray(data[m], dtype=np.float32)[self.inverse][:, self.band_index]
        valid = np.asarray(data[f"{m}_valid"], dtype=bool)[self.inverse]
        frame_mask = self.policy_valid.copy()
        if "frame_valid" in data:
            frame_mask &= np.asarray(data["frame_valid"], dtype=bool)[self.inverse]
        valid &= frame_mask[:, None, None]
        x = self.stats.apply(x, valid)
        return np.asarray(x, dtype=np.float32), frame_mask, valid.any(axis=0)

    @torch.inference_mode()
    def forward(self, xs: np.ndarray, masks: np.ndarray, batch_size: int) -> np.ndarray:
        """Softmax probabilities (N, K, h, w) float32 of a stack of windows, in chunks."""
        out = []
        for i in range(0, len(xs), batch_size):
            x = torch.from_numpy(xs[i : i + batch_size]).to(self.device, non_blocking=True)
            fm = torch.from_numpy(masks[i : i + batch_size]).to(self.device)
            with autocast_context(self.device):
                logits = self.model.segment(x, self.modality, fm)
            out.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
        return np.concatenate(out, axis=0)


def _predict_tiles(
    predictor: _Predictor,
    tiles: Sequence[Tile],
    n_classes: int,
    *,
    batch_size: int,
    progress: Optional[Progress],
    cancel: Optional[Cancel],
) -> Iterator[Tuple[Tile, np.ndarray, np.ndarray]]:
    """(tile, core probabilities (K, h, w), core validity (h, w)) per tile, batched by shape."""
    predictor.batch_size = max(1, int(batch_size))
    queues: Dict[Tuple[int, int], List[Tile]] = {}
    total = len(tiles)
    done = 0

    def run(group: List[Tile]) -> Iterator[Tuple[Tile, np.ndarray, np.ndarray]]:
        nonlocal done
        _check_cancel(cancel)
        reads = [predictor.read(t) for t in group]
        work = [i for i, r in enumerate(reads) if r[2].any()]  # skip windows without data
        probs: Dict[int, np.ndarray] = {}
        if work:
            xs = np.stack([reads[i][0] for i in work])
            fms = np.stack([reads[i][1] for i in work])

            requested = min(predictor.batch_size, len(work))

            def attempt(size: int) -> np.ndarray:
                result = predictor.forward(xs, fms, size)
                if size < requested:  # an out-of-memory back-off happened: keep the smaller size
                    predictor.batch_size = size
                return result

            out = run_with_oom_backoff(attempt, requested, log=predictor.log)
            probs = {i: out[j] for j, i in enumerate(work)}
        for i, t in enumerate(group):
            r0, c0 = t.core_row - t.row, t.core_col - t.col
            sl = (slice(r0, r0 + t.core_height), slice(c0, c0 + t.core_width))
            valid = reads[i][2][sl]
            if i in probs:
                p = probs[i][(slice(None),) + sl]
            else:
                p = np.zeros((n_classes, t.core_height, t.core_width), dtype=np.float32)
            yield t, np.ascontiguousarray(p, dtype=np.float32), valid
        done += len(group)
        if progress is not None:
            progress(done / total, f"segmenting: {done}/{total} windows", None)

    for tile in tiles:
        queue = queues.setdefault(tile.shape, [])
        queue.append(tile)
        if len(queue) >= predictor.batch_size:
            queues[tile.shape] = []
            yield from run(queue)
    for queue in queues.values():
        if queue:
            yield from run(queue)


def predict_windows(
    model: torch.nn.Module,
    scene,
    modality: str,
    band_stats,
    *,
    time_length: int,
    time_mode: str,
    tile_size: int = 128,
    overlap: int = 32,
    batch_size: int = 4,
    device: Union[str, torch.device] = "auto",
    progress: Optional[Progress] = None,
    cancel: Optional[Cancel] = None,
    log: Optional[Log] = None,
) -> Iterator[Tuple[Grid, np.ndarray, np.ndarray]]:
    """Class probabilities of ``scene`` window by window: ``(window Grid, probabilities
    (K, h, w) float32, valid (h, w) bool)``; the windows (tile cores) tile the scene exactly.

    ``model`` must already be on ``device`` (see ``segment_scene``); it is put in eval mode.
    Raises ``Cancelled`` when ``cancel()`` turns true (checked before every batch).
    """
    dev = resolve_device(device) if not isinstance(device, torch.device) else device
    model.eval()
    predictor = _Predictor(model, scene, modality, band_stats, time_length, time_mode, dev, log)
    n_classes = int(getattr(getattr(model, "config", None), "num_classes", 0) or 0)
    tiles = plan_tiles(scene.grid.height, scene.grid.width, tile_size, overlap, _net_factor(model))
    for tile, probs, valid in _predict_tiles(
        predictor, tiles, n_classes or 1, batch_size=batch_size, progress=progress, cancel=cancel
    ):
        window = scene.grid.window(tile.core_row, tile.core_col, tile.core_height, tile.core_width)
        yield window, probs, valid


# ----------------------------------------------------------------------------- writing
@dataclass
class SegmentResult:
    """What ``segment_scene`` wrote."""

    path: Path
    probabilities: Optional[Path]
    class_names: List[str]
    class_colors: List[Tuple[int, int, int]]
    pixel_counts: Dict[str, int]
    device: str
    seconds: float
    nodata_pixels: int = 0
    tiles: int = 0
    batch_size: int = 0
    messages: List[str] = field(default_factory=list)


def _temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


def _remove(path: Optional[Path]) -> None:
    if path is None:
        return
    for p in (path, Path(str(path) + ".aux.xml")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def _gtiff_profile(grid: Grid, count: int, dtype: str, nodata) -> dict:
    block = 256
    return {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": count,
        "dtype": dtype,
        "crs": grid.crs,
        "transform": grid.transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": block,
        "blockysize": block,
        "compress": "deflate",
        "interleave": "band",
        "BIGTIFF": "IF_SAFER",
    }


def _class_map_of(ckpt: dict) -> ClassMap:
    classes = ckpt.get("classes")
    if not classes:
        raise CheckpointError(
            "a pretrained checkpoint has no classes and cannot segment: fine-tune it on labelled "
            "polygons first (s4 finetune)"
        )
    return ClassMap.from_dict(classes)


def _check_output(path: Path, flag: str) -> None:
    """Create the output's folder; DataError when that is impossible (or it is a folder)."""
    if path.is_dir():
        raise DataError(f"{path} is a folder ({flag}): give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create the folder of {path} ({flag}): {exc}") from exc


def segment_scene(
    ckpt: dict,
    scene,
    out_path: PathLike,
    *,
    probabilities_path: Optional[PathLike] = None,
    probabilities_dtype: str = "float32",
    tile_size: int = 128,
    overlap: int = 32,
    batch_size: int = 4,
    device: Union[str, torch.device] = "auto",
    progress: Optional[Progress] = None,
    cancel: Optional[Cancel] = None,
    log: Optional[Log] = None,
) -> SegmentResult:
    """Segment ``scene`` with a fine-tuned checkpoint (from ``load_checkpoint``) into a class
    raster at ``out_path`` (and class probabilities at ``probabilities_path``). CPU runs use
    ``device.cpu_threads`` (the same map on any machine)."""
    dev = resolve_device(device) if not isinstance(device, torch.device) else device
    with cpu_threads(dev):
        return _segment_scene(
            ckpt, scene, out_path, probabilities_path=probabilities_path,
            probabilities_dtype=probabilities_dtype, tile_size=tile_size, overlap=overlap,
            batch_size=batch_size, device=dev, progress=progress, cancel=cancel, log=log,
        )  # fmt: skip


def _segment_scene(
    ckpt: dict,
    scene,
    out_path: PathLike,
    *,
    probabilities_path: Optional[PathLike],
    probabilities_dtype: str,
    tile_size: int,
    overlap: int,
    batch_size: int,
    device: torch.device,
    progress: Optional[Progress],
    cancel: Optional[Cancel],
    log: Optional[Log],
) -> SegmentResult:
    from .normalize import BandStats

    start = time.perf_counter()
    if ckpt.get("kind") != "finetuned":
        raise CheckpointError(
            f"a {ckpt.get('kind', 'unknown')} checkpoint cannot segment: fine-tune it on "
            "labelled polygons first (s4 finetune)"
        )
    class_map = _class_map_of(ckpt)
    modality = ckpt["modality"]
    stats = BandStats.from_dict(ckpt["band_stats"][modality])
    bands = list(ckpt["bands"][modality])
    if list(stats.band_names) != bands:
        raise CheckpointError(
            f"the checkpoint's {modality.upper()} band statistics ({list(stats.band_names)}) do "
            f"not match its bands ({bands}): re-create it with s4 finetune"
        )
    if probabilities_dtype not in PROBABILITY_DTYPES:
        raise DataError(
            f"probability type {probabilities_dtype!r} is not one of {PROBABILITY_DTYPES}"
        )
    _band_index(scene, modality, bands)  # fail early, before loading the network
    model_input = ckpt.get("input") or {}
    scene = as_model_input(
        scene, int(model_input.get("composite_months", 0)), model_input.get("periods")
    )
    out_path = Path(os.fspath(out_path))
    prob_path = Path(os.fspath(probabilities_path)) if probabilities_path else None
    if prob_path is not None and prob_path.resolve() == out_path.resolve():
        raise DataError(f"the class raster and the probabilities are both {out_path}")
    _check_output(out_path, "--out")
    if prob_path is not None:
        _check_output(prob_path, "--probabilities")

    dev = resolve_device(device) if not isinstance(device, torch.device) else device
    model = prepare_model(build_model(ckpt), dev)
    k = len(class_map)
    n_out = int(model.config.num_classes)
    if n_out != k:
        raise CheckpointError(
            f"the checkpoint's network predicts {n_out} classes but its class map has {k}: "
            "re-create it with s4 finetune"
        )
    messages: List[str] = []

    def _log(message: str) -> None:
        messages.append(message)
        if log is not None:
            log(message)

    grid: Grid = scene.grid
    tiles = plan_tiles(grid.height, grid.width, tile_size, overlap, _net_factor(model))
    predictor = _Predictor(
        model, scene, modality, stats, int(ckpt["time"]["length"]), ckpt["time"]["mode"], dev, _log
    )
    _log(
        f"segmenting {grid.width} x {grid.height} px in {len(tiles)} window(s) of up to "
        f"{tile_size} px (overlap {overlap} px) on {dev}"
    )

    import rasterio

    tmp_out = _temp_path(out_path)
    tmp_prob = _temp_path(prob_path) if prob_path is not None else None
    counts = np.zeros(256, dtype=np.int64)
    try:
        dst = rasterio.open(tmp_out, "w", **_gtiff_profile(grid, 1, "uint8", NODATA))
        pdst = None
        try:
            dst.write_colormap(
                1,
                {
                    **{i: (*class_map.colors[i], 255) for i in range(k)},
                    NODATA: (0, 0, 0, 0),
                },
            )
            dst.update_tags(**_class_tags(class_map, modality))
            dst.set_band_description(1, "class")
            if tmp_prob is not None:
                nod = float("nan") if probabilities_dtype == "float32" else NODATA
                pdst = rasterio.open(
                    tmp_prob, "w", **_gtiff_profile(grid, k, probabilities_dtype, nod)
                )
                for i, name in enumerate(class_map.names):
                    pdst.set_band_description(i + 1, name)
                if probabilities_dtype == "uint8":
                    pdst.scales = [1.0 / UINT8_SCALE] * k
                    pdst.offsets = [0.0] * k
                pdst.update_tags(**_class_tags(class_map, modality))
            from rasterio.windows import Window

            for tile, probs, valid in _predict_tiles(
                predictor, tiles, k, batch_size=batch_size, progress=progress, cancel=cancel
            ):
                win = Window(tile.core_col, tile.core_row, tile.core_width, tile.core_height)
                classes = probs.argmax(axis=0).astype(np.uint8)
                classes[~valid] = NODATA
                counts += np.bincount(classes.ravel(), minlength=256)
                dst.write(classes, 1, window=win)
                if pdst is not None:
                    if probabilities_dtype == "float32":
                        p = np.where(valid[None], probs, np.float32("nan"))
                    else:
                        p = np.rint(probs * UINT8_SCALE).astype(np.uint8)
                        p[:, ~valid] = NODATA
                    pdst.write(p, window=win)
            _check_cancel(cancel)
        finally:
            dst.close()
            if pdst is not None:
                pdst.close()
        check_written_raster(tmp_out, out_path, grid.width, grid.height, 1)
        if tmp_prob is not None:
            check_written_raster(tmp_prob, prob_path, grid.width, grid.height, k)
            os.replace(tmp_prob, prob_path)
            _remove(Path(str(tmp_prob) + ".aux.xml"))
        os.replace(tmp_out, out_path)
        _remove(Path(str(tmp_out) + ".aux.xml"))
    except BaseException:
        _remove(tmp_out)
        _remove(tmp_prob)
        raise
    pixel_counts = {name: int(counts[i]) for i, name in enumerate(class_map.names)}
    return SegmentResult(
        path=out_path,
        probabilities=prob_path,
        class_names=list(class_map.names),
        class_colors=[tuple(c) for c in class_map.colors],
        pixel_counts=pixel_counts,
        device=str(dev),
        seconds=time.perf_counter() - start,
        nodata_pixels=int(counts[NODATA]),
        tiles=len(tiles),
        batch_size=int(predictor.batch_size),
        messages=messages,
    )


def _class_tags(class_map: ClassMap, modality: str) -> Dict[str, str]:
    classes = [
        {"index": i, "name": n, "value": v, "color": list(c)}
        for i, (n, v, c) in enumerate(zip(class_map.names, class_map.values, class_map.colors))
    ]
    return {
        TAG_CLASSES: json.dumps(classes),
        TAG_NAMES: json.dumps(list(class_map.names)),
        "S4_MODALITY": modality,
        "S4_ENGINE_VERSION": __version__,
    }


# ----------------------------------------------------------------------------- reading
def _tag_class_map(tags: Dict[str, str], path: Path) -> Optional[ClassMap]:
    """The class map in an S4 class raster's tags: ``S4_CLASSES`` (written by
    ``segment_scene``), ``S4_CLASS_MAP`` (``ClassMap.to_dict()``) or ``S4_CLASS_NAMES``; None
    without any of them. Pixel value i is class i."""
    try:
        if TAG_CLASSES in tags:
            items = sorted(json.loads(tags[TAG_CLASSES]), key=lambda c: int(c["index"]))
            if [int(c["index"]) for c in items] != list(range(len(items))):
                raise ValueError("class indices are not 0..K-1")
            return ClassMap(
                names=[c["name"] for c in items],
                values=[c.get("value", c["name"]) for c in items],
                colors=[tuple(c["color"]) for c in items],
            )
        if "S4_CLASS_MAP" in tags:
            return ClassMap.from_dict(json.loads(tags["S4_CLASS_MAP"]))
        if TAG_NAMES in tags:
            return ClassMap.from_names(json.loads(tags[TAG_NAMES]))
    except (ValueError, TypeError, KeyError, AttributeError, LabelError) as exc:
        raise DataError(
            f"{path}: the class tags are damaged ({exc}): re-create the raster"
        ) from exc
    return None


def _value_table(tags: Dict[str, str], path: Path) -> Optional[Dict[int, Tuple[str, Any]]]:
    """Pixel value -> (class name, class value) from a reference raster's tags: the S4 tags,
    or ``CLASSES`` = JSON ``{pixel value: name}``; None without them."""
    class_map = _tag_class_map(tags, path)
    if class_map is not None:
        return {i: (n, v) for i, (n, v) in enumerate(zip(class_map.names, class_map.values))}
    if "CLASSES" in tags:
        try:
            table = json.loads(tags["CLASSES"])
            return {int(k): (str(v), int(k)) for k, v in dict(table).items()}
        except (ValueError, TypeError) as exc:
            raise LabelError(f"{path}: its CLASSES tag is not a JSON {{value: name}} map") from exc
    return None


def read_class_raster(path: PathLike) -> Tuple[np.ndarray, ClassMap, Grid]:
    """(uint8 classes (H, W) with 255 = nodata, ClassMap from the tags, Grid) of a class raster
    written by ``segment_scene``."""
    import rasterio

    path = Path(os.fspath(path))
    if not path.is_file():
        raise DataError(f"class raster {path} does not exist: check the path")
    try:
        with rasterio.open(path) as ds:
            tags = ds.tags()
            data = ds.read(1)
            dtype = ds.dtypes[0]
    except rasterio.errors.RasterioIOError as exc:
        raise DataError(f"cannot read the class raster {path}: {exc}") from exc
    class_map = _tag_class_map(tags, path)
    if class_map is None or dtype != "uint8":
        raise DataError(
            f"{path} is not an S4 class raster (uint8 with class names in the {TAG_CLASSES} tag): "
            "give a raster written by s4 segment"
        )
    return data, class_map, Grid.from_raster(path)


# ----------------------------------------------------------------------------- polygons
def _ring_area(ring: Sequence[Sequence[float]]) -> float:
    xy = np.asarray(ring, dtype=np.float64)[:, :2]
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * abs(float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])))


class _AreaMeter:
    """Polygon area in m²: planar in projected CRSs, geodesic (WGS 84) in geographic ones."""

    def __init__(self, crs) -> None:
        self.geodesic = bool(crs.is_geographic)
        self.factor = 1.0
        if self.geodesic:
            try:
                from pyproj import Geod
            except ImportError as exc:  # pragma: no cover - pyproj ships with QGIS and rasterio
                raise DataError(
                    "polygon areas in a geographic CRS need pyproj: install it, or reproject the "
                    "scene to a projected CRS (e.g. UTM)"
                ) from exc
            self.geod = Geod(ellps="WGS84")
        else:
            factor = crs.linear_units_factor[1] if crs.is_projected else 1.0
            self.factor = float(factor) ** 2

    def ring(self, ring) -> float:
        if self.geodesic:
            xy = np.asarray(ring, dtype=np.float64)
            area, _ = self.geod.polygon_area_perimeter(xy[:, 0], xy[:, 1])
            return abs(float(area))
        return _ring_area(ring) * self.factor

    def polygon(self, geom: dict) -> float:
        rings = geom["coordinates"]
        return max(0.0, self.ring(rings[0]) - sum(self.ring(r) for r in rings[1:]))


def vectorize_classes(
    class_raster: PathLike,
    out_gpkg: PathLike,
    *,
    class_map: Optional[ClassMap] = None,
    min_area_m2: float = 0.0,
    progress: Optional[Progress] = None,
    cancel: Optional[Cancel] = None,
) -> int:
    """Class raster -> polygons in the GeoPackage layer ``classes`` (fields ``class_id``,
    ``class_name``, ``area_m2``); returns the number of polygons. See the module docstring for
    ``min_area_m2``. ``class_map`` overrides the raster's class tags."""
    import fiona
    import rasterio
    from rasterio import features

    src = Path(os.fspath(class_raster))
    out = Path(os.fspath(out_gpkg))
    _check_output(out, "--vector")
    if not src.is_file():
        raise DataError(f"class raster {src} does not exist: check the path")
    with rasterio.open(src) as ds:
        data = ds.read(1)
        tags = ds.tags()
        transform, crs = ds.transform, ds.crs
    if crs is None:
        raise DataError(f"{src} has no CRS: polygons need one")
    if class_map is None:
        class_map = _tag_class_map(tags, src)
    names = list(class_map.names) if class_map is not None else []
    meter = _AreaMeter(crs)
    mask = data != NODATA
    if min_area_m2 and min_area_m2 > 0 and mask.any():
        cy, cx = data.shape[0] / 2.0, data.shape[1] / 2.0
        px = [transform * (cx + dx, cy + dy) for dx, dy in ((0, 0), (1, 0), (1, 1), (0, 1), (0, 0))]
        pixel_area = meter.ring(px)
        min_pixels = int(math.ceil(min_area_m2 / pixel_area - 1e-9)) if pixel_area > 0 else 0
        if min_pixels > 1:
            data = features.sieve(data, size=min_pixels, mask=mask, connectivity=4)
    _check_cancel(cancel)
    if progress is not None:
        progress(0.1, "tracing polygons", None)

    schema = {
        "geometry": "Polygon",
        "properties": {"class_id": "int", "class_name": "str", "area_m2": "float"},
    }
    tmp = out.with_name(f".{out.stem}.{uuid.uuid4().hex[:8]}.tmp.gpkg")
    n = 0
    total = max(1, int(mask.sum()))
    covered = 0
    try:
        with fiona.open(
            tmp, "w", driver="GPKG", layer=LAYER_NAME, schema=schema, crs_wkt=crs.to_wkt()
        ) as sink:
            buffer = []
            for geom, value in features.shapes(
                data, mask=mask, connectivity=4, transform=transform
            ):
                cid = int(value)
                area = meter.polygon(geom)
                covered += 1
                if min_area_m2 and area < min_area_m2:
                    continue
                name = names[cid] if cid < len(names) else str(cid)
                buffer.append(
                    {
                        "geometry": geom,
                        "properties": {"class_id": cid, "class_name": name, "area_m2": area},
                    }
                )
                if len(buffer) >= 1000:
                    _check_cancel(cancel)
                    sink.writerecords(buffer)
                    n += len(buffer)
                    buffer = []
                    if progress is not None:
                        progress(min(0.95, 0.1 + 0.85 * n / total), f"{n} polygons", None)
            if buffer:
                sink.writerecords(buffer)
                n += len(buffer)
        _check_cancel(cancel)
        os.replace(tmp, out)
    except BaseException as exc:
        for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal")):
            _remove(p)
        # fiona/GDAL report a failed write (full disk, lost folder) as RuntimeError/FionaError
        if isinstance(exc, (OSError, RuntimeError, fiona.errors.FionaError)):
            raise OutputError(
                f"could not write {out}: {exc}; check that the disk holding {out.parent} has "
                "free space, then run again"
            ) from None
        raise
    if progress is not None:
        progress(1.0, f"wrote {n} polygons to {out.name}", None)
    return n


# ----------------------------------------------------------------------------- evaluation
def _is_raster(path: Path) -> bool:
    import rasterio

    try:
        with rasterio.open(path) as ds:
            return ds.count >= 1
    except rasterio.errors.RasterioIOError:
        return False


def _read_truth_raster(
    path: Path, grid: Grid
) -> Tuple[np.ndarray, Optional[Dict[int, Tuple[str, Any]]]]:
    """(values on ``grid`` as int64 with -1 = nodata, value table from the tags or None).

    A raster on another grid is resampled onto ``grid`` (nearest neighbour)."""
    import rasterio
    from rasterio.warp import Resampling, reproject

    with rasterio.open(path) as ds:
        tags = ds.tags()
        nodata = ds.nodata
        if ds.crs is None:
            raise LabelError(f"reference raster {path} has no CRS: assign one")
        own = Grid(ds.crs, ds.transform, ds.width, ds.height)
        if own.same_as(grid):
            data = ds.read(1)
            valid = ds.read_masks(1) > 0
        else:
            data = np.zeros(grid.shape, dtype=ds.dtypes[0])
            src_nodata = nodata if nodata is not None else None
            reproject(
                rasterio.band(ds, 1),
                data,
                dst_transform=grid.transform,
                dst_crs=grid.crs,
                resampling=Resampling.nearest,
                src_nodata=src_nodata,
                dst_nodata=src_nodata if src_nodata is not None else 0,
            )
            inside = np.zeros(grid.shape, dtype=np.uint8)
            reproject(
                np.ones(own.shape, dtype=np.uint8),
                inside,
                src_transform=own.transform,
                src_crs=own.crs,
                dst_transform=grid.transform,
                dst_crs=grid.crs,
                resampling=Resampling.nearest,
                dst_nodata=0,
            )
            valid = inside > 0
            if nodata is not None:
                valid &= data != nodata
    values = data.astype(np.float64)
    out = np.full(grid.shape, -1, dtype=np.int64)
    finite = valid & np.isfinite(values) & (values >= 0)
    out[finite] = values[finite].astype(np.int64)
    if np.any(values[finite] != out[finite]):
        raise LabelError(f"reference raster {path} holds non-integer values: give class codes")
    table = _value_table(tags, path)
    if table is not None and _tag_class_map(tags, path) is not None:
        out[out == NODATA] = -1  # S4 class rasters: 255 = nodata
    return out, table


def evaluate(pred_path: PathLike, truth: PathLike, *, class_field: Optional[str] = None) -> dict:
    """Scores of a class raster against reference polygons (``class_field``) or a reference
    class raster, matched to the prediction's classes by name or value.

    Reference classes the model does not know are left out (listed in ``unmatched``); labelled
    pixels the prediction leaves as nodata are not counted (``unpredicted_pixels``).
    """
    from .labels import rasterize_labels

    pred, class_map, grid = read_class_raster(pred_path)
    truth = Path(os.fspath(truth))
    if not truth.exists():
        raise LabelError(f"reference {truth} does not exist: check the path")
    k = len(class_map)
    mapped = np.full(grid.shape, NODATA, dtype=np.uint8)
    unmatched: Dict[str, int] = {}

    folded = [n.strip().casefold() for n in class_map.names]

    def match(value: Any, name: str) -> Optional[int]:
        """By name (exact, then case-insensitive), else by class value (e.g. a crop code)."""
        if name in class_map.names:
            return class_map.names.index(name)
        if name.strip().casefold() in folded:
            return folded.index(name.strip().casefold())
        try:
            return class_map.index_of(value)
        except LabelError:
            return None

    if _is_raster(truth):
        values, table = _read_truth_raster(truth, grid)
        codes, counts = np.unique(values[values >= 0], return_counts=True)
        for code, count in zip(codes.tolist(), counts.tolist()):
            if table is not None and code in table:
                label, value = table[code]
                idx = match(value, label)
            else:
                label = str(code)
                idx = match(code, label)
            if idx is None:
                unmatched[label] = unmatched.get(label, 0) + int(count)
            else:
                mapped[values == code] = idx
        source = "raster"
    else:
        if not class_field:
            raise LabelError(
                f"{truth} is a polygon layer: give the field that holds the class (--class-field)"
            )
        labels, truth_map, _report = rasterize_labels(truth, class_field, grid)
        hist = np.bincount(labels.ravel(), minlength=256)
        for i, (name, value) in enumerate(zip(truth_map.names, truth_map.values)):
            idx = match(value, name)
            if idx is None:
                unmatched[name] = unmatched.get(name, 0) + int(hist[i])
            else:
                mapped[labels == i] = idx
        source = "polygons"
    labelled = mapped != NODATA
    if not labelled.any():
        known = ", ".join(class_map.names)
        raise LabelError(
            f"no pixel of the reference {truth} has a class the model knows ({known}) on the "
            f"prediction's grid; unmatched reference classes: {sorted(unmatched) or 'none'}"
        )
    cm = confusion_matrix(pred, mapped, k, ignore=NODATA)
    result = scores(cm, class_map.names)
    result.update(
        confusion_matrix=cm.tolist(),
        class_names=list(class_map.names),
        prediction=str(pred_path),
        truth=str(truth),
        truth_type=source,
        unmatched=unmatched,
        unpredicted_pixels=int((labelled & (pred == NODATA)).sum()),
    )
    return result

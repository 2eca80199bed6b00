"""Tiled sliding-window segmentation streamed to GeoTIFF: class map, probabilities, confidence.

Tiling (``tiling.py``): windows whose cores tile the scene; by default (``tile_size`` /
``overlap`` None) the overlap is the network's receptive span (before + after a pixel), so a
tiled run equals a whole-scene run, and the windows are rectangles as large as
``tiling.auto_tiling``'s memory budget allows, chosen to compute the least area twice.
Cropping (not blending) is used so that results do not depend on the tiling, and outputs
stream window by window: memory is bounded by one batch of windows, whatever the scene size.

Inputs per window: the scene is read window by window (``Scene.read``), frames selected with
the checkpoint's time policy (``align.fixed_length_indices``), bands selected by name in the
checkpoint's order, normalised with the checkpoint's ``BandStats``. A pixel is *valid* when at
least one selected frame has a valid observation there; invalid pixels are 255 (nodata) in
the class raster. The network runs in a backend (``backends.py``): PyTorch for a checkpoint,
ONNX Runtime for an ``.onnx`` export (no torch needed).

Outputs (``segment_scene``), all written block by block through ``raster_io.RasterWriter``
(temporary files moved into place at the end; nothing left behind on error or cancel):

- a uint8 class raster (class index = position in the checkpoint's class map, 255 = nodata),
  with a colour table from the class colours and the class map in tags (``S4_CLASSES``,
  ``S4_CLASS_NAMES``);
- optionally per-class probabilities (one band per class, band descriptions = class names;
  float32 with NaN nodata, or uint8 = round(254 p) with 255 nodata and band scale 1/254);
- optionally the confidence: float32, band 1 ``confidence`` = the largest class probability,
  band 2 ``margin`` = largest minus second largest, NaN nodata; from the same probabilities
  (same tiling) as the class map.

This module imports neither torch nor QGIS (the torch backend imports torch when used).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union, cast

import numpy as np

from .composite import RATIO_BAND, as_model_input
from .control import NO_CONTROL, Control
from .errors import CheckpointError, DataError
from .grid import Grid
from .labels import ClassMap
from .raster_io import NODATA, RasterWriter, check_output, class_colormap, class_tags, commit_all
from .series import release_thread_datasets
from .tiling import (
    Tile,
    TileShape,
    auto_tiling,
    memory_budget_mb,
    plan_tiles,
    receptive_span,
    window_bytes_per_px,
)
from .types import DeviceLike, Log, PathLike, SceneLike

if TYPE_CHECKING:
    from .backends import Backend
    from .normalize import BandStats

PROBABILITY_DTYPES = ("float32", "uint8")
UINT8_SCALE = 254.0  # uint8 probabilities: round(254 p); 255 = nodata
CONFIDENCE_BANDS = ("confidence", "margin")

__all__ = [
    "CONFIDENCE_BANDS",
    "NODATA",
    "Prediction",
    "SegmentResult",
    "Tile",
    "choose_tiling",
    "confidence_of",
    "plan_tiles",
    "predict_windows",
    "segment_scene",
]


CANCELLED = "segmentation cancelled by the user"


@dataclass(frozen=True)
class Prediction:
    """How a model maps a scene: windows, batches, where and in which precision it runs.

    ``tile_size`` (a side or (height, width)) / ``overlap`` None: automatic (``choose_tiling``:
    rectangles); the batch size is lowered to
    the memory budget either way (``plan_windows``). ``backend`` reuses an open model (else one is
    opened on ``device`` in ``precision``: "fp32" or "bf16", ``backends.TorchBackend``).
    """

    tile_size: Union[int, TileShape, None] = None
    overlap: Optional[int] = None
    batch_size: int = 4
    device: DeviceLike = "auto"
    backend: Optional[Backend] = None
    precision: str = "fp32"

    def plan(
        self, ckpt: Dict[str, Any], grid: Grid, log: Optional[Log]
    ) -> Tuple[Backend, List[Tile], TileShape, int, int]:
        """(backend, tiles, tile (height, width), overlap, batch size) for mapping ``grid``."""
        backend = self.backend
        if backend is None:
            from .backends import backend_for

            backend = backend_for(ckpt, self.device, log, self.precision)
        tiles, tile, overlap, batch_size = plan_windows(
            ckpt, grid, backend, self.tile_size, self.overlap, self.batch_size
        )
        return backend, tiles, tile, overlap, batch_size


DEFAULT_PREDICTION = Prediction()
"""Automatic tiling, batch size 4, device "auto", fp32."""


def sensors_of(modality: str) -> List[str]:
    """The sensors a model's input modality reads: ``["s1", "s2"]`` for "both"."""
    return ["s1", "s2"] if modality == "both" else [modality]


def model_stats(ckpt: Dict[str, Any]) -> List[Any]:
    """The checkpoint's ``BandStats`` of each sensor its modality reads (S1 first).

    Checked against its band lists.
    """
    from .normalize import BandStats

    out = []
    for m in sensors_of(ckpt["modality"]):
        stats = BandStats.from_dict(ckpt["band_stats"][m])
        bands = list(ckpt["bands"][m])
        if list(stats.band_names) != bands:
            raise CheckpointError(
                f"the checkpoint's {m.upper()} band statistics ({list(stats.band_names)}) do "
                f"not match its bands ({bands}): re-create it with s4 finetune"
            )
        out.append(stats)
    return out


def model_scene(ckpt: Dict[str, Any], scene: SceneLike) -> SceneLike:
    """``scene`` as the model reads it (``composite.as_model_input``).

    Its composites and, for a model made with the VV/VH ratio band, that band added to S1.
    """
    from .composite import model_s1_ratio

    model_input = ckpt.get("input") or {}
    return as_model_input(
        scene,
        int(model_input.get("composite_months", 0)),
        model_input.get("periods"),
        s1_ratio=model_s1_ratio(ckpt) and "s1" in sensors_of(ckpt["modality"]),
    )


def _band_index(scene: SceneLike, modality: str, bands: Sequence[str]) -> np.ndarray:
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


class _Reader:
    """Reads and normalises windows of the scene for the model.

    ``band_stats``: one ``BandStats`` per sensor of ``modality`` (``sensors_of``); "both"
    concatenates the normalised S1 and S2 bands, valid where both sensors are.
    """

    def __init__(
        self,
        scene: SceneLike,
        modality: str,
        band_stats: Union[BandStats, Sequence[BandStats]],
        time_length: int,
        time_mode: str,
    ) -> None:
        from .align import fixed_length_indices

        self.scene = scene
        self.modality = modality
        self.sensors = sensors_of(modality)
        stats: List[BandStats] = (
            list(band_stats)
            if isinstance(band_stats, (list, tuple))
            else [cast("BandStats", band_stats)]
        )
        self.stats = dict(zip(self.sensors, stats))
        self.band_index = {}
        for m, st in self.stats.items():
            bands = list(getattr(st, "band_names", []) or [])
            if not bands:
                raise CheckpointError("the model's band statistics name no bands")
            self.band_index[m] = _band_index(scene, m, bands)
        indices, frame_valid = fixed_length_indices(
            int(scene.n_frames), int(time_length), time_mode
        )
        indices = np.asarray(indices, dtype=np.int64)
        self.frames, self.inverse = np.unique(indices, return_inverse=True)
        self.policy_valid = np.asarray(frame_valid, dtype=bool)
        self.batch_size = 1  # set by _predict_tiles; lowered after an out-of-memory back-off

    @classmethod
    def of_model(cls, ckpt: Dict[str, Any], scene: SceneLike) -> _Reader:
        """The reader of ``scene`` for a checkpoint or ONNX model dict.

        With the model's sensor(s), band statistics and time policy.
        """
        policy = ckpt["time"]
        return cls(
            scene, ckpt["modality"], model_stats(ckpt), int(policy["length"]), policy["mode"]
        )

    def read(self, tile: Tile) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(normalised x (T, C, h, w) float32, frame mask (T,), pixel validity (h, w))."""
        window = self.scene.grid.window(tile.row, tile.col, tile.height, tile.width)
        data = self.scene.read(window, modalities=self.sensors, frames=self.frames)
        frame_mask = self.policy_valid.copy()
        if "frame_valid" in data:
            frame_mask &= np.asarray(data["frame_valid"], dtype=bool)[self.inverse]
        xs, valid = [], None
        for m in self.sensors:
            x = np.asarray(data.pop(m), dtype=np.float32)
            # frames and bands picked in one copy (none when both are already in order)
            bands = self.band_index[m]
            if not (self._identity(self.inverse, x.shape[0]) and self._identity(bands, x.shape[1])):
                x = x[np.ix_(self.inverse, bands)]
            ok = np.asarray(data[f"{m}_valid"], dtype=bool)[self.inverse]
            ok &= frame_mask[:, None, None]
            # Scene.read returns arrays of its own for each call: normalised in place, no copy
            xs.append(self.stats[m].apply(x, ok, inplace=bool(x.flags.owndata)))
            valid = ok if valid is None else valid & ok
        assert valid is not None
        x = xs[0] if len(xs) == 1 else np.concatenate(xs, axis=1)
        return x, frame_mask, valid.any(axis=0)

    @staticmethod
    def _identity(index: np.ndarray, length: int) -> bool:
        return len(index) == length and bool((index == np.arange(length)).all())


def _predict_tiles(
    reader: _Reader,
    backend: Backend,
    tiles: Sequence[Tile],
    n_classes: int,
    batch_size: int,
    control: Control,
) -> Iterator[Tuple[Tile, np.ndarray, np.ndarray]]:
    """(tile, core probabilities (K, h, w), core validity (h, w)) per tile, batched by shape.

    The next batch of windows is read (in a background thread) while the network runs on the
    current one: reading and computing overlap on a multi-core CPU.
    """
    from concurrent.futures import ThreadPoolExecutor

    reader.batch_size = max(1, int(batch_size))
    groups: List[List[Tile]] = []
    queues: Dict[Tuple[int, int], List[Tile]] = {}
    for tile in tiles:
        queue = queues.setdefault(tile.shape, [])
        queue.append(tile)
        if len(queue) >= reader.batch_size:
            groups.append(queue)
            queues[tile.shape] = []
    groups += [queue for queue in queues.values() if queue]
    total = len(tiles)
    done = 0

    def read_group(group: List[Tile]) -> List[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
        return [reader.read(t) for t in group]

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="s4-read") as pool:
        try:
            pending = pool.submit(read_group, groups[0]) if groups else None
            for index, group in enumerate(groups):
                control.check(CANCELLED)
                assert pending is not None  # one submitted per group
                reads = pending.result()
                nxt = groups[index + 1] if index + 1 < len(groups) else None
                pending = pool.submit(read_group, nxt) if nxt is not None else None
                work = [i for i, r in enumerate(reads) if r[2].any()]  # skip windows without data
                probs: Dict[int, np.ndarray] = {}
                if work:  # one window (automatic tiling on a CPU): a view, not a copy
                    if len(work) > 1:
                        xs = np.stack([reads[i][0] for i in work])
                    else:
                        xs = reads[work[0]][0][None]
                    fms = np.stack([reads[i][1] for i in work])
                    requested = min(reader.batch_size, len(work))
                    out, used = backend.predict(xs, fms, requested)
                    if used < requested:  # an out-of-memory back-off: keep the smaller size
                        reader.batch_size = used
                    probs = {i: out[j] for j, i in enumerate(work)}
                    del xs, fms, out
                for i, t in enumerate(group):
                    r0, c0 = t.core_row - t.row, t.core_col - t.col
                    sl = (slice(r0, r0 + t.core_height), slice(c0, c0 + t.core_width))
                    valid = reads[i][2][sl]
                    if i in probs:
                        p = probs[i][(slice(None),) + sl]
                    else:
                        p = np.zeros((n_classes, t.core_height, t.core_width), dtype=np.float32)
                    yield t, np.ascontiguousarray(p, dtype=np.float32), valid
                del reads
                done += len(group)
                control.report(done / total, f"segmenting: {done}/{total} windows")
        finally:  # the reading thread closes the files it opened (the pool's one worker)
            pool.submit(release_thread_datasets).result()


def _channels(config: Dict[str, Any]) -> int:
    s1, s2 = int(config.get("s1_channels", 2)), int(config.get("s2_channels", 10))
    return s1 + s2 if config.get("head_modality") == "both" else max(s1, s2)


def _span(config: Dict[str, Any]) -> Tuple[int, int]:
    """The network's receptive span (``tiling.receptive_span``) from its config dict."""
    levels = len(list(config.get("widths", (32, 64, 128)))) - 1
    head = str(config.get("head", "unet"))
    return receptive_span(levels, head, int(config.get("smooth_iters", 0) or 0))


def _value_bytes(backend: object) -> int:
    """Bytes of one activation value in ``backend`` (2 when it runs in bfloat16)."""
    return 2 if getattr(backend, "precision", "fp32") == "bf16" else 4


def choose_tiling(
    config: Dict[str, Any],
    frames: int,
    height: int,
    width: int,
    tile_size: Union[int, TileShape, None] = None,
    overlap: Optional[int] = None,
    bytes_per_value: int = 4,
) -> Tuple[TileShape, int]:
    """(tile (height, width), overlap) for a network config dict (``NetConfig.to_dict()``).

    Given values are kept (a given tile size: square windows); missing ones come from the
    receptive span (exact results) and a memory budget (``tiling.auto_tiling``: rectangles);
    ``bytes_per_value``: 4 for float32, 2 for bfloat16.
    """
    widths = list(config.get("widths", (32, 64, 128)))
    levels = len(widths) - 1
    return auto_tiling(
        _span(config), 2**levels, frames=frames, width0=int(widths[0]), height=height,
        width=width, channels=_channels(config), tile_size=tile_size, overlap=overlap,
        bytes_per_value=bytes_per_value,
    )  # fmt: skip


def auto_batch_size(
    config: Dict[str, Any], frames: int, tile: TileShape, batch_size: int, bytes_per_value: int = 4
) -> int:
    """``batch_size`` lowered so that a batch of ``tile`` (height, width) windows fits the budget.

    Applied to every run (automatic or given tile size): the windows are computed one by one
    in eval mode, so the batch only changes speed and memory, never the result.
    """
    widths = list(config.get("widths", (32, 64, 128)))
    per_px = window_bytes_per_px(frames, int(widths[0]), _channels(config), bytes_per_value)
    fit = int(memory_budget_mb() * 2**20 // max(1.0, per_px * tile[0] * tile[1]))
    return max(1, min(int(batch_size), fit))


def plan_windows(
    ckpt: Dict[str, Any],
    grid: Grid,
    backend: Backend,
    tile_size: Union[int, TileShape, None],
    overlap: Optional[int],
    batch_size: int,
) -> Tuple[List[Tile], TileShape, int, int]:
    """The windows of ``grid`` for ``ckpt`` run by ``backend``: (tiles, tile, overlap, batch).

    Missing tile size / overlap come from :func:`choose_tiling`; the batch is lowered to what
    the memory budget allows (:func:`auto_batch_size`) also when the tile size is given.
    """
    frames, nbytes = int(ckpt["time"]["length"]), _value_bytes(backend)
    config = ckpt["net_config"]
    tile, overlap = choose_tiling(
        config, frames, grid.height, grid.width, tile_size, overlap, nbytes
    )
    batch_size = auto_batch_size(config, frames, tile, batch_size, nbytes)
    tiles = plan_tiles(grid.height, grid.width, tile, overlap, backend.factor, _span(config))
    return tiles, tile, overlap, batch_size


def predict_windows(
    ckpt: Dict[str, Any],
    scene: SceneLike,
    prediction: Prediction = DEFAULT_PREDICTION,
    control: Control = NO_CONTROL,
) -> Iterator[Tuple[Grid, np.ndarray, np.ndarray]]:
    """Class probabilities of ``scene`` window by window.

    Yields ``(window Grid, probabilities (K, h, w) float32, valid (h, w) bool)``; the windows (tile
    cores) tile the scene exactly.

    ``ckpt``: a fine-tuned checkpoint dict (``load_checkpoint``) or an ONNX model's dict
    (``backends.open_model``); ``prediction``: tiling, device, precision. Raises ``Cancelled``
    when ``control`` is cancelled (checked before every batch).
    """
    scene = model_scene(ckpt, scene)
    backend, tiles, _, _, batch_size = prediction.plan(ckpt, scene.grid, control.log)
    reader = _Reader.of_model(ckpt, scene)
    with backend.threads():
        for tile, probs, valid in _predict_tiles(
            reader, backend, tiles, backend.n_classes or 1, batch_size, control
        ):
            window = scene.grid.window(
                tile.core_row, tile.core_col, tile.core_height, tile.core_width
            )
            yield window, probs, valid


def confidence_of(probs: np.ndarray) -> np.ndarray:
    """(2, h, w) float32: the largest class probability and its margin over the second."""
    if probs.shape[0] == 1:
        top = probs[0]
        return np.stack([top, top]).astype(np.float32)
    part = np.partition(probs, probs.shape[0] - 2, axis=0)
    top, second = part[-1], part[-2]
    return np.stack([top, top - second]).astype(np.float32)


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
    confidence: Optional[Path] = None
    tile: TileShape = (0, 0)  # the windows' (height, width)
    overlap: int = 0
    backend: str = "torch"
    precision: str = "fp32"


def _class_map_of(ckpt: dict) -> ClassMap:
    classes = ckpt.get("classes")
    if not classes:
        raise CheckpointError(
            "a pretrained checkpoint has no classes and cannot segment: fine-tune it on labelled "
            "polygons first (s4 finetune)"
        )
    return ClassMap.from_dict(classes)


def _no_valid_pixel(scene: SceneLike, modality: str) -> str:
    """Why a scene gives a map without one classified pixel: its inputs have no valid pixel."""
    layers = " and ".join(
        f"the {m.upper()} layers {scene.series(m).source}" for m in sensors_of(modality)
    )
    return (
        f"no valid pixel to map: {layers} have no valid pixel on any date over the map's area "
        "(every value is NaN, nodata or masked as cloud); no map written. Give dates with "
        "clear pixels over the area (or check the files and their nodata value)"
    )


def segment_scene(
    ckpt: dict,
    scene: SceneLike,
    out_path: PathLike,
    prediction: Prediction = DEFAULT_PREDICTION,
    control: Control = NO_CONTROL,
    *,
    probabilities_path: Optional[PathLike] = None,
    probabilities_dtype: str = "float32",
    confidence_path: Optional[PathLike] = None,
) -> SegmentResult:
    """Segment ``scene`` with a fine-tuned model into a class raster at ``out_path``.

    ``ckpt``: a checkpoint dict from ``load_checkpoint``, or an ONNX model's dict from
    ``backends.open_model``. Optionally also writes class probabilities and the confidence. CPU runs
    use one thread unless ``S4_THREADS`` is set (the same map on any machine). ``prediction``:
    tiling, device, precision (``Prediction``); "bf16": a PyTorch model runs in bfloat16 where the
    CPU computes it natively (``backends.TorchBackend``; not identical to fp32).
    """
    start = time.perf_counter()
    if ckpt.get("kind") != "finetuned":
        raise CheckpointError(
            f"a {ckpt.get('kind', 'unknown')} checkpoint cannot segment: fine-tune it on "
            "labelled polygons first (s4 finetune)"
        )
    class_map = _class_map_of(ckpt)
    modality = ckpt["modality"]
    stats = model_stats(ckpt)
    if probabilities_dtype not in PROBABILITY_DTYPES:
        raise DataError(
            f"probability type {probabilities_dtype!r} is not one of {PROBABILITY_DTYPES}"
        )
    for m, st in zip(sensors_of(modality), stats):  # fail early, before loading the network
        _band_index(scene, m, [b for b in st.band_names if b != RATIO_BAND])
    scene = model_scene(ckpt, scene)
    out_path = Path(os.fspath(out_path))
    prob_path = Path(os.fspath(probabilities_path)) if probabilities_path else None
    conf_path = Path(os.fspath(confidence_path)) if confidence_path else None
    named = [("the class raster", out_path), ("the probabilities", prob_path),
             ("the confidence", conf_path)]  # fmt: skip
    seen: Dict[Path, str] = {}
    for what, p in named:
        if p is None:
            continue
        key = p.resolve()
        if key in seen:
            raise DataError(f"{seen[key]} and {what} are both {p}: give different files")
        seen[key] = what
    check_output(out_path, "--out")
    if prob_path is not None:
        check_output(prob_path, "--probabilities")
    if conf_path is not None:
        check_output(conf_path, "--confidence")

    messages: List[str] = []

    def _log(message: str) -> None:
        messages.append(message)
        control.say(message)

    grid: Grid = scene.grid
    backend, tiles, shape, overlap, batch_size = prediction.plan(ckpt, grid, _log)
    k = len(class_map)
    if int(backend.n_classes) != k:
        raise CheckpointError(
            f"the checkpoint's network predicts {backend.n_classes} classes but its class map "
            f"has {k}: re-create it with s4 finetune"
        )
    reader = _Reader.of_model(ckpt, scene)
    _log(
        f"segmenting {grid.width} x {grid.height} px in {len(tiles)} window(s) of up to "
        f"{shape[1]} x {shape[0]} px (overlap {overlap} px) on {backend.device}"
        + (" in bfloat16" if _value_bytes(backend) == 2 else "")
    )

    import rasterio

    tags = class_tags(class_map, modality)
    counts = np.zeros(256, dtype=np.int64)
    writers: List[RasterWriter] = []
    # a small GDAL block cache: outputs are written window by window, memory stays flat
    env = rasterio.Env(GDAL_CACHEMAX=64 * 2**20)
    env.__enter__()
    try:
        dst = RasterWriter(
            out_path, grid, 1, "uint8", NODATA, descriptions=["class"], tags=tags,
            colormap=class_colormap(class_map), tiled=True,
        )  # fmt: skip
        writers.append(dst)
        pdst = cdst = None
        if prob_path is not None:
            nod = float("nan") if probabilities_dtype == "float32" else NODATA
            scale = [1.0 / UINT8_SCALE] * k if probabilities_dtype == "uint8" else None
            pdst = RasterWriter(
                prob_path, grid, k, probabilities_dtype, nod, descriptions=class_map.names,
                tags=tags, scales=scale, tiled=True,
            )  # fmt: skip
            writers.append(pdst)
        if conf_path is not None:
            cdst = RasterWriter(
                conf_path, grid, 2, "float32", float("nan"), descriptions=CONFIDENCE_BANDS,
                tags={**tags, "S4_CONFIDENCE": "band 1: max class probability; band 2: margin "
                      "to the second class"}, tiled=True,
            )  # fmt: skip
            writers.append(cdst)
        with backend.threads():
            for tile, probs, valid in _predict_tiles(
                reader, backend, tiles, k, batch_size, control
            ):
                r, c = tile.core_row, tile.core_col
                classes = probs.argmax(axis=0).astype(np.uint8)
                classes[~valid] = NODATA
                counts += np.bincount(classes.ravel(), minlength=256)
                dst.write(classes, r, c)
                if pdst is not None:
                    if probabilities_dtype == "float32":
                        values = np.where(valid[None], probs, np.float32("nan"))
                    else:
                        values = np.rint(probs * UINT8_SCALE).astype(np.uint8)
                        values[:, ~valid] = NODATA
                    pdst.write(values, r, c)
                if cdst is not None:
                    conf = confidence_of(probs)
                    conf[:, ~valid] = np.nan
                    cdst.write(conf, r, c)
        control.check(CANCELLED)
        if not counts[:NODATA].any():
            raise DataError(_no_valid_pixel(scene, modality))
        commit_all(writers)
    except BaseException:
        for w in writers:
            w.discard()
        raise
    finally:
        env.__exit__(None, None, None)
    pixel_counts = {name: int(counts[i]) for i, name in enumerate(class_map.names)}
    return SegmentResult(
        path=out_path,
        probabilities=prob_path,
        class_names=list(class_map.names),
        class_colors=list(class_map.colors),
        pixel_counts=pixel_counts,
        device=str(backend.device),
        seconds=time.perf_counter() - start,
        nodata_pixels=int(counts[NODATA]),
        tiles=len(tiles),
        batch_size=int(reader.batch_size),
        messages=messages,
        confidence=conf_path,
        tile=shape,
        overlap=int(overlap),
        backend=backend.kind,
        precision=str(getattr(backend, "precision", "fp32")),
    )

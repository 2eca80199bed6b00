"""High-level engine functions: what the ``s4`` command line and the QGIS plugin both call.

Inputs are file paths (``Sources``: a folder of per-date GeoTIFFs, one multi-band stack, or a
list of files); each operation returns a typed result (``results.py``: a JSON-friendly dict
whose keys are declared attributes). Each operation's keyword settings (defaults, ranges,
help) are defined in ``settings.py`` and checked before any work (``@OP.api``). Long calls
take ``progress(fraction, message, metrics)``, ``cancel()`` and ``log(message)`` callables.
Errors a user can meet raise ``s4_core.errors.S4Error`` subclasses with a message that names
the input and the fix.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Dict, List, Optional, Sequence, Tuple, Union, cast

from .control import Control
from .errors import DataError, warn
from .keywords import KeywordGroup, takes_groups
from .results import (
    AlignResult,
    EvaluationResult,
    FinetuneResult,
    MapResult,
    ModelCard,
    PolygonsResult,
    PretrainResult,
    SuggestionsResult,
)
from .settings import ALIGN, EVALUATE, EXPORT, FINETUNE, PRETRAIN, PROFILES, SEGMENT, SUGGEST
from .types import CrsLike, Metrics, PathLike, Sources
from .validate import (
    GEOPACKAGE,
    GEOTIFF,
    ONNX,
    Format,
    check_align,
    check_less,
    check_onnx_card,
    check_outputs,
    onnx_card_path,
    temp_path,
)

if TYPE_CHECKING:
    import numpy as np
    from rasterio.crs import CRS
    from typing_extensions import TypeGuard

    from .align import Scene
    from .grid import Grid
    from .series import TimeSeries
    from .suggest import Suggestion


# ----------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class SceneInput(KeywordGroup, parameter="scene"):
    """The scene a fine-tuned model maps: the S1 and / or S2 series and the part to map.

    ``bounds`` (xmin, ymin, xmax, ymax) in ``bounds_crs`` (default: the series' CRS); None: the
    whole series. The api functions that take ``scene: SceneInput`` (``segment``,
    ``suggest_labels``) show its fields as keywords (``keywords.py``).
    """

    s1: Optional[Sources] = None
    s2: Optional[Sources] = None
    bounds: Optional[Sequence[float]] = None
    bounds_crs: Optional[CrsLike] = None

    def inputs(self) -> Dict[str, Optional[Sources]]:
        """The series by the names ``check_outputs`` gives its inputs."""
        return {"Sentinel-1 input": self.s1, "Sentinel-2 input": self.s2}


@dataclass(frozen=True)
class MapOutputs(KeywordGroup, parameter="outputs"):
    """What ``segment`` writes besides its class raster; None: not written.

    ``vector_out``: the classes as polygons (GeoPackage); ``probabilities_out``: one band per
    class; ``confidence_out``: a 2-band raster (largest class probability, margin to the
    second).
    """

    vector_out: Optional[PathLike] = None
    probabilities_out: Optional[PathLike] = None
    confidence_out: Optional[PathLike] = None

    FORMATS: ClassVar[Dict[str, Format]] = {
        "output class raster": GEOTIFF,
        "output polygons": GEOPACKAGE,
        "output probabilities": GEOTIFF,
        "output confidence": GEOTIFF,
    }
    """What each output is written as, by its name in ``destinations``."""

    def destinations(self, out: PathLike) -> Dict[str, Optional[PathLike]]:
        """Every output by the name ``check_outputs`` gives it, the class raster ``out`` first."""
        return {
            "output class raster": out,
            "output polygons": self.vector_out,
            "output probabilities": self.probabilities_out,
            "output confidence": self.confidence_out,
        }


@dataclass(frozen=True)
class LabelledPolygons(KeywordGroup, parameter="labelled"):
    """The polygons an analyst has labelled already: new squares to label keep away from them.

    ``labels``: a vector file (None: none); ``labels_layer``: its layer (None: the first one).
    """

    labels: Optional[PathLike] = None
    labels_layer: Optional[str] = None

    def mask(self, grid: Grid) -> Optional[np.ndarray]:
        """Where on ``grid`` a polygon lies (bool ``(H, W)``); None: no polygon there.

        A layer that cannot be read or holds no polygons (points, lines) is a LabelError: its
        labels would be silently ignored.
        """
        from .errors import NoPolygonOnGrid
        from .labels import rasterize_polygon_ids

        if self.labels is None:
            return None
        try:
            return rasterize_polygon_ids(self.labels, grid, layer=self.labels_layer) > 0
        except NoPolygonOnGrid:  # no polygon in this area: nothing to keep away from
            return None


def _is_sources(value: object) -> TypeGuard[Sources]:
    """Whether ``value`` names at least one image (not None, not an empty list)."""
    return value is not None and not (isinstance(value, (list, tuple)) and len(value) == 0)


def open_scene(
    s1: Optional[Sources] = None,
    s2: Optional[Sources] = None,
    *,
    bounds: Optional[Sequence[float]] = None,
    bounds_crs: Optional[CrsLike] = None,
    max_gap_days: Optional[float] = None,
    max_cloud_fraction: Optional[float] = None,
    resolution: Optional[float] = None,
    resolution_of: Optional[Tuple[str, Optional[str]]] = None,
) -> Scene:
    """Open and align the given series (either may be None) on one grid.

    S2's grid (else S1's), at ``resolution`` (CRS units) when given; with ``bounds`` (in
    ``bounds_crs``, default the grid's CRS) the part of that grid's pixels that covers them:
    the map keeps the imagery's CRS and pixels whatever CRS the bounds are given in.
    ``resolution_of``: (the model file, the CRS it was trained in or None) when ``resolution``
    is the model's recorded one rather than the user's: refused (``DataError``) where the
    imagery's CRS has other units (metres of a UTM zone applied as degrees).
    """
    from .align import build_scene
    from .grid import as_crs
    from .series import open_series

    if not _is_sources(s1) and not _is_sources(s2):
        raise DataError("no Sentinel-1 or Sentinel-2 layers given: give at least one series")
    ts1 = open_series(_as_source(s1), sensor="s1") if _is_sources(s1) else None
    ts2 = (
        open_series(_as_source(s2), sensor="s2", max_cloud_fraction=max_cloud_fraction)
        if _is_sources(s2)
        else None
    )
    first = ts2 if ts2 is not None else ts1
    assert first is not None  # at least one series (checked above)
    base = first.grid()
    res: Optional[Tuple[float, float]] = None
    if resolution is not None:
        if not resolution > 0:
            raise DataError(f"resolution must be > 0 (metres for UTM), got {resolution}")
        if resolution_of is not None:
            _check_model_units(base.crs, float(resolution), *resolution_of)
        if any(abs(abs(r) - float(resolution)) > 1e-9 for r in base.res):
            res = (float(resolution), float(resolution))
    if bounds is None:
        return build_scene(ts1, ts2, resolution=res, max_gap_days=max_gap_days)
    box = tuple(float(b) for b in bounds)
    if len(box) != 4:
        raise DataError(f"bounds need 4 numbers (left bottom right top), got {tuple(bounds)}")
    given, given_crs = box, as_crs(bounds_crs) if bounds_crs is not None else base.crs
    if given_crs != base.crs:
        from rasterio.warp import transform_bounds

        box = tuple(transform_bounds(given_crs, base.crs, *box, densify_pts=21))
    _check_extent_over_imagery(given, given_crs, box, [s for s in (ts2, ts1) if s is not None])
    grid = base.covering(box, res)
    return build_scene(ts1, ts2, grid=grid, max_gap_days=max_gap_days)


def _units(crs: CRS) -> str:
    """The unit of ``crs``'s coordinates ("degree", "metre", "US survey foot" ...)."""
    from rasterio.errors import CRSError

    try:
        return str(crs.units_factor[0])
    except CRSError:  # a CRS without units (local, engineering): compared as given
        return "degree" if crs.is_geographic else str(crs.linear_units)


def _check_model_units(
    imagery: CRS, resolution: float, model: str, trained_crs: Optional[str]
) -> None:
    """Refuse a model's recorded ``resolution`` where the imagery's CRS has other units.

    ``trained_crs``: the CRS the model was trained in (None in checkpoints before it was
    recorded: a projected CRS in metres).
    """
    from .grid import as_crs

    trained = as_crs(trained_crs) if trained_crs else None
    unit = _units(trained) if trained is not None else "metre"
    if _units(imagery) == unit:
        return
    name = trained.to_string() if trained is not None else "a projected CRS"
    raise DataError(
        f"{model} was trained on {resolution:g} {unit} pixels in {name} (unit: {unit}), but the "
        f"imagery is in {imagery.to_string()} (unit: {_units(imagery)}): its pixel size cannot "
        "be applied there. Reproject the imagery to a projected CRS (such as its UTM zone), "
        "or give the pixel size in the imagery's units (--resolution / RESOLUTION)"
    )


def _check_extent_over_imagery(
    given: Sequence[float], given_crs: CRS, box: Sequence[float], series: Sequence[TimeSeries]
) -> None:
    """Raise DataError when the extent overlaps none of the ``series``' images.

    ``given`` in ``given_crs`` as the user gave it, ``box`` the same in the CRS of ``series[0]``
    (the reference series, S2 when given). An extent far from the imagery, or typed in a wrong
    CRS, is named with the imagery's bounds.
    """
    from rasterio.warp import transform_bounds

    imagery = [s.grid() for s in series]
    crs = imagery[0].crs
    covers = [
        g.bounds if g.crs == crs else transform_bounds(g.crs, crs, *g.bounds) for g in imagery
    ]
    if all(math.isfinite(v) for v in box) and any(
        box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in covers
    ):
        return
    first = imagery[0]
    shown = (
        first.bounds
        if given_crs == first.crs
        else transform_bounds(first.crs, given_crs, *first.bounds)
    )
    raise DataError(
        f"the extent (bounds {_bounds_text(given, given_crs)}) lies outside the imagery (its "
        f"bounds {_bounds_text(shown, given_crs)}: the {series[0].sensor.upper()} images "
        f"{series[0].source}): choose an extent over the imagery"
    )


def _bounds_text(bounds: Sequence[float], crs: CRS) -> str:
    """``(left, bottom, right, top) in EPSG:...`` rounded to 1e-6 degrees or 1 cm."""
    digits = 6 if crs.is_geographic else 2
    values = ", ".join(
        f"{round(float(v), digits):.{digits}f}".rstrip("0").rstrip(".") for v in bounds
    )
    return f"({values}) in {crs.to_string()}"


def _as_source(value: Sources) -> Union[str, List[str]]:
    """``value`` as the text (or list of texts) a checkpoint records."""
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return str(value)


def _scene_list(
    s1: Optional[Union[Sources, Sequence[Sources]]], s2: Optional[Union[Sources, Sequence[Sources]]]
) -> List[Tuple[Optional[Sources], Optional[Sources]]]:
    """Pairs of (s1, s2) sources: a list of folders/lists on both sides means several scenes."""

    def many(v: object) -> TypeGuard[Sequence[Sources]]:
        return isinstance(v, (list, tuple)) and all(
            isinstance(x, (list, tuple)) or Path(str(x)).is_dir() for x in v
        )

    if many(s1) and many(s2):
        if len(s1) != len(s2):
            raise DataError(
                f"{len(s1)} Sentinel-1 series but {len(s2)} Sentinel-2 series: give them in pairs"
            )
        return list(zip(s1, s2))
    if s2 is None and many(s1):  # one modality (mae / dino): one scene per series
        return [(a, None) for a in s1]
    if s1 is None and many(s2):
        return [(None, b) for b in s2]
    return [(cast(Optional[Sources], s1), cast(Optional[Sources], s2))]


def device_info(device: str = "auto") -> Dict:
    """The device the engine will use: {"device", "name", "memory_gb"}."""
    import torch

    from .device import resolve_device

    dev = resolve_device(device)
    info: Dict[str, object] = {"device": str(dev), "name": "CPU", "memory_gb": None}
    if dev.type == "cuda":
        props = torch.cuda.get_device_properties(dev)
        info.update(name=props.name, memory_gb=round(props.total_memory / 2**30, 1))
    elif dev.type == "mps":
        info.update(name="Apple MPS")
    else:
        info["name"] = f"CPU ({torch.get_num_threads()} threads)"
    return info


def scan_layer(path: PathLike) -> Dict:
    """Cheap look at one raster file: sensor, dates, bands, cloud fraction (no torch)."""
    from .series import open_series

    try:
        series = open_series([str(path)])
    except DataError as exc:
        return {"sensor": None, "dates": [], "bands": [], "cloud_fraction": None, "error": str(exc)}
    clouds = [a.cloud_fraction for a in series.acquisitions if a.cloud_fraction is not None]
    return {
        "sensor": series.sensor,
        "dates": [d.isoformat() for d in series.dates],
        "bands": list(series.band_names),
        "cloud_fraction": float(sum(clouds) / len(clouds)) if clouds else None,
    }


# ----------------------------------------------------------------------------- operations
@ALIGN.api
def align(
    s1: Sources,
    s2: Sources,
    out_dir: PathLike,
    *,
    control: Control,
    **options: Any,
) -> AlignResult:
    """Align S1 and S2 in space and time and write the stacks plus ``dates.csv``."""
    import numpy as np

    from .align import write_aligned

    check_align(s1, s2, out_dir)
    scene = open_scene(s1, s2, **options)
    paths = write_aligned(scene, Path(out_dir), control=control)
    al = scene.alignment
    gaps = np.asarray(al.gap_days, dtype=float) if al is not None else np.zeros(0)
    summary = {
        "frames": scene.n_frames,
        "reference": al.reference if al is not None else scene.modalities[0],
        "grid": {
            "width": scene.grid.width,
            "height": scene.grid.height,
            "resolution": list(scene.grid.res),
            "crs": scene.grid.crs.to_string(),
        },
        "median_gap_days": float(np.median(gaps)) if gaps.size else 0.0,
        "max_gap_days": float(gaps.max()) if gaps.size else 0.0,
    }
    return AlignResult({**{k: str(v) for k, v in paths.items()}, "summary": summary})


@PRETRAIN.api
def pretrain(
    s1: Optional[Union[Sources, Sequence[Sources]]],
    s2: Optional[Union[Sources, Sequence[Sources]]],
    out: PathLike,
    *,
    control: Control,
    **options: Any,
) -> PretrainResult:
    """Self-supervised pretraining on one or several aligned scenes.

    ``objective``: "s4" (S1 + S2: cross-modal contrastive + cross reconstruction, the
    default), "mae" (masked autoencoding of ``ssl_modality`` alone), "dino" (self-distillation
    on ``ssl_modality`` alone) or "joint-mae" (S1 + S2 masked together, ``mask_mode`` random /
    complementary / identical). ``mask_ratio``, ``mask_patch`` (pixels), ``mask_frames``: the
    masking of mae / joint-mae; ``dino_views``: views per crop. "mae" and "dino" need only
    the ``ssl_modality`` series (the other may be None).
    ``composite_months``: the input representation (monthly cloud-free composites by
    default; 0 = the acquisitions as they are, the paper's nearest-date pairs).
    ``s1_ratio``: the VV/VH ratio (VV - VH in dB) as a third S1 band (objectives that read
    S1; recorded in the model, fine-tuning and mapping add it again). The model is
    written to ``out`` when the run ends; until then the last epoch is in ``out.partial``
    (resumable).
    """
    from .loop import check_partial
    from .train import PretrainConfig
    from .train import pretrain as _pretrain

    check_outputs({"output model": out}, {"Sentinel-1 input": s1, "Sentinel-2 input": s2})
    check_partial(out, options["resume"])
    objective, ssl_modality = options["objective"], options["ssl_modality"]
    if objective in ("mae", "dino"):  # one modality: the other series is not read
        s1, s2 = (s1, None) if ssl_modality == "s1" else (None, s2)
        if not _is_sources(s1 if ssl_modality == "s1" else s2):
            raise DataError(
                f"{objective} pretraining on {ssl_modality.upper()} needs "
                f"{ssl_modality.upper()} layers: none were given"
            )
    scenes = [
        open_scene(a, b, max_cloud_fraction=options["max_cloud_fraction"])
        for a, b in _scene_list(s1, s2)
    ]
    device, resume = options["device"], options["resume"]
    control.say(f"pretraining on {len(scenes)} scene(s) on {device_info(device)['device']}")
    cfg = PRETRAIN.config(PretrainConfig, options)
    result = _pretrain(
        scenes,
        Path(out),
        cfg,
        device=device,
        resume=Path(resume) if resume else None,
        control=control,
    )
    return PretrainResult(result.to_dict())


@FINETUNE.api
def finetune(
    s1: Optional[Sources],
    s2: Optional[Sources],
    labels: PathLike,
    class_field: str,
    out: PathLike,
    *,
    control: Control,
    **options: Any,
) -> FinetuneResult:
    """Fine-tune on labelled polygons for ``modality`` inference: "s2", "s1", or "both".

    "both": S1 + S2 together; needs both series here and when mapping; the sensors' specific first
    layers are averaged, as joint MAE pretrains them; a MAE / DINO model pretrained on one sensor is
    refused.

    ``s1_ratio``: the VV/VH ratio (VV - VH in dB) as a third S1 band; from scratch only, a
    pretrained model's own choice is followed (true with a model made without it is refused).

    ``head``: "pixel" (default: the network stays frozen, an ensemble of per-pixel MLPs reads
    the input series and the network's features, edge-aware smoothing) or "unet" (the paper's
    fine-tuning of the 3D U-Net; ``epochs``, ``lr``, ``freeze_encoder`` and the regularisers
    below apply to it). ``composite_months``: None follows the pretrained model (monthly
    composites without one). ``resolution``: the map's pixel size in the imagery's CRS units
    (default: the grid of the given series); ``segment`` maps on the same resolution.

    Regularisers for very few polygons (all off by default, see ``FinetuneConfig``):
    ``crops_per_epoch`` random class-balanced crops instead of the fixed covering windows,
    ``frame_dropout``, ``noise_std``, ``band_shift_std`` (training-crop augmentation) and
    ``weight_decay`` (AdamW).
    """
    from .labels import rasterize_labels, rasterize_polygon_ids
    from .loop import check_partial
    from .train import FinetuneConfig
    from .train import finetune as _finetune

    modality, init, resume = options["modality"], options["init"], options["resume"]
    device, labels_layer = options["device"], options["labels_layer"]
    if modality == "both":
        lacking = [m.upper() for m, v in (("s1", s1), ("s2", s2)) if not _is_sources(v)]
        if lacking:
            raise DataError(
                f"fine-tuning for S1 + S2 inference (modality both) needs S1 and S2 layers: "
                f"no {' or '.join(lacking)} layers were given (add them or choose one modality)"
            )
    elif not _is_sources(s1 if modality == "s1" else s2):
        raise DataError(
            f"fine-tuning for {modality.upper()} inference needs {modality.upper()} layers: "
            f"none were given (set the {modality.upper()} input or choose the other modality)"
        )
    # the resumed checkpoint may be the output (training goes on in place); init may not
    check_outputs(
        {"output model": out},
        {
            "pretrained model (init)": init,
            "labels": labels,
            "Sentinel-1 input": s1,
            "Sentinel-2 input": s2,
        },
    )
    if options["head"] == "unet":  # the pixel head keeps no partial epoch
        check_partial(out, resume)
    # Only the inference modality is needed to fine-tune; it alone defines the frames.
    scene = open_scene(
        s1 if modality in ("s1", "both") else None,
        s2 if modality in ("s2", "both") else None,
        max_cloud_fraction=options["max_cloud_fraction"],
        resolution=options["resolution"],
    )
    label_raster, class_map, report = rasterize_labels(
        labels, class_field, scene.grid, layer=labels_layer
    )
    ids = rasterize_polygon_ids(labels, scene.grid, layer=labels_layer)
    if len(class_map.names) < 2:
        warn(
            f"the labels {labels} hold a single class ({', '.join(class_map.names)}) in "
            f"{class_field!r}: the model can only ever predict it (validation scores will be "
            "perfect and meaningless): digitise polygons of at least one other class"
        )
    if control.log:
        control.say(
            f"labels: {report.n_used} polygons used of {report.n_features}; "
            + ", ".join(f"{k}: {v} px" for k, v in report.pixels_per_class.items())
        )
        for message in report.notes:  # the others were warnings
            control.say(message)
        what = "S1 + S2" if modality == "both" else modality.upper()
        control.say(f"fine-tuning for {what} on {device_info(device)['device']}")
    cfg = FINETUNE.config(FinetuneConfig, options)
    result = _finetune(
        scene,
        label_raster,
        class_map,
        Path(out),
        cfg,
        polygon_ids=ids,
        init=Path(init) if init else None,
        resume=Path(resume) if resume else None,
        device=device,
        control=control,
        class_field=class_field,
    )
    return FinetuneResult(
        {**result.to_dict(), "written": result.written, "classes": list(class_map.names)}
    )


@SEGMENT.api
def segment(
    model: PathLike,
    out: PathLike,
    *,
    scene: SceneInput,
    outputs: MapOutputs,
    control: Control,
    **options: Any,
) -> MapResult:
    """Map a scene with a fine-tuned model from the modality it was trained for.

    S1, S2, or both: then give both series.

    ``model``: an S4 checkpoint (PyTorch) or its ONNX export (``export_onnx``; ONNX Runtime,
    no PyTorch needed). The class raster goes to ``out``, the other outputs asked for
    (``MapOutputs``) beside it. ``tile_size`` / ``overlap`` None: chosen from the network's
    receptive field (tiled = whole-scene results) and a memory budget. ``precision`` "bf16":
    a PyTorch model runs in bfloat16 on a CPU that computes it natively (faster, class maps
    not identical to fp32).
    """
    from .backends import open_model
    from .errors import CheckpointError
    from .inference import Prediction, segment_scene
    from .vectorize import vectorize_classes

    tile_size, overlap, device = options["tile_size"], options["overlap"], options["device"]
    resolution = options["resolution"]
    check_less("overlap", overlap, "tile_size", tile_size)
    check_outputs(
        outputs.destinations(out),
        {"model": model, **scene.inputs()},
        formats=MapOutputs.FORMATS,
    )
    ckpt, backend = open_model(
        model, device=device, log=control.log, precision=options["precision"]
    )
    modality = ckpt.get("modality")
    if ckpt.get("kind") != "finetuned" or modality not in ("s1", "s2", "both"):
        raise CheckpointError(
            f"{model}: a {ckpt.get('kind', 'unknown')} checkpoint cannot segment: fine-tune it "
            "on labelled polygons first"
        )
    given = {"s1": scene.s1, "s2": scene.s2}
    if modality == "both":
        lacking = [m.upper() for m, v in given.items() if not _is_sources(v)]
        if lacking:
            raise DataError(
                f"{model} was fine-tuned for S1 + S2 inference (modality both): give S1 and "
                f"S2 layers (no {' or '.join(lacking)} layers were given)"
            )
    elif not _is_sources(given[modality]):
        other = "s2" if modality == "s1" else "s1"
        hint = f" (only {other.upper()} layers were given)" if _is_sources(given[other]) else ""
        raise DataError(
            f"{model} was fine-tuned for {modality.upper()} inference: give "
            f"{modality.upper()} layers{hint}"
        )
    resolution_of = None
    if resolution is None:  # the model's own pixel size, in the units of its training CRS
        recorded = ckpt.get("input") or {}
        resolution = recorded.get("resolution")
        resolution_of = (str(model), recorded.get("crs"))
    aligned = open_scene(
        given["s1"] if modality in ("s1", "both") else None,
        given["s2"] if modality in ("s2", "both") else None,
        bounds=scene.bounds,
        bounds_crs=scene.bounds_crs,
        max_cloud_fraction=options["max_cloud_fraction"],
        resolution=resolution,
        resolution_of=resolution_of,
    )
    if control.log:
        control.say(
            f"segmenting {aligned.grid.width} x {aligned.grid.height} px, {aligned.n_frames} "
            f"{'S1 + S2' if modality == 'both' else modality.upper()} frames on "
            f"{backend.device}"
        )
    vector_out = outputs.vector_out
    stages = 0.85 if vector_out else 1.0
    prediction = Prediction(tile_size, overlap, options["batch_size"], device, backend)
    result = segment_scene(
        ckpt,
        aligned,
        Path(out),
        prediction,
        control.part(0.0, stages),
        probabilities_path=outputs.probabilities_out,
        confidence_path=outputs.confidence_out,
    )
    n_polygons = None
    if vector_out:
        n_polygons = vectorize_classes(
            result.path,
            vector_out,
            min_area_m2=options["min_area_m2"],
            control=control.part(stages, 1 - stages),
        )
    return MapResult(
        path=str(result.path),
        vector=str(vector_out) if vector_out else None,
        n_polygons=n_polygons,
        probabilities=str(result.probabilities) if result.probabilities else None,
        confidence=str(result.confidence) if result.confidence else None,
        backend=result.backend,
        precision=result.precision,
        tile=list(result.tile),
        overlap=result.overlap,
        classes=[
            {"index": i, "name": n, "color": list(c)}
            for i, (n, c) in enumerate(zip(result.class_names, result.class_colors))
        ],
        pixel_counts=result.pixel_counts,
        device=result.device,
        seconds=round(result.seconds, 2),
    )


@EXPORT.api
def export_vector(
    class_raster: PathLike,
    out_gpkg: PathLike,
    *,
    control: Control,
    **options: Any,
) -> PolygonsResult:
    """Class raster -> GeoPackage polygons (class_id, class_name, area_m2)."""
    from .raster_io import read_class_raster
    from .vectorize import vectorize_classes

    check_outputs(
        {"output polygons": out_gpkg},
        {"class raster": class_raster},
        formats={"output polygons": GEOPACKAGE},
    )
    _, class_map, _ = read_class_raster(class_raster)
    n = vectorize_classes(
        Path(class_raster),
        Path(out_gpkg),
        class_map=class_map,
        min_area_m2=options["min_area_m2"],
        control=control,
    )
    return PolygonsResult(
        path=str(out_gpkg),
        n_polygons=n,
        classes=[
            {"index": i, "name": name, "color": list(color)}
            for i, (name, color) in enumerate(zip(class_map.names, class_map.colors))
        ],
    )


@EVALUATE.api
def evaluate(pred: PathLike, truth: PathLike, **options: Any) -> EvaluationResult:
    """Scores of a class raster against reference polygons or a reference class raster."""
    from .evaluate import evaluate as _evaluate

    return EvaluationResult(_evaluate(Path(pred), Path(truth), **options))


def export_onnx(model: PathLike, out: PathLike) -> ModelCard:
    """Export a fine-tuned checkpoint to ONNX so that ONNX Runtime alone can map with it.

    Writes ``out`` plus a model card ``out`` .json; needs PyTorch and the onnx package.
    """
    from .onnx_export import export_onnx as _export

    check_outputs(
        {"output ONNX model": out, "model card": onnx_card_path(out)},
        {"model": model},
        formats={"output ONNX model": ONNX},
    )
    check_onnx_card(out)
    return ModelCard(_export(Path(model), Path(out)))


def model_info(path: PathLike) -> Dict:
    """JSON-friendly summary of a checkpoint (.pt) or of an ONNX model (s4 export-onnx)."""
    from .backends import describe_onnx, is_onnx

    if is_onnx(path):
        return describe_onnx(path)
    from .checkpoint import describe

    return describe(Path(path))


# ----------------------------------------------------------------------------- insight
@PROFILES.api
def class_profiles(
    labels: PathLike,
    class_field: str,
    *,
    s2: Optional[Sources] = None,
    s1: Optional[Sources] = None,
    out_csv: Optional[PathLike] = None,
    out_figure: Optional[PathLike] = None,
    labels_layer: Optional[str] = None,
    control: Control,
    **options: Any,
) -> Dict:
    """Per-class NDVI (S2) and VV/VH (S1) profiles of a label layer, and their outliers.

    NDVI is cloud-masked, VV/VH in dB; outliers are the polygons whose profile sits far from their
    class (``s4_core.profiles``). Optionally the numbers as CSV (``out_csv``) and a figure
    (``out_figure``: .png, .svg or .pdf).

    Returns ``ClassProfiles.to_dict()`` plus ``csv`` and ``figure`` (the paths written).
    """
    from .profiles import class_profiles as _profiles
    from .profiles import write_profiles_csv

    if not _is_sources(s1) and not _is_sources(s2):
        raise DataError(
            "class profiles need the Sentinel-2 or the Sentinel-1 series (or both): give one"
        )
    if out_figure is not None:
        from .figures import check_figure_path

        check_figure_path(out_figure, "output figure")
    check_outputs(
        {"output CSV": out_csv, "output figure": out_figure},
        {"labels": labels, "Sentinel-1 input": s1, "Sentinel-2 input": s2},
    )
    from .series import open_series

    series = []
    if _is_sources(s2):
        cloud = options["max_cloud_fraction"]
        series.append(open_series(_as_source(s2), sensor="s2", max_cloud_fraction=cloud))
    if _is_sources(s1):
        series.append(open_series(_as_source(s1), sensor="s1"))
    result = _profiles(
        series,
        labels,
        class_field,
        labels_layer=labels_layer,
        threshold=options["threshold"],
        ratio=options["ratio"],
        control=control,
    )
    out = result.to_dict()
    out["csv"] = str(write_profiles_csv(result, out_csv)) if out_csv else None
    out["figure"] = None
    if out_figure:
        from .figures import profiles_figure, save_figure

        fig = profiles_figure(result, title=f"{Path(str(labels)).name}: class profiles")
        out["figure"] = str(save_figure(fig, out_figure))
    return out


@SUGGEST.api
def suggest_labels(
    model: PathLike,
    out: PathLike,
    *,
    scene: SceneInput,
    labelled: LabelledPolygons,
    control: Control,
    **options: Any,
) -> SuggestionsResult:
    """Where to label next: the squares where the model is least sure.

    ``number`` squares of ``size`` x ``size`` px (``s4_core.suggest``), away from the polygons
    already labelled (``LabelledPolygons``), written as a GeoPackage layer ``suggestions``
    (fields rank, uncertainty, predicted, confidence and an empty ``label`` for the analyst).
    The model's class probabilities come from ``segment``.
    """
    import tempfile

    number, size, method, seed = (options[k] for k in ("number", "size", "method", "seed"))
    out = Path(os.fspath(out))
    check_outputs(
        {"output suggestions": out},
        {"model": model, "labels": labelled.labels, **scene.inputs()},
        formats={"output suggestions": GEOPACKAGE},
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".s4-suggest-", dir=str(out.parent)) as tmp:
        seg = segment(
            model, Path(tmp) / "classes.tif", **scene.keywords(),
            probabilities_out=Path(tmp) / "probabilities.tif",
            tile_size=options["tile_size"], overlap=options["overlap"],
            batch_size=options["batch_size"], device=options["device"],
            **control.part(0.0, 0.9).keywords(),
        )  # fmt: skip
        result = suggest_from_probabilities(
            seg["probabilities"], out, **labelled.keywords(),
            class_names=[c["name"] for c in seg["classes"]], number=number, size=size,
            method=method, seed=seed,
        )  # fmt: skip
    control.report(1.0, f"{result['n']} suggestions written")
    control.say(f"{result['n']} squares to label written to {out}")
    return result


@takes_groups
def suggest_from_probabilities(
    probabilities: PathLike,
    out: PathLike,
    *,
    class_names: Sequence[str],
    labelled: LabelledPolygons,
    number: int = SUGGEST.default("number"),
    size: int = SUGGEST.default("size"),
    method: str = SUGGEST.default("method"),
    seed: int = SUGGEST.default("seed"),
    candidates: Optional[np.ndarray] = None,
) -> SuggestionsResult:
    """``suggest_labels`` on a probability raster already written by ``segment``.

    ``candidates``: optional (H, W) bool array of allowed top-left corners.
    """
    import numpy as np
    import rasterio

    from .grid import Grid
    from .suggest import choose_squares

    with rasterio.open(str(probabilities)) as src:
        probs = src.read().astype(np.float32)
        scale = src.scales[0] if src.dtypes[0] == "uint8" else 1.0
        if src.dtypes[0] == "uint8":
            probs = np.where(probs == 255, np.nan, probs * scale)
        grid = Grid(src.crs, src.transform, src.width, src.height)
    if int(size) > min(grid.width, grid.height):
        raise DataError(
            f"the square side (size, Processing parameter SIZE) of {int(size)} px is larger than "
            f"the scene ({grid.width} x {grid.height} px): no square fits; give a side of at "
            f"most {min(grid.width, grid.height)} px or a larger extent"
        )
    mask = labelled.mask(grid)
    # fewer squares than ``number``: choose_squares warns why
    chosen = choose_squares(
        probs, int(number), labelled=mask, candidates=candidates, size=int(size), method=method,
        seed=int(seed),
    )  # fmt: skip
    _write_squares(chosen, grid, Path(os.fspath(out)), list(class_names))
    return SuggestionsResult(
        path=str(out),
        n=len(chosen),
        method=method,
        seed=int(seed),
        squares=[
            {**s.to_dict(), "rank": i + 1, "predicted_name": str(class_names[s.predicted])}
            for i, s in enumerate(chosen)
        ],
    )


def _write_squares(
    chosen: Sequence[Suggestion], grid: Grid, out: Path, class_names: List[str]
) -> None:
    """Write the squares as the ``suggestions`` layer of the GeoPackage ``out``."""
    import fiona

    from .grid import apply_transform

    t = grid.transform
    schema = {
        "geometry": "Polygon",
        "properties": {
            "rank": "int",
            "uncertainty": "float",
            "predicted": "str",
            "confidence": "float",
            "label": "str",
        },
    }
    tmp = temp_path(out, ".gpkg")
    try:
        with fiona.open(
            tmp, "w", driver="GPKG", layer="suggestions", crs_wkt=grid.crs.to_wkt(), schema=schema
        ) as dst:
            for i, s in enumerate(chosen):
                corners = [(s.col, s.row), (s.col + s.size, s.row)]
                corners += [(s.col + s.size, s.row + s.size), (s.col, s.row + s.size)]
                ring = [apply_transform(t, *c) for c in corners]
                dst.write(
                    {
                        "geometry": {"type": "Polygon", "coordinates": [ring + ring[:1]]},
                        "properties": {
                            "rank": i + 1,
                            "uncertainty": float(s.score),
                            "predicted": str(class_names[s.predicted]),
                            "confidence": float(s.confidence),
                            "label": None,
                        },
                    }
                )
        os.replace(tmp, out)
    except BaseException:
        for p in (tmp, Path(str(tmp) + "-journal")):
            p.unlink(missing_ok=True)
        raise


def plot_history(
    path: PathLike, out: PathLike, *, steps: Optional[Sequence[Tuple[float, Metrics]]] = None
) -> str:
    """The training curves of checkpoint ``path`` as a figure at ``out``.

    From its per-epoch ``history``; ``steps``: live (fraction, metrics) pairs recorded from a
    progress callback.
    """
    from .checkpoint import load_checkpoint
    from .figures import curves_figure, save_figure

    ckpt = load_checkpoint(path)
    title = f"{Path(str(path)).name}: {ckpt.get('kind', '')} training"
    fig = curves_figure(ckpt.get("history") or [], steps=steps or (), title=title)
    return str(save_figure(fig, out))


def evaluation_report(
    scores: Dict, *, figure_out: Optional[PathLike] = None, html_out: Optional[PathLike] = None
) -> Dict:
    """The confusion-matrix figure and an HTML report of ``evaluate``'s result.

    ``figure_out``: the figure; ``html_out``: scores, per-class IoU, the matrix as a table and the
    figure embedded.
    """
    from .report import write_evaluation_report

    return write_evaluation_report(scores, figure_out=figure_out, html_out=html_out)

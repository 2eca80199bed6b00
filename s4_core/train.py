"""Training: self-supervised pretraining (every objective) and few-label fine-tuning.

Both read crops from aligned ``Scene`` objects (preloaded in memory when the scene is small,
windowed reads otherwise). Pretraining and the "unet" fine-tuning are ``loop.Task`` hooks
driven by the one loop in ``loop.py`` (progress, cancel, resume, and the checkpoint protocol:
``out`` is replaced only when the run ends, the kept epoch waits in ``out.partial``); the
"pixel" head is fitted in one pass on the frozen network.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
    TypeVar,
    cast,
)

import numpy as np
import torch
import torch.nn.functional as F

from s4_core.types import override

from . import distributed, loop
from .align import fixed_length_indices, percentile_length
from .checkpoint import load_checkpoint, save_checkpoint
from .composite import as_model_input, describe_input, model_s1_ratio
from .control import NO_CONTROL, Control
from .device import autocast_context, cpu_threads, resolve_device
from .errors import CheckpointError, DataError, LabelError, SettingError
from .labels import IGNORE_INDEX, ClassMap
from .metrics import confusion_matrix, scores
from .model import INPUTS, NetConfig, PixelHeadConfig, S4Net
from .normalize import BandStats, compute_band_stats
from .sampling import label_windows, random_label_windows, random_windows
from .settings import FINETUNE, PRETRAIN, WIDTHS
from .types import SceneLike

if TYPE_CHECKING:
    from .grid import Grid
    from .model import PixelHead

log = logging.getLogger(__name__)
_Fn = TypeVar("_Fn", bound=Callable[..., Any])

Window = Tuple[int, int, int, int]

# Scenes up to this many bytes (all frames, bands and pixels as float32) are read into memory
# once; larger ones are read window by window for every crop.
PRELOAD_BYTES = 1 << 30

# CPU-sized default widths (the paper leaves them open; Garnot & Landrieu's reference 32-64-128
# is ~4x slower on a CPU and did not map better with few labels on the real sites)
DEFAULT_WIDTHS: Tuple[int, ...] = WIDTHS.default
# a small site (64 x 64 px) still gets 10 x 100 pretraining steps by default
MIN_PRETRAIN_STEPS = 100

DEFAULT_BANDS = {
    "s1": ["VV", "VH"],
    "s2": ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"],
}


@dataclass
class PretrainConfig:
    """Pretraining settings (paper defaults where it gives them: Adam 1e-3, tau 0.5, lambda 0.01)."""

    epochs: int = PRETRAIN.default("epochs")
    # default: enough crops to cover every scene twice, and at least MIN_PRETRAIN_STEPS
    steps_per_epoch: Optional[int] = PRETRAIN.default("steps_per_epoch")
    crop_size: int = PRETRAIN.default("crop_size")
    batch_size: int = PRETRAIN.default("batch_size")
    # default: 90th percentile of the scenes' frame counts
    time_length: Optional[int] = PRETRAIN.default("time_length")
    time_mode: str = "repeat"  # paper: repeat the last frame or clip
    lr: float = 1e-3
    lam: float = PRETRAIN.default("lam")
    contrastive: bool = PRETRAIN.default("contrastive")
    reconstruction: bool = PRETRAIN.default("reconstruction")
    tau: float = 0.5
    loss_mode: str = "sampled"
    num_anchors: int = 4096
    widths: Tuple[int, ...] = PRETRAIN.default("widths")
    proj_dim: int = 64
    seed: int = PRETRAIN.default("seed")
    # input representation: per-pixel cloud-free median composites of this many months (S1 and
    # S2 on the same periods, gaps filled; composite.py); 0 = the acquisitions as they are
    composite_months: int = PRETRAIN.default("composite_months")
    # S1 input: the VV/VH ratio (VV - VH in dB) as a third band (composite.S1RatioScene)
    s1_ratio: bool = PRETRAIN.default("s1_ratio")
    # the self-supervised objective (objectives/): "s4" (S1 + S2 contrastive + cross
    # reconstruction), "mae" / "dino" (one modality: ``ssl_modality``), "joint-mae" (S1 + S2)
    objective: str = PRETRAIN.default("objective")
    ssl_modality: str = PRETRAIN.default("ssl_modality")
    mask_ratio: float = PRETRAIN.default("mask_ratio")  # mae / joint-mae: share of patches hidden
    mask_patch: int = PRETRAIN.default("mask_patch")  # patch size in pixels
    mask_frames: int = PRETRAIN.default("mask_frames")  # patch length in frames
    mask_mode: str = PRETRAIN.default("mask_mode")  # joint-mae: random / complementary / identical
    dino_views: int = PRETRAIN.default("dino_views")
    dino_prototypes: int = 128
    dino_momentum: float = 0.99  # teacher EMA momentum at the start (cosine schedule to 1)


@dataclass
class FinetuneConfig:
    """Fine-tuning settings. ``val_fraction`` of each class's polygons is held out."""

    modality: str = FINETUNE.default("modality")
    epochs: int = FINETUNE.default("epochs")
    crop_size: int = FINETUNE.default("crop_size")
    batch_size: int = FINETUNE.default("batch_size")
    # default: the pretrained checkpoint's, else the scene's
    time_length: Optional[int] = FINETUNE.default("time_length")
    # "even": a longer series is thinned evenly (the whole season stays), a shorter one padded
    time_mode: str = "even"
    lr: float = FINETUNE.default("lr")
    freeze_encoder: bool = FINETUNE.default("freeze_encoder")
    # "none" (plain loss; the default: unequal polygons do not make a tiny class paint over big
    # ones, docs/benchmarks.md) or "balanced" (inverse class frequency)
    class_weighting: str = FINETUNE.default("class_weighting")
    val_fraction: float = FINETUNE.default("val_fraction")
    augment: bool = True  # random flips and 90-degree rotations of crops
    # Training windows: None = the fixed windows covering every label; n = n random windows per
    # epoch around labelled pixels of classes drawn uniformly (new context every epoch).
    crops_per_epoch: Optional[int] = FINETUNE.default("crops_per_epoch")
    # chance that a real frame is hidden (masked) in a training crop
    frame_dropout: float = FINETUNE.default("frame_dropout")
    # Gaussian noise added to the standardised bands of a training crop
    noise_std: float = FINETUNE.default("noise_std")
    # one random offset per band and crop (haze, soil, calibration)
    band_shift_std: float = FINETUNE.default("band_shift_std")
    # AdamW decoupled weight decay (0: plain Adam)
    weight_decay: float = FINETUNE.default("weight_decay")
    widths: Tuple[int, ...] = FINETUNE.default("widths")
    proj_dim: int = 64
    seed: int = FINETUNE.default("seed")
    # "pixel": the pretrained network stays frozen; an ensemble of per-pixel MLPs learns from
    # the input series plus the network's decoder features, then edge-aware smoothing
    # (PixelHead, model.py). "unet": the paper's fine-tuning of the 3D U-Net's own head.
    head: str = FINETUNE.default("head")
    head_steps: int = 400  # optimisation steps per ensemble member (full batch of pixels)
    # its members and the smoothing, stored in the model (NetConfig); 5 members read the input
    # series alone (no network features), trained with background mixing on optical input
    # (below); 128 hidden units each (64 in models made before 2026-11-29 and in NetConfig's
    # default, which older checkpoints without the key read); docs/benchmarks.md "pixel head"
    pixel_head: PixelHeadConfig = PixelHeadConfig(hidden=128, raw_members=5)
    # optical input (S2): each training pixel is, with probability ``head_mix``, mixed with a
    # random pixel of the windows read: ``a x + (1 - a) x_other``, ``a`` uniform in
    # [``head_mix_min``, 1], label kept (edge pixels of fields are such mixtures); 0 = off
    head_mix: float = 0.8
    head_mix_min: float = 0.3
    # optical input (S2) with tiny labels (at most ``head_entropy_pixels`` labelled pixels per
    # class on average: one or two 5 x 5 squares): every member also lowers the mean entropy of
    # its predictions on random pixels of the windows read, with this weight (entropy
    # minimisation); with more labels it is off (it cost up to 3.6 mIoU points with five
    # squares per class); docs/benchmarks.md "pixel head"
    head_entropy: float = 0.3
    head_entropy_pixels: int = 64
    # None: the pretrained checkpoint's representation (1 month without one); 0: acquisitions
    composite_months: Optional[int] = FINETUNE.default("composite_months")
    # S1 input: the VV/VH ratio as a third band (from scratch; a pretrained model's choice wins)
    s1_ratio: bool = FINETUNE.default("s1_ratio")


# Pixel-head training: Adam(W) on every labelled pixel at once, with the augmentations that
# made per-pixel models generalise to unseen parcels on the real sites (docs/benchmarks.md):
# each frame of a pixel hidden with this probability, and one random offset per channel and
# pixel (standardised units).
PIXEL_LR = 3e-3
PIXEL_WEIGHT_DECAY = 1e-3
PIXEL_FRAME_DROPOUT = 0.2
PIXEL_OFFSET_STD = 0.1
# background mixing: at most this many random pixels of the label windows to blend with
POOL = 20000
# entropy minimisation: random pixels of that pool per optimisation step
ENTROPY_BATCH = 2048


@dataclass
class TrainResult:
    """What ``pretrain`` / ``finetune`` return: the checkpoint path, history and final metrics."""

    path: Path
    history: List[dict] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    device: str = "cpu"
    seconds: float = 0.0
    cancelled: bool = False
    # False when no epoch of a resumed "unet" fine-tuning beat the resumed checkpoint: ``path``
    # was not written by this run
    written: bool = True

    def to_dict(self) -> Dict[str, Any]:
        """What ``api.pretrain`` / ``api.finetune`` return: path, history, metrics, device, seconds."""
        return {
            "path": str(self.path),
            "history": self.history,
            "metrics": self.metrics,
            "device": self.device,
            "seconds": round(self.seconds, 2),
        }


# ----------------------------------------------------------------------------- helpers
def _seed_everything(seed: int) -> np.random.Generator:
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def _on_cpu_threads(function: _Fn) -> _Fn:
    """Run ``function`` with ``cpu_threads`` for its ``device`` keyword.

    On a CPU one thread unless ``S4_THREADS`` says otherwise: the same seed gives the same
    checkpoint on any machine.
    """

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> object:
        with cpu_threads(resolve_device(kwargs.get("device", "auto"))):
            return function(*args, **kwargs)

    return cast(_Fn, wrapper)


def _band_selection(scene: SceneLike, modality: str, bands: Sequence[str]) -> np.ndarray:
    series = getattr(scene, modality)
    missing = [b for b in bands if b not in series.band_names]
    if missing:
        raise DataError(
            f"{series.source}: bands {missing} are missing (have {series.band_names}); the model "
            f"needs {list(bands)}: give {modality.upper()} layers with those bands"
        )
    return np.array([series.band_names.index(b) for b in bands], dtype=np.int64)


def merge_band_stats(stats: Sequence[BandStats], bands: Sequence[str]) -> BandStats:
    """Pool per-scene statistics (equal weight per scene) restricted to ``bands``."""
    means, second = [], []
    for s in stats:
        idx = [s.band_names.index(b) for b in bands]
        m = np.asarray(s.mean, dtype=np.float64)[idx]
        sd = np.asarray(s.std, dtype=np.float64)[idx]
        means.append(m)
        second.append(sd**2 + m**2)
    mean = np.mean(means, axis=0)
    std = np.sqrt(np.maximum(np.mean(second, axis=0) - mean**2, 1e-12))
    return BandStats(list(bands), mean.astype(np.float32), std.astype(np.float32))


class CropSource:
    """Space-time crops of one scene for given modalities, normalised, on a fixed frame index.

    The modality "both" is S1 and S2 read together, each normalised with its own statistics,
    concatenated along the bands (S1's first: ``S4Net.encode``'s "both" input); its validity
    is where both sensors are valid.
    """

    def __init__(
        self,
        scene: SceneLike,
        modalities: Sequence[str],
        bands: Mapping[str, Sequence[str]],
        stats: Dict[str, BandStats],
        time_length: int,
        time_mode: str,
    ) -> None:
        self.scene = scene
        self.modalities = list(modalities)
        self.sensors = _sensors(self.modalities)
        self.band_idx = {m: _band_selection(scene, m, bands[m]) for m in self.sensors}
        self.channels = {m: sum(len(self.band_idx[s]) for s in _sensors([m])) for m in modalities}
        self.stats = stats
        self.frames, frame_ok = fixed_length_indices(scene.n_frames, time_length, time_mode)
        self.frame_ok = np.asarray(frame_ok, dtype=bool)
        h, w = scene.grid.shape
        nbytes = 4 * h * w * time_length * sum(len(b) + 1 for b in self.band_idx.values())
        self.cache = self._read(None) if nbytes <= PRELOAD_BYTES else None

    def _read(self, window: Optional[Grid]) -> Dict[str, np.ndarray]:
        data = self.scene.read(window, modalities=self.sensors, frames=self.frames)
        out = {"frame_valid": np.asarray(data["frame_valid"], dtype=bool) & self.frame_ok}
        for m in self.sensors:
            x = data[m][:, self.band_idx[m]]
            valid = data[f"{m}_valid"] & out["frame_valid"][:, None, None]
            out[m] = self.stats[m].apply(x, valid)
            out[f"{m}_valid"] = valid
        if "both" in self.modalities:
            out["both"] = np.concatenate([out["s1"], out["s2"]], axis=1)
            out["both_valid"] = out["s1_valid"] & out["s2_valid"]
            for m in ("s1", "s2"):
                if m not in self.modalities:
                    del out[m], out[f"{m}_valid"]
        return out

    def stand_in(self, window: Window) -> Dict[str, np.ndarray]:
        """What :meth:`crop` of ``window`` holds for the random augmentations, without its pixels.

        Frame validity and shapes: a distributed run draws the augmentations of the crops other
        processes read from it, so that every random stream stays in step. A scene too large to
        preload is read (the frame validity comes from the file).
        """
        if self.cache is None:
            return self.crop(window)
        _, _, h, w = window
        t = len(self.frames)
        out = {"frame_valid": self.cache["frame_valid"]}
        for m in self.modalities:
            out[m] = np.broadcast_to(np.float32(0), (t, self.channels[m], h, w))
            out[f"{m}_valid"] = np.broadcast_to(False, (t, h, w))
        return out

    def crop(self, window: Window) -> Dict[str, np.ndarray]:
        """The standardised frames of ``window`` (from the preloaded scene, else read)."""
        r, c, h, w = window
        if self.cache is None:
            return self._read(self.scene.grid.window(r, c, h, w))
        out = {"frame_valid": self.cache["frame_valid"]}
        for m in self.modalities:
            out[m] = self.cache[m][:, :, r : r + h, c : c + w]
            out[f"{m}_valid"] = self.cache[f"{m}_valid"][:, r : r + h, c : c + w]
        return out


def _sensors(modalities: Sequence[str]) -> List[str]:
    """The sensors behind ``modalities`` ("both": S1 and S2), each once, S1 first."""
    wanted: Set[str] = set()
    for m in modalities:
        wanted.update(("s1", "s2") if m == "both" else (m,))
    return [m for m in ("s1", "s2") if m in wanted]


def input_label(modality: str) -> str:
    """``S1``, ``S2`` or ``S1 + S2`` (modality "both") for messages."""
    return "S1 + S2" if modality == "both" else modality.upper()


def _stack(crops: List[Dict[str, np.ndarray]], device: torch.device) -> Dict[str, torch.Tensor]:
    return {
        key: torch.from_numpy(np.ascontiguousarray(np.stack([c[key] for c in crops]))).to(device)
        for key in crops[0]
    }


def _augment(
    crop: Dict[str, np.ndarray],
    rng: np.random.Generator,
    *,
    geometric: bool = True,
    frame_dropout: float = 0.0,
    noise_std: float = 0.0,
    band_shift_std: float = 0.0,
    modalities: Sequence[str] = (),
) -> Dict[str, np.ndarray]:
    """Random flips/rotations, hidden frames, band noise and one random offset per band.

    At least one real frame stays; the band offset is the same for every frame and pixel of the
    crop.
    """
    out = dict(crop)
    if geometric:
        k = int(rng.integers(4))
        flip = bool(rng.integers(2))
        for key, arr in crop.items():
            if arr.ndim < 2 or key == "frame_valid":
                continue
            a = np.rot90(arr, k, axes=(-2, -1))
            out[key] = np.flip(a, axis=-1) if flip else a
    if frame_dropout > 0:
        valid = np.asarray(out["frame_valid"], dtype=bool)
        kept = valid & (rng.random(valid.shape) >= frame_dropout)
        if not kept.any() and valid.any():
            kept[rng.choice(np.flatnonzero(valid))] = True
        out["frame_valid"] = kept
    if noise_std > 0 or band_shift_std > 0:
        for m in modalities:
            x = out[m]
            delta = np.zeros(x.shape, dtype=x.dtype)
            if noise_std > 0:
                delta += rng.normal(0.0, noise_std, x.shape).astype(x.dtype)
            if band_shift_std > 0:
                shift = rng.normal(0.0, band_shift_std, (1, x.shape[1], 1, 1))
                delta += shift.astype(x.dtype)
            out[m] = np.where(out[f"{m}_valid"][:, None], x + delta, x)
    return out


def _fit_window(window: Window, shape: Sequence[int]) -> Window:
    r, c, h, w = window
    h, w = min(h, shape[0]), min(w, shape[1])
    return max(0, min(r, shape[0] - h)), max(0, min(c, shape[1] - w)), h, w


# ----------------------------------------------------------------------------- pretraining
class PretrainTask(loop.Task):
    """Pretraining hooks: random crops of the scenes, the objective's step, the checkpoint.

    Crops are drawn by scene area; the step is the objective's (``objectives/``).
    """

    kind = "pretrained"
    label = "pretraining"

    def __init__(
        self,
        scenes: Sequence[SceneLike],
        cfg: PretrainConfig,
        device: str,
        control: Control,
        resume: Optional[Path] = None,
    ) -> None:
        """``resume``: the checkpoint the run will resume, checked before any work."""
        from .objectives import objective_class

        self.cfg = cfg
        self.objective_class = cls = objective_class(cfg.objective)
        if cfg.ssl_modality not in ("s1", "s2"):
            raise ValueError(f"ssl_modality must be 's1' or 's2', not {cfg.ssl_modality!r}")
        needs = cls.needs(cfg)
        if not scenes:
            raise DataError(
                f"pretraining ({cfg.objective}) needs at least one scene with "
                + " and ".join(m.upper() for m in needs)
            )
        for scene in scenes:
            if any(getattr(scene, m) is None for m in needs):
                if len(needs) == 2:
                    raise DataError(
                        "pretraining needs Sentinel-1 AND Sentinel-2 over the same area; "
                        f"one scene has only {scene.modalities}"
                    )
                raise DataError(
                    f"{cfg.objective} pretraining on {needs[0].upper()} needs "
                    f"{needs[0].upper()} layers; one scene has only {scene.modalities}"
                )
        self.s1_ratio = bool(cfg.s1_ratio) and "s1" in needs
        scenes = [as_model_input(s, cfg.composite_months, s1_ratio=self.s1_ratio) for s in scenes]
        self.scenes = scenes
        self.rng = _seed_everything(cfg.seed)
        self.dev = dev = resolve_device(device)
        bands = {
            m: [
                b
                for b in getattr(scenes[0], m).band_names
                if all(b in getattr(s, m).band_names for s in scenes)
            ]
            for m in needs
        }
        for m, names in bands.items():
            if not names:
                raise DataError(
                    f"the scenes share no {m.upper()} band: give series with common bands"
                )
        for m in ("s1", "s2"):  # a branch the objective does not train keeps its default width
            bands.setdefault(m, list(DEFAULT_BANDS[m]))
        self.bands = bands
        self.length = length = cfg.time_length or percentile_length(
            [s.n_frames for s in scenes], 90
        )
        self.net_cfg = NetConfig(
            s1_channels=len(bands["s1"]),
            s2_channels=len(bands["s2"]),
            widths=tuple(cfg.widths),
            proj_dim=cfg.proj_dim,
            num_classes=0,
        )
        if resume is not None:  # a checkpoint of other settings is refused before any work
            loop.open_resume(resume, self.kind, self.identity())
        control.report(0.0, f"computing band statistics over {len(scenes)} scene(s)")
        self.stats = stats = {
            m: merge_band_stats(
                [compute_band_stats(s, m, control=control.quiet()) for s in scenes],
                bands[m],
            )
            for m in needs
        }
        self.sources = [CropSource(s, needs, bands, stats, length, cfg.time_mode) for s in scenes]
        self.areas = np.array([s.grid.width * s.grid.height for s in scenes], dtype=np.float64)
        self.steps = cfg.steps_per_epoch or max(
            MIN_PRETRAIN_STEPS,
            int(np.ceil(2 * self.areas.sum() / (cfg.crop_size**2 * cfg.batch_size))),
        )
        self.model = S4Net(self.net_cfg).to(dev)
        self.objective = cls(cfg, self.model, stats, dev)

    @override
    def build_optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.objective.parameters(), lr=self.cfg.lr)

    @override
    def steps_per_epoch(self) -> int:
        return self.steps

    @override
    def set_shard(self, rank: int, world_size: int) -> None:
        _check_shard(self.cfg.batch_size, world_size)
        super().set_shard(rank, world_size)
        if rank:  # the objective's own draws (anchors, masks, views) differ between processes
            for value in vars(self.objective).values():
                if isinstance(value, torch.Generator):
                    value.manual_seed(value.initial_seed() + 1_000_003 * rank)
            torch.manual_seed(self.cfg.seed + 1_000_003 * rank)

    @override
    def extra_modules(self) -> List[torch.nn.Module]:
        return [self.objective.extra]

    def batch(self) -> Dict[str, torch.Tensor]:
        """``batch_size`` random crops (scenes drawn by area), flipped/rotated at random.

        This process's share of them in a distributed run.
        """
        cfg, rng, scenes = self.cfg, self.rng, self.scenes
        mine = self.share(cfg.batch_size)
        crops = []
        for b in range(cfg.batch_size):
            k = int(rng.choice(len(self.sources), p=self.areas / self.areas.sum()))
            h, w = scenes[k].grid.shape
            win = _fit_window(random_windows(h, w, cfg.crop_size, 1, rng)[0], (h, w))
            source = self.sources[k]
            crops.append(_augment(source.crop(win) if b in mine else source.stand_in(win), rng))
        return _stack(_same_size(crops)[mine.start : mine.stop], self.dev)

    @override
    def train_step(self) -> Tuple[torch.Tensor, Dict[str, float]]:
        return self.objective.step(self.batch())

    @override
    def after_step(self, done: int, total: int) -> None:
        self.objective.after_step(done, total)

    @override
    def extra_state(self) -> Optional[dict]:
        return self.objective.state()

    @override
    def load_extra_state(self, state: Optional[dict]) -> None:
        self.objective.load_state(state)

    @override
    def identity(self) -> dict:
        cfg = self.cfg
        return {
            "net_config": self.net_cfg.to_dict(),
            "modality": None,
            "bands": self.bands,
            "time": {"length": int(self.length), "mode": cfg.time_mode},
            "input": {"composite_months": int(cfg.composite_months), "s1_ratio": self.s1_ratio},
            "objective": self.objective_class.describe(cfg),
            "classes": None,
        }

    @override
    def payload(self, metrics: dict, history: List[dict], epoch: int) -> dict:
        cfg = self.cfg
        return {
            "kind": "pretrained",
            **self.identity(),
            "state_dict": _cpu_state(self.model),
            "band_stats": {m: st.to_dict() for m, st in self.stats.items()},
            "metrics": metrics,
            "history": history,
            "epoch": epoch,
            "seed": cfg.seed,
            "train_config": _jsonable(asdict(cfg)),
        }


@_on_cpu_threads
def pretrain(
    scenes: Sequence[SceneLike],
    out: Path,
    config: Optional[PretrainConfig] = None,
    *,
    device: str = "auto",
    resume: Optional[Path] = None,
    control: Control = NO_CONTROL,
) -> TrainResult:
    """Self-supervised pretraining (``config.objective``) on aligned scenes.

    Writes a checkpoint to ``out`` when the run ends (the last epoch waits in ``out.partial`` until
    then, resumable). CPU runs use ``cpu_threads`` (reproducible on any machine).
    """
    cfg = config or PretrainConfig()
    out = Path(out)
    start = time.time()
    task = PretrainTask(scenes, cfg, device, control, resume=resume)
    run_task, run_control = distributed.prepare(task, control)
    result = loop.run(run_task, out, cfg.epochs, resume=resume, control=run_control)
    history = result.history
    return TrainResult(
        out,
        history,
        history[-1] if history else {},
        str(task.dev),
        time.time() - start,
        written=result.written,
    )


def _check_shard(batch_size: int, world_size: int) -> None:
    """``SettingError`` unless a batch splits into ``world_size`` equal shares."""
    if batch_size % world_size:
        raise SettingError(
            "batch_size",
            f"a multiple of the {world_size} processes of this distributed run (it is the "
            "global batch, split equally between them)",
            batch_size,
            flag="--batch-size",
        )


def _same_size(crops: List[Dict[str, np.ndarray]]) -> List[Dict[str, np.ndarray]]:
    """Crops from scenes smaller than the crop size differ in size: crop all to the smallest."""
    h = min(_hw(c)[0] for c in crops)
    w = min(_hw(c)[1] for c in crops)
    out = []
    for c in crops:
        out.append(
            {k: (v if v.ndim < 2 or k == "frame_valid" else v[..., :h, :w]) for k, v in c.items()}
        )
    return out


def _hw(crop: Dict[str, np.ndarray]) -> Tuple[int, int]:
    for key, value in crop.items():
        if key.endswith("_valid") and key != "frame_valid":
            return value.shape[-2], value.shape[-1]
    raise KeyError("crop without a validity mask")


def _cpu_state(model: torch.nn.Module) -> dict:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def _jsonable(d: dict) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


# ----------------------------------------------------------------------------- fine-tuning
def _checkpoint_score(record: dict, validated: bool) -> Optional[float]:
    """What the best fine-tuning checkpoint is chosen by.

    The validation mIoU when polygons are held out, else minus the training loss (None if ``record``
    lacks it).
    """
    value = record.get("val_miou" if validated else "loss")
    if value is None:
        return None
    return float(value) if validated else -float(value)


def split_polygons(
    labels: np.ndarray,
    polygon_ids: np.ndarray,
    val_fraction: float,
    rng: np.random.Generator,
) -> Tuple[np.ndarray, np.ndarray]:
    """Hold out ``val_fraction`` of each class's polygons (at least one where a class has two).

    Returns (train_labels, val_labels), each IGNORE_INDEX outside its polygons.
    """
    train = labels.copy()
    val = np.full_like(labels, IGNORE_INDEX)
    if val_fraction <= 0:
        return train, val
    labelled = labels != IGNORE_INDEX
    for cls in np.unique(labels[labelled]):
        ids = np.unique(polygon_ids[(labels == cls) & (polygon_ids > 0)])
        if len(ids) < 2:
            continue
        n_val = max(1, int(round(val_fraction * len(ids))))
        held = rng.choice(ids, size=min(n_val, len(ids) - 1), replace=False)
        mask = np.isin(polygon_ids, held) & (labels == cls)
        val[mask] = cls
        train[mask] = IGNORE_INDEX
    return train, val


def _class_weights(labels: np.ndarray, k: int, how: str) -> Optional[torch.Tensor]:
    if how == "none":
        return None
    counts = np.bincount(labels[labels != IGNORE_INDEX].ravel(), minlength=k).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / k, 0.0)
    return torch.tensor(weights, dtype=torch.float32)


@_on_cpu_threads
def finetune(
    scene: SceneLike,
    labels: np.ndarray,
    class_map: ClassMap,
    out: Path,
    config: Optional[FinetuneConfig] = None,
    *,
    polygon_ids: Optional[np.ndarray] = None,
    init: Optional[Path] = None,
    resume: Optional[Path] = None,
    device: str = "auto",
    control: Control = NO_CONTROL,
    class_field: Optional[str] = None,
) -> TrainResult:
    """Fine-tune (from a pretrained checkpoint, or from scratch) on sparse labels.

    ``labels`` is a uint8 class raster on ``scene.grid`` with IGNORE_INDEX where unlabelled;
    ``class_field``: the polygons' field ``class_map`` comes from (recorded, named in messages).
    ``resume``: a checkpoint of this fine-tuning, refused before any work unless it has the same
    classes, inputs and network (``loop.open_resume``).
    The "unet" head writes the best checkpoint by validation mIoU (held-out polygons) to
    ``out``; the "pixel" head is trained on every polygon (held-out ones only score a first
    fit). CPU runs use ``cpu_threads`` (reproducible on any machine).
    """
    cfg = config or FinetuneConfig()
    out = Path(out)
    start = time.time()
    m = cfg.modality
    if m not in INPUTS:
        raise ValueError(f"modality must be one of {', '.join(INPUTS)}, not {m!r}")
    sensors = _sensors([m])
    lacking = [s.upper() for s in sensors if getattr(scene, s) is None]
    if lacking:
        raise DataError(
            f"fine-tuning for {input_label(m)} inference needs {' and '.join(lacking)} layers: "
            "none were given"
        )
    if labels.shape != scene.grid.shape:
        raise LabelError(
            f"label raster {labels.shape} does not match the scene grid {scene.grid.shape}"
        )
    if not (labels != IGNORE_INDEX).any():
        raise LabelError("no labelled pixel falls inside the scene: check the polygons' extent")
    rng = _seed_everything(cfg.seed)
    dev = resolve_device(device)
    k = len(class_map)

    pre = load_checkpoint(init) if init is not None else None
    months = cfg.composite_months
    if months is None:  # follow the pretrained model (older checkpoints: acquisitions)
        months = int((pre.get("input") or {}).get("composite_months", 0)) if pre else 1
    ratio = bool(cfg.s1_ratio)
    if pre is not None:  # the pretrained model decides
        ratio = model_s1_ratio(pre)
        if cfg.s1_ratio and not ratio:
            raise CheckpointError(
                f"s1_ratio is on but the pretrained model (init) {init} was pretrained without "
                "the VV/VH ratio band: switch s1_ratio off (fine-tuning follows the pretrained "
                "model), or pretrain with s1_ratio on"
            )
    scene = as_model_input(scene, months, s1_ratio=ratio and "s1" in sensors)
    # composites: one frame per period, the scene's own periods (the pixel head reads them all)
    time_mode = "repeat" if months else cfg.time_mode
    if pre is not None:
        net_cfg = NetConfig.from_dict(pre["net_config"])
        objective = pre.get("objective") or {}
        trained = objective.get("modality")  # mae / dino: the one sensor they trained
        if trained and m == "both":
            other = "S2" if trained == "s1" else "S1"
            raise CheckpointError(
                f"the pretrained model (init) {init} was pretrained with "
                f"{objective.get('name', '?')} on {trained.upper()} only: its {other} branch "
                f"is untrained, so it cannot map from both sensors. Fine-tune for "
                f"{trained.upper()} (modality {trained}), or pretrain with joint-mae (or s4) "
                "for modality both"
            )
        if trained and trained != m:
            raise CheckpointError(
                f"the pretrained model (init) {init} was pretrained with "
                f"{objective.get('name', '?')} on {trained.upper()} only: its {m.upper()} branch "
                f"is untrained. Fine-tune for {trained.upper()} (modality {trained}), or "
                f"pretrain with an objective that uses {m.upper()} (s4, joint-mae, or "
                f"{objective.get('name', 'mae')} with ssl_modality {m})"
            )
        bands = {mm: list(v) for mm, v in pre["bands"].items()}
        for sm in sensors:
            have = getattr(scene, sm).band_names
            missing = [b for b in bands[sm] if b not in have]
            if missing:
                raise CheckpointError(
                    f"the pretrained model (init) {init} was trained on {sm.upper()} bands "
                    f"{bands[sm]} but the {sm.upper()} layers {getattr(scene, sm).source} lack "
                    f"{missing}: give {sm.upper()} layers with those bands, or fine-tune "
                    "without the pretrained model"
                )
        length = cfg.time_length or (scene.n_frames if months else int(pre["time"]["length"]))
    else:
        # A modality's branch unused from scratch keeps its width from the data if given.
        bands = {
            sm: list(getattr(scene, sm).band_names)
            if getattr(scene, sm) is not None
            else list(DEFAULT_BANDS[sm])
            for sm in ("s1", "s2")
        }
        net_cfg = NetConfig(
            s1_channels=len(bands["s1"]),
            s2_channels=len(bands["s2"]),
            widths=tuple(cfg.widths),
            proj_dim=cfg.proj_dim,
            num_classes=0,
        )
        length = cfg.time_length or scene.n_frames
    if cfg.head == "pixel":
        net_cfg = replace(
            net_cfg,
            head="pixel",
            head_modality=m,
            head_frames=int(length),
            pixel_head=cfg.pixel_head,
        )
    elif cfg.head != "unet":
        raise ValueError(f"head must be 'pixel' or 'unet', not {cfg.head!r}")
    # what the checkpoint says this run trains (a resumed one must say the same)
    identity = {
        "net_config": replace(net_cfg, num_classes=k).to_dict(),
        "modality": m,
        "bands": bands,
        "time": {"length": int(length), "mode": time_mode},
        "input": describe_input(scene),
        "classes": class_map.to_dict(),
        "class_field": class_field,
        # the settings that decide which parameters the optimiser trains
        "train_config": {"freeze_encoder": bool(cfg.freeze_encoder)},
    }
    if resume is not None:  # refused before any work
        if cfg.head == "pixel":
            raise CheckpointError(
                "resuming is for the 'unet' head; the 'pixel' head trains in seconds: run the "
                "fine-tuning again without resume"
            )
        loop.open_resume(resume, UnetTask.kind, identity)
    control.report(0.0, "computing band statistics")
    stats = {
        sm: merge_band_stats([compute_band_stats(scene, sm, control=control.quiet())], bands[sm])
        for sm in sensors
    }

    model = S4Net(net_cfg)
    if pre is not None:
        model.load_state_dict(pre["state_dict"])
    model.set_num_classes(k)
    model.to(dev)

    def payload(metrics: dict, history: List[dict], epoch: int) -> dict:
        """The fine-tuned checkpoint (both heads)."""
        d = {
            "kind": "finetuned",
            **identity,
            "state_dict": _cpu_state(model),
            "band_stats": {mm: st.to_dict() for mm, st in stats.items()},
            "metrics": metrics,
            "history": history,
            "epoch": epoch,
            "seed": cfg.seed,
            "init": str(init) if init else None,
            "pretraining": (pre.get("objective") or {"name": "s4"}) if pre else None,
            "train_config": _jsonable(asdict(cfg)),
        }
        return d

    if cfg.head == "pixel":
        if distributed.current() is not None:
            raise SettingError(
                "head",
                "'unet' in a distributed run (the 'pixel' head trains in seconds on one "
                "process: run it without torchrun)",
                cfg.head,
                flag="--head",
            )
        if polygon_ids is None:
            polygon_ids = np.zeros(labels.shape, dtype=np.int32)
        train_labels, val_labels = split_polygons(labels, polygon_ids, cfg.val_fraction, rng)
        source = CropSource(scene, (m,), bands, stats, length, time_mode)
        metrics, history = _fit_pixel_head(
            model, source, labels, train_labels, val_labels, class_map, cfg, dev, control
        )
        save_checkpoint(out, payload(metrics, history, 1))
        control.report(1.0, f"saved {out.name}", metrics)
        return TrainResult(out, history, metrics, str(dev), time.time() - start)
    task = UnetTask(
        model, scene, labels, polygon_ids, class_map, cfg, bands, stats, length, time_mode, dev,
        rng, payload, control, identity,
    )  # fmt: skip
    run_task, run_control = distributed.prepare(task, control)
    result = loop.run(run_task, out, cfg.epochs, resume=resume, control=run_control)
    return TrainResult(
        out, result.history, result.metrics, str(dev), time.time() - start, written=result.written
    )


class UnetTask(loop.Task):
    """The paper's fine-tuning of the 3D U-Net's own head.

    Crops around the labelled pixels, cross-entropy, the best epoch kept (validation mIoU on
    held-out polygons, else the training loss).
    """

    kind = "finetuned"
    model: S4Net
    label = "fine-tuning"

    def __init__(
        self,
        model: S4Net,
        scene: SceneLike,
        labels: np.ndarray,
        polygon_ids: Optional[np.ndarray],
        class_map: ClassMap,
        cfg: FinetuneConfig,
        bands: Mapping[str, Sequence[str]],
        stats: Dict[str, BandStats],
        length: int,
        time_mode: str,
        dev: torch.device,
        rng: np.random.Generator,
        payload: Callable[[dict, List[dict], int], dict],
        control: Control,
        identity: dict,
    ) -> None:
        self.model, self.cfg, self.dev, self.rng, self.control = model, cfg, dev, rng, control
        self.class_map, self.m, self._payload = class_map, cfg.modality, payload
        self._identity = identity
        if cfg.freeze_encoder:
            for p in model.encoder_parameters(self.m):
                p.requires_grad_(False)
        if polygon_ids is None:
            polygon_ids = np.zeros(labels.shape, dtype=np.int32)
        self.train_labels, self.val_labels = split_polygons(
            labels, polygon_ids, cfg.val_fraction, rng
        )
        self.source = CropSource(scene, (self.m,), bands, stats, length, time_mode)
        shape = scene.grid.shape
        self.train_windows = [
            _fit_window(w, shape) for w in label_windows(self.train_labels, cfg.crop_size)
        ]
        self.val_windows = [
            _fit_window(w, shape) for w in label_windows(self.val_labels, cfg.crop_size)
        ]
        weights = _class_weights(self.train_labels, len(class_map), cfg.class_weighting)
        self.weights = weights.to(dev) if weights is not None else None
        self.n_train = cfg.crops_per_epoch or len(self.train_windows)
        self.n_used = self.n_train
        self.n_batches = int(np.ceil(self.n_train / cfg.batch_size))
        self.windows: List[Window] = []
        self.b = 0

    @override
    def set_shard(self, rank: int, world_size: int) -> None:
        """Every batch is split equally.

        The last one is cut to a multiple of ``world_size`` crops (the windows are shuffled every
        epoch).
        """
        _check_shard(self.cfg.batch_size, world_size)
        self.n_used = self.n_train - self.n_train % world_size
        if self.n_used == 0:
            raise LabelError(
                f"{self.n_train} training window(s) cannot feed {world_size} processes: run "
                "on fewer processes or draw more windows (crops_per_epoch)"
            )
        self.n_batches = int(np.ceil(self.n_used / self.cfg.batch_size))
        super().set_shard(rank, world_size)

    @override
    def build_optimizer(self) -> torch.optim.Optimizer:
        cfg = self.cfg
        params = [p for p in self.model.parameters() if p.requires_grad]
        if cfg.weight_decay > 0:
            return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        return torch.optim.Adam(params, lr=cfg.lr)

    @override
    def steps_per_epoch(self) -> int:
        return self.n_batches

    @override
    def validation_steps(self) -> int:
        return len(self.val_windows)

    @override
    def start_epoch(self, epoch: int) -> None:
        cfg = self.cfg
        if cfg.crops_per_epoch:
            self.windows = random_label_windows(
                self.train_labels, cfg.crop_size, cfg.crops_per_epoch, self.rng, balanced=True
            )
        else:
            self.windows = [
                self.train_windows[i] for i in self.rng.permutation(len(self.train_windows))
            ]
        self.b = 0

    @override
    def train_step(self) -> Tuple[torch.Tensor, Dict[str, float]]:
        cfg, m, b = self.cfg, self.m, self.b
        self.b += 1
        crops = []
        batch = self.windows[b * cfg.batch_size : min((b + 1) * cfg.batch_size, self.n_used)]
        mine = self.share(len(batch))
        for i, win in enumerate(batch):
            crop = self.source.crop(win) if i in mine else self.source.stand_in(win)
            r, c, h, w = win
            crop["labels"] = self.train_labels[r : r + h, c : c + w]
            crops.append(
                _augment(
                    crop,
                    self.rng,
                    geometric=cfg.augment,
                    frame_dropout=cfg.frame_dropout,
                    noise_std=cfg.noise_std,
                    band_shift_std=cfg.band_shift_std,
                    modalities=(m,),
                )
            )
        tensors = _stack(_same_size(crops)[mine.start : mine.stop], self.dev)
        with autocast_context(self.dev):
            logits = self.model.segment(tensors[m], m, tensors["frame_valid"])
            loss = F.cross_entropy(
                logits.float(),
                tensors["labels"].long(),
                weight=self.weights,
                ignore_index=IGNORE_INDEX,
            )
        return loss, {"loss": float(loss.detach())}

    @override
    def validate(self) -> Dict[str, float]:
        if not self.val_windows:
            return {}
        k = len(self.class_map)
        cm = _predict_cm(
            self.model, self.source, self.val_windows, self.val_labels, self.m, k, self.dev,
            self.control,
        )  # fmt: skip
        sc = scores(cm, self.class_map.names)
        return {"val_oa": float(sc["oa"]), "val_miou": float(sc["miou"])}

    @override
    def score(self, record: dict) -> Optional[float]:
        return _checkpoint_score(record, bool(self.val_windows))

    @override
    def identity(self) -> dict:
        return self._identity

    @override
    def payload(self, metrics: dict, history: List[dict], epoch: int) -> dict:
        return self._payload(metrics, history, epoch)

    @override
    def epoch_message(self, record: dict, epoch: int, epochs: int, kept: bool) -> str:
        return (
            f"epoch {epoch}: loss {record['loss']:.3f}"
            + (f", validation mIoU {record['val_miou']:.3f}" if "val_miou" in record else "")
            + (" (best, kept)" if kept else "")
        )


@torch.no_grad()
def _pixel_samples(
    model: S4Net,
    source: CropSource,
    labels: np.ndarray,
    size: int,
    dev: torch.device,
    control: Control,
    seed: int = 0,
    pool_size: int = 0,
) -> Tuple[
    torch.Tensor, torch.Tensor, np.ndarray, torch.Tensor, torch.Tensor, Optional[torch.Tensor]
]:
    """Pixel-head inputs of every labelled pixel (each once).

    Features ``(N, F)``, classes ``(N,)``, their flat raster indices ``(N,)``, the per-feature
    mean/std over every pixel of the windows read, and the features of up to ``pool_size``
    random pixels of those windows, labelled or not (``(M, F)``, for background mixing; None
    when ``pool_size`` is 0).
    """
    model.eval()
    m = model.config.head_modality
    feats, ys, where, sums = [], [], [], None
    pool: List[torch.Tensor] = []
    gen = torch.Generator().manual_seed(int(seed))
    counted = np.zeros(labels.shape, dtype=bool)
    n_all = 0
    windows = list(label_windows(labels, size))
    per_window = max(16, -(-pool_size // max(1, len(windows))))  # the pool stays near pool_size
    for win in windows:
        control.check()
        r, c, h, w = _fit_window(win, labels.shape)
        crop = _stack([source.crop((r, c, h, w))], dev)
        f = model.pixel_inputs(crop[m], m, crop["frame_valid"])[0].float()  # (F, h, w)
        flat = f.reshape(f.shape[0], -1)
        s1, s2 = flat.sum(1), flat.square().sum(1)
        sums = (s1, s2) if sums is None else (sums[0] + s1, sums[1] + s2)
        n_all += flat.shape[1]
        if pool_size:
            pick = torch.randperm(flat.shape[1], generator=gen)[:per_window].to(flat.device)
            pool.append(flat[:, pick].T.cpu())
        lab = labels[r : r + h, c : c + w]
        take = (lab != IGNORE_INDEX) & ~counted[r : r + h, c : c + w]
        counted[r : r + h, c : c + w] |= take
        idx = torch.from_numpy(np.flatnonzero(take.ravel())).to(flat.device)
        feats.append(flat[:, idx].T.cpu())
        ys.append(torch.from_numpy(lab.ravel()[take.ravel()].astype(np.int64)))
        rr, cc = np.nonzero(take)
        where.append((rr + r) * labels.shape[1] + (cc + c))
    assert sums is not None
    mean = (sums[0] / n_all).cpu()
    std = (sums[1] / n_all - mean.square()).clamp_min(1e-12).sqrt().cpu()
    background = torch.cat(pool) if pool else None
    if background is not None and len(background) > pool_size:
        background = background[torch.randperm(len(background), generator=gen)[:pool_size]]
    return torch.cat(feats), torch.cat(ys), np.concatenate(where), mean, std, background


def _head_stats(
    mean: torch.Tensor, std: torch.Tensor, frames: int, n_input: int
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Standardisation of the pixel head's inputs: their mean and std.

    The input bands are already standardised per band (kept as they are); decoder channels get one
    mean/std per channel over all frames.
    """
    per = mean.numel() // frames
    mu = mean.view(frames, per).mean(0)
    var = (std.view(frames, per).square() + mean.view(frames, per).square()).mean(0) - mu.square()
    sd = var.clamp_min(1e-12).sqrt()
    mu[:n_input], sd[:n_input] = 0.0, 1.0
    return mu.repeat(frames), sd.repeat(frames)


def _tiny_labels(y: torch.Tensor, cfg: FinetuneConfig) -> bool:
    """Whether the labelled classes hold at most ``cfg.head_entropy_pixels`` pixels on average."""
    counts = torch.bincount(y)
    return float(counts[counts > 0].float().mean()) <= cfg.head_entropy_pixels


def _mean_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean entropy (nats) of the class distributions ``softmax(logits)`` ``(N, K)``."""
    log_p = logits.log_softmax(1)
    return -(log_p.exp() * log_p).sum(1).mean()


def _train_members(
    head: PixelHead,
    z: torch.Tensor,
    y: torch.Tensor,
    frames: int,
    cfg: FinetuneConfig,
    weights: Optional[torch.Tensor],
    report: Callable[[int, int, float], None],
    background: Optional[torch.Tensor] = None,
) -> float:
    """Train every member of ``head`` on standardised features ``z`` ``(N, F)``.

    ``background`` ``(M, F)``: standardised features of random pixels; when given, the members
    that read the input bands only are trained with background mixing (``cfg.head_mix``), and
    with tiny labels every member lowers its predictions' entropy on them (``cfg.head_entropy``).
    Returns the last mean training loss.
    """
    n = z.shape[0]
    loss_value = 0.0
    entropy_weight = cfg.head_entropy if background is not None and _tiny_labels(y, cfg) else 0.0
    for i, member in enumerate(head.members):
        gen = torch.Generator().manual_seed(cfg.seed * 1009 + i)
        for layer in cast(torch.nn.Sequential, member):
            if isinstance(layer, torch.nn.Linear):
                bound = 1.0 / float(np.sqrt(layer.in_features))
                with torch.no_grad():
                    layer.weight.copy_(torch.rand(layer.weight.shape, generator=gen) * 2 - 1)
                    layer.weight.mul_(bound)
                    layer.bias.copy_((torch.rand(layer.bias.shape, generator=gen) * 2 - 1) * bound)
        zi = head.member_input(z, i)
        f = zi.shape[1]
        per = f // frames
        seen = None if background is None else head.member_input(background, i)
        # series-only members blend with background pixels
        bg = seen if cfg.head_mix > 0 and i >= head.full_members else None
        unlabelled = seen if entropy_weight > 0 else None
        member.train()
        opt = torch.optim.AdamW(member.parameters(), lr=PIXEL_LR, weight_decay=PIXEL_WEIGHT_DECAY)
        for step in range(cfg.head_steps):
            zb = zi
            if bg is not None:
                other = bg[torch.randint(0, len(bg), (n,), generator=gen)]
                share = cfg.head_mix_min + (1 - cfg.head_mix_min) * torch.rand(
                    (n, 1), generator=gen
                )
                mixed = torch.rand((n, 1), generator=gen) < cfg.head_mix
                share = torch.where(mixed, share, torch.ones_like(share))
                zb = share * zi + (1 - share) * other
            keep = (torch.rand((n, frames, 1), generator=gen) >= PIXEL_FRAME_DROPOUT).to(z.dtype)
            offset = torch.randn((n, 1, per), generator=gen) * PIXEL_OFFSET_STD
            zb = ((zb.reshape(n, frames, per) + offset) * keep).view(n, f)
            loss = F.cross_entropy(member(zb), y, weight=weights)
            if unlabelled is not None:
                pick = torch.randint(0, len(unlabelled), (ENTROPY_BATCH,), generator=gen)
                loss = loss + entropy_weight * _mean_entropy(member(unlabelled[pick]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_value = float(loss.detach())
            report(i, step, loss_value)
        member.eval()
    return loss_value


def _fit_pixel_head(
    model: S4Net,
    source: CropSource,
    labels: np.ndarray,
    train_labels: np.ndarray,
    val_labels: np.ndarray,
    class_map: ClassMap,
    cfg: FinetuneConfig,
    dev: torch.device,
    control: Control,
) -> Tuple[dict, List[dict]]:
    """Fit the pixel head of a frozen ``model`` (see ``FinetuneConfig.head``).

    With held-out polygons (``val_labels``), a first head trained without them scores them
    (per pixel, before smoothing: ``val_oa`` / ``val_miou``); the head kept is then trained on
    every labelled pixel. Returns (metrics, history).
    """
    head = model.pixel_head
    assert head is not None
    for p in model.parameters():
        p.requires_grad_(False)
    for p in head.parameters():
        p.requires_grad_(True)
    k = len(class_map)
    frames = model.config.head_frames
    n_input = model.config.channels(model.config.head_modality)
    size = max(cfg.crop_size, 64)
    control.report(0.02, "reading the labelled pixels through the network")
    # background mixing and entropy minimisation: optical input only (reflectances of a mixed
    # pixel mix linearly, radar backscatter in dB does not; neither helped radar on the real
    # sites)
    unlabelled = (cfg.head_mix > 0 or cfg.head_entropy > 0) and model.config.head_modality == "s2"
    feats, ys, order, mean, std, pool = _pixel_samples(
        model,
        source,
        labels,
        size,
        dev,
        control,
        seed=cfg.seed,
        pool_size=POOL if unlabelled else 0,
    )
    mu, sd = _head_stats(mean, std, frames, n_input)
    head.mean.copy_(mu.to(head.mean))
    head.std.copy_(sd.to(head.std))
    z_all = head.standardise(feats.to(head.mean)).cpu()
    background = None if pool is None else head.standardise(pool.to(head.mean)).cpu()
    in_train = torch.from_numpy(train_labels.ravel()[order] != IGNORE_INDEX)
    in_val = torch.from_numpy(val_labels.ravel()[order] != IGNORE_INDEX)
    rounds = 2 if bool(in_val.any()) else 1
    total = rounds * len(head.members) * max(1, cfg.head_steps)
    done = [0]

    def report(member: int, step: int, loss: float) -> None:
        done[0] += 1
        if step % 20 == 0 or step == cfg.head_steps - 1:
            control.check()
            control.report(
                0.05 + 0.95 * done[0] / total,
                f"training the pixel head: member {member + 1}/{len(head.members)}",
                {"loss": loss},
            )

    history: List[dict] = []
    metrics: dict = {}
    if rounds == 2:
        zt, yt = z_all[in_train], ys[in_train]
        w = _class_weights(yt.numpy(), k, cfg.class_weighting)
        loss = _train_members(head, zt, yt, frames, cfg, w, report, background)
        with torch.no_grad():
            pred = head.probabilities(z_all[in_val]).argmax(1).numpy()
        sc = scores(confusion_matrix(pred, ys[in_val].numpy(), k), class_map.names)
        metrics.update(val_oa=float(sc["oa"]), val_miou=float(sc["miou"]), val_loss=loss)
    w = _class_weights(ys.numpy(), k, cfg.class_weighting)
    loss = _train_members(head, z_all, ys, frames, cfg, w, report, background)
    metrics.update(epoch=1, loss=loss, pixels=int(len(ys)))
    history.append(dict(metrics))
    model.eval()
    return metrics, history


@torch.no_grad()
def _predict_cm(
    model: S4Net,
    source: CropSource,
    windows: Sequence[Window],
    labels: np.ndarray,
    m: str,
    k: int,
    dev: torch.device,
    control: Control,
) -> np.ndarray:
    """Confusion matrix of ``model``'s predictions on the labelled pixels of ``windows``."""
    model.eval()
    cm = np.zeros((k, k), dtype=np.int64)
    counted = np.zeros(labels.shape, dtype=bool)
    for win in windows:
        control.check()
        r, c, h, w = win
        crop = _stack([source.crop(win)], dev)
        with autocast_context(dev):
            pred = model.segment(crop[m], m, crop["frame_valid"]).argmax(1)[0].cpu().numpy()
        truth = labels[r : r + h, c : c + w].copy()
        truth[counted[r : r + h, c : c + w]] = IGNORE_INDEX  # count each pixel once
        counted[r : r + h, c : c + w] = True
        cm += confusion_matrix(pred, truth, k, ignore=IGNORE_INDEX)
    model.train()
    return cm

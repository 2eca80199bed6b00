"""One typed definition per setting of each operation: the single source of truth.

Every option of an operation (``pretrain``, ``finetune``, ``segment``, ``align``, ``export``,
``evaluate``, ``fetch``) is a :class:`Setting`: api keyword, kind, default, allowed range or
choices, help, "advanced" flag, and what the other surfaces call it. Derived from it:

- the api's keyword defaults and validation (``api`` decorates each operation with
  :meth:`Operation.api`: ``inspect.signature(api.finetune)`` shows every setting);
- the ``s4`` command line's options, help with range and default (``commands.common``);
- the QGIS Processing parameters: names, ranges, defaults, descriptions, advanced flags
  (``s4_qgis.algorithms.base``) and the dock's widgets and defaults (``s4_qgis.dock``);
- the engine's ``train.PretrainConfig`` / ``FinetuneConfig`` defaults.

Adding a setting is one entry here (plus the engine code that uses it): see
docs/architecture.md, "Adding a setting". Labels shown in QGIS are marked with ``tr_noop``
so that ``make i18n`` extracts them (the plugin translates them when shown).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import numbers
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
    Type,
    TypeVar,
    cast,
)

from .errors import SettingError
from .keywords import takes_groups

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

D = TypeVar("D", bound="DataclassInstance")
F = TypeVar("F", bound=Callable[..., Any])

Value = Any
"""A setting's value: its ``kind`` decides the type (int, float, str, bool, a path, a tuple of
ints) or None; the type checker sees Any (the kind is data, not a static type)."""


def tr_noop(text: str) -> str:
    """Mark a label for translation by the plugin (``make i18n``); returns ``text``."""
    return text


def _as_is(text: str) -> str:
    return text


@dataclass(frozen=True)
class Setting:
    """One option of an operation, with everything each surface needs to show it.

    ``kind`` is "int", "float", "ints" (a list of whole numbers, at least ``min_len``), "str",
    "bool" or "path". Bounds are inclusive unless ``*_open``; ``choices`` are the only values
    allowed; ``optional`` settings accept None ("not given": automatic).

    Surfaces: ``flag`` (command line; default ``--name-with-dashes``), ``param`` (QGIS
    Processing parameter; default ``NAME``), ``label`` (QGIS forms and the dock), ``help``
    (command line and tooltips), ``options``/``labels`` (values a form offers as a drop-down,
    default ``choices``), ``ui_max`` (a form's upper bound where the range has none), ``none_as``
    (the value a form shows for None), ``advanced`` (folded away in QGIS). ``api``, ``cli``,
    ``qgis``: whether the setting exists there.
    """

    name: str
    kind: str
    default: Value = None
    help: str = ""
    label: str = ""
    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    high_open: bool = False
    min_len: int = 1
    choices: Tuple[Any, ...] = ()
    optional: bool = False
    advanced: bool = False
    flag: str = ""
    param: str = ""
    metavar: Optional[str] = None
    options: Tuple[Any, ...] = ()
    labels: Tuple[str, ...] = ()
    ui_max: Optional[float] = None
    none_as: Optional[float] = None
    section: str = ""
    file_filter: str = ""
    lower: bool = False
    api: bool = True
    cli: bool = True
    qgis: bool = True

    def __call__(self, **changes: Any) -> Setting:
        """A copy with ``changes`` (an operation's own default, help or label)."""
        return dataclasses.replace(self, **changes)

    # names on each surface -------------------------------------------------------------
    @property
    def cli_flag(self) -> str:
        """The command-line flag (``--name-with-dashes`` unless ``flag`` is set)."""
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def param_name(self) -> str:
        """The QGIS Processing parameter name (``NAME`` unless ``param`` is set)."""
        return self.param or self.name.upper()

    @property
    def ui_options(self) -> Tuple[Any, ...]:
        """The values a form offers as a drop-down (empty: a number/text field)."""
        return self.options or self.choices

    @property
    def ui_minimum(self) -> float:
        """The lowest value a form accepts (``none_as`` included)."""
        low = self.low if self.low is not None else (0 if self.kind == "int" else -1e12)
        return min(low, self.none_as) if self.none_as is not None else low

    @property
    def maximum(self) -> float:
        """The highest value the range allows (the largest a number field holds if unbounded).

        Processing's parameters take it: QGIS accepts what the command line accepts.
        """
        if self.high is not None:
            return self.high
        return 2**31 - 1 if self.kind == "int" else 1e12

    @property
    def ui_maximum(self) -> float:
        """The highest value a form accepts (``ui_max`` where the range has no upper bound)."""
        if self.high is None and self.ui_max is not None:
            return self.ui_max
        return self.maximum

    @property
    def annotation(self) -> str:
        """The Python type, as a string (``inspect.signature`` shows it)."""
        text = {"int": "int", "float": "float", "ints": "Sequence[int]", "bool": "bool"}.get(
            self.kind, "str"
        )
        return f"Optional[{text}]" if self.optional or self.default is None else text

    # the range ---------------------------------------------------------------------------
    def describe(self, translate: Callable[[str], str] = _as_is) -> str:
        """The allowed values in words, e.g. "a whole number >= 1" or "one of s1, s2".

        ``translate`` turns each phrase (``tr_noop``-marked here) into the user's language (the
        plugin passes its ``tr``); the command line and the api keep the English.
        """
        t = translate
        if self.choices:
            return t(tr_noop("one of {choices}")).format(choices=", ".join(map(str, self.choices)))
        if self.kind in ("str", "path", "bool"):
            words = {"bool": tr_noop("true or false"), "path": tr_noop("a file path")}
            return t(words.get(self.kind, tr_noop("text")))
        if self.kind == "int":
            noun = t(tr_noop("a whole number"))
        elif self.kind == "ints":
            noun = t(tr_noop("at least {n} whole numbers")).format(n=self.min_len)
        else:
            noun = t(tr_noop("a number"))
        lo, hi = _fmt(self.low), _fmt(self.high)
        low_op, high_op = (">" if self.low_open else ">="), ("<" if self.high_open else "<=")
        if self.low is not None and self.high is not None:
            if not self.low_open and not self.high_open:
                return t(tr_noop("{noun} from {low} to {high}")).format(noun=noun, low=lo, high=hi)
            return t(tr_noop("{noun} {low_op} {low} and {high_op} {high}")).format(
                noun=noun, low_op=low_op, low=lo, high_op=high_op, high=hi
            )
        if self.low is not None:
            if self.kind == "ints":
                return t(tr_noop("{noun}, each {op} {bound}")).format(
                    noun=noun, op=low_op, bound=lo
                )
            return t(tr_noop("{noun} {op} {bound}")).format(noun=noun, op=low_op, bound=lo)
        if self.high is not None:
            return t(tr_noop("{noun} {op} {bound}")).format(noun=noun, op=high_op, bound=hi)
        return noun

    @property
    def checked(self) -> bool:
        """Whether the value is checked here (ranges, choices); other kinds pass through."""
        return bool(self.choices) or self.kind in ("int", "float", "ints")

    def accepts(self, value: object) -> bool:
        """Whether ``value`` is of the right kind and inside the range (None: if optional)."""
        if value is None:
            return True
        if self.choices:
            return value in self.choices
        if self.kind == "ints":
            if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
                return False
            items = list(value)
            return len(items) >= self.min_len and all(self._scalar_ok(v, True) for v in items)
        if self.kind in ("int", "float"):
            return self._scalar_ok(value, self.kind == "int")
        return True

    def _scalar_ok(self, value: object, whole: bool) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if whole and not isinstance(value, numbers.Integral):
            return False
        v = float(value)
        if not math.isfinite(v):
            return False
        if self.low is not None and (v <= self.low if self.low_open else v < self.low):
            return False
        if self.high is not None and (v >= self.high if self.high_open else v > self.high):
            return False
        return True

    def check(self, value: Value) -> Value:
        """``value`` normalised (lower-cased choice, tuple of ints), or ``SettingError``."""
        if self.lower and isinstance(value, str):
            value = value.lower()
        if not self.accepts(value):
            shown = list(value) if self.kind == "ints" and not isinstance(value, str) else value
            raise SettingError(self.name, self.describe(), shown, flag=self.cli_flag)
        if self.kind == "ints" and value is not None:
            return tuple(int(v) for v in value)
        return value


def _fmt(x: Optional[float]) -> str:
    return "" if x is None else (f"{int(x)}" if float(x).is_integer() else f"{x:g}")


class Operation:
    """The settings of one operation, in the order the surfaces list them."""

    def __init__(self, name: str, *settings: Setting) -> None:
        self.name = name
        self.settings: Dict[str, Setting] = {s.name: s for s in settings}

    def __getitem__(self, name: str) -> Setting:
        return self.settings[name]

    def __iter__(self) -> Iterator[Setting]:
        return iter(self.settings.values())

    def __contains__(self, name: object) -> bool:
        return name in self.settings

    def default(self, name: str) -> Value:
        """The default of setting ``name``."""
        return self.settings[name].default

    def defaults(self) -> Dict[str, Any]:
        """Every api setting's default."""
        return {s.name: s.default for s in self if s.api}

    def check(self, values: Mapping[str, Any]) -> Dict[str, Any]:
        """``values`` checked and normalised, in definition order (``SettingError``)."""
        return {name: self.settings[name].check(value) for name, value in values.items()}

    def config(self, cls: Type[D], values: Mapping[str, Value], **extra: Any) -> D:
        """An engine config dataclass built from the ``values`` its fields name."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names}, **extra)

    def api(self, function: F) -> F:
        """Decorate an api function ``f(inputs..., *, control, **options)`` with the settings.

        Its options are this operation's api settings (keyword-only, defaults from here), checked
        before the call; ``options`` arrives complete. The signature shows every setting. A
        keyword group's parameter (``keywords.py``: ``control``, ``scene``) becomes its fields'
        keywords (``progress``, ``cancel``, ``log``; ``s1``, ``s2``, ``bounds``, ``bounds_crs``).
        """
        function = cast(F, takes_groups(function))
        signature = inspect.signature(function)
        head: List[inspect.Parameter] = []
        tail: List[inspect.Parameter] = []
        for p in signature.parameters.values():
            if p.kind == p.VAR_KEYWORD:
                continue
            (tail if p.kind == p.KEYWORD_ONLY else head).append(p)
        own = [
            inspect.Parameter(
                s.name, inspect.Parameter.KEYWORD_ONLY, default=s.default, annotation=s.annotation
            )
            for s in self
            if s.api
        ]
        full = signature.replace(parameters=head + own + tail)
        names = [s.name for s in self if s.api]

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> object:
            bound = full.bind(*args, **kwargs)
            bound.apply_defaults()
            given = bound.arguments
            options = self.check({n: given.pop(n) for n in names})
            return function(**given, **options)

        wrapper.__signature__ = full  # type: ignore[attr-defined]
        wrapper.__doc__ = (function.__doc__ or "") + "\n\n" + self.docs()
        return cast(F, wrapper)

    def docs(self) -> str:
        """The settings as a Google-style "Keyword Args" section."""
        lines = ["Keyword Args:"]
        for s in self:
            if s.api:
                text = s.help or s.label
                lines.append(f"    {s.name}: {text} ({s.describe()}; default {s.default!r})")
        return "\n".join(lines)


def objective_option(
    name: str, kind: str, default: Value, label: str, help: str, **rules: Any
) -> Setting:
    """An option of one pretraining objective: an advanced setting (folded away in QGIS).

    ``label`` and ``help`` name the objectives it applies to; ``rules``: range, choices ...
    """
    return Setting(name, kind, default, help=help, label=label, advanced=True, **rules)


# fmt: off
# ----------------------------------------------------------------------------- settings
# Shared definitions: an operation takes them as they are or with its own default/help.
DEVICE = Setting("device", "str", "auto", help="auto, cpu, cuda, cuda:N or mps",
    label=tr_noop("Compute device"), options=("auto", "cpu", "cuda"),
    labels=(tr_noop("auto (CUDA GPU when available, else CPU)"), "cpu", tr_noop("cuda (NVIDIA GPU)")))
SEED = Setting("seed", "int", 0, low=0, help="random seed (same seed, same run)",
    label=tr_noop("Random seed"), advanced=True)
EPOCHS = Setting("epochs", "int", 10, low=1, label=tr_noop("Epochs"), ui_max=10000)
CROP_SIZE = Setting("crop_size", "int", 32, low=8, help="crop side in pixels",
    label=tr_noop("Crop size (pixels)"), ui_max=1024)
BATCH_SIZE = Setting("batch_size", "int", 2, low=1, help="crops per training step",
    label=tr_noop("Batch size"), ui_max=1024)
TIME_LENGTH = Setting("time_length", "int", None, low=1, optional=True, help="frames per sample",
    qgis=False)
MAX_CLOUD = Setting("max_cloud_fraction", "float", None, low=0, high=1, optional=True,
    flag="--max-cloud", metavar="F",
    help="drop S2 frames whose SCL cloud fraction is above F (0..1)",
    label=tr_noop("Largest S2 cloud fraction (0..1)"), qgis=False)
WIDTHS = Setting("widths", "ints", (16, 32, 64), low=1, min_len=2, advanced=True,
    help="U-Net widths (from scratch / pretraining; Garnot & Landrieu's reference: 32 "
        "64 128, ~4x slower)",
    label=tr_noop("Network widths (comma-separated; default 16,32,64; reference 32,64,128)"))
COMPOSITE_MONTHS = Setting("composite_months", "int", 1, low=0, high=12, advanced=True,
    help="input: cloud-free composites of this many months; 0 = the acquisitions as "
        "they are (the paper's nearest-date pairs)",
    label=tr_noop("Input: cloud-free composites of N months (0 = the acquisitions as they are)"))
RESUME = Setting("resume", "path", None, optional=True, advanced=True,
    help="continue from this checkpoint (the .partial file an interrupted run leaves; same "
        "settings and labels)",
    file_filter="Interrupted S4 run (*.partial);;S4 checkpoint (*.pt)",
    label=tr_noop("Resume an interrupted run from its .partial file (optional; same settings and labels)"))
RESOLUTION = Setting("resolution", "float", None, low=0, low_open=True, optional=True, none_as=0.0,
    ui_max=1e6, advanced=True, help="map pixel size in CRS units (default: the imagery's grid)",
    label=tr_noop("Map resolution (CRS units; 0 = the imagery's)"))
MIN_AREA = Setting("min_area_m2", "float", 0.0, low=0, flag="--min-area", param="MIN_AREA",
    metavar="M2", ui_max=1e12,
    help="polygons: merge regions smaller than this (m²) into their largest neighbour,"
        " drop those that have none",
    label=tr_noop("Smallest polygon kept (m²)"))
S1_RATIO = Setting("s1_ratio", "bool", False, advanced=True,
    help="add the VV/VH ratio (VV - VH in dB) as a third Sentinel-1 band wherever S1 enters "
        "the network; recorded in the model (fine-tuning and mapping follow a pretrained model)",
    label=tr_noop("Radar: add the VV/VH ratio (VV - VH in dB) as a third band"))
MAX_GAP = Setting("max_gap_days", "float", None, low=0, optional=True, flag="--max-gap",
    metavar="DAYS", ui_max=3650, help="frames whose S1-S2 gap exceeds DAYS are marked invalid",
    label=tr_noop("Largest S1-S2 date gap (days)"))

PRETRAIN = Operation(
    "pretrain",
    EPOCHS,
    CROP_SIZE,
    BATCH_SIZE,
    TIME_LENGTH,
    Setting("steps_per_epoch", "int", None, low=1, optional=True, advanced=True, ui_max=1000000,
        label=tr_noop("Training steps per epoch (default: as many as the scene's crops)"),
        help="training steps per epoch (default: enough crops to cover each scene twice)"),
    Setting("lam", "float", 0.01, low=0, help="weight of the reconstruction loss", qgis=False),
    Setting("contrastive", "bool", True, flag="--no-contrastive",
        help="ablation: reconstruction only", qgis=False),
    Setting("reconstruction", "bool", True, flag="--no-reconstruction",
        help="ablation: contrastive only", qgis=False),
    MAX_CLOUD,
    DEVICE,
    SEED,
    WIDTHS,
    COMPOSITE_MONTHS,
    S1_RATIO,
    Setting(
        "objective",
        "str",
        "s4",
        choices=("s4", "mae", "dino", "joint-mae"),
        label=tr_noop("Objective"),
        help="s4: S1 + S2 contrastive + cross reconstruction; mae: masked autoencoding of one "
        "modality; dino: self-distillation on one modality; joint-mae: S1 + S2 masked together",
        labels=(
            tr_noop("S4: radar-optical contrastive + cross reconstruction (S1 + S2; default)"),
            tr_noop("MAE: masked autoencoding of one sensor (radar by default)"),
            tr_noop("DINO: self-distillation on one sensor (radar by default)"),
            tr_noop("Joint MAE: S1 + S2 masked together, both reconstructed"),
        ),
    ),  # fmt: skip
    objective_option("ssl_modality", "str", "s1", tr_noop("Sensor for MAE / DINO"),
        "mae / dino: the modality pretrained on (only its series is needed)",
        choices=("s1", "s2"), lower=True,
        labels=(tr_noop("s1: Sentinel-1 (radar)"), tr_noop("s2: Sentinel-2 (optical)"))),
    objective_option("mask_ratio", "float", 0.75, tr_noop("MAE / joint MAE: share of patches hidden"),
        "mae / joint-mae: share of space-time patches hidden",
        low=0, high=1, low_open=True, high_open=True),
    objective_option("mask_patch", "int", 4, tr_noop("MAE / joint MAE: patch size (pixels)"),
        "mae / joint-mae: patch side in pixels", low=1, ui_max=256),
    objective_option("mask_frames", "int", 2, tr_noop("MAE / joint MAE: patch length (frames)"),
        "mae / joint-mae: patch length in frames (months)", low=1, ui_max=64),
    objective_option("mask_mode", "str", "random", tr_noop("Joint MAE: mask mode"),
        "joint-mae: masks independent per sensor, complementary, or the same",
        choices=("random", "complementary", "identical"),
        labels=(tr_noop("Random (independent per sensor)"),
                tr_noop("Complementary (hidden in one sensor = visible in the other)"),
                tr_noop("Identical (the same patches in both)"))),
    objective_option("dino_views", "int", 2, tr_noop("DINO: views per crop"),
        "dino: augmented views per crop", low=2, ui_max=8),
    RESUME,
)

FINETUNE = Operation(
    "finetune",
    Setting("init", "path", None, optional=True, param="INIT_MODEL",
        file_filter="S4 checkpoint (*.pt)", help="pretrained checkpoint (default: from scratch)",
        label=tr_noop("Pretrained model (optional; none = train from scratch)")),
    Setting("modality", "str", "s2", choices=("s2", "s1", "both"), lower=True,
        help="inference modality: s2, s1, or both (S1 + S2 together: their modality-specific "
            "first layers averaged; needs S1 and S2 layers to fine-tune and to map)",
        label=tr_noop("Inference modality"),
        labels=(tr_noop("s2: Sentinel-2 (optical)"), tr_noop("s1: Sentinel-1 (radar)"), tr_noop("both: Sentinel-1 + Sentinel-2 together"))),
    EPOCHS(default=20),
    CROP_SIZE,
    BATCH_SIZE,
    DEVICE,
    SEED,
    WIDTHS,
    Setting("head", "str", "pixel", choices=("pixel", "unet"), advanced=True,
        label=tr_noop("Head"),
        help="pixel (default): frozen network, per-pixel MLP ensemble on the series and "
            "the network's features, edge-aware smoothing; unet: the paper's 3D U-Net "
            "fine-tuning (--epochs, --lr, --freeze-encoder and the regularisers apply to "
            "it)",
        labels=(tr_noop("Pixel head on the frozen network (default: best maps from a few polygons)"), tr_noop("3D U-Net fine-tuning (the paper's; uses epochs, crop and batch size)"))),
    COMPOSITE_MONTHS(default=None, optional=True, param="INPUT_SERIES", label=tr_noop("Input"),
        help="monthly (1) or n-month cloud-free composites as input, 0 = the acquisitions "
            "as they are (default: as the --init model was pretrained; 1 without one)",
        options=(None, 1, 0),
        labels=(tr_noop("As the pretrained model (monthly composites without one)"), tr_noop("Monthly cloud-free composites"), tr_noop("The acquisitions as they are"))),
    RESOLUTION,
    S1_RATIO(help="S1 input: add the VV/VH ratio (VV - VH in dB) as a third band (from scratch; "
        "a pretrained model's own choice is always followed, and true with a model pretrained "
        "without it is refused)"),
    Setting("freeze_encoder", "bool", False, advanced=True,
        help="unet head: train the decoder only", label=tr_noop("Freeze the pretrained encoder")),
    Setting("class_weighting", "str", "none", choices=("balanced", "none"), advanced=True,
        help="none (default): plain loss; balanced: inverse class frequency",
        label=tr_noop("Class weighting"),
        labels=(tr_noop("Balanced (inverse class frequency: favours small classes)"), tr_noop("None (default; plain loss: better maps when polygon areas differ a lot)"))),
    Setting("val_fraction", "float", 0.2, low=0, high=0.9, advanced=True,
        help="held-out polygons per class",
        label=tr_noop("Share of polygons held out for validation")),
    Setting("lr", "float", 1e-3, low=0, low_open=True, help="learning rate", qgis=False),
    TIME_LENGTH,
    MAX_CLOUD,
    Setting("labels_layer", "str", None, optional=True, help="layer name inside --labels",
        qgis=False),
    Setting("crops_per_epoch", "int", None, low=1, optional=True, qgis=False, section="reg",
        help="random class-balanced crops per epoch instead of the fixed windows over the "
            "labels")
,
    Setting("frame_dropout", "float", 0.0, low=0, high=1, high_open=True, qgis=False,
        section="reg", help="chance of hiding a date in a crop"),
    Setting("noise_std", "float", 0.0, low=0, qgis=False, section="reg",
        help="band noise (standardised)"),
    Setting("band_shift_std", "float", 0.0, low=0, qgis=False, section="reg",
        help="one random offset per band and crop"),
    Setting("weight_decay", "float", 0.0, low=0, qgis=False, section="reg",
        help="AdamW weight decay"),
    RESUME,
)
#: command-line argument groups of ``section`` values
SECTIONS = {"reg": "regularisation for very few polygons (all off by default)"}

SEGMENT = Operation(
    "segment",
    DEVICE,
    Setting("tile_size", "int", None, low=16, optional=True, none_as=0, ui_max=8192,
        help="side of square windows in px (default: rectangles as large as a 2 GB memory "
        "budget allows, S4_TILE_MEMORY_MB)",
        label=tr_noop("Tile size (pixels; 0 = automatic)")),
    Setting("overlap", "int", None, low=0, optional=True, none_as=-1, ui_max=2048,
        help="overlap of neighbouring windows in px (default: the network's receptive span, "
        "the px it reads before and after a pixel: tiled results equal one whole-scene pass)",
        label=tr_noop("Tile overlap (pixels; -1 = automatic)")),
    BATCH_SIZE(default=4, ui_max=256, advanced=True, help="windows per batch",
        label=tr_noop("Tiles per batch")),
    RESOLUTION(help="pixel size in CRS units (default: the one the model was fine-tuned on)",
        label=tr_noop("Resolution (CRS units; 0 = the one the model was fine-tuned on)")),
    MIN_AREA(advanced=True),
    MAX_CLOUD,
    Setting("precision", "str", "fp32", choices=("fp32", "bf16"), advanced=True,
        help="arithmetic of a PyTorch model on the CPU: fp32 (exact) or bf16 (faster where the "
        "CPU has AVX512-BF16 or AMX; class maps differ from fp32 on a few pixels, measured in "
        "docs/benchmarks.md)",
        label=tr_noop("Arithmetic on the CPU"),
        labels=(tr_noop("fp32 (exact)"),
            tr_noop("bf16 (faster on CPUs with AVX512-BF16 or AMX; a few pixels can differ)"))),
)

ALIGN = Operation(
    "align",
    MAX_GAP,
    MAX_CLOUD(qgis=True),
    Setting("crs", "str", None, optional=True, api=False, qgis=False,
        help="reference CRS, e.g. EPSG:32631 (default: S2's)"),
    RESOLUTION(api=False, qgis=False, metavar="M",
        help="reference pixel size in CRS units (default: S2's)"),
    Setting("s2_offset", "float", 0.0, api=False, qgis=False, metavar="DN",
        help="added to S2 digital numbers before /10000 (-1000 for L2A baseline 04.00+)"),
    Setting("block", "int", 512, low=1, api=False, qgis=False, help="window size in pixels"),
)

EXPORT = Operation(
    "export",
    MIN_AREA(help="merge polygons smaller than this (m²)"),
)

EVALUATE = Operation(
    "evaluate",
    Setting("class_field", "str", None, optional=True, help="class field of reference polygons",
        qgis=False),
)

PROFILES = Operation(
    "class_profiles",
    Setting("threshold", "float", 2.0, low=0, low_open=True, ui_max=100, advanced=True,
        help="flag a polygon further than this many within-class spreads from its class",
        label=tr_noop("Outlier threshold (within-class spreads)")),
    Setting("ratio", "float", 0.5, low=0, high=1, advanced=True,
        help="flag a polygon whose distance to another class is below this share of its "
            "distance to its own class",
        label=tr_noop("Outlier ratio (distance to another class / to its own)")),
    MAX_CLOUD,
)

SUGGEST = Operation(
    "suggest_labels",
    Setting("number", "int", 20, low=1, high=100000, ui_max=10000, help="squares to propose",
        label=tr_noop("Number of squares")),
    Setting("size", "int", 5, low=1, high=256, advanced=True, help="side of a square in pixels",
        label=tr_noop("Square side (pixels)")),
    Setting("method", "str", "margin", choices=("margin", "entropy"), advanced=True,
        help="margin: 1 - (p1 - p2) of the two most probable classes; entropy: of all "
            "classes",
        label=tr_noop("Uncertainty"),
        labels=(tr_noop("Margin (gap between the two most probable classes)"), tr_noop("Entropy of the class probabilities"))),
    SEED(help="random seed (ties between equal squares)", label=tr_noop("Random seed (ties)")),
    DEVICE,
    SEGMENT["tile_size"],
    SEGMENT["overlap"],
    SEGMENT["batch_size"],
)

FETCH = Operation(
    "fetch",
    MAX_CLOUD(name="max_cloud", param="MAX_CLOUD_FRACTION",
        help="drop S2 dates whose SCL cloud fraction inside the area is above F (0..1)",
        label=tr_noop("Largest S2 cloud fraction in the extent (0..1)"), qgis=True),
    Setting("max_scene_cloud", "float", None, low=0, high=100, optional=True, metavar="PCT",
        qgis=False,
        help="skip S2 items whose scene cloud cover (eo:cloud_cover, percent) is above PCT"),
    Setting("crs", "str", None, optional=True, qgis=False,
        help="output CRS (default: the area's UTM zone)"),
    Setting("resolution", "float", 10.0, low=0, low_open=True, metavar="M", help="pixel size",
        label=tr_noop("Pixel size (m)"), ui_max=10000, advanced=True),
    Setting("s1_orbit", "str", None, optional=True, choices=("ascending", "descending"),
        qgis=False, help="keep this S1 orbit direction only"),
    Setting("workers", "int", 8, low=1, help="parallel reads", qgis=False),
    Setting("retries", "int", 3, low=0, help="retries of a failed request", qgis=False),
    Setting("timeout", "float", 30.0, low=0, low_open=True, help="seconds per HTTP request",
        qgis=False),
)

# The synthetic demo scene (``s4 demo-data``, ``demo.make_demo_scene``): not a QGIS algorithm,
# and not in OPERATIONS (its "size" is not the squares' "size" of suggest_labels).
DEMO = Operation(
    "demo_data",
    SEED(help="random seed (same seed, same scene)", qgis=False),
    Setting("size", "int", 128, low=16, high=4096, help="S2 grid side in 10 m pixels",
        qgis=False),
    Setting("n_s2", "int", 24, low=2, high=400, flag="--s2-dates", metavar="N",
        help="number of Sentinel-2 dates", qgis=False),
    Setting("n_s1", "int", 30, low=2, high=400, flag="--s1-dates", metavar="N",
        help="number of Sentinel-1 dates", qgis=False),
    Setting("n_classes", "int", 5, low=2, high=7, flag="--classes", metavar="N",
        help="number of crop classes (of the demo's 7 crops)", qgis=False),
)

# fmt: on
OPERATIONS: Dict[str, Operation] = {
    op.name: op for op in (PRETRAIN, FINETUNE, SEGMENT, ALIGN, EXPORT, EVALUATE, FETCH)
}


def _by_name() -> Dict[str, Setting]:
    """Every setting by api name; one name has one range in every operation."""
    out: Dict[str, Setting] = {}
    for op in OPERATIONS.values():
        for s in op:
            first = out.setdefault(s.name, s)
            same = (first.kind, first.low, first.high, first.low_open, first.high_open)
            if same != (s.kind, s.low, s.high, s.low_open, s.high_open):
                raise AssertionError(f"setting {s.name} has two ranges ({op.name})")
    return out


#: every setting by api name (the ranges ``validate.check_settings`` applies)
SETTINGS: Dict[str, Setting] = _by_name()

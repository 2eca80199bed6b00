"""One place for the checks of settings and output paths that ``api`` runs before any work.

``RULES`` is the table of numeric settings (the ``api`` keyword names) with their allowed
ranges and command-line options; ``check_settings`` raises ``SettingError`` naming the setting
and the range ("epochs must be a whole number >= 1, got 0"). ``check_outputs`` refuses outputs
that would overwrite an input or cannot be written (``OutputError``), before the long work.
The command line prints a ``SettingError`` with the option's name (``--epochs``).
"""

from __future__ import annotations

import math
import numbers
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from .errors import OutputError, SettingError


@dataclass(frozen=True)
class Rule:
    """Allowed values of one numeric setting: ``kind`` "int", "float" or "ints" (a list of
    whole numbers, at least ``min_len`` of them); bounds are inclusive unless ``*_open``."""

    kind: str
    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    high_open: bool = False
    flag: str = ""
    min_len: int = 1

    def describe(self) -> str:
        """The range in words, e.g. "a whole number >= 1" or "a number from 0 to 1"."""
        noun = "a whole number" if self.kind == "int" else "a number"
        if self.kind == "ints":
            noun = f"at least {self.min_len} whole numbers"
        lo, hi = _fmt(self.low), _fmt(self.high)
        if self.low is not None and self.high is not None:
            if not self.low_open and not self.high_open:
                return f"{noun} from {lo} to {hi}"
            return f"{noun} {'>' if self.low_open else '>='} {lo} and {'<' if self.high_open else '<='} {hi}"
        if self.low is not None:
            each = ", each" if self.kind == "ints" else ""
            return f"{noun}{each} {'>' if self.low_open else '>='} {lo}"
        if self.high is not None:
            return f"{noun} {'<' if self.high_open else '<='} {hi}"
        return noun

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is of the right kind and inside the range."""
        if self.kind == "ints":
            if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
                return False
            items = list(value)
            return len(items) >= self.min_len and all(self._scalar_ok(v, True) for v in items)
        return self._scalar_ok(value, self.kind == "int")

    def _scalar_ok(self, value: Any, whole: bool) -> bool:
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


def _fmt(x: Optional[float]) -> str:
    return "" if x is None else (f"{int(x)}" if float(x).is_integer() else f"{x:g}")


# The api's numeric settings. Optional settings (None) are not checked.
RULES: Dict[str, Rule] = {
    "epochs": Rule("int", 1, flag="--epochs"),
    "batch_size": Rule("int", 1, flag="--batch-size"),
    "crop_size": Rule("int", 8, flag="--crop-size"),
    "time_length": Rule("int", 1, flag="--time-length"),
    "steps_per_epoch": Rule("int", 1, flag="--steps-per-epoch"),
    "crops_per_epoch": Rule("int", 1, flag="--crops-per-epoch"),
    "widths": Rule("ints", 1, flag="--widths", min_len=2),
    "composite_months": Rule("int", 0, 12, flag="--composite-months"),
    "lr": Rule("float", 0, low_open=True, flag="--lr"),
    "lam": Rule("float", 0, flag="--lam"),
    "weight_decay": Rule("float", 0, flag="--weight-decay"),
    "frame_dropout": Rule("float", 0, 1, high_open=True, flag="--frame-dropout"),
    "noise_std": Rule("float", 0, flag="--noise-std"),
    "band_shift_std": Rule("float", 0, flag="--band-shift-std"),
    "val_fraction": Rule("float", 0, 0.9, flag="--val-fraction"),
    "max_cloud_fraction": Rule("float", 0, 1, flag="--max-cloud"),
    "max_gap_days": Rule("float", 0, flag="--max-gap"),
    "min_area_m2": Rule("float", 0, flag="--min-area"),
    "resolution": Rule("float", 0, low_open=True, flag="--resolution"),
    "tile_size": Rule("int", 16, flag="--tile-size"),
    "overlap": Rule("int", 0, flag="--overlap"),
    "block": Rule("int", 1, flag="--block"),
}

# Choice settings: allowed values.
CHOICES: Dict[str, Tuple[Tuple[str, ...], str]] = {
    "modality": (("s1", "s2"), "--modality"),
    "head": (("pixel", "unet"), "--head"),
    "class_weighting": (("balanced", "none"), "--class-weighting"),
}


def check_settings(**settings: Any) -> None:
    """Raise ``SettingError`` for the first setting outside its ``RULES`` range or
    ``CHOICES``; ``None`` means "not given" and passes. Unknown names are a programming error."""
    for name, value in settings.items():
        if value is None:
            continue
        if name in CHOICES:
            allowed, flag = CHOICES[name]
            if value not in allowed:
                raise SettingError(name, f"one of {', '.join(allowed)}", value, flag=flag)
            continue
        rule = RULES[name]
        if not rule.accepts(value):
            shown = list(value) if rule.kind == "ints" and not isinstance(value, str) else value
            raise SettingError(name, rule.describe(), shown, flag=rule.flag)


def check_less(name: str, value: Any, other: str, bound: Any) -> None:
    """Raise ``SettingError`` unless ``value`` < ``bound`` (e.g. overlap < tile_size)."""
    if value is not None and bound is not None and not value < bound:
        other_flag = RULES[other].flag if other in RULES else other
        raise SettingError(
            name,
            f"smaller than {other} ({bound})",
            value,
            flag=RULES[name].flag,
            cli_rule=f"smaller than {other_flag} ({bound})",
        )


# ----------------------------------------------------------------------------- paths
def input_paths(*sources: Any) -> List[Path]:
    """The paths in ``sources`` (a path, a list of paths, lists of lists; None skipped)."""
    out: List[Path] = []

    def walk(value: Any) -> None:
        if value is None:
            return
        if isinstance(value, (list, tuple)):
            for v in value:
                walk(v)
            return
        out.append(Path(os.fspath(value)))

    for s in sources:
        walk(s)
    return out


def _is_input(out: Path, source: Path) -> bool:
    """Whether the existing file ``out`` is the input ``source``: that file, or an image of the
    folder ``source`` (the raster files directly in it, as ``series`` reads a folder)."""
    from .series import RASTER_SUFFIXES

    try:
        if not out.is_file():
            return False
        if source.is_dir():
            return out.suffix.lower() in RASTER_SUFFIXES and os.path.samefile(out.parent, source)
        return source.exists() and os.path.samefile(out, source)
    except OSError:
        return False


def check_outputs(
    outputs: Mapping[str, Any],
    inputs: Optional[Mapping[str, Any]] = None,
    *,
    folders: Sequence[str] = (),
) -> None:
    """Refuse, before any work, outputs that would overwrite an input or cannot be written.

    ``outputs``: what the output is, in words ("output model") -> path (None skipped);
    ``inputs``: what the input is ("Sentinel-2 input") -> sources; labels in ``folders`` are
    output folders, only checked to be writable (name their files separately). A file output
    may not be an input file nor an image of an input folder; a new file there is allowed.
    """
    given = {k: Path(os.fspath(v)) for k, v in outputs.items() if v is not None}
    seen: Dict[Path, str] = {}
    for label, out in given.items():
        key = Path(os.path.abspath(out))
        if key in seen:
            raise OutputError(
                f"the {label} and the {seen[key]} are both {out}: give each output its own file"
            )
        seen[key] = label
        is_folder = label in folders
        for in_label, sources in (inputs or {}).items():
            for src in input_paths(sources):
                if not is_folder and _is_input(out, src):
                    raise OutputError(
                        f"the {label} {out} would overwrite the {in_label} {src}: nothing was "
                        "written; choose another output file"
                    )
        _check_writable(out, label, folder=is_folder)


def _check_writable(out: Path, label: str, *, folder: bool) -> None:
    """``OutputError`` unless ``out`` can be created: it is not a folder (a file output), and
    its nearest existing parent is a folder where a file can be created."""
    if not folder and out.is_dir():
        raise OutputError(f"the {label} {out} is a folder: give a file name")
    if folder and out.exists() and not out.is_dir():
        raise OutputError(f"the {label} {out} is a file: give a folder")
    parent = Path(os.path.abspath(out if folder else out.parent))
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(
            f"the {label} {out} cannot be written: {parent} is not a folder; choose another path"
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=".s4-write-test-", dir=parent)
    except OSError as exc:
        raise OutputError(
            f"the {label} {out} cannot be written: the folder {parent} is not writable "
            f"({exc.strerror or exc}); choose a writable folder"
        ) from None
    os.close(fd)
    os.unlink(probe)


def check_align(s1: Any, s2: Any, out_dir: Any, **settings: Any) -> None:
    """The checks of an alignment into ``out_dir`` (``api.align`` and ``s4 align``): the
    ``settings`` ranges, the folder writable, its stacks and table not among the inputs."""
    check_settings(**settings)
    out_dir = Path(os.fspath(out_dir))
    check_outputs(
        {
            "output folder": out_dir,
            "aligned S1 stack": out_dir / "s1_aligned.tif",
            "aligned S2 stack": out_dir / "s2_aligned.tif",
            "dates table": out_dir / "dates.csv",
        },
        {"Sentinel-1 input": s1, "Sentinel-2 input": s2},
        folders=("output folder",),
    )


def check_written_raster(path: Path, final: Path, width: int, height: int, count: int) -> None:
    """After writing the temporary raster ``path`` (to become ``final``): flush it to disk and
    read it back (size, bands, last row of every band). GDAL can leave a truncated or empty
    file without an error when the disk is full; ``OutputError`` says so instead."""
    import rasterio
    from rasterio.windows import Window

    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        with rasterio.open(path) as ds:
            if (ds.width, ds.height, ds.count) != (width, height, count):
                raise ValueError(f"{ds.width} x {ds.height} px, {ds.count} bands")
            ds.read(window=Window(0, height - 1, width, 1))
    except Exception as exc:  # rasterio/GDAL errors of every kind, OSError
        raise OutputError(
            f"could not write {final}: the file came out incomplete ({exc}); check that the "
            f"disk holding {final.parent} has free space, then run again"
        ) from None

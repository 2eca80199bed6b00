"""One place for the checks of settings and output paths that ``api`` runs before any work.

The settings' ranges are defined once, in ``settings.py``; ``check_settings`` raises
``SettingError`` naming the setting and the range ("epochs must be a whole number >= 1, got 0").
``check_outputs`` refuses, before the long work, outputs that would overwrite an input or
cannot be written (``OutputError``) and inputs this user may not read (``DataError``,
``check_readable``).
The command line prints a ``SettingError`` with the option's name (``--epochs``).
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, cast

from .errors import NO_READ_ACCESS, DataError, OutputError, SettingError, unreadable
from .settings import SETTINGS
from .types import PathLike, Sources


def check_settings(**settings: Any) -> None:
    """Raise ``SettingError`` for the first setting outside its range or choices.

    Settings are checked against ``settings.SETTINGS`` by api name; ``None`` passes. Unknown names
    are a programming error (KeyError).
    """
    for name, value in settings.items():
        SETTINGS[name].check(value)


def check_less(name: str, value: Optional[float], other: str, bound: Optional[float]) -> None:
    """Raise ``SettingError`` unless ``value`` < ``bound`` (e.g. overlap < tile_size)."""
    if value is not None and bound is not None and not value < bound:
        other_flag = SETTINGS[other].cli_flag if other in SETTINGS else other
        raise SettingError(
            name,
            f"smaller than {other} ({bound})",
            value,
            flag=SETTINGS[name].cli_flag,
            cli_rule=f"smaller than {other_flag} ({bound})",
        )


# ----------------------------------------------------------------------------- paths
RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".jp2")
"""The files a series folder is read from (``series``): every one of them is taken as an image."""

Format = Tuple[str, Tuple[str, ...]]
"""A file format an output is written in: its name and the file endings that mean it."""

GEOTIFF: Format = ("GeoTIFF", (".tif", ".tiff"))
GEOPACKAGE: Format = ("GeoPackage", (".gpkg",))
HTML: Format = ("HTML", (".html", ".htm"))
ONNX: Format = ("ONNX", (".onnx",))


def name_limit(folder: PathLike) -> int:
    """The longest file name in bytes the file system of ``folder`` allows (255 if unsaid).

    Asked of ``folder`` or its nearest existing parent.
    """
    p = Path(os.path.abspath(os.fspath(folder)))
    while not os.path.exists(p) and p != p.parent:  # os.path: False for a name too long
        p = p.parent
    try:
        return int(os.pathconf(p, "PC_NAME_MAX"))
    except (AttributeError, OSError, ValueError):  # Windows, or a file system that won't say
        return 255


#: The longest ending a writer adds to a file's name for a file of its own beside it (SQLite's
#: ``-journal`` of a GeoPackage).
SIDECAR = "-journal"


def sidecar(path: PathLike) -> str:
    """What a writer may add to ``path``'s name beside it: ``-journal`` for a GeoPackage."""
    return SIDECAR if os.fspath(path).lower().endswith(".gpkg") else ""


def _temp_stem(path: Path, suffix: str) -> str:
    """The NAME of :func:`temp_path`'s ``.NAME.XXXXXXXX`` + ``suffix`` for ``path``."""
    tail = f".12345678{suffix}"
    name = os.fsencode(path.name)
    room = name_limit(path.parent) - 1 - len(os.fsencode(tail + sidecar(tail)))
    if len(name) > room:
        name = name[: max(0, room)].decode("utf-8", "ignore").encode("utf-8")
    return os.fsdecode(name)


def temp_path(path: PathLike, suffix: str = ".tmp") -> Path:
    """A hidden temporary name beside ``path`` (same folder, so ``os.replace`` is atomic).

    ``.NAME.XXXXXXXX`` + ``suffix``; NAME is shortened (whole characters) when the whole (with
    a GeoPackage's ``-journal``) would pass the file system's name limit, so any name the limit
    allows can be written.
    """
    path = Path(os.fspath(path))
    return path.with_name(f".{_temp_stem(path, suffix)}.{uuid.uuid4().hex[:8]}{suffix}")


#: A temporary file older than this (seconds) and not locked is a killed run's (see below).
STALE_AFTER = 2.0


def claim_temp(path: Path) -> Optional[int]:
    """Create the temporary file ``path`` and lock it while it is written (POSIX ``flock``).

    The lock tells :func:`remove_stale_temps` that a live run writes it; it ends with the
    process, also a killed one. Returns the descriptor to close (:func:`release_temp`) once the
    file is moved into place or removed; None where there are no such locks (the file is then
    left to the writer to create).
    """
    try:
        import fcntl
    except ImportError:  # Windows
        return None
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # a file system without locks: written all the same, never taken as stale
        pass
    return fd


def release_temp(fd: Optional[int]) -> None:
    """Close a :func:`claim_temp` descriptor (its lock ends)."""
    if fd is not None:
        os.close(fd)


def remove_stale_temps(path: PathLike) -> List[Path]:
    """Remove the temporary files of ``path`` that runs killed while writing it left behind.

    A killed (SIGKILL, out of memory, crashed QGIS) run cannot remove its hidden
    ``.NAME.XXXXXXXX.tmp`` (rasters, checkpoints: possibly gigabytes). One is stale when no
    process holds its :func:`claim_temp` lock and it is older than ``STALE_AFTER``; a live run's
    is never touched. POSIX only. Returns what was removed.
    """
    try:
        import fcntl
    except ImportError:
        return []
    path = Path(os.path.abspath(os.fspath(path)))
    try:
        pattern = re.compile(re.escape(f".{_temp_stem(path, '.tmp')}.") + r"[0-9a-f]{8}\.tmp")
        candidates = [p for p in path.parent.iterdir() if pattern.fullmatch(p.name)]
    except OSError:
        return []
    removed = []
    for stale in candidates:
        try:
            fd = os.open(stale, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held: a live run writes it
            if time.time() - os.fstat(fd).st_mtime > STALE_AFTER:
                stale.unlink()
                removed.append(stale)
                Path(f"{stale}.aux.xml").unlink(missing_ok=True)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def check_name_length(path: PathLike, label: str, *, extra: str = "") -> None:
    """``OutputError`` when a part of ``path`` is longer than the file system allows.

    ``extra`` is added to the last part (the ``.partial`` of a model); raised before any work.
    """
    path = Path(os.path.abspath(os.fspath(path)))
    limit = name_limit(path.parent)
    for part in path.parts[1:]:
        whole = part + (extra if part == path.name else "")
        size = len(os.fsencode(whole))
        if size > limit:
            also = f" (with the {extra} added beside it)" if extra and whole != part else ""
            raise OutputError(
                f"the {label} {path} cannot be written: the name {part!r} is {size} bytes "
                f"long{also}, more than the {limit} bytes this file system allows in a name; "
                "nothing was written; choose a shorter name"
            )


def check_format(path: Optional[PathLike], label: str, fmt: Format) -> None:
    """``OutputError`` unless ``path`` (None: not wanted) ends in one of ``fmt``'s endings.

    The engine writes each output in one format whatever the name says, so a name promising
    another one ("map.png" for a GeoTIFF) is refused rather than written misnamed.
    """
    kind, suffixes = fmt
    if path is not None and Path(os.fspath(path)).suffix.lower() not in suffixes:
        raise OutputError(
            f"the {label} {os.fspath(path)} is written in {kind} format: give a name ending in "
            f"{' or '.join(suffixes)}; nothing was written"
        )


def input_paths(*sources: Any) -> List[Path]:
    """The paths in ``sources`` (a path, a list of paths, lists of lists; None skipped)."""
    out: List[Path] = []

    def walk(value: object) -> None:
        if value is None:
            return
        if isinstance(value, (list, tuple)):
            for v in value:
                walk(v)
            return
        out.append(Path(os.fspath(cast(PathLike, value))))

    for s in sources:
        walk(s)
    return out


def _is_input(out: Path, source: Path) -> bool:
    """Whether the existing file ``out`` is the input ``source``.

    That file, or an image of the folder ``source`` (the raster files directly in it, as ``series``
    reads a folder).
    """
    try:
        if not out.is_file():
            return False
        if source.is_dir():
            return out.suffix.lower() in RASTER_SUFFIXES and os.path.samefile(out.parent, source)
        return source.exists() and os.path.samefile(out, source)
    except OSError:
        return False


def in_input_folder(out: Path, source: Path) -> bool:
    """Whether ``out`` is a raster written straight into the input folder ``source``.

    The series reader takes every raster file of such a folder as an image of the series, so a
    class map left there breaks the next run given that folder.
    """
    try:
        return (
            out.suffix.lower() in RASTER_SUFFIXES
            and source.is_dir()
            and out.parent.exists()
            and os.path.samefile(out.parent, source)
        )
    except OSError:
        return False


def check_readable(inputs: Mapping[str, Any]) -> None:
    """Refuse inputs this user may not read, naming the file and the fix (``DataError``).

    Args:
        inputs: what the input is, in words ("Sentinel-2 input") -> sources (a path, a list of
            paths, a folder; None skipped). The raster images directly in an input folder
            are checked too. Paths that do not exist are left to the readers.

    Raises:
        DataError: "cannot read the Sentinel-2 input FILE: you have no permission ...".
    """
    for label, sources in inputs.items():
        for src in input_paths(sources):
            paths = [src]
            if not unreadable(src) and src.is_dir():
                paths += sorted(p for p in src.iterdir() if p.suffix.lower() in RASTER_SUFFIXES)
            for path in paths:
                if unreadable(path):
                    raise DataError(f"cannot read the {label} {path}: {NO_READ_ACCESS}")


def check_outputs(
    outputs: Mapping[str, Any],
    inputs: Optional[Mapping[str, Any]] = None,
    *,
    folders: Sequence[str] = (),
    formats: Optional[Mapping[str, Format]] = None,
) -> None:
    """Refuse, before any work, bad outputs and unreadable inputs.

    Outputs that would overwrite an input or cannot be written; inputs that cannot be read
    (``check_readable``). ``outputs``: what the output is, in words ("output model") -> path
    (None skipped); ``inputs``: what the input is ("Sentinel-2 input") -> sources; labels in
    ``folders`` are output folders, only checked to be writable (name their files separately);
    ``formats``: label -> the format that output is written in (``check_format``).
    A file output may not be an input file nor an image of an input folder, and a new raster may
    not be written into an input folder (it would join that series); other new files may. An
    existing read-only output file is refused (not replaced behind its owner's back). Once all
    pass, the temporary files that killed runs left for these outputs are removed
    (:func:`remove_stale_temps`).
    """
    check_readable(inputs or {})
    given = {k: Path(os.fspath(v)) for k, v in outputs.items() if v is not None}
    seen: Dict[Path, str] = {}
    for label, out in given.items():
        check_name_length(out, label, extra=sidecar(out))
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
                if not is_folder and in_input_folder(out, src):
                    raise OutputError(
                        f"the {label} {out} would be written into the {in_label} folder {src}: "
                        "the next run given that folder would read it as an image of the "
                        "series; nothing was written; choose another folder"
                    )
        if formats and label in formats:
            check_format(out, label, formats[label])
        _check_writable(out, label, folder=is_folder)
    for label, out in given.items():
        if label not in folders:
            remove_stale_temps(out)


def make_parent(path: PathLike) -> None:
    """Create the folder ``path`` is to be written in, as the rasters' writers do.

    ``OutputError`` naming the file when that folder cannot be made (a file in the way, no
    permission).
    """
    parent = Path(os.path.abspath(os.fspath(path))).parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot write {os.fspath(path)}: its folder {parent} cannot be created "
            f"({exc.strerror or exc}); choose another path"
        ) from None


def _check_writable(out: Path, label: str, *, folder: bool) -> None:
    """``OutputError`` unless ``out`` can be created.

    It is not a folder (a file output), and its nearest existing parent is a folder where a file can
    be created.
    """
    if not folder and out.is_dir():
        raise OutputError(f"the {label} {out} is a folder: give a file name")
    if folder and out.exists() and not out.is_dir():
        raise OutputError(f"the {label} {out} is a file: give a folder")
    if not folder and out.is_file() and not os.access(out, os.W_OK):
        raise OutputError(
            f"the {label} {out} exists and is read-only: nothing was written; make it writable "
            "(e.g. chmod u+w) or choose another output file"
        )
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


def check_align(
    s1: Optional[Sources], s2: Optional[Sources], out_dir: PathLike, **settings: Any
) -> None:
    """The checks of an alignment into ``out_dir`` (``api.align`` and ``s4 align``).

    The ``settings`` ranges, the folder writable, its stacks and table not among the inputs, and
    the folder not one that holds input images: its stacks would then be read as images of that
    series by the next command given the folder.
    """
    check_settings(**settings)
    out_dir = Path(os.fspath(out_dir))

    def holds_inputs(folders_only: bool) -> None:
        for label, sources in (("Sentinel-1 input", s1), ("Sentinel-2 input", s2)):
            for src in input_paths(sources):
                if folders_only and not src.is_dir():
                    continue
                folder = src if src.is_dir() else src.parent
                try:
                    same = out_dir.is_dir() and os.path.samefile(out_dir, folder)
                except OSError:
                    same = False
                if same:
                    raise OutputError(
                        f"the output folder {out_dir} holds the {label} {src}: the aligned "
                        "stacks written there would be read as images of that series; nothing "
                        "was written; choose another folder"
                    )

    holds_inputs(folders_only=True)  # said of the folder, before its stacks are named
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
    holds_inputs(folders_only=False)


ONNX_CARD_FORMAT = "s4-onnx"
"""The ``format`` of the model card ``s4 export-onnx`` writes beside an ONNX model."""


def onnx_card_path(out: PathLike) -> Path:
    """The model card of the ONNX model ``out``: the same name with ``.json``."""
    return Path(os.fspath(out)).with_suffix(".json")


def check_onnx_card(out: PathLike) -> None:
    """``OutputError`` when the model card of ``out`` would replace a JSON file of the user's.

    An earlier card (``format`` ``s4-onnx``) is replaced like the model; any other existing file
    at that name is kept and the export refused before any work.
    """
    import json

    card = onnx_card_path(out)
    if not card.exists():
        return
    try:
        found = json.loads(card.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        found = None
    if not (isinstance(found, dict) and found.get("format") == ONNX_CARD_FORMAT):
        raise OutputError(
            f"the model card {card} (written beside the ONNX model {os.fspath(out)}, same name "
            "with .json) would overwrite that file, which is not an S4 model card: nothing was "
            "written; choose another output name or move the file"
        )


def check_written_raster(path: Path, final: Path, width: int, height: int, count: int) -> None:
    """Flush the temporary raster ``path`` (to become ``final``) and read it back.

    Checks size, bands and the last row of every band: GDAL can leave a truncated or empty file
    without an error when the disk is full; ``OutputError`` says so instead.
    """
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


_TIFF_HEADERS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_TORCH_HEADERS = (b"PK\x03\x04", b"\x80")  # torch.save's zip; the legacy format's pickle


def checkpoint_file_problem(path: PathLike) -> Optional[str]:
    """Why ``path`` cannot be an S4 checkpoint, from its name and first bytes; None: it may be.

    An ONNX export (mapping only), a GeoTIFF, an empty file, or a file that is neither
    torch.save's zip nor a pickle: named for what it is before torch reads it (torch's messages
    about such files speak of unpickling and of loading with weights_only=False, which would run
    the file's code). Torch-free: the plugin checks its checkpoint parameters with it.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return None  # missing or unreadable: the reader says which
    if path.suffix.lower() == ".onnx" or (head[:1] == b"\x08" and head[2:3] == b"\x12"):
        return (
            f"{path} is an ONNX export (for mapping only): training needs the .pt checkpoint it "
            "was exported from (written by s4 pretrain / s4 finetune), and so does a new export"
        )
    if head.startswith(_TORCH_HEADERS):
        return None
    if not head:
        what = "it is empty"
    elif head[:4] in _TIFF_HEADERS:
        what = "it is a GeoTIFF / TIFF image"
    else:
        what = "it is not a PyTorch file"
    return (
        f"{path} is not an S4 checkpoint: {what}. Give a .pt model written by s4 pretrain / "
        "s4 finetune"
    )

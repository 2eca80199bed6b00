"""What S4 installs into QGIS's Python, and what it must leave alone.

The engine's requirements, the two install profiles, what QGIS ships and pip must never replace, and
the PyTorch build (CPU or CUDA) for the machine.

Profiles (the dependency dialog offers both):

- ``mapping``: mapping only, with an ONNX export of a model (``s4 export-onnx``): ONNX
  Runtime (a ~28 MB wheel) instead of PyTorch (~190 MB CPU, GBs with CUDA);
- ``training``: PyTorch (CPU or CUDA build) for pretraining, fine-tuning and mapping with
  checkpoints.
"""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import re
import shutil
import subprocess  # nosec B404
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from s4_core.errors import S4Error
from s4_core.types import PathLike

PLUGIN_ROOT = Path(__file__).resolve().parent.parent.parent
REQUIREMENTS_FILE = PLUGIN_ROOT / "requirements" / "engine.txt"


#: Environment variable naming the dependency folder itself (overrides the profile folder).
ENV_DIR = "S4_DEPENDENCIES_DIR"
#: Top-level modules the engine needs -> the distribution that provides them.
ENGINE_MODULES: Dict[str, str] = {
    "numpy": "numpy",
    "torch": "torch",
    "rasterio": "rasterio",
    "fiona": "fiona",
}
#: What QGIS (or its distribution) ships and pip must never replace: compiled against QGIS's
#: libraries (GDAL, PROJ, Qt) or ABI-sensitive (numpy), plus rasterio/fiona's pure helpers.
#: Only those present in the running interpreter are pinned (see :func:`build_constraints`).
PINNED: Tuple[str, ...] = (
    "numpy", "GDAL", "rasterio", "fiona", "shapely", "pyproj", "scipy", "pandas", "matplotlib",
    "Pillow", "h5py", "netCDF4", "cftime", "lxml", "psycopg2", "PyYAML", "PyQt5", "PyQt5-sip",
    "PyQt5-Qt5", "PyQt6", "PyQt6-sip", "sip", "QScintilla", "affine", "click", "click-plugins",
    "cligj", "attrs", "certifi", "snuggs", "munch", "OWSLib",
)  # fmt: skip

PYPI_SIMPLE = "https://pypi.org/simple"
TORCH_INDEX = "https://download.pytorch.org/whl/{variant}"
#: CUDA builds offered, newest first; the default is the newest the driver supports.
CUDA_VARIANTS: Tuple[str, ...] = ("cu130", "cu128", "cu126")
DEFAULT_CUDA_VARIANT = "cu128"
INSTALL_RECORD = "s4-install.json"
CONSTRAINTS_NAME = "s4-constraints.txt"


class InstallError(S4Error):
    """pip could not install the engine's requirements (the message says why and what to do)."""


# --------------------------------------------------------------------------------------------
# What to install, and what never to replace
# --------------------------------------------------------------------------------------------
def canonical_name(name: str) -> str:
    """PEP 503 normalised project name (``PyQt5_sip`` -> ``pyqt5-sip``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if not match:
        raise ValueError(f"not a requirement: {requirement!r}")
    return match.group(1)


def _search_path(exclude: Iterable[Path] = ()) -> List[str]:
    """``sys.path`` without S4's dependency folders (what QGIS itself ships)."""
    skip = [str(Path(p)) for p in exclude]
    out = []
    for entry in sys.path:
        norm = entry.replace("\\", "/")
        if "/dependencies/s4/" in norm or any(str(Path(entry or ".")) == s for s in skip):
            continue
        out.append(entry)
    return out


def dist_name(dist: metadata.Distribution) -> str:
    """The project name of an installed distribution ("" when its metadata has none)."""
    # an email.message.Message at run time; typeshed's PackageMetadata protocol lacks get()
    return str(dist.metadata.get("Name") or "")  # type: ignore[attr-defined]


def build_constraints(
    names: Iterable[str] = PINNED, paths: Optional[Sequence[str]] = None
) -> List[str]:
    """``name==version`` for each of ``names`` installed in the running interpreter.

    Versions are read with importlib.metadata from ``paths`` (default: ``sys.path`` minus S4's
    dependency folders, i.e. what QGIS ships). pip gets these as ``-c constraints.txt`` and so
    never installs another numpy, GDAL, PyQt5, rasterio… than the one QGIS runs with.
    """
    search = list(_search_path() if paths is None else paths)
    wanted = {canonical_name(n) for n in names}
    found: Dict[str, str] = {}
    for dist in metadata.distributions(path=search):
        name = dist_name(dist)
        key = canonical_name(name)
        if key in wanted and key not in found and dist.version:
            found[key] = f"{name}=={dist.version}"
    return sorted(found.values(), key=str.lower)


def engine_requirements(path: PathLike = REQUIREMENTS_FILE) -> List[str]:
    """The engine's requirement lines (comments and blank lines dropped)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def requirements_to_install(requirements: Iterable[str], constraints: Iterable[str]) -> List[str]:
    """Drop requirements QGIS already satisfies with a pinned package (rasterio, numpy…)."""
    pinned = {canonical_name(_requirement_name(c)) for c in constraints}
    return [r for r in requirements if canonical_name(_requirement_name(r)) not in pinned]


def installed_versions(paths: Optional[Sequence[str]] = None) -> Dict[str, str]:
    """Canonical project name -> version of each distribution found on ``paths``.

    ``paths`` default to ``sys.path`` (what QGIS's Python imports, S4's dependency folder
    included); :func:`qgis_search_path` is the same without S4's folders.
    """
    found: Dict[str, str] = {}
    for dist in metadata.distributions(path=list(sys.path if paths is None else paths)):
        key = canonical_name(dist_name(dist))
        if key and key not in found and dist.version:
            found[key] = dist.version
    return found


def qgis_search_path() -> List[str]:
    """``sys.path`` without S4's dependency folders: the packages QGIS's Python has of its own."""
    return _search_path()


def _specifier_set(text: str) -> Optional[Callable[[str], bool]]:
    """A test ``version -> whether it is in the range text`` (None: no ``packaging`` here)."""
    for name in ("packaging.specifiers", "pip._vendor.packaging.specifiers"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        specifiers = module.SpecifierSet(text)
        return lambda version: bool(specifiers.contains(version, prereleases=True))
    return None


def requirement_met(requirement: str, installed: Mapping[str, str], variant: str = "cpu") -> bool:
    """Whether ``installed`` (name -> version, :func:`installed_versions`) satisfies ``requirement``.

    Version ranges as in requirements/engine.txt (``rasterio>=1.3``). torch for a CUDA build
    ``variant`` needs a torch that is not a CPU build (a ``+cpu`` version): choosing CUDA with a
    CPU torch installed offers torch again. Undecidable (no ``packaging`` module): not met.
    """
    name = _requirement_name(requirement)
    version = installed.get(canonical_name(name))
    if not version:
        return False
    if name.lower() == "torch" and variant != "cpu" and version.endswith("+cpu"):
        return False
    spec = requirement[len(name) :].split(";", 1)[0].strip()
    if not spec:
        return True
    contains = _specifier_set(spec)
    try:
        return contains is not None and contains(version)
    except ValueError:  # an invalid version or range
        return False


# --------------------------------------------------------------------------------------------
# CPU or CUDA
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NvidiaInfo:
    """An NVIDIA driver: its version and the newest CUDA it supports (either may be '')."""

    driver: str = ""
    cuda: str = ""
    gpus: Tuple[str, ...] = ()


def detect_nvidia(
    which: Callable[[str], Optional[str]] = shutil.which,
    proc_version: PathLike = "/proc/driver/nvidia/version",
    timeout: float = 10.0,
) -> Optional[NvidiaInfo]:
    """An NVIDIA driver on this machine, or None.

    Found by ``nvidia-smi`` on PATH or the Linux kernel module's ``/proc/driver/nvidia/version``.
    """
    smi = which("nvidia-smi")
    driver = cuda = ""
    gpus: Tuple[str, ...] = ()
    if smi:
        try:
            out = subprocess.run(  # nosec B603
                [smi], capture_output=True, text=True, timeout=timeout
            ).stdout
            m = re.search(r"Driver Version:\s*([\d.]+)", out)
            driver = m.group(1) if m else ""
            m = re.search(r"CUDA Version:\s*([\d.]+)", out)
            cuda = m.group(1) if m else ""
            names = subprocess.run(  # nosec B603
                [smi, "--query-gpu=name", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=timeout,
            ).stdout
            gpus = tuple(line.strip() for line in names.splitlines() if line.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    proc = Path(proc_version)
    if not driver and proc.is_file():
        try:
            m = re.search(r"Kernel Module\s+([\d.]+)", proc.read_text(errors="replace"))
            driver = m.group(1) if m else "unknown"
        except OSError:
            driver = "unknown"
    if not (smi or driver):
        return None
    return NvidiaInfo(driver=driver, cuda=cuda, gpus=gpus)


def default_variant(nvidia: Optional[NvidiaInfo], platform: Optional[str] = None) -> str:
    """The torch build to offer: ``cpu``, or the newest CUDA build the driver supports.

    ``cpu`` without an NVIDIA driver (and always on macOS), else the newest of :data:`CUDA_VARIANTS`
    the driver supports (:data:`DEFAULT_CUDA_VARIANT` if unknown).
    """
    platform = sys.platform if platform is None else platform
    if nvidia is None or platform == "darwin":
        return "cpu"
    m = re.match(r"(\d+)\.(\d+)", nvidia.cuda or "")
    if not m:
        return DEFAULT_CUDA_VARIANT
    supported = int(m.group(1)) * 10 + int(m.group(2))
    for variant in CUDA_VARIANTS:
        if int(variant[2:]) <= supported:
            return variant
    return CUDA_VARIANTS[-1]


def torch_index_url(variant: str, platform: Optional[str] = None) -> Optional[str]:
    """PyTorch's wheel index for ``cpu`` / ``cuXYZ`` (None: the default index, i.e. macOS)."""
    platform = sys.platform if platform is None else platform
    if variant != "cpu" and not re.fullmatch(r"cu\d{3}", variant):
        raise InstallError(f"Unknown torch build {variant!r}: use 'cpu' or one of {CUDA_VARIANTS}")
    if platform == "darwin":
        if variant != "cpu":
            raise InstallError("CUDA builds of torch do not exist for macOS: choose 'cpu'.")
        return None  # PyPI's macOS wheels are the only ones (CPU + Apple MPS)
    return TORCH_INDEX.format(variant=variant)


#: ONNX Runtime for mapping without PyTorch (the version requirements/dev.txt pins).
ONNXRUNTIME_REQUIREMENT = "onnxruntime==1.32.0"
#: Install profiles: key -> (label, requirements replaced). "training" is the engine's own list.
PROFILES: Dict[str, str] = {
    "mapping": "mapping only (ONNX Runtime)",
    "training": "training (PyTorch, CPU or CUDA)",
}


def profile_requirements(profile: str, requirements: Optional[Sequence[str]] = None) -> List[str]:
    """The requirements of an install ``profile``.

    "training" = the engine's list (torch included); "mapping" = the same without torch, plus ONNX
    Runtime.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown install profile {profile!r}: one of {sorted(PROFILES)}")
    base = engine_requirements() if requirements is None else list(requirements)
    if profile == "training":
        return base
    return [r for r in base if _requirement_name(r) != "torch"] + [ONNXRUNTIME_REQUIREMENT]

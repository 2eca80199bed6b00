"""Is the engine usable in this QGIS?

Which modules import, and the message that says what is missing and how to install it.
"""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from .catalogue import (
    ENGINE_MODULES,
    PYPI_SIMPLE,
    TORCH_INDEX,
    _requirement_name,
    engine_requirements,
)
from .installer import InstallError, SysInfo, dependency_dir, python_executable

# --------------------------------------------------------------------------------------------
# Is the engine usable?
# --------------------------------------------------------------------------------------------
_IMPORTABLE: set = set()  # modules found importable (absence is re-checked: cheap, and an
# install during the session makes them appear)
_LAST_PROBLEM: Dict[str, str] = {}
_LABELS = {
    "torch": "PyTorch (torch)",
    "numpy": "numpy",
    "rasterio": "rasterio",
    "fiona": "fiona",
}


def clear_cache() -> None:
    """Forget what :func:`missing_engine_modules` found (after an install)."""
    _IMPORTABLE.clear()
    _LAST_PROBLEM.clear()
    importlib.invalidate_caches()


def _module_problem(name: str) -> Optional[str]:
    """None when ``name`` imports; else why not.

    find_spec first (cheap); a module that is found is imported once, to catch broken installs (a
    DLL that does not load, numpy ABI).
    """
    if name in _IMPORTABLE or name in sys.modules:
        _IMPORTABLE.add(name)
        return None
    problem = "not installed"
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        spec = None
    except (ImportError, ValueError) as exc:
        spec, problem = None, f"{type(exc).__name__}: {exc}"
    if spec is not None:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - any failure means unusable
            problem = f"cannot be imported ({type(exc).__name__}: {exc})"
        else:
            _IMPORTABLE.add(name)
            return None
    _LAST_PROBLEM[name] = problem
    return problem


def missing_engine_modules() -> Dict[str, str]:
    """``{module: problem}`` for each engine module QGIS's Python cannot import."""
    out = {}
    for name in ENGINE_MODULES:
        problem = _module_problem(name)
        if problem is not None:
            out[name] = problem
    return out


def torch_missing() -> bool:
    """True when torch is not installed (cheap: no import)."""
    if "torch" in sys.modules:
        return False
    try:
        return importlib.util.find_spec("torch") is None
    except (ImportError, ValueError):
        return True


def engine_missing_message() -> str:
    """Empty when numpy, torch, rasterio and fiona import; else what is missing and how to fix it.

    Algorithms call this first in ``processAlgorithm`` and raise ``QgsProcessingException`` with
    the message when it is not empty.
    """
    missing = missing_engine_modules()
    if not missing:
        return ""
    what = ", ".join(
        f"{_LABELS[name]} ({problem})" if problem != "not installed" else _LABELS[name]
        for name, problem in missing.items()
    )
    lines = [
        f"S4 needs Python packages that QGIS's Python cannot import: {what}.",
        "Install them from the QGIS menu Raster > S4 > Dependencies… (it installs into the "
        "QGIS profile and never replaces packages QGIS ships), then run the algorithm again.",
    ]
    try:
        target = dependency_dir()
    except Exception:  # noqa: BLE001
        target = None
    if "torch" in missing and target is not None:
        try:
            python = str(python_executable(sys.platform, SysInfo.current()))
        except InstallError:
            python = "python3"
        torch_req = next(
            (r for r in engine_requirements() if _requirement_name(r) == "torch"), "torch"
        )
        lines.append(
            "Or from a terminal (CPU build shown; see docs/user_guide.md for CUDA):\n"
            f'  "{python}" -m pip install --target "{target}" "{torch_req}" '
            f"--index-url {TORCH_INDEX.format(variant='cpu')} --extra-index-url {PYPI_SIMPLE}\n"
            "and restart QGIS."
        )
    if {"rasterio", "fiona"} & set(missing):
        lines.append(
            "rasterio and fiona are best taken from your QGIS distribution, built on QGIS's own "
            "GDAL (Debian/Ubuntu: sudo apt install python3-rasterio python3-fiona; conda: "
            "conda install rasterio fiona)."
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class ModuleStatus:
    """One engine module as QGIS's Python sees it."""

    name: str
    version: str  #: '' when not installed
    location: str  #: folder it is imported from ('' when not installed)
    problem: str  #: '' when fine


def engine_status() -> List[ModuleStatus]:
    """Version and location of each engine module (for the dialog; imports nothing new)."""
    out = []
    for module, dist in ENGINE_MODULES.items():
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            out.append(ModuleStatus(module, "", "", "not installed"))
            continue
        origin = spec.origin or (list(spec.submodule_search_locations or []) or [""])[0]
        location = str(Path(origin).parent) if origin else ""
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            version = getattr(sys.modules.get(module), "__version__", "?")
        problem = "" if module in _IMPORTABLE else _LAST_PROBLEM.get(module, "")
        out.append(ModuleStatus(module, version, location, problem))
    return out


def onnxruntime_missing_message() -> str:
    """Empty when ONNX Runtime imports (mapping with an .onnx model); else how to install it."""
    problem = _module_problem("onnxruntime")
    if problem is None:
        return ""
    return (
        f"Mapping with an ONNX model needs ONNX Runtime (onnxruntime: {problem}). Install it "
        "from the QGIS menu Raster > S4 > Dependencies… with 'mapping only (ONNX Runtime)', "
        "then run the algorithm again."
    )

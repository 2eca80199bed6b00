"""What S4 runs on, for bug reports: Python, GDAL, numpy, torch, CUDA devices, where they live.

QGIS-free: the plugin adds its own facts (QGIS version, dependency folder) through ``extra``.
Every probe is guarded: a broken torch or rasterio is reported, never raised.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
from typing import Any, Dict, List, Mapping, Optional

from . import __version__

GIB = 1024**3


def _module(name: str) -> Dict[str, Any]:
    """Version and file of an importable module, or why it cannot be imported."""
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - a broken install is what we report
        return {"version": None, "error": f"{type(exc).__name__}: {exc}"}
    return {
        "version": str(getattr(module, "__version__", "?")),
        "file": getattr(module, "__file__", None),
    }


def _torch_report() -> Dict[str, Any]:
    out = _module("torch")
    if out.get("version") is None:
        out.update(cuda_available=False, devices=[])
        return out
    import torch

    out["cuda_build"] = getattr(torch.version, "cuda", None)
    out["threads"] = torch.get_num_threads()
    devices: List[Dict[str, Any]] = []
    try:
        out["cuda_available"] = bool(torch.cuda.is_available())
        if out["cuda_available"]:
            cudnn = torch.backends.cudnn
            out["cudnn"] = cudnn.version() if cudnn.is_available() else None
            for index in range(torch.cuda.device_count()):
                props = torch.cuda.get_device_properties(index)
                devices.append(
                    {
                        "index": index,
                        "type": "cuda",
                        "name": props.name,
                        "memory_gib": round(props.total_memory / GIB, 1),
                        "capability": f"{props.major}.{props.minor}",
                    }
                )
    except Exception as exc:  # noqa: BLE001 - a driver problem is worth reporting
        out["cuda_available"] = False
        out["cuda_error"] = f"{type(exc).__name__}: {exc}"
    mps = getattr(torch.backends, "mps", None)
    try:
        out["mps_available"] = bool(mps is not None and mps.is_available())
    except Exception:  # noqa: BLE001
        out["mps_available"] = False
    if out["mps_available"]:
        devices.append({"index": 0, "type": "mps", "name": "Apple GPU (MPS)"})
    out["devices"] = devices
    return out


def _gdal_report() -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for name in ("rasterio", "fiona"):
        info = _module(name)
        if info.get("version") is not None:
            module = sys.modules[name]
            info["gdal"] = getattr(module, "__gdal_version__", None)
        out[name] = info
    gdal = out["rasterio"].get("gdal") or out["fiona"].get("gdal")
    return {"gdal": gdal, **out}


def system_report(extra: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """A JSON-friendly description of the system S4 runs on.

    Keys: s4, python, platform, numpy, torch (version, file, cuda_available, cuda_build,
    devices [{name, memory_gib, ...}]), gdal, rasterio, fiona, environment, plus ``extra``
    (the plugin passes ``qgis`` and ``dependencies``).
    """
    report: Dict[str, Any] = {
        "s4": {"version": __version__, "file": os.path.dirname(os.path.abspath(__file__))},
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
            "prefix": sys.prefix,
        },
        "platform": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
        },
        "numpy": _module("numpy"),
    }
    report.update(_gdal_report())
    report["torch"] = _torch_report()
    report["environment"] = {
        key: os.environ[key]
        for key in ("CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "S4_DEPENDENCIES_DIR")
        if key in os.environ
    }
    for key, value in dict(extra or {}).items():
        report[key] = value
    return report


def _lines(value: object, indent: int) -> List[str]:
    pad = "  " * indent
    if isinstance(value, Mapping):
        out = []
        for key, item in value.items():
            if isinstance(item, (Mapping, list)) and item:
                out.append(f"{pad}{key}:")
                out += _lines(item, indent + 1)
            else:
                out.append(f"{pad}{key}: {_scalar(item)}")
        return out
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, Mapping):
                sub = _lines(item, indent + 1)
                out.append(f"{pad}- {sub[0].strip()}")
                out += sub[1:]
            else:
                out.append(f"{pad}- {_scalar(item)}")
        return out
    return [f"{pad}{_scalar(value)}"]


def _scalar(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, dict)) and not value:
        return "none"
    return str(value)


def format_mapping(d: Mapping[str, Any], indent: int = 0) -> str:
    """Nested mappings and lists as indented ``key: value`` lines."""
    return "\n".join(_lines(d, indent)) + "\n"


def _device_line(device: Mapping[str, Any]) -> str:
    memory = f", {device['memory_gib']} GiB" if device.get("memory_gib") is not None else ""
    cap = f", compute {device['capability']}" if device.get("capability") else ""
    return f"{device.get('type', '?')}:{device.get('index', 0)} {device.get('name')}{memory}{cap}"


def format_report(d: Mapping[str, Any]) -> str:
    """Plain text for a bug report: a summary block, then every field of ``d``."""
    torch = d.get("torch") or {}
    numpy = d.get("numpy") or {}
    summary = [
        f"S4 {(d.get('s4') or {}).get('version', '?')}",
    ]
    qgis = d.get("qgis")
    if isinstance(qgis, Mapping) and qgis.get("version"):
        summary.append(f"QGIS {qgis['version']}")
    summary.append(f"Python {(d.get('python') or {}).get('version', '?')}")
    summary.append(f"GDAL {_scalar(d.get('gdal'))}")
    summary.append(f"numpy {_scalar(numpy.get('version')) if numpy else '-'}")
    if torch.get("version"):
        cuda = "CUDA available" if torch.get("cuda_available") else "no CUDA"
        build = torch.get("cuda_build")
        summary.append(
            f"torch {torch['version']} ({cuda}; build {'CUDA ' + build if build else 'CPU'})"
        )
    else:
        summary.append(f"torch: not available ({torch.get('error', 'not installed')})")
    for device in torch.get("devices") or []:
        summary.append("device " + _device_line(device))
    if not torch.get("devices"):
        summary.append("device cpu (no GPU found)")
    lines = summary + ["", "Details:"] + _lines(d, 1)
    return "\n".join(lines) + "\n"

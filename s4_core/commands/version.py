"""Print engine, Python, torch and device versions."""

from __future__ import annotations

import argparse
import json
import platform
from typing import Dict


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``s4 version``."""
    p.add_argument("--json", action="store_true", help="print JSON")


def versions() -> dict:
    """Versions of the engine and what it runs on (torch imported lazily)."""
    from .. import __version__

    out: Dict[str, object] = {"s4": __version__, "python": platform.python_version()}
    for name in ("numpy", "torch", "rasterio", "fiona"):
        try:
            out[name] = __import__(name).__version__
        except ImportError:
            out[name] = None
    try:
        import torch

        out["cuda"] = torch.cuda.is_available()
    except ImportError:
        out["cuda"] = False
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``s4 version`` with the parsed ``args``; the exit status."""
    info = versions()
    if args.json:
        print(json.dumps(info))
    else:
        for key, value in info.items():
            print(f"{key:9s} {value}")
    return 0

"""Type aliases shared across the engine and the plugin (one definition each).

Long calls take ``progress(fraction, message, metrics)`` (``fraction`` in 0..1, ``metrics`` the
figures of a training step or ``None``), ``cancel()`` (True: stop at the next check, raising
:class:`~s4_core.errors.Cancelled`) and ``log(text)``; paths are ``str`` or ``os.PathLike``.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Sequence, TypeVar, Union

if TYPE_CHECKING:
    import torch
    from rasterio.crs import CRS

    from .align import Scene
    from .composite import CompositeScene, S1RatioScene

__all__ = [
    "Cancel",
    "CrsLike",
    "Log",
    "Metrics",
    "PathLike",
    "Progress",
    "SceneLike",
    "Sources",
    "override",
]

PathLike = Union[str, "os.PathLike[str]"]
"""A file or folder path: ``str`` or ``pathlib.Path`` (anything ``os.fspath`` takes)."""

Sources = Union[PathLike, Sequence[PathLike]]
"""One series: a folder of images, one image, or a list of images."""

CrsLike = Union["CRS", int, str]
"""A CRS: rasterio's ``CRS``, an EPSG code, ``"EPSG:32631"``, WKT or PROJ text."""

DeviceLike = Union[str, "torch.device"]
"""A compute device: "auto", "cpu", "cuda", "cuda:N", "mps" or a ``torch.device``."""

SceneLike = Union["Scene", "CompositeScene", "S1RatioScene"]
"""Aligned series on one grid: acquisitions (``align.Scene``), monthly composites, or either with
the VV/VH ratio band."""

Metrics = Dict[str, float]
"""Named figures of a training step or epoch (``{"loss": 0.41, "val_miou": 0.62}``)."""

Progress = Callable[[float, str, Optional[Metrics]], None]
"""``progress(fraction, message, metrics)``: ``fraction`` in 0..1, ``metrics`` or ``None``."""

Cancel = Callable[[], bool]
"""``cancel()``: True when the user asked to stop."""

Log = Callable[[str], None]
"""``log(text)``: one line for the user (the CLI's stderr, QGIS's feedback)."""

_F = TypeVar("_F", bound=Callable[..., Any])

if TYPE_CHECKING:
    from typing_extensions import override
elif sys.version_info >= (3, 12):
    from typing import override
else:

    def override(method: _F) -> _F:
        """Mark a method as overriding its base class's one (documented there).

        ``typing.override`` from Python 3.12: type checkers check that the base class has the
        method, and ruff's docstring rules take the base class's docstring for it.
        """
        return method

"""Tiling of a scene into overlapping windows, and the tile size / overlap to use.

The tile size and overlap are those that make tiled results equal to a whole-scene pass.

``plan_tiles``: the network sees windows of ``tile_size`` x ``tile_size`` px that overlap
their neighbours by at least ``overlap`` px. Each window contributes only its *core*: the
overlap between two neighbours is split in the middle, so about ``overlap / 2`` px of margin
are cropped on every side that borders another window (scene edges are kept). Every scene pixel
belongs to exactly one core. Window origins are multiples of the network's down-sampling factor
(``NetConfig.factor``) so that its pooling cells fall where they fall in a whole-scene run, and
the last window of a row/column ends exactly at the scene edge (it may be up to ``factor - 1``
px larger than ``tile_size``). With margins at least as wide as the network's receptive-field
radius (:func:`receptive_radius`), a tiled run is identical to a whole-scene run (up to float
rounding); with narrower margins only pixels near core borders can differ slightly.

``auto_tiling``: the overlap is twice the receptive radius (rounded up to the factor), and the
tile is as large as a memory budget allows (the work spent on overlaps falls as the tile grows:
(1 - overlap / tile)^2 of the computed area is kept). Imports neither torch nor QGIS.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import List, Optional, Tuple

from .errors import DataError

__all__ = [
    "Tile",
    "auto_tiling",
    "kept_fraction",
    "memory_budget_mb",
    "plan_tiles",
    "receptive_radius",
    "window_bytes_per_px",
]


# ----------------------------------------------------------------------------- tiling
@dataclass(frozen=True)
class Tile:
    """A window the network reads and the core of it that goes into the result.

    The window: ``row, col, height, width``; the core: ``core_row, core_col, core_height,
    core_width``, in scene pixels.
    """

    row: int
    col: int
    height: int
    width: int
    core_row: int
    core_col: int
    core_height: int
    core_width: int

    @property
    def shape(self) -> Tuple[int, int]:
        """The window's ``(height, width)``."""
        return (self.height, self.width)


def _axis_plan(length: int, tile: int, overlap: int, align: int) -> List[Tuple[int, int, int, int]]:
    """Along one axis: (start, size, core_start, core_end) per window."""
    if length <= tile:
        return [(0, length, 0, length)]
    stride = max(align, ((tile - overlap) // align) * align)
    last = ((length - tile) // align) * align  # aligned, ends at the edge with size >= tile
    starts = [s for s in range(0, last, stride)] + [last]
    ends = [s + tile for s in starts[:-1]] + [length]
    bounds = [0]
    for i in range(len(starts) - 1):
        bounds.append((starts[i + 1] + ends[i]) // 2)  # middle of the overlap
    bounds.append(length)
    return [(s, e - s, bounds[i], bounds[i + 1]) for i, (s, e) in enumerate(zip(starts, ends))]


def plan_tiles(height: int, width: int, tile_size: int, overlap: int, align: int = 1) -> List[Tile]:
    """Windows covering a ``height`` x ``width`` scene, row-major (see the module docstring)."""
    tile_size, overlap, align = int(tile_size), int(overlap), max(1, int(align))
    if tile_size < 1:
        raise DataError(f"tile size must be at least 1 px, not {tile_size} (--tile-size)")
    if overlap < 0 or overlap >= tile_size:
        raise DataError(
            f"overlap {overlap} px must be >= 0 and smaller than the tile size {tile_size} px "
            "(--overlap, --tile-size)"
        )
    rows = _axis_plan(height, tile_size, overlap, align)
    cols = _axis_plan(width, tile_size, overlap, align)
    return [
        Tile(r, c, h, w, cr0, cc0, cr1 - cr0, cc1 - cc0)
        for r, h, cr0, cr1 in rows
        for c, w, cc0, cc1 in cols
    ]


def receptive_radius(levels: int, head: str = "unet", smooth_iters: int = 0) -> int:
    """An upper bound of the network's receptive-field radius in px.

    How far from a pixel an input can change its output. 3x3(x3) convolutions add their scale on
    every side, each pooling and each transposed convolution adds its scale; the "unet" head adds
    its output conv (1 px), the "pixel" head one px per smoothing round. ``levels`` = number of
    poolings. (Measured by gradient probes: 24 px for 2 levels with the unet head, bound 30.)
    """
    levels = max(1, int(levels))
    r = 0
    for i in range(levels):  # encoder: conv block + pooling at scale 2^i
        r += 3 * 2**i
    r += 3 * 2**levels  # bottleneck conv, decoder centre conv, first transposed conv
    for i in range(levels - 1, -1, -1):  # decoder: conv block (+ transposed conv above 0)
        r += 2 * 2**i + (2**i if i > 0 else 0)
    if head == "pixel":
        r += max(0, int(smooth_iters))
    else:
        r += 1
    return int(r)


def kept_fraction(tile_size: int, overlap: int) -> float:
    """Share of the computed area that ends up in the output for interior tiles."""
    if tile_size <= overlap:
        return 0.0
    return (1.0 - overlap / float(tile_size)) ** 2


def auto_tiling(
    radius: int,
    factor: int,
    *,
    frames: int,
    width0: int,
    height: int,
    width: int,
    channels: int = 10,
    memory_mb: Optional[float] = None,
    tile_size: Optional[int] = None,
    overlap: Optional[int] = None,
) -> Tuple[int, int]:
    """(tile size, overlap) in px for a network of receptive radius ``radius``.

    ``factor``: its down-sampling. Overlap = 2 x radius rounded up to ``factor`` (exact results);
    the tile is at most the largest multiple of 16 whose memory (:func:`window_bytes_per_px`) fits
    ``memory_mb`` (default :func:`memory_budget_mb`), at least 2 x overlap + 64 and at most the
    scene's longer side; then shrunk to the smallest size that needs no more windows along the
    longer side (less area computed twice). Given values are kept.
    """
    factor = max(1, int(factor))
    if memory_mb is None:
        memory_mb = memory_budget_mb()
    if overlap is None:
        overlap = int(math.ceil(2 * radius / factor) * factor)
    if tile_size is None:
        per_px = window_bytes_per_px(frames, width0, channels)
        side = int(math.sqrt(memory_mb * 2**20 / per_px)) // 16 * 16
        side = max(side, 2 * overlap + 64)
        length = max(height, width)
        if side >= length:
            tile_size = length
        else:  # as few windows as the largest tile needs, then the smallest tile for them
            n = math.ceil((length - overlap) / (side - overlap))
            tile_size = math.ceil((length - overlap) / n / factor) * factor + overlap
            tile_size = min(side, tile_size)
        tile_size = max(tile_size, overlap + factor)
    return int(tile_size), int(overlap)


def memory_budget_mb() -> float:
    """Memory for one window's activations: ``S4_TILE_MEMORY_MB`` or 2048 MB.

    The process then peaks near 2.5 GB whatever the scene's size.
    """
    try:
        return max(64.0, float(os.environ.get("S4_TILE_MEMORY_MB", "") or 2048.0))
    except ValueError:
        return 2048.0


def window_bytes_per_px(frames: int, width0: int, channels: int = 10) -> float:
    """Memory per window pixel while predicting, in bytes.

    The 3D U-Net's activations in inference mode (~7.5 first-level tensors of ``frames`` x
    ``width0`` float32) and the input's copies (~6 of ``frames`` x ``channels``: read, selected,
    normalised, batched, the next batch read ahead). Fits the peaks measured with widths 4 and 32,
    32 frames, 10 bands within 10 %.
    """
    frames = max(1, int(frames))
    return 4.0 * frames * (7.5 * max(1, int(width0)) + 6.0 * max(1, int(channels)))

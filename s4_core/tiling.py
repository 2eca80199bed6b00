"""Tiling of a scene into overlapping windows, and the tile size / overlap to use.

The tile size and overlap are those that make tiled results equal to a whole-scene pass.

``plan_tiles``: the network sees windows of ``tile_size`` px (a side, or (height, width))
that overlap their neighbours by at least ``overlap`` px. Each window contributes only its
*core*: the px two neighbours share are split between their cores, in the middle or, given the
network's receptive span, so that each core keeps the px it needs (``before`` px before its
first pixel, ``after`` px after its last; scene edges are kept). Every scene pixel belongs to
exactly one core. Window origins are multiples of the network's down-sampling factor
(``NetConfig.factor``) so that its pooling cells fall where they fall in a whole-scene run, and
the last window of a row/column ends exactly at the scene edge (it may be up to ``factor - 1``
px larger than ``tile_size``). With margins at least as wide as the network's receptive span
(:func:`receptive_span`, exact from the layer graph), a tiled run is identical to a
whole-scene run (up to float rounding); with narrower margins only pixels near core borders
can differ slightly.

``auto_tiling``: the overlap is ``before + after`` of the receptive span (rounded up to the
factor), and the windows are rectangles as large as a memory budget allows, the numbers of
windows per axis chosen so that the least area is computed twice (the work spent on overlaps
falls as the window grows: (1 - overlap / height)(1 - overlap / width) of the computed area is
kept). Imports neither torch nor QGIS.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple, Union

from .errors import DataError

__all__ = [
    "Tile",
    "TileShape",
    "auto_tiling",
    "memory_budget_mb",
    "plan_tiles",
    "receptive_radius",
    "receptive_span",
    "tile_shape",
    "window_bytes_per_px",
]


TileShape = Tuple[int, int]  # a window's (height, width) in px


def tile_shape(tile_size: Union[int, TileShape]) -> TileShape:
    """``(height, width)`` of a tile given as one side (any integer) or a pair."""
    h, w = tile_size if isinstance(tile_size, (tuple, list)) else (tile_size, tile_size)
    return int(h), int(w)


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


def _axis_plan(
    length: int, tile: int, overlap: int, align: int, span: Optional[Tuple[int, int]] = None
) -> List[Tuple[int, int, int, int]]:
    """Along one axis: (start, size, core_start, core_end) per window."""
    if length <= tile:
        return [(0, length, 0, length)]
    stride = max(align, ((tile - overlap) // align) * align)
    last = ((length - tile) // align) * align  # aligned, ends at the edge with size >= tile
    starts = [s for s in range(0, last, stride)] + [last]
    ends = [s + tile for s in starts[:-1]] + [length]
    bounds = [0]
    for i in range(len(starts) - 1):
        shared = ends[i] - starts[i + 1]  # px both windows read
        if span is not None and shared >= span[0] + span[1]:
            # the next window's core needs span[0] px before it, this one's span[1] after it
            bounds.append(starts[i + 1] + span[0] + (shared - span[0] - span[1]) // 2)
        else:
            bounds.append((starts[i + 1] + ends[i]) // 2)  # middle of the overlap
    bounds.append(length)
    return [(s, e - s, bounds[i], bounds[i + 1]) for i, (s, e) in enumerate(zip(starts, ends))]


def plan_tiles(
    height: int,
    width: int,
    tile_size: Union[int, TileShape],
    overlap: int,
    align: int = 1,
    span: Optional[Tuple[int, int]] = None,
) -> List[Tile]:
    """Windows covering a ``height`` x ``width`` scene, row-major (see the module docstring).

    Args:
        height: Scene rows.
        width: Scene columns.
        tile_size: Window side in px, or the window's ``(height, width)``.
        overlap: Least overlap of neighbouring windows in px.
        align: Window origins are multiples of this (the network's down-sampling factor).
        span: The network's receptive span ``(before, after)`` (:func:`receptive_span`): where
            two windows share at least ``before + after`` px, the core border leaves
            ``before`` px to the next window and ``after`` px to this one (spare px split
            evenly); else, and when None, the border is the middle of the shared px.

    Returns:
        The windows; their cores partition the scene.
    """
    (tile_h, tile_w), overlap, align = tile_shape(tile_size), int(overlap), max(1, int(align))
    if min(tile_h, tile_w) < 1:
        raise DataError(f"tile size must be at least 1 px, not {tile_size} (--tile-size)")
    if overlap < 0 or overlap >= min(tile_h, tile_w):
        raise DataError(
            f"overlap {overlap} px must be >= 0 and smaller than the tile size "
            f"{min(tile_h, tile_w)} px (--overlap, --tile-size)"
        )
    rows = _axis_plan(height, tile_h, overlap, align, span)
    cols = _axis_plan(width, tile_w, overlap, align, span)
    return [
        Tile(r, c, h, w, cr0, cc0, cr1 - cr0, cc1 - cc0)
        for r, h, cr0, cr1 in rows
        for c, w, cc0, cc1 in cols
    ]


def receptive_span(levels: int, head: str = "unet", smooth_iters: int = 0) -> Tuple[int, int]:
    """Exact reach of the segmentation path along one image axis: ``(before, after)``.

    How many px before / after an output pixel an input pixel can still change it, the largest
    over the ``2 ** levels`` pooling phases. Follows the layer graph of ``model.S4Net``
    backwards with intervals: a k3 convolution widens by 1 px on each side at its level, a
    2x2x2 max-pooling cell reads both of its 2 px, a transposed convolution (k3, s2, p1,
    output padding 1) maps output ``[a, b]`` to input ``[ceil((a - 1) / 2), floor((b + 1) /
    2)]``; encoder blocks are two convolutions, the bottleneck one, the decoder's centre one,
    decoder blocks two on the concatenation of the up-path and the skip. The "unet" head adds
    its output convolution (1 px), the "pixel" head one px per smoothing round.

    Exact for the graph (every weight non-zero): a window whose core keeps this many px from
    its inner borders gives the same outputs as a whole-scene pass.
    """
    levels = max(1, int(levels))

    def encoder(i: int, a: int, b: int) -> Tuple[int, int]:
        a, b = a - 2, b + 2  # conv block at level i
        if i == 0:
            return a, b
        return encoder(i - 1, 2 * a, 2 * b + 1)  # max-pooling from level i - 1

    def up(a: int, b: int) -> Tuple[int, int]:
        return -((1 - a) // 2), (b + 1) // 2  # transposed convolution: ceil, floor

    def decoder(i: int, a: int, b: int) -> Tuple[int, int]:
        a, b = a - 2, b + 2  # conv block on [up-path, skip]
        skip = encoder(i, a, b)
        ua, ub = up(a, b)
        if i == levels - 1:  # centre conv, bottleneck conv, pooling
            below = encoder(levels - 1, 2 * (ua - 2), 2 * (ub + 2) + 1)
        else:
            below = decoder(i + 1, ua, ub)
        return min(skip[0], below[0]), max(skip[1], below[1])

    extra = max(0, int(smooth_iters)) if head == "pixel" else 1
    before = after = 0
    for p in range(2**levels):
        a, b = decoder(0, p - extra, p + extra)
        before, after = max(before, p - a), max(after, b - p)
    return int(before), int(after)


def receptive_radius(levels: int, head: str = "unet", smooth_iters: int = 0) -> int:
    """The network's receptive-field radius in px: the larger side of :func:`receptive_span`.

    Exact: 11 / 27 / 59 px for 1-3 poolings with the unet head.
    """
    return max(receptive_span(levels, head, smooth_iters))


# the automatic tiling takes the largest windows among those that compute at most this much
# more than the least computed area: fewer windows, and memory near the budget for any scene
TILING_SLACK = 0.03


def _axis_options(
    length: int, overlap: int, align: int, shortest: int
) -> Dict[int, Tuple[int, int, int]]:
    """Along one axis, per number of windows: (tile, px computed, longest window).

    For each count, the smallest tile (at least ``shortest`` px) that needs that many windows
    (:func:`_axis_plan`), so the least area is computed twice.
    """
    options: Dict[int, Tuple[int, int, int]] = {}
    n = 1
    while True:
        tile = length if n == 1 else math.ceil((length - overlap) / n / align) * align + overlap
        if n > 1 and tile < shortest:
            return options
        sizes = [size for _, size, _, _ in _axis_plan(length, tile, overlap, align)]
        options[len(sizes)] = (tile, sum(sizes), max(sizes))
        if tile <= overlap + align:
            return options
        n += 1


def auto_tiling(
    radius: Union[int, Tuple[int, int]],
    factor: int,
    *,
    frames: int,
    width0: int,
    height: int,
    width: int,
    channels: int = 10,
    memory_mb: Optional[float] = None,
    tile_size: Union[int, TileShape, None] = None,
    overlap: Optional[int] = None,
    bytes_per_value: int = 4,
) -> Tuple[TileShape, int]:
    """(tile (height, width), overlap) in px for a network with receptive span ``radius``.

    ``radius``: an int or the span ``(before, after)`` (:func:`receptive_span`); ``factor``:
    the down-sampling. Overlap = before + after rounded up to ``factor`` (exact results with
    :func:`plan_tiles`'s ``span``). A given ``tile_size`` is kept (an int: square windows). Else the
    windows are rectangles whose area (:func:`window_bytes_per_px`, activations of
    ``bytes_per_value`` bytes) fits ``memory_mb`` (default :func:`memory_budget_mb`), each
    side at least 2 x overlap + 64 px or the scene's: of the window counts per axis, each with
    the smallest tile it needs, the one computing the least area, or, within ``TILING_SLACK``
    of it, the one with the largest windows (fewer windows; memory near the budget whatever
    the scene's size). A budget too small for the shortest side gives squares of that side.
    """
    factor = max(1, int(factor))
    before, after = (radius, radius) if isinstance(radius, int) else radius
    if memory_mb is None:
        memory_mb = memory_budget_mb()
    if overlap is None:
        overlap = int(math.ceil((before + after) / factor) * factor)
    if tile_size is not None:
        return tile_shape(tile_size), int(overlap)
    per_px = window_bytes_per_px(frames, width0, channels, bytes_per_value)
    area = memory_mb * 2**20 / per_px  # px of one window
    shortest = 2 * overlap + 64
    rows = _axis_options(height, overlap, factor, min(height, shortest))
    cols = _axis_options(width, overlap, factor, min(width, shortest))
    fits = [
        (computed_r * computed_c, longest_r * longest_c, (tile_r, tile_c))
        for tile_r, computed_r, longest_r in rows.values()
        for tile_c, computed_c, longest_c in cols.values()
        if longest_r * longest_c <= area
    ]
    if not fits:  # the budget is smaller than the shortest window: squares of that side
        side = max(min(max(height, width), shortest), overlap + factor)
        return (side, side), int(overlap)
    least = min(computed for computed, _, _ in fits)
    near = [f for f in fits if f[0] <= least * (1.0 + TILING_SLACK)]
    _, _, (tile_h, tile_w) = max(near, key=lambda f: (f[1], -f[0]))
    # a side the scene fills in one window may be shorter than the overlap: one window anyway
    least_side = overlap + factor
    return (max(int(tile_h), least_side), max(int(tile_w), least_side)), int(overlap)


def memory_budget_mb() -> float:
    """Memory for one window's activations: ``S4_TILE_MEMORY_MB`` or 2048 MB.

    The process then peaks near 2.5 GB whatever the scene's size.
    """
    try:
        return max(64.0, float(os.environ.get("S4_TILE_MEMORY_MB", "") or 2048.0))
    except ValueError:
        return 2048.0


def window_bytes_per_px(
    frames: int, width0: int, channels: int = 10, bytes_per_value: int = 4
) -> float:
    """Memory per window pixel while predicting, in bytes.

    The 3D U-Net's activations in inference mode (~5.5 first-level tensors of ``frames`` x
    ``width0`` values of ``bytes_per_value`` bytes, 4 for float32 and 2 for bfloat16, with the
    batch norms folded and the activations fused as ``backends.TorchBackend`` runs it) and the
    input's float32 copies (~6 of ``frames`` x ``channels``: read, selected, normalised,
    batched, the next batch read ahead). Fits the peaks measured with widths 4 and 32, 32
    frames, 10 bands.

    Args:
        frames: Frames per window.
        width0: The network's first width.
        channels: Input bands.
        bytes_per_value: Bytes of one activation value.

    Returns:
        Bytes per window pixel.
    """
    frames = max(1, int(frames))
    act = _ACTIVATIONS * max(1, int(width0)) * max(1, int(bytes_per_value))
    return frames * (act + 4.0 * _INPUT_COPIES * max(1, int(channels)))


_ACTIVATIONS = 5.5  # first-level activation tensors alive at the peak
_INPUT_COPIES = 6.0  # float32 copies of the input window

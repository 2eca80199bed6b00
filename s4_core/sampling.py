"""Crop windows: random space-time crops for pretraining, windows around labels for fine-tuning.

A window is ``(row, col, height, width)`` in pixels of the reference grid. Both modalities are
aligned on that grid, so one window crops the same place from the S1 and the S2 series
(``(T, C, H, W)`` arrays -> ``(T, C, h, w)``). Windows always lie inside the grid: where the grid
is smaller than the crop size, the window is clamped to the grid (``height``/``width`` smaller
than ``size``) and :func:`crop` pads the cut-out back to ``size`` (``padding`` says how much).
Random functions take a ``numpy.random.Generator``: the same seed gives the same windows.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from .labels import IGNORE_INDEX

Window = Tuple[int, int, int, int]  # row, col, height, width


def _check_size(size: int) -> int:
    size = int(size)
    if size < 1:
        raise ValueError(f"crop size must be at least 1 px, got {size}")
    return size


def _check_grid(height: int, width: int) -> None:
    if int(height) < 1 or int(width) < 1:
        raise ValueError(f"grid must have at least one pixel, got {height} x {width}")


def random_windows(
    height: int, width: int, size: int, n: int, rng: np.random.Generator
) -> List[Window]:
    """``n`` windows of ``size`` x ``size`` px at uniform random positions inside the grid.

    Where the grid is smaller than ``size`` the window is the whole extent along that axis.
    """
    _check_grid(height, width)
    size = _check_size(size)
    if n < 0:
        raise ValueError(f"number of windows must be >= 0, got {n}")
    h, w = min(size, int(height)), min(size, int(width))
    rows = rng.integers(0, int(height) - h + 1, size=n)
    cols = rng.integers(0, int(width) - w + 1, size=n)
    return [(int(r), int(c), h, w) for r, c in zip(rows, cols)]


def random_time_crop(n_frames: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of a random contiguous run of ``min(length, n_frames)`` frames, ascending."""
    if n_frames < 1:
        raise ValueError(f"the series has no frames (n_frames={n_frames})")
    if length < 1:
        raise ValueError(f"crop length must be at least 1 frame, got {length}")
    k = min(int(length), int(n_frames))
    start = int(rng.integers(0, int(n_frames) - k + 1))
    return np.arange(start, start + k, dtype=np.int64)


def label_windows(
    labels: np.ndarray,
    size: int,
    *,
    ignore: int = IGNORE_INDEX,
    rng: Optional[np.random.Generator] = None,
    jitter: bool = False,
) -> List[Window]:
    """Windows of ``size`` px that together cover every labelled pixel (``labels != ignore``).

    Greedy, in raster order: the top-most row with uncovered labels and the left-most uncovered
    label in the strip of ``size`` rows below it anchor a window, which is then shifted up/left
    by half the room its uncovered labels leave (centred on them; ``jitter=True`` draws the
    shift uniformly with ``rng`` instead), keeping those labels covered and staying inside the
    grid. Windows are
    therefore few (about the labelled area / size**2 for compact polygons) and give context
    around small polygons. No labelled pixel: an empty list.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be a 2-D (H, W) raster, got shape {labels.shape}")
    size = _check_size(size)
    if jitter and rng is None:
        raise ValueError("jitter=True needs a numpy Generator (rng) for reproducible windows")
    height, width = labels.shape
    if height == 0 or width == 0:
        return []
    h, w = min(size, height), min(size, width)
    todo = labels != ignore
    row_todo = todo.any(axis=1)
    windows: List[Window] = []
    while True:
        rows = np.flatnonzero(row_todo)
        if rows.size == 0:
            break
        r0 = int(rows[0])
        strip = todo[r0 : r0 + h]
        c0 = int(np.flatnonzero(strip.any(axis=0))[0])
        # the uncovered labels a window anchored at (r0, c0) would take
        col = min(c0, width - w)
        row = min(r0, height - h)
        block = todo[row : row + h, col : col + w]
        rr = np.flatnonzero(block.any(axis=1))
        cc = np.flatnonzero(block.any(axis=0))
        # room left below/right of the covered labels: shift the window up/left into it
        room_r = h - 1 - int(rr[-1]) if rr.size else 0
        room_c = w - 1 - int(cc[-1]) if cc.size else 0
        # shifting by at most that room keeps every label of ``block`` (and so the pixel that
        # defined c0) inside the window: each step covers at least one more labelled pixel
        if rng is not None and jitter:
            dr = int(rng.integers(0, room_r + 1))
            dc = int(rng.integers(0, room_c + 1))
        else:
            dr, dc = room_r // 2, room_c // 2
        row = max(0, row - dr)
        col = max(0, col - dc)
        windows.append((row, col, h, w))
        todo[row : row + h, col : col + w] = False
        row_todo[row : row + h] = todo[row : row + h].any(axis=1)
    return windows


def random_label_windows(
    labels: np.ndarray,
    size: int,
    n: int,
    rng: np.random.Generator,
    *,
    ignore: int = IGNORE_INDEX,
    balanced: bool = False,
) -> List[Window]:
    """``n`` random windows, each containing a labelled pixel drawn uniformly (augmentation).

    ``balanced=True`` first draws the class uniformly among the classes present, then the pixel
    within it, so a class with a single small polygon is seen as often as a large one.
    The window's position around that pixel is uniform as well, clamped inside the grid.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be a 2-D (H, W) raster, got shape {labels.shape}")
    size = _check_size(size)
    height, width = labels.shape
    rr, cc = np.nonzero(labels != ignore)
    if rr.size == 0 or n <= 0:
        return []
    h, w = min(size, height), min(size, width)
    if balanced:
        values = labels[rr, cc]
        classes = np.unique(values)
        chosen = classes[rng.integers(0, classes.size, size=n)]
        members = {int(v): np.flatnonzero(values == v) for v in classes}
        pick = np.array(
            [members[int(v)][rng.integers(0, members[int(v)].size)] for v in chosen], dtype=np.int64
        )
    else:
        pick = rng.integers(0, rr.size, size=n)
    dr = rng.integers(0, h, size=n)
    dc = rng.integers(0, w, size=n)
    out = []
    for k, a, b in zip(pick, dr, dc):
        row = int(np.clip(rr[k] - a, 0, height - h))
        col = int(np.clip(cc[k] - b, 0, width - w))
        out.append((row, col, h, w))
    return out


def padding(window: Window, size: int) -> Tuple[int, int]:
    """Rows and columns to pad (at the bottom / right) to bring ``window`` up to ``size``."""
    _, _, h, w = window
    return max(0, int(size) - h), max(0, int(size) - w)


def crop(
    array: np.ndarray, window: Window, size: Optional[int] = None, fill: float = 0
) -> np.ndarray:
    """Cut ``window`` out of the last two axes of ``array`` (e.g. ``(T, C, H, W)``).

    With ``size``, a window clamped to a small grid is padded at the bottom/right with
    ``fill`` up to ``size`` x ``size`` (keep a validity mask cropped the same way, padded
    with False, to know which pixels are real).
    """
    row, col, h, w = window
    out = array[..., row : row + h, col : col + w]
    if out.shape[-2:] != (h, w):
        raise ValueError(
            f"window {window} does not lie inside an array of shape {array.shape[-2:]}"
        )
    if size is None:
        return out
    ph, pw = padding(window, size)
    if ph == 0 and pw == 0:
        return out
    pad = [(0, 0)] * (out.ndim - 2) + [(0, ph), (0, pw)]
    return np.pad(out, pad, mode="constant", constant_values=fill)

"""Where to label next: small squares where the current model is least sure (active learning).

``choose_squares`` works on a model's class probabilities ``(K, H, W)`` (the probability
output of ``segment``):

1. Per-pixel uncertainty: ``"margin"`` = 1 - (p1 - p2) (the gap between the two most probable
   classes; 1 = a tie), or ``"entropy"`` = -sum p log p / log K (1 = uniform).
2. Candidate squares of ``size`` x ``size`` px (5 x 5: the analyst squares of
   benchmarks/squares.py): every pixel valid, none labelled already (existing labels grown by
   ``margin`` px), inside ``candidates`` when given, and (``homogeneous``) one predicted class
   over the whole square, so that a square lies inside one field rather than on a border,
   where uncertainty is high but a label teaches little. Score = the mean uncertainty.
3. Selection, greedy: the predicted classes take turns (round robin, in a seeded order), each
   taking its most uncertain remaining candidate; a chosen square blocks every candidate
   within ``spacing`` px (default: a quarter of the side of the area per suggestion,
   ``sqrt(H * W / number) / 4``, at least 2 ``size``) so the suggestions spread over the scene.
   A class with no candidate left drops out of the rotation. Ties are broken by a seeded
   random jitter: the same inputs and seed give the same squares.

When fewer squares than asked are found, ``choose_squares`` warns why (how many positions the
rules of step 2 leave, the spacing of step 3).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional

import numpy as np

from .errors import warn

METHODS = ("margin", "entropy")

__all__ = ["METHODS", "Suggestion", "choose_squares", "uncertainty"]


@dataclass(frozen=True)
class Suggestion:
    """A square to label, with the model's uncertainty there.

    Top-left ``row, col`` (pixels), ``size``, mean uncertainty ``score``, predicted class index
    ``predicted`` and its mean probability ``confidence``.
    """

    row: int
    col: int
    size: int
    score: float
    predicted: int
    confidence: float

    def to_dict(self) -> Dict:
        """The square as a JSON-friendly dict (its fields)."""
        return asdict(self)


def uncertainty(probs: np.ndarray, method: str = "margin") -> np.ndarray:
    """Per-pixel uncertainty in 0..1 of probabilities ``(K, H, W)`` (module docstring)."""
    if method not in METHODS:
        raise ValueError(f"uncertainty method {method!r}: choose one of {', '.join(METHODS)}")
    p = np.nan_to_num(np.asarray(probs, dtype=np.float64), nan=0.0)
    k = p.shape[0]
    if k < 2:
        return np.zeros(p.shape[1:])
    if method == "margin":
        top = np.sort(p, axis=0)
        return 1.0 - (top[-1] - top[-2])
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=0)
    return h / math.log(k)


def _box_sum(a: np.ndarray, size: int) -> np.ndarray:
    """Sums over every ``size`` x ``size`` window: (H - size + 1, W - size + 1)."""
    c = np.zeros((a.shape[0] + 1, a.shape[1] + 1), dtype=np.float64)
    c[1:, 1:] = np.cumsum(np.cumsum(a, axis=0), axis=1)
    return c[size:, size:] - c[:-size, size:] - c[size:, :-size] + c[:-size, :-size]


def _grow(mask: np.ndarray, margin: int) -> np.ndarray:
    if margin <= 0 or not mask.any():
        return mask.copy()
    out = mask.copy()
    h, w = mask.shape
    for dr in range(-margin, margin + 1):
        for dc in range(-margin, margin + 1):
            src = mask[max(0, -dr) : h - max(0, dr), max(0, -dc) : w - max(0, dc)]
            out[max(0, dr) : h - max(0, -dr), max(0, dc) : w - max(0, -dc)] |= src
    return out


@dataclass(frozen=True)
class _Candidates:
    """The squares' top-left corners, ``(H - size + 1, W - size + 1)`` arrays each."""

    on_free_pixels: np.ndarray  # bool: every pixel predicted (valid) and away from the labels
    allowed: np.ndarray  # bool: and one predicted class (homogeneous), inside ``candidates``
    score: np.ndarray  # mean uncertainty
    major: np.ndarray  # the most frequent predicted class
    confidence: np.ndarray  # mean probability of the predicted class


def _candidates(
    probs: np.ndarray,
    *,
    valid: Optional[np.ndarray],
    labelled: Optional[np.ndarray],
    candidates: Optional[np.ndarray],
    size: int,
    margin: int,
    method: str,
    homogeneous: bool,
) -> _Candidates:
    """Step 2 of the module docstring, for ``probs`` (K, H, W) with H, W >= ``size``."""
    k, h, w = probs.shape
    ok = np.isfinite(probs).all(axis=0) if valid is None else np.asarray(valid, bool).copy()
    if labelled is not None:
        ok &= ~_grow(np.asarray(labelled, bool), margin)
    unc = np.where(ok, uncertainty(probs, method), 0.0)
    area = float(size * size)
    all_ok = _box_sum(ok.astype(np.float64), size) >= area - 0.5
    score = _box_sum(unc, size) / area
    pred = np.nan_to_num(probs, nan=0.0).argmax(axis=0)
    conf = np.nan_to_num(probs, nan=0.0).max(axis=0)
    counts = np.stack([_box_sum((pred == c).astype(np.float64), size) for c in range(k)])
    allowed = all_ok.copy()
    if homogeneous:
        allowed &= counts.max(axis=0) >= area - 0.5
    if candidates is not None:
        allowed &= np.asarray(candidates, bool)[: h - size + 1, : w - size + 1]
    return _Candidates(all_ok, allowed, score, counts.argmax(axis=0), _box_sum(conf, size) / area)


def _spacing(h: int, w: int, number: int, size: int) -> float:
    """The default spacing (module docstring, step 3)."""
    return max(2.0 * size, math.sqrt(h * w / max(1, number)) / 4.0)


def choose_squares(
    probs: np.ndarray,
    number: int,
    *,
    valid: Optional[np.ndarray] = None,
    labelled: Optional[np.ndarray] = None,
    candidates: Optional[np.ndarray] = None,
    size: int = 5,
    margin: int = 1,
    method: str = "margin",
    homogeneous: bool = True,
    spacing: Optional[float] = None,
    seed: int = 0,
) -> List[Suggestion]:
    """Up to ``number`` squares to label next (see the module docstring).

    ``probs``: (K, H, W) class probabilities (NaN where not predicted); ``valid``: (H, W) bool
    (default: finite probabilities); ``labelled``: (H, W) bool, pixels already labelled;
    ``candidates``: (H, W) bool, allowed top-left corners (e.g. inside known parcels). Fewer
    squares than ``number`` (in a scene that holds one): an ``S4Warning`` says why.
    """
    probs = np.asarray(probs, dtype=np.float64)
    k, h, w = probs.shape
    if number < 1 or h < size or w < size:
        return []
    cand = _candidates(
        probs, valid=valid, labelled=labelled, candidates=candidates, size=size, margin=margin,
        method=method, homogeneous=homogeneous,
    )  # fmt: skip
    score, major, allowed, mean_conf = cand.score, cand.major, cand.allowed, cand.confidence
    rng = np.random.default_rng(seed)
    jitter = rng.random(score.shape) * 1e-9
    keyed = np.where(allowed, score + jitter, -np.inf)
    why = "" if spacing is not None else " (at least twice their side)"
    spacing = float(_spacing(h, w, number, size) if spacing is None else spacing)
    rad = int(math.ceil(spacing))
    # per class: candidates sorted by score (descending)
    queues: Dict[int, np.ndarray] = {}
    for c in range(k):
        idx = np.flatnonzero((major == c).ravel() & np.isfinite(keyed.ravel()))
        if idx.size:
            queues[c] = idx[np.argsort(-keyed.ravel()[idx], kind="stable")]
    pos = {c: 0 for c in queues}
    order = [int(c) for c in rng.permutation(sorted(queues))]
    blocked = np.zeros(score.shape, bool)
    chosen: List[Suggestion] = []
    ncol = score.shape[1]
    while len(chosen) < number and order:
        for c in list(order):
            if len(chosen) >= number:
                break
            q = queues[c]
            while pos[c] < q.size and blocked.flat[q[pos[c]]]:
                pos[c] += 1
            if pos[c] >= q.size:
                order.remove(c)
                continue
            i = int(q[pos[c]])
            r, col = divmod(i, ncol)
            chosen.append(
                Suggestion(
                    int(r),
                    int(col),
                    int(size),
                    round(float(score[r, col]), 6),
                    int(c),
                    round(float(mean_conf[r, col]), 6),
                )  # fmt: skip
            )
            r0, r1 = max(0, r - rad), min(score.shape[0], r + rad + 1)
            c0, c1 = max(0, col - rad), min(ncol, col + rad + 1)
            yy, xx = np.ogrid[r0:r1, c0:c1]
            blocked[r0:r1, c0:c1] |= (yy - r) ** 2 + (xx - col) ** 2 <= spacing**2
    if len(chosen) < number:
        found = len(chosen)
        rules = [r for r, on in (("inside one predicted class", homogeneous),
                                 ("in the allowed area", candidates is not None)) if on]  # fmt: skip
        warn(
            f"only {found} of the {number} squares asked for were found: a {size} x {size} px "
            f"square has {allowed.size} positions in the {w} x {h} px scene, "
            f"{int(cand.on_free_pixels.sum())} of them on predicted pixels away from the labels, "
            f"{int(allowed.sum())} of those {' and '.join(rules) or 'usable'}; and the squares "
            f"keep {spacing:.0f} px apart{why} to spread over the scene, so only {found} fit"
        )
    return chosen

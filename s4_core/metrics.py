"""Segmentation scores: confusion matrix, overall accuracy, per-class IoU and mIoU.

Conventions (one for the whole engine):

- The confusion matrix has rows = truth, columns = prediction, ``int64`` counts.
- Pixels whose truth OR prediction is ``IGNORE_INDEX`` (255: unlabelled / nodata) are not
  counted. A labelled pixel the model left as nodata therefore does not lower the scores;
  ``inference.evaluate`` reports how many such pixels there were.
- IoU of class k = TP / (TP + FP + FN). A class absent from both truth and prediction has no
  IoU (``None``); mIoU is the mean over the classes present in truth or prediction.
- Overall accuracy = trace / total. With nothing counted, ``oa`` and ``miou`` are ``None``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Union

import numpy as np

if TYPE_CHECKING:
    import torch

IGNORE_INDEX = 255  # same value as labels.IGNORE_INDEX (kept here so metrics need no labels)

__all__ = ["IGNORE_INDEX", "ConfusionAccumulator", "confusion_matrix", "scores"]

ArrayOrTensor = Union[np.ndarray, "torch.Tensor"]


def _as_array(x: ArrayOrTensor) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor, without importing torch
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def confusion_matrix(
    pred: ArrayOrTensor, truth: ArrayOrTensor, n_classes: int, ignore: Optional[int] = IGNORE_INDEX
) -> np.ndarray:
    """(n_classes, n_classes) int64 counts, rows = truth, columns = prediction.

    ``pred`` and ``truth`` are integer arrays (numpy or torch) of the same shape. Pixels where
    either equals ``ignore`` are skipped; any other value outside ``0..n_classes-1`` is a
    ``ValueError``.
    """
    p = _as_array(pred)
    t = _as_array(truth)
    if p.shape != t.shape:
        raise ValueError(f"prediction shape {p.shape} differs from truth shape {t.shape}")
    if n_classes < 1:
        raise ValueError(f"n_classes must be >= 1, not {n_classes}")
    p = p.ravel().astype(np.int64, copy=False)
    t = t.ravel().astype(np.int64, copy=False)
    if ignore is not None:
        keep = (p != ignore) & (t != ignore)
        p = p[keep]
        t = t[keep]
    for name, a in (("prediction", p), ("truth", t)):
        if a.size and (a.min() < 0 or a.max() >= n_classes):
            bad = a[(a < 0) | (a >= n_classes)][0]
            raise ValueError(f"{name} holds class {bad}, outside 0..{n_classes - 1}")
    counts = np.bincount(t * n_classes + p, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64, copy=False)


def scores(cm: np.ndarray, class_names: Optional[Sequence[str]] = None) -> Dict:
    """Scores of a confusion matrix (rows truth, columns prediction).

    Returns ``{"oa", "miou", "iou": [per class or None], "per_class": {name: iou or None},
    "support": [truth pixels per class], "predicted": [predicted pixels per class],
    "n_pixels", "n_present"}``. JSON-friendly (plain floats, ints, lists, ``None``).
    """
    cm = np.asarray(cm, dtype=np.int64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square, not {cm.shape}")
    k = cm.shape[0]
    names = [str(n) for n in class_names] if class_names is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise ValueError(f"{len(names)} class names for a {k}-class confusion matrix")
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    union = support + predicted - tp
    total = int(cm.sum())
    iou: List[Optional[float]] = [
        float(tp[i] / union[i]) if union[i] > 0 else None for i in range(k)
    ]
    present = [v for v in iou if v is not None]
    return {
        "oa": float(tp.sum() / total) if total > 0 else None,
        "miou": float(np.mean(present)) if present else None,
        "iou": iou,
        "per_class": dict(zip(names, iou)),
        "support": [int(s) for s in support],
        "predicted": [int(s) for s in predicted],
        "n_pixels": total,
        "n_present": len(present),
    }


class ConfusionAccumulator:
    """Sums confusion matrices over batches: ``acc.update(pred, truth)``, then ``acc.scores()``."""

    def __init__(self, n_classes: int, ignore: Optional[int] = IGNORE_INDEX) -> None:
        self.n_classes = int(n_classes)
        self.ignore = ignore
        self.matrix = np.zeros((self.n_classes, self.n_classes), dtype=np.int64)

    def update(self, pred: ArrayOrTensor, truth: ArrayOrTensor) -> np.ndarray:
        """Add one batch; returns that batch's confusion matrix."""
        cm = confusion_matrix(pred, truth, self.n_classes, ignore=self.ignore)
        self.matrix += cm
        return cm

    def reset(self) -> None:
        """Forget every batch added so far."""
        self.matrix[:] = 0

    def scores(self, class_names: Optional[Sequence[str]] = None) -> Dict:
        """The scores of the accumulated matrix (see :func:`scores`)."""
        return scores(self.matrix, class_names)

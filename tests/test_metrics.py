"""Metrics against slow pure-Python references."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from s4_core.metrics import IGNORE_INDEX, ConfusionAccumulator, confusion_matrix, scores


def _slow_cm(pred, truth, k, ignore=255):
    cm = [[0] * k for _ in range(k)]
    for p, t in zip(np.asarray(pred).ravel().tolist(), np.asarray(truth).ravel().tolist()):
        if p == ignore or t == ignore:
            continue
        cm[t][p] += 1
    return cm


def _slow_scores(cm):
    k = len(cm)
    total = sum(sum(r) for r in cm)
    correct = sum(cm[i][i] for i in range(k))
    ious = []
    for i in range(k):
        tp = cm[i][i]
        fn = sum(cm[i]) - tp
        fp = sum(cm[r][i] for r in range(k)) - tp
        ious.append(tp / (tp + fp + fn) if tp + fp + fn else None)
    present = [v for v in ious if v is not None]
    return correct / total, sum(present) / len(present), ious


def _random_maps(rng, k, shape, p_ignore=0.2):
    truth = rng.integers(0, k, size=shape).astype(np.uint8)
    pred = np.where(rng.random(shape) < 0.6, truth, rng.integers(0, k, size=shape)).astype(np.uint8)
    truth[rng.random(shape) < p_ignore] = IGNORE_INDEX
    pred[rng.random(shape) < 0.05] = IGNORE_INDEX
    return pred, truth


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_confusion_matrix_and_scores_match_slow_reference(seed):
    rng = np.random.default_rng(seed)
    k = 5
    pred, truth = _random_maps(rng, k, (37, 29))
    cm = confusion_matrix(pred, truth, k)
    assert cm.dtype == np.int64
    assert cm.tolist() == _slow_cm(pred, truth, k)
    oa, miou, ious = _slow_scores(cm.tolist())
    s = scores(cm, [f"c{i}" for i in range(k)])
    assert s["oa"] == pytest.approx(oa)
    assert s["miou"] == pytest.approx(miou)
    for a, b in zip(s["iou"], ious):
        assert a == pytest.approx(b)
    assert s["per_class"]["c3"] == pytest.approx(ious[3])
    assert s["support"] == [sum(r) for r in cm.tolist()]
    json.dumps(s)  # JSON-friendly


def test_rows_are_truth_and_columns_prediction():
    truth = np.array([0, 0, 0, 1])
    pred = np.array([1, 1, 0, 1])
    cm = confusion_matrix(pred, truth, 2)
    assert cm.tolist() == [[1, 2], [0, 1]]
    s = scores(cm)
    assert s["oa"] == pytest.approx(0.5)
    assert s["iou"] == pytest.approx([1 / 3, 1 / 3])


def test_miou_is_over_classes_present_in_truth_or_prediction():
    # class 2 appears nowhere: no IoU, not averaged; class 1 only predicted: IoU 0, averaged.
    truth = np.array([0, 0, 0, 0])
    pred = np.array([0, 0, 0, 1])
    s = scores(confusion_matrix(pred, truth, 3), ["a", "b", "c"])
    assert s["iou"] == [pytest.approx(0.75), 0.0, None]
    assert s["per_class"] == {"a": pytest.approx(0.75), "b": 0.0, "c": None}
    assert s["miou"] == pytest.approx(0.375)
    assert s["n_present"] == 2


def test_ignore_index_in_truth_or_prediction_is_not_counted():
    truth = np.array([255, 1, 1, 0])
    pred = np.array([0, 255, 1, 0])
    cm = confusion_matrix(pred, truth, 2)
    assert cm.sum() == 2 and cm.tolist() == [[1, 0], [0, 1]]


def test_empty_matrix_has_no_scores():
    s = scores(np.zeros((3, 3), dtype=np.int64))
    assert s["oa"] is None and s["miou"] is None and s["iou"] == [None, None, None]


def test_out_of_range_class_is_an_error():
    with pytest.raises(ValueError, match="class 7"):
        confusion_matrix(np.array([7]), np.array([0]), 3)
    with pytest.raises(ValueError, match="shape"):
        confusion_matrix(np.zeros(3), np.zeros(4), 3)
    with pytest.raises(ValueError, match="2 class names"):
        scores(np.zeros((3, 3)), ["a", "b"])


def test_accumulating_over_batches_equals_one_big_matrix_and_accepts_tensors():
    rng = np.random.default_rng(5)
    k = 4
    preds, truths = zip(*[_random_maps(rng, k, (3, 8, 8)) for _ in range(5)])
    acc = ConfusionAccumulator(k)
    for p, t in zip(preds, truths):
        acc.update(torch.from_numpy(p), torch.from_numpy(t))
    whole = confusion_matrix(np.concatenate(preds), np.concatenate(truths), k)
    assert np.array_equal(acc.matrix, whole)
    assert acc.scores()["miou"] == pytest.approx(scores(whole)["miou"])
    acc.reset()
    assert acc.matrix.sum() == 0

"""Crop windows: random space-time crops and windows covering every labelled pixel."""

from __future__ import annotations

import numpy as np
import pytest

from s4_core.labels import IGNORE_INDEX
from s4_core.sampling import (
    crop,
    label_windows,
    padding,
    random_label_windows,
    random_time_crop,
    random_windows,
)


def inside(win, h, w) -> bool:
    r, c, wh, ww = win
    return r >= 0 and c >= 0 and r + wh <= h and c + ww <= w and wh > 0 and ww > 0


def coverage(windows, shape) -> np.ndarray:
    cov = np.zeros(shape, dtype=bool)
    for r, c, h, w in windows:
        cov[r : r + h, c : c + w] = True
    return cov


def test_random_windows_inside_reproducible_and_spread():
    rng = np.random.default_rng(3)
    wins = random_windows(50, 70, 16, 400, rng)
    assert len(wins) == 400 and all(inside(w, 50, 70) and w[2:] == (16, 16) for w in wins)
    rows = {w[0] for w in wins}
    cols = {w[1] for w in wins}
    assert min(rows) == 0 and max(rows) == 50 - 16  # every start position is reachable
    assert min(cols) == 0 and max(cols) == 70 - 16
    again = random_windows(50, 70, 16, 400, np.random.default_rng(3))
    assert again == wins
    assert random_windows(50, 70, 16, 400, np.random.default_rng(4)) != wins
    assert random_windows(50, 70, 16, 0, rng) == []


def test_small_grid_clamps_and_crop_pads():
    rng = np.random.default_rng(0)
    wins = random_windows(10, 40, 16, 20, rng)
    assert all(w[0] == 0 and w[2] == 10 and w[3] == 16 and inside(w, 10, 40) for w in wins)
    assert random_windows(5, 7, 16, 3, rng) == [(0, 0, 5, 7)] * 3
    win = (0, 0, 5, 7)
    assert padding(win, 16) == (11, 9)
    x = np.arange(2 * 3 * 5 * 7, dtype=np.float32).reshape(2, 3, 5, 7)  # (T, C, H, W)
    out = crop(x, win, size=16, fill=-1)
    assert out.shape == (2, 3, 16, 16)
    np.testing.assert_array_equal(out[..., :5, :7], x)
    assert (out[..., 5:, :] == -1).all() and (out[..., :, 7:] == -1).all()
    valid = crop(np.ones((5, 7), bool), win, size=16, fill=False)
    assert valid.sum() == 35
    # both modalities cut at the same place
    s1 = np.random.default_rng(1).normal(size=(4, 2, 30, 30))
    s2 = np.random.default_rng(2).normal(size=(6, 10, 30, 30))
    w = (3, 9, 16, 16)
    assert crop(s1, w).shape == (4, 2, 16, 16) and crop(s2, w).shape == (6, 10, 16, 16)
    np.testing.assert_array_equal(crop(s2, w)[:, :, 0, 0], s2[:, :, 3, 9])
    with pytest.raises(ValueError, match="does not lie inside"):
        crop(s1, (20, 20, 16, 16))


def test_random_time_crop():
    rng = np.random.default_rng(5)
    starts = set()
    for _ in range(300):
        idx = random_time_crop(20, 8, rng)
        assert len(idx) == 8 and idx[0] >= 0 and idx[-1] <= 19
        assert np.all(np.diff(idx) == 1)
        starts.add(int(idx[0]))
    assert starts == set(range(13))
    np.testing.assert_array_equal(random_time_crop(5, 8, rng), np.arange(5))
    a = random_time_crop(50, 10, np.random.default_rng(9))
    np.testing.assert_array_equal(a, random_time_crop(50, 10, np.random.default_rng(9)))
    with pytest.raises(ValueError):
        random_time_crop(0, 4, rng)
    with pytest.raises(ValueError):
        random_time_crop(10, 0, rng)


@pytest.mark.parametrize("size", [4, 7, 16, 64])
@pytest.mark.parametrize("jitter", [False, True])
def test_label_windows_cover_every_labelled_pixel(size, jitter):
    rng = np.random.default_rng(size + 10 * jitter)
    for trial in range(6):
        h, w = rng.integers(5, 45, size=2)
        labels = np.full((h, w), IGNORE_INDEX, dtype=np.uint8)
        # a few rectangles and scattered pixels of random classes
        for _ in range(int(rng.integers(0, 5))):
            r0, c0 = rng.integers(0, h), rng.integers(0, w)
            labels[r0 : r0 + rng.integers(1, 12), c0 : c0 + rng.integers(1, 12)] = rng.integers(5)
        sparse = rng.random((h, w)) < 0.02
        labels[sparse] = 3
        wins = label_windows(labels, size, rng=rng if jitter else None, jitter=jitter)
        labelled = labels != IGNORE_INDEX
        assert not (labelled & ~coverage(wins, labels.shape)).any(), (size, trial)
        hh, ww = min(size, h), min(size, w)
        for win in wins:
            assert inside(win, h, w) and win[2:] == (hh, ww)
            r, c = win[:2]
            assert labelled[r : r + hh, c : c + ww].any()  # no empty window
        if not labelled.any():
            assert wins == []


def test_label_windows_centre_a_small_polygon_and_count():
    labels = np.full((100, 100), IGNORE_INDEX, dtype=np.uint8)
    labels[40:46, 50:58] = 2  # 6 x 8 polygon
    (win,) = label_windows(labels, 32)
    r, c, h, w = win
    assert (h, w) == (32, 32)
    # centred: the polygon's margins inside the window differ by at most one pixel
    assert abs((40 - r) - (r + h - 46)) <= 1 and abs((50 - c) - (c + w - 58)) <= 1
    # one big block is covered by about area / size^2 windows
    labels[:] = IGNORE_INDEX
    labels[10:74, 20:84] = 1
    wins = label_windows(labels, 32)
    assert len(wins) == 4
    with pytest.raises(ValueError, match="rng"):
        label_windows(labels, 32, jitter=True)
    ignore0 = np.zeros((8, 8), dtype=np.uint8)
    ignore0[2, 3] = 1
    assert label_windows(ignore0, 4, ignore=0) == [(1, 2, 4, 4)]  # centred: 1 px up and left


def test_label_windows_reproducible_with_jitter():
    labels = np.full((60, 60), IGNORE_INDEX, dtype=np.uint8)
    labels[5:9, 5:9] = 0
    labels[30:50, 10:12] = 1
    a = label_windows(labels, 16, rng=np.random.default_rng(1), jitter=True)
    b = label_windows(labels, 16, rng=np.random.default_rng(1), jitter=True)
    assert a == b


def test_random_label_windows_contain_labels():
    labels = np.full((40, 50), IGNORE_INDEX, dtype=np.uint8)
    labels[35:38, 45:49] = 1
    labels[2, 3] = 0
    wins = random_label_windows(labels, 16, 200, np.random.default_rng(0))
    assert len(wins) == 200
    for r, c, h, w in wins:
        assert inside((r, c, h, w), 40, 50)
        assert (labels[r : r + h, c : c + w] != IGNORE_INDEX).any()
    assert random_label_windows(np.full((5, 5), IGNORE_INDEX), 4, 3, np.random.default_rng(0)) == []


def test_balanced_label_windows_visit_a_tiny_class_as_often_as_a_large_one():
    labels = np.full((64, 64), IGNORE_INDEX, dtype=np.uint8)
    labels[:, :40] = 0  # a large class
    labels[60, 60] = 1  # a single labelled pixel of another class
    n = 400

    def share_with_tiny(balanced):
        wins = random_label_windows(labels, 8, n, np.random.default_rng(1), balanced=balanced)
        assert len(wins) == n and all(inside(w, 64, 64) for w in wins)
        return np.mean([(labels[r : r + h, c : c + w] == 1).any() for r, c, h, w in wins])

    assert share_with_tiny(False) < 0.02  # 1 pixel of 2561: almost never drawn
    assert 0.4 < share_with_tiny(True) < 0.6  # class drawn first: about half the windows

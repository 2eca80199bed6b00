"""Monthly composites: periods, medians against a slow reference, gap filling, the scene view."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import torch

from s4_core.composite import (
    CompositeScene,
    as_model_input,
    composite,
    fill_gaps,
    match_periods,
    period_index,
    period_starts,
)
from s4_core.errors import DataError


def test_periods_cover_the_dates_on_calendar_months():
    starts = period_starts(dt.date(2017, 11, 20), dt.date(2018, 2, 1))
    assert starts == [dt.date(2017, 11, 1), dt.date(2017, 12, 1), dt.date(2018, 1, 1),
                      dt.date(2018, 2, 1)]  # fmt: skip
    two = period_starts(dt.date(2018, 1, 5), dt.date(2018, 6, 30), months=2)
    assert two == [dt.date(2018, 1, 1), dt.date(2018, 3, 1), dt.date(2018, 5, 1)]
    dates = [dt.date(2017, 12, 31), dt.date(2018, 1, 1), dt.date(2018, 7, 1), dt.date(2017, 1, 1)]
    assert period_index(dates, two).tolist() == [-1, 0, -1, -1]
    with pytest.raises(DataError, match="month"):
        period_starts(dt.date(2018, 1, 1), dt.date(2018, 2, 1), months=0)


def test_composite_is_the_per_pixel_median_of_the_valid_values():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(9, 2, 4, 5)).astype(np.float32)
    x[rng.random(x.shape) < 0.3] = np.nan
    x[:, :, 0, 0] = np.nan  # never valid
    index = np.array([0, 0, 0, 1, 1, -1, 2, 2, 2])
    out = composite(x, index, 4)
    for p in range(4):
        for c in range(2):
            for i in range(4):
                for j in range(5):
                    vals = x[index == p, c, i, j]
                    vals = vals[np.isfinite(vals)]
                    ref = np.median(vals) if vals.size else np.nan
                    np.testing.assert_allclose(out[p, c, i, j], ref, rtol=1e-6)
    assert np.isnan(out[3]).all()  # a period without dates


def test_gaps_are_filled_linearly_and_by_the_nearest_period_at_the_ends():
    s = np.full((5, 1, 1, 2), np.nan, np.float32)
    s[1, 0, 0, 0], s[4, 0, 0, 0] = 1.0, 4.0
    filled, observed = fill_gaps(s)
    np.testing.assert_allclose(filled[:, 0, 0, 0], [1.0, 1.0, 2.0, 3.0, 4.0])
    assert np.isnan(filled[:, 0, 0, 1]).all()  # never observed stays NaN
    assert observed[:, 0, 0].tolist() == [False, True, False, False, True]


def test_model_periods_move_by_whole_years_onto_another_season():
    periods = [dt.date(2018, m, 1) for m in range(3, 9)]
    dates = [dt.date(2020, m, 15) for m in range(1, 12)]
    assert match_periods(periods, dates) == [dt.date(2020, m, 1) for m in range(3, 9)]
    same = [dt.date(2018, 5, 2)]
    assert match_periods(periods, same) == periods


def test_composite_scene_reads_aligned_filled_frames(tiny_demo):
    from s4_core import api

    scene = api.open_scene(str(tiny_demo.s1_dir), str(tiny_demo.s2_dir))
    comp = as_model_input(scene, 1)
    assert isinstance(comp, CompositeScene) and as_model_input(scene, 0) is scene
    data = comp.read()
    t = comp.n_frames
    assert data["s1"].shape[0] == data["s2"].shape[0] == t == len(comp.dates)
    assert data["frame_valid"].all()
    assert np.isfinite(data["s2"]).all() and data["s2_valid"].all()
    # an unfilled period composite equals the median of that period's acquisitions
    p = int(np.argmax([comp.acquisitions_in("s2", i).size for i in range(t)]))
    values, valid = comp.read_acquisition("s2", p)
    stack = np.stack(
        [scene.read_acquisition("s2", int(i))[0] for i in comp.acquisitions_in("s2", p)]
    )
    oks = np.stack([scene.read_acquisition("s2", int(i))[1] for i in comp.acquisitions_in("s2", p)])
    stack[~np.broadcast_to(oks[:, None], stack.shape)] = np.nan
    ref = composite(stack, np.zeros(len(stack), dtype=np.int64), 1)[0]
    np.testing.assert_allclose(values[:, valid], ref[:, valid], rtol=1e-6)
    # a window reads the same pixels as the whole grid
    win = comp.grid.window(3, 5, 10, 12)
    part = comp.read(win, modalities=["s2"])
    np.testing.assert_allclose(part["s2"], data["s2"][:, :, 3:13, 5:17], rtol=1e-6)


def test_edge_aware_smoothing_keeps_labels_on_their_side_of_an_edge():
    from s4_core.model import edge_aware_smooth

    guide = torch.zeros(1, 3, 8, 8)
    guide[:, :, :, 4:] = 10.0  # a sharp field edge between columns 3 and 4
    probs = torch.zeros(1, 2, 8, 8)
    probs[:, 0, :, :4] = 1.0
    probs[:, 1, :, 4:] = 1.0
    probs[:, :, 2, 1] = torch.tensor([0.2, 0.8])  # one noisy pixel inside the left field
    out = edge_aware_smooth(probs, guide, iters=5, sigma=1.0)
    assert out.argmax(1)[0, :, :4].eq(0).all() and out.argmax(1)[0, :, 4:].eq(1).all()
    torch.testing.assert_close(out.sum(1), torch.ones(1, 8, 8))
    flat = edge_aware_smooth(probs, torch.zeros(1, 3, 8, 8), iters=1, sigma=1.0)
    box = torch.nn.functional.avg_pool2d(
        torch.nn.functional.pad(probs, (1, 1, 1, 1), mode="replicate"), 3, stride=1
    )
    torch.testing.assert_close(flat, box)  # a uniform guide is a 3 x 3 mean

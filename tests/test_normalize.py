"""Per-band statistics: streaming vs a direct reference, masks, serialisation, application."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from affine import Affine
from rasters import write_tif

from s4_core.align import build_scene
from s4_core.control import Control
from s4_core.errors import DataError
from s4_core.normalize import BandStats, RunningStats, compute_band_stats
from s4_core.series import open_series


def reference_stats(x, valid):
    """Two-pass float64 mean/std over valid pixels: x (T, C, H, W), valid (T, H, W)."""
    vals = x.transpose(1, 0, 2, 3)[:, valid].astype(np.float64)
    return vals.mean(axis=1), vals.std(axis=1)


def test_running_stats_match_two_pass_reference_with_masks():
    rng = np.random.default_rng(0)
    x = rng.normal([[[[3.0]], [[-20.0]]]], [[[[0.5]], [[4.0]]]], (6, 2, 17, 13))
    valid = rng.random((6, 17, 13)) > 0.3
    x[~np.broadcast_to(valid[:, None], x.shape)] = 1e6  # masked values must not leak in
    rs = RunningStats(["a", "b"])
    for t in range(6):  # streamed frame by frame, and in uneven spatial chunks
        rs.update(x[t, :, :5], valid[t, :5])
        rs.update(x[t, :, 5:], valid[t, 5:])
    mean, std = reference_stats(x, valid)
    res = rs.result()
    np.testing.assert_allclose(res.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(res.std, std, rtol=1e-10)
    assert res.count.tolist() == [valid.sum()] * 2


def test_running_stats_weights_and_nan():
    x = np.array([[[[1.0, 2.0, np.nan]]], [[[5.0, 5.0, 5.0]]]])  # (T=2, C=1, 1, 3)
    rs = RunningStats(["b"])
    rs.update(x[0])  # NaN pixel ignored
    rs.update(x[1], weight=2)
    vals = np.array([1.0, 2.0] + [5.0] * 6)
    res = rs.result()
    assert res.mean[0] == pytest.approx(vals.mean()) and res.std[0] == pytest.approx(vals.std())


def test_running_stats_are_stable_with_a_large_offset():
    rng = np.random.default_rng(1)
    x = 1e8 + rng.normal(0, 1e-3, (1, 1, 200, 200))
    rs = RunningStats(["b"])
    for row in range(0, 200, 7):
        rs.update(x[:, :, row : row + 7])
    assert rs.result().std[0] == pytest.approx(x.std(), rel=1e-3)


def test_no_valid_pixels_raises():
    rs = RunningStats(["b"])
    rs.update(np.zeros((1, 4, 4)), np.zeros((4, 4), bool))
    with pytest.raises(DataError, match="no valid pixels"):
        rs.result()


def test_band_stats_apply_and_json_round_trip():
    stats = BandStats(["B02", "B03"], [0.1, 0.2], [0.05, 0.0])  # zero std -> scaled by 1
    x = np.full((2, 3, 2, 4, 4), 0.2, np.float32)  # (B, T, C, H, W)
    valid = np.ones((2, 3, 4, 4), bool)
    valid[1, 2, 0, 0] = False
    out = stats.apply(x, valid)
    assert out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_allclose(out[0, 0, 0], 2.0, rtol=1e-6)
    np.testing.assert_allclose(out[0, 0, 1], 0.0, atol=1e-7)
    assert (out[1, 2, :, 0, 0] == 0).all()
    again = BandStats.from_dict(json.loads(json.dumps(stats.to_dict())))
    assert again.band_names == stats.band_names
    np.testing.assert_array_equal(again.mean, stats.mean)
    np.testing.assert_array_equal(again.std, stats.std)
    np.testing.assert_array_equal(again.apply(x, valid), out)
    with pytest.raises(DataError, match="bands differ"):
        stats.apply(np.zeros((3, 5, 4, 4)))


def test_band_stats_apply_in_place_gives_the_same_values():
    rng = np.random.default_rng(0)
    stats = BandStats(["B02", "B03", "B04"], [0.1, 0.2, 0.3], [0.05, 0.1, 0.0])
    x = rng.normal(0.2, 0.1, (5, 3, 6, 7)).astype(np.float32)
    x[1, 2, 3, 4] = np.nan
    valid = rng.random((5, 6, 7)) > 0.2
    ref = stats.apply(x, valid)
    same = stats.apply(x, valid, inplace=True)
    assert same is x  # no copy
    np.testing.assert_array_equal(same, ref)
    ints = (rng.random((5, 3, 6, 7)) * 1000).astype(np.uint16)  # not float32: a copy
    out = stats.apply(ints, None, inplace=True)
    assert out.dtype == np.float32 and ints.dtype == np.uint16
    np.testing.assert_array_equal(out, stats.apply(ints))


@pytest.fixture()
def scene(tmp_path):
    rng = np.random.default_rng(3)
    (tmp_path / "S2").mkdir()
    (tmp_path / "S1").mkdir()
    for i, day in enumerate((0, 10, 20)):
        dn = rng.integers(100, 5000, (2, 20, 20)).astype(np.uint16)
        dn[:, : i * 3, :] = 0  # nodata rows
        write_tif(
            tmp_path / "S2" / f"S2_{dt.date(2020, 1, 1) + dt.timedelta(day):%Y%m%d}.tif",
            dn,
            descriptions=["B04", "B08"],
            nodata=0,
        )
    for day in (1, 2, 19, 30):
        vv = rng.normal(-12, 3, (2, 10, 10)).astype(np.float32)
        write_tif(
            tmp_path / "S1" / f"S1_{dt.date(2020, 1, 1) + dt.timedelta(day):%Y%m%d}.tif",
            vv,
            descriptions=["VV", "VH"],
            nodata=np.nan,
            transform=Affine(20, 0, 500003, 0, -20, 5600005),
            tags={"UNITS": "dB"},
        )
    # S2 (3 dates) is the reference; its days 0, 10, 20 take S1 of days 1, 2 (8 < 9), 19
    return build_scene(open_series(tmp_path / "S1"), open_series(tmp_path / "S2"))


@pytest.mark.parametrize("modality", ["s1", "s2"])
def test_compute_band_stats_equals_the_aligned_frames_reference(scene, modality):
    out = scene.read(modalities=[modality])
    mean, std = reference_stats(out[modality], out[modality + "_valid"])
    calls = []
    progress = Control(progress=lambda f, m, *a: calls.append(f))
    stats = compute_band_stats(scene, modality, block=7, control=progress)
    assert stats.band_names == scene.series(modality).band_names
    np.testing.assert_allclose(stats.mean, mean, rtol=1e-9)
    np.testing.assert_allclose(stats.std, std, rtol=1e-9)
    assert calls[-1] == pytest.approx(1.0)


def test_compute_band_stats_skips_invalid_frames(tmp_path, scene):
    scene2 = build_scene(scene.s1, scene.s2, max_gap_days=1)  # frame 1 has an 8-day gap
    assert scene2.frame_valid.tolist() == [True, False, True]
    for m in ("s1", "s2"):
        out = scene2.read(modalities=[m], frames=[0, 2])
        mean, std = reference_stats(out[m], out[m + "_valid"])
        stats = compute_band_stats(scene2, m)
        np.testing.assert_allclose(stats.mean, mean, rtol=1e-9)
        np.testing.assert_allclose(stats.std, std, rtol=1e-9)
        assert not np.allclose(stats.mean, compute_band_stats(scene, m).mean)


@pytest.mark.realdata
def test_flanders_s2_band_stats(flanders):
    scene = build_scene(s2=open_series(flanders / "S2"))
    frames = np.arange(0, 118, 9)
    out = scene.read(frames=frames)
    mean, std = reference_stats(out["s2"], out["s2_valid"])
    stats = compute_band_stats(scene, "s2", frames=frames, block=40)
    np.testing.assert_allclose(stats.mean, mean, rtol=1e-9)
    np.testing.assert_allclose(stats.std, std, rtol=1e-9)
    assert (0.0 < stats.mean).all() and (stats.mean < 0.5).all()

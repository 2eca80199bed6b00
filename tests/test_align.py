"""Spatial and temporal alignment, Scene reads, aligned GeoTIFF stacks and ``s4 align``."""

from __future__ import annotations

import csv
import datetime as dt
import json
import warnings

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.warp import Resampling, calculate_default_transform, reproject
from rasters import X0, Y0, write_tif

from s4_core import align as align_mod
from s4_core.align import (
    DATES_CSV_COLUMNS,
    align_in_time,
    build_scene,
    fixed_length_indices,
    percentile_length,
    read_dates_csv,
    write_aligned,
)
from s4_core.cli import main
from s4_core.control import Control
from s4_core.errors import Cancelled, DataError
from s4_core.grid import Grid
from s4_core.series import open_series


def d(day: int) -> dt.date:
    return dt.date(2020, 1, 1) + dt.timedelta(days=day)


S2_DAYS = [0, 10, 20, 30, 40]
S1_DAYS = [1, 6, 12, 18, 24, 30, 36, 45]


@pytest.fixture()
def pair(tmp_path):
    """S2: 40 x 40 px at 10 m (3 bands + SCL); S1: 24 x 24 px at 20 m on a shifted grid."""
    rng = np.random.default_rng(0)
    s2_dir, s1_dir = tmp_path / "S2", tmp_path / "S1"
    s2_dir.mkdir()
    s1_dir.mkdir()
    for i, day in enumerate(S2_DAYS):
        dn = rng.integers(200, 3000, (3, 40, 40)).astype(np.uint16)
        scl = np.full((1, 40, 40), 4, np.uint16)
        scl[0, :i, :] = 9  # i cloudy rows
        dn[:, 39, 39] = 0  # one nodata pixel
        write_tif(
            s2_dir / f"S2_{d(day):%Y%m%d}.tif",
            np.concatenate([dn, scl]),
            descriptions=["B02", "B03", "B04", "SCL"],
            nodata=0,
        )
    yy, xx = np.mgrid[0:24, 0:24]
    for i, day in enumerate(S1_DAYS):
        vv = (-20 + 0.3 * xx + 0.2 * yy + i).astype(np.float32)
        vh = (vv - 7).astype(np.float32)
        write_tif(
            s1_dir / f"S1_{d(day):%Y%m%d}.tif",
            np.stack([vv, vh]),
            descriptions=["VV", "VH"],
            nodata=float("nan"),
            transform=Affine(20, 0, X0 - 37, 0, -20, Y0 + 23),
            tags={"UNITS": "dB"},
        )
    return s1_dir, s2_dir


# ----------------------------------------------------------------------------- temporal
def brute_nearest(ref, other):
    """For each ref date, the nearest other (ties: the earlier date, then the first index)."""
    return [min(range(len(other)), key=lambda j: (abs(other[j] - r), other[j], j)) for r in ref]


@pytest.mark.parametrize("seed", range(20))
def test_nearest_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    a = sorted(rng.choice(200, rng.integers(1, 30), replace=False).tolist())
    b = sorted(rng.choice(200, rng.integers(1, 30), replace=False).tolist())
    al = align_in_time([d(x) for x in a], [d(x) for x in b], max_gap_days=5)
    ref, other, other_idx = (a, b, al.s2_index) if len(a) <= len(b) else (b, a, al.s1_index)
    assert al.reference == ("s1" if len(a) <= len(b) else "s2")
    assert al.dates == [d(x) for x in ref]
    np.testing.assert_array_equal(other_idx, brute_nearest(ref, other))
    np.testing.assert_array_equal(al.gap_days, [abs(other[j] - r) for r, j in zip(ref, other_idx)])
    np.testing.assert_array_equal(al.valid, al.gap_days <= 5)
    np.testing.assert_array_equal(al.index(al.reference), np.arange(len(ref)))


def test_align_in_time_ties_take_the_earlier_and_equal_lengths_keep_s1():
    al = align_in_time([d(1), d(5), d(9)], [d(3), d(7)])
    assert al.reference == "s2"
    np.testing.assert_array_equal(al.s1_index, [0, 1])  # 3 -> 1 (not 5); 7 -> 5 (not 9)
    np.testing.assert_array_equal(al.gap_days, [2, 2])
    al = align_in_time([d(0), d(10)], [d(3), d(6)], max_gap_days=3)
    assert al.reference == "s1" and al.dates == [d(0), d(10)]
    np.testing.assert_array_equal(al.s2_index, [0, 1])
    np.testing.assert_array_equal(al.valid, [True, False])
    with pytest.raises(DataError, match="at least one"):
        align_in_time([], [d(1)])


def test_percentile_length():
    lengths = [10] * 9 + [100]
    assert percentile_length(lengths) == int(np.ceil(np.percentile(lengths, 90))) == 19
    assert percentile_length(lengths, multiple=4) == 20
    assert percentile_length([7]) == 7
    assert percentile_length([3, 5, 8, 13], q=50) == 7  # 6.5 rounded up


def test_fixed_length_indices_modes():
    idx, ok = fixed_length_indices(3, 5)
    np.testing.assert_array_equal(idx, [0, 1, 2, 2, 2])
    np.testing.assert_array_equal(ok, [True, True, True, False, False])
    for mode in ("repeat", "clip"):
        idx, ok = fixed_length_indices(7, 5, mode)
        np.testing.assert_array_equal(idx, [0, 1, 2, 3, 4])
        assert ok.all()
    idx, ok = fixed_length_indices(9, 5, "even")
    np.testing.assert_array_equal(idx, [0, 2, 4, 6, 8])
    assert ok.all()
    idx, ok = fixed_length_indices(100, 7, "even")
    assert idx[0] == 0 and idx[-1] == 99 and len(set(idx)) == 7 and np.all(np.diff(idx) > 0)
    idx, ok = fixed_length_indices(2, 4, "even")
    np.testing.assert_array_equal(idx, [0, 1, 1, 1])
    np.testing.assert_array_equal(ok, [True, True, False, False])
    with pytest.raises(ValueError):
        fixed_length_indices(0, 4)
    with pytest.raises(ValueError):
        fixed_length_indices(4, 4, "pad")


# ----------------------------------------------------------------------------- spatial
def test_default_grid_is_s2_and_same_grid_read_is_exact(pair):
    s1, s2 = open_series(pair[0]), open_series(pair[1])
    scene = build_scene(s1, s2)
    assert scene.grid.same_as(Grid.from_raster(s2.acquisitions[0].path))
    out = scene.read(modalities=["s2"])
    with rasterio.open(s2.acquisitions[2].path) as ds:
        raw = ds.read()
    ok = (raw[:3] != 0).all(0) & ~np.isin(raw[3], (0, 1, 3, 8, 9, 10))
    np.testing.assert_array_equal(out["s2_valid"][2], ok)
    np.testing.assert_allclose(out["s2"][2][:, ok], raw[:3][:, ok] / 10000.0, rtol=1e-6)
    assert (out["s2"][2][:, ~ok] == 0).all()
    assert build_scene(s1=s1).grid.same_as(Grid.from_raster(s1.acquisitions[0].path))


def test_bilinear_resampling_reproduces_a_linear_ramp(pair):
    s1 = open_series(pair[0])
    scene = build_scene(s1, open_series(pair[1]))
    out = scene.read(modalities=["s1"])
    # the S1 ramp in map coordinates: value = -20 + 0.3 col + 0.2 row (+ frame) at pixel centres
    g = scene.grid
    rows, cols = np.mgrid[0 : g.height, 0 : g.width]
    x, y = g.transform * (cols + 0.5, rows + 0.5)
    src_col = (x - (X0 - 37)) / 20 - 0.5
    src_row = ((Y0 + 23) - y) / 20 - 0.5
    frame = 2
    i = scene.frame_index("s1")[frame]
    expect = -20 + 0.3 * src_col + 0.2 * src_row + i
    inner = (src_col > 0.5) & (src_col < 22.5) & (src_row > 0.5) & (src_row < 22.5)
    assert inner.sum() > 1000
    np.testing.assert_allclose(out["s1"][frame, 0][inner], expect[inner], atol=1e-3)
    np.testing.assert_allclose(out["s1"][frame, 1][inner], expect[inner] - 7, atol=1e-3)
    assert out["s1_valid"][frame][inner].all()


def test_scl_is_resampled_nearest(pair):
    s2 = open_series(pair[1])
    scene = build_scene(s2=s2, resolution=15.0)  # no integer relation: forces resampling
    assert scene.grid.res == (15.0, 15.0)
    _, scl = align_mod.read_acquisition(s2, s2.acquisitions[4], scene.grid)
    assert set(np.unique(scl)) <= {4, 9}  # classes are never blended
    cloudy = (scl == 9).mean()
    assert 0.05 < cloudy < 0.15  # 4 of 40 rows
    out = scene.read()
    assert not out["s2_valid"][4][scl == 9].any()


def test_window_reads_only_the_needed_source_window(tmp_path, monkeypatch):
    big = np.random.default_rng(1).normal(-12, 1, (2, 256, 256)).astype(np.float32)
    write_tif(
        tmp_path / "S1_20200101.tif",
        big,
        descriptions=["VV", "VH"],
        nodata=float("nan"),
        transform=Affine(20, 0, X0 + 3, 0, -20, Y0 - 7),
        tags={"UNITS": "dB"},
    )
    s1 = open_series(tmp_path / "S1_20200101.tif")
    grid = Grid.from_bounds("EPSG:32631", (X0, Y0 - 5000, X0 + 5000, Y0), 10)
    scene = build_scene(s1=s1, grid=grid)
    seen = []
    real = align_mod._read_source
    monkeypatch.setattr(
        align_mod, "_read_source", lambda ds, idx, win: seen.append(win) or real(ds, idx, win)
    )
    win = grid.window(200, 300, 16, 16)
    out = scene.read(window=win)
    assert out["s1"].shape == (1, 2, 16, 16) and out["s1_valid"].all()
    assert len(seen) == 1 and seen[0].width <= 20 and seen[0].height <= 20  # not 256 x 256


def test_windowed_reads_equal_the_whole_grid_read(pair):
    scene = build_scene(open_series(pair[0]), open_series(pair[1]))
    whole = scene.read()
    for row, col, win in scene.grid.iter_windows(16):
        part = scene.read(window=win)
        for m in ("s1", "s2"):
            np.testing.assert_allclose(
                part[m], whole[m][..., row : row + win.height, col : col + win.width], atol=1e-5
            )
            np.testing.assert_array_equal(
                part[m + "_valid"],
                whole[m + "_valid"][..., row : row + win.height, col : col + win.width],
            )


def test_window_partly_outside_the_source_is_invalid_there(pair):
    s2 = open_series(pair[1])
    scene = build_scene(s2=s2)
    out = scene.read(window=scene.grid.window(-5, 30, 10, 20))
    assert not out["s2_valid"][:, :5, :].any() and not out["s2_valid"][:, :, 10:].any()
    assert out["s2_valid"][0, 5:, :10].all()


def _shift(img, dy, dx):
    """Bilinear sample of ``img`` at (row + dy, col + dx); NaN outside."""
    h, w = img.shape
    rr, cc = np.mgrid[0:h, 0:w].astype(np.float64)
    y, x = rr + dy, cc + dx
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    wy, wx = y - y0, x - x0
    inside = (y0 >= 0) & (x0 >= 0) & (y0 + 1 < h) & (x0 + 1 < w)
    y0, x0 = np.clip(y0, 0, h - 2), np.clip(x0, 0, w - 2)
    out = (
        img[y0, x0] * (1 - wy) * (1 - wx)
        + img[y0 + 1, x0] * wy * (1 - wx)
        + img[y0, x0 + 1] * (1 - wy) * wx
        + img[y0 + 1, x0 + 1] * wy * wx
    )
    return np.where(inside, out, np.nan)


def estimate_shift(ref, moved, search=1.5):
    """(dy, dx) in pixels such that ``moved`` ~ ``ref`` sampled at (row + dy, col + dx)."""
    best, step, centre = None, 0.1, (0.0, 0.0)
    for span in (search, 0.15):
        grid = np.arange(-span, span + 1e-9, step)
        for dy in grid + centre[0]:
            for dx in grid + centre[1]:
                diff = _shift(ref, dy, dx)[4:-4, 4:-4] - moved[4:-4, 4:-4]
                err = np.nanmean(diff**2)
                if best is None or err < best[0]:
                    best = (err, dy, dx)
        centre, step = (best[1], best[2]), 0.01
    return best[1], best[2]


def _reprojected_copy(src_path, dst_path, dst_crs):
    with rasterio.open(src_path) as src:
        t, w, h = calculate_default_transform(src.crs, dst_crs, src.width, src.height, *src.bounds)
        profile = src.profile.copy()
        profile.update(crs=dst_crs, transform=t, width=w, height=h)
        with rasterio.open(dst_path, "w", **profile) as dst:
            for b in range(1, src.count + 1):
                name = src.descriptions[b - 1]
                reproject(
                    rasterio.band(src, b),
                    rasterio.band(dst, b),
                    resampling=Resampling.nearest if name == "SCL" else Resampling.bilinear,
                )
                dst.set_band_description(b, name)
            dst.update_tags(**src.tags())
    return dst_path


def test_layer_in_another_crs_aligns_back_within_half_a_pixel(tmp_path):
    # a smooth scene with distinctive blobs, 48 x 48 px at 10 m in UTM 31N
    yy, xx = np.mgrid[0:48, 0:48]
    img = (
        2000
        + 1500 * np.exp(-((xx - 17.3) ** 2 + (yy - 29.6) ** 2) / 18)
        + 900 * np.exp(-((xx - 33) ** 2 + (yy - 12) ** 2) / 30)
    )
    data = np.stack([img, img * 0.8 + 100]).astype(np.uint16)
    src = write_tif(
        tmp_path / "S2_20200101.tif",
        data,
        descriptions=["B04", "B08"],
        nodata=0,
        transform=Affine(10, 0, 620000, 0, -10, 5650000),
    )
    grid = Grid.from_raster(src)
    ref = build_scene(s2=open_series(src)).read()["s2"][0, 0]
    for crs in ("EPSG:4326", "EPSG:32632"):
        copy = _reprojected_copy(src, tmp_path / f"copy_{crs[5:]}_20200101.tif", crs)
        moved = build_scene(s2=open_series([copy]), grid=grid).read()
        assert moved["s2_valid"][0, 3:-3, 3:-3].all()
        dy, dx = estimate_shift(ref, moved["s2"][0, 0])
        assert abs(dy) < 0.5 and abs(dx) < 0.5, (crs, dy, dx)
    # the estimator does see a real shift of one pixel
    dy, dx = estimate_shift(ref, _shift(ref, 0.0, 1.0))
    assert abs(dx - 1.0) < 0.05 and abs(dy) < 0.05


def test_series_mixing_north_up_and_south_up_files_reads_them_alike(pair, tmp_path):
    # dates 1 and 3 stored south-up (rows flipped, positive pixel height): same pixels on the map
    flipped = tmp_path / "S2_flipped"
    flipped.mkdir()
    for i, path in enumerate(sorted(pair[1].glob("*.tif"))):
        with rasterio.open(path) as src:
            data, names, tags, nodata = src.read(), src.descriptions, src.tags(), src.nodata
        transform = None
        if i in (1, 3):
            data = data[:, ::-1, :].copy()
            transform = Affine(10, 0, X0, 0, 10, Y0 - 10 * data.shape[1])
        write_tif(flipped / path.name, data, descriptions=names, nodata=nodata, tags=tags,
                  transform=transform)  # fmt: skip
    ref = build_scene(s2=open_series(pair[1])).read()
    for first_south_up in (False, True):
        files = sorted(flipped.glob("*.tif"))
        if first_south_up:  # the grid comes from a south-up file
            files = files[1:]
        got = build_scene(s2=open_series(files)).read()
        # a south-up grid holds the rows bottom first
        for key in ("s2", "s2_valid"):
            want = ref[key][1:, ..., ::-1, :] if first_south_up else ref[key]
            np.testing.assert_allclose(got[key], want, atol=1e-6, err_msg=key)


def test_no_overlap_raises_and_partial_overlap_warns(pair, tmp_path):
    far = tmp_path / "far"
    far.mkdir()
    vv = np.full((2, 8, 8), -10, np.float32)
    write_tif(
        far / "S1_20200105.tif",
        vv,
        descriptions=["VV", "VH"],
        tags={"UNITS": "dB"},
        transform=Affine(20, 0, X0 + 50000, 0, -20, Y0),
    )
    s2 = open_series(pair[1])
    with pytest.raises(DataError, match=r"S1_20200105\.tif does not overlap the reference grid"):
        build_scene(open_series(far), s2)
    with pytest.warns(UserWarning, match="do not overlap"):
        scene = build_scene(
            open_series([*sorted(pair[0].glob("*.tif")), far / "S1_20200105.tif"]), s2
        )
    assert len(scene.s1) == len(S1_DAYS)
    with pytest.raises(DataError, match="does not overlap"):
        build_scene(s2=s2, bounds=(0, 0, 100, 100), resolution=10)


def test_grid_overrides(pair):
    s2 = open_series(pair[1])
    scene = build_scene(s2=s2, resolution=20)
    assert scene.grid.res == (20.0, 20.0) and scene.grid.shape == (20, 20)
    assert scene.grid.bounds == pytest.approx(Grid.from_raster(s2.acquisitions[0].path).bounds)
    scene = build_scene(s2=s2, bounds=(X0 + 100, Y0 - 300, X0 + 300, Y0 - 100))
    assert scene.grid.shape == (20, 20) and scene.grid.bounds == (
        X0 + 100,
        Y0 - 300,
        X0 + 300,
        Y0 - 100,
    )
    out = scene.read()
    full = build_scene(s2=s2).read()
    np.testing.assert_array_equal(out["s2"], full["s2"][..., 10:30, 10:30])
    scene = build_scene(s2=s2, crs="EPSG:32632")
    assert scene.grid.crs.to_epsg() == 32632
    assert 9 < scene.grid.res[0] < 11 and scene.read()["s2_valid"][0].mean() > 0.5


def test_scene_read_frames_keys_and_frame_validity(pair):
    scene = build_scene(open_series(pair[0]), open_series(pair[1]), max_gap_days=1)
    assert scene.alignment.reference == "s2" and scene.n_frames == len(S2_DAYS)
    assert scene.dates == [d(x) for x in S2_DAYS]
    # S2 days 0 10 20 30 40 -> S1 1 12 18|24->18 (tie: earlier) 30 36|45 -> 36
    assert scene.acquisition_dates("s1") == [d(1), d(12), d(18), d(30), d(36)]
    np.testing.assert_array_equal(scene.gap_days, [1, 2, 2, 0, 4])
    frames = np.array([3, 3, 0, 4])
    out = scene.read(frames=frames)
    assert out["s1"].shape == (4, 2, 40, 40) and out["s2"].shape == (4, 3, 40, 40)
    assert out["s1"].dtype == np.float32 and out["s2_valid"].dtype == bool
    np.testing.assert_array_equal(out["s2"][0], out["s2"][1])
    np.testing.assert_array_equal(out["frame_valid"], [True, True, True, False])
    assert out["dates"] == [d(30), d(30), d(0), d(40)]
    with pytest.raises(IndexError):
        scene.read(frames=[5])


# ----------------------------------------------------------------------------- writing stacks
def test_write_aligned_round_trip_and_dates_csv(pair, tmp_path):
    scene = build_scene(open_series(pair[0]), open_series(pair[1]), max_gap_days=3)
    calls = []
    paths = write_aligned(
        scene,
        tmp_path / "out",
        block=16,
        control=Control(progress=lambda f, m, *a: calls.append(f)),
    )
    assert set(paths) == {"s1", "s2", "dates_csv"}
    assert calls[-1] == 1.0 and all(b >= a for a, b in zip(calls, calls[1:]))
    whole = scene.read()
    with rasterio.open(paths["s2"]) as ds:
        assert ds.count == 5 * 3 and ds.dtypes[0] == "float32" and np.isnan(ds.nodata)
        assert ds.descriptions[:4] == (
            "2020-01-01_B02",
            "2020-01-01_B03",
            "2020-01-01_B04",
            "2020-01-11_B02",
        )
        assert Grid(ds.crs, ds.transform, ds.width, ds.height).same_as(scene.grid)
        data = ds.read().reshape(5, 3, 40, 40)
    np.testing.assert_array_equal(np.isfinite(data).all(1), whole["s2_valid"])
    np.testing.assert_allclose(np.nan_to_num(data), whole["s2"], rtol=1e-6)
    with rasterio.open(paths["s1"]) as ds:
        assert ds.tags(1)["SOURCE_DATE"] == "2020-01-02"  # frame 2020-01-01 took S1 of day 1
        s1 = ds.read().reshape(5, 2, 40, 40)
    assert np.isnan(s1[4]).all()  # frame 4: gap 4 days > 3 -> S1 invalid
    np.testing.assert_allclose(s1[:4], whole["s1"][:4], atol=1e-5)
    rows = read_dates_csv(paths["dates_csv"])
    with open(paths["dates_csv"]) as fh:
        assert next(csv.reader(fh)) == list(DATES_CSV_COLUMNS)
    assert [r["valid"] for r in rows] == [True, True, True, True, False]
    assert [r["s1_date"] for r in rows] == [d(1), d(12), d(18), d(30), d(36)]
    np.testing.assert_allclose([r["s2_cloud_fraction"] for r in rows], [i / 40 for i in range(5)])
    np.testing.assert_allclose(
        [r["s2_valid_fraction"] for r in rows], whole["s2_valid"].mean(axis=(1, 2))
    )
    # the stacks re-read as stack sources: same frames, same values
    again = build_scene(open_series(paths["s1"]), open_series(paths["s2"]))
    assert again.alignment.reference == "s1" and (again.gap_days == 0).all()
    back = again.read()
    np.testing.assert_allclose(back["s2"], whole["s2"], rtol=1e-6)
    np.testing.assert_allclose(back["s1"][:4], whole["s1"][:4], atol=1e-5)
    assert not back["s1_valid"][4].any()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "dates.csv",
        "s1_aligned.tif",
        "s2_aligned.tif",
    ]


def test_write_aligned_cancel_leaves_nothing(pair, tmp_path):
    scene = build_scene(open_series(pair[0]), open_series(pair[1]))
    n = {"calls": 0}

    def cancel():
        n["calls"] += 1
        return n["calls"] > 5

    out = tmp_path / "out"
    with pytest.raises(Cancelled):
        write_aligned(scene, out, block=16, control=Control(cancel=cancel))
    assert not out.exists()  # nor the folder it made


# ----------------------------------------------------------------------------- s4 align
def test_cli_align(pair, tmp_path, capsys):
    out = tmp_path / "cli"
    rc = main(
        [
            "align",
            "--s1",
            str(pair[0]),
            "--s2",
            str(pair[1]),
            "--out",
            str(out),
            "--max-gap",
            "3",
            "--json",
            "--quiet",
        ]
    )
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames"] == 5 and summary["valid_frames"] == 4
    assert (summary["width"], summary["height"], summary["crs"]) == (40, 40, "EPSG:32631")
    assert summary["median_gap_days"] == 2.0
    assert summary["cloud_free_fraction"] == pytest.approx(1 - np.mean([i / 40 for i in range(5)]))
    assert (out / "dates.csv").exists() and (out / "s1_aligned.tif").exists()
    rc = main(
        [
            "align",
            "--s2",
            str(pair[1]),
            "--out",
            str(tmp_path / "cli2"),
            "--quiet",
            "--crs",
            "EPSG:32631",
            "--resolution",
            "20",
            "--bounds",
            str(X0),
            str(Y0 - 200),
            str(X0 + 200),
            str(Y0),
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0 and "10 x 10 px at 20 x 20, EPSG:32631" in text and "median gap  n/a" in text
    rc = main(["align", "--s1", str(tmp_path / "missing"), "--out", str(tmp_path / "x"), "--quiet"])
    assert rc == 2 and "does not exist" in capsys.readouterr().err


# ----------------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_flanders_alignment_acceptance(flanders, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s1, s2 = open_series(flanders / "S1"), open_series(flanders / "S2")
        scene = build_scene(s1, s2)
    assert scene.grid.shape == (64, 64) and scene.grid.res == (10.0, 10.0)
    assert scene.grid.same_as(Grid.from_raster(s2.acquisitions[0].path))
    assert (len(s2), len(s1), scene.n_frames, scene.alignment.reference) == (118, 159, 118, "s2")
    # every gap is the true nearest date (brute force over all S1 dates)
    for t, day in enumerate(scene.dates):
        diffs = [abs((x - day).days) for x in s1.dates]
        assert scene.gap_days[t] == min(diffs)
        j = scene.alignment.s1_index[t]
        assert j == min(range(len(diffs)), key=lambda k: (diffs[k], s1.dates[k]))
    paths = write_aligned(scene, tmp_path / "out")
    with rasterio.open(paths["s1"]) as a, rasterio.open(paths["s2"]) as b:
        assert (
            (a.width, a.height, a.crs, a.transform)
            == (b.width, b.height, b.crs, b.transform)
            == (64, 64, s2.grid().crs, s2.grid().transform)
        )
        assert a.count == 118 * 2 and b.count == 118 * 10
    rows = read_dates_csv(paths["dates_csv"])
    assert len(rows) == 118
    for r, acq in zip(rows, s2.acquisitions):
        assert r["s2_date"] == acq.date == r["date"]
        with rasterio.open(acq.path) as ds:
            scl = ds.read(11)
        assert r["s2_cloud_fraction"] == pytest.approx(
            np.isin(scl, (0, 1, 3, 8, 9, 10)).mean(), abs=1e-6
        )
        assert abs((r["s1_date"] - r["date"]).days) == r["gap_days"]
    # S1 at 20 m is upsampled smoothly onto the 10 m grid: 2 x 2 block means match the source
    s1_out = scene.read(modalities=["s1"], frames=[5])["s1"][0]
    src_path = s1.acquisitions[scene.alignment.s1_index[5]].path
    with rasterio.open(src_path) as ds:
        src = ds.read()
    blocks = s1_out.reshape(2, 32, 2, 32, 2).mean(axis=(2, 4))
    assert np.corrcoef(blocks[0].ravel(), src[0].ravel())[0, 1] > 0.97


@pytest.mark.realdata
@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:32632"])
def test_flanders_s2_reprojected_aligns_back(flanders, tmp_path, crs):
    src = sorted((flanders / "S2").glob("*.tif"))
    s2 = open_series(flanders / "S2")
    clear = int(np.argmin(s2.cloud_fractions()))
    path = s2.acquisitions[clear].path
    grid = Grid.from_raster(path)
    ref = build_scene(s2=open_series([path])).read()["s2"][0, 6]  # B08
    copy = _reprojected_copy(path, tmp_path / "copy.tif", crs)
    with rasterio.open(copy) as ds:
        assert ds.crs.to_string() == crs
    moved = build_scene(s2=open_series([copy]), grid=grid).read()
    assert moved["s2_valid"][0, 4:-4, 4:-4].mean() > 0.95
    dy, dx = estimate_shift(ref, moved["s2"][0, 6])
    assert abs(dy) < 0.5 and abs(dx) < 0.5, (dy, dx)
    assert np.corrcoef(ref[4:-4, 4:-4].ravel(), moved["s2"][0, 6][4:-4, 4:-4].ravel())[0, 1] > 0.9
    assert len(src) == 118
    # the windowed pipeline equals GDAL warping the whole copy onto the grid in one go
    direct = np.zeros((64, 64), np.float32)
    with rasterio.open(copy) as ds:
        reproject(
            ds.read(7).astype(np.float32),
            direct,
            src_transform=ds.transform,
            src_crs=ds.crs,
            src_nodata=0,
            dst_transform=grid.transform,
            dst_crs=grid.crs,
            dst_nodata=0,
            resampling=Resampling.bilinear,
        )
    ok = moved["s2_valid"][0]
    np.testing.assert_allclose(moved["s2"][0, 6][ok], direct[ok] / 10000.0, atol=2e-4)


@pytest.mark.realdata
def test_liege_opens_and_aligns(real_data, tmp_path):
    liege = real_data / "worldcereal" / "liege_2021_unlabelled"
    s1, s2 = open_series(liege / "S1"), open_series(liege / "S2")
    scene = build_scene(s1, s2)
    assert scene.grid.shape == (101, 101) and scene.n_frames == 20
    assert (scene.gap_days == 0).all()
    paths = write_aligned(scene, tmp_path / "liege")
    rows = read_dates_csv(paths["dates_csv"])
    assert all(np.isnan(r["s2_cloud_fraction"]) for r in rows)  # no SCL
    out = scene.read(frames=[0, 10])
    with rasterio.open(s2.acquisitions[10].path) as ds:
        raw = ds.read()
    ok = (raw != 65535).all(0)
    np.testing.assert_array_equal(out["s2_valid"][1], ok)
    np.testing.assert_allclose(out["s2"][1][:, ok], raw[:, ok] / 10000.0, rtol=1e-6)

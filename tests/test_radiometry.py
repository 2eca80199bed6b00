"""Radiometry: reflectance, dB, validity masks, SCL cloud masks and fractions."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pytest
import rasterio
from rasters import write_tif

from s4_core import radiometry
from s4_core.align import build_scene
from s4_core.series import open_series


# ----------------------------------------------------------------------------- pure functions
def test_s2_reflectance_scale_and_l2a_offset():
    dn = np.array([[[0, 1000, 1500, 11000]]], dtype=np.uint16)
    np.testing.assert_allclose(radiometry.s2_reflectance(dn), [[[0, 0.1, 0.15, 1.1]]], rtol=1e-6)
    np.testing.assert_allclose(
        radiometry.s2_reflectance(dn, offset=radiometry.S2_L2A_OFFSET_PB04),
        [[[-0.1, 0.0, 0.05, 1.0]]],
        rtol=1e-6,
        atol=1e-7,
    )
    assert radiometry.s2_reflectance(dn).dtype == np.float32


def test_s1_db_conversion_and_nonpositive_values():
    lin = np.array([[[1.0, 0.1, 0.01, 0.0, -1.0]]], dtype=np.float32)
    db = radiometry.s1_db(lin, linear=True)
    np.testing.assert_allclose(db[0, 0, :3], [0.0, -10.0, -20.0], atol=1e-5)
    assert np.isnan(db[0, 0, 3:]).all()
    np.testing.assert_array_equal(radiometry.s1_db(lin, linear=False), lin)  # already dB


def test_valid_mask_nodata_nan_and_all_bands():
    raw = np.array([[[1, 0, 3], [4, 5, 6]], [[1, 2, 3], [65535, 5, 6]]], dtype=np.float32)
    raw[1, 1, 2] = np.nan
    ok = radiometry.valid_mask(raw, nodata=0)
    # (0,1) band0 == 0 (nodata) ; (1,2) NaN ; 65535 is valid unless declared nodata
    np.testing.assert_array_equal(ok, [[True, False, True], [True, True, False]])
    ok = radiometry.valid_mask(raw, nodata=65535)
    np.testing.assert_array_equal(ok, [[True, True, True], [False, True, False]])
    ok = radiometry.valid_mask(raw.astype(np.float32), nodata=float("nan"))
    np.testing.assert_array_equal(ok, [[True, True, True], [True, True, False]])


@pytest.mark.parametrize("cls", range(12))
def test_scl_classes(cls):
    clear = radiometry.scl_clear(np.array([[cls]]))[0, 0]
    assert clear == (cls not in (0, 1, 3, 8, 9, 10))


def test_cloud_fraction_counts_invalid_classes():
    scl = np.array([[4, 4, 8, 9], [3, 10, 5, 6], [0, 1, 2, 7], [11, 4, 4, 4]])
    assert radiometry.cloud_fraction(scl) == pytest.approx(6 / 16)


def test_to_physical_masks_every_band_of_an_invalid_pixel():
    raw = np.full((3, 2, 2), 2000, dtype=np.uint16)
    raw[1, 0, 0] = 0  # nodata in one band only
    scl = np.array([[4, 9], [4, 4]])
    out = radiometry.to_physical(raw, "s2", 0, scale=1e-4, scl=scl)
    assert np.isnan(out[:, 0, 0]).all() and np.isnan(out[:, 0, 1]).all()
    np.testing.assert_allclose(out[:, 1, :], 0.2, rtol=1e-6)
    lin = np.array([[[0.1, 0.0]]], dtype=np.float32)
    out = radiometry.to_physical(lin, "s1", None, linear=True)
    assert out[0, 0, 0] == pytest.approx(-10.0) and np.isnan(out[0, 0, 1])
    with pytest.raises(ValueError):
        radiometry.to_physical(lin, "s3")


def test_linear_and_dn_heuristics():
    rng = np.random.default_rng(0)
    assert radiometry.looks_linear(rng.gamma(2.0, 0.03, 1000))
    assert not radiometry.looks_linear(rng.normal(-14, 4, 1000))
    assert radiometry.looks_like_dn(rng.integers(100, 5000, 1000))
    assert not radiometry.looks_like_dn(rng.uniform(0, 0.6, 1000))


# ----------------------------------------------------------------------------- through a series
def _s1_files(tmp_path, values, tags=None):
    for i, day in enumerate((1, 13, 25)):
        write_tif(
            tmp_path / f"S1_202001{day:02d}.tif",
            values[i],
            descriptions=["VV", "VH"],
            nodata=float("nan"),
            tags=tags,
        )


def test_s1_linear_detected_with_warning_and_converted(tmp_path):
    rng = np.random.default_rng(1)
    lin = rng.gamma(2.0, 0.03, (3, 2, 8, 8)).astype(np.float32)
    _s1_files(tmp_path, lin)
    with pytest.warns(UserWarning, match="look linear"):
        s1 = open_series(tmp_path)
    assert s1.sensor == "s1" and s1.linear
    out = build_scene(s1=s1).read()
    np.testing.assert_allclose(out["s1"], 10 * np.log10(lin), rtol=1e-5, atol=1e-5)
    # explicit parameter: no detection, no warning, values kept
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s1 = open_series(tmp_path, s1_linear=False)
    assert not s1.linear
    np.testing.assert_allclose(build_scene(s1=s1).read()["s1"], lin)


def test_s1_db_tag_and_values_are_not_converted(tmp_path):
    rng = np.random.default_rng(2)
    db = rng.normal(-14, 3, (3, 2, 8, 8)).astype(np.float32)
    _s1_files(tmp_path, db, tags={"UNITS": "sigma0 backscatter, dB"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s1 = open_series(tmp_path)
    assert not s1.linear
    np.testing.assert_allclose(build_scene(s1=s1).read()["s1"], db)


def test_s1_units_are_decided_per_file(tmp_path):
    rng = np.random.default_rng(3)
    lin = rng.gamma(2.0, 0.03, (3, 2, 8, 8)).astype(np.float32)
    db = 10 * np.log10(lin)
    # the first date in dB (tagged), the others linear power without a tag
    (tmp_path / "mixed").mkdir()
    for i, day in enumerate((1, 13, 25)):
        write_tif(tmp_path / "mixed" / f"S1_202001{day:02d}.tif", db[i] if i == 0 else lin[i],
                  descriptions=["VV", "VH"], nodata=float("nan"),
                  tags={"UNITS": "dB"} if i == 0 else None)  # fmt: skip
    with pytest.warns(UserWarning, match=r"S1_20200113\.tif.*look linear.*other files.*dB"):
        s1 = open_series(tmp_path / "mixed")
    assert [a.linear for a in s1.acquisitions] == [False, True, True]
    np.testing.assert_allclose(build_scene(s1=s1).read()["s1"], db, rtol=1e-5, atol=1e-5)
    # linear files with a stale UNITS=dB tag: the values win, with a warning naming the file
    (tmp_path / "stale").mkdir()
    _s1_files(tmp_path / "stale", lin, tags={"UNITS": "dB"})
    with pytest.warns(UserWarning, match=r"contradicts.*S1_20200101\.tif: tag dB, median 0\.0"):
        s1 = open_series(tmp_path / "stale")
    np.testing.assert_allclose(build_scene(s1=s1).read()["s1"], db, rtol=1e-5, atol=1e-5)
    # dB values tagged linear: negative power is impossible, read as dB
    (tmp_path / "neg").mkdir()
    _s1_files(tmp_path / "neg", db, tags={"UNITS": "linear power"})
    with pytest.warns(UserWarning, match=r"contradicts.*tag linear"):
        s1 = open_series(tmp_path / "neg")
    np.testing.assert_allclose(build_scene(s1=s1).read()["s1"], db, rtol=1e-5, atol=1e-5)


def test_s2_offset_nodata_and_scl_through_scene(tmp_path):
    dn = np.full((3, 4, 4), 1500, dtype=np.uint16)
    dn[:, 0, 0] = 65535  # nodata
    scl = np.full((1, 4, 4), 4, dtype=np.uint16)
    scl[0, 3, 3] = 8  # cloud
    data = np.concatenate([dn, scl])
    write_tif(
        tmp_path / "S2_20200105.tif", data, descriptions=["B02", "B03", "B04", "SCL"], nodata=65535
    )
    s2 = open_series(tmp_path, s2_offset=-1000)
    out = build_scene(s2=s2).read()
    valid = out["s2_valid"][0]
    assert not valid[0, 0] and not valid[3, 3] and valid.sum() == 14
    np.testing.assert_allclose(out["s2"][0][:, valid], 0.05, rtol=1e-5)
    assert (out["s2"][0][:, ~valid] == 0).all()  # invalid pixels are 0
    assert s2.acquisitions[0].cloud_fraction == pytest.approx(1 / 16)


def test_s2_dn_scaled_to_8_bit_warns_naming_the_files(tmp_path):
    rng = np.random.default_rng(4)
    refl = rng.uniform(0.02, 0.45, (3, 3, 8, 8))
    for folder, dn in (("dn", refl * 10000), ("u8", refl * 255)):
        (tmp_path / folder).mkdir()
        for i, day in enumerate((1, 13, 25)):
            write_tif(tmp_path / folder / f"S2_202001{day:02d}.tif",
                      dn[i].astype(np.uint16 if folder == "dn" else np.uint8),
                      descriptions=["B04", "B08", "B11"])  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        open_series(tmp_path / "dn")
    with pytest.warns(UserWarning, match=r"S2_20200101\.tif.*implausible.*uint8.*x 10000"):
        open_series(tmp_path / "u8")


def test_max_cloud_fraction_drops_cloudy_frames_and_warns_without_scl(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    for day, cloudy in ((1, 0), (2, 10), (3, 4)):
        dn = np.full((2, 5, 2), 1000, dtype=np.uint16)
        scl = np.full((1, 5, 2), 4, dtype=np.uint16)
        scl.reshape(-1)[:cloudy] = 9
        write_tif(
            a / f"S2_2020010{day}.tif",
            np.concatenate([dn, scl]),
            descriptions=["B04", "B08", "SCL"],
        )
        write_tif(b / f"S2_2020010{day}.tif", dn, descriptions=["B04", "B08"])
    s2 = open_series(a, max_cloud_fraction=0.5)
    assert s2.dates == [dt.date(2020, 1, 1), dt.date(2020, 1, 3)]
    np.testing.assert_allclose(open_series(a).cloud_fractions(), [0.0, 1.0, 0.4])
    with pytest.warns(UserWarning, match="no SCL band"):
        assert len(open_series(b, max_cloud_fraction=0.5)) == 3
    with pytest.raises(Exception, match="raise max_cloud_fraction"):
        open_series(a, max_cloud_fraction=-0.1)


# ----------------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_flanders_cloud_fractions_match_direct_count(flanders):
    s2 = open_series(flanders / "S2")
    fractions = s2.cloud_fractions()
    for acq, f in zip(s2.acquisitions, fractions):
        with rasterio.open(acq.path) as ds:
            scl = ds.read(ds.descriptions.index("SCL") + 1)
        direct = np.isin(scl, (0, 1, 3, 8, 9, 10)).mean()
        assert f == pytest.approx(direct, abs=1e-12), acq.path
    assert 0.2 < np.mean(fractions) < 0.8  # "many dates are cloudy"


@pytest.mark.realdata
def test_flanders_reflectance_and_db_ranges(flanders):
    s2 = open_series(flanders / "S2")
    s1 = open_series(flanders / "S1")
    assert s2.scale == pytest.approx(1e-4) and not s1.linear
    out = build_scene(s1, s2).read(frames=np.arange(0, 118, 10))
    refl = out["s2"].transpose(1, 0, 2, 3)[:, out["s2_valid"]]
    assert 0.0 <= np.percentile(refl, 1) and np.percentile(refl, 99) < 1.0
    db = out["s1"].transpose(1, 0, 2, 3)[:, out["s1_valid"]]
    assert -35 < np.percentile(db, 1) and np.percentile(db, 99) < 5 and np.median(db) < 0

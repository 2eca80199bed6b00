"""Time-series discovery: folders, file lists, stacks, dates, sensors, duplicates, errors."""

from __future__ import annotations

import datetime as dt
import os
import warnings

import numpy as np
import pytest
import rasterio
from rasters import write_tif

from s4_core import series as series_mod
from s4_core.align import build_scene
from s4_core.errors import DataError
from s4_core.series import normalize_band, open_dataset, open_series, parse_date, parse_description

S2_DATES = [dt.date(2020, 3, 2), dt.date(2020, 3, 12), dt.date(2020, 3, 22), dt.date(2020, 4, 1)]


def s2_data(i, bands=3, size=6):
    rng = np.random.default_rng(i)
    dn = rng.integers(100, 4000, (bands, size, size)).astype(np.uint16)
    scl = np.full((1, size, size), 4, np.uint16)
    scl[0, 0, : i + 1] = 9
    return np.concatenate([dn, scl])


@pytest.fixture()
def s2_folder(tmp_path):
    folder = tmp_path / "S2"
    folder.mkdir()
    for i, d in enumerate(S2_DATES):
        write_tif(
            folder / f"S2_L2A_{d:%Y%m%d}.tif",
            s2_data(i),
            descriptions=["B02", "B03", "B04", "SCL"],
            nodata=0,
            tags={"ACQUISITION_DATETIME": f"{d.isoformat()}T10:50:22"},
        )
    (folder / "readme.txt").write_text("not a raster")
    return folder


def write_stack(path, files):
    """A multi-date stack (bands described YYYY-MM-DD_BAND) from per-date files."""
    arrays, descs = [], []
    for f in files:
        with rasterio.open(f) as ds:
            arrays.append(ds.read())
            date = parse_date(ds.tags().get("ACQUISITION_DATETIME", "")) or parse_date(f.name)
            descs += [f"{date.isoformat()}_{d}" for d in ds.descriptions]
            profile = ds.profile
    return write_tif(
        path, np.concatenate(arrays), descriptions=descs, nodata=profile["nodata"],
        transform=profile["transform"], crs=profile["crs"],
    )  # fmt: skip


def read_all(s):
    return build_scene(**{s.sensor: s}).read()


# ----------------------------------------------------------------------------- parsing
def test_parse_date_forms():
    assert parse_date("S2_L2A_20180412.tif") == dt.date(2018, 4, 12)
    assert parse_date("x_2018-04-12_y") == dt.date(2018, 4, 12)
    assert parse_date("S2A_MSIL2A_20180412T105021_N0207_R051_T31UDS_20180413T134523") == dt.date(
        2018, 4, 12
    )
    assert parse_date("2017-09-23T10:50:22") == dt.date(2017, 9, 23)
    assert parse_date("tile_20181399.tif") is None  # month 13 is not a date
    assert parse_date("no date here 123456") is None


def test_parse_description_and_band_names():
    assert parse_description("2018-04-12_B04") == (dt.date(2018, 4, 12), "B04")
    assert parse_description("20180412_b8a") == (dt.date(2018, 4, 12), "B8A")
    assert parse_description("VV_2018-04-12") == (dt.date(2018, 4, 12), "VV")
    assert parse_description("B4") == (None, "B04")
    assert parse_description("") == (None, None)
    assert [normalize_band(b) for b in ("b2", "B02", "b8A", "vv", "Sigma0_VH", "scl")] == [
        "B02",
        "B02",
        "B8A",
        "VV",
        "VH",
        "SCL",
    ]


# ----------------------------------------------------------------------------- source forms
def test_folder_series(s2_folder):
    s = open_series(s2_folder)
    assert s.sensor == "s2"
    assert s.band_names == ["B02", "B03", "B04"]
    assert s.dates == S2_DATES
    assert len(s) == 4 and s.has_scl
    assert all(a.scl_index == 4 and a.band_indexes == (1, 2, 3) for a in s.acquisitions)
    assert all(a.date_source == "tag" and a.nodata == 0 for a in s.acquisitions)
    np.testing.assert_allclose(s.cloud_fractions(), [(i + 1) / 36 for i in range(4)])


def test_stack_and_file_list_give_the_same_series_as_the_folder(s2_folder, tmp_path):
    files = sorted(s2_folder.glob("*.tif"))
    folder = open_series(s2_folder)
    listed = open_series([str(f) for f in reversed(files)])  # order does not matter
    stack = open_series(write_stack(tmp_path / "stack.tif", files))
    for other in (listed, stack):
        assert other.sensor == folder.sensor
        assert other.band_names == folder.band_names
        assert other.dates == folder.dates
        np.testing.assert_allclose(other.cloud_fractions(), folder.cloud_fractions())
    assert stack.acquisitions[2].band_indexes == (9, 10, 11)  # 3rd date, bands after 2 x 4
    assert stack.acquisitions[2].scl_index == 12
    ref = read_all(folder)
    for other in (listed, stack):
        out = read_all(other)
        np.testing.assert_array_equal(out["s2"], ref["s2"])
        np.testing.assert_array_equal(out["s2_valid"], ref["s2_valid"])


def test_band_order_is_canonical_and_mapped_by_name(tmp_path):
    a = s2_data(0)
    write_tif(tmp_path / "S2_20200101.tif", a, descriptions=["B02", "B03", "B04", "SCL"])
    shuffled = a[[2, 3, 0, 1]]  # B04, SCL, B02, B03
    write_tif(tmp_path / "S2_20200111.tif", shuffled, descriptions=["b4", "SCL", "B2", "B03"])
    s = open_series(tmp_path)
    assert s.band_names == ["B02", "B03", "B04"]
    assert s.acquisitions[1].band_indexes == (3, 4, 1) and s.acquisitions[1].scl_index == 2
    out = read_all(s)
    np.testing.assert_array_equal(out["s2"][0], out["s2"][1])  # same pixels, other band order


def test_date_precedence_tag_then_description_then_file_name(tmp_path):
    d = s2_data(0)[:3]
    write_tif(
        tmp_path / "a_20200101.tif",
        d,
        descriptions=["B02", "B03", "B04"],
        tags={"ACQUISITION_DATETIME": "2020-01-05T10:00:00"},
    )
    write_tif(
        tmp_path / "b_20200102.tif",
        d,
        descriptions=["2020-01-07_B02", "2020-01-07_B03", "2020-01-07_B04"],
    )
    write_tif(tmp_path / "c_20200109.tif", d, descriptions=["B02", "B03", "B04"])
    # the tag wins over the file name, with a warning naming the file and both dates
    with pytest.warns(
        UserWarning, match=r"1 file\(s\).*a_20200101\.tif: name 2020-01-01, tag 2020-01-05"
    ):
        s = open_series(tmp_path)
    assert s.dates == [dt.date(2020, 1, 5), dt.date(2020, 1, 7), dt.date(2020, 1, 9)]
    assert [a.date_source for a in s.acquisitions] == ["tag", "band description", "file name"]
    # a tag agreeing with the file name: no warning
    write_tif(
        tmp_path / "a_20200101.tif",
        d,
        descriptions=["B02", "B03", "B04"],
        tags={"ACQUISITION_DATETIME": "2020-01-01T10:00:00"},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        open_series(tmp_path)


def test_sensor_detection_and_override(tmp_path):
    rng = np.random.default_rng(0)
    write_tif(
        tmp_path / "s1_20200101.tif",
        rng.normal(-12, 2, (2, 4, 4)).astype(np.float32),
        descriptions=["VH", "VV"],
        nodata=float("nan"),
    )
    s = open_series(tmp_path / "s1_20200101.tif")
    assert (
        s.sensor == "s1"
        and s.band_names == ["VV", "VH"]
        and s.acquisitions[0].band_indexes == (2, 1)
    )
    odd = tmp_path / "odd"
    odd.mkdir()
    write_tif(
        odd / "x_20200101.tif",
        rng.normal(-12, 2, (2, 4, 4)).astype(np.float32),
        descriptions=["HV_db", "ratio"],
    )
    s = open_series(odd, s1_linear=False)  # "HV_db" -> HV: radar
    assert s.sensor == "s1" and s.band_names == ["HV", "RATIO"]
    write_tif(
        odd / "x_20200101.tif",
        rng.normal(-12, 2, (2, 4, 4)).astype(np.float32),
        descriptions=["X1", "ratio"],
    )
    with pytest.raises(DataError, match="pass sensor="):
        open_series(odd / "x_20200101.tif", s1_linear=False)
    s = open_series(odd, sensor="s1", s1_linear=False)  # override
    assert s.sensor == "s1" and s.band_names == ["X1", "RATIO"]


def test_band_names_parameter_for_unnamed_bands(tmp_path):
    p = write_tif(tmp_path / "S2_20200101.tif", s2_data(0)[:3])
    with pytest.raises(DataError, match="no band names.*set_band_description") as info:
        open_series(p)
    assert "band_names=" not in str(info.value)  # not an option of the CLI or of QGIS
    with pytest.raises(DataError, match="3 bands but 2 band names"):
        open_series(p, band_names=["B02", "B03"])
    s = open_series(p, band_names=["B02", "B03", "B04"])
    assert s.band_names == ["B02", "B03", "B04"]


# ----------------------------------------------------------------------------- duplicates
def test_same_day_duplicates_keep_most_valid_and_warn(tmp_path):
    good = s2_data(0)
    bad = s2_data(0)
    bad[:3, :3, :] = 0  # nodata in half the pixels
    write_tif(tmp_path / "A_20200101.tif", bad, descriptions=["B02", "B03", "B04", "SCL"], nodata=0)
    write_tif(
        tmp_path / "B_2020-01-01.tif", good, descriptions=["B02", "B03", "B04", "SCL"], nodata=0
    )
    write_tif(
        tmp_path / "C_20200111.tif", good, descriptions=["B02", "B03", "B04", "SCL"], nodata=0
    )
    with pytest.warns(
        UserWarning, match=r"2 S2 acquisitions on 2020-01-01: keeping .*B_2020-01-01"
    ):
        s = open_series(tmp_path)
    assert [a.path.name for a in s.acquisitions] == ["B_2020-01-01.tif", "C_20200111.tif"]
    assert any("A_20200101" in d for d in s.dropped)


def test_same_day_duplicates_tie_keeps_first_file(tmp_path):
    d = s2_data(1)
    for name in ("b_20200101.tif", "a_20200101.tif"):
        write_tif(tmp_path / name, d, descriptions=["B02", "B03", "B04", "SCL"], nodata=0)
    with pytest.warns(UserWarning, match="keeping .*a_20200101"):
        s = open_series(tmp_path)
    assert len(s) == 1 and s.acquisitions[0].path.name == "a_20200101.tif"


# ----------------------------------------------------------------------------- errors
def test_error_no_date_names_the_file(tmp_path):
    write_tif(tmp_path / "image.tif", s2_data(0)[:3], descriptions=["B02", "B03", "B04"])
    with pytest.raises(DataError, match=r"no acquisition date found for .*image\.tif"):
        open_series(tmp_path)


def test_error_differing_band_sets_names_the_file(s2_folder):
    write_tif(s2_folder / "S2_L2A_20200501.tif", s2_data(0)[:2], descriptions=["B02", "B03"])
    with pytest.raises(
        DataError, match=r"band set of .*S2_L2A_20200501\.tif differs .*missing \['B04'\]"
    ):
        open_series(s2_folder)


def test_error_unreadable_file_names_the_file(s2_folder):
    (s2_folder / "S2_L2A_20200501.tif").write_bytes(b"II*\x00 this is not a GeoTIFF" * 10)
    with pytest.raises(DataError, match=r"cannot read .*S2_L2A_20200501\.tif"):
        open_series(s2_folder)


def test_error_missing_paths_and_empty_folder(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        open_series(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no raster files"):
        open_series(tmp_path / "empty")
    with pytest.raises(DataError, match="list of files is empty"):
        open_series([])


def test_error_stack_with_undated_band(tmp_path):
    p = write_tif(
        tmp_path / "stack.tif",
        s2_data(0)[:3],
        descriptions=["2020-01-01_B02", "2020-01-11_B02", "B04"],
    )
    with pytest.raises(DataError, match=r"bands \[3\] have no date"):
        open_series(p)


# ----------------------------------------------------------------------------- handle cache
def test_dataset_cache_reuses_handles_and_reopens_rewritten_files(s2_folder):
    s = open_series(s2_folder)
    scene = build_scene(s2=s)
    scene.read(window=scene.grid.window(0, 0, 3, 3))
    before = series_mod._OPEN_COUNT
    for r in range(3):
        scene.read(window=scene.grid.window(r, r, 3, 3))
    assert series_mod._OPEN_COUNT == before  # no file reopened
    path = s.acquisitions[0].path
    ds1 = open_dataset(path)
    write_tif(
        path,
        s2_data(7),
        descriptions=["B02", "B03", "B04", "SCL"],
        nodata=0,
        tags={"ACQUISITION_DATETIME": "2020-03-02"},
    )
    os.utime(path, ns=(ds1_mtime := path.stat().st_mtime_ns + 10**9, ds1_mtime))
    ds2 = open_dataset(path)
    assert ds2 is not ds1
    np.testing.assert_array_equal(ds2.read(), s2_data(7))


def test_dataset_cache_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setenv("S4_MAX_OPEN_DATASETS", "3")
    series_mod.clear_dataset_cache()
    for i in range(6):
        p = write_tif(tmp_path / f"f{i}_20200101.tif", s2_data(i)[:1], descriptions=["B02"])
        open_dataset(p)
    assert len(series_mod._CACHE) == 3


def test_reading_threads_leave_no_open_handles(tmp_path):
    """A worker thread's handles are closed when it releases them or once it has ended (the
    segment reader thread of every run would otherwise keep its files open: 8 per run)."""
    import threading

    series_mod.clear_dataset_cache()
    paths = [
        write_tif(tmp_path / f"f{i}_20200101.tif", s2_data(i)[:1], descriptions=["B02"])
        for i in range(2)
    ]
    opened = []

    def read_and_release():
        opened.append(open_dataset(paths[0]))
        series_mod.release_thread_datasets()

    def read_only():
        opened.append(open_dataset(paths[1]))

    for target in (read_and_release, read_only):
        worker = threading.Thread(target=target)
        worker.start()
        worker.join()
    assert opened[0].closed and not opened[1].closed  # released at once / ended, not yet reused
    mine = open_dataset(paths[0])  # the next open purges the handles of ended threads
    assert opened[1].closed and not mine.closed
    assert list(series_mod._CACHE.values()) == [mine]


# ----------------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_flanders_series(flanders):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no duplicate / detection warnings on clean data
        s2 = open_series(flanders / "S2")
        s1 = open_series(flanders / "S1")
    assert (s2.sensor, len(s2), s2.dates[0], s2.dates[-1]) == (
        "s2",
        118,
        dt.date(2017, 8, 4),
        dt.date(2018, 11, 27),
    )
    assert (s1.sensor, len(s1), s1.dates[0], s1.dates[-1]) == (
        "s1",
        159,
        dt.date(2017, 8, 1),
        dt.date(2018, 11, 29),
    )
    assert s2.band_names == ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]
    assert s1.band_names == ["VV", "VH"] and not s1.linear
    for s in (s1, s2):  # tag dates agree with the file names
        assert all(
            a.date_source == "tag" and parse_date(a.path.name) == a.date for a in s.acquisitions
        )
    assert all(a.scl_index == 11 for a in s2.acquisitions)
    assert len(set(s1.dates) & set(s2.dates)) == 41


@pytest.mark.realdata
def test_flanders_stack_and_list_forms_equal_folder_form(flanders, tmp_path):
    files = sorted((flanders / "S1").glob("*.tif"))
    folder = open_series(flanders / "S1")
    listed = open_series([str(f) for f in files])
    stack = open_series(write_stack(tmp_path / "s1_stack.tif", files))
    assert len(stack) == len(listed) == len(folder) == 159
    ref = read_all(folder)
    for other in (listed, stack):
        assert other.dates == folder.dates and other.band_names == folder.band_names
        out = read_all(other)
        np.testing.assert_array_equal(out["s1"], ref["s1"])
        np.testing.assert_array_equal(out["s1_valid"], ref["s1_valid"])
    # S2 (with SCL) on a few dates
    files = sorted((flanders / "S2").glob("*.tif"))[::20]
    listed = open_series([str(f) for f in files])
    stack = open_series(write_stack(tmp_path / "s2_stack.tif", files))
    assert stack.dates == listed.dates and stack.band_names == listed.band_names
    np.testing.assert_array_equal(read_all(stack)["s2"], read_all(listed)["s2"])
    np.testing.assert_allclose(stack.cloud_fractions(), listed.cloud_fractions())


@pytest.mark.realdata
def test_liege_monthly_composites(real_data):
    liege = real_data / "worldcereal" / "liege_2021_unlabelled"
    s2 = open_series(liege / "S2")
    s1 = open_series(liege / "S1")
    assert len(s2) == len(s1) == 20 and not s2.has_scl
    assert s2.band_names == ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B11", "B12"]
    assert all(a.nodata == 65535 for a in s2.acquisitions)
    assert np.isnan(s2.cloud_fractions()).all()

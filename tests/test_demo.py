"""The built-in demo scene: layout like the real data, determinism, values, learnability."""

from __future__ import annotations

import datetime as dt
import json
import re

import fiona
import numpy as np
import pytest
import rasterio
from rasterio.warp import transform as warp_transform

from s4_core.cli import main
from s4_core.demo import S1_BANDS, S2_BANDS, DemoScene, load_meta, make_demo_scene
from s4_core.errors import Cancelled, DataError
from s4_core.grid import Grid
from s4_core.labels import IGNORE_INDEX, rasterize_labels, rasterize_polygon_ids


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> DemoScene:
    """32 x 32 px, 8 S2 dates, 8 S1 dates (a fraction of a second)."""
    return make_demo_scene(
        tmp_path_factory.mktemp("demo") / "scene", seed=0, size=32, n_s2=8, n_s1=8
    )


def read_all(root) -> dict:
    out = {}
    for path in sorted(root.rglob("*.tif")):
        with rasterio.open(path) as src:
            out[str(path.relative_to(root))] = src.read()
    return out


def parcels(path) -> list:
    with fiona.open(path, layer="parcels") as src:
        return [(dict(f["properties"]), f["geometry"]["coordinates"]) for f in src]


def test_same_seed_same_arrays_other_seed_differs(tmp_path):
    kw = dict(size=24, n_s2=5, n_s1=6)
    a = make_demo_scene(tmp_path / "a", seed=7, **kw)
    b = make_demo_scene(tmp_path / "b", seed=7, **kw)
    c = make_demo_scene(tmp_path / "c", seed=8, **kw)
    ra, rb, rc = read_all(a.root), read_all(b.root), read_all(c.root)
    assert ra.keys() == rb.keys() and len(ra) == 5 + 6 + 1
    for k in ra:
        assert ra[k].tobytes() == rb[k].tobytes(), k
    assert parcels(a.parcels) == parcels(b.parcels)
    assert load_meta(a.root) == load_meta(b.root)
    assert ra.keys() != rc.keys() or any(ra[k].tobytes() != rc[k].tobytes() for k in ra)
    assert not np.array_equal(ra["labels/truth.tif"], rc["labels/truth.tif"])


def test_layout_like_the_real_data(scene):
    assert scene.class_field == "crop_name"
    assert scene.class_names == ["grassland", "maize", "potatoes", "sugar beet", "winter wheat"]
    s2 = sorted(scene.s2_dir.glob("*.tif"))
    s1 = sorted(scene.s1_dir.glob("*.tif"))
    assert len(s2) == 8 and len(s1) == 8
    for files, pattern, bands, dtype, hour in (
        (s2, r"S2_L2A_(\d{8})\.tif", list(S2_BANDS) + ["SCL"], "uint16", 10),
        (s1, r"S1_GRD_ASC_(\d{8})\.tif", list(S1_BANDS), "float32", 17),
    ):
        for path in files:
            m = re.fullmatch(pattern, path.name)
            assert m, path.name
            with rasterio.open(path) as src:
                assert list(src.descriptions) == bands
                assert src.dtypes[0] == dtype and src.crs.to_epsg() == 32631
                stamp = src.tags()["ACQUISITION_DATETIME"]
                when = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")
                assert when.strftime("%Y%m%d") == m.group(1) and when.hour == hour
                if dtype == "uint16":
                    assert src.nodata == 0
                else:
                    assert np.isnan(src.nodata)
    assert all(p.exists() for p in (scene.parcels, scene.truth, scene.root / "scene.json"))
    with fiona.open(scene.parcels, layer="parcels") as src:
        assert dict(src.schema["properties"]) == {"crop_name": "str", "crop_code": "int"}
        assert src.schema["geometry"] == "Polygon" and src.crs_wkt
        names = {f["properties"]["crop_name"] for f in src}
    assert names == set(scene.class_names)
    # near 50.85 N, 2.9 E
    g = Grid.from_raster(scene.truth)
    left, bottom, right, top = g.bounds
    lon, lat = warp_transform("EPSG:32631", "EPSG:4326", [(left + right) / 2], [(bottom + top) / 2])
    assert abs(lat[0] - 50.85) < 0.02 and abs(lon[0] - 2.9) < 0.02


def test_truth_equals_rasterized_parcels(scene):
    g = Grid.from_raster(scene.truth)
    with rasterio.open(scene.truth) as src:
        truth = src.read(1)
        tags = src.tags()
        assert src.dtypes[0] == "uint8" and src.nodata == IGNORE_INDEX
    assert json.loads(tags["CLASSES"]) == {str(i): n for i, n in enumerate(scene.class_names)}
    labels, cmap, report = rasterize_labels(scene.parcels, scene.class_field, g)
    assert cmap.names == scene.class_names
    np.testing.assert_array_equal(labels, truth)
    assert report.n_used == report.n_features and report.n_empty == report.n_outside == 0
    assert (truth == IGNORE_INDEX).mean() > 0.03  # roads and field margins
    assert all(v > 0 for v in report.pixels_per_class.values())
    # the integer field maps to the same pixels
    codes, cmap_codes, _ = rasterize_labels(scene.parcels, "crop_code", g)
    meta = load_meta(scene.root)
    code_of = {c["name"]: c["code"] for c in meta["classes"]}
    lut = np.zeros(256, dtype=np.int64)
    lut[: len(cmap_codes)] = cmap_codes.values
    ref = np.zeros(256, dtype=np.int64)
    ref[: len(scene.class_names)] = [code_of[n] for n in scene.class_names]
    np.testing.assert_array_equal(lut[codes], ref[truth])


def test_sensors_differ_in_dates_and_grids(scene):
    meta = load_meta(scene.root)
    s2_dates, s1_dates = meta["s2_dates"], meta["s1_dates"]
    assert s2_dates != s1_dates and set(s2_dates) != set(s1_dates)
    assert sorted(s2_dates) == s2_dates and len(set(s2_dates)) == len(s2_dates)
    g2 = Grid.from_raster(next(scene.s2_dir.glob("*.tif")))
    g1 = Grid.from_raster(next(scene.s1_dir.glob("*.tif")))
    assert g2.res == (10.0, 10.0) and g1.res == (20.0, 20.0)
    # S1's pixels do not line up with S2's: origin offset by a non-multiple of 10 m
    dx, dy = g1.transform.c - g2.transform.c, g1.transform.f - g2.transform.f
    assert dx % 10 != 0 and dy % 10 != 0
    l2, b2, r2, t2 = g2.bounds
    l1, b1, r1, t1 = g1.bounds
    assert l1 <= l2 and b1 <= b2 and r1 >= r2 and t1 >= t2  # S1 covers S2's extent
    gaps = np.diff(
        [dt.date.fromisoformat(d).toordinal() for d in load_meta(scene.root)["s2_dates"]]
    )
    assert gaps.min() >= 5 and np.all(gaps % 5 == 0)


def _stack(folder):
    files = sorted(folder.glob("*.tif"))
    arrays = []
    for path in files:
        with rasterio.open(path) as src:
            arrays.append(src.read())
    return np.stack(arrays)


def test_value_ranges(scene):
    s2 = _stack(scene.s2_dir)  # (T, 11, H, W) uint16
    refl = s2[:, :10].astype(np.float64) / 10000
    scl = s2[:, 10]
    assert set(np.unique(scl)) <= {0, 3, 4, 5, 8, 9}
    assert {4, 5} <= set(np.unique(scl)) and (scl >= 8).any() and (scl == 3).any()
    nodata = (s2[:, :10] == 0).all(axis=1)
    assert np.array_equal(nodata, scl == 0)  # the no-data corner is 0 in every band
    clear = np.isin(scl, (4, 5))
    ndvi = (refl[:, 6] - refl[:, 2]) / (refl[:, 6] + refl[:, 2] + 1e-9)
    veg = clear & (ndvi > 0.75)
    bare = clear & (ndvi < 0.3)
    assert veg.sum() > 100 and bare.sum() > 100
    assert 0.015 < np.median(refl[:, 2][veg]) < 0.05  # red of a green canopy
    assert 0.3 < np.median(refl[:, 6][veg]) < 0.5  # NIR of a green canopy
    assert 0.09 < np.median(refl[:, 2][bare]) < 0.15  # red of bare soil
    assert 0.15 < np.median(refl[:, 6][bare]) < 0.25
    assert np.median(refl[:, 8][bare]) > np.median(refl[:, 8][veg])  # SWIR: soil brighter
    assert np.median(refl[:, 0][scl == 9]) > 0.3  # clouds are bright
    assert np.median(refl[:, 6][scl == 3]) < 0.6 * np.median(refl[:, 6][clear])  # shadows dark

    s1 = _stack(scene.s1_dir)  # (T, 2, H, W) float32 dB
    finite = np.isfinite(s1)
    assert (~finite).any() and finite.mean() > 0.95  # one date has a NaN strip
    vv, vh = s1[:, 0][finite[:, 0]], s1[:, 1][finite[:, 1]]
    assert -16 < np.median(vv) < -6 and -22 < np.median(vh) < -12
    assert 3 < np.nanmedian(s1[:, 0] - s1[:, 1]) < 10
    assert vv.min() > -45 and vv.max() < 10


def _parcel_profiles(scene, sensor):
    """Per labelled parcel: mean S2 NDVI over clear pixels, or mean S1 VV/VH (dB of the linear
    mean) sampled at S2 pixel centres, per date; gaps filled by interpolation in time."""
    g = Grid.from_raster(scene.truth)
    ids = rasterize_polygon_ids(scene.parcels, g)
    labels, _, _ = rasterize_labels(scene.parcels, scene.class_field, g)
    n = int(ids.max())
    classes = np.array([labels[ids == i][0] for i in range(1, n + 1)])
    rows, cols = np.mgrid[0 : g.height, 0 : g.width]
    xs, ys = g.transform * (cols + 0.5, rows + 0.5)
    feats = []
    folder = scene.s2_dir if sensor == "s2" else scene.s1_dir
    for path in sorted(folder.glob("*.tif")):
        with rasterio.open(path) as src:
            a = src.read().astype(np.float64)
            if sensor == "s2":
                ndvi = (a[6] - a[2]) / np.maximum(a[6] + a[2], 1)
                layers, ok = [ndvi], np.isin(a[10], (4, 5))
            else:
                r, c = rasterio.transform.rowcol(src.transform, xs.ravel(), ys.ravel())
                on_s2 = a[:, np.asarray(r), np.asarray(c)].reshape(2, *g.shape)
                layers, ok = [10 ** (on_s2[0] / 10), 10 ** (on_s2[1] / 10)], np.isfinite(on_s2[1])
        for layer in layers:
            f = np.full(n, np.nan)
            for i in range(1, n + 1):
                m = (ids == i) & ok
                if m.any():
                    f[i - 1] = layer[m].mean()
            feats.append(f if sensor == "s2" else 10 * np.log10(f))
    x = np.array(feats).T
    for row in x:
        bad = np.isnan(row)
        if bad.any():
            row[bad] = np.interp(np.flatnonzero(bad), np.flatnonzero(~bad), row[~bad])
    return x, classes


def _nearest_centroid_loo(x, y) -> float:
    """Leave-one-out accuracy of a nearest-centroid classifier."""
    hits = 0
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        cents = {c: x[keep & (y == c)].mean(axis=0) for c in np.unique(y[keep])}
        pred = min(cents, key=lambda c: float(((x[i] - cents[c]) ** 2).sum()))
        hits += pred == y[i]
    return hits / len(y)


def test_classes_learnable_from_s2_and_less_from_s1(scene):
    x2, y2 = _parcel_profiles(scene, "s2")
    assert len(y2) >= 25 and np.bincount(y2).min() >= 4
    acc2 = _nearest_centroid_loo(x2, y2)
    assert acc2 > 0.8, acc2
    x1, y1 = _parcel_profiles(scene, "s1")
    acc1 = _nearest_centroid_loo(x1, y1)
    assert acc1 > 0.4, acc1  # chance is 0.2; speckle and 20 m pixels make S1 harder


def test_opens_and_aligns_with_series_and_align(scene):
    from s4_core.align import build_scene
    from s4_core.series import open_series

    s1 = open_series(scene.s1_dir)
    s2 = open_series(scene.s2_dir)
    assert (s1.sensor, s2.sensor) == ("s1", "s2")
    assert s1.band_names == list(S1_BANDS) and s2.band_names == list(S2_BANDS) and s2.has_scl
    meta = load_meta(scene.root)
    assert [d.isoformat() for d in s2.dates] == meta["s2_dates"]
    assert [d.isoformat() for d in s1.dates] == meta["s1_dates"]
    sc = build_scene(s1, s2)
    assert sc.grid.same_as(Grid.from_raster(scene.truth))
    data = sc.read()
    t = sc.n_frames
    assert t == 8
    assert data["s1"].shape == (t, 2, 32, 32) and data["s2"].shape == (t, 10, 32, 32)
    s2v = data["s2"][:, :, data["s2_valid"].all(axis=0)]
    assert 0 < s2v.min() and s2v.max() < 1.0  # reflectance
    s1v = data["s1"][np.broadcast_to(data["s1_valid"][:, None], data["s1"].shape)]
    assert -45 < s1v.min() and s1v.max() < 10  # dB
    assert data["s1_valid"].mean() > 0.9


def test_overwrite_cancel_and_errors(tmp_path):
    out = tmp_path / "demo"
    calls = []
    make_demo_scene(out, size=16, n_s2=3, n_s1=3, progress=lambda f, m, x=None: calls.append(f))
    assert calls[-1] == 1.0 and calls == sorted(calls)
    with pytest.raises(DataError, match="not empty.*--overwrite"):
        make_demo_scene(out, size=16, n_s2=3, n_s1=3)
    make_demo_scene(out, seed=1, size=16, n_s2=4, n_s1=3, overwrite=True)
    assert len(list((out / "S2").glob("*.tif"))) == 4 and load_meta(out)["seed"] == 1
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("precious")
    with pytest.raises(DataError, match="no earlier demo scene"):
        make_demo_scene(other, size=16, n_s2=3, n_s1=3, overwrite=True)
    assert (other / "keep.txt").read_text() == "precious"
    seen = []

    def cancel() -> bool:  # cancel at the fourth check, half-way through the dates
        seen.append(1)
        return len(seen) > 3

    with pytest.raises(Cancelled):
        make_demo_scene(tmp_path / "cancelled", size=16, n_s2=3, n_s1=3, cancel=cancel)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo", "other"]  # nothing half-written
    for bad in (dict(size=8), dict(n_s2=1), dict(n_classes=9)):
        with pytest.raises(DataError):
            make_demo_scene(tmp_path / "bad", **bad)


def test_overwrite_keeps_the_users_own_files(tmp_path):
    out = tmp_path / "demo"
    make_demo_scene(out, seed=0, size=16, n_s2=4, n_s1=3)
    own = {
        "my_model.pt": b"weights",
        "results/classes.tif": b"map",
        "labels/my_edits.gpkg": b"edits",
        "S2/notes.txt": b"notes",
    }
    for rel, data in own.items():
        (out / rel).parent.mkdir(exist_ok=True)
        (out / rel).write_bytes(data)
    old_s2 = sorted((out / "S2").glob("*.tif"))
    (out / "S2" / (old_s2[-1].name + ".aux.xml")).write_text("<stale statistics/>")
    make_demo_scene(out, seed=1, size=16, n_s2=3, n_s1=3, overwrite=True)
    for rel, data in own.items():
        assert (out / rel).read_bytes() == data, rel
    assert load_meta(out)["seed"] == 1
    new_s2 = sorted(p.name for p in (out / "S2").iterdir())
    dates = load_meta(out)["s2_dates"]  # the earlier scene's 4th date and its .aux.xml are gone
    assert new_s2 == sorted([f"S2_L2A_{d.replace('-', '')}.tif" for d in dates] + ["notes.txt"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]  # no temporary folders left

    # a rename that fails half-way puts everything back: the earlier scene and the user's files
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (out / "labels" / "truth.tif").unlink()
    (out / "labels" / "truth.tif").mkdir()  # not a demo file: the new truth.tif cannot go there
    del before[out / "labels" / "truth.tif"]
    with pytest.raises(OSError):
        make_demo_scene(out, seed=2, size=16, n_s2=3, n_s1=3, overwrite=True)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert load_meta(out)["seed"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_seven_classes(tmp_path):
    s = make_demo_scene(tmp_path / "seven", size=40, n_s2=6, n_s1=4, n_classes=7)
    assert len(s.class_names) == 7
    with rasterio.open(s.truth) as src:
        truth = src.read(1)
    assert set(np.unique(truth)) == set(range(7)) | {IGNORE_INDEX}


def test_cli(tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["demo-data", "--out", str(out), "--size", "16", "--s2-dates", "3", "--s1-dates", "4"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert str(out / "S2") in text and str(out / "labels" / "parcels.gpkg") in text
    assert len(list((out / "S1").glob("S1_GRD_ASC_*.tif"))) == 4
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(args + ["--overwrite", "--json", "--seed", "3"]) == 0
    info = json.loads(capsys.readouterr().out)
    meta = load_meta(out)
    assert info["n_s2"] == 3 and meta["seed"] == 3
    assert info["classes"] == [c["name"] for c in meta["classes"]]

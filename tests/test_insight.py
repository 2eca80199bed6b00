"""Issue 15: class profiles, training curves, label suggestions, evaluation figures."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.features import rasterize

from s4_core import api
from s4_core.errors import DataError
from s4_core.figures import MissingPlotting, curve_series
from s4_core.profiles import ClassProfiles
from s4_core.radiometry import SCL_INVALID
from s4_core.suggest import choose_squares, uncertainty


def _parcels(scene):
    import fiona

    with fiona.open(scene.parcels) as src:
        return [(f["geometry"], f["properties"][scene.class_field]) for f in src]


def _reference_ndvi(scene):
    """Per class, per S2 date: mean / std / n of NDVI over the class's valid pixels, and the
    polygon means, straight from the files (rasterio + numpy loops, no engine code)."""
    feats = _parcels(scene)
    names = sorted({v for _, v in feats})
    files = sorted(Path(scene.s2_dir).glob("*.tif"))
    with rasterio.open(files[0]) as src:
        shape, transform = (src.height, src.width), src.transform
    ids = rasterize(
        [(g, i + 1) for i, (g, _) in enumerate(feats)], out_shape=shape, transform=transform,
        fill=0, dtype="int32",
    )  # fmt: skip
    out = {n: [] for n in names}
    polys = []
    for path in files:
        with rasterio.open(path) as src:
            desc = list(src.descriptions)
            data = src.read().astype(np.float64)
        red, nir, scl = data[desc.index("B04")], data[desc.index("B08")], data[desc.index("SCL")]
        ok = ~np.isin(scl, SCL_INVALID) & (red != 0) & (nir != 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            ndvi = (nir / 1e4 - red / 1e4) / (nir / 1e4 + red / 1e4)
        for n in names:
            px = [
                ndvi[r, c]
                for r in range(shape[0])
                for c in range(shape[1])
                if ids[r, c] > 0 and feats[ids[r, c] - 1][1] == n and ok[r, c]
            ]
            out[n].append((np.mean(px), np.std(px), len(px)) if px else (np.nan, np.nan, 0))
        row = []
        for i in range(len(feats)):
            px = ndvi[(ids == i + 1) & ok]
            row.append(px.mean() if px.size else np.nan)
        polys.append(row)
    return names, out, np.array(polys).T


def test_profiles_equal_a_direct_numpy_computation(tiny_demo, tmp_path):
    res = api.class_profiles(
        tiny_demo.parcels, tiny_demo.class_field, s2=str(tiny_demo.s2_dir),
        s1=str(tiny_demo.s1_dir), out_csv=tmp_path / "p.csv",
    )  # fmt: skip
    names, ref, ref_poly = _reference_ndvi(tiny_demo)
    assert res["classes"] == names
    ndvi = res["variables"]["NDVI"]
    for c, n in enumerate(names):
        mean = np.array([np.nan if v is None else v for v in ndvi["mean"][c]])
        std = np.array([np.nan if v is None else v for v in ndvi["std"][c]])
        np.testing.assert_allclose(mean, [m for m, _, _ in ref[n]], atol=1e-5)
        np.testing.assert_allclose(std, [s for _, s, _ in ref[n]], atol=1e-5)
        assert ndvi["n"][c] == [k for _, _, k in ref[n]]
    poly = np.array([[np.nan if v is None else v for v in r] for r in ndvi["polygon_mean"]])
    np.testing.assert_allclose(poly, ref_poly, atol=1e-5)
    assert set(res["variables"]) == {"NDVI", "VV", "VH"}
    assert len(res["variables"]["VV"]["dates"]) == 10
    # the CSV holds the same numbers
    rows = list(csv.DictReader(open(tmp_path / "p.csv")))
    first = [r for r in rows if r["kind"] == "class" and r["variable"] == "NDVI"][0]
    assert first["class"] == names[0]
    assert float(first["mean"]) == pytest.approx(ref[names[0]][0][0], abs=1e-5)
    # round trip of the JSON form (what the dock draws from)
    again = ClassProfiles.from_dict(res).to_dict()
    assert again["variables"]["NDVI"]["mean"] == ndvi["mean"]
    assert again["polygons"] == res["polygons"]


def test_a_mislabelled_polygon_is_flagged(tiny_demo, tmp_path):
    import fiona

    clean = api.class_profiles(tiny_demo.parcels, tiny_demo.class_field, s2=str(tiny_demo.s2_dir))
    assert clean["outliers"] == []
    # relabel the largest grassland polygon as the class whose NDVI differs most from it
    big = max(
        (p for p in clean["polygons"] if p["class"] == "grassland"), key=lambda p: p["pixels"]
    )
    other = "winter wheat" if "winter wheat" in clean["classes"] else clean["classes"][-1]
    out = tmp_path / "bad.gpkg"
    with fiona.open(tiny_demo.parcels) as src:
        meta = src.meta
        feats = list(src)
    with fiona.open(out, "w", **meta) as dst:
        for i, f in enumerate(feats):
            props = dict(f["properties"])
            if i == big["index"]:
                props[tiny_demo.class_field] = other
            dst.write({"geometry": f["geometry"], "properties": props})
    res = api.class_profiles(out, tiny_demo.class_field, s2=str(tiny_demo.s2_dir))
    flagged = {p["index"]: p for p in res["outliers"]}
    assert big["index"] in flagged
    assert flagged[big["index"]]["nearest_other"] == "grassland"


def test_profile_figure_and_errors(tiny_demo, tmp_path):
    res = api.class_profiles(
        tiny_demo.parcels, tiny_demo.class_field, s1=str(tiny_demo.s1_dir),
        out_figure=tmp_path / "p.svg",
    )  # fmt: skip
    assert "<svg" in Path(res["figure"]).read_text()[:500]
    assert set(res["variables"]) == {"VV", "VH"}
    with pytest.raises(Exception, match="png"):
        api.class_profiles(
            tiny_demo.parcels, tiny_demo.class_field, s2=str(tiny_demo.s2_dir),
            out_figure=tmp_path / "p.gif",
        )  # fmt: skip
    with pytest.raises(Exception, match="Sentinel-2 or the Sentinel-1"):
        api.class_profiles(tiny_demo.parcels, tiny_demo.class_field)
    assert issubclass(MissingPlotting, Exception)


# ----------------------------------------------------------------------------- suggestions
def _probs(h=40, w=50, k=3, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(k, h, w)) * 3
    logits[:, :, : w // 2] *= 0.1  # the left half is uncertain
    p = np.exp(logits)
    return p / p.sum(0)


def test_uncertainty_measures():
    p = np.array([[[0.5]], [[0.5]], [[0.0]]])
    assert uncertainty(p, "margin")[0, 0] == pytest.approx(1.0)
    assert uncertainty(p, "entropy")[0, 0] == pytest.approx(np.log(2) / np.log(3))
    q = np.array([[[1.0]], [[0.0]], [[0.0]]])
    assert uncertainty(q, "margin")[0, 0] == pytest.approx(0.0)
    assert uncertainty(q, "entropy")[0, 0] == pytest.approx(0.0)


def test_suggestions_inside_avoid_labels_spread_and_are_deterministic():
    probs = _probs()
    probs[:, 30:, 40:] = np.nan  # no prediction there
    labelled = np.zeros(probs.shape[1:], bool)
    labelled[5:15, 5:20] = True
    a = choose_squares(probs, 12, labelled=labelled, seed=3, homogeneous=False)
    b = choose_squares(probs, 12, labelled=labelled, seed=3, homogeneous=False)
    assert a == b
    assert len(a) == 12
    grown = np.zeros_like(labelled)
    grown[4:16, 4:21] = True  # 1-px margin
    for s in a:
        assert 0 <= s.row and s.row + s.size <= 40 and 0 <= s.col and s.col + s.size <= 50
        win = (slice(s.row, s.row + s.size), slice(s.col, s.col + s.size))
        assert not grown[win].any()
        assert np.isfinite(probs[(slice(None),) + win]).all()
    # spread: no two squares closer than the spacing; several predicted classes
    centres = np.array([(s.row, s.col) for s in a], float)
    d = np.sqrt(((centres[:, None] - centres[None]) ** 2).sum(-1))
    assert d[np.triu_indices(len(a), 1)].min() >= 10 - 1e-9
    assert len({s.predicted for s in a}) >= 2
    # the first picks (one per class) lie in the uncertain half, above the typical square
    unc = uncertainty(probs, "margin")
    assert all(s.col < 25 and s.score > np.nanmean(unc) for s in a[:3])
    # the most uncertain candidate of its class comes first in each class's turn
    first = a[0]
    assert first.score == pytest.approx(
        unc[first.row : first.row + 5, first.col : first.col + 5].mean(), abs=1e-6
    )


def test_homogeneous_squares_have_one_predicted_class():
    probs = _probs(seed=1)
    pred = probs.argmax(0)
    for s in choose_squares(probs, 8, seed=0):
        assert len(np.unique(pred[s.row : s.row + 5, s.col : s.col + 5])) == 1


@pytest.fixture(scope="module")
def few_labels(tiny_demo, tmp_path_factory):
    """The first polygon of every class of the demo scene, and a model fine-tuned on them."""
    import fiona

    folder = tmp_path_factory.mktemp("few")
    labels = folder / "few.gpkg"
    with fiona.open(tiny_demo.parcels) as src:
        meta, feats = src.meta, list(src)
    seen = set()
    with fiona.open(labels, "w", **meta) as dst:
        for f in feats:
            name = f["properties"][tiny_demo.class_field]
            if name not in seen:
                seen.add(name)
                dst.write({"geometry": f["geometry"], "properties": dict(f["properties"])})
    model = folder / "m.pt"
    api.finetune(
        None, str(tiny_demo.s2_dir), labels, tiny_demo.class_field, model, modality="s2",
        widths=(8, 16, 32), head="unet", epochs=1, crop_size=16, device="cpu", seed=0,
    )  # fmt: skip
    return labels, model


@pytest.mark.torch
def test_suggest_labels_writes_squares_in_the_scene(tiny_demo, few_labels, tmp_path):
    import fiona

    labels, model = few_labels
    out = tmp_path / "next.gpkg"
    res = api.suggest_labels(
        model, out, s2=str(tiny_demo.s2_dir), labels=labels, number=4, seed=1, device="cpu"
    )
    again = api.suggest_labels(
        model, tmp_path / "again.gpkg", s2=str(tiny_demo.s2_dir), labels=labels, number=4,
        seed=1, device="cpu",
    )  # fmt: skip
    assert res["n"] >= 2
    assert res["squares"] == again["squares"]
    with rasterio.open(sorted(Path(tiny_demo.s2_dir).glob("*.tif"))[0]) as src:
        bounds = src.bounds
    with fiona.open(out) as src:
        feats = list(src)
        assert src.crs_wkt
    assert len(feats) == res["n"]
    for f in feats:
        xs = [x for x, _ in f["geometry"]["coordinates"][0]]
        ys = [y for _, y in f["geometry"]["coordinates"][0]]
        assert bounds.left <= min(xs) and max(xs) <= bounds.right
        assert bounds.bottom <= min(ys) and max(ys) <= bounds.top
        assert f["properties"]["label"] is None
    # no square touches a labelled polygon
    with fiona.open(labels) as src:
        polys = [p["geometry"] for p in src]
    with rasterio.open(sorted(Path(tiny_demo.s2_dir).glob("*.tif"))[0]) as src:
        labelled = rasterize([(g, 1) for g in polys], out_shape=(src.height, src.width),
                             transform=src.transform, fill=0, dtype="uint8")  # fmt: skip
    for s in res["squares"]:
        assert not labelled[s["row"] : s["row"] + s["size"], s["col"] : s["col"] + s["size"]].any()
    assert not list(tmp_path.glob(".s4-suggest-*"))
    with pytest.raises(DataError, match=r"40 px is larger than the scene \(32 x 32 px\)"):
        api.suggest_labels(model, tmp_path / "big.gpkg", s2=str(tiny_demo.s2_dir), size=40,
                           device="cpu")  # fmt: skip
    assert not (tmp_path / "big.gpkg").exists() and not list(tmp_path.glob(".s4-suggest-*"))


def test_suggestions_say_when_the_square_or_the_number_does_not_fit(tmp_path):
    from affine import Affine

    from s4_core.errors import S4Warning
    from s4_core.grid import Grid
    from s4_core.raster_io import write_raster

    grid = Grid("EPSG:32631", Affine(10.0, 0, 500000.0, 0, -10.0, 5650000.0), 32, 32)
    stripes = (np.arange(32) // 8) % 3  # fields: 8 px wide stripes of classes 0, 1, 2, 0
    p = np.random.default_rng(0).uniform(0.1, 0.3, size=(3, 32, 32))
    p += 0.5 * (stripes[None, None, :] == np.arange(3)[:, None, None])
    probs = write_raster(tmp_path / "p.tif", (p / p.sum(0)).astype(np.float32), grid)
    names = ["a", "b", "c"]
    with pytest.raises(DataError, match=r"SIZE\) of 40 px is larger than the scene \(32 x 32"):
        api.suggest_from_probabilities(probs, tmp_path / "big.gpkg", class_names=names, size=40)
    assert not (tmp_path / "big.gpkg").exists()
    with pytest.warns(S4Warning) as caught:
        res = api.suggest_from_probabilities(
            probs, tmp_path / "many.gpkg", class_names=names, number=100000
        )
    assert 0 < res["n"] < 100000
    message = " ".join(str(w.message) for w in caught)
    assert f"only {res['n']} of the 100000 squares asked for" in message
    assert "has 784 positions in the 32 x 32 px scene" in message and "10 px apart" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error", S4Warning)  # as many as asked: no warning
        api.suggest_from_probabilities(probs, tmp_path / "two.gpkg", class_names=names, number=2)


# ----------------------------------------------------------------------------- curves
@pytest.mark.torch
def test_curves_stored_in_the_checkpoint_match_the_training_history(tiny_demo, tmp_path):
    from s4_core.checkpoint import load_checkpoint

    out = tmp_path / "ft.pt"
    seen = []
    res = api.finetune(
        None, str(tiny_demo.s2_dir), tiny_demo.parcels, tiny_demo.class_field, out,
        modality="s2", epochs=3, crop_size=16, widths=(8, 16, 32), head="unet", device="cpu",
        progress=lambda f, m, metrics=None: seen.append((f, metrics)) if metrics else None,
    )  # fmt: skip
    info = api.model_info(out)
    ckpt = load_checkpoint(out)
    # the file is the best epoch's; its history is the whole run's (the curves)
    assert info["history"] == ckpt["history"] == res["history"]
    assert len(res["history"]) == 3 and ckpt["epoch"] >= 1
    series = curve_series(res["history"])
    assert series["loss"] == ([1.0, 2.0, 3.0], [h["loss"] for h in res["history"]])
    assert series["val_miou"][1] == [h["val_miou"] for h in res["history"]]
    # the progress callback passed the same epoch records (what the dock plots live)
    epochs = [m for _, m in seen if "epoch" in m]
    assert [m["loss"] for m in epochs] == [h["loss"] for h in res["history"]]
    png = tmp_path / "curves.png"
    api.plot_history(out, png, steps=seen)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.torch
def test_cli_finetune_plot(tiny_demo, tmp_path, capsys):
    from s4_core.cli import main

    png = tmp_path / "c.png"
    rc = main([
        "finetune", "--s2", str(tiny_demo.s2_dir), "--labels", str(tiny_demo.parcels),
        "--class-field", tiny_demo.class_field, "--out", str(tmp_path / "m.pt"),
        "--widths", "8", "16", "32", "--device", "cpu", "--quiet", "--plot", str(png),
        "--head", "unet", "--epochs", "2", "--crop-size", "16",
    ])  # fmt: skip
    assert rc == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "training curves" in capsys.readouterr().out
    rc = main([
        "finetune", "--s2", str(tiny_demo.s2_dir), "--labels", str(tiny_demo.parcels),
        "--class-field", tiny_demo.class_field, "--out", str(tmp_path / "m2.pt"),
        "--quiet", "--plot", str(tmp_path / "c.bmp"),
    ])  # fmt: skip
    assert rc == 2 and not (tmp_path / "m2.pt").exists()
    assert "--plot" in capsys.readouterr().err


# ----------------------------------------------------------------------------- evaluation
def test_evaluation_report(tmp_path):
    scores = {
        "class_names": ["maize", "wheat <b>"],
        "confusion_matrix": [[8, 2], [1, 9]],
        "iou": [0.727, 0.75],
        "support": [10, 10],
        "oa": 0.85,
        "miou": 0.7385,
        "n_present": 2,
        "n_pixels": 20,
    }
    out = api.evaluation_report(
        scores, figure_out=tmp_path / "cm.png", html_out=tmp_path / "r.html"
    )
    assert Path(out["figure"]).read_bytes()[:4] == b"\x89PNG"
    text = Path(out["html"]).read_text()
    assert "85.0 %" in text and "73.9 %" in text
    assert "wheat &lt;b&gt;" in text and "data:image/png;base64," in text
    assert "<td>8</td><td>2</td>" in text
    assert not list(tmp_path.glob(".*"))


def test_figure_of_a_history_without_scores(tmp_path):
    from s4_core.figures import curves_figure, save_figure

    hist = [{"epoch": i + 1, "loss": 1.0 / (i + 1), "accuracy": 0.1 * i} for i in range(4)]
    fig = curves_figure(hist)
    left, right = fig.axes[:2]
    assert [line.get_label() for line in left.lines] == ["loss"]
    assert [line.get_label() for line in right.lines] == ["accuracy"]
    np.testing.assert_allclose(left.lines[0].get_ydata(), [1, 0.5, 1 / 3, 0.25])
    save_figure(fig, tmp_path / "c.pdf")
    assert (tmp_path / "c.pdf").read_bytes()[:4] == b"%PDF"

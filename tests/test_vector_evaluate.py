"""Vector export and evaluation of class rasters: torch-free (they also run in the QGIS 3.40
CI, which has no torch; a test below checks that neither module imports it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import fiona
import numpy as np
import pytest
from affine import Affine

from s4_core import raster_io
from s4_core.control import Control
from s4_core.errors import Cancelled, DataError, LabelError
from s4_core.evaluate import evaluate
from s4_core.grid import Grid
from s4_core.labels import ClassMap, LabelWarning
from s4_core.metrics import confusion_matrix
from s4_core.vectorize import vectorize_classes

CRS = "EPSG:32631"
ORIGIN = (500000.0, 5650000.0)
NAMES = ["maize", "wheat", "grass"]
VALUES = [1200, 1100, 9120]


def listing(folder: Path):
    return sorted(p.name for p in folder.iterdir())


def test_export_and_evaluate_do_not_import_torch():
    code = (
        "import sys; import s4_core.vectorize, s4_core.evaluate, s4_core.raster_io, "
        "s4_core.inference, s4_core.tiling, s4_core.backends; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------- polygons
def _class_raster(path: Path, arr: np.ndarray, names=NAMES, res=10.0) -> Path:
    codes = dict(zip(NAMES, VALUES))
    cm = ClassMap.from_names(names, [codes.get(n, n) for n in names])
    grid = Grid(CRS, Affine(res, 0, ORIGIN[0], 0, -res, ORIGIN[1]), arr.shape[1], arr.shape[0])
    return raster_io.write_raster(
        path, arr.astype(np.uint8), grid, nodata=255, tags=raster_io.class_tags(cm, "s2")
    )


def _components(arr: np.ndarray):
    """Slow reference: 4-connected components per class, {(class, size)} as a sorted list."""
    seen = np.zeros(arr.shape, dtype=bool)
    out = []
    h, w = arr.shape
    for r in range(h):
        for c in range(w):
            if seen[r, c] or arr[r, c] == 255:
                continue
            v, stack, n = arr[r, c], [(r, c)], 0
            seen[r, c] = True
            while stack:
                y, x = stack.pop()
                n += 1
                for yy, xx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                    if 0 <= yy < h and 0 <= xx < w and not seen[yy, xx] and arr[yy, xx] == v:
                        seen[yy, xx] = True
                        stack.append((yy, xx))
            out.append((int(v), n))
    return sorted(out)


def _read_gpkg(path: Path):
    assert fiona.listlayers(str(path)) == ["classes"]
    with fiona.open(str(path), layer="classes") as src:
        props = dict(src.schema["properties"])
        rows = [
            (f["properties"]["class_id"], f["properties"]["class_name"], f["properties"]["area_m2"])
            for f in src
        ]
    return props, rows


def test_vectorize_matches_connected_components(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 3, size=(20, 23)).astype(np.uint8)
    arr[rng.random(arr.shape) < 0.1] = 255
    raster = _class_raster(tmp_path / "c.tif", arr)
    n = vectorize_classes(raster, tmp_path / "poly.gpkg")
    props, rows = _read_gpkg(tmp_path / "poly.gpkg")
    assert props["class_id"].startswith("int") and props["class_name"].startswith("str")
    assert props["area_m2"].startswith("float")
    expected = _components(arr)
    assert n == len(rows) == len(expected)
    got = sorted((cid, round(area / 100.0)) for cid, _, area in rows)
    assert got == expected  # one polygon per component, area = pixels x 100 m²
    assert {(cid, name) for cid, name, _ in rows} <= {(i, n) for i, n in enumerate(NAMES)}
    assert listing(tmp_path) == ["c.tif", "poly.gpkg"]


def test_min_area_merges_small_regions_and_drops_isolated_ones(tmp_path):
    arr = np.zeros((20, 20), dtype=np.uint8)
    arr[5:7, 5:7] = 1  # 4 px = 400 m² island inside class 0: merged into class 0
    arr[10:16, 10:16] = 2  # 36 px: kept
    arr[0:4, 14:20] = 255  # nodata block ...
    arr[1, 16] = 1  # ... with a 1 px region inside it: no class neighbour, dropped
    raster = _class_raster(tmp_path / "c.tif", arr)
    n = vectorize_classes(raster, tmp_path / "p.gpkg", min_area_m2=500.0)
    _, rows = _read_gpkg(tmp_path / "p.gpkg")
    assert n == 2
    areas = {cid: area for cid, _, area in rows}
    assert areas[2] == pytest.approx(3600.0)
    assert areas[0] == pytest.approx((400 - 24 - 36) * 100.0)  # the island is class 0 now
    assert sorted(name for _, name, _ in rows) == ["grass", "maize"]


def test_vectorize_cancel_and_geographic_areas(tmp_path):
    arr = np.zeros((8, 8), dtype=np.uint8)
    arr[:, 4:] = 1
    raster = _class_raster(tmp_path / "c.tif", arr)
    with pytest.raises(Cancelled):
        vectorize_classes(raster, tmp_path / "p.gpkg", control=Control(cancel=lambda: True))
    assert listing(tmp_path) == ["c.tif"]
    geo = tmp_path / "geo.tif"
    grid = Grid("EPSG:4326", Affine(0.001, 0, 3.0, 0, -0.001, 51.0), 8, 8)
    tags = raster_io.class_tags(ClassMap.from_names(["a", "b"]), "s2")
    raster_io.write_raster(geo, arr, grid, nodata=255, tags=tags)
    vectorize_classes(geo, tmp_path / "g.gpkg")
    _, rows = _read_gpkg(tmp_path / "g.gpkg")
    # 8 x 4 cells of 0.001 deg at 51 N: about 70 m x 111 m each
    for _, _, area in rows:
        assert 32 * 69.0 * 110.0 < area < 32 * 72.0 * 112.0


# ----------------------------------------------------------------------------- evaluation
def _write_polygons(path: Path, polys, field="crop"):
    schema = {"geometry": "Polygon", "properties": {field: "str"}}
    with fiona.open(str(path), "w", driver="GPKG", schema=schema, crs=CRS, layer="truth") as dst:
        for (r0, c0, r1, c1), name in polys:
            x0, x1 = ORIGIN[0] + 10 * c0, ORIGIN[0] + 10 * c1
            y0, y1 = ORIGIN[1] - 10 * r0, ORIGIN[1] - 10 * r1
            ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
            dst.write(
                {
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                    "properties": {field: name},
                }
            )
    return path


def test_evaluate_against_polygons_and_rasters(tmp_path):
    rng = np.random.default_rng(1)
    pred = rng.integers(0, 3, size=(16, 16)).astype(np.uint8)
    pred[0, :] = 255
    _class_raster(tmp_path / "pred.tif", pred)
    polys = [((0, 0, 8, 8), "maize"), ((0, 8, 8, 16), "Wheat"), ((8, 0, 16, 16), "grass"),
             ((12, 12, 16, 16), "barley")]  # fmt: skip
    _write_polygons(tmp_path / "truth.gpkg", polys)
    truth = np.zeros((16, 16), dtype=np.uint8)
    truth[:8, 8:] = 1
    truth[8:] = 2
    keep = np.ones_like(truth, dtype=bool)
    keep[12:, 12:] = False  # barley: unknown to the model, not scored
    with pytest.warns(LabelWarning, match="more than one polygon"):
        res = evaluate(tmp_path / "pred.tif", tmp_path / "truth.gpkg", class_field="crop")
    want = confusion_matrix(pred[keep], truth[keep], 3)
    assert res["confusion_matrix"] == want.tolist()
    assert res["oa"] == pytest.approx(np.trace(want) / want.sum())
    assert res["class_names"] == NAMES
    assert res["unmatched"] == {"barley": 16}
    assert res["unpredicted_pixels"] == 16
    json.dumps(res)
    with pytest.raises(LabelError, match="--class-field"):
        evaluate(tmp_path / "pred.tif", tmp_path / "truth.gpkg")

    # raw codes matched to the class values (1200 maize, 1100 wheat, 9120 grass); 0 = unknown
    codes = np.array(VALUES, dtype=np.uint16)[truth]
    codes[12:, 12:] = 0
    grid = Grid(CRS, Affine(10.0, 0, ORIGIN[0], 0, -10.0, ORIGIN[1]), 16, 16)
    raster_io.write_raster(tmp_path / "codes.tif", codes, grid)
    res2 = evaluate(tmp_path / "pred.tif", tmp_path / "codes.tif")
    assert res2["confusion_matrix"] == want.tolist() and res2["unmatched"] == {"0": 16}

    # an S4 class raster with another class order, on a coarser grid: matched by name
    other = ["grass", "maize", "wheat"]
    remap = np.array([1, 2, 0], dtype=np.uint8)[truth]
    remap[12:, 12:] = 255
    coarse = remap[::2, ::2]
    _class_raster(tmp_path / "ref.tif", coarse, names=other, res=20.0)
    res3 = evaluate(tmp_path / "pred.tif", tmp_path / "ref.tif")
    assert res3["confusion_matrix"] == want.tolist() and res3["unmatched"] == {}

    with pytest.raises(DataError, match="not an S4 class raster"):
        evaluate(tmp_path / "codes.tif", tmp_path / "ref.tif")


def test_an_image_as_reference_raster_is_named_and_its_values_not_all_listed(tmp_path, capsys):
    """A Sentinel-2-like image given as the reference: its first band's hundreds of values are
    not listed one by one as unmatched classes; the message says it is not a class raster."""
    import re

    from s4_core.cli import main

    pred = np.zeros((16, 16), dtype=np.uint8)
    _class_raster(tmp_path / "pred.tif", pred)
    grid = Grid(CRS, Affine(10.0, 0, ORIGIN[0], 0, -10.0, ORIGIN[1]), 16, 16)
    image = (2000 + np.arange(4 * 256).reshape(4, 16, 16) % 256).astype(np.uint16)
    raster_io.write_raster(tmp_path / "image.tif", image, grid)
    with pytest.raises(LabelError) as err:
        evaluate(tmp_path / "pred.tif", tmp_path / "image.tif")
    message = str(err.value)
    listed = ", ".join(str(2000 + i) for i in range(10))
    assert f"unmatched reference classes: {listed} ... and 246 more" in message, message
    assert len(re.findall(r"\b2\d{3}\b", message)) == 10
    assert (
        "image.tif has 4 bands, 256 distinct values in band 1 (uint16): it does not look "
        in message
    )
    assert "give a class raster" in message and "reference polygons" in message

    reflectance = np.linspace(0.01, 0.5, 256, dtype=np.float32).reshape(16, 16)
    raster_io.write_raster(tmp_path / "float.tif", reflectance, grid)
    with pytest.raises(LabelError, match=r"float\.tif holds non-integer values \(float32\): it "
                       "does not look like a class raster"):  # fmt: skip
        evaluate(tmp_path / "pred.tif", tmp_path / "float.tif")

    # codes of a partly known class raster: the scores list at most 10 unknown codes
    codes = np.full((16, 16), 1200, dtype=np.uint16)
    codes[:, :15] = 3000 + np.arange(15)[None, :]  # 15 codes unknown to the model, 16 px each
    codes[0, :15] = 1100
    raster_io.write_raster(tmp_path / "codes.tif", codes, grid)
    assert main(["evaluate", "--pred", str(tmp_path / "pred.tif"), "--truth",
                 str(tmp_path / "codes.tif")]) == 0  # fmt: skip
    line = next(x for x in capsys.readouterr().out.splitlines() if "does not know" in x)
    assert line.endswith("... and 5 more") and line.count(" px)") == 10, line


def test_evaluate_reference_raster_elsewhere_says_they_do_not_overlap(tmp_path):
    pred = np.zeros((16, 16), dtype=np.uint8)
    _class_raster(tmp_path / "pred.tif", pred)
    away = Grid(CRS, Affine(20.0, 0, 600000.0, 0, -20.0, 5700000.0), 16, 16)
    raster_io.write_raster(tmp_path / "away.tif", np.full((16, 16), 1200, np.uint16), away)
    with pytest.raises(LabelError) as err:
        evaluate(tmp_path / "pred.tif", tmp_path / "away.tif")
    message = str(err.value)
    assert "away.tif and the prediction" in message and "do not overlap" in message
    assert "600000.0, 5699680.0, 600320.0, 5700000.0" in message  # the reference's bounds
    assert "500000.0, 5649840.0, 500160.0, 5650000.0" in message  # the prediction's
    assert message.count("EPSG:32631") == 2

"""Labels from polygons: pixel-centre rule, ClassMap, reprojection, reports and errors."""

from __future__ import annotations

import json
import re
import warnings

import fiona
import numpy as np
import pytest
import rasterio
from affine import Affine
from fiona.transform import transform_geom
from rasterio.crs import CRS

from s4_core.errors import LabelError
from s4_core.grid import Grid
from s4_core.labels import (
    IGNORE_INDEX,
    ClassMap,
    LabelReport,
    LabelWarning,
    default_colors,
    list_fields,
    rasterize_labels,
    rasterize_polygon_ids,
)

# overlapping polygons are on purpose; tests that look at warnings catch them explicitly
pytestmark = pytest.mark.filterwarnings("ignore::s4_core.labels.LabelWarning")

X0, Y0 = 500000.0, 5650000.0
UTM = CRS.from_epsg(32631)


def grid(w: int = 24, h: int = 20) -> Grid:
    return Grid(UTM, Affine(10.0, 0.0, X0, 0.0, -10.0, Y0), w, h)


def poly(*pts, holes=()):
    ring = [tuple(map(float, p)) for p in pts] + [tuple(map(float, pts[0]))]
    return {"type": "Polygon", "coordinates": [ring] + [list(h) + [h[0]] for h in holes]}


def write_layer(path, features, *, crs="EPSG:32631", fields=None, geometry="Polygon", layer=None):
    """features: list of (geometry dict or None, properties dict)."""
    fields = fields or {"crop": "str", "code": "int"}
    schema = {"geometry": geometry, "properties": fields}
    with fiona.open(
        str(path), "w", driver="GPKG", schema=schema, crs=crs, layer=layer or "parcels"
    ) as dst:
        for geom, props in features:
            dst.write({"geometry": geom, "properties": props})
    return path


def point_in_polygon(x: float, y: float, geom: dict) -> bool:
    """Slow reference: even-odd ray casting over all rings (holes included)."""
    polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
    inside = False
    for rings in polys:
        for ring in rings:
            n = len(ring)
            for i in range(n - 1):
                (x1, y1), (x2, y2) = ring[i][:2], ring[i + 1][:2]
                if (y1 > y) != (y2 > y):
                    xc = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
                    if x < xc:
                        inside = not inside
    return inside


def reference_raster(g: Grid, shapes) -> np.ndarray:
    """Class index per pixel centre, later shapes winning, by the slow reference."""
    out = np.full(g.shape, IGNORE_INDEX, dtype=np.uint8)
    for r in range(g.height):
        for c in range(g.width):
            x, y = g.transform * (c + 0.5, r + 0.5)
            for geom, value in shapes:
                if point_in_polygon(x, y, geom):
                    out[r, c] = value
    return out


def xy(col: float, row: float):
    """Map coordinates of a fractional pixel position (off-centre values avoid ties)."""
    return (X0 + 10.0 * col, Y0 - 10.0 * row)


@pytest.fixture()
def simple(tmp_path):
    """Three classes, one polygon with a hole, a multipolygon, overlaps; all inside the grid."""
    feats = [
        (
            poly(xy(1.3, 1.2), xy(9.7, 1.6), xy(8.9, 8.8), xy(1.1, 7.4)),
            {"crop": "wheat", "code": 311},
        ),
        (
            poly(
                xy(11.2, 0.4),
                xy(22.6, 1.3),
                xy(21.8, 12.7),
                xy(12.1, 11.3),
                holes=[[xy(14.4, 4.3), xy(18.3, 4.6), xy(17.6, 8.2), xy(14.9, 7.7)]],
            ),
            {"crop": "maize", "code": 1200},
        ),
        (
            {
                "type": "MultiPolygon",
                "coordinates": [
                    poly(xy(0.4, 12.3), xy(7.6, 10.2), xy(6.3, 18.9))["coordinates"],
                    poly(xy(15.3, 14.4), xy(23.6, 14.2), xy(23.3, 19.6), xy(16.2, 19.3))[
                        "coordinates"
                    ],
                ],
            },
            {"crop": "potatoes", "code": 5100},
        ),
        # overlaps the first polygon: the later feature wins
        (
            poly(xy(6.2, 5.3), xy(12.7, 5.1), xy(12.4, 9.6), xy(6.6, 9.8)),
            {"crop": "maize", "code": 1200},
        ),
    ]
    return write_layer(tmp_path / "simple.gpkg", feats, geometry="Unknown"), feats


def test_pixel_centre_rule_matches_slow_reference(simple):
    path, feats = simple
    g = grid()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        labels, cmap, report = rasterize_labels(path, "crop", g)
    assert labels.dtype == np.uint8 and labels.shape == g.shape
    assert cmap.names == ["maize", "potatoes", "wheat"]  # sorted text values
    ref = reference_raster(g, [(geom, cmap.index_of(p["crop"])) for geom, p in feats])
    np.testing.assert_array_equal(labels, ref)
    # report
    assert report.n_features == 4 and report.n_used == 4
    assert report.n_empty == 0 and report.n_outside == 0
    hist = {n: int((labels == i).sum()) for i, n in enumerate(cmap.names)}
    assert report.pixels_per_class == hist
    assert any("more than one polygon" in m for m in report.messages)
    assert any(issubclass(w.category, LabelWarning) for w in caught)
    assert (labels == IGNORE_INDEX).any()  # the hole and the gaps stay unlabelled


def test_integer_field_sorted_numerically_and_ids(simple):
    path, feats = simple
    g = grid()
    labels, cmap, _ = rasterize_labels(path, "code", g)
    assert cmap.values == [311, 1200, 5100] and cmap.names == ["311", "1200", "5100"]
    ids = rasterize_polygon_ids(path, g)
    assert ids.dtype == np.int32
    ref_ids = reference_raster(g, [(geom, i + 1) for i, (geom, _) in enumerate(feats)])
    ref_ids = np.where(ref_ids == IGNORE_INDEX, 0, ref_ids)
    np.testing.assert_array_equal(ids, ref_ids)
    # the class raster is the class of the polygon each pixel belongs to
    codes = np.array([0] + [p["code"] for _, p in feats])
    lut = np.array(cmap.values + [0] * (256 - len(cmap)))
    lut[IGNORE_INDEX] = 0
    np.testing.assert_array_equal(lut[labels], codes[ids])


def test_reprojected_polygons_give_the_same_raster(simple, tmp_path):
    path, feats = simple
    wgs = [(transform_geom("EPSG:32631", "EPSG:4326", geom), p) for geom, p in feats]
    path84 = write_layer(tmp_path / "wgs84.gpkg", wgs, crs="EPSG:4326", geometry="Unknown")
    g = grid()
    a, ca, _ = rasterize_labels(path, "crop", g)
    b, cb, rb = rasterize_labels(path84, "crop", g)
    assert ca.names == cb.names
    assert (a == b).mean() >= 0.99
    assert any("reprojected" in m for m in rb.messages)


def test_class_map_given_matches_by_value_or_name(simple):
    path, _ = simple
    g = grid()
    cmap = ClassMap.from_names(["potatoes", "wheat", "maize", "beet"])
    labels, out_map, report = rasterize_labels(path, "crop", g, class_map=cmap)
    assert out_map is cmap
    ref, ref_map, _ = rasterize_labels(path, "crop", g)
    for i, name in enumerate(ref_map.names):
        assert np.array_equal(labels == cmap.index_of(name), ref == i)
    assert report.pixels_per_class["beet"] == 0
    # integer codes against a class map from a checkpoint that stored them as values
    by_code = ClassMap(["W", "M", "P"], [311, 1200, 5100], default_colors(3))
    labels2, _, _ = rasterize_labels(path, "code", g, class_map=by_code)
    assert np.array_equal(labels2 == 0, ref == ref_map.index_of("wheat"))
    with pytest.raises(LabelError, match=r"class map does not know: potatoes.*wheat, maize"):
        rasterize_labels(path, "crop", g, class_map=ClassMap.from_names(["wheat", "maize"]))


def test_missing_field_lists_existing_fields(simple):
    path, _ = simple
    with pytest.raises(LabelError, match=r"'Crop' does not exist.*did you mean 'crop'.*crop, code"):
        rasterize_labels(path, "Crop", grid())
    assert list_fields(path) == ["crop", "code"]


def test_empty_outside_and_unclassified_reported(tmp_path):
    feats = [
        (poly(xy(2.2, 2.3), xy(9.6, 2.4), xy(9.3, 9.7), xy(2.4, 9.1)), {"crop": "a", "code": 1}),
        (None, {"crop": "b", "code": 2}),  # empty geometry
        (poly(xy(40.2, 2.3), xy(49.6, 2.4), xy(49.3, 9.7)), {"crop": "c", "code": 3}),  # outside
        (poly(xy(12.2, 2.3), xy(19.6, 2.4), xy(19.3, 9.7)), {"crop": None, "code": 4}),  # no class
        (poly(xy(12.2, 12.3), xy(19.6, 12.4), xy(19.3, 17.7)), {"crop": "d", "code": 5}),
    ]
    path = write_layer(tmp_path / "mixed.gpkg", feats)
    with pytest.warns(LabelWarning) as caught:
        labels, cmap, report = rasterize_labels(path, "crop", grid())
    assert isinstance(report, LabelReport)
    assert (report.n_features, report.n_used, report.n_empty, report.n_outside) == (5, 2, 1, 1)
    assert report.n_no_class == 1
    assert cmap.names == ["a", "d"]  # classes seen only outside or without pixels are left out
    text = " ".join(str(w.message) for w in caught)
    assert "empty geometry" in text and "outside the grid" in text and "no value" in text
    assert set(np.unique(labels)) == {0, 1, IGNORE_INDEX}


def test_class_names_differing_only_in_case_or_spaces_are_warned_about(tmp_path):
    """ "maize" and "MAIZE " stay two classes (the user's classes are not changed), with a
    warning naming both spellings and their polygons."""
    box = [(1, 1), (5, 1), (5, 5)]
    names = ["maize", "MAIZE ", "maize ", "winter  wheat", "Winter wheat", "potatoes"]
    feats = [
        (poly(*(xy(c + 6.2 * (i % 3), r + 6.3 * (i // 3)) for c, r in box)), {"crop": n, "code": i})
        for i, n in enumerate(names)
    ]
    path = write_layer(tmp_path / "spellings.gpkg", feats)
    with pytest.warns(LabelWarning) as caught:
        _, cmap, report = rasterize_labels(path, "crop", grid())
    # four classes: surrounding spaces are dropped, case and inner spaces are kept
    assert sorted(cmap.names) == ["MAIZE", "Winter wheat", "maize", "potatoes", "winter  wheat"]
    text = [str(w.message) for w in caught if "differ only" in str(w.message)]
    assert text == [
        "class names in 'crop' differ only in upper/lower case or spaces: 'MAIZE' (1 polygon), "
        "'maize' (2 polygons) are treated as 2 different classes; if they are one class, give "
        "its polygons the same spelling",
        "class names in 'crop' differ only in upper/lower case or spaces: 'Winter wheat' (1 "
        "polygon), 'winter  wheat' (1 polygon) are treated as 2 different classes; if they are "
        "one class, give its polygons the same spelling",
    ]
    assert all(m in report.messages for m in text)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LabelWarning)  # distinct names: no such warning
        rasterize_labels(write_layer(tmp_path / "ok.gpkg", feats[2:4] + feats[5:]), "crop", grid())


def test_no_overlap_and_bad_layers_raise(tmp_path):
    far = [(poly(xy(100.2, 2.3), xy(109.6, 2.4), xy(109.3, 9.7)), {"crop": "a", "code": 1})]
    path = write_layer(tmp_path / "far.gpkg", far)
    with pytest.raises(
        LabelError, match="covers a pixel centre.*1 of 1 polygons lie entirely outside"
    ):
        rasterize_labels(path, "crop", grid())
    with pytest.raises(LabelError, match="covers a pixel centre"):
        rasterize_polygon_ids(path, grid())

    empty = write_layer(tmp_path / "empty.gpkg", [])
    with pytest.raises(LabelError, match="is empty"):
        rasterize_labels(empty, "crop", grid())

    pts = [({"type": "Point", "coordinates": xy(3.3, 3.3)}, {"crop": "a", "code": 1})]
    points = write_layer(tmp_path / "points.gpkg", pts, geometry="Point")
    with pytest.raises(LabelError, match="holds no polygons"):
        rasterize_labels(points, "crop", grid())

    with pytest.raises(LabelError, match="does not exist"):
        rasterize_labels(tmp_path / "missing.gpkg", "crop", grid())
    (tmp_path / "junk.gpkg").write_text("not a geopackage")
    with pytest.raises(LabelError, match="cannot read label polygons"):
        rasterize_labels(tmp_path / "junk.gpkg", "crop", grid())
    ok = [(poly(xy(2.2, 2.3), xy(9.6, 2.4), xy(9.3, 9.7)), {"crop": "a", "code": 1})]
    path = write_layer(tmp_path / "ok.gpkg", ok)
    with pytest.raises(LabelError, match=r"layer 'nope' not found.*parcels"):
        rasterize_labels(path, "crop", grid(), layer="nope")


def test_layers_without_geometries_say_so(tmp_path):
    table = tmp_path / "table.csv"
    table.write_text("id,crop\n1,a\n2,b\n")
    null = {"type": "Feature", "geometry": None, "properties": {"crop": "a"}}
    nulls = tmp_path / "nulls.geojson"
    nulls.write_text(json.dumps({"type": "FeatureCollection", "features": [null]}))
    for path in (table, nulls):
        with pytest.raises(LabelError, match=rf"{path.name} has no geometries \(polygons\)"):
            rasterize_labels(path, "crop", grid())
        with pytest.raises(LabelError, match="has no geometries"):
            rasterize_polygon_ids(path, grid())
    point = {"type": "Point", "coordinates": list(xy(3.3, 3.3))}
    mixed = tmp_path / "mixed.geojson"
    mixed.write_text(json.dumps({"type": "FeatureCollection", "features": [
        null, {"type": "Feature", "geometry": point, "properties": {"crop": "b"}}]}))  # fmt: skip
    with pytest.raises(LabelError, match="no usable polygon.*1 have no geometry.*1 are not polyg"):
        rasterize_labels(mixed, "crop", grid())


def test_only_empty_classes_raise(tmp_path):
    feats = [(poly(xy(2.2, 2.3), xy(9.6, 2.4), xy(9.3, 9.7)), {"crop": "  ", "code": 1})]
    path = write_layer(tmp_path / "blank.gpkg", feats)
    with pytest.raises(LabelError, match="1 polygon.s. have no value in 'crop'.*fill in the class"):
        rasterize_labels(path, "crop", grid())


def test_class_map_round_trip_and_lookup():
    cm = ClassMap.from_names(["maize", "wheat", "grass"], [1200, 311, 9120])
    d = cm.to_dict()
    back = ClassMap.from_dict(json.loads(json.dumps(d)))
    assert back == cm and len(back) == 3
    assert back.colors == default_colors(3)
    assert cm.index_of(311) == 1 and cm.index_of("311") == 1 and cm.index_of(311.0) == 1
    assert cm.index_of("grass") == 2 and cm.index_of(" Grass ") == 2
    with pytest.raises(LabelError, match=r"unknown class 'beet'.*maize \(1200\), wheat \(311\)"):
        cm.index_of("beet")
    named = ClassMap.from_names(["a", "b"])
    assert named.values == ["a", "b"]
    assert ClassMap.from_dict({"names": ["x", "y"]}) == ClassMap.from_names(["x", "y"])
    with pytest.raises(LabelError, match="unique"):
        ClassMap.from_names(["a", "a"])
    with pytest.raises(LabelError, match="at most 255"):
        ClassMap.from_names([str(i) for i in range(256)])
    with pytest.raises(LabelError, match="one value and one colour"):
        ClassMap(["a"], [1, 2], [(0, 0, 0)])


def test_default_colours_distinct_and_deterministic():
    c = default_colors(40)
    assert c == default_colors(40) and len(set(c)) == 40
    assert all(len(x) == 3 and all(0 <= v <= 255 for v in x) for x in c)


@pytest.mark.realdata
def test_flanders_parcels_reproduce_crop_type(flanders, tmp_path):
    labels_dir = flanders / "labels"
    g = Grid.from_raster(labels_dir / "crop_type.tif")
    with rasterio.open(labels_dir / "crop_type.tif") as src:
        ref = src.read(1)
    labels, cmap, report = rasterize_labels(labels_dir / "parcels.gpkg", "ct_code", g)
    assert cmap.values == [1200, 2130, 5100, 7900, 9120]
    lut = np.zeros(256, dtype=np.int64)
    lut[: len(cmap)] = cmap.values
    assert (lut[labels] == ref).mean() >= 0.99
    assert report.n_used == report.n_features

    # the same polygons in EPSG:4326 give the same raster
    with fiona.open(labels_dir / "parcels.gpkg", layer="parcels") as src:
        feats = [
            (transform_geom(src.crs_wkt, "EPSG:4326", f["geometry"]), dict(f["properties"]))
            for f in src
        ]
    path84 = write_layer(
        tmp_path / "parcels_4326.gpkg",
        feats,
        crs="EPSG:4326",
        fields={"ct_code": "int", "crop_name": "str"},
    )
    labels84, cmap84, _ = rasterize_labels(path84, "ct_code", g)
    assert cmap84.values == cmap.values
    assert (labels84 == labels).mean() >= 0.99
    assert (lut[labels84] == ref).mean() >= 0.99
    ids = rasterize_polygon_ids(labels_dir / "parcels.gpkg", g)
    assert set(np.unique(ids)) == set(range(report.n_features + 1))


def test_3d_polygons_and_layer_choice(tmp_path):
    shell = [xy(2.2, 2.3), xy(9.6, 2.4), xy(9.3, 9.7), xy(2.4, 9.1)]
    flat = [(poly(*shell), {"crop": "a", "code": 1})]
    path = tmp_path / "layers.gpkg"
    pts = [({"type": "Point", "coordinates": xy(3.3, 3.3)}, {"crop": "p", "code": 9})]
    write_layer(path, pts, geometry="Point", layer="points")  # first layer: not polygons
    write_layer(path, flat, layer="fields")
    zpoly = poly(*[(x, y, 12.5) for x, y in shell])
    write_layer(path, [(zpoly, {"crop": "a", "code": 1})], geometry="3D Polygon", layer="fields3d")
    assert fiona.listlayers(str(path)) == ["points", "fields", "fields3d"]
    with pytest.warns(UserWarning) as caught:  # picks the first polygon layer, and says so
        labels, cmap, _ = rasterize_labels(path, "crop", grid())
    assert cmap.names == ["a"]
    said = [str(w.message) for w in caught if "layers" in str(w.message)]
    assert len(said) == 1 and re.search(
        r"layers\.gpkg holds 3 layers \(points, fields, fields3d\): the labels were read from "
        r"'fields', its first polygon layer; name the layer to read with --labels-layer",
        said[0],
    ), said
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a named layer: nothing to say
        labels3d, _, _ = rasterize_labels(path, "crop", grid(), layer="fields3d")
    np.testing.assert_array_equal(labels3d, labels)
    ref = reference_raster(grid(), [(poly(*shell), 0)])
    np.testing.assert_array_equal(labels, ref)
    with pytest.raises(LabelError, match="holds no polygons"):
        rasterize_labels(path, "crop", grid(), layer="points")


def test_polygons_smaller_than_a_pixel_are_named_as_such(tmp_path):
    """Polygons over the grid but too small to hold a pixel centre (2 x 2 m squares between the
    centres of 10 m pixels) are counted apart from those outside it, and the fix is to draw
    larger ones (not to check that the layers cover the same area)."""
    tiny = [
        (poly((x, y), (x + 2, y), (x + 2, y - 2), (x, y - 2)), {"crop": "a", "code": 1})
        for x, y in ((X0 + 21, Y0 - 21), (X0 + 61, Y0 - 101), (X0 + 151, Y0 - 31))
    ]
    far = [(poly((X0 - 500, Y0), (X0 - 490, Y0), (X0 - 490, Y0 - 10)), {"crop": "b", "code": 2})]
    path = write_layer(tmp_path / "tiny.gpkg", tiny + far)
    for burn in (lambda: rasterize_labels(path, "crop", grid()),
                 lambda: rasterize_polygon_ids(path, grid())):  # fmt: skip
        with pytest.raises(LabelError) as info:
            burn()
        message = str(info.value)
        assert "24 x 20 px of 10 m" in message, message
        assert ("3 of 4 polygons lie inside the grid but cover no pixel centre (smaller or "
                "thinner than a 10 m pixel): draw larger polygons") in message  # fmt: skip
        assert "1 of 4 polygons lie entirely outside it: check that" in message
    with pytest.raises(LabelError) as info:
        rasterize_labels(write_layer(tmp_path / "only.gpkg", tiny), "crop", grid())
    assert "draw larger polygons" in str(info.value)
    assert "entirely outside" not in str(info.value)


def test_fine_tuning_shows_each_label_warning_once(tiny_demo, tmp_path):
    """Overlapping polygons: the warning is shown once (a warning), not again as a log line;
    the reprojection note, not a warning, is logged."""
    from s4_core import api

    with fiona.open(str(tiny_demo.parcels)) as src:
        schema, crs = src.schema, src.crs
        feats = [(f["geometry"], dict(f["properties"])) for f in src]
    path = tmp_path / "overlap.gpkg"
    with fiona.open(str(path), "w", driver="GPKG", schema=schema, crs=crs) as dst:
        for geom, props in feats:
            rings = [[(x + 20.0, y) for x, y, *_ in ring] for ring in geom["coordinates"]]
            moved = {"type": "Polygon", "coordinates": rings}  # 20 m east: overlapping
            dst.write({"geometry": geom, "properties": props})
            dst.write({"geometry": moved, "properties": props})
    logged: list = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api.finetune(None, str(tiny_demo.s2_dir), path, tiny_demo.class_field,
                     tmp_path / "m.pt", epochs=1, crop_size=16, widths=(8, 16), seed=0,
                     device="cpu", log=logged.append)  # fmt: skip
    shown = [str(w.message) for w in caught] + [str(m) for m in logged]
    overlap = [m for m in shown if "covered by more than one polygon" in m]
    assert len(overlap) == 1, shown

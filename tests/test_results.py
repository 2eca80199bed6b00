"""Typed api results (s4_core.results): declared keys, attribute access, JSON."""

import json

import pytest

from s4_core import api
from s4_core.results import AlignResult, FinetuneResult, PolygonsResult, Result


def test_a_result_is_a_dict_with_exactly_its_declared_keys():
    r = PolygonsResult(path="a.gpkg", n_polygons=3, classes=[])
    assert r == {"path": "a.gpkg", "n_polygons": 3, "classes": []}
    assert isinstance(r, dict) and r.n_polygons == 3 and r["path"] == "a.gpkg"
    assert json.loads(r.to_json()) == dict(r)
    with pytest.raises(TypeError, match=r"missing keys \['classes'\]"):
        PolygonsResult(path="a.gpkg", n_polygons=3)
    with pytest.raises(TypeError, match=r"unknown keys \['extra'\]"):
        PolygonsResult(path="a.gpkg", n_polygons=3, classes=[], extra=1)
    with pytest.raises(AttributeError, match="no 'nothing'"):
        r.nothing  # noqa: B018


def test_declared_keys_are_inherited_and_optional_keys_may_be_absent():
    assert FinetuneResult.keys_declared() == {
        "path", "history", "metrics", "device", "seconds", "written", "classes"
    }  # fmt: skip
    only_s2 = AlignResult(s2="s2.tif", dates_csv="dates.csv", summary={})
    assert "s1" not in only_s2 and only_s2.s2 == "s2.tif"
    assert Result.keys_declared() == frozenset()


def test_api_results_are_typed(tmp_path, tiny_demo):
    """``api.align`` returns its typed result; the CLI prints ``to_json``."""
    out = api.align(str(tiny_demo.s1_dir), str(tiny_demo.s2_dir), tmp_path / "aligned")
    assert isinstance(out, AlignResult)
    assert set(out) == {"s1", "s2", "dates_csv", "summary"}
    assert json.loads(out.to_json())["summary"]["frames"] == out.summary["frames"]

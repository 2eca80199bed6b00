"""Typed api results (s4_core.results): declared keys, attribute access, JSON."""

import json

import pytest

from s4_core import api
from s4_core.results import (
    AlignResult,
    FinetuneResult,
    PolygonsResult,
    PretrainResult,
    Result,
)


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


def test_json_has_null_for_nan_and_infinities():
    """A pretraining of one batch scores no accuracy (NaN): ``s4 pretrain --json`` prints valid
    JSON (null), never the bare ``NaN`` that JSON parsers refuse."""
    import numpy as np

    nan, inf = float("nan"), np.float64("inf")
    r = PretrainResult(path="m.pt", history=[{"epoch": 1, "accuracy": nan, "loss": 0.5}],
                       metrics={"accuracy": nan, "range": (1.0, -inf)}, device="cpu",
                       seconds=1.0)  # fmt: skip

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    for indent in (None, 1):
        assert json.loads(r.to_json(indent), parse_constant=refuse) == {
            "path": "m.pt", "history": [{"epoch": 1, "accuracy": None, "loss": 0.5}],
            "metrics": {"accuracy": None, "range": [1.0, None]}, "device": "cpu", "seconds": 1.0,
        }  # fmt: skip
    assert r.metrics["accuracy"] is nan  # the result itself unchanged


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

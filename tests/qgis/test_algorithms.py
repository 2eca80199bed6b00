"""The S4 Processing algorithms through ``processing.run`` on the tiny demo scene (and real data)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest

pytestmark = pytest.mark.qgis

ALGORITHMS = [
    "fetch_time_series",
    "align_time_series",
    "pretrain",
    "finetune",
    "segment_time_series",
    "suggest_labels",
    "export_geopackage",
    "evaluate",
    "class_profiles",
]


def tifs(folder: Path, limit: int = 0) -> List[str]:
    paths = sorted(str(p) for p in Path(folder).glob("*.tif"))
    return paths[:limit] if limit else paths


def segment_parameters(model: Path, out: Path, **extra: Any) -> Dict[str, Any]:
    """``s4:segment_time_series`` parameters: ``model`` maps into ``out`` on the CPU (DEVICE 1);
    ``extra``: the layers (SENTINEL2=...) and any other parameter by name."""
    return {"MODEL": str(model), "DEVICE": 1, "OUTPUT": str(out), **extra}


class Recorder:
    """A QgsProcessingFeedback that keeps the info lines and the progress values."""

    def __new__(cls, cancel_at_first_progress: bool = False):
        from qgis.core import QgsProcessingFeedback

        class _Feedback(QgsProcessingFeedback):
            def __init__(self):
                super().__init__()
                self.infos: List[str] = []
                self.progress_values: List[float] = []
                self.progressChanged.connect(self._progress)

            def _progress(self, value):
                self.progress_values.append(value)
                if cancel_at_first_progress and value > 0:
                    self.cancel()

            def pushInfo(self, info):  # noqa: N802
                self.infos.append(info)
                super().pushInfo(info)

        return _Feedback()


def run(name: str, params: dict, feedback=None) -> dict:
    import processing

    return processing.run(f"s4:{name}", params, feedback=feedback)


def model_classes(model: Path) -> list:
    from s4_core import api

    return api.model_info(model)["classes"]


@pytest.fixture(scope="module")
def segmented(s4_processing, tiny_demo, tmp_path_factory, request) -> Path:
    """A class raster of the demo scene, for the export/evaluate tests: segmented by the demo
    model, or where there is no torch (S4_WITHOUT_TORCH=1, the QGIS 3.40 CI) the demo's truth
    written as an S4 class raster (export and evaluate need no torch)."""
    import rasterio

    from s4_core import api, raster_io
    from s4_core.grid import Grid

    out = tmp_path_factory.mktemp("segmented") / "classes.tif"
    if os.environ.get("S4_WITHOUT_TORCH") != "1":
        model = request.getfixturevalue("demo_model")
        api.segment(model, out, s2=tiny_demo.s2_dir, tile_size=32, overlap=8, device="cpu")
        return out
    with rasterio.open(tiny_demo.truth) as ds:
        data, tags = ds.read(1), ds.tags()
    class_map = raster_io.tag_class_map(tags, tiny_demo.truth)
    raster_io.write_raster(
        out, data, Grid.from_raster(tiny_demo.truth), nodata=255,
        tags=raster_io.class_tags(class_map, "s2"), colormap=raster_io.class_colormap(class_map),
    )  # fmt: skip
    return out


# ------------------------------------------------------------------------- the provider
def test_provider_has_every_algorithm_with_help_group_and_icon(s4_processing):
    from qgis.core import QgsApplication

    registry = QgsApplication.processingRegistry()
    ids = sorted(a.id() for a in s4_processing.algorithms())
    assert ids == sorted(f"s4:{n}" for n in ALGORITHMS)
    for name in ALGORITHMS:
        alg = registry.algorithmById(f"s4:{name}")
        assert alg.displayName() and alg.group() and alg.groupId()
        assert len(alg.shortHelpString()) > 100
        assert not alg.icon().isNull()
    seg = registry.algorithmById("s4:segment_time_series")
    names = [p.name() for p in seg.parameterDefinitions()]
    for stable in (
        "SENTINEL2",
        "SENTINEL1",
        "MODEL",
        "EXTENT",
        "DEVICE",
        "OUTPUT",
        "OUTPUT_VECTOR",
    ):
        assert stable in names
    fine = registry.algorithmById("s4:finetune")
    assert {"LABELS", "CLASS_FIELD", "INIT_MODEL", "MODALITY"} <= {
        p.name() for p in fine.parameterDefinitions()
    }
    assert fine.parameterDefinition("CLASS_FIELD").parentLayerParameterName() == "LABELS"


# ------------------------------------------------------------------------- segment
def test_missing_engine_packages_are_reported_before_any_work(
    s4_processing, tiny_demo, demo_model, tmp_path, monkeypatch
):
    from qgis.core import QgsProcessingException

    from s4_qgis import dependencies

    message = "S4 needs Python packages that QGIS's Python cannot import: PyTorch."
    monkeypatch.setattr(dependencies, "engine_missing_message", lambda: message)
    with pytest.raises(QgsProcessingException) as info:
        run(
            "segment_time_series",
            {
                "SENTINEL2": tifs(tiny_demo.s2_dir),
                "MODEL": str(demo_model),
                "OUTPUT": str(tmp_path / "x.tif"),
            },
        )
    assert str(info.value) == message
    assert not list(tmp_path.iterdir())


def test_segment_writes_a_styled_class_raster_and_styled_polygons(
    s4_processing, tiny_demo, demo_model, tmp_path
):
    from qgis.core import QgsRasterLayer, QgsVectorLayer

    out, gpkg = tmp_path / "classes.tif", tmp_path / "classes.gpkg"
    feedback = Recorder()
    result = run(
        "segment_time_series",
        segment_parameters(
            demo_model,
            out,
            SENTINEL2=tifs(tiny_demo.s2_dir),
            TILE_SIZE=32,
            OVERLAP=8,
            OUTPUT_VECTOR=str(gpkg),
        ),
        feedback,
    )
    assert Path(result["OUTPUT"]) == out and out.is_file()
    assert Path(result["OUTPUT_VECTOR"]) == gpkg
    assert any(line.startswith("Device: cpu") for line in feedback.infos)
    assert max(feedback.progress_values) == pytest.approx(100.0)
    classes = model_classes(demo_model)

    # A fresh layer picks up <stem>.qml: paletted, class names as labels, engine colours.
    assert (tmp_path / "classes.qml").is_file()
    raster = QgsRasterLayer(str(out), "classes", "gdal")
    assert raster.renderer().type() == "paletted"
    entries = raster.renderer().classes()
    assert [e.label for e in entries] == [c["name"] for c in classes]
    assert [int(e.value) for e in entries] == [c["index"] for c in classes]
    assert [list(e.color.getRgb()[:3]) for e in entries] == [c["color"] for c in classes]

    # Polygons: the fields of the contract, class names of the model, style in the GeoPackage.
    vector = QgsVectorLayer(str(gpkg), "polygons", "ogr")
    assert vector.isValid() and vector.featureCount() > 0
    assert {"class_id", "class_name", "area_m2"} <= set(vector.fields().names())
    names = {f["class_name"] for f in vector.getFeatures()}
    assert names <= {c["name"] for c in classes}
    assert vector.renderer().type() == "categorizedSymbol"  # the default style from the gpkg
    assert [c.value() for c in vector.renderer().categories()] == [c["name"] for c in classes]
    with sqlite3.connect(gpkg) as db:
        rows = db.execute("SELECT styleName, useAsDefault FROM layer_styles").fetchall()
    assert ("S4 classes", 1) in rows


def test_segment_in_bfloat16_from_the_processing_parameter(
    s4_processing, tiny_demo, demo_model, tmp_path
):
    from osgeo import gdal

    from s4_core.backends import bf16_supported

    common = {"SENTINEL2": tifs(tiny_demo.s2_dir), "MODEL": str(demo_model), "DEVICE": 1}
    run("segment_time_series", {**common, "OUTPUT": str(tmp_path / "fp32.tif")})
    feedback = Recorder()
    run(
        "segment_time_series",
        {**common, "PRECISION": 1, "OUTPUT": str(tmp_path / "bf16.tif")},  # choice 1 = bf16
        feedback,
    )
    if bf16_supported():  # elsewhere the engine warns and maps in float32
        assert any("in bfloat16" in line for line in feedback.infos)
    a = gdal.Open(str(tmp_path / "fp32.tif")).ReadAsArray()
    b = gdal.Open(str(tmp_path / "bf16.tif")).ReadAsArray()
    assert (a == b).mean() > 0.99  # bf16 may move a few pixels (docs/benchmarks.md)


@pytest.mark.torch  # exporting to ONNX needs torch; mapping with it then does not
def test_segment_with_an_onnx_model_and_a_styled_confidence_layer(
    s4_processing, tiny_demo, demo_model, tmp_path
):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from osgeo import gdal
    from qgis.core import QgsRasterLayer

    from s4_core import api

    api.export_onnx(demo_model, tmp_path / "model.onnx")
    common = {"SENTINEL2": tifs(tiny_demo.s2_dir), "DEVICE": 1}
    run(
        "segment_time_series",
        {**common, "MODEL": str(demo_model), "OUTPUT": str(tmp_path / "pt.tif")},
    )
    feedback = Recorder()
    result = run(
        "segment_time_series",
        {
            **common,
            "MODEL": str(tmp_path / "model.onnx"),
            "OUTPUT": str(tmp_path / "onnx.tif"),
            "OUTPUT_CONFIDENCE": str(tmp_path / "confidence.tif"),
        },
        feedback,
    )
    assert any("ONNX Runtime" in line for line in feedback.infos)
    a = gdal.Open(str(tmp_path / "pt.tif")).ReadAsArray()
    b = gdal.Open(result["OUTPUT"]).ReadAsArray()
    assert (a == b).all()
    assert Path(result["OUTPUT_CONFIDENCE"]) == tmp_path / "confidence.tif"
    conf = gdal.Open(str(tmp_path / "confidence.tif")).ReadAsArray()
    assert conf.shape[0] == 2 and (conf[1] <= conf[0] + 1e-6)[a != 255].all()
    assert (tmp_path / "confidence.qml").is_file()
    layer = QgsRasterLayer(str(tmp_path / "confidence.tif"), "confidence", "gdal")
    assert layer.renderer().type() == "singlebandpseudocolor"


def test_segment_writes_class_probabilities_like_the_command_line(
    s4_processing, tiny_demo, demo_model, tmp_path
):
    """OUTPUT_PROBABILITIES: one band per class, named after it, summing to 1, whose
    most probable class is the class raster (the CLI's --probabilities)."""
    import rasterio

    result = run(
        "segment_time_series",
        {
            "SENTINEL2": tifs(tiny_demo.s2_dir),
            "MODEL": str(demo_model),
            "DEVICE": 1,
            "OUTPUT": str(tmp_path / "map.tif"),
            "OUTPUT_PROBABILITIES": str(tmp_path / "probabilities.tif"),
        },
    )
    assert Path(result["OUTPUT_PROBABILITIES"]) == tmp_path / "probabilities.tif"
    with rasterio.open(result["OUTPUT"]) as ds:
        classes = ds.read(1)
        names = json.loads(ds.tags()["S4_CLASS_NAMES"])
    with rasterio.open(tmp_path / "probabilities.tif") as ds:
        probs = ds.read()
        descriptions = list(ds.descriptions)
    valid = classes != 255
    assert valid.any()
    assert descriptions == names and probs.shape[0] == len(names) >= 2
    assert np.allclose(probs[:, valid].sum(axis=0), 1.0, atol=1e-4)
    assert (probs.argmax(axis=0)[valid] == classes[valid]).all()
    without = run(
        "segment_time_series",
        {
            "SENTINEL2": tifs(tiny_demo.s2_dir),
            "MODEL": str(demo_model),
            "DEVICE": 1,
            "OUTPUT": str(tmp_path / "map2.tif"),
        },
    )
    assert without["OUTPUT_PROBABILITIES"] is None
    assert not (tmp_path / "map2_probabilities.tif").exists()


def test_segment_output_loaded_by_processing_is_styled_with_a_legend_per_class(
    s4_processing, qgis_new_project, tiny_demo, demo_model, tmp_path
):
    import processing
    from qgis.core import QgsLayerTreeModel, QgsProject, QgsRasterSymbolLegendNode

    out = tmp_path / "loaded.tif"
    processing.runAndLoadResults(
        "s4:segment_time_series",
        {
            "SENTINEL2": tifs(tiny_demo.s2_dir),
            "MODEL": str(demo_model),
            "DEVICE": 1,
            "TILE_SIZE": 32,
            "OVERLAP": 8,
            "OUTPUT": str(out),
        },
    )
    layers = QgsProject.instance().mapLayersByName("S4 classes")
    assert len(layers) == 1
    layer = layers[0]
    assert layer.renderer().type() == "paletted"
    classes = model_classes(demo_model)
    model = QgsLayerTreeModel(QgsProject.instance().layerTreeRoot())
    node = QgsProject.instance().layerTreeRoot().findLayer(layer.id())
    # One symbol entry per class under the band title.
    legend = [n for n in model.layerLegendNodes(node) if isinstance(n, QgsRasterSymbolLegendNode)]
    assert [n.data(0) for n in legend] == [c["name"] for c in classes]


def test_segment_without_layers_says_which_parameters(s4_processing, demo_model, tmp_path):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="SENTINEL2.*SENTINEL1"):
        run("segment_time_series", {"MODEL": str(demo_model), "OUTPUT": str(tmp_path / "x.tif")})
    assert not (tmp_path / "x.tif").exists()


@pytest.mark.torch  # the model fixture is requested by name (getfixturevalue): not auto-skipped
@pytest.mark.parametrize(
    "fault, model, match, names, extra",
    [
        ("a radar model on optical layers", "demo_model_s1", "S1", "", {}),
        ("layers without dates", "demo_model", "(?i)date", "optical_", {}),
        (
            "an extent outside the scene",
            "demo_model",
            r"the extent \(bounds \(0, 0, 1000, 1000\) in EPSG:32631\) lies outside the imagery "
            r"\(its bounds \(\d+, \d+, \d+, \d+\) in EPSG:32631: .*choose an extent over the",
            "",
            {"EXTENT": "0,1000,0,1000 [EPSG:32631]"},
        ),
        (
            "an extent far away in another CRS",
            "demo_model",
            r"the extent \(bounds \(100, 10, 101, 11\) in EPSG:4326\) lies outside the imagery "
            r"\(its bounds \([\d.]+, [\d.]+, [\d.]+, [\d.]+\) in EPSG:4326",
            "",
            {"EXTENT": "100,101,10,11 [EPSG:4326]"},
        ),
    ],
)
def test_segment_of_unusable_inputs_fails_clearly(
    s4_processing, tiny_demo, undated_s2, request, tmp_path, fault, model, match, names, extra
):
    """The message says what is wrong (and, with ``names``, which file); no traceback, no
    output."""
    from qgis.core import QgsProcessingException

    layers = undated_s2 if fault == "layers without dates" else tifs(tiny_demo.s2_dir)
    model_file = request.getfixturevalue(model)
    parameters = segment_parameters(model_file, tmp_path / "x.tif", SENTINEL2=layers, **extra)
    with pytest.raises(QgsProcessingException, match=match) as info:
        run("segment_time_series", parameters)
    assert "Traceback" not in str(info.value)
    assert names in str(info.value)
    assert not (tmp_path / "x.tif").exists()


def test_segment_refuses_to_overwrite_an_input_image_before_any_work(
    s4_processing, tiny_demo, demo_model, tmp_path
):
    """The engine's output check (s4_core.validate) reaches the user as a
    QgsProcessingException naming the file; the input image is untouched."""
    import shutil

    from qgis.core import QgsProcessingException

    images = tmp_path / "S2"
    shutil.copytree(tiny_demo.s2_dir, images)
    victim = Path(tifs(images)[0])
    before = victim.read_bytes()
    with pytest.raises(QgsProcessingException) as info:
        run(
            "segment_time_series",
            segment_parameters(demo_model, victim, SENTINEL2=tifs(images)),
        )
    assert f"{victim} would overwrite the Sentinel-2 input" in str(info.value)
    assert victim.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["S2"]
    assert len(list(images.iterdir())) == len(list(Path(tiny_demo.s2_dir).iterdir()))


def test_layers_whose_files_were_moved_are_named_with_the_fix(
    s4_processing, qgis_new_project, tiny_demo, demo_model, tmp_path
):
    """Project layers whose folder was moved after they were added: the message says the file no
    longer exists (not that the layer is not a local raster to save as GeoTIFF)."""
    import shutil

    from qgis.core import QgsProcessingException, QgsProject, QgsRasterLayer

    images = tmp_path / "S2"
    shutil.copytree(tiny_demo.s2_dir, images)
    layers = [QgsRasterLayer(path, Path(path).stem, "gdal") for path in tifs(images)]
    QgsProject.instance().addMapLayers(layers)
    shutil.move(str(images), str(tmp_path / "S2_moved"))
    with pytest.raises(QgsProcessingException) as info:
        run(
            "segment_time_series",
            segment_parameters(demo_model, tmp_path / "x.tif", SENTINEL2=layers),
        )
    message = str(info.value)
    first = Path(tifs(tmp_path / "S2_moved")[0])
    assert (
        f"SENTINEL2: the file of layer '{first.stem}' ({images / first.name}) no longer exists"
        in message
    ), message
    assert "fix the layer's data source" in message and "remove the layer" in message
    assert "not a local raster file" not in message and "GeoTIFF" not in message
    assert not (tmp_path / "x.tif").exists()


def test_cancelled_segmentation_leaves_no_output(s4_processing, tiny_demo, demo_model, tmp_path):
    from qgis.core import QgsProcessingException

    feedback = Recorder(cancel_at_first_progress=True)
    with pytest.raises(QgsProcessingException, match="(?i)cancel"):
        run(
            "segment_time_series",
            segment_parameters(
                demo_model,
                tmp_path / "x.tif",
                SENTINEL2=tifs(tiny_demo.s2_dir),
                TILE_SIZE=16,
                OVERLAP=0,
                OUTPUT_VECTOR=str(tmp_path / "x.gpkg"),
            ),
            feedback,
        )
    assert feedback.isCanceled()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ------------------------------------------------------------------------- training
def _memory_copy(path: Path, name: str = "edited labels"):
    """The parcels as an in-memory layer (what an analyst gets with unsaved digitising)."""
    from qgis.core import QgsFeatureRequest, QgsVectorLayer

    source = QgsVectorLayer(str(path), "parcels", "ogr")
    assert source.isValid()
    layer = source.materialize(QgsFeatureRequest())
    layer.setName(name)
    assert layer.dataProvider().name() == "memory"
    return layer


@pytest.mark.torch
def test_pretrain_then_finetune_a_memory_layer_logs_loss_and_miou(
    s4_processing, tiny_demo, tmp_path
):
    from s4_core import api

    pre = tmp_path / "pre.pt"
    feedback = Recorder()
    result = run(
        "pretrain",
        {
            "SENTINEL1": tifs(tiny_demo.s1_dir),
            "SENTINEL2": tifs(tiny_demo.s2_dir),
            "EPOCHS": 1,
            "CROP_SIZE": 16,
            "BATCH_SIZE": 1,
            "STEPS_PER_EPOCH": 2,
            "DEVICE": 1,
            "SEED": 0,
            "OUTPUT": str(pre),
        },
        feedback,
    )
    assert Path(result["OUTPUT"]) == pre and pre.is_file()
    assert api.model_info(pre)["kind"] == "pretrained"
    assert result["FINAL_LOSS"] is not None
    assert any(line.startswith("Device: cpu") for line in feedback.infos)
    assert any("loss" in line for line in feedback.infos)

    labels = _memory_copy(tiny_demo.parcels)
    out = tmp_path / "fine.pt"
    feedback = Recorder()
    result = run(
        "finetune",
        {
            "SENTINEL2": tifs(tiny_demo.s2_dir),
            "LABELS": labels,
            "CLASS_FIELD": tiny_demo.class_field,
            "INIT_MODEL": str(pre),
            "MODALITY": 0,
            "EPOCHS": 2,
            "CROP_SIZE": 16,
            "BATCH_SIZE": 2,
            "DEVICE": 1,
            "HEAD": 1,  # the paper's 3D U-Net fine-tuning: one log line per epoch
            "FREEZE_ENCODER": True,
            "CLASS_WEIGHTING": 1,
            "OUTPUT": str(out),
        },
        feedback,
    )
    assert Path(result["OUTPUT"]) == out and out.is_file()
    from s4_core.checkpoint import load_checkpoint

    train_config = load_checkpoint(out)["train_config"]
    assert train_config["freeze_encoder"] is True
    assert train_config["class_weighting"] == "none"
    info = api.model_info(out)
    assert info["kind"] == "finetuned" and info["modality"] == "s2"
    assert [c["name"] for c in info["classes"]] == sorted(tiny_demo.class_names)
    assert result["CLASSES"].split(", ") == [c["name"] for c in info["classes"]]
    assert 0.0 <= result["VAL_MIOU"] <= 1.0
    epoch_lines = [line for line in feedback.infos if "val_miou" in line and "loss" in line]
    assert len(epoch_lines) >= 2  # one per epoch
    assert any("temporary GeoPackage" in line for line in feedback.infos)
    assert any(f"from {pre}" in line for line in feedback.infos)


def tiny_pretrain_parameters(tiny_demo, out: Path, objective: int, **extra) -> dict:
    """s4:pretrain parameters for a 2-step toy run on the demo radar series."""
    return {
        "SENTINEL1": tifs(tiny_demo.s1_dir),
        "EPOCHS": 1,
        "CROP_SIZE": 16,
        "BATCH_SIZE": 1,
        "STEPS_PER_EPOCH": 2,
        "DEVICE": 1,
        "WIDTHS": "8,16,32",
        "OBJECTIVE": objective,
        "OUTPUT": str(out),
        **extra,
    }


@pytest.mark.torch
def test_a_cancelled_pretraining_resumes_through_processing(s4_processing, tiny_demo, tmp_path):
    """Cancelled after its first epoch, a run says where that epoch is kept (the .partial
    file) and how to go on; RESUME continues from it to the epochs asked for."""
    from qgis.core import QgsProcessingException

    from s4_core.checkpoint import load_checkpoint

    out = tmp_path / "pre.pt"
    params = tiny_pretrain_parameters(tiny_demo, out, 1, EPOCHS=3, STEPS_PER_EPOCH=1, SEED=0)
    feedback = Recorder()
    feedback.progressChanged.connect(lambda value: value >= 40 and feedback.cancel())
    with pytest.raises(QgsProcessingException) as info:
        run("pretrain", params, feedback)
    partial = tmp_path / "pre.pt.partial"
    assert re.search(r"is in \S*pre\.pt\.partial: resume from it .*RESUME in QGIS", str(info.value))
    assert not out.exists() and partial.is_file()
    kept = load_checkpoint(partial)["metrics"]["epoch"]
    assert 1 <= kept < 3
    with pytest.raises(QgsProcessingException, match=f"more than the {kept} EPOCHS the resumed"):
        run("pretrain", {**params, "EPOCHS": kept, "RESUME": str(partial)}, Recorder())
    result = run("pretrain", {**params, "RESUME": str(partial)}, Recorder())
    assert Path(result["OUTPUT"]) == out
    assert [h["epoch"] for h in load_checkpoint(out)["history"]] == [1, 2, 3]


@pytest.mark.torch
@pytest.mark.parametrize("objective", [1, 2, 3])  # mae, dino, joint-mae (0 = s4, above)
def test_each_pretraining_objective_fine_tunes_and_segments_through_processing(
    s4_processing, tiny_demo, tmp_path, objective
):
    """OBJECTIVE on s4:pretrain: MAE / DINO on radar alone (no S2 given), joint MAE on both;
    the checkpoint fine-tunes and maps radar through the other algorithms as S4's does."""
    from s4_core import api

    names = ["s4", "mae", "dino", "joint-mae"]
    pre = tmp_path / "pre.pt"
    params = tiny_pretrain_parameters(tiny_demo, pre, objective, MASK_MODE=1)  # complementary
    if names[objective] == "joint-mae":
        params["SENTINEL2"] = tifs(tiny_demo.s2_dir)
    result = run("pretrain", params, Recorder())
    info = api.model_info(pre)
    assert info["objective"]["name"] == names[objective] and result["FINAL_LOSS"] is not None
    if names[objective] != "joint-mae":
        assert info["objective"]["modality"] == "s1"
    fine, classes = tmp_path / "fine.pt", tmp_path / "classes.tif"
    run(
        "finetune",
        {
            "SENTINEL1": tifs(tiny_demo.s1_dir),
            "LABELS": str(tiny_demo.parcels),
            "CLASS_FIELD": tiny_demo.class_field,
            "INIT_MODEL": str(pre),
            "MODALITY": 1,  # s1
            "CROP_SIZE": 16,
            "DEVICE": 1,
            "OUTPUT": str(fine),
        },
        Recorder(),
    )
    assert api.model_info(fine)["objective"]["name"] == names[objective]
    run(
        "segment_time_series",
        segment_parameters(
            fine, classes, SENTINEL1=tifs(tiny_demo.s1_dir), TILE_SIZE=32, OVERLAP=8
        ),
        Recorder(),
    )
    scores = api.evaluate(classes, tiny_demo.truth)
    assert scores["oa"] > 1.5 / len(scores["per_class"]), scores


@pytest.mark.torch
@pytest.mark.parametrize(
    "objective, modality",
    [(1, 1), (3, 2)],  # MAE on radar -> map from S1; joint MAE -> map from both (S1 + S2)
)
def test_ratio_and_both_sensor_models_fine_tune_and_segment_through_processing(
    s4_processing, tiny_demo, tmp_path, objective, modality
):
    """S1_RATIO on s4:pretrain: the VV/VH ratio band is recorded in the model and fine-tuning
    and mapping add it without being asked; MODALITY 2 (both) after joint MAE fine-tunes and
    maps from S1 + S2 together."""
    from s4_core import api
    from s4_core.checkpoint import load_checkpoint

    both = modality == 2
    pre = tmp_path / "pre.pt"
    params = tiny_pretrain_parameters(tiny_demo, pre, objective, S1_RATIO=True)
    series = {"SENTINEL1": tifs(tiny_demo.s1_dir)}
    if both:
        series["SENTINEL2"] = tifs(tiny_demo.s2_dir)
    params.update(series)
    run("pretrain", params, Recorder())
    assert api.model_info(pre)["s1_ratio"] is True
    fine, classes = tmp_path / "fine.pt", tmp_path / "classes.tif"
    feedback = Recorder()
    run(
        "finetune",
        {
            **series,
            "LABELS": str(tiny_demo.parcels),
            "CLASS_FIELD": tiny_demo.class_field,
            "INIT_MODEL": str(pre),
            "MODALITY": modality,
            "CROP_SIZE": 16,
            "DEVICE": 1,
            "OUTPUT": str(fine),
        },
        feedback,
    )
    ckpt = load_checkpoint(fine)
    assert ckpt["modality"] == ("both" if both else "s1") and ckpt["input"]["s1_ratio"]
    assert ckpt["bands"]["s1"] == ["VV", "VH", "VV/VH"]
    assert any(("S1 + S2" if both else "S1") + " inference" in line for line in feedback.infos)
    run(
        "segment_time_series",
        {
            **series,
            "MODEL": str(fine),
            "DEVICE": 1,
            "TILE_SIZE": 32,
            "OVERLAP": 8,
            "OUTPUT": str(classes),
        },  # fmt: skip
        Recorder(),
    )
    scores = api.evaluate(classes, tiny_demo.truth)
    assert scores["oa"] > 1.5 / len(scores["per_class"]), scores


@pytest.mark.torch
def test_both_sensors_without_s2_names_the_parameter(s4_processing, tiny_demo, tmp_path):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match=r"no S2 layers were given: add them to "
                       r"SENTINEL2 or change MODALITY"):  # fmt: skip
        run(
            "finetune",
            {
                "SENTINEL1": tifs(tiny_demo.s1_dir),
                "LABELS": str(tiny_demo.parcels),
                "CLASS_FIELD": tiny_demo.class_field,
                "MODALITY": 2,
                "DEVICE": 1,
                "OUTPUT": str(tmp_path / "fine.pt"),
            },
        )
    assert not (tmp_path / "fine.pt").exists()


def test_mae_pretraining_without_its_sensor_names_the_parameter(s4_processing, tiny_demo, tmp_path):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="SSL_MODALITY"):
        run(
            "pretrain",
            {
                "SENTINEL2": tifs(tiny_demo.s2_dir),
                "OBJECTIVE": 1,
                "DEVICE": 1,
                "OUTPUT": str(tmp_path / "pre.pt"),
            },
        )
    assert not (tmp_path / "pre.pt").exists()


@pytest.mark.torch  # the finetune algorithm checks torch before reading the polygons
def test_finetune_with_polygons_outside_the_scene_fails_clearly(s4_processing, tiny_demo, tmp_path):
    from qgis.core import QgsFeature, QgsField, QgsGeometry, QgsProcessingException, QgsVectorLayer

    from s4_qgis.compat import field_type

    layer = QgsVectorLayer("Polygon?crs=EPSG:32631", "far away", "memory")
    layer.dataProvider().addAttributes([QgsField("crop_name", field_type("string"))])
    layer.updateFields()
    for i, name in enumerate(("maize", "grassland")):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(
            QgsGeometry.fromWkt(
                f"POLYGON(({i * 100} 0, {i * 100 + 50} 0, {i * 100 + 50} 50, {i * 100} 50, {i * 100} 0))"
            )
        )
        feature["crop_name"] = name
        layer.dataProvider().addFeature(feature)
    with pytest.raises(QgsProcessingException) as info:
        run(
            "finetune",
            {
                "SENTINEL2": tifs(tiny_demo.s2_dir),
                "LABELS": layer,
                "CLASS_FIELD": "crop_name",
                "EPOCHS": 1,
                "CROP_SIZE": 16,
                "DEVICE": 1,
                "OUTPUT": str(tmp_path / "x.pt"),
            },
        )
    assert "entirely outside" in str(info.value)
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.parametrize(
    "fault, change, match",
    [
        ("a missing class field", {"CLASS_FIELD": "no_such_field"}, "'no_such_field'.*crop_name"),
        ("radar without radar layers", {"MODALITY": 1}, "S1.*SENTINEL1"),
    ],
)
def test_finetune_with_unusable_inputs_fails_clearly(
    s4_processing, tiny_demo, tmp_path, fault, change, match
):
    """The message names what is missing: the fields there are, the parameter to fill."""
    from qgis.core import QgsProcessingException, QgsVectorLayer

    parameters = {
        "SENTINEL2": tifs(tiny_demo.s2_dir),
        "LABELS": QgsVectorLayer(str(tiny_demo.parcels), "parcels", "ogr"),
        "CLASS_FIELD": tiny_demo.class_field,
        "EPOCHS": 1,
        "OUTPUT": str(tmp_path / "x.pt"),
        **change,
    }
    with pytest.raises(QgsProcessingException, match=match):
        run("finetune", parameters)


def _shapefile_copy(parcels: Path, field: str, out: Path, encoding: str, names: List[str]):
    """The parcels saved as a shapefile as QGIS saves one (a .cpg naming ``encoding``), their
    classes renamed to ``names`` (in the order of the sorted original names)."""
    from qgis.core import QgsProject, QgsVectorFileWriter, QgsVectorLayer

    source = QgsVectorLayer(str(parcels), "parcels", "ogr")
    original = sorted({f[field] for f in source.getFeatures()})
    assert len(original) <= len(names)
    rename = dict(zip(original, names))
    layer = _memory_copy(parcels, "renamed")
    index = layer.fields().indexFromName(field)
    layer.dataProvider().changeAttributeValues(
        {f.id(): {index: rename[f[field]]} for f in layer.getFeatures()}
    )
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "ESRI Shapefile"
    options.fileEncoding = encoding
    context = QgsProject.instance().transformContext()
    result = QgsVectorFileWriter.writeAsVectorFormatV3(layer, str(out), context, options)
    assert result[0] == QgsVectorFileWriter.WriterError.NoError, result
    assert out.with_suffix(".cpg").is_file()  # "UTF-8" or "1252"
    return sorted(rename[n] for n in original)


@pytest.mark.torch
@pytest.mark.parametrize(
    "encoding, names",
    [
        ("UTF-8", ["maïs", "小麦", "aardappel€", "grasland", "bieten", "gerst"]),
        ("windows-1252", ["maïs", "aardappel€", "wintertarwe", "grasland", "bieten", "gerst"]),
    ],
)
def test_finetune_on_a_shapefile_keeps_the_class_names_qgis_shows(
    s4_processing, tiny_demo, tmp_path, encoding, names
):
    """A shapefile's text is read in the encoding of its .cpg, as QGIS shows it (QGIS's own GDAL
    settings keep GDAL from applying the .cpg inside QGIS)."""
    from qgis.core import QgsVectorLayer

    from s4_core import api

    shp = tmp_path / "labels.shp"
    expected = _shapefile_copy(tiny_demo.parcels, "crop_name", shp, encoding, names)
    layer = QgsVectorLayer(str(shp), "labels", "ogr")
    assert layer.isValid()
    shown = sorted({f["crop_name"] for f in layer.getFeatures()})
    assert shown == expected  # QGIS itself reads the .cpg
    out = tmp_path / "m.pt"
    for labels in (layer, str(shp)):  # a project layer, and a file path given to Processing
        result = run(
            "finetune",
            {
                "SENTINEL2": tifs(tiny_demo.s2_dir),
                "LABELS": labels,
                "CLASS_FIELD": "crop_name",
                "EPOCHS": 1,
                "CROP_SIZE": 16,
                "DEVICE": 1,
                "OUTPUT": str(out),
            },
        )
        assert [c["name"] for c in api.model_info(out)["classes"]] == shown
        assert result["CLASSES"].split(", ") == shown


# ------------------------------------------------------------------------- align
def test_align_writes_stacks_and_date_table(s4_processing, tiny_demo, tmp_path):
    import csv

    from osgeo import gdal

    feedback = Recorder()
    result = run(
        "align_time_series",
        {
            "SENTINEL1": tifs(tiny_demo.s1_dir),
            "SENTINEL2": tifs(tiny_demo.s2_dir),
            "OUTPUT": str(tmp_path / "aligned"),
        },
        feedback,
    )
    assert Path(result["OUTPUT"]) == tmp_path / "aligned"
    assert result["FRAMES"] == 8  # the shorter series (S2) is kept
    for key in ("S1_STACK", "S2_STACK", "DATES_CSV"):
        assert Path(result[key]).is_file() and Path(result[key]).parent == tmp_path / "aligned"
    s1, s2 = gdal.Open(result["S1_STACK"]), gdal.Open(result["S2_STACK"])
    assert (s1.RasterXSize, s1.RasterYSize) == (s2.RasterXSize, s2.RasterYSize) == (32, 32)
    assert s1.GetGeoTransform() == s2.GetGeoTransform()
    with open(result["DATES_CSV"], newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 8
    assert any(line.startswith("Alignment: ") for line in feedback.infos)


def test_align_of_series_that_do_not_overlap_fails_clearly(s4_processing, tiny_demo, tmp_path):
    import shutil

    from osgeo import gdal
    from qgis.core import QgsProcessingException

    shifted = []
    for path in tifs(tiny_demo.s1_dir):
        target = tmp_path / Path(path).name
        shutil.copy(path, target)
        dataset = gdal.Open(str(target), gdal.GA_Update)
        transform = list(dataset.GetGeoTransform())
        transform[0] += 100_000.0  # 100 km east: another place
        dataset.SetGeoTransform(transform)
        dataset = None
        shifted.append(str(target))
    with pytest.raises(QgsProcessingException, match="does not overlap"):
        run(
            "align_time_series",
            {
                "SENTINEL1": shifted,
                "SENTINEL2": tifs(tiny_demo.s2_dir),
                "OUTPUT": str(tmp_path / "al"),
            },
        )
    assert not (tmp_path / "al").exists() or not list((tmp_path / "al").iterdir())


def test_align_needs_both_series(s4_processing, tiny_demo, tmp_path):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException):
        run("align_time_series", {"SENTINEL2": tifs(tiny_demo.s2_dir), "OUTPUT": str(tmp_path)})


# ------------------------------------------------------------------------- export / evaluate
def test_export_geopackage_writes_styled_polygons(s4_processing, segmented, tmp_path):
    from qgis.core import QgsVectorLayer

    from s4_core.raster_io import read_class_raster

    out = tmp_path / "polygons.gpkg"
    result = run(
        "export_geopackage", {"INPUT": str(segmented), "MIN_AREA": 0, "OUTPUT_VECTOR": str(out)}
    )
    assert Path(result["OUTPUT_VECTOR"]) == out
    layer = QgsVectorLayer(str(out), "polygons", "ogr")
    assert layer.featureCount() == result["N_POLYGONS"] > 0
    assert layer.renderer().type() == "categorizedSymbol"
    # Polygon areas add up to the labelled (non-nodata) pixels of the raster.
    from osgeo import gdal

    array = gdal.Open(str(segmented)).ReadAsArray()
    total = sum(f["area_m2"] for f in layer.getFeatures())
    assert total == pytest.approx(float((array != 255).sum()) * 100.0)
    names = {f["class_name"] for f in layer.getFeatures()}
    assert names <= set(read_class_raster(segmented)[1].names)
    # A larger minimum area drops the small patches.
    fewer = run(
        "export_geopackage",
        {"INPUT": str(segmented), "MIN_AREA": 5000, "OUTPUT_VECTOR": str(tmp_path / "big.gpkg")},
    )
    assert fewer["N_POLYGONS"] <= result["N_POLYGONS"]


def test_evaluate_against_polygons_matches_the_engine_and_tabulates(
    s4_processing, segmented, tiny_demo
):
    from qgis.core import QgsVectorLayer

    from s4_core import api

    reference = QgsVectorLayer(str(tiny_demo.parcels), "parcels", "ogr")
    feedback = Recorder()
    result = run(
        "evaluate",
        {
            "INPUT": str(segmented),
            "REFERENCE": reference,
            "CLASS_FIELD": tiny_demo.class_field,
            "OUTPUT": "TEMPORARY_OUTPUT",
        },
        feedback,
    )
    expected = api.evaluate(segmented, tiny_demo.parcels, class_field=tiny_demo.class_field)
    assert result["OA"] == pytest.approx(expected["oa"])
    assert result["MIOU"] == pytest.approx(expected["miou"])
    table = result["OUTPUT"]
    names = expected["class_names"]
    fields = table.fields().names()
    assert fields[:3] == ["class_name", "iou", "support"]
    assert len(fields) == 3 + len(names)
    rows = list(table.getFeatures())
    assert [r["class_name"] for r in rows] == names
    for i, row in enumerate(rows):
        counts = [row[f] for f in fields[3:]]
        assert counts == expected["confusion_matrix"][i]
        assert row["support"] == sum(counts)
        assert row["iou"] == pytest.approx(expected["per_class"][names[i]])
    assert any(line.startswith("OA: ") for line in feedback.infos)


def test_evaluate_against_a_class_raster(s4_processing, segmented, tiny_demo):
    result = run(
        "evaluate",
        {"INPUT": str(segmented), "REFERENCE": str(tiny_demo.truth), "OUTPUT": "TEMPORARY_OUTPUT"},
    )
    assert 0.0 <= result["OA"] <= 1.0
    assert result["OUTPUT"].featureCount() > 0


def test_evaluate_table_named_json_is_written_where_qgis_says(
    s4_processing, segmented, tiny_demo, tmp_path
):
    """QGIS writes a table asked as .json as .json.geojson: no false "not written" error."""
    result = run(
        "evaluate",
        {"INPUT": str(segmented), "REFERENCE": str(tiny_demo.truth),
         "OUTPUT": str(tmp_path / "scores.json")},
    )  # fmt: skip
    out = result["OUTPUT"]
    written = (out if isinstance(out, str) else out.source()).split("|", 1)[0]
    assert os.path.isfile(written), written
    assert 0.0 <= result["OA"] <= 1.0


def test_evaluate_polygons_without_class_field_fails_clearly(s4_processing, segmented, tiny_demo):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="CLASS_FIELD"):
        run(
            "evaluate",
            {
                "INPUT": str(segmented),
                "REFERENCE": str(tiny_demo.parcels),
                "OUTPUT": "TEMPORARY_OUTPUT",
            },
        )


# ------------------------------------------------------------------------- real data
@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.torch
def test_real_flanders_finetune_segment_export_evaluate(s4_processing, flanders, tmp_path):
    from qgis.core import QgsVectorLayer

    s2 = tifs(flanders / "S2")[40:52]  # 12 dates of spring-summer 2018
    parcels = QgsVectorLayer(str(flanders / "labels" / "parcels.gpkg"), "parcels", "ogr")
    model = tmp_path / "flanders.pt"
    fine = run(
        "finetune",
        {
            "SENTINEL2": s2,
            "LABELS": parcels,
            "CLASS_FIELD": "crop_name",
            "EPOCHS": 1,
            "CROP_SIZE": 16,
            "DEVICE": 1,
            "OUTPUT": str(model),
        },
    )
    crops = set(fine["CLASSES"].split(", "))
    assert crops == {f["crop_name"] for f in parcels.getFeatures()}
    seg = run(
        "segment_time_series",
        segment_parameters(
            model,
            tmp_path / "classes.tif",
            SENTINEL2=s2,
            TILE_SIZE=64,
            OVERLAP=16,
            OUTPUT_VECTOR=str(tmp_path / "classes.gpkg"),
        ),
    )
    polygons = QgsVectorLayer(seg["OUTPUT_VECTOR"], "polygons", "ogr")
    assert polygons.featureCount() > 0
    assert {f["class_name"] for f in polygons.getFeatures()} <= crops
    exported = run(
        "export_geopackage",
        {"INPUT": seg["OUTPUT"], "MIN_AREA": 400, "OUTPUT_VECTOR": str(tmp_path / "big.gpkg")},
    )
    big = QgsVectorLayer(exported["OUTPUT_VECTOR"], "big", "ogr")
    assert big.featureCount() == exported["N_POLYGONS"] <= polygons.featureCount()
    assert all(f["area_m2"] >= 400 for f in big.getFeatures())
    scores = run(
        "evaluate",
        {
            "INPUT": seg["OUTPUT"],
            "REFERENCE": parcels,
            "CLASS_FIELD": "crop_name",
            "OUTPUT": "TEMPORARY_OUTPUT",
        },
    )
    assert 0.0 <= scores["OA"] <= 1.0 and 0.0 <= scores["MIOU"] <= 1.0


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.torch
def test_real_flanders_align_and_pretrain(s4_processing, flanders, tmp_path):
    from osgeo import gdal

    s2 = tifs(flanders / "S2")[40:52]
    s1 = tifs(flanders / "S1")[60:76]
    aligned = run(
        "align_time_series", {"SENTINEL1": s1, "SENTINEL2": s2, "OUTPUT": str(tmp_path / "al")}
    )
    s1_stack, s2_stack = gdal.Open(aligned["S1_STACK"]), gdal.Open(aligned["S2_STACK"])
    # S1 (32 px at 20 m) is resampled onto the S2 grid (64 px at 10 m).
    assert (s1_stack.RasterXSize, s2_stack.RasterXSize) == (64, 64)
    assert 1 <= aligned["FRAMES"] <= 12
    pre = run(
        "pretrain",
        {
            "SENTINEL1": s1,
            "SENTINEL2": s2,
            "EPOCHS": 1,
            "CROP_SIZE": 16,
            "BATCH_SIZE": 1,
            "STEPS_PER_EPOCH": 2,
            "DEVICE": 1,
            "OUTPUT": str(tmp_path / "pre.pt"),
        },
    )
    assert Path(pre["OUTPUT"]).is_file()


# ------------------------------------------------------------------------------------------ fetch
@pytest.mark.realdata
def test_fetch_time_series_downloads_from_a_local_stac_api(s4_processing, stac_catalog, tmp_path):
    from qgis.core import QgsProcessingException, QgsRasterLayer

    params = {
        "EXTENT": "501360,502000,5629040,5629680 [EPSG:32631]",
        "START": "2018-05-01",
        "END": "2018-05-10",
        "PROVIDER": 3,
        "STAC_URL": stac_catalog.url,
        "S2_COLLECTION": "sentinel-2-l2a",
        "S1_COLLECTION": "sentinel-1-rtc",
        "MAX_CLOUD_FRACTION": 0.5,
        "OUTPUT": str(tmp_path / "fetched"),
    }
    feedback = Recorder()
    result = run("fetch_time_series", params, feedback)
    assert result["S2_DATES"] == 2 and result["S1_DATES"] == 2
    assert Path(result["MANIFEST"]).is_file()
    s2 = sorted(Path(result["S2_FOLDER"]).glob("*.tif"))
    assert [p.name for p in s2] == ["S2_L2A_20180504.tif", "S2_L2A_20180509.tif"]
    layer = QgsRasterLayer(str(s2[0]), "s2")
    assert layer.isValid() and layer.bandCount() == 11 and layer.width() == 64
    assert layer.crs().authid() == "EPSG:32631"
    assert any("MB read" in line for line in feedback.infos)
    assert feedback.progress_values and max(feedback.progress_values) == 100
    from qgis.core import QgsProject  # ADD_TO_PROJECT (default): one group per sensor

    root = QgsProject.instance().layerTreeRoot()
    for label, n in (("Sentinel-2", 2), ("Sentinel-1", 2)):
        group = root.findGroup(f"S4 {label} (fetched)")
        assert group is not None and len(group.findLayers()) == n
        QgsProject.instance().removeMapLayers([node.layerId() for node in group.findLayers()])
        root.removeChildNode(group)
    # The downloaded folders feed the next algorithm directly.
    aligned = run(
        "align_time_series",
        {
            "SENTINEL1": tifs(Path(result["S1_FOLDER"])),
            "SENTINEL2": tifs(Path(result["S2_FOLDER"])),
            "OUTPUT": str(tmp_path / "aligned"),
        },
    )
    assert aligned["FRAMES"] == 2
    with pytest.raises(QgsProcessingException, match="STAC_URL"):
        run("fetch_time_series", {**params, "STAC_URL": "", "OUTPUT": str(tmp_path / "x")})


def test_series_can_be_given_as_folders(s4_processing, tiny_demo, tmp_path):
    """SENTINEL1_FOLDER / SENTINEL2_FOLDER (what the download step writes) give the same
    series as one layer per date; a folder without GeoTIFFs is named in the error."""
    from qgis.core import QgsProcessingException

    by_folder = run(
        "align_time_series",
        {
            "SENTINEL1_FOLDER": str(tiny_demo.s1_dir),
            "SENTINEL2_FOLDER": str(tiny_demo.s2_dir),
            "OUTPUT": str(tmp_path / "by_folder"),
        },
    )
    by_layers = run(
        "align_time_series",
        {
            "SENTINEL1": tifs(tiny_demo.s1_dir),
            "SENTINEL2": tifs(tiny_demo.s2_dir),
            "OUTPUT": str(tmp_path / "by_layers"),
        },
    )
    a = sorted(p.name for p in Path(by_folder["OUTPUT"]).iterdir())
    b = sorted(p.name for p in Path(by_layers["OUTPUT"]).iterdir())
    assert a == b and a
    table = "dates.csv"
    assert (Path(by_folder["OUTPUT"]) / table).read_text() == (
        Path(by_layers["OUTPUT"]) / table
    ).read_text()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(QgsProcessingException, match="SENTINEL1_FOLDER.*no GeoTIFF"):
        run(
            "align_time_series",
            {
                "SENTINEL1_FOLDER": str(empty),
                "SENTINEL2_FOLDER": str(tiny_demo.s2_dir),
                "OUTPUT": str(tmp_path / "x"),
            },
        )


def test_help_lists_every_parameter_with_default_and_range(s4_processing):
    from qgis.core import QgsApplication

    alg = QgsApplication.processingRegistry().algorithmById("s4:finetune")
    text = alg.shortHelpString()
    for param in alg.parameterDefinitions():
        assert f"<b>{param.name()}</b>" in text
    assert "<b>EPOCHS</b>: Epochs (default 20; >= 1)" in text  # as the command line: no maximum
    assert "<b>VAL_FRACTION</b>: " in text and "0 to 0.9" in text
    assert "<b>HEAD</b>" in text and "(0 = Pixel head" in text and ", the default; 1 = " in text
    # each option of a drop-down once: DEVICE's "auto" was listed as the default and again
    device = next(row for row in text.split("<li>") if row.startswith("<b>DEVICE</b>"))
    assert device.count("auto (CUDA GPU when available, else CPU)") == 1, device
    assert "0 = auto (CUDA GPU when available, else CPU), the default; 1 = cpu" in device

"""Issue 15 in QGIS: the profiles / suggestions / evaluation algorithms and the dock's plots."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_algorithms import Recorder, run, tifs
from test_dock import add_demo_labels

pytestmark = pytest.mark.qgis


# ------------------------------------------------------------------------- algorithms
def test_class_profiles_algorithm_writes_csv_and_figure(s4_processing, tiny_demo, tmp_path):
    from qgis.core import QgsApplication, QgsVectorLayer

    from s4_core import api

    alg = QgsApplication.processingRegistry().algorithmById("s4:class_profiles")
    names = {p.name() for p in alg.parameterDefinitions()}
    assert {"SENTINEL2", "SENTINEL1", "LABELS", "CLASS_FIELD", "OUTPUT", "OUTPUT_FIGURE"} <= names
    labels = QgsVectorLayer(str(tiny_demo.parcels), "parcels", "ogr")
    feedback = Recorder()
    result = run(
        "class_profiles",
        {
            "SENTINEL2": tifs(tiny_demo.s2_dir),
            "SENTINEL1_FOLDER": str(tiny_demo.s1_dir),
            "LABELS": labels,
            "CLASS_FIELD": tiny_demo.class_field,
            "OUTPUT": str(tmp_path / "p.csv"),
            "OUTPUT_FIGURE": str(tmp_path / "p.svg"),
        },
        feedback,
    )
    expected = api.class_profiles(
        tiny_demo.parcels, tiny_demo.class_field, s2=str(tiny_demo.s2_dir),
        s1=str(tiny_demo.s1_dir), out_csv=tmp_path / "ref.csv",
    )  # fmt: skip
    assert (tmp_path / "p.csv").read_text() == (tmp_path / "ref.csv").read_text()
    assert "<svg" in (tmp_path / "p.svg").read_text()[:500]
    assert result["OUTLIERS"] == len(expected["outliers"])
    assert any("outlier polygon" in line for line in feedback.infos)


def test_class_profiles_algorithm_needs_a_series(s4_processing, tiny_demo):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="SENTINEL2"):
        run(
            "class_profiles",
            {"LABELS": str(tiny_demo.parcels), "CLASS_FIELD": tiny_demo.class_field},
        )


@pytest.mark.torch
def test_suggest_labels_algorithm(s4_processing, tiny_demo, demo_model, tmp_path):
    from qgis.core import QgsRasterLayer, QgsVectorLayer

    out = str(tmp_path / "next.gpkg")
    params = {
        "MODEL": str(demo_model),
        "SENTINEL2": tifs(tiny_demo.s2_dir),
        "NUMBER": 3,
        "DEVICE": 1,
        "OUTPUT": out,
    }
    result = run("suggest_labels", params)
    layer = QgsVectorLayer(out, "next", "ogr")
    assert layer.isValid() and layer.featureCount() == result["N"] > 0
    extent = QgsRasterLayer(tifs(tiny_demo.s2_dir)[0], "s2", "gdal").extent()
    for feature in layer.getFeatures():
        assert extent.contains(feature.geometry().boundingBox())
        assert feature["rank"] >= 1 and feature["predicted"]
    again = run("suggest_labels", dict(params, OUTPUT=str(tmp_path / "again.gpkg")))
    first = [f.geometry().asWkt() for f in layer.getFeatures()]
    second = [f.geometry().asWkt() for f in QgsVectorLayer(again["OUTPUT"]).getFeatures()]
    assert first == second  # same seed, same squares


@pytest.mark.torch
def test_evaluate_writes_confusion_figure_and_html_report(
    s4_processing, tiny_demo, demo_model, tmp_path
):
    from qgis.core import QgsApplication

    from s4_core import api

    classes = tmp_path / "classes.tif"
    api.segment(demo_model, classes, s2=tiny_demo.s2_dir, tile_size=32, overlap=8, device="cpu")
    alg = QgsApplication.processingRegistry().algorithmById("s4:evaluate")
    assert alg.outputDefinition("OUTPUT_HTML").type() == "outputHtml"
    result = run(
        "evaluate",
        {
            "INPUT": str(classes),
            "REFERENCE": str(tiny_demo.truth),
            "OUTPUT": "TEMPORARY_OUTPUT",
            "OUTPUT_FIGURE": str(tmp_path / "cm.png"),
            "OUTPUT_HTML": str(tmp_path / "report.html"),
        },
    )
    assert Path(result["OUTPUT_FIGURE"]).read_bytes()[:4] == b"\x89PNG"
    text = Path(result["OUTPUT_HTML"]).read_text()
    assert f"{100 * result['OA']:.1f} %" in text and "data:image/png;base64," in text


# ------------------------------------------------------------------------- the dock
def _lines(panel) -> int:
    return sum(len(ax.lines) for ax in panel.plot.figure.axes)


def test_dock_plots_class_profiles_lists_outliers_and_zooms(
    project_with_demo, dock, tiny_demo, tmp_path
):
    from qgis.core import QgsVectorLayer

    labels = QgsVectorLayer(str(tiny_demo.parcels), "parcels", "ogr")
    project_with_demo.addMapLayer(labels)
    dock.label_combo.setLayer(labels)
    dock.field_combo.setField(tiny_demo.class_field)
    assert dock.start_profiles() is not None
    assert dock.wait(120) and dock.last_error is None, dock.last_error
    panel = dock.profiles_panel
    assert dock.tabs.currentWidget() is panel
    assert panel.plot.axes_count() == 3  # NDVI, VV, VH
    n_classes = len(tiny_demo.class_names)
    assert _lines(panel) == 3 * n_classes  # one mean line per class and variable
    assert panel.outlier_list.count() >= 1
    # selected polygons are drawn over the class means
    ids = [f.id() for f in labels.getFeatures()][:2]
    labels.selectByIds(ids)
    assert panel.selected == [0, 1]
    assert _lines(panel) == 3 * (n_classes + 2)
    panel.selected_check.setChecked(False)
    assert _lines(panel) == 3 * n_classes
    # one click on an outlier zooms to (and selects) its polygon
    assert dock.zoom_to_polygon(5)
    assert labels.selectedFeatureIds() == [dock._profile_fids[5]]
    path = tmp_path / "profiles.png"
    assert dock.profiles_panel.plot.canvas.grab().save(str(path))
    assert path.stat().st_size > 1000


@pytest.mark.torch
def test_dock_shows_live_training_curves_and_the_model_history(
    project_with_demo, dock, tiny_demo, tmp_path
):
    dock.class_names_edit.setText(", ".join(tiny_demo.class_names))
    labels = dock.new_label_layer(str(tmp_path / "labels.gpkg"))
    add_demo_labels(labels, tiny_demo.parcels, tiny_demo.class_field)
    dock.head_combo.setCurrentIndex(1)  # 3D U-Net: epochs with validation scores
    dock.epochs_spin.setValue(2)
    assert dock.start_finetune() is not None
    assert dock.wait(300) and dock.last_error is None, dock.last_error
    curves = dock.curves_panel
    assert curves.steps, "no metrics reached the dock"
    epochs = [m for _, m in curves.steps if "epoch" in m]
    history = curves.history  # the run's per-epoch records, kept when it ended
    assert len(history) == 2 and [m["loss"] for m in epochs] == [h["loss"] for h in history]
    saved = dock.model_info()["history"]  # the checkpoint's: the whole run's
    assert [h["loss"] for h in saved] == [h["loss"] for h in history]
    left, right = curves.plot.figure.axes[:2]
    assert left.lines and right.lines  # loss; validation mIoU / OA
    # the Model tab shows the checkpoint's history
    model = dock.model_curves
    assert model.history == dock.model_info()["history"]
    assert model.history and model.plot.figure.axes[0].lines


@pytest.mark.torch
def test_dock_pretrains_with_live_curves_and_starts_from_the_result(
    project_with_demo, dock, tiny_demo, tmp_path
):
    out = tmp_path / "pre.pt"
    options = {"EPOCHS": 2, "CROP_SIZE": 16, "BATCH_SIZE": 1, "STEPS_PER_EPOCH": 2,
               "WIDTHS": "8,16,32", "DEVICE": 1}  # fmt: skip
    assert dock.start_pretrain(str(out), options) is not None
    assert dock.wait(300) and dock.last_error is None, dock.last_error
    assert out.is_file() and dock.init_model.filePath() == str(out)
    curves = dock.curves_panel
    epochs = [m for _, m in curves.steps if "epoch" in m]
    assert len(curves.history) == 2 and [m["loss"] for m in epochs] == [
        h["loss"] for h in curves.history
    ]
    # the checkpoint keeps the whole run's history: what the dock drew
    from s4_core import api

    assert [h["loss"] for h in api.model_info(out)["history"]] == [
        h["loss"] for h in curves.history
    ]
    assert curves.plot.figure.axes[0].lines


@pytest.mark.torch
def test_dock_suggests_where_to_label_next(project_with_demo, dock, demo_model, tiny_demo):
    from qgis.core import QgsProject

    dock.load_model(str(demo_model))
    dock.label_combo.setLayer(None)  # no labels yet (the demo parcels cover most of the scene)
    dock.suggest_spin.setValue(3)
    assert dock.start_suggest() is not None
    assert dock.wait(120) and dock.last_error is None, dock.last_error
    (layer,) = dock.output_layers
    assert QgsProject.instance().mapLayer(layer.id()) is layer
    assert 0 < layer.featureCount() <= 3
    assert layer.labelsEnabled()

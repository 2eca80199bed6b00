"""The S4 dock: layer lists, label layer, fine-tune and segment runs (through the Processing
algorithms), cancel, model, settings."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.qgis


def process_events_until(condition, timeout: float = 60.0) -> bool:
    from qgis.PyQt.QtCore import QCoreApplication

    end = time.monotonic() + timeout
    while not condition() and time.monotonic() < end:
        QCoreApplication.processEvents()
        time.sleep(0.01)
    return condition()


def scl_cloud_fraction(path: str) -> float:
    """Slow reference: SCL in {3, 8, 9, 10} among SCL != 0, pixel by pixel."""
    import rasterio

    with rasterio.open(path) as src:
        scl = src.read(list(src.descriptions).index("SCL") + 1)
    valid = cloudy = 0
    for value in scl.ravel().tolist():
        if value != 0:
            valid += 1
            cloudy += value in (3, 8, 9, 10)
    return cloudy / valid


def add_demo_labels(layer, parcels_path: Path, field: str) -> int:
    """Copy the demo parcels into the (editable, unsaved) label layer's edit buffer."""
    from qgis.core import QgsFeature, QgsVectorLayer

    parcels = QgsVectorLayer(str(parcels_path), "parcels", "ogr")
    features = []
    for source in parcels.getFeatures():
        feature = QgsFeature(layer.fields())
        feature.setGeometry(source.geometry())
        feature["class_name"] = source[field]
        features.append(feature)
    assert layer.isEditable()
    assert layer.addFeatures(features)
    return len(features)


def test_layers_are_listed_by_sensor_and_date_with_cloud_fraction(project_with_demo, dock):
    from qgis.PyQt.QtCore import Qt

    assert dock.s2_list.count() == 8
    assert dock.s1_list.count() == 10
    texts = [dock.s2_list.item(i).text() for i in range(8)]
    dates = [t.split()[0] for t in texts]
    assert dates == sorted(dates) and "no date" not in dates
    assert all(dock.s2_list.item(i).checkState() == Qt.CheckState.Checked for i in range(8))
    listed = set(dock.listed_layer_ids("s2") + dock.listed_layer_ids("s1"))
    truth = project_with_demo.mapLayersByName("truth")[0]
    assert truth.id() not in listed  # a class raster is neither S1 nor S2

    # Cloud fractions are filled in lazily by a timer, and match a pixel-by-pixel count.
    assert process_events_until(lambda: not dock._cloud_queue, 30)
    for i in range(8):
        item = dock.s2_list.item(i)
        assert "% cloud" in item.text()
        layer_id = item.data(Qt.ItemDataRole.UserRole)
        path = dock._infos[layer_id].path
        assert dock.cloud_fraction(layer_id) == pytest.approx(scl_cloud_fraction(path))

    # Unchecking survives a refresh; removing a layer removes it from the list.
    first = dock.listed_layer_ids("s2")[0]
    dock.s2_list.item(0).setCheckState(Qt.CheckState.Unchecked)
    dock.refresh_layers()
    assert first not in dock.listed_layer_ids("s2")
    assert first in dock.listed_layer_ids("s2", checked_only=False)
    project_with_demo.removeMapLayer(first)
    assert process_events_until(lambda: dock.s2_list.count() == 7, 10)


def test_every_button_of_the_table_is_shown_and_calls_its_method(project_with_demo, dock):
    from qgis.PyQt.QtWidgets import QPushButton

    from s4_qgis.dock import BUTTONS

    shown = {button.text(): button for button in dock.findChildren(QPushButton)}
    for name, spec in BUTTONS.items():
        assert spec.text in shown and callable(getattr(dock, spec.slot)), name
        assert shown[spec.text].toolTip() == spec.tooltip
    shown["Uncheck all"].click()  # a method with an argument of the table
    assert dock.listed_layer_ids("s2") == [] and dock.listed_layer_ids("s1") == []
    shown["Check all"].click()
    assert len(dock.listed_layer_ids("s2")) == 8 and len(dock.listed_layer_ids("s1")) == 10


def test_pretrain_dialog_gets_the_checked_layers_and_the_chosen_objective(
    project_with_demo, dock, s4_processing
):
    from qgis.core import QgsApplication, QgsProcessingContext

    dock.objective_combo.setCurrentIndex(2)  # DINO
    params = dock.pretrain_parameters()
    assert params["OBJECTIVE"] == 2
    assert sorted(params["SENTINEL1"]) == sorted(dock.checked_files("s1")) and params["SENTINEL1"]
    assert len(params["SENTINEL2"]) == 8
    alg = QgsApplication.processingRegistry().algorithmById("s4:pretrain")
    ok, message = alg.checkParameterValues(
        {**params, "OUTPUT": "/tmp/unused.pt"}, QgsProcessingContext()
    )
    assert ok, message


def test_the_ratio_check_box_and_both_sensors_reach_the_algorithms(
    project_with_demo, dock, s4_processing, tmp_path
):
    """The dock's radar ratio check box (DockSetting.S1_RATIO) goes to s4:pretrain and to a
    fine-tuning from scratch (a pretrained model decides for itself); "Map from" offers both
    sensors, which sends both series."""
    from qgis.core import QgsApplication, QgsProcessingContext

    assert dock.pretrain_parameters()["S1_RATIO"] is False
    dock.ratio_check.setChecked(True)
    params = dock.pretrain_parameters()
    assert params["S1_RATIO"] is True
    alg = QgsApplication.processingRegistry().algorithmById("s4:pretrain")
    ok, message = alg.checkParameterValues({**params, "OUTPUT": str(tmp_path / "p.pt")},
                                           QgsProcessingContext())  # fmt: skip
    assert ok, message
    dock.init_model.setFilePath("")
    assert dock.finetune_parameters(str(tmp_path / "f.pt"))["S1_RATIO"] is True
    dock.init_model.setFilePath(str(tmp_path / "pre.pt"))
    assert dock.finetune_parameters(str(tmp_path / "f.pt"))["S1_RATIO"] is False
    dock.modality_combo.setCurrentIndex(2)
    assert dock.modality() == "both"
    finetune = dock.finetune_parameters(str(tmp_path / "f.pt"))
    assert finetune["MODALITY"] == 2 and finetune["SENTINEL1"] and finetune["SENTINEL2"]
    dock.ratio_check.setChecked(False)
    dock.modality_combo.setCurrentIndex(0)
    dock.init_model.setFilePath("")


def test_new_label_layer_offers_the_classes_and_starts_editing(project_with_demo, dock, tmp_path):
    from qgis.core import QgsVectorLayer

    dock.class_names_edit.setText("winter wheat, maize,  grassland, maize")
    path = tmp_path / "labels.gpkg"
    layer = dock.new_label_layer(str(path))
    assert layer is not None and path.is_file()
    assert project_with_demo.mapLayer(layer.id()) is layer
    assert layer.isEditable()
    assert dock.label_combo.currentLayer() is layer
    assert dock.field_combo.currentField() == "class_name"
    assert layer.crs().authid() == "EPSG:32631"  # the Sentinel layers' CRS

    def value_map(lyr):
        setup = lyr.editorWidgetSetup(lyr.fields().indexFromName("class_name"))
        return setup.type(), [list(d.keys())[0] for d in setup.config()["map"]]

    assert value_map(layer) == ("ValueMap", ["winter wheat", "maize", "grassland"])
    reopened = QgsVectorLayer(f"{path}|layername=labels", "again", "ogr")
    assert value_map(reopened) == ("ValueMap", ["winter wheat", "maize", "grassland"])
    # No silent overwrite of an existing file.
    assert dock.new_label_layer(str(path)) is None
    assert "exists" in dock.last_error
    # A file where its folder should be: said so, not "[Errno 17] File exists".
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    assert dock.new_label_layer(str(blocker / "labels.gpkg")) is None
    assert dock.last_error == (
        f"The folder of the label layer {blocker / 'labels.gpkg'} cannot be created "
        f"({blocker} is a file): choose another place"
    )


def test_a_label_layer_needs_a_crs_and_is_read_as_it_is_saved(
    qgis_new_project, dock, tiny_demo, tmp_path
):
    """In an empty project without CRS the dock refuses to make a label layer (its coordinates
    would be read as degrees); it takes the checked imagery's CRS, else the project's. Saved, the
    dock-made GeoPackage (its form in a layer_styles table) reaches the engine as it is."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsRasterLayer

    from s4_qgis.layers import vector_for_engine

    dock.class_names_edit.setText("maize, potatoes")
    assert not qgis_new_project.crs().isValid()
    assert dock.new_label_layer(str(tmp_path / "none.gpkg")) is None
    assert dock.last_error.startswith("Add the imagery first (the label layer needs its CRS)")
    assert not (tmp_path / "none.gpkg").exists()

    qgis_new_project.setCrs(QgsCoordinateReferenceSystem("EPSG:3035"))
    layer = dock.new_label_layer(str(tmp_path / "project.gpkg"))
    assert layer is not None and layer.crs().authid() == "EPSG:3035"

    for path in sorted(Path(tiny_demo.s2_dir).glob("*.tif")):
        qgis_new_project.addMapLayer(QgsRasterLayer(str(path), path.stem, "gdal"))
    dock.refresh_layers()
    path = tmp_path / "labels.gpkg"
    layer = dock.new_label_layer(str(path))
    assert layer is not None and layer.crs().authid() == "EPSG:32631"  # the imagery's
    add_demo_labels(layer, tiny_demo.parcels, tiny_demo.class_field)
    assert layer.commitChanges()
    assert vector_for_engine(layer, str(tmp_path)) == str(path)  # not a temporary copy


@pytest.mark.torch
def test_finetune_then_segment_adds_a_styled_class_map(
    project_with_demo, dock, tiny_demo, tmp_path
):
    from qgis.core import (
        QgsLayerTreeModel,
        QgsProject,
        QgsRasterLayer,
        QgsRasterSymbolLegendNode,
        QgsVectorLayer,
    )

    from s4_core import api

    dock.class_names_edit.setText(", ".join(tiny_demo.class_names))
    labels = dock.new_label_layer(str(tmp_path / "labels.gpkg"))
    n = add_demo_labels(labels, tiny_demo.parcels, tiny_demo.class_field)
    assert n > 0 and labels.isModified()  # unsaved edits are what the engine gets

    dock.few_check.setChecked(True)
    task = dock.start_finetune()
    assert task is not None and dock.busy
    assert not dock.finetune_button.isEnabled() and dock.cancel_button.isEnabled()
    assert dock.wait(300), "fine-tuning did not finish"
    assert dock.last_error is None, dock.last_error
    model = Path(dock.last_result["OUTPUT"])
    assert model.is_file() and model.parent == tmp_path / "out"
    from s4_core.checkpoint import load_checkpoint

    train_config = load_checkpoint(model)["train_config"]
    assert train_config["class_weighting"] == "none"
    assert train_config["freeze_encoder"] is False  # from scratch: nothing to freeze
    assert dock.model_path() == str(model)
    assert dock.finetune_button.isEnabled() and not dock.cancel_button.isEnabled()
    log = dock.log_view.toPlainText()
    assert "Device: cpu" in log and "val_miou" in log  # the algorithm's log lines
    info_html = dock.model_info_view.toHtml()
    for name in tiny_demo.class_names:
        assert name in info_html
    assert labels.isEditable() and labels.isModified()  # the analyst's edits are untouched

    dock.polygons_check.setChecked(True)
    assert dock.start_segment() is not None
    assert dock.wait(120), "segmentation did not finish"
    assert dock.last_error is None, dock.last_error
    raster, vector = dock.output_layers
    assert isinstance(raster, QgsRasterLayer) and isinstance(vector, QgsVectorLayer)
    assert QgsProject.instance().mapLayer(raster.id()) is raster
    assert QgsProject.instance().mapLayer(vector.id()) is vector
    assert raster.renderer().type() == "paletted"
    classes = [c["name"] for c in api.model_info(model)["classes"]]
    root = QgsProject.instance().layerTreeRoot()
    tree_model = QgsLayerTreeModel(root)  # owns the legend nodes: keep it alive
    legend = tree_model.layerLegendNodes(root.findLayer(raster.id()))
    entries = [n.data(0) for n in legend if isinstance(n, QgsRasterSymbolLegendNode)]
    assert entries == classes
    assert vector.featureCount() > 0 and vector.renderer().type() == "categorizedSymbol"
    assert Path(raster.source()).with_suffix(".qml").is_file()


@pytest.mark.torch
def test_cancel_mid_training_returns_promptly_and_writes_nothing(
    project_with_demo, dock, tiny_demo
):
    from qgis.core import QgsProcessingAlgRunnerTask, QgsTask

    dock.label_combo.setLayer(project_with_demo.mapLayersByName("parcels")[0])
    dock.field_combo.setField(tiny_demo.class_field)
    dock.epochs_spin.setValue(500)
    task = dock.start_finetune()
    assert isinstance(task, QgsProcessingAlgRunnerTask), dock.last_error
    # Cancel as soon as the first training step has reported (task progress > 0).
    assert process_events_until(lambda: task.progress() > 0 or dock.task is None, 120)
    assert dock.task is not None, "training ended before it could be cancelled"
    dock.cancel_button.click()
    started = time.monotonic()
    assert dock.wait(120)
    waited = time.monotonic() - started
    assert task.status() == QgsTask.TaskStatus.Terminated
    assert dock.last_result is None
    assert "cancelled" in dock.log_view.toPlainText()
    # Nothing half-written: at most the engine's last complete (loadable) best checkpoint.
    from s4_core import api

    out = Path(dock.output_dir.filePath())
    leftovers = list(out.iterdir()) if out.exists() else []
    assert all(p.suffix == ".pt" for p in leftovers), leftovers
    for path in leftovers:
        assert api.model_info(path)["kind"] == "finetuned"
    assert dock.finetune_button.isEnabled() and not dock.cancel_button.isEnabled()
    print(f"cancel took {waited:.2f} s")


def run_to_end(dock, task) -> None:
    assert task is not None, dock.last_error
    assert dock.wait(120), "the run did not end"


def test_profiles_of_unsaved_labels_warn_and_name_the_layer(
    project_with_demo, dock, tiny_demo, tmp_path
):
    """Class profiles of a label layer with unsaved edits (read from a temporary copy): the
    engine's warnings about skipped polygons reach the dock's log, as in a Processing log, and
    its messages name the label layer, not the copy."""
    from qgis.core import NULL

    dock.class_names_edit.setText(", ".join(tiny_demo.class_names))
    labels = dock.new_label_layer(str(tmp_path / "field work.gpkg"))
    n = add_demo_labels(labels, tiny_demo.parcels, tiny_demo.class_field)
    blank = [f.id() for f in labels.getFeatures()][:4]
    for fid in blank:  # polygons whose class was not picked yet
        assert labels.changeAttributeValue(fid, labels.fields().indexFromName("class_name"), NULL)
    run_to_end(dock, dock.start_profiles())
    assert dock.last_error is None, dock.last_error
    log = dock.log_view.toPlainText()
    assert "Warning: 4 polygon(s) have no value in 'class_name' and were left unlabelled" in log

    for feature in labels.getFeatures():  # all of them moved 5 km east of the imagery
        geometry = feature.geometry()
        geometry.translate(5000, 0)
        assert labels.changeGeometry(feature.id(), geometry)
    run_to_end(dock, dock.start_profiles())
    assert dock.last_error.startswith(
        "Class profiles failed: no polygon of layer 'field work' covers a pixel centre"
    ), dock.last_error
    assert f"{n} of {n} polygons lie entirely outside it" in dock.last_error
    assert "s4_labels_" not in dock.log_view.toPlainText()


def test_clear_messages_for_missing_inputs(qgis_new_project, dock, tmp_path):
    """The algorithms' checks are the dock's: their messages reach the dock."""
    run_to_end(dock, dock.start_finetune())
    assert "LABELS: choose a polygon layer" in dock.last_error
    assert dock.last_result is None and not dock.busy
    run_to_end(dock, dock.start_segment())
    assert "model" in dock.last_error.lower()
    assert dock.new_label_layer(str(tmp_path / "l.gpkg")) is None
    assert "class names" in dock.last_error
    assert not (tmp_path / "l.gpkg").exists()


def test_an_unusable_output_folder_is_refused_by_every_run_button(qgis_new_project, dock, tmp_path):
    """An Output folder that cannot be created (a file on the way) is a message in the dock's
    error channel, the same for every run button, and nothing starts."""
    from s4_qgis.dock import BUTTONS

    blocker = tmp_path / "afile"
    blocker.write_text("x")
    for folder in (blocker / "sub", blocker):
        dock.output_dir.setFilePath(str(folder))
        for name in ("finetune", "segment", "pretrain_run", "suggest"):
            dock.last_error = None
            assert getattr(dock, BUTTONS[name].slot)() is None, name  # what a click calls
            assert dock.last_error == (
                f"Output folder {folder} cannot be created ({blocker} is a file): "
                "choose another folder"
            ), name
            assert dock.task is None and not dock.busy
    assert blocker.read_text() == "x"


def test_missing_engine_packages_are_shown_not_raised(project_with_demo, dock, monkeypatch):
    from s4_qgis import dependencies

    monkeypatch.setattr(dependencies, "engine_missing_message", lambda: "install PyTorch")
    dock.label_combo.setLayer(project_with_demo.mapLayersByName("parcels")[0])
    dock.field_combo.setField("crop_name")
    run_to_end(dock, dock.start_finetune())
    assert dock.last_error.endswith("install PyTorch")
    assert not dock.busy and dock.finetune_button.isEnabled()


def test_segment_with_a_model_for_the_other_modality_reports_the_engine_message(
    project_with_demo, dock, demo_model_s1
):
    from qgis.core import QgsProject

    assert dock.load_model(str(demo_model_s1))
    for layer_id in dock.listed_layer_ids("s1"):  # only optical layers checked
        QgsProject.instance().removeMapLayer(layer_id)
    dock.refresh_layers()
    run_to_end(dock, dock.start_segment())
    assert "S1" in dock.last_error


def test_model_load_info_save_as_and_classes(qgis_new_project, dock, demo_model, tmp_path):
    from s4_core import api

    assert dock.load_model(str(demo_model))
    info = api.model_info(demo_model)
    html = dock.model_info_view.toPlainText()
    assert "finetuned" in html and "s2" in html and "B02" in html
    dock.use_model_classes()
    assert dock.class_names_edit.text() == ", ".join(c["name"] for c in info["classes"])
    copy = dock.save_model_as(str(tmp_path / "copy.pt"))
    assert copy and Path(copy).read_bytes() == Path(demo_model).read_bytes()
    assert dock.model_path() == copy
    assert not dock.load_model(str(tmp_path / "missing.pt"))
    assert "not found" in dock.last_error


def test_settings_persist_between_docks(qgis_iface, dock, demo_model, tmp_path):
    from qgis.core import QgsSettings

    from s4_qgis.dock import S4DockWidget

    dock.epochs_spin.setValue(7)
    dock.few_check.setChecked(True)
    dock.modality_combo.setCurrentIndex(1)
    dock.ratio_check.setChecked(True)
    dock.class_names_edit.setText("a, b")
    dock.class_names_edit.editingFinished.emit()
    dock.load_model(str(demo_model))
    assert QgsSettings().value("s4/epochs", type=int) == 7
    other = S4DockWidget(qgis_iface)
    try:
        assert other.epochs_spin.value() == 7
        assert other.few_check.isChecked()
        assert other.modality() == "s1"
        assert other.s1_ratio() is True
        assert other.class_names() == ["a", "b"]
        assert other.model_path() == str(demo_model)
        assert other.output_folder() == tmp_path / "out"
        assert other.device() == "cpu"
    finally:
        other.cleanup()
        other.deleteLater()


def test_dock_builds_without_importing_the_engine(qgis_iface):
    """Listing layers must not load torch (the dock appears before dependencies exist)."""
    import subprocess
    import sys

    code = (
        "import os, sys; os.environ.setdefault('QT_QPA_PLATFORM', 'offscreen');"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r});"
        "from qgis.core import QgsApplication; app = QgsApplication([], True); app.initQgis();"
        "from s4_qgis.dock import S4DockWidget; d = S4DockWidget(None); d.refresh_layers();"
        "print('torch' in sys.modules, 's4_core.api' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == ["False", "False"]


def test_cloud_fraction_reference_is_not_trivial(tiny_demo):
    """The demo's SCL bands hold clouds on some dates and not on others."""
    values = [scl_cloud_fraction(str(p)) for p in sorted(Path(tiny_demo.s2_dir).glob("*.tif"))]
    assert np.ptp(values) > 0


def test_download_starts_from_the_map_extent_and_its_series_reach_the_dock(
    qgis_new_project, dock, tiny_demo
):
    """The Data tab's download button opens s4:fetch_time_series on the canvas extent; the
    folders it writes are added to the project as groups, which the dock then lists."""
    from qgis.core import (
        QgsCoordinateReferenceSystem,
        QgsProcessingParameterExtent,
        QgsProject,
        QgsRectangle,
    )

    from s4_qgis.algorithms.fetch import add_series_group

    canvas = dock.iface.mapCanvas()
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:32631"))
    canvas.setExtent(QgsRectangle(501000, 5629000, 502000, 5630000))
    params = dock.download_parameters()
    assert params["EXTENT"].endswith("[EPSG:32631]")
    x0, x1, y0, y1 = (float(v) for v in params["EXTENT"].split(" [")[0].split(","))
    assert x0 < x1 and y0 < y1 and x0 <= 501000 + 1 and x1 >= 502000 - 1
    assert QgsProcessingParameterExtent("EXTENT").checkValueIsAcceptable(params["EXTENT"])

    project = QgsProject.instance()
    assert add_series_group(project, "S4 Sentinel-2 (demo)", str(tiny_demo.s2_dir)) == 8
    assert add_series_group(project, "S4 Sentinel-1 (demo)", str(tiny_demo.s1_dir)) == 10
    group = project.layerTreeRoot().findGroup("S4 Sentinel-2 (demo)")
    assert group is not None and len(group.findLayers()) == 8
    dock.refresh_layers()
    assert dock.s2_list.count() == 8 and dock.s1_list.count() == 10


@pytest.mark.torch
def test_a_dock_run_is_the_processing_algorithm(
    s4_processing, project_with_demo, dock, demo_model, tmp_path
):
    """The dock's segmentation runs s4:segment_time_series: the class map equals the one
    processing.run writes with the same parameters, and the algorithm's log reaches the dock."""
    import processing
    import rasterio
    from qgis.core import QgsProcessingAlgRunnerTask

    assert dock.load_model(str(demo_model))
    dock.polygons_check.setChecked(True)
    task = dock.start_segment(str(tmp_path / "dock.tif"))
    assert isinstance(task, QgsProcessingAlgRunnerTask)
    assert dock.wait(120) and dock.last_error is None, dock.last_error
    assert "Pixels per class:" in dock.log_view.toPlainText()  # pushed by the algorithm
    parameters = dock.segment_parameters(str(tmp_path / "processing.tif"))
    assert parameters["TILE_SIZE"] == 32 and parameters["DEVICE"] == 1  # the dock's values
    results = processing.run("s4:segment_time_series", parameters)
    with rasterio.open(dock.last_result["OUTPUT"]) as a, rasterio.open(results["OUTPUT"]) as b:
        assert a.profile == b.profile
        np.testing.assert_array_equal(a.read(), b.read())
        assert a.tags().get("S4_CLASSES") == b.tags().get("S4_CLASSES")
    assert Path(dock.last_result["OUTPUT_VECTOR"]).is_file()


def test_dock_settings_keys_and_defaults_in_one_place(qgis_iface):
    from qgis.core import QgsSettings

    from s4_core.settings import FINETUNE, SEGMENT
    from s4_qgis.dock import S4DockWidget
    from s4_qgis.dock_settings import DockSetting

    settings = QgsSettings()
    settings.remove("s4")
    assert DockSetting.EPOCHS.read() == FINETUNE.default("epochs")
    assert SEGMENT.default("tile_size") is None  # automatic: the form shows none_as
    assert DockSetting.TILE_SIZE.read() == SEGMENT["tile_size"].none_as == 0
    settings.setValue(DockSetting.HEAD.key, "forest")  # not a choice: the default
    settings.setValue(DockSetting.DEVICE.key, "cuda")
    widget = S4DockWidget(qgis_iface)
    try:
        assert widget.epochs_spin.value() == FINETUNE.default("epochs")
        assert widget.crop_spin.maximum() == FINETUNE["crop_size"].ui_maximum
        assert widget.crop_spin.minimum() == FINETUNE["crop_size"].low
        assert widget.device() == "cuda"
        assert widget.head_combo.currentIndex() == 0
        widget.tile_spin.setValue(48)
        assert settings.value(DockSetting.TILE_SIZE.key, type=int) == 48
    finally:
        widget.cleanup()
        widget.deleteLater()
        settings.remove("s4")

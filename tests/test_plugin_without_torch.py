"""The plugin loads and explains itself in a QGIS whose Python has no torch.

The check runs in a fresh interpreter where a ``sys.meta_path`` finder hides ``torch``: the
plugin is imported the way QGIS imports it, registers its provider, and running an S4
algorithm through ``processing.run`` fails with the message that says how to install torch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from machine import HIDE_TORCH

pytestmark = pytest.mark.qgis

PROBE = HIDE_TORCH + textwrap.dedent(
    """
    root, work = sys.argv[1], sys.argv[2]
    sys.path.append("/usr/share/qgis/python/plugins")  # processing (Debian)

    from qgis.core import QgsApplication
    app = QgsApplication([], False)
    app.initQgis()
    from processing.core.Processing import Processing
    Processing.initialize()
    import processing

    spec = importlib.util.spec_from_file_location(
        "s4", os.path.join(root, "__init__.py"), submodule_search_locations=[root]
    )
    plugin_package = importlib.util.module_from_spec(spec)
    sys.modules["s4"] = plugin_package
    spec.loader.exec_module(plugin_package)
    plugin = plugin_package.classFactory(None)  # as qgis_process does: no iface
    plugin.initProcessing()
    provider = QgsApplication.processingRegistry().providerById("s4")
    out = {"algorithms": sorted(a.id() for a in provider.algorithms()) if provider else None}

    from s4.s4_qgis.dependencies import engine_missing_message
    out["message"] = engine_missing_message()

    from osgeo import gdal
    layers = []
    for i in range(2):
        path = os.path.join(work, f"date{i}.tif")
        ds = gdal.GetDriverByName("GTiff").Create(path, 8, 8, 1)
        ds.SetGeoTransform([500000, 10, 0, 5600000, 0, -10])
        ds = None
        layers.append(path)
    params = {"SENTINEL1": [layers[0]], "SENTINEL2": [layers[1]],
              "OUTPUT": os.path.join(work, "model.pt")}
    try:
        processing.run("s4:pretrain", params)
        out["run_error"] = None
    except Exception as exc:
        out["run_error"] = f"{type(exc).__name__}: {exc}"
    out["torch_imported"] = "torch" in sys.modules
    out["model_written"] = os.path.exists(params["OUTPUT"])
    onnx_model, s2_dir = sys.argv[3], sys.argv[4]
    if onnx_model:  # mapping with an ONNX export needs only onnxruntime
        seg = {"SENTINEL2_FOLDER": s2_dir, "MODEL": onnx_model, "DEVICE": 1,
               "OUTPUT": os.path.join(work, "onnx_classes.tif"),
               "OUTPUT_CONFIDENCE": os.path.join(work, "onnx_confidence.tif")}
        try:
            res = processing.run("s4:segment_time_series", seg)
            out["onnx_error"] = None
            out["onnx_outputs"] = [res["OUTPUT"], res["OUTPUT_CONFIDENCE"]]
        except Exception as exc:
            out["onnx_error"] = f"{type(exc).__name__}: {exc}"
        out["torch_imported_after_onnx"] = "torch" in sys.modules
    plugin.unload()
    out["unloaded"] = QgsApplication.processingRegistry().providerById("s4") is None
    print("PROBE " + json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory, request):
    """(ONNX export of the demo model, the demo's S2 folder), or ("", "") where it cannot be
    made (no torch, onnx or onnxruntime: the QGIS 3.40 CI)."""
    if os.environ.get("S4_WITHOUT_TORCH") == "1":
        return "", ""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return "", ""
    from s4_core import api

    model = request.getfixturevalue("demo_model")
    demo = request.getfixturevalue("tiny_demo")
    out = tmp_path_factory.mktemp("onnx") / "demo.onnx"
    api.export_onnx(model, out)
    api.segment(model, out.with_name("torch.tif"), s2=demo.s2_dir, device="cpu")
    return str(out), str(demo.s2_dir)


@pytest.fixture(scope="module")
def probe(repo_root, tmp_path_factory, onnx_model) -> dict:
    work = tmp_path_factory.mktemp("no_torch")
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        S4_DEPENDENCIES_DIR=str(work / "deps"),  # an empty dependency folder
        HOME=str(work),
        XDG_RUNTIME_DIR=str(work / "runtime"),
    )
    (work / "runtime").mkdir(mode=0o700)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(repo_root), str(work), *onnx_model],
        capture_output=True, text=True, env=env, timeout=300, cwd=str(work),
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    assert done.returncode == 0 and lines, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(lines[-1][len("PROBE ") :])


def test_provider_registers_every_algorithm_without_torch(probe):
    assert probe["algorithms"], "provider s4 not registered or empty"
    assert "s4:pretrain" in probe["algorithms"]
    assert probe["unloaded"]


def test_engine_missing_message_names_torch_and_the_fix(probe):
    message = probe["message"]
    assert "PyTorch (torch)" in message
    assert "Raster > S4 > Dependencies" in message
    assert "-m pip install --target" in message and "torch>=" in message
    assert "numpy" not in message.split("\n")[0]  # only what is missing is named


def test_running_an_algorithm_explains_what_is_missing(probe):
    assert probe["run_error"] is not None
    assert "PyTorch (torch)" in probe["run_error"]
    assert "Raster > S4 > Dependencies" in probe["run_error"]
    assert not probe["torch_imported"]
    assert not probe["model_written"]


def test_segment_with_an_onnx_model_runs_without_torch(probe, onnx_model):
    if not onnx_model[0]:
        pytest.skip("no ONNX export here (needs torch, onnx and onnxruntime)")
    assert probe["onnx_error"] is None, probe["onnx_error"]
    assert not probe["torch_imported_after_onnx"]
    from osgeo import gdal

    classes, confidence = probe["onnx_outputs"]
    torch_map = str(Path(onnx_model[0]).with_name("torch.tif"))
    a = gdal.Open(torch_map).ReadAsArray()
    assert (gdal.Open(classes).ReadAsArray() == a).all()
    assert gdal.Open(confidence).RasterCount == 2


def test_gui_offers_the_dependency_dialog_when_torch_is_missing(
    qgis_app, qgis_iface, repo_root, monkeypatch
):
    from s4_qgis import dependencies as deps
    from s4_qgis.plugin import S4Plugin

    monkeypatch.setattr(deps, "torch_missing", lambda: True)
    bar = qgis_iface.messageBar()
    before = len(bar.items())
    plugin = S4Plugin(qgis_iface)
    plugin.initGui()
    try:
        names = [a.objectName() for a in plugin.actions]
        assert "s4_about" in names and "s4_dependencies" in names
        assert plugin.offer is not None
        assert len(bar.items()) == before + 1
        item = bar.items()[-1]
        assert "needs PyTorch" in item.text()
        from qgis.PyQt.QtWidgets import QPushButton

        buttons = {b.text(): b for b in item.findChildren(QPushButton)}
        assert "Install dependencies…" in buttons
        buttons["Install dependencies…"].click()  # opens Raster > S4 > Dependencies…
        dialog = plugin.dialogs["dependencies"]
        assert dialog.isVisible()
        assert dialog.status.topLevelItemCount() == len(deps.ENGINE_MODULES)
    finally:
        plugin.unload()
    assert len(bar.items()) == before


def test_gui_does_not_nag_when_torch_is_there(qgis_app, qgis_iface, monkeypatch):
    from s4_qgis import dependencies as deps
    from s4_qgis.plugin import S4Plugin

    monkeypatch.setattr(deps, "torch_missing", lambda: False)
    plugin = S4Plugin(qgis_iface)
    plugin.initGui()
    try:
        assert plugin.offer is None
        about = next(a for a in plugin.actions if a.objectName() == "s4_about")
        assert about.text() == "About / diagnostics…"
        about.trigger()
        first = plugin.dialogs["about"]
        about.trigger()  # a fresh report, one dialog
        assert plugin.dialogs["about"] is not first and plugin.dialogs["about"].isVisible()
        assert "torch" in plugin.dialogs["about"].text
    finally:
        plugin.unload()
    assert plugin.dialogs == {}

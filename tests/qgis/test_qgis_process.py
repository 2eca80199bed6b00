"""End to end: the packaged plugin in a fresh profile, run by ``qgis_process`` (no Python API)."""

from __future__ import annotations

import importlib.util
import site
import sqlite3
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.qgis, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _package_helpers():
    """tests/test_package.py's qgis_process helpers (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "s4_test_package_helpers", ROOT / "tests" / "test_package.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


helpers = _package_helpers()


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The zip from scripts/package.py unpacked into a plugin path, enabled in a temp HOME."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from package import build
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    base = tmp_path_factory.mktemp("qgis_process")
    zip_path = build(base / "dist" / "s4.zip")
    plugins = base / "plugins"
    zipfile.ZipFile(zip_path).extractall(plugins)
    env = helpers.qgis_process_env(base, plugins)
    # pytest-qgis points QGIS_CUSTOM_CONFIG_PATH at the test session's settings: drop it so
    # qgis_process uses the fresh profile under the temporary HOME.
    env.pop("QGIS_CUSTOM_CONFIG_PATH", None)
    # The engine's packages (torch ...) live in this test environment's site-packages; in QGIS
    # the dependency installer provides them. QGIS's own Python must see them here.
    env["PYTHONPATH"] = ":".join(
        [p for p in site.getsitepackages() if "-packages" in p] + [env.get("PYTHONPATH", "")]
    ).strip(":")
    enabled = helpers.run_qgis_process(env, "plugins", "enable", "s4")
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    return env


def test_qgis_process_segments_into_a_styled_geopackage(installed, tiny_demo, demo_model, tmp_path):
    from s4_core import api

    s2 = sorted(Path(tiny_demo.s2_dir).glob("*.tif"))
    out, gpkg = tmp_path / "classes.tif", tmp_path / "classes.gpkg"
    args = ["run", "s4:segment_time_series", "--"]
    args += [f"SENTINEL2={p}" for p in s2]
    args += [
        f"MODEL={demo_model}",
        "DEVICE=1",
        "TILE_SIZE=32",
        "OVERLAP=8",
        f"OUTPUT={out}",
        f"OUTPUT_VECTOR={gpkg}",
    ]
    done = helpers.run_qgis_process(installed, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Device: cpu" in done.stdout
    assert out.is_file() and (tmp_path / "classes.qml").is_file()
    classes = [c["name"] for c in api.model_info(demo_model)["classes"]]
    with sqlite3.connect(gpkg) as db:
        tables = [r[0] for r in db.execute("SELECT table_name FROM gpkg_contents")]
        layer = next(t for t in tables if t != "layer_styles")
        names = [r[0] for r in db.execute(f'SELECT class_name FROM "{layer}"')]
        styles = db.execute("SELECT styleName, useAsDefault FROM layer_styles").fetchall()
    assert names and set(names) <= set(classes)
    assert ("S4 classes", 1) in styles
    qml = (tmp_path / "classes.qml").read_text()
    assert "paletted" in qml
    for name in set(names):
        assert f'label="{name}"' in qml


def test_qgis_process_reports_bad_input_without_traceback(installed, demo_model, tmp_path):
    done = helpers.run_qgis_process(
        installed,
        "run",
        "s4:segment_time_series",
        "--",
        f"MODEL={demo_model}",
        f"OUTPUT={tmp_path / 'x.tif'}",
    )
    assert done.returncode != 0
    text = done.stdout + done.stderr
    assert "SENTINEL2" in text and "SENTINEL1" in text
    assert "Traceback" not in text
    assert not (tmp_path / "x.tif").exists()


def test_qgis_process_lists_all_s4_algorithms(installed):
    done = helpers.run_qgis_process(installed, "list")
    assert done.returncode == 0, done.stderr
    for name in (
        "fetch_time_series",
        "align_time_series",
        "pretrain",
        "finetune",
        "segment_time_series",
        "export_geopackage",
        "evaluate",
    ):
        assert f"s4:{name}" in done.stdout

"""End to end: the packaged plugin in a fresh profile, run by ``qgis_process`` (no Python API)."""

from __future__ import annotations

import re
import site
import sqlite3
import sys
import zipfile
from pathlib import Path

import pytest
from machine import unwritable_folder
from modules import load_module

pytestmark = [pytest.mark.qgis, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _package_helpers():
    """tests/test_package.py's qgis_process helpers (tests/ is not a package)."""
    return load_module(ROOT / "tests" / "test_package.py", "s4_test_package_helpers")


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


def _tifs(folder: Path) -> list:
    return [str(p) for p in sorted(Path(folder).glob("*.tif"))]


# (name, algorithm, parameters from (demo scene copy, model copy, work folder), message regex)
FAULTS = [
    (
        "segment over an input image",
        "segment_time_series",
        lambda d, m, w: [*(f"SENTINEL2={p}" for p in _tifs(d / "S2")), f"MODEL={m}", "DEVICE=1",
                         f"OUTPUT={_tifs(d / 'S2')[0]}"],
        r"S2_\S+\.tif would overwrite the Sentinel-2 input",
    ),
    (
        "segment into an unwritable folder",
        "segment_time_series",
        lambda d, m, w: [*(f"SENTINEL2={p}" for p in _tifs(d / "S2")), f"MODEL={m}", "DEVICE=1",
                         f"OUTPUT={unwritable_folder() / 's4' / 'x.tif'}"],
        r"cannot be written: the folder /sys\S* is not writable",
    ),
    (
        "finetune init is the output",
        "finetune",
        lambda d, m, w: [*(f"SENTINEL2={p}" for p in _tifs(d / "S2")),
                         f"LABELS={d / 'labels' / 'parcels.gpkg'}", "CLASS_FIELD=crop_name",
                         f"INIT_MODEL={m}", f"OUTPUT={m}", "DEVICE=1"],
        r"model\.pt would overwrite the pretrained model \(init\)",
    ),
    (
        "pretrain with S1 and S2 swapped",
        "pretrain",
        lambda d, m, w: [*(f"SENTINEL1={p}" for p in _tifs(d / "S2")),
                         *(f"SENTINEL2={p}" for p in _tifs(d / "S1")), f"OUTPUT={w / 'p.pt'}",
                         "DEVICE=1"],
        r"was given as Sentinel-1 but its bands .* are Sentinel-2 optical bands: swap",
    ),
    (
        "finetune epochs 0",
        "finetune",
        lambda d, m, w: [*(f"SENTINEL2={p}" for p in _tifs(d / "S2")),
                         f"LABELS={d / 'labels' / 'parcels.gpkg'}", "CLASS_FIELD=crop_name",
                         "EPOCHS=0", f"OUTPUT={w / 'f.pt'}", "DEVICE=1"],
        r"EPOCHS \(.*\) must be a whole number >= 1, got 0",
    ),
    (
        "evaluate into an unwritable folder",
        "evaluate",
        lambda d, m, w: [f"INPUT={_tifs(d / 'S2')[0]}", f"REFERENCE={d / 'labels' / 'parcels.gpkg'}",
                         "CLASS_FIELD=crop_name", f"OUTPUT={unwritable_folder() / 's4' / 'scores.csv'}"],
        r"OUTPUT table \S+scores\.csv cannot be written: the folder /sys\S* is not writable",
    ),
    (
        "export into an unwritable folder",
        "export_geopackage",
        lambda d, m, w: [f"INPUT={_tifs(d / 'S2')[0]}",
                         f"OUTPUT_VECTOR={unwritable_folder() / 's4' / 'p.gpkg'}"],
        r"cannot be written: the folder /sys\S* is not writable",
    ),
]  # fmt: skip


def _error_copies(text: str) -> int:
    """How often a failed run's error is printed: its ``ERROR:`` line's message, counted
    everywhere in the output (qgis_process prints it once after ``ERROR:``)."""
    errors = [line[len("ERROR:\t") :] for line in text.splitlines() if line.startswith("ERROR:\t")]
    assert len(errors) == 1, text
    return text.count(errors[0])


@pytest.fixture(scope="module")
def qgis_error_copies(installed, tiny_demo, tmp_path_factory) -> int:
    """How often qgis_process prints an error of QGIS's OWN algorithms: ``native:buffer``
    into a folder that cannot be written (3 on QGIS 3.22: see docs/user_guide.md,
    troubleshooting)."""
    out = unwritable_folder() / "s4" / "buffer.gpkg"
    done = helpers.run_qgis_process(
        installed, "run", "native:buffer", "--", f"INPUT={tiny_demo.parcels}", "DISTANCE=1",
        f"OUTPUT={out}",
    )  # fmt: skip
    text = done.stdout + done.stderr
    assert done.returncode != 0 and str(out) in text, text
    return _error_copies(text)


def test_qgis_process_prints_s4_errors_as_often_as_its_own(
    installed, qgis_error_copies, tiny_demo, tmp_path
):
    """S4 adds no copy of an error (one QgsProcessingException, no reportError of its own):
    its message appears exactly as often as QGIS's native algorithms' (torch-free: also on
    QGIS 3.40)."""
    out = unwritable_folder() / "s4" / "parcels.gpkg"
    image = _tifs(tiny_demo.s2_dir)[0]
    done = helpers.run_qgis_process(
        installed, "run", "s4:export_geopackage", "--", f"INPUT={image}", f"OUTPUT_VECTOR={out}"
    )
    text = done.stdout + done.stderr
    assert done.returncode != 0, text
    assert re.search(r"polygons \S+parcels\.gpkg cannot be written: the folder /sys\S* is", text)
    assert _error_copies(text) == qgis_error_copies, text


@pytest.mark.parametrize("name, algorithm, build, expected", FAULTS, ids=[f[0] for f in FAULTS])
def test_qgis_process_fault_matrix(
    installed, qgis_error_copies, tiny_demo, demo_model, tmp_path, name, algorithm, build, expected
):
    """Each fault: non-zero exit, the engine's (or QGIS's) message, no traceback, files as
    they were (inputs untouched, nothing written)."""
    import hashlib
    import re
    import shutil

    data, work = tmp_path / "data", tmp_path / "work"
    shutil.copytree(tiny_demo.root, data)
    work.mkdir()
    model = tmp_path / "model.pt"
    shutil.copy(demo_model, model)

    def snapshot() -> dict:
        return {
            str(p): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in tmp_path.rglob("*")
            if p.is_file()
        }

    params = build(data, model, work)
    before = snapshot()
    done = helpers.run_qgis_process(installed, "run", f"s4:{algorithm}", "--", *params)
    text = done.stdout + done.stderr
    assert done.returncode != 0, text
    assert re.search(expected, text), text
    assert "Traceback" not in text
    assert snapshot() == before
    if "An error was encountered while checking parameter values" in text:
        assert len(re.findall(expected, text)) == 1, text  # qgis_process's own check: once
    else:  # a failed run: as often as QGIS prints its own algorithms' errors, no S4 copy
        assert _error_copies(text) == qgis_error_copies, text


def test_qgis_process_shows_engine_warnings_and_adds_no_python_noise(
    installed, tiny_demo, demo_model, tmp_path
):
    """A 1-date series: the run succeeds and says why the map will be poor (once); the only
    Python warning in the output is QGIS 3.22's own ``setapi()`` one (printed by
    libqgispython before any plugin loads)."""
    s2 = _tifs(tiny_demo.s2_dir)[0]
    out = tmp_path / "one_date.tif"
    done = helpers.run_qgis_process(
        installed, "run", "s4:segment_time_series", "--", f"SENTINEL2={s2}",
        f"MODEL={demo_model}", "DEVICE=1", f"OUTPUT={out}",
    )  # fmt: skip
    text = done.stdout + done.stderr
    assert done.returncode == 0, text
    assert len(re.findall(r"Warning: the S2 series \S+ has 1 date\(s\)", text)) == 1, text
    assert "Traceback" not in text
    noise = [line for line in text.splitlines() if re.search(r"\w+Warning\b", line)]
    assert all("<string>:1: DeprecationWarning: setapi() is deprecated" in n for n in noise), noise
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one_date.qml", "one_date.tif"]

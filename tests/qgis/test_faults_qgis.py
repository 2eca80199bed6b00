"""Fault matrix of the S4 Processing algorithms through ``processing.run`` (issue 13).

Every bad input, bad output path and fault that applies to QGIS: the algorithm fails with a
QgsProcessingException whose message names the file or parameter and the fix (the range for
numbers), no Python traceback reaches the user, and the file system is as it was (inputs
untouched, no output, no temporary file). Warnings (a single class, a 1-date series, S1
covering little of the S2 grid) let the run finish and appear as warning lines in the log.
Faults during a run: an input file deleted or a new file added to an input folder mid-run.
The same cases through ``qgis_process`` are in test_qgis_process.py (a few, each costs seconds).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Dict, List, Tuple

import pytest
from machine import small_tmpfs, unwritable_folder
from rasters import faulty_inputs

pytestmark = [pytest.mark.qgis, pytest.mark.torch]  # trained models (no torch on the 3.40 CI)

SMALL = dict(crop_size=16, batch_size=2, widths=(8, 16), device="cpu", seed=0)
TINY = {"EPOCHS": 1, "CROP_SIZE": 16, "WIDTHS": "8,16", "DEVICE": 1}  # DEVICE 1 = cpu


def tifs(folder: Path) -> List[str]:
    return [str(p) for p in sorted(Path(folder).glob("*.tif"))]


@pytest.fixture(scope="module")
def env(tiny_demo, tmp_path_factory) -> SimpleNamespace:
    """A private copy of the demo scene, models and derived faulty inputs."""
    from s4_core import api

    base = tmp_path_factory.mktemp("qgis_faults")
    data = base / "data"
    shutil.copytree(tiny_demo.root, data)
    e = SimpleNamespace(base=base, data=data, s1=data / "S1", s2=data / "S2", field="crop_name")
    e.parcels = data / "labels" / "parcels.gpkg"
    models = base / "models"
    e.pre = models / "pre.pt"  # widths 8-16 (not the default 16-32-64)
    api.pretrain(str(e.s1), str(e.s2), e.pre, epochs=1, steps_per_epoch=1, **SMALL)
    e.ft = models / "ft.pt"
    api.finetune(None, str(e.s2), e.parcels, e.field, e.ft, epochs=1, **SMALL)
    e.onnx = models / "ft.onnx"
    api.export_onnx(e.ft, e.onnx)
    e.classes = models / "classes.tif"
    api.segment(e.ft, e.classes, s2=str(e.s2), device="cpu")

    faulty_inputs(e, base / "derived")
    return e


def unwritable() -> Path:
    """A folder where no file can be created (a read-only temporary folder for users)."""
    return unwritable_folder(parent=Path(tempfile.gettempdir()))


def snapshot(*roots: Path) -> Dict[str, Tuple[int, str, int]]:
    """Every file under ``roots``: path -> (size, sha1, mode); hidden files included."""
    out = {}
    for root in roots:
        for dirpath, _, names in os.walk(root):
            for name in names:
                p = Path(dirpath) / name
                if p.is_file() and os.access(p, os.R_OK):
                    out[str(p)] = (p.stat().st_size, hashlib.sha1(p.read_bytes()).hexdigest(), 0)
                else:
                    out[str(p)] = (p.stat().st_size, "", p.stat().st_mode)
    return out


def temp_leftovers() -> List[str]:
    """S4's temporary folders in QGIS's Processing temp folder."""
    from qgis.core import QgsProcessingUtils

    return sorted(str(p) for p in Path(QgsProcessingUtils.tempFolder()).glob("s4_*"))


class Log:
    """A QgsProcessingFeedback keeping every line by kind; ``on_progress`` runs once, at the
    first progress above ``at`` percent (a fault injected mid-run)."""

    def __new__(cls, on_progress: Callable[[], None] = None, at: float = 0.0):
        from qgis.core import QgsProcessingFeedback

        class _Log(QgsProcessingFeedback):
            def __init__(self):
                super().__init__()
                self.lines: List[Tuple[str, str]] = []
                self.fired = False
                self.progressChanged.connect(self._progress)

            def _progress(self, value):
                if on_progress is not None and not self.fired and value > at:
                    self.fired = True
                    on_progress()

            def pushInfo(self, text):  # noqa: N802
                self.lines.append(("info", text))
                super().pushInfo(text)

            def pushWarning(self, text):  # noqa: N802 (QGIS >= 3.26)
                self.lines.append(("warning", text))
                super().pushWarning(text)

            def reportError(self, text, fatalError=False):  # noqa: N802, N803
                self.lines.append(("error" if fatalError else "warning", text))
                super().reportError(text, fatalError)

            def pushDebugInfo(self, text):  # noqa: N802
                self.lines.append(("debug", text))
                super().pushDebugInfo(text)

            def pushConsoleInfo(self, text):  # noqa: N802
                self.lines.append(("console", text))
                super().pushConsoleInfo(text)

            def text(self) -> str:
                return "\n".join(t for _, t in self.lines)

            def warnings(self) -> List[str]:
                return [t for kind, t in self.lines if kind == "warning"]

        return _Log()


def run(name: str, params: dict, feedback=None) -> dict:
    import processing

    return processing.run(f"s4:{name}", params, feedback=feedback)


def segment(e, out, **extra) -> dict:
    return {"SENTINEL2_FOLDER": str(e.s2), "MODEL": str(e.ft), "DEVICE": 1, "OUTPUT": str(out),
            **extra}  # fmt: skip


def finetune(e, out, **extra) -> dict:
    return {"SENTINEL2_FOLDER": str(e.s2), "LABELS": str(e.parcels), "CLASS_FIELD": e.field,
            "OUTPUT": str(out), **TINY, **extra}  # fmt: skip


def pretrain(e, out, **extra) -> dict:
    return {"SENTINEL1_FOLDER": str(e.s1), "SENTINEL2_FOLDER": str(e.s2), "OUTPUT": str(out),
            "STEPS_PER_EPOCH": 1, **TINY, **extra}  # fmt: skip


def align(e, out, **extra) -> dict:
    return {"SENTINEL1_FOLDER": str(e.s1), "SENTINEL2_FOLDER": str(e.s2), "OUTPUT": str(out),
            **extra}  # fmt: skip


def export(e, out, **extra) -> dict:
    return {"INPUT": str(e.classes), "OUTPUT_VECTOR": str(out), **extra}


def suggest(e, out, **extra) -> dict:
    return {"SENTINEL2_FOLDER": str(e.s2), "MODEL": str(e.ft), "DEVICE": 1, "OUTPUT": str(out),
            **extra}  # fmt: skip


def evaluate(e, out, **extra) -> dict:
    return {"INPUT": str(e.classes), "REFERENCE": str(e.parcels), "CLASS_FIELD": e.field,
            "OUTPUT": str(out), **extra}  # fmt: skip


# (name, algorithm, parameters from (env, work folder), regex the message must match)
Fault = Tuple[str, str, Callable[[SimpleNamespace, Path], dict], str]
LOCKED = r"cannot be written: the folder \S+ is not writable .*choose a writable folder"
FAULTS: List[Fault] = [
    # unwritable destinations
    ("segment OUTPUT unwritable", "segment_time_series",
     lambda e, w: segment(e, unwritable() / "s4" / "map.tif"), r"class raster .*" + LOCKED),
    ("segment OUTPUT_VECTOR unwritable", "segment_time_series",
     lambda e, w: segment(e, w / "map.tif", OUTPUT_VECTOR=str(unwritable() / "s4" / "p.gpkg")),
     r"polygons .*" + LOCKED),
    ("export OUTPUT unwritable", "export_geopackage",
     lambda e, w: export(e, unwritable() / "s4" / "p.gpkg"), LOCKED),
    ("align OUTPUT unwritable", "align_time_series",
     lambda e, w: align(e, unwritable() / "s4"), LOCKED),
    ("evaluate OUTPUT unwritable", "evaluate",
     lambda e, w: evaluate(e, unwritable() / "s4" / "scores.csv"), r"OUTPUT table .*" + LOCKED),
    ("finetune OUTPUT unwritable", "finetune",
     lambda e, w: finetune(e, unwritable() / "s4" / "m.pt"), LOCKED),
    # an output naming an input
    ("segment OUTPUT is an input image", "segment_time_series",
     lambda e, w: segment(e, tifs(e.s2)[0]),
     r"S2_\S+\.tif would overwrite the Sentinel-2 input .*choose another output file"),
    ("segment OUTPUT_VECTOR is the OUTPUT", "segment_time_series",
     lambda e, w: segment(e, w / "map.tif", OUTPUT_VECTOR=str(w / "map.tif")),
     r"OUTPUT_VECTOR must be a file in GeoPackage format \(\.gpkg\), not \S+map\.tif"),
    ("export OUTPUT is its INPUT", "export_geopackage",
     lambda e, w: export(e, e.classes),
     r"OUTPUT_VECTOR must be a file in GeoPackage format \(\.gpkg\), not \S+classes\.tif"),
    ("finetune INIT_MODEL is OUTPUT", "finetune",
     lambda e, w: finetune(e, e.pre, INIT_MODEL=str(e.pre)),
     r"pre\.pt would overwrite the pretrained model \(init\)"),
    ("finetune OUTPUT is the labels", "finetune",
     lambda e, w: finetune(e, e.parcels.with_suffix(".pt"), LABELS=str(e.parcels),
                           OUTPUT=str(e.parcels)),
     r"(parcels\.gpkg would overwrite the labels|OUTPUT .*\.pt)"),
    ("align OUTPUT is the S2 input folder", "align_time_series", lambda e, w: align(e, e.s2),
     r"output folder .*S2 holds the Sentinel-2 input .*choose another folder"),
    ("evaluate OUTPUT_HTML is the REFERENCE", "evaluate",
     lambda e, w: evaluate(e, w / "scores.csv", OUTPUT_HTML=str(e.parcels)),
     r"OUTPUT_HTML must be a file in HTML format \(\.html, \.htm\), not \S+parcels\.gpkg"),
    ("evaluate OUTPUT_HTML is the INPUT", "evaluate",
     lambda e, w: evaluate(e, w / "scores.csv", OUTPUT_HTML=str(e.classes)),
     r"OUTPUT_HTML must be a file in HTML format \(\.html, \.htm\), not \S+classes\.tif"),
    ("segment OUTPUT into the SENTINEL2_FOLDER", "segment_time_series",
     lambda e, w: segment(e, e.s2 / "map.tif"),
     r"OUTPUT: \S+S2/map\.tif would be written into the folder \S+S2 of SENTINEL2_FOLDER, whose "
     r"GeoTIFFs are all read as images of that series.*choose another folder"),
    ("segment OUTPUT_CONFIDENCE into the SENTINEL2_FOLDER", "segment_time_series",
     lambda e, w: segment(e, w / "map.tif", OUTPUT_CONFIDENCE=str(e.s2 / "c.tif")),
     r"OUTPUT_CONFIDENCE: \S+c\.tif would be written into the folder \S+S2 of SENTINEL2_FOLDER"),
    ("align OUTPUT is a file", "align_time_series", lambda e, w: align(e, e.ft),
     r"ft\.pt is a file: give a folder"),
    # a file that is not a checkpoint to train from
    ("finetune INIT_MODEL is an ONNX export", "finetune",
     lambda e, w: finetune(e, w / "m.pt", INIT_MODEL=str(e.onnx)),
     r"ft\.onnx is an ONNX export \(for mapping only\): training needs the \.pt checkpoint it "
     r"was exported from"),
    ("finetune INIT_MODEL is a GeoTIFF", "finetune",
     lambda e, w: finetune(e, w / "m.pt", INIT_MODEL=tifs(e.s2)[0]),
     r"S2_\S+\.tif is not an S4 checkpoint: it is a GeoTIFF / TIFF image\. Give a \.pt model"),
    ("segment MODEL is a GeoTIFF", "segment_time_series",
     lambda e, w: segment(e, w / "m.tif", MODEL=tifs(e.s2)[0]),
     r"MODEL: \S+\.tif is not a file of the type this parameter takes \(S4 model \(\*\.pt "
     r"\*\.onnx\)\): choose another file"),
    ("finetune LABELS is a raster", "finetune",
     lambda e, w: finetune(e, w / "m.pt", LABELS=tifs(e.s2)[0]),
     r"LABELS: \S+\.tif is a raster, but this parameter takes a polygon layer \(GeoPackage, "
     r"shapefile, GeoJSON \.\.\.\): choose the polygons"),
    ("export INPUT is the polygons", "export_geopackage",
     lambda e, w: export(e, w / "p.gpkg", INPUT=str(e.parcels)),
     r"INPUT: \S+parcels\.gpkg is a vector layer, but this parameter takes a raster \(GeoTIFF\): "
     r"choose the raster"),
    # data that does not fit
    ("finetune bands missing vs INIT_MODEL", "finetune",
     lambda e, w: finetune(e, w / "m.pt", SENTINEL2_FOLDER=str(e.s2_no_b11), INIT_MODEL=str(e.pre)),
     r"pretrained model \(init\) .*pre\.pt was trained on S2 bands .*S2_no_B11.* lack \['B11'\]: "
     r"give S2 layers with those bands"),
    ("segment bands missing vs MODEL", "segment_time_series",
     lambda e, w: segment(e, w / "m.tif", SENTINEL2_FOLDER=str(e.s2_no_b11)),
     r"missing \['B11'\].*give S2 layers with those bands"),
    ("pretrain S1 and S2 swapped", "pretrain",
     lambda e, w: pretrain(e, w / "p.pt", SENTINEL1_FOLDER=str(e.s2), SENTINEL2_FOLDER=str(e.s1)),
     r"was given as Sentinel-1 but its bands .*'B02'.* are Sentinel-2 optical bands: swap"),
    ("align S1 and S2 swapped", "align_time_series",
     lambda e, w: align(e, w / "a", SENTINEL1_FOLDER=str(e.s2), SENTINEL2_FOLDER=str(e.s1)),
     r"Sentinel-2 optical bands: swap the Sentinel-1 and Sentinel-2"),
    ("segment S1 given as S2", "segment_time_series",
     lambda e, w: segment(e, w / "m.tif", SENTINEL2_FOLDER=str(e.s1)),
     r"was given as Sentinel-2 but its bands \['VH', 'VV'\] are Sentinel-1 radar bands"),
    ("finetune NaN-only S1", "finetune",
     lambda e, w: finetune(e, w / "m.pt", SENTINEL2_FOLDER=None, SENTINEL1_FOLDER=str(e.s1_nan),
                           MODALITY=1),
     r"S1 layers .*S1_nan.* have no valid pixel .*NaN.*check the files and their nodata value"),
    ("pretrain NaN-only S1", "pretrain",
     lambda e, w: pretrain(e, w / "p.pt", SENTINEL1_FOLDER=str(e.s1_nan)),
     r"S1 layers .*S1_nan.* have no valid pixel"),
    ("finetune corrupt labels GeoPackage", "finetune",
     lambda e, w: finetune(e, w / "m.pt", LABELS=str(e.corrupt)),
     r"LABELS: .*corrupt\.gpkg cannot be read as a (polygon )?layer.*choose a"),
    # numbers out of range: the range is in the message
    ("finetune EPOCHS 0", "finetune", lambda e, w: finetune(e, w / "m.pt", EPOCHS=0),
     r"EPOCHS \(.*\) must be a whole number >= 1, got 0"),
    ("finetune CROP_SIZE 3", "finetune", lambda e, w: finetune(e, w / "m.pt", CROP_SIZE=3),
     r"CROP_SIZE \(.*\) must be a whole number >= 8, got 3"),
    ("finetune VAL_FRACTION 1.5", "finetune",
     lambda e, w: finetune(e, w / "m.pt", VAL_FRACTION=1.5),
     r"VAL_FRACTION \(.*\) must be a number from 0 to 0\.9, got 1\.5"),
    ("finetune BATCH_SIZE 0", "finetune", lambda e, w: finetune(e, w / "m.pt", BATCH_SIZE=0),
     r"BATCH_SIZE \(.*\) must be a whole number >= 1, got 0"),
    ("finetune WIDTHS 0", "finetune", lambda e, w: finetune(e, w / "m.pt", WIDTHS="0"),
     r"WIDTHS must be two or more positive integers"),
    ("pretrain COMPOSITE_MONTHS 13", "pretrain",
     lambda e, w: pretrain(e, w / "p.pt", COMPOSITE_MONTHS=13),
     r"COMPOSITE_MONTHS \(.*\) must be a whole number from 0 to 12, got 13"),
    ("segment TILE_SIZE 8", "segment_time_series",
     lambda e, w: segment(e, w / "m.tif", TILE_SIZE=8),
     r"TILE_SIZE( \(.*\))? must be a whole number >= 16, got 8"),
    ("segment OVERLAP >= TILE_SIZE", "segment_time_series",
     lambda e, w: segment(e, w / "m.tif", TILE_SIZE=32, OVERLAP=32),
     r"OVERLAP.* must be smaller than .*TILE_SIZE.* \(32\), got 32"),
    ("segment MIN_AREA -5", "segment_time_series",
     lambda e, w: segment(e, w / "m.tif", MIN_AREA=-5),
     r"MIN_AREA \(.*\) must be a number >= 0, got -5"),
    ("align MAX_CLOUD_FRACTION 5", "align_time_series",
     lambda e, w: align(e, w / "a", MAX_CLOUD_FRACTION=5),
     r"MAX_CLOUD_FRACTION \(.*\) must be a number from 0 to 1, got 5"),
    ("export MIN_AREA -5", "export_geopackage", lambda e, w: export(e, w / "p.gpkg", MIN_AREA=-5),
     r"MIN_AREA \(.*\) must be a number >= 0, got -5"),
    # what an earlier run left, names the file system cannot hold
    ("pretrain OUTPUT.partial of an earlier run", "pretrain",
     lambda e, w: (shutil.copy(e.pre, w / "p.pt.partial"), pretrain(e, w / "p.pt"))[1],
     r"p\.pt\.partial holds the last epoch of an earlier run writing \S+p\.pt .*RESUME in "
     r"QGIS\), or delete \S+p\.pt\.partial to start again"),
    ("segment OUTPUT name too long", "segment_time_series",
     lambda e, w: segment(e, w / ("m" * 252 + ".tif")),
     r"the name 'm+\.tif' is 256 bytes long, more than the 255 bytes .*choose a shorter name"),
    ("finetune CLASS_FIELD in another case", "finetune",
     lambda e, w: finetune(e, w / "m.pt", CLASS_FIELD="Crop_Name"),
     r"^CLASS_FIELD: field 'Crop_Name' does not exist in layer 'parcels' \(LABELS\); did you "
     r"mean 'crop_name'\? \(field names are case-sensitive\)$"),
    ("evaluate CLASS_FIELD in another case", "evaluate",
     lambda e, w: evaluate(e, w / "s.csv", CLASS_FIELD="CROP_NAME"),
     r"^CLASS_FIELD: field 'CROP_NAME' does not exist in layer 'parcels' \(REFERENCE\); did "
     r"you mean 'crop_name'\?"),
    ("suggest SIZE larger than the scene", "suggest_labels",
     lambda e, w: suggest(e, w / "s.gpkg", SIZE=40),
     r"SIZE\) of 40 px is larger than the scene \(32 x 32 px\).*at most 32 px"),
]  # fmt: skip


@pytest.mark.parametrize("name, algorithm, build, expected", FAULTS, ids=[f[0] for f in FAULTS])
def test_processing_refuses_with_a_clear_message_and_writes_nothing(
    s4_processing, env, tmp_path, name, algorithm, build, expected
):
    from qgis.core import QgsProcessingException

    work = tmp_path / "work"
    work.mkdir()
    params = {k: v for k, v in build(env, work).items() if v is not None}
    before, temps = snapshot(env.base, tmp_path), temp_leftovers()
    log = Log()
    with pytest.raises(QgsProcessingException) as info:
        run(algorithm, params, log)
    message = str(info.value)
    assert re.search(expected, message, re.S), message
    assert "Traceback" not in message + log.text()
    assert "weights_only" not in message + log.text()  # torch's unsafe advice is never shown
    assert not re.search(r"\b(?:--device|--overlap|--[a-z]+-[a-z-]+)\b", message), message
    assert snapshot(env.base, tmp_path) == before  # nothing written, nothing touched
    assert temp_leftovers() == temps


def test_unreadable_labels_file_is_named(s4_processing, env, tmp_path):
    """chmod 000 labels: refused naming the file (root reads any file: skipped there)."""
    from qgis.core import QgsProcessingException

    if os.geteuid() == 0:
        pytest.skip("root reads a chmod 000 file (test_faults_as_user.py: as an ordinary user)")
    labels = tmp_path / "locked.gpkg"
    shutil.copy(env.parcels, labels)
    labels.chmod(0)
    try:
        with pytest.raises(
            QgsProcessingException, match=r"locked\.gpkg\b.*no permission to read it"
        ):
            run("finetune", finetune(env, tmp_path / "m.pt", LABELS=str(labels)), Log())
        assert not (tmp_path / "m.pt").exists()
    finally:
        labels.chmod(0o644)


# (name, algorithm, parameters, the warning, the outputs expected) - the run goes on
WARNINGS = [
    ("finetune single class", "finetune",
     lambda e, w: finetune(e, w / "m.pt", LABELS=str(e.one_class)),
     r"hold a single class .*digitise polygons of at least one other class", ["m.pt"]),
    ("segment a 1-date series", "segment_time_series",
     lambda e, w: segment(e, w / "m.tif", SENTINEL2_FOLDER=None, SENTINEL2=tifs(e.s2)[:1]),
     r"has 1 date\(s\).*fewer than 4 dates.*give 4 or more dates", ["m.tif", "m.qml"]),
    ("align S1 covering 40 % of S2", "align_time_series",
     lambda e, w: align(e, w / "a", SENTINEL1_FOLDER=str(e.s1_partial)),
     r"S1 images .*S1_partial.* cover only \d+ % of the map's grid.*same area",
     ["a/s1_aligned.tif", "a/s2_aligned.tif", "a/dates.csv"]),
    ("finetune INIT_MODEL of other widths", "finetune",
     lambda e, w: finetune(e, w / "m.pt", INIT_MODEL=str(e.pre), WIDTHS="16,32,64"), None,
     ["m.pt"]),
    ("evaluate OUTPUT_FIGURE and OUTPUT_HTML in new folders", "evaluate",
     lambda e, w: evaluate(e, w / "scores.csv", OUTPUT_FIGURE=str(w / "new" / "f.png"),
                           OUTPUT_HTML=str(w / "n é" / "r.html")),
     None, ["scores.csv", "new/f.png", "n é/r.html"]),
    ("suggest NUMBER 100000", "suggest_labels",
     lambda e, w: suggest(e, w / "s.gpkg", NUMBER=100000),
     r"only \d+ of the 100000 squares asked for .* 784 positions in the 32 x 32 px scene.* fit",
     ["s.gpkg"]),
]  # fmt: skip


@pytest.mark.parametrize(
    "name, algorithm, build, warning, outputs", WARNINGS, ids=[c[0] for c in WARNINGS]
)
def test_processing_warns_and_writes_only_its_outputs(
    s4_processing, env, tmp_path, name, algorithm, build, warning, outputs
):
    work = tmp_path / "work"
    work.mkdir()
    params = {k: v for k, v in build(env, work).items() if v is not None}
    before, temps = snapshot(env.base), temp_leftovers()
    log = Log()
    run(algorithm, params, log)
    warnings = log.warnings()
    if warning:
        assert any(re.search(warning, w) for w in warnings), log.text()
        assert len([w for w in warnings if re.search(warning, w)]) == 1  # once, not per frame
    else:
        assert not warnings, warnings
    assert "Traceback" not in log.text()
    assert sorted(str(p.relative_to(work)) for p in work.rglob("*") if p.is_file()) == sorted(
        outputs
    )
    assert snapshot(env.base) == before
    assert temp_leftovers() == temps
    if name.endswith("other widths"):
        from s4_core import api

        assert tuple(api.model_info(work / "m.pt")["net_config"]["widths"]) == (8, 16)


def test_qml_style_follows_the_umask(s4_processing, env, tmp_path):
    """The .qml beside a class raster is created like the raster (umask), not mode 0600."""
    old = os.umask(0o022)
    try:
        run("segment_time_series", segment(env, tmp_path / "map.tif"), Log())
    finally:
        os.umask(old)
    tif, qml = (tmp_path / "map.tif").stat().st_mode, (tmp_path / "map.qml").stat().st_mode
    assert oct(qml & 0o777) == oct(0o644)
    assert oct(qml & 0o777) == oct(tif & 0o777)


def _checked_raster(path: Path, classes: int) -> None:
    import numpy as np
    import rasterio

    with rasterio.open(path) as ds:
        values = ds.read(1)
    assert values.shape == (32, 32)
    assert set(np.unique(values)) <= set(range(classes)) | {255}


def test_input_file_deleted_mid_run(s4_processing, env, tmp_path):
    """An S2 image deleted once segmentation runs: it finishes from the already-open file (a
    valid map) or fails naming the file; either way no traceback and no stray file."""
    from qgis.core import QgsProcessingException

    from s4_core import api

    s2 = tmp_path / "S2"
    shutil.copytree(env.s2, s2)
    victim = Path(tifs(s2)[3])
    out = tmp_path / "map.tif"
    log = Log(on_progress=victim.unlink, at=1)
    temps = temp_leftovers()
    try:
        run("segment_time_series", segment(env, out, SENTINEL2_FOLDER=str(s2)), log)
    except QgsProcessingException as error:
        assert victim.name in str(error), str(error)
        assert "Traceback" not in str(error) + log.text()
        assert not out.exists()
    else:
        _checked_raster(out, len(api.model_info(env.ft)["classes"]))
    assert log.fired
    assert "Traceback" not in log.text()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert set(left) <= {"S2", "map.tif", "map.qml"}, left
    assert temp_leftovers() == temps


def test_new_files_in_an_input_folder_mid_run_are_ignored(s4_processing, env, tmp_path):
    """Files added to SENTINEL2_FOLDER while a fine-tune runs neither break it nor join it:
    the model is trained on the dates listed when it started; the new file is left as is."""
    from s4_core import api

    s2 = tmp_path / "S2"
    shutil.copytree(env.s2, s2)
    newcomer = s2 / "S2_L2A_20181231.tif"

    def add_file():
        shutil.copy(tifs(env.s2)[0], newcomer)

    log = Log(on_progress=add_file, at=1)
    result = run("finetune", finetune(env, tmp_path / "m.pt", SENTINEL2_FOLDER=str(s2)), log)
    assert log.fired and newcomer.is_file()
    assert result["OUTPUT"] == str(tmp_path / "m.pt")
    info = api.model_info(tmp_path / "m.pt")
    assert [c["name"] for c in info["classes"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["S2", "m.pt"]


def test_failed_run_releases_the_layers_it_opened(s4_processing, env, tmp_path):
    """QGIS 3.22 keeps every exception raised out of processAlgorithm, and its traceback with
    the caller's context: a failed run must leave no layer (open file) in any context."""
    import gc
    import warnings

    from qgis.core import QgsProcessingContext, QgsProcessingException

    params = finetune(env, tmp_path / "m.pt", SENTINEL2_FOLDER=None, MODALITY=1)
    params["SENTINEL1_FOLDER"] = str(env.s1_nan)  # fails in the engine, after LABELS was read
    params = {k: v for k, v in params.items() if v is not None}
    with pytest.raises(QgsProcessingException, match="no valid pixel"):
        run("finetune", params, Log())
    gc.collect()
    with warnings.catch_warnings():  # isinstance() on every object touches torch's deprecated ones
        warnings.simplefilter("ignore", FutureWarning)
        contexts = [obj for obj in gc.get_objects() if isinstance(obj, QgsProcessingContext)]
    held = [c.source() for obj in contexts for c in obj.temporaryLayerStore().mapLayers().values()]
    assert held == []


@pytest.fixture()
def nearly_full_disk(tmp_path):
    """A 64 KiB tmpfs with one 4 KiB page left (root only; skipped where mounting is not
    allowed): room for the tiny class raster, none for its style beside it."""
    with small_tmpfs(tmp_path / "full", 60 * 1024) as mnt:
        yield mnt


def test_a_style_the_full_disk_cannot_hold_is_a_warning(s4_processing, env, nearly_full_disk):
    """The class raster fits, its .qml does not: the run succeeds as on the command line, with a
    warning naming the file and the fix; no traceback, no temporary file."""
    from qgis.core import QgsRasterLayer

    out = nearly_full_disk / "map.tif"
    log = Log()
    result = run("segment_time_series", segment(env, out), log)
    assert result["OUTPUT"] == str(out) and QgsRasterLayer(str(out), "map", "gdal").isValid()
    warned = [w for w in log.warnings() if "style of" in w]
    assert len(warned) == 1 and str(out) in warned[0], log.text()
    assert "free space in its folder" in warned[0] and "Traceback" not in log.text()
    assert sorted(p.name for p in nearly_full_disk.iterdir()) == ["filler", "map.tif"]


def test_dock_save_model_as_on_a_full_disk_names_the_fix(dock, env, nearly_full_disk):
    """Save as… onto a full disk: the message names the file, the fix and where the model still
    is; nothing is left in the folder (no half-copied model, no temporary file)."""
    dock.model_edit.setText(str(env.ft))
    target = nearly_full_disk / "copy.pt"
    assert dock.save_model_as(str(target)) is None
    assert str(target) in dock.last_error and "free space" in dock.last_error, dock.last_error
    assert str(env.ft) in dock.last_error and "Errno" not in dock.last_error, dock.last_error
    assert sorted(p.name for p in nearly_full_disk.iterdir()) == ["filler"]
    assert dock.model_path() == str(env.ft)


def test_processing_takes_the_values_the_command_line_takes(s4_processing):
    """EPOCHS 20000 (the dock's spin box stops at 10000): accepted as by ``s4 pretrain
    --epochs 20000``; it was refused as "must be a whole number >= 1, got 20000"."""
    from qgis.core import QgsApplication, QgsProcessingContext

    from s4_core.settings import SETTINGS

    context = QgsProcessingContext()
    for name in ("s4:pretrain", "s4:finetune"):
        alg = QgsApplication.processingRegistry().algorithmById(name)
        assert alg.parameterDefinition("EPOCHS").checkValueIsAcceptable(20000, context), name
    for setting in SETTINGS.values():
        if setting.qgis and setting.kind in ("int", "float") and setting.high is None:
            assert setting.maximum >= 2**31 - 1, setting.name


def scratch_copy(e, name: str, value=None, shift: float = 0.0, geometry: str = "MultiPolygon"):
    """The demo parcels as a memory layer ``name`` of the project (field ``cls``: the class, or
    ``value(feature, i)``), moved ``shift`` m east; ``geometry`` "Point": their centroids."""
    from qgis.core import QgsFeature, QgsProject, QgsVectorLayer

    parcels = QgsVectorLayer(str(e.parcels), "parcels", "ogr")
    layer = QgsVectorLayer(
        f"{geometry}?crs={parcels.crs().authid()}&field=cls:string", name, "memory"
    )
    features = []
    for i, source in enumerate(parcels.getFeatures()):
        feature = QgsFeature(layer.fields())
        geom = source.geometry() if geometry != "Point" else source.geometry().centroid()
        geom.translate(shift, 0)
        feature.setGeometry(geom)
        feature["cls"] = value(source, i) if value else source[e.field]
        features.append(feature)
    assert layer.dataProvider().addFeatures(features)
    QgsProject.instance().addMapLayer(layer)
    return layer


@pytest.mark.parametrize("case", ["outside", "points"])
def test_a_copied_label_layer_is_named_in_the_message(s4_processing, env, tmp_path, case):
    """A memory (or edited, filtered) label layer reaches the engine as a temporary GeoPackage:
    the engine's message names the project's layer, not that file the user has never seen."""
    from qgis.core import QgsProcessingException, QgsProject

    if case == "outside":  # 5 km east of the imagery
        layer = scratch_copy(env, "my scratch labels", shift=5000)
        expected = r"^no polygon of layer 'my scratch labels' covers a pixel centre .* outside it"
    else:
        layer = scratch_copy(env, "my scratch labels", geometry="Point")
        expected = r"^layer 'my scratch labels' holds no polygons \(geometry type Point\)"
    try:
        with pytest.raises(QgsProcessingException) as info:
            run("finetune", finetune(env, tmp_path / "m.pt", LABELS=layer.id(), CLASS_FIELD="cls"))
    finally:
        QgsProject.instance().removeMapLayer(layer.id())
    message = str(info.value)
    assert re.search(expected, message), message
    assert "s4_labels_" not in message and ".gpkg" not in message, message
    assert not (tmp_path / "m.pt").exists()


def test_evaluate_names_the_reference_layer_and_warns_of_unscored_classes(
    s4_processing, env, tmp_path
):
    """Reference classes the model does not know are left out of the scores: said in the log
    (as ``s4 evaluate`` prints it), not only in the optional HTML report; the report names the
    REFERENCE layer, not its temporary copy."""
    from qgis.core import QgsProject

    reference = scratch_copy(
        env, "field survey", lambda f, i: "fallow" if i % 3 == 0 else f[env.field]
    )
    log = Log()
    try:
        result = run(
            "evaluate",
            evaluate(
                env,
                "memory:",
                REFERENCE=reference.id(),
                CLASS_FIELD="cls",
                OUTPUT_HTML=str(tmp_path / "r.html"),
            ),  # fmt: skip
            log,
        )
    finally:
        QgsProject.instance().removeMapLayer(reference.id())
    assert result["OA"] is not None
    unscored = [w for w in log.warnings() if "does not know" in w]
    assert len(unscored) == 1 and re.search(r"\bfallow \(\d+ px\)", unscored[0]), log.text()
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Reference: <code>layer &#x27;field survey&#x27;</code>" in html
    assert "s4_labels_" not in html


def test_suggest_refuses_existing_labels_that_are_no_polygons(s4_processing, env, tmp_path):
    """LABELS of 'where to label next' that hold no polygons (points) are refused, naming the
    layer: they were silently ignored (squares suggested on the labelled places). Polygons away
    from the scene are still no fault: there is nothing there to keep away from."""
    from qgis.core import QgsProcessingException, QgsProject

    points = scratch_copy(env, "my points", geometry="Point")
    away = scratch_copy(env, "elsewhere", shift=5000)
    try:
        with pytest.raises(QgsProcessingException) as info:
            run("suggest_labels", suggest(env, tmp_path / "s.gpkg", LABELS=points.id()), Log())
        result = run("suggest_labels", suggest(env, tmp_path / "t.gpkg", LABELS=away.id()), Log())
    finally:
        QgsProject.instance().removeMapLayers([points.id(), away.id()])
    assert str(info.value).startswith("layer 'my points' holds no polygons (geometry type Point)")
    assert not (tmp_path / "s.gpkg").exists()
    assert result["OUTPUT"] and (tmp_path / "t.gpkg").is_file()

"""Diagnostics: ``system_report``/``format_report``, ``s4 info`` and the About / diagnostics dialog."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from s4_core import __version__
from s4_core.cli import main
from s4_core.diagnostics import format_mapping, format_report, system_report


def test_system_report_describes_this_interpreter():
    report = system_report(extra={"qgis": {"version": "3.22.16-Białowieża"}})
    json.dumps(report)  # JSON-friendly
    assert report["s4"]["version"] == __version__
    assert report["python"]["version"] == platform.python_version()
    assert report["python"]["executable"] == sys.executable
    assert report["numpy"]["version"] == np.__version__
    assert report["gdal"] == rasterio.__gdal_version__
    assert report["rasterio"]["version"] == rasterio.__version__
    assert report["torch"]["version"] == torch.__version__
    assert report["torch"]["file"] == torch.__file__
    assert report["torch"]["cuda_available"] == torch.cuda.is_available()
    assert len(report["torch"]["devices"]) == (
        torch.cuda.device_count() if torch.cuda.is_available() else 0
    )
    assert report["qgis"]["version"] == "3.22.16-Białowieża"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_system_report_lists_cuda_devices_with_memory():
    devices = system_report()["torch"]["devices"]
    props = torch.cuda.get_device_properties(0)
    assert devices[0]["name"] == props.name
    assert devices[0]["memory_gib"] == round(props.total_memory / 1024**3, 1)


def test_format_report_summarises_versions_and_devices():
    report = {
        "s4": {"version": "0.1.0"},
        "qgis": {"version": "3.34.4-Prizren", "gdal": "3.8.4"},
        "python": {"version": "3.12.3"},
        "gdal": "3.8.4",
        "numpy": {"version": "1.26.4"},
        "torch": {
            "version": "2.5.1+cu124",
            "cuda_available": True,
            "cuda_build": "12.4",
            "devices": [
                {
                    "index": 0,
                    "type": "cuda",
                    "name": "NVIDIA RTX A4000",
                    "memory_gib": 15.7,
                    "capability": "8.6",
                },
            ],  # fmt: skip
        },
        "dependencies": {"folder": "/p/python/dependencies/s4/py312-linux_x86_64"},
    }
    text = format_report(report)
    lines = text.splitlines()
    assert lines[:6] == [
        "S4 0.1.0",
        "QGIS 3.34.4-Prizren",
        "Python 3.12.3",
        "GDAL 3.8.4",
        "numpy 1.26.4",
        "torch 2.5.1+cu124 (CUDA available; build CUDA 12.4)",
    ]
    assert "device cuda:0 NVIDIA RTX A4000, 15.7 GiB, compute 8.6" in lines
    assert "    folder: /p/python/dependencies/s4/py312-linux_x86_64" in lines


def test_format_report_without_torch():
    text = format_report({"torch": {"version": None, "error": "ModuleNotFoundError: torch"}})
    assert "torch: not available (ModuleNotFoundError: torch)" in text
    assert "device cpu (no GPU found)" in text


def test_format_mapping_nests_lists_and_dicts():
    text = format_mapping({"a": 1, "b": {"c": None, "d": [1, {"e": True}]}, "f": []})
    assert text.splitlines() == ["a: 1", "b:", "  c: -", "  d:", "    - 1", "    - e: yes",
                                 "f: none"]  # fmt: skip


def test_report_survives_a_broken_torch(tmp_path):
    # torch that raises on import (a DLL that does not load, a numpy ABI mismatch…).
    fake = tmp_path / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise OSError('libtorch_cpu.so: cannot open shared file')")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from s4_core.diagnostics import system_report, format_report\n"
        "r = system_report(); print(format_report(r))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True,
        cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent),
    ).stdout  # fmt: skip
    assert "torch: not available (OSError: libtorch_cpu.so: cannot open shared file)" in out


# --- s4 info --------------------------------------------------------------------------------
def test_s4_info_system_json(capsys):
    assert main(["info", "--system", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"system"}
    assert out["system"]["torch"]["version"] == torch.__version__


def test_s4_info_defaults_to_the_system_as_text(capsys):
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"S4 {__version__}\n")
    assert f"numpy {np.__version__}" in text


def test_s4_info_missing_model_is_a_clear_error(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nope.pt")]) == 2
    err = capsys.readouterr().err
    assert "nope.pt does not exist: give the .pt file written by 's4 pretrain'" in err


def test_s4_info_and_segment_on_a_folder_say_it_is_a_folder(tmp_path, capsys):
    """A folder given as MODEL (the models folder, not a file in it): "is a folder", not
    "no such checkpoint file" / "does not exist"."""
    folder = tmp_path / "models ö"
    folder.mkdir()
    assert main(["info", str(folder)]) == 2
    assert "models ö is a folder, not a model file: give the .pt file" in capsys.readouterr().err
    (tmp_path / "S2").mkdir()
    argv = ["segment", "--model", str(folder), "--s2", str(tmp_path / "S2"), "--out"]
    assert main([*argv, str(tmp_path / "m.tif"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "models ö is a folder, not a model file: give the .pt file" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["S2", "models ö"]


@pytest.fixture()
def tiny_checkpoint(tmp_path):
    from s4_core.checkpoint import save_checkpoint

    return save_checkpoint(
        tmp_path / "tiny.pt",
        {
            "kind": "finetuned",
            "net_config": {"s2_channels": 2, "widths": [4, 8], "num_classes": 2},
            "state_dict": {"w": torch.zeros(2, 3), "b": torch.zeros(5)},
            "modality": "s2",
            "bands": {"s2": ["B02", "B03"]},
            "band_stats": {"s2": {"mean": [0.1, 0.2], "std": [1.0, 1.0]}},
            "time": {"length": 8, "mode": "repeat"},
            "classes": {
                "names": ["wheat", "maize"],
                "values": [1, 2],
                "colors": [[255, 0, 0], [0, 255, 0]],
            },  # fmt: skip
            "metrics": {"miou": 0.5},
        },
    )


def test_s4_info_model_prints_the_checkpoint_description(tiny_checkpoint, capsys):
    from s4_core.checkpoint import describe

    assert main(["info", str(tiny_checkpoint), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"model"}
    assert out["model"] == json.loads(json.dumps(describe(tiny_checkpoint)))
    assert out["model"]["parameters"] == 11

    assert main(["info", str(tiny_checkpoint), "--system"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"Model {tiny_checkpoint}\n")
    assert "  kind: finetuned" in text and "  modality: s2" in text
    assert "    - index: 0" in text and "      name: wheat" in text
    assert f"\nS4 {__version__}\n" in text  # then the system report


def test_s4_info_is_a_registered_command():
    out = subprocess.run(
        [sys.executable, "-m", "s4_core", "--help"], capture_output=True, text=True, check=True,
        cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent),
    ).stdout  # fmt: skip
    assert "info" in out


# --- the dialog -----------------------------------------------------------------------------
@pytest.mark.qgis
def test_diagnostics_dialog_reports_qgis_and_copies(qgis_app, tmp_path, monkeypatch):
    from osgeo import gdal
    from qgis.core import Qgis
    from qgis.PyQt.QtGui import QGuiApplication

    from s4_qgis import dependencies as deps
    from s4_qgis.dialogs.diagnostics_dialog import DiagnosticsDialog

    monkeypatch.setenv(deps.ENV_DIR, str(tmp_path / "deps"))
    opened = []
    dialog = DiagnosticsDialog(open_dependencies=lambda: opened.append(1))
    report = dialog.report
    assert report["qgis"]["version"] == Qgis.QGIS_VERSION
    assert report["qgis"]["gdal"] == gdal.__version__
    assert report["dependencies"]["folder"] == str(tmp_path / "deps")
    assert report["dependencies"]["exists"] is False
    assert report["dependencies"]["missing"] is None
    assert dialog.view.toPlainText().splitlines()[1] == f"QGIS {Qgis.QGIS_VERSION}"
    dialog.copy()
    assert QGuiApplication.clipboard().text() == dialog.text
    dialog.deleteLater()


def test_s4_info_on_a_plain_pickle_shows_no_torch_warning(tmp_path, capfd):
    """A .pt that is a plain pickle (protocol 4): one S4 message, no torch UserWarning about the
    pickle protocol ("Detected pickle protocol 4 in the checkpoint ...")."""
    import pickle

    model = tmp_path / "model.pt"
    model.write_bytes(pickle.dumps({"x": 1}, protocol=4))
    repo = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-m", "s4_core.cli", "info", str(model)],
        capture_output=True,
        text=True,
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        timeout=120,
    )
    assert proc.returncode == 2
    assert "UserWarning" not in proc.stderr and "pickle protocol" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"s4 info: error: cannot read the model file {model}: it holds Python objects other than "
        "plain data: not written by S4. Give a .pt file written by s4 pretrain / s4 finetune "
        "(re-copy it if it was cut short)"
    ]

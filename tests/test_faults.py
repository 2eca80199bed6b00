"""Fault matrix of the ``s4`` command line (issue 13): every bad setting or output path is
refused with a message that names it and the fix, a non-zero exit code, no traceback, and the
file system unchanged (no output, no temporary file, no input touched).

Driven in-process through ``s4_core.cli.main`` on a copy of the tiny demo scene; one case runs
``python -m s4_core.cli`` in a subprocess to check the real exit code and stderr.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Dict, List, Tuple

import pytest
from machine import small_tmpfs, unwritable_folder
from rasters import faulty_inputs

from s4_core import api
from s4_core.checkpoint import load_checkpoint, save_checkpoint
from s4_core.cli import main
from s4_core.errors import OutputError, SettingError

TINY = ["--widths", "8", "16", "--crop-size", "16", "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def env(tiny_demo, tmp_path_factory) -> SimpleNamespace:
    """A private copy of the demo scene plus models: pretrained (1 epoch), fine-tuned with the
    pixel head, and a 1-epoch "unet" checkpoint whose recorded score no epoch can beat."""
    base = tmp_path_factory.mktemp("faults")
    data = base / "data"
    shutil.copytree(tiny_demo.root, data)

    def rel(p: Path) -> Path:
        return data / Path(p).relative_to(tiny_demo.root)

    e = SimpleNamespace(
        base=base,
        data=data,
        s1=rel(tiny_demo.s1_dir),
        s2=rel(tiny_demo.s2_dir),
        parcels=rel(tiny_demo.parcels),
        field=tiny_demo.class_field,
        models=base / "models",
    )
    small = dict(crop_size=16, batch_size=2, widths=(8, 16), device="cpu", seed=0)
    e.pre = e.models / "pre.pt"
    api.pretrain(str(e.s1), str(e.s2), e.pre, epochs=1, steps_per_epoch=2, **small)
    e.ft = e.models / "ft.pt"
    api.finetune(None, str(e.s2), e.parcels, e.field, e.ft, **small)
    e.best = e.models / "unet_best.pt"
    api.finetune(
        None, str(e.s2), e.parcels, e.field, e.best, epochs=1, head="unet", val_fraction=0.0,
        **small,
    )  # fmt: skip
    ckpt = load_checkpoint(e.best)
    ckpt["metrics"] = {"epoch": 1, "loss": 0.0}  # no later epoch can beat a zero loss
    save_checkpoint(e.best, ckpt)
    e.aligned = base / "aligned"
    api.align(str(e.s1), str(e.s2), e.aligned)
    e.ft_map = base / "ft_map.tif"
    api.segment(e.ft, e.ft_map, s2=str(e.s2), device="cpu")
    faulty_inputs(e, base / "derived")
    return e


def snapshot(*roots: Path) -> Dict[str, Tuple[int, str]]:
    """Every file under ``roots``: path -> (size, sha1); hidden/temporary files included."""
    out = {}
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for name in files:
                p = Path(dirpath) / name
                out[str(p)] = (p.stat().st_size, hashlib.sha1(p.read_bytes()).hexdigest())
    return out


def first_image(folder: Path) -> Path:
    return sorted(folder.glob("*.tif"))[0]


def finetune(e, work: Path, *extra: str) -> List[str]:
    return [
        "finetune", "--s2", str(e.s2), "--labels", str(e.parcels), "--class-field", e.field,
        "--out", str(work / "model.pt"), *TINY, *extra,
    ]  # fmt: skip


def pretrain(e, work: Path, *extra: str) -> List[str]:
    return [
        "pretrain", "--s1", str(e.s1), "--s2", str(e.s2), "--out", str(work / "pre.pt"),
        "--steps-per-epoch", "1", *TINY, *extra,
    ]  # fmt: skip


def align(e, work: Path, *extra: str) -> List[str]:
    return ["align", "--s1", str(e.s1), "--s2", str(e.s2), "--out", str(work), "--quiet", *extra]


def segment(e, work: Path, *extra: str, out: str = "") -> List[str]:
    return [
        "segment", "--model", str(e.ft), "--s2", str(e.s2),
        "--out", out or str(work / "map.tif"), "--device", "cpu", "--quiet", *extra,
    ]  # fmt: skip


def export_beside_a_json_of_the_users(e, work: Path) -> List[str]:
    """``s4 export-onnx`` to m.onnx where the user keeps notes in m.json (the card's name)."""
    (work / "m.json").write_text('{"my": "notes"}', encoding="utf-8")
    return ["export-onnx", str(e.ft), str(work / "m.onnx")]


# (name, argv builder, regex the message must match); the builder gets (env, work folder).
Case = Tuple[str, Callable[[SimpleNamespace, Path], List[str]], str]
CASES: List[Case] = [
    ("finetune epochs 0", lambda e, w: finetune(e, w, "--epochs", "0"),
     r"--epochs must be a whole number >= 1, got 0"),
    ("finetune epochs negative", lambda e, w: finetune(e, w, "--head", "unet", "--epochs", "-3"),
     r"--epochs must be a whole number >= 1, got -3"),
    ("pretrain epochs 0", lambda e, w: pretrain(e, w, "--epochs", "0"),
     r"--epochs must be a whole number >= 1, got 0"),
    ("finetune batch size 0", lambda e, w: finetune(e, w, "--batch-size", "0"),
     r"--batch-size must be a whole number >= 1, got 0"),
    ("finetune lr -1", lambda e, w: finetune(e, w, "--lr", "-1"),
     r"--lr must be a number > 0, got -1\.0"),
    ("finetune widths 0", lambda e, w: finetune(e, w, "--widths", "0"),
     r"--widths must be at least 2 whole numbers, each >= 1, got \[0\]"),
    ("pretrain one width", lambda e, w: pretrain(e, w, "--widths", "8"),
     r"--widths must be at least 2 whole numbers, each >= 1, got \[8\]"),
    ("finetune crop size 3", lambda e, w: finetune(e, w, "--crop-size", "3"),
     r"--crop-size must be a whole number >= 8, got 3"),
    ("finetune val fraction 1.5", lambda e, w: finetune(e, w, "--val-fraction", "1.5"),
     r"--val-fraction must be a number from 0 to 0\.9, got 1\.5"),
    ("finetune max cloud 5", lambda e, w: finetune(e, w, "--max-cloud", "5"),
     r"--max-cloud must be a number from 0 to 1, got 5\.0"),
    ("pretrain composite months 13", lambda e, w: pretrain(e, w, "--composite-months", "13"),
     r"--composite-months must be a whole number from 0 to 12, got 13"),
    ("segment min area -5", lambda e, w: segment(e, w, "--min-area", "-5"),
     r"--min-area must be a number >= 0, got -5\.0"),
    ("segment tile size 8", lambda e, w: segment(e, w, "--tile-size", "8"),
     r"--tile-size must be a whole number >= 16, got 8"),
    ("segment overlap >= tile", lambda e, w: segment(e, w, "--tile-size", "32", "--overlap", "32"),
     r"--overlap must be smaller than --tile-size \(32\), got 32"),
    ("segment resolution 0", lambda e, w: segment(e, w, "--resolution", "0"),
     r"--resolution must be a number > 0, got 0\.0"),
    ("segment out is an input image", lambda e, w: segment(e, w, out=str(first_image(e.s2))),
     r"output class raster .*S2.*\.tif would overwrite the Sentinel-2 input .*S2.*nothing was "
     r"written; choose another output file"),
    ("segment probabilities are an input image",
     lambda e, w: segment(e, w, "--probabilities", str(first_image(e.s2))),
     r"output probabilities .* would overwrite the Sentinel-2 input"),
    ("segment out is the model", lambda e, w: segment(e, w, out=str(e.ft)),
     r"output class raster .*ft\.pt would overwrite the model .*ft\.pt"),
    ("segment vector is the raster", lambda e, w: segment(e, w, "--vector", str(w / "map.tif")),
     r"output polygons and the output class raster are both .*map\.tif"),
    ("pretrain S1 and S2 swapped",
     lambda e, w: ["pretrain", "--s1", str(e.s2), "--s2", str(e.s1), "--out", str(w / "p.pt"),
                   *TINY],
     r"S2_.*\.tif was given as Sentinel-1 but its bands \[.*'B02'.*\] are Sentinel-2 optical "
     r"bands: swap the Sentinel-1 and Sentinel-2 inputs"),
    ("segment S1 given as S2", lambda e, w: ["segment", "--model", str(e.ft), "--s2", str(e.s1),
                                             "--out", str(w / "m.tif"), "--quiet"],
     r"was given as Sentinel-2 but its bands \['VH', 'VV'\] are Sentinel-1 radar bands"),
    ("align S1 and S2 swapped",
     lambda e, w: ["align", "--s1", str(e.s2), "--s2", str(e.s1), "--out", str(w), "--quiet"],
     r"was given as Sentinel-1 but its bands .* are Sentinel-2 optical bands: swap"),
    ("finetune init is out", lambda e, w: finetune(e, w, "--init", str(e.pre), "--out", str(e.pre)),
     r"output model .*pre\.pt would overwrite the pretrained model \(init\) .*pre\.pt"),
    ("finetune out is the labels", lambda e, w: finetune(e, w, "--out", str(e.parcels)),
     r"output model .*\.gpkg would overwrite the labels .*\.gpkg"),
    ("segment batch size 0", lambda e, w: segment(e, w, "--batch-size", "0"),
     r"--batch-size must be a whole number >= 1, got 0"),
    ("finetune out is a folder", lambda e, w: finetune(e, w, "--out", str(w)),
     r"output model .* is a folder: give a file name"),
    ("segment out under a file", lambda e, w: segment(e, w, out=str(e.ft / "map.tif")),
     r"output class raster .*map\.tif cannot be written: .*ft\.pt is not a folder"),
    ("align max cloud 5", lambda e, w: align(e, w, "--max-cloud", "5"),
     r"--max-cloud must be a number from 0 to 1, got 5\.0"),
    ("align max gap -1", lambda e, w: align(e, w, "--max-gap", "-1"),
     r"--max-gap must be a number >= 0, got -1\.0"),
    ("align block 0", lambda e, w: align(e, w, "--block", "0"),
     r"--block must be a whole number >= 1, got 0"),
    ("align out is a file", lambda e, w: align(e, w, "--out", str(e.ft)),
     r"output folder .*ft\.pt is a file: give a folder"),
    ("align over its own input stacks",
     lambda e, w: ["align", "--s1", str(e.aligned / "s1_aligned.tif"), "--s2",
                   str(e.aligned / "s2_aligned.tif"), "--out", str(e.aligned), "--quiet"],
     r"aligned S1 stack .*s1_aligned\.tif would overwrite the Sentinel-1 input"),
    ("segment out named as a PNG", lambda e, w: segment(e, w, out=str(w / "map.png")),
     r"output class raster .*map\.png is written in GeoTIFF format: give a name ending in "
     r"\.tif or \.tiff; nothing was written"),
    ("segment vector named as a shapefile",
     lambda e, w: segment(e, w, "--vector", str(w / "fields.shp")),
     r"output polygons .*fields\.shp is written in GeoPackage format: give a name ending in "
     r"\.gpkg"),
    ("segment confidence named as a PNG",
     lambda e, w: segment(e, w, "--confidence", str(w / "conf.png")),
     r"output confidence .*conf\.png is written in GeoTIFF format"),
    ("align into the S2 input folder", lambda e, w: align(e, w, "--out", str(e.s2)),
     r"output folder .*S2 holds the Sentinel-2 input .*S2: the aligned stacks written there "
     r"would be read as images of that series; nothing was written; choose another folder"),
    ("align into the folder of the S1 images",
     lambda e, w: ["align", "--s1", *map(str, sorted(e.s1.glob("*.tif"))), "--s2", str(e.s2),
                   "--out", str(e.s1), "--quiet"],
     r"output folder .*S1 holds the Sentinel-1 input .*\.tif: the aligned stacks"),
    ("evaluate html report over the reference",
     lambda e, w: ["evaluate", "--pred", str(w / "map.tif"), "--truth", str(e.parcels),
                   "--class-field", e.field, "--html", str(e.parcels)],
     r"--html report .*parcels\.gpkg would overwrite the reference .*parcels\.gpkg: nothing "
     r"was written"),
    ("evaluate html report named as a PNG",
     lambda e, w: ["evaluate", "--pred", str(w / "map.tif"), "--truth", str(e.parcels),
                   "--class-field", e.field, "--html", str(w / "report.png")],
     r"--html report .*report\.png is written in HTML format: give a name ending in \.html or "
     r"\.htm; nothing was written"),
    ("evaluate figure and html report the same file",
     lambda e, w: ["evaluate", "--pred", str(w / "map.tif"), "--truth", str(e.parcels),
                   "--class-field", e.field, "--figure", str(w / "r.svg"), "--html",
                   str(w / "r.svg")],
     r"the --html report and the --figure figure are both .*r\.svg: give each output its own "
     r"file"),
    ("align an image cut short", lambda e, w: align(e, w, "--s2", str(e.s2_truncated)),
     r"cannot read .*S2_truncated.*\.tif: .*[^.]\. The file may be truncated or damaged: download "
     r"or export it again, or move it out of the series folder"),
    ("pretrain an image cut short",
     lambda e, w: ["pretrain", "--s1", str(e.s1), "--s2", str(e.s2_truncated), "--out",
                   str(w / "p.pt"), "--steps-per-epoch", "1", *TINY],
     r"cannot read .*S2_truncated.*\.tif: .*The file may be truncated or damaged"),
    ("finetune resume: epochs not beyond it",
     lambda e, w: finetune(e, w, "--head", "unet", "--val-fraction", "0", "--resume",
                           str(e.best), "--epochs", "1"),
     r"--epochs must be more than the 1 epochs the resumed checkpoint .*unet_best\.pt has "
     r"trained .*nothing was trained or written\), got 1"),
    ("pretrain resume: epochs not beyond it",
     lambda e, w: pretrain(e, w, "--resume", str(e.pre), "--epochs", "1"),
     r"--epochs must be more than the 1 epochs the resumed checkpoint .*pre\.pt"),
    ("finetune init lacks bands of the checkpoint",
     lambda e, w: finetune(e, w, "--init", str(e.pre), "--s2", str(e.s2_no_b11)),
     r"pretrained model \(init\) .*pre\.pt was trained on S2 bands .*S2_no_B11.* lack "
     r"\['B11'\]: give S2 layers with those bands, or fine-tune without the pretrained model"),
    ("segment bands missing vs the model",
     lambda e, w: ["segment", "--model", str(e.ft), "--s2", str(e.s2_no_b11), "--out",
                   str(w / "m.tif"), "--quiet"],
     r"missing \['B11'\]\): give S2 layers with those bands"),
    ("finetune NaN-only S1",
     lambda e, w: ["finetune", "--s1", str(e.s1_nan), "--modality", "s1", "--labels",
                   str(e.parcels), "--class-field", e.field, "--out", str(w / "m.pt"), *TINY],
     r"S1 layers .*S1_nan.* have no valid pixel in some band \(VV, VH\): every value is NaN, "
     r"nodata or masked as cloud; check the files"),
    ("pretrain NaN-only S1",
     lambda e, w: ["pretrain", "--s1", str(e.s1_nan), "--s2", str(e.s2), "--out",
                   str(w / "p.pt"), "--steps-per-epoch", "1", *TINY],
     r"S1 layers .*S1_nan.* have no valid pixel"),
    ("finetune corrupt labels GeoPackage", lambda e, w: finetune(e, w, "--labels", str(e.corrupt)),
     r"cannot read label polygons from .*corrupt\.gpkg: .*Give a polygon layer OGR can read"),
    ("segment out into the S2 input folder", lambda e, w: segment(e, w, out=str(e.s2 / "map.tif")),
     r"output class raster .*S2/map\.tif would be written into the Sentinel-2 input folder "
     r".*S2: the next run given that folder would read it as an image of the series; nothing "
     r"was written; choose another folder"),
    ("segment confidence into the S2 input folder",
     lambda e, w: segment(e, w, "--confidence", str(e.s2 / "conf.tif")),
     r"output confidence .*conf\.tif would be written into the Sentinel-2 input folder"),
    ("export-onnx card over a JSON of the user's", export_beside_a_json_of_the_users,
     r"model card .*m\.json \(written beside the ONNX model .*m\.onnx, same name with \.json\) "
     r"would overwrite that file, which is not an S4 model card: nothing was written"),
    ("export-onnx to a GeoTIFF name",
     lambda e, w: ["export-onnx", str(e.ft), str(w / "m.tif")],
     r"output ONNX model .*m\.tif is written in ONNX format: give a name ending in \.onnx"),
    ("finetune resume: no epoch beats it",
     lambda e, w: finetune(e, w, "--head", "unet", "--val-fraction", "0", "--resume",
                           str(e.best), "--epochs", "2"),
     r"no epoch beat the resumed checkpoint .*unet_best\.pt \(loss 0\): nothing was written to "
     r".*model\.pt; use .*unet_best\.pt as the model"),
]  # fmt: skip


@pytest.mark.parametrize("name, build, expected", CASES, ids=[c[0] for c in CASES])
def test_cli_refuses_with_a_clear_message_and_writes_nothing(
    env, tmp_path, capsys, name, build, expected
):
    work = tmp_path / "work"
    work.mkdir()
    argv = build(env, work)
    before = snapshot(env.base, tmp_path)
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0, err
    assert "Traceback" not in err
    assert re.search(expected, err), err
    assert snapshot(env.base, tmp_path) == before  # nothing written, nothing touched


@pytest.mark.parametrize("command", ["segment", "finetune", "pretrain", "vector"])
def test_unwritable_output_folder_is_refused_before_any_work(env, tmp_path, capsys, command):
    locked = unwritable_folder(parent=tmp_path)
    target = locked / "s4-out" / "result"
    argv = {
        "segment": segment(env, tmp_path, out=f"{target}.tif"),
        "finetune": finetune(env, tmp_path, "--out", f"{target}.pt"),
        "pretrain": pretrain(env, tmp_path, "--out", f"{target}.pt"),
        "vector": segment(env, tmp_path, "--vector", f"{target}.gpkg"),
    }[command]
    before = snapshot(env.base, tmp_path)
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert re.search(
        rf"cannot be written: the folder {re.escape(str(locked))} is not writable", err
    )
    assert "choose a writable folder" in err
    assert snapshot(env.base, tmp_path) == before


def test_valid_segment_writes_only_its_outputs(env, tmp_path, capsys):
    """The checks let valid runs through: only the asked-for files appear."""
    before = snapshot(env.base, tmp_path)
    code = main(segment(env, tmp_path, "--vector", str(tmp_path / "map.gpkg")))
    out = capsys.readouterr().out
    assert code == 0 and f"wrote {tmp_path / 'map.tif'}" in out
    added = set(snapshot(env.base, tmp_path)) - set(before)
    assert added == {str(tmp_path / "map.tif"), str(tmp_path / "map.gpkg")}


def test_report_outputs_go_into_a_new_folder(env, tmp_path, capsys):
    """``evaluate --figure/--html`` into a folder that does not exist yet: it is made, as the
    rasters' writers do (was: "[Errno 2] No such file or directory: '.../.f.1234.png'")."""
    assert main(segment(env, tmp_path)) == 0
    new = tmp_path / "new folder" / "é"
    argv = ["evaluate", "--pred", str(tmp_path / "map.tif"), "--truth", str(env.parcels)]
    argv += ["--class-field", env.field, "--figure", str(new / "m.png")]
    argv += ["--html", str(tmp_path / "other" / "r.html")]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 0, err
    assert sorted(p.name for p in new.iterdir()) == ["m.png"]
    assert sorted(p.name for p in (tmp_path / "other").iterdir()) == ["r.html"]


def test_evaluate_names_a_reference_that_is_no_layer(env, tmp_path, capsys):
    """The model or a folder of images as --truth: "neither a raster nor a polygon layer" (was:
    "is a polygon layer: give the field that holds the class (--class-field)")."""
    assert main(segment(env, tmp_path)) == 0
    capsys.readouterr()
    for truth in (env.ft, env.s2):
        before = snapshot(env.base, tmp_path)
        argv = ["evaluate", "--pred", str(tmp_path / "map.tif"), "--truth", str(truth)]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert re.search(
            rf"the reference {re.escape(str(truth))} is neither a raster nor a polygon layer "
            r"GDAL/OGR can read: give the reference polygons \(GeoPackage, shapefile, GeoJSON\) "
            r"with their class field, or a class raster",
            err,
        ), err
        assert snapshot(env.base, tmp_path) == before


def test_export_onnx_replaces_its_own_card(env, tmp_path, capsys):
    """A second export to the same name replaces the model and its card (an S4 card)."""
    argv = ["export-onnx", str(env.ft), str(tmp_path / "m.onnx")]
    assert main(argv) == 0
    assert main(argv) == 0, capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.onnx"]


def test_resume_in_place_without_a_better_epoch_keeps_the_checkpoint(env, tmp_path, capsys):
    """``--resume X --out X``: X stays the best model; the run says so and exits 0."""
    model = tmp_path / "model.pt"
    shutil.copy(env.best, model)
    before = snapshot(tmp_path)
    argv = finetune(env, tmp_path, "--head", "unet", "--val-fraction", "0", "--epochs", "2")
    code = main([*argv, "--resume", str(model)])
    err = capsys.readouterr().err
    assert code == 0
    assert re.search(
        r"no epoch beat the resumed checkpoint .*model\.pt .*: .*model\.pt is unchanged", err
    )
    assert snapshot(tmp_path) == before


def test_api_raises_setting_and_output_errors(env, tmp_path):
    """The api (what Processing calls) raises the same errors, named by the api's settings."""
    with pytest.raises(SettingError, match=r"^epochs must be a whole number >= 1, got 0$"):
        api.pretrain(str(env.s1), str(env.s2), tmp_path / "p.pt", epochs=0)
    with pytest.raises(SettingError, match=r"^min_area_m2 must be a number >= 0, got -1"):
        api.export_vector(tmp_path / "c.tif", tmp_path / "c.gpkg", min_area_m2=-1)
    with pytest.raises(SettingError, match=r"^head must be one of pixel, unet, got 'tree'"):
        api.finetune(None, str(env.s2), env.parcels, env.field, tmp_path / "m.pt", head="tree")
    raster = tmp_path / "classes.tif"
    api.segment(env.ft, raster, s2=str(env.s2), device="cpu")
    with pytest.raises(OutputError, match=r"output polygons .*classes\.tif would overwrite"):
        api.export_vector(raster, raster)
    assert not list(tmp_path.glob("*.gpkg"))


def test_command_line_exit_code_and_stderr_in_a_subprocess(env, tmp_path):
    """The real ``python -m s4_core.cli``: exit code 2, one line on stderr, no traceback."""
    repo = Path(__file__).resolve().parent.parent
    before = snapshot(env.base, tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "s4_core.cli", *finetune(env, tmp_path, "--epochs", "0")],
        capture_output=True,
        text=True,
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "s4 finetune: error: --epochs must be a whole number >= 1, got 0"
    )
    assert proc.stdout == ""
    assert snapshot(env.base, tmp_path) == before


def test_every_rule_names_an_option_of_the_command_line():
    """The table's options exist (the CLI's messages name what the user can type)."""
    import argparse

    from s4_core.cli import build_parser
    from s4_core.settings import SETTINGS

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    options = {opt for p in sub.choices.values() for a in p._actions for opt in a.option_strings}
    flags = {s.cli_flag for s in SETTINGS.values() if s.cli}
    assert flags <= options, flags - options


@pytest.mark.parametrize(
    "setting, value, ok",
    [
        ("epochs", 1, True),
        ("epochs", 2.0, False),  # whole numbers only
        ("epochs", True, False),
        ("lr", float("nan"), False),
        ("lr", 1e-9, True),
        ("lr", 0, False),
        ("val_fraction", 0.9, True),
        ("val_fraction", 0.91, False),
        ("frame_dropout", 1.0, False),
        ("widths", (8, 16), True),
        ("widths", "8,16", False),
        ("widths", [8, 0], False),
        ("composite_months", 0, True),
        ("overlap", 0, True),
    ],
)
def test_setting_rules(setting, value, ok):
    from s4_core.validate import check_settings

    if ok:
        check_settings(**{setting: value})
    else:
        with pytest.raises(SettingError, match=rf"^{setting} must be "):
            check_settings(**{setting: value})


def _sigterm_when(argv: List[str], marker: bytes, signum: int = 15) -> Tuple[int, str]:
    """Run ``s4 ARGV`` (with its progress bar), send SIGTERM (or ``signum``) once ``marker`` is
    on stderr: (exit code, stderr)."""
    import signal
    import time

    repo = Path(__file__).resolve().parent.parent
    argv = [a for a in argv if a != "--quiet"]  # the progress bar tells when training runs
    proc = subprocess.Popen(
        [sys.executable, "-m", "s4_core.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    seen = b""
    deadline = time.time() + 120
    while marker not in seen and time.time() < deadline:
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:
            break
        seen += chunk
    assert marker in seen, seen.decode(errors="replace")
    proc.send_signal(signal.Signals(signum))
    rest = proc.communicate(timeout=60)[1]
    return proc.returncode, (seen + rest).decode(errors="replace")


def test_sigterm_stops_the_command_line_cleanly(env, tmp_path):
    """SIGTERM mid-training: exit 143 with a message, no traceback, no file left behind."""
    out = tmp_path / "out"
    code, err = _sigterm_when(
        pretrain(env, out, "--steps-per-epoch", "100000"), b"pretraining epoch"
    )
    assert code == 143, err
    assert "s4 pretrain: terminated (SIGTERM)" in err and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())


def test_ctrl_c_says_what_became_of_the_outputs(env, tmp_path):
    """Ctrl-C while the pixel head trains: exit 130, a message that says nothing was left
    behind (the pixel head keeps no partial epoch), no traceback, no file written."""
    import signal

    out = tmp_path / "work"
    out.mkdir()
    code, err = _sigterm_when(finetune(env, out), b"pixel head", signal.SIGINT)
    assert code == 130, err
    assert "s4 finetune: interrupted (Ctrl-C); temporary files removed" in err, err
    assert "Traceback" not in err and not any(out.iterdir())


def test_sigterm_after_an_epoch_leaves_the_previous_model_and_names_the_partial(env, tmp_path):
    """SIGTERM once an epoch has finished: the existing --out is byte-identical, the finished
    epoch is in OUT.partial and the message says so (and how to continue)."""
    out = tmp_path / "pre.pt"
    shutil.copy(env.pre, out)
    before = out.read_bytes()
    argv = pretrain(env, tmp_path, "--epochs", "100000", "--steps-per-epoch", "1")
    code, err = _sigterm_when(argv, b"epoch 2/")
    assert code == 143, err
    assert out.read_bytes() == before
    assert f"{out} was not changed" in err and f"{out}.partial" in err, err
    assert load_checkpoint(Path(f"{out}.partial"))["epoch"] >= 1


@pytest.fixture()
def full_disk(tmp_path):
    """A 64 KiB tmpfs with 4 KiB left (root only; skipped where mounting is not allowed)."""
    with small_tmpfs(tmp_path / "full", 60000) as mnt:
        yield mnt


@pytest.mark.parametrize("command", ["segment", "vector", "align", "finetune"])
def test_full_disk_is_a_clear_error_and_leaves_nothing(env, full_disk, capsys, command):
    """GDAL can leave truncated rasters on a full disk without raising: the written files are
    read back before they take their final name; nothing but the filler remains."""
    argv, expected = {
        "segment": (
            segment(env, full_disk, "--probabilities", str(full_disk / "p.tif"),
                    out=str(full_disk / "map.tif")),
            r"could not write .*p\.tif: the file came out incomplete .*check that the disk "
            r"holding .*full has free space",
        ),
        "vector": (  # the class raster goes elsewhere and is complete; the polygons fail
            segment(env, full_disk, "--vector", str(full_disk / "v.gpkg"),
                    out=str(full_disk.parent / "map.tif")),
            r"could not write .*v\.gpkg: .*check that the disk holding .*full has free space",
        ),
        "align": (
            align(env, full_disk),
            # rasterio 1.3 leaves a truncated file (found when read back), 1.4 raises mid-write
            r"could not write .*s[12]_aligned\.tif\b.*free space",
        ),
        "finetune": (
            finetune(env, full_disk, "--out", str(full_disk / "m.pt")),
            r"cannot write the checkpoint .*m\.pt: .*check the folder is writable and the disk "
            r"has space",
        ),
    }[command]  # fmt: skip
    before = snapshot(env.base)
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0, err
    assert "Traceback" not in err
    assert re.search(expected, err), err
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]
    assert snapshot(env.base) == before


# (name, argv builder, the warning, the files the run writes in its work folder)
WARNINGS = [
    ("finetune single class",
     lambda e, w: finetune(e, w, "--labels", str(e.one_class)),
     r"s4 finetune: warning: the labels .*one_class\.gpkg hold a single class .*digitise "
     r"polygons of at least one other class", ["model.pt"]),
    ("segment 1-date series",
     lambda e, w: ["segment", "--model", str(e.ft), "--s2", str(first_image(e.s2)), "--out",
                   str(w / "m.tif"), "--quiet"],
     r"s4 segment: warning: the S2 series .*\.tif has 1 date\(s\).*give 4 or more dates",
     ["m.tif"]),
    ("align S1 covering 36 % of S2",
     lambda e, w: ["align", "--s1", str(e.s1_partial), "--s2", str(e.s2), "--out", str(w / "a"),
                   "--quiet"],
     r"s4 align: warning: the S1 images .*S1_partial.* cover only 36 % of the map's grid",
     ["a/dates.csv", "a/s1_aligned.tif", "a/s2_aligned.tif"]),
]  # fmt: skip


@pytest.mark.parametrize("name, build, expected, outputs", WARNINGS, ids=[c[0] for c in WARNINGS])
def test_cli_warns_once_in_its_own_words_and_goes_on(
    env, tmp_path, capsys, name, build, expected, outputs
):
    before = snapshot(env.base)
    code = main(build(env, tmp_path))
    err = capsys.readouterr().err
    assert code == 0, err
    assert len(re.findall(expected, err)) == 1, err
    assert "Warning:" not in err and ".py:" not in err  # not Python's warning format
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == (
        sorted(outputs)
    )
    assert snapshot(env.base) == before


def test_cli_input_file_deleted_mid_run(env, tmp_path, capsys):
    """An S2 image deleted while ``s4 segment`` runs: a valid map from the open file, or an
    error naming the file; no traceback, nothing but the output."""
    s2 = tmp_path / "S2"
    shutil.copytree(env.s2, s2)
    victim = sorted(s2.glob("*.tif"))[3]
    out = tmp_path / "map.tif"

    import s4_core.commands.common as common

    original = common.TqdmProgress.__call__

    def deleting(self, fraction, message, metrics=None):
        if fraction > 0 and victim.exists():
            victim.unlink()
        return original(self, fraction, message, metrics)

    common.TqdmProgress.__call__ = deleting
    try:
        code = main(["segment", "--model", str(env.ft), "--s2", str(s2), "--out", str(out)])
    finally:
        common.TqdmProgress.__call__ = original
    err = capsys.readouterr().err
    assert not victim.exists()
    assert "Traceback" not in err
    if code == 0:
        with __import__("rasterio").open(out) as ds:
            assert ds.read(1).shape == (32, 32)
    else:
        assert victim.name in err and not out.exists()
    assert set(p.name for p in tmp_path.iterdir()) <= {"S2", "map.tif"}


def test_an_input_file_that_vanishes_mid_run_is_named_and_leaves_nothing(env, tmp_path):
    """An S2 image deleted after the scene was opened (headers read) but before its pixels are
    read: a DataError naming that file, no class raster, no temporary file."""
    from s4_core.errors import DataError

    s2 = tmp_path / "S2"
    shutil.copytree(env.s2, s2)
    victim = sorted(s2.glob("*.tif"))[3]
    out = tmp_path / "out"
    out.mkdir()

    def log(message: str) -> None:
        if message.startswith("segmenting") and victim.exists():
            victim.unlink()  # the scene is open: only the pixel reads are left

    with pytest.raises(DataError, match=re.escape(victim.name)) as caught:
        api.segment(str(env.ft), str(out / "map.tif"), s2=str(s2), device="cpu", log=log)
    assert "check the path" in str(caught.value)  # the fix
    assert not victim.exists()
    assert sorted(p.name for p in out.iterdir()) == []


def test_an_earlier_runs_partial_is_not_replaced_by_a_new_run(env, tmp_path, capsys):
    """OUT.partial left by a run that did not finish (killed, crashed): a new run without
    resume is refused before any work and names the file and both fixes; resuming from it
    works and the .partial is gone."""
    out = tmp_path / "pre.pt"
    partial = tmp_path / "pre.pt.partial"
    shutil.copy(env.pre, partial)  # 1 epoch of an earlier run
    before = snapshot(tmp_path)
    code = main(pretrain(env, tmp_path, "--epochs", "2"))
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert f"{partial} holds the last epoch of an earlier run writing {out}" in err, err
    assert "--resume" in err and f"delete {partial}" in err, err
    assert snapshot(tmp_path) == before
    code = main(pretrain(env, tmp_path, "--epochs", "2", "--resume", str(partial)))
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pre.pt"]
    assert load_checkpoint(out)["epoch"] == 2


def test_an_earlier_unet_partial_is_not_replaced_by_a_new_finetuning(env, tmp_path):
    """The same for the 'unet' fine-tuning through the api (what Processing calls)."""
    out = tmp_path / "model.pt"
    partial = Path(f"{out}.partial")
    shutil.copy(env.best, partial)
    with pytest.raises(OutputError, match=re.escape(f"{partial} holds the last epoch")):
        api.finetune(
            None, str(env.s2), env.parcels, env.field, out, head="unet", epochs=1,
            crop_size=16, widths=(8, 16), device="cpu",
        )  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt.partial"]
    assert partial.read_bytes() == env.best.read_bytes()


def _name(tmp_path: Path, room: int, suffix: str, char: str = "m") -> str:
    """A file name of the file system's limit minus ``room`` bytes, ending in ``suffix``."""
    size = os.pathconf(tmp_path, "PC_NAME_MAX") - room - len(suffix.encode())
    return char * (size // len(char.encode())) + suffix


def test_names_the_file_system_allows_are_written(env, tmp_path, capsys):
    """Output names a few bytes under the limit (non-ASCII, spaces): the temporary names beside
    them are shortened, so the run writes them and leaves nothing else."""
    out = tmp_path / _name(tmp_path, 1, " map.tif", "é")
    vector = tmp_path / _name(tmp_path, 8, ".gpkg")  # room for SQLite's -journal
    code = main(segment(env, tmp_path, "--vector", str(vector), out=str(out)))
    err = capsys.readouterr().err
    assert code == 0 and "Traceback" not in err, err
    assert sorted(tmp_path.iterdir()) == sorted([out, vector])


@pytest.mark.parametrize("command", ["segment", "vector", "pretrain", "align"])
def test_names_too_long_are_refused_before_any_work(env, tmp_path, capsys, command):
    """A name the file system cannot hold (for a model: with .partial; for a GeoPackage: with
    -journal) is refused before any work, named with the fix; nothing is written."""
    argv = {
        "segment": segment(env, tmp_path, out=str(tmp_path / _name(tmp_path, -1, ".tif"))),
        "vector": segment(env, tmp_path, "--vector", str(tmp_path / _name(tmp_path, 4, ".gpkg"))),
        "pretrain": pretrain(env, tmp_path, "--out", str(tmp_path / _name(tmp_path, 4, ".pt"))),
        "align": align(env, tmp_path / _name(tmp_path, -1, "") / "aligned"),
    }[command]  # fmt: skip
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "Errno" not in err, err
    assert re.search(r"cannot be written: the name '.*' is \d+ bytes long", err), err
    assert "choose a shorter name" in err and "nothing was written" in err, err
    assert list(tmp_path.iterdir()) == []


def test_realigning_without_s1_removes_the_earlier_s1_stack(env, tmp_path, capsys):
    """An S2-only alignment into a folder of an earlier S1 + S2 one: the earlier s1_aligned.tif
    (other dates than the new dates.csv) is removed with a warning, not left beside it."""
    out = tmp_path / "aligned"
    assert main(align(env, out)) == 0
    assert main(["align", "--s2", str(env.s2), "--out", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert re.search(r"warning: removed \S+s1_aligned\.tif: the S1 stack of an earlier", err), err
    assert sorted(p.name for p in out.iterdir()) == ["dates.csv", "s2_aligned.tif"]


_KILLED_WRITER = """
import os, signal, sys
import numpy as np
from s4_core.raster_io import RasterWriter, read_class_raster
from s4_core.checkpoint import load_checkpoint, save_checkpoint
import s4_core.checkpoint as ck

_, kind, out, like = sys.argv
if kind == "raster":
    grid = read_class_raster(like)[2]
    w = RasterWriter(out, grid, 1, "uint8")
    w.write(np.zeros((grid.height, grid.width), "uint8"))
    w.dataset.close()
else:  # killed inside torch.save, the temporary checkpoint half written
    def killed(data, fh):
        fh.write(b"PK half a checkpoint")
        fh.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    ck.torch.save = killed
    save_checkpoint(out, load_checkpoint(like))
os.kill(os.getpid(), signal.SIGKILL)
"""


def _killed_while_writing(kind: str, out: Path, like: Path) -> List[Path]:
    """Run a writer of ``out`` that is SIGKILLed mid-write; the temporary files it left, aged
    past ``STALE_AFTER``."""
    repo = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITER, kind, str(out), str(like)],
        cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)}, capture_output=True,
    )  # fmt: skip
    assert done.returncode == -9, done.stderr.decode(errors="replace")
    left = sorted(out.parent.glob(".*.tmp"))
    assert left, "the killed writer left no temporary file"
    for p in left:
        os.utime(p, (p.stat().st_mtime - 60,) * 2)
    return left


@pytest.mark.parametrize("command", ["align", "segment", "pretrain"])
def test_a_killed_runs_temporary_files_are_removed_by_the_next_run(env, tmp_path, capsys, command):
    """SIGKILL (out of memory, a crashed QGIS) leaves hidden .NAME.XXXXXXXX.tmp files, maybe
    gigabytes: the next run writing the same output removes them; only its outputs remain."""
    out = tmp_path / "out"
    out.mkdir()
    if command == "align":
        left = _killed_while_writing("raster", out / "s2_aligned.tif", env.ft_map)
        argv, outputs = align(env, out), ["dates.csv", "s1_aligned.tif", "s2_aligned.tif"]
    elif command == "segment":
        left = _killed_while_writing("raster", out / "map.tif", env.ft_map)
        argv, outputs = segment(env, out), ["map.tif"]
    else:  # killed while saving an epoch to OUT.partial
        left = _killed_while_writing("checkpoint", out / "pre.pt.partial", env.pre)
        argv, outputs = pretrain(env, out), ["pre.pt"]
    code = main(argv)
    assert code == 0, capsys.readouterr().err
    assert not any(p.exists() for p in left)
    assert sorted(p.name for p in out.iterdir()) == outputs


def test_a_live_runs_temporary_file_is_never_removed(env, tmp_path):
    """A temporary file a running writer holds (locked) stays, however old, while another run
    checks the same output."""
    from s4_core.raster_io import RasterWriter, read_class_raster
    from s4_core.validate import check_outputs

    grid = read_class_raster(env.ft_map)[2]
    out = tmp_path / "map.tif"
    with RasterWriter(out, grid, 1, "uint8") as writer:
        os.utime(writer.tmp, (writer.tmp.stat().st_mtime - 60,) * 2)
        check_outputs({"class raster": out})
        assert writer.tmp.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.tif"]


def test_a_cancelled_alignment_leaves_no_folder_it_made(env, tmp_path):
    """Cancelled mid-write: "no output was written", and the folders it made are gone too."""
    from s4_core.errors import Cancelled

    out = tmp_path / "new" / "aligned"
    seen: List[float] = []

    def progress(fraction: float, message: str, metrics=None) -> None:
        seen.append(fraction)

    with pytest.raises(Cancelled, match="alignment cancelled; no output was written"):
        api.align(str(env.s1), str(env.s2), out, progress=progress, cancel=lambda: bool(seen))
    assert list(tmp_path.iterdir()) == []

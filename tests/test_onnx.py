"""ONNX export and torch-free mapping: the ONNX Runtime backend maps like the torch one (class
maps identical, probabilities within 1e-5), for both heads, also in a process where torch
cannot be imported; the confidence output equals the max of the probabilities."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from machine import HIDE_TORCH

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from test_inference import _write_series, make_ckpt  # noqa: E402

from s4_core import api  # noqa: E402
from s4_core.backends import edge_aware_smooth_np  # noqa: E402
from s4_core.checkpoint import save_checkpoint  # noqa: E402
from s4_core.model import NetConfig, PixelHeadConfig, S4Net, edge_aware_smooth  # noqa: E402

pytestmark = pytest.mark.torch
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("scene")
    _write_series(root / "S2", "s2", 6, 45, 51, seed=1)
    return root


def pixel_ckpt(seed=0, length=6, smooth_iters=3):
    ckpt = make_ckpt(length=length, seed=seed)
    torch.manual_seed(seed)
    cfg = NetConfig(
        s1_channels=2, s2_channels=3, widths=(4, 8), proj_dim=4, num_classes=3, dec_out_width=4,
        head="pixel", head_modality="s2", head_frames=length,
        pixel_head=PixelHeadConfig(hidden=8, members=2, smooth_iters=smooth_iters, smooth_sigma=1.0),
    )  # fmt: skip
    net = S4Net(cfg).eval()
    with torch.no_grad():
        for mod in net.modules():
            if isinstance(mod, torch.nn.BatchNorm3d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
        net.pixel_head.mean.uniform_(-0.1, 0.1)
        net.pixel_head.std.uniform_(0.5, 1.5)
    ckpt.update(net_config=cfg.to_dict(), state_dict=net.state_dict())
    return ckpt


def read(path):
    with rasterio.open(path) as ds:
        return ds.read(), ds.tags(), list(ds.descriptions)


def test_numpy_smoothing_equals_torch():
    rng = np.random.default_rng(0)
    probs = rng.random((2, 3, 9, 11)).astype(np.float32)
    probs /= probs.sum(1, keepdims=True)
    guide = rng.normal(size=(2, 5, 9, 11)).astype(np.float32)
    ref = edge_aware_smooth(torch.from_numpy(probs), torch.from_numpy(guide), 4, 0.8).numpy()
    np.testing.assert_allclose(edge_aware_smooth_np(probs, guide, 4, 0.8), ref, atol=1e-6)


@pytest.mark.parametrize("head", ["unet", "pixel"])
def test_onnx_maps_like_torch_with_confidence(data_dir, tmp_path, head):
    # 8 frames from 6 dates: the last two are masked (repeat policy), as in torch
    ckpt = make_ckpt(seed=4, length=8) if head == "unet" else pixel_ckpt(seed=4, length=8)
    pt = save_checkpoint(tmp_path / "m.pt", ckpt)
    card = api.export_onnx(pt, tmp_path / "m.onnx")
    assert card["head"] == head and card["bands"] == ["B02", "B03", "B04"]
    saved = json.loads((tmp_path / "m.json").read_text())
    assert saved["classes"]["names"] == ["maize", "wheat", "grass"]
    assert saved["time"] == {"length": 8, "mode": "repeat"}
    import onnxruntime as ort

    meta = ort.InferenceSession(str(tmp_path / "m.onnx")).get_modelmeta().custom_metadata_map
    assert json.loads(meta["s4_bands"]) == ["B02", "B03", "B04"]
    assert json.loads(meta["s4_classes"])["colors"] == saved["classes"]["colors"]
    assert "mean" in json.loads(meta["s4_band_stats"])

    outs = {}
    for kind, model in (("torch", pt), ("onnx", tmp_path / "m.onnx")):
        res = api.segment(
            model, tmp_path / f"{kind}.tif", s2=data_dir / "S2", device="cpu",
            probabilities_out=tmp_path / f"{kind}_p.tif",
            confidence_out=tmp_path / f"{kind}_c.tif", tile_size=32, overlap=24,
        )  # fmt: skip
        assert res["backend"] == kind
        outs[kind] = [read(tmp_path / f"{kind}{s}.tif")[0] for s in ("", "_p", "_c")]
    (ct, pt_, cf), (co, po, cfo) = outs["torch"], outs["onnx"]
    assert np.array_equal(ct, co)
    valid = ct[0] != 255
    assert valid.sum() > 1000
    np.testing.assert_allclose(po[:, valid], pt_[:, valid], atol=1e-5)
    # confidence = max of the probabilities; margin = max - second
    for conf, probs in ((cf, pt_), (cfo, po)):
        srt = np.sort(probs[:, valid], axis=0)
        np.testing.assert_array_equal(conf[0][valid], srt[-1])
        np.testing.assert_allclose(conf[1][valid], srt[-1] - srt[-2], atol=1e-7)
        assert np.isnan(conf[:, ~valid]).all()
    _, tags, desc = read(tmp_path / "torch_c.tif")
    assert desc == ["confidence", "margin"] and "S4_CONFIDENCE" in tags


PROBE = HIDE_TORCH + textwrap.dedent(
    """
    from s4_core import api
    from s4_core.errors import S4Error
    model, s2, out, pt = sys.argv[1:5]
    res = api.segment(model, out, s2=s2, confidence_out=out + ".conf.tif",
                      probabilities_out=out + ".p.tif", tile_size=32, overlap=24)
    try:
        api.segment(pt, out + ".x.tif", s2=s2)
        message = None
    except S4Error as exc:
        message = str(exc)
    print(json.dumps({"backend": res["backend"], "torch": "torch" in sys.modules,
                      "pt_message": message}))
    """
)


def test_segmentation_runs_without_torch(data_dir, tmp_path):
    ckpt = pixel_ckpt(seed=2)
    pt = save_checkpoint(tmp_path / "m.pt", ckpt)
    api.export_onnx(pt, tmp_path / "m.onnx")
    api.segment(pt, tmp_path / "ref.tif", s2=data_dir / "S2", device="cpu",
                probabilities_out=tmp_path / "ref_p.tif", tile_size=32, overlap=24)  # fmt: skip
    out = str(tmp_path / "free.tif")
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "m.onnx"), str(data_dir / "S2"), out, str(pt)],
        capture_output=True, text=True, cwd=str(ROOT), env={"PYTHONPATH": str(ROOT),
        "PATH": "/usr/bin:/bin", "GDAL_PAM_ENABLED": "NO"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["backend"] == "onnx" and result["torch"] is False
    assert "PyTorch is not installed" in result["pt_message"]
    assert np.array_equal(read(tmp_path / "ref.tif")[0], read(out)[0])
    ref_p, free_p = read(tmp_path / "ref_p.tif")[0], read(out + ".p.tif")[0]
    valid = np.isfinite(ref_p[0])
    np.testing.assert_allclose(free_p[:, valid], ref_p[:, valid], atol=1e-5)


def test_export_onnx_and_segment_commands(data_dir, tmp_path, capsys):
    from s4_core.cli import main as cli_main

    pt = save_checkpoint(tmp_path / "m.pt", make_ckpt(seed=1))
    assert cli_main(["export-onnx", str(pt), str(tmp_path / "m.onnx"), "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["path"] == str(tmp_path / "m.onnx") and Path(card["card"]).is_file()
    rc = cli_main(["segment", "--model", str(tmp_path / "m.onnx"), "--s2", str(data_dir / "S2"),
                   "--out", str(tmp_path / "c.tif"), "--confidence", str(tmp_path / "conf.tif"),
                   "--quiet"])  # fmt: skip
    assert rc == 0
    text = capsys.readouterr().out
    assert "wrote confidence to" in text and "ONNX Runtime" in text
    assert read(tmp_path / "conf.tif")[0].shape == (2, 45, 51)
    # a pretrained (not fine-tuned) checkpoint cannot be exported: a clear error, no file
    pre = save_checkpoint(tmp_path / "pre.pt", {**make_ckpt(), "kind": "pretrained"})
    assert cli_main(["export-onnx", str(pre), str(tmp_path / "pre.onnx")]) == 2
    assert "fine-tune it" in capsys.readouterr().err
    assert not (tmp_path / "pre.onnx").exists()


HIDE_ORT = HIDE_TORCH.replace('name == "torch" or name.startswith("torch.")',
                              'name.split(".")[0] in ("torch", "onnxruntime")')  # fmt: skip


def test_s4_info_describes_an_onnx_model(tmp_path, capsys):
    from s4_core.checkpoint import describe
    from s4_core.cli import main as cli_main

    pt = save_checkpoint(tmp_path / "m.pt", make_ckpt(seed=1))
    onnx_path = tmp_path / "m.onnx"
    api.export_onnx(pt, onnx_path)
    assert cli_main(["info", str(onnx_path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)["model"]
    of_pt = describe(pt)
    for key in ("kind", "modality", "bands", "n_classes", "classes", "time", "net_config"):
        assert info[key] == json.loads(json.dumps(of_pt[key])), key
    assert info["described_from"] == "the model's metadata"
    assert info["model_card"] == str(tmp_path / "m.json") and info["output"] == "probabilities"
    assert cli_main(["info", str(onnx_path)]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"Model {onnx_path}\n") and "  format: onnx (s4 export-onnx)" in text
    # without ONNX Runtime (and torch): the model card beside it; without the card: what to do
    probe = HIDE_ORT + "from s4_core.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "GDAL_PAM_ENABLED": "NO"}

    def info_without_ort():
        return subprocess.run(
            [sys.executable, "-c", probe, "info", str(onnx_path), "--json"],
            capture_output=True, text=True, cwd=str(ROOT), env=env,
        )  # fmt: skip

    proc = info_without_ort()
    assert proc.returncode == 0, proc.stderr
    card = json.loads(proc.stdout)["model"]
    assert card["described_from"].startswith("model card")
    assert card["classes"] == info["classes"] and card["time"] == info["time"]
    (tmp_path / "m.json").unlink()
    proc = info_without_ort()
    assert proc.returncode == 2
    assert "needs ONNX Runtime" in proc.stderr and "m.json" in proc.stderr
    assert "Python objects" not in proc.stderr

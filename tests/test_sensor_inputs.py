"""The two S1/S2 input options of issue 12: the VV/VH ratio as a third radar band
(``s1_ratio``) and fine-tuning / mapping from both sensors at once (``modality both``).

The ratio band is checked against the files' own VV and VH values (real Flanders data), then
through every place S1 enters the network (pretraining, fine-tuning, segmentation, ONNX);
"both" through the command line after joint MAE pretraining, with tiled = whole-scene
results, the ONNX export, and the refusals a user can meet.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
import torch

from s4_core import api
from s4_core.checkpoint import load_checkpoint
from s4_core.cli import main
from s4_core.composite import RATIO_BAND, S1RatioScene, as_model_input, vv_vh_ratio
from s4_core.errors import CheckpointError, DataError
from s4_core.model import NetConfig, S4Net
from s4_core.normalize import compute_band_stats
from s4_core.objectives.joint_mae import encode_fused

pytestmark = pytest.mark.torch

SMALL = dict(crop_size=16, batch_size=2, widths=(8, 16, 32), device="cpu", seed=0)
CLI_SMALL = ["--crop-size", "16", "--widths", "8", "16", "32", "--device", "cpu", "--quiet"]


# ----------------------------------------------------------------------------- the ratio
def _raw_db(path, band):
    """A band of a real S1 file as stored (dB), NaN at nodata."""
    with rasterio.open(path) as ds:
        i = [d.upper() for d in ds.descriptions].index(band) + 1
        data = ds.read(i).astype(np.float32)
        if ds.nodata is not None:
            data[data == ds.nodata] = np.nan
    return data


@pytest.mark.realdata
def test_the_ratio_band_is_vv_minus_vh_in_db_on_real_arrays(flanders):
    files = sorted((flanders / "S1").glob("*.tif"))[:4]
    scene = api.open_scene([str(f) for f in files], None)
    assert scene.s1.band_names == ["VV", "VH"] and not scene.s1.linear  # stored in dB
    ratio = as_model_input(scene, 0, s1_ratio=True)
    assert isinstance(ratio, S1RatioScene)
    assert ratio.s1.band_names == ["VV", "VH", RATIO_BAND]
    data = ratio.read()
    assert data["s1"].shape[1] == 3
    for t, f in enumerate(files):
        vv, vh = _raw_db(f, "VV"), _raw_db(f, "VH")
        valid = data["s1_valid"][t]
        assert valid.sum() > 0.9 * valid.size
        expected = vv - vh
        np.testing.assert_allclose(data["s1"][t, 2][valid], expected[valid], atol=1e-5)
        np.testing.assert_array_equal(data["s1"][t, :2][:, valid], np.stack([vv, vh])[:, valid])
        values, ok = ratio.read_acquisition("s1", t)
        np.testing.assert_allclose(values[2][ok], expected[ok], atol=1e-5)
    # normalisation statistics cover the third band: its mean is the mean of VV - VH
    stats = compute_band_stats(ratio, "s1")
    assert stats.band_names == ["VV", "VH", RATIO_BAND]
    vals = data["s1"][:, 2][data["s1_valid"]]
    assert stats.mean[2] == pytest.approx(float(vals.mean()), rel=1e-4)
    assert stats.std[2] == pytest.approx(float(vals.std()), rel=1e-3)
    # composites: the ratio of the composited bands (one extra band, same validity)
    comp = as_model_input(scene, 1, s1_ratio=True).read()
    np.testing.assert_allclose(comp["s1"][:, 2], comp["s1"][:, 0] - comp["s1"][:, 1], atol=1e-5)


def test_the_ratio_needs_vv_and_vh():
    values = np.array([[-8.0, -7.0], [-15.0, -20.0]], dtype=np.float32)
    np.testing.assert_array_equal(vv_vh_ratio(values, ["VV", "VH"]), [7.0, 13.0])
    with pytest.raises(DataError, match=r"needs Sentinel-1 bands VV and VH.*\['HH', 'HV'\]"):
        vv_vh_ratio(values, ["HH", "HV"])


@pytest.fixture(scope="module")
def mae_ratio(tiny_demo, tmp_path_factory):
    """MAE on S1 with the ratio band, through the command line."""
    pre = tmp_path_factory.mktemp("mae_ratio") / "pre.pt"
    code = main(["pretrain", "--s1", str(tiny_demo.s1_dir), "--out", str(pre), "--objective",
                 "mae", "--s1-ratio", "--epochs", "1", "--steps-per-epoch", "2",
                 *CLI_SMALL])  # fmt: skip
    assert code == 0
    return pre


def test_a_ratio_checkpoint_fine_tunes_and_segments_through_the_cli(
    mae_ratio, tiny_demo, tmp_path, capsys
):
    pre = load_checkpoint(mae_ratio)
    assert pre["bands"]["s1"] == ["VV", "VH", RATIO_BAND] and pre["input"]["s1_ratio"] is True
    assert pre["net_config"]["s1_channels"] == 3
    assert pre["band_stats"]["s1"]["band_names"] == ["VV", "VH", RATIO_BAND]
    capsys.readouterr()
    assert main(["info", str(mae_ratio), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["s1_ratio"] is True
    ft, seg = tmp_path / "ft.pt", tmp_path / "map.tif"
    # no --s1-ratio: fine-tuning follows the pretrained model
    code = main(["finetune", "--s1", str(tiny_demo.s1_dir), "--labels", str(tiny_demo.parcels),
                 "--class-field", tiny_demo.class_field, "--modality", "s1", "--init",
                 str(mae_ratio), "--out", str(ft), *CLI_SMALL])  # fmt: skip
    assert code == 0
    ckpt = load_checkpoint(ft)
    assert ckpt["bands"]["s1"][-1] == RATIO_BAND and ckpt["input"]["s1_ratio"] is True
    assert ckpt["net_config"]["head_modality"] == "s1"
    code = main(["segment", "--model", str(ft), "--s1", str(tiny_demo.s1_dir), "--out",
                 str(seg), "--device", "cpu", "--quiet"])  # fmt: skip
    assert code == 0
    scores = api.evaluate(seg, tiny_demo.truth)
    assert scores["oa"] > 1.5 / len(scores["per_class"]), scores
    # the ONNX export records the ratio and maps the same classes without the checkpoint
    onnx = pytest.importorskip("onnx")
    del onnx
    card = api.export_onnx(ft, tmp_path / "ft.onnx")
    assert card["bands"] == ["VV", "VH", RATIO_BAND]
    api.segment(tmp_path / "ft.onnx", tmp_path / "onnx.tif", s1=str(tiny_demo.s1_dir))
    with rasterio.open(seg) as a, rasterio.open(tmp_path / "onnx.tif") as b:
        assert (a.read(1) == b.read(1)).mean() > 0.999


def test_ratio_mismatches_give_clear_messages(mae_ratio, tiny_demo, tmp_path, capsys):
    plain = tmp_path / "plain.pt"
    api.pretrain(str(tiny_demo.s1_dir), None, plain, epochs=1, steps_per_epoch=1,
                 objective="mae", **SMALL)  # fmt: skip
    assert load_checkpoint(plain)["input"]["s1_ratio"] is False
    capsys.readouterr()
    code = main(["finetune", "--s1", str(tiny_demo.s1_dir), "--labels", str(tiny_demo.parcels),
                 "--class-field", tiny_demo.class_field, "--modality", "s1", "--init",
                 str(plain), "--s1-ratio", "--out", str(tmp_path / "ft.pt"),
                 *CLI_SMALL])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "pretrained without the VV/VH ratio band" in err and "switch s1_ratio off" in err
    assert not (tmp_path / "ft.pt").exists()


# ----------------------------------------------------------------------------- both sensors
def test_both_fuses_the_sensors_first_layers_as_joint_mae_does():
    torch.manual_seed(0)
    net = S4Net(NetConfig(s1_channels=3, s2_channels=4, widths=(4, 8, 8))).eval()
    x1, x2 = torch.randn(2, 4, 3, 8, 8), torch.randn(2, 4, 4, 8, 8)
    fm = torch.tensor([[True, True, True, False], [True] * 4])
    both = net.encode(torch.cat([x1, x2], 2), "both", fm)
    ones = {"s1": torch.ones(2), "s2": torch.ones(2)}
    fused = encode_fused(net, {"s1": x1, "s2": x2}, fm, ones)
    torch.testing.assert_close(both.features, fused.features)
    # S2 weighted 0: exactly the S1 path alone
    alone = encode_fused(net, {"s1": x1, "s2": x2}, fm, {"s1": torch.ones(2), "s2": torch.zeros(2)})
    s1 = net.encode(x1, "s1", fm)
    torch.testing.assert_close(alone.features, s1.features)
    # the average of the two first blocks differs from either sensor alone
    assert not torch.allclose(both.features, s1.features)
    assert net.config.channels("both") == 7


@pytest.fixture(scope="module")
def joint(tiny_demo, tmp_path_factory):
    """Joint MAE with the ratio band, then fine-tuned for both sensors (command line)."""
    root = tmp_path_factory.mktemp("joint")
    pre, ft = root / "pre.pt", root / "ft.pt"
    code = main(["pretrain", "--s1", str(tiny_demo.s1_dir), "--s2", str(tiny_demo.s2_dir),
                 "--out", str(pre), "--objective", "joint-mae", "--s1-ratio", "--epochs", "1",
                 "--steps-per-epoch", "2", *CLI_SMALL])  # fmt: skip
    assert code == 0
    code = main(["finetune", "--s1", str(tiny_demo.s1_dir), "--s2", str(tiny_demo.s2_dir),
                 "--labels", str(tiny_demo.parcels), "--class-field", tiny_demo.class_field,
                 "--modality", "both", "--init", str(pre), "--out", str(ft),
                 *CLI_SMALL])  # fmt: skip
    assert code == 0
    return pre, ft


def test_both_fine_tunes_and_segments_through_the_cli_after_joint_mae(
    joint, tiny_demo, tmp_path, capsys
):
    _, ft = joint
    ckpt = load_checkpoint(ft)
    assert ckpt["modality"] == "both" and set(ckpt["band_stats"]) == {"s1", "s2"}
    assert ckpt["net_config"]["head_modality"] == "both"
    assert ckpt["bands"]["s1"] == ["VV", "VH", RATIO_BAND]
    capsys.readouterr()
    assert main(["info", str(ft), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["modality"] == "both"
    seg = tmp_path / "map.tif"
    code = main(["segment", "--model", str(ft), "--s1", str(tiny_demo.s1_dir), "--s2",
                 str(tiny_demo.s2_dir), "--out", str(seg), "--device", "cpu",
                 "--quiet"])  # fmt: skip
    assert code == 0
    scores = api.evaluate(seg, tiny_demo.truth)
    assert scores["oa"] > 1.5 / len(scores["per_class"]), scores


def test_both_windows_read_as_the_whole_scene_and_onnx_maps_the_same(joint, tiny_demo, tmp_path):
    from s4_core import inference
    from s4_core.tiling import plan_tiles

    _, ft = joint
    ckpt = load_checkpoint(ft)
    scene = inference.model_scene(
        ckpt, api.open_scene(str(tiny_demo.s1_dir), str(tiny_demo.s2_dir))
    )
    stats = inference.model_stats(ckpt)
    reader = inference._Reader(scene, "both", stats, ckpt["time"]["length"], ckpt["time"]["mode"])
    whole = reader.read(plan_tiles(32, 32, 32, 0)[0])
    assert whole[0].shape[1] == 3 + 10  # S1 (VV, VH, ratio) then S2, normalised
    raw = scene.read()
    s1 = stats[0].apply(raw["s1"], raw["s1_valid"])
    np.testing.assert_allclose(whole[0][:, :3], s1, atol=1e-6)
    for tile in plan_tiles(32, 32, 20, 8):  # a window reads exactly its part of the scene
        x, fm, valid = reader.read(tile)
        rows, cols = slice(tile.row, tile.row + tile.height), slice(tile.col, tile.col + tile.width)
        np.testing.assert_array_equal(x, whole[0][..., rows, cols])
        np.testing.assert_array_equal(valid, whole[2][rows, cols])
    # tiles too small for exact results still agree with the whole-scene pass almost everywhere
    one = list(
        inference.predict_windows(
            ckpt, scene, inference.Prediction(tile_size=32, overlap=0, device="cpu")
        )
    )
    tiled = list(
        inference.predict_windows(
            ckpt, scene, inference.Prediction(tile_size=24, overlap=16, device="cpu")
        )
    )
    assert len(one) == 1 and len(tiled) == 4
    classes = np.zeros((32, 32), dtype=np.int64)
    for win, probs, _ in tiled:
        r, c = win.offset_in(scene.grid)
        classes[r : r + win.height, c : c + win.width] = probs.argmax(0)
    assert (classes == one[0][1].argmax(0)).mean() > 0.95
    pytest.importorskip("onnx")
    card = api.export_onnx(ft, tmp_path / "ft.onnx")
    assert card["modality"] == "both" and len(card["bands"]) == 3 + 10
    torch_map, onnx_map = tmp_path / "t.tif", tmp_path / "o.tif"
    api.segment(ft, torch_map, s1=str(tiny_demo.s1_dir), s2=str(tiny_demo.s2_dir), device="cpu")
    api.segment(tmp_path / "ft.onnx", onnx_map, s1=str(tiny_demo.s1_dir), s2=str(tiny_demo.s2_dir))
    with rasterio.open(torch_map) as a, rasterio.open(onnx_map) as b:
        assert (a.read(1) == b.read(1)).mean() > 0.999


def test_both_mismatches_give_clear_messages(joint, mae_ratio, tiny_demo, tmp_path, capsys):
    _, ft = joint
    labels = ["--labels", str(tiny_demo.parcels), "--class-field", tiny_demo.class_field]
    capsys.readouterr()
    # mapping a "both" model from one sensor
    code = main(["segment", "--model", str(ft), "--s2", str(tiny_demo.s2_dir), "--out",
                 str(tmp_path / "m.tif"), "--quiet"])  # fmt: skip
    assert code == 2
    assert "fine-tuned for S1 + S2 inference (modality both): give S1 and S2 layers (no S1" in (
        capsys.readouterr().err
    )
    # fine-tuning for both with one sensor given
    code = main(["finetune", "--s2", str(tiny_demo.s2_dir), *labels, "--modality", "both",
                 "--out", str(tmp_path / "x.pt"), *CLI_SMALL])  # fmt: skip
    assert code == 2
    assert "needs S1 and S2 layers: no S1 layers were given" in capsys.readouterr().err
    # a single-sensor (MAE on S1) model: its S2 branch is untrained
    with pytest.raises(CheckpointError, match=r"mae on S1 only: its S2 branch is untrained, so "
                       r"it cannot map from both sensors"):  # fmt: skip
        api.finetune(str(tiny_demo.s1_dir), str(tiny_demo.s2_dir), str(tiny_demo.parcels),
                     tiny_demo.class_field, tmp_path / "y.pt", modality="both",
                     init=str(mae_ratio), **SMALL)  # fmt: skip
    # neither sensor given to segment
    with pytest.raises(SystemExit, match="give --s2 or --s1"):
        main(["segment", "--model", str(ft), "--out", str(tmp_path / "m.tif")])
    assert not list(tmp_path.glob("*.pt")) and not (tmp_path / "m.tif").exists()


def test_both_from_scratch_and_from_s4_with_the_unet_head(tiny_demo, tmp_path):
    """From scratch (both heads) and from an S4 checkpoint (both branches trained; the fused
    input is new to it, documented) a "both" model trains and maps."""
    s1, s2 = str(tiny_demo.s1_dir), str(tiny_demo.s2_dir)
    args = (s1, s2, str(tiny_demo.parcels), tiny_demo.class_field)
    unet = tmp_path / "unet.pt"
    res = api.finetune(*args, unet, modality="both", head="unet", epochs=2, s1_ratio=True,
                       **SMALL)  # fmt: skip
    assert res["history"] and load_checkpoint(unet)["bands"]["s1"][-1] == RATIO_BAND
    api.segment(unet, tmp_path / "u.tif", s1=s1, s2=s2, device="cpu")
    pre = tmp_path / "s4.pt"
    api.pretrain(s1, s2, pre, epochs=1, steps_per_epoch=1, **SMALL)
    ft = tmp_path / "ft.pt"
    api.finetune(*args, ft, modality="both", init=str(pre), **SMALL)
    assert load_checkpoint(ft)["input"]["s1_ratio"] is False
    api.segment(ft, tmp_path / "p.tif", s1=s1, s2=s2, device="cpu")
    scores = api.evaluate(tmp_path / "p.tif", tiny_demo.truth)
    assert scores["oa"] > 1.5 / len(scores["per_class"]), scores

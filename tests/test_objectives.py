"""Pretraining objectives (MAE, DINO, joint MAE beside S4) and the one training loop's
checkpoint protocol: masks as configured, losses on the right positions, the teacher's EMA and
centring, losses that fall on the demo scene, gradients everywhere, checkpoints that fine-tune
and segment, and an interrupted run that leaves the previous model untouched."""

from __future__ import annotations

import json
import math

import pytest
import torch

from s4_core import api
from s4_core.checkpoint import load_checkpoint
from s4_core.cli import main
from s4_core.control import NO_CONTROL
from s4_core.errors import Cancelled
from s4_core.loop import partial_path
from s4_core.objectives.dino import (
    distillation_loss,
    ema_update,
    momentum_schedule,
    teacher_probs,
)
from s4_core.objectives.joint_mae import joint_masks
from s4_core.objectives.mae import patch_mask, reconstruction_loss
from s4_core.train import PretrainConfig, PretrainTask

SMALL = dict(crop_size=16, batch_size=2, widths=(8, 16, 32), device="cpu", seed=0)
OBJECTIVES = [
    ("mae", {}),
    ("mae", {"ssl_modality": "s2"}),
    ("dino", {}),
    ("joint-mae", {}),
    ("joint-mae", {"mask_mode": "complementary"}),
]


# ----------------------------------------------------------------------------- masks
@pytest.mark.parametrize("patch", [(2, 4, 4), (1, 3, 5)])
def test_patch_mask_hides_the_configured_share_of_whole_patches(patch):
    b, t, h, w = 3, 6, 10, 12
    gen = torch.Generator().manual_seed(0)
    hidden = patch_mask((b, t, h, w), patch, 0.75, gen)
    assert hidden.shape == (b, t, h, w) and hidden.dtype == torch.bool
    pt, ph, pw = patch
    nt, nh, nw = math.ceil(t / pt), math.ceil(h / ph), math.ceil(w / pw)
    for s in range(b):
        per_patch = []
        for i in range(nt):
            for j in range(nh):
                for k in range(nw):
                    block = hidden[
                        s, i * pt : (i + 1) * pt, j * ph : (j + 1) * ph, k * pw : (k + 1) * pw
                    ]
                    assert block.all() or not block.any()  # a patch is hidden whole
                    per_patch.append(bool(block.all()))
        assert sum(per_patch) == round(0.75 * nt * nh * nw)
    assert not torch.equal(hidden[0], hidden[1])  # drawn per sample


def test_joint_masks_complementary_are_disjoint_and_cover_every_position():
    gen = torch.Generator().manual_seed(1)
    shape = (4, 4, 8, 8)
    a, b = joint_masks(shape, (2, 4, 4), 0.75, "complementary", gen)
    assert not (a & b).any()  # hidden in one = visible in the other
    assert (a | b).all()
    a, b = joint_masks(shape, (2, 4, 4), 0.75, "identical", gen)
    assert torch.equal(a, b)
    a, b = joint_masks(shape, (2, 4, 4), 0.75, "random", gen)
    assert not torch.equal(a, b)
    assert a.float().mean().item() == pytest.approx(0.75) == b.float().mean().item()


def test_reconstruction_loss_counts_hidden_positions_only():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(2, 4, 3, 8, 8, generator=gen)
    rec = torch.randn(2, 4, 3, 8, 8, generator=gen)
    valid = torch.ones(2, 4, 8, 8, dtype=torch.bool)
    hidden = patch_mask((2, 4, 8, 8), (2, 4, 4), 0.5, gen)
    loss = reconstruction_loss(rec, x, valid, hidden)
    changed = torch.where(hidden[:, :, None], x, x + 100.0)  # visible targets changed
    assert reconstruction_loss(rec, changed, valid, hidden) == loss
    expected = (rec - x).abs().permute(0, 1, 3, 4, 2)[hidden].mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    moved = torch.where(hidden[:, :, None], x + 1.0, x)  # hidden targets changed
    assert reconstruction_loss(rec, moved, valid, hidden) != loss


# ----------------------------------------------------------------------------- DINO maths
def test_ema_update_and_momentum_schedule_follow_the_formulas():
    torch.manual_seed(0)
    teacher, student = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    before = [p.detach().clone() for p in teacher.parameters()]
    ema_update(teacher, student, 0.9)
    for t, t0, s in zip(teacher.parameters(), before, student.parameters()):
        assert torch.allclose(t, 0.9 * t0 + 0.1 * s)
    assert momentum_schedule(0, 100, 0.99) == pytest.approx(0.99)
    assert momentum_schedule(100, 100, 0.99) == pytest.approx(1.0)
    assert momentum_schedule(50, 100, 0.99) == pytest.approx(0.995)


def test_teacher_centring_sharpening_and_cross_entropy_on_tiny_tensors():
    logits = torch.tensor([[1.0, 2.0, 3.0]]).view(1, 3, 1, 1)
    centre = torch.tensor([0.5, 0.5, 2.0])
    p = teacher_probs(logits, centre, temp=0.5)
    z = torch.tensor([0.5, 1.5, 1.0]) / 0.5
    assert torch.allclose(p.view(3), torch.softmax(z, 0))
    # sharpening: a lower temperature puts more mass on the largest centred logit
    assert teacher_probs(logits, centre, 0.1).view(3).max() > p.view(3).max()
    s = torch.tensor([0.0, 1.0, -1.0]).view(1, 3, 1, 1)
    mask = torch.ones(1, 1, 1, dtype=torch.bool)
    ce = distillation_loss(p, s, mask, temp=1.0)
    assert ce.item() == pytest.approx(-(p.view(3) * torch.log_softmax(s.view(3), 0)).sum().item())
    assert distillation_loss(p, s, ~mask, temp=1.0).item() == 0.0  # no position: nothing


# ----------------------------------------------------------------------------- training
def _task(tiny_demo, objective, **kw):
    scene = api.open_scene(str(tiny_demo.s1_dir), str(tiny_demo.s2_dir))
    cfg = PretrainConfig(
        objective=objective, crop_size=16, batch_size=2, widths=(8, 16, 32), steps_per_epoch=1,
        **kw,
    )  # fmt: skip
    return PretrainTask([scene], cfg, "cpu", NO_CONTROL)


@pytest.mark.parametrize("objective,kw", [("s4", {})] + OBJECTIVES)
def test_every_trainable_parameter_gets_a_gradient(tiny_demo, objective, kw):
    task = _task(tiny_demo, objective, **kw)
    optimizer = task.build_optimizer()
    loss, figures = task.train_step()
    loss.backward()
    params = [p for g in optimizer.param_groups for p in g["params"]]
    assert params and math.isfinite(figures["loss"])
    missing = [i for i, p in enumerate(params) if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, f"{len(missing)} of {len(params)} parameters got no gradient"


@pytest.mark.parametrize("objective,kw", OBJECTIVES)
def test_a_few_steps_lower_each_objectives_loss_on_the_demo_scene(
    tiny_demo, tmp_path, objective, kw
):
    out = tmp_path / "pre.pt"
    result = api.pretrain(
        str(tiny_demo.s1_dir), str(tiny_demo.s2_dir), out, epochs=3, steps_per_epoch=6,
        objective=objective, **kw, **SMALL,
    )  # fmt: skip
    losses = [h["loss"] for h in result["history"]]
    assert losses[-1] < losses[0], losses
    info = api.model_info(out)
    assert info["objective"]["name"] == objective
    if objective in ("mae", "dino"):
        modality = kw.get("ssl_modality", "s1")
        assert info["objective"]["modality"] == modality
        assert set(load_checkpoint(out)["band_stats"]) == {modality}
    assert not partial_path(out).exists()


def test_single_modality_objectives_need_only_that_series(tiny_demo, tmp_path):
    out = tmp_path / "mae_s1.pt"
    api.pretrain(str(tiny_demo.s1_dir), None, out, epochs=1, steps_per_epoch=1, objective="mae",
                 **SMALL)  # fmt: skip
    assert load_checkpoint(out)["kind"] == "pretrained"
    from s4_core.errors import DataError

    with pytest.raises(DataError, match="S2"):
        api.pretrain(str(tiny_demo.s1_dir), None, tmp_path / "x.pt", epochs=1,
                     objective="dino", ssl_modality="s2", **SMALL)  # fmt: skip


def test_a_single_sensor_checkpoint_refuses_to_fine_tune_the_other_sensor(tiny_demo, tmp_path):
    from s4_core.errors import CheckpointError

    pre = tmp_path / "mae_s1.pt"
    api.pretrain(str(tiny_demo.s1_dir), None, pre, epochs=1, steps_per_epoch=1, objective="mae",
                 **SMALL)  # fmt: skip
    with pytest.raises(CheckpointError, match=r"mae on S1 only: its S2 branch is untrained"):
        api.finetune(None, str(tiny_demo.s2_dir), str(tiny_demo.parcels), tiny_demo.class_field,
                     tmp_path / "ft.pt", modality="s2", init=str(pre), **SMALL)  # fmt: skip
    assert not (tmp_path / "ft.pt").exists()


@pytest.mark.parametrize("objective", ["mae", "dino", "joint-mae"])
def test_each_objectives_checkpoint_fine_tunes_and_segments_through_the_cli(
    tiny_demo, tmp_path, capsys, objective
):
    pre, ft, seg = tmp_path / "pre.pt", tmp_path / "ft.pt", tmp_path / "map.tif"
    small = ["--crop-size", "16", "--widths", "8", "16", "32", "--device", "cpu", "--quiet"]
    code = main(["pretrain", "--s1", str(tiny_demo.s1_dir), "--s2", str(tiny_demo.s2_dir),
                 "--out", str(pre), "--objective", objective, "--epochs", "1",
                 "--steps-per-epoch", "2", "--mask-mode", "complementary", *small])  # fmt: skip
    assert code == 0
    capsys.readouterr()
    assert main(["info", str(pre), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)["model"]
    assert info["objective"]["name"] == objective
    modality = "s1"  # every objective trained the radar branch (mae / dino: s1 by default)
    code = main(["finetune", f"--{modality}", str(tiny_demo.s1_dir), "--labels",
                 str(tiny_demo.parcels), "--class-field", tiny_demo.class_field, "--modality",
                 modality, "--init", str(pre), "--out", str(ft), *small])  # fmt: skip
    assert code == 0
    capsys.readouterr()
    assert main(["info", str(ft), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["objective"]["name"] == objective
    code = main(["segment", "--model", str(ft), f"--{modality}", str(tiny_demo.s1_dir),
                 "--out", str(seg), "--device", "cpu", "--quiet"])  # fmt: skip
    assert code == 0
    scores = api.evaluate(seg, tiny_demo.truth)
    assert scores["oa"] > 1.5 / len(scores["per_class"]), scores


# ----------------------------------------------------------------------------- protocol
def test_an_interrupted_pretraining_leaves_the_previous_model_byte_identical(tiny_demo, tmp_path):
    out = tmp_path / "pre.pt"
    args = (str(tiny_demo.s1_dir), str(tiny_demo.s2_dir), out)
    api.pretrain(*args, epochs=1, steps_per_epoch=2, **SMALL)
    before = out.read_bytes()
    seen = []

    def progress(fraction, message, metrics=None):
        seen.append(message)

    def cancel():  # after the first epoch of the second run has finished
        return any(m.startswith("epoch 1:") for m in seen)

    with pytest.raises(Cancelled, match=r"pre\.pt\.partial"):
        api.pretrain(*args, epochs=3, steps_per_epoch=2, objective="mae", progress=progress,
                     cancel=cancel, **SMALL)  # fmt: skip
    assert out.read_bytes() == before
    partial = partial_path(out)
    assert load_checkpoint(partial)["epoch"] == 1
    assert not list(tmp_path.glob("*.tmp"))
    # the partial run resumes to the end; only then is --out replaced
    res = api.pretrain(*args, epochs=2, steps_per_epoch=2, objective="mae", resume=partial,
                       **SMALL)  # fmt: skip
    assert [h["epoch"] for h in res["history"]] == [1, 2]
    assert load_checkpoint(out)["objective"]["name"] == "mae"
    assert not partial.exists()


def test_an_interrupted_unet_finetune_leaves_the_previous_model_byte_identical(tiny_demo, tmp_path):
    out = tmp_path / "ft.pt"
    args = (None, str(tiny_demo.s2_dir), tiny_demo.parcels, tiny_demo.class_field, out)
    unet = dict(SMALL, head="unet", val_fraction=0.0)
    api.finetune(*args, epochs=1, **unet)
    before = out.read_bytes()
    seen = []

    def cancel():
        return any(m.startswith("epoch 1:") for m in seen)

    with pytest.raises(Cancelled, match=r"ft\.pt\.partial"):
        api.finetune(*args, epochs=3, progress=lambda f, m, x=None: seen.append(m),
                     cancel=cancel, **unet)  # fmt: skip
    assert out.read_bytes() == before
    assert load_checkpoint(partial_path(out))["epoch"] == 1


def test_the_command_line_needs_only_the_sensor_of_a_single_sensor_objective(tiny_demo, tmp_path):
    small = ["--crop-size", "16", "--widths", "8", "16", "--device", "cpu", "--quiet"]
    out = tmp_path / "dino.pt"
    argv = ["pretrain", "--s1", str(tiny_demo.s1_dir), "--out", str(out), "--epochs", "1",
            "--steps-per-epoch", "1", *small]  # fmt: skip
    assert main([*argv, "--objective", "dino"]) == 0
    assert api.model_info(out)["objective"]["name"] == "dino"
    with pytest.raises(SystemExit, match="--objective s4 needs --s1 and --s2"):
        main(argv)
    with pytest.raises(SystemExit, match="needs --s2"):
        main([*argv, "--objective", "mae", "--ssl-modality", "s2"])

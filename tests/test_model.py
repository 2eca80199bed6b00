"""The S4 network: shapes, masking of padded frames, gradients, golden output, training signal."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from s4_core.errors import CheckpointError, DataError
from s4_core.losses import s4_loss
from s4_core.model import (
    MaskedBatchNorm3d,
    NetConfig,
    PixelHead,
    PixelHeadConfig,
    S4Net,
    _pool,
    _pool_mask,
    pixel_features,
)


def tiny_config(**kw) -> NetConfig:
    base = dict(
        s1_channels=2, s2_channels=3, widths=(4, 8, 16), proj_dim=8, num_classes=3, dec_out_width=4
    )
    base.update(kw)
    return NetConfig(**base)


def tiny_net(seed=0, **kw) -> S4Net:
    torch.manual_seed(seed)
    return S4Net(tiny_config(**kw))


def data(seed=0, b=2, t=8, h=16, w=16):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, t, 2, h, w, generator=g), torch.randn(b, t, 3, h, w, generator=g)


def test_config_round_trip_and_validation():
    cfg = tiny_config(n_specific=2, negative_slope=0.2)
    d = cfg.to_dict()
    assert d["widths"] == [4, 8, 16]
    assert NetConfig.from_dict(d) == cfg
    with pytest.raises(CheckpointError, match="unknown network setting"):
        NetConfig.from_dict({**d, "attention": True})
    with pytest.raises(CheckpointError, match="invalid"):
        NetConfig.from_dict({**d, "widths": [4]})
    with pytest.raises(ValueError, match="n_specific"):
        NetConfig(n_specific=3)
    assert NetConfig().factor == 4 and NetConfig(widths=(8, 16, 32, 64)).factor == 8


def test_reference_segmentation_path_matches_unet3d_parameter_count():
    net = S4Net(NetConfig(num_classes=20))
    # UNet3D(in_channel=10, n_classes=20, feats=8) of utae-paps has 1,553,796 parameters
    assert sum(p.numel() for p in net.segmentation_parameters("s2")) == 1_553_796
    assert sum(p.numel() for p in net.segmentation_parameters("s1")) == 1_553_796 - 8 * 27 * 32


@pytest.mark.parametrize("t", [1, 3, 7])
def test_shapes_for_odd_sizes(t):
    net = tiny_net()
    for h, w in [(5, 17), (17, 33), (33, 5)]:
        x1 = torch.randn(2, t, 2, h, w)
        enc = net.encode(x1, "s1")
        tp, hp, wp = -(-t // 4), -(-h // 4), -(-w // 4)
        assert net.project(enc).shape == (2, 8, tp, hp, wp)
        assert net.feature_mask(enc).shape == (2, tp, hp, wp)
        assert bool(net.feature_mask(enc).all())
        assert net.reconstruct(enc, "s2").shape == (2, t, 3, h, w)
        assert net.reconstruct(enc, "s1").shape == (2, t, 2, h, w)
        assert net.segment(x1, "s1").shape == (2, 3, h, w)
        assert net.segment(torch.randn(1, t, 3, h, w), "s2").shape == (1, 3, h, w)


def test_feature_mask_follows_real_frames():
    net = tiny_net()
    fm = torch.ones(2, 8, dtype=torch.bool)
    fm[0, 4:] = False
    fm[1, 3:] = False
    enc = net.encode(torch.randn(2, 8, 2, 8, 8), "s1", fm)
    mask = net.feature_mask(enc)
    assert mask[:, 0].all()
    assert not mask[0, 1].any()
    assert not mask[1, 1].any()


@pytest.mark.parametrize("train", [False, True])
def test_padded_frames_do_not_change_segmentation(train):
    net = tiny_net()
    net.train(train)
    x = torch.randn(2, 5, 3, 9, 7)
    garbage = torch.full((2, 4, 3, 9, 7), 1e4)
    garbage[:, 1] = float("nan")
    x_long = torch.cat([x, garbage], dim=1)
    fm = torch.ones(2, 9, dtype=torch.bool)
    fm[:, 5:] = False
    ref = net.segment(x, "s2")
    out = net.segment(x_long, "s2", fm)
    assert torch.isfinite(out).all()
    assert torch.allclose(out, ref, atol=1e-5)
    with torch.no_grad():  # the in-place masking path
        assert torch.allclose(net.segment(x_long, "s2", fm), ref, atol=1e-5)
    # pretraining outputs over the real frames are unchanged too
    x1 = torch.randn(2, 5, 2, 9, 7)
    x1_long = torch.cat([x1, torch.full((2, 4, 2, 9, 7), -1e4)], dim=1)
    short = net.pretrain_outputs(x1, x)
    long = net.pretrain_outputs(x1_long, x_long, fm)
    assert torch.allclose(long["rec_s2"][:, :5], short["rec_s2"], atol=1e-5)
    assert torch.allclose(long["rec_s1"][:, :5], short["rec_s1"], atol=1e-5)
    assert torch.equal(long["feat_mask"][:, :2], short["feat_mask"])
    assert not long["feat_mask"][:, 2:].any()
    assert torch.allclose(long["z_s1"][:, :, :2], short["z_s1"], atol=1e-5)


def test_masked_frames_in_the_middle_are_ignored():
    net = tiny_net().eval()
    x = torch.randn(1, 8, 3, 8, 8)
    fm = torch.ones(1, 8, dtype=torch.bool)
    fm[0, 2] = False
    y = x.clone()
    y[0, 2] = 123.0
    assert torch.equal(net.segment(x, "s2", fm), net.segment(y, "s2", fm))


def test_pooling_ignores_padded_positions():
    # all-negative features: a cell half real, half padded keeps the real maximum (not 0)
    x = -1.0 - torch.rand(1, 2, 4, 4, 4)
    mask = torch.ones(1, 4, 4, 4, dtype=torch.bool)
    mask[:, 3] = False
    mask[:, :, 3] = False
    x_zeroed = x * mask[:, None]
    pooled = _pool(x_zeroed, mask, _pool_mask(mask))
    ref = torch.nn.functional.max_pool3d(x.masked_fill(~mask[:, None], -1e9), 2)
    assert torch.equal(pooled, ref)
    assert (pooled < 0).all()


def test_masked_batchnorm_equals_batchnorm_without_padding_and_uses_only_real_positions():
    torch.manual_seed(0)
    x = torch.randn(3, 4, 2, 5, 5)
    ref, bn = nn.BatchNorm3d(4), MaskedBatchNorm3d(4)
    full = torch.ones(3, 2, 5, 5, dtype=torch.bool)
    assert torch.allclose(bn(x, full), ref(x), atol=1e-5)
    assert torch.allclose(bn.running_mean, ref.running_mean, atol=1e-6)
    assert torch.allclose(bn.running_var, ref.running_var, atol=1e-5)
    # with a mask the statistics are those of the real positions only
    bn2, ref2 = MaskedBatchNorm3d(4), nn.BatchNorm3d(4)
    mask = torch.zeros(3, 2, 5, 5, dtype=torch.bool)
    mask[:2] = True  # sample 2 is padding
    out = bn2(torch.cat([x[:2], x[2:] + 1e3]), mask)
    assert torch.allclose(out[:2], ref2(x[:2]), atol=1e-5)
    assert torch.allclose(bn2.running_var, ref2.running_var, atol=1e-5)
    bn2.eval()
    ref2.eval()
    assert torch.allclose(bn2(x, mask), ref2(x), atol=1e-6)
    bn2.train()
    stats = bn2.running_mean.clone(), bn2.running_var.clone()
    bn2(x, torch.zeros_like(mask))  # nothing real: running statistics unchanged
    assert torch.equal(bn2.running_mean, stats[0]) and torch.equal(bn2.running_var, stats[1])


def test_every_parameter_gets_gradient_in_pretraining_and_segmentation():
    net = tiny_net(num_classes=0)
    x1, x2 = data(t=6, h=12, w=12)
    out = net.pretrain_outputs(x1, x2)
    loss = s4_loss(out, x1, x2, None, None, lam=1.0, mode="exact")["loss"]
    loss.backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    net = tiny_net()
    for modality, x in (("s1", x1), ("s2", x2)):
        net.zero_grad(set_to_none=True)
        net.segment(x, modality).logsumexp(1).mean().backward()
        used = {id(p) for p in net.segmentation_parameters(modality)}
        for name, p in net.named_parameters():
            if id(p) in used:
                assert p.grad is not None and p.grad.abs().sum() > 0, name
            else:
                assert p.grad is None, name


def test_shared_layers_learn_from_both_modalities():
    net = tiny_net()
    x1, x2 = data(t=4, h=8, w=8)
    shared = list(net.shared.parameters())
    for modality, x, other in (("s1", x1, "s2"), ("s2", x2, "s1")):
        net.zero_grad(set_to_none=True)
        net.project(net.encode(x, modality)).square().mean().backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in shared)
        assert all(p.grad is not None for p in net.first[modality].parameters())
        assert all(p.grad is None for p in net.first[other].parameters())


def test_parameter_groups_and_num_classes():
    net = tiny_net(num_classes=0)
    with pytest.raises(CheckpointError, match="segmentation head"):
        net.segment(torch.randn(1, 4, 2, 8, 8), "s1")
    enc_ids = {id(p) for p in net.encoder_parameters("s1")}
    assert enc_ids == {id(p) for p in net.first["s1"].parameters()} | {
        id(p) for p in net.shared.parameters()
    }
    assert not enc_ids & {id(p) for p in net.first["s2"].parameters()}
    all_ids = {id(p) for p in net.encoder_parameters()}
    assert all_ids == enc_ids | {id(p) for p in net.first["s2"].parameters()}
    net.set_num_classes(5)
    assert net.config.num_classes == 5
    assert net.segment(torch.randn(1, 4, 2, 8, 8), "s1").shape == (1, 5, 8, 8)
    with pytest.raises(DataError, match="bands"):
        net.segment(torch.randn(1, 4, 4, 8, 8), "s2")
    with pytest.raises(ValueError, match="modality"):
        net.encode(torch.randn(1, 4, 2, 8, 8), "s3")
    with pytest.raises(DataError, match="aligned"):
        net.pretrain_outputs(torch.randn(1, 4, 2, 8, 8), torch.randn(1, 5, 3, 8, 8))


def test_eval_is_deterministic_and_channels_last_agrees():
    net = tiny_net().eval()
    x = torch.randn(2, 7, 3, 13, 11)
    a = net.segment(x, "s2")
    assert torch.equal(a, net.segment(x, "s2"))
    net = net.to(memory_format=torch.channels_last_3d)
    assert torch.allclose(net.segment(x, "s2"), a, atol=1e-5)


def test_golden_output():
    torch.manual_seed(1234)
    net = S4Net(tiny_config()).eval()
    x = torch.randn(2, 6, 3, 10, 9)
    fm = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    out = net.segment(x, "s2", fm)
    # computed once with this architecture; an accidental change of the layers shows here
    assert out.sum().item() == pytest.approx(GOLDEN_SUM, abs=1e-4, rel=1e-4)
    assert out.abs().sum().item() == pytest.approx(GOLDEN_ABS_SUM, abs=1e-4, rel=1e-4)
    enc = net.encode(x, "s2", fm)
    assert net.project(enc).abs().sum().item() == pytest.approx(GOLDEN_PROJ, rel=1e-4)
    assert net.reconstruct(enc, "s1").abs().sum().item() == pytest.approx(GOLDEN_REC, rel=1e-4)


# torch 2.13 CPU; default PyTorch initialisation under torch.manual_seed(1234)
GOLDEN_SUM = -6.769598960876465
GOLDEN_ABS_SUM = 14.720260620117188
GOLDEN_PROJ = 41.48115539550781
GOLDEN_REC = 48.382904052734375


def test_a_few_steps_lower_the_s4_loss():
    torch.manual_seed(0)
    net = S4Net(tiny_config(num_classes=0))
    g = torch.Generator().manual_seed(0)
    x2 = torch.randn(2, 4, 3, 12, 12, generator=g)
    mix = torch.randn(3, 2, generator=g)  # S1 is a noisy linear function of S2: aligned pairs
    x1 = torch.einsum("btchw,cd->btdhw", x2, mix) + 0.1 * torch.randn(2, 4, 2, 12, 12, generator=g)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    history = []
    for _ in range(8):
        out = net.pretrain_outputs(x1, x2)
        res = s4_loss(out, x1, x2, None, None, lam=0.01, mode="exact")
        opt.zero_grad()
        res["loss"].backward()
        opt.step()
        history.append(res["loss"].item())
    assert history[-1] < history[0] - 0.1


def test_a_layer_used_without_then_with_padding_in_one_graph_back_propagates():
    """DINO runs the network on views with and without padded frames before one backward:
    the masked batch norm's running-statistics update must not break the unmasked pass."""
    from s4_core.model import NetConfig, S4Net

    torch.manual_seed(0)
    net = S4Net(NetConfig(widths=(4, 8), dec_out_width=4)).train()
    x = torch.randn(2, 4, 2, 8, 8)
    plain = net._decode(net.encode(x, "s1"))  # no padding: the native batch norm
    padded = net._decode(net.encode(x[:, :3], "s1"))  # 3 frames: padded, masked batch norm
    (plain.square().mean() + padded.square().mean()).backward()
    assert all(p.grad is not None for p in net.encoder_parameters("s1"))


def test_series_only_members_of_the_pixel_head_read_exactly_the_input_bands():
    torch.manual_seed(0)
    b, t, c, d, h, w = 2, 4, 3, 5, 3, 2
    x, dec = torch.randn(b, t, c, h, w), torch.randn(b, d, t, h, w)
    feats = pixel_features(x, dec).permute(0, 2, 3, 1).reshape(-1, t * (c + d))
    head = PixelHead(t * (c + d), 4, PixelHeadConfig(members=2, raw_members=3), t, c).eval()
    assert len(head.members) == 5 and head.members[2][0].in_features == t * c
    series = x.permute(0, 3, 4, 1, 2).reshape(-1, t * c)  # per pixel: frame by frame, bands
    assert torch.equal(head.member_input(feats, 2), series)
    assert torch.equal(head.member_input(feats, 1), feats)
    # the network's features do not reach the series-only members
    other = pixel_features(x, torch.randn(b, d, t, h, w)).permute(0, 2, 3, 1).reshape(feats.shape)
    assert torch.equal(head.member_logits(other, 4), head.member_logits(feats, 4))
    assert not torch.equal(head.member_logits(other, 0), head.member_logits(feats, 0))
    # the index is rebuilt from the settings, not stored: checkpoints keep their keys
    assert "raw_index" not in head.state_dict()


def test_pixel_head_settings_are_stored_flat_as_before():
    from s4_core.train import FinetuneConfig

    head = PixelHeadConfig(hidden=8, members=2, raw_members=4, smooth_iters=3, smooth_sigma=0.5)
    stored = NetConfig(head="pixel", head_frames=4, pixel_head=head).to_dict()
    assert "pixel_head" not in stored
    assert (stored["head_hidden"], stored["head_members"], stored["head_raw_members"]) == (8, 2, 4)
    assert (stored["smooth_iters"], stored["smooth_sigma"]) == (3, 0.5)
    assert NetConfig.from_dict(stored).pixel_head == head
    # fine-tuning's recipe has series-only members; a stored config without them has none
    assert FinetuneConfig().pixel_head.raw_members == 5 and NetConfig().pixel_head.raw_members == 0


def test_checkpoints_without_series_only_members_load_as_before():
    cfg = NetConfig(widths=(4, 8), dec_out_width=4, head="pixel", head_frames=4).to_dict()
    del cfg["head_raw_members"]  # written before the setting existed
    net = S4Net(NetConfig.from_dict(cfg))
    net.set_num_classes(3)
    assert net.pixel_head is not None and len(net.pixel_head.members) == 5

"""S4 losses: InfoNCE (exact, sampled) against a naive double loop, masks, L1, the total."""

from __future__ import annotations

import math

import pytest
import torch

from s4_core.losses import (
    _InfoNCESum,
    _SymmetricInfoNCESum,
    info_nce,
    masked_l1,
    pool_valid,
    s4_loss,
    sample_positions,
)


def naive_info_nce(z_a, z_b, idx_per_sample, tau=0.5):
    """Eq. 2 by explicit loops over anchors and keys (float64); both directions, then mean."""
    losses, accs = [], []
    for k, idx in enumerate(idx_per_sample):
        idx = [int(i) for i in idx]
        if not idx:
            continue
        fa = z_a[k].reshape(z_a.shape[1], -1).double()
        fb = z_b[k].reshape(z_b.shape[1], -1).double()
        per_dir = []
        for anchors, keys in ((fa, fb), (fb, fa)):
            total, correct = 0.0, 0
            for p in idx:
                u = anchors[:, p] / anchors[:, p].norm()
                sims = {}
                for q in idx:
                    v = keys[:, q] / keys[:, q].norm()
                    sims[q] = float(u @ v)
                denom = sum(math.exp(s / tau) for s in sims.values())
                total += -math.log(math.exp(sims[p] / tau) / denom)
                negatives = [s for q, s in sims.items() if q != p]
                correct += int(not negatives or sims[p] > max(negatives))
            per_dir.append((total / len(idx), correct / len(idx)))
        losses.append((per_dir[0][0] + per_dir[1][0]) / 2)
        accs.append((per_dir[0][1] + per_dir[1][1]) / 2)
    return sum(losses) / len(losses), sum(accs) / len(accs)


def tiny_pair(seed=0, shape=(2, 5, 3, 3, 2)):
    g = torch.Generator().manual_seed(seed)
    z_a = torch.randn(*shape, generator=g)
    z_b = z_a + 0.8 * torch.randn(*shape, generator=g)
    valid = torch.rand(shape[0], *shape[2:], generator=g) > 0.25
    return z_a, z_b, valid


def all_indices(valid):
    return [vb.flatten().nonzero().squeeze(1) for vb in valid]


def test_exact_and_sampled_match_naive_double_loop():
    z_a, z_b, valid = tiny_pair()
    ref_loss, ref_acc = naive_info_nce(z_a, z_b, all_indices(valid))
    exact, acc_e = info_nce(z_a, z_b, valid, mode="exact")
    sampled, acc_s = info_nce(z_a, z_b, valid, mode="sampled", num_anchors=10_000)
    assert exact.item() == pytest.approx(ref_loss, abs=1e-5)
    assert sampled.item() == pytest.approx(ref_loss, abs=1e-5)
    assert acc_e.item() == pytest.approx(ref_acc, abs=1e-6)
    assert acc_s.item() == pytest.approx(ref_acc, abs=1e-6)
    # tiny anchor blocks give the same numbers
    blocked, _ = info_nce(z_a, z_b, valid, mode="exact", chunk=2)
    assert blocked.item() == pytest.approx(ref_loss, abs=1e-5)


def test_small_temperature_path_matches_naive_double_loop():
    z_a, z_b, valid = tiny_pair(seed=11)
    for tau in (0.02, 0.1):  # 0.02 takes the per-direction logsumexp path
        ref_loss, ref_acc = naive_info_nce(z_a, z_b, all_indices(valid), tau=tau)
        loss, acc = info_nce(z_a, z_b, valid, tau=tau, mode="exact", chunk=3)
        assert loss.item() == pytest.approx(ref_loss, rel=1e-5)
        assert acc.item() == pytest.approx(ref_acc, abs=1e-6)


def test_sampled_uses_a_random_subset_like_the_naive_loop():
    z_a, z_b, valid = tiny_pair(seed=1)
    idx = sample_positions(valid, 5, torch.Generator().manual_seed(7))
    assert all(len(i) == 5 and len(set(i.tolist())) == 5 for i in idx)
    assert all(bool(valid[k].flatten()[i].all()) for k, i in enumerate(idx))
    ref_loss, ref_acc = naive_info_nce(z_a, z_b, idx)
    loss, acc = info_nce(
        z_a, z_b, valid, mode="sampled", num_anchors=5, generator=torch.Generator().manual_seed(7)
    )
    assert loss.item() == pytest.approx(ref_loss, abs=1e-5)
    assert acc.item() == pytest.approx(ref_acc, abs=1e-6)


def test_gradient_of_blocked_function_matches_autograd():
    g = torch.Generator().manual_seed(3)
    a = torch.nn.functional.normalize(torch.randn(7, 4, generator=g, dtype=torch.float64), dim=1)
    b = torch.nn.functional.normalize(torch.randn(7, 4, generator=g, dtype=torch.float64), dim=1)
    a.requires_grad_(True)
    b.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x, y: _InfoNCESum.apply(x, y, 2.0, 3)[0], (a, b))
    assert torch.autograd.gradcheck(
        lambda x, y: _SymmetricInfoNCESum.apply(x, y, 2.0, 3)[0], (a, b)
    )
    # the fused function equals the two directional passes, value and retrievals
    fused = _SymmetricInfoNCESum.apply(a, b, 2.0, 2)
    ab, ba = _InfoNCESum.apply(a, b, 2.0, 7), _InfoNCESum.apply(b, a, 2.0, 7)
    assert fused[0].item() == pytest.approx((ab[0] + ba[0]).item(), abs=1e-10)
    assert fused[1].item() == (ab[1] + ba[1]).item()
    # and the full info_nce gradient equals a dense autograd reference
    z_a, z_b, valid = tiny_pair(seed=4)
    z_a.requires_grad_(True)
    z_b.requires_grad_(True)
    loss, _ = info_nce(z_a, z_b, valid, mode="exact", chunk=2)
    ga, gb = torch.autograd.grad(loss, (z_a, z_b))
    ref = 0.0
    for k, idx in enumerate(all_indices(valid)):
        fa = torch.nn.functional.normalize(z_a[k].reshape(5, -1)[:, idx].t(), dim=1)
        fb = torch.nn.functional.normalize(z_b[k].reshape(5, -1)[:, idx].t(), dim=1)
        sim = fa @ fb.t() / 0.5
        target = torch.arange(len(idx))
        ce = torch.nn.functional.cross_entropy
        ref = ref + (ce(sim, target) + ce(sim.t(), target)) / 2
    ref = ref / len(valid)
    ra, rb = torch.autograd.grad(ref, (z_a, z_b))
    assert torch.allclose(ga, ra, atol=1e-6)
    assert torch.allclose(gb, rb, atol=1e-6)


@pytest.mark.parametrize("mode", ["exact", "sampled"])
def test_symmetric_in_the_modalities(mode):
    z_a, z_b, valid = tiny_pair(seed=2, shape=(2, 4, 4, 4, 4))
    kw = dict(mode=mode, num_anchors=20)
    ab, acc_ab = info_nce(z_a, z_b, valid, generator=torch.Generator().manual_seed(5), **kw)
    ba, acc_ba = info_nce(z_b, z_a, valid, generator=torch.Generator().manual_seed(5), **kw)
    assert ab.item() == pytest.approx(ba.item(), abs=1e-6)
    assert acc_ab.item() == pytest.approx(acc_ba.item(), abs=1e-6)


def test_closed_forms():
    # orthogonal one-hot features, identical in both modalities: positive sim 1, negatives 0
    n = 12
    z = torch.eye(n).reshape(1, n, 1, 3, 4)
    loss, acc = info_nce(z, z.clone(), mode="exact")
    assert loss.item() == pytest.approx(math.log(1 + (n - 1) * math.exp(-2.0)), abs=1e-6)
    assert acc.item() == 1.0
    # identical random features: the positive is always the nearest key
    z = torch.randn(2, 8, 2, 5, 5)
    _, acc = info_nce(z, z * 3.0, mode="sampled", num_anchors=30)
    assert acc.item() == 1.0
    # constant features: all similarities equal -> loss log(N), no anchor retrieves strictly
    z = torch.ones(1, 3, 2, 2, 2)
    loss, acc = info_nce(z, z, mode="exact")
    assert loss.item() == pytest.approx(math.log(8), abs=1e-6)
    assert acc.item() == 0.0


@pytest.mark.parametrize("mode", ["exact", "sampled"])
def test_masked_positions_do_not_matter(mode):
    z_a, z_b, valid = tiny_pair(seed=6, shape=(2, 3, 2, 4, 4))
    z_a.requires_grad_(True)
    kw = dict(mode=mode, num_anchors=9)
    loss, acc = info_nce(z_a, z_b, valid, generator=torch.Generator().manual_seed(1), **kw)
    (grad,) = torch.autograd.grad(loss, z_a)
    assert grad.permute(0, 2, 3, 4, 1)[~valid].abs().max() == 0
    bad = ~valid[:, None].expand_as(z_a)
    z_a2 = torch.where(bad, torch.full_like(z_a, 1e3), z_a.detach())
    z_b2 = torch.where(bad, torch.randn_like(z_b) * 50, z_b)
    loss2, acc2 = info_nce(z_a2, z_b2, valid, generator=torch.Generator().manual_seed(1), **kw)
    assert loss2.item() == pytest.approx(loss.item(), abs=1e-6)
    assert acc2.item() == acc.item()


def test_no_valid_position_and_bad_arguments():
    z = torch.randn(2, 3, 1, 2, 2, requires_grad=True)
    valid = torch.zeros(2, 1, 2, 2, dtype=torch.bool)
    loss, acc = info_nce(z, z, valid)
    assert loss.item() == 0.0 and math.isnan(acc.item())
    loss.backward()  # still attached
    # a sample without valid positions is left out of the batch mean
    valid[1] = True
    one, _ = info_nce(z, z, valid, mode="exact")
    alone, _ = info_nce(z[1:], z[1:], valid[1:], mode="exact")
    assert one.item() == pytest.approx(alone.item(), abs=1e-6)
    with pytest.raises(ValueError, match="mode"):
        info_nce(z, z, mode="full")
    with pytest.raises(ValueError, match="valid"):
        info_nce(z, z, valid[:, :, :1])
    with pytest.raises(ValueError, match="z_a and z_b"):
        info_nce(z, z[:, :2])


def test_masked_l1():
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(2, 3, 4, 5, 5, generator=g, requires_grad=True)
    target = torch.randn(2, 3, 4, 5, 5, generator=g)
    valid = torch.rand(2, 3, 5, 5, generator=g) > 0.5
    target_nan = target.clone()
    target_nan.permute(0, 1, 3, 4, 2)[~valid] = float("nan")
    loss = masked_l1(pred, target_nan, valid)
    diffs = (pred - target).abs().permute(0, 1, 3, 4, 2)[valid]  # (n, C)
    assert loss.item() == pytest.approx(diffs.mean().item(), abs=1e-6)
    loss.backward()
    assert torch.isfinite(pred.grad).all()
    assert pred.grad.permute(0, 1, 3, 4, 2)[~valid].abs().max() == 0
    # (B, T) frame masks broadcast over pixels; None = plain mean
    frames = torch.tensor([[True, False, True], [False, False, True]])
    ref = (pred - target).abs()[frames].mean()
    assert masked_l1(pred, target, frames).item() == pytest.approx(ref.item(), abs=1e-6)
    assert masked_l1(pred, target).item() == pytest.approx(
        (pred - target).abs().mean().item(), abs=1e-6
    )
    none = masked_l1(pred, target, torch.zeros(2, 3, dtype=torch.bool))
    assert none.item() == 0.0 and none.requires_grad


def test_pool_valid_matches_a_loop():
    g = torch.Generator().manual_seed(2)
    valid = torch.rand(2, 5, 7, 6, generator=g) > 0.8
    pooled = pool_valid(valid, (2, 2, 2), 4)
    for b in range(2):
        for t in range(2):
            for h in range(2):
                for w in range(2):
                    cell = valid[b, 4 * t : 4 * t + 4, 4 * h : 4 * h + 4, 4 * w : 4 * w + 4]
                    assert bool(pooled[b, t, h, w]) == bool(cell.any())
    with pytest.raises(ValueError):
        pool_valid(valid, (1, 2, 2), 4)


def fake_outputs(seed=0, b=2, t=8, h=8, w=8, d=6):
    g = torch.Generator().manual_seed(seed)
    return {
        "z_s1": torch.randn(b, d, t // 4, h // 4, w // 4, generator=g, requires_grad=True),
        "z_s2": torch.randn(b, d, t // 4, h // 4, w // 4, generator=g, requires_grad=True),
        "feat_mask": torch.ones(b, t // 4, h // 4, w // 4, dtype=torch.bool),
        "rec_s1": torch.randn(b, t, 2, h, w, generator=g, requires_grad=True),
        "rec_s2": torch.randn(b, t, 3, h, w, generator=g, requires_grad=True),
        "frame_mask": torch.ones(b, t, dtype=torch.bool),
        "factor": 4,
    }


def test_s4_loss_combines_terms_and_masks():
    out = fake_outputs()
    x1, x2 = torch.randn(2, 8, 2, 8, 8), torch.randn(2, 8, 3, 8, 8)
    v1 = torch.ones(2, 8, 8, 8, dtype=torch.bool)
    v2 = v1.clone()
    v2[:, :4] = False  # S2 has no valid observation in the first 4 frames
    res = s4_loss(out, x1, x2, v1, v2, lam=0.5, mode="exact")
    fvalid = torch.ones(2, 2, 2, 2, dtype=torch.bool)
    fvalid[:, 0] = False
    lc, acc = info_nce(out["z_s1"], out["z_s2"], fvalid, mode="exact")
    lr = 0.5 * (masked_l1(out["rec_s2"], x2, v2) + masked_l1(out["rec_s1"], x1, v1))
    assert res["contrastive"] == pytest.approx(lc.item(), abs=1e-6)
    assert res["reconstruction"] == pytest.approx(lr.item(), abs=1e-6)
    assert res["accuracy"] == pytest.approx(acc.item())
    assert res["loss"].item() == pytest.approx(lc.item() + 0.5 * lr.item(), abs=1e-6)
    res["loss"].backward()
    assert all(out[k].grad is not None for k in ("z_s1", "z_s2", "rec_s1", "rec_s2"))
    # S2 values where S2 is invalid do not matter; neither do masked frames
    x2b = x2.clone()
    x2b[:, :4] = float("nan")
    out["frame_mask"][:, -1] = False
    x1b = x1.clone()
    x1b[:, -1] = 1e6
    a = s4_loss(out, x1, x2, v1, v2, mode="exact")
    b = s4_loss(out, x1b, x2b, v1, v2, mode="exact")
    assert a["reconstruction"] == pytest.approx(b["reconstruction"], abs=1e-6)
    assert math.isfinite(b["loss"].item())
    # without the stored factor it is inferred from the shapes
    del out["factor"]
    c = s4_loss(out, x1, x2, v1, v2, mode="exact")
    assert c["contrastive"] == pytest.approx(a["contrastive"], abs=1e-6)


def test_s4_loss_switches_terms_off():
    out = fake_outputs(seed=1)
    x1, x2 = torch.randn(2, 8, 2, 8, 8), torch.randn(2, 8, 3, 8, 8)
    only_c = {k: v for k, v in out.items() if not k.startswith("rec")}
    res = s4_loss(only_c, x1, x2, None, None, lam=0.0, mode="exact")
    assert res["reconstruction"] == 0.0
    assert res["loss"].item() == pytest.approx(res["contrastive"], abs=1e-6)
    only_r = {k: v for k, v in out.items() if not k.startswith("z_")}
    res = s4_loss(only_r, x1, x2, None, None, contrastive_weight=0.0, lam=0.01)
    assert res["contrastive"] == 0.0 and math.isnan(res["accuracy"])
    assert res["loss"].item() == pytest.approx(0.01 * res["reconstruction"], abs=1e-7)
    with pytest.raises(ValueError, match="reconstruction"):
        s4_loss(only_c, x1, x2, None, None)
    with pytest.raises(ValueError, match="nothing to optimise"):
        s4_loss(out, x1, x2, None, None, lam=0.0, contrastive_weight=0.0)


def test_exact_mode_memory_is_blocked():
    # 2048 positions: blocks of 64 anchors give the same loss as one dense N x N block
    g = torch.Generator().manual_seed(9)
    z_a = torch.randn(1, 8, 8, 16, 16, generator=g)
    z_b = z_a + torch.randn(1, 8, 8, 16, 16, generator=g)
    dense, acc_d = info_nce(z_a, z_b, mode="exact", chunk=4096)
    blocked, acc_b = info_nce(z_a, z_b, mode="exact", chunk=64)
    assert blocked.item() == pytest.approx(dense.item(), abs=1e-5)
    assert acc_b.item() == acc_d.item()

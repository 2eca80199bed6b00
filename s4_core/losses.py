"""S4 self-supervised losses: space-time InfoNCE (paper eq. 2) and masked L1 reconstruction (eq. 3).

InfoNCE, per sample: features are L2-normalised (cosine similarity), temperature ``tau``. For an
anchor at position p of modality a, the positive is position p of modality b and the keys are
all used positions of modality b (the positive included, as in eq. 2's denominator):
``l_p = logsumexp_q(sim(a_p, b_q) / tau) - sim(a_p, b_p) / tau``. The per-sample loss is the
mean over anchors with a as anchor modality, averaged with the same for b as anchor; the batch
loss is the mean over samples that have at least one valid position. Retrieval accuracy: the
fraction of anchors whose positive is strictly more similar than every negative key, averaged
the same way.

- ``mode="exact"``: all valid positions are anchors and keys. Computed in blocks of anchors by a
  custom autograd function that recomputes the similarities in backward, so memory holds one
  or two ``block x N`` blocks (at most ``chunk`` anchors and ``_BLOCK_ELEMENTS``
  similarities) instead of the ``N x N`` matrix (32 x 128 x 128 positions: ~1 TiB). Both
  directions come from the same blocks (row and column sums); for tau < 0.025 a slower,
  overflow-proof path runs each direction separately.
- ``mode="sampled"``: ``num_anchors`` valid positions are drawn per sample (without
  replacement, ``generator``); they are both the anchors and the keys, the same set for both
  directions. With ``num_anchors >= N`` all positions are used and the result equals exact.

Invalid positions (``valid`` False: padded frames, pixels without observations) are neither
anchors nor keys. At ``tau = 0.5`` the loss cannot reach 0 (it is at least
``log(1 + (N - 1) e^-4)`` with N keys) and depends on N: watch the accuracy as well.
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Protocol, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

_BLOCK_ELEMENTS = 1 << 24  # at most 16 M similarities (64 MiB fp32) per block in exact mode


DSim = Callable[[Tensor, int], Tensor]
"""``d_sim(sim, s)``: d loss / d sim of the rows ``s ..`` from their similarities ``sim``."""


class _Ctx(Protocol):
    """The autograd context of the InfoNCE functions: saved tensors plus the block settings."""

    saved_tensors: Tuple[Tensor, ...]
    needs_input_grad: Tuple[bool, ...]
    inv_tau: float
    block: int
    d_sim: Callable[..., DSim]

    def save_for_backward(self, *tensors: Tensor) -> None: ...

    def mark_non_differentiable(self, *tensors: Tensor) -> None: ...


def _blocked_backward(
    ctx: _Ctx, a: Tensor, b: Tensor, grad_total: Tensor, d_sim: DSim
) -> Tuple[Optional[Tensor], Optional[Tensor], None, None]:
    """The gradients of a contrastive loss over the similarities ``a_i . b_j / tau``.

    Computed ``ctx.block`` rows at a time (the (N, N) matrix is never held whole).

    Args:
        ctx: the autograd context (``inv_tau``, ``block``, ``needs_input_grad``).
        a: (N, D) anchors.
        b: (N, D) keys.
        grad_total: the gradient of the summed loss.
        d_sim: ``d_sim(sim, s)``: d loss / d sim of the rows ``s ..`` from their similarities
            ``sim`` (may be overwritten in place).

    Returns:
        The gradients of ``backward`` (a, b, and None for ``inv_tau`` and ``block``).
    """
    n, inv_tau, block = a.shape[0], ctx.inv_tau, ctx.block
    grad_a = torch.zeros_like(a) if ctx.needs_input_grad[0] else None
    grad_b = torch.zeros_like(b) if ctx.needs_input_grad[1] else None
    a_scaled = a * inv_tau
    bt = b.t()
    scale = grad_total * inv_tau
    for s in range(0, n, block):
        e = min(n, s + block)
        g = d_sim(a_scaled[s:e] @ bt, s)
        if grad_a is not None:
            grad_a[s:e] = (g @ b).mul_(scale)
        if grad_b is not None:
            grad_b.addmm_(g.t(), a[s:e])
    if grad_b is not None:
        grad_b.mul_(scale)
    return grad_a, grad_b, None, None


def _keep(
    ctx: _Ctx,
    saved: Tuple[Tensor, ...],
    d_sim: Callable[..., DSim],
    inv_tau: float,
    block: int,
    total: Tensor,
    correct: Tensor,
) -> Tuple[Tensor, Tensor]:
    """End a forward: keep ``saved`` (a, b, then ``d_sim``'s sums) for ``_BlockedSum.backward``.

    ``d_sim(ctx, *sums)`` makes the backward's ``DSim``; the retrieval count is not differentiable.
    """
    ctx.save_for_backward(*saved)
    ctx.d_sim, ctx.inv_tau, ctx.block = d_sim, inv_tau, block
    correct = correct.to(total.dtype)
    ctx.mark_non_differentiable(correct)
    return total, correct


class _BlockedSum(torch.autograd.Function):
    """A contrastive sum over blocks of similarities; subclasses' forward ends with ``_keep``."""

    @staticmethod
    def backward(
        ctx: _Ctx, grad_total: Tensor, _grad_correct: Tensor
    ) -> Tuple[Optional[Tensor], Optional[Tensor], None, None]:
        a, b, *sums = ctx.saved_tensors
        return _blocked_backward(ctx, a, b, grad_total, ctx.d_sim(ctx, *sums))


def _softmax_d_sim(ctx: _Ctx, lse: Tensor) -> DSim:
    """The gradient of one direction: the softmax over keys minus the one-hot positive."""

    def d_sim(sim: Tensor, s: int) -> Tensor:
        p = sim.sub_(lse[s : s + sim.shape[0], None]).exp_()  # softmax over keys
        p.diagonal(offset=s).sub_(1.0)  # d loss / d sim = softmax - one-hot
        return p

    return d_sim


def _symmetric_d_sim(ctx: _Ctx, row_sum: Tensor, col_sum: Tensor) -> DSim:
    """The gradient of both directions: row + column softmax, minus 2 on the diagonal."""
    inv_row, inv_col = row_sum.reciprocal(), col_sum.reciprocal()

    def d_sim(sim: Tensor, s: int) -> Tensor:
        g = sim.sub_(ctx.inv_tau).exp_()
        g.mul_(inv_row[s : s + sim.shape[0], None] + inv_col[None, :])
        g.diagonal(offset=s).sub_(2.0)
        return g

    return d_sim


class _InfoNCESum(_BlockedSum):
    """Blocked InfoNCE: the loss summed over anchors and the number retrieved correctly.

    The sum over anchors i of ``logsumexp_j(a_i . b_j * s) - a_i . b_i * s`` and the number of
    anchors whose positive beats every negative. ``a``, ``b``: (N, D) float32, normalised.
    """

    @staticmethod
    def forward(
        ctx: _Ctx, a: Tensor, b: Tensor, inv_tau: float, block: int
    ) -> Tuple[Tensor, Tensor]:
        n = a.shape[0]
        lse = torch.empty(n, dtype=a.dtype, device=a.device)
        total = torch.zeros((), dtype=a.dtype, device=a.device)
        correct = torch.zeros((), dtype=a.dtype, device=a.device)
        a_scaled = a * inv_tau
        bt = b.t()
        for s in range(0, n, block):
            e = min(n, s + block)
            sim = a_scaled[s:e] @ bt  # (e - s, n) similarities / tau
            diag = sim.diagonal(offset=s)  # the positives (i, s + i)
            pos = diag.clone()
            lse[s:e] = torch.logsumexp(sim, dim=1)
            total += (lse[s:e] - pos).sum()
            diag.fill_(float("-inf"))
            correct += (pos > sim.amax(dim=1)).sum()
        return _keep(ctx, (a, b, lse), _softmax_d_sim, inv_tau, block, total, correct)


# exp(sim / tau - 1 / tau) >= exp(-2 / tau) stays a normal float32 for tau >= 0.025
_SHIFTED_MAX_INV_TAU = 40.0


class _SymmetricInfoNCESum(_BlockedSum):
    """Both InfoNCE directions in one pass (half the work of two ``_InfoNCESum`` calls).

    The row sums of ``E = exp(sim / tau - 1 / tau)`` give the a->b logsumexps and its column sums
    the b->a ones (cosine <= 1, so the fixed shift cannot overflow). Returns the summed loss of both
    directions and the number of correct retrievals of both directions.
    """

    @staticmethod
    def forward(
        ctx: _Ctx, a: Tensor, b: Tensor, inv_tau: float, block: int
    ) -> Tuple[Tensor, Tensor]:
        n = a.shape[0]
        a_scaled = a * inv_tau
        bt = b.t()
        row_sum, row_neg, e_pos = (a.new_empty(n) for _ in range(3))
        col_sum, col_neg = a.new_zeros(n), a.new_zeros(n)
        for s in range(0, n, block):
            e = min(n, s + block)
            ex = (a_scaled[s:e] @ bt).sub_(inv_tau).exp_()  # (e - s, n)
            row_sum[s:e] = ex.sum(1)
            col_sum += ex.sum(0)
            diag = ex.diagonal(offset=s)
            e_pos[s:e] = diag
            diag.zero_()  # negatives only (E >= 0, so 0 = "no negative")
            row_neg[s:e] = ex.amax(1)
            torch.maximum(col_neg, ex.amax(0), out=col_neg)
        pos = (a * b).sum(1) * inv_tau
        total = (row_sum.log() - pos).sum() + (col_sum.log() - pos).sum() + 2 * n * inv_tau
        correct = (e_pos > row_neg).sum() + (e_pos > col_neg).sum()
        return _keep(
            ctx, (a, b, row_sum, col_sum), _symmetric_d_sim, inv_tau, block, total, correct
        )


def sample_positions(
    valid: Tensor, num: Optional[int] = None, generator: Optional[torch.Generator] = None
) -> list[Tensor]:
    """Per sample, the flat indices of the positions used by ``info_nce``.

    ``valid``: bool ``(B, ...)``. ``num`` None, or >= the number of valid positions: all of them
    (in order); otherwise ``num`` drawn without replacement with ``torch.randperm`` on the
    generator's device (CPU by default).
    """
    out = []
    gen_device = generator.device if generator is not None else torch.device("cpu")
    for vb in valid.reshape(valid.shape[0], -1):
        idx = vb.nonzero().squeeze(1)
        if num is not None and num < idx.numel():
            perm = torch.randperm(idx.numel(), generator=generator, device=gen_device)[:num]
            idx = idx[perm.to(idx.device)]
        out.append(idx)
    return out


def info_nce(
    z_a: Tensor,
    z_b: Tensor,
    valid: Optional[Tensor] = None,
    *,
    tau: float = 0.5,
    mode: str = "sampled",
    num_anchors: int = 4096,
    chunk: int = 4096,
    generator: Optional[torch.Generator] = None,
) -> tuple[Tensor, Tensor]:
    """Symmetric space-time InfoNCE between ``z_a`` and ``z_b`` ``(B, D, T, H, W)``.

    ``valid``: bool ``(B, T, H, W)`` (None = all). Returns ``(loss, accuracy)``; accuracy is
    detached. Without any valid position the loss is 0 (still attached) and accuracy NaN.
    """
    if z_a.shape != z_b.shape or z_a.dim() != 5:
        raise ValueError(
            f"z_a and z_b must both be (B, D, T, H, W), got {tuple(z_a.shape)}, {tuple(z_b.shape)}"
        )
    if mode not in ("sampled", "exact"):
        raise ValueError(f"mode must be 'sampled' or 'exact', got {mode!r}")
    if tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    if chunk < 1 or num_anchors < 1:
        raise ValueError("chunk and num_anchors must be >= 1")
    bsz, dim = z_a.shape[:2]
    positions = z_a.shape[2:]
    if valid is None:
        valid = torch.ones((bsz, *positions), dtype=torch.bool, device=z_a.device)
    elif tuple(valid.shape) != (bsz, *positions):
        raise ValueError(
            f"valid must be (B, T, H, W) = {(bsz, *positions)}, got {tuple(valid.shape)}"
        )
    fa = z_a.reshape(bsz, dim, -1)
    fb = z_b.reshape(bsz, dim, -1)
    idx_all = sample_positions(valid.bool(), num_anchors if mode == "sampled" else None, generator)
    losses, accs = [], []
    for k, idx in enumerate(idx_all):
        n = idx.numel()
        if n == 0:
            continue
        idx = idx.to(z_a.device)
        a = F.normalize(fa[k].index_select(1, idx).t().float(), dim=1)
        b = F.normalize(fb[k].index_select(1, idx).t().float(), dim=1)
        block = max(1, min(chunk, _BLOCK_ELEMENTS // n))
        if 1.0 / tau <= _SHIFTED_MAX_INV_TAU:
            loss_sum, ok = _SymmetricInfoNCESum.apply(a, b, 1.0 / tau, block)
        else:  # very small tau: one numerically safe logsumexp pass per direction
            loss_ab, ok_ab = _InfoNCESum.apply(a, b, 1.0 / tau, block)
            loss_ba, ok_ba = _InfoNCESum.apply(b, a, 1.0 / tau, block)
            loss_sum, ok = loss_ab + loss_ba, ok_ab + ok_ba
        losses.append(loss_sum / (2 * n))
        accs.append(ok / (2 * n))
    if not losses:
        zero = (z_a.sum() + z_b.sum()).float() * 0.0
        return zero, torch.tensor(float("nan"), device=z_a.device)
    return torch.stack(losses).mean(), torch.stack(accs).mean().detach()


def masked_l1(pred: Tensor, target: Tensor, valid: Optional[Tensor] = None) -> Tensor:
    """Mean absolute error over valid positions (all channels): ``sum |pred - target| / (n C)``.

    ``pred``/``target`` ``(B, T, C, H, W)``; ``valid`` bool ``(B, T, H, W)`` or ``(B, T)``
    (broadcast over channels and, for ``(B, T)``, pixels). Target values at invalid positions
    are ignored, NaN included. No valid position: 0 (still attached to ``pred``).
    """
    if pred.shape != target.shape or pred.dim() != 5:
        raise ValueError(
            f"pred and target must both be (B, T, C, H, W), got {tuple(pred.shape)}, "
            f"{tuple(target.shape)}"
        )
    if valid is None:
        return (pred - target).abs().mean()
    b, t, c, h, w = pred.shape
    v = valid.to(device=pred.device, dtype=torch.bool)
    if v.dim() == 2:
        v = v[:, :, None, None]
    if v.dim() != 4:
        raise ValueError(f"valid must be (B, T, H, W) or (B, T), got {tuple(valid.shape)}")
    v = v.expand(b, t, h, w)
    v5 = v.unsqueeze(2)
    clean = torch.where(v5, target, torch.zeros((), dtype=target.dtype, device=target.device))
    err = torch.where(
        v5, (pred - clean).abs(), torch.zeros((), dtype=pred.dtype, device=pred.device)
    )
    count = v.sum() * c
    return err.sum() / count.clamp(min=1)


def pool_valid(valid: Tensor, size: Sequence[int], factor: int) -> Tensor:
    """Down-sample a ``(B, T, H, W)`` validity mask to the bottleneck ``size = (T', H', W')``.

    Pads with False to ``factor * size`` and keeps cells with at least one valid position.
    """
    t2, h2, w2 = (int(s) for s in size)
    _, t, h, w = valid.shape
    pt, ph, pw = t2 * factor - t, h2 * factor - h, w2 * factor - w
    if min(pt, ph, pw) < 0 or max(pt, ph, pw) >= factor:
        raise ValueError(
            f"a ({t}, {h}, {w}) mask does not map to ({t2}, {h2}, {w2}) with factor {factor}"
        )
    m = F.pad(valid.to(torch.float32), (0, pw, 0, ph, 0, pt))
    if factor > 1:
        m = F.max_pool3d(m.unsqueeze(1), factor).squeeze(1)
    return m > 0


def _infer_factor(full: Sequence[int], reduced: Sequence[int]) -> int:
    for k in range(16):
        f = 2**k
        if all(math.ceil(n / f) == r for n, r in zip(full, reduced)):
            return f
    raise ValueError(f"cannot relate input size {tuple(full)} to feature size {tuple(reduced)}")


def _input_valid(
    valid: Optional[Tensor], frame_mask: Optional[Tensor], x: Tensor
) -> Optional[Tensor]:
    """Combine a per-pixel (B, T, H, W) or per-frame (B, T) mask with the frame mask."""
    b, t, _, h, w = x.shape
    out = None
    if valid is not None:
        v = valid.to(device=x.device, dtype=torch.bool)
        out = (v[:, :, None, None] if v.dim() == 2 else v).expand(b, t, h, w)
    if frame_mask is not None:
        fm = frame_mask.to(device=x.device, dtype=torch.bool)[:, :, None, None].expand(b, t, h, w)
        out = fm if out is None else out & fm
    return out


def s4_loss(
    outputs: dict,
    x_s1: Tensor,
    x_s2: Tensor,
    valid_s1: Optional[Tensor],
    valid_s2: Optional[Tensor],
    *,
    lam: float = 0.01,
    contrastive_weight: float = 1.0,
    tau: float = 0.5,
    mode: str = "sampled",
    num_anchors: int = 4096,
    generator: Optional[torch.Generator] = None,
) -> dict:
    """``L = contrastive_weight * Lc + lam * Lr`` from ``S4Net.pretrain_outputs``.

    Lc: ``info_nce(z_s1, z_s2)`` over bottleneck cells that hold a real frame (``feat_mask``)
    and at least one valid S1 AND one valid S2 observation (masks pooled to the bottleneck).
    Lr: mean of ``masked_l1(rec_s2, x_s2, valid_s2)`` and ``masked_l1(rec_s1, x_s1,
    valid_s1)``, both also restricted to ``outputs["frame_mask"]``. A term whose weight is 0 is
    not computed (its value is reported as 0.0, accuracy as NaN).

    Returns ``loss`` (tensor, for backward) and floats ``contrastive``, ``reconstruction``,
    ``accuracy``.
    """
    if contrastive_weight <= 0 and lam <= 0:
        raise ValueError("s4_loss: contrastive_weight and lam are both 0; nothing to optimise")
    frame_mask = outputs.get("frame_mask")
    v1 = _input_valid(valid_s1, frame_mask, x_s1)
    v2 = _input_valid(valid_s2, frame_mask, x_s2)
    total: Optional[Tensor] = None
    lc_value, lr_value, acc_value = 0.0, 0.0, float("nan")
    if contrastive_weight > 0:
        if "z_s1" not in outputs or "z_s2" not in outputs:
            raise ValueError(
                "s4_loss: the contrastive term needs pretrain_outputs(contrastive=True)"
            )
        z1, z2 = outputs["z_s1"], outputs["z_s2"]
        fsize = z1.shape[2:]
        fvalid = outputs.get("feat_mask")
        if fvalid is None:
            fvalid = torch.ones((z1.shape[0], *fsize), dtype=torch.bool, device=z1.device)
        factor = outputs.get("factor") or _infer_factor(
            (x_s1.shape[1], x_s1.shape[3], x_s1.shape[4]), fsize
        )
        for v in (v1, v2):
            if v is not None:
                fvalid = fvalid & pool_valid(v, fsize, int(factor)).to(fvalid.device)
        lc, acc = info_nce(
            z1, z2, fvalid, tau=tau, mode=mode, num_anchors=num_anchors, generator=generator
        )
        total = contrastive_weight * lc
        lc_value, acc_value = float(lc.detach()), float(acc)
    if lam > 0:
        if "rec_s1" not in outputs or "rec_s2" not in outputs:
            raise ValueError(
                "s4_loss: the reconstruction term needs pretrain_outputs(reconstruction=True)"
            )
        lr = 0.5 * (masked_l1(outputs["rec_s2"], x_s2, v2) + masked_l1(outputs["rec_s1"], x_s1, v1))
        total = lam * lr if total is None else total + lam * lr
        lr_value = float(lr.detach())
    return {
        "loss": total,
        "contrastive": lc_value,
        "reconstruction": lr_value,
        "accuracy": acc_value,
    }

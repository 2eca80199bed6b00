"""Self-distillation without labels (DINO, Caron et al. 2021) on one modality, pixel-wise.

Design (the seeds leave it open for a segmentation backbone):

- views: ``dino_views`` (>= 2) views of each crop, each a random spatial sub-window of 3/4 of
  the crop, a random contiguous time range of at least half the frames, a random horizontal
  flip, frame dropout (each real frame hidden with probability 0.2, one always kept) and
  speckle-like multiplicative noise (gamma-distributed intensity factor: additive in dB for
  S1, multiplicative on reflectance for S2; in standardised units through the band stats);
- outputs: PIXEL-WISE, not pooled over the crop. The decoder features are averaged over each
  view's real frames (time is pooled, space is not), then a small per-pixel head (1x1 convs)
  gives ``dino_prototypes`` logits per pixel. Dense outputs train the decoder, whose features
  the default pixel head of fine-tuning reads; a pooled (one vector per crop) output would
  train the bottleneck only and blur field boundaries;
- loss: for each ordered pair of different views, the cross-entropy between the teacher's
  centred and sharpened probabilities (``softmax((t - c) / 0.04)``) and the student's
  (``log_softmax(s / 0.1)``) at the pixels both views cover (flips undone) and observe;
- teacher: a copy of the network + head, updated after every step as
  ``teacher = m * teacher + (1 - m) * student`` with the cosine schedule ``m`` from
  ``dino_momentum`` to 1 over the run; the centre ``c`` is an EMA (0.9) of the teacher's mean
  output, started at the first batch's mean. Only the student is saved as the network.
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from s4_core.types import override

from ..device import autocast_context
from ..model import S4Net
from .base import SingleModalityObjective

if TYPE_CHECKING:
    from ..train import PretrainConfig

STUDENT_TEMP = 0.1
TEACHER_TEMP = 0.04
CENTRE_MOMENTUM = 0.9
VIEW_FRACTION = 0.75
FRAME_DROPOUT = 0.2
SPECKLE_LOOKS = {"s1": 5.0, "s2": 20.0}


def momentum_schedule(done: int, total: int, base: float) -> float:
    """Teacher momentum after ``done`` of ``total`` steps: cosine from ``base`` to 1."""
    frac = min(1.0, max(0.0, done / max(1, total)))
    return 1.0 - (1.0 - base) * (math.cos(math.pi * frac) + 1.0) / 2.0


@torch.no_grad()
def ema_update(teacher: nn.Module, student: nn.Module, momentum: float) -> None:
    """Move the teacher towards the student: ``p_t = m * p_t + (1 - m) * p_s``.

    For every parameter (``m`` = ``momentum``); buffers such as BatchNorm statistics are the
    teacher's own.
    """
    for pt, ps in zip(teacher.parameters(), student.parameters()):
        pt.mul_(momentum).add_(ps.detach(), alpha=1.0 - momentum)


def teacher_probs(logits: Tensor, centre: Tensor, temp: float = TEACHER_TEMP) -> Tensor:
    """Centred and sharpened teacher probabilities over dim 1: ``softmax((t - c) / temp)``."""
    shape = [1, -1] + [1] * (logits.dim() - 2)
    return torch.softmax((logits - centre.view(shape)) / temp, dim=1)


def distillation_loss(
    t_probs: Tensor, s_logits: Tensor, mask: Tensor, temp: float = STUDENT_TEMP
) -> Tensor:
    """Mean over ``mask`` positions of ``-sum_k p_teacher log p_student`` (classes on dim 1)."""
    ce = -(t_probs * torch.log_softmax(s_logits / temp, dim=1)).sum(1)
    m = mask.to(ce.dtype)
    return (ce * m).sum() / m.sum().clamp(min=1.0)


class DinoHead(nn.Module):
    """Per-pixel projection (DINO's head, as 1x1 convolutions) onto ``k`` prototypes.

    MLP -> L2-normalised ``bottleneck`` vector -> cosine similarity to ``k`` normalised prototypes.
    The logits lie in [-1, 1], so the student cannot escape the teacher's sharpening by shrinking
    them.
    """

    def __init__(self, cin: int, k: int, hidden: int = 64, bottleneck: int = 32) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Conv2d(cin, hidden, 1), nn.GELU(), nn.Conv2d(hidden, bottleneck, 1)
        )
        self.prototypes = nn.Parameter(torch.randn(k, bottleneck) / bottleneck**0.5)

    def forward(self, x: Tensor) -> Tensor:
        z = F.normalize(self.mlp(x), dim=1)
        w = F.normalize(self.prototypes, dim=1)
        return torch.einsum("bdhw,kd->bkhw", z, w)


class _View:
    """One view's geometry: rows/cols in the crop, flip; and its tensors (set by ``views``)."""

    x: Tensor
    frames: Tensor
    seen: Tensor  # (B, h, w): pixel observed in a kept frame

    def __init__(self, r0: int, c0: int, h: int, w: int, flip: bool) -> None:
        self.r0, self.c0, self.h, self.w, self.flip = r0, c0, h, w, flip


def _part(a: Tensor, v: _View, box: Tuple[int, int, int, int]) -> Tensor:
    """The part of a view's map ``a`` (crop orientation) inside ``box`` (crop rows/cols)."""
    r0, r1, c0, c1 = box
    return a[..., r0 - v.r0 : r1 - v.r0, c0 - v.c0 : c1 - v.c0]


def _randint(lo: int, hi: int, gen: torch.Generator) -> int:
    """Uniform integer in ``lo .. hi`` (inclusive)."""
    return lo + int(torch.randint(0, hi - lo + 1, (1,), generator=gen))


class DinoObjective(SingleModalityObjective):
    """DINO self-distillation on ``config.ssl_modality``.

    Settings ``dino_views``, ``dino_prototypes``, ``dino_momentum``.
    """

    name = "dino"

    @override
    def setup(self) -> None:
        config, model, device = self.config, self.model, self.device
        k = int(config.dino_prototypes)
        self.extra["head"] = DinoHead(model.config.dec_out_width, k).to(device)
        self.teacher = copy.deepcopy(model)
        self.teacher_head = copy.deepcopy(self.extra["head"])
        for p in list(self.teacher.parameters()) + list(self.teacher_head.parameters()):
            p.requires_grad_(False)
        self.centre = torch.zeros(k, device=device)
        self.centred = False
        st = self.stats[self.modality]
        self.mean = torch.as_tensor(st.mean, dtype=torch.float32, device=device)
        self.std = torch.as_tensor(st.std, dtype=torch.float32, device=device)
        self.momentum = float(config.dino_momentum)

    @override
    def parameters(self) -> List[nn.Parameter]:
        m = self.modality
        params = list(self.model.encoder_parameters(m)) + list(self.model.decoder_parameters())
        return params + list(self.extra.parameters())

    # ----------------------------------------------------------------- views
    def _speckle(self, x: Tensor) -> Tensor:
        """Multiplicative gamma noise (mean 1), expressed on the standardised bands."""
        looks = SPECKLE_LOOKS[self.modality]
        conc = torch.full(x.shape, looks)
        g = torch._standard_gamma(conc, generator=self.generator) / looks
        g = g.to(x.device, x.dtype).clamp_min(1e-3)
        std = self.std.view(1, 1, -1, 1, 1)
        if self.modality == "s1":  # dB: a factor on the intensity is an offset
            return x + 10.0 * torch.log10(g) / std
        mean = self.mean.view(1, 1, -1, 1, 1)
        return x * g + (mean / std) * (g - 1.0)

    def views(self, batch: Dict[str, Tensor]) -> List[_View]:
        """``dino_views`` augmented views of the batch (same geometry for every sample)."""
        m, gen = self.modality, self.generator
        x, fm = batch[m], batch["frame_valid"]
        valid = batch[f"{m}_valid"]
        b, t, _, h, w = x.shape
        vh, vw = max(1, round(VIEW_FRACTION * h)), max(1, round(VIEW_FRACTION * w))
        out = []
        for _ in range(int(self.config.dino_views)):
            v = _View(_randint(0, h - vh, gen), _randint(0, w - vw, gen), vh, vw, False)
            v.flip = bool(torch.rand((1,), generator=gen) < 0.5)
            length = _randint(max(1, (t + 1) // 2), t, gen)
            t0 = _randint(0, t - length, gen)
            rows, cols = slice(v.r0, v.r0 + vh), slice(v.c0, v.c0 + vw)
            xv = x[:, t0 : t0 + length, :, rows, cols]
            keep = torch.rand((b, length), generator=gen).to(fm.device) >= FRAME_DROPOUT
            frames = fm[:, t0 : t0 + length]
            kept = frames & keep
            # a sample whose frames all dropped keeps its first real one
            first = torch.zeros_like(frames)
            first.scatter_(1, frames.to(torch.uint8).argmax(1, keepdim=True), True)
            kept = torch.where(kept.any(1, keepdim=True), kept, frames & first)
            vv = valid[:, t0 : t0 + length, rows, cols] & kept[:, :, None, None]
            xv = torch.where(vv[:, :, None], self._speckle(xv), xv)
            if v.flip:
                xv, vv = xv.flip(-1), vv.flip(-1)
            v.x, v.frames, v.seen = xv, kept, vv.any(1)
            out.append(v)
        return out

    # ----------------------------------------------------------------- forward
    def _pixel_logits(self, net: S4Net, head: nn.Module, v: _View) -> Tensor:
        """``(B, K, h, w)`` per-pixel logits of a view, in crop orientation (flip undone)."""
        m = self.modality
        dec = net._decode(net.encode(v.x, m, v.frames))  # (B, D, T, h, w)
        wgt = v.frames.to(dec.dtype)[:, None, :, None, None]
        pooled = (dec * wgt).sum(2) / wgt.sum(2).clamp(min=1.0)
        logits = head(pooled).float()
        return logits.flip(-1) if v.flip else logits

    @override
    def step(self, batch: Dict[str, Tensor]) -> Tuple[Tensor, Dict[str, float]]:
        views = self.views(batch)
        with autocast_context(self.device):
            student = [self._pixel_logits(self.model, self.extra["head"], v) for v in views]
            self.teacher.train()
            with torch.no_grad():
                teacher = [self._pixel_logits(self.teacher, self.teacher_head, v) for v in views]
        seen = [v.seen.flip(-1) if v.flip else v.seen for v in views]
        with torch.no_grad():
            outs = [tl.permute(0, 2, 3, 1)[s] for tl, s in zip(teacher, seen)]
            batch_mean = torch.cat(outs).mean(0) if sum(len(o) for o in outs) else None
        if batch_mean is not None and not self.centred:
            self.centre.copy_(batch_mean)  # the first batch sets the centre (no early drift)
            self.centred = True
        probs = [teacher_probs(tl, self.centre) for tl in teacher]
        terms = []
        for i, vi in enumerate(views):
            for j, vj in enumerate(views):
                if i == j:
                    continue
                r0, r1 = max(vi.r0, vj.r0), min(vi.r0 + vi.h, vj.r0 + vj.h)
                c0, c1 = max(vi.c0, vj.c0), min(vi.c0 + vi.w, vj.c0 + vj.w)
                if r1 <= r0 or c1 <= c0:
                    continue
                box = (r0, r1, c0, c1)
                mask = _part(seen[i], vi, box) & _part(seen[j], vj, box)
                terms.append(
                    distillation_loss(_part(probs[i], vi, box), _part(student[j], vj, box), mask)
                )
        if not terms:  # views without overlap (a crop of 1-2 px): nothing to distil
            loss = torch.stack([s.sum() for s in student]).sum() * 0.0
        else:
            loss = torch.stack(terms).mean()
        if batch_mean is not None:
            self.centre.mul_(CENTRE_MOMENTUM).add_(batch_mean, alpha=1 - CENTRE_MOMENTUM)
        return loss, {"loss": float(loss.detach())}

    @override
    def after_step(self, done: int, total: int) -> None:
        m = momentum_schedule(done, total, self.momentum)
        ema_update(self.teacher, self.model, m)
        ema_update(self.teacher_head, self.extra["head"], m)

    # ----------------------------------------------------------------- state
    @override
    def state(self) -> Optional[dict]:
        def cpu(sd: dict) -> dict:
            return {k: v.detach().cpu().clone() for k, v in sd.items()}

        return {
            "extra": cpu(self.extra.state_dict()),
            "teacher": cpu(self.teacher.state_dict()),
            "teacher_head": cpu(self.teacher_head.state_dict()),
            "centre": self.centre.detach().cpu().clone(),
            "centred": self.centred,
        }

    @override
    def load_state(self, state: Optional[dict]) -> None:
        if not state:
            return
        self.extra.load_state_dict(state["extra"])
        self.teacher.load_state_dict(state["teacher"])
        self.teacher_head.load_state_dict(state["teacher_head"])
        self.centre.copy_(state["centre"].to(self.centre))
        self.centred = bool(state.get("centred", True))

    @classmethod
    @override
    def describe(cls, config: PretrainConfig) -> Dict[str, Any]:
        c = config
        return {
            "name": cls.name,
            "modality": c.ssl_modality,
            "views": int(c.dino_views),
            "prototypes": int(c.dino_prototypes),
            "momentum": float(c.dino_momentum),
            "outputs": "pixel-wise (time-pooled decoder features)",
        }


__all__ = [
    "DinoObjective",
    "distillation_loss",
    "ema_update",
    "momentum_schedule",
    "teacher_probs",
]

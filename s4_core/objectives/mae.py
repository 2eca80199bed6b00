"""Masked autoencoding of one modality (He et al. 2021, adapted to a 3D U-Net on series).

Random space-time patches (``mask_frames`` frames x ``mask_patch`` x ``mask_patch`` pixels)
are hidden, ``mask_ratio`` of them per sample (exactly ``round(ratio * n_patches)``, at least
one). A convolutional network has no token sequence to drop, so hidden positions are replaced
by a learned per-band mask token (the objective's own parameter, not part of the network that
fine-tuning loads); the decoder reconstructs the series and the L1 loss counts the hidden,
valid positions only (what the network saw is not scored).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, cast

import torch
from torch import Tensor, nn

from s4_core.types import override

from ..device import autocast_context
from ..losses import masked_l1
from .base import SingleModalityObjective, backbone_parameters

if TYPE_CHECKING:
    from ..train import PretrainConfig


def patch_mask(
    shape: Sequence[int],
    patch: Sequence[int],
    ratio: float,
    generator: Optional[torch.Generator] = None,
) -> Tensor:
    """Bool ``(B, T, H, W)`` patch mask, True = hidden.

    The ``(T, H, W)`` grid cut into patches of ``patch = (pt, ph, pw)`` (the last ones cut short at
    the border) and ``round(ratio * n)`` patches of each sample hidden (at least 1 and at most all
    ``n``).
    """
    b, t, h, w = (int(s) for s in shape)
    pt, ph, pw = (max(1, int(p)) for p in patch)
    nt, nh, nw = math.ceil(t / pt), math.ceil(h / ph), math.ceil(w / pw)
    n = nt * nh * nw
    k = min(n, max(1, int(round(float(ratio) * n))))
    order = torch.rand((b, n), generator=generator).argsort(dim=1)
    hidden = torch.zeros((b, n), dtype=torch.bool)
    hidden.scatter_(1, order[:, :k], True)
    grid = hidden.view(b, nt, nh, nw)
    full = grid.repeat_interleave(pt, 1).repeat_interleave(ph, 2).repeat_interleave(pw, 3)
    return full[:, :t, :h, :w].contiguous()


def mask_input(x: Tensor, hidden: Tensor, token: Tensor) -> Tensor:
    """``x`` ``(B, T, C, H, W)`` with its hidden positions replaced by ``token``.

    ``hidden``: ``(B, T, H, W)``; ``token``: per band ``(C,)``.
    """
    return torch.where(hidden[:, :, None], token.view(1, 1, -1, 1, 1).to(x.dtype), x)


def reconstruction_loss(rec: Tensor, x: Tensor, valid: Tensor, hidden: Tensor) -> Tensor:
    """L1 between ``rec`` and ``x`` over the positions both valid and hidden."""
    return masked_l1(rec.float(), x.float(), valid & hidden)


def mask_settings(config: PretrainConfig) -> Dict[str, Any]:
    """The masking settings an objective's ``describe`` stores (ratio, patch, frames)."""
    return {
        "mask_ratio": float(config.mask_ratio),
        "mask_patch": int(config.mask_patch),
        "mask_frames": int(config.mask_frames),
    }


class MaeObjective(SingleModalityObjective):
    """MAE on ``config.ssl_modality``.

    Settings ``mask_ratio``, ``mask_patch``, ``mask_frames``.
    """

    name = "mae"

    @override
    def setup(self) -> None:
        channels = self.model.config.channels(self.modality)
        self.extra["token"] = nn.ParameterDict(
            {self.modality: nn.Parameter(torch.zeros(channels, device=self.device))}
        )

    @property
    def patch(self) -> Tuple[int, int, int]:
        """``(frames, pixels, pixels)`` of one masking patch."""
        return (self.config.mask_frames, self.config.mask_patch, self.config.mask_patch)

    @override
    def parameters(self) -> List[nn.Parameter]:
        m = self.modality
        return list(backbone_parameters(self.model, (m,), (m,))) + list(self.extra.parameters())

    @override
    def step(self, batch: Dict[str, Tensor]) -> Tuple[Tensor, Dict[str, float]]:
        m = self.modality
        x, fm = batch[m], batch["frame_valid"]
        valid = batch[f"{m}_valid"] & fm[:, :, None, None]
        b, t, _, h, w = x.shape
        hidden = patch_mask((b, t, h, w), self.patch, self.config.mask_ratio, self.generator)
        hidden = hidden.to(x.device)
        with autocast_context(self.device):
            enc = self.model.encode(
                mask_input(x, hidden, cast(nn.ParameterDict, self.extra["token"])[m]), m, fm
            )
            rec = self.model.reconstruct(enc, m)
        loss = reconstruction_loss(rec, x, valid, hidden)
        return loss, {"loss": float(loss.detach())}

    @classmethod
    @override
    def describe(cls, config: PretrainConfig) -> Dict[str, Any]:
        return {"name": cls.name, "modality": config.ssl_modality, **mask_settings(config)}

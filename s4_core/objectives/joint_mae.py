"""Joint SAR-optical masked autoencoding: S1 and S2 in, both reconstructed.

After Zhang et al., "Joint Multi-Modality SAR and Optical Representation Learning"; with a mask
module.

- mask modes (``mask_mode``), patches as in ``mae.patch_mask``:
  ``random``: one mask per sensor, independent; ``identical``: the same mask for both;
  ``complementary``: what one sensor hides the other shows (disjoint hidden sets covering
  every position): per sample one sensor, drawn at random, hides ``mask_ratio`` of the
  patches and the other the rest, so each sensor is reconstructed with help of the other and
  half of the input is hidden on average.
- fusion: the poster concatenates the sensors along the channels. The S4 network keeps its
  modality-specific first layers (so fine-tuning and segmentation run from ONE sensor, as
  with S4): each sensor's first layers run on its own input and their outputs (and skips) are
  averaged before the shared layers (``S4Net.encode`` with modality "both": fine-tuning and
  mapping from both sensors use the same fusion, equal weights). In half of the samples one sensor (drawn at random) is
  left out of that average altogether: the network then meets single-sensor inputs as at
  inference, and the left-out sensor is reconstructed entirely from the other (all its
  positions count as hidden).
- loss: the mean of the two sensors' L1 over their hidden, valid positions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Sequence, Tuple, cast

import torch
from torch import Tensor, nn

from s4_core.types import override

from ..device import autocast_context
from ..model import Encoded, S4Net
from .base import Objective, backbone_parameters
from .mae import mask_input, mask_settings, patch_mask, reconstruction_loss

if TYPE_CHECKING:
    from ..train import PretrainConfig

SINGLE_SENSOR_FRACTION = 0.5


def joint_masks(
    shape: Sequence[int],
    patch: Sequence[int],
    ratio: float,
    mode: str,
    generator: torch.Generator,
) -> Tuple[Tensor, Tensor]:
    """Hidden positions ``(B, T, H, W)`` of S1 and S2 for ``mode`` (module docstring)."""
    if mode == "random":
        return patch_mask(shape, patch, ratio, generator), patch_mask(
            shape, patch, ratio, generator
        )
    if mode == "identical":
        a = patch_mask(shape, patch, ratio, generator)
        return a, a.clone()
    if mode == "complementary":
        a = patch_mask(shape, patch, ratio, generator)
        first = (torch.rand((a.shape[0],), generator=generator) < 0.5)[:, None, None, None]
        return torch.where(first, a, ~a), torch.where(first, ~a, a)
    raise ValueError(f"mask mode must be random, complementary or identical, not {mode!r}")


def encode_fused(
    net: S4Net, xs: Dict[str, Tensor], frame_mask: Tensor, weights: Dict[str, Tensor]
) -> Encoded:
    """Encode S1 and S2 together into one :class:`Encoded`.

    Each sensor's specific first blocks, then the ``weights`` ``(B,)``-weighted mean of their
    outputs and skips, then the shared layers (``S4Net.encode`` with modality "both", which
    fine-tuning and mapping from both sensors use with equal weights).
    """
    for m, x in xs.items():
        if x.shape[2] != net.config.channels(m):
            raise ValueError(
                f"{m}: {x.shape[2]} bands, the network expects {net.config.channels(m)}"
            )
    x = torch.cat([xs["s1"], xs["s2"]], dim=2)
    return net.encode(x, "both", frame_mask, weights)


class JointMaeObjective(Objective):
    """Joint S1 + S2 MAE.

    Settings ``mask_ratio``, ``mask_patch``, ``mask_frames``, ``mask_mode``.
    """

    name = "joint-mae"

    @override
    def setup(self) -> None:
        channels = self.model.config.channels
        self.extra["token"] = nn.ParameterDict(
            {m: nn.Parameter(torch.zeros(channels(m), device=self.device)) for m in ("s1", "s2")}
        )

    @override
    def parameters(self) -> List[nn.Parameter]:
        both = ("s1", "s2")
        return list(backbone_parameters(self.model, both, both)) + list(self.extra.parameters())

    @override
    def step(self, batch: Dict[str, Tensor]) -> Tuple[Tensor, Dict[str, float]]:
        cfg, gen = self.config, self.generator
        fm = batch["frame_valid"]
        b, t, _, h, w = batch["s1"].shape
        patch = (cfg.mask_frames, cfg.mask_patch, cfg.mask_patch)
        hid = dict(zip(("s1", "s2"), joint_masks((b, t, h, w), patch, cfg.mask_ratio,
                                                  cfg.mask_mode, gen)))  # fmt: skip
        # per sample: both sensors, or one of them alone (the other reconstructed from it)
        u = torch.rand((b,), generator=gen)
        alone = u < SINGLE_SENSOR_FRACTION
        s1_alone = u < SINGLE_SENSOR_FRACTION / 2
        weights = {"s1": (~alone | s1_alone).float(), "s2": (~alone | ~s1_alone).float()}
        dev = batch["s1"].device
        xs, targets = {}, {}
        for m in ("s1", "s2"):
            dropped = (weights[m] == 0)[:, None, None, None]
            hidden = (hid[m] | dropped).to(dev)
            xs[m] = mask_input(batch[m], hidden, cast(nn.ParameterDict, self.extra["token"])[m])
            targets[m] = hidden
            weights[m] = weights[m].to(dev)
        with autocast_context(self.device):
            enc = encode_fused(self.model, xs, fm, weights)
            recs = {m: self.model.reconstruct(enc, m) for m in ("s1", "s2")}
        figures: Dict[str, float] = {}
        parts = []
        for m in ("s1", "s2"):
            valid = batch[f"{m}_valid"] & fm[:, :, None, None]
            part = reconstruction_loss(recs[m], batch[m], valid, targets[m])
            parts.append(part)
            figures[f"l1_{m}"] = float(part.detach())
        loss = 0.5 * (parts[0] + parts[1])
        return loss, {"loss": float(loss.detach()), **figures}

    @classmethod
    @override
    def describe(cls, config: PretrainConfig) -> Dict[str, Any]:
        return {
            "name": cls.name,
            "mask_mode": config.mask_mode,
            **mask_settings(config),
            "single_sensor_fraction": SINGLE_SENSOR_FRACTION,
        }

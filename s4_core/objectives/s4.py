"""The S4 objective (paper sections 5-6): cross-modal InfoNCE plus cross reconstruction.

Space-time InfoNCE between the S1 and S2 projections of the bottleneck, plus cross reconstruction
(S1 -> S2, S2 -> S1) with L1.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

import torch
from torch import Tensor

from s4_core.types import override

from ..device import autocast_context
from ..losses import s4_loss
from .base import Objective


class S4Objective(Objective):
    """``L = Lc + lam * Lr``: contrastive plus reconstruction loss.

    ``PretrainConfig``: ``lam``, ``tau``, ``loss_mode``, ``num_anchors``, ``contrastive``,
    ``reconstruction``.
    """

    name = "s4"
    KEYS = ("loss", "contrastive", "reconstruction", "accuracy")

    @override
    def setup(self) -> None:
        config = self.config
        self.lam = config.lam if config.reconstruction else 0.0
        self.cw = 1.0 if config.contrastive else 0.0
        if self.lam == 0 and self.cw == 0:
            raise ValueError("both pretraining losses are switched off")

    @override
    def step(self, batch: Dict[str, Tensor]) -> Tuple[Tensor, Dict[str, float]]:
        cfg = self.config
        with autocast_context(self.device):
            outputs = self.model.pretrain_outputs(
                batch["s1"],
                batch["s2"],
                batch["frame_valid"],
                contrastive=self.cw > 0,
                reconstruction=self.lam > 0,
            )
            losses = s4_loss(
                outputs,
                batch["s1"],
                batch["s2"],
                batch["s1_valid"],
                batch["s2_valid"],
                lam=self.lam,
                contrastive_weight=self.cw,
                tau=cfg.tau,
                mode=cfg.loss_mode,
                num_anchors=cfg.num_anchors,
                generator=self.generator,
            )
        figures = {
            k: float(losses[k].detach() if torch.is_tensor(losses[k]) else losses[k])
            for k in self.KEYS
        }
        return losses["loss"], figures

    @override
    def describe(self) -> Dict[str, Any]:
        cfg = self.config
        return {
            "name": self.name,
            "lam": float(self.lam),
            "contrastive": bool(self.cw > 0),
            "tau": float(cfg.tau),
        }

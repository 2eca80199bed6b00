"""The S4 objective (paper sections 5-6): cross-modal InfoNCE plus cross reconstruction.

Space-time InfoNCE between the S1 and S2 projections of the bottleneck, plus cross reconstruction
(S1 -> S2, S2 -> S1) with L1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Tuple

import torch
from torch import Tensor

from s4_core.types import override

from ..device import autocast_context
from ..losses import s4_loss
from .base import Objective

if TYPE_CHECKING:
    from ..train import PretrainConfig


class S4Objective(Objective):
    """``L = Lc + lam * Lr``: contrastive plus reconstruction loss.

    ``PretrainConfig``: ``lam``, ``tau``, ``loss_mode``, ``num_anchors``, ``contrastive``,
    ``reconstruction``.
    """

    name = "s4"
    KEYS = ("loss", "contrastive", "reconstruction", "accuracy")

    @staticmethod
    def weights(config: PretrainConfig) -> Tuple[float, float]:
        """The weights (reconstruction ``lam``, contrastive) of the two losses for ``config``."""
        return (config.lam if config.reconstruction else 0.0), (1.0 if config.contrastive else 0.0)

    @override
    def setup(self) -> None:
        self.lam, self.cw = self.weights(self.config)
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

    @classmethod
    @override
    def describe(cls, config: PretrainConfig) -> Dict[str, Any]:
        lam, cw = cls.weights(config)
        return {
            "name": cls.name,
            "lam": float(lam),
            "contrastive": bool(cw > 0),
            "tau": float(config.tau),
        }

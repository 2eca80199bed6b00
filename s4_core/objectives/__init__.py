"""Pretraining objectives: what a pretraining step computes on a batch of crops.

Every objective trains the same ``S4Net`` (3D U-Net backbone, modality-specific first layers),
so ``finetune`` and ``segment`` use its encoder unchanged and the comparison is fair. The one
training loop (``loop.py``, driven by ``train.pretrain``) reads crops of the modalities an
objective ``needs`` and calls its ``step``; the objective supplies its views, forward and loss.

- ``s4`` (``s4.py``): the paper's cross-modal InfoNCE + cross reconstruction (S1 + S2).
- ``mae`` (``mae.py``): masked autoencoding of one modality (space-time patches).
- ``dino`` (``dino.py``): self-distillation with an EMA teacher on one modality.
- ``joint-mae`` (``joint_mae.py``): masked autoencoding of S1 + S2 together with a mask module
  (random / complementary / identical).
"""

from __future__ import annotations

from typing import Tuple, Type

from .base import OBJECTIVES, Objective

MASK_MODES: Tuple[str, ...] = ("random", "complementary", "identical")


def objective_class(name: str) -> Type[Objective]:
    """The class implementing objective ``name`` (one of ``OBJECTIVES``)."""
    if name == "s4":
        from .s4 import S4Objective

        return S4Objective
    if name == "mae":
        from .mae import MaeObjective

        return MaeObjective
    if name == "dino":
        from .dino import DinoObjective

        return DinoObjective
    if name == "joint-mae":
        from .joint_mae import JointMaeObjective

        return JointMaeObjective
    raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, not {name!r}")


__all__ = ["MASK_MODES", "OBJECTIVES", "Objective", "objective_class"]

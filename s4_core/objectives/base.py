"""What every pretraining objective supplies to the training loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from s4_core.types import override

from ..model import S4Net
from ..settings import PRETRAIN

if TYPE_CHECKING:
    from ..normalize import BandStats
    from ..train import PretrainConfig


#: The objectives' names: the ``objective`` setting's choices (``settings.py``), whose order also
#: numbers the objectives' random streams (append new ones).
OBJECTIVES: Tuple[str, ...] = tuple(PRETRAIN["objective"].choices)


class Objective:
    """A pretraining objective on an ``S4Net``.

    ``needs(config)``: the modalities its crops must hold. ``extra``: its own trainable
    modules (mask tokens, a projection head), saved for resuming but not part of the network
    that fine-tuning loads. ``step(batch)``: views + forward + loss of one batch of crops
    (``{"s1", "s1_valid", "s2", "s2_valid", "frame_valid"}`` tensors, standardised bands);
    returns the loss to back-propagate and the floats averaged into the epoch record.

    The base class owns the constructor: it keeps the arguments, an empty ``extra``, and the
    objective's own random ``generator`` (seeded from ``config.seed`` and ``stream``), then
    calls :meth:`setup`, where a subclass builds what is its own.
    """

    #: One of ``OBJECTIVES``, whose order also numbers the objectives' random streams.
    name = ""

    @property
    def stream(self) -> Optional[int]:
        """Offset of the objective's random stream (:func:`make_generator`).

        Its place in ``OBJECTIVES``; None for the first (S4): ``config.seed`` itself.
        """
        return OBJECTIVES.index(self.name) or None

    def __init__(
        self,
        config: PretrainConfig,
        model: S4Net,
        stats: Dict[str, BandStats],
        device: torch.device,
    ) -> None:
        self.config = config
        self.model = model
        self.stats = stats
        self.device = device
        self.extra = nn.ModuleDict()
        if self.stream is None:
            self.generator = torch.Generator().manual_seed(config.seed)
        else:
            self.generator = make_generator(config.seed, self.stream)
        self.setup()

    def setup(self) -> None:
        """Build the objective's own state (settings, ``extra`` modules); called once."""

    @staticmethod
    def needs(config: PretrainConfig) -> Tuple[str, ...]:
        """The modalities the crops must hold for ``config``."""
        return ("s1", "s2")

    def parameters(self) -> List[nn.Parameter]:
        """What the optimiser trains: every parameter the objective's loss depends on."""
        return list(self.model.parameters()) + list(self.extra.parameters())

    def step(self, batch: Dict[str, Tensor]) -> Tuple[Tensor, Dict[str, float]]:
        """Loss of one batch and its figures (``loss`` first)."""
        raise NotImplementedError

    def after_step(self, done: int, total: int) -> None:
        """After each optimiser step (e.g. the teacher's EMA update)."""

    def state(self) -> Optional[dict]:
        """Resumable state beside the network (None: nothing)."""
        if not list(self.extra.state_dict()):
            return None
        return {"extra": {k: v.detach().cpu().clone() for k, v in self.extra.state_dict().items()}}

    def load_state(self, state: Optional[dict]) -> None:
        """Inverse of :meth:`state`."""
        if state and "extra" in state:
            self.extra.load_state_dict(state["extra"])

    @classmethod
    def describe(cls, config: PretrainConfig) -> Dict[str, Any]:
        """The objective and its settings for ``config``, stored in the checkpoint (``objective``).

        A class method: a resumed checkpoint is compared with it before any work (``loop.py``).
        """
        return {"name": cls.name}


class SingleModalityObjective(Objective):
    """An objective on one modality, ``config.ssl_modality``: its crops hold that one only."""

    @staticmethod
    @override
    def needs(config: PretrainConfig) -> Tuple[str, ...]:
        return (config.ssl_modality,)

    @property
    def modality(self) -> str:
        """The modality the objective trains on (``config.ssl_modality``)."""
        return self.config.ssl_modality


def backbone_parameters(
    model: S4Net, modalities: Sequence[str], targets: Iterable[str] = ()
) -> Iterator[nn.Parameter]:
    """The parameters an autoencoding objective uses.

    The encoder of ``modalities``, the shared decoder and the reconstruction output convs of
    ``targets``.
    """
    seen = set()
    for p in model.encoder_parameters(None if len(modalities) == 2 else modalities[0]):
        if id(p) not in seen:
            seen.add(id(p))
            yield p
    yield from model.decoder_parameters()
    for t in targets:
        yield from model.rec_heads[t].parameters()


def make_generator(seed: int, offset: int) -> torch.Generator:
    """A CPU generator of its own (the data pipeline's random streams stay untouched)."""
    return torch.Generator().manual_seed(int(seed) * 7919 + offset)

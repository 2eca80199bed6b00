"""The 3D U-Net of the paper and the S4 network built on it (paper sections 5 and 6.3).

Backbone: Garnot & Landrieu's UNet3D (utae-paps), generalised to ``widths = (w_0, ..., w_L)``;
the reference ``(32, 64, 128)`` is their ``feats = 8``. With ``L = len(widths) - 1``:

- encoder level ``i < L``: a *conv block* (Conv3d k3 + BatchNorm3d + LeakyReLU, twice,
  ``-> w_i``), then MaxPool3d(2), which halves T, H and W together;
- bottleneck (``T/2^L x H/2^L x W/2^L``): one Conv3d k3 + BN + LeakyReLU ``-> w_L``: this is
  the *encoder output* (``Encoded.features``) that the projection head reads;
- decoder: Conv3d k3 + BN + LeakyReLU (``w_L``), ConvTranspose3d(k3, s2, p1, output_padding 1)
  ``-> w_{L-1}``; then for each level ``i = L-1 .. 0``: concatenate the encoder skip of level
  ``i``, a conv block ``2 w_i -> w_i -> w_i`` (``-> dec_out_width`` at level 0), and for
  ``i > 0`` ConvTranspose3d + BN + LeakyReLU ``-> w_{i-1}``;
- output convs (Conv3d k3): ``dec_out_width ->`` K classes (segmentation) or the other
  modality's channels (reconstruction).

With 10 bands and 20 classes the segmentation path has 1,553,796 parameters, the same as
UNet3D(feats=8). Time is collapsed at the end by a masked temporal mean of the class logits.

S4 split (paper 5: "the first two [conv layers] are input-specific"):

- ``first["s1"]`` = y_r and ``first["s2"]`` = y_o: the first ``n_specific`` encoder conv blocks
  (default 1 = the first two Conv3d layers), one copy per modality;
- ``shared`` = y_c: the remaining encoder conv blocks and the bottleneck conv;
- ``proj`` = g: Conv3d 1x1x1 (``w_L -> w_L``) + BN + LeakyReLU + Conv3d 1x1x1 (``w_L ->
  proj_dim``, default 64). The last layer has no BN/activation (SimCLR-style) so the cosine
  similarity can use every direction; applied to the bottleneck; pretraining only;
- decoder h: ONE up-path shared by both reconstruction directions and by segmentation (paper
  5.3: fine-tuning reuses h and only replaces the final conv), with one output conv per target
  (``rec_heads["s1"]``, ``rec_heads["s2"]``, ``seg_head``).

Arbitrary T, H, W >= 1: the input is zero-padded at the end of T, H and W to multiples of
``2^L`` and the output cropped back. Padded positions (frames with ``frame_mask`` False and
the internal padding) are kept out of everything:

- they are zeroed at the input and again after every layer, so for the real positions they
  act exactly like a convolution's zero padding (appending masked frames with garbage values
  does not change any output for the real frames);
- max-pooling ignores them (a pooled cell covering one real and one padded frame takes the real
  one); a cell covering only padded positions is padded at the next level;
- in training mode BatchNorm statistics (and running statistics) are computed over the real
  positions only (``MaskedBatchNorm3d``; identical to ``nn.BatchNorm3d`` when nothing is
  padded); in eval mode the running statistics are used as usual;
- the temporal mean of the logits runs over real frames only.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Iterator, Optional, TypeVar, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .errors import CheckpointError, DataError

MODALITIES = ("s1", "s2")
#: what fine-tuning and segmentation can map from: one sensor, or both together ("both": the
#: S1 bands then the S2 bands in one input; see ``S4Net.encode``)
INPUTS = ("s1", "s2", "both")
HEADS = ("unet", "pixel")
_V = TypeVar("_V")


def _stored_as(key: str, default: _V) -> _V:
    """A ``PixelHeadConfig`` field stored under ``key`` among a checkpoint's network settings."""
    return field(default=default, metadata={"key": key})


@dataclass(frozen=True)
class PixelHeadConfig:
    """The "pixel" head's settings: its MLP ensemble (``PixelHead``) and the smoothing after it.

    ``members`` MLPs of ``hidden`` units read the input series and the decoder features;
    ``raw_members`` more read the input series alone (0: none, as in checkpoints made before
    they existed; fine-tuning's default is ``FinetuneConfig.pixel_head``'s); then
    ``smooth_iters`` rounds of ``edge_aware_smooth`` with ``smooth_sigma``. Checkpoints keep
    the fields flat among the network settings, under each field's ``key`` (``to_dict``).
    """

    hidden: int = _stored_as("head_hidden", 64)
    members: int = _stored_as("head_members", 5)
    raw_members: int = _stored_as("head_raw_members", 0)
    smooth_iters: int = _stored_as("smooth_iters", 5)
    smooth_sigma: float = _stored_as("smooth_sigma", 1.0)

    def to_dict(self) -> dict:
        """The fields under their stored keys."""
        return {f.metadata["key"]: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def pop_from(cls, stored: dict) -> PixelHeadConfig:
        """The settings ``stored`` holds under their keys (removed from it); missing: defaults."""
        keys = {f.name: f.metadata["key"] for f in fields(cls)}
        return cls(**{name: stored.pop(key) for name, key in keys.items() if key in stored})


@dataclass
class NetConfig:
    """Network settings, stored in checkpoints (``to_dict`` / ``from_dict``).

    ``widths``: encoder widths per level, the last one is the bottleneck; ``len(widths) - 1``
    poolings, so inputs are padded internally to multiples of ``2 ** (len(widths) - 1)``.
    ``proj_dim``: output size of the projection head g. ``num_classes``: 0 = no segmentation
    head yet (pretraining). ``dec_out_width``: width of the last decoder block (16 in the
    reference). ``n_specific``: number of encoder conv blocks that are modality-specific.
    ``pixel_head``: the "pixel" head's settings (stored flat, see ``PixelHeadConfig``).
    """

    s1_channels: int = 2
    s2_channels: int = 10
    widths: tuple[int, ...] = (32, 64, 128)
    proj_dim: int = 64
    num_classes: int = 0
    dec_out_width: int = 16
    n_specific: int = 1
    negative_slope: float = 0.01
    # segmentation head: "unet" = the paper's (a Conv3d on the decoder, temporal mean of the
    # logits); "pixel" = PixelHead (an ensemble of per-pixel MLPs over the whole series of the
    # input bands and the decoder features of ``head_modality``, ``head_frames`` frames)
    # followed by edge-aware smoothing of the probabilities guided by the input
    head: str = "unet"
    head_modality: str = "s2"
    head_frames: int = 0
    pixel_head: PixelHeadConfig = PixelHeadConfig()

    def __post_init__(self) -> None:
        self.widths = tuple(int(w) for w in self.widths)
        if len(self.widths) < 2 or min(self.widths) < 1:
            raise ValueError(f"NetConfig.widths must hold >= 2 positive widths, got {self.widths}")
        for name in ("s1_channels", "s2_channels", "proj_dim", "dec_out_width"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"NetConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.num_classes < 0:
            raise ValueError(f"NetConfig.num_classes must be >= 0, got {self.num_classes}")
        if not 1 <= self.n_specific <= len(self.widths) - 1:
            raise ValueError(
                f"NetConfig.n_specific must be between 1 and {len(self.widths) - 1} "
                f"(the number of encoder conv blocks), got {self.n_specific}"
            )

    @property
    def levels(self) -> int:
        """Number of poolings (the bottleneck is ``2 ** levels`` times smaller)."""
        return len(self.widths) - 1

    @property
    def factor(self) -> int:
        """Down-sampling factor of the bottleneck in T, H and W."""
        return 2**self.levels

    def channels(self, modality: str) -> int:
        """Input bands of ``modality`` ("both": S1's then S2's, concatenated)."""
        if modality == "both":
            return self.s1_channels + self.s2_channels
        _check_modality(modality)
        return self.s1_channels if modality == "s1" else self.s2_channels

    def to_dict(self) -> dict:
        """The configuration as a plain flat dict (stored in checkpoints)."""
        d = asdict(self)
        d["widths"] = list(self.widths)
        del d["pixel_head"]
        return {**d, **self.pixel_head.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> NetConfig:
        """Inverse of ``to_dict``; raises CheckpointError on unknown or invalid settings."""
        d = dict(d)
        try:
            pixel_head = PixelHeadConfig.pop_from(d)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"invalid network settings in the checkpoint: {exc}") from exc
        known = {f.name for f in fields(cls)} - {"pixel_head"}
        unknown = sorted(set(d) - known)
        if unknown:
            raise CheckpointError(
                f"unknown network setting(s) {unknown} in the checkpoint: it was written by a "
                "newer version of S4; update the plugin/engine to read it"
            )
        try:
            return cls(**d, pixel_head=pixel_head)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"invalid network settings in the checkpoint: {exc}") from exc


def _check_modality(modality: str, inputs: tuple[str, ...] = MODALITIES) -> None:
    if modality not in inputs:
        raise ValueError(f"modality must be one of {', '.join(inputs)}, got {modality!r}")


@dataclass
class Encoded:
    """Encoder output of one modality plus what the decoder and the losses need.

    ``features``: bottleneck ``(B, w_L, T', H', W')`` at the padded size; ``skips``: encoder
    outputs of levels ``0 .. L-1``; ``masks``: per level ``0 .. L`` a bool ``(B, T_i, H_i, W_i)``
    of real positions, or None where everything is real; ``frame_mask``: ``(B, T)`` input frames;
    ``size``: the input ``(T, H, W)``.
    """

    features: Tensor
    skips: list[Tensor]
    masks: list[Optional[Tensor]]
    frame_mask: Tensor
    size: tuple[int, int, int]
    modality: str


class MaskedBatchNorm3d(nn.BatchNorm3d):
    """BatchNorm3d whose training statistics use only the positions where ``mask`` is True.

    ``mask``: bool ``(B, T, H, W)`` or None. Without a mask, or in eval mode, it is exactly
    ``nn.BatchNorm3d`` (same parameters and buffers, so state dicts are interchangeable).

    Synchronised BatchNorm: while ``MaskedBatchNorm3d.reduce`` is set (a function summing a
    tensor over the processes of a distributed run, differentiable; ``distributed.py`` sets it
    for the run), training statistics are the masked mean and variance over the real positions
    of the WHOLE global batch: the per-process counts and sums (then the sums of squared
    deviations from the global mean) are added up, so every process normalises as one process
    holding the global batch would. ``nn.SyncBatchNorm`` would count the padded positions.
    """

    # None: this process's batch alone; else sums a 1-D tensor over the processes (autograd)
    reduce: Optional[Callable[[Tensor], Tensor]] = None

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        """Normalise ``x`` over the pixels where ``mask`` is True (all pixels without a mask)."""
        if not self.training:
            return super().forward(x)
        reduce = MaskedBatchNorm3d.reduce
        if mask is None and reduce is None:
            return super().forward(x)
        xf = x.float()
        dims = (0, 2, 3, 4)
        if mask is None:  # synchronised: every position is real
            w: Any = 1.0
            n = torch.full((), xf.numel() // max(1, xf.shape[1]), dtype=xf.dtype, device=x.device)
        else:
            w = mask.unsqueeze(1).to(torch.float32)
            n = w.sum()
        total = (xf * w).sum(dims)
        if reduce is not None:
            both = reduce(torch.cat([total, n.detach().view(1)]))
            total, n = both[:-1], both[-1].detach()
        mean = total / n.clamp(min=1)
        centered = xf - mean.view(1, -1, 1, 1, 1)
        square = (centered.square() * w).sum(dims)
        if reduce is not None:
            square = reduce(square)
        var = square / n.clamp(min=1)
        if (
            self.track_running_stats
            and self.running_mean is not None
            and self.running_var is not None
            and self.num_batches_tracked is not None
        ):
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                if self.momentum is None:
                    factor = 1.0 / float(self.num_batches_tracked)
                else:
                    factor = self.momentum
                unbiased = var * (n / (n - 1).clamp(min=1))
                # a batch without any real position leaves the running statistics alone
                weight = (n > 0).to(self.running_mean.dtype) * factor
                # on .data: a plain (unmasked) forward of this layer earlier in the same graph
                # saved the running statistics for its backward; this update must not count
                # as modifying them (native batch norm updates them the same way)
                self.running_mean.data.lerp_(mean.to(self.running_mean.dtype), weight)
                self.running_var.data.lerp_(unbiased.to(self.running_var.dtype), weight)
        y = centered * torch.rsqrt(var + self.eps).view(1, -1, 1, 1, 1)
        if self.affine:
            y = y * self.weight.view(1, -1, 1, 1, 1) + self.bias.view(1, -1, 1, 1, 1)
        return y.to(x.dtype)


def _apply_mask(x: Tensor, mask: Optional[Tensor]) -> Tensor:
    """Zero the padded positions. ``x`` must be a fresh layer output (in place without grad)."""
    if mask is None:
        return x
    m = mask.unsqueeze(1).to(x.dtype)
    return x * m if torch.is_grad_enabled() and x.requires_grad else x.mul_(m)


class _Layer(nn.Module):
    """Conv3d k3 (or ConvTranspose3d k3 s2 when ``up``) + masked BatchNorm3d + LeakyReLU."""

    def __init__(
        self, cin: int, cout: int, slope: float, kernel: int = 3, up: bool = False
    ) -> None:
        super().__init__()
        if up:
            self.conv: nn.Module = nn.ConvTranspose3d(
                cin, cout, 3, stride=2, padding=1, output_padding=1
            )
        else:
            self.conv = nn.Conv3d(cin, cout, kernel, padding=kernel // 2)
        self.bn = MaskedBatchNorm3d(cout)
        self.act = nn.LeakyReLU(slope, inplace=True)

    def forward(self, x: Tensor, mask: Optional[Tensor]) -> Tensor:
        return _apply_mask(self.act(self.bn(self.conv(x), mask)), mask)


class _Block(nn.Module):
    """The U-Net conv block: two ``_Layer`` (``cin -> mid -> cout``)."""

    def __init__(self, cin: int, mid: int, cout: int, slope: float) -> None:
        super().__init__()
        self.conv1 = _Layer(cin, mid, slope)
        self.conv2 = _Layer(mid, cout, slope)

    def forward(self, x: Tensor, mask: Optional[Tensor]) -> Tensor:
        return self.conv2(self.conv1(x, mask), mask)


class _NoNorm(nn.Module):
    """Stands in for a batch norm folded into the preceding convolution."""

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        return x


@torch.no_grad()
def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Fold every eval-mode batch norm of ``model``'s conv layers into the convolution before it.

    (``w' = w * g / sqrt(v + eps)``, ``b' = (b - m) * g / sqrt(v + eps) + beta``),
    in place, for inference: the same outputs up to float rounding with one pass over each
    activation tensor less. The model can no longer be trained or saved as a checkpoint.

    Args:
        model: An ``S4Net`` (or a part of one) in eval mode.

    Returns:
        ``model``.
    """
    if model.training:
        raise ValueError("fold_batchnorm needs a model in eval mode")
    for layer in model.modules():
        if not isinstance(layer, _Layer) or isinstance(layer.bn, _NoNorm):
            continue
        bn = layer.bn
        conv = layer.conv
        assert isinstance(conv, (nn.Conv3d, nn.ConvTranspose3d))
        assert bn.running_var is not None and bn.running_mean is not None
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        shift = bn.bias - bn.running_mean * scale
        if isinstance(conv, nn.ConvTranspose3d):  # weight (in, out, k, k, k)
            conv.weight.mul_(scale.view(1, -1, 1, 1, 1))
        else:  # weight (out, in, k, k, k)
            conv.weight.mul_(scale.view(-1, 1, 1, 1, 1))
        bias = conv.bias if conv.bias is not None else torch.zeros_like(scale)
        conv.bias = nn.Parameter(bias * scale + shift, requires_grad=False)
        layer.bn = _NoNorm()  # type: ignore[assignment]
    return model


class _FusedLayer(nn.Module):
    """A ``_Layer`` whose batch norm was folded, run as one oneDNN convolution + LeakyReLU.

    ``torch.ops.mkldnn._convolution_pointwise``, CPU inference only.
    """

    def __init__(self, conv: nn.Conv3d, slope: float) -> None:
        super().__init__()
        self.weight = conv.weight
        self.bias = conv.bias
        self.padding = list(conv.padding)
        self.stride = list(conv.stride)
        self.dilation = list(conv.dilation)
        self.groups = int(conv.groups)
        self.slope = float(slope)

    def forward(self, x: Tensor, mask: Optional[Tensor]) -> Tensor:
        y = torch.ops.mkldnn._convolution_pointwise(
            x, self.weight, self.bias, self.padding, self.stride, self.dilation, self.groups,
            "leaky_relu", [self.slope], "",
        )  # fmt: skip
        return _apply_mask(y, mask)


@functools.cache
def _fused_op_works() -> bool:
    """True when this torch build runs oneDNN's fused conv + LeakyReLU like the eager ops.

    Probed once per process, without touching the global random state.
    """
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            conv = nn.Conv3d(3, 4, 3, padding=1).eval()
            x = torch.randn(1, 3, 4, 6, 6)
            ref = F.leaky_relu(conv(x), 0.01)
            out = _FusedLayer(conv, 0.01)(x, None)
        return bool(torch.allclose(ref, out, atol=1e-5))
    except (AttributeError, RuntimeError, NotImplementedError):
        return False


@torch.no_grad()
def fuse_for_inference(model: nn.Module) -> nn.Module:
    """CPU inference form of ``model``, in place.

    Batch norms folded (:func:`fold_batchnorm`) and each Conv3d + LeakyReLU run as one oneDNN primitive when this torch build has it
    (one pass less over every activation tensor; transposed convolutions stay as they are).
    Call it after moving the model to its final dtype and memory format.

    Args:
        model: An ``S4Net`` (or a part of one) in eval mode, on the CPU.

    Returns:
        ``model``.
    """
    fold_batchnorm(model)
    if not _fused_op_works():
        return model
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, _Layer) and type(child.conv) is nn.Conv3d:
                setattr(parent, name, _FusedLayer(child.conv, child.act.negative_slope))
    return model


class _ProjectionHead(nn.Module):
    """g: Conv3d 1x1x1 + BN + LeakyReLU, then Conv3d 1x1x1 to ``proj_dim``."""

    def __init__(self, cin: int, dim: int, slope: float) -> None:
        super().__init__()
        self.hidden = _Layer(cin, cin, slope, kernel=1)
        self.out = nn.Conv3d(cin, dim, 1)

    def forward(self, x: Tensor, mask: Optional[Tensor]) -> Tensor:
        return self.out(self.hidden(x, mask))


def _part_weight(weights: Optional[dict[str, Tensor]], modality: str) -> Optional[Tensor]:
    """A sensor's ``(B,)`` fusion weight (None: equal weights)."""
    return None if weights is None else weights[modality]


def _fuse(tensors: list[Tensor], weights: list[Optional[Tensor]]) -> Tensor:
    """The mean of ``tensors`` ``(B, C, ...)``, weighted per sample when ``weights`` are given.

    ``(B,)`` each; a sample whose weights are all 0 gets 0.
    """
    if all(w is None for w in weights):
        return sum(tensors[1:], tensors[0]) / len(tensors)
    ws = [w.view(-1, 1, 1, 1, 1).to(t.dtype) for w, t in zip(weights, tensors)]  # type: ignore[union-attr]
    total = sum(ws[1:], ws[0]).clamp(min=1e-6)
    return sum((w * t for w, t in zip(ws[1:], tensors[1:])), ws[0] * tensors[0]) / total


def _pool(x: Tensor, mask_in: Optional[Tensor], mask_out: Optional[Tensor]) -> Tensor:
    """MaxPool3d(2) over real positions only; cells without a real position become 0."""
    if mask_in is None:
        return F.max_pool3d(x, 2)
    x = x.masked_fill(~mask_in.unsqueeze(1), float("-inf"))
    x = F.max_pool3d(x, 2)
    assert mask_out is not None  # the pooled mask of mask_in
    return x.masked_fill(~mask_out.unsqueeze(1), 0.0)


def _pool_mask(mask: Tensor) -> Tensor:
    """True where a 2x2x2 cell holds at least one True."""
    return F.max_pool3d(mask.unsqueeze(1).to(torch.float32), 2).squeeze(1) > 0


def pixel_features(x: Tensor, dec: Tensor) -> Tensor:
    """Per-pixel series of the input and the decoder features, frame-major.

    ``x`` ``(B, T, C, H, W)`` and ``dec`` ``(B, D, T, H, W)`` give ``(B, T * (C + D), H, W)``.
    """
    b, t, _, h, w = x.shape
    both = torch.cat([x.permute(0, 2, 1, 3, 4), dec], dim=1)  # (B, C + D, T, H, W)
    return both.permute(0, 2, 1, 3, 4).reshape(b, -1, h, w)


def edge_aware_smooth(probs: Tensor, guide: Tensor, iters: int, sigma: float) -> Tensor:
    """Edge-aware smoothing: ``iters`` rounds of 3x3 neighbourhood averaging of ``probs``.

    Class probabilities ``(B, K, H, W)`` are averaged over each pixel's 3x3 neighbourhood, each
    neighbour weighted by ``exp(-d^2 / sigma^2)`` where ``d^2`` is the mean squared difference of
    the ``guide`` ``(B, G, H, W)`` (the standardised input series): labels spread inside fields, not
    across field edges. Borders replicate.
    """
    if iters <= 0:
        return probs
    b, g, h, w = guide.shape
    pad = F.pad(guide, (1, 1, 1, 1), mode="replicate")
    d2 = torch.stack(
        [
            (pad[:, :, dr : dr + h, dc : dc + w] - guide).square().mean(1)
            for dr in range(3)
            for dc in range(3)
        ],
        dim=1,
    )  # (B, 9, H, W)
    weight = torch.softmax(-d2 / (sigma * sigma), dim=1)
    for _ in range(iters):
        pp = F.pad(probs, (1, 1, 1, 1), mode="replicate")
        probs = cast(
            Tensor,
            sum(
                pp[:, :, dr : dr + h, dc : dc + w] * weight[:, 3 * dr + dc : 3 * dr + dc + 1]
                for dr in range(3)
                for dc in range(3)
            ),
        )
    return probs


class PixelHead(nn.Module):
    """An ensemble of per-pixel MLPs (Linear - ReLU - Dropout - Linear) with ``k`` classes.

    ``config.members`` MLPs read a pixel's whole standardised feature vector of ``in_features``
    values (:func:`pixel_features`: per frame the input bands, then the decoder features);
    ``config.raw_members`` more read only the input bands of every frame (``raw_per_frame`` of
    the ``in_features / frames`` values per frame), so that the ensemble does not rest on the
    network's features alone. The forward pass returns the log of all members' mean
    probabilities ``(B, K, H, W)``. ``mean``/``std`` buffers hold the standardisation.
    """

    DROPOUT = 0.2

    mean: Tensor
    std: Tensor
    raw_index: Tensor

    def __init__(
        self, in_features: int, k: int, config: PixelHeadConfig, frames: int, raw_per_frame: int
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(in_features))
        self.register_buffer("std", torch.ones(in_features))
        per = in_features // max(1, frames)
        if config.raw_members and not 0 < raw_per_frame <= per:
            raise ValueError(f"raw_per_frame must be in 1..{per}, got {raw_per_frame}")
        index = torch.arange(frames)[:, None] * per + torch.arange(raw_per_frame)[None, :]
        # not saved: rebuilt from the network settings, so checkpoints keep their keys
        self.register_buffer("raw_index", index.reshape(-1), persistent=False)
        self.full_members = int(config.members)
        hidden = config.hidden

        def mlp(n_in: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Linear(n_in, hidden), nn.ReLU(), nn.Dropout(self.DROPOUT), nn.Linear(hidden, k)
            )

        self.members = nn.ModuleList(
            [mlp(in_features) for _ in range(config.members)]
            + [mlp(self.raw_index.numel()) for _ in range(config.raw_members)]
        )

    def standardise(self, feats: Tensor) -> Tensor:
        """``(N, F)`` raw features -> standardised."""
        return (feats - self.mean) / self.std

    def member_input(self, z: Tensor, i: int) -> Tensor:
        """What member ``i`` reads of standardised features ``(N, F)``."""
        return z if i < self.full_members else z.index_select(1, self.raw_index)

    def member_logits(self, z: Tensor, i: int) -> Tensor:
        """Logits ``(N, K)`` of member ``i`` on standardised features ``(N, F)``."""
        return self.members[i](self.member_input(z, i))

    def probabilities(self, z: Tensor) -> Tensor:
        """The members' mean class probabilities ``(N, K)`` on standardised features ``(N, F)``.

        The input bands are selected once for all series-only members.
        """
        raw = z.index_select(1, self.raw_index) if len(self.members) > self.full_members else z
        return torch.stack(
            [
                torch.softmax(member(z if i < self.full_members else raw), dim=1)
                for i, member in enumerate(self.members)
            ]
        ).mean(0)

    def forward(self, feats: Tensor) -> Tensor:
        """Log mean class probabilities ``(B, K, H, W)`` of the features ``(B, F, H, W)``."""
        b, f, h, w = feats.shape
        probs = self.probabilities(self.standardise(feats.permute(0, 2, 3, 1).reshape(-1, f)))
        k = probs.shape[1]
        return probs.clamp_min(1e-8).log().reshape(b, h, w, k).permute(0, 3, 1, 2)


class S4Net(nn.Module):
    """The S4 network: a 3D U-Net with modality-specific encoder heads.

    Two modality-specific encoder heads, shared encoder layers, projection head, shared decoder with
    per-target output convs. See the module docstring for the layout.
    """

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        w = c.widths
        levels = c.levels
        slope = c.negative_slope

        def enc_block(i: int, cin: int) -> _Block:
            return _Block(cin, w[i], w[i], slope)

        self.first = nn.ModuleDict(
            {
                m: nn.ModuleList(
                    enc_block(i, c.channels(m) if i == 0 else w[i - 1]) for i in range(c.n_specific)
                )
                for m in MODALITIES
            }
        )
        shared: list[nn.Module] = [enc_block(i, w[i - 1]) for i in range(c.n_specific, levels)]
        shared.append(_Layer(w[levels - 1], w[levels], slope))  # bottleneck conv
        self.shared = nn.ModuleList(shared)
        self.proj = _ProjectionHead(w[levels], c.proj_dim, slope)

        self.center_out = _Layer(w[levels], w[levels], slope)
        self.center_up = nn.ConvTranspose3d(
            w[levels], w[levels - 1], 3, stride=2, padding=1, output_padding=1
        )
        self.dec_blocks = nn.ModuleList(
            _Block(2 * w[i], w[i], w[i] if i > 0 else c.dec_out_width, slope)
            for i in range(levels - 1, -1, -1)
        )
        self.dec_ups = nn.ModuleList(
            _Layer(w[i], w[i - 1], slope, up=True) for i in range(levels - 1, 0, -1)
        )
        self.rec_heads = nn.ModuleDict(
            {m: nn.Conv3d(c.dec_out_width, c.channels(m), 3, padding=1) for m in MODALITIES}
        )
        self.seg_head: Optional[nn.Conv3d] = None
        self.pixel_head: Optional[PixelHead] = None
        if c.num_classes > 0:
            self.set_num_classes(c.num_classes)

    # ----------------------------------------------------------------- parameters
    def set_num_classes(self, k: int) -> None:
        """(Re)create the segmentation output conv with ``k`` classes (new random weights).

        Also sets ``self.config.num_classes``.
        """
        if k < 1:
            raise ValueError(f"number of classes must be >= 1, got {k}")
        ref = self._reference_weight()
        c = self.config
        if c.head == "pixel":
            per_frame = c.channels(c.head_modality) + c.dec_out_width
            pixel = PixelHead(
                per_frame * c.head_frames,
                k,
                c.pixel_head,
                c.head_frames,
                c.channels(c.head_modality),
            )
            self.pixel_head = pixel.to(device=ref.device, dtype=ref.dtype)
            self.seg_head = None
        else:
            conv = nn.Conv3d(c.dec_out_width, k, 3, padding=1)
            self.seg_head = conv.to(device=ref.device, dtype=ref.dtype)
            self.pixel_head = None
        self.config.num_classes = int(k)

    def encoder_parameters(self, modality: Optional[str] = None) -> Iterator[nn.Parameter]:
        """Encoder parameters of ``modality``.

        y_r + y_c for "s1", y_o + y_c for "s2", all three for None or "both".
        """
        mods = MODALITIES if modality in (None, "both") else (modality,)
        for m in mods:
            _check_modality(m)
            yield from self.first[m].parameters()
        yield from self.shared.parameters()

    def decoder_parameters(self) -> Iterator[nn.Parameter]:
        """The shared decoder up-path (without output convs)."""
        for module in (self.center_out, self.center_up, self.dec_blocks, self.dec_ups):
            yield from module.parameters()

    def segmentation_parameters(self, modality: str) -> Iterator[nn.Parameter]:
        """Every parameter that ``segment(x, modality)`` uses."""
        yield from self.encoder_parameters(modality)
        yield from self.decoder_parameters()
        for head in (self.seg_head, self.pixel_head):
            if head is not None:
                yield from head.parameters()

    # ----------------------------------------------------------------- forward parts
    def _reference_weight(self) -> Tensor:
        """A weight of the network (its device, dtype and memory format are the network's)."""
        return cast(nn.Conv3d, self.rec_heads["s1"]).weight

    def _memory_format(self) -> torch.memory_format:
        weight = self._reference_weight()
        if weight.is_contiguous(memory_format=torch.channels_last_3d) and not (
            weight.is_contiguous()
        ):
            return torch.channels_last_3d
        return torch.contiguous_format

    def encode(
        self,
        x: Tensor,
        modality: str,
        frame_mask: Optional[Tensor] = None,
        weights: Optional[dict[str, Tensor]] = None,
    ) -> Encoded:
        """Encode ``x`` ``(B, T, C, H, W)`` of ``modality``; ``frame_mask`` ``(B, T)`` bool.

        ``modality`` "both": ``x`` holds the S1 bands then the S2 bands; each sensor's
        specific first blocks run on its own bands and their outputs (and skips) are averaged
        before the shared layers (joint MAE's fusion; ``weights``: optional ``(B,)`` weight
        per sensor and sample, e.g. 0 to leave a sensor out).
        """
        _check_modality(modality, INPUTS)
        if x.dim() != 5:
            raise ValueError(f"expected x of shape (B, T, C, H, W), got {tuple(x.shape)}")
        b, t, ch, h, w = x.shape
        expected = self.config.channels(modality)
        if ch != expected:
            raise DataError(
                f"the {modality.upper()} input has {ch} bands but the network expects "
                f"{expected} ({modality}_channels): use the same bands as in pretraining"
            )
        if frame_mask is None:
            frame_mask = torch.ones(b, t, dtype=torch.bool, device=x.device)
        else:
            if tuple(frame_mask.shape) != (b, t):
                raise ValueError(
                    f"frame_mask must have shape (B, T) = {(b, t)}, got {tuple(frame_mask.shape)}"
                )
            frame_mask = frame_mask.to(device=x.device, dtype=torch.bool)
        f = self.config.factor
        pt, ph, pw = (-t) % f, (-h) % f, (-w) % f
        masks = self._level_masks(frame_mask, (t, h, w), (pt, ph, pw))

        out = x.permute(0, 2, 1, 3, 4)
        if pt or ph or pw:
            out = F.pad(out, (0, pw, 0, ph, 0, pt))
        if masks[0] is not None:
            out = out.masked_fill(~masks[0].unsqueeze(1), 0.0)
        out = out.contiguous(memory_format=self._memory_format())
        out, skips = self.encode_stages(out, masks, modality, weights)
        return Encoded(out, skips, masks, frame_mask, (t, h, w), modality)

    def encode_stages(
        self,
        x: Tensor,
        masks: list[Optional[Tensor]],
        modality: str,
        weights: Optional[dict[str, Tensor]] = None,
    ) -> tuple[Tensor, list[Tensor]]:
        """The encoder's layers on a padded, masked input: (bottleneck, skips).

        ``x``: ``(B, C, T', H', W')`` with the level ``masks``. ``modality`` "both": see
        :meth:`encode`.
        """
        c = self.config
        if modality == "both":
            parts = {"s1": x[:, : c.s1_channels], "s2": x[:, c.s1_channels :]}
        else:
            parts = {modality: x}
        outs, skip_lists = [], []
        for m, out in parts.items():
            skips: list[Tensor] = []
            for i, stage in enumerate(cast(nn.ModuleList, self.first[m])):
                out = stage(out, masks[i])
                skips.append(out)
                out = _pool(out, masks[i], masks[i + 1])
            outs.append(out)
            skip_lists.append(skips)
        if len(parts) == 1:
            out, skips = outs[0], skip_lists[0]
        else:
            out = _fuse(outs, [_part_weight(weights, m) for m in parts])
            skips = [
                _fuse([sk[i] for sk in skip_lists], [_part_weight(weights, m) for m in parts])
                for i in range(c.n_specific)
            ]
        for j, stage in enumerate(self.shared):
            i = c.n_specific + j
            out = stage(out, masks[i])
            if i < c.levels:
                skips.append(out)
                out = _pool(out, masks[i], masks[i + 1])
        return out, skips

    def _level_masks(
        self, frame_mask: Tensor, size: tuple[int, int, int], pad: tuple[int, int, int]
    ) -> list[Optional[Tensor]]:
        levels = self.config.levels
        if not any(pad) and bool(frame_mask.all()):
            return [None] * (levels + 1)
        (t, h, w), (pt, ph, pw) = size, pad
        b = frame_mask.shape[0]
        dev = frame_mask.device
        fm = F.pad(frame_mask, (0, pt), value=False)
        rows = torch.arange(h + ph, device=dev) < h
        cols = torch.arange(w + pw, device=dev) < w
        m = fm[:, :, None, None] & rows[None, None, :, None] & cols[None, None, None, :]
        level = m.expand(b, t + pt, h + ph, w + pw).contiguous()
        masks: list[Optional[Tensor]] = [level]
        for _ in range(levels):
            level = _pool_mask(level)
            masks.append(level)
        return masks

    def project(self, enc: Encoded) -> Tensor:
        """Projection head g on the bottleneck: ``(B, proj_dim, T', H', W')``."""
        return self.proj(enc.features, enc.masks[-1])

    def feature_mask(self, enc: Encoded) -> Tensor:
        """Bool ``(B, T', H', W')``: bottleneck cells covering >= 1 real frame and real pixel."""
        mask = enc.masks[-1]
        if mask is None:
            b, _, t, h, w = enc.features.shape
            return torch.ones(b, t, h, w, dtype=torch.bool, device=enc.features.device)
        return mask

    def _decode(self, enc: Encoded) -> Tensor:
        """Shared decoder up-path, cropped to the input size: ``(B, dec_out_width, T, H, W)``."""
        masks, levels = enc.masks, self.config.levels
        out = self.center_out(enc.features, masks[levels])
        out = _apply_mask(self.center_up(out), masks[levels - 1])
        for j, i in enumerate(range(levels - 1, -1, -1)):
            out = self.dec_blocks[j](torch.cat([out, enc.skips[i]], dim=1), masks[i])
            if i > 0:
                out = self.dec_ups[j](out, masks[i - 1])
        t, h, w = enc.size
        # Padded positions are zero here, so cropping before the k3 output conv is exact.
        return out[:, :, :t, :h, :w]

    def reconstruct(self, enc: Encoded, target: str) -> Tensor:
        """Decoder h: the ``target`` modality's series ``(B, T, C_target, H, W)``."""
        _check_modality(target)
        return self.rec_heads[target](self._decode(enc)).permute(0, 2, 1, 3, 4)

    def segment(self, x: Tensor, modality: str, frame_mask: Optional[Tensor] = None) -> Tensor:
        """Class logits ``(B, K, H, W)``: masked temporal mean over the real frames.

        A sample without any real frame gets all-zero logits.
        """
        if self.seg_head is None and self.pixel_head is None:
            raise CheckpointError(
                "this network has no segmentation head (num_classes = 0, a pretrained-only "
                "model): fine-tune it on labelled polygons first"
            )
        if self.pixel_head is not None:
            return self._segment_pixel(x, modality, frame_mask)
        assert self.seg_head is not None  # checked above
        enc = self.encode(x, modality, frame_mask)
        logits = self.seg_head(self._decode(enc)).float()  # (B, K, T, H, W)
        weight = enc.frame_mask.to(logits.dtype)
        count = weight.sum(1).clamp(min=1.0)
        weighted = logits * weight[:, None, :, None, None]
        return weighted.sum(2) / count[:, None, None, None]

    def pixel_inputs(self, x: Tensor, modality: str, frame_mask: Optional[Tensor] = None) -> Tensor:
        """What the pixel head reads: :func:`pixel_features` of ``x`` and its decoder features.

        Shape ``(B, T * (C + D), H, W)``; ``T`` must be the head's ``head_frames``.
        """
        c = self.config
        if modality != c.head_modality:
            raise DataError(
                f"this model's pixel head maps from {c.head_modality.upper()}, not "
                f"{modality.upper()}: give {c.head_modality.upper()} layers"
            )
        if x.shape[1] != c.head_frames:
            raise DataError(
                f"the pixel head needs {c.head_frames} frames (periods), got {x.shape[1]}"
            )
        dec = self._decode(self.encode(x, modality, frame_mask))
        if frame_mask is not None:
            x = x * frame_mask.to(x.dtype)[:, :, None, None, None]
        return pixel_features(x, dec)

    def _segment_pixel(self, x: Tensor, modality: str, frame_mask: Optional[Tensor]) -> Tensor:
        assert self.pixel_head is not None
        head_dtype = self.pixel_head.mean.dtype  # float32 also when the network runs in bf16
        logp = self.pixel_head(self.pixel_inputs(x, modality, frame_mask).to(head_dtype))
        c = self.config.pixel_head
        if c.smooth_iters <= 0:
            return logp
        b, t, ch, h, w = x.shape
        guide = x.reshape(b, t * ch, h, w).float()
        probs = edge_aware_smooth(logp.float().exp(), guide, c.smooth_iters, c.smooth_sigma)
        return probs.clamp_min(1e-8).log().to(logp.dtype)

    def forward(self, x: Tensor, modality: str, frame_mask: Optional[Tensor] = None) -> Tensor:
        """Same as ``segment``."""
        return self.segment(x, modality, frame_mask)

    def pretrain_outputs(
        self,
        x_s1: Tensor,
        x_s2: Tensor,
        frame_mask: Optional[Tensor] = None,
        *,
        contrastive: bool = True,
        reconstruction: bool = True,
    ) -> dict[str, Any]:
        """Everything the S4 loss needs for an aligned pair (same B, T, H, W).

        Keys: ``z_s1``, ``z_s2`` (projections), ``feat_mask`` (both modalities' feature masks
        combined) when ``contrastive``; ``rec_s2`` (from S1) and ``rec_s1`` (from S2) when
        ``reconstruction``; always ``frame_mask`` ``(B, T)`` and ``factor`` (bottleneck
        down-sampling factor).
        """
        if not (contrastive or reconstruction):
            raise ValueError("pretrain_outputs needs contrastive and/or reconstruction")
        s1, s2 = x_s1.shape, x_s2.shape
        if x_s1.dim() != 5 or x_s2.dim() != 5 or (s1[:2] + s1[3:]) != (s2[:2] + s2[3:]):
            raise DataError(
                f"S1 {tuple(s1)} and S2 {tuple(s2)} batches are not aligned: they need the same "
                "number of samples, dates and pixels (B, T, H, W); align the series first"
            )
        enc1 = self.encode(x_s1, "s1", frame_mask)
        enc2 = self.encode(x_s2, "s2", frame_mask)
        out: dict[str, Any] = {"frame_mask": enc1.frame_mask, "factor": self.config.factor}
        if contrastive:
            out["z_s1"] = self.project(enc1)
            out["z_s2"] = self.project(enc2)
            out["feat_mask"] = self.feature_mask(enc1) & self.feature_mask(enc2)
        if reconstruction:
            out["rec_s2"] = self.reconstruct(enc1, "s2")
            out["rec_s1"] = self.reconstruct(enc2, "s1")
        return out

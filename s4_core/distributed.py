"""Training on several processes (GPUs, machines) with PyTorch's distributed engine.

``torchrun --nproc-per-node N -m s4_core pretrain ...`` (or ``finetune --head unet``) starts N
processes; torchrun sets ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``. :func:`session` joins them (NCCL on CUDA, gloo on the CPU; each process on
GPU ``LOCAL_RANK``), and :func:`prepare` wraps the training task in :class:`DistributedTask`,
which the one loop (``loop.run``) drives through the same hooks as a single process:

- data: ``batch_size`` is the GLOBAL batch. Every process draws the same windows (one seed),
  and reads and computes only its contiguous share of each batch (``Task.shard``); the other
  crops' random augmentations are drawn without reading them, so the random streams stay in
  step. ``batch_size`` must be a multiple of the number of processes. (Scenes small enough
  to preload, ``train.PRELOAD_BYTES``, are still held whole by every process, and every
  process computes the band statistics, as a single process does.);
- gradients: averaged over the processes after each backward pass (one all-reduce of all
  gradients flattened; the network is small, so overlapping it with the backward pass, as
  ``DistributedDataParallel`` does, would gain little), so every process takes the same
  optimiser step and the networks stay identical (the start is broadcast from rank 0);
- BatchNorm: synchronised (``model.MaskedBatchNorm3d.reduce``): the masked statistics are
  taken over the real positions of the whole global batch, as one process would;
- rank 0 alone writes ``OUT.partial`` and ``OUT`` and reports progress; the step figures
  (losses) are averaged over the processes; cancel requests are agreed on (all stop at the
  same step);
- shutdown: an error or SIGTERM in one process ends it at once without waiting for the others
  (no barrier on the way out); torchrun then stops the rest, and a process whose peer is gone
  fails at its next collective (gloo: at once; the group's timeout, ``S4_DIST_TIMEOUT``
  seconds, default 1800, bounds any wait).

With gradients averaged and statistics synchronised, N processes with a global batch B follow
a single process with batch B (``tests/test_distributed.py``), except where a loss is a mean
over pixels whose count differs between the shares (the U-Net's cross-entropy, a masked
reconstruction): there each process's mean counts equally, as in ``DistributedDataParallel``.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, TypeVar

import torch
import torch.distributed as dist

from s4_core.types import override

from . import loop
from .control import Control
from .errors import DistributedError
from .model import MaskedBatchNorm3d
from .types import Cancel

log = logging.getLogger(__name__)

T = TypeVar("T")

TIMEOUT_ENV = "S4_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 1800


@dataclass
class Context:
    """The processes of one distributed run, as seen by this one."""

    rank: int
    world_size: int
    local_rank: int
    backend: str

    @property
    def device(self) -> torch.device:
        """Where collectives run: this process's GPU for NCCL, else the CPU."""
        if self.backend == "nccl":
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")


_CURRENT: Optional[Context] = None


def launched() -> bool:
    """Whether this process was started as one of several (``WORLD_SIZE`` > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1) > 1


def current() -> Optional[Context]:
    """The distributed run this process is in (inside :func:`session`), else None."""
    return _CURRENT


def _timeout() -> datetime.timedelta:
    text = os.environ.get(TIMEOUT_ENV, "")
    try:
        seconds = float(text) if text else DEFAULT_TIMEOUT_S
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV}={text!r}: give a number of seconds") from None
    return datetime.timedelta(seconds=seconds)


@contextlib.contextmanager
def session(device: str = "auto") -> Iterator[Optional[Context]]:
    """Join the processes torchrun started and leave them on exit.

    Nothing when ``WORLD_SIZE`` is 1 or unset: yields None.

    ``device``: the run's device setting; CUDA ("auto" with a GPU, "cuda") uses NCCL and GPU
    ``LOCAL_RANK``, anything else gloo. On a clean exit the processes wait for each other
    (rank 0 has written the checkpoint); on an error or signal this one leaves at once.
    """
    global _CURRENT
    if not launched() or _CURRENT is not None:
        yield _CURRENT
        return
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    name = str(device or "auto").strip().lower()
    use_cuda = torch.cuda.is_available() and (name == "auto" or name.startswith("cuda"))
    if use_cuda:
        torch.cuda.set_device(local_rank)
    backend = "nccl" if use_cuda else "gloo"
    dist.init_process_group(backend, timeout=_timeout())
    ctx = Context(dist.get_rank(), dist.get_world_size(), local_rank, backend)
    _CURRENT = ctx
    s4_log = logging.getLogger("s4_core")
    level = s4_log.level
    if ctx.rank != 0:  # progress and logging from rank 0 only
        s4_log.setLevel(logging.WARNING)
    clean = False
    try:
        yield ctx
        clean = True
    finally:
        _CURRENT = None
        s4_log.setLevel(level)
        MaskedBatchNorm3d.reduce = None
        try:
            if clean:
                _collective(dist.barrier)
        finally:
            dist.destroy_process_group()


# ----------------------------------------------------------------------------- collectives
def _collective(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run the collective ``fn(*args, **kwargs)``, turning a peer's failure into DistributedError.

    A peer that failed, stopped or timed out makes the backends raise a bare RuntimeError.
    """
    try:
        return fn(*args, **kwargs)
    except RuntimeError as exc:
        line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        reason = re.sub(r"^\[[^\]]*\]\s*", "", line).split(". ")[0][:160]  # gloo: "[file] why."
        raise DistributedError(
            "another process of this distributed run failed, stopped or did not answer within "
            f"{TIMEOUT_ENV}={_timeout().total_seconds():.0f} s ({reason}); this one stopped "
            "too: see the first failing process's message"
        ) from exc


class _SumOverProcesses(torch.autograd.Function):
    """All-reduce (sum) whose backward sums the gradients over the processes as well.

    Each process's loss then reaches every process's share through the shared statistics.
    """

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        _collective(dist.all_reduce, out)
        return out

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> torch.Tensor:
        out = grad.contiguous().clone()
        _collective(dist.all_reduce, out)
        return out


def sum_over_processes(x: torch.Tensor) -> torch.Tensor:
    """``x`` summed over the processes of the run (differentiable)."""
    return _SumOverProcesses.apply(x)


def average_gradients(params: List[torch.nn.Parameter], world_size: int) -> None:
    """Replace each gradient by its mean over the processes (one flat all-reduce).

    A parameter without a gradient on every process keeps none (the optimiser skips it).
    """
    if not params:
        return
    dev = params[0].device
    has = torch.tensor([p.grad is not None for p in params], dtype=torch.int32, device=dev)
    _collective(dist.all_reduce, has)
    with_grad = [p for p, n in zip(params, has.tolist()) if n > 0]
    if not with_grad:
        return
    flat = torch.cat(
        [
            (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1).float()
            for p in with_grad
        ]
    )
    _collective(dist.all_reduce, flat)
    flat /= world_size
    offset = 0
    for p in with_grad:
        n = p.numel()
        part = flat[offset : offset + n].view_as(p).to(p.dtype)
        if p.grad is None:
            p.grad = part.clone()
        else:
            p.grad.copy_(part)
        offset += n


def average_figures(figures: Dict[str, float], ctx: Context) -> Dict[str, float]:
    """The step figures (losses, accuracy) averaged over the processes."""
    if not figures:
        return figures
    values = torch.tensor(list(figures.values()), dtype=torch.float64, device=ctx.device)
    _collective(dist.all_reduce, values)
    values /= ctx.world_size
    return dict(zip(figures, values.tolist()))


def broadcast_state(modules: List[torch.nn.Module], params: List[torch.nn.Parameter]) -> None:
    """Rank 0's parameters and buffers (BatchNorm statistics) on every process."""
    seen = set()
    tensors: List[torch.Tensor] = []
    for module in modules:
        tensors.extend(module.state_dict(keep_vars=True).values())
    tensors.extend(params)
    with torch.no_grad():
        for t in tensors:
            if id(t) in seen or not torch.is_tensor(t):
                continue
            seen.add(id(t))
            _collective(dist.broadcast, t.data, src=0)


# ----------------------------------------------------------------------------- the task
class DistributedTask(loop.Task):
    """``task`` run by one process of a distributed run (see the module docstring).

    The loop's hooks of ``task`` (``PASSED_THROUGH`` unchanged), plus the share of each batch,
    gradient averaging, synchronised BatchNorm, rank-0 checkpoints and averaged figures.
    """

    def __init__(self, task: loop.Task, ctx: Context) -> None:
        self.task, self.ctx = task, ctx
        self.kind, self.label, self.model = task.kind, task.label, task.model
        self.writes_checkpoints = ctx.rank == 0
        task.set_shard(ctx.rank, ctx.world_size)
        self.params: List[torch.nn.Parameter] = []
        self.started = False

    @override
    def build_optimizer(self) -> torch.optim.Optimizer:
        optimizer = self.task.build_optimizer()
        self.params = [p for group in optimizer.param_groups for p in group["params"]]
        return optimizer

    @override
    def start_epoch(self, epoch: int) -> None:
        if not self.started:  # after resuming: the same start everywhere
            self.started = True
            broadcast_state([self.task.model, *self.task.extra_modules()], self.params)
            MaskedBatchNorm3d.reduce = sum_over_processes
        self.task.start_epoch(epoch)

    @override
    def train_step(self) -> Tuple[torch.Tensor, Dict[str, float]]:
        loss, figures = self.task.train_step()
        return loss, average_figures(figures, self.ctx)

    @override
    def after_backward(self) -> None:
        average_gradients(self.params, self.ctx.world_size)
        self.task.after_backward()

    @override
    def validate(self) -> Dict[str, float]:
        reduce = MaskedBatchNorm3d.reduce
        MaskedBatchNorm3d.reduce = None  # every process validates alone (eval mode)
        try:
            return self.task.validate()
        finally:
            MaskedBatchNorm3d.reduce = reduce


#: The loop hooks a ``DistributedTask`` passes to its task unchanged.
PASSED_THROUGH = (
    "steps_per_epoch",
    "validation_steps",
    "after_step",
    "step_metrics",
    "score",
    "identity",
    "payload",
    "extra_state",
    "load_extra_state",
    "epoch_message",
)


def _pass_through(name: str) -> Callable[..., object]:
    """The hook ``name`` of ``DistributedTask``: the wrapped task's."""

    def hook(self: DistributedTask, *args: object) -> object:
        return getattr(self.task, name)(*args)

    hook.__name__, hook.__qualname__ = name, f"DistributedTask.{name}"
    hook.__doc__ = getattr(loop.Task, name).__doc__
    return hook


for _name in PASSED_THROUGH:
    setattr(DistributedTask, _name, _pass_through(_name))


def agreed_cancel(cancel: Optional[Cancel], ctx: Context) -> Cancel:
    """A cancel check that is true on every process as soon as it is on one of them.

    One all-reduce per call: the loop calls it once per step, at the same step everywhere.
    """

    def check() -> bool:
        flag = torch.tensor([1 if cancel is not None and cancel() else 0], device=ctx.device)
        _collective(dist.all_reduce, flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    return check


def prepare(task: loop.Task, control: Control) -> Tuple[loop.Task, Control]:
    """What ``loop.run`` gets: the task and the control of this process.

    Unchanged in a single process; inside :func:`session`, the distributed task, progress and log
    on rank 0 only and the agreed cancel check.
    """
    ctx = current()
    if ctx is None:
        return task, control
    if ctx.rank == 0:
        return DistributedTask(task, ctx), Control(
            control.progress, agreed_cancel(control.cancel, ctx), control.log
        )
    return DistributedTask(task, ctx), Control(cancel=agreed_cancel(control.cancel, ctx))

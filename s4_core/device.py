"""Compute devices: choice, mixed precision, memory layout and out-of-memory back-off.

Devices: ``auto`` / ``cpu`` / ``cuda`` / ``cuda:N`` / ``mps``.

- ``auto`` picks CUDA, then Apple MPS, then the CPU. An explicit device that is not available
  raises ``DeviceError`` saying how to get it.
- Mixed precision is used on CUDA only: bfloat16 where the GPU supports it, else float16
  together with a ``GradScaler`` (see ``grad_scaler``). CPU and MPS run float32.
- On CUDA, models use the ``channels_last_3d`` memory format and cuDNN autotuning
  (``cudnn.benchmark``), which pays off because tiles and crops have fixed shapes.
- CPU threads: the environment variable ``S4_THREADS`` (a positive integer) sets torch's
  thread count whenever a device is resolved; on a machine shared with other busy processes
  fewer threads can be much faster (on 2 cores shared with another job, 1 thread ran a
  training step up to 10x faster than 2).
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from typing import Callable, ContextManager, Iterator, Optional, TypeVar

import torch
from torch import nn

from .errors import DeviceError
from .types import Log

T = TypeVar("T")
M = TypeVar("M", bound=nn.Module)

__all__ = [
    "THREADS_ENV",
    "amp_dtype",
    "apply_thread_setting",
    "autocast_context",
    "grad_scaler",
    "is_out_of_memory",
    "prepare_model",
    "resolve_device",
    "run_with_oom_backoff",
    "cpu_threads",
]

_CUDA_HELP = (
    "install a CUDA build of PyTorch (see https://pytorch.org/get-started/locally/, e.g. "
    "pip install torch --index-url https://download.pytorch.org/whl/cu124) into the Python that "
    "runs S4, and an NVIDIA driver that supports it (check with nvidia-smi); or use --device cpu"
)


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


THREADS_ENV = "S4_THREADS"


def apply_thread_setting() -> Optional[int]:
    """Apply ``S4_THREADS`` (if set) to torch's CPU thread count; returns the count set."""
    text = os.environ.get(THREADS_ENV, "").strip()
    if not text:
        return None
    try:
        threads = int(text)
    except ValueError:
        threads = 0
    if threads < 1:
        raise DeviceError(
            f"{THREADS_ENV}={text!r} is not a positive whole number of CPU threads: set it to "
            f"e.g. 1 or 2, or unset it to let PyTorch decide"
        )
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


@contextlib.contextmanager
def cpu_threads(device: torch.device) -> Iterator[int]:
    """Run engine work on a CPU with a fixed number of torch threads.

    ``S4_THREADS`` when set, else 1.

    With one thread every reduction sums in one order, so a seed gives the same model, map and
    figures on any machine; with 2 threads 1x1x1 convolutions, matrix products and large means
    differ in the last bits (a training run drifts apart, a few pixels of a map change).
    Restores the previous count afterwards. Yields the count used (0 on a GPU: unchanged).
    """
    if device.type != "cpu":
        yield 0
        return
    before = torch.get_num_threads()
    threads = apply_thread_setting() or 1
    torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        torch.set_num_threads(before)


def resolve_device(name: str = "auto") -> torch.device:
    """The ``torch.device`` for ``name``: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.

    Also applies ``S4_THREADS`` (see :func:`apply_thread_setting`).
    """
    apply_thread_setting()
    text = str(name if name is not None else "auto").strip().lower()
    if text in ("", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if text == "cpu":
        return torch.device("cpu")
    match = re.fullmatch(r"(?:cuda|gpu)(?::(\d+))?", text)
    if match:
        if not torch.cuda.is_available():
            if torch.version.cuda is None:
                why = f"this PyTorch ({torch.__version__}) was built without CUDA"
            else:
                why = (
                    f"this PyTorch ({torch.__version__}, CUDA {torch.version.cuda}) finds no "
                    "usable NVIDIA GPU (driver missing or too old, or CUDA_VISIBLE_DEVICES hides it)"
                )
            raise DeviceError(
                f"device {name!r} is not available: {why}. To use a GPU, {_CUDA_HELP}"
            )
        index = int(match.group(1)) if match.group(1) is not None else torch.cuda.current_device()
        count = torch.cuda.device_count()
        if index >= count:
            raise DeviceError(
                f"device {name!r} is not available: this machine has {count} CUDA device(s) "
                f"(cuda:0..cuda:{count - 1}); pick one of those or use --device auto"
            )
        return torch.device("cuda", index)
    if text == "mps":
        if not _mps_available():
            built = (
                getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_built()
            )
            why = (
                "it needs an Apple-silicon Mac with macOS 12.3 or later"
                if built
                else f"this PyTorch ({torch.__version__}) was built without MPS support; "
                "install the macOS build of PyTorch on an Apple-silicon Mac"
            )
            raise DeviceError(f"device 'mps' is not available: {why}; or use --device cpu")
        return torch.device("mps")
    raise DeviceError(
        f"unknown device {name!r}: use auto, cpu, cuda, cuda:N (N = GPU number) or mps"
    )


def amp_dtype(device: torch.device) -> Optional[torch.dtype]:
    """The autocast dtype on ``device``: bf16 (or fp16 without bf16 support) on CUDA, else None."""
    device = torch.device(device)
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast_context(device: torch.device, enabled: bool = True) -> ContextManager:
    """Mixed-precision context for forward passes: autocast on CUDA, a no-op elsewhere."""
    dtype = amp_dtype(device) if enabled else None
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type="cuda", dtype=dtype)


def grad_scaler(device: torch.device) -> torch.amp.GradScaler:
    """A GradScaler that is active only where autocast uses float16 (CUDA without bf16)."""
    return torch.amp.GradScaler("cuda", enabled=amp_dtype(device) == torch.float16)


def prepare_model(model: M, device: torch.device, *, fixed_shapes: bool = True) -> M:
    """Move ``model`` to ``device``; on CUDA use channels_last_3d and cuDNN autotuning."""
    device = torch.device(device)
    model = model.to(device)
    if device.type == "cuda":
        # torch accepts memory_format here; its type stubs list only device/dtype/tensor forms
        model = model.to(memory_format=torch.channels_last_3d)  # type: ignore[call-overload]
        torch.backends.cudnn.benchmark = bool(fixed_shapes)
    return model


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA (``torch.cuda.OutOfMemoryError``) and MPS out-of-memory errors."""
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def _empty_cache() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    if _mps_available() and hasattr(torch, "mps"):
        torch.mps.empty_cache()


def run_with_oom_backoff(
    fn: Callable[[int], T], batch_size: int, *, log: Optional[Log] = None
) -> T:
    """``fn(batch_size)``; on out-of-memory, free the cache, halve the batch size and retry.

    Each halving is reported through ``log(message)`` (or ``warnings.warn`` without ``log``).
    Raises ``DeviceError`` when batch size 1 still runs out of memory. Errors other than
    out-of-memory propagate unchanged.
    """
    size = int(batch_size)
    if size < 1:
        raise ValueError(f"batch size must be >= 1, not {batch_size}")
    while True:
        failure: Optional[str] = None
        try:
            return fn(size)
        except (torch.cuda.OutOfMemoryError, RuntimeError) as exc:
            if not is_out_of_memory(exc):
                raise
            failure = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        # Outside the except block, so the traceback (and the tensors it holds) is released.
        _empty_cache()
        if size == 1:
            raise DeviceError(
                f"out of memory even with batch size 1 ({failure}): use a smaller tile size "
                "(--tile-size) or a shorter time series, close other programs using the GPU, "
                "or run on the CPU (--device cpu)"
            )
        new = max(1, size // 2)
        message = f"out of memory with batch size {size}; retrying with batch size {new}"
        if log is not None:
            log(message)
        else:
            warnings.warn(message, RuntimeWarning, stacklevel=2)
        size = new

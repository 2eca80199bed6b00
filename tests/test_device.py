"""Device choice, autocast settings and the out-of-memory back-off."""

from __future__ import annotations

import contextlib

import pytest
import torch

from s4_core import device as dev
from s4_core.errors import DeviceError

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_cpu_and_auto_without_accelerators(monkeypatch):
    assert dev.resolve_device("cpu") == torch.device("cpu")
    assert dev.resolve_device(" CPU ") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_mps_available", lambda: False)
    assert dev.resolve_device("auto") == torch.device("cpu")
    assert dev.resolve_device() == torch.device("cpu")


def test_s4_threads_sets_the_cpu_thread_count(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("S4_THREADS", "1")
        dev.resolve_device("cpu")
        assert torch.get_num_threads() == 1
        for bad in ("zero", "0", "-2"):
            monkeypatch.setenv("S4_THREADS", bad)
            with pytest.raises(DeviceError, match="S4_THREADS.*positive whole number"):
                dev.resolve_device("cpu")
        monkeypatch.setenv("S4_THREADS", "")
        torch.set_num_threads(before)
        dev.resolve_device("cpu")
        assert torch.get_num_threads() == before  # unset: left alone
    finally:
        torch.set_num_threads(before)


def test_auto_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_mps_available", lambda: True)
    assert dev.resolve_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert dev.resolve_device("auto") == torch.device("cuda", 0)


def test_unavailable_cuda_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    with pytest.raises(DeviceError, match="built without CUDA") as err:
        dev.resolve_device("cuda")
    assert "CUDA build of PyTorch" in str(err.value) and "nvidia-smi" in str(err.value)
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    with pytest.raises(DeviceError, match="driver"):
        dev.resolve_device("cuda:0")


def test_cuda_index_beyond_the_device_count(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert dev.resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(DeviceError, match=r"2 CUDA device\(s\)"):
        dev.resolve_device("cuda:5")


def test_unavailable_mps_and_unknown_names(monkeypatch):
    monkeypatch.setattr(dev, "_mps_available", lambda: False)
    with pytest.raises(DeviceError, match="'mps' is not available"):
        dev.resolve_device("mps")
    for bad in ("tpu", "cuda:x", "cpu:0:1"):
        with pytest.raises(DeviceError, match="unknown device"):
            dev.resolve_device(bad)


def test_mixed_precision_only_on_cuda(monkeypatch):
    cpu = torch.device("cpu")
    assert dev.amp_dtype(cpu) is None
    assert isinstance(dev.autocast_context(cpu), contextlib.nullcontext)
    with dev.autocast_context(cpu):
        y = torch.ones(2, 2) @ torch.ones(2, 2)
    assert y.dtype == torch.float32
    assert not dev.grad_scaler(cpu).is_enabled()
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert dev.amp_dtype(torch.device("cuda", 0)) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert dev.amp_dtype(torch.device("cuda", 0)) == torch.float16
    assert dev.amp_dtype(torch.device("mps")) is None


def test_prepare_model_on_cpu_keeps_the_default_layout():
    model = torch.nn.Conv3d(2, 3, 3)
    out = dev.prepare_model(model, "cpu")
    assert next(out.parameters()).device.type == "cpu"
    assert out.weight.is_contiguous()


def _fake_batch_fn(calls):
    def fn(batch_size: int):
        calls.append(batch_size)
        if batch_size > 2:
            raise torch.cuda.OutOfMemoryError(
                f"CUDA out of memory. Tried to allocate {batch_size} GiB"
            )
        return f"ran with {batch_size}"

    return fn


def test_oom_backoff_halves_until_it_fits_and_says_so():
    calls, messages = [], []
    result = dev.run_with_oom_backoff(_fake_batch_fn(calls), 8, log=messages.append)
    assert result == "ran with 2"
    assert calls == [8, 4, 2]
    assert messages == [
        "out of memory with batch size 8; retrying with batch size 4",
        "out of memory with batch size 4; retrying with batch size 2",
    ]


def test_oom_backoff_warns_without_a_log_callback():
    calls = []
    with pytest.warns(RuntimeWarning, match="batch size 5; retrying with batch size 2"):
        assert dev.run_with_oom_backoff(_fake_batch_fn(calls), 5) == "ran with 2"
    assert calls == [5, 2]


def test_oom_backoff_gives_up_at_batch_size_one():
    calls = []

    def always_oom(batch_size):
        calls.append(batch_size)
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(DeviceError, match="even with batch size 1") as err:
        dev.run_with_oom_backoff(always_oom, 4, log=lambda m: None)
    assert calls == [4, 2, 1]
    assert "--tile-size" in str(err.value)


def test_oom_backoff_treats_mps_oom_alike_and_passes_other_errors():
    calls = []

    def mps_oom(batch_size):
        calls.append(batch_size)
        if batch_size > 1:
            raise RuntimeError("MPS backend out of memory (MPS allocated: 1 GB)")
        return batch_size

    assert dev.run_with_oom_backoff(mps_oom, 3, log=lambda m: None) == 1
    assert calls == [3, 1]

    def broken(batch_size):
        calls.append(batch_size)
        raise RuntimeError("shape mismatch")

    calls.clear()
    with pytest.raises(RuntimeError, match="shape mismatch"):
        dev.run_with_oom_backoff(broken, 8)
    assert calls == [8]
    with pytest.raises(ValueError):
        dev.run_with_oom_backoff(broken, 0)


@pytest.mark.gpu
@needs_cuda
def test_cuda_device_autocast_and_layout():
    cuda = dev.resolve_device("cuda")
    assert dev.resolve_device("auto").type == "cuda"
    model = dev.prepare_model(torch.nn.Conv3d(2, 4, 3), cuda)
    assert model.weight.is_contiguous(memory_format=torch.channels_last_3d)
    assert torch.backends.cudnn.benchmark
    x = torch.randn(1, 2, 4, 8, 8, device=cuda)
    with dev.autocast_context(cuda):
        y = model(x)
    assert y.dtype == dev.amp_dtype(cuda)


@pytest.mark.gpu
@needs_cuda
def test_real_cuda_oom_backs_off():
    free, _ = torch.cuda.mem_get_info()
    messages = []

    def allocate(batch_size):
        # More than the free memory for batch sizes > 2, a few MiB for <= 2.
        n = (free * 4 if batch_size > 2 else 2**22) // 4
        x = torch.empty(int(n), dtype=torch.float32, device="cuda")
        return x.numel()

    assert dev.run_with_oom_backoff(allocate, 8, log=messages.append) == 2**20
    assert len(messages) == 2

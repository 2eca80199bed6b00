"""Speed and size of the S4 network and the exact InfoNCE.

Prints: parameter counts (reference widths 32-64-128); eval forward time for B 1, T 32,
128 x 128, 10 bands (contiguous vs channels_last_3d, and T 30 which is padded to 32 and
masked); one pretraining step (B 2, T 16, 32 x 32, both modalities, Lc + 0.01 Lr, Adam);
exact InfoNCE over 32 x 32 x 32 positions (forward + backward, peak memory).

    .venv/bin/python benchmarks/model_speed.py [--device cpu|cuda] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from s4_core.losses import info_nce, s4_loss  # noqa: E402
from s4_core.model import NetConfig, S4Net  # noqa: E402


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: torch.device, repeats: int, warmup: bool = True) -> float:
    if warmup:
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def count(params) -> int:
    return sum(p.numel() for p in params)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_info_nce(device: torch.device) -> None:
    z_a = torch.randn(1, 64, 32, 32, 32, device=device, requires_grad=True)
    z_b = torch.randn(1, 64, 32, 32, 32, device=device, requires_grad=True)
    before = peak_rss_mib()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()

    def exact() -> None:
        loss, _ = info_nce(z_a, z_b, mode="exact")
        loss.backward()

    t = timed(exact, device, 1, warmup=False)
    if device.type == "cuda":
        mem = f"peak CUDA memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB"
    else:
        mem = f"peak RSS {peak_rss_mib():.0f} MiB (was {before:.0f} MiB before)"
    print(
        f"exact InfoNCE, 32 x 32 x 32 = 32768 positions, D 64, forward + backward: {t:.2f} s, {mem}"
    )
    t = timed(lambda: info_nce(z_a, z_b, mode="sampled", num_anchors=4096)[0].backward(), device, 3)
    print(f"sampled InfoNCE, K 4096 of 32768 positions, forward + backward: {t:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-exact", action="store_true", help="skip the 32^3 exact InfoNCE")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    print(
        f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    if not args.skip_exact:  # first, so that its peak memory is not hidden by the U-Net's
        bench_info_nce(device)

    torch.manual_seed(0)
    seg = S4Net(NetConfig(num_classes=20))
    print("parameters (widths 32-64-128, proj_dim 64):")
    print(
        f"  segmentation U-Net, S2 10 bands, 20 classes: {count(seg.segmentation_parameters('s2')):,}"
    )
    print(
        f"  segmentation U-Net, S1 2 bands, 20 classes:  {count(seg.segmentation_parameters('s1')):,}"
    )
    pre = S4Net(NetConfig())
    print(
        f"  whole S4 network for pretraining (both first blocks, g, h + 2 output convs): "
        f"{count(pre.parameters()):,}"
    )
    print(
        f"    projection head g: {count(pre.proj.parameters()):,}; "
        f"modality-specific y_r {count(pre.first['s1'].parameters()):,}, "
        f"y_o {count(pre.first['s2'].parameters()):,}; shared y_c {count(pre.shared.parameters()):,}"
    )

    seg = seg.to(device).eval()
    x = torch.randn(1, 32, 10, 128, 128, device=device)
    with torch.no_grad():
        from torch.utils.flop_counter import FlopCounterMode

        counter = FlopCounterMode(display=False)
        with counter:
            seg.segment(x, "s2")
        gflop = counter.get_total_flops() / 1e9
        print(f"eval forward B 1, T 32, 128 x 128, 10 bands ({gflop:.1f} GFLOP):")
        t = timed(lambda: seg.segment(x, "s2"), device, args.repeats)
        print(f"  contiguous:       {t:.3f} s ({gflop / t:.0f} GFLOP/s)")
        x30 = x[:, :30].contiguous()
        t = timed(lambda: seg.segment(x30, "s2"), device, args.repeats)
        print(f"  contiguous, T 30 (padded to 32, masked): {t:.3f} s")
        seg = seg.to(memory_format=torch.channels_last_3d)
        t = timed(lambda: seg.segment(x, "s2"), device, args.repeats)
        print(f"  channels_last_3d: {t:.3f} s ({gflop / t:.0f} GFLOP/s)")

    torch.manual_seed(0)
    net = S4Net(NetConfig()).to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x1 = torch.randn(2, 16, 2, 32, 32, device=device)
    x2 = torch.randn(2, 16, 10, 32, 32, device=device)
    gen = torch.Generator().manual_seed(0)

    def step() -> None:
        out = net.pretrain_outputs(x1, x2)
        res = s4_loss(out, x1, x2, None, None, generator=gen)
        opt.zero_grad(set_to_none=True)
        res["loss"].backward()
        opt.step()

    t = timed(step, device, args.repeats)
    print(f"pretraining step B 2, T 16, 32 x 32 (S1 + S2, Lc + 0.01 Lr, Adam): {t:.3f} s")

    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

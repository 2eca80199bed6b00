"""Distributed training (distributed.py): 2 CPU processes with gloo on 127.0.0.1 stay
identical and follow one process with the same global batch; torchrun runs the command line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from s4_core import api, distributed, loop
from s4_core.checkpoint import load_checkpoint
from s4_core.control import NO_CONTROL
from s4_core.device import cpu_threads
from s4_core.errors import SettingError
from s4_core.model import MaskedBatchNorm3d
from s4_core.train import PretrainConfig, PretrainTask

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
    reason="this torch build has no gloo backend",
)

# global batch 4 = 2 crops per process; toy widths; 2 epochs of 1 step
CONFIG = dict(epochs=2, steps_per_epoch=1, crop_size=16, batch_size=4, widths=(8, 16, 32), seed=0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train(s1: str, s2: str, folder: Path, name: str) -> dict:
    """The pretraining of ``train.pretrain`` (same task, loop and hooks): one epoch to
    ``NAME-1.pt``, then resumed from it to ``NAME.pt``; returns this process's network (at
    the start and the end) and the epoch records."""
    scene = api.open_scene(s1, s2)
    cfg = PretrainConfig(**CONFIG)
    with cpu_threads(torch.device("cpu")):
        task = PretrainTask([scene], cfg, "cpu", NO_CONTROL)
        start = {k: v.clone() for k, v in task.model.state_dict().items()}
        run_task, control = distributed.prepare(task, NO_CONTROL)
        loop.run(run_task, folder / f"{name}-1.pt", 1, control=control)
        if distributed.current() is not None:
            torch.distributed.barrier()  # rank 0 has written it
        task = PretrainTask([scene], cfg, "cpu", NO_CONTROL)
        run_task, control = distributed.prepare(task, NO_CONTROL)
        result = loop.run(
            run_task, folder / f"{name}.pt", cfg.epochs, resume=folder / f"{name}-1.pt",
            control=control,
        )  # fmt: skip
    return {
        "start": start,
        "model": {k: v.detach().clone() for k, v in task.model.state_dict().items()},
        "history": result.history,
    }


def _finetune(s2: str, parcels: str, class_field: str, out: Path) -> dict:
    """The paper's U-Net fine-tuning (``head="unet"``) from scratch, 2 epochs."""
    return api.finetune(
        None, s2, parcels, class_field, out, modality="s2", head="unet", epochs=2,
        val_fraction=0.3, crop_size=16, batch_size=2, widths=(8, 16, 32), device="cpu", seed=0,
    )  # fmt: skip


def _rank(rank: int, world: int, port: int, s1: str, s2: str, labels: tuple, folder: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
    )
    with distributed.session("cpu") as ctx:
        assert ctx is not None and ctx.backend == "gloo" and ctx.world_size == world
        state = _train(s1, s2, Path(folder), "dist")
        # a plain dict: torch.load(weights_only=True) reads no api result class
        state["finetune"] = dict(_finetune(s2, *labels, Path(folder) / "ft-dist.pt"))
    torch.save(state, Path(folder) / f"rank{rank}.pt")


@pytest.fixture(scope="module")
def two_ranks(tiny_demo, tmp_path_factory):
    folder = tmp_path_factory.mktemp("dist")
    s1, s2 = str(tiny_demo.s1_dir), str(tiny_demo.s2_dir)
    labels = (str(tiny_demo.parcels), tiny_demo.class_field)
    mp.spawn(_rank, args=(2, _free_port(), s1, s2, labels, str(folder)), nprocs=2, join=True)
    ranks = [torch.load(folder / f"rank{r}.pt") for r in range(2)]
    single = _train(s1, s2, folder, "single")
    # one process computing every BatchNorm's statistics with the masked formula (as the
    # distributed run does) instead of nn.BatchNorm3d's kernel where nothing is padded
    MaskedBatchNorm3d.reduce = lambda t: t
    try:
        formula = _train(s1, s2, folder, "formula")
    finally:
        MaskedBatchNorm3d.reduce = None
    single["finetune"] = _finetune(s2, *labels, folder / "ft-single.pt")
    return folder, ranks, single, formula


def _differences(a: dict, b: dict, start: dict) -> tuple:
    """(largest parameter difference a - b, largest parameter change b - start, largest
    BatchNorm running-statistics difference), leaving out the conv biases that feed a
    BatchNorm: the normalisation removes them, so their true gradient is 0 and Adam turns the
    float noise of that 0 into steps of +-lr in ANY run (they change nothing downstream)."""
    params, moved, running = 0.0, 0.0, 0.0
    for key, value in b.items():
        if not value.is_floating_point():
            continue
        if key.endswith(".conv.bias") and key[: -len("conv.bias")] + "bn.weight" in b:
            continue
        diff = float((a[key].float() - value.float()).abs().max())
        if "running_" in key:
            running = max(running, diff)
        else:
            params = max(params, diff)
            moved = max(moved, float((value.float() - start[key].float()).abs().max()))
    return params, moved, running


def test_two_processes_stay_identical_and_follow_one_process_with_the_global_batch(two_ranks):
    """Each process computes 2 of the 4 crops of every batch; with averaged gradients and
    BatchNorm synchronised over the real positions, both follow one process holding all 4,
    through a resume too (one step, then resumed for a second one).

    Tolerances (measured on this run; "moved" = the largest parameter change, 2e-3 = two Adam
    steps of lr 1e-3): the runs differ only in the order of float32 sums (statistics and
    gradients added up across processes), ~1e-7 relative: the losses agree to 1e-7 (allowed
    1e-5). Against one process using the same masked statistics formula for every
    BatchNorm, parameters differ by 1.5e-6 (0.08 % of moved; allowed 1 %). Against the plain
    single process (nn.BatchNorm3d's kernel where nothing is padded, another summation
    order) 3.4e-4 (17 %; allowed 50 %): Adam divides each gradient by its own size, so the
    rounding of near-zero gradients becomes steps of a fraction of lr; the same single
    process with the two BatchNorm formulas differs by as much. BatchNorm running means
    3e-4 (allowed 2e-3: they follow the conv biases above, which may drift by lr per step).
    Without synchronised BatchNorm (each process normalising its own 2 crops) the same run
    is 4e-3 away in parameters (200 % of moved), 1.5e-2 in running means and 3e-3 in loss."""
    folder, ranks, single, formula = two_ranks
    for key, value in ranks[0]["model"].items():
        assert torch.equal(value, ranks[1]["model"][key]), key  # bit-identical processes
    params, moved, running = _differences(ranks[0]["model"], formula["model"], single["start"])
    assert moved > 1.5e-3
    assert params < 0.01 * moved and running < 2e-3, (params, moved, running)
    params, moved, running = _differences(ranks[0]["model"], single["model"], single["start"])
    assert params < 0.5 * moved and running < 2e-3, (params, moved, running)
    assert len(ranks[0]["history"]) == len(single["history"]) == 2
    for a, b in zip(ranks[0]["history"], single["history"]):  # the averaged figures
        for key in ("loss", "contrastive", "reconstruction"):
            assert a[key] == pytest.approx(b[key], rel=1e-5), key
    # rank 0 alone wrote the checkpoints (and kept nothing behind)
    assert (folder / "dist.pt").exists() and not (folder / "dist.pt.partial").exists()
    ckpt = load_checkpoint(folder / "dist.pt")
    for key, value in ckpt["state_dict"].items():
        assert torch.equal(value, ranks[0]["model"][key])


def test_unet_finetuning_on_two_processes(two_ranks):
    """``finetune(head="unet")`` in the same 2 processes: every batch of 2 windows split
    1 + 1, rank 0 writes the best epoch; both processes validate their own network on the
    held-out polygons and get the same figures (they hold the same network). The loss is
    each process's mean over its own labelled pixels, averaged: close to, not equal to, the
    single process's mean over all of them (measured 0.9 % and 0.4 % apart; allowed 5 %)."""
    folder, ranks, single, _ = two_ranks
    a, b = ranks[0]["finetune"], ranks[1]["finetune"]
    assert a["history"] == b["history"] and len(a["history"]) == 2
    assert "val_miou" in a["history"][0]
    ckpt = load_checkpoint(folder / "ft-dist.pt")
    assert ckpt["kind"] == "finetuned" and not (folder / "ft-dist.pt.partial").exists()
    for x, y in zip(a["history"], single["finetune"]["history"]):
        assert x["loss"] == pytest.approx(y["loss"], rel=0.05)


def test_batch_that_does_not_split_between_the_processes_is_refused(tiny_demo):
    task = PretrainTask(
        [api.open_scene(str(tiny_demo.s1_dir), str(tiny_demo.s2_dir))],
        PretrainConfig(**dict(CONFIG, batch_size=3)),
        "cpu",
        NO_CONTROL,
    )
    with pytest.raises(SettingError, match="multiple of the 2 processes") as info:
        task.set_shard(0, 2)
    assert "--batch-size" in info.value.for_command_line()


@pytest.mark.slow
def test_torchrun_runs_the_command_line_on_two_processes(tiny_demo, two_ranks, tmp_path):
    """``torchrun --nproc-per-node 2 -m s4_core pretrain``: rank 0 writes ``--out`` and
    prints the result once; the checkpoint is the single process's within the tolerances
    above."""
    out = tmp_path / "pre.pt"
    single = tmp_path / "single.pt"
    options = [
        "--epochs", "2", "--steps-per-epoch", "1", "--crop-size", "16", "--batch-size", "4",
        "--widths", "8", "16", "32", "--seed", "0", "--device", "cpu", "--quiet",
    ]  # fmt: skip
    data = ["--s1", str(tiny_demo.s1_dir), "--s2", str(tiny_demo.s2_dir)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("S4_THREADS", None)
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
        "--master-addr", "127.0.0.1", "--master-port", str(_free_port()),
        "-m", "s4_core", "pretrain", *data, "--out", str(out), *options,
    ]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("wrote ") == 1, run.stdout
    from s4_core.cli import main

    assert main(["pretrain", *data, "--out", str(single), *options]) == 0
    a, b = load_checkpoint(out)["state_dict"], load_checkpoint(single)["state_dict"]
    params, moved, running = _differences(a, b, start=two_ranks[2]["start"])
    assert params < 0.5 * moved and running < 2e-3, (params, moved, running)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the workers in /proc")
def test_sigterm_to_one_process_ends_the_whole_run_cleanly(tiny_demo, tmp_path):
    """One process stopped by SIGTERM (a node lost, a job step killed): it says so and
    leaves; the other one does not hang in its next collective but stops with a clear message
    naming the kept epoch in OUT.partial; torchrun ends; OUT is untouched."""
    import signal
    import time

    out = tmp_path / "pre.pt"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
        "--master-addr", "127.0.0.1", "--master-port", str(_free_port()),
        "-m", "s4_core", "pretrain", "--s1", str(tiny_demo.s1_dir), "--s2", str(tiny_demo.s2_dir),
        "--out", str(out), "--epochs", "100000", "--steps-per-epoch", "1", "--crop-size", "16",
        "--batch-size", "2", "--widths", "8", "16", "32", "--device", "cpu",
    ]  # fmt: skip
    repo = Path(__file__).resolve().parent.parent
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(repo))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    seen = b""
    deadline = time.time() + 120
    while b"epoch 2/" not in seen and time.time() < deadline:  # rank 0's progress
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:
            break
        seen += chunk
    assert b"epoch 2/" in seen, seen.decode(errors="replace")
    workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
    rank1 = [
        int(pid)
        for pid in workers.stdout.split()
        if b"RANK=1" in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    ]
    assert len(rank1) == 1, workers.stdout
    os.kill(rank1[0], signal.SIGTERM)
    start = time.time()
    err = (seen + proc.communicate(timeout=120)[1]).decode(errors="replace")
    assert time.time() - start < 60, "a process hung"
    assert proc.returncode != 0
    assert "s4 pretrain (rank 1): terminated (SIGTERM)" in err, err[-3000:]
    assert "s4 pretrain: error: another process of this distributed run failed" in err, err
    assert f"{out} was not changed" in err and f"{out}.partial" in err
    assert not out.exists()
    assert load_checkpoint(Path(f"{out}.partial"))["epoch"] >= 1

"""One training loop with hooks: pretraining (every objective) and the U-Net fine-tuning.

A :class:`Task` says what is trained and how (its hooks: the network, the optimiser, one
training step, validation, what to keep and the checkpoint payload); :func:`run` owns what
every training run shares: resume, the epochs and steps, the optimiser step, cancel checks,
progress, best-epoch bookkeeping and the checkpoint protocol.

Checkpoint protocol: while training, the kept epoch (the last one, or the best one when the
task scores epochs) is written to :func:`partial_path` ``(out)`` = ``out`` + ``.partial``
beside ``out``, with the optimiser state so that ``resume`` continues from it; ``out`` is
replaced (``os.replace``, atomic) only when the run ends. A cancelled or failed run leaves a
previous ``out`` byte-identical, and its last kept epoch in the ``.partial`` file.

Resuming: the checkpoint must be of the task's kind and say it trained what this run trains
(:meth:`Task.identity`: classes, inputs, network, objective); :func:`open_resume` compares them
before any work and names what differs.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import torch

from .checkpoint import load_checkpoint, save_checkpoint
from .control import NO_CONTROL, Control
from .errors import Cancelled, CheckpointError, OutputError, S4Error, SettingError
from .model import NetConfig, PixelHeadConfig
from .types import PathLike
from .validate import check_name_length, remove_stale_temps

log = logging.getLogger(__name__)


PARTIAL_SUFFIX = ".partial"


def partial_path(out: Path) -> Path:
    """Where a run writing ``out`` keeps its in-progress checkpoint (``out`` + ``.partial``)."""
    out = Path(out)
    return out.with_name(out.name + PARTIAL_SUFFIX)


def check_partial(out: PathLike, resume: Optional[PathLike] = None) -> None:
    """``OutputError``, before any work, unless a run writing ``out`` can keep ``out.partial``.

    Refused: a name too long for the file system with ``.partial`` added, and an ``out.partial``
    left by an earlier run that did not finish (interrupted, killed, or still running) unless this
    run resumes from it: its first epoch would replace that file and the earlier run's epochs
    would be lost.
    """
    out = Path(os.fspath(out))
    check_name_length(out, "output model", extra=PARTIAL_SUFFIX)
    partial = partial_path(out)
    remove_stale_temps(partial)  # a run killed while saving an epoch
    if not partial.exists():
        return
    if resume is not None:
        try:
            if os.path.samefile(resume, partial):
                return
        except OSError:
            pass  # the resumed file is missing: open_resume names it
    raise OutputError(
        f"{partial} holds the last epoch of an earlier run writing {out} that did not finish "
        "(it was interrupted, or is still running); this run would replace it. Continue that "
        f"run by resuming from {partial} (--resume, or RESUME in QGIS), or delete {partial} "
        "to start again; nothing was written"
    )


class Task:
    """The hooks of one training run; subclasses set ``kind``, ``label`` and ``model``.

    ``kind``: the checkpoint kind ("pretrained" / "finetuned"); ``label``: the word progress
    messages use ("pretraining"); ``model``: the network whose ``state_dict`` is saved.
    """

    kind: str = ""
    label: str = "training"
    model: torch.nn.Module
    # False in the processes of a distributed run that do not write checkpoints (all but
    # rank 0): they train alike but leave ``out`` and ``out.partial`` to the writer
    writes_checkpoints: bool = True
    # (this process, processes): the share of every batch this process reads and computes
    shard: Tuple[int, int] = (0, 1)

    def set_shard(self, rank: int, world_size: int) -> None:
        """Compute the ``rank``-th of ``world_size`` equal shares of every batch.

        A task whose batches cannot be split so raises ``SettingError``.
        """
        self.shard = (rank, world_size)

    def share(self, n: int) -> range:
        """Which of a batch's ``n`` crops this process reads and computes.

        A contiguous ``n / world_size``; all of them in a single process.
        """
        rank, world = self.shard
        per = n // world
        return range(rank * per, (rank + 1) * per)

    def extra_modules(self) -> List[torch.nn.Module]:
        """Trained modules beside ``model`` (an objective's own: mask tokens, heads)."""
        return []

    def build_optimizer(self) -> torch.optim.Optimizer:
        """The optimiser (built once, before resuming)."""
        params = [p for p in self.model.parameters() if p.requires_grad]
        return torch.optim.Adam(params)

    def steps_per_epoch(self) -> int:
        """Training steps in every epoch."""
        raise NotImplementedError

    def validation_steps(self) -> int:
        """Progress units that :meth:`validate` takes per epoch (0: no validation)."""
        return 0

    def start_epoch(self, epoch: int) -> None:
        """Called before the first step of ``epoch`` (0-based): draw the epoch's windows."""

    def train_step(self) -> Tuple[torch.Tensor, Dict[str, float]]:
        """One batch: (loss to back-propagate, the figures averaged into the epoch record)."""
        raise NotImplementedError

    def after_backward(self) -> None:
        """Called between the backward pass and the optimiser step.

        A distributed run averages the gradients over its processes here.
        """

    def after_step(self, done: int, total: int) -> None:
        """Called after every optimiser step (``done`` of ``total`` steps of the run)."""

    def step_metrics(self, metrics: Dict[str, float]) -> Dict[str, float]:
        """What the progress callback shows after a step."""
        return metrics

    def validate(self) -> Dict[str, float]:
        """Figures added to the epoch record after the epoch's steps (e.g. validation mIoU)."""
        return {}

    def score(self, record: dict) -> Optional[float]:
        """How the kept epoch is chosen (higher is better).

        None: every epoch replaces the previous one (the last epoch is kept).
        """
        return None

    def identity(self) -> dict:
        """The checkpoint entries that say what this run trains.

        ``classes`` (and ``class_field``), ``modality``, ``bands``, ``input``, ``time``,
        ``objective``, ``net_config``, as :meth:`payload` writes them, and ``train_config``:
        those of its settings that decide which parameters are trained; a checkpoint this run
        resumes must hold the same (:func:`differences`).
        """
        return {}

    def payload(self, metrics: dict, history: List[dict], epoch: int) -> dict:
        """The checkpoint of the current network (``metrics``: the kept epoch's record)."""
        raise NotImplementedError

    def extra_state(self) -> Optional[dict]:
        """State beside the network that resuming needs (e.g. an objective's own modules)."""
        return None

    def load_extra_state(self, state: Optional[dict]) -> None:
        """Inverse of :meth:`extra_state` (called when resuming)."""

    def epoch_message(self, record: dict, epoch: int, epochs: int, kept: bool) -> str:
        """The progress message at the end of an epoch."""
        return f"epoch {epoch}: " + ", ".join(
            f"{k} {v:.3f}" for k, v in record.items() if k != "epoch"
        )


@dataclass
class LoopResult:
    """What :func:`run` returns.

    Every epoch's record, the kept epoch's, and whether ``out`` was written by this run.
    """

    history: List[dict] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    written: bool = False


# network settings that follow from other entries (compared there): the bands, the classes,
# the modality
_DERIVED = ("s1_channels", "s2_channels", "num_classes", "head_modality")
# network settings of the "pixel" head only (compared when both use it)
_PIXEL_HEAD = ("head_frames", *PixelHeadConfig().to_dict())
# input representation entries compared (``periods`` depend on the dates of the imagery)
_INPUT = ("composite_months", "s1_ratio", "resolution")


def _plain(value: object) -> object:
    """``value`` with tuples as lists (checkpoints and configs differ there)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _shown(value: object) -> str:
    """``value`` for a message: lists as ``[a, b]``, without quotes."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return str(value)


def _changed(
    what: str, theirs: Mapping[str, Any], ours: Mapping[str, Any], keys: Sequence[str]
) -> List[str]:
    """``it has WHAT KEY A, this run B`` for each of ``keys`` that both hold and differ on."""
    return [
        f"it has {what}{key} {_shown(theirs[key])}, this run {_shown(ours[key])}"
        for key in keys
        if key in theirs and key in ours and _plain(theirs[key]) != _plain(ours[key])
    ]


def _bands(entries: Mapping[str, Any]) -> Dict[str, Any]:
    """``{"S1 bands": [...], "S2 bands": [...]}`` of the ``bands`` entry of a checkpoint or run."""
    return {f"{m.upper()} bands": names for m, names in (entries.get("bands") or {}).items()}


def differences(ckpt: Mapping[str, Any], run: Mapping[str, Any]) -> Tuple[List[str], bool]:
    """What checkpoint ``ckpt`` trained that this ``run`` (``Task.identity``) would not.

    Returns the differences in words (empty: they agree) and whether the classes differ. Only
    entries both hold are compared (older checkpoints lack some).
    """
    found: List[str] = []
    theirs, ours = ckpt.get("classes") or {}, run.get("classes") or {}
    classes = bool(theirs and ours) and _plain(theirs["names"]) != _plain(ours["names"])
    if classes:
        said = [
            _shown(d["classes"]["names"])
            + (f" (class field {d['class_field']})" if d.get("class_field") else "")
            for d in (ckpt, run)
        ]
        found.append(f"it was trained on classes {said[0]}, this run has {said[1]}")
    if "modality" in run and ckpt.get("modality") != run["modality"]:
        found.append(
            f"it was fine-tuned for modality {ckpt.get('modality')}, this run for {run['modality']}"
        )
    found += _changed("", _bands(ckpt), _bands(run), ["S1 bands", "S2 bands"])
    found += _changed("input ", ckpt.get("input") or {}, run.get("input") or {}, _INPUT)
    found += _changed("time ", ckpt.get("time") or {}, run.get("time") or {}, ["length", "mode"])
    if "objective" in run:
        there = dict(ckpt.get("objective") or {"name": "s4"})  # absent: S4 (older checkpoints)
        here = dict(run["objective"] or {})
        if there.get("name") != here.get("name"):
            found.append(
                f"it was pretrained with objective {there.get('name')}, this run with "
                f"{here.get('name')}"
            )
        else:
            found += _changed("objective setting ", there, here, sorted(set(there) - {"name"}))
    if "net_config" in run:
        there = NetConfig.from_dict(dict(ckpt["net_config"])).to_dict()
        here = NetConfig.from_dict(dict(run["net_config"])).to_dict()
        skip = _DERIVED if there["head"] == here["head"] == "pixel" else _DERIVED + _PIXEL_HEAD
        found += _changed("", there, here, [k for k in here if k not in skip])
    trained = run.get("train_config") or {}
    found += _changed("", ckpt.get("train_config") or {}, trained, list(trained))
    return found, classes


def open_resume(path: Path, kind: str, run: Mapping[str, Any]) -> dict:
    """Checkpoint ``path``, checked to resume a ``kind`` run that trains ``run``.

    ``run``: its ``Task.identity``. Raises ``CheckpointError`` naming the file and what
    differs (classes, modality, bands, input, objective, network settings) before any work.
    """
    ckpt = load_checkpoint(path)
    if ckpt.get("kind") != kind:
        raise CheckpointError(
            f"{path}: a {ckpt.get('kind', 'unknown')} checkpoint cannot resume {kind[:-2]}ing: "
            f"give a checkpoint this training wrote"
        )
    found, classes = differences(ckpt, run)
    if found:
        same = " and ".join(
            (["the same labels and class field"] if classes else [])
            + (["the same settings"] if len(found) > int(classes) else [])
        )
        raise CheckpointError(
            f"{path} cannot be resumed by this run: {'; '.join(found)}. Resume with {same} "
            "as the run that wrote it, or start again without resume (--resume)"
        )
    return ckpt


def _resume(
    path: Path, task: Task, optimizer: torch.optim.Optimizer
) -> Tuple[dict, List[dict], int]:
    """Load weights, optimiser and extra state of a checkpoint (checked by ``open_resume``)."""
    ckpt = open_resume(path, task.kind, task.identity())
    try:
        task.model.load_state_dict(ckpt["state_dict"])
        if ckpt.get("optimizer"):
            optimizer.load_state_dict(ckpt["optimizer"])
        task.load_extra_state(ckpt.get("extra_state"))
    except (KeyError, RuntimeError, ValueError) as exc:  # a difference ``identity`` misses
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{path} cannot be resumed by this run: its weights or optimiser state do not fit "
            f"what this run trains ({first}). Resume with the same settings as the run that "
            "wrote it, or start again without resume (--resume)"
        ) from exc
    epoch = int(ckpt.get("epoch", 0))
    # a finished run's file holds its whole history; resuming continues from the kept epoch
    history = [r for r in ckpt.get("history", []) if int(r.get("epoch", 0)) <= epoch]
    return ckpt, history, epoch


def check_more_epochs(path: Path, done: int, epochs: int) -> None:
    """``SettingError`` unless ``epochs`` goes beyond the resumed checkpoint's epochs.

    ``epochs`` counts from the start; with ``done`` epochs in checkpoint ``path`` nothing would be
    trained or written otherwise.
    """
    if epochs <= done:
        raise SettingError(
            "epochs",
            f"more than the {done} epochs the resumed checkpoint {path} has trained (epochs "
            "count from the start; nothing was trained or written)",
            epochs,
            flag="--epochs",
        )


def run(
    task: Task,
    out: Path,
    epochs: int,
    *,
    resume: Optional[Path] = None,
    control: Control = NO_CONTROL,
) -> LoopResult:
    """Train ``task`` for ``epochs`` epochs and write its kept epoch to ``out`` at the end.

    Epochs count from the start when resuming; see the module docstring for the protocol.
    """
    out = Path(out)
    partial = partial_path(out)
    optimizer = task.build_optimizer()
    history: List[dict] = []
    best: Optional[float] = None
    best_metrics: dict = {}
    first_epoch = 0
    if resume is not None:
        ck, history, first_epoch = _resume(Path(resume), task, optimizer)
        check_more_epochs(Path(resume), first_epoch, epochs)
        # the resumed checkpoint is the best so far: a later epoch replaces it only if better
        best_metrics = dict(ck.get("metrics") or {})
        best = task.score(best_metrics) if best_metrics else None
        if best is None:
            best_metrics = {}  # not scored (or scored differently): the next epoch is kept
    steps = task.steps_per_epoch()
    total = max(1, (epochs - first_epoch) * (steps + task.validation_steps()))
    done = 0
    kept_epoch = 0
    try:
        for epoch in range(first_epoch, epochs):
            task.model.train()
            task.start_epoch(epoch)
            sums: Dict[str, float] = {}
            for _ in range(steps):
                control.check()
                loss, metrics = task.train_step()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                task.after_backward()
                optimizer.step()
                for key, value in metrics.items():
                    sums[key] = sums.get(key, 0.0) + value
                done += 1
                task.after_step(done, total)
                control.report(
                    done / total,
                    f"{task.label} epoch {epoch + 1}/{epochs}",
                    task.step_metrics(metrics),
                )
            record = {"epoch": epoch + 1, **{k: v / max(1, steps) for k, v in sums.items()}}
            extra = task.validate()
            done += task.validation_steps()
            record.update(extra)
            score = task.score(record)
            history.append(record)
            log.info("%s %s", task.label, record)
            kept = score is None or not best_metrics or best is None or score > best
            if kept:
                best = score
                best_metrics = dict(record)
                if task.writes_checkpoints:
                    state = task.payload(best_metrics, history, epoch + 1)
                    state["optimizer"] = optimizer.state_dict()
                    extra_state = task.extra_state()
                    if extra_state is not None:
                        state["extra_state"] = extra_state
                    save_checkpoint(partial, state)
                kept_epoch = epoch + 1
            control.report(
                done / total, task.epoch_message(record, epoch + 1, epochs, kept), record
            )
    except Cancelled:
        if kept_epoch and task.writes_checkpoints:
            raise Cancelled(
                f"cancelled by the user; {out} was not changed. Epoch {kept_epoch} (the last "
                f"kept) is in {partial}: resume from it to continue (--resume, or RESUME in QGIS)"
            ) from None
        raise
    except (KeyboardInterrupt, S4Error) as exc:  # Ctrl-C / SIGTERM, a failure mid-run
        if kept_epoch and task.writes_checkpoints:
            exc.s4_note = (  # type: ignore[union-attr]
                f"{out} was not changed; epoch {kept_epoch} is in {partial} (resume from it: "
                "--resume, or RESUME in QGIS)"
            )
        raise
    if kept_epoch and task.writes_checkpoints:
        if history and int(history[-1].get("epoch", 0)) > kept_epoch:
            # the file holds the kept (best) epoch; its curves show the whole run
            state = load_checkpoint(partial)
            state["history"] = history
            save_checkpoint(partial, state)
        try:
            os.replace(partial, out)
        except OSError as exc:
            raise CheckpointError(
                f"cannot replace {out} with the finished run's {partial}: {exc}; the trained "
                f"model is in {partial}"
            ) from exc
    return LoopResult(history, best_metrics, written=bool(kept_epoch))

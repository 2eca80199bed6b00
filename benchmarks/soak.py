"""Soak check: many consecutive S4 Processing runs in ONE QGIS process, cancelled at random.

Runs ``--runs`` algorithms (fine-tune and segment, alternating at random) through
``processing.run`` in a headless ``QgsApplication`` on the tiny demo scene (toy widths).
About half the runs are cancelled at a random point: from a timer thread calling
``QgsProcessingFeedback.cancel()`` after a random delay, or from the feedback itself at a random
progress value. After each run it prints the resident memory (RSS), the open file descriptors
(``/proc/self/fd``), the temporary files left (S4's folders in Processing's temp folder and
``.tmp``/``.part``/``.partial`` files in the output folder) and whether the output is valid
(a completed model loads and lists its classes; a completed map has the grid's size and only
known classes; a cancelled run left no output). Figures are printed, never asserted
(tests/qgis/test_soak.py runs a short variant and checks outputs and leftovers).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/soak.py            # 50 runs
    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/soak.py --runs 10 --seed 1
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOY = {"EPOCHS": 2, "CROP_SIZE": 16, "WIDTHS": "8,16", "DEVICE": 1, "BATCH_SIZE": 2}
TEMP_SUFFIXES = (".tmp", ".part", ".partial")


def rss_mb() -> float:
    """Resident memory of this process, MB (VmRSS)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def qgis_app():
    """The running QgsApplication, else a headless one with Processing and the S4 provider."""
    from qgis.core import QgsApplication

    app = QgsApplication.instance()
    if app is None:
        QgsApplication.setPrefixPath("/usr", True)
        app = QgsApplication([], False)
        app.initQgis()
    sys.path.append("/usr/share/qgis/python/plugins")
    from processing.core.Processing import Processing

    Processing.initialize()
    registry = QgsApplication.processingRegistry()
    if registry.providerById("s4") is None:
        from s4_qgis.provider import S4Provider

        provider = S4Provider()
        registry.addProvider(provider)
        app._s4_provider = provider  # keep it alive
    return app


def cancelling_feedback(at_progress: Optional[float]):
    """A QgsProcessingFeedback that cancels itself at the first progress >= ``at_progress``."""
    from qgis.core import QgsProcessingFeedback

    class Feedback(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            if at_progress is not None:
                self.progressChanged.connect(self._check)

        def _check(self, value):
            if value >= at_progress and not self.isCanceled():
                self.cancel()

    return Feedback()


def leftovers(out_dir: Path) -> List[str]:
    """Temporary files S4 could have left: its Processing temp folders, partial outputs."""
    from qgis.core import QgsProcessingUtils

    found = [str(p) for p in Path(QgsProcessingUtils.tempFolder()).glob("s4_*")]
    found += [str(p) for p in out_dir.rglob("*") if p.name.endswith(TEMP_SUFFIXES)]
    return sorted(found)


def valid_output(kind: str, path: Path, n_classes: int) -> bool:
    """A completed model loads and names its classes; a map has 32 x 32 px of known classes."""
    import numpy as np
    import rasterio

    from s4_core import api

    try:
        if kind == "finetune":
            return len(api.model_info(path)["classes"]) == n_classes
        with rasterio.open(path) as ds:
            values = ds.read(1)
        return values.shape == (32, 32) and set(np.unique(values)) <= set(range(n_classes)) | {255}
    except Exception:
        return False


def soak(
    runs: int, seed: int, work: Path, print_fn: Callable[[str], None] = print, epochs: int = 2
) -> List[Dict]:
    """``runs`` Processing runs in this process (fine-tunes of ``epochs`` epochs); one record
    per run (see the module doc)."""
    app = qgis_app()  # noqa: F841 (the application must stay alive while Processing runs)
    import processing
    from qgis.core import QgsProcessingException

    from s4_core import api
    from s4_core.demo import make_demo_scene

    rng = random.Random(seed)
    scene = make_demo_scene(work / "scene", seed=0, size=32, n_s2=8, n_s1=10)
    model = work / "model.pt"
    api.finetune(
        None, str(scene.s2_dir), scene.parcels, scene.class_field, model,
        epochs=1, crop_size=16, widths=(8, 16), device="cpu", seed=0,
    )  # fmt: skip
    n_classes = len(api.model_info(model)["classes"])
    out_dir = work / "out"
    out_dir.mkdir()
    records = []
    print_fn(
        f"{'run':>3} {'algorithm':<9} {'cancel':<14} {'result':<9} {'s':>5} {'RSS MB':>7} "
        f"{'fds':>4} {'temp':>4} valid"
    )
    for i in range(runs):
        kind = rng.choice(["finetune", "segment"])
        mode = rng.choice(["none", "progress", "timer"])
        at = rng.uniform(1, 95) if mode == "progress" else None
        delay = rng.uniform(0.05, 2.0) if mode == "timer" else None
        feedback = cancelling_feedback(at)
        timer = threading.Timer(delay, feedback.cancel) if delay is not None else None
        out = out_dir / (f"model_{i}.pt" if kind == "finetune" else f"map_{i}.tif")
        if kind == "finetune":
            alg, params = "s4:finetune", {
                "SENTINEL2_FOLDER": str(scene.s2_dir), "LABELS": str(scene.parcels),
                "CLASS_FIELD": scene.class_field, "OUTPUT": str(out), "SEED": i, **TOY,
                "EPOCHS": epochs,
            }  # fmt: skip
        else:
            alg, params = "s4:segment_time_series", {
                "SENTINEL2_FOLDER": str(scene.s2_dir), "MODEL": str(model), "DEVICE": 1,
                "TILE_SIZE": 16, "OVERLAP": 4, "OUTPUT": str(out),
            }  # fmt: skip
        start = time.perf_counter()
        if timer is not None:
            timer.start()
        try:
            processing.run(alg, params, feedback=feedback)
            result = "done"
        except QgsProcessingException as error:
            result = "cancelled" if "cancel" in str(error).lower() else f"error: {error}"
        finally:
            if timer is not None:
                timer.cancel()
        seconds = time.perf_counter() - start
        left = leftovers(out_dir)
        if result == "done":
            valid = valid_output(kind, out, n_classes)
        else:  # a cancelled run leaves no output (nor its .qml style)
            valid = not out.exists() and not out.with_suffix(".qml").exists()
        record = dict(
            run=i, kind=kind, cancel=mode if mode == "none" else (
                f"progress {at:.0f}%" if at is not None else f"timer {delay:.2f}s"),
            result=result, seconds=seconds, rss_mb=rss_mb(), fds=open_fds(), temp=len(left),
            valid=valid, leftovers=left,
        )  # fmt: skip
        records.append(record)
        print_fn(
            f"{i:>3} {kind:<9} {record['cancel']:<14} {result[:9]:<9} {seconds:>5.1f} "
            f"{record['rss_mb']:>7.1f} {record['fds']:>4} {len(left):>4} {valid}"
        )
    return records


def summary(records: List[Dict]) -> str:
    done = [r for r in records if r["result"] == "done"]
    cancelled = [r for r in records if r["result"] == "cancelled"]
    errors = [r for r in records if r["result"].startswith("error")]
    first, last = records[0], records[-1]
    tail = records[len(records) // 2 :]
    return (
        f"{len(records)} runs: {len(done)} completed, {len(cancelled)} cancelled, "
        f"{len(errors)} errors; outputs valid: {sum(r['valid'] for r in records)}/{len(records)}; "
        f"RSS {first['rss_mb']:.0f} MB after run 0 -> {last['rss_mb']:.0f} MB after the last "
        f"(min/max over the second half {min(r['rss_mb'] for r in tail):.0f}/"
        f"{max(r['rss_mb'] for r in tail):.0f} MB); open fds {first['fds']} -> {last['fds']}; "
        f"temp files left after the last run: {last['temp']}; "
        f"{sum(r['seconds'] for r in records):.0f} s in runs"
    )


def fd_targets() -> Dict[str, int]:
    """Open descriptors by what they point at (file name, pipe, socket ...)."""
    out: Dict[str, int] = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        name = target.rsplit("/", 1)[-1] if target.startswith("/") else target.split(":")[0]
        out[name] = out.get(name, 0) + 1
    return out


def settle(seconds: float, print_fn: Callable[[str], None] = print) -> None:
    """Run Qt's event loop for ``seconds`` (QGIS closes pooled OGR connections idle for ~60 s
    from a timer: without an event loop, e.g. between processing.run calls in a script, each
    vector layer read leaves one descriptor open until then), then collect garbage and return
    freed heap to the system; print descriptors and RSS before and after."""
    import ctypes
    import gc

    from qgis.PyQt.QtCore import QEventLoop, QTimer

    before_fds, before_rss = open_fds(), rss_mb()
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    print_fn(
        f"after a {seconds:.0f} s event loop, gc and malloc_trim: open fds {before_fds} -> "
        f"{open_fds()}, RSS {before_rss:.0f} -> {rss_mb():.0f} MB; fds by target: "
        + ", ".join(f"{k} x{v}" for k, v in sorted(fd_targets().items()))
    )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument(
        "--settle", type=float, default=65.0, help="seconds of event loop after the runs"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    work = args.keep or Path(tempfile.mkdtemp(prefix="s4_soak_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        records = soak(args.runs, args.seed, work, lambda s: print(s, flush=True))
        print(summary(records))
        settle(args.settle)
        for r in records:
            if r["result"].startswith("error") or r["leftovers"]:
                print(f"run {r['run']}: {r['result']}; left {r['leftovers']}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    os._exit(0)  # skip exitQgis(): it tears GDAL down under live rasterio handles (NOTES.md)


if __name__ == "__main__":
    main()

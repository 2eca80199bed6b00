"""Background runs for the dock, with progress, cancel and a log.

``AlgorithmRun`` runs an S4 Processing algorithm in a ``QgsProcessingAlgRunnerTask`` (fine-tune,
segment: the dock's path), prepared in the main thread (layers are read there); its
``AlgorithmFeedback`` sends log lines, status text and metrics to the GUI as Qt signals.
``EngineTask`` runs an engine function directly (profiles, suggestions; not ported yet). Its
work function runs in a worker thread and gets the engine's three callables
``progress(fraction, message, metrics)``, ``cancel()`` and ``log(text)``; it must touch no QGIS
layer or widget (it receives plain file paths). Log lines and status messages reach the GUI
through Qt signals (queued into the main thread); ``on_done(result, error, cancelled)`` runs in
the main thread when the task ends.
"""

from __future__ import annotations

import time
import traceback
import warnings
from typing import Any, Callable, Dict, List, Optional, Set

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsMessageLog,
    QgsProcessingAlgorithm,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProject,
    QgsTask,
)
from qgis.PyQt.QtCore import pyqtSignal

from s4_core.types import Cancel, Log, Metrics, Progress, override

from .i18n import tr
from .layers import name_copies

Work = Callable[[Progress, Cancel, Log], Dict[str, Any]]
"""``work(progress, cancel, log)``: the engine call a task runs; its result dict."""
Done = Callable[[Optional[Dict[str, Any]], Optional[str], bool], None]
"""``on_done(result, error, cancelled)``: called in the main thread when a task ends."""

LOG_TAG = "S4"


def format_metrics(metrics: Optional[Dict[str, Any]]) -> str:
    """``{"epoch": 2, "loss": 0.51234, "val_miou": 0.4}`` -> ``"epoch 2, loss 0.5123, val_miou 0.4000"``."""
    if not metrics:
        return ""
    parts = []
    for key, value in metrics.items():
        if isinstance(value, float):
            parts.append(f"{key} {value:.4f}")
        elif isinstance(value, (int, str)):
            parts.append(f"{key} {value}")
    return ", ".join(parts)


class EngineTask(QgsTask):
    """Runs ``work(progress, cancel, log)`` in the background and reports to the GUI.

    The engine's warnings become log lines, as in a Processing log; ``copies`` (a temporary copy
    of a layer -> the layer's name) name the layer in its messages, not the copy.
    """

    log_message = pyqtSignal(str)
    status_message = pyqtSignal(str)
    metrics_reported = pyqtSignal(float, object)  # (fraction, metrics dict): live curves

    def __init__(
        self,
        description: str,
        work: Work,
        on_done: Optional[Done] = None,
        copies: Optional[Dict[str, str]] = None,
    ) -> None:
        super().__init__(description, QgsTask.Flag.CanCancel)
        self._work = work
        self._copies = dict(copies or {})
        self._on_done = on_done
        self.result: Optional[Dict[str, Any]] = None
        self.error: Optional[str] = None
        self.was_cancelled = False
        self._last_message = ""
        self._last_message_time = 0.0

    # callables handed to the engine (worker thread) ---------------------------------------
    def engine_progress(
        self, fraction: float, message: str = "", metrics: Optional[Metrics] = None
    ) -> None:
        """The engine's ``progress`` callback: the task's progress bar and status text."""
        self.setProgress(max(0.0, min(100.0, 100.0 * float(fraction))))
        if metrics:
            self.metrics_reported.emit(float(fraction), dict(metrics))
        if message:
            self.status_message.emit(message)
        now = time.monotonic()
        if metrics and ("epoch" in metrics or now - self._last_message_time > 2.0):
            self._last_message_time = now
            text = format_metrics(metrics)
            self.log_message.emit(f"{message}: {text}" if message else text)
        elif message and message != self._last_message and now - self._last_message_time > 2.0:
            self.log_message.emit(message)
            self._last_message_time = now
        self._last_message = message

    def engine_cancel(self) -> bool:
        """The engine's ``cancel`` callback: whether the task was cancelled."""
        return self.isCanceled()

    def engine_log(self, text: str) -> None:
        """The engine's ``log`` callback: a line in the task's log."""
        self.log_message.emit(str(text))

    # QgsTask ------------------------------------------------------------------------------
    @override
    def run(self) -> bool:
        from s4_core.errors import S4Warning

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", S4Warning)
            try:
                return self._run()
            finally:
                seen: Set[str] = set()
                for item in caught:
                    text = name_copies(str(item.message), self._copies)
                    if issubclass(item.category, S4Warning) and text not in seen:
                        seen.add(text)
                        self.log_message.emit(tr("Warning: {0}").format(text))

    def _run(self) -> bool:
        from s4_core.errors import Cancelled, S4Error

        try:
            self.result = self._work(self.engine_progress, self.engine_cancel, self.engine_log)
            return True
        except Cancelled as error:
            self.was_cancelled = True
            self.error = str(error) or "cancelled"
        except S4Error as error:
            self.error = name_copies(str(error), self._copies)
        except Exception as error:  # a bug: keep the traceback in the QGIS log
            QgsMessageLog.logMessage(traceback.format_exc(), LOG_TAG, Qgis.MessageLevel.Critical)
            self.error = (
                f"unexpected error ({type(error).__name__}: {error}); details in the S4 log panel"
            )
        if self.isCanceled():
            self.was_cancelled = True
        return False

    @override
    def finished(self, ok: bool) -> None:  # main thread
        if not ok and self.isCanceled():
            self.was_cancelled = True
            if not self.error:
                self.error = "cancelled"
        if self._on_done is not None:
            self._on_done(
                self.result if ok else None, None if ok else self.error, self.was_cancelled
            )


class AlgorithmFeedback(QgsProcessingFeedback):
    """Processing feedback that also sends its messages to the GUI thread as signals.

    ``message``: info and error lines; ``status``: progress text. Keeps the errors.
    """

    message = pyqtSignal(str)
    status = pyqtSignal(str)
    metrics_reported = pyqtSignal(float, object)  # (fraction, metrics dict): live curves

    def __init__(self) -> None:
        super().__init__()
        self.errors: List[str] = []

    @override
    def pushInfo(self, info: str) -> None:  # noqa: N802 (QGIS API)
        super().pushInfo(info)
        self.message.emit(str(info))

    @override
    def pushWarning(self, warning: str) -> None:  # noqa: N802
        super().pushWarning(warning)
        self.message.emit(str(warning))

    @override
    def reportError(self, error: str, fatalError: bool = False) -> None:  # noqa: N802, N803
        super().reportError(error, fatalError)
        self.errors.append(str(error))
        self.message.emit(str(error))

    @override
    def setProgressText(self, text: str) -> None:  # noqa: N802
        super().setProgressText(text)
        self.status.emit(str(text))

    def report_metrics(self, fraction: float, metrics: Dict[str, Any]) -> None:
        """Every metrics report of the engine (``S4Algorithm.callbacks`` calls it)."""
        self.metrics_reported.emit(float(fraction), dict(metrics))


#: runs whose task has not ended yet
_RUNNING: Set[AlgorithmRun] = set()


class AlgorithmRun:
    """One Processing algorithm run in the background (``QgsProcessingAlgRunnerTask``).

    The same parameters and code path as ``processing.run``, with progress and cancel.

    ``on_done(results, error, cancelled)`` runs in the main thread when it ends; ``context``
    (project set, so layer ids resolve) and ``feedback`` live as long as the run.
    """

    def __init__(
        self,
        algorithm: QgsProcessingAlgorithm,
        parameters: Dict[str, Any],
        on_done: Optional[Done] = None,
        project: Optional[QgsProject] = None,
    ) -> None:
        self.algorithm = algorithm
        self.parameters = dict(parameters)
        self.context = QgsProcessingContext()
        self.context.setProject(project or QgsProject.instance())
        self.feedback = AlgorithmFeedback()
        self.results: Optional[Dict[str, Any]] = None
        self.error: Optional[str] = None
        self.cancelled = False
        self._on_done = on_done
        # prepareAlgorithm runs here, in the main thread (layers are read there)
        self.task = QgsProcessingAlgRunnerTask(
            algorithm, self.parameters, self.context, self.feedback
        )
        self.task.executed.connect(self._executed)

    def start(self) -> QgsTask:
        """Start the run as a QGIS background task; the task."""
        _RUNNING.add(self)  # the task uses context and feedback: keep them alive till it ends
        QgsApplication.taskManager().addTask(self.task)
        return self.task

    def cancel(self) -> None:
        """Cancel the run (``on_done`` then reports it cancelled)."""
        if self in _RUNNING:
            self.task.cancel()

    def detach(self) -> None:
        """Forget ``on_done`` and disconnect the GUI from the feedback (the dock is closing)."""
        self._on_done = None
        for signal in (self.feedback.message, self.feedback.status, self.task.progressChanged):
            try:
                signal.disconnect()
            except (TypeError, RuntimeError):
                pass

    def _executed(self, ok: bool, results: Dict[str, Any]) -> None:  # main thread
        _RUNNING.discard(self)
        self.cancelled = self.feedback.isCanceled() or self.task.isCanceled()
        if ok:
            self.results = dict(results)
        elif self.feedback.errors:
            self.error = self.feedback.errors[-1]
        else:
            self.error = "cancelled" if self.cancelled else "the algorithm failed"
        if self._on_done is not None:
            done, self._on_done = self._on_done, None
            done(self.results, self.error, self.cancelled)

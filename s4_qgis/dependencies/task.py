"""The background install: :func:`s4_qgis.dependencies.install` in QGIS's task manager."""

from __future__ import annotations

from typing import Any, Dict, Optional

from qgis.core import QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from s4_core.errors import Cancelled, S4Error
from s4_core.types import Metrics, override

from .catalogue import PROFILES
from .installer import InstallPlan, InstallResult, install

__all__ = ["PROFILES", "InstallTask"]


class InstallTask(QgsTask):
    """Runs :func:`s4_qgis.dependencies.install` in QGIS's task manager (cancellable)."""

    log_line = pyqtSignal(str)
    progress_text = pyqtSignal(str)

    def __init__(self, plan: InstallPlan, pip_options: Optional[Dict] = None) -> None:
        super().__init__(f"S4: install {', '.join(plan.requirements)}", QgsTask.Flag.CanCancel)
        self.plan = plan
        self.pip_options = dict(pip_options or {})
        self.result: Optional[InstallResult] = None
        self.error = ""
        self.cancelled = False

    def _progress(
        self, fraction: float, message: str = "", metrics: Optional[Metrics] = None
    ) -> None:
        self.setProgress(max(0.0, min(100.0, 100.0 * fraction)))
        if message:
            self.progress_text.emit(message)

    @override
    def run(self) -> bool:  # runs in a worker thread
        kwargs: Dict[str, Any] = self.plan.kwargs()
        kwargs.update(self.pip_options)
        try:
            self.result = install(
                cancel=self.isCanceled, log=self.log_line.emit, progress=self._progress, **kwargs
            )
        except Cancelled as exc:
            self.cancelled, self.error = True, str(exc)
            return False
        except S4Error as exc:
            self.error = str(exc)
            return False
        except Exception as exc:  # noqa: BLE001 - reported in the dialog, never lost
            self.error = f"{type(exc).__name__}: {exc}"
            return False
        return True

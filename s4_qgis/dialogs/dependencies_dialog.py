"""Raster > S4 > Dependencies…: show what the engine needs and install it with pip, in a task."""

from __future__ import annotations

import dataclasses
import html
import sys
from typing import Dict, Optional

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from s4_core.errors import S4Error

from .. import dependencies as deps
from ..dependencies.task import InstallTask
from ..i18n import tr


class DependenciesDialog(QDialog):
    """The dependency dialog: what is installed, what to install, and the install log.

    Status of numpy/torch/rasterio/fiona, what to install ("mapping only (ONNX Runtime)" or
    "training (PyTorch, CPU or CUDA)"), the torch build (CPU/CUDA), install log.

    ``plan_overrides`` go to :func:`plan_install` (target, python, requirements, constraints)
    and ``pip_options`` to :func:`install` (find_links, no_index, isolated, env): tests use
    them to install from local wheels.
    """

    installed = pyqtSignal(bool)  #: emitted after an install; True if QGIS must restart

    def __init__(
        self,
        parent: Optional[QWidget] = None,
        plan_overrides: Optional[Dict] = None,
        pip_options: Optional[Dict] = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("S4 — Python dependencies"))
        self.setMinimumWidth(720)
        self.plan_overrides = dict(plan_overrides or {})
        self.pip_options = dict(pip_options or {})
        self.task: Optional[InstallTask] = None
        self.nvidia = deps.detect_nvidia()

        intro = QLabel(
            tr(
                "S4's engine needs numpy, rasterio and fiona in QGIS's own Python, and "
                "<b>PyTorch</b> to train (and map with .pt checkpoints) or only <b>ONNX "
                "Runtime</b> to map with an ONNX export of a model (s4 export-onnx). Missing "
                "packages are installed with pip into a folder of your QGIS profile; the "
                "packages QGIS ships (numpy, GDAL, PyQt…) are pinned and never replaced."
            )
        )
        intro.setWordWrap(True)

        self.status = QTreeWidget()
        self.status.setHeaderLabels([tr("Package"), tr("Version"), tr("Status"), tr("Location")])
        self.status.setRootIsDecorated(False)
        self.status.setMinimumHeight(125)

        self.profile = QComboBox()
        self.profile.addItem(tr("training (PyTorch, CPU or CUDA)"), "training")
        self.profile.addItem(tr("mapping only (ONNX Runtime)"), "mapping")
        self.profile.currentIndexChanged.connect(self.refresh_plan)

        self.variant = QComboBox()
        self.variant.addItem(tr("CPU only"), "cpu")
        if sys.platform != "darwin":  # no CUDA on macOS (the CPU build also drives MPS)
            for variant in deps.CUDA_VARIANTS:
                self.variant.addItem(
                    tr("NVIDIA GPU, CUDA {0}.{1}").format(variant[2:-1], variant[-1]), variant
                )
        default = deps.default_variant(self.nvidia)
        self.variant.setCurrentIndex(max(0, self.variant.findData(default)))
        self.variant.currentIndexChanged.connect(self.refresh_plan)
        if self.nvidia is None:
            gpu = tr("No NVIDIA driver found: the CPU build is the default.")
        else:
            cuda = tr(", supports CUDA {0}").format(self.nvidia.cuda) if self.nvidia.cuda else ""
            names = f" ({', '.join(self.nvidia.gpus)})" if self.nvidia.gpus else ""
            gpu = tr("NVIDIA driver {driver}{cuda}{gpus}: a CUDA build is the default.").format(
                driver=self.nvidia.driver or "?", cuda=cuda, gpus=names
            )
        self.gpu_label = QLabel(gpu)  # no word wrap in the form: heights stay exact

        self.python_label = QLabel()
        self.target_label = QLabel()
        self.packages_label = QLabel()
        self.pinned_label = QLabel()
        for label in (self.python_label, self.target_label, self.packages_label, self.pinned_label):
            label.setTextFormat(Qt.TextFormat.RichText)  # texts are html-escaped
            # no wrap: exact heights
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout()
        form.addRow(tr("Install for:"), self.profile)
        form.addRow(tr("torch build:"), self.variant)
        form.addRow("", self.gpu_label)
        form.addRow(tr("QGIS's Python:"), self.python_label)
        form.addRow(tr("Install into:"), self.target_label)
        form.addRow(tr("Packages:"), self.packages_label)
        form.addRow(tr("Never replaced:"), self.pinned_label)

        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMinimumHeight(120)

        buttons = QDialogButtonBox()
        self.install_button = QPushButton(tr("Install"))
        self.cancel_button = QPushButton(tr("Cancel install"))
        self.cancel_button.setEnabled(False)
        buttons.addButton(self.install_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.install_button.clicked.connect(self.start_install)
        self.cancel_button.clicked.connect(self.cancel_install)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.status)
        form_box = QWidget()  # fixed height: the log gives way when the message grows
        form_box.setLayout(form)
        form_box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        layout.addWidget(form_box)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.log, 1)
        layout.addWidget(buttons)

        self.plan: Optional[deps.InstallPlan] = None
        self.refresh_status()
        self.refresh_plan()

    # ---------------------------------------------------------------------------------------
    def refresh_status(self) -> None:
        """Fill the package table from what QGIS's Python can import now."""
        self.status.clear()
        deps.clear_cache()
        problems = deps.missing_engine_modules()
        for item in deps.engine_status():
            state = problems.get(item.name, "OK")
            row = QTreeWidgetItem([item.name, item.version or "-", state, item.location or "-"])
            self.status.addTopLevelItem(row)
        for column in range(3):
            self.status.resizeColumnToContents(column)

    def refresh_plan(self) -> None:
        """Recompute the pip plan for the chosen profile and torch build."""
        variant = self.variant.currentData()
        profile = self.profile.currentData()
        self.variant.setEnabled(profile == "training" and self.task is None)
        overrides = dict(self.plan_overrides)
        # what QGIS's Python has: tests give it ("installed"); else read from its sys.path
        given = overrides.pop("installed", None)
        everywhere = deps.installed_versions() if given is None else given
        own = deps.installed_versions(deps.qgis_search_path()) if given is None else given
        try:
            # what QGIS itself has is not installed again, what S4's folder has is (an install
            # replaces that folder) ...
            self.plan = deps.plan_install(variant, profile=profile, installed=own, **overrides)
        except S4Error as exc:
            self.plan = None
            self.python_label.setText(f"<span style='color:#b00'>{html.escape(str(exc))}</span>")
            self.install_button.setEnabled(False)
            return
        if all(deps.requirement_met(r, everywhere, variant) for r in self.plan.requirements):
            # ... unless every package is there already: nothing to install
            self.plan = dataclasses.replace(self.plan, requirements=[])
        plan = self.plan
        self.python_label.setText(html.escape(str(plan.python)))
        self.target_label.setText(html.escape(str(plan.target)))
        self.packages_label.setText(
            html.escape(
                ", ".join(plan.requirements) or tr("nothing to install: every package is installed")
            )
            + (
                tr(" (torch from {0})").format(html.escape(plan.index_url))
                if plan.index_url and any(r.startswith("torch") for r in plan.requirements)
                else ""
            )
        )
        pinned = [c.replace("==", " ") for c in plan.constraints]
        key = [p for p in pinned if p.split()[0].lower() in ("numpy", "gdal", "pyqt5")]
        rest = len(pinned) - len(key)
        self.pinned_label.setText(
            html.escape(", ".join(key) or tr("(none found)"))
            + (tr(" + {rest} more").format(rest=rest) if rest else "")
        )
        self.pinned_label.setToolTip("\n".join(plan.constraints))
        self.install_button.setEnabled(bool(plan.requirements) and self.task is None)

    # ---------------------------------------------------------------------------------------
    def start_install(self) -> Optional[InstallTask]:
        """Start pip in a QGIS task; returns the task (None if there is nothing to do)."""
        if self.plan is None or not self.plan.requirements or self.task is not None:
            return None
        self.log.clear()
        self.progress.setValue(0)
        self.message.setText(tr("Installing… (torch is large: this can take several minutes)"))
        task = InstallTask(self.plan, self.pip_options)
        task.log_line.connect(self.log.appendPlainText)
        task.progress_text.connect(self.message.setText)
        task.progressChanged.connect(lambda value: self.progress.setValue(int(value)))
        task.taskCompleted.connect(lambda: self._finished(task))
        task.taskTerminated.connect(lambda: self._finished(task))
        self.task = task
        self.install_button.setEnabled(False)
        self.variant.setEnabled(False)
        self.profile.setEnabled(False)
        self.cancel_button.setEnabled(True)
        QgsApplication.taskManager().addTask(task)
        return task

    def cancel_install(self) -> None:
        """Stop the running install (the previous dependency folder stays as it was)."""
        if self.task is not None:
            self.message.setText(tr("Cancelling: stopping pip…"))
            self.task.cancel()

    def _finished(self, task: InstallTask) -> None:
        self.task = None
        self.cancel_button.setEnabled(False)
        self.variant.setEnabled(True)
        self.profile.setEnabled(True)
        if task.result is not None:
            self.progress.setValue(100)
            text = task.result.summary()
            self.log.appendPlainText(text)
            if task.result.restart_required:
                self.message.setText(tr("<b>Installed. Restart QGIS to use S4.</b>"))
            else:
                self.message.setText(tr("<b>Installed. S4's algorithms are ready.</b>"))
            self.installed.emit(task.result.restart_required)
        elif task.cancelled:
            self.progress.setValue(0)
            self.message.setText(tr("Cancelled: nothing was changed."))
        else:
            self.progress.setValue(0)
            self.log.appendPlainText(task.error)
            first = task.error.split("\n\n", 1)[0]
            self.message.setText(f"<span style='color:#b00'>{html.escape(first)}</span>")
        self.refresh_status()
        self.refresh_plan()
        self._fit_height()

    def _fit_height(self) -> None:
        """Grow the dialog when a long (word-wrapped) message needs more room."""
        needed = self.layout().totalHeightForWidth(self.width())
        if needed > self.height():
            self.resize(self.width(), needed)

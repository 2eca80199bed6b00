"""Plots in the S4 dock: class profiles with outliers, live training curves, model history.

The figures are the engine's (``s4_core.figures``, matplotlib without pyplot) drawn on a
matplotlib Qt canvas (``backend_qtagg``, which uses the Qt binding QGIS already loaded: PyQt5
on QGIS 3, PyQt6 on QGIS 4). QGIS on Windows (OSGeo4W) and macOS ships matplotlib; on
Debian/Ubuntu it is the package python3-matplotlib. Without it each panel shows how to install
it instead of a plot, and the rest of the dock works.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple

from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from .i18n import tr

if TYPE_CHECKING:
    from s4_core.profiles import ClassProfiles

INDEX_ROLE = Qt.ItemDataRole.UserRole
REDRAW_SECONDS = 0.5


def plotting_missing_message() -> Optional[str]:
    """None when matplotlib and its Qt canvas import, else what to install."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg  # noqa: F401
    except Exception as error:  # noqa: BLE001 (missing, or built for another Qt)
        return tr(
            "Plots need matplotlib ({error}): on Debian/Ubuntu install python3-matplotlib; "
            "QGIS on Windows and macOS includes it"
        ).format(error=error)
    return None


class PlotCanvas(QWidget):
    """A matplotlib figure in a widget (or the install hint when matplotlib is missing)."""

    def __init__(self, parent: Optional[QWidget] = None, height: int = 260) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.figure = None
        self.canvas = None
        missing = plotting_missing_message()
        if missing:
            self.message = QLabel(missing, self)
            self.message.setWordWrap(True)
            layout.addWidget(self.message)
            return
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg

        from s4_core.figures import new_figure

        self.figure = new_figure(5.0, 3.0, dpi=80)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setParent(self)
        self.canvas.setMinimumHeight(height)
        self.canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        layout.addWidget(self.canvas)

    @property
    def available(self) -> bool:
        """Whether matplotlib's Qt canvas is available (else the widget shows a message)."""
        return self.figure is not None

    def draw(self, painter: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """``painter(*args, fig=self.figure, **kwargs)`` then repaint; False without plots."""
        if self.figure is None:
            return False
        painter(*args, fig=self.figure, **kwargs)
        if self.canvas is not None:
            self.canvas.draw_idle()
        return True

    def axes_count(self) -> int:
        """The number of axes of the current figure."""
        return len(self.figure.axes) if self.figure is not None else 0


class ProfilesPanel(QWidget):
    """Class profiles of the label layer: the plot, the outlier list (click: zoom)."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.compute_button = QPushButton(tr("Class profiles"), self)
        self.compute_button.setToolTip(
            tr(
                "NDVI (Sentinel-2, cloud-masked) and VV / VH (Sentinel-1, dB) over time per class "
                "of the label layer (Train tab), from the checked layers; polygons whose profile "
                "sits far from their class are listed below"
            )
        )
        self.selected_check = QCheckBox(tr("Show selected polygons"), self)
        self.selected_check.setChecked(True)
        row.addWidget(self.compute_button, 1)
        row.addWidget(self.selected_check)
        layout.addLayout(row)
        self.plot = PlotCanvas(self, height=300)
        layout.addWidget(self.plot, 3)
        self.outlier_label = QLabel(tr("Outlier polygons (click to zoom):"), self)
        layout.addWidget(self.outlier_label)
        self.outlier_list = QListWidget(self)
        self.outlier_list.setMaximumHeight(110)
        layout.addWidget(self.outlier_list, 1)
        self.profiles: Optional[ClassProfiles] = None
        self.colors: Optional[Sequence[Sequence[int]]] = None
        self.selected: List[int] = []
        self.selected_check.toggled.connect(lambda _: self.redraw())

    def show_profiles(
        self,
        result: Dict[str, Any],
        colors: Optional[Sequence[Sequence[int]]] = None,
        feature_ids: Optional[Sequence[int]] = None,
    ) -> None:
        """Draw ``api.class_profiles``'s result and list its outliers.

        Outliers are named by their feature id in the layer when ``feature_ids`` maps the engine's
        polygon order to them.
        """
        from s4_core.profiles import ClassProfiles

        self.profiles = ClassProfiles.from_dict(result)
        self.colors = colors
        self.outlier_list.clear()
        for check in self.profiles.outliers:
            ids = feature_ids or []
            fid = ids[check.index] if check.index < len(ids) else check.index
            item = QListWidgetItem(
                tr("feature {0} ({1}): {2}").format(fid, check.class_name, check.reason)
            )
            item.setData(INDEX_ROLE, check.index)
            self.outlier_list.addItem(item)
        if not self.profiles.outliers:
            self.outlier_list.addItem(tr("none: every polygon's profile is near its class"))
        self.redraw()

    def set_selected(self, indexes: Sequence[int]) -> None:
        """Highlight the polygons at ``indexes`` (0-based engine positions)."""
        self.selected = list(indexes)
        self.redraw()

    def redraw(self) -> None:
        """Draw the current result again."""
        if self.profiles is None:
            return
        from s4_core.figures import profiles_figure

        chosen = self.selected if self.selected_check.isChecked() else []
        self.plot.draw(profiles_figure, self.profiles, selected=chosen, colors=self.colors)


class CurvesPanel(QWidget):
    """Training curves: live while a run reports metrics, or a checkpoint's history."""

    def __init__(self, parent: Optional[QWidget] = None, height: int = 220) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel("", self)
        layout.addWidget(self.title)
        self.plot = PlotCanvas(self, height=height)
        layout.addWidget(self.plot, 1)
        self.steps: List[Tuple[float, Dict[str, Any]]] = []
        self.history: List[Dict[str, Any]] = []
        self._last_draw = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.redraw)

    def start(self, title: str) -> None:
        """A new live run: forget the previous curves."""
        self.steps, self.history = [], []
        self.title.setText(title)
        self.redraw()

    def add(self, fraction: float, metrics: Dict[str, Any]) -> None:
        """One progress report with metrics (main thread); redrawn at most twice a second."""
        self.steps.append((float(fraction), dict(metrics)))
        if time.monotonic() - self._last_draw >= REDRAW_SECONDS:
            self.redraw()
        elif not self._timer.isActive():
            self._timer.start(int(REDRAW_SECONDS * 1000))

    def finish(self, history: Sequence[Dict[str, Any]]) -> None:
        """The run ended: keep its per-epoch history (drawn with the steps)."""
        self.history = list(history or [])
        self.redraw()

    def show_history(self, history: Sequence[Dict[str, Any]], title: str = "") -> None:
        """A checkpoint's per-epoch records (model Info)."""
        self.steps, self.history = [], list(history or [])
        self.title.setText(title)
        self.redraw()

    def redraw(self) -> None:
        """Draw the current result again."""
        from s4_core.figures import curves_figure

        self._last_draw = time.monotonic()
        self.plot.draw(curves_figure, self.history, steps=self.steps)

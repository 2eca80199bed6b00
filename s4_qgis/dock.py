"""The "S4" dock: the in-app workflow from Sentinel layers to a styled class map.

Tabs: *Data* (the project's Sentinel-2 / Sentinel-1 layers, recognised by their band names,
listed by date with the cloud fraction of the SCL band), *Train* (new label layer with a
class drop-down, fine-tuning), *Segment* (map extent / layer extent / whole scene; where to
label next), *Model* (load, save as, info with the training curves), *Profiles* (class
profiles of the label layer, outlier polygons) and *Curves* (live training curves). Below the
tabs: output folder, device, progress, cancel and a log.

Fine-tuning and segmentation run the S4 Processing algorithms (``s4:finetune``,
``s4:segment_time_series``) in a ``QgsProcessingAlgRunnerTask`` (``tasks.AlgorithmRun``), with
the parameters ``processing.run`` would take: the algorithms' checks, messages and engine calls
are the dock's, QGIS stays responsive and Cancel stops the run. Class profiles and label
suggestions still call the engine in an ``EngineTask``. The engine is never imported when the
dock is built. Settings persist under ``s4/`` (QgsSettings; keys and defaults in
``dock_settings.DockSetting``).
"""

from __future__ import annotations

import datetime as dt
import html
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsMapLayer,
    QgsProject,
    QgsRasterLayer,
    QgsSettings,
    QgsTask,
    QgsVectorLayer,
)
from qgis.gui import QgsDockWidget, QgsFieldComboBox, QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from s4_core.settings import DEVICE, FINETUNE, PRETRAIN, SEGMENT, SUGGEST, Value
from s4_core.types import Cancel, Log, Progress
from s4_core.validate import temp_path

from .algorithms.base import (
    CLASS_FIELD,
    EXTENT,
    LABELS,
    MODEL,
    OUTPUT,
    OUTPUT_VECTOR,
    SENTINEL1,
    SENTINEL2,
    parameters_of,
)
from .compat import LAYER_FILTER_POLYGON
from .dock_settings import EXTENT_MODES, DockSetting
from .i18n import tr, tr_noop
from .layers import (
    LABEL_FIELD,
    CloudCache,
    LayerInfo,
    create_label_layer,
    feature_count_with_geometry,
    parse_class_names,
    scan_raster_layer,
    vector_for_engine,
)
from .plots import INDEX_ROLE as PROFILE_INDEX_ROLE
from .plots import CurvesPanel, ProfilesPanel
from .setting_widgets import set_widget_value, setting_widget, widget_value
from .styling import read_classes, style_class_raster, style_class_vector, style_suggestions
from .tasks import AlgorithmRun, Done, EngineTask

if TYPE_CHECKING:
    from types import ModuleType

    from qgis.gui import QgisInterface
    from typing_extensions import TypeIs

LAYER_ID_ROLE = Qt.ItemDataRole.UserRole
SENSORS = ("s2", "s1")


@dataclass(frozen=True)
class DockButton:
    """A button of the dock: its text, the dock method it calls (with ``args``), its tooltip.

    Texts are ``tr_noop``-marked here and translated when the button is built.
    """

    text: str
    slot: str
    tooltip: str = ""
    args: Tuple[Any, ...] = ()


# fmt: off
#: every button of the dock by name (``S4DockWidget.button(name, parent)`` builds one)
BUTTONS: Dict[str, DockButton] = {
    "check_device": DockButton(tr_noop("Check"), "check_device",
        tr_noop("Which device will the engine use?")),
    "refresh": DockButton(tr_noop("Refresh"), "refresh_layers"),
    "check_all": DockButton(tr_noop("Check all"), "_check_all", args=(True,)),
    "uncheck_all": DockButton(tr_noop("Uncheck all"), "_check_all", args=(False,)),
    "download": DockButton(tr_noop("Download S1 + S2 for the map extent…"), "open_download",
        tr_noop("Search a STAC catalog and download the Sentinel-1 and Sentinel-2 series of the "
            "current map extent (Processing: Download Sentinel-1/-2 time series); the series "
            "are added to the project")),
    "pretrain_run": DockButton(tr_noop("Pretrain"), "start_pretrain",
        tr_noop("Pretrain here with the defaults of s4:pretrain and this objective; the loss "
            "is drawn live in the Curves tab")),
    "pretrain": DockButton(tr_noop("Pretrain…"), "open_pretrain",
        tr_noop("Every pretraining option, in the algorithm's dialog")),
    "classes_from_model": DockButton(tr_noop("From model"), "use_model_classes",
        tr_noop("Use the class names of the loaded model")),
    "new_label": DockButton(tr_noop("New label layer…"), "new_label_layer",
        tr_noop("Create a GeoPackage polygon layer whose form offers the classes, add it to the "
            "project and start digitising")),
    "finetune": DockButton(tr_noop("Fine-tune"), "start_finetune"),
    "segment": DockButton(tr_noop("Segment"), "start_segment"),
    "suggest": DockButton(tr_noop("Where to label next"), "start_suggest",
        tr_noop("Propose small squares where the model is least sure, spread over the area and "
            "the predicted classes, away from the label layer's polygons: label them and "
            "fine-tune again")),
    "load_model": DockButton(tr_noop("Load…"), "load_model"),
    "save_model": DockButton(tr_noop("Save as…"), "save_model_as"),
    "info": DockButton(tr_noop("Info"), "refresh_model_info"),
}
# fmt: on


class S4DockWidget(QgsDockWidget):
    """Dock widget "S4"; ``iface`` may be a stub in tests (needs mapCanvas, messageBar)."""

    def __init__(self, iface: QgisInterface, parent: Optional[QWidget] = None) -> None:
        super().__init__("S4", parent)
        self.setObjectName("S4Dock")
        self.iface = iface
        self.settings = QgsSettings()
        self.task: Optional[QgsTask] = None
        self._run: Optional[AlgorithmRun] = None
        self.last_result: Optional[Dict[str, Any]] = None
        self.last_error: Optional[str] = None
        self.output_layers: List[QgsMapLayer] = []
        self._model_info: Optional[Dict[str, Any]] = None
        self._infos: Dict[str, LayerInfo] = {}
        self._clouds = CloudCache()
        self._cloud_queue: List[str] = []
        self._unchecked: set = set()  # layer ids the user unchecked (kept across refreshes)
        self._tmp_dirs: List[str] = []
        self._copies: Dict[str, str] = {}  # temporary copies of layers -> their names
        self._finetune_target: Optional[Path] = None
        self._profile_fids: List[int] = []  # label layer feature ids, in the engine's order
        self._profile_layer: Optional[QgsVectorLayer] = None
        self._build()
        self._restore_settings()

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(250)
        self._refresh_timer.timeout.connect(self.refresh_layers)
        self._cloud_timer = QTimer(self)
        self._cloud_timer.setInterval(0)
        self._cloud_timer.timeout.connect(self._next_cloud_fraction)
        project = QgsProject.instance()
        project.layersAdded.connect(self._schedule_refresh)
        project.layersRemoved.connect(self._schedule_refresh)
        self.refresh_layers()
        # The model is described (engine import) only when the Model tab or a run needs it.
        hint = tr("Click Info to describe the model.")
        self.model_info_view.setHtml(f"<i>{html.escape(hint)}</i>")
        self.tabs.currentChanged.connect(self._tab_changed)

    # ----------------------------------------------------------------------- building
    def button(self, name: str, parent: QWidget) -> QPushButton:
        """The button ``BUTTONS[name]`` of ``parent``: translated text and tooltip.

        A click calls the dock's method of that name as it is then (no ``checked`` argument).
        """
        spec = BUTTONS[name]
        button = QPushButton(tr(spec.text), parent)
        if spec.tooltip:
            button.setToolTip(tr(spec.tooltip))
        button.clicked.connect(lambda: getattr(self, spec.slot)(*spec.args))
        return button

    def _build(self) -> None:
        root = QWidget(self)
        layout = QVBoxLayout(root)
        layout.setContentsMargins(4, 4, 4, 4)
        self.tabs = QTabWidget(root)
        self.tabs.addTab(self._build_data_tab(), tr("Data"))
        self.tabs.addTab(self._build_train_tab(), tr("Train"))
        self.tabs.addTab(self._build_segment_tab(), tr("Segment"))
        self.tabs.addTab(self._build_model_tab(), tr("Model"))
        self.profiles_panel = ProfilesPanel()
        self.profiles_panel.compute_button.clicked.connect(lambda: self.start_profiles())
        self.profiles_panel.outlier_list.itemClicked.connect(self._outlier_clicked)
        self.tabs.addTab(self.profiles_panel, tr("Profiles"))
        self.curves_panel = CurvesPanel()
        self.tabs.addTab(self.curves_panel, tr("Curves"))
        layout.addWidget(self.tabs, 3)

        form = QFormLayout()
        self.output_dir = QgsFileWidget(root)
        self.output_dir.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.output_dir.setToolTip(tr("Fine-tuned models and class maps are written here"))
        form.addRow(tr("Output folder"), self.output_dir)
        device_row = QHBoxLayout()
        self.device_combo = setting_widget(DEVICE, root)
        self.device_label = QLabel("", root)
        self.check_device_button = self.button("check_device", root)
        device_row.addWidget(self.device_combo, 1)
        device_row.addWidget(self.check_device_button)
        form.addRow(tr("Device"), device_row)
        form.addRow("", self.device_label)
        layout.addLayout(form)

        run_row = QHBoxLayout()
        self.progress = QProgressBar(root)
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.cancel_button = QPushButton(tr("Cancel"), root)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        run_row.addWidget(self.progress, 1)
        run_row.addWidget(self.cancel_button)
        layout.addLayout(run_row)
        self.status_label = QLabel(tr("Ready"), root)
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        self.log_view = QPlainTextEdit(root)
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(5000)
        self.log_view.setPlaceholderText(tr("Log"))
        layout.addWidget(self.log_view, 2)
        self.setWidget(root)

    def _build_data_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(QLabel(tr("Sentinel-2 (optical) layers of the project, by date:")))
        self.s2_list = QListWidget(tab)
        layout.addWidget(self.s2_list, 1)
        layout.addWidget(QLabel(tr("Sentinel-1 (radar) layers of the project, by date:")))
        self.s1_list = QListWidget(tab)
        layout.addWidget(self.s1_list, 1)
        for widget in (self.s2_list, self.s1_list):
            widget.itemChanged.connect(self._item_changed)
        row = QHBoxLayout()
        self.refresh_button = self.button("refresh", tab)
        row.addWidget(self.refresh_button)
        for name in ("check_all", "uncheck_all"):
            row.addWidget(self.button(name, tab))
        layout.addLayout(row)
        self.download_button = self.button("download", tab)
        layout.addWidget(self.download_button)
        hint = QLabel(
            tr(
                "Add one GeoTIFF per acquisition to the project (Layer > Add Raster Layer); "
                "checked layers are used for fine-tuning and segmentation."
            )
        )
        hint.setWordWrap(True)
        layout.addWidget(hint)
        return tab

    def download_parameters(self) -> Dict[str, Any]:
        """Initial parameters of the download dialog: the map canvas extent, in its CRS."""
        canvas = self.iface.mapCanvas()
        rect, crs = canvas.extent(), canvas.mapSettings().destinationCrs()
        if rect.isNull() or rect.isEmpty() or not crs.isValid():
            return {}
        return {
            "EXTENT": f"{rect.xMinimum()},{rect.xMaximum()},{rect.yMinimum()},"
            f"{rect.yMaximum()} [{crs.authid() or crs.toWkt()}]",
        }

    def pretrain_parameters(self) -> Dict[str, Any]:
        """Initial parameters of the pretraining dialog.

        The checked layers and the objective chosen in the Train tab.
        """
        objective = PRETRAIN["objective"]
        params: Dict[str, Any] = {
            objective.param_name: list(objective.ui_options).index(
                widget_value(self.objective_combo, objective)
            ),
            PRETRAIN["s1_ratio"].param_name: self.s1_ratio(),
        }
        for sensor, name in (("s1", SENTINEL1), ("s2", SENTINEL2)):
            paths = self.checked_files(sensor)
            if paths:
                params[name] = paths
        return params

    def open_pretrain(self) -> None:
        """Open the pretraining algorithm's dialog (``s4:pretrain``), prefilled.

        Its checkpoint becomes the fine-tuning's starting point.
        """
        try:
            import processing

            result = processing.execAlgorithmDialog("s4:pretrain", self.pretrain_parameters())
        except Exception as error:  # noqa: BLE001 (no Processing plugin / provider)
            self.fail(tr("Cannot open the pretraining dialog: {error}").format(error=error))
            return
        if isinstance(result, dict) and result.get(OUTPUT):
            self.init_model.setFilePath(str(result[OUTPUT]))

    def open_download(self) -> None:
        """The download algorithm's dialog for the current map extent."""
        try:
            import processing

            processing.execAlgorithmDialog("s4:fetch_time_series", self.download_parameters())
        except Exception as error:  # noqa: BLE001 (no Processing plugin / provider)
            self.fail(tr("Cannot open the download dialog: {error}").format(error=error))
            return
        self.refresh_layers()

    def _build_train_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        pretrain_row = QHBoxLayout()
        self.objective_combo = setting_widget(PRETRAIN["objective"], tab)
        self.objective_combo.setToolTip(
            tr(
                "Self-supervised pretraining without labels on the checked layers: S4 (radar + "
                "optical), MAE or DINO on radar alone, or a joint radar-optical masked "
                "autoencoder. Its checkpoint goes into 'Start from' below."
            )
        )
        pretrain_row.addWidget(self.objective_combo, 1)
        self.pretrain_run_button = self.button("pretrain_run", tab)
        pretrain_row.addWidget(self.pretrain_run_button)
        self.pretrain_button = self.button("pretrain", tab)
        pretrain_row.addWidget(self.pretrain_button)
        form.addRow(tr("Pretrain (no labels)"), pretrain_row)
        classes_row = QHBoxLayout()
        self.class_names_edit = QLineEdit(tab)
        self.class_names_edit.setPlaceholderText(tr("e.g. wheat, maize, potatoes, grassland"))
        self.classes_from_model_button = self.button("classes_from_model", tab)
        classes_row.addWidget(self.class_names_edit, 1)
        classes_row.addWidget(self.classes_from_model_button)
        form.addRow(tr("Classes"), classes_row)
        self.new_label_button = self.button("new_label", tab)
        form.addRow("", self.new_label_button)
        self.label_combo = QgsMapLayerComboBox(tab)
        self.label_combo.setFilters(LAYER_FILTER_POLYGON)
        self.label_combo.setAllowEmptyLayer(True)
        self.field_combo = QgsFieldComboBox(tab)
        self.label_combo.layerChanged.connect(self._label_layer_changed)
        self._label_layer_changed(self.label_combo.currentLayer())
        form.addRow(tr("Label layer"), self.label_combo)
        form.addRow(tr("Class field"), self.field_combo)
        self.init_model = QgsFileWidget(tab)
        self.init_model.setFilter(tr("S4 checkpoint (*.pt)"))
        self.init_model.setToolTip(tr("Pretrained checkpoint to start from; empty = from scratch"))
        form.addRow(tr("Start from"), self.init_model)
        self.modality_combo = setting_widget(FINETUNE["modality"], tab)
        form.addRow(tr("Map from"), self.modality_combo)
        self.ratio_check = setting_widget(FINETUNE["s1_ratio"], tab)
        self.ratio_check.setToolTip(
            tr(
                "Radar input: VV, VH and their ratio (VV - VH in dB), as the SAR pretraining "
                "literature uses. Applies to pretraining here and to fine-tuning from scratch; "
                "a pretrained model's own choice is always followed."
            )
        )
        form.addRow("", self.ratio_check)
        self.head_combo = setting_widget(FINETUNE["head"], tab)
        self.head_combo.setToolTip(
            tr(
                "Pixel head (default): the pretrained network stays frozen; small per-pixel "
                "classifiers learn from each pixel's monthly series and the network's features, "
                "and the map is smoothed inside fields (seconds on a CPU). 3D U-Net: the paper's "
                "fine-tuning of the whole network (epochs, crop and batch size apply to it)."
            )
        )
        form.addRow(tr(FINETUNE["head"].label), self.head_combo)
        self.epochs_spin = setting_widget(FINETUNE["epochs"], tab)
        self.crop_spin = setting_widget(FINETUNE["crop_size"], tab)
        self.batch_spin = setting_widget(FINETUNE["batch_size"], tab)
        form.addRow(tr("Epochs (3D U-Net)"), self.epochs_spin)
        form.addRow(tr(FINETUNE["crop_size"].label), self.crop_spin)
        form.addRow(tr(FINETUNE["batch_size"].label), self.batch_spin)
        self.few_check = QCheckBox(tr("Few polygons of unequal size"), tab)
        self.few_check.setToolTip(
            tr(
                "3D U-Net head: freeze the pretrained encoder and use an unweighted loss (the "
                "default weighting): with a handful of polygons of very different areas this maps "
                "unseen fields better"
            )
        )
        form.addRow("", self.few_check)
        self.finetune_button = self.button("finetune", tab)
        form.addRow("", self.finetune_button)
        return tab

    def _build_segment_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.extent_combo = QComboBox(tab)
        self.extent_combo.addItems(
            [tr("Current map extent"), tr("Extent of a layer"), tr("Whole scene")]
        )
        self.extent_layer = QgsMapLayerComboBox(tab)
        self.extent_combo.currentIndexChanged.connect(
            lambda i: self.extent_layer.setEnabled(EXTENT_MODES[i] == "layer")
        )
        form.addRow(tr("Area"), self.extent_combo)
        form.addRow(tr("Layer"), self.extent_layer)
        self.tile_spin = setting_widget(SEGMENT["tile_size"], tab)
        self.overlap_spin = setting_widget(SEGMENT["overlap"], tab)
        form.addRow(tr(SEGMENT["tile_size"].label), self.tile_spin)
        form.addRow(tr(SEGMENT["overlap"].label), self.overlap_spin)
        self.polygons_check = QCheckBox(tr("Also write class polygons (GeoPackage)"), tab)
        form.addRow("", self.polygons_check)
        self.min_area_spin = setting_widget(SEGMENT["min_area_m2"], tab)
        self.min_area_spin.setDecimals(0)
        self.min_area_spin.setSuffix(" m²")
        form.addRow(tr("Smallest polygon"), self.min_area_spin)
        self.segment_button = self.button("segment", tab)
        form.addRow("", self.segment_button)
        suggest_row = QHBoxLayout()
        self.suggest_spin = setting_widget(SUGGEST["number"], tab)
        set_widget_value(self.suggest_spin, SUGGEST["number"], 10)
        self.suggest_spin.setToolTip(tr("Number of 5 x 5 px squares to propose"))
        self.suggest_button = self.button("suggest", tab)
        suggest_row.addWidget(self.suggest_spin)
        suggest_row.addWidget(self.suggest_button, 1)
        form.addRow(tr("Suggest"), suggest_row)
        return tab

    def _build_model_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.model_edit = QLineEdit(tab)
        self.model_edit.setReadOnly(True)
        self.model_edit.setPlaceholderText(tr("No model loaded"))
        layout.addWidget(self.model_edit)
        row = QHBoxLayout()
        self.load_model_button = self.button("load_model", tab)
        self.save_model_button = self.button("save_model", tab)
        self.info_button = self.button("info", tab)
        for button in (self.load_model_button, self.save_model_button, self.info_button):
            row.addWidget(button)
        layout.addLayout(row)
        self.model_info_view = QTextBrowser(tab)
        layout.addWidget(self.model_info_view, 1)
        self.model_curves = CurvesPanel(tab, height=160)
        layout.addWidget(self.model_curves, 1)
        return tab

    # ----------------------------------------------------------------------- settings
    def _setting_widgets(self) -> Dict[DockSetting, QWidget]:
        """The widgets that show an engine setting (range, choices from its definition)."""
        return {
            DockSetting.DEVICE: self.device_combo,
            DockSetting.MODALITY: self.modality_combo,
            DockSetting.EPOCHS: self.epochs_spin,
            DockSetting.CROP_SIZE: self.crop_spin,
            DockSetting.BATCH_SIZE: self.batch_spin,
            DockSetting.HEAD: self.head_combo,
            DockSetting.S1_RATIO: self.ratio_check,
            DockSetting.TILE_SIZE: self.tile_spin,
            DockSetting.OVERLAP: self.overlap_spin,
            DockSetting.MIN_AREA: self.min_area_spin,
        }

    def _restore_settings(self) -> None:
        """Show the stored values (``DockSetting``) and store every change."""
        s = self.settings
        self.output_dir.setFilePath(DockSetting.OUTPUT_DIR.read(s))
        self.class_names_edit.setText(DockSetting.CLASS_NAMES.read(s))
        self.init_model.setFilePath(DockSetting.INIT_MODEL.read(s))
        self.few_check.setChecked(DockSetting.FEW_POLYGONS.read(s))
        self.extent_combo.setCurrentIndex(EXTENT_MODES.index(DockSetting.EXTENT_MODE.read(s)))
        self.extent_layer.setEnabled(self.extent_mode() == "layer")
        self.polygons_check.setChecked(DockSetting.POLYGONS.read(s))
        self.model_edit.setText(DockSetting.MODEL_PATH.read(s))
        for key, widget in self._setting_widgets().items():
            assert key.setting is not None  # the widgets of engine settings
            set_widget_value(widget, key.setting, key.read(s))
            signal = (
                getattr(widget, "currentIndexChanged", None)
                or getattr(widget, "valueChanged", None)
                or widget.toggled
            )
            signal.connect(lambda *_, k=key, w=widget: self._save(k, widget_value(w, k.setting)))
        # save on change
        self.output_dir.fileChanged.connect(lambda v: self._save(DockSetting.OUTPUT_DIR, v))
        self.class_names_edit.editingFinished.connect(
            lambda: self._save(DockSetting.CLASS_NAMES, self.class_names_edit.text())
        )
        self.init_model.fileChanged.connect(lambda v: self._save(DockSetting.INIT_MODEL, v))
        self.few_check.toggled.connect(lambda v: self._save(DockSetting.FEW_POLYGONS, bool(v)))
        self.extent_combo.currentIndexChanged.connect(
            lambda i: self._save(DockSetting.EXTENT_MODE, EXTENT_MODES[i])
        )
        self.polygons_check.toggled.connect(lambda v: self._save(DockSetting.POLYGONS, bool(v)))

    def _save(self, key: DockSetting, value: Value) -> None:
        key.write(value, self.settings)

    # ----------------------------------------------------------------------- state
    def device(self) -> str:
        """The device chosen in the Settings (engine ``device`` setting)."""
        return widget_value(self.device_combo, DEVICE)

    def modality(self) -> str:
        """The modality the model is fine-tuned for ("s1" or "s2")."""
        return widget_value(self.modality_combo, FINETUNE["modality"])

    def s1_ratio(self) -> bool:
        """Whether the radar input gets the VV/VH ratio band.

        For pretraining and from-scratch fine-tuning.
        """
        return bool(widget_value(self.ratio_check, FINETUNE["s1_ratio"]))

    def extent_mode(self) -> str:
        """Which extent the Segment tab maps: "canvas", "layer" or "scene"."""
        return EXTENT_MODES[self.extent_combo.currentIndex()]

    def model_path(self) -> str:
        """The current model's path ("" for none)."""
        return self.model_edit.text().strip()

    def output_folder(self) -> Path:
        """Where the dock writes its outputs."""
        return Path(self.output_dir.filePath() or DockSetting.OUTPUT_DIR.default)

    @property
    def busy(self) -> bool:
        """Whether a background task is running."""
        return self.task is not None

    def refuse_while_busy(self) -> bool:
        """Whether a task runs (then says so): the dock runs one task at a time."""
        if self.busy:
            self.fail(tr("S4 is busy: wait for the running task or cancel it"))
        return self.busy

    def refuse_to_run(self, out: Optional[str] = None) -> bool:
        """Whether a run must not start (then says why): the check of every run button.

        A task runs already, or the output folder (used unless ``out`` names the output) cannot
        be created.
        """
        if self.refuse_while_busy():
            return True
        if out is None:
            folder = self.output_folder()
            reason = folder_problem(folder)
            if reason is not None:
                self.fail(
                    tr(
                        "Output folder {folder} cannot be created ({reason}): choose another folder"
                    ).format(folder=folder, reason=reason)
                )
                return True
        return False

    def log(self, text: str) -> None:
        """Add a time-stamped line to the Log tab."""
        stamp = dt.datetime.now().strftime("%H:%M:%S")
        self.log_view.appendPlainText(f"{stamp}  {text}")

    def notify(self, text: str, level: Qgis.MessageLevel = Qgis.MessageLevel.Info) -> None:
        """Log ``text`` and show it in QGIS's message bar."""
        self.log(text)
        self.status_label.setText(text)
        try:
            self.iface.messageBar().pushMessage("S4", text, level, 8)
        except Exception:  # noqa: BLE001 (a stub iface without a message bar)
            pass

    def fail(self, text: str) -> None:
        """Log ``text`` as an error and show it in QGIS's message bar."""
        self.last_error = text
        self.notify(text, Qgis.MessageLevel.Critical)

    def _engine(self, needs_torch: bool = True) -> Optional[ModuleType]:
        """``s4_core.api``, or None (message shown) when the engine cannot load.

        ``needs_torch=False``: only numpy, rasterio and fiona must import.
        """
        from .dependencies import engine_missing_message, missing_engine_modules

        base = {"numpy", "rasterio", "fiona"}
        missing = ""
        if needs_torch or set(missing_engine_modules()) & base:
            missing = engine_missing_message()
        if missing:
            self.fail(missing)
            return None
        from s4_core import api

        return api

    # ----------------------------------------------------------------------- layers
    def _schedule_refresh(self, *args: object) -> None:
        self._refresh_timer.start()

    def refresh_layers(self) -> None:
        """List the project's S2 / S1 raster layers by date (checked unless unchecked before)."""
        layers = [
            layer
            for layer in QgsProject.instance().mapLayers().values()
            if isinstance(layer, QgsRasterLayer) and layer.isValid()
        ]
        infos: Dict[str, LayerInfo] = {}
        for layer in layers:
            cached = self._infos.get(layer.id())
            if cached is not None and cached.path and cached.path in layer.source():
                infos[layer.id()] = cached
                continue
            try:
                infos[layer.id()] = scan_raster_layer(layer)
            except Exception:  # noqa: BLE001 (unreadable: not listed)
                continue
        self._infos = infos
        self._cloud_queue = []
        for sensor, widget in zip(SENSORS, (self.s2_list, self.s1_list)):
            widget.blockSignals(True)
            widget.clear()
            chosen = [(lid, info) for lid, info in infos.items() if info.sensor == sensor]
            chosen.sort(key=lambda item: (item[1].date or dt.date.max, item[1].path))
            for layer_id, info in chosen:
                layer = QgsProject.instance().mapLayer(layer_id)
                known, cloud = self._clouds.get(info.path)
                item = QListWidgetItem(self._item_text(layer, info, cloud))
                item.setData(LAYER_ID_ROLE, layer_id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(
                    Qt.CheckState.Unchecked
                    if layer_id in self._unchecked
                    else Qt.CheckState.Checked
                )
                item.setToolTip(tr("{0}\nbands: {1}").format(info.path, ", ".join(info.bands)))
                widget.addItem(item)
                if info.scl_band and not known:
                    self._cloud_queue.append(layer_id)
            widget.blockSignals(False)
        if self._cloud_queue:
            self._cloud_timer.start()

    @staticmethod
    def _item_text(layer: QgsMapLayer, info: LayerInfo, cloud: Optional[float]) -> str:
        when = info.date.isoformat() if info.date else tr("no date")
        text = f"{when}  {layer.name() if layer else Path(info.path).name}"
        if cloud is not None:
            text += "  " + tr("({0} cloud)").format(f"{cloud:.0%}")
        return text

    def _next_cloud_fraction(self) -> None:
        """One SCL band per timer tick, so the GUI never waits on the whole list."""
        if not self._cloud_queue:
            self._cloud_timer.stop()
            return
        layer_id = self._cloud_queue.pop(0)
        info = self._infos.get(layer_id)
        if info is None or not info.scl_band:
            return
        try:
            cloud = self._clouds.compute(info.path, info.scl_band)
        except Exception:  # noqa: BLE001
            cloud = None
        layer = QgsProject.instance().mapLayer(layer_id)
        for i in range(self.s2_list.count()):
            item = self.s2_list.item(i)
            if item.data(LAYER_ID_ROLE) == layer_id:
                self.s2_list.blockSignals(True)
                item.setText(self._item_text(layer, info, cloud))
                self.s2_list.blockSignals(False)

    def cloud_fraction(self, layer_id: str) -> Optional[float]:
        """Cloud fraction of a listed S2 layer (computed now if not done yet)."""
        info = self._infos.get(layer_id)
        if info is None or not info.scl_band:
            return None
        return self._clouds.compute(info.path, info.scl_band)

    def _item_changed(self, item: QListWidgetItem) -> None:
        layer_id = item.data(LAYER_ID_ROLE)
        if item.checkState() == Qt.CheckState.Checked:
            self._unchecked.discard(layer_id)
        else:
            self._unchecked.add(layer_id)

    def _check_all(self, checked: bool) -> None:
        for widget in (self.s2_list, self.s1_list):
            for i in range(widget.count()):
                widget.item(i).setCheckState(
                    Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
                )

    def listed_layer_ids(self, sensor: str, checked_only: bool = True) -> List[str]:
        """The ids of the layers listed for ``sensor`` (only the checked ones by default)."""
        widget = self.s2_list if sensor == "s2" else self.s1_list
        ids = []
        for i in range(widget.count()):
            item = widget.item(i)
            if not checked_only or item.checkState() == Qt.CheckState.Checked:
                ids.append(item.data(LAYER_ID_ROLE))
        return ids

    def set_checked(self, sensor: str, layer_ids: List[str]) -> None:
        """Check exactly ``layer_ids`` in the ``sensor`` list."""
        widget = self.s2_list if sensor == "s2" else self.s1_list
        for i in range(widget.count()):
            item = widget.item(i)
            item.setCheckState(
                Qt.CheckState.Checked
                if item.data(LAYER_ID_ROLE) in layer_ids
                else Qt.CheckState.Unchecked
            )

    def checked_files(self, sensor: str) -> List[str]:
        """The files of the checked ``sensor`` layers."""
        return [self._infos[i].path for i in self.listed_layer_ids(sensor) if i in self._infos]

    # ----------------------------------------------------------------------- labels
    def _label_layer_changed(self, layer: Optional[QgsMapLayer]) -> None:
        if self._profile_layer is not None:
            try:
                self._profile_layer.selectionChanged.disconnect(self._label_selection_changed)
            except (TypeError, RuntimeError):
                pass
        self._profile_layer = layer if isinstance(layer, QgsVectorLayer) else None
        if self._profile_layer is not None:
            self._profile_layer.selectionChanged.connect(self._label_selection_changed)
        self.field_combo.setLayer(layer)
        if isinstance(layer, QgsVectorLayer) and layer.fields().indexFromName(LABEL_FIELD) >= 0:
            self.field_combo.setField(LABEL_FIELD)

    def class_names(self) -> List[str]:
        """The class names typed in the Train tab."""
        return parse_class_names(self.class_names_edit.text())

    def model_info(self) -> Optional[Dict[str, Any]]:
        """The current model's description (read on first use)."""
        if self._model_info is None and self.model_path():
            self.refresh_model_info(quiet=True)
        return self._model_info

    def _tab_changed(self, index: int) -> None:
        if self.tabs.tabText(index) == tr("Model") and self._model_info is None:
            self.refresh_model_info(quiet=True)

    def model_class_names(self) -> List[str]:
        """The class names of the current model ([] without one)."""
        info = self.model_info() or {}
        return [c["name"] if isinstance(c, dict) else str(c) for c in info.get("classes") or []]

    def use_model_classes(self) -> None:
        """Fill the class names with the current model's."""
        names = self.model_class_names()
        if not names:
            self.fail(tr("Load a fine-tuned model first (Model tab) to use its class names"))
            return
        self.class_names_edit.setText(", ".join(names))
        self._save(DockSetting.CLASS_NAMES, self.class_names_edit.text())

    def label_crs(self) -> Optional[QgsCoordinateReferenceSystem]:
        """The CRS of a new label layer: the checked imagery's, else the project's; else None."""
        for sensor in SENSORS:
            for layer_id in self.listed_layer_ids(sensor):
                layer = QgsProject.instance().mapLayer(layer_id)
                if layer is not None and layer.crs().isValid():
                    return layer.crs()
        crs = QgsProject.instance().crs()
        return crs if crs.isValid() else None

    def new_label_layer(self, path: Optional[str] = None) -> Optional[QgsVectorLayer]:
        """Create the label GeoPackage, add it to the project and start editing it."""
        names = self.class_names() or self.model_class_names()
        if not names:
            self.fail(tr("Type the class names first (comma separated) or load a model"))
            return None
        crs = self.label_crs()
        if crs is None:  # a layer without CRS: its coordinates would be taken as degrees
            self.fail(
                tr(
                    "Add the imagery first (the label layer needs its CRS): no Sentinel layer is "
                    "checked in the Data tab and the project has no CRS"
                )
            )
            return None
        if path is None:
            start = DockSetting.LABEL_DIR.read(self.settings, str(self.output_folder()))
            path, _ = QFileDialog.getSaveFileName(
                self,
                tr("New S4 label layer"),
                os.path.join(start, "labels.gpkg"),
                tr("GeoPackage (*.gpkg)"),
            )
            if not path:
                return None
            if not path.lower().endswith(".gpkg"):
                path += ".gpkg"
        if os.path.exists(path):  # no silent overwrite
            self.fail(
                tr("{path} exists already: choose a new file name for the label layer").format(
                    path=path
                )
            )
            return None
        reason = folder_problem(Path(path).parent)
        if reason is not None:
            self.fail(
                tr(
                    "The folder of the label layer {path} cannot be created ({reason}): choose "
                    "another place"
                ).format(path=path, reason=reason)
            )
            return None
        try:
            layer = create_label_layer(path, names, crs, name=Path(path).stem)
        except (OSError, ValueError) as error:
            self.fail(str(error))
            return None
        self._save(DockSetting.LABEL_DIR, str(Path(path).parent))
        if not self.class_names_edit.text().strip():
            self.class_names_edit.setText(", ".join(names))
        QgsProject.instance().addMapLayer(layer)
        self.label_combo.setLayer(layer)
        self.field_combo.setField(LABEL_FIELD)
        try:
            self.iface.setActiveLayer(layer)
        except Exception:  # noqa: BLE001
            pass
        layer.startEditing()
        try:
            self.iface.actionAddFeature().trigger()
        except Exception:  # noqa: BLE001 (stub iface)
            pass
        self.notify(
            tr(
                "Label layer {path} created with classes {0}: digitise polygons, pick their class in the form, then Fine-tune"
            ).format(", ".join(names), path=path)
        )
        return layer

    # ----------------------------------------------------------------------- runs
    def _begin(self, task: QgsTask, status: str, curves: bool) -> None:
        self.task = task
        self.last_result = None
        self.last_error = None
        if curves:  # a training run: its loss / validation scores live in the Curves tab
            self.curves_panel.start(status)
        task.progressChanged.connect(lambda value: self.progress.setValue(int(value)))
        self._set_busy(True)
        self.progress.setValue(0)
        self.status_label.setText(status)
        self.log(status)

    def _start(self, task: EngineTask, status: str, curves: bool = False) -> EngineTask:
        """An engine function in the background (profiles, suggestions)."""
        task.log_message.connect(self.log)
        task.status_message.connect(self.status_label.setText)
        if curves:
            task.metrics_reported.connect(self.curves_panel.add)
        self._begin(task, status, curves)
        QgsApplication.taskManager().addTask(task)
        return task

    def _start_algorithm(
        self,
        algorithm: str,
        parameters: Dict[str, Any],
        status: str,
        on_done: Done,
        curves: bool = False,
    ) -> QgsTask:
        """Run an S4 Processing algorithm in the background (``AlgorithmRun``).

        The same parameters, checks, messages and outputs as ``processing.run``.
        """
        self._run = AlgorithmRun(algorithm, parameters, on_done)
        feedback = self._run.feedback
        feedback.message.connect(self.log)
        feedback.status.connect(self.status_label.setText)
        if curves:
            feedback.metrics_reported.connect(self.curves_panel.add)
        self._begin(self._run.task, status, curves)
        return self._run.start()

    def _set_busy(self, busy: bool) -> None:
        for button in (
            self.pretrain_run_button,
            self.pretrain_button,
            self.finetune_button,
            self.segment_button,
            self.suggest_button,
            self.profiles_panel.compute_button,
            self.load_model_button,
            self.save_model_button,
            self.check_device_button,
        ):
            button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def _succeeded(
        self,
        results: Optional[Dict[str, Any]],
        error: Optional[str],
        cancelled: bool,
        failed: str,
        cancelled_text: str = "",
    ) -> TypeIs[Dict[str, Any]]:
        """Close a finished task; whether it succeeded (``results`` is then the last result).

        Args:
            results: the task's results (None: it failed or was cancelled).
            error: why it failed.
            cancelled: whether the user cancelled it.
            failed: the message when it failed, with ``{error}``.
            cancelled_text: the warning when it was cancelled ("": none).

        Returns:
            True when ``results`` came back.
        """
        self._finish()
        if results is not None:
            self.last_result = results
            self.progress.setValue(100)
            return True
        if not cancelled:
            self.fail(failed.format(error=error))
        elif cancelled_text:
            self.progress.setValue(0)
            self.notify(cancelled_text, Qgis.MessageLevel.Warning)
        return False

    def _finish(self) -> None:
        self.task = None
        self._run = None
        self._set_busy(False)
        for folder in self._tmp_dirs:
            shutil.rmtree(folder, ignore_errors=True)
        self._tmp_dirs = []
        self._copies = {}

    def cancel(self) -> None:
        """Cancel the running task."""
        if self.task is not None:
            self.log(tr("Cancelling…"))
            self.task.cancel()

    def wait(self, timeout: float = 300.0) -> bool:
        """Process events until the running task ends (tests and scripts); True if it ended."""
        import time

        from qgis.PyQt.QtCore import QCoreApplication

        end = time.monotonic() + timeout
        while self.task is not None and time.monotonic() < end:
            QCoreApplication.processEvents()
            time.sleep(0.01)
        return self.task is None

    def _unique(self, stem: str, suffix: str) -> Path:
        folder = self.output_folder()
        folder.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d_%H%M%S")
        path = folder / f"{stem}_{stamp}{suffix}"
        n = 2
        while path.exists():
            path = folder / f"{stem}_{stamp}_{n}{suffix}"
            n += 1
        return path

    def start_pretrain(
        self, out: Optional[str] = None, options: Optional[Dict[str, Any]] = None
    ) -> Optional[QgsTask]:
        """Pretrain on the checked layers in the background (``s4:pretrain``).

        With its defaults, the chosen objective and ``options`` (more parameters by name); the loss
        is drawn live in the Curves tab and the checkpoint becomes "Start from".
        """
        if self.refuse_to_run(out):
            return None
        from .algorithms.pretrain import Pretrain

        parameters = self.pretrain_parameters()
        objective = widget_value(self.objective_combo, PRETRAIN["objective"])
        target = Path(out) if out else self._unique(f"s4_pretrained_{objective}", ".pt")
        parameters.update({OUTPUT: str(target), **(options or {})})
        status = tr("Pretraining ({0}) on the checked layers, no labels").format(objective)
        return self._start_algorithm(
            Pretrain(), parameters, status, self._pretrain_done, curves=True
        )

    def _pretrain_done(
        self, results: Optional[Dict[str, Any]], error: Optional[str], cancelled: bool
    ) -> None:
        failed, stopped = tr("Pretraining failed: {error}"), tr("Pretraining cancelled")
        if not self._succeeded(results, error, cancelled, failed, stopped):
            return
        self.init_model.setFilePath(str(results[OUTPUT]))
        self.curves_panel.finish([m for _, m in self.curves_panel.steps if "epoch" in m])
        self.notify(
            tr("Pretrained model saved: {0} (set as 'Start from')").format(results[OUTPUT]),
            Qgis.MessageLevel.Success,
        )

    def finetune_parameters(self, out: Optional[str] = None) -> Dict[str, Any]:
        """The ``s4:finetune`` parameters of the Train tab (a new model file unless ``out``)."""
        modality = self.modality()
        labels = self.label_combo.currentLayer()
        init = self.init_model.filePath().strip() or None
        values = {
            "modality": modality,
            "init": init,
            "epochs": widget_value(self.epochs_spin, FINETUNE["epochs"]),
            "crop_size": widget_value(self.crop_spin, FINETUNE["crop_size"]),
            "batch_size": widget_value(self.batch_spin, FINETUNE["batch_size"]),
            "head": widget_value(self.head_combo, FINETUNE["head"]),
            "device": self.device(),
            # a pretrained model's own choice is followed; on only from scratch
            "s1_ratio": self.s1_ratio() and init is None,
        }
        if self.few_check.isChecked():  # the recipe of docs/user_guide.md "Very few polygons"
            values.update(class_weighting="none", freeze_encoder=init is not None)
        target = Path(out) if out else self._unique(f"s4_finetuned_{modality}", ".pt")
        return {
            SENTINEL1: self.checked_files("s1"),
            SENTINEL2: self.checked_files("s2"),
            LABELS: labels.id() if labels is not None else None,
            CLASS_FIELD: self.field_combo.currentField(),
            OUTPUT: str(target),
            **parameters_of(FINETUNE, values),
        }

    def start_finetune(self, out: Optional[str] = None) -> Optional[QgsTask]:
        """Fine-tune on the label layer in the background (``s4:finetune``).

        The result becomes the model. The label layer's unsaved edits are used.
        """
        if self.refuse_to_run(out):
            return None
        from .algorithms.finetune import Finetune

        parameters = self.finetune_parameters(out)
        self._finetune_target = Path(parameters[OUTPUT])
        labels = self.label_combo.currentLayer()
        modality = self.modality()
        files = parameters[SENTINEL1 if modality == "s1" else SENTINEL2]
        sensors = "S1 + S2" if modality == "both" else modality.upper()
        init = parameters[FINETUNE["init"].param_name]
        name = labels.name() if labels is not None else "?"
        field = parameters[CLASS_FIELD]
        if init:
            status = tr("Fine-tuning on {0} {1} dates and '{2}' ({3}) from {4}").format(
                len(files), sensors, name, field, Path(init).name
            )
        else:
            status = tr("Fine-tuning on {0} {1} dates and '{2}' ({3}) from scratch").format(
                len(files), sensors, name, field
            )
        return self._start_algorithm(
            Finetune(), parameters, status, self._finetune_done, curves=True
        )

    def _finetune_done(
        self, results: Optional[Dict[str, Any]], error: Optional[str], cancelled: bool
    ) -> None:
        target = self._finetune_target
        if target is not None and target.is_file():
            # The engine keeps the best complete checkpoint of the finished epochs.
            stopped = tr(
                "Fine-tuning cancelled; the best model of the finished epochs is {0}"
            ).format(target)
        else:
            stopped = tr("Fine-tuning cancelled; no model was written")
        failed = tr("Fine-tuning failed: {error}")
        if not self._succeeded(results, error, cancelled, failed, stopped):
            return
        miou = results.get("VAL_MIOU")
        self.set_model(results[OUTPUT])
        # the run's per-epoch records, as they were reported (the checkpoint keeps them)
        self.curves_panel.finish([m for _, m in self.curves_panel.steps if "epoch" in m])
        self.notify(
            tr("Fine-tuned model saved: {0} (validation mIoU {1})").format(
                results[OUTPUT], "n/a" if miou is None else f"{miou:.3f}"
            ),
            Qgis.MessageLevel.Success,
        )

    def _bounds(self) -> Tuple[Optional[Tuple[float, float, float, float]], Optional[str]]:
        """The extent to map and its CRS, (None, None) for the whole scene."""
        mode = self.extent_mode()
        if mode == "scene":
            return None, None
        if mode == "layer":
            layer = self.extent_layer.currentLayer()
            if layer is None:
                raise ValueError(tr("Choose the layer whose extent to map (Segment tab)"))
            rect, crs = layer.extent(), layer.crs()
        else:
            canvas = self.iface.mapCanvas()
            rect, crs = canvas.extent(), canvas.mapSettings().destinationCrs()
        if rect.isNull() or rect.isEmpty():
            raise ValueError(
                tr("The chosen extent is empty: zoom to the scene or pick another area")
            )
        crs_text = (crs.authid() or crs.toWkt()) if crs.isValid() else None
        return (rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum()), crs_text

    def segment_parameters(self, out: Optional[str] = None) -> Dict[str, Any]:
        """The ``s4:segment_time_series`` parameters of the Segment tab.

        ``ValueError`` for an empty extent; the checked S1 and S2 layers both go in: the model picks
        its own.
        """
        bounds, crs = self._bounds()
        extent = None
        if bounds is not None:
            extent = f"{bounds[0]},{bounds[2]},{bounds[1]},{bounds[3]}"
            extent += f" [{crs}]" if crs else ""
        target = Path(out) if out else self._unique("s4_classes", ".tif")
        values = {
            "device": self.device(),
            "tile_size": widget_value(self.tile_spin, SEGMENT["tile_size"]),
            "overlap": widget_value(self.overlap_spin, SEGMENT["overlap"]),
            "min_area_m2": widget_value(self.min_area_spin, SEGMENT["min_area_m2"]),
        }
        vector = target.with_suffix(".gpkg") if self.polygons_check.isChecked() else None
        return {
            SENTINEL1: self.checked_files("s1"),
            SENTINEL2: self.checked_files("s2"),
            MODEL: self.model_path(),
            EXTENT: extent,
            OUTPUT: str(target),
            OUTPUT_VECTOR: str(vector) if vector else None,
            **parameters_of(SEGMENT, values),
        }

    def start_segment(self, out: Optional[str] = None) -> Optional[QgsTask]:
        """Segment the checked layers with the current model (``s4:segment_time_series``).

        Adds the styled class map.
        """
        if self.refuse_to_run(out):
            return None
        try:
            parameters = self.segment_parameters(out)
        except ValueError as error:
            self.fail(str(error))
            return None
        from .algorithms.segment import SegmentTimeSeries

        status = tr("Segmenting with {0}").format(Path(self.model_path()).name)
        return self._start_algorithm(SegmentTimeSeries(), parameters, status, self._segment_done)

    def _segment_done(
        self, results: Optional[Dict[str, Any]], error: Optional[str], cancelled: bool
    ) -> None:
        failed = tr("Segmentation failed: {error}")
        stopped = tr("Segmentation cancelled; nothing was written")
        if not self._succeeded(results, error, cancelled, failed, stopped):
            return
        path = results[OUTPUT]
        classes = read_classes(path)
        model = Path(self.model_path()).stem
        layers: List[QgsMapLayer] = []
        raster = QgsRasterLayer(path, tr("S4 classes ({model})").format(model=model), "gdal")
        if raster.isValid():
            style_class_raster(raster, classes, save=False)  # the algorithm saved the .qml
            layers.append(raster)
        else:
            self.fail(tr("Could not open the class map {0}").format(path))
        if results.get(OUTPUT_VECTOR):
            vector = QgsVectorLayer(
                results[OUTPUT_VECTOR], tr("S4 class polygons ({model})").format(model=model), "ogr"
            )
            if vector.isValid():
                style_class_vector(vector, classes, save_to_database=False)  # saved there
                layers.append(vector)
        for layer in reversed(layers):
            QgsProject.instance().addMapLayer(layer)
        self.output_layers = layers
        self.notify(tr("Class map added: {0}").format(path), Qgis.MessageLevel.Success)

    # ----------------------------------------------------------------------- insight
    def _label_layer_for_engine(self) -> Optional[Tuple[QgsVectorLayer, str]]:
        """(layer, class field) of the Train tab, or None (message shown)."""
        labels = self.label_combo.currentLayer()
        if not isinstance(labels, QgsVectorLayer) or not labels.isValid():
            self.fail(tr("Choose a label layer (Train tab) or create one with 'New label layer…'"))
            return None
        field = self.field_combo.currentField()
        if not field or labels.fields().indexFromName(field) < 0:
            self.fail(tr("Choose the class field of '{0}' (Train tab)").format(labels.name()))
            return None
        if feature_count_with_geometry(labels) == 0:
            self.fail(
                tr("'{0}' has no polygons yet: digitise a few of each class").format(labels.name())
            )
            return None
        return labels, field

    def _layer_file(self, layer: QgsVectorLayer) -> Optional[str]:
        """``layer`` as a file the engine reads; None after telling the user why not.

        Memory layers and layers being edited are written to a temporary folder of the dock.
        """
        tmp = tempfile.mkdtemp(prefix="s4_dock_")
        self._tmp_dirs.append(tmp)
        try:
            path = vector_for_engine(layer, tmp)
        except OSError as error:
            self._finish()
            self.fail(str(error))
            return None
        if path.startswith(tmp):  # the engine's messages name the layer (EngineTask)
            self._copies[path] = layer.name()
        return path

    def start_profiles(self) -> Optional[EngineTask]:
        """Class profiles of the label layer from the checked S2 / S1 layers (Profiles tab)."""
        if self.refuse_while_busy():
            return None
        chosen = self._label_layer_for_engine()
        if chosen is None:
            return None
        labels, field = chosen
        s2, s1 = self.checked_files("s2"), self.checked_files("s1")
        if not s2 and not s1:
            self.fail(tr("No Sentinel-2 or Sentinel-1 layers checked (Data tab)"))
            return None
        api = self._engine(needs_torch=False)  # profiles are numpy + GDAL
        if api is None:
            return None
        labels_path = self._layer_file(labels)
        if labels_path is None:
            return None
        # the engine numbers polygons in the file's order, the layer's feature order
        self._profile_fids = [f.id() for f in labels.getFeatures()]
        self._profile_layer = labels

        def work(progress: Progress, cancel: Cancel, log: Log) -> Dict[str, Any]:
            return api.class_profiles(
                labels_path, field, s2=s2 or None, s1=s1 or None, progress=progress, cancel=cancel
            )

        task = EngineTask(tr("S4 class profiles"), work, self._profiles_done, self._copies)
        return self._start(task, tr("Class profiles of '{0}' ({1})").format(labels.name(), field))

    def _profiles_done(
        self, result: Optional[Dict[str, Any]], error: Optional[str], cancelled: bool
    ) -> None:
        if not self._succeeded(result, error, cancelled, tr("Class profiles failed: {error}")):
            return
        self.tabs.setCurrentWidget(self.profiles_panel)
        self.profiles_panel.show_profiles(result, feature_ids=self._profile_fids)
        self._label_selection_changed()
        n = len(result.get("outliers") or [])
        self.notify(
            tr("Class profiles of {0} classes; {1} outlier polygon(s)").format(
                len(result.get("classes") or []), n
            )
        )

    def _label_selection_changed(self, *args: object) -> None:
        layer = self._profile_layer
        if layer is None or not self._profile_fids:
            return
        try:
            selected = set(layer.selectedFeatureIds())
        except RuntimeError:  # the layer was removed
            return
        index = {fid: i for i, fid in enumerate(self._profile_fids)}
        self.profiles_panel.set_selected(sorted(index[f] for f in selected if f in index))

    def _outlier_clicked(self, item: QListWidgetItem) -> None:
        polygon = item.data(PROFILE_INDEX_ROLE)
        if polygon is not None:
            self.zoom_to_polygon(int(polygon))

    def zoom_to_polygon(self, index: int) -> bool:
        """Select, zoom to and flash the label polygon at position ``index`` (engine order)."""
        layer = self._profile_layer
        if layer is None or not 0 <= index < len(self._profile_fids):
            return False
        fid = self._profile_fids[index]
        layer.selectByIds([fid])
        try:
            canvas = self.iface.mapCanvas()
            canvas.zoomToFeatureIds(layer, [fid])
            canvas.flashFeatureIds(layer, [fid])
        except Exception:  # noqa: BLE001 (a stub iface without a canvas)
            pass
        return True

    def start_suggest(self, out: Optional[str] = None) -> Optional[EngineTask]:
        """Squares where the current model is least sure (Segment tab), as a layer to review."""
        if self.refuse_to_run(out):
            return None
        model = self.model_path()
        if not model or not os.path.isfile(model):
            self.fail(tr("Load a fine-tuned model first (Model tab), or fine-tune one"))
            return None
        s2: Optional[List[str]] = self.checked_files("s2")
        s1: Optional[List[str]] = self.checked_files("s1")
        modality = (self.model_info() or {}).get("modality")
        if modality in SENSORS:
            s1, s2 = (s1, None) if modality == "s1" else (None, s2)
        if not s1 and not s2:
            self.fail(tr("No layers checked (Data tab) for this model"))
            return None
        try:
            bounds, bounds_crs = self._bounds()
        except ValueError as error:
            self.fail(str(error))
            return None
        api = self._engine()
        if api is None:
            return None
        labels_path = None
        labels = self.label_combo.currentLayer()
        if isinstance(labels, QgsVectorLayer) and feature_count_with_geometry(labels) > 0:
            labels_path = self._layer_file(labels)
            if labels_path is None:
                return None
        target = Path(out) if out else self._unique("s4_label_next", ".gpkg")
        kwargs = dict(
            s1=s1 or None, s2=s2 or None, labels=labels_path, number=self.suggest_spin.value(),
            bounds=bounds, bounds_crs=bounds_crs,
            tile_size=widget_value(self.tile_spin, SEGMENT["tile_size"]),
            overlap=widget_value(self.overlap_spin, SEGMENT["overlap"]), device=self.device(),
        )  # fmt: skip

        def work(progress: Progress, cancel: Cancel, log: Log) -> Dict[str, Any]:
            return api.suggest_labels(
                model, str(target), progress=progress, cancel=cancel, log=log, **kwargs
            )

        task = EngineTask(tr("S4 where to label next"), work, self._suggest_done, self._copies)
        return self._start(task, tr("Looking for where {0} is least sure").format(Path(model).name))

    def _suggest_done(
        self, result: Optional[Dict[str, Any]], error: Optional[str], cancelled: bool
    ) -> None:
        if not self._succeeded(result, error, cancelled, tr("Suggestions failed: {error}")):
            return
        layer = QgsVectorLayer(
            f"{result['path']}|layername=suggestions", tr("S4 where to label next"), "ogr"
        )
        if not layer.isValid():
            self.fail(tr("Could not open the suggestions {0}").format(result["path"]))
            return
        if not result["n"]:
            self.notify(
                tr(
                    "No square to suggest: every valid place is labelled already or lies on a "
                    "class border; label fewer areas or map a larger extent"
                ),
                Qgis.MessageLevel.Warning,
            )
            return
        style_suggestions(layer)
        QgsProject.instance().addMapLayer(layer)
        self.output_layers = [layer]
        self.notify(
            tr(
                "{0} squares to label added ({1}): label them in the label layer and fine-tune again"
            ).format(result["n"], result["path"]),
            Qgis.MessageLevel.Success,
        )

    # ----------------------------------------------------------------------- model
    def set_model(self, path: str) -> None:
        """Make ``path`` the current model (remembered) and describe it."""
        self.model_edit.setText(str(path))
        self._save(DockSetting.MODEL_PATH, str(path))
        self.refresh_model_info(quiet=True)

    def load_model(self, path: Optional[str] = None) -> bool:
        """Load a model (``path``, else a file dialog); False when none was chosen or unreadable."""
        if path is None:
            start = os.path.dirname(self.model_path()) or str(self.output_folder())
            path, _ = QFileDialog.getOpenFileName(
                self, tr("Load S4 model"), start, tr("S4 checkpoint (*.pt)")
            )
            if not path:
                return False
        if not os.path.isfile(path):
            self.fail(tr("Model file not found: {path}").format(path=path))
            return False
        self.model_edit.setText(path)
        self._save(DockSetting.MODEL_PATH, path)
        ok = self.refresh_model_info()
        if ok:
            self.notify(tr("Model loaded: {path}").format(path=path))
        return ok

    def save_model_as(self, path: Optional[str] = None) -> Optional[str]:
        """Copy the current model to ``path`` (else a file dialog); the path written, or None."""
        source = self.model_path()
        if not source or not os.path.isfile(source):
            self.fail(tr("No model to save: load or fine-tune one first"))
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self, tr("Save S4 model as"), source, tr("S4 checkpoint (*.pt)")
            )
            if not path:
                return None
            if not path.lower().endswith(".pt"):
                path += ".pt"
        if os.path.abspath(path) == os.path.abspath(source):
            return path
        tmp = temp_path(path)  # hidden, beside it: os.replace is atomic; fits the name limit
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, path)
        except OSError as error:
            if os.path.exists(tmp):
                os.remove(tmp)
            self.fail(
                tr(
                    "Could not save the model as {path}: {error}. Choose a folder you can write "
                    "to, on a disk with free space; the model is still in {source}"
                ).format(path=path, error=error.strerror or error, source=source)
            )
            return None
        self.model_edit.setText(path)
        self._save(DockSetting.MODEL_PATH, path)
        self.notify(tr("Model saved as {path}").format(path=path))
        return path

    def refresh_model_info(self, quiet: bool = False) -> bool:
        """Read the model's description (engine ``model_info``) into the Model tab."""
        path = self.model_path()
        self._model_info = None
        if not path or not os.path.isfile(path):
            hint = tr("No model loaded.")
            self.model_info_view.setHtml(f"<i>{html.escape(hint)}</i>")
            return False
        from .dependencies import engine_missing_message

        missing = engine_missing_message()
        if missing:
            self.model_info_view.setPlainText(missing)
            if not quiet:
                self.fail(missing)
            return False
        from s4_core import api
        from s4_core.errors import S4Error

        try:
            info = api.model_info(path)
        except S4Error as error:
            self.model_info_view.setPlainText(str(error))
            if not quiet:
                self.fail(str(error))
            return False
        self._model_info = info
        self.model_info_view.setHtml(model_info_html(path, info))
        self.model_curves.show_history(
            info.get("history") or [],
            tr("Training curves ({0} epochs recorded)").format(len(info.get("history") or [])),
        )
        return True

    def check_device(self) -> Optional[Dict[str, Any]]:
        """Show which device the engine would use; its description, or None on failure."""
        api = self._engine()
        if api is None:
            return None
        from s4_core.errors import S4Error

        try:
            info = api.device_info(self.device())
        except S4Error as error:
            self.device_label.setText(str(error))
            self.fail(str(error))
            return None
        memory = f", {info['memory_gb']} GiB" if info.get("memory_gb") else ""
        text = f"{info['device']}: {info.get('name', '')}{memory}"
        self.device_label.setText(text)
        self.log(tr("device: {text}").format(text=text))
        return info

    # ----------------------------------------------------------------------- teardown
    def cleanup(self) -> None:
        """Disconnect from the project and detach a running task (plugin unload)."""
        for signal in (QgsProject.instance().layersAdded, QgsProject.instance().layersRemoved):
            try:
                signal.disconnect(self._schedule_refresh)
            except (TypeError, RuntimeError):
                pass
        self._refresh_timer.stop()
        self._cloud_timer.stop()
        if self._run is not None:
            run, self._run, self.task = self._run, None, None
            run.detach()  # keeps running to its end (or cancel) without this dock
            run.cancel()
        if self.task is not None:
            task, self.task = self.task, None
            task._on_done = None
            for signal in (task.log_message, task.status_message, task.progressChanged):
                try:
                    signal.disconnect()
                except (TypeError, RuntimeError):
                    pass
            if task.status() not in (QgsTask.TaskStatus.Complete, QgsTask.TaskStatus.Terminated):
                task.cancel()
        for folder in self._tmp_dirs:
            shutil.rmtree(folder, ignore_errors=True)
        self._tmp_dirs = []
        self._copies = {}


def folder_problem(folder: Path) -> Optional[str]:
    """Why ``folder`` cannot be created (None: it is a folder now, created where it was not)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        blocker = next((p for p in (folder, *folder.parents) if p.is_file()), None)
        if blocker is not None:
            return tr("{path} is a file").format(path=blocker)
        return error.strerror or str(error)
    return None


# fmt: off
#: the names the Model tab shows for the keys of the engine's ``model_info`` (others: the key)
MODEL_FIELDS: Dict[str, str] = {
    "path": tr_noop("path"), "file_size_bytes": tr_noop("file size (bytes)"),
    "format": tr_noop("format"), "format_version": tr_noop("format version"),
    "engine_version": tr_noop("engine version"), "created": tr_noop("created"),
    "kind": tr_noop("kind"), "modality": tr_noop("modality"),
    "modalities": tr_noop("modalities"), "bands": tr_noop("bands"),
    "n_classes": tr_noop("number of classes"), "classes": tr_noop("classes"),
    "time": tr_noop("time axis"), "metrics": tr_noop("metrics"), "epoch": tr_noop("epoch"),
    "epochs_recorded": tr_noop("epochs recorded"), "seed": tr_noop("random seed"),
    "parameters": tr_noop("parameters"), "net_config": tr_noop("network"),
    "resumable": tr_noop("resumable"), "objective": tr_noop("pretraining objective"),
    "input": tr_noop("input"), "s1_ratio": tr_noop("radar ratio band (VV/VH)"),
    "described_from": tr_noop("described from"), "model_card": tr_noop("model card"),
    "source_checkpoint": tr_noop("source checkpoint"), "output": tr_noop("output"),
}
# fmt: on


def model_info_html(path: str, info: Dict[str, Any]) -> str:
    """The Model tab's description of a checkpoint (engine ``model_info`` dict)."""
    esc = html.escape
    rows = [f"<b>{esc(Path(path).name)}</b><br><small>{esc(str(path))}</small>", "<table>"]

    def row(key: str, value: object) -> None:
        name = tr(MODEL_FIELDS[key]) if key in MODEL_FIELDS else key.replace("_", " ")
        rows.append(f"<tr><td><b>{esc(name)}</b></td><td>{value}</td></tr>")

    for key in ("kind", "modality"):
        if info.get(key) is not None:
            row(key, esc(str(info[key])))
    bands = info.get("bands")
    if isinstance(bands, dict):
        row(
            "bands",
            "<br>".join(f"{esc(k)}: {esc(', '.join(map(str, v)))}" for k, v in bands.items()),
        )
    elif bands:
        row("bands", esc(", ".join(map(str, bands))))
    classes = info.get("classes") or []
    if classes:
        items = []
        for c in classes:
            name = c.get("name") if isinstance(c, dict) else str(c)
            color = c.get("color") if isinstance(c, dict) else None
            swatch = (
                f"<span style='background-color: rgb({color[0]},{color[1]},{color[2]})'>"
                "&nbsp;&nbsp;&nbsp;&nbsp;</span> "
                if color
                else ""
            )
            items.append(swatch + esc(str(name)))
        row("classes", "<br>".join(items))
    metrics = info.get("metrics") or {}
    if isinstance(metrics, dict) and metrics:
        row(
            "metrics",
            "<br>".join(
                f"{esc(str(k))}: {v:.4f}"
                if isinstance(v, float)
                else f"{esc(str(k))}: {esc(str(v))}"
                for k, v in metrics.items()
                if not isinstance(v, (dict, list))
            ),
        )
    for key, value in info.items():
        if key in ("kind", "modality", "bands", "classes", "metrics", "history"):
            continue
        if isinstance(value, (dict, list)):
            value = (
                ", ".join(f"{k}: {v}" for k, v in value.items())
                if isinstance(value, dict)
                else ", ".join(map(str, value))
            )
        row(key, esc(str(value)))
    rows.append("</table>")
    return "\n".join(rows)

"""Shared plumbing of the S4 Processing algorithms.

Each algorithm turns its parameters into plain file paths and options, calls one function of
``s4_core.api`` (imported lazily, after ``dependencies.engine_missing_message()`` says the engine
can load) and hands the engine QGIS's feedback as its ``progress``/``cancel``/``log`` callables.
Engine errors (``S4Error``) become ``QgsProcessingException`` with the engine's message.
"""

from __future__ import annotations

import html
import os
import shutil
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsProcessingUtils,
)
from qgis.PyQt.QtGui import QIcon

from ..compat import FILE_FOLDER, FLAG_ADVANCED, NUMBER_DOUBLE, NUMBER_INTEGER, SOURCE_RASTER
from ..i18n import tr, tr_noop
from ..layers import raster_files
from ..tasks import format_metrics

ICON_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "resources", "icon.svg"
)
STEP_LOG_SECONDS = 5.0
CPU_ONLY = "Device: cpu (this step runs no neural network)"
DEVICES = ["auto", "cpu", "cuda"]
DEVICE_LABELS = [
    tr_noop("auto (CUDA GPU when available, else CPU)"),
    "cpu",
    tr_noop("cuda (NVIDIA GPU)"),
]

GROUP_PREPARE = (tr_noop("Prepare data"), "prepare")
GROUP_TRAIN = (tr_noop("Train"), "train")
GROUP_MAP = (tr_noop("Map"), "map")
GROUP_EVALUATE = (tr_noop("Evaluate"), "evaluate")


def parameter_summary(param) -> str:
    """``NAME: description (default X; a..b)`` for the help of an algorithm."""
    parts = []
    default = param.defaultValue()
    if isinstance(param, QgsProcessingParameterEnum):
        options = param.options()
        if isinstance(default, int) and 0 <= default < len(options):
            parts.append(f"default {default} = {options[default]}")
        parts.append("; ".join(f"{i} = {o}" for i, o in enumerate(options)))
    else:
        if default not in (None, ""):
            parts.append(f"default {default}")
        if isinstance(param, QgsProcessingParameterNumber):
            parts.append(f"{param.minimum():g} to {param.maximum():g}")
    if param.flags() & FLAG_ADVANCED:
        parts.append("advanced")
    detail = f" ({'; '.join(parts)})" if parts else ""
    return f"<b>{param.name()}</b>: {html.escape(param.description())}{detail}"


class S4Algorithm(QgsProcessingAlgorithm):
    """Base class: names, group, icon, help, engine loading and feedback adapters."""

    NAME = ""
    DISPLAY_NAME = ""
    GROUP = GROUP_MAP
    HELP = ""

    # identity ---------------------------------------------------------------------------
    def name(self) -> str:
        return self.NAME

    def displayName(self) -> str:  # noqa: N802 (QGIS API)
        return tr(self.DISPLAY_NAME)

    def group(self) -> str:
        return tr(self.GROUP[0])

    def groupId(self) -> str:  # noqa: N802
        return self.GROUP[1]

    def shortHelpString(self) -> str:  # noqa: N802
        """The algorithm's help, then every parameter with its default and range (read from
        the parameter definitions, so the help cannot disagree with the checks)."""
        rows = [parameter_summary(p) for p in self.parameterDefinitions()]
        table = "".join(f"<li>{row}</li>" for row in rows if row)
        return tr(self.HELP) + (f"<br><br><b>Parameters</b><ul>{table}</ul>" if table else "")

    def icon(self) -> QIcon:
        return QIcon(ICON_PATH)

    def svgIconPath(self) -> str:  # noqa: N802
        return ICON_PATH

    def createInstance(self) -> S4Algorithm:  # noqa: N802
        return type(self)()

    # parameter helpers ------------------------------------------------------------------
    def add_parameter(self, param, advanced: bool = False) -> None:
        """``addParameter``, flagged as advanced (folded away in the dialog) if asked."""
        if advanced:
            param.setFlags(param.flags() | FLAG_ADVANCED)
        self.addParameter(param)

    def add_training_parameters(self, epochs: int) -> None:
        """EPOCHS, CROP_SIZE, BATCH_SIZE, DEVICE and the advanced SEED and WIDTHS."""
        self.add_int("EPOCHS", tr("Epochs"), epochs, 1, 10000)
        self.add_int("CROP_SIZE", tr("Crop size (pixels)"), 32, 8, 1024)
        self.add_int("BATCH_SIZE", tr("Batch size"), 2, 1, 1024)
        self.add_device_parameter()
        self.add_int("SEED", tr("Random seed"), 0, 0, 2**31 - 1, advanced=True)
        self.add_widths_parameter()

    def add_series_parameter(self, name: str, description: str) -> None:
        """``name``: raster layers (one per date); ``name_FOLDER``: or a folder of per-date
        GeoTIFFs (what ``s4 fetch`` writes), so ``qgis_process`` needs no file per date. Both
        are optional in the dialog: algorithms that need a series check it when they run."""
        self.addParameter(
            QgsProcessingParameterMultipleLayers(name, description, SOURCE_RASTER, optional=True)
        )
        self.addParameter(
            QgsProcessingParameterFile(
                f"{name}_FOLDER",
                tr("{0}: or a folder of per-date GeoTIFFs").format(description.split(" (")[0]),
                behavior=FILE_FOLDER,
                optional=True,
            )
        )

    def add_device_parameter(self) -> None:
        self.addParameter(
            QgsProcessingParameterEnum(
                "DEVICE",
                tr("Compute device"),
                options=[tr(o) for o in DEVICE_LABELS],
                defaultValue=0,
            )
        )

    def add_int(
        self,
        name: str,
        description: str,
        default: int,
        minimum: int,
        maximum: int,
        advanced: bool = False,
    ) -> None:
        param = QgsProcessingParameterNumber(
            name,
            description,
            NUMBER_INTEGER,
            default,
            False,
            minimum,
            maximum,
        )
        self.add_parameter(param, advanced)

    def add_float(
        self,
        name: str,
        description: str,
        default: Optional[float],
        minimum: float,
        maximum: float,
        optional: bool = False,
        advanced: bool = False,
    ) -> None:
        param = QgsProcessingParameterNumber(
            name,
            description,
            NUMBER_DOUBLE,
            default,
            optional,
            minimum,
            maximum,
        )
        self.add_parameter(param, advanced)

    def device(self, parameters: Dict[str, Any], context) -> str:
        return DEVICES[self.parameterAsEnum(parameters, "DEVICE", context)]

    def add_widths_parameter(self) -> None:
        """Advanced WIDTHS: the U-Net's widths (used when a network is created, not loaded)."""
        param = QgsProcessingParameterString(
            "WIDTHS", tr("Network widths (comma-separated; default 16,32,64; reference 32,64,128)"),
            defaultValue="16,32,64",
        )  # fmt: skip
        self.add_parameter(param, advanced=True)

    def widths(self, parameters: Dict[str, Any], context) -> tuple:
        text = self.parameterAsString(parameters, "WIDTHS", context) or "16,32,64"
        try:
            values = tuple(int(v) for v in text.replace(" ", "").split(",") if v)
        except ValueError:
            values = ()
        if len(values) < 2 or any(v < 1 for v in values):
            raise QgsProcessingException(
                tr(
                    "WIDTHS must be two or more positive integers such as 32,64,128, not {text!r}"
                ).format(text=text)
            )
        return values

    def series_files(self, parameters: Dict[str, Any], name: str, context) -> List[str]:
        """Files of a series: its layers, then the GeoTIFFs of its ``_FOLDER`` (raises
        QgsProcessingException when a layer is not a file or the folder holds none)."""
        layers = self.parameterAsLayerList(parameters, name, context)
        try:
            files = raster_files(layers, name)
        except ValueError as error:
            raise QgsProcessingException(str(error)) from None
        folder = self.parameterAsFile(parameters, f"{name}_FOLDER", context)
        if folder:
            if not os.path.isdir(folder):
                raise QgsProcessingException(
                    tr("{name}_FOLDER: {folder} is not a folder").format(name=name, folder=folder)
                )
            found = sorted(
                os.path.join(folder, f)
                for f in os.listdir(folder)
                if f.lower().endswith((".tif", ".tiff"))
            )
            if not found:
                raise QgsProcessingException(
                    tr(
                        "{name}_FOLDER: {folder} holds no GeoTIFF (.tif): choose the folder with one file per date (e.g. the S1/ or S2/ folder written by the download step)"
                    ).format(name=name, folder=folder)
                )
            files += [f for f in found if f not in files]
        return files

    @staticmethod
    def sources(files: List[str]):
        """What the engine takes as ``Sources``: None, one file, or the list of files."""
        if not files:
            return None
        return files[0] if len(files) == 1 else files

    @staticmethod
    def optional_number(parameters: Dict[str, Any], name: str) -> Optional[float]:
        value = parameters.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise QgsProcessingException(
                tr("{name} must be a number, not {value!r}").format(name=name, value=value)
            ) from None

    # main-thread preparation --------------------------------------------------------------
    def prepareAlgorithm(self, parameters, context, feedback) -> bool:  # noqa: N802
        """Runs in the main thread: layer objects are read here (see ``prepare_inputs``).

        Errors are kept and raised by ``processAlgorithm`` (``check_prepared``), so that callers
        get the message in the exception (``processing.run``) and not a generic failure.
        """
        self._prepare_error: Optional[str] = None
        self._tmp_dir: Optional[str] = None
        try:
            self.prepare_inputs(parameters, context, feedback)
        except QgsProcessingException as error:
            self._prepare_error = str(error) or "invalid input"
        return True

    def prepare_inputs(self, parameters, context, feedback) -> None:
        """Override: read layers (e.g. write an edited layer to a file) in the main thread."""

    def check_prepared(self) -> None:
        error = getattr(self, "_prepare_error", None)
        if error:
            self.cleanup_temp()
            raise QgsProcessingException(error)

    def temp_dir(self) -> str:
        if not getattr(self, "_tmp_dir", None):
            self._tmp_dir = tempfile.mkdtemp(prefix="s4_", dir=QgsProcessingUtils.tempFolder())
        return self._tmp_dir

    def cleanup_temp(self) -> None:
        if getattr(self, "_tmp_dir", None):
            shutil.rmtree(self._tmp_dir, ignore_errors=True)
            self._tmp_dir = None

    # engine -----------------------------------------------------------------------------
    def engine(self, feedback, needs_torch: bool = True):
        """``s4_core.api`` after checking its dependencies (torch, rasterio, fiona, numpy).

        ``needs_torch=False`` (align): only numpy, rasterio and fiona must import.
        """
        from ..dependencies import engine_missing_message, missing_engine_modules

        if needs_torch or set(missing_engine_modules()) & {"numpy", "rasterio", "fiona"}:
            missing = engine_missing_message()
            if missing:
                raise QgsProcessingException(missing)
        from s4_core import api

        return api

    def log_device(self, api, device: str, feedback) -> Dict[str, Any]:
        """Resolve and log the device the engine will use (an unavailable one is an error)."""
        info = self.call(api.device_info, device)
        memory = f", {info['memory_gb']} GiB" if info.get("memory_gb") else ""
        feedback.pushInfo(f"Device: {info['device']} ({info.get('name', '')}{memory})")
        return info

    @staticmethod
    def call(function: Callable[..., Any], *args, **kwargs) -> Any:
        """Call an engine function; its S4Errors become QgsProcessingExceptions (no traceback)."""
        from s4_core.errors import S4Error

        try:
            return function(*args, **kwargs)
        except S4Error as error:
            raise QgsProcessingException(str(error)) from None

    @staticmethod
    def callbacks(feedback, base: float = 0.0, span: float = 1.0):
        """``progress``, ``cancel`` and ``log`` callables bound to ``feedback``.

        ``base``/``span`` map the engine's 0..1 onto a part of the algorithm's progress bar.
        Metrics (loss, mIoU ...) are logged as info lines.
        """
        last = {"message": None, "logged": 0.0}

        def progress(
            fraction: float, message: str = "", metrics: Optional[Dict[str, Any]] = None
        ) -> None:
            feedback.setProgress(100.0 * (base + span * max(0.0, min(1.0, float(fraction)))))
            if message and message != last["message"]:
                feedback.setProgressText(message)
                last["message"] = message
            if metrics:
                # Epoch summaries always; per-step metrics at most every few seconds.
                now = time.monotonic()
                if "epoch" in metrics or now - last["logged"] >= STEP_LOG_SECONDS:
                    last["logged"] = now
                    text = format_metrics(metrics)
                    feedback.pushInfo(f"{message}: {text}" if message else text)

        def log(text: str) -> None:
            feedback.pushInfo(str(text))

        return progress, feedback.isCanceled, log

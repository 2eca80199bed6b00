"""Shared plumbing of the S4 Processing algorithms: one base class owns every parameter helper.

Settings (epochs, tile size, device ...) are defined once in ``s4_core.settings``:
``add_settings`` turns an operation's settings into Processing parameters (name, description,
default, range, advanced flag, drop-down options) and ``setting_values`` reads them back as the
api's keyword arguments, so an algorithm lists no default or range itself. Inputs and outputs
(layers, files) keep their own parameters, named by the constants below.

Each algorithm turns its parameters into plain file paths and options, calls one function of
``s4_core.api`` (imported lazily, after ``dependencies.engine_missing_message()`` says the engine
can load) and hands the engine QGIS's feedback as its ``progress``/``cancel``/``log`` callables.
Engine errors (``S4Error``) become ``QgsProcessingException`` with the engine's message.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import tempfile
import time
import warnings
from typing import Any, Callable, Dict, List, Optional

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsProcessingUtils,
)
from qgis.PyQt.QtGui import QIcon

from s4_core.settings import DEVICE, Operation, Setting

from ..compat import FILE_FOLDER, FLAG_ADVANCED, NUMBER_DOUBLE, NUMBER_INTEGER, SOURCE_RASTER
from ..i18n import tr, tr_noop
from ..layers import raster_files
from ..tasks import format_metrics

ICON_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "resources", "icon.svg"
)
STEP_LOG_SECONDS = 5.0
CPU_ONLY = "Device: cpu (this step runs no neural network)"

# Names of the Processing parameters and outputs that are not settings (a setting's name is
# ``Setting.param_name``, e.g. "EPOCHS"); series parameters also have a ``<name>_FOLDER`` twin.
SENTINEL1 = "SENTINEL1"
SENTINEL2 = "SENTINEL2"
FOLDER_SUFFIX = "_FOLDER"
LABELS = "LABELS"
CLASS_FIELD = "CLASS_FIELD"
MODEL = "MODEL"
EXTENT = "EXTENT"
INPUT = "INPUT"
OUTPUT = "OUTPUT"
OUTPUT_VECTOR = "OUTPUT_VECTOR"

GROUP_PREPARE = (tr_noop("Prepare data"), "prepare")
GROUP_TRAIN = (tr_noop("Train"), "train")
GROUP_MAP = (tr_noop("Map"), "map")
GROUP_EVALUATE = (tr_noop("Evaluate"), "evaluate")


def parameter_value(setting: Setting, value: Any) -> Any:
    """The Processing parameter value for the api value ``value`` of ``setting`` (the inverse
    of ``S4Algorithm.setting_value``): an index for drop-downs, "16,32,64" for lists."""
    if setting.labels:
        return list(setting.ui_options).index(value)
    if value is None:
        return setting.none_as
    if setting.kind == "ints":
        return ",".join(str(int(v)) for v in value)
    return value


def parameters_of(operation: Operation, values: Dict[str, Any]) -> Dict[str, Any]:
    """Processing parameters (by ``param_name``) for the api ``values`` of ``operation``."""
    return {
        operation[name].param_name: parameter_value(operation[name], value)
        for name, value in values.items()
    }


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


def engine_message(error: Exception) -> str:
    """An engine error's message in QGIS's words: a setting out of range is named by its
    Processing parameter ("EPOCHS must be ..."), not by the api's or the command line's name."""
    from s4_core.errors import SettingError
    from s4_core.settings import SETTINGS

    setting = SETTINGS.get(getattr(error, "setting", ""))
    if isinstance(error, SettingError) and setting is not None and setting.qgis:
        rule = re.sub(
            r"\b[a-z][a-z0-9_]*\b",
            lambda m: SETTINGS[m.group(0)].param_name if m.group(0) in SETTINGS else m.group(0),
            error.rule,
        )
        return f"{setting.param_name} must be {rule}, got {error.value!r}"
    return str(error)


def report_warnings(caught, feedback) -> None:
    """Warnings recorded while the engine ran, once each: the engine's (``S4Warning``) as
    warnings in the log (``pushWarning`` from QGIS 3.26, a non-fatal error line before),
    others as debug lines."""
    from s4_core.errors import S4Warning

    seen = set()
    for item in caught:
        text = str(item.message)
        if text in seen:
            continue
        seen.add(text)
        if issubclass(item.category, S4Warning):
            push = getattr(feedback, "pushWarning", None)
            if push is not None:
                push(tr("Warning: {0}").format(text))
            else:
                feedback.reportError(tr("Warning: {0}").format(text), False)
        else:
            feedback.pushDebugInfo(f"{item.category.__name__}: {text}")


class Failure:
    """A failed run's message (no traceback attached)."""

    def __init__(self, message: str) -> None:
        self.message = message


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

    def add_settings(self, operation: Operation, *names: str) -> None:
        """The Processing parameters of ``operation``'s settings (``names``, default: every
        setting that exists in QGIS), in definition order."""
        for setting in operation:
            if (setting.name in names) if names else setting.qgis:
                self.add_setting(setting)

    def add_setting(self, setting: Setting) -> None:
        """One setting as a Processing parameter: ``param_name``, translated ``label``, default,
        range (``ui_maximum`` where the range is open), advanced flag; a drop-down where the
        setting offers ``ui_options`` with ``labels``."""
        name, label, default = setting.param_name, tr(setting.label), setting.default
        optional = default is None and setting.none_as is None
        if setting.labels:
            param = QgsProcessingParameterEnum(
                name,
                label,
                options=[tr(text) for text in setting.labels],
                defaultValue=list(setting.ui_options).index(default),
            )
        elif setting.kind in ("int", "float"):
            param = QgsProcessingParameterNumber(
                name,
                label,
                NUMBER_INTEGER if setting.kind == "int" else NUMBER_DOUBLE,
                setting.none_as if default is None else default,
                optional,
                setting.ui_minimum,
                setting.ui_maximum,
            )
        elif setting.kind == "bool":
            param = QgsProcessingParameterBoolean(name, label, defaultValue=default)
        elif setting.kind == "ints":
            param = QgsProcessingParameterString(
                name, label, defaultValue=",".join(map(str, default))
            )
        elif setting.kind == "path":
            param = QgsProcessingParameterFile(
                name, label, fileFilter=setting.file_filter, optional=optional
            )
        else:
            param = QgsProcessingParameterString(
                name, label, defaultValue=default, optional=optional
            )
        self.add_parameter(param, setting.advanced)

    def setting_value(self, parameters: Dict[str, Any], setting: Setting, context) -> Any:
        """A setting's value from its parameter, as the api takes it (None: not given)."""
        name = setting.param_name
        if setting.labels:
            return setting.ui_options[self.parameterAsEnum(parameters, name, context)]
        if setting.kind in ("int", "float"):
            if setting.default is None and setting.none_as is None:
                value = self.optional_number(parameters, name)
            elif setting.kind == "int":
                value = self.parameterAsInt(parameters, name, context)
            else:
                value = self.parameterAsDouble(parameters, name, context)
            if value is not None and setting.none_as is not None and value == setting.none_as:
                return None
            return int(value) if value is not None and setting.kind == "int" else value
        if setting.kind == "bool":
            return self.parameterAsBool(parameters, name, context)
        if setting.kind == "ints":
            return self.widths(parameters, context, setting)
        if setting.kind == "path":
            return self.parameterAsFile(parameters, name, context) or None
        return self.parameterAsString(parameters, name, context) or setting.default

    def setting_values(self, parameters: Dict[str, Any], context, operation: Operation):
        """Every QGIS setting of ``operation`` as the api's keyword arguments."""
        return {s.name: self.setting_value(parameters, s, context) for s in operation if s.qgis}

    def add_series_parameter(self, name: str, description: str) -> None:
        """``name``: raster layers (one per date); ``name_FOLDER``: or a folder of per-date
        GeoTIFFs (what ``s4 fetch`` writes), so ``qgis_process`` needs no file per date. Both
        are optional in the dialog: algorithms that need a series check it when they run."""
        self.addParameter(
            QgsProcessingParameterMultipleLayers(name, description, SOURCE_RASTER, optional=True)
        )
        self.addParameter(
            QgsProcessingParameterFile(
                name + FOLDER_SUFFIX,
                tr("{0}: or a folder of per-date GeoTIFFs").format(description.split(" (")[0]),
                behavior=FILE_FOLDER,
                optional=True,
            )
        )

    def device(self, parameters: Dict[str, Any], context) -> str:
        return self.setting_value(parameters, DEVICE, context)

    def widths(self, parameters: Dict[str, Any], context, setting: Setting) -> tuple:
        """A list-of-integers setting (WIDTHS) typed as "16,32,64"."""
        default = ",".join(map(str, setting.default))
        text = self.parameterAsString(parameters, setting.param_name, context) or default
        try:
            values = tuple(int(v) for v in text.replace(" ", "").split(",") if v)
        except ValueError:
            values = ()
        if not setting.accepts(values):
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
        folder = self.parameterAsFile(parameters, name + FOLDER_SUFFIX, context)
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

    def both_series(self, parameters: Dict[str, Any], context, message: str):
        """The SENTINEL1 and SENTINEL2 files, both required (``message`` when one is missing)."""
        s1 = self.series_files(parameters, SENTINEL1, context)
        s2 = self.series_files(parameters, SENTINEL2, context)
        if not s1 or not s2:
            raise QgsProcessingException(message)
        return s1, s2

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

    def checkParameterValues(self, parameters, context):  # noqa: N802
        """QGIS's checks, with the range in the message: "EPOCHS (Epochs) must be a whole
        number >= 1, got 0" instead of "Incorrect parameter value for EPOCHS"."""
        ok, message = super().checkParameterValues(parameters, context)
        if ok:
            return ok, message
        from s4_core.settings import SETTINGS

        by_param = {s.param_name: s for s in SETTINGS.values() if s.qgis}
        for param in self.parameterDefinitions():
            name, value = param.name(), parameters.get(param.name())
            if value is None or param.checkValueIsAcceptable(value, context):
                continue
            setting = by_param.get(name)
            if setting is not None and isinstance(param, QgsProcessingParameterNumber):
                return False, tr("{name} ({label}) must be {rule}, got {value}").format(
                    name=name, label=param.description(), rule=setting.describe(), value=value
                )
            path = value.split("|")[0] if isinstance(value, str) else ""
            if path and os.path.isfile(path):
                return False, tr(
                    "{name}: {path} cannot be read as a layer (not a file QGIS can open, damaged, or no permission to read it): choose another file"
                ).format(name=name, path=path)
            if path and os.path.sep in path and not os.path.exists(path):
                return False, tr("{name}: {path} does not exist").format(name=name, path=path)
            return False, tr("{name} ({label}): {value!r} is not a valid value").format(
                name=name, label=param.description(), value=value
            )
        return ok, message

    # running ----------------------------------------------------------------------------------
    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        """Runs ``process`` (what each algorithm implements).

        QGIS 3.22 never frees an exception raised out of processAlgorithm (its sip error
        handler fetches it without releasing it), and so keeps its traceback: the engine's
        frames (scene, model, arrays) and, through the frames' callers, the Processing context
        with the layers it opened from file paths (open files). Each failed or cancelled run
        in one QGIS process kept all that. So a failure is raised again from here as a new
        exception with no engine frames, after the context's temporary layers are released.
        """
        failure = self._process_or_message(parameters, context, feedback)
        if isinstance(failure, Failure):
            context.temporaryLayerStore().removeAllMapLayers()
            del parameters, context, feedback
            raise QgsProcessingException(failure.message)
        return failure

    def _process_or_message(self, parameters, context, feedback):
        try:
            return self.process(parameters, context, feedback)
        except QgsProcessingException as error:
            return Failure(str(error))

    def process(self, parameters, context, feedback) -> Dict[str, Any]:
        """Override: the algorithm's work (``processAlgorithm`` of QGIS)."""
        raise NotImplementedError

    # main-thread preparation --------------------------------------------------------------
    def prepareAlgorithm(self, parameters, context, feedback) -> bool:  # noqa: N802
        """Runs in the main thread: layer objects are read here (see ``prepare_inputs``).

        Errors are kept and raised by ``process`` (``check_prepared``), so that callers
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
    def engine(self, feedback, needs_torch: bool = True, needs_onnx: bool = False):
        """``s4_core.api`` after checking its dependencies (torch, rasterio, fiona, numpy).

        ``needs_torch=False`` (align, export, evaluate): only numpy, rasterio and fiona must
        import; ``needs_onnx`` (mapping with an .onnx model): also onnxruntime.
        """
        from ..dependencies import (
            engine_missing_message,
            missing_engine_modules,
            onnxruntime_missing_message,
        )

        if needs_torch or set(missing_engine_modules()) & {"numpy", "rasterio", "fiona"}:
            missing = engine_missing_message()
            if missing:
                raise QgsProcessingException(missing)
        if needs_onnx:
            missing = onnxruntime_missing_message()
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
    def call(function: Callable[..., Any], *args, feedback=None, **kwargs) -> Any:
        """Call an engine function; its S4Errors become QgsProcessingExceptions (no traceback)
        and its warnings (single class, short series, little overlap ...) warning lines in
        ``feedback``'s log."""
        from s4_core.errors import S4Error, S4Warning

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", S4Warning)
            try:
                return function(*args, **kwargs)
            except S4Error as error:
                raise QgsProcessingException(engine_message(error)) from None
            finally:
                if feedback is not None:
                    report_warnings(caught, feedback)

    @staticmethod
    def callbacks(feedback, base: float = 0.0, span: float = 1.0):
        """``progress``, ``cancel`` and ``log`` callables bound to ``feedback``.

        ``base``/``span`` map the engine's 0..1 onto a part of the algorithm's progress bar.
        Metrics (loss, mIoU ...) are logged as info lines.
        """
        last = {"message": None, "logged": 0.0}
        report = getattr(feedback, "report_metrics", None)  # the dock's live curves

        def progress(
            fraction: float, message: str = "", metrics: Optional[Dict[str, Any]] = None
        ) -> None:
            overall = base + span * max(0.0, min(1.0, float(fraction)))
            feedback.setProgress(100.0 * overall)
            if message and message != last["message"]:
                feedback.setProgressText(message)
                last["message"] = message
            if metrics and report is not None:
                report(overall, metrics)
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

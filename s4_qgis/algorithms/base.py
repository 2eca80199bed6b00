"""Shared plumbing of the S4 Processing algorithms: one base class owns every parameter helper.

Settings (epochs, tile size, device ...) are defined once in ``s4_core.settings``:
``add_settings`` turns an operation's settings into Processing parameters (name, description,
default, range, advanced flag, drop-down options) and ``setting_values`` reads them back as the
api's keyword arguments, so an algorithm lists no default or range itself. Inputs and outputs
(layers, files) keep their own parameters, named by the constants below. An algorithm declares
all of them, in order, as ``PARAMETERS`` (the ``Param`` specs below: ``Series``, ``Labels``,
``ModelFile``, ``Settings``, ``Parameter``, ``Output`` ...); ``initAlgorithm`` adds them.

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
from dataclasses import dataclass
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    List,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputDefinition,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorDestination,
    QgsProcessingParameterVectorLayer,
    QgsProcessingUtils,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QIcon

from s4_core.settings import DEVICE, Operation, Setting, Value
from s4_core.types import Cancel, Log, Progress, Sources, override

from ..compat import (
    FILE_FOLDER,
    FLAG_ADVANCED,
    NUMBER_DOUBLE,
    NUMBER_INTEGER,
    SOURCE_POLYGON,
    SOURCE_RASTER,
)
from ..i18n import tr, tr_noop
from ..layers import (
    feature_count_with_geometry,
    file_kind,
    file_path,
    name_copies,
    raster_files,
    vector_for_engine,
)
from ..tasks import format_metrics

if TYPE_CHECKING:
    from types import ModuleType

ICON_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "resources", "icon.svg"
)
STEP_LOG_SECONDS = 5.0
CPU_ONLY = "Device: cpu (this step runs no neural network)"
CHECKPOINT_FILTER = "S4 model (*.pt *.onnx)"

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
OUTPUT_CONFIDENCE = "OUTPUT_CONFIDENCE"
OUTPUT_PROBABILITIES = "OUTPUT_PROBABILITIES"
OUTPUT_FIGURE = "OUTPUT_FIGURE"
FIGURE_FILTER = "PNG (*.png);;SVG (*.svg);;PDF (*.pdf)"
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")

GROUP_PREPARE = (tr_noop("Prepare data"), "prepare")
GROUP_TRAIN = (tr_noop("Train"), "train")
GROUP_MAP = (tr_noop("Map"), "map")
GROUP_EVALUATE = (tr_noop("Evaluate"), "evaluate")


def parameter_value(setting: Setting, value: Value) -> Value:
    """The Processing parameter value for the api value ``value`` of ``setting``.

    The inverse of ``S4Algorithm.setting_value``: an index for drop-downs, "16,32,64" for lists.
    """
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


def parameter_summary(param: QgsProcessingParameterDefinition) -> str:
    """``NAME: description (default X; a..b)`` for the help of an algorithm."""
    parts = []
    default = param.defaultValue()
    if isinstance(param, QgsProcessingParameterEnum):  # each option once, the default marked
        parts.append(
            "; ".join(
                f"{i} = {o}{', the default' if i == default else ''}"
                for i, o in enumerate(param.options())
            )
        )
    else:
        if default not in (None, ""):
            parts.append(f"default {default}")
        if isinstance(param, QgsProcessingParameterNumber):
            low, high = param.minimum(), param.maximum()
            unbounded = high >= (2**31 - 1 if param.dataType() == NUMBER_INTEGER else 1e12)
            parts.append(f">= {low:g}" if unbounded else f"{low:g} to {high:g}")
    if param.flags() & FLAG_ADVANCED:
        parts.append("advanced")
    detail = f" ({'; '.join(parts)})" if parts else ""
    return f"<b>{param.name()}</b>: {html.escape(param.description())}{detail}"


def engine_message(error: Exception) -> str:
    """An engine error's message in QGIS's words.

    A setting out of range is named by its Processing parameter ("EPOCHS must be ..."), not by the
    api's or the command line's name.
    """
    from s4_core.errors import SettingError
    from s4_core.settings import SETTINGS

    setting = SETTINGS.get(getattr(error, "setting", ""))
    if isinstance(error, SettingError) and setting is not None and setting.qgis:
        smaller = re.fullmatch(r"smaller than ([a-z][a-z0-9_]*) \((.*)\)", error.rule)
        if error.rule == setting.describe():  # the range, in the user's language
            rule = setting.describe(tr)
        elif smaller and smaller.group(1) in SETTINGS:  # validate.check_less
            rule = tr("smaller than {other} ({bound})").format(
                other=SETTINGS[smaller.group(1)].param_name, bound=smaller.group(2)
            )
        else:
            rule = re.sub(
                r"\b[a-z][a-z0-9_]*\b",
                lambda m: SETTINGS[m.group(0)].param_name if m.group(0) in SETTINGS else m.group(0),
                error.rule,
            )
        return tr("{name} must be {rule}, got {value}").format(
            name=setting.param_name, rule=rule, value=repr(error.value)
        )
    return str(error)


def push_warning(feedback: QgsProcessingFeedback, text: str) -> None:
    """``text`` as a warning line of the log (a non-fatal error line before QGIS 3.26)."""
    push = getattr(feedback, "pushWarning", None)
    if push is not None:
        push(tr("Warning: {0}").format(text))
    else:
        feedback.reportError(tr("Warning: {0}").format(text), False)


def report_warnings(
    caught: Sequence[warnings.WarningMessage],
    feedback: QgsProcessingFeedback,
    copies: Optional[Dict[str, str]] = None,
) -> None:
    """Report the warnings recorded while the engine ran, once each.

    The engine's (``S4Warning``) as warnings in the log (``pushWarning`` from QGIS 3.26, a non-fatal
    error line before), others as debug lines. ``copies``: temporary copies of layers, named as
    their layers (``name_copies``).
    """
    from s4_core.errors import S4Warning

    seen = set()
    for item in caught:
        text = name_copies(str(item.message), copies or {})
        if text in seen:
            continue
        seen.add(text)
        if issubclass(item.category, S4Warning):
            push_warning(feedback, text)
        else:
            feedback.pushDebugInfo(f"{item.category.__name__}: {text}")


def check_output_suffix(
    path: Optional[str], suffixes: Sequence[str], parameter: str, kind: str
) -> None:
    """Refuse an output ``path`` (if given) whose file type is not one of ``suffixes``.

    Args:
        path: the destination chosen, or None / "" when the output is not wanted.
        suffixes: the accepted endings (".tif", ".tiff").
        parameter: the destination's parameter name, for the message.
        kind: what the file must be ("GeoTIFF"), for the message.
    """
    if path and not path.lower().endswith(tuple(suffixes)):
        raise QgsProcessingException(
            tr("{parameter} must be a file in {kind} format ({0}), not {path}").format(
                ", ".join(suffixes), parameter=parameter, kind=kind, path=path
            )
        )


def check_class_field(
    layer: QgsVectorLayer, field: str, parameter: str = CLASS_FIELD, layer_parameter: str = LABELS
) -> None:
    """The class field must exist in the layer (message lists the fields there are).

    A name that differs only in case is named as the likely one, as the engine does.
    """
    if not field:
        raise QgsProcessingException(
            tr(
                "{parameter}: choose the field of {layer_parameter} that holds the class names"
            ).format(parameter=parameter, layer_parameter=layer_parameter)
        )
    names = layer.fields().names()
    folded = [name for name in names if name.casefold() == field.casefold()]
    if field not in names and folded:
        raise QgsProcessingException(
            tr(
                "{parameter}: field '{field}' does not exist in layer '{0}' ({layer_parameter}); did you mean '{1}'? (field names are case-sensitive)"
            ).format(
                layer.name(),
                folded[0],
                parameter=parameter,
                field=field,
                layer_parameter=layer_parameter,
            )
        )
    if field not in names:
        raise QgsProcessingException(
            tr(
                "{parameter}: field '{field}' does not exist in layer '{0}' ({layer_parameter}); its fields are: {1}"
            ).format(
                layer.name(),
                ", ".join(names) or "none",
                parameter=parameter,
                field=field,
                layer_parameter=layer_parameter,
            )
        )


R = TypeVar("R")


class Failure:
    """A failed run's message (no traceback attached)."""

    def __init__(self, message: str) -> None:
        self.message = message


class Run:
    """One run of an algorithm: its parameters, context and feedback, and the readers bound to them.

    What ``S4Algorithm.work`` and ``S4Algorithm.read_layers`` receive: ``run.settings`` (the values of
    the algorithm's ``OPERATION``), ``run.series()``, ``run.output(...)``, ``run.engine()``,
    ``run.call(api.function, ...)`` (with QGIS's progress, cancel, log and the settings) ...;
    ``parameters``, ``context`` and ``feedback`` for anything else.
    """

    def __init__(
        self,
        algorithm: S4Algorithm,
        parameters: Dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> None:
        self.algorithm = algorithm
        self.parameters = parameters
        self.context = context
        self.feedback = feedback
        self._settings: Optional[Dict[str, Value]] = None

    @property
    def settings(self) -> Dict[str, Value]:
        """The algorithm's ``OPERATION`` as the api's keyword arguments (read once)."""
        if self._settings is None:
            operation = self.algorithm.OPERATION
            self._settings = (
                {}
                if operation is None
                else self.algorithm.setting_values(self.parameters, self.context, operation)
            )
        return self._settings

    def string(self, name: str) -> str:
        """The parameter ``name`` as text."""
        return self.algorithm.parameterAsString(self.parameters, name, self.context)

    def info(self, text: str) -> None:
        """A line in the algorithm's log."""
        self.feedback.pushInfo(text)

    def warning(self, text: str) -> None:
        """A warning line in the algorithm's log (``push_warning``)."""
        push_warning(self.feedback, text)

    def save_style(self, save: Callable[..., R], path: str, *args: Any) -> Optional[R]:
        """``save(path, *args)``: write the style of the output ``path`` with it.

        The output is complete by then and the project styles its layer all the same (the
        post-processor): a style that cannot be written (a full disk, a folder that became
        read-only) is a warning naming the file and the fix, not a failure; None then.
        """
        try:
            return save(path, *args)
        except OSError as error:
            self.warning(
                tr(
                    "the style of {path} could not be saved with it ({error}); the "
                    "output is complete and styled in the project. To keep the style with the "
                    "file, free space in its folder and save it from the layer's properties "
                    "(Style > Save as Default)"
                ).format(path=path, error=error.strerror or error)
            )
            return None

    def series(self, only: Optional[str] = None) -> Tuple[Optional[Sources], Optional[Sources]]:
        """The SENTINEL1 and SENTINEL2 series (``S4Algorithm.series_sources``)."""
        return self.algorithm.series_sources(self.parameters, self.context, only)

    def both_series(self, message: str) -> Tuple[Sources, Sources]:
        """Both series, required (``S4Algorithm.both_series``)."""
        return self.algorithm.both_series(self.parameters, self.context, message)

    def scene(self) -> Dict[str, Any]:
        """The series and EXTENT a model maps (``S4Algorithm.scene_inputs``)."""
        return self.algorithm.scene_inputs(self.parameters, self.context)

    def model(self) -> str:
        """MODEL's file (``S4Algorithm.model_file``)."""
        return self.algorithm.model_file(self.parameters, self.context)

    def figure(self) -> Optional[str]:
        """OUTPUT_FIGURE's file (None: not wanted), checked."""
        return self.output(OUTPUT_FIGURE, FIGURE_SUFFIXES, "figure")

    def class_raster(self) -> str:
        """INPUT: the file of an S4 class raster layer."""
        layer = self.algorithm.parameterAsRasterLayer(self.parameters, INPUT, self.context)
        if layer is None:
            raise QgsProcessingException(tr("INPUT: choose an S4 class raster"))
        return file_path(layer)

    def output(self, name: str, suffixes: Sequence[str], kind: str) -> Optional[str]:
        """The file of the destination ``name``, checked (``S4Algorithm.output_file``)."""
        return self.algorithm.output_file(self.parameters, name, self.context, suffixes, kind)

    def engine(self, needs_torch: bool = True, needs_onnx: bool = False) -> ModuleType:
        """``s4_core.api``, its dependencies checked; the DEVICE setting logged if it has one."""
        return self.algorithm.engine(
            self.feedback, needs_torch, needs_onnx, device=self.settings.get("device")
        )

    def call(self, function: Callable[..., R], *args: Any, log: bool = True, **kwargs: Any) -> R:
        """``S4Algorithm.run_engine``: ``function`` with QGIS's callbacks and ``settings``."""
        return self.algorithm.run_engine(
            function, *args, feedback=self.feedback, settings=self.settings, log=log, **kwargs
        )


# ----------------------------------------------------------------------------- parameters
class Param:
    """An entry of ``S4Algorithm.PARAMETERS``: ``add`` puts its parameter(s) on an algorithm.

    Descriptions are ``tr_noop``-marked where they are declared (class attributes) and
    translated when added (``initAlgorithm``), in the user's language.
    """

    def add(self, algorithm: S4Algorithm) -> None:
        """Add the parameter(s) to ``algorithm``."""
        raise NotImplementedError


class Parameter(Param):
    """Any Processing parameter: ``cls(name, tr(description), *args, **kwargs)``."""

    def __init__(
        self,
        cls: Callable[..., QgsProcessingParameterDefinition],
        name: str,
        description: str,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        self.cls, self.name, self.description = cls, name, description
        self.args, self.kwargs = args, kwargs

    @override
    def add(self, algorithm: S4Algorithm) -> None:
        param = self.cls(self.name, tr(self.description), *self.args, **self.kwargs)
        algorithm.addParameter(param)


@dataclass(frozen=True)
class Output(Param):
    """An output that is no parameter: ``cls(name, tr(description))`` (a number, a file ...)."""

    cls: Callable[[str, str], QgsProcessingOutputDefinition]
    name: str
    description: str

    @override
    def add(self, algorithm: S4Algorithm) -> None:
        algorithm.addOutput(self.cls(self.name, tr(self.description)))


@dataclass(frozen=True)
class Choice(Param):
    """A drop-down ``name`` of the ``labels`` (``tr_noop``-marked, translated when added).

    ``default``: the index of the label chosen at first.
    """

    name: str
    description: str
    labels: Tuple[str, ...]
    default: int = 0

    @override
    def add(self, algorithm: S4Algorithm) -> None:
        algorithm.addParameter(
            QgsProcessingParameterEnum(
                self.name,
                tr(self.description),
                options=[tr(label) for label in self.labels],
                defaultValue=self.default,
            )
        )


@dataclass(frozen=True)
class Settings(Param):
    """The parameters of the algorithm's ``OPERATION`` settings (``S4Algorithm.add_settings``)."""

    @override
    def add(self, algorithm: S4Algorithm) -> None:
        algorithm.add_settings()


@dataclass(frozen=True)
class Series(Param):
    """SENTINEL1 and SENTINEL2 (read by ``Run.series`` / ``Run.scene``).

    Each: raster layers, one per date, and ``<name>_FOLDER``: or a folder of per-date
    GeoTIFFs (what ``s4 fetch`` writes), so ``qgis_process`` needs no file per date. All are
    optional in the dialog: algorithms that need a series check it when they run. S1 first, or
    S2 first (``s2_first``) where the work needs one modality, usually Sentinel-2.
    """

    s2_first: bool = False

    @override
    def add(self, algorithm: S4Algorithm) -> None:
        series = [
            (SENTINEL1, tr("Sentinel-1 layers (one per date)")),
            (SENTINEL2, tr("Sentinel-2 layers (one per date)")),
        ]
        for name, description in reversed(series) if self.s2_first else series:
            algorithm.addParameter(
                QgsProcessingParameterMultipleLayers(
                    name, description, SOURCE_RASTER, optional=True
                )
            )
            algorithm.addParameter(
                QgsProcessingParameterFile(
                    name + FOLDER_SUFFIX,
                    tr("{0}: or a folder of per-date GeoTIFFs").format(description.split(" (")[0]),
                    behavior=FILE_FOLDER,
                    optional=True,
                )
            )


@dataclass(frozen=True)
class Labels(Param):
    """LABELS: a polygon layer, and (``class_field``) CLASS_FIELD: its field of classes.

    Read by ``S4Algorithm.read_layers`` where both are there.
    """

    description: str
    optional: bool = False
    class_field: bool = True

    @override
    def add(self, algorithm: S4Algorithm) -> None:
        algorithm.addParameter(
            QgsProcessingParameterVectorLayer(
                LABELS, tr(self.description), [SOURCE_POLYGON], optional=self.optional
            )
        )
        if self.class_field:
            algorithm.addParameter(
                QgsProcessingParameterField(
                    CLASS_FIELD, tr("Class field"), parentLayerParameterName=LABELS
                )
            )


class ModelFile(Parameter):
    """MODEL: a fine-tuned checkpoint (.pt) or its ONNX export (.onnx) (``Run.model``)."""

    def __init__(self, description: str) -> None:
        super().__init__(
            QgsProcessingParameterFile, MODEL, description, fileFilter=CHECKPOINT_FILTER
        )


class ClassRaster(Parameter):
    """INPUT: an S4 class raster (read by ``Run.class_raster``)."""

    def __init__(self) -> None:
        super().__init__(QgsProcessingParameterRasterLayer, INPUT, tr_noop("S4 class raster"))


class Extent(Parameter):
    """EXTENT: the optional part of the scene to work on (read by ``extent_bounds``)."""

    def __init__(self, description: str) -> None:
        super().__init__(QgsProcessingParameterExtent, EXTENT, description, optional=True)


class Figure(Parameter):
    """OUTPUT_FIGURE: an optional figure file, PNG, SVG or PDF (read by ``Run.figure``)."""

    def __init__(self, description: str, create_by_default: bool = True) -> None:
        super().__init__(
            QgsProcessingParameterFileDestination,
            OUTPUT_FIGURE,
            description,
            FIGURE_FILTER,
            optional=True,
            createByDefault=create_by_default,
        )


class Polygons(Parameter):
    """A GeoPackage of polygons to write (an optional one is not created by default)."""

    def __init__(self, name: str, description: str, optional: bool = False) -> None:
        super().__init__(
            QgsProcessingParameterVectorDestination,
            name,
            description,
            SOURCE_POLYGON,
            optional=optional,
            createByDefault=not optional,
        )


class Checkpoint(Parameter):
    """OUTPUT: the checkpoint (.pt) a training algorithm writes."""

    def __init__(self, description: str) -> None:
        super().__init__(
            QgsProcessingParameterFileDestination, OUTPUT, description, fileFilter=CHECKPOINT_FILTER
        )


class S4Icon:
    """The S4 icon of the Processing provider and of every algorithm (``icon``, ``svgIconPath``)."""

    def icon(self) -> QIcon:
        """The S4 icon."""
        return QIcon(ICON_PATH)

    def svgIconPath(self) -> str:  # noqa: N802 (QGIS API)
        """The S4 icon's SVG file."""
        return ICON_PATH


class S4Algorithm(S4Icon, QgsProcessingAlgorithm):
    """Base class: names, group, icon, help, engine loading and feedback adapters.

    An algorithm declares ``NAME``, ``DISPLAY_NAME``, ``GROUP``, ``HELP`` and ``OPERATION`` (the
    operation of ``s4_core.settings`` it runs: its settings become parameters), its parameters in
    ``PARAMETERS``, and implements ``work(run)`` (the work, on a ``Run``); ``read_layers(run)``
    runs in the main thread first (by default it reads the LABELS layer).
    """

    NAME = ""
    DISPLAY_NAME = ""
    GROUP = GROUP_MAP
    HELP = ""
    #: the operation the algorithm runs: its settings are parameters (``Run.settings``)
    OPERATION: Optional[Operation] = None
    #: its parameters and outputs in order (``Series``, ``Labels``, ``Settings``, ``Parameter``,
    #: ``Output`` ...), added by ``initAlgorithm``
    PARAMETERS: Tuple[Param, ...] = ()
    # set per run by prepareAlgorithm; None until then (and after cleanup_temp)
    _tmp_dir: Optional[str] = None
    # the run's temporary copies of layers (``layer_file``): file -> layer name, for messages
    _copies: Optional[Dict[str, str]] = None

    # identity ---------------------------------------------------------------------------
    @override
    def name(self) -> str:
        return self.NAME

    @override
    def displayName(self) -> str:  # noqa: N802 (QGIS API)
        return tr(self.DISPLAY_NAME)

    @override
    def group(self) -> str:
        return tr(self.GROUP[0])

    @override
    def groupId(self) -> str:  # noqa: N802
        return self.GROUP[1]

    @override
    def shortHelpString(self) -> str:  # noqa: N802
        """The algorithm's help, then every parameter with its default and range.

        Read from the parameter definitions, so the help cannot disagree with the checks.
        """
        rows = [parameter_summary(p) for p in self.parameterDefinitions()]
        table = "".join(f"<li>{row}</li>" for row in rows if row)
        return tr(self.HELP) + (f"<br><br><b>Parameters</b><ul>{table}</ul>" if table else "")

    @override
    def createInstance(self) -> S4Algorithm:  # noqa: N802
        return type(self)()

    @override
    def initAlgorithm(self, config: Optional[Dict[str, Any]] = None) -> None:  # noqa: N802
        for param in self.PARAMETERS:
            param.add(self)

    # parameter helpers ------------------------------------------------------------------
    def add_parameter(
        self, param: QgsProcessingParameterDefinition, advanced: bool = False
    ) -> None:
        """``addParameter``, flagged as advanced (folded away in the dialog) if asked."""
        if advanced:
            param.setFlags(param.flags() | FLAG_ADVANCED)
        self.addParameter(param)

    def add_settings(self, *names: str, operation: Optional[Operation] = None) -> None:
        """Add the Processing parameters of the settings, in definition order.

        ``names``, default: every setting that exists in QGIS; ``operation``, default:
        ``OPERATION``.
        """
        for setting in operation or self.OPERATION or ():
            if (setting.name in names) if names else setting.qgis:
                self.add_setting(setting)

    def add_setting(self, setting: Setting) -> None:
        """Add one setting as a Processing parameter.

        ``param_name``, translated ``label``, default, range (the command line's: a form's
        ``ui_max`` bounds only the dock's spin boxes), advanced flag; a drop-down where the
        setting offers ``ui_options`` with ``labels``.
        """
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
                setting.maximum,
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

    def setting_value(
        self, parameters: Dict[str, Any], setting: Setting, context: QgsProcessingContext
    ) -> Value:
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

    def setting_values(
        self, parameters: Dict[str, Any], context: QgsProcessingContext, operation: Operation
    ) -> Dict[str, Value]:
        """Every QGIS setting of ``operation`` as the api's keyword arguments."""
        return {s.name: self.setting_value(parameters, s, context) for s in operation if s.qgis}

    def model_file(self, parameters: Dict[str, Any], context: QgsProcessingContext) -> str:
        """MODEL's path (raises QgsProcessingException when it is not a file)."""
        model = self.parameterAsFile(parameters, MODEL, context)
        if not model or not os.path.isfile(model):
            raise QgsProcessingException(
                tr(
                    "MODEL: model file not found: {0}; choose the .pt file written by 'S4 fine-tune on labelled polygons' or its .onnx export"
                ).format(model or "(none given)")
            )
        return model

    def scene_inputs(
        self, parameters: Dict[str, Any], context: QgsProcessingContext
    ) -> Dict[str, Any]:
        """What a fine-tuned model maps (segment, suggest), as the api's keyword arguments.

        The series (SENTINEL2 or SENTINEL1, at least one) and EXTENT as the api's ``s1``, ``s2``,
        ``bounds`` and ``bounds_crs``.
        """
        s1, s2 = self.series_sources(parameters, context)
        if not s2 and not s1:
            raise QgsProcessingException(
                tr(
                    "No input layers: give the Sentinel-2 (SENTINEL2) or Sentinel-1 (SENTINEL1) "
                    "layers of the modality the model was fine-tuned for"
                )
            )
        bounds, bounds_crs = self.extent_bounds(parameters, context)
        return {"s1": s1, "s2": s2, "bounds": bounds, "bounds_crs": bounds_crs}

    def extent_bounds(
        self, parameters: Dict[str, Any], context: QgsProcessingContext
    ) -> Tuple[Optional[Tuple[float, float, float, float]], Optional[str]]:
        """EXTENT as the engine's ``bounds`` and ``bounds_crs`` (None: no extent, or no CRS)."""
        if parameters.get(EXTENT) in (None, ""):
            return None, None
        rect = self.parameterAsExtent(parameters, EXTENT, context)
        if rect.isNull() or rect.isEmpty():
            return None, None
        crs = self.parameterAsExtentCrs(parameters, EXTENT, context)
        bounds = (rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum())
        return bounds, (crs.authid() or crs.toWkt()) if crs.isValid() else None

    def labels_layer(
        self, parameters: Dict[str, Any], context: QgsProcessingContext
    ) -> QgsVectorLayer:
        """The LABELS layer, checked.

        Valid (the message says why a given file is not), with an existing CLASS_FIELD and at least
        one polygon. Main thread (``read_layers``).
        """
        labels = self.parameterAsVectorLayer(parameters, LABELS, context)
        if labels is None or not labels.isValid():
            given = parameters.get(LABELS)
            if isinstance(given, str) and given and os.path.exists(given.split("|")[0]):
                path = given.split("|")[0]
                raise QgsProcessingException(
                    tr(
                        "LABELS: {path} cannot be read as a polygon layer (not a file QGIS can open, damaged, or not readable: {access}): choose a GeoPackage, shapefile or GeoJSON with labelled polygons"
                    ).format(
                        path=path,
                        access=tr("readable") if os.access(path, os.R_OK) else tr("no permission"),
                    )
                )
            raise QgsProcessingException(
                tr("LABELS: choose a polygon layer with labelled polygons")
            )
        check_class_field(labels, self.parameterAsString(parameters, CLASS_FIELD, context))
        if feature_count_with_geometry(labels) == 0:
            raise QgsProcessingException(
                tr(
                    "LABELS: layer '{0}' has no polygons: digitise a few polygons of each class first"
                ).format(labels.name())
            )
        return labels

    def layer_file(self, layer: QgsVectorLayer, parameter: str = LABELS) -> str:
        """A vector layer as a file the engine reads.

        Its own file, or (memory layers, layers being edited) a GeoPackage in the algorithm's
        temporary folder; the engine's messages about a copy name the layer (``call``).
        """
        try:
            path = vector_for_engine(layer, self.temp_dir())
        except OSError as error:
            raise QgsProcessingException(
                tr("{parameter}: {error}").format(parameter=parameter, error=error)
            ) from None
        if path.startswith(self.temp_dir()):
            self._copies = {**(self._copies or {}), path: layer.name()}
        return path

    def device(self, parameters: Dict[str, Any], context: QgsProcessingContext) -> str:
        """The DEVICE setting."""
        return self.setting_value(parameters, DEVICE, context)

    def widths(
        self, parameters: Dict[str, Any], context: QgsProcessingContext, setting: Setting
    ) -> tuple:
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

    def series_files(
        self, parameters: Dict[str, Any], name: str, context: QgsProcessingContext
    ) -> List[str]:
        """Files of a series: its layers, then the GeoTIFFs of its ``_FOLDER``.

        Raises QgsProcessingException when a layer is not a file or the folder holds none.
        """
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

    def series_sources(
        self, parameters: Dict[str, Any], context: QgsProcessingContext, only: Optional[str] = None
    ) -> Tuple[Optional[Sources], Optional[Sources]]:
        """The SENTINEL1 and SENTINEL2 series as the engine's ``Sources``.

        ``series_files``, then ``sources``: None where none is given.

        Args:
            parameters: the algorithm's parameters.
            context: the Processing context.
            only: "s1" or "s2": that series alone is read (the other is None).

        Returns:
            (s1, s2).
        """
        s1, s2 = (
            self.sources(self.series_files(parameters, name, context))
            if only in (None, sensor)
            else None
            for sensor, name in (("s1", SENTINEL1), ("s2", SENTINEL2))
        )
        return s1, s2

    def both_series(
        self, parameters: Dict[str, Any], context: QgsProcessingContext, message: str
    ) -> Tuple[Sources, Sources]:
        """The SENTINEL1 and SENTINEL2 sources, both required.

        ``message`` when one is missing.
        """
        s1, s2 = self.series_sources(parameters, context)
        if not s1 or not s2:
            raise QgsProcessingException(message)
        return s1, s2

    def output_file(
        self,
        parameters: Dict[str, Any],
        name: str,
        context: QgsProcessingContext,
        suffixes: Sequence[str],
        kind: str,
    ) -> Optional[str]:
        """The file the destination parameter ``name`` writes, checked.

        None: an optional output not wanted; refused unless it ends in one of ``suffixes``
        (``check_output_suffix``).
        """
        if isinstance(self.parameterDefinition(name), QgsProcessingParameterFileDestination):
            path = self.parameterAsFileOutput(parameters, name, context)
        else:
            path = self.parameterAsOutputLayer(parameters, name, context)
        check_output_suffix(path, suffixes, name, kind)
        if path:
            self.check_not_in_series_folder(parameters, name, path, context)
        return path or None

    def check_not_in_series_folder(
        self, parameters: Dict[str, Any], name: str, path: str, context: QgsProcessingContext
    ) -> None:
        """Refuse a raster output written into a ``_FOLDER`` series input.

        Every GeoTIFF of that folder is read as an image of the series, so the next run given the
        folder would fail on it (as ``s4_core.validate.check_outputs`` refuses on the command
        line).
        """
        from s4_core.validate import in_input_folder

        for series in (SENTINEL1, SENTINEL2):
            folder_name = series + FOLDER_SUFFIX
            if self.parameterDefinition(folder_name) is None:
                continue
            folder = self.parameterAsFile(parameters, folder_name, context)
            # an image already there is an input: the engine says it would be overwritten
            if folder and not os.path.isfile(path) and in_input_folder(Path(path), Path(folder)):
                raise QgsProcessingException(
                    tr(
                        "{name}: {path} would be written into the folder {folder} of {folder_name}, whose GeoTIFFs are all read as images of that series: the next run given that folder would read it too; nothing was written; choose another folder"
                    ).format(name=name, path=path, folder=folder, folder_name=folder_name)
                )

    @staticmethod
    def sources(files: List[str]) -> Optional[Sources]:
        """What the engine takes as ``Sources``: None, one file, or the list of files."""
        if not files:
            return None
        return files[0] if len(files) == 1 else files

    @staticmethod
    def optional_number(parameters: Dict[str, Any], name: str) -> Optional[float]:
        """The number parameter ``name``, or None when it is not given."""
        value = parameters.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise QgsProcessingException(
                tr("{name} must be a number, not {value!r}").format(name=name, value=value)
            ) from None

    @staticmethod
    def _wrong_layer_kind(param: QgsProcessingParameterDefinition, path: str) -> Optional[str]:
        """The message for a raster file given to a vector parameter or the reverse; else None."""
        if not os.path.isfile(path):
            return None
        name = param.name()
        kind = file_kind(path)
        if kind == "raster" and isinstance(param, QgsProcessingParameterVectorLayer):
            return tr(
                "{name}: {path} is a raster, but this parameter takes a polygon layer (GeoPackage, shapefile, GeoJSON ...): choose the polygons"
            ).format(name=name, path=path)
        if kind == "vector" and isinstance(param, QgsProcessingParameterRasterLayer):
            return tr(
                "{name}: {path} is a vector layer, but this parameter takes a raster (GeoTIFF): choose the raster"
            ).format(name=name, path=path)
        return None

    @override
    def checkParameterValues(
        self, parameters: Dict[str, Any], context: QgsProcessingContext
    ) -> Tuple[bool, str]:  # noqa: N802
        """QGIS's checks, with the range in the message.

        "EPOCHS (Epochs) must be a whole number >= 1, got 0" instead of "Incorrect parameter value
        for EPOCHS".
        """
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
                    name=name, label=param.description(), rule=setting.describe(tr), value=value
                )
            values = value if isinstance(value, (list, tuple)) else [value]
            paths = [v.split("|")[0] for v in values if isinstance(v, str)]
            locked = next((p for p in paths if os.path.exists(p) and not os.access(p, os.R_OK)), "")
            if locked:
                return False, tr(
                    "{name}: cannot read {path}: you have no permission to read it; ask its owner for read access (e.g. chmod a+r), or copy it to a folder of yours"
                ).format(name=name, path=locked)
            path = paths[0] if len(paths) == 1 else ""
            if path and os.path.isfile(path) and isinstance(param, QgsProcessingParameterFile):
                return False, self._file_type_message(param, path)
            wrong_kind = self._wrong_layer_kind(param, path) if path else None
            if wrong_kind:
                return False, wrong_kind
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

    @staticmethod
    def _file_type_message(param: QgsProcessingParameterFile, path: str) -> str:
        """Why ``path``, a file of a type ``param`` does not accept, is refused.

        A checkpoint parameter (INIT_MODEL, RESUME) names what the file is (an ONNX export, a
        GeoTIFF ...: the engine's ``checkpoint_file_problem``); other files name the types taken.
        """
        accepted = param.fileFilter() or param.extension()
        if "*.pt" in accepted and "*.onnx" not in accepted:
            from s4_core.validate import checkpoint_file_problem

            problem = checkpoint_file_problem(path)
            if problem:
                return f"{param.name()}: {problem}"
        return tr(
            "{name}: {path} is not a file of the type this parameter takes ({accepted}): choose another file"
        ).format(name=param.name(), path=path, accepted=accepted)

    # running ----------------------------------------------------------------------------------
    @override
    def processAlgorithm(
        self,
        parameters: Dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> Dict[str, Any]:  # noqa: N802
        """Runs ``work`` (what each algorithm implements).

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

    def _process_or_message(
        self,
        parameters: Dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> Union[Dict[str, Any], Failure]:
        """``work``'s outputs, or the Failure that stopped it (``read_layers``'s first).

        The temporary folder is removed either way.
        """
        try:
            self.check_prepared()
            return self.work(Run(self, parameters, context, feedback))
        except QgsProcessingException as error:
            return Failure(str(error))
        finally:
            self.cleanup_temp()

    def work(self, run: Run) -> Dict[str, Any]:
        """Override: the algorithm's work (``processAlgorithm`` of QGIS); returns its outputs."""
        raise NotImplementedError

    # main-thread preparation --------------------------------------------------------------
    @override
    def prepareAlgorithm(
        self,
        parameters: Dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> bool:  # noqa: N802
        """Runs in the main thread: layer objects are read here (see ``read_layers``).

        Errors are kept and raised before ``work`` (``check_prepared``), so that callers get the
        message in the exception (``processing.run``) and not a generic failure. The temporary
        folder (``temp_dir``) is removed after ``work``.
        """
        self._prepare_error: Optional[str] = None
        self._tmp_dir: Optional[str] = None
        try:
            self.read_layers(Run(self, parameters, context, feedback))
        except QgsProcessingException as error:
            self._prepare_error = str(error) or "invalid input"
        return True

    def read_layers(self, run: Run) -> None:
        """Read layers (e.g. write an edited layer to a file) in the main thread.

        By default, where the algorithm has the LABELS and CLASS_FIELD parameters
        (``Labels``), the LABELS layer (checked, ``labels_layer``) into
        ``_labels_path`` (a file the engine reads), ``_labels_copied``, ``_labels_name`` and
        ``_class_field``. Override for other layers.
        """
        if (
            self.parameterDefinition(LABELS) is None
            or self.parameterDefinition(CLASS_FIELD) is None
        ):
            return
        labels = self.labels_layer(run.parameters, run.context)
        self._labels_path = self.layer_file(labels)
        self._labels_copied = self._labels_path.startswith(self.temp_dir())
        self._labels_name = labels.name()
        self._class_field: Optional[str] = run.string(CLASS_FIELD)

    def check_prepared(self) -> None:
        """Raise the error ``read_layers`` met, if any."""
        error = getattr(self, "_prepare_error", None)
        if error:
            self.cleanup_temp()
            raise QgsProcessingException(error)

    def temp_dir(self) -> str:
        """A temporary folder of this run (made on first use, removed after ``work``)."""
        if not self._tmp_dir:
            self._tmp_dir = tempfile.mkdtemp(prefix="s4_", dir=QgsProcessingUtils.tempFolder())
        return self._tmp_dir

    def cleanup_temp(self) -> None:
        """Remove the temporary folder."""
        if self._tmp_dir:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)
            self._tmp_dir = None
        self._copies = None

    # engine -----------------------------------------------------------------------------
    def engine(
        self,
        feedback: QgsProcessingFeedback,
        needs_torch: bool = True,
        needs_onnx: bool = False,
        device: Optional[str] = None,
    ) -> ModuleType:
        """``s4_core.api`` after checking its dependencies; logs the device the work runs on.

        The dependencies: torch, rasterio, fiona, numpy.

        Args:
            feedback: QGIS's feedback (the device line goes to its log).
            needs_torch: False (align, export, evaluate ...): only numpy, rasterio and fiona
                must import, and the work runs on the CPU.
            needs_onnx: mapping with an .onnx model: onnxruntime must import too.
            device: the DEVICE setting, resolved and logged when torch is needed (an
                unavailable one is an error).
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

        if needs_torch and device is not None:
            self.log_device(api, device, feedback)
        elif not needs_torch:
            feedback.pushInfo(tr("Device: cpu (ONNX Runtime)") if needs_onnx else CPU_ONLY)
        return api

    def log_device(
        self, api: ModuleType, device: str, feedback: QgsProcessingFeedback
    ) -> Dict[str, Any]:
        """Resolve and log the device the engine will use (an unavailable one is an error)."""
        info = self.call(api.device_info, device)
        memory = f", {info['memory_gb']} GiB" if info.get("memory_gb") else ""
        feedback.pushInfo(f"Device: {info['device']} ({info.get('name', '')}{memory})")
        return info

    def call(
        self,
        function: Callable[..., R],
        *args: Any,
        feedback: Optional[QgsProcessingFeedback] = None,
        **kwargs: Any,
    ) -> R:
        """Call an engine function, turning its errors and warnings into QGIS's.

        Its S4Errors become QgsProcessingExceptions (no traceback) and its warnings (single class,
        short series, little overlap ...) warning lines in ``feedback``'s log. Both name the
        layers of the project, not their temporary copies (``layer_file``).
        """
        from s4_core.errors import S4Error, S4Warning

        copies = dict(self._copies or {})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", S4Warning)
            try:
                return function(*args, **kwargs)
            except S4Error as error:
                raise QgsProcessingException(name_copies(engine_message(error), copies)) from None
            finally:
                if feedback is not None:
                    report_warnings(caught, feedback, copies)

    def run_engine(
        self,
        function: Callable[..., R],
        *args: Any,
        feedback: QgsProcessingFeedback,
        settings: Dict[str, Any],
        log: bool = True,
        **kwargs: Any,
    ) -> R:
        """``call`` an engine function with QGIS's feedback as its callbacks.

        ``progress``, ``cancel`` and (``log``: if it takes one) ``log`` callables, and the
        algorithm's ``settings``.

        Args:
            function: the api function.
            *args: its positional arguments.
            feedback: QGIS's feedback.
            settings: the operation's settings (``setting_values``).
            log: whether ``function`` takes a ``log`` callable.
            **kwargs: its other keyword arguments.

        Returns:
            What ``function`` returns.
        """
        progress, cancel, log_line = self.callbacks(feedback)
        if log:
            kwargs["log"] = log_line
        return self.call(
            function,
            *args,
            feedback=feedback,
            progress=progress,
            cancel=cancel,
            **kwargs,
            **settings,
        )

    @staticmethod
    def callbacks(
        feedback: QgsProcessingFeedback, base: float = 0.0, span: float = 1.0
    ) -> Tuple[Progress, Cancel, Log]:
        """``progress``, ``cancel`` and ``log`` callables bound to ``feedback``.

        ``base``/``span`` map the engine's 0..1 onto a part of the algorithm's progress bar.
        Metrics (loss, mIoU ...) are logged as info lines.
        """
        last: Dict[str, Any] = {"message": None, "logged": 0.0}
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

"""The dock's persistent settings: every key and default in one place (QgsSettings ``s4/...``).

Each member of :class:`DockSetting` is one stored value: its key, its type and its default;
values that are engine settings take their default from ``s4_core.settings`` (one definition).
``read``/``write`` go through ``QgsSettings``; a stored value of the wrong type reads as the
default.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

from qgis.core import QgsSettings

from s4_core.settings import DEVICE, FINETUNE, S1_RATIO, SEGMENT, Setting, Value

PREFIX = "s4/"
EXTENT_MODES = ("canvas", "layer", "scene")


def default_output_dir() -> str:
    """The default output folder: ``~/S4``."""
    return str(Path.home() / "S4")


def _form_default(setting: Setting) -> Value:
    """What a form shows by default: the default, or ``none_as`` for "automatic" (None)."""
    return setting.none_as if setting.default is None else setting.default


class DockSetting(Enum):
    """(key, type, default, engine setting or None) of each value the dock remembers."""

    OUTPUT_DIR = ("output_dir", str, None, None)  # default: ~/S4 (computed when read)
    DEVICE = ("device", str, DEVICE.default, DEVICE)
    CLASS_NAMES = ("class_names", str, "", None)
    MODALITY = ("modality", str, FINETUNE.default("modality"), FINETUNE["modality"])
    INIT_MODEL = ("init_model", str, "", None)
    EPOCHS = ("epochs", int, FINETUNE.default("epochs"), FINETUNE["epochs"])
    CROP_SIZE = ("crop_size", int, FINETUNE.default("crop_size"), FINETUNE["crop_size"])
    BATCH_SIZE = ("batch_size", int, FINETUNE.default("batch_size"), FINETUNE["batch_size"])
    HEAD = ("head", str, FINETUNE.default("head"), FINETUNE["head"])
    S1_RATIO = ("s1_ratio", bool, S1_RATIO.default, S1_RATIO)
    FEW_POLYGONS = ("few_polygons", bool, False, None)
    EXTENT_MODE = ("extent_mode", str, EXTENT_MODES[0], None)
    TILE_SIZE = ("tile_size", int, _form_default(SEGMENT["tile_size"]), SEGMENT["tile_size"])
    OVERLAP = ("overlap", int, _form_default(SEGMENT["overlap"]), SEGMENT["overlap"])
    POLYGONS = ("polygons", bool, False, None)
    MIN_AREA = ("min_area", float, SEGMENT.default("min_area_m2"), SEGMENT["min_area_m2"])
    MODEL_PATH = ("model_path", str, "", None)
    LABEL_DIR = ("label_dir", str, None, None)  # default: the output folder

    @property
    def key(self) -> str:
        """The QgsSettings key."""
        return PREFIX + self.value[0]

    @property
    def type(self) -> type:
        """The type the value is stored as."""
        return self.value[1]

    @property
    def default(self) -> Value:
        """The default (the engine's where the value is an engine setting)."""
        return default_output_dir() if self is DockSetting.OUTPUT_DIR else self.value[2]

    @property
    def setting(self) -> Optional[Setting]:
        """The engine setting this value is (its widget's range and choices), or None."""
        return self.value[3]

    def read(self, settings: Optional[QgsSettings] = None, default: Value = None) -> Value:
        """The stored value (``default``, else the member's default, when missing or bad)."""
        settings = settings or QgsSettings()
        fallback = self.default if default is None else default
        if fallback is None:
            fallback = ""
        try:
            value = settings.value(self.key, fallback, type=self.type)
        except (TypeError, ValueError):
            return fallback
        setting = self.setting
        if setting is not None and setting.ui_options and value not in setting.ui_options:
            return fallback
        if self is DockSetting.EXTENT_MODE and value not in EXTENT_MODES:
            return fallback
        return value

    def write(self, value: Value, settings: Optional[QgsSettings] = None) -> None:
        """Store ``value``."""
        (settings or QgsSettings()).setValue(self.key, value)

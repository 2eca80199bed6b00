"""Qt widgets for engine settings (``s4_core.settings``).

Range, default and choices come from the setting's definition, so the dock states none of them
itself.
"""

from __future__ import annotations

from typing import Optional

from qgis.PyQt.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox, QWidget

from s4_core.settings import Setting, Value

from .i18n import tr


def setting_widget(setting: Setting, parent: Optional[QWidget] = None) -> QWidget:
    """A drop-down, a spin box or a check box for ``setting``, set to its default.

    A drop-down for settings with ``labels``, a spin box for numbers, a check box (its text the
    setting's label) for true / false.
    """
    if setting.kind == "bool":
        widget: QWidget = QCheckBox(tr(setting.label), parent)
        if setting.help:
            widget.setToolTip(setting.help)
    elif setting.labels:
        widget = QComboBox(parent)
        widget.addItems([tr(text) for text in setting.labels])
    elif setting.kind == "int":
        widget = QSpinBox(parent)
        widget.setRange(int(setting.ui_minimum), int(setting.ui_maximum))
    elif setting.kind == "float":
        widget = QDoubleSpinBox(parent)
        widget.setRange(float(setting.ui_minimum), float(setting.ui_maximum))
    else:
        raise TypeError(f"no widget for {setting.kind} setting {setting.name}")
    set_widget_value(widget, setting, setting.default)
    return widget


def widget_value(widget: QWidget, setting: Setting) -> Value:
    """The value ``widget`` shows, as the api takes it."""
    if isinstance(widget, QComboBox):
        return setting.ui_options[max(0, widget.currentIndex())]
    if isinstance(widget, QCheckBox):
        return bool(widget.isChecked())
    value = widget.value()
    if setting.none_as is not None and value == setting.none_as:
        return None
    return int(value) if setting.kind == "int" else float(value)


def set_widget_value(widget: QWidget, setting: Setting, value: Value) -> None:
    """Show ``value`` (one the setting does not accept: its default)."""
    if isinstance(widget, QComboBox):
        options = list(setting.ui_options)
        widget.setCurrentIndex(options.index(value) if value in options else 0)
        return
    if isinstance(widget, QCheckBox):
        widget.setChecked(bool(value) if isinstance(value, bool) else bool(setting.default))
        return
    try:
        number = float(value) if value is not None else setting.none_as
    except (TypeError, ValueError):
        number = None
    if number is None:
        number = setting.default if setting.default is not None else setting.ui_minimum
    widget.setValue(int(number) if setting.kind == "int" else float(number))

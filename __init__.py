"""QGIS entry point of the S4 plugin (the repository root is the plugin folder)."""

import os
import sys

_PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__))
# The engine ``s4_core`` ships inside the plugin folder; make it importable as a top-level
# package so the plugin and the ``s4`` command line share one import name.
if _PLUGIN_DIR not in sys.path:
    sys.path.insert(0, _PLUGIN_DIR)

# Python packages installed by Raster > S4 > Dependencies… (torch…) live in a folder of the QGIS
# profile; put it on sys.path now, before anything imports torch. Never raises.
try:
    from .s4_qgis.dependencies import activate_dependency_folder

    activate_dependency_folder()
except Exception:  # noqa: BLE001 - the plugin must load; Dependencies… reports problems
    pass


def classFactory(iface):  # noqa: N802 (QGIS API name)
    """Called by QGIS to create the plugin instance."""
    from .s4_qgis.plugin import S4Plugin

    return S4Plugin(iface)

"""The plugin loads in QGIS (pytest-qgis, headless), registers provider ``s4`` and unloads cleanly."""

from __future__ import annotations

import importlib.util
import sys

import pytest

pytestmark = pytest.mark.qgis


@pytest.fixture()
def plugin_module(repo_root):
    """Import the repository root as the plugin package ``s4``, as QGIS does."""
    spec = importlib.util.spec_from_file_location(
        "s4", repo_root / "__init__.py", submodule_search_locations=[str(repo_root)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["s4"] = module
    spec.loader.exec_module(module)
    yield module
    for name in [m for m in sys.modules if m == "s4" or m.startswith("s4.")]:
        del sys.modules[name]


def _provider_ids():
    from qgis.core import QgsApplication

    return [p.id() for p in QgsApplication.processingRegistry().providers()]


def test_initprocessing_without_iface_registers_provider(qgis_app, plugin_module):
    plugin = plugin_module.classFactory(None)  # qgis_process passes no iface
    plugin.initProcessing()
    try:
        assert "s4" in _provider_ids()
        from qgis.core import QgsApplication

        provider = QgsApplication.processingRegistry().providerById("s4")
        assert provider.name() == "S4"
        assert not provider.icon().isNull()
    finally:
        plugin.unload()
    assert "s4" not in _provider_ids()


def test_gui_adds_menu_and_toolbar_and_unload_removes_them(qgis_app, qgis_iface, plugin_module):
    plugin = plugin_module.classFactory(qgis_iface)
    plugin.initGui()
    assert "s4" in _provider_ids()
    names = {a.objectName() for a in plugin.actions}
    assert {"s4_about", "s4_dependencies"} <= names
    plugin.unload()
    assert plugin.actions == []
    assert "s4" not in _provider_ids()


def test_metadata_is_complete(repo_root):
    import configparser

    meta = configparser.ConfigParser()
    meta.read(repo_root / "metadata.txt")
    general = meta["general"]
    for key in (
        "name", "qgisMinimumVersion", "description", "about", "version", "author", "email",
        "tracker", "repository", "homepage", "category", "tags", "icon",
    ):  # fmt: skip
        assert general.get(key), f"metadata.txt lacks {key}"
    assert general["name"] == "S4"
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["hasProcessingProvider"] == "yes"
    assert general["category"] == "Raster"
    assert (repo_root / general["icon"]).is_file()
    from s4_core import __version__

    assert general["version"] == __version__

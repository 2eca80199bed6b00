"""Fixtures of the plugin-side tests: the S4 provider in Processing, tiny fine-tuned models."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import List

import pytest


@pytest.fixture(scope="module")
def s4_processing(qgis_processing):
    """Processing initialised with the S4 provider registered (removed after the module)."""
    from qgis.core import QgsApplication

    from s4_qgis.provider import S4Provider

    registry = QgsApplication.processingRegistry()
    provider = None
    if registry.providerById("s4") is None:
        provider = S4Provider()
        assert registry.addProvider(provider)
    yield registry.providerById("s4")
    if provider is not None and registry.providerById("s4") is not None:
        registry.removeProvider(provider)


def files(folder: Path, limit: int = 0) -> List[str]:
    paths = sorted(str(p) for p in Path(folder).glob("*.tif"))
    return paths[:limit] if limit else paths


@pytest.fixture()
def undated_s2(tiny_demo, tmp_path) -> List[str]:
    """Copies of demo S2 files without any date (no tag, no YYYYMMDD in the name)."""
    from osgeo import gdal

    out = []
    for i, path in enumerate(files(tiny_demo.s2_dir, 3)):
        target = tmp_path / f"optical_{'abc'[i]}.tif"
        shutil.copy(path, target)
        dataset = gdal.Open(str(target), gdal.GA_Update)
        metadata = {
            k: v for k, v in (dataset.GetMetadata() or {}).items() if "DATE" not in k.upper()
        }
        dataset.SetMetadata(metadata)
        dataset = None
        aux = Path(str(target) + ".aux.xml")
        if aux.exists():
            os.remove(aux)
        out.append(str(target))
    return out


@pytest.fixture()
def project_with_demo(qgis_new_project, tiny_demo):
    """The demo's 8 S2 and 10 S1 files, its truth raster and parcels as project layers."""
    from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer

    project = QgsProject.instance()
    for folder in (tiny_demo.s2_dir, tiny_demo.s1_dir):
        for path in sorted(Path(folder).glob("*.tif")):
            layer = QgsRasterLayer(str(path), path.stem, "gdal")
            assert layer.isValid()
            project.addMapLayer(layer)
    project.addMapLayer(QgsRasterLayer(str(tiny_demo.truth), "truth", "gdal"))
    project.addMapLayer(QgsVectorLayer(str(tiny_demo.parcels), "parcels", "ogr"))
    return project


@pytest.fixture()
def dock(qgis_iface, tmp_path):
    from qgis.core import QgsSettings

    from s4_qgis.dock import S4DockWidget

    QgsSettings().remove("s4")
    widget = S4DockWidget(qgis_iface)
    widget.output_dir.setFilePath(str(tmp_path / "out"))
    widget.device_combo.setCurrentIndex(1)  # cpu
    widget.epochs_spin.setValue(1)
    widget.crop_spin.setValue(16)
    widget.tile_spin.setValue(32)
    widget.overlap_spin.setValue(8)
    widget.extent_combo.setCurrentIndex(2)  # whole scene
    yield widget
    if widget.task is not None:
        widget.cancel()
        widget.wait(60)
    widget.cleanup()
    widget.deleteLater()
    QgsSettings().remove("s4")

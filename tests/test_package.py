"""`make package` output installs into a fresh profile and qgis_process loads its provider."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import pytest

QGIS_PROCESS = os.environ.get("QGIS_PROCESS", "/usr/bin/qgis_process.bin")


def test_zip_has_one_s4_folder_with_runtime_files_only(plugin_zip):
    names = zipfile.ZipFile(plugin_zip).namelist()
    assert all(n.startswith("s4/") for n in names)
    for required in ("s4/metadata.txt", "s4/__init__.py", "s4/LICENSE", "s4/resources/icon.png",
                     "s4/s4_qgis/plugin.py", "s4/s4_core/__init__.py"):  # fmt: skip
        assert required in names
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".so"))]
    assert not [n for n in names if n.startswith(("s4/tests/", "s4/.ci/", "s4/scripts/"))]


def qgis_process_env(tmp_path: Path, plugin_path: Path) -> dict:
    env = dict(os.environ)
    # pytest-qgis points QGIS at a shared settings folder; qgis_process must use the fresh HOME.
    for key in ("QGIS_CUSTOM_CONFIG_PATH", "QGIS_OPTIONS_PATH"):
        env.pop(key, None)
    env.update(
        HOME=str(tmp_path / "home"),
        QGIS_PLUGINPATH=str(plugin_path),
        QT_QPA_PLATFORM="offscreen",
        XDG_RUNTIME_DIR=str(tmp_path / "runtime"),
    )
    (tmp_path / "runtime").mkdir(mode=0o700, exist_ok=True)
    (tmp_path / "home").mkdir(exist_ok=True)
    return env


def run_qgis_process(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [QGIS_PROCESS, *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.qgis
@pytest.mark.slow
def test_qgis_process_loads_the_packaged_plugin(plugin_zip, tmp_path):
    plugins = tmp_path / "plugins"
    zipfile.ZipFile(plugin_zip).extractall(plugins)
    env = qgis_process_env(tmp_path, plugins)

    enabled = run_qgis_process(env, "plugins", "enable", "s4")
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr

    listed = run_qgis_process(env, "plugins")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    # 3.22 lists plugins one a line, "* name" for loaded plugins that provide Processing providers.
    lines = [line.strip() for line in listed.stdout.splitlines()]
    assert "* s4" in lines, listed.stdout

    providers = run_qgis_process(env, "list")
    assert providers.returncode == 0, providers.stderr
    assert "S4" in [line.strip() for line in providers.stdout.splitlines()], providers.stdout

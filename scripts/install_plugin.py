"""Deploy the plugin zip into the default QGIS profile and enable it."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path


def default_profile_dir() -> Path:
    """The 'default' QGIS 3 profile folder on this platform."""
    if sys.platform.startswith("win"):
        base = Path(os.environ["APPDATA"])
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "QGIS" / "QGIS3" / "profiles" / "default"


def install(zip_path: Path, profile: Path) -> Path:
    """Unpack ``s4/`` into the profile's plugin folder (replacing an older copy) and enable it."""
    plugins = profile / "python" / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    target = plugins / "s4"
    with tempfile.TemporaryDirectory(dir=plugins) as tmp:
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(Path(tmp) / "s4", target)
    enable(profile)
    return target


def enable(profile: Path) -> None:
    """Mark the plugin enabled in the profile's QGIS3.ini, the way QGIS itself stores it."""
    from qgis.PyQt.QtCore import QSettings

    settings = QSettings(str(profile / "QGIS" / "QGIS3.ini"), QSettings.Format.IniFormat)
    settings.setValue("PythonPlugins/s4", True)
    settings.sync()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("zip", type=Path)
    parser.add_argument("--profile", type=Path, default=None, help="QGIS profile folder")
    args = parser.parse_args()
    target = install(args.zip, args.profile or default_profile_dir())
    print(f"installed S4 into {target} and enabled it; restart QGIS to load it")


if __name__ == "__main__":
    main()

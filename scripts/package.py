"""Build the QGIS plugin zip: one folder ``s4/`` with only the runtime files."""

from __future__ import annotations

import argparse
import os
import zipfile
from pathlib import Path
from typing import Iterator, Tuple

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_NAME = "s4"
RUNTIME = [
    "metadata.txt",
    "__init__.py",
    "LICENSE",
    "s4_qgis",
    "s4_core",
    "resources",
    "requirements/engine.txt",  # requirements/dev.txt is for developers only
]
SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}
SKIP_SUFFIXES = {".pyc", ".pyo", ".so", ".pyd", ".dll", ".dylib", ".orig", ".rej"}


def runtime_files(root: Path = ROOT) -> Iterator[Tuple[Path, str]]:
    """Yield (file on disk, name inside the zip) for every runtime file."""
    for entry in RUNTIME:
        path = root / entry
        if path.is_file():
            yield path, f"{PLUGIN_NAME}/{entry}"
            continue
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames[:] = sorted(
                d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")
            )
            for name in sorted(filenames):
                file = Path(dirpath) / name
                if name.startswith(".") or file.suffix in SKIP_SUFFIXES:
                    continue
                yield file, f"{PLUGIN_NAME}/{file.relative_to(root).as_posix()}"


def build(out: Path, root: Path = ROOT) -> Path:
    """Write the zip atomically (temporary file, then rename) and return its path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for file, arcname in runtime_files(root):
            zf.write(file, arcname)
    os.replace(tmp, out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "s4.zip")
    args = parser.parse_args()
    path = build(args.out)
    with zipfile.ZipFile(path) as zf:
        n = len(zf.namelist())
    print(f"wrote {path} ({n} files, {path.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()

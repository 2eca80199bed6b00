"""The engine must never import QGIS or Qt (it runs from the command line and in plain Python)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

FORBIDDEN = ("qgis", "PyQt5", "PyQt6", "PySide2", "PySide6", "sip")
CORE = Path(__file__).resolve().parent.parent / "s4_core"


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def test_no_core_module_imports_qgis_or_qt():
    modules = sorted(CORE.rglob("*.py"))
    assert len(modules) >= 3
    offenders = [
        f"{path.relative_to(CORE.parent)}:{line} imports {name}"
        for path in modules
        for line, name in _imports(path)
        if name.split(".")[0] in FORBIDDEN
    ]
    assert not offenders, "s4_core must stay QGIS-free:\n" + "\n".join(offenders)


def test_checker_catches_a_qgis_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom qgis.core import QgsProject\n")
    assert [name for _, name in _imports(bad)] == ["os", "qgis.core"]


def test_importing_every_core_module_loads_no_qgis():
    code = (
        "import importlib, pkgutil, sys, s4_core\n"
        "for m in pkgutil.walk_packages(s4_core.__path__, 's4_core.'):\n"
        "    if m.name != 's4_core.__main__': importlib.import_module(m.name)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=CORE.parent)

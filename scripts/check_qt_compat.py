"""Qt 5 / Qt 6 compatibility check of the plugin's Python code (QGIS 3.22 ... 4.x).

Two parts:

- ``static_problems``: APIs that QGIS's Qt5 -> Qt6 migration notes list as removed (``exec_()``,
  ``QRegExp``, ``QDesktopWidget``, ``QVariant`` field types, direct ``PyQt5`` imports, compiled
  resources, ``QAction`` from QtWidgets, ``QFontMetrics.width``, ``QMouseEvent.pos``...). Pure
  ``ast``: no Qt needed.
- ``resolution_problems``: every name imported from ``qgis.PyQt.*`` and every attribute chain
  rooted at one (``Qt.CheckState.Checked``, ``QMessageBox.StandardButton.Yes``) must resolve in
  a given binding: ``PyQt6`` (what ``qgis.PyQt`` is on QGIS 4, whose enums are scoped only) or
  ``qgis.PyQt`` (PyQt5 on QGIS 3). Unscoped enum members (``Qt.Checked``) are reported with the
  scoped spelling.

Run ``python scripts/check_qt_compat.py [paths]`` in a process WITHOUT PyQt5/QGIS loaded (it
imports PyQt6); it prints ``file:line: problem`` lines and exits 1 when there are any.
"""

from __future__ import annotations

import argparse
import ast
import enum
import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATHS = ("__init__.py", "s4_qgis", "scripts", "tests/qgis")
QT_PACKAGE = "qgis.PyQt"
DIRECT_BINDINGS = ("PyQt5", "PyQt6", "PySide2", "PySide6", "sip")
# Classes removed in Qt 6 (or moved to the Qt5Compat module, which PyQt6 does not wrap).
REMOVED_CLASSES = {
    "QRegExp": "use QRegularExpression",
    "QRegExpValidator": "use QRegularExpressionValidator",
    "QDesktopWidget": "use QScreen (QGuiApplication.primaryScreen(), QWidget.screen())",
    "QMatrix": "use QTransform",
    "QGLWidget": "use QOpenGLWidget",
    "QTextCodec": "use Python str encoding",
    "QStringRef": "use str",
    "QLinkedList": "use list",
    "QSound": "use QSoundEffect",
}
# QtWidgets classes that moved to QtGui in Qt 6 (import them from s4_qgis.compat).
MOVED_TO_QTGUI = ("QAction", "QActionGroup", "QShortcut", "QUndoCommand", "QUndoStack",
                  "QUndoGroup", "QFileSystemModel")  # fmt: skip
EVENT_HANDLERS = {
    "mousePressEvent", "mouseReleaseEvent", "mouseMoveEvent", "mouseDoubleClickEvent",
    "wheelEvent", "tabletEvent", "dragEnterEvent", "dragMoveEvent", "dropEvent",
    "canvasPressEvent", "canvasReleaseEvent", "canvasMoveEvent", "canvasDoubleClickEvent",
}  # fmt: skip
EVENT_POSITION_METHODS = {
    "pos": "position().toPoint()", "globalPos": "globalPosition().toPoint()",
    "x": "position().x()", "y": "position().y()", "globalX": "globalPosition().x()",
    "globalY": "globalPosition().y()", "posF": "position()", "localPos": "position()",
    "windowPos": "scenePosition()", "screenPos": "globalPosition()", "delta": "angleDelta()",
}  # fmt: skip


@dataclass
class FileScan:
    """What one source file uses from Qt: imported names and attribute chains rooted at them."""

    path: Path
    # local name -> [(module under qgis.PyQt, e.g. "QtCore" or "" for the package, imported
    # name)]: more than one where an ``except ImportError:`` branch imports the name elsewhere
    qt_names: Dict[str, List[Tuple[str, str]]] = field(default_factory=dict)
    # names imported from qgis.core / qgis.gui: local name -> (module, imported name)
    qgis_names: Dict[str, Tuple[str, str]] = field(default_factory=dict)
    # (line, local name) of every import from qgis.PyQt.* outside an ImportError fallback
    qt_imports: List[Tuple[int, str]] = field(default_factory=list)
    # (line, ["Qt", "CheckState", "Checked"]) for every maximal chain rooted at a Qt/QGIS name
    chains: List[Tuple[int, List[str]]] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)


def python_files(paths: Iterable[Path]) -> List[Path]:
    """The ``.py`` files under ``paths`` (files or folders), sorted, caches skipped."""
    files: List[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
        elif path.suffix == ".py":
            files.append(path)
    return sorted(set(files))


def _chain(node: ast.AST) -> Optional[List[str]]:
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return None


def _in_importerror_fallback(node: ast.AST, parents: Dict[ast.AST, ast.AST]) -> bool:
    """True inside ``except ImportError:`` (the Qt 5 branch of a Qt 6-first import)."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            names = [_chain(t) for t in getattr(node.type, "elts", [node.type])]
            if any(n and n[-1] in ("ImportError", "ModuleNotFoundError") for n in names):
                return True
    return False


def scan_source(source: str, path: Path) -> FileScan:
    """Parse ``source`` and collect its Qt names, chains and removed-API problems."""
    scan = FileScan(path)
    tree = ast.parse(source, filename=str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

    def report(node: ast.AST, message: str) -> None:
        scan.problems.append(f"{path}:{getattr(node, 'lineno', 0)}: {message}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in DIRECT_BINDINGS:
                    report(node, f"import {alias.name}: import Qt through qgis.PyQt")
                if alias.name.split(".")[-1].endswith("_rc"):
                    report(node, f"import {alias.name}: compiled Qt resources are gone in Qt 6")
        elif isinstance(node, ast.ImportFrom) and node.module:
            module = node.module
            names = [(a.asname or a.name, a.name) for a in node.names]
            if module.split(".")[0] in DIRECT_BINDINGS:
                report(node, f"from {module} import ...: import Qt through qgis.PyQt")
            if module.split(".")[-1].endswith("_rc") or any(n.endswith("_rc") for _, n in names):
                report(node, f"from {module} import ...: compiled Qt resources are gone in Qt 6")
            fallback = _in_importerror_fallback(node, parents)
            if module == QT_PACKAGE or module.startswith(QT_PACKAGE + "."):
                sub = module[len(QT_PACKAGE) + 1 :]
                for local, name in names:
                    scan.qt_names.setdefault(local, []).append((sub, name))
                    if fallback:
                        continue
                    scan.qt_imports.append((node.lineno, local))
                    if name in REMOVED_CLASSES:
                        report(node, f"{name} is gone in Qt 6: {REMOVED_CLASSES[name]}")
                    if sub == "QtWidgets" and name in MOVED_TO_QTGUI:
                        report(
                            node,
                            f"{name} moved from QtWidgets to QtGui in Qt 6: "
                            "import it from s4_qgis.compat",
                        )
            elif module in ("qgis.core", "qgis.gui"):
                for local, name in names:
                    scan.qgis_names[local] = (module, name)
        elif isinstance(node, ast.Attribute):
            if node.attr == "exec_":
                report(node, "exec_() is gone in PyQt6: use exec()")
            chain = _chain(node)
            if chain and chain[0] == "QVariant" and chain[1][:1].isupper():
                report(
                    node,
                    f"{'.'.join(chain[:2])}: QVariant.Type is gone from PyQt6; "
                    "use s4_qgis.compat.field_type()",
                )
            if chain and chain[-1] == "desktop" and chain[0] in ("QApplication", "qApp"):
                report(node, "QApplication.desktop() is gone in Qt 6: use QScreen")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "width" and (node.args or node.keywords):
                report(node, "QFontMetrics.width(text) is gone in Qt 6: use horizontalAdvance()")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.name in EVENT_HANDLERS and len(node.args.args) >= 2:
                event = node.args.args[1].arg
                for call in ast.walk(node):
                    func = getattr(call, "func", None)
                    if (
                        isinstance(call, ast.Call)
                        and isinstance(func, ast.Attribute)
                        and isinstance(func.value, ast.Name)
                        and func.value.id == event
                        and func.attr in EVENT_POSITION_METHODS
                    ):
                        report(
                            call,
                            f"{event}.{func.attr}() is deprecated or gone in Qt 6: "
                            f"use {event}.{EVENT_POSITION_METHODS[func.attr]}",
                        )

    roots = set(scan.qt_names) | set(scan.qgis_names)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or isinstance(parents.get(node), ast.Attribute):
            continue  # only maximal chains
        chain = _chain(node)
        if chain and chain[0] in roots:
            scan.chains.append((node.lineno, chain))
    return scan


def scan_paths(paths: Sequence[Path]) -> List[FileScan]:
    """``scan_source`` for every Python file under ``paths``."""
    return [scan_source(p.read_text(encoding="utf-8"), _shown(p)) for p in python_files(paths)]


def _shown(path: Path) -> Path:
    """``path`` relative to the repository when it is inside it (shorter messages)."""
    try:
        return path.resolve().relative_to(ROOT)
    except ValueError:
        return path


def static_problems(scans: Sequence[FileScan]) -> List[str]:
    """Removed-API findings of all scanned files."""
    return [problem for scan in scans for problem in scan.problems]


def _scoped_spelling(owner: Any, member: str) -> Optional[str]:
    """``"CheckState.Checked"`` when ``owner`` has an enum type with a member ``member``."""
    for name in sorted(dir(owner)):
        value = getattr(owner, name, None)
        if isinstance(value, type) and value is not owner:
            is_enum = issubclass(value, enum.Enum) or type(value).__name__ == "enumtype"
            if is_enum and hasattr(value, member):
                return f"{name}.{member}"
    return None


def _is_enum_member(value: Any) -> bool:
    return isinstance(value, enum.Enum) or type(type(value)).__name__ == "enumtype"


def resolution_problems(
    scans: Sequence[FileScan],
    import_module: Callable[[str], Any],
    *,
    label: str,
    qgis: bool = False,
) -> List[str]:
    """Imports and chains that do not resolve (or use an unscoped enum) in a Qt binding.

    ``import_module("QtCore")`` returns the binding's module (``""``: the package). With
    ``qgis=True`` chains rooted at qgis.core / qgis.gui names are checked too (in-process).
    """
    problems: List[str] = []
    for scan in scans:
        bound: Dict[str, Any] = {}
        for local, candidates in scan.qt_names.items():
            for module, name in candidates:  # the first that this binding has
                try:
                    bound[local] = getattr(import_module(module), name)
                    break
                except (ImportError, AttributeError):
                    continue
        for line, local in scan.qt_imports:
            if local not in bound:
                where = " or ".join(f"{label}.{m}".rstrip(".") for m, _ in scan.qt_names[local])
                problems.append(f"{scan.path}:{line}: {local} is not in {where}")
        if qgis:
            for local, (module, name) in scan.qgis_names.items():
                bound.setdefault(local, getattr(importlib.import_module(module), name, None))
        for line, chain in scan.chains:
            value = bound.get(chain[0])
            if value is None:
                continue
            for i, part in enumerate(chain[1:], start=1):
                owner = value
                try:
                    value = getattr(owner, part)
                except AttributeError:
                    dotted = ".".join(chain[: i + 1])
                    scoped = _scoped_spelling(owner, part)
                    hint = (
                        f": use {'.'.join(chain[:i])}.{scoped}"
                        if scoped
                        else " (QVariant.Type: use s4_qgis.compat.field_type())"
                        if chain[0] == "QVariant"
                        else ""
                    )
                    problems.append(f"{scan.path}:{line}: {dotted} does not exist in {label}{hint}")
                    break
                if not _is_enum_member(value):
                    continue
                if not (isinstance(owner, type) and _is_enum_type(owner)):
                    problems.append(
                        f"{scan.path}:{line}: {'.'.join(chain[: i + 1])} is an unscoped enum "
                        f"member: use {'.'.join(chain[:i])}.{type(value).__name__}.{part}"
                    )
                break  # Owner.Enum.Member (or the unscoped member reported): done
    return problems


def _is_enum_type(value: type) -> bool:
    return issubclass(value, enum.Enum) or type(value).__name__ == "enumtype"


def pyqt6_module(name: str) -> Any:
    """``PyQt6.<name>`` (``PyQt6`` itself for ``""``): what ``qgis.PyQt.<name>`` is on QGIS 4."""
    return importlib.import_module(f"PyQt6.{name}" if name else "PyQt6")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders to check")
    args = parser.parse_args(argv)
    if "PyQt5" in sys.modules or "qgis" in sys.modules:
        parser.error("run in a process without PyQt5/QGIS loaded (PyQt6 cannot share it)")
    paths = args.paths or [ROOT / p for p in DEFAULT_PATHS]
    scans = scan_paths(paths)
    problems = static_problems(scans) + resolution_problems(scans, pyqt6_module, label="PyQt6")
    for problem in problems:
        print(problem)
    qtcore = pyqt6_module("QtCore")
    print(
        f"checked {len(scans)} files, {sum(len(s.chains) for s in scans)} attribute chains "
        f"against PyQt6 {qtcore.PYQT_VERSION_STR} (Qt {qtcore.QT_VERSION_STR}): "
        f"{len(problems)} problems"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

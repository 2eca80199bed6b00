"""Find user-visible string literals of the plugin that do not go through ``tr()``.

An ast scan of ``s4_qgis/``: a string literal (or f-string) passed straight to a widget or
message sink (``QPushButton(...)``, ``QLabel(...)``, ``setToolTip(...)``, ``setText(...)``,
``addRow(...)``, Processing parameter descriptions, ``QgsProcessingException(...)``, the
dock's ``fail``/``notify``/``log``...) is reported; ``tr("...")`` / ``tr_noop("...")`` are
fine. Class attributes shown to users (``DISPLAY_NAME``, ``HELP``, ``GROUP_*``, ``*_LABELS``)
must be ``tr_noop(...)``. Exempt: strings without a letter, lowercase identifiers ("cpu",
a group id) and the plugin's name "S4".

``python scripts/check_i18n.py`` prints ``file:line: text`` for each and exits 1 if any.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import Iterator, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "s4_qgis"
WRAPPERS = {"tr", "tr_noop"}
# The pip installer (s4_qgis/dependencies/ but task.py) is Qt-free (importable without QGIS):
# its log lines stay English. compat.py raises only programming errors.
SKIP_FILES = {"i18n.py", "compat.py", "catalogue.py", "installer.py", "status.py"}
EXEMPT = {"S4"}

# callee name -> indexes of its positional arguments that users read ("*": all of them)
SINKS = {
    "QPushButton": (0,),
    "QLabel": (0,),
    "QCheckBox": (0,),
    "QGroupBox": (0,),
    "QRadioButton": (0,),
    "QAction": (0, 1),
    "QToolButton": (0,),
    "setToolTip": (0,),
    "setText": (0,),
    "setPlaceholderText": (0,),
    "setWindowTitle": (0,),
    "setStatusTip": (0,),
    "setWhatsThis": (0,),
    "setTitle": (0,),
    "setLabelText": (0,),
    "addTab": (1,),
    "addRow": (0,),
    "addItems": ("*",),
    "addItem": (0,),
    "setHeaderLabels": ("*",),
    "setFilter": (0,),
    "createMessage": (1,),
    "pushMessage": (1,),
    "pushWarning": (1,),
    "pushInfo": (1,),
    "getOpenFileName": (1, 3),
    "getSaveFileName": (1, 3),
    "getExistingDirectory": (1,),
    "information": (1, 2),
    "warning": (1, 2),
    "critical": (1, 2),
    "question": (1, 2),
    "fail": (0,),
    "notify": (0,),
    "log": (0,),
    "QgsProcessingException": (0,),
    "add_int": (1,),
    "add_float": (1,),
    # S4Algorithm.PARAMETERS entries (s4_qgis/algorithms/base.py): their descriptions
    "Parameter": (2,),
    "Output": (2,),
    "Choice": (1,),
    "Labels": (0,),
    "ModelFile": (0,),
    "Extent": (0,),
    "Figure": (0,),
    "Polygons": (1,),
    "Checkpoint": (0,),
    "DockButton": (0, 2),  # the dock's buttons: text, tooltip
    "_start": (1,),
    "QgsRasterLayer": (1,),
    "QgsVectorLayer": (1,),
    # the plugin's own errors reach the user (dock messages, QgsProcessingException texts)
    "ValueError": (0,),
    "OSError": (0,),
}
for _name in ("Enum", "File", "FileDestination", "FolderDestination", "MultipleLayers",
              "Number", "String", "RasterLayer", "VectorLayer", "FeatureSource", "Field",
              "Boolean", "Extent", "RasterDestination", "VectorDestination", "Crs",
              "MapLayer", "DateTime"):  # fmt: skip
    SINKS[f"QgsProcessingParameter{_name}"] = (1,)
for _name in ("Number", "String", "File", "Folder", "RasterLayer", "VectorLayer", "MapLayer"):
    SINKS[f"QgsProcessingOutput{_name}"] = (1,)
SHOWN_ATTRIBUTES = re.compile(r"^(DISPLAY_NAME|HELP|GROUP_\w+|\w+_LABELS)$")


def _callee(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _literal_text(node: ast.AST):
    """The text of a bare string literal / f-string (None for anything else)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def _needs_tr(text) -> bool:
    """Words for people: not "S4", not a lowercase identifier ("cpu", a group id)."""
    if text is None or text in EXEMPT or re.fullmatch(r"[a-z0-9_]+", text):
        return False
    words = re.sub(r"<[^>]*>|\{[^}]*\}", "", text)  # markup and placeholders are not words
    return re.search(r"[A-Za-z]", words) is not None


def _bare_strings(node: ast.AST) -> Iterator[Tuple[int, str]]:
    """Bare literals in ``node`` (a list/tuple's items, both branches of ``a if c else b``)."""
    if isinstance(node, (ast.List, ast.Tuple)):
        for item in node.elts:
            yield from _bare_strings(item)
    elif isinstance(node, ast.IfExp):
        yield from _bare_strings(node.body)
        yield from _bare_strings(node.orelse)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        yield from _bare_strings(node.left)
        yield from _bare_strings(node.right)
    else:
        text = _literal_text(node)
        if _needs_tr(text):
            yield node.lineno, text


def untranslated(source: str, filename: str = "<string>") -> List[Tuple[int, str]]:
    """(line, text) of every user-visible literal of ``source`` not wrapped in tr()."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Call):
            name = _callee(node)
            if name in WRAPPERS or name not in SINKS:
                continue
            indexes = SINKS[name]
            args = node.args if "*" in indexes else [
                a for i, a in enumerate(node.args) if i in indexes
            ]  # fmt: skip
            keywords = {"description", "text", "toolTip", "title", "message"}
            args += [k.value for k in node.keywords if k.arg in keywords]
            for arg in args:
                found.extend(_bare_strings(arg))
        elif isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if any(SHOWN_ATTRIBUTES.match(t) for t in targets):
                found.extend(_bare_strings(node.value))
    return sorted(set(found))


def scan(folder: Path = PLUGIN) -> List[str]:
    problems = []
    for path in sorted(folder.rglob("*.py")):
        if path.name in SKIP_FILES:
            continue
        for line, text in untranslated(path.read_text(encoding="utf-8"), str(path)):
            problems.append(f"{path.relative_to(ROOT)}:{line}: {text[:70]!r}")
    return problems


def main() -> int:
    problems = scan()
    print("\n".join(problems) or "every user-visible string goes through tr()")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

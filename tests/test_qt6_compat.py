"""QGIS 4 (Qt 6) compatibility of the plugin code, checked against the PyQt6 wheel.

QGIS 4's ``qgis.PyQt.QtX`` is ``from PyQt6.QtX import *`` (plus a few QGIS patches), and PyQt6
enums are scoped only. PyQt6 cannot be imported next to PyQt5 (which QGIS 3 and pytest-qgis
load here), so every PyQt6 check runs ``scripts/check_qt_compat.py`` in a subprocess. The
removed-API scan is plain ``ast`` and runs in-process. ``make env`` installs PyQt6
(requirements/dev.txt); without it these tests fail rather than skip.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from modules import load_module

ROOT = Path(__file__).resolve().parent.parent
CHECKER = ROOT / "scripts" / "check_qt_compat.py"


def _checker_module():
    return load_module(CHECKER, "check_qt_compat")


checker = _checker_module()


def _run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )


@pytest.fixture(scope="module")
def pyqt6() -> str:
    """The PyQt6 version; fails (does not skip) when the wheel is missing."""
    done = _run("-c", "from PyQt6 import QtCore, QtGui, QtWidgets, QtXml; print(QtCore.PYQT_VERSION_STR)")  # fmt: skip
    if done.returncode != 0:
        pytest.fail(
            "PyQt6 cannot be imported headless (make env installs it from requirements/dev.txt):\n"
            + done.stderr[-2000:]
        )
    return done.stdout.strip()


def test_plugin_code_resolves_under_pyqt6(pyqt6):
    done = _run(str(CHECKER))
    assert done.returncode == 0, done.stdout + done.stderr
    summary = re.search(r"checked (\d+) files, (\d+) attribute chains .*: 0 problems", done.stdout)
    assert summary, done.stdout
    files, chains = map(int, summary.groups())
    assert files >= 25 and chains >= 80, done.stdout  # the plugin, scripts and QGIS tests


SNIPPET = """\
from qgis.PyQt.QtCore import Qt, QVariant
from qgis.PyQt.QtWidgets import QAction, QMessageBox, QSizePolicy
state = Qt.Checked
answer = QMessageBox.Yes
policy = QSizePolicy.Policy.Expanding
scoped = Qt.CheckState.Checked
field = QVariant.Int
button = QMessageBox.StandardButton.Yes
nothing = Qt.NoSuchEnum.Member
"""


def test_the_pyqt6_check_flags_unscoped_enums_with_file_and_line(pyqt6, tmp_path):
    path = tmp_path / "snippet.py"
    path.write_text(SNIPPET)
    done = _run(str(CHECKER), str(path))
    assert done.returncode == 1, done.stdout + done.stderr
    problems = [line for line in done.stdout.splitlines() if line.startswith(str(path))]
    expected = [
        f"{path}:2: QAction is not in PyQt6.QtWidgets",
        f"{path}:3: Qt.Checked does not exist in PyQt6: use Qt.CheckState.Checked",
        f"{path}:4: QMessageBox.Yes does not exist in PyQt6: use QMessageBox.StandardButton.Yes",
        f"{path}:7: QVariant.Int does not exist in PyQt6",
        f"{path}:9: Qt.NoSuchEnum does not exist in PyQt6",
    ]
    for line in expected:
        assert any(p.startswith(line) for p in problems), (line, done.stdout)
    flagged_lines = {int(p.split(":")[1]) for p in problems}
    assert flagged_lines == {2, 3, 4, 7, 9}, done.stdout  # the scoped uses (5, 6, 8) pass


def test_the_checker_refuses_to_share_a_process_with_pyqt5(tmp_path):
    done = _run("-c", f"import PyQt5.QtCore, runpy, sys; sys.argv = ['x']; runpy.run_path({str(CHECKER)!r}, run_name='__main__')")  # fmt: skip
    assert done.returncode == 2 and "without PyQt5" in done.stderr, done.stderr


# --- removed APIs (QGIS's Qt5 -> Qt6 migration notes): ast only, in-process ----------------
def test_plugin_code_uses_no_api_removed_in_qt6():
    scans = checker.scan_paths([ROOT / p for p in checker.DEFAULT_PATHS])
    assert len(scans) >= 25
    assert checker.static_problems(scans) == []


def test_the_removed_api_scan_flags_qt5_only_code():
    source = textwrap.dedent(
        """\
        from PyQt5.QtCore import QTimer
        import resources_rc
        from qgis.PyQt.QtCore import QRegExp, QVariant
        from qgis.PyQt.QtWidgets import QAction, QDesktopWidget, QDialog
        from qgis.PyQt.QtGui import QFontMetrics
        QDialog().exec_()
        kind = QVariant.String
        width = QFontMetrics(font).width("text")
        screen = QApplication.desktop()

        class Tool:
            def canvasPressEvent(self, event):
                return event.pos(), event.globalPos(), self.pos()

        try:
            from qgis.PyQt.QtGui import QShortcut
        except ImportError:
            from qgis.PyQt.QtWidgets import QShortcut
        QDialog().exec()
        """
    )
    problems = checker.scan_source(source, Path("old.py")).problems
    expected = {
        1: "import Qt through qgis.PyQt",
        2: "compiled Qt resources are gone",
        3: "QRegExp is gone in Qt 6",
        4: "QAction moved from QtWidgets to QtGui",
        6: "exec_() is gone in PyQt6",
        7: "QVariant.String: QVariant.Type is gone",
        8: "QFontMetrics.width(text) is gone",
        9: "QApplication.desktop() is gone",
        13: "event.pos() is deprecated or gone in Qt 6",
    }
    for line, text in expected.items():
        assert any(p.startswith(f"old.py:{line}: ") and text in p for p in problems), (
            line,
            problems,
        )
    assert any(p.startswith("old.py:4: QDesktopWidget is gone") for p in problems), problems
    assert any("event.globalPos()" in p for p in problems), problems
    lines = [int(p.split(":")[1]) for p in problems]
    # self.pos() is no event method; the guarded QtWidgets fallback (18) and exec() are fine
    assert not set(lines) & {5, 10, 11, 12, 14, 15, 16, 17, 18, 19}, problems
    assert len(problems) == 11, problems

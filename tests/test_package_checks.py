"""`make package` output passes the QGIS plugin repository's checks (those that run offline).

plugins.qgis.org validates an upload (qgis/QGIS-Django, plugins/validator.py): size <= 25 MB; no
``..``/absolute paths, ``.pyc`` files, ``__MACOSX``/``.git``/``__pycache__`` folders; one top
folder named ``[A-Za-z][A-Za-z0-9-_]+`` holding ``__init__.py`` and ``metadata.txt``; required
metadata; a ``LICENSE`` file; an author without slashes; URLs with scheme and host (the site
also fetches them: not done here). It also runs a bandit security scan. On top of that S4
ships no compiled files or hidden files, and its LICENSE is the GPL version 2.
"""

from __future__ import annotations

import configparser
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import List
from urllib.parse import urlparse

import pytest

MAX_SIZE = 25_000_000
REQUIRED = ("name", "description", "version", "qgisMinimumVersion", "author", "email", "about",
            "tracker", "repository")  # fmt: skip
BOOLEANS = ("experimental", "deprecated", "server", "hasProcessingProvider")
COMPILED = (".pyc", ".pyo", ".so", ".pyd", ".dll", ".dylib", ".exe", ".o", ".a")


def repository_problems(zip_path: Path) -> List[str]:
    """What plugins.qgis.org's validator (and S4's own packaging rules) would reject."""
    problems = []
    if zip_path.stat().st_size > MAX_SIZE:
        problems.append(f"zip is {zip_path.stat().st_size} bytes (> {MAX_SIZE})")
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        bad = zf.testzip()
        if bad:
            problems.append(f"bad zip entry {bad}")
        for name in names:
            parts = name.split("/")
            if ".." in name or name.startswith("/"):
                problems.append(f"path information in {name}")
            for forbidden in ("__MACOSX", ".git", "__pycache__"):
                if forbidden in parts:
                    problems.append(f"forbidden folder {forbidden} in {name}")
            if name.endswith(COMPILED) or ".pyc" in name:
                problems.append(f"compiled file {name}")
            if any(p.startswith(".") for p in parts if p):
                problems.append(f"hidden file {name}")
        tops = sorted({n.split("/")[0] for n in names})
        if len(tops) != 1:
            return problems + [f"several top folders: {tops}"]
        top = tops[0]
        if not re.match(r"^[A-Za-z][A-Za-z0-9-_]+$", top):
            problems.append(f"top folder name {top!r} is not allowed")
        for required in ("__init__.py", "metadata.txt", "LICENSE"):
            if f"{top}/{required}" not in names:
                problems.append(f"{top}/{required} is missing")
        if f"{top}/metadata.txt" not in names:
            return problems
        meta = configparser.ConfigParser()
        meta.optionxform = str
        meta.read_file(io.StringIO(zf.read(f"{top}/metadata.txt").decode("utf-8")))
        if not meta.has_section("general"):
            return problems + ["metadata.txt has no [general] section"]
        general = dict(meta.items("general"))
        for key in REQUIRED:
            if not general.get(key, "").strip():
                problems.append(f"metadata.txt lacks {key}")
        for key in BOOLEANS:
            value = general.get(key)
            if value is not None and value.strip().lower() not in ("true", "false", "yes", "no"):
                problems.append(f"metadata.txt {key}={value!r} is not a boolean")
        if "/" in general.get("author", ""):
            problems.append("author contains a slash")
        for key in ("tracker", "repository", "homepage"):
            url = urlparse(general.get(key, "") or "")
            if key in general and not (url.scheme in ("http", "https") and url.netloc):
                problems.append(f"metadata.txt {key} is not a URL")
        icon = general.get("icon", "").lstrip("./")
        if not icon or f"{top}/{icon}" not in names:
            problems.append(f"icon {icon!r} is not in the zip")
        if f"{top}/LICENSE" in names:
            text = zf.read(f"{top}/LICENSE").decode("utf-8", "replace")
            if "GNU GENERAL PUBLIC LICENSE" not in text or "Version 2, June 1991" not in text:
                problems.append("LICENSE is not the GNU GPL version 2")
    return problems


def bandit_high(folder: Path) -> List[str]:
    """High-severity findings of bandit (the security scan of plugins.qgis.org)."""
    done = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", str(folder), "-f", "json", "-q"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.stdout.strip(), f"bandit did not run: {done.stderr[-2000:]}"
    report = json.loads(done.stdout)
    assert not report.get("errors"), report["errors"]
    return [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}"
        for r in report["results"]
        if r["issue_severity"] == "HIGH"
    ]


def test_package_passes_the_repository_validator(plugin_zip, repo_root):
    assert repository_problems(plugin_zip) == []
    names = zipfile.ZipFile(plugin_zip).namelist()
    # The dependency installer needs the requirements inside the plugin.
    assert "s4/requirements/engine.txt" in names
    assert "s4/s4_qgis/dependencies.py" in names
    meta = configparser.ConfigParser()
    meta.read_string(zipfile.ZipFile(plugin_zip).read("s4/metadata.txt").decode())
    from s4_core import __version__

    assert meta["general"]["version"] == __version__


def test_package_has_no_high_severity_bandit_findings(plugin_zip, tmp_path):
    zipfile.ZipFile(plugin_zip).extractall(tmp_path)
    assert bandit_high(tmp_path / "s4") == []


def test_the_checks_catch_a_bad_package(tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("my plugin/__init__.py", "")
        zf.writestr("my plugin/metadata.txt", "[general]\nname=x\nauthor=a/b\ntracker=bugs\n")
        zf.writestr("my plugin/__pycache__/x.cpython-311.pyc", "")
        zf.writestr("my plugin/lib.so", "")
        zf.writestr("my plugin/.gitignore", "")
    problems = repository_problems(bad)
    text = "\n".join(problems)
    for expected in ("forbidden folder __pycache__", "compiled file my plugin/lib.so",
                     "hidden file", "is not allowed", "LICENSE is missing",
                     "metadata.txt lacks version", "author contains a slash",
                     "tracker is not a URL", "icon"):  # fmt: skip
        assert expected in text, problems

    code = tmp_path / "pkg"
    code.mkdir()
    (code / "run.py").write_text(
        "import subprocess\n\ndef run(name):\n    subprocess.call('ls ' + name, shell=True)\n"
    )
    assert [f for f in bandit_high(code) if "B602" in f]


# --- the user guide stays true to the algorithms -------------------------------------------
@pytest.mark.qgis
def test_user_guide_names_real_algorithms_and_parameters(qgis_app, repo_root):
    from s4_qgis.algorithms import all_algorithms

    params = {}
    for alg in all_algorithms():
        alg.initAlgorithm({})
        params[f"s4:{alg.name()}"] = {p.name() for p in alg.parameterDefinitions()}
    guide = (repo_root / "docs" / "user_guide.md").read_text(encoding="utf-8")
    workflow = guide[guide.index("## 5. Workflow") : guide.index("## 6.")]

    named = set(re.findall(r"`(s4:[a-z_]+)`", workflow))
    assert named == set(params), "every algorithm is described, under its real id"
    everything = set().union(*params.values())
    words = set(re.findall(r"\b[A-Z][A-Z0-9_]{3,}\b", workflow)) - {"QGIS", "EPSG"}
    assert words <= everything, f"not parameters of any S4 algorithm: {words - everything}"
    for name in ("SENTINEL2", "SENTINEL1", "MODEL", "INIT_MODEL", "LABELS", "CLASS_FIELD",
                 "EXTENT", "DEVICE", "OUTPUT", "OUTPUT_VECTOR"):  # fmt: skip
        assert name in words

    calls = re.findall(r'processing\.run\(\s*"(s4:[a-z_]+)",\s*\{(.*?)\}\s*,?\s*\)', workflow, re.S)
    assert len(calls) == 5
    for alg, body in calls:
        keys = set(re.findall(r'"([A-Z0-9_]+)":', body))
        assert keys and keys <= params[alg], f"{alg}: {keys - params[alg]}"
    runs = re.findall(r"qgis_process\.bin run (s4:[a-z_]+) -- (.*?)\n```", workflow, re.S)
    assert runs
    for alg, args in runs:
        keys = set(re.findall(r"\b([A-Z0-9_]+)=", args))
        assert keys and keys <= params[alg], f"{alg}: {keys - params[alg]}"

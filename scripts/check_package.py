"""The QGIS plugin repository's upload checks (those that run offline) on a plugin zip.

plugins.qgis.org validates an upload (qgis/QGIS-Django, plugins/validator.py): size <= 25 MB; no
``..``/absolute paths, ``.pyc`` files, ``__MACOSX``/``.git``/``__pycache__`` folders; one top
folder named ``[A-Za-z][A-Za-z0-9-_]+`` holding ``__init__.py`` and ``metadata.txt``; required
metadata; a ``LICENSE`` file; an author without slashes; URLs with scheme and host (the site
also fetches them: not done here). It also runs a bandit security scan. On top of that S4
ships no compiled files (but its Qt translations ``s4_qgis/i18n/s4_<lang>.qm``) or hidden
files, declares the QGIS versions it supports (``qgisMaximumVersion``) and a changelog for its version, its LICENSE is the GPL version 2, and
detect-secrets finds nothing in it.

``python scripts/check_package.py dist/s4.zip`` (``make check-package``) prints every problem
and exits 1 when there is one.
"""

from __future__ import annotations

import argparse
import configparser
import io
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List
from urllib.parse import urlparse

MAX_SIZE = 25_000_000
REQUIRED = ("name", "description", "version", "qgisMinimumVersion", "qgisMaximumVersion",
            "author", "email", "about", "tracker", "repository", "changelog")  # fmt: skip
BOOLEANS = ("experimental", "deprecated", "server", "hasProcessingProvider")
COMPILED = (".pyc", ".pyo", ".so", ".pyd", ".dll", ".dylib", ".exe", ".o", ".a", ".qm")
# Compiled Qt translations (lrelease output, what QTranslator loads; the standard way QGIS
# plugins ship translations) are the one binary allowed, and only in the plugin's i18n folder.
TRANSLATIONS = re.compile(r"^[^/]+/s4_qgis/i18n/s4_[a-z]{2}(_[A-Z]{2})?\.qm$")
QGIS_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")


def _version_tuple(text: str) -> tuple:
    return tuple(int(p) for p in text.split("."))


def metadata_problems(general: Dict[str, str]) -> List[str]:
    """Problems of the ``[general]`` section of a metadata.txt."""
    problems = []
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
    versions = {}
    for key in ("qgisMinimumVersion", "qgisMaximumVersion"):
        value = general.get(key, "").strip()
        if value and not QGIS_VERSION.match(value):
            problems.append(f"metadata.txt {key}={value!r} is not a QGIS version like 3.22")
        elif value:
            versions[key] = _version_tuple(value)
    if len(versions) == 2 and versions["qgisMaximumVersion"] < versions["qgisMinimumVersion"]:
        problems.append("metadata.txt qgisMaximumVersion is below qgisMinimumVersion")
    version = general.get("version", "").strip()
    changelog = general.get("changelog", "")
    if version and changelog.strip() and version not in changelog:
        problems.append(f"metadata.txt changelog has no entry for version {version}")
    return problems


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
            if (name.endswith(COMPILED) or ".pyc" in name) and not TRANSLATIONS.match(name):
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
        problems += metadata_problems(general)
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
    if not done.stdout.strip():
        raise RuntimeError(f"bandit did not run: {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    if report.get("errors"):
        raise RuntimeError(f"bandit could not scan: {report['errors']}")
    return [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}"
        for r in report["results"]
        if r["issue_severity"] == "HIGH"
    ]


def secrets_found(folder: Path) -> List[str]:
    """What detect-secrets (all its plugins, every file) finds under ``folder``."""
    done = subprocess.run(
        [sys.executable, "-m", "detect_secrets", "scan", "--all-files", "."],
        capture_output=True, text=True, cwd=folder,
    )  # fmt: skip
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"detect-secrets did not run: {done.stderr[-2000:]}")
    results = json.loads(done.stdout)["results"]
    return [
        f"{name}:{secret['line_number']} {secret['type']}"
        for name, secrets in sorted(results.items())
        for secret in secrets
    ]


def package_problems(zip_path: Path) -> List[str]:
    """Everything above on one zip: validator rules, bandit (high), detect-secrets."""
    problems = repository_problems(zip_path)
    with tempfile.TemporaryDirectory(prefix="s4-package-check-") as tmp:
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(tmp)
        problems += [f"bandit: {f}" for f in bandit_high(Path(tmp))]
        problems += [f"detect-secrets: {f}" for f in secrets_found(Path(tmp))]
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("zip", type=Path, help="the plugin zip (make package: dist/s4.zip)")
    args = parser.parse_args()
    problems = package_problems(args.zip)
    for problem in problems:
        print(problem)
    size = args.zip.stat().st_size / 1e6
    print(f"{args.zip}: {size:.1f} MB, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

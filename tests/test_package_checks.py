"""`make package` output passes the QGIS plugin repository's upload checks (those offline).

The checks live in ``scripts/check_package.py`` (also run by ``make check-package``): the
validator of plugins.qgis.org, bandit (high severity), detect-secrets and S4's own rules.
"""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from modules import load_script

ROOT = Path(__file__).resolve().parent.parent


check_package = load_script("check_package")
repository_problems = check_package.repository_problems
bandit_high = check_package.bandit_high
secrets_found = check_package.secrets_found


def test_package_passes_the_repository_validator(plugin_zip, repo_root):
    assert repository_problems(plugin_zip) == []
    names = zipfile.ZipFile(plugin_zip).namelist()
    # The dependency installer needs the requirements inside the plugin.
    assert "s4/requirements/engine.txt" in names
    assert "s4/s4_qgis/dependencies/installer.py" in names
    # The compiled Dutch translation ships (the one binary the checks allow, see below).
    assert "s4/s4_qgis/i18n/s4_nl.qm" in names
    meta = configparser.ConfigParser()
    meta.read_string(zipfile.ZipFile(plugin_zip).read("s4/metadata.txt").decode())
    from s4_core import __version__

    assert meta["general"]["version"] == __version__


def test_package_declares_qgis_3_22_to_4_without_the_qt6_flag(plugin_zip):
    meta = configparser.ConfigParser()
    meta.optionxform = str
    meta.read_string(zipfile.ZipFile(plugin_zip).read("s4/metadata.txt").decode())
    general = meta["general"]
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["qgisMaximumVersion"] == "4.99"
    # QGIS 4 loads a plugin whose qgisMaximumVersion covers it; supportsQt6 was for Qt 6
    # builds of QGIS 3 only and is not used.
    assert "supportsQt6" not in general
    assert general["changelog"].startswith(general["version"])
    assert "QGIS 4" in general["changelog"]


def test_package_has_no_high_severity_bandit_findings(plugin_zip, tmp_path):
    zipfile.ZipFile(plugin_zip).extractall(tmp_path)
    assert bandit_high(tmp_path / "s4") == []


def test_package_has_no_secrets(plugin_zip, tmp_path):
    zipfile.ZipFile(plugin_zip).extractall(tmp_path)
    assert secrets_found(tmp_path / "s4") == []


def test_make_check_package_script_passes_the_package(plugin_zip):
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_package.py"), str(plugin_zip)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith(", 0 problems"), done.stdout


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


def test_compiled_translations_are_allowed_only_in_the_i18n_folder(tmp_path):
    zip_path = tmp_path / "s4.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("s4/s4_qgis/i18n/s4_nl.qm", b"<qm>")
        zf.writestr("s4/s4_qgis/i18n/s4_pt_BR.qm", b"<qm>")
        zf.writestr("s4/s4_qgis/i18n/s4.ts", "<TS/>")
        zf.writestr("s4/resources/s4_nl.qm", b"<qm>")
        zf.writestr("s4/s4_qgis/i18n/other.qm", b"<qm>")
    compiled = [p for p in repository_problems(zip_path) if p.startswith("compiled file")]
    assert compiled == [
        "compiled file s4/resources/s4_nl.qm",
        "compiled file s4/s4_qgis/i18n/other.qm",
    ]


def test_the_checks_catch_bad_metadata_a_big_zip_and_secrets(tmp_path, monkeypatch):
    problems = check_package.metadata_problems(
        {"name": "x", "version": "1.2.0", "qgisMinimumVersion": "3.22",
         "qgisMaximumVersion": "3.4", "changelog": "1.1.0 older release", "server": "maybe"}
    )  # fmt: skip
    text = "\n".join(problems)
    for expected in ("lacks author", "lacks about", "lacks tracker", "lacks repository",
                     "qgisMaximumVersion is below qgisMinimumVersion",
                     "changelog has no entry for version 1.2.0", "server='maybe'"):  # fmt: skip
        assert expected in text, problems
    assert "lacks qgisMaximumVersion" in "\n".join(check_package.metadata_problems({}))
    assert "is not a QGIS version" in "\n".join(
        check_package.metadata_problems({"qgisMaximumVersion": "4.x"})
    )

    small = tmp_path / "small.zip"
    with zipfile.ZipFile(small, "w") as zf:
        zf.writestr("p/__init__.py", "")
    monkeypatch.setattr(check_package, "MAX_SIZE", small.stat().st_size - 1)
    assert any("bytes (>" in p for p in repository_problems(small))

    leaky = tmp_path / "leaky"
    leaky.mkdir()
    key = "-----BEGIN RSA " + "PRIVATE KEY-----"  # split: this file itself stays clean
    (leaky / "deploy.py").write_text(f'KEY = """{key}\nMIIEowIBAAKCAQEA\n"""\n')
    (leaky / "clean.py").write_text("print('no secrets here')\n")
    assert [f for f in secrets_found(leaky) if f.startswith("deploy.py:1 Private Key")]
    assert not [f for f in secrets_found(leaky) if f.startswith("clean.py")]


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
    words = set(re.findall(r"\b[A-Z][A-Z0-9_]{3,}\b", workflow)) - {
        "QGIS",
        "EPSG",
        "STAC",
        "S4_THREADS",
        "NDVI",
        "NDRE",
        "HTML",
        "S4_TILE_MEMORY_MB",
        "ONNX",
    }
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

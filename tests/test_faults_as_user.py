"""Faults only an ordinary user meets (issue 13): inputs they may not read, folders and files
they may not write, through the ``s4`` command line and ``qgis_process``.

The test suite runs as root on CI, and root reads and writes every file whatever its mode, so
a ``chmod 000`` file proves nothing there. These cases therefore run the real programs as the
unprivileged user ``nobody`` (uid 65534, through ``setpriv``), on copies in a temporary folder
that user owns; run as an ordinary user, the tests run the programs as that user. Each case
asserts: a non-zero exit, one message naming the file and the fix, no traceback, and every
file as it was (contents and modes). Skipped, with the reason, only where no unprivileged
user can run Python here.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Dict, List, Tuple

import pytest

REPO = Path(__file__).resolve().parent.parent
QGIS_PROCESS = os.environ.get("QGIS_PROCESS", "/usr/bin/qgis_process.bin")
NOBODY = 65534
NO_READ = r"you have no permission to read it; ask its owner for read access \(e\.g\. chmod a\+r\)"


@pytest.fixture(scope="module")
def as_user() -> List[str]:
    """The command prefix that runs a program as an unprivileged user ([] when the tests
    already run as one); skips when there is none that can run this Python."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and no setpriv (util-linux) to become an ordinary user")
    prefix = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    probe = subprocess.run(
        [*prefix, sys.executable, "-c", "import os, s4_core; print(os.geteuid())"],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if probe.returncode != 0 or probe.stdout.strip() != str(NOBODY):
        pytest.skip(f"uid {NOBODY} cannot run this Python and the checkout: {probe.stderr[-300:]}")
    return prefix


def _give(path: Path) -> None:
    """Hand ``path`` (recursively) to the unprivileged user when the tests run as root."""
    if os.geteuid() == 0:
        for p in [path, *path.rglob("*")]:
            os.chown(p, NOBODY, NOBODY, follow_symlinks=False)


@pytest.fixture()
def work(as_user, tiny_demo) -> SimpleNamespace:
    """A folder of the unprivileged user's: a copy of the demo scene, ``home`` and ``out``."""
    root = Path(tempfile.mkdtemp(prefix="s4-as-user-"))
    root.chmod(0o755)
    data = root / "data"
    shutil.copytree(tiny_demo.root, data)
    w = SimpleNamespace(
        root=root, data=data, s1=data / "S1", s2=data / "S2", field=tiny_demo.class_field,
        parcels=data / Path(tiny_demo.parcels).relative_to(tiny_demo.root),
        home=root / "home", out=root / "out",
    )  # fmt: skip
    w.home.mkdir()
    w.out.mkdir()
    _give(root)
    yield w
    for p in [root, *root.rglob("*")]:  # an ordinary user must be able to delete it again
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)
    shutil.rmtree(root, ignore_errors=True)


def snapshot(root: Path) -> Dict[str, Tuple[int, int, str]]:
    """Every path under ``root``: (size, mode, sha1 of a file this process can read)."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        digest = ""
        if p.is_file() and os.access(p, os.R_OK):
            digest = hashlib.sha1(p.read_bytes()).hexdigest()
        out[str(p.relative_to(root))] = (st.st_size if p.is_file() else 0, st.st_mode, digest)
    return out


def locked(path: Path, mode: int) -> Path:
    path.chmod(mode)
    return path


def run_as_user(prefix: List[str], argv: List[str], w: SimpleNamespace, **env: str):
    base = {"PATH": "/usr/bin:/bin", "HOME": str(w.home), "LANG": "C.UTF-8"}
    return subprocess.run(
        [*prefix, *argv],
        env={**base, **env},
        cwd=w.root,
        capture_output=True,
        text=True,
        timeout=300,
    )


# ------------------------------------------------------------------------------------------
# s4 (the command line): segment, finetune and align need a model or torch: marked torch
def _segment(w, model: Path, *extra: str, s2: Path = None, out: Path = None) -> List[str]:
    return [
        "segment", "--model", str(model), "--s2", str(s2 or w.s2),
        "--out", str(out or w.out / "map.tif"), "--device", "cpu", "--quiet", *extra,
    ]  # fmt: skip


def _finetune(w, *extra: str, labels: Path = None, out: Path = None) -> List[str]:
    return [
        "finetune", "--s2", str(w.s2), "--labels", str(labels or w.parcels),
        "--class-field", w.field, "--out", str(out or w.out / "model.pt"),
        "--widths", "8", "16", "--crop-size", "16", "--epochs", "1", "--device", "cpu", "--quiet",
        *extra,
    ]  # fmt: skip


def _read_only_folder(w) -> Path:
    folder = w.root / "read_only"
    folder.mkdir()
    _give(folder)
    return locked(folder, 0o555)


def _read_only_file(path: Path) -> Path:
    path.write_bytes(b"an earlier map")
    _give(path)
    return locked(path, 0o444)


def _third_image(w) -> Path:
    return sorted(w.s2.glob("*.tif"))[2]


# (name, argv from (work, model), message regex); the setup (chmod) happens in the builder
CLI_CASES: List[Tuple[str, Callable[[SimpleNamespace, Path], List[str]], str]] = [
    ("labels unreadable",
     lambda w, m: _finetune(w, labels=locked(w.parcels, 0o000)),
     rf"s4 finetune: error: cannot read the labels \S+parcels\.gpkg: {NO_READ}"),
    ("model unreadable",
     lambda w, m: _segment(w, locked(m, 0o000)),
     rf"s4 segment: error: cannot read the model \S+model_copy\.pt: {NO_READ}"),
    ("one S2 image unreadable",
     lambda w, m: _segment(w, m, s2=locked(_third_image(w), 0o000).parent),
     rf"s4 segment: error: cannot read the Sentinel-2 input \S+/S2/S2_L2A_\d+\.tif: {NO_READ}"),
    ("S2 folder unreadable",
     lambda w, m: _segment(w, m, s2=locked(w.s2, 0o000)),
     rf"s4 segment: error: cannot read the Sentinel-2 input \S+/S2: {NO_READ}"),
    ("segment into a read-only folder",
     lambda w, m: _segment(w, m, out=_read_only_folder(w) / "map.tif"),
     r"s4 segment: error: the output class raster \S+read_only/map\.tif cannot be written: the "
     r"folder \S+read_only is not writable \(Permission denied\); choose a writable folder"),
    ("polygons into a read-only folder",
     lambda w, m: _segment(w, m, "--vector", str(_read_only_folder(w) / "map.gpkg")),
     r"s4 segment: error: the output polygons \S+read_only/map\.gpkg cannot be written: the "
     r"folder \S+read_only is not writable"),
    ("finetune into a read-only folder",
     lambda w, m: _finetune(w, out=_read_only_folder(w) / "model.pt"),
     r"s4 finetune: error: the output model \S+read_only/model\.pt cannot be written: the "
     r"folder \S+read_only is not writable"),
    ("align into a read-only folder",
     lambda w, m: ["align", "--s1", str(w.s1), "--s2", str(w.s2), "--out",
                   str(_read_only_folder(w)), "--quiet"],
     r"s4 align: error: the output folder \S+read_only cannot be written: the folder "
     r"\S+read_only is not writable"),
    ("existing output is read-only",
     lambda w, m: _segment(w, m, out=_read_only_file(w.out / "old_map.tif")),
     r"s4 segment: error: the output class raster \S+old_map\.tif exists and is read-only: "
     r"nothing was written; make it writable \(e\.g\. chmod u\+w\) or choose another output"),
]  # fmt: skip


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.parametrize("name, build, expected", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_as_an_ordinary_user(as_user, work, demo_model, name, build, expected):
    model = work.root / "model_copy.pt"
    shutil.copy(demo_model, model)
    _give(model)
    argv = build(work, model)
    _give(work.out)
    before = snapshot(work.root)
    done = run_as_user(
        as_user, [sys.executable, "-m", "s4_core.cli", *argv], work, PYTHONPATH=str(REPO)
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and re.fullmatch(expected + ".*", lines[0]), done.stderr
    assert snapshot(work.root) == before  # nothing written, nothing changed (modes included)


# ------------------------------------------------------------------------------------------
# qgis_process: the packaged plugin in the user's own profile; torch-free algorithms
@pytest.fixture()
def qgis_user(as_user, work, plugin_zip) -> Dict[str, str]:
    """The environment of a ``qgis_process`` run by the user, the plugin enabled in their
    profile (under ``work.home``)."""
    if not Path(QGIS_PROCESS).is_file():
        pytest.skip(f"no qgis_process at {QGIS_PROCESS}")
    plugins, runtime = work.root / "plugins", work.root / "runtime"
    zipfile.ZipFile(plugin_zip).extractall(plugins)
    runtime.mkdir(mode=0o700)
    _give(plugins)
    _give(runtime)
    env = {
        "QGIS_PLUGINPATH": str(plugins),
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_RUNTIME_DIR": str(runtime),
        "GDAL_PAM_ENABLED": "NO",  # as the whole suite: no .aux.xml beside the inputs
        # the engine's packages of this environment (QGIS's Python has the system ones)
        "PYTHONPATH": ":".join(p for p in sys.path if p.endswith("-packages")),
    }
    enabled = run_as_user(as_user, [QGIS_PROCESS, "plugins", "enable", "s4"], work, **env)
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    return env


def _image(w) -> str:
    return str(sorted(w.s2.glob("*.tif"))[0])


QGIS_CASES: List[Tuple[str, str, Callable[[SimpleNamespace], List[str]], str]] = [
    ("export: input raster unreadable", "export_geopackage",
     lambda w: [f"INPUT={locked(Path(_image(w)), 0o000)}",
                f"OUTPUT_VECTOR={w.out / 'p.gpkg'}"],
     rf"INPUT: cannot read \S+\.tif: {NO_READ}"),
    ("export: into a read-only folder", "export_geopackage",
     lambda w: [f"INPUT={_image(w)}", f"OUTPUT_VECTOR={_read_only_folder(w) / 'p.gpkg'}"],
     r"the output polygons \S+read_only/p\.gpkg cannot be written: the folder \S+read_only is "
     r"not writable \(Permission denied\); choose a writable folder"),
    ("evaluate: reference polygons unreadable", "evaluate",
     lambda w: [f"INPUT={_image(w)}", f"REFERENCE={locked(w.parcels, 0o000)}",
                f"CLASS_FIELD={w.field}", f"OUTPUT={w.out / 'scores.csv'}"],
     rf"REFERENCE: cannot read \S+parcels\.gpkg: {NO_READ}"),
    ("align: an S2 image unreadable", "align_time_series",
     lambda w: [f"SENTINEL1_FOLDER={w.s1}",
                f"SENTINEL2_FOLDER={locked(_third_image(w), 0o000).parent}",
                f"OUTPUT={w.out / 'aligned'}"],
     rf"cannot read the Sentinel-2 input \S+/S2/S2_L2A_\d+\.tif: {NO_READ}"),
]  # fmt: skip


@pytest.mark.qgis
@pytest.mark.slow
@pytest.mark.parametrize(
    "name, algorithm, build, expected", QGIS_CASES, ids=[c[0] for c in QGIS_CASES]
)
def test_qgis_process_as_an_ordinary_user(
    as_user, work, qgis_user, name, algorithm, build, expected
):
    params = build(work)
    _give(work.out)
    before = snapshot(work.root / "data")
    before_out = snapshot(work.out)
    done = run_as_user(
        as_user, [QGIS_PROCESS, "run", f"s4:{algorithm}", "--", *params], work, **qgis_user
    )
    text = done.stdout + done.stderr
    assert done.returncode != 0, text
    assert re.search(expected, text), text
    assert "Traceback" not in text
    assert snapshot(work.root / "data") == before and snapshot(work.out) == before_out


def test_the_user_really_is_refused_by_the_system(as_user, work):
    """The premise of this module: the user the cases run as cannot read a mode-000 file."""
    secret = work.root / "secret.txt"
    secret.write_text("x")
    _give(secret)
    locked(secret, 0o000)
    done = run_as_user(as_user, [sys.executable, "-c", f"open({str(secret)!r}).read()"], work)
    assert done.returncode != 0 and "PermissionError" in done.stderr, done.stderr

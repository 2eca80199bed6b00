"""Installing the engine's requirements into QGIS's Python: offline, with hand-made wheels.

pip runs for real (QGIS's interpreter = this one) against local wheels built in tmp_path, with
``--no-index --find-links`` and ``--isolated`` (no pip configuration or index is consulted).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from s4_core.errors import Cancelled
from s4_qgis import dependencies as deps

NUMPY = importlib.metadata.version("numpy")


def make_wheel(folder: Path, name: str, version: str, requires=(), code: str = "") -> Path:
    """A minimal pure-Python wheel: package ``name`` (``__version__``) + dist-info."""
    folder.mkdir(parents=True, exist_ok=True)
    module = name.replace("-", "_")
    dist = f"{module}-{version}"
    files = {
        f"{module}/__init__.py": f"__version__ = {version!r}\n{code}",
        f"{dist}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
            + "".join(f"Requires-Dist: {r}\n" for r in requires)
        ),
        f"{dist}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: s4-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        f"{dist}.dist-info/top_level.txt": f"{module}\n",
    }
    record = []
    for arcname, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{arcname},sha256={digest},{len(data)}")
    files[f"{dist}.dist-info/RECORD"] = "\n".join(record + [f"{dist}.dist-info/RECORD,,"]) + "\n"
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for arcname, text in files.items():
            zf.writestr(arcname, text)
    return path


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheels")
    make_wheel(folder, "s4dep", "2.0")
    make_wheel(folder, "s4ok", "1.0", ["s4dep>=2", "numpy>=1.0"])
    make_wheel(folder, "s4dummy", "1.0", ["numpy>=99"])
    # A numpy 99 that would replace QGIS's numpy, and one at QGIS's version that pip will
    # install into --target anyway (--target ignores what is installed).
    make_wheel(folder, "numpy", "99.0")
    make_wheel(folder, "numpy", NUMPY)
    return folder


def local(wheels: Path) -> dict:
    return dict(find_links=[wheels], no_index=True, isolated=True)


def leftovers(parent: Path) -> list:
    return sorted(p.name for p in parent.iterdir() if ".partial-" in p.name or ".old-" in p.name)


# --- where things live ----------------------------------------------------------------------
def test_target_dir_is_keyed_by_python_version_and_platform(tmp_path):
    profile = tmp_path / "profiles" / "default"
    expected = profile / "python" / "dependencies" / "s4" / "py311-linux_x86_64"
    assert deps.target_dir(profile, (3, 11), "linux_x86_64") == expected
    assert deps.target_dir(profile, "3.11", "linux_x86_64") == expected
    assert deps.target_dir(str(profile), sys.version_info, "x").name == (
        f"py{sys.version_info[0]}{sys.version_info[1]}-x"
    )
    with pytest.raises(ValueError, match="py_version"):
        deps.target_dir(profile, "three", "linux_x86_64")


def test_platform_tags():
    assert deps.platform_tag("linux", "x86_64") == "linux_x86_64"
    assert deps.platform_tag("win32", "AMD64") == "windows_amd64"
    assert deps.platform_tag("darwin", "arm64") == "macos_arm64"


def test_dependency_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(deps.ENV_DIR, str(tmp_path / "deps"))
    assert deps.dependency_dir() == tmp_path / "deps"
    monkeypatch.delenv(deps.ENV_DIR)
    tag = f"py{sys.version_info[0]}{sys.version_info[1]}-{deps.platform_tag()}"
    assert deps.dependency_dir().name == tag
    assert deps.dependency_dir().parent.parts[-3:] == ("python", "dependencies", "s4")


# --- which Python ---------------------------------------------------------------------------
def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    return path


def info(executable, exec_prefix="", prefix="", version=(3, 9), environ=None) -> deps.SysInfo:
    return deps.SysInfo(str(executable), str(exec_prefix), str(prefix), version, environ or {})


def test_python_on_linux_is_sys_executable_or_found_under_the_prefix(tmp_path):
    python = touch(tmp_path / "usr" / "bin" / "python3.11")
    assert deps.python_executable("linux", info(python, tmp_path / "usr")) == python
    # Embedded in the qgis binary: sys.executable is QGIS, Python is <exec_prefix>/bin.
    qgis = touch(tmp_path / "usr" / "bin" / "qgis")
    found = deps.python_executable("linux", info(qgis, tmp_path / "usr", version=(3, 11)))
    assert found == python


def test_python_on_windows_osgeo4w(tmp_path):
    root = tmp_path / "OSGeo4W"
    qgis = touch(root / "bin" / "qgis-bin.exe")
    python = touch(root / "apps" / "Python39" / "python.exe")
    # sys.executable is qgis-bin.exe; sys.exec_prefix is apps\Python39.
    sys_info = info(qgis, root / "apps" / "Python39", root / "apps" / "Python39")
    assert deps.python_executable("win32", sys_info) == python
    # Only OSGEO4W_ROOT and python3.exe (standalone installer layouts).
    python.unlink()
    python3 = touch(root / "apps" / "Python39" / "python3.exe")
    sys_info = info(qgis, tmp_path / "elsewhere", environ={"OSGEO4W_ROOT": str(root)})
    assert deps.python_executable("win32", sys_info) == python3
    # Nothing but bin\python3.exe next to qgis-bin.exe.
    python3.unlink()
    beside = touch(root / "bin" / "python3.exe")
    assert deps.python_executable("win32", info(qgis, tmp_path / "elsewhere")) == beside


def test_python_on_macos_bundle(tmp_path):
    macos = tmp_path / "QGIS.app" / "Contents" / "MacOS"
    qgis = touch(macos / "QGIS")
    python = touch(macos / "bin" / "python3")
    frameworks = tmp_path / "QGIS.app" / "Contents" / "Frameworks" / "Python.framework"
    assert deps.python_executable("darwin", info(qgis, frameworks, frameworks)) == python
    python.unlink()
    framework_python = touch(frameworks / "bin" / "python3.9")
    assert deps.python_executable("darwin", info(qgis, frameworks, frameworks)) == (
        framework_python
    )


def test_python_not_found_names_what_was_tried(tmp_path):
    qgis = touch(tmp_path / "bin" / "qgis-bin.exe")
    with pytest.raises(deps.InstallError, match="Cannot find the Python") as err:
        deps.python_executable("win32", info(qgis, tmp_path / "nowhere"))
    assert str(tmp_path / "nowhere" / "python.exe") in str(err.value)


def test_check_interpreter_runs_it_and_finds_pip(tmp_path):
    found = deps.check_interpreter(sys.executable)
    assert found["python"].startswith(f"{sys.version_info[0]}.{sys.version_info[1]}.")
    assert found["pip"]
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\necho not python\n")
    fake.chmod(0o755)
    with pytest.raises(deps.InstallError, match="did not run as a Python interpreter"):
        deps.check_interpreter(fake)


# --- constraints and requirements -----------------------------------------------------------
def test_constraints_pin_what_the_running_interpreter_ships():
    lines = deps.build_constraints()
    assert f"numpy=={NUMPY}" in lines
    names = {deps.canonical_name(line.split("==")[0]) for line in lines}
    for name in ("gdal", "rasterio", "fiona", "pyqt5"):
        assert name in names, lines
    assert "torch" not in names


def test_constraints_read_versions_from_the_given_paths_only(tmp_path):
    site = tmp_path / "site"
    info_dir = site / "numpy-7.7.7.dist-info"
    info_dir.mkdir(parents=True)
    (info_dir / "METADATA").write_text("Metadata-Version: 2.1\nName: numpy\nVersion: 7.7.7\n")
    assert deps.build_constraints(["numpy", "GDAL"], paths=[str(site)]) == ["numpy==7.7.7"]


def test_constraints_ignore_s4_dependency_folders(tmp_path, monkeypatch):
    folder = tmp_path / "python" / "dependencies" / "s4" / "py311-linux_x86_64"
    info_dir = folder / "numpy-99.0.dist-info"
    info_dir.mkdir(parents=True)
    (info_dir / "METADATA").write_text("Metadata-Version: 2.1\nName: numpy\nVersion: 99.0\n")
    monkeypatch.syspath_prepend(str(folder))
    assert f"numpy=={NUMPY}" in deps.build_constraints(["numpy"])


def test_engine_requirements_match_pyproject(repo_root):
    import tomllib

    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    assert sorted(deps.engine_requirements()) == sorted(project["dependencies"])


def test_requirements_already_shipped_are_left_out():
    reqs = ["torch>=2.1", "numpy>=1.21,<2", "rasterio>=1.3", "fiona>=1.8", "tqdm>=4.60"]
    constraints = [f"numpy=={NUMPY}", "rasterio==1.3.5", "Fiona==1.9.0"]
    assert deps.requirements_to_install(reqs, constraints) == ["torch>=2.1", "tqdm>=4.60"]


def test_plan_for_each_torch_build(tmp_path):
    constraints = [f"numpy=={NUMPY}", "rasterio==1.3.5", "fiona==1.9.0"]
    cpu = deps.plan_install(
        "cpu", target=tmp_path, python=Path(sys.executable), constraints=constraints,
        platform="linux",
    )  # fmt: skip
    assert cpu.requirements == ["torch>=2.1", "tqdm>=4.60"]
    assert cpu.index_url == "https://download.pytorch.org/whl/cpu"
    assert cpu.extra_index_urls == [deps.PYPI_SIMPLE]
    assert "--target" in cpu.command_line() and "only-if-needed" in cpu.command_line()
    cuda = deps.plan_install(
        "cu128", target=tmp_path, python=Path(sys.executable), constraints=constraints,
        platform="win32",
    )  # fmt: skip
    assert cuda.index_url == "https://download.pytorch.org/whl/cu128"
    mac = deps.plan_install(
        "cpu", target=tmp_path, python=Path(sys.executable), constraints=constraints,
        platform="darwin",
    )  # fmt: skip
    assert mac.index_url is None and mac.extra_index_urls == []
    with pytest.raises(deps.InstallError, match="macOS"):
        deps.torch_index_url("cu128", "darwin")
    with pytest.raises(deps.InstallError, match="Unknown torch build"):
        deps.torch_index_url("rocm", "linux")


def test_pip_command_pins_and_targets(tmp_path):
    cmd = deps.pip_command(
        "/opt/qgis/python3", tmp_path / "t", ["torch>=2.1"], tmp_path / "c.txt",
        index_url="https://download.pytorch.org/whl/cpu", extra_index_urls=[deps.PYPI_SIMPLE],
    )  # fmt: skip
    assert cmd[:4] == ["/opt/qgis/python3", "-m", "pip", "install"]
    assert cmd[cmd.index("--target") + 1] == str(tmp_path / "t")
    assert cmd[cmd.index("-c") + 1] == str(tmp_path / "c.txt")
    assert cmd[cmd.index("--upgrade-strategy") + 1] == "only-if-needed"
    assert cmd[cmd.index("--index-url") + 1] == "https://download.pytorch.org/whl/cpu"
    assert cmd[-1] == "torch>=2.1"
    with pytest.raises(ValueError):
        deps.pip_command("python", tmp_path, [], tmp_path / "c.txt")


# --- CPU or CUDA ----------------------------------------------------------------------------
SMI_OUTPUT = """\
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 570.86.15              Driver Version: 570.86.15      CUDA Version: {cuda}     |
+-----------------------------------------------------------------------------------------+
"""


def fake_smi(tmp_path: Path, cuda: str) -> Path:
    smi = tmp_path / f"nvidia-smi-{cuda}"
    smi.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--query-gpu=name" ]; then echo "NVIDIA H100 80GB HBM3"; exit 0; fi\n'
        f"cat <<'EOF'\n{SMI_OUTPUT.format(cuda=cuda)}EOF\n"
    )
    smi.chmod(0o755)
    return smi


def test_nvidia_detection_and_default_build(tmp_path):
    absent = tmp_path / "no-such-file"
    assert deps.detect_nvidia(which=lambda name: None, proc_version=absent) is None
    assert deps.default_variant(None, "linux") == "cpu"

    proc = tmp_path / "version"
    proc.write_text("NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22\n")
    found = deps.detect_nvidia(which=lambda name: None, proc_version=proc)
    assert found == deps.NvidiaInfo(driver="550.54.14", cuda="", gpus=())
    assert deps.default_variant(found, "linux") == deps.DEFAULT_CUDA_VARIANT

    for cuda, variant in (("12.8", "cu128"), ("13.0", "cu130"), ("12.6", "cu126")):
        smi = fake_smi(tmp_path, cuda)
        found = deps.detect_nvidia(which=lambda name, smi=smi: str(smi), proc_version=absent)
        assert found.cuda == cuda and found.driver == "570.86.15"
        assert found.gpus == ("NVIDIA H100 80GB HBM3",)
        assert deps.default_variant(found, "linux") == variant
    assert deps.default_variant(deps.NvidiaInfo(cuda="12.9"), "win32") == "cu128"
    assert deps.default_variant(deps.NvidiaInfo(cuda="12.8"), "darwin") == "cpu"


# --- installing (pip runs for real, offline) ------------------------------------------------
def test_install_into_target_keeps_what_qgis_ships(tmp_path, wheels):
    target = tmp_path / "profile" / "python" / "dependencies" / "s4" / "py311-linux_x86_64"
    lines, fractions = [], []
    result = deps.install(
        ["s4ok"], target, python=sys.executable, constraints=[f"numpy=={NUMPY}"],
        log=lines.append, progress=lambda f, m, metrics=None: fractions.append(f),
        **local(wheels),
    )  # fmt: skip
    assert result.active and not result.restart_required
    assert result.installed == ["s4dep==2.0", "s4ok==1.0"]
    # pip put numpy (at QGIS's version) into --target; it was removed: QGIS's numpy is used.
    assert result.removed_pinned == [f"numpy=={NUMPY}"]
    assert not (target / "numpy").exists()
    assert not list(target.glob("numpy-*.dist-info"))
    assert (target / "s4ok" / "__init__.py").is_file() and (target / "s4dep").is_dir()
    assert (target / deps.CONSTRAINTS_NAME).read_text() == f"numpy=={NUMPY}\n"
    record = json.loads((target / deps.INSTALL_RECORD).read_text())
    assert record["installed"] == result.installed
    assert leftovers(target.parent) == []
    assert any("Successfully installed" in line for line in lines)
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert str(target) in sys.path  # usable at once: nothing was loaded from it before
    sys.path.remove(str(target))


def test_requirement_that_would_replace_numpy_is_refused(tmp_path, wheels):
    # Control: without the constraint pip would install numpy 99 next to QGIS's numpy.
    control = deps.install(
        ["s4dummy"], tmp_path / "control", python=sys.executable, constraints=[],
        **local(wheels),
    )  # fmt: skip
    assert "numpy==99.0" in control.installed
    sys.path.remove(str(tmp_path / "control"))

    target = tmp_path / "deps"
    with pytest.raises(deps.InstallError) as err:
        deps.install(
            ["s4dummy"], target, python=sys.executable, constraints=[f"numpy=={NUMPY}"],
            **local(wheels),
        )  # fmt: skip
    message = str(err.value)
    assert "s4dummy 1.0 needs numpy>=99" in message
    assert f"QGIS ships numpy {NUMPY}" in message
    assert "never replaces" in message
    assert not target.exists()  # nothing half-installed
    assert leftovers(tmp_path) == []


def test_reinstall_swaps_the_folder_and_waits_when_it_is_in_use(tmp_path, wheels):
    target = tmp_path / "deps"
    first = deps.install(["s4dep"], target, python=sys.executable, constraints=[], **local(wheels))
    assert first.installed == ["s4dep==2.0"]
    newer = tmp_path / "newer"
    make_wheel(newer, "s4dep", "3.0")
    # Pretend s4dep was imported from the folder: the running QGIS holds it.
    sys.modules["s4dep"] = type(sys)("s4dep")
    sys.modules["s4dep"].__file__ = str(target / "s4dep" / "__init__.py")
    try:
        second = deps.install(
            ["s4dep==3.0"], target, python=sys.executable, constraints=[],
            find_links=[newer], no_index=True, isolated=True,
        )  # fmt: skip
    finally:
        del sys.modules["s4dep"]
    assert not second.active and second.restart_required and second.reloaded == ["s4dep"]
    assert "Restart QGIS" in second.summary()
    assert (target / "s4dep-2.0.dist-info").is_dir()  # untouched while in use
    assert (tmp_path / "deps.pending" / "s4dep-3.0.dist-info").is_dir()
    # Next start of QGIS: the plugin finishes the swap before anything is imported.
    assert deps.activate_dependency_folder(target) == target
    assert (target / "s4dep-3.0.dist-info").is_dir()
    assert not (tmp_path / "deps.pending").exists()
    assert leftovers(tmp_path) == []
    assert sys.path.count(str(target)) == 1
    sys.path.remove(str(target))


def test_install_refuses_an_interpreter_that_is_not_qgis_python(tmp_path, wheels):
    other = tmp_path / "python3.5"
    other.write_text('#!/bin/sh\necho \'{"python": "3.5.10", "pip": "20.3"}\'\n')
    other.chmod(0o755)
    with pytest.raises(deps.InstallError, match="it is not QGIS's interpreter"):
        deps.install(["s4dep"], tmp_path / "deps", python=other, constraints=[], **local(wheels))
    assert not (tmp_path / "deps").exists()


def test_activation_of_a_missing_folder_is_harmless(tmp_path):
    assert deps.activate_dependency_folder(tmp_path / "absent") is None
    assert str(tmp_path / "absent") not in sys.path


def test_cancel_kills_pip_and_changes_nothing(tmp_path):
    # A stand-in for a long pip download: prints like pip, then waits.
    script = tmp_path / "slow.py"
    script.write_text("import time, sys\nprint('Collecting torch', flush=True)\ntime.sleep(120)\n")
    lines = []
    seen = threading.Event()

    def log(line):
        lines.append(line)
        if line.startswith("Collecting"):
            seen.set()

    start = time.monotonic()
    with pytest.raises(Cancelled, match="cancelled"):
        deps.run_pip([sys.executable, str(script)], cancel=seen.is_set, log=log)
    assert time.monotonic() - start < 60
    assert lines[-1].startswith("Cancelled")

    # Through install(): the staging folder is removed, the target never created.
    target = tmp_path / "deps"
    with pytest.raises(Cancelled):
        deps.install(
            ["s4ok"], target, python=sys.executable, constraints=[],
            find_links=[tmp_path], no_index=True, isolated=True, cancel=lambda: True,
        )  # fmt: skip
    assert not target.exists() and leftovers(tmp_path) == []


def test_failing_pip_is_explained():
    out = "Looking in indexes: x\nERROR: No matching distribution found for torch>=2.1"
    assert "no build of torch>=2.1" in deps.explain_pip_failure(out)
    out = "WARNING: Retrying ... NewConnectionError('Failed to establish a new connection')"
    assert "could not reach the package index" in deps.explain_pip_failure(out)
    assert deps.explain_pip_failure("boom").startswith("pip failed")


def test_run_pip_reports_a_missing_interpreter(tmp_path):
    with pytest.raises(deps.InstallError, match="Cannot start pip"):
        deps.run_pip([str(tmp_path / "no-python"), "-m", "pip"])


# --- is the engine usable? ------------------------------------------------------------------
def test_engine_present_gives_no_message():
    deps.clear_cache()
    assert deps.missing_engine_modules() == {}
    assert deps.engine_missing_message() == ""
    status = {s.name: s for s in deps.engine_status()}
    assert set(status) == set(deps.ENGINE_MODULES)
    assert status["numpy"].version == NUMPY and not status["numpy"].problem


def test_missing_module_message_names_it_and_the_fix(monkeypatch):
    real = deps.importlib.util.find_spec
    monkeypatch.setattr(
        deps.importlib.util, "find_spec", lambda name, *a: None if name == "fiona" else real(name)
    )
    monkeypatch.delitem(sys.modules, "fiona", raising=False)
    deps.clear_cache()
    assert deps.missing_engine_modules() == {"fiona": "not installed"}
    message = deps.engine_missing_message()
    assert "fiona" in message and "Raster > S4 > Dependencies" in message
    assert "python3-rasterio python3-fiona" in message
    deps.clear_cache()


# --- the dialog runs the install as a QGIS task ---------------------------------------------
@pytest.mark.qgis
def test_dialog_installs_in_a_task(qgis_app, tmp_path, wheels):
    from qgis.PyQt.QtCore import QCoreApplication

    from s4_qgis.dialogs.dependencies_dialog import DependenciesDialog

    target = tmp_path / "deps"
    dialog = DependenciesDialog(
        plan_overrides=dict(
            target=target, python=Path(sys.executable), requirements=["s4ok"],
            constraints=[f"numpy=={NUMPY}"],
        ),
        pip_options=local(wheels),
    )  # fmt: skip
    assert dialog.status.topLevelItemCount() == len(deps.ENGINE_MODULES)
    assert dialog.packages_label.text().startswith("s4ok")
    assert dialog.install_button.isEnabled()
    done = []
    dialog.installed.connect(done.append)
    task = dialog.start_install()
    assert task is not None and not dialog.install_button.isEnabled()
    deadline = time.monotonic() + 120
    while dialog.task is not None and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.02)
    assert done == [False], dialog.log.toPlainText()
    assert "Installed" in dialog.message.text()
    assert "s4ok==1.0" in dialog.log.toPlainText()
    assert (target / "s4ok").is_dir() and not (target / "numpy").exists()
    assert dialog.progress.value() == 100
    if str(target) in sys.path:
        sys.path.remove(str(target))
    dialog.deleteLater()


# --- profiles: mapping only (ONNX Runtime) or training (PyTorch) ----------------------------
def test_mapping_profile_installs_onnxruntime_instead_of_torch(tmp_path):
    engine = deps.engine_requirements()
    assert any(r.startswith("torch") for r in engine)
    mapping = deps.profile_requirements("mapping")
    assert not any(r.startswith("torch") for r in mapping)
    assert deps.ONNXRUNTIME_REQUIREMENT in mapping
    assert deps.profile_requirements("training") == engine
    with pytest.raises(ValueError, match="profile"):
        deps.profile_requirements("everything")
    # the pin matches requirements/dev.txt (the version the tests run)
    dev = (Path(deps.PLUGIN_ROOT) / "requirements" / "dev.txt").read_text()
    assert deps.ONNXRUNTIME_REQUIREMENT in dev.splitlines()
    plan = deps.plan_install(
        "cu128", profile="mapping", target=tmp_path, python=Path(sys.executable),
        requirements=["torch>=2.1", "tqdm>=4.60"], constraints=[],
    )  # fmt: skip
    assert plan.requirements == ["tqdm>=4.60", deps.ONNXRUNTIME_REQUIREMENT]
    assert plan.index_url is None and plan.variant == "onnx"
    train = deps.plan_install(
        "cpu", target=tmp_path, python=Path(sys.executable),
        requirements=["torch>=2.1", "tqdm>=4.60"], constraints=[],
    )  # fmt: skip
    assert train.requirements == ["torch>=2.1", "tqdm>=4.60"] and train.index_url


@pytest.mark.qgis
def test_dialog_offers_mapping_only_and_training(qgis_app, tmp_path):
    from s4_qgis.dialogs.dependencies_dialog import DependenciesDialog

    dialog = DependenciesDialog(  # as in a QGIS with none of the packages
        plan_overrides=dict(
            target=tmp_path, python=Path(sys.executable), constraints=[], installed={}
        )
    )
    labels = [dialog.profile.itemText(i) for i in range(dialog.profile.count())]
    assert labels == ["training (PyTorch, CPU or CUDA)", "mapping only (ONNX Runtime)"]
    assert "torch" in dialog.packages_label.text() and dialog.variant.isEnabled()
    dialog.profile.setCurrentIndex(1)
    text = dialog.packages_label.text()
    assert "onnxruntime" in text and "torch" not in text
    assert not dialog.variant.isEnabled()
    dialog.deleteLater()


# --- what is installed already is not offered again -----------------------------------------
def test_requirements_met_by_what_is_installed():
    installed = {"torch": "2.13.0+cpu", "numpy": "1.24.2", "tqdm": "4.70.1", "pyqt5-sip": "12.11"}
    met = [
        ("torch>=2.1", "cpu", True),
        ("torch>=2.1", "cu128", False),  # a CPU torch is no CUDA build: offered again
        ("torch>=3", "cpu", False),
        ("numpy>=1.21,<2", "cpu", True),
        ("numpy>=2", "cpu", False),
        ("tqdm", "cpu", True),
        ("PyQt5_sip>=12", "cpu", True),  # names compare normalised
        ("onnxruntime==1.32.0", "cpu", False),  # not installed
    ]
    for requirement, variant, expected in met:
        assert deps.requirement_met(requirement, installed, variant) is expected, requirement
    assert deps.requirement_met("torch>=2.1", {"torch": "2.13.0+cu128"}, "cu128")


def test_plan_leaves_out_what_qgis_has_outside_the_dependency_folder(tmp_path):
    reqs = ["torch>=2.1", "tqdm>=4.60"]
    kwargs = dict(target=tmp_path, python=Path(sys.executable), requirements=reqs,
                  constraints=[], platform="linux")  # fmt: skip
    assert deps.plan_install("cpu", **kwargs).requirements == reqs  # nothing known installed
    has_torch = {"torch": "2.13.0+cpu"}
    assert deps.plan_install("cpu", installed=has_torch, **kwargs).requirements == ["tqdm>=4.60"]
    assert deps.plan_install("cu128", installed=has_torch, **kwargs).requirements == reqs


def _fake_distribution(folder: Path, name: str, version: str) -> None:
    info = folder / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )


@pytest.mark.qgis
def test_dialog_offers_only_what_is_missing(qgis_app, tmp_path, monkeypatch):
    """A package QGIS's Python has is not offered; one only S4's folder has is, beside a missing
    one (an install replaces the folder); when nothing is missing Install is disabled."""
    from s4_qgis.dialogs.dependencies_dialog import DependenciesDialog

    qgis_own = tmp_path / "site-packages"
    s4_folder = tmp_path / "profile" / "python" / "dependencies" / "s4" / "py311-linux_x86_64"
    _fake_distribution(qgis_own, "s4qgishas", "2.0")
    _fake_distribution(s4_folder, "s4folderhas", "1.5")
    monkeypatch.syspath_prepend(str(qgis_own))
    monkeypatch.syspath_prepend(str(s4_folder))
    assert deps.installed_versions()["s4folderhas"] == "1.5"
    assert "s4folderhas" not in deps.installed_versions(deps.qgis_search_path())

    def dialog_for(requirements):
        return DependenciesDialog(
            plan_overrides=dict(
                target=tmp_path / "deps", python=Path(sys.executable), constraints=[],
                requirements=requirements,
            )
        )  # fmt: skip

    dialog = dialog_for(["s4qgishas>=1", "s4folderhas>=1"])
    assert dialog.packages_label.text() == "nothing to install: every package is installed"
    assert not dialog.install_button.isEnabled() and dialog.start_install() is None
    dialog.deleteLater()
    dialog = dialog_for(["s4qgishas>=1", "s4folderhas>=1", "s4missing>=1"])
    assert dialog.packages_label.text() == "s4folderhas&gt;=1, s4missing&gt;=1"
    assert dialog.install_button.isEnabled()
    dialog.deleteLater()
    dialog = dialog_for(["s4qgishas>=3"])  # too old: offered
    assert dialog.packages_label.text() == "s4qgishas&gt;=3" and dialog.install_button.isEnabled()
    dialog.deleteLater()

"""Installing with pip into a folder of the QGIS profile, run by QGIS's own Python.

QGIS ships its own Python with numpy, GDAL, PyQt5 and often rasterio/fiona, but not torch. S4
installs what is missing with pip run by *QGIS's own interpreter* into a folder of the QGIS
profile keyed by Python version and platform (``<profile>/python/dependencies/s4/py311-
linux_x86_64``), which the plugin puts on ``sys.path`` when it loads. A constraints file pins
what QGIS already has (read from the running interpreter), so pip never replaces numpy & co.;
anything pinned that still lands in the folder is removed after the install.

Plain Python (paths in, subprocesses out), testable without QGIS; only
:func:`default_profile_dir` asks QGIS (lazily) where the profile is.
"""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import importlib.util
import json
import os
import queue
import re
import shutil
import signal
import subprocess  # nosec B404
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from s4_core.errors import Cancelled
from s4_core.types import Cancel, Log, PathLike, Progress

from .catalogue import (
    CONSTRAINTS_NAME,
    ENV_DIR,
    INSTALL_RECORD,
    PYPI_SIMPLE,
    InstallError,
    _requirement_name,
    build_constraints,
    canonical_name,
    dist_name,
    profile_requirements,
    requirement_met,
    requirements_to_install,
    torch_index_url,
)


# --------------------------------------------------------------------------------------------
# Where things live
# --------------------------------------------------------------------------------------------
def platform_tag(sys_platform: Optional[str] = None, machine: Optional[str] = None) -> str:
    """``linux_x86_64``, ``windows_amd64``, ``macos_arm64``…: the OS and CPU of an interpreter."""
    import platform as _platform

    sys_platform = sys.platform if sys_platform is None else sys_platform
    machine = (_platform.machine() if machine is None else machine) or "unknown"
    if sys_platform.startswith("win"):
        osname = "windows"
    elif sys_platform == "darwin":
        osname = "macos"
    elif sys_platform.startswith("linux"):
        osname = "linux"
    else:
        osname = re.sub(r"[^a-z0-9]+", "", sys_platform.lower()) or "unknown"
    return f"{osname}_{re.sub(r'[^a-z0-9_]+', '_', machine.lower())}"


def target_dir(profile: PathLike, py_version: Union[str, Sequence[int]], platform: str) -> Path:
    """The dependency folder: ``<profile>/python/dependencies/s4/py<MAJOR><MINOR>-<platform>``.

    ``py_version`` is ``(3, 11)``, ``sys.version_info`` or ``"3.11"``. Keying the folder by
    Python version and platform keeps compiled wheels from being loaded by the wrong Python
    (after a QGIS upgrade, or a profile shared between machines).
    """
    if isinstance(py_version, str):
        parts = py_version.split(".")
    else:
        parts = [str(p) for p in tuple(py_version)[:2]]
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        raise ValueError(f"py_version must look like (3, 11) or '3.11', not {py_version!r}")
    return Path(profile) / "python" / "dependencies" / "s4" / f"py{parts[0]}{parts[1]}-{platform}"


def fallback_profile_dir(
    sys_platform: Optional[str] = None, environ: Optional[Mapping[str, str]] = None
) -> Path:
    """QGIS 3's 'default' profile folder on this platform (used when QGIS cannot tell)."""
    sys_platform = sys.platform if sys_platform is None else sys_platform
    environ = os.environ if environ is None else environ
    if sys_platform.startswith("win"):
        base = Path(environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    elif sys_platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "QGIS" / "QGIS3" / "profiles" / "default"


def default_profile_dir() -> Path:
    """The active QGIS profile folder (asks QGIS when it runs, else the platform default)."""
    try:
        from qgis.core import QgsApplication

        path = QgsApplication.qgisSettingsDirPath()
    except Exception:  # noqa: BLE001 - no QGIS (plain Python, tests): use the default profile
        path = ""
    return Path(path) if path else fallback_profile_dir()


def dependency_dir() -> Path:
    """This interpreter's dependency folder (``$S4_DEPENDENCIES_DIR`` overrides it)."""
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override).expanduser()
    return target_dir(default_profile_dir(), sys.version_info[:2], platform_tag())


def _pending(target: Path) -> Path:
    return target.with_name(target.name + ".pending")


def _modules_loaded_from(folder: Path) -> List[str]:
    """Top-level modules already imported from files under ``folder``."""
    try:
        root = str(folder.resolve())
    except OSError:
        return []
    found = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if "." in name or not file:
            continue
        try:
            if os.path.commonpath([root, os.path.abspath(file)]) == root:
                found.append(name)
        except ValueError:  # different drives on Windows
            continue
    return sorted(found)


def _swap_in(new: Path, target: Path) -> bool:
    """Make ``new`` the dependency folder; False when it has to wait for a restart.

    False (and ``new`` kept as ``.pending``) when the current folder is in use by this process or
    cannot be moved (Windows file locks).
    """
    if not _modules_loaded_from(target):
        old = target.with_name(f"{target.name}.old-{os.getpid()}-{int(time.time() * 1000)}")
        try:
            if target.exists():
                os.replace(target, old)
            os.replace(new, target)
        except OSError:
            if old.exists() and not target.exists():
                os.replace(old, target)
        else:
            shutil.rmtree(old, ignore_errors=True)
            return True
    pending = _pending(target)
    if new != pending:
        shutil.rmtree(pending, ignore_errors=True)
        os.replace(new, pending)
    return False


def activate_dependency_folder(target: Optional[Path] = None) -> Optional[Path]:
    """Put the dependency folder first on ``sys.path``; the folder, or None.

    Called when the plugin loads, before anything imports torch. Finishes an install that had to
    wait for a restart. Never raises; returns the folder when it is on ``sys.path``, else None.
    """
    try:
        target = Path(target) if target is not None else dependency_dir()
        pending = _pending(target)
        if pending.is_dir():
            _swap_in(pending, target)
        for stale in target.parent.glob(f"{target.name}.old-*") if target.parent.is_dir() else []:
            shutil.rmtree(stale, ignore_errors=True)
        if not target.is_dir():
            return None
        entry = str(target)
        if entry not in sys.path:
            sys.path.insert(0, entry)
            importlib.invalidate_caches()
        from .status import clear_cache  # status imports this module

        clear_cache()
        return target
    except Exception:  # noqa: BLE001 - the plugin must load whatever happens here
        return None


# --------------------------------------------------------------------------------------------
# Which Python QGIS runs
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SysInfo:
    """What :func:`python_executable` needs to know about the running interpreter."""

    executable: str
    exec_prefix: str
    prefix: str
    version: Tuple[int, int]
    environ: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def current(cls) -> SysInfo:
        """This Python's platform, version and QGIS profile facts."""
        return cls(
            executable=sys.executable or "",
            exec_prefix=sys.exec_prefix,
            prefix=sys.prefix,
            version=(sys.version_info[0], sys.version_info[1]),
            environ=dict(os.environ),
        )


def _looks_like_python(path: str) -> bool:
    return bool(re.fullmatch(r"python(3(\.\d+)?)?(\.exe)?", os.path.basename(path).lower()))


def python_candidates(platform: str, sys_info: SysInfo) -> List[Path]:
    """Where QGIS's interpreter may be, best first (see :func:`python_executable`)."""
    major, minor = sys_info.version
    exe = sys_info.executable
    out: List[Path] = []
    if exe and _looks_like_python(exe):
        out.append(Path(exe))
    if platform.startswith("win"):
        # OSGeo4W and the standalone installer: sys.executable is bin\qgis-bin.exe, Python is
        # apps\PythonXY\python.exe (= sys.exec_prefix); bin\python3.exe is a second copy.
        for prefix in (sys_info.exec_prefix, sys_info.prefix):
            if prefix:
                out += [Path(prefix) / "python.exe", Path(prefix) / "python3.exe"]
        root = sys_info.environ.get("OSGEO4W_ROOT")
        if not root and exe:
            root = str(Path(exe).parent.parent)  # <root>\bin\qgis-bin.exe
        if root:
            apps = Path(root) / "apps" / f"Python{major}{minor}"
            out += [apps / "python.exe", apps / "python3.exe", Path(root) / "bin" / "python3.exe"]
            out.append(Path(root) / "bin" / "python.exe")
        if exe:
            out += [Path(exe).parent / "python3.exe", Path(exe).parent / "python.exe"]
    elif platform == "darwin":
        # QGIS.app: sys.executable is QGIS.app/Contents/MacOS/QGIS; Python is MacOS/bin/python3
        # (official bundle) or <sys.prefix>/bin/python3 (framework builds).
        if exe:
            out += [Path(exe).parent / "bin" / f"python{major}.{minor}"]
            out += [Path(exe).parent / "bin" / "python3"]
        for prefix in (sys_info.exec_prefix, sys_info.prefix):
            if prefix:
                out += [Path(prefix) / "bin" / f"python{major}.{minor}"]
                out += [Path(prefix) / "bin" / "python3"]
    else:
        for prefix in (sys_info.exec_prefix, sys_info.prefix):
            if prefix:
                out += [Path(prefix) / "bin" / f"python{major}.{minor}"]
                out += [Path(prefix) / "bin" / "python3"]
        out += [Path(f"/usr/bin/python{major}.{minor}"), Path("/usr/bin/python3")]
    seen, unique = set(), []
    for path in out:
        if str(path) not in seen:
            seen.add(str(path))
            unique.append(path)
    return unique


def python_executable(platform: str, sys_info: SysInfo) -> Path:
    """The Python interpreter of the running QGIS, which pip must run with.

    ``platform`` is ``sys.platform`` ('linux', 'win32', 'darwin'). Inside QGIS on Windows and
    macOS ``sys.executable`` is the QGIS program, not Python; the interpreter is found from
    ``sys.exec_prefix``/``sys.prefix``, ``OSGEO4W_ROOT`` or the application bundle.
    """
    candidates = python_candidates(platform, sys_info)
    for path in candidates:
        if path.is_file():
            return path
    tried = "\n  ".join(str(p) for p in candidates) or "(nothing to try)"
    raise InstallError(
        f"Cannot find the Python interpreter QGIS runs (Python "
        f"{sys_info.version[0]}.{sys_info.version[1]}, sys.executable={sys_info.executable!r}). "
        f"Tried:\n  {tried}\nInstall the requirements by hand with that interpreter "
        "(see docs/user_guide.md, 'Install in QGIS')."
    )


_CHECKED: Dict[Tuple[str, float], Dict[str, str]] = {}


def check_interpreter(python: PathLike, timeout: float = 60.0) -> Dict[str, str]:
    """Run ``python`` once: its version and pip's.

    Raises InstallError if either is missing. A good answer is remembered (per path and modification
    time).
    """
    try:
        key = (str(python), os.stat(python).st_mtime)
    except OSError:
        key = (str(python), -1.0)
    if key in _CHECKED:
        return dict(_CHECKED[key])
    code = (
        "import sys, json\n"
        "try:\n import pip; p = pip.__version__\n"
        "except Exception: p = ''\n"
        "print(json.dumps({'python': '%d.%d.%d' % sys.version_info[:3], 'pip': p}))\n"
    )
    try:
        done = subprocess.run(  # nosec B603
            [str(python), "-I", "-c", code],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_pip_env(None),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"Cannot run QGIS's Python {python}: {exc}") from exc
    try:
        info = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise InstallError(
            f"{python} did not run as a Python interpreter (exit {done.returncode}): "
            f"{(done.stderr or done.stdout).strip()[-500:]}"
        ) from None
    if not info.get("pip"):
        hint = (
            "sudo apt install python3-pip"
            if sys.platform.startswith("linux")
            else f'"{python}" -m ensurepip --user'
        )
        raise InstallError(f"QGIS's Python {python} has no pip. Install it ({hint}), then retry.")
    _CHECKED[key] = dict(info)
    return info


# --------------------------------------------------------------------------------------------
# Running pip
# --------------------------------------------------------------------------------------------
def pip_command(
    python: PathLike,
    target: PathLike,
    requirements: Sequence[str],
    constraints_file: PathLike,
    *,
    index_url: Optional[str] = None,
    extra_index_urls: Sequence[str] = (),
    find_links: Sequence[PathLike] = (),
    no_index: bool = False,
    isolated: bool = False,
) -> List[str]:
    """The pip command line that installs ``requirements`` into ``target``.

    It never replaces what ``constraints_file`` pins. ``isolated`` ignores pip's environment
    variables and user configuration (tests).
    """
    if not requirements:
        raise ValueError("nothing to install")
    cmd = [str(python), "-m", "pip"]
    if isolated:
        cmd.append("--isolated")
    cmd += [
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--no-warn-script-location",
        "--progress-bar",
        "off",
        "--prefer-binary",
        "--target",
        str(target),
        "-c",
        str(constraints_file),
        "--upgrade-strategy",
        "only-if-needed",
    ]
    if no_index:
        cmd.append("--no-index")
    elif index_url:
        cmd += ["--index-url", index_url]
    for url in extra_index_urls:
        cmd += ["--extra-index-url", url]
    for link in find_links:
        cmd += ["--find-links", str(link)]
    return cmd + list(requirements)


def _pip_env(env: Optional[Mapping[str, str]]) -> Dict[str, str]:
    out = dict(os.environ if env is None else env)
    out["PYTHONIOENCODING"] = "utf-8"
    out["PYTHONUNBUFFERED"] = "1"
    out["PIP_NO_INPUT"] = "1"
    for key in ("PIP_USER", "PIP_REQUIRE_VIRTUALENV", "PIP_TARGET", "PIP_PREFIX"):
        out.pop(key, None)  # they conflict with --target
    return out


def _terminate(proc: subprocess.Popen) -> None:
    """Stop pip and whatever it started (builds, downloads)."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
        proc.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        try:
            if os.name == "posix":
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        except OSError:
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _pip_fraction(line: str, state: Dict[str, float]) -> Optional[Tuple[float, str]]:
    """A rough fraction done from pip's output (pip prints no totals)."""
    text = line.strip()
    if text.startswith("Collecting "):
        state["n"] = state.get("n", 0) + 1
        return 0.05 + 0.65 * (1 - 0.8 ** state["n"]), text
    if text.startswith(("Downloading ", "Using cached ", "Processing ")):
        state["n"] = state.get("n", 0) + 0.5
        return 0.05 + 0.65 * (1 - 0.8 ** state["n"]), text
    if text.startswith("Installing collected packages"):
        return 0.8, "Installing packages…"
    if text.startswith("Successfully installed"):
        return 0.95, "Installed"
    return None


def explain_pip_failure(output: str, constraints: Sequence[str] = ()) -> str:
    """A message a user can act on, from pip's output."""
    pinned = {canonical_name(_requirement_name(c)): c for c in constraints}
    lines = output.splitlines()
    tail = "\n".join(lines[-25:])
    conflicts = []
    for line in lines:
        m = re.search(r"(\S+) ([^ ]+) depends on ([A-Za-z0-9._-]+)(\S*)", line)
        if m and canonical_name(m.group(3)) in pinned:
            shipped = pinned[canonical_name(m.group(3))].split("==", 1)[1]
            conflicts.append(
                f"{m.group(1)} {m.group(2)} needs {m.group(3)}{m.group(4)}, "
                f"but QGIS ships {m.group(3)} {shipped}"
            )
    if conflicts or "ResolutionImpossible" in output or "conflicting dependencies" in output:
        what = "; ".join(dict.fromkeys(conflicts)) or "the requirements conflict"
        return (
            f"pip refused to install: {what}. S4 never replaces packages QGIS ships (that would "
            "break QGIS), so this requirement cannot be installed into this QGIS. Use a QGIS "
            "release that ships a suitable version, or an older version of the package.\n\n"
            f"pip's output ends with:\n{tail}"
        )
    missing = re.search(r"No matching distribution found for (\S+)", output)
    if missing:
        name = missing.group(1)
        return (
            f"pip found no build of {name} for this Python "
            f"({sys.version_info[0]}.{sys.version_info[1]}) and platform at the chosen index. "
            "Choose another torch build (CPU/CUDA), or check the internet connection.\n\n"
            f"pip's output ends with:\n{tail}"
        )
    if re.search(r"NewConnectionError|Failed to establish|ProxyError|timed out|SSLError", output):
        return (
            "pip could not reach the package index: check the internet connection (behind a "
            "proxy, set HTTPS_PROXY before starting QGIS).\n\n"
            f"pip's output ends with:\n{tail}"
        )
    return f"pip failed. Its output ends with:\n{tail}"


def run_pip(
    cmd: Sequence[str],
    cancel: Optional[Cancel] = None,
    log: Optional[Log] = None,
    progress: Optional[Progress] = None,
    env: Optional[Mapping[str, str]] = None,
    constraints: Sequence[str] = (),
    poll: float = 0.1,
) -> str:
    """Run pip, streaming its output to ``log`` line by line; return the whole output.

    ``cancel()`` is polled while pip runs; when it returns True pip (and what it started) is
    killed and ``Cancelled`` raised. A failing pip raises :class:`InstallError` with an
    explanation (:func:`explain_pip_failure`).
    """
    popen_kw: Dict[str, Any] = {}
    if os.name == "posix":
        popen_kw["start_new_session"] = True  # its own process group: cancel kills it all
    else:
        popen_kw["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0) | getattr(
            subprocess, "CREATE_NO_WINDOW", 0
        )
    if log:
        log("$ " + subprocess.list2cmdline(list(cmd)))
    try:
        proc = subprocess.Popen(  # nosec B603
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=_pip_env(env),
            **popen_kw,
        )
    except OSError as exc:
        raise InstallError(f"Cannot start pip ({cmd[0]}): {exc}") from exc

    lines: queue.Queue[Optional[str]] = queue.Queue()

    def reader() -> None:
        for line in proc.stdout or ():
            lines.put(line.rstrip("\r\n"))
        lines.put(None)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    output: List[str] = []
    state: Dict[str, float] = {}
    finished = False
    while not finished:
        if cancel is not None and cancel():
            _terminate(proc)
            thread.join(timeout=5)
            if log:
                log("Cancelled: pip stopped.")
            raise Cancelled("Installation cancelled: pip was stopped; nothing was changed.")
        try:
            line = lines.get(timeout=poll)
        except queue.Empty:
            continue
        if line is None:
            finished = True
            break
        output.append(line)
        if log:
            log(line)
        step = _pip_fraction(line, state)
        if progress is not None and step is not None:
            progress(step[0], step[1], None)
    code = proc.wait()
    text = "\n".join(output)
    if code != 0:
        raise InstallError(explain_pip_failure(text, constraints))
    return text


# --------------------------------------------------------------------------------------------
# Installing
# --------------------------------------------------------------------------------------------
def _distributions(folder: Path) -> List[metadata.Distribution]:
    return list(metadata.distributions(path=[str(folder)]))


def _top_level(dist: metadata.Distribution) -> List[str]:
    text = dist.read_text("top_level.txt")
    if text:
        return [n.strip() for n in text.splitlines() if n.strip()]
    names = set()
    for file in dist.files or []:
        head = file.parts[0] if file.parts else ""
        if not head or head.endswith((".dist-info", ".data")) or head in ("..", "bin"):
            continue
        names.add(head[:-3] if head.endswith(".py") else head)
    return sorted(names)


def remove_distribution(folder: Path, dist: metadata.Distribution) -> None:
    """Delete one installed distribution (files listed in its RECORD + its metadata folder)."""
    root = folder.resolve()
    dirs = set()
    for file in dist.files or []:
        path = (folder / file).resolve()
        if os.path.commonpath([str(root), str(path)]) != str(root):
            continue  # never delete outside the folder
        if path.is_file() or path.is_symlink():
            path.unlink()
        for parent in path.parents:
            if parent == root:
                break
            dirs.add(parent)
    info = getattr(dist, "_path", None)
    if info is not None and Path(info).exists():
        shutil.rmtree(info, ignore_errors=True)
    for directory in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
        pycache = directory / "__pycache__"
        if pycache.is_dir() and not any(p.suffix != ".pyc" for p in pycache.iterdir()):
            shutil.rmtree(pycache, ignore_errors=True)
        try:
            directory.rmdir()  # only if empty
        except OSError:
            pass


def prune_pinned(folder: Path, constraints: Sequence[str]) -> List[str]:
    """Remove every pinned package pip put into ``folder`` anyway; the removed ``name==version``.

    ``--target`` installs all dependencies; QGIS's own copy is used instead.
    """
    pinned = {canonical_name(_requirement_name(c)) for c in constraints}
    removed = []
    for dist in _distributions(folder):
        name = dist_name(dist)
        if canonical_name(name) in pinned:
            removed.append(f"{name}=={dist.version}")
            remove_distribution(folder, dist)
    return sorted(removed, key=str.lower)


# Loaded in nearly every Python (setuptools' .pth hook) and irrelevant to the engine: a new
# copy of them in the folder does not call for a restart.
_NO_RESTART = frozenset({"__pycache__", "_distutils_hack", "setuptools", "pkg_resources"})


@dataclass
class InstallResult:
    """What an install did."""

    target: Path
    installed: List[str]
    removed_pinned: List[str]
    active: bool  #: the new folder is in place now (else it waits as ``.pending``)
    restart_required: bool
    reloaded: List[str]  #: modules already imported that the new folder would replace

    def summary(self) -> str:
        """One line for the user: what was installed where, or why not."""
        lines = [f"Installed into {self.target}:"]
        lines += [f"  {item}" for item in self.installed] or ["  (nothing)"]
        if self.removed_pinned:
            lines.append(
                "Kept QGIS's own " + ", ".join(self.removed_pinned) + " (removed pip's copies)."
            )
        if self.restart_required:
            why = (
                f" ({', '.join(self.reloaded)} already loaded)"
                if self.reloaded
                else " (the old folder is still in use)"
            )
            lines.append(f"Restart QGIS to use them{why}.")
        else:
            lines.append("Ready: no restart needed.")
        return "\n".join(lines)


def install(
    requirements: Sequence[str],
    target: PathLike,
    *,
    python: PathLike,
    constraints: Sequence[str],
    index_url: Optional[str] = None,
    extra_index_urls: Sequence[str] = (),
    find_links: Sequence[PathLike] = (),
    no_index: bool = False,
    isolated: bool = False,
    env: Optional[Mapping[str, str]] = None,
    cancel: Optional[Cancel] = None,
    log: Optional[Log] = None,
    progress: Optional[Progress] = None,
    record: Optional[Mapping[str, object]] = None,
    expect_python: Optional[Tuple[int, int]] = (sys.version_info[0], sys.version_info[1]),
) -> InstallResult:
    """Install ``requirements`` with pip into ``target``, swapped in only when complete.

    pip installs into a fresh staging folder beside ``target``, pinned packages that landed there
    anyway are removed, then it is swapped in as ``target`` (or left as ``target.pending`` for the
    next QGIS start if the current folder is in use). The previous folder stays intact until the new
    one is complete: a failed or cancelled install changes nothing. ``python`` is first run once: it
    must have pip and, unless ``expect_python`` is None, be the Python version QGIS runs (wheels for
    another Python would not load).
    """
    target = Path(target)
    found = check_interpreter(python)
    if expect_python is not None:
        version = tuple(int(v) for v in found["python"].split(".")[:2])
        if version != tuple(expect_python):
            raise InstallError(
                f"{python} is Python {found['python']}, but QGIS runs Python "
                f"{expect_python[0]}.{expect_python[1]}: it is not QGIS's interpreter. "
                "Packages installed with it would not load in QGIS."
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.partial-", dir=target.parent))
    try:
        constraints_file = staging / CONSTRAINTS_NAME
        constraints_file.write_text("".join(c + "\n" for c in constraints), encoding="utf-8")
        cmd = pip_command(
            python,
            staging,
            requirements,
            constraints_file,
            index_url=index_url,
            extra_index_urls=extra_index_urls,
            find_links=find_links,
            no_index=no_index,
            isolated=isolated,
        )
        if progress:
            progress(0.02, "Starting pip…", None)
        run_pip(cmd, cancel=cancel, log=log, progress=progress, env=env, constraints=constraints)
        if cancel is not None and cancel():
            raise Cancelled("Installation cancelled; nothing was changed.")
        removed = prune_pinned(staging, constraints)
        left = {
            canonical_name(dist_name(d))
            for d in _distributions(staging)
            if canonical_name(dist_name(d))
            in {canonical_name(_requirement_name(c)) for c in constraints}
        }
        if left:  # pragma: no cover - prune_pinned removes them; belt and braces
            raise InstallError(f"Could not remove pip's copies of {sorted(left)} from {staging}")
        if removed and log:
            log("Removed pip's copies of packages QGIS ships: " + ", ".join(removed))
        dists = _distributions(staging)
        installed = sorted((f"{dist_name(d)}=={d.version}" for d in dists), key=str.lower)
        reloaded = sorted(
            {m for d in dists for m in _top_level(d) if m in sys.modules and m not in _NO_RESTART}
        )
        info: Dict[str, object] = {
            "requirements": list(requirements),
            "constraints": list(constraints),
            "index_url": index_url,
            "extra_index_urls": list(extra_index_urls),
            "python": str(python),
            "installed": installed,
            "removed_pinned": removed,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        info.update(dict(record or {}))
        (staging / INSTALL_RECORD).write_text(json.dumps(info, indent=1), encoding="utf-8")
        if progress:
            progress(0.97, "Activating…", None)
        active = _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if active:
        entry = str(target)
        if entry not in sys.path:
            sys.path.insert(0, entry)
        importlib.invalidate_caches()
    from .status import clear_cache  # status imports this module

    clear_cache()
    if progress:
        progress(1.0, "Done", None)
    return InstallResult(
        target=target,
        installed=installed,
        removed_pinned=removed,
        active=active,
        restart_required=bool(reloaded) or not active,
        reloaded=reloaded,
    )


@dataclass
class InstallPlan:
    """Everything :func:`install` needs: what, where, with which Python, from which index."""

    variant: str
    python: Path
    target: Path
    requirements: List[str]
    constraints: List[str]
    index_url: Optional[str] = None
    extra_index_urls: List[str] = field(default_factory=list)

    def kwargs(self) -> Dict[str, object]:
        """Keyword arguments of :func:`install` (add cancel, log, progress).

        Every field of the plan by its name, the variant in the install record.
        """
        plan = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "variant"}
        return {**plan, "record": {"variant": self.variant}}

    def command_line(self) -> str:
        """The pip command, for display."""
        cmd = pip_command(
            self.python,
            self.target,
            self.requirements or ["(nothing)"],
            self.target.parent / CONSTRAINTS_NAME,
            index_url=self.index_url,
            extra_index_urls=self.extra_index_urls,
        )
        return subprocess.list2cmdline(cmd)


def plan_install(
    variant: str,
    *,
    profile: str = "training",
    target: Optional[Path] = None,
    python: Optional[Path] = None,
    requirements: Optional[Sequence[str]] = None,
    constraints: Optional[Sequence[str]] = None,
    platform: Optional[str] = None,
    installed: Optional[Mapping[str, str]] = None,
) -> InstallPlan:
    """The install of the engine's requirements for torch build ``variant`` into this QGIS.

    ``variant``: 'cpu', 'cu128'...; requirements QGIS already satisfies are left out, what it ships
    is pinned. ``profile`` "mapping": no torch, ONNX Runtime instead (from PyPI; ``variant``
    unused). ``installed`` (name -> version, ``installed_versions(qgis_search_path())``): what
    QGIS's Python has outside S4's dependency folder; the requirements it meets are left out too
    (not what only that folder holds: an install replaces the folder).
    """
    platform = sys.platform if platform is None else platform
    constraints = build_constraints() if constraints is None else list(constraints)
    requirements = profile_requirements(profile, requirements)
    if profile == "mapping":
        variant = "onnx"
    index_url = None if profile == "mapping" else torch_index_url(variant, platform)
    return InstallPlan(
        variant=variant,
        python=python_executable(platform, SysInfo.current()) if python is None else python,
        target=dependency_dir() if target is None else Path(target),
        requirements=[
            r
            for r in requirements_to_install(requirements, constraints)
            if not (installed is not None and requirement_met(r, installed, variant))
        ],
        constraints=list(constraints),
        index_url=index_url,
        # PyPI beside PyTorch's index for the non-torch requirements (tqdm…).
        extra_index_urls=[PYPI_SIMPLE] if index_url else [],
    )


def install_record(target: Optional[Path] = None) -> Dict[str, object]:
    """What the last install into ``target`` recorded (empty if none)."""
    target = dependency_dir() if target is None else Path(target)
    try:
        return json.loads((target / INSTALL_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}

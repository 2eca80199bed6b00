"""The engine's Python dependencies inside QGIS: what, how, and whether they load.

What to install, installing it with pip, and whether the engine can load.

- :mod:`.catalogue`: the requirements, the install profiles ("mapping only (ONNX Runtime)",
  "training (PyTorch, CPU or CUDA)"), what QGIS ships and pip must never replace, the PyTorch
  build for the machine;
- :mod:`.installer`: the dependency folder in the QGIS profile, QGIS's own Python, pip;
- :mod:`.status`: which engine modules import, and the message that says how to fix it;
- :mod:`.task`: the background ``QgsTask`` the dependency dialog runs (imports QGIS).

Everything but :mod:`.task` is plain Python, testable without QGIS. The names below are
re-exported so callers write ``from s4_qgis import dependencies as deps``.
"""

from __future__ import annotations

import importlib  # noqa: F401 (tests patch deps.importlib.util)
import importlib.util  # noqa: F401

from .catalogue import (  # noqa: F401
    CONSTRAINTS_NAME,
    CUDA_VARIANTS,
    DEFAULT_CUDA_VARIANT,
    ENGINE_MODULES,
    ENV_DIR,
    INSTALL_RECORD,
    ONNXRUNTIME_REQUIREMENT,
    PINNED,
    PLUGIN_ROOT,
    PROFILES,
    PYPI_SIMPLE,
    REQUIREMENTS_FILE,
    TORCH_INDEX,
    InstallError,
    NvidiaInfo,
    build_constraints,
    canonical_name,
    default_variant,
    detect_nvidia,
    engine_requirements,
    installed_versions,
    profile_requirements,
    qgis_search_path,
    requirement_met,
    requirements_to_install,
    torch_index_url,
)
from .installer import (  # noqa: F401
    InstallPlan,
    InstallResult,
    SysInfo,
    activate_dependency_folder,
    check_interpreter,
    default_profile_dir,
    dependency_dir,
    explain_pip_failure,
    fallback_profile_dir,
    install,
    install_record,
    pip_command,
    plan_install,
    platform_tag,
    prune_pinned,
    python_candidates,
    python_executable,
    remove_distribution,
    run_pip,
    target_dir,
)
from .status import (  # noqa: F401
    ModuleStatus,
    clear_cache,
    engine_missing_message,
    engine_status,
    missing_engine_modules,
    onnxruntime_missing_message,
    torch_missing,
)

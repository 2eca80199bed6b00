"""Shared fixtures. QGIS runs headless (offscreen) under pytest-qgis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# GDAL must not write .aux.xml sidecars next to the read-only real data (QGIS computes stats).
os.environ["GDAL_PAM_ENABLED"] = "NO"
os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")
os.makedirs(os.environ["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)

ROOT = Path(__file__).resolve().parent.parent
QGIS_PLUGINS = Path("/usr/share/qgis/python/plugins")  # where `processing` lives on Debian
for path in (ROOT, QGIS_PLUGINS):
    if path.is_dir() and str(path) not in sys.path:
        sys.path.insert(0, str(path))


# `make test-qgis340` / `test-qgis344` (QGIS 3.40 / 3.44 in a Debian chroot, no torch) set
# S4_WITHOUT_TORCH=1: the tests that need torch (marker `torch`, a fixture that trains a model, or
# a parameter naming such a fixture for request.getfixturevalue) are skipped there. Without it
# (`make test`) every test runs and a missing torch fails them.
TORCH_FIXTURES = {"demo_model", "demo_model_s1"}


def _needs_torch(item: pytest.Item) -> bool:
    if item.get_closest_marker("torch") or TORCH_FIXTURES & set(item.fixturenames):
        return True
    params = getattr(item, "callspec", None)
    values = params.params.values() if params is not None else ()
    return any(isinstance(v, str) and v in TORCH_FIXTURES for v in values)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("S4_WITHOUT_TORCH") != "1":
        return
    skip = pytest.mark.skip(
        reason="needs torch (S4_WITHOUT_TORCH=1: the chroot QGIS runs have none)"
    )
    for item in items:
        if _needs_torch(item):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def real_data() -> Path:
    """``$S4_REAL_DATA`` (CI sets it to ../shared/data). Unset: skip; set but missing: fail."""
    value = os.environ.get("S4_REAL_DATA")
    if not value:
        pytest.skip("S4_REAL_DATA is not set (CI sets it to ../shared/data)")
    path = Path(value)
    if not (path / "worldcereal" / "flanders_2018").is_dir():
        pytest.fail(
            f"S4_REAL_DATA={value} but {path}/worldcereal/flanders_2018 is missing: "
            "the real Sentinel data must be beside the checkout (../shared/data)"
        )
    return path


@pytest.fixture(scope="session")
def flanders(real_data: Path) -> Path:
    return real_data / "worldcereal" / "flanders_2018"


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory):
    """A 32 x 32 px demo scene with 8 S2 and 10 S1 dates (seconds to make, shared by tests)."""
    from s4_core.demo import make_demo_scene

    return make_demo_scene(tmp_path_factory.mktemp("tiny_demo"), seed=0, size=32, n_s2=8, n_s1=10)


def _finetune(scene, out: Path, modality: str) -> Path:
    from s4_core import api

    api.finetune(
        scene.s1_dir if modality == "s1" else None,
        scene.s2_dir if modality == "s2" else None,
        scene.parcels,
        scene.class_field,
        out,
        modality=modality,
        epochs=1,
        crop_size=16,
        seed=0,
        device="cpu",
    )
    return out


@pytest.fixture(scope="session")
def demo_model(tiny_demo, tmp_path_factory) -> Path:
    """A fine-tuned S2 checkpoint on the 32 x 32 px demo scene (1 epoch, 16 px crops)."""
    return _finetune(tiny_demo, tmp_path_factory.mktemp("models") / "demo_s2.pt", "s2")


@pytest.fixture(scope="session")
def demo_model_s1(tiny_demo, tmp_path_factory) -> Path:
    """The same for Sentinel-1 inference."""
    return _finetune(tiny_demo, tmp_path_factory.mktemp("models_s1") / "demo_s1.pt", "s1")


@pytest.fixture(scope="session")
def plugin_zip(tmp_path_factory, repo_root) -> Path:
    """dist-style s4.zip built once by scripts/package.py (tests only read it)."""
    out = tmp_path_factory.mktemp("dist") / "s4.zip"
    subprocess.run(
        [sys.executable, str(repo_root / "scripts" / "package.py"), "--out", str(out)], check=True
    )
    return out


@pytest.fixture(scope="session")
def stac_catalog(flanders: Path, tmp_path_factory):
    """A real STAC API (rustac) + a COG server on 127.0.0.1, serving a few real Flanders dates.

    Yields a namespace: ``url`` (STAC API), ``assets`` (the AssetServer: faults, byte counts),
    ``truth`` (the source arrays and grids per date).
    """
    from types import SimpleNamespace

    from stac_server import AssetServer, RustacServer, build_catalog

    root = tmp_path_factory.mktemp("stac_catalog")
    assets = AssetServer(root / "cogs")
    truth = build_catalog(flanders, root / "cogs", assets.url)
    api = RustacServer(truth["files"], root)
    try:
        yield SimpleNamespace(url=api.url, assets=assets, truth=truth, root=root)
    finally:
        api.close()
        assets.close()

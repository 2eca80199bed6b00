#!/usr/bin/env bash
# `make test-numpy2`: the engine's tests on the libraries QGIS 3.40+ and QGIS 4 run with
# (numpy 2, rasterio 1.4 / GDAL 3.10, affine 3), in a venv of PyPI wheels beside the QGIS 3.22
# one (whose numpy 1.24 must never be replaced). QGIS is not in this venv: the plugin's tests run
# in `make test` (QGIS 3.22) and `make test-qgis340` (QGIS 3.40, no torch there).
# Built once at S4_NUMPY2_VENV (default /opt/s4-numpy2, outside the repo) and reused while its
# stamp matches the package list and requirements/engine.txt; then the tests run.
# Parameters (environment): PYTHON_SYS, TORCH_VERSION, TORCH_INDEX_URL (as `make env`),
# S4_NUMPY2_VENV, PYTEST_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON_SYS="${PYTHON_SYS:-/usr/bin/python3}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
TORCH_INDEX_URL="${TORCH_INDEX_URL:-}"
VENV="${S4_NUMPY2_VENV:-/opt/s4-numpy2}"
# what differs from the QGIS 3.22 venv: numpy 2, the rasterio / fiona wheels (their own GDAL),
# affine 3; the rest as requirements/dev.txt (onnx >= 1.18 is the numpy 2 build)
PACKAGES=("numpy>=2,<3" "rasterio>=1.4" "fiona>=1.10" "affine>=3" "tqdm" "pytest" "pyproj"
  "matplotlib" "scikit-learn" "rustac==0.9.18" "onnx>=1.18" "onnxruntime==1.32.0")
want="$(printf '%s\n' "${PACKAGES[@]}" | cat - requirements/engine.txt | sha256sum | cut -c1-16) torch $TORCH_VERSION"
stamp="$VENV/.s4-numpy2-ok"

if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  start=$(date +%s)
  echo "numpy 2 venv: $VENV (numpy 2, rasterio 1.4, affine 3, torch $TORCH_VERSION)"
  rm -rf "$VENV"
  "$PYTHON_SYS" -m venv "$VENV"
  PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
  if [ -n "$TORCH_INDEX_URL" ]; then
    "${PIP[@]}" install "torch==$TORCH_VERSION" --index-url "$TORCH_INDEX_URL"
  else
    "${PIP[@]}" install "torch==$TORCH_VERSION"
  fi
  "${PIP[@]}" install "${PACKAGES[@]}"
  echo "$want" >"$stamp"
  echo "numpy 2 venv built in $(($(date +%s) - start)) s"
fi
"$VENV/bin/python" -c "import numpy, torch, rasterio, affine; print('numpy', numpy.__version__, '| torch', torch.__version__, '| rasterio', rasterio.__version__, '/ GDAL', rasterio.__gdal_version__, '| affine', affine.__version__)"

# Every engine test; the plugin's (they need QGIS, or check the QGIS 3.22 venv's tools) are
# left to `make test`. The engine's own use of what affine 3 deprecates fails the test that
# reaches it; rasterio 1.4's own use is not shown.
mkdir -p -m 700 "${XDG_RUNTIME_DIR:-/tmp/runtime-$(id -u)}"
# shellcheck disable=SC2086
PYTHONPATH="$PWD" "$VENV/bin/python" -m pytest -p no:cacheprovider \
  --ignore=tests/qgis --ignore=tests/test_plugin.py --ignore=tests/test_plugin_without_torch.py \
  --ignore=tests/test_dependencies.py --ignore=tests/test_diagnostics.py \
  --ignore=tests/test_qt6_compat.py --ignore=tests/test_package_checks.py \
  -o $'filterwarnings=ignore::PendingDeprecationWarning:rasterio\nerror::PendingDeprecationWarning:s4_core' \
  -m "not qgis" tests ${PYTEST_ARGS:-}

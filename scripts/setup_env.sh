#!/usr/bin/env bash
# `make env`: system packages (QGIS + Python bindings + rasterio/fiona on QGIS's GDAL), then a
# venv on QGIS's interpreter with the pinned Python dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON_SYS="${PYTHON_SYS:-/usr/bin/python3}"
VENV="${VENV:-.venv}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
TORCH_INDEX_URL="${TORCH_INDEX_URL:-}"
APT_PACKAGES="qgis python3-qgis qgis-providers python3-rasterio python3-fiona python3-venv python3-pip xvfb pyqt5-dev-tools python3-matplotlib"

missing=()
for pkg in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "S4 needs QGIS >= 3.22 with its Python bindings, rasterio and fiona built on QGIS's GDAL." >&2
    echo "This is not a Debian/Ubuntu system: install them with your package manager, then" >&2
    echo "run: make env PYTHON_SYS=/path/to/the/python/qgis/uses" >&2
    exit 1
  fi
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      SUDO="sudo -n"
    else
      echo "Missing system packages: ${missing[*]}" >&2
      echo "Install them (as root), then run make again:" >&2
      echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  echo "Installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/tmp/s4-apt.log 2>&1 || { tail -30 /tmp/s4-apt.log >&2; exit 1; }
fi

"$PYTHON_SYS" -c "import qgis.core, rasterio, fiona" 2>/dev/null || {
  echo "$PYTHON_SYS cannot import qgis.core, rasterio and fiona: is it the interpreter QGIS uses?" >&2
  exit 1
}

if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating $VENV on $PYTHON_SYS (with system site packages: qgis, PyQt5, rasterio)"
  "$PYTHON_SYS" -m venv --system-site-packages "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

# What QGIS ships is pinned so pip never replaces it (numpy 2 breaks QGIS 3.22's bindings).
constraints="$VENV/s4-constraints.txt"
"$PYTHON_SYS" - >"$constraints" <<'PY'
import importlib.metadata as md
for name in ("numpy", "rasterio", "fiona", "affine", "click", "attrs", "certifi", "PyQt5"):
    try:
        print(f"{name}=={md.version(name)}")
    except md.PackageNotFoundError:
        pass
PY

# torch: the pinned version; TORCH_INDEX_URL picks a build (PyTorch's CPU or cuXXX wheel index).
if [ -n "$TORCH_INDEX_URL" ]; then
  echo "Installing torch==$TORCH_VERSION from $TORCH_INDEX_URL"
  "${PIP[@]}" install -c "$constraints" "torch==$TORCH_VERSION" --index-url "$TORCH_INDEX_URL"
elif ! "$VENV/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
  echo "Installing torch==$TORCH_VERSION"
  "${PIP[@]}" install -c "$constraints" "torch==$TORCH_VERSION"
fi
"${PIP[@]}" install -c "$constraints" -e . -r requirements/dev.txt
"$VENV/bin/python" -c "import numpy, torch, rasterio, fiona, qgis.core, s4_core; print('env ok: numpy', numpy.__version__, '| torch', torch.__version__, '| rasterio', rasterio.__version__, '| QGIS', qgis.core.Qgis.QGIS_VERSION)"
# PyQt6 only for the Qt 6 check (tests/test_qt6_compat.py): never imported next to QGIS's PyQt5.
"$VENV/bin/python" -c "from PyQt6.QtCore import PYQT_VERSION_STR, QT_VERSION_STR; print('PyQt6', PYQT_VERSION_STR, '(Qt', QT_VERSION_STR + ') for the Qt 6 check')"

#!/usr/bin/env bash
# `make test-qgis340` / `make test-qgis344`: the QGIS tests (pytest-qgis, processing.run,
# qgis_process from the packaged zip) in the Debian chroot of `make qgis340-env` (trixie: QGIS 3.40
# LTR / Python 3.13) or `make qgis344-env` (sid: QGIS 3.44 / Python 3.14), headless. Parameters
# as in qgis_chroot_env.sh (S4_CHROOT_SUITE, S4_CHROOT_ROOT, S4_CHROOT_STAMP); the test selection
# is S4_CHROOT_TESTS (default below).
# The chroot has no torch (PyPI's torch for Python 3.13/3.14 is a multi-GB CUDA build):
# S4_WITHOUT_TORCH=1 skips the tests that train or run a model (tests/conftest.py); every other
# QGIS test runs, and the engine's torch-free vector export / evaluation tests
# (tests/test_vector_evaluate.py), the STAC fetch against local servers (tests/test_stac.py,
# rustac from the chroot's venv; rasterio 1.4 / GDAL 3.10 there) and qgis_process run as an
# ordinary user (tests/test_faults_as_user.py). The checkout is bind-mounted at /s4 and
# unmounted on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
SUITE="${S4_CHROOT_SUITE:-trixie}"
ROOT="${S4_CHROOT_ROOT:-/opt/s4-$SUITE}"
STAMP="$ROOT/${S4_CHROOT_STAMP:-.s4-$SUITE-ok}"
[ -f "$STAMP" ] || { echo "No QGIS chroot ($SUITE) at $ROOT: build it first (make qgis340-env / qgis344-env)" >&2; exit 1; }
TESTS="${S4_CHROOT_TESTS:-tests/qgis tests/test_plugin.py tests/test_plugin_without_torch.py tests/test_package.py tests/test_vector_evaluate.py tests/test_stac.py tests/test_faults_as_user.py}"

# shellcheck source=scripts/qgis_chroot_mounts.sh
source scripts/qgis_chroot_mounts.sh
trap 's4_umount' EXIT
s4_mount "$ROOT" "$PWD"
# The real data (S4_REAL_DATA, set by .ci/run), read-only at /s4-data: the fetch tests run on it.
data=""
if [ -n "${S4_REAL_DATA:-}" ] && [ -d "$S4_REAL_DATA" ]; then
  mkdir -p "$ROOT/s4-data"
  mount --bind "$S4_REAL_DATA" "$ROOT/s4-data" && S4_MOUNTED+=("$ROOT/s4-data")
  mount -o remount,bind,ro "$ROOT/s4-data"
  data=/s4-data
elif [ -n "${S4_REAL_DATA:-}" ]; then
  data="$S4_REAL_DATA"  # missing: the realdata tests fail loudly, as in make test
fi
# shellcheck disable=SC2086
chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/opt/s4-venv/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen GDAL_PAM_ENABLED=NO XDG_RUNTIME_DIR=/tmp/runtime-root \
  QGIS_PROCESS=/usr/bin/qgis_process.bin S4_WITHOUT_TORCH=1 CI="${CI:-}" S4_REAL_DATA="$data" \
  bash -c "mkdir -p -m 700 /tmp/runtime-root && cd /s4 &&
    python -c 'import qgis.core, sys; print(\"QGIS\", qgis.core.Qgis.QGIS_VERSION, \"| Python\", sys.version.split()[0])' &&
    python -m pytest -p no:cacheprovider $TESTS ${PYTEST_ARGS:-}"

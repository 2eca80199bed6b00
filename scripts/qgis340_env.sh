#!/usr/bin/env bash
# `make qgis340-env`: a Debian trixie chroot with QGIS 3.40 LTR / Python 3.13 from Debian's
# packages (no torch; pytest-qgis and rustac wheels from PyPI), for `make test-qgis340`. Built
# once at S4_TRIXIE_ROOT (outside the repo) and reused while its stamp is present. Needs root.
set -euo pipefail
ROOT="${S4_TRIXIE_ROOT:-/opt/s4-trixie}"
MIRROR="${S4_TRIXIE_MIRROR:-http://deb.debian.org/debian}"
STAMP="$ROOT/.s4-qgis340-ok-2"  # -2: with rustac
PACKAGES="qgis python3-qgis qgis-providers python3-rasterio python3-fiona python3-numpy python3-pytest python3-tqdm python3-matplotlib python3-venv python3-pip ca-certificates"

if [ -f "$STAMP" ]; then
  echo "QGIS 3.40 chroot: $ROOT (reused; remove $STAMP to rebuild)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "make qgis340-env needs root (debootstrap and chroot)." >&2
  exit 1
fi
start=$(date +%s)
if ! command -v debootstrap >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
log=/tmp/s4-qgis340-env.log
: >"$log"
if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
  echo "debootstrap trixie -> $ROOT (log: $log)"
  if grep -q " $ROOT/" /proc/mounts; then
    echo "Something is still mounted under $ROOT (an interrupted run?): unmount it first." >&2
    exit 1
  fi
  rm -rf --one-file-system "$ROOT"
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -f "$keyring" ] || keyring=""
  debootstrap --variant=minbase ${keyring:+--keyring=$keyring} trixie "$ROOT" "$MIRROR" >>"$log" 2>&1 ||
    { tail -30 "$log" >&2; exit 1; }
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"

# shellcheck source=scripts/qgis340_mounts.sh
source "$(dirname "$0")/qgis340_mounts.sh"
s4_mount "$ROOT"
trap 's4_umount "$ROOT"' EXIT

echo "apt-get install (trixie): $PACKAGES"
chroot "$ROOT" /usr/bin/env DEBIAN_FRONTEND=noninteractive bash -c \
  "apt-get update -qq && apt-get install -y -qq --no-install-recommends $PACKAGES" >>"$log" 2>&1 ||
  { tail -30 "$log" >&2; exit 1; }
# pytest-qgis (pure Python) from PyPI, downloaded by the host's pip (its proxy and CA settings),
# into a venv on the chroot's Python (qgis, rasterio, fiona, pytest come from Debian).
wheels="$ROOT/tmp/s4-wheels"
rm -rf "$wheels" && mkdir -p "$wheels"
pip_ok=""
for py in "${PYTHON_SYS:-/usr/bin/python3}" python3; do
  if "$py" -m pip --version >/dev/null 2>&1; then pip_ok="$py"; break; fi
done
[ -n "$pip_ok" ] || { echo "No pip on the host to download pytest-qgis" >&2; exit 1; }
"$pip_ok" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
  -d "$wheels" "pytest-qgis${PYTEST_QGIS_VERSION:+==$PYTEST_QGIS_VERSION}" >>"$log" 2>&1 ||
  { tail -30 "$log" >&2; exit 1; }
# rustac (the local STAC API of the fetch tests; abi3 wheel), the version requirements/dev.txt pins
rustac=$(grep -E '^rustac==' "$(dirname "$0")/../requirements/dev.txt" || echo rustac)
"$pip_ok" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
  --python-version 3.13 --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  -d "$wheels" "$rustac" >>"$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
chroot "$ROOT" bash -c "python3 -m venv --system-site-packages /opt/s4-venv &&
  /opt/s4-venv/bin/python -m pip install -q --disable-pip-version-check --no-index --no-deps \
  /tmp/s4-wheels/*.whl" >>"$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
chroot "$ROOT" /usr/bin/env QT_QPA_PLATFORM=offscreen /opt/s4-venv/bin/python -c \
  "import qgis.core, rasterio, fiona, numpy, pytest_qgis, rustac, sys; print('QGIS', qgis.core.Qgis.QGIS_VERSION, '| Python', sys.version.split()[0], '| numpy', numpy.__version__, '| rasterio', rasterio.__version__)"
touch "$STAMP"
echo "QGIS 3.40 chroot built in $(($(date +%s) - start)) s: $ROOT"

#!/usr/bin/env bash
# `make qgis340-env` / `make qgis344-env`: a Debian chroot with the QGIS of one Debian suite
# from Debian's packages (no torch; pytest-qgis and rustac wheels from PyPI), for
# `make test-qgis340` / `make test-qgis344`. Built once at S4_CHROOT_ROOT (outside the repo)
# and reused while its stamp is present. Needs root. Parameters (environment; the Makefile
# sets them per target):
#   S4_CHROOT_SUITE  Debian suite: trixie (QGIS 3.40 LTR, Python 3.13; the default) or sid
#                    (QGIS 3.44 LTR at the time of writing, Python 3.14; moves daily)
#   S4_CHROOT_ROOT   where the chroot lives (default /opt/s4-$S4_CHROOT_SUITE)
#   S4_CHROOT_STAMP  file in the root marking a finished build (default .s4-$S4_CHROOT_SUITE-ok)
#   S4_CHROOT_MIRROR Debian mirror (default http://deb.debian.org/debian)
#   S4_CHROOT_APT_OPTS options for the chroot's apt-get (qgis344-env passes
#                    -oAcquire::Check-Valid-Until=false: sid's Release is valid for a week only,
#                    and a mirror or machine clock off by more refuses it; signatures are checked)
set -euo pipefail
SUITE="${S4_CHROOT_SUITE:-trixie}"
ROOT="${S4_CHROOT_ROOT:-/opt/s4-$SUITE}"
MIRROR="${S4_CHROOT_MIRROR:-http://deb.debian.org/debian}"
APT_OPTS="${S4_CHROOT_APT_OPTS:-}"
STAMP="$ROOT/${S4_CHROOT_STAMP:-.s4-$SUITE-ok}"
PACKAGES="qgis python3-qgis qgis-providers python3-rasterio python3-fiona python3-numpy python3-pytest python3-tqdm python3-matplotlib python3-venv python3-pip ca-certificates"

if [ -f "$STAMP" ]; then
  echo "QGIS chroot ($SUITE): $ROOT (reused; remove $STAMP to rebuild)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "The QGIS chroot ($SUITE) needs root (debootstrap and chroot)." >&2
  exit 1
fi
start=$(date +%s)
if ! command -v debootstrap >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
log=/tmp/s4-qgis-$SUITE-env.log
: >"$log"
if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
  echo "debootstrap $SUITE -> $ROOT (log: $log)"
  if grep -q " $ROOT/" /proc/mounts; then
    echo "Something is still mounted under $ROOT (an interrupted run?): unmount it first." >&2
    exit 1
  fi
  rm -rf --one-file-system "$ROOT"
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -f "$keyring" ] || keyring=""
  debootstrap --variant=minbase ${keyring:+--keyring=$keyring} "$SUITE" "$ROOT" "$MIRROR" >>"$log" 2>&1 ||
    { tail -30 "$log" >&2; exit 1; }
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"

# shellcheck source=scripts/qgis_chroot_mounts.sh
source "$(dirname "$0")/qgis_chroot_mounts.sh"
s4_mount "$ROOT"
trap 's4_umount "$ROOT"' EXIT

echo "apt-get install ($SUITE): $PACKAGES"
chroot "$ROOT" /usr/bin/env DEBIAN_FRONTEND=noninteractive bash -c \
  "apt-get $APT_OPTS update -qq && apt-get $APT_OPTS install -y -qq --no-install-recommends $PACKAGES" >>"$log" 2>&1 ||
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
# rustac (the local STAC API of the fetch tests; abi3 wheel), the version requirements/dev.txt pins,
# for the chroot's Python (3.13 on trixie, 3.14 on sid: the cp311-abi3 wheel serves both)
rustac=$(grep -E '^rustac==' "$(dirname "$0")/../requirements/dev.txt" || echo rustac)
chroot_py=$(chroot "$ROOT" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
"$pip_ok" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
  --python-version "$chroot_py" --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  -d "$wheels" "$rustac" >>"$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
chroot "$ROOT" bash -c "python3 -m venv --system-site-packages /opt/s4-venv &&
  /opt/s4-venv/bin/python -m pip install -q --disable-pip-version-check --no-index --no-deps \
  /tmp/s4-wheels/*.whl" >>"$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
chroot "$ROOT" /usr/bin/env QT_QPA_PLATFORM=offscreen /opt/s4-venv/bin/python -c \
  "import qgis.core, rasterio, fiona, numpy, pytest_qgis, rustac, sys; print('QGIS', qgis.core.Qgis.QGIS_VERSION, '| Python', sys.version.split()[0], '| numpy', numpy.__version__, '| rasterio', rasterio.__version__)"
touch "$STAMP"
echo "QGIS chroot ($SUITE) built in $(($(date +%s) - start)) s: $ROOT"

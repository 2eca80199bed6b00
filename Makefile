# S4 for QGIS. `make demo` and `make test` set everything up on a fresh Debian/Ubuntu machine.
SHELL := /bin/bash
PYTHON_SYS ?= /usr/bin/python3
VENV ?= .venv
PY := $(VENV)/bin/python
# TORCH_INDEX_URL selects a torch build, e.g. PyTorch's cu128 wheel index for a CUDA GPU.
TORCH_VERSION ?= 2.13.0
TORCH_INDEX_URL ?=
export PYTHON_SYS VENV TORCH_VERSION TORCH_INDEX_URL
export QT_QPA_PLATFORM ?= offscreen
# no GDAL .aux.xml sidecars next to input data (QGIS computes statistics when styling)
export GDAL_PAM_ENABLED ?= NO
export XDG_RUNTIME_DIR ?= /tmp/runtime-$(shell id -u)
QGIS_PROCESS ?= /usr/bin/qgis_process.bin
export QGIS_PROCESS
DEMO_DIR ?= demo_out
PYTEST_ARGS ?=

ENV_STAMP := $(VENV)/.s4-env-ok

.PHONY: env test lint typecheck format demo package check-package check-qt6 install clean i18n

env: $(ENV_STAMP)

$(ENV_STAMP): pyproject.toml requirements/dev.txt scripts/setup_env.sh
	@bash scripts/setup_env.sh
	@touch $@

lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy on s4_core and s4_qgis (configuration: pyproject.toml [tool.mypy]). A fresh machine checks
# everything in ~15 s of CPU (44 s wall on 2 busy cores); with its cache (.mypy_cache) ~2 s.
typecheck: env
	$(VENV)/bin/mypy

format: env
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: env lint typecheck
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	$(PY) -m pytest $(PYTEST_ARGS)

demo: env
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	$(PY) scripts/demo.py --out $(DEMO_DIR)

package: env
	$(PY) scripts/package.py --out dist/s4.zip

# The plugin repository's upload checks on the zip: its validator's rules (size, no binaries or
# caches, metadata, licence), a changelog, bandit (high severity fails) and detect-secrets.
check-package: package
	$(PY) scripts/check_package.py dist/s4.zip

# Translations (docs/user_guide.md "Languages"): each language's translations are kept in
# s4_qgis/i18n/s4_<lang>.json (tracked). `make i18n` extracts the template s4.ts from the
# tr()/tr_noop() calls of s4_qgis/ and of the engine's settings labels (s4_core/settings.py),
# then scripts/translations.py brings every s4_<lang>.json in line with it (taking over what a
# translator changed in a newer s4_<lang>.ts) and generates s4_<lang>.ts, and lrelease compiles
# that to the s4_<lang>.qm the plugin loads (tracked). The .ts files are generated, not tracked.
# Needs pylupdate5 (Debian package pyqt5-dev-tools) and lrelease (qttools5-dev-tools); it
# installs nothing itself. `make i18n I18N_NEW=fr` also starts s4_fr.json.
# No `env` dependency: it runs no Python of the venv (the script needs the standard library only).
I18N_DIR := s4_qgis/i18n
# the engine's settings carry the labels QGIS shows (tr_noop-marked, translated by the plugin)
I18N_CORE := s4_core/settings.py
I18N_NEW ?=
PYLUPDATE ?= pylupdate5
LRELEASE ?= lrelease

i18n:
	@command -v $(PYLUPDATE) >/dev/null || { echo "$(PYLUPDATE) not found: apt-get install pyqt5-dev-tools"; exit 1; }
	@command -v $(LRELEASE) >/dev/null || { echo "$(LRELEASE) not found: apt-get install qttools5-dev-tools"; exit 1; }
	@mkdir -p $(I18N_DIR)
	rm -f $(I18N_DIR)/s4.ts
	$(PYLUPDATE) -noobsolete -tr-function tr_noop $$(find s4_qgis -name '*.py' | LC_ALL=C sort) $(I18N_CORE) \
		-ts $(I18N_DIR)/s4.ts
	python3 scripts/translations.py $(I18N_DIR)/s4.ts $(I18N_DIR) $(if $(I18N_NEW),--new $(I18N_NEW))
	@for ts in $(I18N_DIR)/s4_*.ts; do $(LRELEASE) -silent "$$ts" -qm "$${ts%.ts}.qm" || exit 1; done

# QGIS 4 (Qt 6): the plugin's Qt names resolve in PyQt6 and no API removed in Qt 6 is used.
check-qt6: env
	$(PY) scripts/check_qt_compat.py

install: package
	$(PY) scripts/install_plugin.py dist/s4.zip

# The real QGIS desktop under Xvfb with the plugin: dock open, class map loaded -> PNG.
.PHONY: screenshot
screenshot: env
	$(PY) scripts/screenshot.py --out docs/images/qgis_s4.png

# A second real QGIS: 3.40 LTR / Python 3.13 from Debian trixie in a chroot outside the repo
# (debootstrap; built once in 2-6 min, 2.5 GB, reused while $(S4_TRIXIE_ROOT)/.s4-qgis340-ok-2
# exists; needs root).
# test-qgis340 runs the QGIS tests there without torch (tests that need torch are skipped).
# The same scripts build a Debian sid chroot for QGIS 3.44 / Python 3.14 (qgis344-env,
# test-qgis344): on demand only, not in .ci/run (sid moves daily, so a fresh machine's CI must not
# depend on it).
S4_TRIXIE_ROOT ?= /opt/s4-trixie
S4_SID_ROOT ?= /opt/s4-sid
QGIS340 = S4_CHROOT_SUITE=trixie S4_CHROOT_ROOT=$(S4_TRIXIE_ROOT) S4_CHROOT_STAMP=.s4-qgis340-ok-2
QGIS344 = S4_CHROOT_SUITE=sid S4_CHROOT_ROOT=$(S4_SID_ROOT) S4_CHROOT_STAMP=.s4-qgis344-ok-1 \
  S4_CHROOT_APT_OPTS=-oAcquire::Check-Valid-Until=false
# The engine's tests on numpy 2 / rasterio 1.4 / affine 3 (what QGIS 3.40+ and QGIS 4 run), in a
# venv of PyPI wheels at S4_NUMPY2_VENV (default /opt/s4-numpy2; built once, 1-3 min).
.PHONY: test-numpy2
test-numpy2:
	@bash scripts/numpy2_env.sh

.PHONY: qgis340-env test-qgis340 qgis344-env test-qgis344
qgis340-env:
	@$(QGIS340) bash scripts/qgis_chroot_env.sh

test-qgis340: qgis340-env
	@$(QGIS340) bash scripts/qgis_chroot_test.sh

qgis344-env:
	@$(QGIS344) bash scripts/qgis_chroot_env.sh

test-qgis344: qgis344-env
	@$(QGIS344) bash scripts/qgis_chroot_test.sh

clean:
	rm -rf dist build $(DEMO_DIR) .pytest_cache .ruff_cache *.egg-info

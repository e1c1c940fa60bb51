# The README's two commands:
#   make demo   install spatialreno into .venv and run the whole job on the bundled sample district
#   make test   install the test extras (and chromium + GDAL's ogrinfo) and run the whole suite
# Both work on a fresh machine with only Python >= 3.11; they create or reuse .venv.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
OUT    ?= demo_output
SUDO   := $(shell [ "$$(id -u)" = "0" ] || echo sudo)

.PHONY: demo test lint bench sysdeps clean

$(PY):
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), f"spatialreno needs Python >= 3.11, found {sys.version.split()[0]}: make PYTHON=/path/to/python3.11"'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.stamp-demo: pyproject.toml | $(PY)
	$(PIP) install -q -e .
	@touch $@

$(VENV)/.stamp-test: pyproject.toml | $(PY)
	$(PIP) install -q -e '.[test]'
	@touch $@ $(VENV)/.stamp-demo

$(VENV)/.stamp-bench: pyproject.toml | $(PY)
	$(PIP) install -q -e '.[test,bench]'
	@touch $@ $(VENV)/.stamp-test $(VENV)/.stamp-demo

# System packages the tests drive: headless Chromium (the review map in a real browser),
# a Chinese font for its screenshots, and GDAL's command-line tools (ogrinfo reads the
# exported shapefiles back).
sysdeps:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v ogrinfo >/dev/null 2>&1 \
		|| [ ! -d /usr/share/fonts/opentype/noto ]; then \
		echo "installing chromium, fonts-noto-cjk and gdal-bin with apt-get"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
			chromium fonts-noto-cjk gdal-bin >/dev/null; \
	fi

demo: $(VENV)/.stamp-demo
	$(VENV)/bin/spatialreno demo --out $(OUT) --overwrite

test: $(VENV)/.stamp-test sysdeps
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

lint: $(VENV)/.stamp-test
	$(VENV)/bin/ruff check .

bench: $(VENV)/.stamp-bench
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache

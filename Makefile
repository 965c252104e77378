# Quick start: `make demo` runs the main job, `make test` runs the whole suite.
# Both create .venv on first use; a fresh machine needs only Python 3 with venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[demo]"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(PY) examples/demo.py

test: $(VENV)/.installed-test
	$(PY) -m pytest -n 2 tests

# The benchmark suite against torch (docs/performance.md). Some machines set OPENBLAS_CORETYPE (and
# OPENBLAS_L2_SIZE) to an older kernel family for the sake of old OpenBLAS builds; that slows NumPy's current one
# (no AVX-512), so the suite runs without them. Tests and CI keep the machine's settings.
bench: $(VENV)/.installed-test
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) -m benchmarks --memory --json benchmarks-latest.json
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/ops.py

clean:
	rm -rf $(VENV) build *.egg-info benchmarks-latest.json

# Everything runs from a local virtual environment: requirements.txt installs this project (pyproject.toml).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install lint test test-fast serve smoke clean

$(VENV)/installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

install: $(VENV)/installed

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Two workers (pytest-xdist) on a 2-core machine: the suite is mostly processes starting and small models.
test: install
	$(PY) -m pytest -n auto --dist loadgroup

# The unit tests alone: no end-to-end runs, no browser, no embedded data or teacher (the edit-test loop).
test-fast: install
	$(PY) -m pytest -q -n auto -m "not slow and not browser and not embedded"

serve: install
	$(PY) -m app.serve

# Every trainer and the evaluation on 64 training rows, on CPU, in minutes (the GPU run's dry run, with the
# packages of .venv): results in outputs/gpu-dry-run/results.
smoke: install
	PY=$(PY) bash scripts/gpu_full_run.sh --dry-run --installed all

clean:
	rm -rf $(VENV)

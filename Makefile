# Everything runs from a local virtual environment: requirements.txt installs this project (pyproject.toml).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install lint test serve smoke clean

$(VENV)/installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

install: $(VENV)/installed

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: install
	$(PY) -m pytest

serve: install
	$(PY) -m app.serve

# The whole pipeline on 256 training rows, on CPU, in minutes: teacher, students, LoRA, evaluation.
smoke: install
	bash scripts/pipeline.sh 256

clean:
	rm -rf $(VENV)

# Everything runs from a local virtual environment built from requirements.txt.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install test serve smoke clean

$(VENV)/installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

install: $(VENV)/installed

test: install
	$(PY) -m pytest

serve: install
	$(PY) -m app.serve

# The whole pipeline on 256 training rows, on CPU, in minutes: teacher, students, LoRA, evaluation.
smoke: install
	bash scripts/pipeline.sh 256

clean:
	rm -rf $(VENV)

# Hermes Station. `make run` starts the web UI; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: run test lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-deps: pyproject.toml | $(PY)
	$(PIP) install -e '.[local]'
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(PY)
	$(PIP) install -e '.[dev,local,anthropic]'
	touch $@

run: $(VENV)/.run-deps
	$(VENV)/bin/hermes web

test: $(VENV)/.test-deps
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -q

lint: $(VENV)/.test-deps
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: $(VENV)/.test-deps
	$(PY) bench/sessions.py
	$(PY) bench/agent.py
	$(PY) bench/streaming.py

clean:
	rm -rf $(VENV) build *.egg-info

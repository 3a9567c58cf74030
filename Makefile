# Hermes Station. `make run` starts the web UI; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
# Browser tests drive Debian's Chromium; a test tool's own browser download is never used.
CHROMIUM ?= /usr/bin/chromium

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

$(CHROMIUM):
	@if [ "$$(id -u)" -eq 0 ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else \
		echo "error: $(CHROMIUM) is missing; the browser tests need Debian's chromium:" >&2; \
		echo "       sudo apt-get update && sudo apt-get install -y chromium" >&2; \
		exit 1; \
	fi
	@test -x $(CHROMIUM) || { echo "error: $(CHROMIUM) still missing after install" >&2; exit 1; }

test: $(VENV)/.test-deps $(CHROMIUM)
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
	$(PY) bench/ui.py

clean:
	rm -rf $(VENV) build *.egg-info

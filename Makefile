# Hermes Station. `make run` starts the web UI; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
# Browser tests drive Debian's Chromium; a test tool's own browser download is never used.
CHROMIUM ?= /usr/bin/chromium
# The terminal client's end-to-end tests run it in a real tmux.
TMUX_BIN ?= /usr/bin/tmux
# The allowlist tests attack the agent through real git repositories.
GIT_BIN ?= /usr/bin/git
# Test files run in this many processes at once; most of a test's time is spent waiting on
# the servers, browsers and terminals it starts, so two workers suit even two cores.
TEST_WORKERS ?= 2

.PHONY: run test lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-deps: pyproject.toml | $(PY)
	$(PIP) install -e '.[local]'
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(PY)
	$(PIP) install -e '.[dev,local,anthropic,telegram]'
	touch $@

run: $(VENV)/.run-deps
	$(VENV)/bin/hermes web

$(CHROMIUM) $(TMUX_BIN) $(GIT_BIN):
	@if [ "$$(id -u)" -eq 0 ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium tmux git; \
	else \
		echo "error: $@ is missing; the browser, terminal and git tests need Debian's packages:" >&2; \
		echo "       sudo apt-get update && sudo apt-get install -y chromium tmux git" >&2; \
		exit 1; \
	fi
	@test -x $@ || { echo "error: $@ still missing after install" >&2; exit 1; }

test: $(VENV)/.test-deps $(CHROMIUM) $(TMUX_BIN) $(GIT_BIN)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

lint: $(VENV)/.test-deps
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: $(VENV)/.test-deps
	$(PY) bench/sessions.py
	$(PY) bench/agent.py
	$(PY) bench/streaming.py
	$(PY) bench/ui.py
	$(PY) bench/tui.py
	$(PY) bench/gateway.py
	$(PY) bench/provider.py

clean:
	rm -rf $(VENV) build *.egg-info

# Two commands a new user needs: `make demo` and `make test`. Everything else is here for them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The BigQuery emulator (local-bigquery) needs Python 3.13 in a venv of its own.
# pyenv's shim for python3.13 refuses unless 3.13 is selected, so look in pyenv's versions first.
PY313 ?= $(shell ls -d $$(pyenv root 2>/dev/null)/versions/3.13*/bin/python3.13 2>/dev/null | tail -1 || true)
ifeq ($(PY313),)
PY313 := $(shell command -v python3.13 2>/dev/null)
endif
EMU := .emulator

.PHONY: setup emulator browser demo test test-fast bench lock clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

emulator: $(EMU)/.installed

$(EMU)/.installed: tests/emulator-requirements.txt tests/emulator-constraints.txt
	@test -x "$(PY313)" || { echo "Python 3.13 not found (set PY313=/path/to/python3.13)"; exit 1; }
	$(PY313) -m venv $(EMU)/venv
	$(EMU)/venv/bin/pip install -q -c tests/emulator-constraints.txt -r tests/emulator-requirements.txt
	touch $@

# Debian's chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: run 'sudo apt-get install chromium' (browser tests will be skipped)"; fi; }

demo: setup
	$(BIN)/cbi demo

# mypy first (its settings: [tool.mypy] in pyproject.toml): a type error fails the run.
test: setup emulator browser
	$(BIN)/mypy
	CBI_EMULATOR_PYTHON=$(abspath $(EMU))/venv/bin/python $(BIN)/pytest -q -n 2  # two workers: two cores

test-fast: setup
	$(BIN)/pytest -q -m "not bigquery and not browser"

# `make bench` lists the benchmarks; `make bench BENCH=all` runs every one, BENCH=NAME one.
BENCH ?=
bench: setup
	$(BIN)/python -m bench $(BENCH)

lock:
	rm -rf /tmp/cbi-lock && $(PYTHON) -m venv /tmp/cbi-lock && /tmp/cbi-lock/bin/pip install -q -e '.[dev]' && \
	  /tmp/cbi-lock/bin/pip freeze --exclude-editable | grep -v '^cbi' > constraints.txt

clean:
	rm -rf $(VENV) $(EMU) .pytest_cache .mypy_cache

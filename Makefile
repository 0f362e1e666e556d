# Kernels vs. Features: `make book` builds the HTML book, `make test` runs every check.
# Both create the virtual environment .venv from requirements.txt when it is missing
# or older than requirements.txt.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JB := $(BIN)/jupyter-book
export TF_CPP_MIN_LOG_LEVEL := 3
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: book test unit book-strict browser timings linkcheck lab clean clean-cache venv

venv: $(STAMP)

$(STAMP): requirements.txt code/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

## book: build the HTML book into _build/html, executing notebooks through the cache
book: $(STAMP)
	$(JB) build . --path-output . 

## test: unit and claim tests, then the book built with warnings as errors, then the
## built pages checked as files and in headless Chromium
test: browser unit book-strict

unit: $(STAMP)
	$(BIN)/python -m pytest tests -m "not book"

book-strict: $(STAMP)
	$(JB) build . --path-output . -W --keep-going
	$(BIN)/python -m pytest tests -m book

## browser: Debian's Chromium for the browser test (installed with apt-get when run as root)
browser:
	@if [ ! -x "$${CHROMIUM:-/usr/bin/chromium}" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser test needs Debian's chromium: run 'sudo apt-get install chromium' (or set CHROMIUM=/path/to/chromium)."; \
	  fi; \
	fi

## timings: execute every chapter fresh and report its time against the budgets
timings: $(STAMP)
	$(BIN)/python tests/execute_chapters.py --all --enforce-budget
	@$(JB) build . --path-output . >/dev/null
	@$(BIN)/python -c "import subprocess, time; t = time.perf_counter(); \
	  subprocess.run(['$(JB)', 'build', '.', '--path-output', '.'], check=True, capture_output=True); \
	  print(f'cached rebuild (nothing changed): {time.perf_counter() - t:.1f} s (budget 30 s)')"

## linkcheck: Sphinx's linkcheck of the external links, skipped when the network is unreachable
linkcheck: $(STAMP)
	@if $(BIN)/python -c "import socket; socket.create_connection(('doi.org', 443), timeout=5)" 2>/dev/null; then \
	  $(JB) build . --path-output . --builder linkcheck; \
	else \
	  echo "linkcheck skipped: no network (doi.org:443 unreachable)"; \
	fi

## lab: JupyterLab on the chapters (jupytext opens the .md chapters as notebooks)
lab: $(STAMP)
	$(BIN)/jupyter lab book/

clean:
	rm -rf _build

clean-cache:
	rm -rf _build/.jupyter_cache

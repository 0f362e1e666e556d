# Kernels vs. Features: `make book` builds the HTML book, `make test` runs every check.
# Both create the virtual environment .venv from requirements.txt when it is missing
# or older than requirements.txt.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JB := $(BIN)/jupyter-book
export PYDEVD_DISABLE_FILE_VALIDATION := 1

# A Python >= 3.12 (JAX >= 0.11 needs it): $(PYTHON) if given, else the first candidate that
# really runs. pyenv's shims exist for versions that are not selected and then fail, so each
# candidate is tried by running it, never trusted from `command -v`.
PY_CANDIDATES = $(PYTHON) python3.12 python3.13 \
  "$$(pyenv prefix 3.12 2>/dev/null)/bin/python3" "$$(pyenv prefix 3.13 2>/dev/null)/bin/python3" python3
FIND_PYTHON = for c in $(PY_CANDIDATES); do \
    "$$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo "$$c"; break; }; \
  done

.PHONY: book test unit book-strict browser timings bench linkcheck lab clean clean-cache venv

venv: $(STAMP)

# The reader's set (requirements.txt, then postBuild: exactly what Binder installs), then
# the test-only packages. A .venv of an older Python is replaced.
$(STAMP): requirements.txt postBuild tests/requirements.txt code/pyproject.toml
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
	  echo "replacing $(VENV): it was made with $$($(BIN)/python --version)"; rm -rf $(VENV); fi
	@if [ ! -x $(BIN)/python ]; then \
	  py=$$($(FIND_PYTHON)); \
	  if [ -z "$$py" ]; then echo "The book needs Python >= 3.12 (JAX >= 0.11 does): set PYTHON=/path/to/python3.12"; exit 1; fi; \
	  echo "creating $(VENV) with $$py ($$("$$py" --version))"; "$$py" -m venv $(VENV); fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	PATH="$(abspath $(BIN)):$$PATH" bash postBuild
	$(BIN)/python -m pip install --quiet -r tests/requirements.txt
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

## bench: widenets' kernels against neural-tangents on identical inputs (a benchmark, not a test)
bench: $(STAMP)
	$(BIN)/python tests/bench_kernels.py

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

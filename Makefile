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
export MPLBACKEND := Agg
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: book test unit book-strict lab clean clean-cache venv

venv: $(STAMP)

$(STAMP): requirements.txt code/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

## book: build the HTML book into _build/html, executing notebooks through the cache
book: $(STAMP)
	$(JB) build . --path-output . 

## test: unit and claim tests, then the book built with warnings as errors
test: unit book-strict

unit: $(STAMP)
	$(BIN)/python -m pytest tests -m "not book"

book-strict: $(STAMP)
	$(JB) build . --path-output . -W --keep-going
	$(BIN)/python -m pytest tests -m book

## lab: JupyterLab on the chapters (jupytext opens the .md chapters as notebooks)
lab: $(STAMP)
	$(BIN)/jupyter lab book/

clean:
	rm -rf _build

clean-cache:
	rm -rf _build/.jupyter_cache

# The two commands of the README:
#   make up     set up a virtualenv and run Danube on the embedded default
#   make test   set up the same virtualenv and run the whole test suite (lint included)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

$(STAMP): pyproject.toml sdk/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ./sdk -e '.[dev]'
	touch $(STAMP)

.PHONY: install up test lint bench deps
install: $(STAMP)

up: $(STAMP)
	$(BIN)/danube up

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

deps:
	bash tests/ensure-deps.sh

test: deps lint
	$(BIN)/pytest

bench: $(STAMP)
	for script in bench/*.py; do $(BIN)/python $$script; done

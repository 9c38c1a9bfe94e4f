# The two commands of the README: `make demo` and `make test`. Each builds .venv/ on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint venv clean bench docs

venv: $(STAMP)

$(STAMP): requirements.txt requirements-test.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mnaas-missing-files demo

# A base temp dir of this checkout's own: pytest prunes old runs' dirs under the shared
# /tmp/pytest-of-$USER, which would pull the files from under a long-lived test server
# (the Spark Thrift Server) of another checkout's run on the same machine.
test: $(STAMP)
	$(BIN)/python -m pytest -q --basetemp=$(CURDIR)/.pytest-tmp

# The quick loop: the unit tests only (no Redis, no workers, no Java), a few seconds. The
# markers choose among the rest (pyproject.toml, docs/design.md#tests-and-their-markers), e.g.
# .venv/bin/python -m pytest -m "not slow" --basetemp=.pytest-tmp, or -m "not hs2 and not chromium".
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q --basetemp=$(CURDIR)/.pytest-tmp tests/unit

# Format and style (ruff), types (mypy) and the architecture's import contracts (import-linter); all in
# pyproject.toml. CI runs this before the tests.
lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The settings reference, generated from the settings table (config/options.py); a unit test
# fails while the committed page differs.
docs: $(STAMP)
	$(BIN)/python -m mnaas_missing_files.config.docs > docs/configuration.md

# The benchmark (bench/README.md): PROFILE=quick|standard|large, WAREHOUSE=duckdb|hs2.
PROFILE ?= standard
WAREHOUSE ?= duckdb
bench: $(STAMP)
	$(BIN)/python -m bench --profile $(PROFILE) --warehouse $(WAREHOUSE)

clean:
	rm -rf $(VENV) var

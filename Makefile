# The two commands of the README: `make demo` and `make test`. Each builds .venv/ on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint venv clean bench chaos

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

# The quick loop: the unit tests only (no Redis, no workers, no Java), a few seconds.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q --basetemp=$(CURDIR)/.pytest-tmp tests/unit

# Format and style (ruff), types (mypy) and the architecture's import contracts (import-linter); all in
# pyproject.toml. CI runs this before the tests.
lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The benchmark (bench/README.md): PROFILE=quick|standard|large, WAREHOUSE=duckdb|hs2.
PROFILE ?= standard
WAREHOUSE ?= duckdb
bench: $(STAMP)
	$(BIN)/python -m bench --profile $(PROFILE) --warehouse $(WAREHOUSE)

clean:
	rm -rf $(VENV) var

# The chaos soak (docs/reliability.md): RUNS days on a real loopback cluster while a nemesis
# seeded by SEED injects faults; the JSON summary is the last line; exit 1 on a violation.
SEED ?= 1
RUNS ?= 10
CHAOS_DIR ?=
chaos: $(STAMP)
	$(BIN)/python -m chaos --seed $(SEED) --runs $(RUNS) $(if $(CHAOS_DIR),--dir $(CHAOS_DIR))

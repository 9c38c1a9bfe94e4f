# The two commands of the README: `make demo` and `make test`. Each builds .venv/ on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The `kerberos` package (GSSAPI) builds against libkrb5-dev: only `make test` needs it.
KERBEROS_STAMP := $(VENV)/.installed-kerberos

.PHONY: demo test test-fast lint venv clean bench docs chaos

venv: $(STAMP)

$(STAMP): requirements.txt requirements-test.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Without MIT's headers (krb5-config) outside CI it says so and goes on: the Kerberos tests then
# skip, as the tests of other system tools do; .ci/run installs libkrb5-dev first, so CI builds it.
$(KERBEROS_STAMP): $(STAMP) requirements-kerberos.txt
	@if command -v krb5-config >/dev/null || [ -n "$$CI" ]; then \
		$(BIN)/python -m pip install --quiet -r requirements-kerberos.txt && touch $(KERBEROS_STAMP); \
	else \
		echo "note: libkrb5-dev is not installed: the Kerberos tests will skip (apt-get install libkrb5-dev krb5-kdc krb5-admin-server krb5-user)"; \
	fi

demo: $(STAMP)
	$(BIN)/mnaas-missing-files demo

# A base temp dir of this checkout's own: pytest prunes old runs' dirs under the shared
# /tmp/pytest-of-$USER, which would pull the files from under a long-lived test server
# (the Spark Thrift Server) of another checkout's run on the same machine.
test: $(STAMP) $(KERBEROS_STAMP)
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

# The chaos soak (docs/reliability.md): RUNS days on a real loopback cluster while a nemesis
# seeded by SEED injects faults; the JSON summary is the last line; exit 1 on a violation.
SEED ?= 1
RUNS ?= 10
CHAOS_DIR ?=
chaos: $(STAMP)
	$(BIN)/python -m chaos --seed $(SEED) --runs $(RUNS) $(if $(CHAOS_DIR),--dir $(CHAOS_DIR))

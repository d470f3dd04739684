# Common Ground: the two commands (make demo, make test) and friends.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export COMMONGROUND_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
# Where the browser tests save their screenshots (test artifacts, git-ignored).
export COMMONGROUND_SCREENSHOT_DIR ?= $(CURDIR)/data/test-artifacts/screenshots
CITIZENS ?= 10000
PROD_HOST ?= 0.0.0.0
PROD_PORT ?= 3000

.PHONY: install demo test test-fast lint ui prod bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/commonground demo --citizens $(CITIZENS)

lint: $(STAMP)
	$(BIN)/ruff check orchestration expectations tests
	$(BIN)/ruff format --check orchestration expectations tests
	cd dbt_project && ../$(BIN)/sqlfluff lint models macros tests analyses --dialect duckdb --templater jinja

test: lint
	$(BIN)/commonground onboard --check
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# Everything but the end-to-end tests marked `slow` (a few minutes).
test-fast: lint
	$(BIN)/commonground onboard --check
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not slow"

ui: $(STAMP)
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/commonground prepare
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/dagster dev -w workspace.yaml

# Production: the webserver and daemon against the PostgreSQL instance (deploy/dagster.yaml).
# Needs DAGSTER_HOME and the COMMONGROUND_PG_* variables; see README, "Running in production".
prod: $(STAMP)
	$(BIN)/commonground serve --host $(PROD_HOST) --port $(PROD_PORT)

bench: $(STAMP)
	$(BIN)/commonground bench

clean:
	rm -rf $(VENV) data dbt_project/target dbt_project/logs

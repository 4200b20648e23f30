# Every target creates and reuses the virtual environment by itself.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
INFRA_VENV  ?= .venv-infra
INFRA_STAMP := $(INFRA_VENV)/.installed

.PHONY: demo test test-kcl check lint typecheck infra-check format bench bench-compare chaos loadtest clean
KILLS ?= 50

$(STAMP): pyproject.toml requirements/kcl-test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements/kcl-test.txt
	touch $(STAMP)

## demo: the whole pipeline on the embedded AWS emulator, with a report
##       (make demo DATABASE_URL=postgresql://... writes the database sink to PostgreSQL)
demo: $(STAMP)
	$(BIN)/sluice demo $(if $(DATABASE_URL),--database-url '$(DATABASE_URL)')

## test: every test tier (unit, integration on the emulator and the KCL daemon, e2e)
test: $(STAMP)
	$(BIN)/python -m pytest -q

## test-kcl: only the real KCL MultiLangDaemon tests (Java 17, about 5 minutes; make test runs them too)
test-kcl: $(STAMP)
	$(BIN)/python -m pytest -q -m kcl_daemon tests/integration/test_kcl_daemon.py

## check: everything CI checks: lint, format, types, infrastructure, tests
check: lint typecheck infra-check test

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# checkov and hadolint live in their own venv: they pin dependencies of their own.
$(INFRA_STAMP): pyproject.toml
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install --quiet --upgrade pip
	$(INFRA_VENV)/bin/pip install --quiet '.[infra]'
	touch $(INFRA_STAMP)

## infra-check: checkov over infra/ and the Dockerfile, hadolint; fails on any new finding
infra-check: $(INFRA_STAMP)
	$(INFRA_VENV)/bin/checkov -d infra --skip-download --quiet --compact
	$(INFRA_VENV)/bin/checkov -f Dockerfile --skip-download --quiet --compact
	$(INFRA_VENV)/bin/hadolint Dockerfile

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: benchmarks with figures beside their baselines (load_tests/)
bench: $(STAMP)
	$(BIN)/python -m load_tests.bench

## loadtest: a 10x step through the autoscaling simulator and a 20 s steady load against
##           sluice on the emulator, each with a report in load-output/ (docs/load-testing.md)
loadtest: $(STAMP)
	$(BIN)/python -m load_tests.run simulate --shape step --rate 1000 --factor 10 --max-tasks 10 --out load-output
	$(BIN)/python -m load_tests.run scenario --shape steady --rate 100 --duration-s 20 --out load-output

## bench-compare: the core and reference rows beside a copy of the code at BASELINE (default:
##                the commit before the delivery engine), interleaved in one run
BASELINE ?= ba6cc2f
bench-compare: $(STAMP)
	$(BIN)/python -m load_tests.compare --baseline $(BASELINE) --rounds 5 core reference

## chaos: the SIGKILL chaos loops, Kinesis, SQS and Kinesis into an Iceberg table and
##        Parquet, with KILLS kills each (the test suite runs them with 12); the lake, the
##        database and the table are read back and every record must be there exactly once
chaos: $(STAMP)
	SLUICE_CHAOS_KILLS=$(KILLS) $(BIN)/python -m pytest -q -rP tests/e2e/test_chaos.py tests/e2e/test_sqs_exactly_once.py tests/e2e/test_chaos_tables.py -k chaos_loop

clean:
	rm -rf $(VENV) $(INFRA_VENV) demo-output load-output .pytest_cache .mypy_cache .ruff_cache

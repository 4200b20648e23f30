# Every target creates and reuses the virtual environment by itself.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
INFRA_VENV  ?= .venv-infra
INFRA_STAMP := $(INFRA_VENV)/.installed

.PHONY: demo test test-kcl check lint typecheck infra-check format bench bench-compare chaos loadtest clean
.PHONY: localstack localstack-venv test-localstack
KILLS ?= 50

# The install's output (pip's notices, setuptools' build warnings) goes to a log instead of
# the first screen of `make demo`; when a step fails, its log's tail is shown and make stops.
INSTALL = PIP_DISABLE_PIP_VERSION_CHECK=1 $(BIN)/pip install --progress-bar off

$(STAMP): pyproject.toml requirements/kcl-test.txt
	@echo "setting up $(VENV) (once; the install's output is in $(VENV)/install.log)"
	@$(PYTHON) -m venv $(VENV)
	@{ $(INSTALL) --upgrade pip \
	  && $(INSTALL) -e '.[dev]' \
	  && $(INSTALL) --no-deps --require-hashes -r requirements/kcl-test.txt; \
	} > $(VENV)/install.log 2>&1 \
	  || { tail -n 30 $(VENV)/install.log; echo "install failed: $(VENV)/install.log"; exit 1; }
	@touch $(STAMP)

## demo: the whole pipeline on the embedded AWS emulator, with a report
##       (make demo DATABASE_URL=postgresql://... writes the database sink to PostgreSQL)
demo: $(STAMP)
	$(BIN)/sluice demo $(if $(DATABASE_URL),--database-url '$(DATABASE_URL)')

## test: every test tier (unit, integration on the emulator and the KCL daemon, e2e)
test: $(STAMP)
	$(BIN)/python -m pytest -q

## test-kcl: only the real KCL MultiLangDaemon tests (Java 17, about 7 minutes; make test runs them too)
test-kcl: $(STAMP)
	$(BIN)/python -m pytest -q -m kcl_daemon tests/integration/test_kcl_daemon.py tests/integration/test_kcl_workers.py

## check: everything CI checks: lint, format, types, infrastructure, tests
check: lint typecheck infra-check test

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# checkov and hadolint live in their own venv: they pin dependencies of their own.
$(INFRA_STAMP): pyproject.toml
	@echo "setting up $(INFRA_VENV) (once; the install's output is in $(INFRA_VENV)/install.log)"
	@$(PYTHON) -m venv $(INFRA_VENV)
	@{ $(INFRA_VENV)/bin/pip install --progress-bar off --upgrade pip \
	  && $(INFRA_VENV)/bin/pip install --progress-bar off '.[infra]'; \
	} > $(INFRA_VENV)/install.log 2>&1 \
	  || { tail -n 30 $(INFRA_VENV)/install.log; echo "install failed: $(INFRA_VENV)/install.log"; exit 1; }
	@touch $(INFRA_STAMP)

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

# LocalStack without Docker: its own venv (Python 3.13, pinned), started on loopback by
# consumer/local/localstack.py; tools/localstack/ holds the pins, the DynamoDB plugin and
# the Node preload (docs/decisions.md, "LocalStack without Docker").
LOCALSTACK_VENV  ?= .venv-localstack
LOCALSTACK_STAMP := $(LOCALSTACK_VENV)/.installed
LOCALSTACK_PORT  ?= 4566
# The tier that makes sense on LocalStack: its own tests (the demo, the server, Kinesis and
# CloudWatch behaviours), Kinesis (reshards), SQS and its ledger, S3, DynamoDB, metrics,
# the SIGKILL loops, the KCL daemon. Not ECS (LocalStack's is not in its free edition).
LOCALSTACK_TESTS ?= tests/localstack \
	tests/integration/test_checkpoints.py tests/integration/test_kinesis_reader.py \
	tests/integration/test_kinesis_faults.py tests/integration/test_sqs.py \
	tests/integration/test_sqs_ledger.py tests/integration/test_jobs_and_dlq.py \
	tests/integration/test_dynamodb_sink.py tests/integration/test_metrics_contract.py \
	tests/integration/test_failures.py tests/integration/test_crash_restart.py \
	tests/integration/test_bad_inputs.py tests/integration/test_batch_jobs.py \
	tests/integration/test_batch_inputs.py tests/e2e/test_chaos.py \
	tests/e2e/test_sqs_exactly_once.py tests/integration/test_kcl_daemon.py

$(LOCALSTACK_STAMP): tools/localstack/install.sh tools/localstack/requirements.txt \
		tools/localstack/plugin/pyproject.toml tools/localstack/plugin/sluice_localstack/dynamodb.py
	tools/localstack/install.sh $(LOCALSTACK_VENV)
	touch $(LOCALSTACK_STAMP)

## localstack-venv: LocalStack's own environment (Python 3.13 needed: pyenv's, or LOCALSTACK_PYTHON)
localstack-venv: $(LOCALSTACK_STAMP)

## localstack: LocalStack without Docker on 127.0.0.1:$(LOCALSTACK_PORT) until Ctrl-C
##             (then: sluice --localstack ..., or AWS_ENDPOINT_URL=http://127.0.0.1:4566)
localstack: $(STAMP) $(LOCALSTACK_STAMP)
	$(BIN)/python -m consumer.local.localstack --venv $(LOCALSTACK_VENV) --port $(LOCALSTACK_PORT)

## test-localstack: the demo and the integration tier against LocalStack, started for the run
##                  (LOCALSTACK_TESTS=... to choose; SLUICE_LOCALSTACK_ENDPOINT=... to reuse one)
test-localstack: $(STAMP) $(LOCALSTACK_STAMP)
	SLUICE_TEST_EMULATOR=localstack SLUICE_LOCALSTACK_VENV=$(LOCALSTACK_VENV) \
		$(BIN)/python -m pytest -q $(LOCALSTACK_TESTS)

clean:
	rm -rf $(VENV) $(INFRA_VENV) $(LOCALSTACK_VENV) demo-output load-output .pytest_cache .mypy_cache .ruff_cache

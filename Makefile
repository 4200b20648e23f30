# Every target creates and reuses the virtual environment by itself.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check lint typecheck format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: the whole pipeline on the embedded AWS emulator, with a report
##       (make demo DATABASE_URL=postgresql://... writes the database sink to PostgreSQL)
demo: $(STAMP)
	$(BIN)/sluice demo $(if $(DATABASE_URL),--database-url '$(DATABASE_URL)')

## test: every test tier (unit, integration on the emulator, e2e)
test: $(STAMP)
	$(BIN)/python -m pytest -q

## check: everything CI checks: lint, format, types, tests
check: lint typecheck test

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: benchmarks with figures beside their baselines (load_tests/)
bench: $(STAMP)
	$(BIN)/python -m load_tests.bench

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache

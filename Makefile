# The few commands people type. `make run` and `make test` work on a fresh clone.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := workbench

.PHONY: run test test-sqlite test-postgres bench lint format clean install migrate demo bytecode

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

## The project's modules compiled to bytecode (skips what is up to date): where
## PYTHONDONTWRITEBYTECODE is set, Python reads .pyc files but never writes them, and every
## command would compile ~150 modules at start (~0.3 s).
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q workbench migrations bench

migrate: bytecode
	$(BIN)/workbench db upgrade

demo: migrate
	$(BIN)/workbench demo

## Create the venv, install, migrate, load the demo data if the database is empty, serve
## (`workbench run` also starts a worker thread for the background jobs).
run: demo
	$(BIN)/workbench run --host $(HOST) --port $(PORT)

## Run the suite on SQLite, then on PostgreSQL when WORKBENCH_TEST_DATABASE_URL is set.
test: $(STAMP)
	@$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$WORKBENCH_TEST_DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
	 else echo "WORKBENCH_TEST_DATABASE_URL non défini : suite PostgreSQL ignorée."; fi

test-sqlite: $(STAMP)
	@echo "== Suite sur SQLite =="
	WORKBENCH_TEST_DATABASE_URL= $(BIN)/pytest $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 5 ] || exit $$rc

test-postgres: $(STAMP)
	@echo "== Suite sur PostgreSQL ($$WORKBENCH_TEST_DATABASE_URL) =="
	$(BIN)/pytest -m "not browser" $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 5 ] || exit $$rc

## Benchmarks (print figures; not timed tests). BENCH_LINES=1000000 for the Region's scale,
## BENCH_POSTGRES_URL=postgresql+psycopg://… (emptied!) to measure PostgreSQL too.
BENCH_LINES ?= 100000
bench: bytecode
	@for script in bench/bench_scale.py bench/bench_matching.py; do echo "== $$script =="; \
	 BENCH_LINES=$(BENCH_LINES) $(BIN)/python $$script || exit $$?; done

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) instance/workbench.sqlite3* .pytest_cache

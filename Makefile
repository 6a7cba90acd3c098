# Two commands on a fresh machine: `make demo` and `make test`.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: install demo serve test test-fast lint typecheck migrations-check browser-test messages clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make demo: install, migrate, build the demo county (吉水县) and serve it on 127.0.0.1:8000
demo: install
	$(BIN)/bbt demo

serve: install
	$(BIN)/bbt serve

## make test: install and run the whole suite (SQLite by default; BBT_DATABASE_URL selects PostgreSQL)
test: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) -p no:cacheprovider

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy banbantong

migrations-check: install
	$(BIN)/bbt makemigrations --check --dry-run

browser-test: install
	$(BIN)/pytest -m browser -p no:cacheprovider banbantong/core/tests/test_browser.py

messages: install
	cd banbantong && ../$(BIN)/bbt makemessages -l en --no-obsolete && ../$(BIN)/bbt compilemessages

clean:
	rm -rf $(VENV) build *.egg-info

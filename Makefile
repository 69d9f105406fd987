# The README names these targets; .ci/run calls `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The extras installed with the package: production needs none, or postgres,redis.
EXTRAS ?= test,bench
# One stamp per set of extras: `make install EXTRAS=postgres,redis` on a machine already
# installed with other extras installs these too, instead of finding nothing to do.
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

.PHONY: install serve test lint typecheck bench load system-deps runtime-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[$(EXTRAS)]'
	touch $(STAMP)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(STAMP)

## Serve the app on embedded defaults (SQLite and a Maildir in ./instance), as development:
## no SECRET_KEY needed. Production sets BROADSHEET_SECRET_KEY and runs wsgi:app.
serve: runtime-deps $(STAMP)
	BROADSHEET_ENV=development $(BIN)/broadsheet serve

## The Debian packages the tests need, and those the service alone needs (Pango, fonts).
system-deps:
	bash scripts/system-deps

runtime-deps:
	bash scripts/system-deps --runtime

## Run every test (installs what the tests need first).
test: system-deps $(STAMP) node_modules/.installed lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP) node_modules/.installed
	$(BIN)/python bench/render.py
	$(BIN)/python bench/pdf.py
	$(BIN)/python bench/email.py
	$(BIN)/python bench/edition.py
	$(BIN)/python bench/store.py
	$(BIN)/python bench/digest.py
	$(BIN)/python bench/print_budget.py

## The service under load: gunicorn with gunicorn.conf.py, driven by wrk (needs wrk).
load: $(STAMP)
	BIN=$(BIN) bash bench/load.sh

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache .ruff_cache .mypy_cache

# The README's two commands: `make run` and `make test`. Everything else is set-up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit e2e system-deps venv clean bench airflow-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP) ui
	$(BIN)/jip up

system-deps:
	bash scripts/install-system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check platform tests benchmarks operators dags

typecheck: $(STAMP)
	$(BIN)/mypy platform

test: $(STAMP) airflow-venv system-deps ui lint typecheck
	$(BIN)/python -m pytest -q

bench: $(STAMP) system-deps
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(AIRFLOW_VENV) jip-data .pytest_cache .mypy_cache .ruff_cache

# browser UI (issue 4): frontend/dist, rebuilt when the sources or the lock change
UI_SRC := $(shell find frontend/src -type f 2>/dev/null) frontend/index.html frontend/vite.config.ts frontend/tsconfig.json
.PHONY: ui
ui: frontend/dist/index.html

frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund

frontend/dist/index.html: frontend/node_modules/.package-lock.json $(UI_SRC)
	cd frontend && npm run build

# Airflow (workflow engine) in its own venv: it pins many packages that clash with JIP's.
# The .pth file puts this checkout on its path so DAG files can import `operators`.
AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed
AIRFLOW_VERSION := 3.3.2

$(AIRFLOW_STAMP): requirements/airflow-constraints.txt
	test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install -q --upgrade pip
	$(AIRFLOW_VENV)/bin/pip install -q -c requirements/airflow-constraints.txt apache-airflow==$(AIRFLOW_VERSION)
	$(AIRFLOW_VENV)/bin/python -c "import os, site; open(os.path.join(site.getsitepackages()[0], 'jip-operators.pth'), 'w').write(os.getcwd() + '\\n')"
	touch $(AIRFLOW_STAMP)

airflow-venv: $(AIRFLOW_STAMP)

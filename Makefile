# The README's two commands: `make run` and `make test`. Everything else is set-up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit e2e system-deps venv clean bench

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
	$(BIN)/ruff check platform tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy platform

test: $(STAMP) system-deps ui lint typecheck
	$(BIN)/python -m pytest -q

bench: $(STAMP) system-deps
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) jip-data .pytest_cache .mypy_cache .ruff_cache

# browser UI (issue 4): frontend/dist, rebuilt when the sources or the lock change
UI_SRC := $(shell find frontend/src -type f 2>/dev/null) frontend/index.html frontend/vite.config.ts frontend/tsconfig.json
.PHONY: ui
ui: frontend/dist/index.html

frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund

frontend/dist/index.html: frontend/node_modules/.package-lock.json $(UI_SRC)
	cd frontend && npm run build

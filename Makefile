# The README's two commands: `make run` (set up and start the app) and `make test` (set up and run every test).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test setup setup-test frontend check unit integration e2e

run: setup frontend
	$(VENV)/bin/labellight run

test: setup-test frontend check
	cd frontend && npm test
	$(PY) -m pytest tests/unit -q
	$(PY) -m pytest tests/integration -q
	$(PY) -m pytest tests/e2e -q --screenshot only-on-failure --output test-results

setup:
	bash scripts/setup.sh

setup-test:
	bash scripts/setup.sh --test

# npm install, not npm ci: vite lists an optional dependency that the registry does not have, which npm ci rejects.
frontend:
	cd frontend && npm install --no-audit --no-fund && npm run build

check:
	$(VENV)/bin/ruff check backend worker tests benchmarks
	$(VENV)/bin/mypy backend/labellight worker/labellight_worker
	$(VENV)/bin/lint-imports
	cd frontend && npm run check

unit:
	$(PY) -m pytest tests/unit -q

integration:
	$(PY) -m pytest tests/integration -q

e2e:
	$(PY) -m pytest tests/e2e -q --screenshot only-on-failure --output test-results

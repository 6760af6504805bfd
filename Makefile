# The README's two commands: `make run` (set up and start the app) and `make test` (set up and run every test).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test setup setup-test frontend check api-types unit slow integration e2e screenshots

run: setup frontend
	$(VENV)/bin/labellight run

test: setup-test frontend check
	cd frontend && npm test
	$(PY) -m pytest tests/unit -q -m ''
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
	@set -o pipefail; current=$$(mktemp -d) && trap 'rm -rf "$$current"' EXIT && \
	$(VENV)/bin/labellight openapi --out "$$current/openapi.json" && \
	{ diff -u frontend/openapi.json "$$current/openapi.json" | head -n 40 && (cd frontend && npm run --silent check:api); } \
	|| { echo "make check: the API's OpenAPI document or the SPA's types made from it are out of date;" \
	          "run \`make api-types\` and commit frontend/openapi.json and frontend/src/lib/schema.d.ts" >&2; exit 1; }
	cd frontend && npm run check

# The SPA's API types: the backend's OpenAPI document (frontend/openapi.json), then the TypeScript made from it
# (frontend/src/lib/schema.d.ts). Both are committed; `make check` fails when they differ from the code.
api-types:
	$(VENV)/bin/labellight openapi --out frontend/openapi.json
	cd frontend && npm run --silent gen:api

# The fast unit tier (no slow tests: see the `slow` marker in pyproject.toml); `make slow` runs the rest of tests/unit.
unit:
	$(PY) -m pytest tests/unit -q

slow:
	$(PY) -m pytest tests/unit -q -m slow

integration:
	$(PY) -m pytest tests/integration -q

e2e:
	$(PY) -m pytest tests/e2e -q --screenshot only-on-failure --output test-results

# The README's screenshots (docs/screenshots/*.png): the browser tests write them only when asked to.
screenshots:
	LABELLIGHT_SCREENSHOTS=1 $(PY) -m pytest tests/e2e -q --screenshot only-on-failure --output test-results

# GaaP: the two commands are `make run` and `make test`; everything they need is set up on the way.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install when the pins or the package definition change.
PY_STAMP := $(VENV)/.installed-$(shell cat constraints.txt pyproject.toml sdk/pyproject.toml | sha1sum | cut -c1-12)
ASSETS_STAMP := frontend/node_modules/.installed-$(shell cat frontend/package.json frontend/package-lock.json | sha1sum | cut -c1-12)
# Command-line tools the tests run that need pins of their own (see constraints-tools.txt).
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed-$(shell cat constraints-tools.txt | sha1sum | cut -c1-12)
ARGS ?=
PYTEST_ARGS ?=

.PHONY: help run test soak lint format bench bootstrap assets system-test-deps clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(PY_STAMP): constraints.txt pyproject.toml sdk/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]' -e ./sdk
	@rm -f $(VENV)/.installed-* && touch $@

$(TOOLS_STAMP): constraints-tools.txt
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet -r constraints-tools.txt
	@rm -f $(TOOLS)/.installed-* && touch $@

$(ASSETS_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@rm -f frontend/node_modules/.installed-* && touch $@

# The served tree carries its own manifest: rebuild only when it does not verify (no stamp file inside it).
assets: $(ASSETS_STAMP) $(PY_STAMP)
	@$(BIN)/python -m gaap.pages.assets --check >/dev/null 2>&1 || $(BIN)/python -m gaap.pages.assets

bootstrap: $(PY_STAMP) assets ## Virtualenv, pinned packages, GOV.UK Frontend assets

run: bootstrap ## Start the whole platform on embedded defaults (ARGS="--port 8000 --data-dir ./var")
	$(BIN)/gaap up $(ARGS)

system-test-deps: ## Debian packages the tests need (redis-server, chromium, fonts-dejavu-core, clamav), as root
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v clamscan >/dev/null || missing="$$missing clamav"; \
	test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "please install:$$missing" >&2; exit 1; fi; \
	fi

test: bootstrap $(TOOLS_STAMP) system-test-deps ## The whole suite against throwaway PostgreSQL and Redis, then the embedded smoke test
	$(BIN)/python -m gaap.embedded.testservers -- $(BIN)/pytest -n 3 -m "not embedded" $(PYTEST_ARGS)
	$(BIN)/pytest -m embedded $(PYTEST_ARGS)

soak: bootstrap system-test-deps ## The reliability suite's long profile: 5,000-text runs, more kills, 30 s outages
	GAAP_RELIABILITY_PROFILE=soak $(BIN)/python -m gaap.embedded.testservers -- $(BIN)/pytest -m "not embedded" \
	  tests/reliability $(PYTEST_ARGS)

lint: bootstrap ## ruff format --check, ruff check, mypy
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy gaap gateway services
	cd sdk && ../$(BIN)/mypy --strict gaap_client

format: bootstrap ## Apply ruff's formatting and fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: bootstrap ## Benchmarks: production topology under wrk; writes bench/results.md
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python -m bench.run $(ARGS)

clean: ## Remove the virtualenv, front-end packages and built assets
	rm -rf $(VENV) $(TOOLS) frontend/node_modules gaap/pages/static

# Liandiao: every command a person runs often. `make demo` and `make test` do all
# the set-up themselves on a fresh machine (Python env, stubs, PostgreSQL, Kafka).

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)/libs:$(CURDIR)
PROTOS := $(shell find protos -name '*.proto')
STUBS  := libs/liandiao/.stubs-stamp

.PHONY: help venv protos console-assets browser certs stack-up stack-down stack-status stack-wipe topics lint typecheck format unit test demo chaos bench bench-front deploy-check clean

help:
	@echo "make demo          stack up, six services up, a province's disputes through the flow, summary"
	@echo "make test          every test (unit, integration, end-to-end) against the real stack"
	@echo "make stack-up      start PostgreSQL and Kafka on loopback (installs what is missing)"
	@echo "make stack-down    stop them (data kept; make stack-wipe to delete it)"
	@echo "make stack-status  what is running"
	@echo "make lint          ruff; make typecheck: mypy on libs/ and the services' domain rules"
	@echo "make chaos         10,000 disputes while every service is killed, Kafka and PostgreSQL restarted; invariants"
	@echo "make bench         the whole flow at offered rates against the raw floor (bench/flow.py; BENCH_ARGS=--rates 25,50)"

$(VENV)/.installed: requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $@

venv: $(VENV)/.installed

# Stubs are generated, never committed: one package, libs/liandiao/<service>/v1.
$(STUBS): $(VENV)/.installed $(PROTOS)
	$(PY) -m grpc_tools.protoc -I protos --python_out=libs --grpc_python_out=libs --pyi_out=libs $(PROTOS)
	@touch $@

protos: $(STUBS)

stack-up: venv
	bash scripts/stack.sh up

# The console's browser libraries (htmx, Apache ECharts) from the npm registry, pinned by
# services/console/package-lock.json, copied into its git-ignored static/vendor.
CONSOLE_VENDOR := services/console/static/vendor/.stamp
$(CONSOLE_VENDOR): services/console/package.json services/console/package-lock.json
	bash scripts/console_assets.sh
	@touch $@

console-assets: $(CONSOLE_VENDOR)

# Debian's Chromium and CJK fonts for the console's browser tests (installed when missing).
browser:
	bash scripts/browser.sh

stack-down:
	bash scripts/stack.sh down

# Development certificates into .state/certs (stack-up makes them too); CERTS_ARGS=--force for a new CA.
certs: venv
	$(PY) -m liandiao.devtools.certs $(CERTS_ARGS)

stack-status:
	bash scripts/stack.sh status

stack-wipe:
	bash scripts/stack.sh down --wipe

topics: protos
	. .state/stack.env && $(PY) -m liandiao.events.admin ensure-topics --prefectures 1501,1502,1503,1504,1505,1506,1507,1508,1509,1522,1525,1529

lint: venv
	$(VENV)/bin/ruff check libs services tests bench scripts

typecheck: protos
	$(VENV)/bin/mypy libs/liandiao $(wildcard services/*/domain)

format: venv
	$(VENV)/bin/ruff format libs services tests bench scripts

unit: protos
	$(PY) -m pytest -q -m "not stack and not e2e" libs/tests services

test: protos stack-up lint typecheck console-assets browser
	LIANDIAO_REQUIRE_HELM=1 $(PY) -m pytest -q

demo: protos stack-up console-assets
	$(PY) -m liandiao.devtools.demo $(DEMO_ARGS)

# The platform on a bad day (docs/operations.md, "Chaos"): a PostgreSQL and a Kafka of its own
# (.state/chaos), the six services, disputes and faults; a table, exit 1 if an invariant broke.
CHAOS_ARGS ?= --count 10000
chaos: protos
	$(PY) -m liandiao.devtools.chaos $(CHAOS_ARGS)

BENCH_ARGS ?=
bench: protos stack-up
	$(VENV)/bin/pip install -q -r bench/requirements.txt
	$(PY) bench/flow.py $(BENCH_ARGS)

bench-front: protos stack-up
	$(PY) bench/run.py

deploy-check:
	bash scripts/check_deploy.sh

clean:
	rm -rf $(VENV) libs/liandiao/*/v1 $(STUBS) .pytest_cache .ruff_cache

# Two commands from a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SERVING := $(VENV)/.serving
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-faults lint docs bench compose-check proxy-cert wheels clean

# The server pulls in the client distribution (client/) as a copy; the second install makes it editable too.
# The example job package (examples/) is installed too: the suite runs it through a live stack.
$(STAMP): pyproject.toml client/pyproject.toml examples/mandelbrot-job/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,docs]'
	$(BIN)/pip install --quiet --no-deps -e ./client -e ./examples/mandelbrot-job
	touch $(STAMP)

# Serving needs the server and its client distribution only: no test tools.
$(SERVING): pyproject.toml client/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	$(BIN)/pip install --quiet --no-deps -e ./client
	touch $(SERVING)

# Without KBase, /v1 uses static tokens: a demo token is made once and printed at each start.
run: $(SERVING)
	mkdir -p var
	@test -s var/demo-token -a -s var/tokens || \
		(umask 077; AUTH_MODE=static AUTH_TOKENS_FILE=var/tokens $(BIN)/imagecache admin add-token demo > var/demo-token)
	@echo "imagecache: demo token for the /v1 file cache: $$(cat var/demo-token)"
	AUTH_MODE=$${AUTH_MODE:-static} AUTH_TOKENS_FILE=$${AUTH_TOKENS_FILE:-var/tokens} \
		CACHE_PATH=$${CACHE_PATH:-./var/cache} $(BIN)/imagecache up --host $(HOST) --port $(PORT) --data-dir var

# Test files spread over up to 4 processes (a module's stacks stay in one); each uses its own Redis database,
# 13 and down (IMAGECACHE_TEST_REDIS_URL names the first).
test: $(STAMP)
	$(BIN)/pytest -q --durations=15 --ignore=tests/faults --numprocesses=auto --maxprocesses=4 --dist=loadfile

# ruff (lint and format), mypy and import-linter's layer contracts, all configured in pyproject.toml;
# .ci/run runs it before the tests.
LINTED := imagecache workers client tests testkit bench examples docs run_tests.py
lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy
	$(BIN)/lint-imports

# The documentation site (docs/, mkdocs-material) into site/; --strict: a broken link or anchor fails the build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# Slower: Redis outages, full disks, misbehaving upstreams (own redis-server processes, never the shared one).
test-faults: $(STAMP)
	$(BIN)/pytest -q tests/faults

# wrk and nginx (the same-run reference) come from apt, py-spy (bench/profile.py) from PyPI with the bench extra.
bench: $(STAMP)
	@command -v wrk >/dev/null && command -v nginx >/dev/null || \
		(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk nginx)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/pip install --quiet --no-deps -e ./client
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench.run_all

# Portable wheels (server and client) for a wheelhouse or an index: the server's names the client by version,
# not by this checkout's path. Install anywhere with `pip install --find-links dist imagecache`.
CLIENT_VERSION = $(shell sed -n 's/^version = "\(.*\)"/\1/p' client/pyproject.toml)
wheels: $(STAMP)
	rm -rf dist
	IMAGECACHE_CLIENT_REQUIREMENT="imagecache-client==$(CLIENT_VERSION)" $(BIN)/pip wheel --quiet --no-deps -w dist . ./client

# A self-signed certificate for the compose proxy (deploy/nginx/certs), for trials; a real one goes in the same place.
CERT_DIR ?= deploy/nginx/certs
CERT_NAME ?= localhost
proxy-cert:
	mkdir -p $(CERT_DIR)
	openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=$(CERT_NAME)" \
		-addext "subjectAltName=DNS:$(CERT_NAME)" -keyout $(CERT_DIR)/key.pem -out $(CERT_DIR)/cert.pem 2>/dev/null
	chmod 600 $(CERT_DIR)/key.pem
	@echo "made $(CERT_DIR)/cert.pem for $(CERT_NAME), valid 365 days"

compose-check:
	docker-compose config --quiet
	docker-compose -f docker-compose.yml -f deploy/compose.sentinel.yml config --quiet

clean:
	rm -rf $(VENV) var .pytest_cache dist

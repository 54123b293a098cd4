# The two commands: `make run` and `make test`. Everything else is what they need.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KB_DATA_DIR ?= data/kb
export KB_DATA_DIR
# Offline by construction: no hub look-ups, no telemetry.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export DO_NOT_TRACK := 1
export UNSTRUCTURED_DISABLE_NOTICE := 1

.PHONY: run test setup sample-kb lint samples clean postgres run-cluster stop-cluster

API_HOST ?= 127.0.0.1
API_PORT ?= 8000

# The sample demo: demo accounts (one per role) unless KB_DEMO_USERS=false is given; every
# other command leaves them off, and a start-up with the flag off deletes them.
run: export KB_DEMO_USERS ?= true
# The HTTP API (`kb serve`) runs in the background beside the app and stops when it stops.
run: setup sample-kb
	@$(BIN)/kb serve --host $(API_HOST) --port $(API_PORT) & api=$$!; \
	trap 'kill $$api 2>/dev/null; wait $$api 2>/dev/null' EXIT INT TERM; \
	$(BIN)/streamlit run app.py --server.maxUploadSize $$($(BIN)/python -c 'import math; from kb.config import Settings; print(math.ceil(Settings().max_file_mb))')

# Two workers (pytest-xdist), a test file each at a time so a module's shared base is built
# once; the suite waits on servers, browsers and subprocesses often enough that the second
# core is worth it (tests/conftest.py builds each session base once across workers).
test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=30

setup: $(STAMP)

# pip finds the CPU build of torch pinned in requirements.lock on this machine's local wheel
# folder; a bare `torch` would pull a multi-GB CUDA build. The lock is the whole resolved set,
# installed as it is (--no-deps): rapidocr-onnxruntime asks for opencv-python, whose GUI build
# needs libGL, and the lock holds opencv-python-headless (the same cv2) instead.
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip==26.3"
	$(BIN)/pip install --quiet --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

# Builds the sample knowledge base only when this one has no documents yet.
sample-kb: setup
	@if [ -z "$$($(BIN)/kb docs list | grep -v '^0 documents' | head -1)" ]; then \
		echo "Building the sample knowledge base in $(KB_DATA_DIR) ..."; \
		$(BIN)/kb ingest samples; \
	else echo "Knowledge base in $(KB_DATA_DIR) already has documents."; fi
	@if [ "$$KB_DEMO_USERS" = "true" ]; then $(BIN)/kb users demo; fi

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# Re-render samples/ from tools/sample_sources (only needed after editing a source).
samples: setup
	$(BIN)/python tools/build_samples.py

# The shared store (issue 14, in progress): Debian's PostgreSQL 15 with pgvector built from
# Debian's source package, a cluster in data/postgres on 127.0.0.1:5433. Prints how to set
# KB_DATABASE_URL; `tools/postgres.sh stop|status|url` for the rest. `make run` does not need it.
postgres:
	@tools/postgres.sh start

# The contact centre's shape on one machine (issue 14): two app replicas and two API workers
# behind nginx (installed from Debian if missing): app on http://127.0.0.1:8080, API on :8081.
# Runs in the background (config, pids and logs in data/cluster); `make stop-cluster` ends it,
# `tools/cluster.sh status` checks every process. KB_STORE=postgres uses the shared database.
run-cluster: setup
	@if [ "$${KB_STORE:-local}" = postgres ] && [ -z "$$KB_DATABASE_URL" ]; then \
		tools/postgres.sh start >&2 && export KB_DATABASE_URL="$$(tools/postgres.sh url)"; fi; \
	$(MAKE) --no-print-directory sample-kb && tools/cluster.sh start

stop-cluster:
	@tools/cluster.sh stop

clean:
	rm -rf $(VENV) data

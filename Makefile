# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed

$(RUNTIME): requirements.txt requirements-onnx.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q torch==2.13.0 -r requirements.txt
	touch $@

$(DEV): $(RUNTIME) requirements-dev.txt
	$(PIP) install -q torch==2.13.0 -r requirements-dev.txt
	touch $@

.PHONY: install run test test-fast lint format bench voices voice-pack
install: $(RUNTIME) voice-pack

# All 54 Kokoro voices from the npm registry's kokoro-js 1.2.1 into MODEL_CACHE_DIR (once; offline it says why).
voice-pack: $(RUNTIME)
	@$(PY) scripts/fetch_voices.py --pack || echo "No voice pack yet: the server fetches it at its first start, or run make voices."

run: $(RUNTIME)
	$(PY) server.py

# The voice pack, then any Kokoro v1.0 voice still missing from the hub, into MODEL_CACHE_DIR.
voices: $(RUNTIME)
	$(PY) scripts/fetch_voices.py

test: $(DEV) voice-pack
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

# The inner loop: unit and contract tests, no model and no server process (markers: tests/support/tiers.py).
test-fast: $(DEV)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -m "not slow and not cluster and not browser"

lint: $(DEV)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy app

format: $(DEV)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

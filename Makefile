# Two entry points, both safe on a fresh clone: `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The dev/CI install pins the local CPU torch wheel; see DEVELOPERS.md.
TORCH ?= torch==2.13.0

.PHONY: setup demo test test-fast lint typecheck bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

demo: setup
	$(BIN)/python examples/quickstart.py

test: setup lint typecheck
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check vrag tests benchmarks examples
	$(BIN)/ruff format --check vrag tests benchmarks examples

typecheck: setup
	$(BIN)/mypy

bench: setup
	$(BIN)/python benchmarks/sampling.py
	$(BIN)/python benchmarks/shot_detection.py
	$(BIN)/python benchmarks/encode_cpu.py
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/ingest.py memory
	$(BIN)/python benchmarks/store_query.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

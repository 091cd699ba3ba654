# Two entry points, both safe on a fresh clone: `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The dev/CI install pins the local CPU torch wheel; see DEVELOPERS.md.
TORCH ?= torch==2.13.0
# The framework adapters: their own packages, installed editable beside vrag and tested in `make test`.
LLAMAINDEX := $(addprefix integrations/llamaindex/,llama-index-retrievers-vrag llama-index-postprocessor-vrag-rerank \
	llama-index-readers-vrag llama-index-tools-vrag)
INTEGRATIONS := $(addprefix -e ,$(LLAMAINDEX)) -e "integrations/langchain[test]"

.PHONY: setup demo test test-fast lint typecheck bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(wildcard integrations/*/*/pyproject.toml integrations/*/pyproject.toml)
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip uninstall -q -y vrag 2>/dev/null || true  # the distribution's old name (now vrag-video)
	$(BIN)/python -m pip install -q -e ".[dev]" $(INTEGRATIONS)
	touch $@

demo: setup
	$(BIN)/python examples/quickstart.py

test: setup lint typecheck
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q integrations/llamaindex
	$(BIN)/python -m pytest -q integrations/langchain

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check vrag tests benchmarks examples integrations
	$(BIN)/ruff format --check vrag tests benchmarks examples integrations

typecheck: setup
	$(BIN)/mypy

bench: setup
	$(BIN)/python benchmarks/sampling.py
	$(BIN)/python benchmarks/shot_detection.py
	$(BIN)/python benchmarks/encode_cpu.py
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/ingest.py memory
	$(BIN)/python benchmarks/store_query.py
	$(BIN)/python benchmarks/serve_load.py
	$(BIN)/python benchmarks/ocr_size.py
	$(BIN)/python benchmarks/stages.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# One place for the toolchain. `make demo` sets everything up and compares the example story;
# `make test` runs the test suite; `make check` runs format, lint, types and tests.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test check lint format types golden

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: the local CPU build (an unpinned torch pulls gigabytes of CUDA).
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[embeddings,serve,export,dask,eval,dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	mkdir -p out
	$(BIN)/parallax compare examples/ --format md -o out/example.md
	$(BIN)/parallax compare examples/ --format html -o out/example.html
	$(BIN)/parallax compare examples/ --format json -o out/example.json
	@echo "---- out/example.md ----"
	@cat out/example.md

test: setup
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: setup
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

format: setup
	$(BIN)/ruff format src tests benchmarks scripts
	$(BIN)/ruff check --fix src tests benchmarks scripts

types: setup
	$(BIN)/mypy

check: lint types test

golden: setup
	$(BIN)/python -m pytest tests/test_render.py --update-golden

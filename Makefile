# The whole set-up is `make demo` (the main job) and `make test` (the test suite); both install first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= runs/demo

.PHONY: install demo test lint

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# CPU torch first, so nothing pulls a multi-GB CUDA build; then the project with its dev extra.
$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e ".[dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/seer-env run --env ToolQA-Synth-easy-v0,ToolQA-Synth-hard-v0 --policy random,oracle \
		--episodes 40 --out $(OUT)
	$(BIN)/seer-env report $(OUT)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

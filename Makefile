# The whole set-up is `make demo` (the main job) and `make test` (the test suite); both install first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= runs/demo

.PHONY: install demo test lint

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# CPU torch first, then the project with its dev and ray extras (which keep the torch already installed).
# On Linux a plain `pip install torch` from PyPI is the CUDA build (several GB of nvidia-* wheels);
# the CPU build is `torch==X+cpu`, taken from the sources pip is configured with (a local wheel or
# index) when they have it, else from PyTorch's CPU index, where every wheel is a CPU build (the
# x86_64 ones labelled +cpu). macOS wheels on PyPI are CPU-only.
TORCH_VERSION ?= 2.13.0
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
ifeq ($(shell uname -s),Darwin)
TORCH_INSTALL = $(BIN)/pip install "torch==$(TORCH_VERSION)"
else
TORCH_INSTALL = $(BIN)/pip install "torch==$(TORCH_VERSION)+cpu" \
	|| { echo "torch $(TORCH_VERSION)+cpu is not in pip's configured sources: trying $(TORCH_CPU_INDEX)"; \
	     $(BIN)/pip install "torch==$(TORCH_VERSION)" --index-url $(TORCH_CPU_INDEX); }
endif

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(TORCH_INSTALL)
	$(BIN)/pip install -e ".[dev,ray]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/seer-env run --env ToolQA-Synth-easy-v0,ToolQA-Synth-hard-v0 --policy random,oracle \
		--episodes 40 --out $(OUT)
	$(BIN)/seer-env report $(OUT)

test: install
	$(BIN)/python -m pytest

# ruff, and the layers of docs/architecture.md (lint-imports on the installed package shape)
lint: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -s tests/core/test_layers.py

# The few commands a newcomer needs. Each target sets up what it uses.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The pinned torch pair installs from the local cache on the course machines; change it for your CUDA.
TORCH ?= torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.installed

.PHONY: install demo test export bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Train a U-Net on CamVid_TINY (or, offline, on a generated copy) and save a figure of predictions.
demo: $(STAMP)
	$(BIN)/segcourse-demo --out demo_out

## Run every notebook as a test, then pytest.
test: $(STAMP)
	$(BIN)/nbdev-export
	git diff --exit-code --stat -- segcourse || (echo "segcourse/ differs from what nbdev-export makes of nbs/: run nbdev-export and commit" && exit 1)
	OMP_NUM_THREADS=1 $(BIN)/nbdev-test --n-workers 2 --timing
	$(BIN)/pytest -q

export: $(STAMP)
	$(BIN)/nbdev-export
	$(BIN)/nbdev-clean
	$(BIN)/python tools/readme.py

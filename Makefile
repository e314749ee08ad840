# Two entry points: `make report` (set up + render the site and PDFs) and `make test` (set up, then lint, format
# check, type check and the test suite: what CI runs). `make lint`, `make types`, `make pytest` run one step each.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PROFILE ?=
QUARTO ?= $(shell command -v quarto 2>/dev/null || echo $(VENV)/bin/quarto)
PYTEST_ARGS ?=
# Every Quarto this Makefile starts (make report, make publish, and the render tests of make test) runs the
# chapters with the project's own Python, whatever `python3` is first on PATH and whether or not .venv is
# activated: Quarto otherwise takes the first python3 on PATH, which has no Jupyter and no xaireport.
# Override on the command line (make report QUARTO_PYTHON=/path/to/python) to use another environment.
QUARTO_PYTHON := $(abspath $(PY))
export QUARTO_PYTHON

.PHONY: setup report publish test lint types pytest format clean-cache
setup: $(VENV)/.installed

# torch/torchvision are pinned here (not in pyproject.toml) so that pip takes the wheels this platform has;
# override with `make setup TORCH_SPEC="torch torchvision"` to let pip choose.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1

# Quantus (test-only: chapter 6's measures are checked against it) is installed without its declared dependencies:
# they would add opencv-python beside the opencv-python-headless that grad-cam and scikit-image use (two packages
# for one cv2 module); every module Quantus imports is already installed.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_SPEC) || $(PY) -m pip install --quiet torch torchvision
	$(PY) -m pip install --quiet -e ".[test,ray]"
	$(PY) -m pip install --quiet --no-deps "quantus==0.6.0"
	touch $@

$(VENV)/bin/quarto:
	$(PY) -m pip install --quiet quarto-cli

# --execute-daemon 30: one kernel per page for both formats (Quarto turns the daemon off for whole-project
# renders unless asked); the typst pass then reuses the html pass's kernel.
report: setup $(if $(shell command -v quarto 2>/dev/null),,$(VENV)/bin/quarto)
	PATH=$(abspath $(VENV))/bin:$$PATH $(QUARTO) render $(if $(PROFILE),--profile $(PROFILE),) --execute-daemon 30

# Publish a local render (make report first) to the gh-pages branch of this repository's origin, without
# rendering again; the GitHub Actions workflow .github/workflows/publish.yml does the same on every push to main.
publish:
	$(QUARTO) publish gh-pages --no-render --no-prompt

test: lint types pytest

lint: setup
	$(VENV)/bin/ruff check code tests benchmarks
	$(VENV)/bin/ruff format --check code tests benchmarks

types: setup
	$(VENV)/bin/mypy

pytest: setup
	$(PY) -m pytest $(PYTEST_ARGS)

format: setup
	$(VENV)/bin/ruff check --fix code tests benchmarks
	$(VENV)/bin/ruff format code tests benchmarks

clean-cache:
	rm -rf data/cache

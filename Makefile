# Two commands for a fresh machine:
#   make quickstart   install into .venv and run the main job on the offline default model
#   make test         install into .venv (with test tools) and run the test suite
PYTHON ?= python3
VENV ?= .venv
# CPU-only machines get the local CPU build of torch; with an NVIDIA GPU, pip's own choice (CUDA) is kept.
CONSTRAINTS := $(if $(shell command -v nvidia-smi 2>/dev/null),,-c constraints/cpu.txt)
PIP := $(VENV)/bin/python -m pip
# uv installs the same packages as pip (pip's sources handed over: constraints/uv_sources.py) in seconds
# instead of about two minutes; where uv cannot be had or fails, pip does it.
define install_with
$(PIP) install -q uv && $(VENV)/bin/python -m uv pip install -q --python $(VENV)/bin/python \
	$$($(VENV)/bin/python constraints/uv_sources.py) $(CONSTRAINTS) $(1) \
|| { echo "make: uv could not install; pip does it instead (slower)"; $(PIP) install -q $(CONSTRAINTS) $(1); }
endef

.PHONY: install install-test quickstart lint test clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

install: $(VENV)/bin/python
	$(call install_with,-e .)

install-test: $(VENV)/bin/python
	$(call install_with,-e '.[test]')

quickstart: install
	$(VENV)/bin/rlhf run --config configs/quickstart.yaml

# The layers and the one database API (import-linter), and the code rules (ruff): pyproject.toml.
# check_figures: every measured figure in README.md and docs/ is in a linked bench/results file.
lint: install-test
	$(VENV)/bin/ruff check rlhf reward labeling_app tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/python bench/check_figures.py

test: lint
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) runs .pytest_cache

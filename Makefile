# Two commands do everything: `make test` (set-up + every test) and `make demo`.
# Set-up is idempotent: a second run finds everything in place and takes seconds.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
QGIS_VENV := .venv-qgis
TORCH_SPEC ?= torch==2.13.0
export TORCH_SPEC

.PHONY: setup setup-qgis test test-core test-plugin demo plugin bench clean

setup: $(VENV)/.scd-installed

$(VENV)/.scd-installed: pyproject.toml scripts/setup_venv.sh
	PYTHON=$(PYTHON) scripts/setup_venv.sh $(VENV)
	touch $@

setup-qgis:
	scripts/setup_qgis.sh $(QGIS_VENV)

test: test-core test-plugin

test-core: setup
	$(VENV)/bin/python -m pytest tests/core

test-plugin: setup setup-qgis
	SCD_PYTHON=$(abspath $(VENV))/bin/python QT_QPA_PLATFORM=offscreen \
		$(QGIS_VENV)/bin/python -m pytest -p no:cacheprovider tests/plugin

bench: setup
	$(VENV)/bin/python benchmarks/bench_evaluate.py

clean:
	rm -rf $(VENV) $(QGIS_VENV) dist build *.egg-info

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

# The QGIS plugin zip ("Install from ZIP"): qgis_scd_plugin/ with the files its links point at copied in
# (metadata.txt, resources/icons, resources/styles and the demo model when there is one).
plugin:
	rm -rf build/plugin dist/qgis_scd_plugin.zip
	mkdir -p build/plugin/qgis_scd_plugin/icons build/plugin/qgis_scd_plugin/styles dist
	find qgis_scd_plugin -name '*.py' -not -path '*/__pycache__/*' -exec cp --parents {} build/plugin \;
	cp metadata.txt build/plugin/qgis_scd_plugin/
	cp resources/icons/*.svg build/plugin/qgis_scd_plugin/icons/
	cp resources/styles/*.qml build/plugin/qgis_scd_plugin/styles/
	if [ -f resources/models/demo.pt ]; then mkdir -p build/plugin/qgis_scd_plugin/models && cp resources/models/demo.pt build/plugin/qgis_scd_plugin/models/; fi
	cd build/plugin && zip -qr ../../dist/qgis_scd_plugin.zip qgis_scd_plugin

bench: setup
	$(VENV)/bin/python benchmarks/bench_evaluate.py

clean:
	rm -rf $(VENV) $(QGIS_VENV) dist build *.egg-info

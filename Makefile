# Two commands do everything: `make test` (set-up + every test) and `make demo`.
# Set-up is idempotent: a second run finds everything in place and takes seconds.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
QGIS_VENV := .venv-qgis
TORCH_SPEC ?= torch==2.13.0
export TORCH_SPEC

.PHONY: setup setup-qgis setup-browser gpu-check lint test test-core test-plugin demo demo-model demo-sample plugin bench bench-training clean

setup: $(VENV)/.scd-installed

$(VENV)/.scd-installed: pyproject.toml scripts/setup_venv.sh
	PYTHON=$(PYTHON) scripts/setup_venv.sh $(VENV)
	touch $@

setup-qgis:
	scripts/setup_qgis.sh $(QGIS_VENV)

# Every GPU path in one run of at most 8 minutes, as JSON (benchmarks/gpu_check.py); on a machine without a
# CUDA device it says so and exits 0. On a lent GPU: commit its JSON under benchmarks/results/.
gpu-check: setup
	$(VENV)/bin/python benchmarks/gpu_check.py --out benchmarks/results/gpu-check.json

# Debian's Chromium, in which the tests render report.html headless.
setup-browser:
	scripts/setup_browser.sh

# ruff (lint and format), mypy, and the size and import-order habits of scripts/check_structure.py.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/python scripts/check_structure.py

test: test-core test-plugin

test-core: setup setup-browser
	$(VENV)/bin/python -m pytest tests/core --durations=25

test-plugin: setup setup-qgis
	SCD_PYTHON=$(abspath $(VENV))/bin/python QT_QPA_PLATFORM=offscreen \
		$(QGIS_VENV)/bin/python -m pytest -p no:cacheprovider tests/plugin --durations=10

# The QGIS plugin zip ("Install from ZIP"): qgis_scd_plugin/ with what a checkout keeps elsewhere copied in
# (metadata.txt, resources/icons, resources/styles, the demo model when there is one, and the engine's
# stdlib-only legend, vocabulary package and events in shared/), the LICENSE, the README (the algorithm's Help
# button opens its plugin section), and the scd-core wheel that "Install backend" pip-installs.
plugin: setup
	# setuptools builds the wheel from build/lib: a stale copy there would ship files that are gone
	rm -rf build/plugin build/lib build/bdist.* dist/qgis_scd_plugin.zip
	mkdir -p build/plugin/qgis_scd_plugin/icons build/plugin/qgis_scd_plugin/styles build/plugin/qgis_scd_plugin/shared/vocabulary dist
	find qgis_scd_plugin -name '*.py' -not -path '*/__pycache__/*' -exec cp --parents {} build/plugin \;
	cp metadata.txt LICENSE README.md build/plugin/qgis_scd_plugin/
	cp resources/icons/*.svg build/plugin/qgis_scd_plugin/icons/
	cp resources/styles/*.qml build/plugin/qgis_scd_plugin/styles/
	cp scd_core/legend.py scd_core/events.py build/plugin/qgis_scd_plugin/shared/
	cp scd_core/vocabulary/*.py build/plugin/qgis_scd_plugin/shared/vocabulary/
	if [ -f resources/models/demo.pt ]; then mkdir -p build/plugin/qgis_scd_plugin/models && cp resources/models/demo.pt build/plugin/qgis_scd_plugin/models/; fi
	$(VENV)/bin/python -m pip wheel --quiet --no-deps -w build/plugin/qgis_scd_plugin/wheels .
	cd build/plugin && zip -qr ../../dist/qgis_scd_plugin.zip qgis_scd_plugin

# The main job on the embedded sample: the demo model on the synthetic pair in resources/sample/, then
# the result against the sample's truth (label1.tif, label2.tif: the classes of each date where changed).
demo: setup
	$(VENV)/bin/scd detect resources/sample/before.tif resources/sample/after.tif -o out/demo --overwrite \
		--zones resources/sample/districts.geojson --zone-field district
	$(VENV)/bin/scd score out/demo resources/sample/label1.tif resources/sample/label2.tif
	@echo "Outputs in out/demo: change_type.tif, before_class.tif, after_class.tif, change_prob.tif, changes.gpkg,"
	@echo "  summary.csv, summary.json, zones.csv, zones.gpkg, run.json, preview.png and report.html (open it)"

# How the committed demo files were made (deterministic; minutes on a CPU). Not part of `make demo`.
# (resources/sample/districts.geojson, the demo's zones, is the sample's four quadrants, written in EPSG:4326.)
demo-sample: setup
	rm -rf build/demo-sample
	$(VENV)/bin/scd synth geo build/demo-sample --size 1024 --seed 2026 --crs EPSG:32633 --resolution 0.5 \
		--after-resolution 0.6 --nodata-collar 40
	mkdir -p resources/sample
	cp build/demo-sample/before.tif build/demo-sample/after.tif build/demo-sample/label1.tif \
		build/demo-sample/label2.tif resources/sample/

# The demo model through the training pipeline (minutes on a CPU): synthetic SECOND-style scenes, ASN at a
# quarter of its width (training/configs/demo_asn.yaml), then ATL's second stage on that ASN, frozen
# (training/configs/demo.yaml); the ATL run's model.pt becomes resources/models/demo.pt.
demo-model: setup
	rm -rf build/demo-data build/demo-runs
	$(VENV)/bin/scd synth second build/demo-data/train --pairs 160 --size 256 --seed 1
	$(VENV)/bin/scd synth second build/demo-data/val --pairs 16 --size 256 --seed 2
	$(VENV)/bin/python -m training.train training/configs/demo_asn.yaml
	$(VENV)/bin/python -m training.train training/configs/demo.yaml
	mkdir -p resources/models
	cp build/demo-runs/atl/model.pt resources/models/demo.pt

bench: setup
	$(VENV)/bin/python benchmarks/bench_evaluate.py
	$(VENV)/bin/python benchmarks/bench_detect.py

# The trainer against a bare torch loop, and the SeK at τ = 0.5 of a small ASN (minutes on a CPU).
bench-training: setup
	$(VENV)/bin/python benchmarks/bench_training.py

clean:
	rm -rf $(VENV) $(QGIS_VENV) dist build *.egg-info

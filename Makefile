# `make demo` and `make test` do the whole set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.ferromap-installed
DEMO_OUT ?= out/demo

.PHONY: demo test lint system-deps install bench clean datasets weights

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=25.1"

# Re-install whenever the dependency list or the pins change.
$(STAMP): pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install -q -c constraints.txt -e ".[all]" --group dev
	touch $(STAMP)

install: $(STAMP)

system-deps:
	@bash scripts/install-system-deps.sh

demo: install
	$(VENV)/bin/ferromap predict sample:two-domain --out $(DEMO_OUT) --force
	$(VENV)/bin/ferromap com sample:two-domain --out $(DEMO_OUT)/com --force
	@echo "polarization map: $(DEMO_OUT)/polarization.png; CoM maps: $(DEMO_OUT)/com/com.png"

test: system-deps install
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check src tests benchmarks scripts

# The evaluation suite, the calibration sets and the mild training bank (resumes where it
# stopped).
datasets: install
	$(PY) scripts/make_datasets.py --out data --group suite calibration bank-mild --bank 97
	$(PY) scripts/make_datasets.py --out data --group legacy --only test-vacancy test-pristine-rd

# conv-proto is fine-tuned from the weights of commit 45f211b (the previous shipped model).
models/conv-proto-previous:
	mkdir -p $@
	for f in model.json weights.safetensors; do \
	  git show 45f211b:src/ferromap/models/weights/conv-proto/$$f > $@/$$f; done

# The default model (context) is trained on the mild bank and its confidence calibrated on
# the calibration sets; the PCA + kNN of polar statistics (not shipped) is fitted for the
# benchmark. conv-proto, the per-pattern model, and pca-knn keep earlier weights.
weights: datasets
	$(VENV)/bin/ferromap train --config configs/context.toml --force
	$(PY) scripts/calibrate_weights.py --model src/ferromap/models/weights/context
	$(VENV)/bin/ferromap train --config configs/pca-knn.toml --force
	$(PY) scripts/calibrate_weights.py --model models/pca-knn-v2

bench: install models/conv-proto-previous
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) out dist build

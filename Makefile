# The two commands: `make run` (the master on the embedded default) and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
REPO ?=
PYTEST_ARGS ?=

.PHONY: run test lint unit integration bench constraints clean image

$(VENV)/.installed: requirements.txt requirements-deploy.txt requirements-test.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-test.txt -c constraints.txt
	touch $@

# The crossbar router of the multi-master tests lives in a virtualenv of its own.
.venv-crossbar/.installed: requirements-crossbar.txt
	$(PYTHON) -m venv .venv-crossbar
	.venv-crossbar/bin/python -m pip install --quiet --upgrade pip
	.venv-crossbar/bin/python -m pip install --quiet -r requirements-crossbar.txt
	touch $@

run: $(VENV)/.installed
	$(PY) -m local --repo "$(REPO)"

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy slave/build-base
	$(VENV)/bin/mypy slave/wheelhouse

unit: $(VENV)/.installed
	$(PY) -m pytest -q tests/unit $(PYTEST_ARGS)

integration: $(VENV)/.installed
	$(PY) -m pytest -q tests/integration $(PYTEST_ARGS)

# The core build, webhook and EC2 suites run again on stock Buildbot (no mends), which is
# how a master runs with `buildmaster.mends: false`.
STOCK_SUITES := tests/integration/test_build.py tests/integration/test_webhook.py \
	tests/integration/test_ec2_master.py

test: lint $(VENV)/.installed .venv-crossbar/.installed
	$(PY) -m pytest $(PYTEST_ARGS) --durations=20 -m "not alone"
	TEST_MENDS=off $(PY) -m pytest $(PYTEST_ARGS) $(STOCK_SUITES)
	$(PY) -m pytest -m alone

constraints: $(VENV)/.installed
	$(PY) -m pip freeze --exclude-editable > constraints.txt

# The master's Docker image: `make image IMAGE_ARGS="--config-file=config.yml"` (see build-images).
image: $(VENV)/.installed
	PYTHON=$(PY) ./build-images $(IMAGE_ARGS)

clean:
	rm -rf $(VENV) .venv-crossbar .run .pytest_cache .mypy_cache .ruff_cache .wheels

# Performance figures, printed as one table (JSON in bench/results/); never pass/fail.
bench: $(VENV)/.installed
	$(PY) -m bench $(BENCH_ARGS)

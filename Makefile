# DigitLab's two commands: `make run` and `make test` (each sets up .venv on first use);
# `make test-fast` leaves out the tests marked slow, for a quick round while developing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Real MNIST beside the checkout when present (CI, development); otherwise Keras downloads it.
SHARED_MNIST := $(abspath ../shared/data/mnist)
ifneq ($(wildcard $(SHARED_MNIST)),)
export DIGITLAB_DATA_DIR ?= $(SHARED_MNIST)
endif

.PHONY: run test test-fast lint format bench clean

$(BIN)/.installed: requirements.txt
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed: install it, or run 'make PYTHON=/path/to/python3.11 ...'"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed requirements-dev.txt requirements-ray.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	# Ray is optional (training on a cluster): where it can't be installed, its test is skipped.
	$(BIN)/pip install --quiet -r requirements-ray.txt || echo "Ray could not be installed: tests/test_cluster.py will be skipped"
	touch $@

run: $(BIN)/.installed
	$(BIN)/streamlit run streamlit_app.py

# The suite runs on two workers (pytest-xdist, a test file to a worker: a module's fixtures
# stay with it); then the tests marked `timed` run alone, so no other test's load moves
# what they measure.
PARALLEL := -n 2 --dist loadfile --no-loadscope-reorder

test: $(BIN)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -m "not timed and not bench" $(PARALLEL)
	$(BIN)/python -m pytest -m "timed and not bench"
	@if command -v node >/dev/null; then node --test tests/js/; else echo "node is missing: skipped tests/js (the browser's preprocessing against Python's)"; fi

test-fast: $(BIN)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -m "not slow and not timed and not bench" $(PARALLEL)
	$(BIN)/python -m pytest -m "timed and not slow and not bench"

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The benchmark: training and prediction figures (python -m digitlab bench, see the README's
# Performance), then the Draw page's pen-up -> answer in a real browser beside the bare
# canvas (tests/e2e/test_latency.py) and a pen move -> the live answer in the browser
# (tests/e2e/test_live_answer.py): figures with a target, so here and not in `make test`.
bench: $(BIN)/.installed-dev
	$(BIN)/python -m digitlab bench
	$(BIN)/python -m pytest -m bench -s tests/e2e/test_latency.py tests/e2e/test_live_answer.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

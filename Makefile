# The two commands of the README:
#   make demo   set up, then run every notebook on the tiny profile (CPU, offline)
#   make test   set up, then run the unit tests and every notebook under nbval
# The Pythons CI runs: 3.11 (`make test`, requirements-dev.txt), 3.13 (`make test-colab`, Colab's
# versions) and 3.12 and 3.13 (tests/setup: a fresh `make setup` venv runs notebook 04's imports).
SUPPORTED := 3.11 3.12 3.13
VENV   ?= .venv
BIN     = $(VENV)/bin
DRIVE  ?= $(CURDIR)/drive
# The first of these that runs and is a supported version (a pyenv shim of an unselected version fails).
PYTHON_OF = $(shell for p in $(1); do \
	v=$$($$p -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) && \
	case " $(SUPPORTED) " in (*" $$v "*) command -v $$p; exit 0;; esac; done)
# For .venv: `make PYTHON=python3.12 ...`, else python3 if supported, else the newest supported found.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(call PYTHON_OF,python3 python3.13 python3.12 python3.11)
endif
# For the Colab lane: Colab's Python (requirements-colab.txt's header says which).
ifeq ($(origin COLAB_PYTHON),undefined)
COLAB_PYTHON := $(call PYTHON_OF,python3.13 $(wildcard $(HOME)/.pyenv/versions/3.13.*/bin/python3.13))
endif
COLAB_VENV   ?= build/colab-venv
# What the Colab lane runs in its venv: the unit tests and the series under nbval (tiny profile).
# tests/notebooks (papermill runs against the stand-ins) stays in `make test`, to keep CI in 25 minutes.
COLAB_TESTS ?= tests/unit tests/models notebooks
# Test tools the Colab lane adds after the install check (Colab ships pytest; nbval is in requirements.txt).
COLAB_TEST_TOOLS = duckdb sqlglot

.PHONY: setup demo test test-unit test-colab colab-venv check strip clean python
setup: $(VENV)/.installed

# Say which Python is used, or which to install.
python:
	@v=$$($(or $(PYTHON),false) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); \
	case " $(SUPPORTED) " in (*" $$v "*) echo "make: using $(PYTHON) (Python $$v)"; exit 0;; esac; \
	if [ -z "$(PYTHON)" ]; then echo "make: no Python 3.11, 3.12 or 3.13 found (python3, python3.13, python3.12, python3.11 on PATH)."; \
	elif [ -z "$$v" ]; then echo "make: $(PYTHON) does not run."; else echo "make: $(PYTHON) is Python $$v."; fi; \
	echo "This project needs Python 3.11, 3.12 or 3.13 (CI runs each). Install one (python.org, your package manager," \
	  "or \`pyenv install 3.12\`), then run make again, or point make at it: make PYTHON=/path/to/python3.12 $(or $(MAKECMDGOALS),setup)"; exit 1

$(VENV)/.installed: requirements-dev.txt pyproject.toml | python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	# git filter that strips outputs on commit; nbstripout --install forgets --keep-id, so set it after.
	-git rev-parse --git-dir >/dev/null 2>&1 && $(BIN)/nbstripout --install 2>/dev/null && \
	  git config filter.nbstripout.clean "'$(abspath $(BIN))/python' -m nbstripout --keep-id" && \
	  git config diff.ipynb.textconv "'$(abspath $(BIN))/python' -m nbstripout -t --keep-id"
	touch $@

# The tiny realism model (rightly) rates the tiny GPT-2's replies as fake, so the demo lowers the
# realism bar and approves every proposal to show review and posting; DRY_RUN stays on: nothing is posted.
demo: setup
	@BOT_DRIVE_ROOT=$(DRIVE) $(BIN)/python -m helpers.core.runner --profile tiny -p MIN_PROB_REAL 0.0 -p APPROVE_ALL True

# pytest exits 5 when it collects no tests: say so and fail rather than pass silently.
# All tiers: the layering contracts (import-linter), the unit tests, the notebook tests and nbval.
test: setup
	$(BIN)/lint-imports --no-cache
	@$(BIN)/python -m pytest tests notebooks --nbval-lax -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; fi; exit $$rc

# The quick tier: unit tests only (no notebook runs), a few minutes on 2 cores.
test-unit: setup
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest tests/unit -q

# The Colab lane: a Python 3.13 venv of Colab's preinstalled versions (requirements-colab.txt), then
# scripts/colab_install.py as the setup cell runs it, a check that pip moved none of Colab's
# TensorFlow, tf_keras, numpy, pandas, protobuf, ipywidgets, then the unit tests and the notebook
# series (nbval) in that venv (in build/; pip's download cache is kept).
test-colab: $(COLAB_VENV)/.checked
	@PYTHONPATH=$(CURDIR) $(COLAB_VENV)/bin/python -m pytest $(COLAB_TESTS) --nbval-lax -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; fi; exit $$rc

# The Colab venv alone (CI builds it while `make test` runs): rebuilt from scratch whenever the pins,
# the requirements or the install script change.
colab-venv: $(COLAB_VENV)/.checked
$(COLAB_VENV)/.checked: requirements-colab.txt requirements.txt requirements-dev.txt scripts/colab_install.py
	@test -n "$(COLAB_PYTHON)" || { echo "make test-colab: needs Python 3.13 (Colab's): install it, or make COLAB_PYTHON=/path/to/python3.13 test-colab"; exit 1; }
	rm -rf $(COLAB_VENV)
	$(COLAB_PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-colab.txt
	$(COLAB_VENV)/bin/python scripts/colab_install.py
	$(COLAB_VENV)/bin/python scripts/refresh_colab_pins.py check
	$(COLAB_VENV)/bin/python -m pip install -q --disable-pip-version-check -c requirements-colab.txt \
	  $$(grep -iE '^($(subst $(eval) ,|,$(COLAB_TEST_TOOLS)))==' requirements-dev.txt)
	$(COLAB_VENV)/bin/python scripts/refresh_colab_pins.py check
	touch $@

check: setup
	$(BIN)/python -m helpers.core.notebooks

strip: setup
	$(BIN)/python -m helpers.core.notebooks --fix

clean:
	rm -rf $(VENV) drive $(COLAB_VENV)

# The two commands of the README:
#   make demo   set up, then run every notebook on the tiny profile (CPU, offline)
#   make test   set up, then run the unit tests and every notebook under nbval
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DRIVE  ?= $(CURDIR)/drive

.PHONY: setup demo test test-unit check strip clean
setup: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt pyproject.toml
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

check: setup
	$(BIN)/python -m helpers.core.notebooks

strip: setup
	$(BIN)/python -m helpers.core.notebooks --fix

clean:
	rm -rf $(VENV) drive

# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: install run test test-fast lint clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing quotebot into $(VENV) (first time takes a few minutes)..." >&2
	@$(PIP) install -c constraints.txt torch==2.13.0 >&2
	@$(PIP) install -c constraints.txt -e '.[test]' >&2
	@touch $(STAMP)

run: install
	@$(BIN)/quotebot run

test: install
	@$(BIN)/python -m pytest

# The quick subset while developing (no whole-corpus evaluations); CI runs `make test`.
test-fast: install
	@$(BIN)/python -m pytest -m "not slow"

lint: install
	@$(BIN)/ruff check src tests benchmarks scripts
	@$(BIN)/mypy

clean:
	rm -rf $(VENV) index/v-* index/.tmp-* index/CURRENT index/LOCK

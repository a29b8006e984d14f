# descend: set-up and the main jobs. Every target is idempotent.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install chromium run test lint typecheck pytest docs bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Reinstall only when the project's metadata changes.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[all,dev]"
	touch $(STAMP)

# Debian's chromium, which kaleido drives for PNG/SVG/PDF export (no browser download).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	command -v chromium >/dev/null || ($(SUDO) apt-get update && \
		$(SUDO) apt-get install -y --no-install-recommends chromium fonts-dejavu-core)

install: chromium $(STAMP)

run: install
	$(PY) -m descend app

lint: install
	$(VENV)/bin/ruff check src tests benchmarks docs

typecheck: install
	$(VENV)/bin/mypy

pytest: install
	$(PY) -m pytest

test: lint typecheck pytest

# The documentation site, offline, into docs/_build/html (open docs/_build/html/index.html).
# Any Sphinx warning or gallery exception fails the build; then the built pages are checked
# in chromium (tests/docs). The explorer's pictures (docs/app*.png) are the ones the browser
# tests take (tests/e2e/test_explorer.py, run by make test).
docs: install
	rm -rf docs/_build/html docs/auto_examples docs/reference
	$(PY) -m sphinx -b html -W --keep-going -E -q docs docs/_build/html
	DESCEND_DOCS_TESTS=1 $(PY) -m pytest -q -p no:cacheprovider tests/docs

bench: install
	@set -e; for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b; done

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache docs/_build \
		docs/auto_examples docs/reference

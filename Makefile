# Jemput Bola Planner — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PORT   ?= 5000

# Every install takes the exact versions of constraints.txt. uv (from PyPI, into the venv)
# installs them in a few seconds where pip takes ~40 s; to use pip instead:
#   make VENV_INSTALL='.venv/bin/pip install -q -c constraints.txt' test
CONSTRAINTS = constraints.txt
VENV_INSTALL ?= $(BIN)/uv pip install -q --python $(BIN)/python -c $(CONSTRAINTS)

# pytest's workers for `make test` (pytest-xdist; 0 = one process, as plain `pytest`).
TEST_WORKERS ?= 2

.PHONY: run test test-pg venv sysdeps lint demo bench translations constraints clean

# The venv and its installer (Debian's own python3 needs python3-venv for that: sysdeps).
$(BIN)/activate:
	@$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || PYTHON=$(PYTHON) bash .ci/sysdeps.sh
	$(PYTHON) -m venv $(VENV)

$(BIN)/uv: $(BIN)/activate $(CONSTRAINTS)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c $(CONSTRAINTS) uv
	touch $@

# The app and its runtime dependencies (editable, so instance/ lives in this checkout).
$(VENV)/.installed: $(BIN)/uv setup.cfg pyproject.toml $(CONSTRAINTS)
	$(VENV_INSTALL) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(VENV_INSTALL) -e '.[test]'
	touch $@

venv: $(VENV)/.installed

# System packages: WeasyPrint needs Pango; browser tests need Debian's Chromium.
# Installed only when missing (needs root and apt-get, as on the office and CI machines).
sysdeps:
	@PYTHON=$(PYTHON) bash .ci/sysdeps.sh

run: sysdeps $(VENV)/.installed
	$(BIN)/planner init-db
	$(BIN)/planner load-demo --if-empty
	$(BIN)/planner run --host 127.0.0.1 --port $(PORT)

test: sysdeps $(VENV)/.installed-test
	$(BIN)/ruff check planner tests bench
	$(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The same suite against PostgreSQL (default: the local server, database `test`); one
# process, since every test resets that one database.
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
test-pg: sysdeps $(VENV)/.installed-test
	PLANNER_TEST_DATABASE_URL=$(PG_URL) $(BIN)/pytest -m "not browser" $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check planner tests bench

demo: $(VENV)/.installed
	$(BIN)/planner generate-demo --out data

bench: $(VENV)/.installed
	$(VENV_INSTALL) -e '.[bench]'
	$(BIN)/python -m bench.run $(BENCH_ARGS)

translations: $(VENV)/.installed-test
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ -o planner/translations/messages.pot .
	$(BIN)/pybabel update -i planner/translations/messages.pot -d planner/translations
	$(BIN)/pybabel compile -d planner/translations

# After upgrading packages in the venv (and `make test` passing): record their versions.
constraints: $(VENV)/.installed-test
	{ sed -n '/^#/p' $(CONSTRAINTS); \
	  $(BIN)/uv pip freeze --python $(BIN)/python --exclude-editable \
	    | grep -vE '^(pip|setuptools)=='; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)

clean:
	rm -rf $(VENV) instance .pytest_cache

# Jemput Bola Planner — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PORT   ?= 5000

.PHONY: run test test-pg venv sysdeps lint demo bench translations clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The app and its runtime dependencies (editable, so instance/ lives in this checkout).
$(VENV)/.installed: $(BIN)/activate setup.cfg pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

# System packages: WeasyPrint needs Pango; browser tests need Debian's Chromium.
# Installed only when missing (needs root and apt-get, as on the office and CI machines).
sysdeps:
	@bash .ci/sysdeps.sh

run: sysdeps $(VENV)/.installed
	$(BIN)/planner init-db
	$(BIN)/planner load-demo --if-empty
	$(BIN)/planner run --host 127.0.0.1 --port $(PORT)

test: sysdeps $(VENV)/.installed-test
	$(BIN)/ruff check planner tests bench
	$(BIN)/pytest $(PYTEST_ARGS)

# The same suite against PostgreSQL (default: the local server, database `test`).
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
test-pg: sysdeps $(VENV)/.installed-test
	PLANNER_TEST_DATABASE_URL=$(PG_URL) $(BIN)/pytest -m "not browser" $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check planner tests bench

demo: $(VENV)/.installed
	$(BIN)/planner generate-demo --out data

bench: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python -m bench.run $(BENCH_ARGS)

translations: $(VENV)/.installed-test
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o planner/translations/messages.pot .
	$(BIN)/pybabel update -i planner/translations/messages.pot -d planner/translations
	$(BIN)/pybabel compile -d planner/translations

clean:
	rm -rf $(VENV) instance .pytest_cache

# The two commands of the README. Both create or refresh .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Test processes per engine run (pytest-xdist); each has its own database, broker vhost and browser.
TEST_WORKERS ?= 2

.PHONY: run test install bench clean

run: install
	$(BIN)/rescueops dev

test: install
	bash tests/e2e/install-browser.sh
	$(BIN)/pytest --engine=sqlite -n $(TEST_WORKERS)
	$(BIN)/pytest --engine=postgres -m "not e2e" -n $(TEST_WORKERS)

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed, found " + sys.version' 
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) var .pytest_cache

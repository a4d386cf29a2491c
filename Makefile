# The two commands of the README. Both create or refresh .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Test processes per engine run (pytest-xdist); each has its own database, broker vhost and browser.
TEST_WORKERS ?= 2

.PHONY: run test soak install bench clean

run: install
	$(BIN)/rescueops dev

# The tests marked `faults` stop and restart the shared PostgreSQL and RabbitMQ, so they run last, alone.
test: install
	bash tests/e2e/install-browser.sh
	$(BIN)/pytest --engine=sqlite -m "not faults and not soak" -n $(TEST_WORKERS)
	$(BIN)/pytest --engine=postgres -m "not e2e and not faults and not soak" -n $(TEST_WORKERS)
	$(BIN)/pytest --engine=postgres -m "faults and not soak" -p no:xdist

# Longer fault and fuzzing runs (more examples, longer event streams); not part of `make test`.
soak: install
	$(BIN)/pytest --engine=sqlite -m "soak and not faults" -n $(TEST_WORKERS)
	$(BIN)/pytest --engine=postgres -m "soak and not faults" -n $(TEST_WORKERS)
	$(BIN)/pytest --engine=postgres -m "soak and faults" -p no:xdist

# The benchmarks of docs/performance.md (PostgreSQL and RabbitMQ must be running); long, and not part of `make test`.
bench: install
	bash bench/install-tools.sh
	$(BIN)/pip install -q -e '.[test,bench]'
	$(BIN)/python -m bench

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed, found " + sys.version' 
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) var .pytest_cache

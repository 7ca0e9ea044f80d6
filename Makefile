# zenpro — two commands matter: `make run` and `make test` (see README).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
# npm projects of the tests, each installed from its committed lock file: the OpenID provider
# the SSO tests run (tests/sso/idp) and axe-core for the console's accessibility checks.
NPM_DIRS   = tests/sso/idp tests/console
NPM_STAMPS = $(addsuffix /node_modules/.installed,$(NPM_DIRS))

.PHONY: run test lint types migrations-check test-unit test-browser test-compat test-sso bench fuzz clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

%/node_modules/.installed: %/package.json %/package-lock.json
	if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix $* --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the tests that need $* will be skipped (they fail under CI=true)"; fi

## run: install, migrate the SQLite file under ./data, ensure an admin, serve on :8080
run: $(STAMP)
	mkdir -p data
	$(BIN)/zenpro serve --migrate --host 127.0.0.1 --port 8080

lint: $(STAMP)
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations

types: $(STAMP)
	$(BIN)/mypy src

## alembic check (no drift) on a scratch SQLite database, plus an up/down/up round trip
migrations-check: $(STAMP)
	$(BIN)/python -m tests.tools.migrations_check

test-unit: $(STAMP) $(NPM_STAMPS)
	$(BIN)/pytest -q -m "not zenml" $(PYTEST_ARGS)

test-compat: $(STAMP)
	$(BIN)/pytest -q -m zenml $(PYTEST_ARGS)

## test-sso: single sign-on against the real OpenID provider (npm oidc-provider), both databases
test-sso: $(STAMP) $(NPM_STAMPS)
	$(BIN)/pytest -q tests/sso $(PYTEST_ARGS)

## test: lint, types, migrations, the whole suite (SQLite + PostgreSQL + Redis when reachable).
## The real-zenml tests (-m zenml: mostly waiting on ZenML servers and the CLI) run beside
## the rest, in a second pytest with databases of their own; both must pass.
COMPAT_LOG = test-artifacts/test-compat.log
test: lint types migrations-check $(NPM_STAMPS)
	mkdir -p test-artifacts
	ZENPRO_TEST_WORKER=compat $(BIN)/pytest -q -p no:cacheprovider -m zenml $(PYTEST_ARGS) \
	  > $(COMPAT_LOG) 2>&1 & compat=$$!; \
	$(BIN)/pytest -q -m "not zenml" $(PYTEST_ARGS); rest=$$?; \
	wait $$compat; zenml=$$?; \
	echo "== the real-zenml tests ($(COMPAT_LOG))"; cat $(COMPAT_LOG); \
	echo "== exit: rest $$rest, zenml $$zenml"; test $$rest -eq 0 -a $$zenml -eq 0

## fuzz: the long schemathesis run (docs/reliability.md): more examples per operation and phase
FUZZ_EXAMPLES ?= 20
FUZZ_SEEDS    ?= 777 4242 31337
ESCALATION_SEQUENCES ?= 10000
fuzz: $(STAMP)
	ZENPRO_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) ZENPRO_FUZZ_SEEDS="$(FUZZ_SEEDS)" \
	  $(BIN)/pytest -q -m fuzz tests/fuzz $(PYTEST_ARGS)
	ZENPRO_ESCALATION_SEQUENCES=$(ESCALATION_SEQUENCES) $(BIN)/pytest -q tests/security/test_escalation_model.py -k holds $(PYTEST_ARGS)

## bench: both dataset sizes, median of 3 rounds (~15 min); quicker: BENCH_ARGS="--size 1k"
BENCH_ARGS ?= --size 1k,100k --runs 3
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(addsuffix /node_modules,$(NPM_DIRS))

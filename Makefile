# payql — `make run` serves the API with GraphiQL; `make test` runs lint and the tests.
# The project's own commands install exactly requirements.lock (`make lock` writes it from
# pyproject.toml's ranges; `make lock-upgrade [PACKAGE=name]` moves pins to the newest allowed).
SHELL       := bash
.SHELLFLAGS := -o pipefail -ec
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := requirements.lock
SYNCED := $(VENV)/.synced-$(shell cksum $(LOCK) | cut -d' ' -f1)
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | cksum | cut -d' ' -f1)
# pip warns about the machine's optional local mirrors it cannot read; nothing else is dropped.
QUIET_PIP := { grep -v '^WARNING: Location' || true; }

.PHONY: install run test lint fmt pytest migrate migrations seed schema bench clean lock lock-upgrade

# Every package at the version the lock names, with its hash, and nothing resolved anew.
$(SYNCED): $(LOCK)
	@echo "Installing the packages $(LOCK) pins into $(VENV) (a minute or so the first time)..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
	  -r $(LOCK) 2>&1 | $(QUIET_PIP)
	@rm -f $(VENV)/.synced-* && touch $@

# payql itself, built with the locked setuptools; its dependencies all come from the lock.
$(STAMP): pyproject.toml $(SYNCED)
	@echo "Installing payql itself into $(VENV) (editable, from this folder)..."
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps \
	  --no-build-isolation -e . 2>&1 | $(QUIET_PIP)
	@broken=$$($(BIN)/python -m pip check --disable-pip-version-check) || { echo "$$broken"; \
	  echo "$(LOCK) does not satisfy pyproject.toml: run make lock"; exit 1; }
	@$(BIN)/python -c "import app.main, schema" # fail here, not later, if the install did not take
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# The lock: the runtime and dev dependencies, the build backend and pip, for Python 3.11+
# on every platform, with hashes. It names no index, mirror or path.
LOCK_INPUTS = $(BIN)/python -c "import tomllib; \
  b = tomllib.load(open('pyproject.toml', 'rb'))['build-system']['requires']; \
  print(*b, 'pip', sep='\n')"
UV_COMPILE  = $(BIN)/uv pip compile pyproject.toml - --extra dev --universal \
  --python-version 3.11 --generate-hashes --custom-compile-command 'make lock' \
  --quiet -o $(LOCK)

lock: $(SYNCED)
	$(LOCK_INPUTS) | $(UV_COMPILE)

lock-upgrade: $(SYNCED)
	$(LOCK_INPUTS) | $(UV_COMPILE) $(if $(PACKAGE),--upgrade-package $(PACKAGE),--upgrade)

PORT ?= 8000
run: install
	$(BIN)/payql serve --port $(PORT)

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest: install
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint pytest

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: install
	$(BIN)/payql migrate

seed: install
	$(BIN)/payql seed

# Generate the next migration in both dialect chains (needs PostgreSQL for the second).
migrations: install
	$(BIN)/payql makemigrations --dialect sqlite --name $(or $(NAME),update)
	$(BIN)/payql makemigrations --dialect postgres --name $(or $(NAME),update)

schema: install
	$(BIN)/payql export-schema --output schema.graphql

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info

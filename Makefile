# Bashu Bridge: the four things a new developer (and CI) runs.
#   make install   environment, Meilisearch binary, Debian packages (idempotent, quick when done)
#   make run       the whole stack in the foreground (Ctrl-C stops what it started)
#   make test      backing services + pytest + lint
#   make down      stop what `make test` / `devstack up --detach` left running
#   make kiosk-link  a one-time link that makes a browser the demo hall's kiosk (ORG=<kiosk org id> for another)

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
# A uv already on PATH is used as is; otherwise one is pip-installed into a bootstrap venv, which works
# even where the system Python refuses `pip install --user` (PEP 668).
BOOTSTRAP_UV := $(CURDIR)/.devstack/tools/bin/uv
UV := $(or $(shell command -v uv 2>/dev/null),$(BOOTSTRAP_UV))
DEVSTACK := $(UV) run --frozen python -m services.devstack
ENV_FILE := .devstack/env

.PHONY: help install run test lint down services kiosk-link

help:
	@sed -n '2,7p' Makefile | sed 's/^# *//'

$(BOOTSTRAP_UV):
	python3 -m venv $(CURDIR)/.devstack/tools
	$(CURDIR)/.devstack/tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV)
	$(UV) sync --frozen
	$(DEVSTACK) install

run: install
	$(DEVSTACK) up

services: install
	$(DEVSTACK) services --env-file $(ENV_FILE)

# Tests get the backing services' URLs from the env file; they make their own throwaway databases and
# index names. Lint runs after pytest, and either failing fails the target.
test: install
	$(DEVSTACK) services --env-file $(ENV_FILE) >/dev/null
	set -a; . $(ENV_FILE); set +a; $(UV) run --frozen pytest
	$(MAKE) --no-print-directory lint

lint:
	$(UV) run --frozen ruff check .
	$(UV) run --frozen mypy matching
	$(UV) run --frozen mypy services workers
	$(UV) run --frozen mypy --explicit-package-bases loadtests

# Needs the stack of `make run` (its env file names the API, the database and Redis).
kiosk-link: install
	set -a; . $(ENV_FILE); set +a; $(UV) run --frozen bashu admin kiosk-link $(if $(ORG),--org $(ORG),--demo)

down:
	@if [ -x "$(UV)" ] && [ -d .venv ]; then $(DEVSTACK) down; else echo "devstack: nothing to stop"; fi

# chatcrm — every command a developer needs. `make install` is fast when nothing changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install demo telegram-local test test-sqlite lint bench clean

install: $(STAMP) $(VENV)/.knowledge-embedded

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Vectors of the shipped knowledge, cached once (about 3 minutes on 2 cores) so `make demo` takes seconds.
$(VENV)/.knowledge-embedded: $(STAMP) $(shell find crm_core/demo/knowledge crm_core/retrieval -type f -not -name "*.pyc")
	$(BIN)/python -m bot.demo --warm-embedding-cache
	touch $@

demo: install
	rm -rf demo-home
	$(BIN)/chatcrm demo --home demo-home

# A local Telegram Bot API server to try the bots by hand, offline (README: "Try the bot over a local Bot API server").
TELEGRAM_LOCAL_PORT ?= 8081
telegram-local: $(STAMP)
	$(BIN)/python -m tests.support.local_bot_api serve --port $(TELEGRAM_LOCAL_PORT)

# Runs on SQLite always, and on PostgreSQL too when CHATCRM_TEST_POSTGRES_URL is set (.ci/run sets it).
test: install
	@if [ -z "$$CHATCRM_TEST_POSTGRES_URL" ]; then echo "CHATCRM_TEST_POSTGRES_URL is not set: the PostgreSQL runs are skipped (SQLite only)."; fi
	$(BIN)/pytest -q --durations=25

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	$(BIN)/chatcrm bench --json

clean:
	rm -rf $(VENV) demo-home .pytest_cache .mypy_cache .ruff_cache

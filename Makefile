# Two commands: `make run` serves the demo, `make test` passes the tests. Both set up .venv first:
# `make run` with what the app needs, `make test` with the test tools (pytest, ruff, selenium...)
# as well. Each install leaves a marker in .venv and runs again when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 5000
HOST ?= 127.0.0.1
WEB_CONCURRENCY ?= 4
# Where `make serve` counts rate limits: Redis, so that a limit holds for all workers together.
# If it does not answer, start-up stops with one line; memory:// would count in each worker.
FLASK_RATELIMIT_STORAGE_URI ?= redis://127.0.0.1:6379/0
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app bookings

.PHONY: run serve test demo migrate lint format bench mail clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

APP := $(VENV)/.installed-app
TOOLS := $(VENV)/.installed-test

$(APP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

# The test extras include the app's own dependencies, so this marks the app installed too.
$(TOOLS): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(APP)

migrate: $(APP)
	$(FLASK) db upgrade

# The sender runs beside the server and stops with it: it writes the scheduled messages when
# they fall due (the demo's event tomorrow has its reminder from 9am) and sends the outbox, as
# .eml files in instance/mail/ without a MAIL_SERVER. Links in them point at this server.
run: migrate
	$(FLASK) demo --if-empty
	FLASK_SERVER_NAME=$(HOST):$(PORT) $(FLASK) mail send --watch & sender=$$!; \
	trap 'kill $$sender 2>/dev/null; wait $$sender' EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT)

serve: migrate
	FLASK_RATELIMIT_STORAGE_URI='$(FLASK_RATELIMIT_STORAGE_URI)' \
	  $(BIN)/gunicorn --workers $(WEB_CONCURRENCY) --bind $(HOST):$(PORT) 'bookings:create_app()'

demo: migrate
	$(FLASK) demo --replace

mail: migrate
	$(FLASK) mail send --watch

test: $(TOOLS)
	$(BIN)/pytest $(PYTEST_ARGS)

# ruff comes with the test extras.
lint: $(TOOLS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(TOOLS)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The benchmarks use the app alone (and the standard library).
bench: $(APP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

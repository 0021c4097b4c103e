# BLACKSKY-MD: `make run` starts the bot, `make test` runs the suite. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run web test lint bench venv deps dev-deps migrate clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.deps: requirements.txt | $(PY)
	$(PIP) install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install --quiet -r requirements.txt -r requirements-dev.txt
	@touch $@ $(VENV)/.deps

venv: $(PY)
deps: $(VENV)/.deps
dev-deps: $(VENV)/.dev-deps

.env: | $(PY)
	@$(PY) scripts/make_env.py

migrate: deps .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py setup_schedules

run: migrate
	@$(PY) manage.py collectstatic --noinput -v 0
	@$(PY) scripts/run_local.py $(RUNBOT_ARGS)

web: migrate
	@$(PY) manage.py collectstatic --noinput -v 0
	$(VENV)/bin/gunicorn blacksky_site.wsgi

test: dev-deps
	$(PY) -m pytest $(PYTEST_ARGS)

lint: dev-deps
	$(VENV)/bin/ruff check .

bench: dev-deps
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache

# Frontdesk: `make run` to try it, `make test` to test it. Both set everything up themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install lint serve bench clean

run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver 127.0.0.1:8000

test: $(STAMP)
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

install: $(STAMP)

$(STAMP): requirements.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run

# Production-like: gunicorn, a Celery worker and beat. Needs REDIS_URL (and DATABASE_URL for
# PostgreSQL); uses DJANGO_SETTINGS_MODULE, config.settings.local unless set.
serve: $(STAMP)
	@test -n "$$REDIS_URL" || (echo "make serve needs REDIS_URL (e.g. redis://127.0.0.1:6379/0)"; exit 1)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput
	trap 'kill 0' EXIT INT TERM; \
	$(VENV)/bin/celery -A config worker --loglevel=INFO --concurrency=2 & \
	$(VENV)/bin/celery -A config beat --loglevel=INFO --schedule=/tmp/frontdesk-celerybeat & \
	$(VENV)/bin/gunicorn config.wsgi --workers 3 --bind 127.0.0.1:8000 --access-logfile -

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles

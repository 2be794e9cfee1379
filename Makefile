# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test venv clean

venv: $(STAMP)

# Rebuilt whenever pyproject.toml changes, so a fresh clone needs nothing but Python 3.11.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# Embedded SQLite, eager tasks, demo data; serves on 127.0.0.1:$(PORT)
# (`make demo PORT=8001` when 8000 is taken).
PORT ?= 8000
demo: venv
	DJANGO_DEBUG=true $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=true DEMO_PORT=$(PORT) $(BIN)/python manage.py demo_seed
	DJANGO_DEBUG=true $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# The current second-factor code of a demo user (no authenticator app needed):
# `make demo-code USER=mops.kasia`. DEBUG only.
.PHONY: demo-code
demo-code: venv
	@DJANGO_DEBUG=true $(BIN)/python manage.py demo_code $(USER)

# The whole suite; DATABASE_URL selects SQLite (default) or PostgreSQL.
test: venv
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3

# Referral create/read throughput on PostgreSQL + gunicorn next to a baseline
# (bench/referrals.py); BENCH_DATABASE_URL picks the server. Never run by CI.
.PHONY: bench
bench: venv
	$(BIN)/python -m bench.referrals $(BENCH_ARGS)

# Commit-to-first-delivery-attempt latency of events: a real Celery worker on
# RabbitMQ (127.0.0.1:5672, guest/guest) and a throwaway PostgreSQL database
# (BENCH_DATABASE_URL names the server). Not a test: CI never runs it.
.PHONY: bench-events
bench-events: venv
	$(BIN)/python -m bench.events $(BENCH_EVENTS_ARGS)

# The consent ledger at scale: fills a throwaway PostgreSQL database
# (BENCH_DATABASE_URL names the server) with N entries, then sequences,
# verifies, decides and proves (bench/ledger.py; BENCH_LEDGER_ARGS="--entries
# 1000000" for the million figures). Not a test: CI never runs it.
.PHONY: bench-ledger
bench-ledger: venv
	$(BIN)/python -m bench.ledger $(BENCH_LEDGER_ARGS)

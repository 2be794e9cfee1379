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
	DJANGO_DEBUG=true $(BIN)/python manage.py migrate --database keys --noinput
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
	rm -rf $(VENV) db.sqlite3 keys.sqlite3

# The demo under concurrent users (bench/demo_load.py): a fresh demo database
# in a temporary directory, the demo's server, 8 clients mixing reads and
# writes for a minute; prints requests, errors, req/s and p50/p99 per kind and
# checks that every write is in the file. DEMO_LOAD_ARGS="--clients 16
# --duration 30" to vary. CI runs the same load for 15 s as a test
# (tests/hub/test_demo_concurrency.py), never this target.
.PHONY: demo-load
demo-load: venv
	$(BIN)/python -m bench.demo_load $(DEMO_LOAD_ARGS)

# Referral create/read throughput on PostgreSQL + gunicorn next to a baseline
# (bench/referrals.py), then, back to back, the same against the peer
# ../shared/bench-peer (bench/peer.py; BENCH_ARGS=--no-peer skips it);
# BENCH_DATABASE_URL picks the server. Never run by CI.
.PHONY: bench
bench: venv
	$(BIN)/python -m bench.referrals $(BENCH_ARGS)

# The peer alone, as its run.sh runs it (which cannot run in this virtualenv:
# see bench/peer.py); BENCH_PEER_ARGS="20" seconds per scenario.
.PHONY: bench-peer
bench-peer: venv
	$(BIN)/python -m bench.peer $(BENCH_PEER_ARGS)

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

# The production smoke test against the compose stack: builds the image, runs
# tests/deploy/test_compose_smoke.py against deploy/compose.yaml, removes the
# stack. Needs a Docker engine with the compose plugin; not part of CI (which
# runs the same lifecycle without Docker in `make test`).
.PHONY: smoke-compose
smoke-compose: venv
	bash deploy/smoke-compose.sh

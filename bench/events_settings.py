"""The event-latency benchmark (bench/events.py, `make bench-events`): the
driver and the Celery workers it starts both run with these settings.

Production-like where it matters for latency: DEBUG off, PostgreSQL through
psycopg's pool (as base.py configures it), RabbitMQ with the worker settings of
base.py (acks late, reject on worker lost, prefetch 1, publisher confirms).
What differs is only what a benchmark on one machine needs: a fixed key (the
database is dropped after the run), a throwaway database named by
BENCH_EVENTS_DATABASE_URL (required, with deliberately no default, so these
settings never touch a real database), a queue of its own so that no other
worker on the broker takes the benchmark's tasks, plain HTTP to a receiver on
loopback, no beat (the driver sweeps), and quiet logs. Never deploy with these
settings."""

from hub.settings.base import *  # noqa: F403
from hub.settings.base import LOGGING, env

DEBUG = False
SECRET_KEY = "bench-events-only-key-not-secret-never-deploy-0123456789abcdefghij"
ALLOWED_HOSTS = ["127.0.0.1"]

# The throwaway database bench/events.py creates and drops. No default: without
# the variable Django refuses to start (ImproperlyConfigured).
DATABASES = {"default": env.db("BENCH_EVENTS_DATABASE_URL")}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("BENCH_EVENTS_DATABASE_URL must name a PostgreSQL database.")
DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
    "min_size": env.int("DATABASE_POOL_MIN", default=2),
    "max_size": env.int("DATABASE_POOL_MAX", default=10),
    "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
}
# The subjects' data keys in the same throwaway database, wrapped by a
# benchmark-only key-encryption key (consent_ledger/sealing.py).
KEY_STORE_DATABASE = "default"
SEALING_KEKS = {"bench-1": b"bench-only-kek-never-deploy-32by"}
SEALING_CURRENT_KEK = "bench-1"

# A real broker and real workers: nothing runs eagerly.
CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"
CELERY_TASK_ALWAYS_EAGER = False
# A queue of the benchmark's own (the driver passes a per-run name, so two runs
# or a deployment's workers on the same broker never share it); tasks are
# published to it and the workers consume only it (-Q).
CELERY_TASK_DEFAULT_QUEUE = env.str("BENCH_EVENTS_QUEUE", default="welfare-hub-bench-events")
# The driver sends the sweep itself, once a second (issue 5 item 1: the relay
# also polls); no beat schedule runs.
CELERY_BEAT_SCHEDULE = {}

# The receiver is plain HTTP on 127.0.0.1 in the driver process.
WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
WEBHOOK_ALLOW_HTTP = True

LOGGING["root"]["level"] = "WARNING"

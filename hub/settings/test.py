"""The test suite: DATABASE_URL chooses SQLite (default) or PostgreSQL."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import DATABASES, MIDDLEWARE, OAUTH2_PROVIDER, PROMETHEUS_MIDDLEWARE, REST_FRAMEWORK

DEBUG = False
# Request metrics collected as where /metrics is served (hub/metrics.py); a test sets the token.
if PROMETHEUS_MIDDLEWARE[0] not in MIDDLEWARE:
    MIDDLEWARE.insert(0, PROMETHEUS_MIDDLEWARE[0])
    MIDDLEWARE.append(PROMETHEUS_MIDDLEWARE[1])
SECRET_KEY = "test-only-key-not-secret-0123456789abcdefghijklmnopqrstuvwxyz"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, like the demo's, with its options (WAL, IMMEDIATE, busy timeout):
    # a second thread (the live server's, the demo's webhook delivery pool) then
    # waits for the write lock as the demo's requests do. Django's in-memory
    # test database is shared-cache, where a second writer gets "database table
    # is locked" at once whatever the timeout. One file per test process, so
    # that suites run side by side never share one.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"hub-test-{os.getpid()}.sqlite3")}
if DATABASES.get("keys", {}).get("ENGINE") == "django.db.backends.sqlite3":
    DATABASES["keys"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"hub-test-keys-{os.getpid()}.sqlite3")}
# A test-only key-encryption key (consent_ledger/sealing.py), and a second one a
# rotation test moves keys to.
SEALING_KEKS = {"test-1": b"t" * 32, "test-2": b"u" * 32}
SEALING_CURRENT_KEK = "test-1"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = [
    # Users' passwords in tests need no stretching; client secrets keep their hasher.
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "hub.hashers.ClientSecretHasher",
]
OAUTH2_PROVIDER["ALLOWED_REDIRECT_URI_SCHEMES"] = ["http", "https"]
# Every rate limit in force, far above what a test sends; a test of a limit sets its own.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = dict.fromkeys(REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "10000/minute")
CELERY_TASK_ALWAYS_EAGER = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LANGUAGE_CODE = "en"
WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
WEBHOOK_ALLOW_HTTP = True
# The adversarial API tests (tests/api_contract, issue 12): scenarios per agency
# of the stateful schemathesis run. CI keeps the default; raise it for a longer
# local run (README, beside `make test`).
API_FUZZ_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "10"))

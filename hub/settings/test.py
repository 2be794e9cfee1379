"""The test suite: DATABASE_URL chooses SQLite (default) or PostgreSQL."""

from .base import *  # noqa: F403
from .base import OAUTH2_PROVIDER, REST_FRAMEWORK

DEBUG = False
SECRET_KEY = "test-only-key-not-secret-0123456789abcdefghijklmnopqrstuvwxyz"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = [
    # Users' passwords in tests need no stretching; client secrets keep their hasher.
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "hub.hashers.ClientSecretHasher",
]
OAUTH2_PROVIDER["ALLOWED_REDIRECT_URI_SCHEMES"] = ["http", "https"]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"application": "10000/minute"}
CELERY_TASK_ALWAYS_EAGER = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LANGUAGE_CODE = "en"
WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
WEBHOOK_ALLOW_HTTP = True

"""The demo: DEBUG on, embedded SQLite, tasks run eagerly. A fixed secret key is
allowed here only because DEBUG is on and the README says this is the demo."""

from .base import *  # noqa: F403
from .base import OAUTH2_PROVIDER, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="demo-only-insecure-key-do-not-deploy-0123456789abcdef")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
OAUTH2_PROVIDER["ALLOWED_REDIRECT_URI_SCHEMES"] = ["http", "https"]
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
WEBHOOK_ALLOW_HTTP = True
# The demo's key-encryption key, fixed for the same reason as its secret key.
SEALING_KEKS = SEALING_KEKS or {"demo-1": b"demo-only-kek-never-deploy-32byt"}  # noqa: F405
SEALING_CURRENT_KEK = SEALING_CURRENT_KEK or next(iter(SEALING_KEKS))  # noqa: F405

"""A deployment. Everything secret or site-specific comes from the environment;
`manage.py check --deploy` passes with no warnings once they are set."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import LOGGING, MIDDLEWARE, OAUTH2_PROVIDER, REST_FRAMEWORK, SECRET_KEY, env, log_format_from_env

DEBUG = False
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set outside DEBUG.")

# https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Behind that TLS-terminating proxy, the rate limits' client address is the one
# it appended to X-Forwarded-For (hub/api/throttling.py); set NUM_PROXIES to the
# number of proxies in front, so that no client can name its own address.
REST_FRAMEWORK["NUM_PROXIES"] = env.int("NUM_PROXIES", default=1)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# /healthz and /readyz are probed, and /metrics scraped (with its bearer
# token, hub/metrics.py), over plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
OAUTH2_PROVIDER["ALLOWED_REDIRECT_URI_SCHEMES"] = ["https"]
# WhiteNoise serves the API docs' static files (no CDN) right after security.
MIDDLEWARE = [*MIDDLEWARE]
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "whitenoise.middleware.WhiteNoiseMiddleware")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# One JSON object a line for the log shipper (hub.api.logs.JsonFormatter);
# LOG_FORMAT=plain for a terminal.
LOG_FORMAT = log_format_from_env("json")
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT

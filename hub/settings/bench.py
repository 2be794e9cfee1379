"""The referral benchmark (`make bench`, bench/referrals.py): production-like
request handling on loopback against a throwaway PostgreSQL database.

DEBUG is off and the middleware, authentication, permissions and serializers
are those of a deployment; what differs is only what a benchmark on one
machine needs: plain HTTP on 127.0.0.1, a fixed key (this database is dropped
after the run), no effective throttle, quiet logs, and a broker that never
leaves the process. Never deploy with these settings."""

from .base import *  # noqa: F403
from .base import LOGGING, OAUTH2_PROVIDER, REST_FRAMEWORK, env

DEBUG = False
SECRET_KEY = "bench-only-key-not-secret-never-deploy-0123456789abcdefghijklmnop"
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "bench.urls"

# As in production.py, except the HTTPS-only settings (the benchmark speaks
# plain HTTP on loopback) and WhiteNoise: it serves only /static/ (one dict
# look-up per API request) and warns without a collectstatic run.
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
OAUTH2_PROVIDER["ALLOWED_REDIRECT_URI_SCHEMES"] = ["https"]

# Users' passwords need no stretching here (the benchmark logs in no user);
# client secrets keep their own hasher, as in production.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "hub.hashers.ClientSecretHasher",
]

# Throttling stays in the request path (its cost is part of every request) but
# never refuses: a one-second window keeps DRF's per-client history list short,
# where a per-minute window would pickle thousands of timestamps per request.
# Every limit so: a read also counts against the disclosure limits.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = dict.fromkeys(REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "1000000/second")

# Each read appends disclosure entries whose commit nudges the ledger
# sequencer. In a deployment that nudge is a message to the broker and a
# worker sequences; run eagerly it would sequence and sign a checkpoint inside
# every request. The in-memory broker keeps the publish and drops the work:
# nothing consumes it. BENCH_EAGER_TASKS=true measures the eager (demo) way.
CELERY_BROKER_URL = "memory://localhost//"
CELERY_TASK_ALWAYS_EAGER = env.bool("BENCH_EAGER_TASKS", default=False)

LOGGING["root"]["level"] = "WARNING"

# A benchmark-only key-encryption key (sealed person data, consent_ledger/sealing.py).
SEALING_KEKS = {"bench-1": b"bench-only-kek-never-deploy-32by"}
SEALING_CURRENT_KEK = "bench-1"

"""Settings shared by every environment, read from the environment with
django-environ (https://django-environ.readthedocs.io/). `local` is the demo,
`test` the suite, `production` a deployment; each imports this module."""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from schemas.vocabularies import EVENT_TYPES as EVENT_TYPE_VOCABULARY
from schemas.vocabularies import SCOPES, codes, terms

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

# --- Core -------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#core-settings
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    # Django's admin on a site that logs every admin action (hub/admin_site.py).
    "hub.apps.HubAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "oauth2_provider",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "hub",
    "hub.api",
    "schemas",
    "agencies",
    "consent_ledger",
    "referrals",
]

MIDDLEWARE = [
    # The security headers first (issue 12, item 7), so that the answers of the
    # refusing middlewares below (413, 400) carry them too (hub/security_headers.py).
    "django.middleware.security.SecurityMiddleware",
    "hub.security_headers.SecurityHeadersMiddleware",
    "hub.security_headers.DocumentCSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "hub.api.request_id.RequestIdMiddleware",
    "hub.api.limits.BodySizeLimitMiddleware",
    "hub.api.wellformed.WellFormedRequestMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "hub.urls"
WSGI_APPLICATION = "hub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
# https://django-environ.readthedocs.io/en/latest/types.html#environ-env-db-url
# Default: an SQLite file in the repository root (the embedded demo).
# PostgreSQL goes through psycopg 3 with its connection pool
# (https://docs.djangoproject.com/en/5.2/ref/databases/#connection-pool).
def _tuned(db: dict) -> dict:
    options = db.setdefault("OPTIONS", {})
    if db["ENGINE"] == "django.db.backends.postgresql":
        options["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN", default=2),
            "max_size": env.int("DATABASE_POOL_MAX", default=10),
            "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
        }
        # Server-side parameters and prepared statements: psycopg prepares a
        # statement the fifth time a connection runs it, and PostgreSQL stops
        # planning it again, so the hot paths' fixed queries
        # (hub/api/compiled_queries.py) are planned once per pooled connection
        # (issue 11). Django turns preparing off unless asked (prepare_threshold).
        # Both off behind a transaction-mode pgbouncer, which cannot keep a
        # session's prepared statements.
        server_side = env.bool("DATABASE_SERVER_SIDE_BINDING", default=True)
        options["server_side_binding"] = server_side
        options["prepare_threshold"] = 5 if server_side else None
    else:
        # SQLite, the embedded demo, under concurrent requests (issue 11, item 5;
        # https://docs.djangoproject.com/en/5.2/ref/databases/#sqlite-notes):
        # - WAL: readers never block the writer, nor it them (https://sqlite.org/wal.html).
        # - IMMEDIATE: every atomic block takes the write lock at BEGIN, where the busy
        #   timeout applies. A deferred transaction that has read and then writes (every
        #   disclosure, every select_for_update, a no-op here) cannot wait: SQLite
        #   answers "database is locked" at once (https://sqlite.org/lang_transaction.html,
        #   PITFALLS.md). Writers, the eager sequencer included, thus run one at a time.
        # - timeout: how long a writer waits for that lock, far above any request's hold.
        # - synchronous stays FULL (SQLite's default): a revocation once answered must
        #   survive a power cut; NORMAL, which may lose the last commits, measured only
        #   10-15% faster here (migrate, demo_seed, one client of bench/demo_load.py).
        options.update({"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"})
    return db


DATABASES = {"default": _tuned(env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"))}

# --- The key store and sealed person data (consent_ledger/sealing.py, issue 12) ----
# Subjects' data keys (wrapped) live apart from the data they open: erasing a
# person deletes their key, and no backup of the main database brings their
# data back. KEYS_DATABASE_URL names that store; the demo keeps it in a second
# SQLite file. Without either, on PostgreSQL, keys share the main database
# (allowed, but `check --deploy` warns: its backups then hold erased subjects' keys).
if _keys_url := env.str("KEYS_DATABASE_URL", default=""):
    DATABASES["keys"] = _tuned(env.db_url_config(_keys_url))
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["keys"] = _tuned({"ENGINE": "django.db.backends.sqlite3", "NAME": str(BASE_DIR / "keys.sqlite3")})
KEY_STORE_DATABASE = "keys" if "keys" in DATABASES else "default"
DATABASE_ROUTERS = ["consent_ledger.routers.KeyStoreRouter"]
# Key-encryption keys: SEALING_KEKS="id1=<base64 of 32 random bytes>,id2=..." and
# SEALING_CURRENT_KEK, the one new data keys are wrapped with (default: the first).
# Keep retired KEKs listed until `manage.py rewrap_subject_keys` has moved every
# data key off them. Required outside the demo and the tests (check consent_ledger.E002).
SEALING_KEKS = {
    kek_id.strip(): __import__("base64").b64decode(key)
    for kek_id, _, key in (item.partition("=") for item in env.list("SEALING_KEKS", default=[]))
}
SEALING_CURRENT_KEK = env.str("SEALING_CURRENT_KEK", default=next(iter(SEALING_KEKS), ""))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Caches -------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/topics/cache/
# `default`: per-process markers (agencies.events.task_nudge). `throttle`: the
# rate limits' counts (hub/api/throttling.py). In process memory by default,
# where each web process counts alone; with several, point THROTTLE_CACHE_URL
# at a shared cache (e.g. redis://host:6379/1, with the `redis` package). Room
# for many keys: a full store evicts counts, which would reset a limit.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": env.cache_url("THROTTLE_CACHE_URL", default="locmemcache://throttle?max_entries=100000"),
}

# --- Authentication ---------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    # OAuth2 client secrets are 256-bit random strings, not passwords: stretching
    # them buys nothing and would cost ~0.5 s on every token request.
    "hub.hashers.ClientSecretHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# --- Internationalisation ---------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="pl")
LANGUAGES = [("pl", "Polski"), ("en", "English")]
# One catalogue per area of pages (each its own django.po, compiled with
# msgfmt); the first that translates a message wins.
LOCALE_PATHS = [
    BASE_DIR / "hub" / "locale",
    BASE_DIR / "referrals" / "locale",
    BASE_DIR / "referrals" / "placements" / "locale",
    BASE_DIR / "referrals" / "plans" / "locale",
    BASE_DIR / "consent_ledger" / "locale",
    BASE_DIR / "hub" / "api" / "locale",  # the API's problem details
]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")

# --- OAuth2 (django-oauth-toolkit) ------------------------------------------
# https://django-oauth-toolkit.readthedocs.io/en/latest/settings.html
# The application model must be swapped from the very first migration
# (agencies/migrations/0001_initial.py runs before oauth2_provider's).
OAUTH2_PROVIDER_APPLICATION_MODEL = "agencies.AgencyApplication"
OAUTH2_PROVIDER = {
    "SCOPES": {term.code: term.label_en for term in terms(SCOPES)},
    "DEFAULT_SCOPES": [],
    "OAUTH2_VALIDATOR_CLASS": "agencies.oauth2_validators.AgencyOAuth2Validator",
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OAUTH2_ACCESS_TOKEN_SECONDS", default=600),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env.int("OAUTH2_REFRESH_TOKEN_SECONDS", default=14 * 24 * 3600),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    # RFC 9700 §4.14: rotate refresh tokens and revoke the family on reuse.
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    # RFC 9700 §2.1.1: PKCE with S256 only.
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    # RFC 9700 §4.3.2: bearer tokens only in the Authorization header, never the URL.
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    # RFC 9207 / RFC 9700 §4.4: `iss` in authorization responses (mix-up defence).
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    # RFC 9700 §4: store only token hashes, so a database leak yields no usable token.
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": env.list("OAUTH2_REDIRECT_URI_SCHEMES", default=["https"]),
    "CLIENT_SECRET_HASHER": "pbkdf2_sha256_client",
    "ERROR_RESPONSE_WITH_SCOPES": True,
}

# --- REST framework ---------------------------------------------------------
# https://www.django-rest-framework.org/api-guide/settings/
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["agencies.api.authentication.AgencyTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["hub.api.permissions.HasScopes"],
    "DEFAULT_PARSER_CLASSES": ["hub.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "hub.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    # Every rate limit of the hub, API or not (hub/api/throttling.py; issue 12, item 7).
    "DEFAULT_THROTTLE_CLASSES": [
        "hub.api.throttling.ApplicationRateThrottle",
        "hub.api.throttling.DisclosureRateThrottle",
        "hub.api.throttling.DisclosureUserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "application": env.str("API_THROTTLE_RATE", default="600/minute"),
        "disclosure": env.str("API_DISCLOSURE_THROTTLE_RATE", default="120/minute"),
        "disclosure_user": env.str("API_DISCLOSURE_USER_THROTTLE_RATE", default="60/minute"),
        "token": env.str("OAUTH2_TOKEN_THROTTLE_RATE", default="30/minute"),
        "token_failure": env.str("OAUTH2_TOKEN_FAILURE_THROTTLE_RATE", default="30/minute"),
        "login_user": env.str("LOGIN_USER_THROTTLE_RATE", default="10/hour"),
        "login_address": env.str("LOGIN_ADDRESS_THROTTLE_RATE", default="100/hour"),
    },
    # The per-address limits take the client's address from REMOTE_ADDR, or,
    # behind this many reverse proxies, from the X-Forwarded-For entry the
    # nearest one wrote: the rest of that header is the client's to forge.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "EXCEPTION_HANDLER": "hub.api.errors.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "hub.api.schema.ProblemAutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DATETIME_FORMAT": "iso-8601",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# https://drf-spectacular.readthedocs.io/en/latest/settings.html
SPECTACULAR_SETTINGS = {
    "TITLE": "Welfare hub API",
    "DESCRIPTION": (
        "Referrals and case updates between Polish social-welfare agencies. Every "
        "disclosure of a person's data is checked against the consent ledger and logged. "
        "Errors are RFC 9457 problem+json, in Polish or English as Accept-Language "
        "prefers (English by default), said in Content-Language."
    ),
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "OAUTH2_FLOWS": ["clientCredentials", "authorizationCode"],
    "OAUTH2_AUTHORIZATION_URL": "/o/authorize/",
    "OAUTH2_TOKEN_URL": "/o/token/",
    "OAUTH2_REFRESH_URL": "/o/token/",
    "OAUTH2_SCOPES": {term.code: term.label_en for term in terms(SCOPES)},
    "COMPONENT_SPLIT_REQUEST": True,
    # OpenAPI links from the answers that name an object to the operations
    # that take its id (hub/api/schema.py; issue 12, item 6).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "hub.api.schema.add_links"],
    # Choice sets that share a field name with another app's get their own
    # component names (else drf-spectacular warns and names them by hash).
    "ENUM_NAME_OVERRIDES": {
        "PlanStageEnum": "referrals.plans.lifecycle.STAGES",
        "PlanOpenStageEnum": "referrals.plans.lifecycle.OPEN_STAGES",
        "PlanActionStatusEnum": "referrals.plans.lifecycle.ACTION_STATUSES",
        "PlanActionTargetStatusEnum": "referrals.plans.lifecycle.ACTION_TARGET_STATUSES",
        "PlanReviewKindEnum": "referrals.plans.lifecycle.REVIEW_KINDS",
        # Employment placements (issue 9): generic field names (side, outcome, timepoint).
        "PlacementTargetStatusEnum": "referrals.placements.lifecycle.TARGET_STATUSES",
        "PlacementSideEnum": "referrals.placements.lifecycle.SIDES",
        "PlacementTimepointEnum": "referrals.placements.models.TIMEPOINTS",
        "PlacementOutcomeEnum": "referrals.placements.models.OUTCOMES",
        "PlacementContractTypeEnum": "referrals.placements.models.CONTRACT_TYPES",
        # Erasure (issue 12): "reason" is a free text elsewhere.
        "ErasureReasonEnum": "consent_ledger.erasure.ERASURE_REASONS",
    },
}

# --- API conventions (hub/api) ----------------------------------------------
# The views whose reads release person data through the choke point, by URL
# name: each read counts against the `disclosure` rate limits (hub.checks
# refuses a name no URL has).
API_DISCLOSURE_VIEWS = frozenset({
    "subject-detail", "consent-state", "disclosure-list", "referral-detail", "referral-updates",
    "plan-detail", "blue-card-detail", "placement-detail",
    # Their FHIR forms (issue 14, item 4: referrals/api/fhir_urls.py).
    "fhir-task", "fhir-bundle-referral", "fhir-care-plan", "fhir-consent", "fhir-audit-event",
})
IDEMPOTENCY_KEY_TTL = timedelta(hours=env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24))
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1_048_576)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
# A file posted to a staff page (the scan of a signed consent form, hashed and
# not kept): phone photos are a few MB.
PAGES_MAX_UPLOAD_BYTES = env.int("PAGES_MAX_UPLOAD_BYTES", default=25 * 1_048_576)
# ...and is hashed in memory: the scan of a signed form (person data) never
# touches the disk, as Django's temporary-file handler would do above 2.5 MB.
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = PAGES_MAX_UPLOAD_BYTES

# --- Consent ledger -----------------------------------------------------------
# A vital-interest disclosure lasts this long, then needs a new decision.
EMERGENCY_DISCLOSURE_HOURS = env.int("EMERGENCY_DISCLOSURE_HOURS", default=24)
# The Merkle log's origin line (C2SP tlog-checkpoint) and its Ed25519 checkpoint
# keys (consent_ledger/keys.py). Without LEDGER_SIGNING_KEY (base64 raw 32-byte
# private key: the operator's current key) keys are generated into the
# database. LEDGER_NEXT_SIGNING_KEY: the operator's key that `rotate_ledger_key`
# switches to. LEDGER_KEY_NAME names the keys recorded from now on.
LEDGER_ORIGIN = env.str("LEDGER_ORIGIN", default="hub.invalid/consent-ledger")
LEDGER_KEY_NAME = env.str("LEDGER_KEY_NAME", default="hub.invalid/consent-ledger")
LEDGER_SIGNING_KEY = env.str("LEDGER_SIGNING_KEY", default="")
LEDGER_NEXT_SIGNING_KEY = env.str("LEDGER_NEXT_SIGNING_KEY", default="")
# Entries per sequencer batch (one signed checkpoint each): a backlog of a
# million clears in a score of batches, while a quiet log signs a checkpoint
# per commit.
LEDGER_SEQUENCER_BATCH = env.int("LEDGER_SEQUENCER_BATCH", default=50_000)
# With a worker, appends ask for a sequencer run at most this often (seconds)
# per process: the longest an entry waits for its leaf index, about.
LEDGER_SEQUENCER_INTERVAL = env.float("LEDGER_SEQUENCER_INTERVAL", default=0.5)
# Complete subtrees of this height and up are kept (MerkleNode) so a proof
# reads O(log n) nodes and at most 2**height leaf hashes per partial subtree.
LEDGER_NODE_MIN_HEIGHT = env.int("LEDGER_NODE_MIN_HEIGHT", default=8)

# --- Referrals ----------------------------------------------------------------
# How long the recipient has to acknowledge (receive) a referral, by urgency.
REFERRAL_ACK_HOURS = {
    "emergency": env.float("REFERRAL_ACK_HOURS_EMERGENCY", default=2),
    "urgent": env.float("REFERRAL_ACK_HOURS_URGENT", default=24),
    "routine": env.float("REFERRAL_ACK_HOURS_ROUTINE", default=72),
}
# Shared plans: plan.action_due is sent once per open action this many days
# before its due date (referrals.plans.services.plan_actions_due_notify).
PLAN_ACTION_DUE_DAYS = env.int("PLAN_ACTION_DUE_DAYS", default=3)

# --- Blue Card procedure ---------------------------------------------------------
# Statutory deadlines of the procedure, in Polish working days (referrals/working_days.py;
# art. 9d of the Act on Counteracting Domestic Violence and the Blue Card regulation):
# the NK-A reaches the ZI's chair, the chair passes it to the GDP, the GDP first meets.
# The day the deadline runs from does not count (KPA art. 57 § 1).
BLUE_CARD_DEADLINE_WORKING_DAYS = {
    "nka_to_chair": env.int("BLUE_CARD_NKA_TO_CHAIR_WORKING_DAYS", default=5),
    "gdp_formed": env.int("BLUE_CARD_GDP_FORMED_WORKING_DAYS", default=3),
    "gdp_meeting": env.int("BLUE_CARD_GDP_MEETING_WORKING_DAYS", default=5),
}
# A ZI meets at least this often (calendar months); the per-team overview shows when next.
BLUE_CARD_ZI_MEETING_MONTHS = env.int("BLUE_CARD_ZI_MEETING_MONTHS", default=3)

# --- Employment placements (issue 9; referrals/placements) ---------------------------
# The Wrocław "Model Wsparcia" (seed 003): a placement runs three months unless the
# proposal says otherwise; the employer's monthly check-in is due this many days after
# the month ends (then placement.check_in_due is sent once); the follow-up on whether the
# person is still employed is recorded this many days after the placement's last day.
PLACEMENT_DEFAULT_MONTHS = env.int("PLACEMENT_DEFAULT_MONTHS", default=3)
PLACEMENT_CHECK_IN_GRACE_DAYS = env.int("PLACEMENT_CHECK_IN_GRACE_DAYS", default=7)
PLACEMENT_FOLLOW_UP_DAYS = env.int("PLACEMENT_FOLLOW_UP_DAYS", default=90)

# --- Service directory (issue 14; agencies/directory) ----------------------------------
# A service's count of free places older than this is flagged `stale` in every
# answer: a caseworker placing someone tonight should phone before relying on it.
DIRECTORY_CAPACITY_STALE_HOURS = env.float("DIRECTORY_CAPACITY_STALE_HOURS", default=24)

# --- Events and webhooks ------------------------------------------------------------
EVENT_TYPES = codes(EVENT_TYPE_VOCABULARY)
OUTBOX_RELAY_BATCH = env.int("OUTBOX_RELAY_BATCH", default=500)
# With a worker, commits ask for a relay run at most this often (seconds) per
# process: what an event waits for the relay at most, on top of the run itself.
OUTBOX_RELAY_INTERVAL = env.float("OUTBOX_RELAY_INTERVAL", default=0.2)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10)
# A claimed attempt is leased for its timeout plus this (urllib3's timeout
# bounds the connect and each read, not the whole POST): only then may another
# worker send a delivery whose sender died mid-POST.
WEBHOOK_LEASE_MARGIN_SECONDS = env.float("WEBHOOK_LEASE_MARGIN_SECONDS", default=30)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=15)  # 13-24 h of retries with the backoff below
WEBHOOK_BACKOFF_BASE_SECONDS = env.float("WEBHOOK_BACKOFF_BASE_SECONDS", default=30)
WEBHOOK_BACKOFF_CAP_SECONDS = env.float("WEBHOOK_BACKOFF_CAP_SECONDS", default=6 * 3600)
# The sweep re-enqueues a first attempt only once it has waited this long: until
# then the task the relay enqueued is presumed to be on its way.
WEBHOOK_SWEEP_GRACE_SECONDS = env.float("WEBHOOK_SWEEP_GRACE_SECONDS", default=60)
# SSRF guard: networks that may receive webhooks although not public (tests and
# the demo allow loopback). Production leaves this empty.
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS", default=[])
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=False)
# Revocation notices not acknowledged by recipients are escalated after this.
NOTICE_ESCALATION_HOURS = env.float("NOTICE_ESCALATION_HOURS", default=48)
CONSENT_EXPIRY_WARNING_DAYS = env.int("CONSENT_EXPIRY_WARNING_DAYS", default=14)

# --- Retention (issue 12, item 3) -----------------------------------------------------
# How many days each class of record is kept after it ended; then the daily job
# (referrals/retention.py, `manage.py apply_retention`) erases a record's person
# data (one `retention_erasure` ledger entry each, ids only), shreds a person
# whose every record is gone, and deletes the technical records. The hub is the
# channel between agencies, not their archive: each keeps its own case file
# under its own archival rules. Idempotency records last IDEMPOTENCY_KEY_TTL
# (a stored response may hold a secret shown once: a day covers any retry).
RETENTION_DAYS = {
    # From the final status (completed, rejected, failed, cancelled): room for a
    # re-referral of the same case, a complaint about the exchange or an audit of it.
    "closed_referrals": env.int("RETENTION_CLOSED_REFERRALS_DAYS", default=730),
    # From completed, ended early, declined or withdrawn: covers the 90-day
    # follow-up and a further programme round. The outcome codes the statistics
    # count are metadata and stay. Shared plans closed this long (the closed_referrals
    # period) lose their texts too.
    "ended_placements": env.int("RETENTION_ENDED_PLACEMENTS_DAYS", default=730),
    # From closure: violence often recurs, and a ZI taking a new NK-A for the
    # family, or a prosecutor, needs the earlier procedure's forms for years.
    "closed_blue_cards": env.int("RETENTION_CLOSED_BLUE_CARDS_DAYS", default=1825),
    # Delivered, or given up (dead): a month to look into a receiver's complaint
    # or replay a dead letter. Events are thin (ids), the rows are only a trail.
    "delivered_webhooks": env.int("WEBHOOK_DELIVERY_RETENTION_DAYS", default=30),
    # OAuth2 access and refresh tokens and grants expired or revoked this long
    # ago (hashed, never usable again): a week to look into a client's misuse.
    # A rotated refresh token is kept its whole lifetime beyond that (reuse
    # detection, RFC 9700 §4.14).
    "expired_tokens": env.int("RETENTION_EXPIRED_TOKENS_DAYS", default=7),
}

# --- Celery -----------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
# No broker configured: tasks run eagerly in-process (the demo). With a broker the
# worker settings below make a crash redeliver instead of losing work.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# Quorum queues (deploy/rabbitmq/definitions.json): a deployment declares the task queue as the broker's
# definitions do, or RabbitMQ refuses the declaration; the topic exchange lets Celery's native delayed
# delivery hold countdown tasks in the broker (deploy/README.md, RabbitMQ). Classic in the demo and tests.
CELERY_TASK_DEFAULT_QUEUE_TYPE = env.str("CELERY_TASK_DEFAULT_QUEUE_TYPE", default="classic")
CELERY_TASK_DEFAULT_EXCHANGE_TYPE = env.str("CELERY_TASK_DEFAULT_EXCHANGE_TYPE", default="direct")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    CELERY_BROKER_URL = "memory://localhost//"  # never contacted: every task runs in-process
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Keep each worker process's database connection across tasks. Unset, Celery's
# Django fixup closes it before and after every task, and with the psycopg pool
# configured (above) it closes the whole pool: every task opened new connections.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_TIME_LIMIT = 300
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "confirm_publish": True}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Appends nudge the sequencer on commit; the beat also runs it, so an entry is
# sequenced even when a nudge was lost with the broker.
CELERY_BEAT_SCHEDULE = {
    "ledger-sequence": {"task": "consent_ledger.tasks.ledger_sequence_task", "schedule": 10.0},
    "outbox-sweep": {"task": "agencies.tasks.outbox_sweep_task", "schedule": 5.0},
    "referral-deadlines": {"task": "referrals.tasks.referral_deadlines_task", "schedule": 60.0},
    "blue-card-deadlines": {"task": "referrals.tasks.blue_card_deadlines_task", "schedule": 900.0},
    "plan-actions-due": {"task": "referrals.tasks.plan_actions_due_task", "schedule": 3600.0},
    "placement-check-ins-due": {"task": "referrals.tasks.placement_check_ins_due_task", "schedule": 3600.0},
    # Agreements come into force and run out without a request: the employers'
    # places in the service directory are recounted once a day (issue 14).
    "employer-places": {"task": "referrals.tasks.employer_places_task", "schedule": 86400.0},
    "consent-expiry-warnings": {"task": "consent_ledger.tasks.consent_expiry_warnings_task", "schedule": 3600.0},
    "revocation-notice-escalation": {"task": "consent_ledger.tasks.notice_escalation_task", "schedule": 600.0},
    "oauth-clear-expired": {"task": "agencies.tasks.oauth_clear_expired_task", "schedule": 3600.0},
    "deliveries-purge": {"task": "agencies.tasks.deliveries_purge_task", "schedule": 86400.0},
    "idempotency-purge": {"task": "hub.tasks.idempotency_purge_task", "schedule": 3600.0},
    "sessions-purge": {"task": "hub.tasks.sessions_purge_task", "schedule": 3600.0},
    # The whole log recomputed once a day; the DPO's page shows the last result.
    "ledger-verify": {"task": "consent_ledger.tasks.ledger_verify_task", "schedule": 86400.0},
    # What passed its retention period goes once a day (RETENTION_DAYS).
    "retention": {"task": "referrals.tasks.retention_task", "schedule": 86400.0},
}

# --- Logging ----------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/topics/logging/#configuring-logging
# No log line carries request data (hub/api/logs.py): the filter runs on the
# loggers that quote requests, so every handler (ours, Django's default ones,
# a test's) gets the rewritten record, and on our handler for any exception.
# Every line carries the request id, the calling agency's id and its OAuth2
# client's id ("-" where there is none; hub/api/request_id.py): on the request
# loggers that filter runs first, while the request is still attached.
# LOG_FORMAT: `plain` lines for a terminal (the demo, the tests), or `json`, one
# object a line for a log shipper (python-json-logger, the default in production).
LOG_FORMATS = ("plain", "json")


def log_format_from_env(default: str) -> str:
    value = env.str("LOG_FORMAT", default=default)
    if value not in LOG_FORMATS:
        raise ImproperlyConfigured(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}.")
    return value


LOG_FORMAT = log_format_from_env("plain")
_REQUEST_LOGGERS = [
    "django.request",
    "django.server",
    # response_for_exception logs each SuspiciousOperation on its own logger.
    *(
        f"django.security.{name}"
        for name in (
            "csrf", "SuspiciousOperation", "DisallowedHost", "DisallowedRedirect", "RequestDataTooBig",
            "TooManyFieldsSent", "TooManyFilesSent", "SuspiciousFileOperation", "SuspiciousMultipartForm",
            "SuspiciousSession", "InvalidSessionKey", "DisallowedModelAdminLookup", "DisallowedModelAdminToField",
        )
    ),
]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_context": {"()": "hub.api.request_id.RequestContextLogFilter"},
        "no_request_data": {"()": "hub.api.logs.RequestDataFilter"},
    },
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s "
            "[%(request_id)s agency=%(agency_id)s client=%(client_id)s] %(message)s",
        },
        "json": {"()": "hub.api.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_context", "no_request_data"],
        },
    },
    "loggers": {
        **{name: {"filters": ["request_context", "no_request_data"]} for name in _REQUEST_LOGGERS},
        # At DEBUG these log SQL parameters (person data), issued access tokens,
        # authorization codes and client ids: never, whatever LOG_LEVEL says.
        "django.db.backends": {"level": "INFO"},
        "oauthlib": {"level": "INFO"},
        "oauth2_provider": {"level": "INFO"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Staff pages (DESIGN.md 7) -----------------------------------------------------
# Server-rendered pages under /app/ with GOV.UK Frontend (vendored under
# hub/static/vendor/), session login with a TOTP second factor (django-otp,
# https://django-otp-official.readthedocs.io/), a strict Content-Security-Policy
# (django-csp 4, https://django-csp.readthedocs.io/) and htmx for progressive
# enhancement only (django-htmx, https://django-htmx.readthedocs.io/).
INSTALLED_APPS += [  # noqa: F405
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "django_htmx",
]
# After authentication: OTPMiddleware marks request.user verified; the hub's own
# middleware then switches the language from ?lang=, shows pages in local time,
# marks htmx requests and sends every staff page (hub.web.otp.OTP_REQUIRED_PREFIXES)
# through the second factor. The CSP header is added to every response but JSON
# (hub.security_headers.DocumentCSPMiddleware, at the top of MIDDLEWARE).
MIDDLEWARE.insert(  # noqa: F405
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,  # noqa: F405
    "django_otp.middleware.OTPMiddleware",
)
MIDDLEWARE.insert(MIDDLEWARE.index("django_otp.middleware.OTPMiddleware") + 1, "hub.web.middleware.PageLanguageMiddleware")  # noqa: F405
MIDDLEWARE.insert(MIDDLEWARE.index("hub.web.middleware.PageLanguageMiddleware") + 1, "hub.web.middleware.PageTimeZoneMiddleware")  # noqa: F405
MIDDLEWARE.insert(MIDDLEWARE.index("hub.web.middleware.PageTimeZoneMiddleware") + 1, "django_htmx.middleware.HtmxMiddleware")  # noqa: F405
MIDDLEWARE.append("hub.web.middleware.GonePageMiddleware")  # noqa: F405
MIDDLEWARE.insert(MIDDLEWARE.index("django_htmx.middleware.HtmxMiddleware") + 1, "hub.web.otp.RequireOTPMiddleware")  # noqa: F405
TEMPLATES[0]["OPTIONS"]["context_processors"].append("hub.web.context.page_context")  # noqa: F405

# TOTP (RFC 6238): the issuer shown in authenticator apps. Devices accept the codes of
# the previous and next 30-second step too (django-otp's default tolerance of 1).
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Hub pomocy")
# Backup codes given at enrolment (django-otp's static device), each usable once.
OTP_BACKUP_CODES = 10
# The admin never shows a TOTP key, its QR code or backup codes: whoever
# reads them holds that user's second factor.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Idle session expiry (WCAG 2.2.1: the page says when it ends, and with JS warns
# STAFF_SESSION_WARNING_SECONDS before it and offers to extend it). Every request
# of a logged-in user renews the session.
STAFF_SESSION_IDLE_MINUTES = env.int("STAFF_SESSION_IDLE_MINUTES", default=30)
STAFF_SESSION_WARNING_SECONDS = env.int("STAFF_SESSION_WARNING_SECONDS", default=120)
SESSION_COOKIE_AGE = STAFF_SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
LOGIN_REDIRECT_URL = "app-home"

# Pages show times in the agencies' local time; stored times stay UTC. The DPO's
# accounting of disclosures says "UTC" and keeps it (hub.web.middleware).
PAGES_TIME_ZONE = env.str("PAGES_TIME_ZONE", default="Europe/Warsaw")
# Worklists: rows per page.
PAGES_PAGE_SIZE = env.int("PAGES_PAGE_SIZE", default=25)

# Clickjacking: no page may be framed (also frame-ancestors below).
X_FRAME_OPTIONS = "DENY"
# No URL (with the ids in it) in a Referer header; HTML documents say
# same-origin instead, so that their forms still pass the CSRF check
# (hub/security_headers.py).
SECURE_REFERRER_POLICY = "no-referrer"
# https://django-csp.readthedocs.io/en/latest/configuration.html
# No inline script or style anywhere: GOV.UK Frontend and htmx are static files,
# the enrolment QR code is inline SVG markup (no data: URI), htmx runs without eval.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
    },
}

# --- API contract (issue 16) -------------------------------------------------------
# https://drf-spectacular.readthedocs.io/en/latest/settings.html
# Every enum in the published schema is one vocabulary (schemas/vocabularies) or
# the one module constant that defines the list; the names below keep each set
# under one component name (tests/api_contract/test_enums.py compares them).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update({
    "DataCategoryEnum": list(codes("data_categories")),
    "PurposeEnum": list(codes("purposes")),
    "AgencyKindEnum": list(codes("agency_kinds")),
    "SectorEnum": list(codes("sectors")),
    "ReferralServiceEnum": list(codes("referral_services")),
    "EventTypeEnum": list(codes("event_types")),
    "LegalBasisEnum": list(codes("legal_bases")),
    "ReferralStatusEnum": "referrals.lifecycle.STATUSES",
    "OutcomeReasonEnum": "referrals.lifecycle.OUTCOME_REASONS",
    "UrgencyEnum": "referrals.models.URGENCIES",
    "CaseUpdateKindEnum": "referrals.models.CaseUpdate.KINDS",
    "ConsentFormEnum": "consent_ledger.services.FORMS",
    "GrantorEnum": "consent_ledger.services.GRANTORS",
    "AssertableBasisEnum": "consent_ledger.services.ASSERTABLE_BASES",
    "ProvisionKindEnum": "consent_ledger.models.ProvisionKind.values",
    "TeamKindEnum": "agencies.models.Team.KINDS",
    "TeamRoleEnum": "agencies.models.TeamMembership.ROLES",
    "DeliveryStatusEnum": "agencies.api.event_views.DELIVERY_STATUSES",
    "BlueCardStepEnum": "referrals.blue_card.rules.STEPS",
    "BlueCardDeadlineStepEnum": "referrals.blue_card.rules.DEADLINE_STEPS",
    "BlueCardGroundEnum": "referrals.blue_card.rules.GROUNDS",
    "BlueCardStatusEnum": "referrals.blue_card.models.BlueCardProcedure.STATUSES",
    "NkaOpenerKindEnum": "referrals.blue_card.rules.NKA_OPENER_KINDS",
    "FormOfViolenceEnum": "referrals.blue_card.rules.FORMS_OF_VIOLENCE",
    "TeamMembershipChangeEnum": "agencies.models.TeamMembershipChange.CHANGES",
    # Placements' statuses share the field name `status` with referrals'.
    "PlacementStatusEnum": "referrals.placements.lifecycle.STATUSES",
    # The service directory (issue 14): HSDS service statuses; who a service is for.
    "DirectoryServiceStatusEnum": "agencies.models.SERVICE_STATUSES",
    "EligibilityGroupEnum": list(codes("eligibility_groups")),
})
# The API answers in the language Accept-Language prefers, Polish or English
# (default), never from the pages' cookie or ?lang= (hub/api/language.py): first,
# so that problems of the outer middlewares follow it too, and last, after
# LocaleMiddleware and the pages' ?lang= switch.
MIDDLEWARE.insert(0, "hub.api.language.ApiLanguageMiddleware")
MIDDLEWARE.append("hub.api.language.ApiLanguageMiddleware")
# Demo only (eager tasks and DEBUG): webhook deliveries run on a small local thread
# pool after the response, never inside the request that caused them
# (agencies/events.py). With a broker, Celery workers deliver.
WEBHOOK_DELIVERY_THREADS = env.int("WEBHOOK_DELIVERY_THREADS", default=2)

# --- Metrics (issue 13, item 4) -----------------------------------------------------
# Prometheus metrics at /metrics (hub/metrics.py): django-prometheus's request
# counts and latency by view name (https://github.com/korfuri/django-prometheus),
# and the hub's own gauges, read from the database at each scrape. Not public:
# a scrape sends `Authorization: Bearer <METRICS_TOKEN>`; without the setting
# /metrics does not exist (404), as for a wrong token. Under gunicorn's several
# workers set PROMETHEUS_MULTIPROC_DIR (an empty directory, cleared at each
# start) so that every worker's counts are added up (prometheus_client's
# multiprocess mode). django_prometheus is not an installed app: the app only
# adds an exporter on a port of its own, which /metrics replaces.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Disclosures by legal basis are counted among the ledger's newest entries, in
# this window (hub/metrics.py says why not the whole ledger).
METRICS_DISCLOSURE_WINDOW_SECONDS = env.int("METRICS_DISCLOSURE_WINDOW_SECONDS", default=3600)
METRICS_DISCLOSURE_SCAN_LIMIT = env.int("METRICS_DISCLOSURE_SCAN_LIMIT", default=20_000)
# Request counts and latency are collected only where they are served (a
# METRICS_TOKEN, or METRICS_REQUESTS=true): about 0.2 ms of CPU a request,
# which a hub with no scraper should not pay (issue 11's figures). Outermost
# and innermost: the first sees every request (also those the refusing
# middlewares answer), the last names the view that answered.
PROMETHEUS_MIDDLEWARE = ("django_prometheus.middleware.PrometheusBeforeMiddleware",
                         "django_prometheus.middleware.PrometheusAfterMiddleware")
if METRICS_TOKEN or env.bool("METRICS_REQUESTS", default=False):
    MIDDLEWARE.insert(0, PROMETHEUS_MIDDLEWARE[0])
    MIDDLEWARE.append(PROMETHEUS_MIDDLEWARE[1])

import base64
import os
import re
from contextlib import contextmanager

import pytest
import pytest_django.fixtures
from django.conf import settings
from django.db import connections
from django.test import TestCase, TransactionTestCase
from django.core.cache import caches
from django.db import transaction

from agencies.services import agency_create, client_create, user_create

TOKEN_URL = "/o/token/"


# Every test that uses the database uses the key store too (the `keys` alias,
# consent_ledger/sealing.py: sealing a person's data writes their key). Django's
# test cases name the aliases they may use, and pytest-django sets up those of
# the tests it collected: both are widened to every alias here, without adding
# a `django_db` marker (which would move database set-up ahead of fixtures
# that must be torn down after its rollback, tests/consent_ledger/conftest.py).
TestCase.databases = TransactionTestCase.databases = "__all__"
_databases_for_test = pytest_django.fixtures._get_databases_for_test
pytest_django.fixtures._get_databases_for_test = lambda test: (
    (lambda found: (connections if found[0] else found[0], found[1]))(_databases_for_test(test))
)


class _Rollback(Exception):
    pass


@contextmanager
def example_rolled_back():
    """One hypothesis example's database state, always rolled back, with the
    throttle cleared (it counts requests across examples)."""
    _clear_caches()
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


def _clear_caches():
    for alias in settings.CACHES:
        caches[alias].clear()


@pytest.fixture(autouse=True)
def _clear_throttle_cache():
    _clear_caches()


class ThrottleClock:
    """The rate limits' time, moved by the test (no wall clock)."""

    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def throttle_clock(monkeypatch) -> ThrottleClock:
    from hub.api.throttling import HubThrottle

    clock = ThrottleClock()
    monkeypatch.setattr(HubThrottle, "timer", staticmethod(clock))
    return clock


def basic_auth(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.fixture
def make_agency(db):
    def make(name="MOPS Testowo", kind="ops", **kwargs):
        return agency_create(name=name, kind=kind, **kwargs)

    return make


@pytest.fixture
def make_client(db):
    """An OAuth2 client-credentials client: (application, plain secret)."""

    def make(agency, scopes=("agencies:read",)):
        issued = client_create(agency=agency, scopes=list(scopes))
        return issued.application, issued.client_secret

    return make


@pytest.fixture
def obtain_token(client):
    """A bearer token from the real token endpoint (form-encoded, RFC 6749 §4.4)."""

    def obtain(application, secret, scope=None):
        data = {"grant_type": "client_credentials"}
        if scope is not None:
            data["scope"] = scope
        response = client.post(TOKEN_URL, data, HTTP_AUTHORIZATION=basic_auth(application.client_id, secret))
        assert response.status_code == 200, response.content
        return response.json()["access_token"]

    return obtain


@pytest.fixture
def agency_token(make_agency, make_client, obtain_token):
    """(agency, token) for an OPS whose client holds the given scopes."""

    def make(scopes=("agencies:read",), **agency_kwargs):
        agency = make_agency(**agency_kwargs)
        application, secret = make_client(agency, scopes)
        return agency, obtain_token(application, secret)

    return make


@pytest.fixture
def make_user(db):
    def make(agency, username="kasia", role="caseworker", password="correct horse battery 9"):
        return user_create(agency=agency, username=username, password=password, role=role)

    return make


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


ALL_SCOPES = (
    "agencies:read subjects:read subjects:write consents:read consents:write referrals:read referrals:write "
    "events:read ledger:read audit:read"
).split()


# The endpoints that answer 428 without If-Match (hub.api.preconditions.require_if_match).
CONDITIONAL_CHANGE = re.compile(
    r"/api/v1/(?:referrals/[^/]+/transition|actions/[^/]+/transition|plans/[^/]+/stage"
    r"|blue-cards/[^/]+/(?:steps/|close)|placements/[^/]+/(?:transition|outcome))$"
)


class Party:
    """An agency with an OAuth2 client and a token from the real token endpoint,
    making JSON API calls through the Django test client."""

    def __init__(self, client, agency, application, token):
        self.client, self.agency, self.application, self.token = client, agency, application, token

    @property
    def caller(self):
        from agencies.callers import Caller

        return Caller(agency=self.agency, application=self.application)

    def get(self, path, **params):
        return self.client.get(path, params, **bearer(self.token))

    def post(self, path, body=None, **headers):
        """POST JSON. A change of state that requires If-Match (428 without
        it) gets `If-Match: *` unless the test sends its own: what these
        requests meant before the header became required. HTTP_IF_MATCH=None
        sends none."""
        if CONDITIONAL_CHANGE.search(path):
            headers.setdefault("HTTP_IF_MATCH", "*")
        if headers.get("HTTP_IF_MATCH", "") is None:
            del headers["HTTP_IF_MATCH"]
        return self.client.post(path, body or {}, content_type="application/json", **bearer(self.token), **headers)


@pytest.fixture
def party(client, make_agency, make_client, obtain_token):
    """party(name, kind, scopes=ALL_SCOPES) -> Party."""

    def make(name, kind="ops", scopes=ALL_SCOPES, **agency_kwargs):
        agency = make_agency(name=name, kind=kind, **agency_kwargs)
        application, secret = make_client(agency, scopes)
        return Party(client, agency, application, obtain_token(application, secret))

    return make


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` need PostgreSQL's concurrency; on SQLite they are
    deselected (not skipped): CI runs the suite on both databases. Tests
    marked `compose` need the stack deploy/smoke-compose.sh starts, and are
    deselected unless it named one (HUB_COMPOSE_PROJECT)."""
    from django.conf import settings

    unwanted = set() if os.environ.get("HUB_COMPOSE_PROJECT") else {"compose"}
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        unwanted.add("postgres")
    kept = [item for item in items if not any(item.get_closest_marker(name) for name in unwanted)]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


@pytest.fixture
def ledger_transactional_db(transactional_db):
    """transactional_db whose flush can clear the append-only ledger: the
    ledger is emptied with its guard lifted (as a table owner could), then the
    guard is restored before pytest-django flushes the rest."""
    from django.core.management import call_command
    from django.db import connection

    from consent_ledger import triggers

    yield
    with triggers.dropped(connection):
        call_command("flush", interactive=False, verbosity=0)

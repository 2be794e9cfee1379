"""Under /api/ every unknown path, with any method, is a 404 problem, and
every route answers each method it does not implement with a 405 problem
naming the methods it does in `Allow` (issue 12, item 6). Never Django's HTML
pages: not its 404, nor the CSRF 403 a POST to an unknown URL used to get."""

import re

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RoutePattern

from hub.api.errors import METHOD_NOT_ALLOWED, NOT_FOUND, PROBLEM_CONTENT_TYPE
from tests.conftest import bearer
from tests.staff import verified_login

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
SOME_ID = "0b7c6f3e-6f0e-4a8e-9d8e-2f1f5c1d2a3b"
UNKNOWN_PATHS = [
    "/api/", "/api/v1/", "/api/v1", "/api/v2/agencies/", "/api/v1/no-such-thing", "/api/v1/no-such-thing/",
    "/api/v1/agencies/me/", "/api/v1/agencies", "/api/v1/referrals/not-a-uuid", f"/api/v1/referrals/{SOME_ID}/nope",
    f"/api/v1/subjects/{SOME_ID}/consents/extra", f"/api/v1/ledger/entries/{SOME_ID}/proof/", "/api/schema/x",
    "/api/docs/x", "/api/v1/referrals/%2e%2e/%2e%2e/admin/", "/api/v1/schemas/UPPER", "/api/v1//agencies/",
]


@pytest.fixture
def session_client(make_agency, make_user):
    """A logged-in staff member's browser (a session cookie, no CSRF token)."""
    client = Client(enforce_csrf_checks=True)
    verified_login(client, make_user(make_agency()))
    return client


def assert_problem(response, status: int, code: str, context):
    assert response.status_code == status, (context, response.status_code, response.content[:200])
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE, context
    body = response.json()
    assert (body["status"], body["code"]) == (status, code), context


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_every_method_to_an_unknown_api_path_is_a_404_problem(db, session_client, agency_token, path):
    _, token = agency_token()
    callers = {
        "anonymous": (Client(enforce_csrf_checks=True), {}),
        "token": (Client(enforce_csrf_checks=True), bearer(token)),
        "session": (session_client, {}),
    }
    for who, (client, headers) in callers.items():
        for method in METHODS:
            response = client.generic(method, path, '{"a": 1}', content_type="application/json", **headers)

            assert_problem(response, 404, NOT_FOUND, (who, method, path))


def api_routes() -> list[tuple[str, type]]:
    """(path, view class) of every route under /api/, each parameter an id
    (a schema's name for the one regex route)."""
    routes = []

    def walk(patterns, prefix: str):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + _filled(pattern))
            elif prefix.startswith("api/") or str(pattern.pattern).startswith("api/"):
                path = "/" + prefix + _filled(pattern)
                if pattern.callback is not resolve(path).func:
                    continue  # the catch-all, whose pattern is no path
                routes.append((path, pattern.callback.cls))

    walk(get_resolver().url_patterns, "")
    return routes


def _filled(pattern) -> str:
    if isinstance(pattern.pattern, RoutePattern):
        return re.sub(r"<(?:\w+:)?\w+>", SOME_ID, str(pattern.pattern))
    return reverse(pattern.name, kwargs={"name": "subject"}).removeprefix("/api/v1/")


ROUTES = api_routes()


def test_the_walk_covers_the_api():
    paths = {path for path, _ in ROUTES}

    assert len(ROUTES) > 50
    assert {"/api/v1/agencies/me", "/api/v1/referrals/", "/api/schema/"} <= paths


@pytest.mark.parametrize(("path", "view"), ROUTES, ids=[path for path, _ in ROUTES])
def test_every_api_route_answers_a_method_it_does_not_implement_with_a_405_problem(db, path, view):
    implemented = {method for method in METHODS if hasattr(view, method.lower())}
    client = Client(enforce_csrf_checks=True)

    for method in set(METHODS) - implemented:
        response = client.generic(method, path, "{}", content_type="application/json")

        assert_problem(response, 405, METHOD_NOT_ALLOWED, (method, path))
        allowed = {item.strip() for item in response["Allow"].split(",")}
        assert implemented <= allowed and not (allowed & (set(METHODS) - implemented)), (method, path, allowed)

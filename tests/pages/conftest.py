"""Fixtures of the page tests: the world (tests/pages/world.py) and, for the
browser tests, one Chromium per test session (Debian's /usr/bin/chromium,
driven by Playwright's sync API; never `playwright install`)."""

import os
from pathlib import Path

import pytest

from .world import build_world

# Playwright's sync API runs an event loop in the test thread; Django refuses
# database calls from a thread with a running loop unless told it is safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages"


def pytest_collection_modifyitems(items):
    """Every test that opens a browser is marked `browser`: the pages read
    through the ORM like the client tests, which run on both databases, so CI
    drives Chromium once, in the SQLite pass (.ci/run)."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def live_world(ledger_transactional_db, live_server):
    """The world in a database the live server's thread sees too (the ledger
    is flushed with its append-only guard lifted, tests/conftest.py)."""
    return build_world()


@pytest.fixture
def context(browser, live_server):
    """A fresh browser profile (cookies) per test; pages in Polish unless a test
    switches. Console errors (a CSP violation is one) fail the test."""
    context = browser.new_context(base_url=live_server.url, locale="pl-PL", viewport={"width": 1100, "height": 900})
    context.set_default_timeout(15_000)
    errors = []
    # Console errors ("Refused to ..." is a CSP violation); HTTP failures are
    # counted below instead, since pages answering 403 or 404 are expected in some tests.
    context.on("page", lambda page: page.on(
        "console", lambda m: m.type == "error" and not m.text.startswith("Failed to load resource")
        and errors.append(f"{m.text} {m.location.get('url', '')}")
    ))
    # A failed subresource (a missing static file) is named.
    context.on("response", lambda r: r.status >= 400 and r.request.resource_type != "document"
               and errors.append(f"{r.status} {r.url}"))
    context.console_errors = errors
    yield context
    context.close()


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS

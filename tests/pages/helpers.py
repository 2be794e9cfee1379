"""Shared steps of the page tests."""

import re
from html.parser import HTMLParser

from django.conf import settings
from django.test import Client

from tests.staff import totp_code, totp_device, verified_login

from .world import PASSWORD


class _Inline(HTMLParser):
    """Collects what the CSP forbids in markup: script elements without src,
    style elements and style or on* attributes; and each POST form's fields."""

    def __init__(self):
        super().__init__()
        self.problems, self.forms, self._form = [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and not attrs.get("src"):
            self.problems.append("<script> without src")
        if tag == "style":
            self.problems.append("<style>")
        for name in attrs:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"{tag} {name}=")
        if tag == "form":
            self._form = {"method": (attrs.get("method") or "get").lower(), "action": attrs.get("action"), "fields": set()}
            self.forms.append(self._form)
        if tag in ("input", "textarea", "select", "button") and self._form is not None and attrs.get("name"):
            self._form["fields"].add(attrs["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def inline_code(html: str) -> list[str]:
    """What the CSP would block, and template syntax that leaked into the page."""
    parser = _Inline()
    parser.feed(html)
    leaked = [token for token in ("{#", "#}", "{%", "%}", "{{", "}}") if token in html]
    return parser.problems + [f"template syntax {token}" for token in leaked]


def post_forms(html: str) -> list[dict]:
    parser = _Inline()
    parser.feed(html)
    return [form for form in parser.forms if form["method"] == "post"]


def staff_client(user, language: str = "pl") -> Client:
    """A test client logged in as `user` through both factors, reading pages
    in `language` (Polish, the hub's default; the test settings say English)."""
    client = Client()
    verified_login(client, user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def browser_login(context, live_server, user) -> None:
    """Put a logged-in, second-factor-verified session into the browser (the
    login form itself is driven in test_browser_login.py)."""
    client = staff_client(user)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                          "url": live_server.url}])


def browser_password_only(context, live_server, user) -> None:
    """A session that has passed the password step only (the code pages)."""
    client = Client()
    client.force_login(user)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                          "url": live_server.url}])


def ui_login(page, user, *, code=None) -> None:
    """Log in through the pages: username and password, then the TOTP code."""
    page.goto("/accounts/login/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name=re.compile("Dalej|Continue")).click()
    page.fill("#id_code", code or totp_code(totp_device(user)))
    page.get_by_role("button", name=re.compile("Dalej|Continue")).click()

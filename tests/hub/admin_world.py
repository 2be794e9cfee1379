"""What the admin tests share (tests/hub/test_admin_*.py): a superuser past the
second factor, a caseworker with every kind of credential the admin lists,
the registered admins and their URLs, and the fields an admin form submits
as a browser would."""

import secrets
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import reverse

from hub.otp import backup_codes_issue
from tests.agencies.test_oauth_authorization_code import (  # noqa: F401
    authorize,
    code_from,
    exchange,
    s256,
    user_app,
)
from tests.staff import verified_login

PASSWORD = "correct horse battery 9"


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("hub-admin", "admin@hub.example", PASSWORD)


@pytest.fixture
def admin_client(client, superuser):
    verified_login(client, superuser)
    return client


@pytest.fixture
def staff(user_app):  # noqa: F811
    """A caseworker with an authenticator, backup codes, and an OAuth2 user
    app she authorised twice: one code exchanged (an access and a refresh
    token), one not (a grant)."""
    _, user, application = user_app
    browser = Client()
    verified_login(browser, user)
    backup_codes_issue(user)
    verifier = secrets.token_urlsafe(48)
    pkce = {"code_challenge": s256(verifier), "code_challenge_method": "S256"}
    response = exchange(browser, application, code_from(authorize(browser, application, **pkce)), verifier)
    assert response.status_code == 200, response.content
    assert code_from(authorize(browser, application, **pkce))
    return user, response.json()["access_token"]


def registered() -> list:
    """(model, its ModelAdmin) for every registered model."""
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def request_of(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def form_fields(html: str, form_id: str) -> dict[str, list[str]]:
    """What the form with this id submits: its inputs' values, the checked
    boxes, the selected options, the textareas (HTML 4.10.21.4)."""
    parser = _FormParser(form_id)
    parser.feed(html)
    assert parser.seen, f"no form #{form_id}"
    return parser.fields


class _FormParser(HTMLParser):
    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.seen = form_id, False, False
        self.fields: dict[str, list[str]] = {}
        self.select = self.textarea = None

    def _add(self, name, value):
        self.fields.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
            self.seen |= self.inside
        if not self.inside or not a.get("name") and tag != "option" or "disabled" in a:
            return
        if tag == "input" and a.get("type", "text") not in ("submit", "button", "file", "image", "reset"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self._add(a["name"], a.get("value", "on" if a.get("type") == "checkbox" else ""))
        elif tag == "select":
            self.select = a["name"]
        elif tag == "option" and self.select and "selected" in a:
            self._add(self.select, a.get("value", ""))
        elif tag == "textarea":
            self.textarea = a["name"]
            self._add(self.textarea, "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.fields[self.textarea][-1] += data

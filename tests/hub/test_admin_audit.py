"""Every write through the Django admin is in the admin log (issue 12, item 6):
an add, a change, a delete, and every admin action -- django-oauth-toolkit's
"revoke selected tokens" logged nothing until the hub's site
(hub/admin_site.py) logged every action. The log cannot be emptied through
the admin, and the hub's own records (agencies, the ledger, referrals) cannot
be written there at all: they change only through the services."""

import hashlib

from django.contrib import admin
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from oauth2_provider.models import AccessToken, RefreshToken

from tests.conftest import bearer
from tests.staff import totp_device

from .admin_world import (  # noqa: F401  (admin_client, staff, superuser, user_app: fixtures)
    PASSWORD,
    admin_client,
    admin_url,
    form_fields,
    registered,
    request_of,
    staff,
    superuser,
    user_app,
)

User = get_user_model()
# What a superuser types into each add form beyond what the form fills in;
# every model the admin lets her add is here (the test fails on a new one).
TYPED_IN = {
    Group: lambda user: {"name": "Audytorzy"},
    User: lambda user: {"username": "nowa", "password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"},
    TOTPDevice: lambda user: {"user": str(user.pk), "name": "zapasowy telefon"},
    StaticDevice: lambda user: {"user": str(user.pk), "name": "zapasowe kody"},
}
# The hub's own apps, and its OAuth2 tokens: written only through their
# services and /o/ (a token is revoked with an action), never in the admin.
HUB_APPS = {"hub", "api", "schemas", "agencies", "consent_ledger", "referrals", "oauth2_provider"}


def logged(model, obj_pk, flag, user) -> bool:
    return LogEntry.objects.filter(
        content_type__app_label=model._meta.app_label, content_type__model=model._meta.model_name,
        object_id=str(obj_pk), action_flag=flag, user=user,
    ).exists()


def one_to_act_on(model, staff_user):
    """An object of `model` an action may remove without logging the admin out."""
    if model is Group:
        return Group.objects.create(name="Do usunięcia")
    if model is TOTPDevice:
        return totp_device(staff_user)
    if model is StaticDevice:
        return StaticDevice.objects.get(user=staff_user)
    return model._default_manager.filter(user=staff_user).first()


def test_every_admin_action_logs_each_object_it_is_applied_to(admin_client, superuser, staff):  # noqa: F811
    acted = set()

    for model, model_admin in registered():
        for name in model_admin.get_actions(request_of(superuser)):
            target = one_to_act_on(model, staff[0])
            assert target is not None, f"no {model._meta.label} to apply {name} to"
            response = admin_client.post(admin_url(model, "changelist"), {
                "action": name, "_selected_action": [target.pk], "index": 0, "post": "yes",
            })

            assert response.status_code == 302, (model._meta.label, name, response.status_code)
            flag = DELETION if name == "delete_selected" else CHANGE
            assert logged(model, target.pk, flag, superuser), (model._meta.label, name)
            acted.add((model, name))

    assert {(AccessToken, "revoke_tokens"), (RefreshToken, "revoke_tokens"), (Group, "delete_selected")} <= acted


def test_a_token_revoked_in_the_admin_is_logged_and_refused_on_its_next_use(
    admin_client, superuser, staff, client,  # noqa: F811
):
    token = staff[1]
    stored = AccessToken.objects.get(token_checksum=hashlib.sha256(token.encode()).hexdigest())
    assert client.get("/api/v1/agencies/me", **bearer(token)).status_code == 200

    admin_client.post(admin_url(AccessToken, "changelist"), {
        "action": "revoke_tokens", "_selected_action": [stored.pk], "index": 0,
    })

    entry = LogEntry.objects.get(object_id=str(stored.pk), content_type__model="accesstoken")
    assert entry.user == superuser and entry.get_change_message() == "Action: Revoke selected access tokens"
    assert client.get("/api/v1/agencies/me", **bearer(token)).status_code == 401


def test_every_add_change_and_delete_in_the_admin_is_logged(admin_client, superuser, staff):  # noqa: F811
    request = request_of(superuser)
    writable = {model for model, model_admin in registered() if model_admin.has_add_permission(request)}
    assert writable == set(TYPED_IN)

    for model in writable:
        model_admin = admin.site._registry[model]
        add_page = admin_client.get(admin_url(model, "add")).content.decode()
        data = {**form_fields(add_page, f"{model._meta.model_name}_form"), **TYPED_IN[model](staff[0]), "_save": "1"}
        added = admin_client.post(admin_url(model, "add"), data)
        assert added.status_code == 302, (model._meta.label, added.content.decode()[-3000:])
        obj = model._default_manager.order_by("-pk").first()
        assert logged(model, obj.pk, ADDITION, superuser), model._meta.label

        if model_admin.has_change_permission(request, obj):
            change_page = admin_client.get(admin_url(model, "change", obj.pk)).content.decode()
            saved = admin_client.post(admin_url(model, "change", obj.pk),
                                      {**form_fields(change_page, f"{model._meta.model_name}_form"), "_save": "1"})
            assert saved.status_code == 302, (model._meta.label, saved.content.decode()[-3000:])
            assert logged(model, obj.pk, CHANGE, superuser), model._meta.label

        if model_admin.has_delete_permission(request, obj):
            assert admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 302
            assert logged(model, obj.pk, DELETION, superuser), model._meta.label


def test_the_log_cannot_be_emptied_and_the_hubs_records_not_written_through_the_admin(superuser):  # noqa: F811
    request = request_of(superuser)

    assert LogEntry not in admin.site._registry
    # A user's log entries are deleted with her (LogEntry.user cascades).
    assert not admin.site._registry[User].has_delete_permission(request)
    for model, model_admin in registered():
        if model._meta.app_label in HUB_APPS:
            assert not model_admin.has_add_permission(request), model._meta.label
            assert not model_admin.has_change_permission(request), model._meta.label
            assert not model_admin.has_delete_permission(request), model._meta.label

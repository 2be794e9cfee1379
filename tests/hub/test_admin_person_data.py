"""No page of the Django admin shows a person's data (issue 12, item 6; DESIGN.md
principle 1: it leaves the hub only through the disclosure choke point).

A partnership with one of everything (tests/api_contract/world.py) and a
person whose profile, referral payload and reason, case update, plan notes,
placement check-in, emergency justification, revocation reason and court
reference each hold a marker; a superuser then opens every admin page --
the index, each app's, each model's list and add form, the change form and
history of every object, a delete confirmation -- and none shows a marker,
nor a credential (a second factor's secret, a token). The owner reads the markers through the API:
they are there to be shown."""

import uuid
from datetime import timedelta

from django.contrib import admin
from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.html import escape
from oauth2_provider.models import IDToken

from hub.otp import backup_codes_issue
from tests.api_contract.world import CONSENTED, WITHHOLD, _consent, build_everything
from tests.staff import totp_device

from .admin_world import (  # noqa: F401  (admin_client, staff, superuser, user_app: fixtures)
    admin_client,
    admin_url,
    registered,
    request_of,
    staff,
    superuser,
    user_app,
)

MARKERS = {
    "given name": "Jadwigaqx", "family name": "Kowalczykqx", "phone": "+48 699 123 987", "codeword": "sasankaqx",
    "case number": "AKTA/qx/77", "summary": "Sypia w samochodzie qx", "risk notes": "Grozi nożem qx",
    "reason": "Przemoc w domu qx", "case update": "Dzwoniła z budki qx", "goal": "Mieszkanie chronione qx",
    "indicator": "Noce w schronisku qx", "baseline": "Brak adresu qx", "action": "Wizyta w sądzie qx",
    "review": "Spokojniejsza qx", "check-in": "Płacze w pracy qx", "justification": "Mąż ma broń qx",
    "revocation": "Wycofała zgodę qx", "court reference": "III RC 777/26 qx",
}


def seed(party) -> tuple:
    """The world, and Jadwiga's data with a marker in every piece of it."""
    world = build_everything(party, "Admin")
    ops, shelter, ids, m = world.ops, world.shelter, world.ids, MARKERS
    subject = ops.post("/api/v1/subjects/", {"external_ref": m["case number"], "profile": {
        "person": {"given_name": m["given name"], "family_name": m["family name"], "birth_date": "1971-03-03"},
        "contact": {"phone": m["phone"]}, "safe_contact": {"channel": "sms", "codeword": m["codeword"]},
    }}).json()["id"]
    consent = _consent(ops, subject, shelter)
    referral = ops.post("/api/v1/referrals/", {
        "subject": subject, "to_agency": str(shelter.agency.id), "service": "shelter", "urgency": "urgent",
        "purpose": "referral", "reason": m["reason"], "withhold_categories": WITHHOLD,
        "payload": {"summary": m["summary"], "risk": {"level": "high", "notes": m["risk notes"]}},
    }).json()["id"]
    plan, today = f"/api/v1/plans/{ids['plan_id']}", timezone.localdate().isoformat()
    placement = f"/api/v1/placements/{ids['placement_id']}"
    for who, path, body in [
        (shelter, f"/api/v1/referrals/{referral}/updates/", {"kind": "note", "payload": {"text": m["case update"]}}),
        (ops, f"{plan}/goals/", {"title": m["goal"], "indicator": m["indicator"], "baseline": m["baseline"]}),
        (ops, f"{plan}/actions/", {"agency": str(ops.agency.id), "title": m["action"], "due_on": today}),
        (ops, f"{plan}/reviews/", {"kind": "monitoring", "summary": m["review"]}),
        (ops, f"/api/v1/subjects/{subject}/emergency-disclosures/",
         {"recipient": str(shelter.agency.id), "categories": ["safe_contact"], "justification": m["justification"]}),
        (ops, f"/api/v1/subjects/{subject}/legal-bases/", {
            "basis": "court_order", "recipients": {"agencies": [str(shelter.agency.id)]}, "categories": CONSENTED,
            "purposes": ["referral"], "reference": m["court reference"]}),
        (ops, f"/api/v1/consents/{consent['id']}/revoke", {"reason": m["revocation"]}),
        (world.employer, f"{placement}/transition", {"status": "confirmed"}),
        (ops, f"{placement}/transition", {"status": "active"}),
        (ops, f"{placement}/check-ins/", {"month": today[:7], "coordinator_notes": m["check-in"]}),
    ]:
        response = who.post(path, body, HTTP_IF_MATCH="*")
        assert response.status_code in (200, 201), (path, response.content)
    return world, subject, referral


def credentials(user, token: str, admin_user) -> list[str]:
    """What no admin page may show either: second factors (TOTP keys, backup
    codes) and a raw access token. Also seeds the models nothing above made:
    a group, and an ID token (the hub's flows issue none)."""
    Group.objects.create(name="Audytorzy")
    IDToken.objects.create(user=user, application=user.memberships.get().agency.applications.first(),
                           jti=uuid.uuid4(), expires=timezone.now() + timedelta(hours=1))
    return [token, *(value for who in (user, admin_user) for value in (totp_device(who).key, *backup_codes_issue(who)))]


def admin_pages(user) -> list[str]:
    request = request_of(user)
    pages = ["/admin/", *(f"/admin/{app['app_label']}/" for app in admin.site.get_app_list(request))]
    for model, model_admin in registered():
        pages.append(admin_url(model, "changelist"))
        if model_admin.has_add_permission(request):
            pages.append(admin_url(model, "add"))
        objects = list(model._default_manager.all())
        assert objects, f"no {model._meta.label} to open"
        for obj in objects:
            pages += [admin_url(model, "change", obj.pk), admin_url(model, "history", obj.pk)]
        if model_admin.has_delete_permission(request, objects[0]):
            pages.append(admin_url(model, "delete", objects[0].pk))
    return pages


def test_no_admin_page_shows_a_persons_data_or_a_credential(party, admin_client, superuser, staff):  # noqa: F811
    world, subject, referral = seed(party)
    hidden = [*MARKERS.values(), *credentials(*staff, superuser)]
    owner_reads = [world.ops.get(f"/api/v1/subjects/{subject}", purpose="referral").content.decode(),
                   world.ops.get(f"/api/v1/referrals/{referral}").content.decode()]
    assert MARKERS["given name"] in owner_reads[0] and MARKERS["summary"] in owner_reads[1]

    # What the admin does show (the walk reads real pages): agencies and staff.
    expected = {world.ops.agency.name, world.shelter.agency.name, superuser.username}
    shown, seen = [], set()
    for page in admin_pages(superuser):
        response = admin_client.get(page)
        assert response.status_code == 200, (page, response.status_code)
        html = response.content.decode()
        shown += [(page, value) for value in hidden if value in html or escape(value) in html]
        seen |= {value for value in expected if escape(value) in html}

    assert shown == []
    assert seen == expected

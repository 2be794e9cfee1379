"""The management commands of DESIGN.md section 6, with --json."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from hub.management.commands.demo_seed import PARTNERSHIP
from agencies.models import Agency, AgencyApplication, Membership
from tests.conftest import bearer


def run(*args) -> dict:
    out = StringIO()
    call_command(*args, "--json", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1, "--json prints exactly one JSON object"
    return json.loads(lines[0])


def test_add_agency_defaults_the_sector_from_the_kind(db):
    result = run("add_agency", "--name", "Fundacja Dom", "--kind", "shelter", "--teryt", "0264011")

    agency = Agency.objects.get(pk=result["id"])
    assert (agency.name, agency.kind, agency.sector, agency.teryt) == ("Fundacja Dom", "shelter", "ngo", "0264011")


def test_add_agency_refuses_a_malformed_teryt(db):
    with pytest.raises(CommandError, match="TERYT"):
        run("add_agency", "--name", "X", "--kind", "ops", "--teryt", "12")
    assert not Agency.objects.exists()


def test_add_client_prints_working_credentials(client, db):
    agency_id = run("add_agency", "--name", "MOPS", "--kind", "ops")["id"]

    result = run("add_client", "--agency", agency_id, "--scope", "agencies:read events:read")

    assert set(result) == {"client_id", "client_secret"}
    token = client.post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION="Basic "
        + __import__("base64").b64encode(f"{result['client_id']}:{result['client_secret']}".encode()).decode(),
    ).json()["access_token"]
    assert client.get("/api/v1/agencies/me", **bearer(token)).json()["id"] == agency_id
    assert AgencyApplication.objects.get(client_id=result["client_id"]).allowed_scope_set == {
        "agencies:read",
        "events:read",
    }


def test_add_client_refuses_unknown_scopes_and_agencies(db):
    agency_id = run("add_agency", "--name", "MOPS", "--kind", "ops")["id"]

    with pytest.raises(CommandError, match="everything"):
        run("add_client", "--agency", agency_id, "--scope", "agencies:read everything")
    with pytest.raises(CommandError, match="No agency"):
        run("add_client", "--agency", "not-a-uuid", "--scope", "agencies:read")
    assert not AgencyApplication.objects.exists()


def test_add_user_creates_a_member_with_a_role(db):
    agency_id = run("add_agency", "--name", "MOPS", "--kind", "ops")["id"]

    result = run(
        "add_user", "--agency", agency_id, "--username", "kasia", "--password", "long enough pass 42", "--role", "dpo"
    )

    membership = Membership.objects.get(user_id=result["id"])
    assert (str(membership.agency_id), membership.role, membership.user.username) == (agency_id, "dpo", "kasia")


def test_add_user_refuses_a_weak_password_and_writes_nothing(db):
    agency_id = run("add_agency", "--name", "MOPS", "--kind", "ops")["id"]

    with pytest.raises(CommandError):
        run("add_user", "--agency", agency_id, "--username", "kasia", "--password", "123", "--role", "caseworker")
    assert not Membership.objects.exists()


def test_demo_seed_builds_the_wroclaw_partnership_once(db, settings, client):
    settings.DEBUG = True
    out = StringIO()

    call_command("demo_seed", stdout=out)
    call_command("demo_seed", stdout=StringIO())

    kinds = sorted(Agency.objects.values_list("kind", flat=True))
    assert kinds == sorted(kind for _, _, kind, *_ in PARTNERSHIP)
    assert {"ops", "pcpr", "shelter", "cis", "police", "employer"} <= set(kinds)
    assert kinds.count("employer") == 2
    assert AgencyApplication.objects.count() == len(PARTNERSHIP)
    assert "http://127.0.0.1:8000/" in out.getvalue()
    token = client.post(
        "/o/token/", {"grant_type": "client_credentials", "client_id": "demo-mops", "client_secret": "demo-secret-mops"}
    ).json()["access_token"]
    assert client.get("/api/v1/agencies/me", **bearer(token)).json()["kind"] == "ops"
    assert client.login(username="mops.kasia", password="demo-password-2026")


def test_demo_seed_refuses_without_debug(db, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        call_command("demo_seed", stdout=StringIO())
    assert not Agency.objects.exists()


def test_demo_seed_registers_a_person_the_shelter_sees_only_in_part(db, settings, client):
    from consent_ledger.models import SubjectReference

    settings.DEBUG = True
    call_command("demo_seed", stdout=StringIO())
    subject_id = SubjectReference.objects.get(external_ref="MOPS/DEMO/1").subject_id

    def token(slug):
        return client.post(
            "/o/token/", {"grant_type": "client_credentials", "client_id": f"demo-{slug}", "client_secret": f"demo-secret-{slug}"}
        ).json()["access_token"]

    shelter = client.get(f"/api/v1/subjects/{subject_id}?purpose=referral", **bearer(token("shelter"))).json()
    police = client.get(f"/api/v1/subjects/{subject_id}?purpose=referral", **bearer(token("police")))
    assert set(shelter["profile"]) == {"person", "safe_contact"}
    assert shelter["withheld_categories"] == ["contact", "demographics"]
    assert police.status_code == 404

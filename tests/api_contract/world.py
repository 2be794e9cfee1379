"""A small partnership with one of everything the API serves, so that the
contract tests answer real objects (200s, lists with items), not only 404s.

The caller is the MOPS, whose client holds every scope. It owns Anna (a
consent to the shelter, a referral to it with a case update) and reads a
person the shelter owns (so a revocation leaves it a notice); it chairs a ZI
with a GDP, leads Anna's plan and has a Blue Card procedure open.
`build_everything` adds an object for each id the rest of the API takes (a
refusal, a statutory basis, a placement with a partner employer). State is
built through the API and the services, never the ORM."""

import hashlib
from dataclasses import dataclass, field

from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone

from agencies.directory.services import directory_service_create, location_create
from agencies.events import outbox_relay_all
from agencies.services import user_create
from agencies.teams import team_create, team_member_add
from consent_ledger.models import RevocationNotice
from consent_ledger.sequencer import ledger_sequence_all
from hub.wsgi import application as wsgi_application
from schemas.vocabularies import SCOPES, codes

EVIDENCE = hashlib.sha256(b"signed consent form").hexdigest()
PROFILE = {
    "person": {"given_name": "Anna", "family_name": "Nowak", "birth_date": "1970-01-01"},
    "contact": {"phone": "+48 600 100 200"},
    "safe_contact": {"channel": "sms", "codeword": "konwalia"},
}
PAYLOAD = {"summary": "Needs a safe place tonight.", "risk": {"level": "high", "notes": "Threats."}}
CONSENTED = ["identity", "safe_contact", "case_notes", "risk"]
WITHHOLD = ["contact", "demographics", "health"]
# Loopback, port 9 (discard): refused at once, so a delivery attempt costs nothing.
HOOK_URL = "http://127.0.0.1:9/hook"


def application(environ, start_response):
    """The hub's WSGI application, called as Django's test client calls it.

    A real WSGI call sends request_started and request_finished, whose handler
    closes the database connection (CONN_MAX_AGE 0): on PostgreSQL that closes
    the test's own transaction. Like django.test.client.ClientHandler, keep the
    handler disconnected around the call and the closing of its response."""
    request_started.disconnect(close_old_connections)
    try:
        response = wsgi_application(environ, start_response)
    finally:
        request_started.connect(close_old_connections)
    return _ClosedWithoutClosingTheDatabase(response)


class _ClosedWithoutClosingTheDatabase:
    def __init__(self, response):
        self.response = response

    def __iter__(self):
        return iter(self.response)

    def close(self):
        request_finished.disconnect(close_old_connections)
        try:
            self.response.close()  # sends request_finished
        finally:
            request_finished.connect(close_old_connections)


@dataclass
class ContractWorld:
    ops: object
    shelter: object
    ids: dict = field(default_factory=dict)
    employer: object = None


def _created(response) -> dict:
    assert response.status_code == 201, response.content
    return response.json()


def _consent(owner, subject_id, recipient, categories=CONSENTED, purposes=("referral",)) -> dict:
    return _created(owner.post(f"/api/v1/subjects/{subject_id}/consents/", {
        "recipients": {"agencies": [str(recipient.agency.id)]}, "categories": list(categories),
        "purposes": list(purposes), "form": "written", "grantor": "subject", "evidence_sha256": EVIDENCE,
    }))


def build(party, name: str = "Kontrakt") -> ContractWorld:
    ops = party(f"MOPS {name}", "ops", scopes=codes(SCOPES))
    shelter = party(f"Schronisko {name}", "shelter", scopes=codes(SCOPES))
    world = ContractWorld(ops, shelter)
    ids = world.ids
    ids["endpoint_id"] = _created(ops.post("/api/v1/webhook-endpoints/", {"url": HOOK_URL, "events": []}))["id"]

    ids["subject_id"] = _created(ops.post("/api/v1/subjects/", {"external_ref": "K/1", "profile": PROFILE}))["id"]
    consent = _consent(ops, ids["subject_id"], shelter)
    ids["provision_id"], ids["entry_id"] = consent["id"], consent["ledger_entry"]["id"]
    ids["referral_id"] = _created(ops.post("/api/v1/referrals/", {
        "subject": ids["subject_id"], "to_agency": str(shelter.agency.id), "service": "shelter",
        "urgency": "urgent", "purpose": "referral", "payload": PAYLOAD, "reason": "Violence at home.",
        "withhold_categories": WITHHOLD,
    }))["id"]
    _created(ops.post(f"/api/v1/referrals/{ids['referral_id']}/updates/", {"kind": "note", "payload": {"text": "Called."}}))

    # A notice for the MOPS: it read the shelter's person, then her consent was revoked.
    theirs = _created(shelter.post("/api/v1/subjects/", {"external_ref": "S/1", "profile": PROFILE}))["id"]
    their_consent = _consent(shelter, theirs, ops)
    returned = _created(shelter.post("/api/v1/referrals/", {
        "subject": theirs, "to_agency": str(ops.agency.id), "service": "psychological", "urgency": "routine",
        "purpose": "referral", "payload": {"summary": "Counselling."}, "withhold_categories": WITHHOLD,
    }))["id"]
    assert ops.get(f"/api/v1/referrals/{returned}").status_code == 200
    assert shelter.post(f"/api/v1/consents/{their_consent['id']}/revoke", {"reason": "Withdrawn."}).status_code == 200
    ids["notice_id"] = str(RevocationNotice.objects.get(agency=ops.agency).id)

    zi = team_create(caller=ops.caller, name="ZI Kontrakt", kind="zi")
    team_member_add(caller=ops.caller, team_id=zi.id, agency_id=shelter.agency.id,
                    confidentiality_declaration_at=timezone.now())
    ids["team_id"], ids["agency_id"] = str(zi.id), str(shelter.agency.id)
    ids["plan_id"] = _created(ops.post("/api/v1/plans/", {"subject": ids["subject_id"], "stage": "crisis"}))["id"]
    ids["action_id"] = _created(ops.post(f"/api/v1/plans/{ids['plan_id']}/actions/", {
        "agency": str(ops.agency.id), "title": "Weekly call", "due_on": timezone.localdate().isoformat(),
    }))["id"]
    ids["procedure_id"] = _created(ops.post("/api/v1/blue-cards/", {
        "subject": ids["subject_id"], "team": ids["team_id"], "opened_at": "2026-01-05T10:00:00+01:00",
        "opened_by_kind": "ops", "forms_of_violence": ["psychological"], "children_in_household": 0,
    }))["id"]
    ids["name"] = "subject"
    # The MOPS's entry in the service directory (issue 14), counting its places.
    office = location_create(caller=ops.caller, name=f"MOPS {name}", teryt="0264011", address_1="ul. Jasna 1",
                             city="Wrocław", postal_code="50-001")
    ids["service_id"] = str(directory_service_create(
        caller=ops.caller, location=office, service="family_assistant", name="Asystent rodziny",
        capacity_total=3, capacity_free=2,
    ).id)
    outbox_relay_all()
    ledger_sequence_all()  # a signed checkpoint, so the proofs have a tree
    delivery = ops.get(f"/api/v1/webhook-endpoints/{ids['endpoint_id']}/deliveries/").json()["results"]
    ids["delivery_id"] = delivery[0]["id"]
    return world


def build_everything(party, name: str = "Kontrakt") -> ContractWorld:
    """build(), and the MOPS's refusal and statutory basis for Anna, and her
    placement at a partner employer under an agreement with it."""
    world = build(party, name)
    ops, ids = world.ops, world.ids
    provisions = f"/api/v1/subjects/{ids['subject_id']}"
    ids["refusal_id"] = _created(ops.post(f"{provisions}/refusals/", {
        "recipients": {"agency_kinds": ["police"]}, "categories": ["health"], "purposes": ["referral"],
        "form": "written", "grantor": "subject", "evidence_sha256": EVIDENCE,
    }))["id"]
    ids["basis_id"] = _created(ops.post(f"{provisions}/legal-bases/", {
        "basis": "court_order", "recipients": {"agencies": [str(world.shelter.agency.id)]},
        "categories": ["identity"], "purposes": ["referral"], "reference": "III RC 1/26",
    }))["id"]
    world.employer = party(f"Hotel {name}", "employer", scopes=codes(SCOPES))
    _consent(ops, ids["subject_id"], world.employer, ["identity", "contact", "employment"], ["employment_placement"])
    today = timezone.localdate()
    ids["agreement_id"] = _created(ops.post("/api/v1/placement-agreements/", {
        "employer": str(world.employer.agency.id), "roles": ["reception"], "places": 1,
        "valid_from": today.replace(day=1).isoformat(), "valid_until": today.replace(year=today.year + 1).isoformat(),
    }))["id"]
    coordinator = user_create(agency=ops.agency, username=f"koordynatorka-{name.lower()}",
                              password="correct horse battery 9", role="coordinator")
    ids["placement_id"] = _created(ops.post("/api/v1/placements/", {
        "subject": ids["subject_id"], "employer": str(world.employer.agency.id), "agreement": ids["agreement_id"],
        "coordinator": coordinator.id, "role": "reception", "hours_per_week": 30, "start_on": today.isoformat(),
    }))["id"]
    return world

"""The scene of the page tests, built through the services: a MOPS that owns a
person's record and sent her to a shelter (health, contact and demographics
withheld; identity, safe contact, case notes and risk consented), an outsider
agency, and a caseworker (and others) at each."""

import hashlib
from dataclasses import dataclass

from agencies.callers import Caller
from agencies.services import agency_create, user_create
from consent_ledger.services import Terms, consent_grant, subject_create
from referrals import services

PASSWORD = "correct horse battery 9"
EVIDENCE = hashlib.sha256(b"signed consent form").hexdigest()
PROFILE = {
    "person": {"given_name": "Anna", "family_name": "Nowak", "birth_date": "1970-01-01"},
    "contact": {"phone": "+48 600 100 200"},
    "safe_contact": {"channel": "sms", "codeword": "konwalia"},
    "languages": ["pl"],
}
PAYLOAD = {
    "summary": "Potrzebuje bezpiecznego miejsca od dziś; dwoje dzieci.",
    "risk": {"level": "high", "notes": "Partner groził jej wczoraj."},
    "health": {"notes": "Astma; potrzebny inhalator."},
    "confidential_address_required": True,
}
REASON = "Przemoc w domu."
CONSENTED = ["identity", "safe_contact", "case_notes", "risk"]
WITHHOLD = ["health", "contact", "demographics"]
# Strings that only the choke point may put on a page.
PERSON_DATA = ["Anna", "Nowak", "konwalia", "Astma", "+48 600 100 200", "Partner groził"]


@dataclass
class World:
    mops: object
    shelter: object
    outsider: object
    mops_worker: object
    shelter_worker: object
    outsider_worker: object
    mops_dpo: object
    shelter_coordinator: object
    subject: object
    referral: object


def build_world() -> World:
    mops = agency_create(name="MOPS Wrocław", kind="ops")
    shelter = agency_create(name="Schronisko Bezpieczny Dom", kind="shelter")
    outsider = agency_create(name="OPS Oława", kind="ops")
    users = {
        "mops_worker": user_create(agency=mops, username="mops.kasia", password=PASSWORD, role="caseworker"),
        "shelter_worker": user_create(agency=shelter, username="dom.ewa", password=PASSWORD, role="caseworker"),
        "outsider_worker": user_create(agency=outsider, username="olawa.jan", password=PASSWORD, role="caseworker"),
        "mops_dpo": user_create(agency=mops, username="mops.iod", password=PASSWORD, role="dpo"),
        "shelter_coordinator": user_create(agency=shelter, username="dom.koordynator", password=PASSWORD, role="coordinator"),
    }
    caller = Caller(agency=mops, user=users["mops_worker"])
    subject = subject_create(caller=caller, external_ref="MOPS/7/2026", profile=PROFILE)
    consent_grant(
        caller=caller, subject_id=subject.id, form="written", grantor="subject", evidence_sha256=EVIDENCE,
        terms=Terms(categories=CONSENTED, purposes=["referral"], agencies=[str(shelter.id)]),
    )
    referral = services.referral_create(
        caller=caller, subject_id=subject.id, to_agency_id=shelter.id, service="shelter", urgency="urgent",
        purpose="referral", payload=PAYLOAD, reason=REASON, withhold_categories=WITHHOLD,
    )
    return World(mops=mops, shelter=shelter, outsider=outsider, subject=subject, referral=referral, **users)


def send_more(world: World, count: int) -> list:
    """`count` more referrals from the MOPS to the shelter (routine, no reason)."""
    caller = Caller(agency=world.mops, user=world.mops_worker)
    return [
        services.referral_create(
            caller=caller, subject_id=world.subject.id, to_agency_id=world.shelter.id, service="psychological",
            urgency="routine", purpose="referral", payload={"summary": f"Konsultacja {i}"},
            withhold_categories=WITHHOLD,
        )
        for i in range(count)
    ]

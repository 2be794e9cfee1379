"""The DPO's printable accounting and the supervisors' emergency review queue."""

import pytest
from django.utils import timezone

from consent_ledger import services
from consent_ledger.decisions import decide
from consent_ledger.disclosure import disclose
from consent_ledger.models import EmergencyReview
from consent_ledger.selectors import provisions_in_force, recipient_of
from tests.staff import verified_login


@pytest.fixture
def scene(party, make_user):
    ops, shelter = party("MOPS Wrocław", "ops"), party("Schronisko Bezpieczny Dom", "shelter")
    subject = services.subject_create(
        caller=ops.caller, external_ref="A/1", profile={"person": {"given_name": "Anna"}, "languages": ["pl"]}
    )
    services.consent_grant(
        caller=ops.caller, subject_id=subject.id, form="verbal_witnessed", grantor="subject",
        terms=services.Terms(categories=["identity"], purposes=["referral"], agencies=[str(shelter.agency.id)]),
    )
    disclose(subject=subject, caller=shelter.caller, purpose="referral", document=subject.profile, schema="subject")
    return {
        "ops": ops, "shelter": shelter, "subject": subject,
        "dpo": make_user(ops.agency, username="iod", role="dpo"),
        "caseworker": make_user(ops.agency, username="kasia", role="caseworker"),
        "supervisor": make_user(ops.agency, username="anna", role="supervisor"),
        "other_dpo": make_user(shelter.agency, username="iod2", role="dpo"),
    }


def accounting_url(scene):
    return f"/ledger/subjects/{scene['subject'].id}/disclosures"


@pytest.mark.parametrize("language, released, withheld", [("pl", "Dane identyfikacyjne", "Dane demograficzne"), ("en", "Identity", "Demographics")])
def test_dpo_reads_the_accounting_in_polish_and_english(client, scene, language, released, withheld):
    verified_login(client, scene["dpo"])

    page = client.get(accounting_url(scene), HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert "Schronisko Bezpieczny Dom" in page
    assert released in page and withheld in page
    assert "Anna" not in page  # the accounting names no person


@pytest.mark.parametrize("who, status", [("caseworker", 403), ("other_dpo", 404)])
def test_accounting_is_only_for_the_owning_agencys_dpo(client, scene, who, status):
    """Another role of the owning agency gets the 403 page like on every staff
    page; another agency's DPO does not learn that the person exists (404)."""
    verified_login(client, scene[who])

    assert client.get(accounting_url(scene)).status_code == status


def test_accounting_needs_a_login(client, scene):
    response = client.get(accounting_url(scene))

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_supervisor_ends_an_unjustified_emergency_disclosure(client, scene):
    ops, shelter, subject = scene["ops"], scene["shelter"], scene["subject"]
    provision = services.emergency_disclosure_record(
        caller=ops.caller, subject_id=subject.id, recipient_id=str(shelter.agency.id),
        categories=["demographics"], justification="Partner threatened her today.",
    )
    review = EmergencyReview.objects.get(provision=provision)
    verified_login(client, scene["supervisor"])

    listing = client.get("/ledger/emergency-reviews").content.decode()
    response = client.post(f"/ledger/emergency-reviews/{review.pk}", {"upheld": "no", "comment": "No threat found."})

    assert "Partner threatened her today." in listing
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.upheld is False and review.reviewed_by == scene["supervisor"]
    now = timezone.now()
    decision = decide(provisions_in_force(subject.id, now), recipient_of(shelter.agency), ["demographics"], "emergency", now)
    assert decision.denied == ["demographics"]


def test_another_agencys_staff_cannot_review(client, scene):
    ops, shelter, subject = scene["ops"], scene["shelter"], scene["subject"]
    provision = services.emergency_disclosure_record(
        caller=ops.caller, subject_id=subject.id, recipient_id=str(shelter.agency.id),
        categories=["demographics"], justification="Threat.",
    )
    review = EmergencyReview.objects.get(provision=provision)
    verified_login(client, scene["other_dpo"])

    assert "Threat." not in client.get("/ledger/emergency-reviews").content.decode()
    assert client.post(f"/ledger/emergency-reviews/{review.pk}", {"upheld": "no"}).status_code == 404
    review.refresh_from_db()
    assert review.reviewed_at is None

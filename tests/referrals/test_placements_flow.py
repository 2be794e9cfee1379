"""Issue 9's end-to-end flow through the real token endpoint: the CIS
records Halina and her consent, an agreement with a hotel, and proposes a
placement; the hotel (its own OAuth client, an agency of kind employer)
reads it and gets only identity, contact and employment, with one
`disclosure` entry for employment_placement, although she consented to
more; it confirms; the CIS starts the placement; both record a check-in;
the CIS completes it and the outcome `hired` is recorded; the CIS's
statistics count the hire."""

from datetime import timedelta

import pytest

from agencies.models import OutboxEvent
from agencies.services import user_create
from consent_ledger.models import EntryKind, LedgerEntry
from referrals.placements.models import Placement, meets_esf_rule
from referrals.placements.stats import count_cells, placement_stats_rows
from tests.referrals.conftest import EVIDENCE, leaked
from tests.referrals.placements_world import (
    AGREEMENTS,
    IDENTITY_AND_CONTACT,
    NEVER_FOR_EMPLOYERS,
    NOTES,
    PLACEMENTS,
    PROFILE,
    SCOPES,
    check_ins_url,
    created,
    month_text,
    months_ago,
    ok,
    outcome_url,
    placement_url,
    transition_url,
)

pytestmark = pytest.mark.django_db


def disclosures_to(agency) -> list[dict]:
    entries = LedgerEntry.objects.filter(kind=EntryKind.DISCLOSURE).order_by("seq")
    return [e.body for e in entries if e.body["recipient"] == str(agency.id)]


def test_a_placement_from_proposal_to_hire_shows_the_employer_only_identity_contact_and_employment(party):
    cis = party("CIS Wrocław", "cis", scopes=SCOPES)
    hotel = party("Hotel Piast", "employer", scopes=SCOPES)
    coordinator = user_create(agency=cis.agency, username="koordynatorka", password="correct horse battery 9",
                              role="coordinator")

    # The CIS records Halina and her written consent: for the placement she
    # ticked more than the hotel may ever get (her code word, her languages).
    subject_id = created(cis.post("/api/v1/subjects/", {"external_ref": "CIS/1/2030", "profile": PROFILE}))["id"]
    created(cis.post(f"/api/v1/subjects/{subject_id}/consents/", {
        "recipients": {"agencies": [str(hotel.agency.id)]},
        "categories": ["identity", "contact", "employment", "safe_contact", "demographics", "health"],
        "purposes": ["employment_placement"], "form": "written", "grantor": "subject", "evidence_sha256": EVIDENCE,
    }))
    agreement = created(cis.post(AGREEMENTS, {
        "employer": str(hotel.agency.id), "roles": ["kitchen assistant", "housekeeping"], "places": 3,
        "valid_from": months_ago(6).isoformat(), "valid_until": months_ago(-6).isoformat(),
    }))
    assert (agreement["places"], agreement["in_use"]) == (3, 0)

    # The CIS proposes.
    start = months_ago(1)
    proposed = created(cis.post(PLACEMENTS, {
        "subject": subject_id, "employer": str(hotel.agency.id), "agreement": agreement["id"],
        "coordinator": coordinator.id, "therapist": {"user": coordinator.id}, "role": "kitchen assistant",
        "hours_per_week": 30, "start_on": start.isoformat(),
    }, HTTP_IDEMPOTENCY_KEY="propose-1"))
    placement_id = proposed["id"]
    assert proposed["status"] == "proposed"

    # The hotel reads it through the choke point.
    read = hotel.get(placement_url(placement_id), purpose="employment_placement")
    body = ok(read)
    assert body["subject"]["profile"] == {"person": PROFILE["person"], "contact": PROFILE["contact"]}
    assert body["employment"]["role"] == "kitchen assistant" and body["employment"]["hours_per_week"] == 30
    assert body["employment"]["start_on"] == start.isoformat()
    # Three months by default: the day before the same day three months on.
    assert body["employment"]["planned_end_on"] == (months_ago(-2) - timedelta(days=1)).isoformat()
    assert "therapist" not in body and "follow_up" not in body and body["check_ins"] == []
    # Nothing else is even named: a withheld safe_contact would tell the hotel enough.
    assert body["subject"]["withheld_categories"] == [] and body["withheld_categories"] == []
    assert not leaked(NEVER_FOR_EMPLOYERS, body)
    [entry] = disclosures_to(hotel.agency)
    assert entry["purpose"] == "employment_placement"
    assert entry["categories"] == ["contact", "employment", "identity"]
    assert {b["basis"] for b in entry["bases"]} == {"consent"}

    # The hotel confirms (If-Match), the CIS starts the placement.
    confirmed = hotel.post(transition_url(placement_id), {"status": "confirmed"}, HTTP_IF_MATCH=read["ETag"])
    assert ok(confirmed)["status"] == "confirmed"
    assert ok(cis.post(transition_url(placement_id), {"status": "active"}))["status"] == "active"

    # Two check-ins for the first month: the hotel's and the coordinator's.
    employer_check_in = created(hotel.post(check_ins_url(placement_id), {
        "month": month_text(start), "days_worked": 18, "days_absent": 2, "employer_feedback": 4,
    }))
    coordinator_check_in = created(cis.post(check_ins_url(placement_id), {
        "month": month_text(start), "coordinator_notes": NOTES, "who5": [3, 3, 2, 4, 3], "timepoint": "start",
    }))
    assert (employer_check_in["side"], coordinator_check_in["side"]) == ("employer", "coordinator")

    hotel_view = ok(hotel.get(placement_url(placement_id)))
    assert [c["id"] for c in hotel_view["check_ins"]] == [employer_check_in["id"]]
    assert hotel_view["check_ins"][0]["days_worked"] == 18
    assert not leaked({NOTES, "who5"}, hotel_view) and "who5" not in str(hotel_view)
    cis_view = ok(cis.get(placement_url(placement_id)))
    by_side = {c["side"]: c for c in cis_view["check_ins"]}
    assert by_side["coordinator"]["coordinator_notes"] == NOTES and by_side["coordinator"]["who5_score"] == 60
    assert by_side["employer"]["employer_feedback"] == 4  # the hotel's data, on the reply basis
    assert cis_view["therapist"] == {"user": coordinator.id}

    # The CIS completes the placement; the hotel records the hire.
    assert ok(cis.post(transition_url(placement_id), {"status": "completed"}))["status"] == "completed"
    before_hire = count_cells(placement_stats_rows(cis.agency))
    assert (before_hire["completed"], before_hire["hired"]) == (1, 0)
    hired = ok(hotel.post(outcome_url(placement_id), {
        "outcome": "hired", "contract_type": "employment_contract", "fte": "1.00", "contract_months": "12",
    }))
    assert hired["outcome_recorded_at"] is not None

    placement = Placement.objects.get(pk=placement_id)
    assert (placement.outcome, placement.contract_type) == ("hired", "employment_contract")
    assert meets_esf_rule(placement.fte, placement.contract_months)
    assert ok(cis.get(placement_url(placement_id)))["outcome"] == {
        "outcome": "hired", "contract_type": "employment_contract", "fte": 1.0, "contract_months": 12.0,
    }
    # Every status change was announced, to both parties, with ids and codes only.
    events = OutboxEvent.objects.filter(object_id=placement_id).order_by("seq")
    assert [e.type for e in events] == [
        "placement.proposed", "placement.confirmed", "placement.activated", "placement.check_in_recorded",
        "placement.check_in_recorded", "placement.completed", "placement.outcome_recorded",
    ]
    for event in events:
        message = event.as_message()
        assert not leaked(IDENTITY_AND_CONTACT | NEVER_FOR_EMPLOYERS | {NOTES, "kitchen assistant"}, message)
        assert subject_id not in str(message)
    coordinator_only = [e for e in events if e.data.get("side") == "coordinator"]
    assert [e.agencies for e in coordinator_only] == [[str(cis.agency.id)]]

    # The statistics count the hire (ESF rule: 12 months, full time). What the
    # endpoint counts, before suppression, moved from not hired to hired...
    assert count_cells(placement_stats_rows(cis.agency)) == {
        **before_hire, "hired": 1, "not_hired": 0, "not_employed_90d": 1,
    }
    # ...and the CIS's answer shows one placement only as small cells, with
    # no rate that would give the count back.
    stats = ok(cis.get("/api/v1/placements/stats"))
    assert {stats[cell] for cell in ("started", "completed", "hired")} == {"<5"}
    assert {"started", "completed", "hired", "conversion_rate"} <= set(stats["suppressed"])
    assert stats["conversion_rate"] is None and stats["benchmark"] == 0.38

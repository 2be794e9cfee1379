"""The consent-ledger services: what they refuse (with JSON pointers), what they
record, and the precedence and timing the next decision sees (DESIGN.md 4.2)."""

import hashlib
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from consent_ledger.decisions import decide_category
from consent_ledger.ledger import iso
from consent_ledger.models import EmergencyReview, EntryKind, LedgerEntry, LedgerNote, Provision
from consent_ledger.selectors import provisions_in_force, recipient_of, subject_get_for_caller
from consent_ledger.services import (
    ALREADY_ENDED,
    INVALID_PROVISION,
    SUBJECT_EXISTS,
    Terms,
    consent_grant,
    consent_revoke,
    emergency_disclosure_record,
    legal_basis_assert,
    legal_basis_end,
    refusal_record,
    refusal_withdraw,
    subject_create,
)
from hub.api.errors import Conflict, NotFoundError, ValidationFailed

from .factories import EVIDENCE, T0, TICK, Clock, subject_for, universe_create

HOUR = timedelta(hours=1)


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("django.utils.timezone.now", clock)
    return clock


@pytest.fixture
def universe(db, clock):
    return universe_create()


@pytest.fixture
def owner(universe):
    return universe.caller(universe.ops)


@pytest.fixture
def subject(universe):
    return subject_for(universe)


def terms_for(agency, **overrides) -> Terms:
    return Terms(**{"categories": ["health"], "purposes": ["referral"], "agencies": [str(agency.id)], **overrides})


def grant(owner, subject, terms, **kwargs):
    return consent_grant(caller=owner, subject_id=subject.id, terms=terms,
                         **{"form": "electronic", "grantor": "subject", **kwargs})


def refuse(owner, subject, terms):
    return refusal_record(caller=owner, subject_id=subject.id, terms=terms, form="verbal_witnessed", grantor="subject")


def assert_basis(owner, subject, basis, terms):
    return legal_basis_assert(caller=owner, subject_id=subject.id, basis=basis, terms=terms, reference="Art. 9c ust. 1")


def health_for(agency, subject, purpose="referral", at=None):
    """The next decision about `agency` receiving health data, as the choke point takes it."""
    at = at or timezone.now()
    return decide_category(provisions_in_force(subject.id, at), recipient_of(agency), "health", purpose, at)


def refused(call) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        call()
    return caught.value


def pointers(error: ValidationFailed) -> list[str]:
    return sorted(e["pointer"] for e in error.errors)


def nothing_recorded(subject) -> bool:
    return not LedgerEntry.objects.filter(subject=subject).exists() and not Provision.objects.filter(
        subject=subject
    ).exists()


# -- Refusals of bad terms ----------------------------------------------------


def test_unknown_categories_and_purposes_are_pointed_at_by_index(universe, owner, subject):
    terms = terms_for(universe.pcpr, categories=["health", "horoscope"], purposes=["gossip", "referral"])
    error = refused(lambda: grant(owner, subject, terms))
    assert error.code == INVALID_PROVISION
    assert pointers(error) == ["/categories/1", "/purposes/0"]
    assert nothing_recorded(subject)


def test_no_category_or_purpose_at_all_is_refused(universe, owner, subject):
    error = refused(lambda: grant(owner, subject, terms_for(universe.pcpr, categories=[], purposes=[])))
    assert pointers(error) == ["/categories", "/purposes"]


def test_unknown_agencies_teams_and_agency_kinds_are_pointed_at_by_index(universe, owner, subject):
    terms = terms_for(
        universe.pcpr,
        agencies=[str(universe.pcpr.id), str(uuid.uuid4()), "not-a-uuid", str(universe.zi.id)],
        agency_kinds=["ngo", "wizard"],
        teams=[str(universe.pcpr.id), str(universe.gdp.id)],
    )
    error = refused(lambda: grant(owner, subject, terms))
    assert pointers(error) == [
        "/recipients/agencies/1", "/recipients/agencies/2", "/recipients/agencies/3",
        "/recipients/agency_kinds/1", "/recipients/teams/0",
    ]
    assert nothing_recorded(subject)


def test_terms_naming_no_recipient_are_refused(universe, owner, subject):
    error = refused(lambda: refuse(owner, subject, terms_for(universe.pcpr, agencies=[])))
    assert pointers(error) == ["/recipients"]


@pytest.mark.parametrize(
    "valid_from, valid_until",
    [(None, T0 - HOUR), (None, T0), (T0 + 2 * HOUR, T0 + HOUR), (T0 + 2 * HOUR, T0 + 2 * HOUR)],
    ids=["in the past", "now", "before valid_from", "at valid_from"],
)
def test_valid_until_must_be_after_now_and_after_valid_from(universe, owner, subject, valid_from, valid_until):
    terms = terms_for(universe.pcpr, valid_from=valid_from, valid_until=valid_until)
    error = refused(lambda: assert_basis(owner, subject, "court_order", terms))
    assert pointers(error) == ["/valid_until"]
    assert nothing_recorded(subject)


def test_valid_until_a_moment_from_now_is_accepted(universe, owner, subject):
    consent = grant(owner, subject, terms_for(universe.pcpr, valid_until=T0 + TICK))
    assert (consent.valid_from, consent.valid_until) == (T0, T0 + TICK)


@pytest.mark.parametrize("record", [consent_grant, refusal_record], ids=["consent", "refusal"])
def test_a_written_form_needs_the_signed_forms_hash(universe, owner, subject, record):
    error = refused(lambda: record(caller=owner, subject_id=subject.id, terms=terms_for(universe.pcpr),
                                   form="written", grantor="subject"))
    assert pointers(error) == ["/evidence_sha256"]
    assert nothing_recorded(subject)


def test_form_grantor_and_evidence_must_be_known_and_well_formed(universe, owner, subject):
    error = refused(lambda: grant(owner, subject, terms_for(universe.pcpr), form="fax", grantor="neighbour",
                                  evidence_sha256=EVIDENCE.upper()))
    assert pointers(error) == ["/evidence_sha256", "/form", "/grantor"]


def test_a_written_consent_keeps_its_evidence(universe, owner, subject):
    consent = grant(owner, subject, terms_for(universe.pcpr), form="written", grantor="legal_guardian",
                    evidence_sha256=EVIDENCE)
    entry = LedgerEntry.objects.get(id=consent.granted_entry_id)
    assert (entry.body["form"], entry.body["grantor"], entry.body["evidence_sha256"]) == (
        "written", "legal_guardian", EVIDENCE,
    )


@pytest.mark.parametrize("basis", ["consent", "vital_interest", "hunch"])
def test_only_statutory_bases_can_be_asserted(universe, owner, subject, basis):
    error = refused(lambda: assert_basis(owner, subject, basis, terms_for(universe.pcpr)))
    assert pointers(error) == ["/basis"]


def test_a_legal_basis_names_its_statute_or_order(universe, owner, subject):
    error = refused(lambda: legal_basis_assert(caller=owner, subject_id=subject.id, basis="court_order",
                                               terms=terms_for(universe.pcpr), reference="  "))
    assert pointers(error) == ["/reference"]
    assert nothing_recorded(subject)


def test_an_emergency_needs_a_justification(universe, owner, subject):
    error = refused(lambda: emergency_disclosure_record(
        caller=owner, subject_id=subject.id, recipient_id=str(universe.police.id), categories=["health"],
        justification=" \n",
    ))
    assert pointers(error) == ["/justification"]
    assert nothing_recorded(subject)
    assert not EmergencyReview.objects.exists()


def test_an_emergency_for_an_unknown_recipient_or_category_is_refused(universe, owner, subject):
    error = refused(lambda: emergency_disclosure_record(
        caller=owner, subject_id=subject.id, recipient_id=str(uuid.uuid4()), categories=["health", "aura"],
        justification="Zagrożenie życia.",
    ))
    assert pointers(error) == ["/categories/1", "/recipients/agencies/0"]
    assert not EmergencyReview.objects.exists()


def test_only_the_owner_may_record_provisions_for_a_subject(universe, subject):
    other = universe.caller(universe.pcpr)
    with pytest.raises(NotFoundError):
        grant(other, subject, terms_for(universe.pcpr))
    with pytest.raises(NotFoundError):
        emergency_disclosure_record(caller=other, subject_id=subject.id, recipient_id=str(universe.pcpr.id),
                                    categories=["health"], justification="Zagrożenie życia.")
    assert nothing_recorded(subject)


# -- What is recorded ----------------------------------------------------------------


def test_a_consent_writes_one_entry_and_its_projection_row(universe, owner, subject, clock):
    clock.advance(HOUR)
    terms = terms_for(universe.pcpr, categories=["health", "contact", "health"], agency_kinds=["ngo"],
                      teams=[str(universe.zi.id)], valid_until=T0 + 48 * HOUR)
    consent = grant(owner, subject, terms)
    entry = LedgerEntry.objects.get(subject=subject)
    assert consent.granted_entry_id == entry.id
    assert (entry.kind, entry.recorded_by, entry.recorded_at) == (EntryKind.CONSENT_GRANTED, universe.ops, T0 + HOUR)
    assert entry.actor == f"client:{owner.application.client_id}"
    assert entry.body == {
        "recipients": {"agencies": [str(universe.pcpr.id)], "agency_kinds": ["ngo"], "teams": [str(universe.zi.id)]},
        "categories": ["contact", "health"],
        "purposes": ["referral"],
        "valid_from": iso(T0 + HOUR),
        "valid_until": iso(T0 + 48 * HOUR),
        "form": "electronic",
        "grantor": "subject",
        "evidence_sha256": "",
    }
    assert (consent.categories, consent.valid_from, consent.ended_at) == (["contact", "health"], T0 + HOUR, None)


def test_a_revocation_keeps_its_reason_beside_the_entry(universe, owner, subject, clock):
    consent = grant(owner, subject, terms_for(universe.pcpr))
    clock.advance(HOUR)
    consent_revoke(caller=owner, consent_id=consent.id, reason="Osoba cofnęła zgodę telefonicznie.")
    consent.refresh_from_db()
    revocation = LedgerEntry.objects.get(kind=EntryKind.CONSENT_REVOKED)
    assert (consent.ended_at, consent.ended_entry_id) == (T0 + HOUR, revocation.id)
    assert revocation.body["provision_entry"] == str(consent.granted_entry_id)
    note = LedgerNote.objects.get(entry=revocation)
    assert revocation.body["note_sha256"] == hashlib.sha256(note.text.encode()).hexdigest()
    assert "Osoba" not in str(revocation.body)


@pytest.mark.parametrize("hours", [24, 2])
def test_an_emergency_lasts_the_configured_hours_and_is_queued_for_review(
    universe, owner, subject, clock, settings, hours
):
    settings.EMERGENCY_DISCLOSURE_HOURS = hours
    clock.advance(HOUR)
    emergency = emergency_disclosure_record(
        caller=owner, subject_id=subject.id, recipient_id=str(universe.police.id), categories=["health"],
        justification="Groźba pozbawienia życia; sprawca ma broń.",
    )
    start = T0 + HOUR
    assert (emergency.basis, emergency.valid_from, emergency.valid_until) == (
        "vital_interest", start, start + hours * HOUR,
    )
    assert emergency.recipient_agencies == [str(universe.police.id)]
    assert "statistics" not in emergency.purposes and "law_enforcement" in emergency.purposes
    review = EmergencyReview.objects.get(provision=emergency)
    assert (review.agency, review.reviewed_at, review.upheld) == (universe.ops, None, None)
    entry = LedgerEntry.objects.get(id=emergency.granted_entry_id)
    assert entry.kind == EntryKind.EMERGENCY_DISCLOSURE and entry.body["basis"] == "vital_interest"
    assert "Groźba" not in str(entry.body)

    assert health_for(universe.police, subject, "law_enforcement").basis == "vital_interest"
    assert health_for(universe.police, subject, "statistics").permitted is False
    assert health_for(universe.ngo, subject, "law_enforcement").permitted is False
    clock.set(start + hours * HOUR - TICK)
    assert health_for(universe.police, subject, "law_enforcement").permitted is True
    clock.set(start + hours * HOUR)
    assert health_for(universe.police, subject, "law_enforcement").permitted is False


# -- Ending provisions ------------------------------------------------------------------


def test_revoking_twice_is_a_conflict(universe, owner, subject, clock):
    consent = grant(owner, subject, terms_for(universe.pcpr))
    consent_revoke(caller=owner, consent_id=consent.id)
    clock.advance(HOUR)
    with pytest.raises(Conflict) as caught:
        consent_revoke(caller=owner, consent_id=consent.id)
    assert caught.value.code == ALREADY_ENDED
    assert LedgerEntry.objects.filter(kind=EntryKind.CONSENT_REVOKED).count() == 1
    consent.refresh_from_db()
    assert consent.ended_at == T0


def test_another_agency_cannot_revoke_and_is_told_nothing_exists(universe, owner, subject):
    consent = grant(owner, subject, terms_for(universe.pcpr))
    with pytest.raises(NotFoundError):
        consent_revoke(caller=universe.caller(universe.pcpr), consent_id=consent.id)
    consent.refresh_from_db()
    assert consent.ended_at is None
    assert not LedgerEntry.objects.filter(kind=EntryKind.CONSENT_REVOKED).exists()
    assert health_for(universe.pcpr, subject).permitted is True


def test_each_kind_of_provision_is_ended_only_by_its_own_service(universe, owner, subject):
    refusal = refuse(owner, subject, terms_for(universe.pcpr))
    emergency = emergency_disclosure_record(
        caller=owner, subject_id=subject.id, recipient_id=str(universe.pcpr.id), categories=["health"],
        justification="Zagrożenie życia.",
    )
    with pytest.raises(NotFoundError):
        consent_revoke(caller=owner, consent_id=refusal.id)
    with pytest.raises(NotFoundError):
        legal_basis_end(caller=owner, legal_basis_id=emergency.id)
    with pytest.raises(NotFoundError):
        refusal_withdraw(caller=owner, refusal_id=uuid.uuid4())


# -- Precedence and timing, as the next decision sees them --------------------------------


def test_a_statutory_basis_beats_a_refusal_until_it_ends(universe, owner, subject, clock):
    refusal = refuse(owner, subject, terms_for(universe.pcpr))
    blue_card = assert_basis(owner, subject, "blue_card_procedure", terms_for(universe.pcpr, agencies=[],
                                                                              teams=[str(universe.zi.id)]))
    decision = health_for(universe.pcpr, subject)
    assert (decision.permitted, decision.basis, decision.entry_id) == (
        True, "blue_card_procedure", str(blue_card.granted_entry_id),
    )
    clock.advance(HOUR)
    legal_basis_end(caller=owner, legal_basis_id=blue_card.id)
    decision = health_for(universe.pcpr, subject)
    assert (decision.permitted, decision.entry_id) == (False, str(refusal.granted_entry_id))


def test_a_refusal_beats_a_consent_until_it_is_withdrawn(universe, owner, subject, clock):
    consent = grant(owner, subject, terms_for(universe.pcpr, agencies=[], agency_kinds=["pcpr"]))
    refusal = refuse(owner, subject, terms_for(universe.pcpr))
    decision = health_for(universe.pcpr, subject)
    assert (decision.permitted, decision.entry_id) == (False, str(refusal.granted_entry_id))
    clock.advance(HOUR)
    refusal_withdraw(caller=owner, refusal_id=refusal.id)
    decision = health_for(universe.pcpr, subject)
    assert (decision.permitted, decision.basis, decision.entry_id) == (True, "consent", str(consent.granted_entry_id))


def test_a_revocation_takes_effect_for_the_very_next_decision(universe, owner, subject, clock):
    consent = grant(owner, subject, terms_for(universe.pcpr))
    pcpr = universe.caller(universe.pcpr)
    clock.advance(HOUR)
    assert health_for(universe.pcpr, subject).permitted is True
    assert subject_get_for_caller(subject.id, pcpr) == subject
    consent_revoke(caller=owner, consent_id=consent.id)  # the clock has not moved
    assert health_for(universe.pcpr, subject).permitted is False
    with pytest.raises(NotFoundError):
        subject_get_for_caller(subject.id, pcpr)
    # ...but the history is kept: the consent did count an instant before.
    assert health_for(universe.pcpr, subject, at=T0 + HOUR - TICK).permitted is True


def test_validity_windows_are_honoured(universe, owner, subject, clock):
    grant(owner, subject, terms_for(universe.pcpr, valid_from=T0 + 2 * HOUR, valid_until=T0 + 5 * HOUR))
    seen = {}
    for moment in (T0, T0 + 2 * HOUR - TICK, T0 + 2 * HOUR, T0 + 5 * HOUR - TICK, T0 + 5 * HOUR):
        clock.set(moment)
        seen[moment - T0] = health_for(universe.pcpr, subject).permitted
    assert list(seen.values()) == [False, False, True, True, False]


def test_recipients_are_reached_by_agency_kind_and_team(universe, owner, subject):
    grant(owner, subject, terms_for(universe.pcpr, agencies=[], teams=[str(universe.gdp.id)]))
    reached = {a.kind: health_for(a, subject).permitted for a in universe.agencies}
    assert reached == {"ops": False, "pcpr": False, "ngo": True, "police": True}


# -- Subjects ------------------------------------------------------------------------------


def test_a_subject_profile_must_match_the_schema(universe, owner):
    with pytest.raises(ValidationFailed) as caught:
        subject_create(caller=owner, external_ref="KW/9", profile={"person": {"given_name": ""}, "hobby": "x"})
    assert pointers(caught.value) == ["/profile/hobby", "/profile/person/given_name"]


def test_an_agency_reference_is_used_once_per_agency(universe, owner):
    subject_create(caller=owner, external_ref="KW/9", profile={})
    with pytest.raises(Conflict) as caught:
        subject_create(caller=owner, external_ref="KW/9", profile={})
    assert caught.value.code == SUBJECT_EXISTS
    assert subject_create(caller=universe.caller(universe.pcpr), external_ref="KW/9", profile={}).owner == universe.pcpr

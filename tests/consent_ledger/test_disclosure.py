"""The disclosure choke point (DESIGN.md 4.3): it prunes to the permitted
categories, reports what it withheld, and records exactly one `disclosure`
entry per release, in the same transaction."""

import copy
import hashlib
from datetime import timedelta

import pytest

from consent_ledger.disclosure import UNKNOWN_PURPOSE, disclose
from consent_ledger.merkle import canonical_bytes
from consent_ledger.models import EntryKind, LedgerEntry
from consent_ledger.services import Terms, consent_grant, consent_revoke, legal_basis_assert, refusal_record
from hub.api.errors import ValidationFailed
from hub.api.request_id import current_request_id
from schemas.registry import get_registry

from .factories import T0, Clock, subject_for, universe_create

HOUR = timedelta(hours=1)
PROFILE = {
    "person": {"given_name": "Anna", "family_name": "Nowak", "birth_date": "1990-04-12"},
    "contact": {"phone": "+48 600 100 200", "address": {"city": "Testowo"}},
    "safe_contact": {"channel": "sms", "codeword": "bocian"},
    "languages": ["pl", "uk"],
    "gender": "female",
}


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
    return subject_for(universe, profile=PROFILE)


@pytest.fixture
def request_id():
    token = current_request_id.set("req-test-0001")
    yield "req-test-0001"
    current_request_id.reset(token)


def terms_for(agency, categories, purposes=("referral",)) -> Terms:
    return Terms(categories=list(categories), purposes=list(purposes), agencies=[str(agency.id)])


def grant(owner, subject, terms):
    return consent_grant(caller=owner, subject_id=subject.id, terms=terms, form="electronic", grantor="subject")


def disclosures() -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(kind=EntryKind.DISCLOSURE).order_by("seq"))


def read(universe, subject, agency, purpose="referral", document=None, **kwargs):
    return disclose(subject=subject, caller=universe.caller(agency), purpose=purpose,
                    document=subject.profile if document is None else document, schema="subject", **kwargs)


def test_only_the_permitted_categories_leave_and_the_rest_are_reported(universe, owner, subject, request_id):
    consent = grant(owner, subject, terms_for(universe.pcpr, ["identity", "demographics", "health"]))
    original = copy.deepcopy(subject.profile)
    result = read(universe, subject, universe.pcpr)
    assert result.document == {
        "person": PROFILE["person"], "languages": PROFILE["languages"], "gender": PROFILE["gender"],
    }
    # Withheld: what was present and not permitted; health was permitted but absent.
    assert result.withheld_categories == ["contact", "safe_contact"]
    assert result.released_categories == ["demographics", "identity"]
    assert subject.profile == original  # the stored profile is not pruned in place

    [entry] = disclosures()
    assert result.entry == entry
    assert (entry.subject_id, entry.recorded_by, entry.recorded_at) == (subject.id, universe.pcpr, T0)
    assert entry.actor == f"client:{universe.caller(universe.pcpr).application.client_id}"
    assert entry.body == {
        "recipient": str(universe.pcpr.id),
        "purpose": "referral",
        "categories": ["demographics", "identity"],
        "withheld_categories": ["contact", "safe_contact"],
        "bases": [
            {"category": "demographics", "basis": "consent", "entry": str(consent.granted_entry_id)},
            {"category": "identity", "basis": "consent", "entry": str(consent.granted_entry_id)},
        ],
        "request_id": request_id,
        "documents": [
            {
                "schema": get_registry().schema_id("subject"),
                "supplied_by": str(universe.ops.id),
                "sha256": hashlib.sha256(canonical_bytes(result.document)).hexdigest(),
            }
        ],
    }


def test_with_no_basis_everything_present_is_withheld_and_the_refusal_to_release_is_recorded(universe, subject):
    result = read(universe, subject, universe.police, purpose="law_enforcement")
    assert result.document == {}
    assert result.withheld_categories == ["contact", "demographics", "identity", "safe_contact"]
    [entry] = disclosures()
    assert (entry.body["categories"], entry.body["bases"]) == ([], [])
    assert entry.body["withheld_categories"] == result.withheld_categories
    assert entry.body["documents"][0]["sha256"] == hashlib.sha256(canonical_bytes({})).hexdigest()
    assert entry.body["request_id"] == "-"  # outside a request


def test_each_released_category_names_its_own_basis(universe, owner, subject):
    consent = grant(owner, subject, terms_for(universe.ngo, ["demographics", "contact"]))
    refusal = refusal_record(caller=owner, subject_id=subject.id, terms=terms_for(universe.ngo, ["contact"]),
                             form="verbal_witnessed", grantor="subject")
    blue_card = legal_basis_assert(
        caller=owner, subject_id=subject.id, basis="blue_card_procedure", reference="NK 12/2030",
        terms=Terms(categories=["identity", "safe_contact"], purposes=["referral"], teams=[str(universe.zi.id)]),
    )
    result = read(universe, subject, universe.ngo)
    assert set(result.document) == {"person", "safe_contact", "languages", "gender"}
    assert result.withheld_categories == ["contact"]
    assert result.entry.body["bases"] == [
        {"category": "demographics", "basis": "consent", "entry": str(consent.granted_entry_id)},
        {"category": "identity", "basis": "blue_card_procedure", "entry": str(blue_card.granted_entry_id)},
        {"category": "safe_contact", "basis": "blue_card_procedure", "entry": str(blue_card.granted_entry_id)},
    ]
    assert str(refusal.granted_entry_id) not in str(result.entry.body)


def test_a_consent_for_another_purpose_releases_nothing(universe, owner, subject):
    grant(owner, subject, terms_for(universe.pcpr, ["identity"], purposes=["referral"]))
    result = read(universe, subject, universe.pcpr, purpose="statistics")
    assert "person" not in result.document
    assert "identity" in result.withheld_categories


def test_the_owner_reading_its_own_data_records_nothing(universe, owner, subject):
    result = read(universe, subject, universe.ops)
    assert (result.document, result.withheld_categories, result.entry) == (PROFILE, [], None)
    assert disclosures() == []


def test_the_originator_of_a_document_gets_it_back_without_a_disclosure(universe, subject):
    # A referral payload the NGO sent about the OPS's subject: returning it to
    # the NGO discloses nothing; giving it to the police is a disclosure.
    payload = {"person": {"given_name": "Anna"}, "safe_contact": {"codeword": "bocian"}}
    mine = read(universe, subject, universe.ngo, document=payload, originator_id=universe.ngo.id)
    assert (mine.document, mine.entry) == (payload, None)
    assert disclosures() == []
    theirs = read(universe, subject, universe.police, document=payload, originator_id=universe.ngo.id)
    assert theirs.document == {} and theirs.withheld_categories == ["identity", "safe_contact"]
    assert len(disclosures()) == 1


SUPPLIED = {"person": {"given_name": "Anna"}, "languages": ["uk"], "safe_contact": {"codeword": "bocian"}}


def test_the_owner_reading_a_document_another_agency_supplied_is_decided_pruned_and_recorded(universe, owner, subject):
    # The NGO received identity under her consent: the reply basis lets the
    # owner receive identity from the NGO's document, nothing more.
    consent = grant(owner, subject, terms_for(universe.ngo, ["identity", "health"]))
    result = read(universe, subject, universe.ops, document=SUPPLIED, originator_id=universe.ngo.id)
    assert result.document == {"person": {"given_name": "Anna"}}
    assert (result.released_categories, result.withheld_categories) == (["identity"], ["demographics", "safe_contact"])
    [entry] = disclosures()
    assert (entry, entry.recorded_by, entry.body["recipient"]) == (result.entry, universe.ops, str(universe.ops.id))
    # The basis is the NGO's consent, marked as the reply basis: no provision names the owner.
    assert entry.body["bases"] == [
        {"category": "identity", "basis": "consent", "entry": str(consent.granted_entry_id), "reply": True}
    ]
    assert entry.body["documents"][0]["supplied_by"] == str(universe.ngo.id)
    assert "about" not in entry.body  # the read named no record the document belongs to


def test_the_suppliers_withhold_holds_for_the_owner_whatever_the_reply_basis(universe, owner, subject):
    grant(owner, subject, terms_for(universe.ngo, ["identity", "demographics", "safe_contact"]))
    result = read(universe, subject, universe.ops, document=SUPPLIED, originator_id=universe.ngo.id,
                  withhold=["safe_contact"])
    assert set(result.document) == {"person", "languages"}
    assert result.withheld_categories == ["safe_contact"]


def test_a_provision_naming_the_owner_permits_and_a_refusal_naming_it_denies_the_reply(universe, owner, subject):
    to_ngo = grant(owner, subject, terms_for(universe.ngo, ["identity", "demographics"]))
    to_owner = grant(owner, subject, terms_for(universe.ops, ["safe_contact"]))
    refusal_record(caller=owner, subject_id=subject.id, terms=terms_for(universe.ops, ["demographics"]),
                   form="verbal_witnessed", grantor="subject")
    result = read(universe, subject, universe.ops, document=SUPPLIED, originator_id=universe.ngo.id)
    assert set(result.document) == {"person", "safe_contact"}
    assert result.withheld_categories == ["demographics"]
    # Only what the NGO's consent let through is the reply basis.
    assert sorted((b["category"], b["entry"], b.get("reply", False)) for b in result.entry.body["bases"]) == [
        ("identity", str(to_ngo.granted_entry_id), True), ("safe_contact", str(to_owner.granted_entry_id), False),
    ]


def test_a_suppliers_statutory_basis_is_no_reply_basis_for_the_owner(universe, owner, subject):
    legal_basis_assert(
        caller=owner, subject_id=subject.id, basis="court_order", reference="II RC 1/30",
        terms=terms_for(universe.ngo, ["identity", "safe_contact"]),
    )
    grant(owner, subject, terms_for(universe.ngo, ["demographics"]))
    result = read(universe, subject, universe.ops, document=SUPPLIED, originator_id=universe.ngo.id)
    assert result.document == {"languages": ["uk"]}
    assert result.withheld_categories == ["identity", "safe_contact"]


def test_with_no_basis_on_either_side_the_owner_receives_nothing_of_a_supplied_document(universe, subject):
    result = read(universe, subject, universe.ops, document=SUPPLIED, originator_id=universe.ngo.id)
    assert result.document == {}
    assert len(disclosures()) == 1


def test_categories_the_originator_withholds_stay_withheld_whatever_the_ledger_allows(universe, owner, subject):
    consent = grant(owner, subject, terms_for(universe.pcpr, ["identity", "demographics"]))
    result = read(universe, subject, universe.pcpr, originator_id=universe.ngo.id, withhold=["identity"])
    assert set(result.document) == {"languages", "gender"}
    assert result.withheld_categories == ["contact", "identity", "safe_contact"]
    assert result.entry.body["bases"] == [
        {"category": "demographics", "basis": "consent", "entry": str(consent.granted_entry_id)},
    ]


@pytest.mark.parametrize("purpose", [None, "", "curiosity", "REFERRAL"])
def test_an_unknown_purpose_is_refused_and_nothing_is_recorded(universe, owner, subject, purpose):
    grant(owner, subject, terms_for(universe.pcpr, ["identity"]))
    for agency in (universe.pcpr, universe.ops):
        with pytest.raises(ValidationFailed) as caught:
            read(universe, subject, agency, purpose=purpose)
        assert caught.value.code == UNKNOWN_PURPOSE
    assert disclosures() == []


def test_after_a_revocation_the_next_disclosure_withholds_the_category(universe, owner, subject, clock):
    consent = grant(owner, subject, terms_for(universe.pcpr, ["identity", "contact"]))
    grant(owner, subject, terms_for(universe.pcpr, ["demographics"]))
    clock.advance(HOUR)
    before = read(universe, subject, universe.pcpr)
    assert set(before.document) == {"person", "contact", "languages", "gender"}
    consent_revoke(caller=owner, consent_id=consent.id)  # same instant: no time passes
    after = read(universe, subject, universe.pcpr)
    assert set(after.document) == {"languages", "gender"}
    assert after.withheld_categories == ["contact", "identity", "safe_contact"]
    first, second = disclosures()
    assert first.body["categories"] == ["contact", "demographics", "identity"]
    assert second.body["categories"] == ["demographics"]
    assert second.body["documents"][0]["sha256"] == hashlib.sha256(canonical_bytes(after.document)).hexdigest()
    assert first.body["documents"][0]["sha256"] != second.body["documents"][0]["sha256"]

"""Property (issue 9; DESIGN.md 4.6): whatever provisions name the employer —
consents, refusals, court orders and emergency disclosures, for any of the 17
categories and any purposes — and whatever the person's profile and the
placement hold, the employer's read of the placement never carries a
category other than identity, contact and employment, never even names
another among the withheld categories, and carries exactly those of the
three that a basis covers for employment_placement.

Every value written is a unique sentinel tied to its category; the response
is searched for sentinels. What the employer may receive is computed by a
small reference model of DESIGN.md 4.2 and 4.6 written here. The placement is
proposed under a consent for the three categories, which is then revoked, so
that only the drawn provisions decide."""

import itertools
import json
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agencies.services import user_create
from consent_ledger.models import EntryKind, LedgerEntry
from consent_ledger.services import (
    Terms,
    consent_grant,
    consent_revoke,
    emergency_disclosure_record,
    legal_basis_assert,
    refusal_record,
    subject_create,
)
from referrals.placements import services
from schemas.vocabularies import DATA_CATEGORIES, PURPOSES, codes
from tests.conftest import example_rolled_back
from tests.referrals.placements_world import EVIDENCE, SCOPES, months_ago, placement_url

pytestmark = pytest.mark.django_db

ALLOWED = {"identity", "contact", "employment"}  # DESIGN.md 4.6, read literally
PURPOSE = "employment_placement"
CATEGORIES = tuple(codes(DATA_CATEGORIES))
ALL_PURPOSES = tuple(codes(PURPOSES))


class Sentinels:
    """Unique values, each remembered with its category."""

    def __init__(self):
        self.category: dict[str, str] = {}
        self._numbers = itertools.count()

    def __call__(self, category: str, template: str = "S{n:04d}{c}") -> str:
        value = template.format(n=next(self._numbers), c=category[:3])
        self.category[value] = category
        return value

    def found_in(self, text: str) -> set[str]:
        return {category for value, category in self.category.items() if value in text}


@dataclass(frozen=True)
class Drawn:
    kind: str  # consent, refusal, court_order, emergency
    by_kind: bool  # names the employer by its kind rather than its id
    categories: frozenset
    purposes: frozenset


@dataclass(frozen=True)
class Profile:
    """Which members of the person's profile are filled in."""

    person: bool
    contact: bool
    safe_contact: bool
    languages: bool


def profile_of(shape: Profile, sentinel) -> dict:
    profile = {}
    if shape.person:
        profile["person"] = {"given_name": sentinel("identity"), "family_name": sentinel("identity")}
    if shape.contact:
        profile["contact"] = {"address": {"city": sentinel("contact"), "street": sentinel("contact")}}
    if shape.safe_contact:
        profile["safe_contact"] = {"codeword": sentinel("safe_contact")}
    if shape.languages:
        profile["languages"] = [sentinel("demographics", "qq-S{n:04d}")]
    return profile


def purposes_of(drawn: Drawn) -> frozenset:
    # An emergency disclosure (vital interest) covers every purpose but statistics.
    return frozenset(ALL_PURPOSES) - {"statistics"} if drawn.kind == "emergency" else drawn.purposes


def model_releases(drawn: list[Drawn], category: str) -> bool:
    """DESIGN.md 4.6 before 4.2: the allow-list, then statutory > refusal > consent > deny."""
    if category not in ALLOWED:
        return False
    covering = {d.kind for d in drawn if category in d.categories and PURPOSE in purposes_of(d)}
    if covering & {"court_order", "emergency"}:
        return True
    return "refusal" not in covering and "consent" in covering


# --- strategies -------------------------------------------------------------------------------

# Often the three, often everything, often a random mix: the interesting consents.
categories = st.one_of(
    st.frozensets(st.sampled_from(CATEGORIES), min_size=1),
    st.just(frozenset(CATEGORIES)),
    st.frozensets(st.sampled_from(CATEGORIES), min_size=1).map(lambda c: c | {"identity", "contact"}),
)
purposes = st.one_of(
    st.frozensets(st.sampled_from(ALL_PURPOSES), min_size=1),
    st.frozensets(st.sampled_from(ALL_PURPOSES)).map(lambda p: p | {PURPOSE}),
)
drawn_provisions = st.lists(
    st.builds(Drawn, kind=st.sampled_from(["consent", "consent", "consent", "refusal", "court_order", "emergency"]),
              by_kind=st.booleans(), categories=categories, purposes=purposes),
    min_size=1, max_size=5,
)
profiles = st.builds(Profile, person=st.booleans(), contact=st.booleans(), safe_contact=st.booleans(),
                     languages=st.booleans())


# --- the world ------------------------------------------------------------------------------------


@pytest.fixture
def parties(party):
    cis = party("CIS Wrocław", "cis", scopes=SCOPES)
    hotel = party("Hotel Piast", "employer", scopes=SCOPES)
    coordinator = user_create(agency=cis.agency, username="koordynatorka", password="correct horse battery 9",
                              role="coordinator")
    return cis, hotel, coordinator


def record(drawn: Drawn, cis, hotel, subject) -> None:
    terms = Terms(
        categories=sorted(drawn.categories), purposes=sorted(drawn.purposes),
        agencies=[] if drawn.by_kind else [str(hotel.agency.id)], agency_kinds=["employer"] if drawn.by_kind else [],
    )
    common = {"caller": cis.caller, "subject_id": subject.id}
    if drawn.kind == "consent":
        consent_grant(form="written", grantor="subject", evidence_sha256=EVIDENCE, terms=terms, **common)
    elif drawn.kind == "refusal":
        refusal_record(form="written", grantor="subject", evidence_sha256=EVIDENCE, terms=terms, **common)
    elif drawn.kind == "court_order":
        legal_basis_assert(basis="court_order", reference="III RC 12/30", terms=terms, **common)
    else:
        emergency_disclosure_record(recipient_id=str(hotel.agency.id), categories=sorted(drawn.categories),
                                    justification="Zagrożenie życia.", **common)


def placement_for(cis, hotel, coordinator, subject, sentinel):
    """A started placement with both sides' check-ins, proposed under a
    consent for the three categories that is then revoked."""
    basis = consent_grant(
        caller=cis.caller, subject_id=subject.id, form="written", grantor="subject", evidence_sha256=EVIDENCE,
        terms=Terms(categories=sorted(ALLOWED), purposes=[PURPOSE], agencies=[str(hotel.agency.id)]),
    )
    role = sentinel("employment")
    agreement = services.agreement_create(caller=cis.caller, employer_id=hotel.agency.id, valid_from=months_ago(12),
                                          valid_until=months_ago(-12), roles=[role], places=1)
    placement = services.placement_create(
        caller=cis.caller, subject_id=subject.id, employer_id=hotel.agency.id, agreement_id=agreement.id,
        coordinator_id=coordinator.id, role=role, hours_per_week=20, start_on=months_ago(1),
    )
    services.placement_transition(caller=hotel.caller, placement_id=placement.id, to="confirmed")
    services.placement_transition(caller=cis.caller, placement_id=placement.id, to="active")
    month = f"{months_ago(1):%Y-%m}"
    services.placement_check_in_add(caller=hotel.caller, placement_id=placement.id, month=month, days_worked=10,
                                    days_absent=0, employer_feedback=5)
    services.placement_check_in_add(caller=cis.caller, placement_id=placement.id, month=month,
                                    coordinator_notes=sentinel("case_notes"), who5=[4, 4, 4, 4, 4], timepoint="start")
    consent_revoke(caller=cis.caller, consent_id=basis.id)
    return placement


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=drawn_provisions, shape=profiles)
def test_the_employers_read_never_carries_a_category_outside_identity_contact_and_employment(parties, drawn, shape):
    with example_rolled_back():
        _example(parties, drawn, shape)


def _example(parties, drawn, shape):
    cis, hotel, coordinator = parties
    sentinel = Sentinels()
    subject = subject_create(caller=cis.caller, external_ref="CIS/P/1", profile=profile_of(shape, sentinel))
    placement = placement_for(cis, hotel, coordinator, subject, sentinel)
    for each in drawn:
        record(each, cis, hotel, subject)
    last = LedgerEntry.objects.order_by("-seq").values_list("seq", flat=True).first()

    response = hotel.get(placement_url(placement.id), purpose=PURPOSE)

    assert response.status_code == 200, response.content
    body = response.json()
    text = json.dumps(body, ensure_ascii=False)
    found = sentinel.found_in(text)
    assert found <= ALLOWED, f"the employer received {found - ALLOWED}"
    present = set(sentinel.category.values())
    assert found == {c for c in present if model_releases(drawn, c)}
    assert "who5" not in text and "coordinator_notes" not in text
    named = set(body["withheld_categories"]) | set(body["subject"]["withheld_categories"])
    assert named <= ALLOWED, f"the employer was told {named - ALLOWED} exists"
    entries = list(LedgerEntry.objects.filter(seq__gt=last, kind=EntryKind.DISCLOSURE))
    if found:
        [entry] = entries
        assert entry.body["purpose"] == PURPOSE and set(entry.body["categories"]) == found
    for entry in entries:
        assert set(entry.body["categories"]) | set(entry.body["withheld_categories"]) <= ALLOWED
    _subject_read(hotel, subject, drawn, sentinel)


def _subject_read(hotel, subject, drawn, sentinel):
    """The same person read as a subject for the placement: no placement
    selector cuts the profile here, only the decision engine stands between
    what she consented to and the employer."""
    response = hotel.get(f"/api/v1/subjects/{subject.id}", purpose=PURPOSE)
    assert response.status_code in (200, 404), response.content
    found = sentinel.found_in(json.dumps(response.json(), ensure_ascii=False))
    assert found <= ALLOWED, f"the employer received {found - ALLOWED} reading the subject"
    if response.status_code == 200:
        in_profile = set(sentinel.category.values()) - {"employment", "case_notes"}
        assert found == {c for c in in_profile if model_releases(drawn, c)}

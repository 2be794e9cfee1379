"""Property (issue 15): whatever the person's provisions, whatever senders
withhold, and whoever reads by whichever path (the subject, a referral, its
case updates), no response carries a value of a category that the reader may
not receive, and every response with another agency's data is in the
accounting.

Every value written is a unique sentinel tied to its category and to the
agency that supplied it; responses are searched for sentinels. What the reader
may receive is computed here by a small reference model of DESIGN.md 4.2-4.3,
not by the decision engine. Provisions and withholdings are drawn at random;
then every agency reads by every path."""

import itertools
import json
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent_ledger.models import EntryKind, LedgerEntry
from consent_ledger.services import Terms, consent_grant, legal_basis_assert, refusal_record, subject_create
from hub.api.errors import NotFoundError, ValidationFailed
from referrals import services
from tests.conftest import example_rolled_back

from .conftest import EVIDENCE, detail, updates_url

pytestmark = pytest.mark.django_db

AGENCIES = ("ops", "shelter", "police", "employer")  # the OPS owns the person
OWNER = "ops"
CATEGORIES = ("identity", "contact", "safe_contact", "case_notes", "risk", "health", "substance_use")
PURPOSES = ("referral", "case_coordination")


class Sentinels:
    """Unique values, each remembered with (category, supplying agency)."""

    def __init__(self):
        self.meaning: dict[str, tuple[str, str]] = {}
        self._numbers = itertools.count()

    def __call__(self, category: str, supplier: str) -> str:
        value = f"Q{next(self._numbers):04d}Z-{category}"
        self.meaning[value] = (category, supplier)
        return value

    def found_in(self, response_text: str) -> set[tuple[str, str]]:
        return {meaning for value, meaning in self.meaning.items() if value in response_text}


def profile(sentinel) -> dict:
    return {
        "person": {"given_name": sentinel("identity", OWNER), "family_name": sentinel("identity", OWNER)},
        "contact": {"address": {"city": sentinel("contact", OWNER)}},
        "safe_contact": {"codeword": sentinel("safe_contact", OWNER)},
    }


def payload(sentinel, sender: str) -> dict:
    return {
        "summary": sentinel("case_notes", sender),
        "risk": {"level": "high", "notes": sentinel("risk", sender)},
        "health": {"notes": sentinel("health", sender)},
        "substance_use": {"notes": sentinel("substance_use", sender)},
    }


# --- the reference model --------------------------------------------------------------


@dataclass(frozen=True)
class Provision:
    kind: str  # consent, refusal, legal_basis
    recipient: str  # an agency key; named by id or by kind
    by_kind: bool
    categories: frozenset
    purposes: frozenset


@dataclass
class Model:
    provisions: list
    withheld: dict = field(default_factory=dict)  # reader -> categories others withheld from it

    def _covering(self, reader, category, purpose):
        return {p.kind for p in self.provisions
                if p.recipient == reader and category in p.categories and purpose in p.purposes}

    def permitted(self, reader, category, purpose) -> bool:
        kinds = self._covering(reader, category, purpose)
        return "legal_basis" in kinds or ("refusal" not in kinds and "consent" in kinds)

    def consented(self, reader, category, purpose) -> bool:
        kinds = self._covering(reader, category, purpose)
        return "consent" in kinds and "refusal" not in kinds

    def refused(self, reader, category, purpose) -> bool:
        kinds = self._covering(reader, category, purpose)
        return "refusal" in kinds and "legal_basis" not in kinds

    def may_receive(self, reader, category, supplier, purpose) -> bool:
        if reader == supplier:
            return True
        if category in self.withheld.get(reader, set()):
            return False
        if self.permitted(reader, category, purpose):
            return True
        # The owner's reply basis: what the supplier itself may receive on
        # the person's consent (a statutory basis names its own recipients).
        return reader == OWNER and not self.refused(reader, category, purpose) and self.consented(
            supplier, category, purpose
        )


# --- strategies -------------------------------------------------------------------------

subsets = lambda values: st.frozensets(st.sampled_from(values), min_size=1)  # noqa: E731

provisions = st.lists(
    st.builds(
        Provision,
        kind=st.sampled_from(["consent", "consent", "refusal", "legal_basis"]),
        recipient=st.sampled_from(AGENCIES[1:]),
        by_kind=st.booleans(),
        categories=subsets(CATEGORIES),
        purposes=subsets(PURPOSES),
    ),
    max_size=6,
)
referrals = st.lists(
    st.tuples(
        st.sampled_from(AGENCIES[:3]),  # sender
        st.sampled_from(AGENCIES),  # recipient
        st.frozensets(st.sampled_from(CATEGORIES)),  # withhold
        st.booleans(),  # the recipient rejects it, saying why
    ),
    max_size=3,
)
# --- building the world -------------------------------------------------------------------


def record(provision: Provision, owner, parties) -> None:
    agency = parties[provision.recipient].agency
    terms = Terms(
        categories=sorted(provision.categories), purposes=sorted(provision.purposes),
        agencies=[] if provision.by_kind else [str(agency.id)], agency_kinds=[agency.kind] if provision.by_kind else [],
    )
    common = {"caller": owner.caller, "subject_id": owner.subject.id, "terms": terms}
    if provision.kind == "legal_basis":
        legal_basis_assert(basis="court_order", reference="II RC 1/26", **common)
    elif provision.kind == "refusal":
        refusal_record(form="written", grantor="subject", evidence_sha256=EVIDENCE, **common)
    else:
        consent_grant(form="written", grantor="subject", evidence_sha256=EVIDENCE, **common)


def send(parties, sentinel, subject, sender, recipient, withhold):
    """Send as the agencies would: the owner, told what is uncovered, withholds it."""
    withhold = set(withhold)
    while True:
        try:
            return services.referral_create(
                caller=parties[sender].caller, subject_id=subject.id, to_agency_id=parties[recipient].agency.id,
                service="shelter", urgency="urgent", purpose="referral", payload=payload(sentinel, sender),
                reason=sentinel("case_notes", sender), withhold_categories=sorted(withhold),
            )
        except ValidationFailed as refused:
            uncovered = {c for error in refused.errors for c in error.get("categories", [])}
            assert refused.code == services.UNCOVERED_CATEGORIES and uncovered - withhold, refused.errors
            withhold |= uncovered
        except NotFoundError:  # a sender with no basis of its own cannot see her
            assert sender != OWNER
            return None


def exchange(parties, sentinel, referral, rejects: bool) -> None:
    """Both sides write a note; the recipient may reject, saying why."""
    for side in (referral.sender, referral.recipient):
        key = next(k for k, p in parties.items() if p.agency == side)
        services.case_update_add(caller=parties[key].caller, referral_id=referral.id, kind="note",
                                 payload={"text": sentinel("case_notes", key)})
    if rejects:
        key = next(k for k, p in parties.items() if p.agency == referral.recipient)
        services.referral_transition(caller=parties[key].caller, referral_id=referral.id, to="rejected",
                                     reason=sentinel("case_notes", key))


@pytest.fixture
def parties(party):
    made = {key: party(f"Agency {key}", kind) for key, kind in zip(AGENCIES, ("ops", "shelter", "police", "employer"))}
    return made


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(given_provisions=provisions, given_referrals=referrals)
def test_no_response_carries_a_category_the_reader_may_not_receive(parties, given_provisions, given_referrals):
    with example_rolled_back():
        _example(parties, given_provisions, given_referrals)


def _example(parties, given_provisions, given_referrals):
    sentinel = Sentinels()
    owner = parties[OWNER]
    owner.subject = subject_create(caller=owner.caller, external_ref="P/1", profile=profile(sentinel))
    for provision in given_provisions:
        record(provision, owner, parties)
    model = Model(given_provisions)
    sent = []
    for sender, recipient, withhold, rejects in given_referrals:
        if sender == recipient:
            continue
        referral = send(parties, sentinel, owner.subject, sender, recipient, withhold)
        if referral is not None:
            model.withheld.setdefault(recipient, set()).update(referral.withhold_categories)
            exchange(parties, sentinel, referral, rejects)
            sent.append(referral)
    # Every agency, by every path: the subject for each purpose, each referral
    # and its updates (a referral's non-parties get 404s).
    paths = [(f"/api/v1/subjects/{owner.subject.id}", {"purpose": p}, p) for p in PURPOSES]
    paths += [(url(r.id), {}, r.purpose) for r in sent for url in (detail, updates_url)]
    for reader, (url, params, purpose) in itertools.product(AGENCIES, paths):
        assert_discloses_only_what_may_be_received(parties[reader], reader, url, params, purpose, model, sentinel)


def assert_discloses_only_what_may_be_received(party, reader, url, params, purpose, model, sentinel):
    last = LedgerEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    response = party.get(url, **params)
    assert response.status_code in (200, 404), response.content
    exposed = sentinel.found_in(json.dumps(response.json(), ensure_ascii=False))

    leaks = {(c, s) for c, s in exposed if not model.may_receive(reader, c, s, purpose)}
    assert not leaks, f"{reader} read {url} and received {leaks}"
    from_others = {c for c, s in exposed if s != reader}
    if from_others:
        [entry] = LedgerEntry.objects.filter(seq__gt=last, kind=EntryKind.DISCLOSURE)
        assert entry.recorded_by == party.agency and from_others <= set(entry.body["categories"])

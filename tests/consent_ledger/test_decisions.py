"""The decision engine (DESIGN.md 4.2): worked examples over in-memory
provisions, and a property: on random histories applied through the real
services, the engine agrees with a small reference model written here."""

import uuid
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from agencies.models import Agency
from agencies.services import agency_create
from consent_ledger.decisions import Recipient, decide, decide_category, has_any_basis
from consent_ledger.models import Provision, ProvisionKind
from consent_ledger.selectors import provisions_in_force, recipient_of
from consent_ledger.services import (
    Terms,
    consent_grant,
    consent_revoke,
    emergency_disclosure_record,
    legal_basis_assert,
    legal_basis_end,
    refusal_record,
    refusal_withdraw,
)
from hub.api.errors import Conflict, ValidationFailed

from .factories import EVIDENCE, T0, TICK, Clock, Universe, caller_for, subject_for, universe_create

HOUR = timedelta(hours=1)
STATUTORY_BASES = ("blue_card_procedure", "court_order", "legal_obligation", "vital_interest")

# -- Worked examples over in-memory provisions (no database) --------------------

MOPS = Recipient(agency_id="a-mops", kind="ops", team_ids=frozenset({"t-zi"}))
POLICE = Recipient(agency_id="a-police", kind="police")


def provision(kind=ProvisionKind.CONSENT, *, basis=None, agencies=("a-mops",), kinds=(), teams=(),
              categories=("health",), purposes=("referral",), valid_from=T0, valid_until=None, ended_at=None):
    if basis is None:
        basis = {ProvisionKind.CONSENT: "consent", ProvisionKind.EMERGENCY: "vital_interest",
                 ProvisionKind.LEGAL_BASIS: "court_order"}.get(kind, "")
    return Provision(
        kind=kind, basis=basis, recipient_agencies=list(agencies), recipient_kinds=list(kinds),
        recipient_teams=list(teams), categories=list(categories), purposes=list(purposes),
        valid_from=valid_from, valid_until=valid_until, ended_at=ended_at, granted_entry_id=uuid.uuid4(),
    )


def health(provisions, recipient=MOPS, purpose="referral", at=T0 + HOUR):
    return decide_category(provisions, recipient, "health", purpose, at)


def test_nothing_on_record_denies_with_no_deciding_entry():
    result = health([])
    assert (result.permitted, result.basis, result.entry_id) == (False, None, None)


def test_a_consent_permits_and_names_itself_as_the_basis():
    consent = provision()
    result = health([consent])
    assert (result.permitted, result.basis, result.entry_id) == (True, "consent", str(consent.granted_entry_id))


def test_a_refusal_beats_a_consent_whatever_their_order():
    consent, refusal = provision(), provision(ProvisionKind.REFUSAL)
    for provisions in ([consent, refusal], [refusal, consent]):
        result = health(provisions)
        assert (result.permitted, result.basis, result.entry_id) == (False, None, str(refusal.granted_entry_id))


@pytest.mark.parametrize("basis", STATUTORY_BASES)
def test_every_statutory_basis_beats_a_refusal_and_is_recorded(basis):
    kind = ProvisionKind.EMERGENCY if basis == "vital_interest" else ProvisionKind.LEGAL_BASIS
    statutory = provision(kind, basis=basis)
    result = health([provision(ProvisionKind.REFUSAL), provision(), statutory])
    assert (result.permitted, result.basis, result.entry_id) == (True, basis, str(statutory.granted_entry_id))


def test_a_refusal_stays_when_the_statutory_basis_names_another_purpose():
    refusal = provision(ProvisionKind.REFUSAL)
    statutory = provision(ProvisionKind.LEGAL_BASIS, purposes=["law_enforcement"])
    assert health([statutory, refusal, provision()]).entry_id == str(refusal.granted_entry_id)


@pytest.mark.parametrize(
    "recipients, permitted",
    [
        ({"agencies": ["a-mops"]}, True),
        ({"kinds": ["ops"]}, True),
        ({"teams": ["t-zi"]}, True),
        ({"agencies": ["a-police"], "kinds": ["pcpr"], "teams": ["t-gdp"]}, False),
    ],
)
def test_recipients_match_by_agency_kind_or_team(recipients, permitted):
    consent = provision(**{"agencies": (), **recipients})
    assert health([consent]).permitted is permitted


def test_category_and_purpose_must_both_be_covered():
    consent = provision(categories=["contact"], purposes=["referral"])
    assert health([consent]).permitted is False
    assert decide_category([consent], MOPS, "contact", "statistics", T0).permitted is False
    assert decide_category([consent], MOPS, "contact", "referral", T0).permitted is True


def test_validity_runs_from_valid_from_inclusive_to_valid_until_exclusive():
    consent = provision(valid_from=T0, valid_until=T0 + HOUR)
    assert [health([consent], at=t).permitted for t in (T0 - TICK, T0, T0 + HOUR - TICK, T0 + HOUR)] == [
        False, True, True, False,
    ]


def test_an_ended_provision_stops_counting_at_the_instant_it_ended():
    refusal = provision(ProvisionKind.REFUSAL, ended_at=T0 + HOUR)
    provisions = [provision(), refusal]
    assert health(provisions, at=T0 + HOUR - TICK).permitted is False
    assert health(provisions, at=T0 + HOUR).permitted is True


def test_an_expired_statutory_basis_lets_the_refusal_decide_again():
    emergency = provision(ProvisionKind.EMERGENCY, valid_until=T0 + 24 * HOUR)
    refusal = provision(ProvisionKind.REFUSAL)
    assert health([emergency, refusal], at=T0 + 24 * HOUR - TICK).permitted is True
    assert health([emergency, refusal], at=T0 + 24 * HOUR).entry_id == str(refusal.granted_entry_id)


def test_the_oldest_covering_provision_decides_whatever_the_order():
    older = provision(valid_from=T0 - HOUR)
    newer = provision(valid_from=T0)
    assert health([newer, older]).entry_id == health([older, newer]).entry_id == str(older.granted_entry_id)


def test_decide_answers_each_category_on_its_own():
    consent = provision(categories=["health", "identity"])
    refusal = provision(ProvisionKind.REFUSAL, categories=["identity"])
    court = provision(ProvisionKind.LEGAL_BASIS, basis="court_order", categories=["children"])
    decision = decide([consent, refusal, court], MOPS, ["health", "identity", "children", "contact"], "referral", T0)
    assert decision.permitted == ["children", "health"]
    assert decision.denied == ["contact", "identity"]
    assert decision.by_category["children"].basis == "court_order"
    assert decision.basis_entries == sorted([str(consent.granted_entry_id), str(court.granted_entry_id)])


def test_has_any_basis_ignores_refusals_other_recipients_and_inactive_provisions():
    assert has_any_basis([provision(ProvisionKind.REFUSAL)], MOPS, T0) is False
    assert has_any_basis([provision(agencies=["a-other"])], MOPS, T0) is False
    assert has_any_basis([provision(valid_until=T0)], MOPS, T0) is False
    assert has_any_basis([provision(ended_at=T0)], MOPS, T0) is False
    assert has_any_basis([provision(categories=["finances"], purposes=["statistics"])], MOPS, T0) is True
    assert has_any_basis([provision(ProvisionKind.LEGAL_BASIS, agencies=(), kinds=["police"])], POLICE, T0) is True


# -- The employer allow-list (DESIGN.md 4.6) ---------------------------------------

HOTEL = Recipient(agency_id="a-hotel", kind="employer")
EVERY_CATEGORY = ("identity", "contact", "safe_contact", "health", "mental_health", "case_notes", "risk", "employment")


@pytest.mark.parametrize("kind, basis", [
    (ProvisionKind.CONSENT, None), (ProvisionKind.LEGAL_BASIS, "court_order"), (ProvisionKind.EMERGENCY, None),
])
def test_an_employer_gets_only_identity_contact_and_employment_for_a_placement_whatever_names_more(kind, basis):
    everything = provision(kind, basis=basis, agencies=("a-hotel",), categories=EVERY_CATEGORY,
                           purposes=["employment_placement", "referral"])

    decision = decide([everything], HOTEL, EVERY_CATEGORY, "employment_placement", T0)

    assert decision.permitted == ["contact", "employment", "identity"]
    # The rule decides, not a provision: no entry is named for what it denies.
    assert {decision.by_category[c].entry_id for c in decision.denied} == {None}


def test_the_allow_list_binds_employers_under_employment_placement_only():
    health = provision(agencies=("a-hotel",), kinds=("ops",), purposes=["employment_placement", "referral"])

    assert decide_category([health], HOTEL, "health", "referral", T0).permitted is True
    assert decide_category([health], MOPS, "health", "employment_placement", T0).permitted is True
    assert decide_category([health], HOTEL, "health", "employment_placement", T0).permitted is False
    assert has_any_basis([health], HOTEL, T0) is True  # for `referral`
    only_placement = provision(agencies=("a-hotel",), categories=["health"], purposes=["employment_placement"])
    assert has_any_basis([only_placement], HOTEL, T0) is False


# -- The reference model -----------------------------------------------------------
# Written from DESIGN.md 4.2 and 4.6 alone and sharing no code with
# consent_ledger.decisions: a list of what was granted, refused, asserted and
# ended, the precedence read literally, and the employer allow-list before it.
# Agencies and teams are indexes into the universe of factories.py, with an
# employer added (universe_with_employer).

CATEGORIES = ("identity", "contact", "health")
PURPOSES = ("referral", "statistics", "employment_placement")
KIND_OF = ("ops", "pcpr", "ngo", "police", "employer")  # the universe's agencies, in order
TEAMS_OF = (frozenset(), frozenset({0}), frozenset({0, 1}), frozenset({1}), frozenset())  # ZI = 0, GDP = 1
# DESIGN.md 4.6: what an employer may ever receive for a placement.
EMPLOYER_MAY_RECEIVE = {"identity", "contact", "employment"}
STATUTORY, REFUSAL, CONSENT = "statutory", "refusal", "consent"


@dataclass
class Grant:
    layer: str
    basis: str | None  # what the engine reports when this grant permits
    categories: frozenset
    purposes: frozenset
    agencies: frozenset
    kinds: frozenset
    teams: frozenset
    start: datetime
    until: datetime | None
    entry_id: str
    provision_id: uuid.UUID
    terms: tuple  # (categories, purposes, recipients) as in the step, for echoes
    ended: datetime | None = None


def in_force(grant: Grant, at: datetime) -> bool:
    return (
        grant.start <= at
        and (grant.until is None or at < grant.until)
        and (grant.ended is None or at < grant.ended)
    )


def reaches(grant: Grant, agency: int) -> bool:
    return agency in grant.agencies or KIND_OF[agency] in grant.kinds or bool(TEAMS_OF[agency] & grant.teams)


def model_covering(grants, agency, category, purpose, at) -> list[Grant]:
    return [
        g for g in grants
        if in_force(g, at) and reaches(g, agency) and category in g.categories and purpose in g.purposes
    ]


def barred_for_employer(agency: int, category: str, purpose: str) -> bool:
    """DESIGN.md 4.6: an employer is never released anything but identity,
    contact and employment for a placement, whatever was granted."""
    return KIND_OF[agency] == "employer" and purpose == "employment_placement" and category not in EMPLOYER_MAY_RECEIVE


def model_decision(covering: list[Grant]) -> tuple[bool, list[Grant]]:
    """(permitted, the covering grants of the layer that decided; empty for default deny)."""
    for layer, permitted in ((STATUTORY, True), (REFUSAL, False), (CONSENT, True)):
        deciding = [g for g in covering if g.layer == layer]
        if deciding:
            return permitted, deciding
    return False, []


def model_knows(grants, agency, at) -> bool:
    """The subject is visible when some category is permitted for some purpose."""
    return any(
        model_decision(model_covering(grants, agency, c, p, at))[0]
        for c in CATEGORIES for p in PURPOSES if not barred_for_employer(agency, c, p)
    )


# -- Random histories ----------------------------------------------------------------


@dataclass(frozen=True)
class Provide:
    """A consent, a refusal or an asserted legal basis, `after` hours after the last step."""

    kind: str
    categories: tuple
    purposes: tuple
    recipients: tuple  # ("agency", index) | ("kind", code) | ("team", index)
    starts: int | None  # hours from now, None for now
    ends: int | None  # hours from now, None for open-ended
    after: int
    echo: int | None = None  # reuse the recipients, categories and purposes of an earlier grant


@dataclass(frozen=True)
class End:
    """Revoke, withdraw or end the target-th non-emergency grant so far."""

    target: int
    after: int


@dataclass(frozen=True)
class Emergency:
    recipient: int
    categories: tuple
    after: int


def subset(values):
    return st.sets(st.sampled_from(values), min_size=1).map(lambda s: tuple(sorted(s)))


recipient = st.one_of(
    st.tuples(st.just("agency"), st.integers(0, 4)),
    st.tuples(st.just("kind"), st.sampled_from(("ops", "pcpr", "ngo", "police", "shelter", "employer"))),
    st.tuples(st.just("team"), st.integers(0, 1)),
)
after = st.integers(0, 30)
KINDS = ("consent", "refusal", "blue_card_procedure", "court_order", "legal_obligation")


def provide(kinds=KINDS):
    return st.builds(
        Provide,
        kind=st.sampled_from(kinds),
        categories=subset(CATEGORIES),
        purposes=subset(PURPOSES),
        recipients=st.lists(recipient, min_size=1, max_size=3).map(tuple),
        starts=st.none() | st.integers(-48, 48),
        ends=st.none() | st.integers(-12, 96),
        after=after,
        echo=st.none() | st.integers(0, 20) | st.integers(0, 20),  # two in three echo, if they can
    )


end = st.builds(End, target=st.integers(0, 20), after=after)
emergency = st.builds(Emergency, recipient=st.integers(0, 4), categories=subset(CATEGORIES), after=after)
any_step = st.one_of(provide(), provide(), provide(), end, end, emergency)  # weights 3 : 2 : 1
# The person's own choices only, so that refusals and consents (and their
# withdrawals and revocations) meet often, with no statutory basis to mask them.
choice_step = st.one_of(provide(("consent", "refusal")), provide(("consent", "refusal")), end)


class Run:
    """One history applied through the services to a fresh subject, with the
    reference model kept beside it."""

    def __init__(self, universe, clock):
        self.universe = universe
        self.clock = clock
        self.owner = universe.caller(universe.ops)
        self.subject = subject_for(universe)
        self.recipients = [recipient_of(agency) for agency in universe.agencies]
        self.grants: list[Grant] = []
        self.moments = {T0 - HOUR}
        self.seen: set[str] = set()  # what the history exercised, for --hypothesis-show-statistics

    def apply(self, step) -> None:
        now = self.clock.advance(step.after * HOUR)
        {Provide: self.provide, End: self.end, Emergency: self.emergency}[type(step)](step, now)

    def provide(self, step: Provide, now: datetime) -> None:
        if step.echo is not None and self.grants:
            # A refusal or basis with the same terms as an earlier grant: the
            # histories where precedence matters.
            echoed = self.grants[step.echo % len(self.grants)]
            step = replace(step, categories=echoed.terms[0], purposes=echoed.terms[1], recipients=echoed.terms[2])
            self.seen.add("echoed terms")
        u = self.universe
        terms = Terms(
            categories=list(step.categories),
            purposes=list(step.purposes),
            agencies=[str(u.agencies[i].id) for tag, i in step.recipients if tag == "agency"],
            agency_kinds=[code for tag, code in step.recipients if tag == "kind"],
            teams=[str(u.teams[i].id) for tag, i in step.recipients if tag == "team"],
            valid_from=None if step.starts is None else now + step.starts * HOUR,
            valid_until=None if step.ends is None else now + step.ends * HOUR,
        )
        start = terms.valid_from or now
        layer, basis = {"consent": (CONSENT, "consent"), "refusal": (REFUSAL, None)}.get(
            step.kind, (STATUTORY, step.kind)
        )
        if terms.valid_until is not None and terms.valid_until <= max(start, now):
            with pytest.raises(ValidationFailed) as refused:
                self.record(step.kind, terms)
            assert [e["pointer"] for e in refused.value.errors] == ["/valid_until"]
            self.seen.add("a window refused")
            return
        made = self.record(step.kind, terms)
        self.add(Grant(
            layer, basis, frozenset(step.categories), frozenset(step.purposes),
            frozenset(i for tag, i in step.recipients if tag == "agency"),
            frozenset(code for tag, code in step.recipients if tag == "kind"),
            frozenset(i for tag, i in step.recipients if tag == "team"),
            start, terms.valid_until, str(made.granted_entry_id), made.id,
            (step.categories, step.purposes, step.recipients),
        ))

    def record(self, kind: str, terms: Terms) -> Provision:
        given = {"caller": self.owner, "subject_id": self.subject.id, "terms": terms}
        if kind == "consent":
            return consent_grant(**given, form="verbal_witnessed", grantor="subject")
        if kind == "refusal":
            return refusal_record(**given, form="written", grantor="subject", evidence_sha256=EVIDENCE)
        return legal_basis_assert(**given, basis=kind, reference="III RC 1/30")

    def end(self, step: End, now: datetime) -> None:
        endable = [g for g in self.grants if g.basis != "vital_interest"]  # emergencies simply expire
        if not endable:
            return
        grant = endable[step.target % len(endable)]
        end = {
            CONSENT: lambda: consent_revoke(caller=self.owner, consent_id=grant.provision_id),
            REFUSAL: lambda: refusal_withdraw(caller=self.owner, refusal_id=grant.provision_id),
            STATUTORY: lambda: legal_basis_end(caller=self.owner, legal_basis_id=grant.provision_id),
        }[grant.layer]
        if grant.ended is not None:
            with pytest.raises(Conflict):
                end()
            self.seen.add("ended twice")
            return
        end()
        self.seen.add(f"a {grant.layer} ended")
        grant.ended = now
        self.moments |= {now - TICK, now}

    def emergency(self, step: Emergency, now: datetime) -> None:
        made = emergency_disclosure_record(
            caller=self.owner, subject_id=self.subject.id,
            recipient_id=str(self.universe.agencies[step.recipient].id), categories=list(step.categories),
            justification="Zagrożenie życia: groźby pozbawienia życia.",
        )
        lasts = timedelta(hours=django_settings.EMERGENCY_DISCLOSURE_HOURS)
        self.add(Grant(
            STATUTORY, "vital_interest", frozenset(step.categories), frozenset(PURPOSES) - {"statistics"},
            frozenset({step.recipient}), frozenset(), frozenset(), now, now + lasts,
            str(made.granted_entry_id), made.id,
            (step.categories, ("referral",), (("agency", step.recipient),)),
        ))

    def add(self, grant: Grant) -> None:
        self.grants.append(grant)
        for moment in (grant.start, grant.until):
            if moment is not None:
                self.moments |= {moment - TICK, moment}

    def check(self, at: datetime, everything: list[Provision]) -> None:
        # What the choke point passes (the selector drops provisions ended by
        # `at`), and every provision: the engine must not rely on the selector.
        for provisions in (provisions_in_force(self.subject.id, at), everything):
            for agency, recipient in enumerate(self.recipients):
                assert has_any_basis(provisions, recipient, at) == model_knows(self.grants, agency, at), (agency, at)
                for purpose in PURPOSES:
                    decision = decide(provisions, recipient, CATEGORIES, purpose, at)
                    assert sorted(decision.by_category) == sorted(CATEGORIES)
                    for category in CATEGORIES:
                        self.check_one(decision.by_category[category], agency, category, purpose, at)

    def check_one(self, got, agency, category, purpose, at) -> None:
        where = (KIND_OF[agency], category, purpose, at)
        covering = model_covering(self.grants, agency, category, purpose, at)
        if barred_for_employer(agency, category, purpose):
            assert (got.permitted, got.basis, got.entry_id) == (False, None, None), where
            self.seen.add("an employer barred " + ("over a grant" if covering else "with nothing granted"))
            return
        permitted, deciding = model_decision(covering)
        assert got.permitted is permitted, where
        if not deciding:
            assert (got.basis, got.entry_id) == (None, None), where
            return
        # The deciding entry is one of the layer that decided: a covering basis
        # for a permit, a covering refusal for a refusal's deny.
        overridden = sorted({g.layer for g in covering} - {deciding[0].layer})
        self.seen.add(f"decided by a {deciding[0].layer} over {' and '.join(overridden) or 'nothing'}")
        by_entry = {g.entry_id: g for g in deciding}
        assert got.entry_id in by_entry, where
        assert got.basis == by_entry[got.entry_id].basis, where


@dataclass
class UniverseWithEmployer(Universe):
    """The universe of factories.py and a hotel (kind employer), the fifth agency."""

    employer: Agency | None = None

    @property
    def agencies(self) -> list[Agency]:
        return [*super().agencies, self.employer]


def universe_with_employer() -> UniverseWithEmployer:
    base = universe_create()
    employer = agency_create(name="Hotel Testowo", kind="employer")
    members = {f.name: getattr(base, f.name) for f in fields(base)}
    members["callers"] = {**base.callers, employer.id: caller_for(employer)}
    return UniverseWithEmployer(**members, employer=employer)


@pytest.fixture
def universe(db):
    return universe_with_employer()


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("django.utils.timezone.now", clock)
    return clock


def check_history(universe, clock, history) -> None:
    clock.set(T0)
    # Function-scoped fixtures are not reset between examples: each example runs
    # in a savepoint that is rolled back.
    with transaction.atomic():
        run = Run(universe, clock)
        for each in history:
            run.apply(each)
            run.check(clock.now, list(run.subject.provisions.all()))  # the very next decision sees the change
        # Then the whole history, at every boundary and an instant before it.
        everything = list(run.subject.provisions.all())
        for at in sorted(run.moments | {clock.now + 30 * 24 * HOUR}):
            run.check(at, everything)
        transaction.set_rollback(True)
    for label in sorted(run.seen):
        event(label)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(any_step, min_size=3, max_size=10))
def test_the_engine_agrees_with_the_reference_model_on_random_histories(universe, clock, history):
    check_history(universe, clock, history)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(choice_step, min_size=2, max_size=8))
def test_the_engine_agrees_with_the_reference_model_on_the_persons_own_choices(universe, clock, history):
    check_history(universe, clock, history)

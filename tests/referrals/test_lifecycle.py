"""The referral state machine (DESIGN.md 4.5): the table in referrals/lifecycle.py,
and a hypothesis state machine that drives services.referral_transition with
random steps by random parties and checks every outcome against a model."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from agencies.models import OutboxEvent
from consent_ledger.models import LedgerEntry
from consent_ledger.sealing import unsealed
from hub.api.errors import Conflict, NotFoundError, PreconditionFailed, ValidationFailed
from referrals import lifecycle, services
from referrals.lifecycle import (
    ACCEPTED,
    CANCELLED,
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    ON_HOLD,
    RECEIVED,
    RECIPIENT,
    REJECTED,
    REQUESTED,
    SENDER,
    STATUSES,
)
from referrals.models import Referral, ReferralTransition
from tests.referrals.conftest import GOOD_REASON, OUTSIDER, World, valid_outcome

# DESIGN.md 4.5, written out by hand: the model the implementation is held to.
# The recipient moves a referral forward (and rejects, holds, fails it); the
# sender cancels it while it is not final.
DESIGN_4_5 = {
    (REQUESTED, RECEIVED): RECIPIENT,
    (RECEIVED, ACCEPTED): RECIPIENT,
    (ACCEPTED, IN_PROGRESS): RECIPIENT,
    (IN_PROGRESS, COMPLETED): RECIPIENT,
    (REQUESTED, REJECTED): RECIPIENT,
    (RECEIVED, REJECTED): RECIPIENT,
    (IN_PROGRESS, ON_HOLD): RECIPIENT,
    (ON_HOLD, IN_PROGRESS): RECIPIENT,
    # DESIGN.md names no source for `failed`: once the work has been taken on.
    (ACCEPTED, FAILED): RECIPIENT,
    (IN_PROGRESS, FAILED): RECIPIENT,
    (ON_HOLD, FAILED): RECIPIENT,
    (REQUESTED, CANCELLED): SENDER,
    (RECEIVED, CANCELLED): SENDER,
    (ACCEPTED, CANCELLED): SENDER,
    (IN_PROGRESS, CANCELLED): SENDER,
    (ON_HOLD, CANCELLED): SENDER,
}
FINAL = {COMPLETED, REJECTED, FAILED, CANCELLED}
OUTCOME_REASONS = {
    "client_refused_services", "lack_of_capacity", "services_no_longer_needed", "unable_to_contact_client", "other",
}


# --- the table ------------------------------------------------------------------


def test_the_transitions_are_those_of_design_4_5():
    assert lifecycle.TRANSITIONS == DESIGN_4_5
    assert lifecycle.FINAL == FINAL
    assert lifecycle.NEEDS_REASON == {REJECTED, CANCELLED}
    assert lifecycle.NEEDS_OUTCOME == {COMPLETED, FAILED}
    assert set(lifecycle.OUTCOME_REASONS) == OUTCOME_REASONS


def test_every_status_but_requested_has_a_timestamp_field_of_the_model():
    fields = {f.name for f in Referral._meta.get_fields()}

    assert set(lifecycle.TIMESTAMP_FIELDS) == set(STATUSES) - {REQUESTED}
    assert set(lifecycle.TIMESTAMP_FIELDS.values()) <= fields
    assert len(set(lifecycle.TIMESTAMP_FIELDS.values())) == len(lifecycle.TIMESTAMP_FIELDS)


@pytest.mark.parametrize(("status", "party", "expected"), [
    (REQUESTED, RECIPIENT, [RECEIVED, REJECTED]),
    (REQUESTED, SENDER, [CANCELLED]),
    (RECEIVED, RECIPIENT, [ACCEPTED, REJECTED]),
    (ACCEPTED, RECIPIENT, [FAILED, IN_PROGRESS]),
    (IN_PROGRESS, RECIPIENT, [COMPLETED, FAILED, ON_HOLD]),
    (ON_HOLD, RECIPIENT, [FAILED, IN_PROGRESS]),
    (ON_HOLD, SENDER, [CANCELLED]),
    *[(final, party, []) for final in sorted(FINAL) for party in (SENDER, RECIPIENT)],
])
def test_allowed_next_lists_the_party_s_steps_sorted(status, party, expected):
    assert lifecycle.allowed_next(status, party) == expected


def test_check_allows_exactly_the_table_and_says_why_otherwise():
    for status in STATUSES:
        for to in STATUSES:
            for party in (SENDER, RECIPIENT):
                refusal = lifecycle.check(status, to, party)
                owner = DESIGN_4_5.get((status, to))
                if owner == party:
                    assert refusal is None, (status, to, party)
                    continue
                assert refusal is not None, (status, to, party)
                assert refusal.code == (lifecycle.ILLEGAL_TRANSITION if owner is None else lifecycle.NOT_YOUR_STEP)
                assert refusal.allowed == sorted(
                    t for (f, t), who in DESIGN_4_5.items() if f == status and who == party
                )
                assert status in refusal.detail and to in refusal.detail


def test_an_unknown_status_is_an_illegal_transition():
    refusal = lifecycle.check(REQUESTED, "forwarded", RECIPIENT)

    assert refusal.code == lifecycle.ILLEGAL_TRANSITION
    assert refusal.allowed == [RECEIVED, REJECTED]


def test_every_status_is_reachable_and_every_open_one_can_still_end():
    reachable, frontier = {REQUESTED}, [REQUESTED]
    while frontier:
        status = frontier.pop()
        for (frm, to) in lifecycle.TRANSITIONS:
            if frm == status and to not in reachable:
                reachable.add(to)
                frontier.append(to)

    assert reachable == set(STATUSES)
    for status in set(STATUSES) - FINAL:
        assert lifecycle.allowed_next(status, SENDER) == [CANCELLED]
    for status in FINAL:
        assert not [t for (f, t) in lifecycle.TRANSITIONS if f == status]


# --- the state machine against the model ---------------------------------------------

PARTIES = (SENDER, RECIPIENT, OUTSIDER)
REASONS = (GOOD_REASON, "", "   ")
OUTCOMES = (
    None,
    {"success": True},
    {"success": False, "reason": "lack_of_capacity"},
    {"success": True, "reason": "other"},
    {"success": False},
    {"success": "yes"},
    {"success": False, "reason": "moon_in_wrong_phase"},
    {"success": True, "comment": "went well"},
    ["success"],
)
ETAGS = (None, None, None, None, "current", "stale", "*")


def invalid_fields(to: str, reason: str, outcome) -> set[str]:
    """The request members the model says are wrong for a permitted step."""
    wrong = set()
    if to in (REJECTED, CANCELLED) and not reason.strip():
        wrong.add("reason")
    if to not in (COMPLETED, FAILED):
        if outcome is not None:  # only completed and failed carry one, even an empty one
            wrong.add("outcome")
        return wrong
    if not isinstance(outcome, dict) or not isinstance(outcome.get("success"), bool):
        return wrong | {"outcome"}
    code = outcome.get("reason")
    if (
        set(outcome) - {"success", "reason"}
        or (code is not None and code not in OUTCOME_REASONS)
        or (not outcome["success"] and code is None)
        or (to == FAILED and outcome["success"])
    ):
        wrong.add("outcome")
    return wrong


def event_type(status: str) -> str:
    return "referral." + status.replace("-", "_")


def attempt_in_savepoint(world, referral_id, party, to, reason, outcome):
    """Try one step and undo it: the exception class raised, or None."""
    with transaction.atomic():
        try:
            services.referral_transition(
                caller=world.callers[party], referral_id=referral_id, to=to, reason=reason, outcome=outcome,
            )
        except (Conflict, NotFoundError, ValidationFailed) as error:
            return type(error)
        finally:
            transaction.set_rollback(True)
    return None


def test_from_every_status_each_party_may_take_exactly_its_steps(world):
    """Exhaustive over (status, party, target) with valid reason and outcome:
    the one-step table, where random sequences would rarely look."""
    for status in STATUSES:
        referral = world.referral_in(status)
        assert referral.status == status
        for party in PARTIES:
            for to in STATUSES:
                got = attempt_in_savepoint(world, referral.id, party, to, GOOD_REASON, valid_outcome(to, True))
                if party == OUTSIDER:
                    expected = NotFoundError
                else:
                    expected = None if DESIGN_4_5.get((status, to)) == party else Conflict
                assert got is expected, (status, party, to)


@pytest.mark.parametrize(("status", "to"), [
    (ACCEPTED, FAILED), (IN_PROGRESS, FAILED), (ON_HOLD, FAILED), (IN_PROGRESS, COMPLETED),
    (REQUESTED, REJECTED), (RECEIVED, REJECTED), (ACCEPTED, IN_PROGRESS),
])
def test_every_reason_and_outcome_is_judged_as_the_model_says(world, status, to):
    referral = world.referral_in(status)
    party = DESIGN_4_5[(status, to)]
    outcomes = (*OUTCOMES, valid_outcome(to, True), valid_outcome(to, False))

    for reason in REASONS:
        for outcome in outcomes:
            got = attempt_in_savepoint(world, referral.id, party, to, reason, outcome)
            expected = ValidationFailed if invalid_fields(to, reason, outcome) else None
            assert got is expected, (reason, outcome)


class ReferralLifecycle(RuleBasedStateMachine):
    """One referral per example, created through referral_create inside a
    savepoint that the teardown rolls back (function-scoped fixtures do not
    reset between hypothesis examples)."""

    world: World

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        ops, shelter = self.world.callers[SENDER], self.world.callers[RECIPIENT]
        referral = self.world.referral()
        self.id, self.created_at = referral.id, referral.created_at
        self.agencies = sorted([str(ops.agency.id), str(shelter.agency.id)])
        # The model.
        self.status = REQUESTED
        self.history: list[tuple[str, str, str]] = []  # (from, to, party)
        self.stamps: dict[str, object] = {}  # field -> the time first set
        self.ledger_size = LedgerEntry.objects.count()
        self.seen = self.observed()

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # -- observing -------------------------------------------------------------

    def observed(self) -> dict:
        referral = Referral.objects.get(pk=self.id)
        return {
            "row": {f.attname: getattr(referral, f.attname) for f in Referral._meta.concrete_fields},
            "transitions": [
                tuple(unsealed(value) for value in row) for row in
                ReferralTransition.objects.filter(referral_id=self.id).order_by("id")
                .values_list("from_status", "to_status", "agency_id", "at", "reason", "outcome")
            ],
            "events": list(
                OutboxEvent.objects.filter(object_id=self.id).order_by("seq")
                .values_list("type", "status", "agencies", "data")
            ),
            "ledger": LedgerEntry.objects.count(),
        }

    def etag_for(self, kind: str | None):
        version = 1 + len(self.history)
        return {
            None: None,
            "*": "*",
            "current": f'"{self.id}-{version}"',
            "stale": f'"{self.id}-{version - 1}"',
        }[kind]

    # -- the rules ---------------------------------------------------------------

    @rule(
        lawful=st.integers(0, 3).map(lambda n: n < 3),
        pick=st.integers(0, 5),
        party=st.sampled_from(PARTIES),
        to=st.sampled_from(STATUSES),
        proper=st.integers(0, 4).map(bool),
        success=st.booleans(),
        reason=st.sampled_from(REASONS),
        outcome=st.sampled_from(OUTCOMES),
        etag=st.sampled_from(ETAGS),
    )
    def step(self, lawful, pick, party, to, **inputs):
        """Three times in four a step the table has from the current status,
        taken by its party (forward two times in three, so that examples get
        deep into the lifecycle); otherwise any status by any party. A valid
        reason and outcome four times in five (`proper`); otherwise anything."""
        steps = sorted((t, who) for (frm, t), who in DESIGN_4_5.items() if frm == self.status)
        forward = [s for s in steps if s[0] not in FINAL]
        ending = [s for s in steps if s[0] in FINAL]
        if lawful and forward and (pick < 4 or not ending):
            to, party = forward[pick % len(forward)]
        elif lawful and ending:
            to, party = ending[pick % len(ending)]
        self.attempt(party, to, **inputs)

    def attempt(self, party, to, *, proper, success, reason, outcome, etag):
        if proper:
            reason, outcome = GOOD_REASON, valid_outcome(to, success)
        before = self.seen
        attempt = {"caller": self.world.callers[party], "referral_id": self.id, "to": to,
                   "reason": reason, "outcome": outcome, "if_match": self.etag_for(etag)}
        expected = self.expected_error(party, to, reason, outcome, etag)
        if expected is not None:
            with pytest.raises(expected) as caught:
                services.referral_transition(**attempt)
            self.check_refusal(caught.value, party, to, reason, outcome)
            self.seen = self.observed()
            assert self.seen == before
            return

        referral = services.referral_transition(**attempt)

        self.history.append((self.status, to, party))
        self.status = to
        self.seen = after = self.observed()
        stamp = lifecycle.TIMESTAMP_FIELDS[to]
        if stamp not in self.stamps:
            self.stamps[stamp] = after["row"][stamp]
            assert self.stamps[stamp] == after["transitions"][-1][3]  # the transition's own time
        assert referral.status == to and referral.version == after["row"]["version"]
        assert after["row"]["outcome"] == (outcome if outcome is not None else before["row"]["outcome"])
        assert after["transitions"][-1][2] == self.world.callers[party].agency.id
        assert after["transitions"][-1][4:] == (reason, outcome)
        assert after["events"][-1] == (event_type(to), to, self.agencies, {"version": after["row"]["version"]})

    def expected_error(self, party, to, reason, outcome, etag):
        """The model: outsiders see nothing (404); a stale If-Match is 412; a
        step not in the table, or not the party's, is 409; a permitted step
        with a missing reason or a bad outcome is 422."""
        if party == OUTSIDER:
            return NotFoundError
        if etag == "stale":
            return PreconditionFailed
        if DESIGN_4_5.get((self.status, to)) != party:
            return Conflict
        if invalid_fields(to, reason, outcome):
            return ValidationFailed
        return None

    def check_refusal(self, error, party, to, reason, outcome):
        if isinstance(error, PreconditionFailed):
            assert error.extra["current_etag"] == self.etag_for("current")
        elif isinstance(error, Conflict):
            owner = DESIGN_4_5.get((self.status, to))
            assert error.code == (lifecycle.ILLEGAL_TRANSITION if owner is None else lifecycle.NOT_YOUR_STEP)
            assert error.extra["current_status"] == self.status
            assert error.extra["allowed"] == sorted(
                t for (f, t), who in DESIGN_4_5.items() if f == self.status and who == party
            )
        elif isinstance(error, ValidationFailed):
            assert {e["pointer"].split("/")[1] for e in error.errors} == invalid_fields(to, reason, outcome)

    # -- what always holds -----------------------------------------------------------

    @invariant()
    def matches_the_model(self):
        seen = self.seen  # observed after the last step: nothing else runs in between
        row = seen["row"]

        assert row["status"] in STATUSES
        assert row["status"] == self.status
        assert row["version"] == 1 + len(self.history)
        # One ReferralTransition row and one event per change, in order, and
        # every recorded step a legal one taken by its party.
        assert [(f, t) for f, t, *_ in seen["transitions"]] == [(f, t) for f, t, _ in self.history]
        for frm, to, party in self.history:
            assert DESIGN_4_5[(frm, to)] == party
        assert [t for t, *_ in seen["events"]] == ["referral.requested", *(event_type(t) for _, t, _ in self.history)]
        # Every status reached has its timestamp, set once, never moved or
        # cleared; the others have none; none is before the referral was made.
        for field in lifecycle.TIMESTAMP_FIELDS.values():
            if field in self.stamps:
                assert row[field] == self.stamps[field], field
            else:
                assert row[field] is None, field
        assert {lifecycle.TIMESTAMP_FIELDS[t] for _, t, _ in self.history} == set(self.stamps)
        times = [self.created_at, *(self.stamps[lifecycle.TIMESTAMP_FIELDS[t]] for _, t, _ in self._first_reached())]
        assert times == sorted(times)
        assert row["updated_at"] >= times[-1]
        # Transitions disclose nothing.
        assert seen["ledger"] == self.ledger_size

    @invariant()
    def a_final_referral_offers_no_step(self):
        if self.status in FINAL:
            assert lifecycle.allowed_next(self.status, SENDER) == []
            assert lifecycle.allowed_next(self.status, RECIPIENT) == []

    def _first_reached(self):
        seen, firsts = set(), []
        for step in self.history:
            if step[1] not in seen:
                seen.add(step[1])
                firsts.append(step)
        return firsts


def test_random_steps_by_random_parties_follow_the_model(world):
    def machine():
        ReferralLifecycle.world = world
        return ReferralLifecycle()

    run_state_machine_as_test(machine, settings=settings(
        max_examples=30, stateful_step_count=15, deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    ))

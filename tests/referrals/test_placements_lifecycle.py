"""The placement state machine (referrals/placements/lifecycle.py): the table
is the design, and a hypothesis state machine drives
services.placement_transition with random steps by random sides and ETags,
checked against a model written here."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from agencies.models import OutboxEvent
from hub.api.errors import Conflict, NotFoundError, PreconditionFailed, ValidationFailed
from referrals.placements import lifecycle, services
from referrals.placements.models import Placement, PlacementTransition
from tests.referrals.placements_world import World, created

# Issue 9 and DESIGN.md 4.6 written out by hand: (from, to) -> who may take the step.
C, E = "coordinator", "employer"
DESIGN = {
    ("proposed", "confirmed"): {E}, ("proposed", "declined"): {E}, ("proposed", "withdrawn"): {C},
    ("confirmed", "withdrawn"): {C}, ("confirmed", "active"): {C},
    ("active", "completed"): {C}, ("active", "ended_early"): {C, E},
}
FINAL = {"declined", "withdrawn", "completed", "ended_early"}
REASONS = {"declined": "no_vacancy", "ended_early": "conduct", "withdrawn": "person_withdrew"}


def test_the_table_is_the_design():
    assert {step: set(sides) for step, sides in lifecycle.TRANSITIONS.items()} == DESIGN
    assert lifecycle.FINAL == FINAL
    assert set(lifecycle.HOLDING_A_PLACE) == {"proposed", "confirmed", "active"}


def test_every_refusal_lists_exactly_what_the_side_may_do():
    for status in lifecycle.STATUSES:
        for side in (C, E):
            for to in (*lifecycle.STATUSES, "forwarded"):
                refusal = lifecycle.check(status, to, side)
                if side in DESIGN.get((status, to), ()):
                    assert refusal is None
                    continue
                assert refusal.allowed == [t for t in lifecycle.STATUSES if side in DESIGN.get((status, t), ())]
                if status in FINAL:
                    assert refusal.code == lifecycle.PLACEMENT_FINAL
                elif (status, to) in DESIGN:
                    assert refusal.code == lifecycle.NOT_YOUR_STEP
                else:
                    assert refusal.code == lifecycle.ILLEGAL_TRANSITION


def test_no_reason_code_says_why_the_person_is_in_the_programme():
    # Both sides see reason codes: none may name health, therapy, safety or violence.
    words = ("health", "therap", "safe", "violen", "abuse", "police", "court", "risk", "crisis", "shelter")
    codes = {*lifecycle.DECLINE_REASONS, *lifecycle.END_REASONS}
    assert not [code for code in codes for word in words if word in code]


CALLERS = (C, E, "outsider")
ETAGS = (None, None, "current", "stale", "*")


class PlacementLifecycle(RuleBasedStateMachine):
    """One placement per example, created inside a savepoint the teardown rolls back."""

    world: World

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        world = self.world
        self.callers = {C: world.cis.caller, E: world.hotel.caller, "outsider": world.bakery.caller}
        self.id = created(world.propose(world.agreement(places=50)))["id"]
        self.status, self.version, self.moves = "proposed", 1, 0
        self.events = OutboxEvent.objects.count()

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @rule(who=st.sampled_from(CALLERS), to=st.sampled_from([*lifecycle.STATUSES, "lost"]),
          etag=st.sampled_from(ETAGS), with_reason=st.booleans())
    def transition(self, who, to, etag, with_reason):
        if_match = {"current": f'"{self.id}-{self.version}"', "stale": f'"{self.id}-{self.version - 1}"'}.get(etag, etag)
        reason = REASONS.get(to, "") if with_reason else ""
        try:
            moved = services.placement_transition(caller=self.callers[who], placement_id=self.id, to=to,
                                                  reason=reason, if_match=if_match)
        except NotFoundError:
            assert who == "outsider"
            return
        except PreconditionFailed:
            assert etag == "stale"
            return
        except ValidationFailed as refused:
            pointers = {e["pointer"] for e in refused.errors}
            assert to not in lifecycle.TARGET_STATUSES or (not reason and to in ("declined", "ended_early")), pointers
            return
        except Conflict as refused:
            assert who not in DESIGN.get((self.status, to), ()), (self.status, to, who)
            assert refused.extra["current_status"] == self.status
            return
        assert who in DESIGN[(self.status, to)] and etag != "stale"
        assert to not in ("declined", "ended_early") or reason
        self.status, self.version, self.moves = to, self.version + 1, self.moves + 1
        assert (moved.status, moved.version) == (self.status, self.version)

    @invariant()
    def stored_as_modelled(self):
        placement = Placement.objects.get(pk=self.id)
        assert (placement.status, placement.version) == (self.status, self.version)
        assert PlacementTransition.objects.filter(placement_id=self.id).count() == self.moves + 1
        assert OutboxEvent.objects.count() == self.events + self.moves
        assert (placement.ended_on is not None) == (self.status in ("completed", "ended_early"))


@pytest.mark.django_db
def test_random_steps_by_random_sides_follow_the_model(party):
    world = World(party)
    world.consent(world.hotel)
    PlacementLifecycle.world = world
    run_state_machine_as_test(
        PlacementLifecycle,
        settings=settings(max_examples=40, stateful_step_count=12, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture]),
    )

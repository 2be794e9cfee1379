"""The action state machine of shared plans (DESIGN.md 4.6): the table in
referrals/plans/lifecycle.py, and a hypothesis state machine driving
services.plan_action_transition with random steps by random agencies and
ETags, checked against a model."""

from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from agencies.models import OutboxEvent
from consent_ledger.models import LedgerEntry
from hub.api.errors import Conflict, NotFoundError, PreconditionFailed, ValidationFailed
from referrals.plans import lifecycle, services
from referrals.plans.lifecycle import ACTION_STATUSES, CANCELLED, DONE, IN_PROGRESS, PLANNED
from referrals.plans.models import Action, ActionTransition, Plan
from tests.referrals.plans_world import World, actions_url, created, in_days

# DESIGN.md 4.6 written out by hand: the model the implementation is held to.
ALLOWED = {
    (PLANNED, IN_PROGRESS), (PLANNED, DONE), (PLANNED, CANCELLED),
    (IN_PROGRESS, DONE), (IN_PROGRESS, CANCELLED),
}
FINAL = {DONE, CANCELLED}


def test_the_table_is_the_design_and_final_statuses_never_move():
    table = {(f, t) for f, targets in lifecycle.ACTION_TRANSITIONS.items() for t in targets}

    assert table == ALLOWED
    assert set(lifecycle.FINAL_ACTION_STATUSES) == FINAL
    for status in ACTION_STATUSES:
        for to in (*ACTION_STATUSES, "forwarded"):
            refusal = lifecycle.action_check(status, to)
            if (status, to) in ALLOWED:
                assert refusal is None
                continue
            assert refusal.allowed == list(lifecycle.ACTION_TRANSITIONS[status])
            assert refusal.code == (lifecycle.ACTION_FINAL if status in FINAL else lifecycle.ACTION_TRANSITION_NOT_ALLOWED)


def test_no_transition_leads_back_to_planned():
    assert all(PLANNED not in targets for targets in lifecycle.ACTION_TRANSITIONS.values())


# Who acts: the lead, the assignee (the school), a team member that is
# neither (the police), an agency outside the plan.
LEAD, ASSIGNEE, MEMBER, OUTSIDER = "lead", "assignee", "member", "outsider"
ETAGS = (None, None, "current", "stale", "*")


class ActionLifecycle(RuleBasedStateMachine):
    """One action per example, created inside a savepoint the teardown rolls back."""

    world: World
    plan_id: str

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        world = self.world
        self.callers = {LEAD: world.ops.caller, ASSIGNEE: world.school.caller, MEMBER: world.police.caller,
                        OUTSIDER: world.outsider.caller}
        self.id = created(world.ops.post(actions_url(self.plan_id), {
            "agency": str(world.school.agency.id), "title": "Pedagogue meetings", "category": "education",
            "due_on": in_days(7),
        }))["id"]
        self.status, self.version, self.moves = PLANNED, 1, 0
        self.plan_version = Plan.objects.get(pk=self.plan_id).version
        self.ledger = LedgerEntry.objects.count()
        self.events = OutboxEvent.objects.count()

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @rule(who=st.sampled_from([LEAD, ASSIGNEE, MEMBER, OUTSIDER]), to=st.sampled_from([*ACTION_STATUSES, "lost"]),
          etag=st.sampled_from(ETAGS))
    def transition(self, who, to, etag):
        if_match = {"current": f'"{self.id}-{self.version}"', "stale": f'"{self.id}-{self.version - 1}"'}.get(etag, etag)
        if who in (MEMBER, OUTSIDER):
            expected = NotFoundError
        elif etag == "stale":
            expected = PreconditionFailed
        elif to not in ACTION_STATUSES:
            expected = ValidationFailed
        else:
            expected = None if (self.status, to) in ALLOWED else Conflict
        try:
            with transaction.atomic():
                action = services.plan_action_transition(
                    caller=self.callers[who], action_id=self.id, to=to, if_match=if_match
                )
        except (NotFoundError, PreconditionFailed, ValidationFailed, Conflict) as error:
            assert type(error) is expected, (self.status, who, to, etag, error)
            return
        assert expected is None, (self.status, who, to, etag)
        self.status, self.version, self.moves = to, self.version + 1, self.moves + 1
        assert (action.status, action.version) == (to, self.version)

    @invariant()
    def stored_as_modelled(self):
        action = Action.objects.get(pk=self.id)
        assert (action.status, action.version) == (self.status, self.version)
        assert ActionTransition.objects.filter(action_id=self.id).count() == self.moves
        # Each move bumps the plan's version and writes one thin event; nothing
        # ever touches the ledger.
        assert Plan.objects.get(pk=self.plan_id).version == self.plan_version + self.moves
        assert OutboxEvent.objects.count() == self.events + self.moves
        assert LedgerEntry.objects.count() == self.ledger


def test_actions_move_only_as_the_model_says(party):
    world = World(party)
    world.blue_card_basis()
    ActionLifecycle.world = world
    ActionLifecycle.plan_id = world.open_plan().id
    run_state_machine_as_test(
        ActionLifecycle,
        settings=settings(max_examples=40, stateful_step_count=8, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]),
    )

"""Property-based test of the procedure's rules (hypothesis): any sequence of
steps and closures, tried by the chair, a GDP member or a ZI member outside
the GDP, is accepted or refused exactly as a small reference model says; a
refusal writes nothing, and at every point the ledger holds the bases of an
open procedure and none of a closed one."""

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agencies.callers import Caller
from agencies.teams import team_create, team_member_add
from consent_ledger.models import Provision
from consent_ledger.services import subject_create
from hub.api.errors import Conflict, ValidationFailed
from referrals.blue_card import rules
from referrals.blue_card.models import BlueCardDeadline, BlueCardStep
from referrals.blue_card.services import BlueCardForbidden, blue_card_close, blue_card_open, blue_card_step_record

from .blue_card_world import NKC, NKD, PROFILE, written

CHAIR, GDP_MEMBER, ZI_MEMBER = "chair", "gdp_member", "zi_member"
CLOSE_GROUNDLESS, CLOSE_CEASED = "close_groundless", "close_ceased"
ACTIONS = (*rules.STEPS, CLOSE_GROUNDLESS, CLOSE_CEASED)
CONTENT = {rules.NKC: NKC, rules.NKD: NKD}


class Agencies:
    def __init__(self, make_agency, make_client):
        def caller(name, kind):
            agency = make_agency(name=name, kind=kind)
            return Caller(agency=agency, application=make_client(agency, ["plans:write"])[0])

        self.chair, self.school, self.ngo = caller("MOPS", "ops"), caller("SP 1", "school"), caller("Fundacja", "ngo")
        self.zi = team_create(caller=self.chair, name="ZI", kind="zi")
        for member in (self.school, self.ngo):
            team_member_add(caller=self.chair, team_id=self.zi.id, agency_id=member.agency.id,
                            confidentiality_declaration_at=timezone.now())
        self.by_role = {CHAIR: self.chair, GDP_MEMBER: self.school, ZI_MEMBER: self.ngo}
        self.cases = 0

    def new_case(self):
        """A person owned by the chair's OPS, a procedure for them, and a GDP
        with the school in it (a GDP serves one case)."""
        self.cases += 1
        subject = subject_create(caller=self.chair, external_ref=f"P/{self.cases}", profile=PROFILE)
        gdp = team_create(caller=self.chair, name=f"GDP {self.cases}", kind="gdp", parent_id=self.zi.id)
        team_member_add(caller=self.chair, team_id=gdp.id, agency_id=self.school.agency.id,
                        confidentiality_declaration_at=timezone.now())
        opened_at = timezone.now() - timedelta(days=2)
        procedure = blue_card_open(
            caller=self.chair, subject_id=subject.id, team_id=self.zi.id, opened_at=opened_at,
            opened_by_kind="ops", forms_of_violence=["physical"], children_in_household=0,
        )
        return procedure, gdp, opened_at


class Model:
    """What the rules say, in a dozen lines."""

    def __init__(self):
        self.recorded: list[str] = []
        self.closed = False

    def expect(self, role: str, action: str):
        if action in (CLOSE_GROUNDLESS, CLOSE_CEASED):
            if role != CHAIR:
                return BlueCardForbidden
            if self.closed or (action == CLOSE_CEASED and rules.NKC not in self.recorded):
                return Conflict
            return None
        if self.closed != (action == rules.MONITORING):
            return Conflict
        if (action in rules.ONCE and action in self.recorded) or rules.NEEDS.get(action, action) not in [*self.recorded, action]:
            return Conflict
        gdp_formed = rules.GDP_FORMED in self.recorded
        may = {CHAIR: rules.CHAIR in rules.RECORDED_BY[action] or gdp_formed,  # the ZI's chair chairs the GDP
               GDP_MEMBER: rules.GDP_MEMBER in rules.RECORDED_BY[action] and gdp_formed,
               ZI_MEMBER: False}[role]
        return None if may else BlueCardForbidden

    def apply(self, action: str):
        if action.startswith("close"):
            self.closed = True
        else:
            self.recorded.append(action)


attempts = st.lists(st.tuples(st.sampled_from((CHAIR, GDP_MEMBER, ZI_MEMBER)), st.sampled_from(ACTIONS)), max_size=12)


@pytest.fixture
def agencies(make_agency, make_client):
    return Agencies(make_agency, make_client)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=attempts)
def test_steps_and_closures_follow_the_rules_and_refusals_write_nothing(agencies, sequence):
    procedure, gdp, opened_at = agencies.new_case()
    model = Model()
    for index, (role, action) in enumerate(sequence, start=1):
        at = opened_at + timedelta(minutes=index)
        expected = model.expect(role, action)
        before = written()
        try:
            _attempt(agencies.by_role[role], procedure.id, action, at, gdp)
        except (BlueCardForbidden, Conflict, ValidationFailed) as refusal:
            assert type(refusal) is expected, (model.recorded, model.closed, role, action, refusal.detail)
            assert written() == before
            continue
        assert expected is None, (model.recorded, model.closed, role, action)
        model.apply(action)
        _check_invariants(procedure, model)


def _attempt(caller, procedure_id, action, at, gdp):
    if action.startswith("close"):
        ground = rules.GROUNDLESS if action == CLOSE_GROUNDLESS else rules.VIOLENCE_CEASED
        return blue_card_close(caller=caller, procedure_id=procedure_id, ground=ground, at=at)
    return blue_card_step_record(
        caller=caller, procedure_id=procedure_id, step=action, at=at,
        gdp_id=gdp.id if action == rules.GDP_FORMED else None, content=CONTENT.get(action),
    )


def _check_invariants(procedure, model: Model) -> None:
    steps = list(BlueCardStep.objects.filter(procedure=procedure).order_by("at").values_list("step", "at"))
    assert [s for s, _ in steps] == model.recorded
    active = Provision.objects.filter(subject_id=procedure.subject_id, basis="blue_card_procedure", ended_at__isnull=True)
    assert active.count() == (0 if model.closed else 1 + (rules.GDP_FORMED in model.recorded))
    first_at = {}
    for step, at in steps:
        first_at.setdefault(step, at)
    for deadline in BlueCardDeadline.objects.filter(procedure=procedure):
        assert deadline.met_at == first_at.get(deadline.step)

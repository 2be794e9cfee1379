"""Outcomes and the follow-up (DESIGN.md 4.6; issue 9 item 4): what the
statistics count, stored as given (the ESF rule is applied by the
statistics, at its boundaries here), once each, by the side allowed."""

from datetime import timedelta
from decimal import Decimal

import pytest

from agencies.models import OutboxEvent
from hub.api.errors import PROBLEM_CONTENT_TYPE
from referrals.placements import services
from referrals.placements.models import Placement, esf_employment_q, meets_esf_rule
from tests.referrals.placements_world import (
    World,
    follow_up_url,
    months_ago,
    ok,
    outcome_url,
    placement_url,
    snapshot,
    transition_url,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(party) -> World:
    world = World(party)
    world.consent(world.hotel)
    return world


def assert_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    if code is not None:
        assert response.json()["code"] == code, response.json()
    return response.json()


def hire(fte="1.00", months="12", contract="employment_contract") -> dict:
    return {"outcome": "hired", "contract_type": contract, "fte": fte, "contract_months": months}


@pytest.mark.parametrize("fte, months, counts", [
    ("0.50", "3", True), ("0.49", "3", False), ("0.50", "2.9", False), ("1", "3.0", True), ("0.75", None, True),
])
def test_a_hire_is_stored_as_given_for_the_esf_rule_at_its_boundaries(world, fte, months, counts):
    placement_id = world.placement("completed")

    recorded = ok(world.hotel.post(outcome_url(placement_id), hire(fte, months), HTTP_IDEMPOTENCY_KEY="o-1"))

    placement = Placement.objects.get(pk=placement_id)
    assert placement.fte == Decimal(fte)
    assert placement.contract_months == (None if months is None else Decimal(months))
    assert (placement.outcome, placement.outcome_recorded_by_id) == ("hired", world.hotel.agency.id)
    assert meets_esf_rule(placement.fte, placement.contract_months) is counts
    assert Placement.objects.filter(esf_employment_q(), pk=placement_id).exists() is counts
    assert recorded["version"] == placement.version and recorded["outcome_recorded_at"]


def test_not_hired_and_ended_early_carry_a_reason_code(world):
    completed, ended = world.placement("completed"), world.placement("ended_early")

    ok(world.cis.post(outcome_url(completed), {"outcome": "not_hired", "reason": "no_vacancy"}))
    ok(world.cis.post(outcome_url(ended), {"outcome": "ended_early"}))

    assert Placement.objects.get(pk=completed).outcome_reason == "no_vacancy"
    assert Placement.objects.get(pk=ended).outcome_reason == "attendance"  # the reason it ended with


def test_a_person_hired_before_the_planned_end_is_a_hire(world):
    placement_id = world.placement("active")
    ok(world.hotel.post(transition_url(placement_id), {"status": "ended_early", "reason": "hired_early"}))

    ok(world.hotel.post(outcome_url(placement_id), hire()))

    assert Placement.objects.get(pk=placement_id).outcome == "hired"


def test_the_outcome_waits_for_the_end_and_is_recorded_once(world):
    placement_id = world.placement("active")

    assert_problem(world.hotel.post(outcome_url(placement_id), hire()), 409, services.NOT_ENDED)
    ok(world.cis.post(transition_url(placement_id), {"status": "completed"}))
    ok(world.hotel.post(outcome_url(placement_id), hire()))
    problem = assert_problem(world.cis.post(outcome_url(placement_id), {"outcome": "not_hired", "reason": "other"}),
                             409, services.OUTCOME_EXISTS)

    assert problem["outcome_recorded_at"]
    assert Placement.objects.get(pk=placement_id).outcome == "hired"


def test_the_employer_reads_the_outcome_and_an_outcome_is_a_thin_event(world):
    placement_id = world.placement("completed")
    ok(world.cis.post(outcome_url(placement_id), hire("0.5", "6", "civil_law_contract")))

    body = ok(world.hotel.get(placement_url(placement_id)))

    assert body["outcome"] == {"outcome": "hired", "contract_type": "civil_law_contract", "fte": 0.5,
                               "contract_months": 6.0}
    event = OutboxEvent.objects.get(type=services.EVENT_OUTCOME_RECORDED)
    assert event.data == {"version": body["version"], "outcome": "hired"}


BAD_OUTCOMES = {
    "unknown outcome": ("completed", {"outcome": "promoted"}, "/outcome"),
    "not hired after an early end": ("ended_early", {"outcome": "not_hired", "reason": "other"}, "/outcome"),
    "ended early after completion": ("completed", {"outcome": "ended_early", "reason": "other"}, "/outcome"),
    "a hire without a contract type": ("completed", {**hire(), "contract_type": None}, "/contract_type"),
    "an unknown contract type": ("completed", hire(contract="handshake"), "/contract_type"),
    "a hire without fte": ("completed", {**hire(), "fte": None}, "/fte"),
    "fte 0": ("completed", hire(fte="0"), "/fte"),
    "fte over full time": ("completed", hire(fte="1.5"), "/fte"),
    "fte with three decimals": ("completed", hire(fte="0.495"), "/fte"),
    "a hire without its length": ("completed", {k: v for k, v in hire().items() if k != "contract_months"},
                                  "/contract_months"),
    "an open-ended civil-law contract": ("completed", hire(months=None, contract="civil_law_contract"),
                                         "/contract_months"),
    "a contract of 0 months": ("completed", hire(months="0"), "/contract_months"),
    "a hire with a reason": ("completed", {**hire(), "reason": "other"}, "/reason"),
    "not hired without a reason": ("completed", {"outcome": "not_hired"}, "/reason"),
    "not hired with an end reason": ("completed", {"outcome": "not_hired", "reason": "attendance"}, "/reason"),
    "not hired with an fte": ("completed", {"outcome": "not_hired", "reason": "other", "fte": "0.5"}, "/fte"),
}


@pytest.mark.parametrize("case", list(BAD_OUTCOMES), ids=list(BAD_OUTCOMES))
def test_a_bad_outcome_is_a_422_with_a_pointer_and_writes_nothing(world, case):
    status, body, pointer = BAD_OUTCOMES[case]
    placement_id = world.placement(status)
    before = snapshot(placement_id)

    problem = assert_problem(world.cis.post(outcome_url(placement_id), body, HTTP_IDEMPOTENCY_KEY=case), 422)

    assert pointer in {e["pointer"] for e in problem["errors"]}, problem
    assert snapshot(placement_id) == before


# --- The follow-up -------------------------------------------------------------------------------


def ended_long_ago(world) -> tuple[str, object]:
    start, last = months_ago(7), months_ago(4) - timedelta(days=1)
    placement_id = world.placement("active", start_on=start.isoformat(), planned_end_on=last.isoformat())
    ok(world.cis.post(transition_url(placement_id), {"status": "completed", "ended_on": last.isoformat()}))
    ok(world.hotel.post(outcome_url(placement_id), hire()))
    return placement_id, last


def test_the_coordinating_agency_records_the_follow_up_after_ninety_days_once(world):
    placement_id, last = ended_long_ago(world)
    version = Placement.objects.get(pk=placement_id).version

    too_early = world.cis.post(follow_up_url(placement_id), {"still_employed": True,
                                                              "followed_up_on": (last + timedelta(days=89)).isoformat()})
    recorded = ok(world.cis.post(follow_up_url(placement_id), {
        "still_employed": True, "followed_up_on": (last + timedelta(days=90)).isoformat()}))
    again = world.cis.post(follow_up_url(placement_id), {"still_employed": False})

    assert [e["pointer"] for e in assert_problem(too_early, 422)["errors"]] == ["/followed_up_on"]
    assert recorded == {"still_employed": True, "followed_up_on": (last + timedelta(days=90)).isoformat()}
    assert_problem(again, 409, services.FOLLOW_UP_EXISTS)
    placement = Placement.objects.get(pk=placement_id)
    assert (placement.employed_90d, placement.version) == (True, version)
    assert ok(world.cis.get(placement_url(placement_id)))["follow_up"] == recorded
    # The follow-up is the coordinating agency's: the employer neither records nor reads it.
    hotel_view = ok(world.hotel.get(placement_url(placement_id)))
    assert "follow_up" not in hotel_view and hotel_view["version"] == version
    (event,) = OutboxEvent.objects.filter(type=services.EVENT_FOLLOWED_UP)
    assert event.agencies == [str(world.cis.agency.id)]


def test_the_employer_may_not_record_the_follow_up(world):
    placement_id, _ = ended_long_ago(world)

    assert_problem(world.hotel.post(follow_up_url(placement_id), {"still_employed": False}), 403,
                   services.COORDINATING_AGENCY_REQUIRED)

    assert Placement.objects.get(pk=placement_id).employed_90d is None


def test_a_follow_up_waits_for_the_end_and_is_not_in_the_future(world):
    active = world.placement("active")
    placement_id, _ = ended_long_ago(world)

    assert_problem(world.cis.post(follow_up_url(active), {"still_employed": True}), 409, services.NOT_ENDED)
    problem = assert_problem(world.cis.post(follow_up_url(placement_id), {
        "still_employed": True, "followed_up_on": months_ago(-1).isoformat()}), 422)
    assert [e["pointer"] for e in problem["errors"]] == ["/followed_up_on"]
    problem = assert_problem(world.cis.post(follow_up_url(placement_id), {"followed_up_on": None}), 422)
    assert [e["pointer"] for e in problem["errors"]] == ["/still_employed"]

"""Monthly check-ins (DESIGN.md 6.2; issue 9 item 3): one per side and month,
within the placement, each side its own members; the WHO-5 at the start,
end and follow-up; and `placement.check_in_due`, once per month whose
employer check-in is missing PLACEMENT_CHECK_IN_GRACE_DAYS after it ended."""

from datetime import timedelta

import pytest

from agencies.models import OutboxEvent
from consent_ledger.sealing import unsealed
from hub.api.errors import PROBLEM_CONTENT_TYPE
from referrals.placements import services
from referrals.placements.models import Placement, PlacementCheckIn, PlacementMonth
from tests.events.test_schedules import tick
from tests.referrals.placements_world import (
    World,
    check_ins_url,
    created,
    month_text,
    months_ago,
    ok,
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


def attendance(month, worked=18, absent=1, feedback=4) -> dict:
    return {"month": month_text(month), "days_worked": worked, "days_absent": absent, "employer_feedback": feedback}


def test_each_side_records_one_check_in_a_month(world):
    placement_id = world.placement("active")
    month = months_ago(2)

    employer = created(world.hotel.post(check_ins_url(placement_id), attendance(month), HTTP_IDEMPOTENCY_KEY="c-1"))
    coordinator = created(world.cis.post(check_ins_url(placement_id), {"month": month_text(month),
                                                                       "coordinator_notes": "Good first month."}))
    again = world.hotel.post(check_ins_url(placement_id), attendance(month, worked=19))

    assert (employer["side"], employer["month"], coordinator["side"]) == ("employer", month_text(month), "coordinator")
    problem = assert_problem(again, 409, services.CHECK_IN_EXISTS)
    assert problem["check_in"] == employer["id"]
    assert PlacementCheckIn.objects.get(pk=employer["id"]).days_worked == 18
    created(world.hotel.post(check_ins_url(placement_id), attendance(months_ago(1))))


def test_a_retried_check_in_with_its_idempotency_key_is_answered_again_not_refused(world):
    placement_id = world.placement("active")

    first = world.hotel.post(check_ins_url(placement_id), attendance(months_ago(2)), HTTP_IDEMPOTENCY_KEY="c-9")
    again = world.hotel.post(check_ins_url(placement_id), attendance(months_ago(2)), HTTP_IDEMPOTENCY_KEY="c-9")

    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert PlacementCheckIn.objects.count() == 1


def test_only_the_employers_check_in_changes_the_version_the_employer_sees(world):
    placement_id = world.placement("active")
    version = Placement.objects.get(pk=placement_id).version

    created(world.cis.post(check_ins_url(placement_id), {"month": month_text(months_ago(2)), "who5": [2] * 5,
                                                         "timepoint": "start"}))
    assert Placement.objects.get(pk=placement_id).version == version
    created(world.hotel.post(check_ins_url(placement_id), attendance(months_ago(2))))
    assert Placement.objects.get(pk=placement_id).version == version + 1


def test_the_who5_is_stored_raw_and_scored_as_the_sum_times_four(world):
    placement_id = world.placement("active")

    created(world.cis.post(check_ins_url(placement_id), {"month": month_text(months_ago(2)), "who5": [5, 4, 3, 2, 1],
                                                         "timepoint": "start"}))

    check_in = PlacementCheckIn.objects.get()
    assert unsealed(check_in.who5) == [5, 4, 3, 2, 1]
    (shown,) = ok(world.cis.get(f"/api/v1/placements/{placement_id}"))["check_ins"]
    assert (shown["who5"], shown["who5_score"], shown["timepoint"]) == ([5, 4, 3, 2, 1], 60, "start")


def test_the_who5_at_the_start_end_and_follow_up_once_each_in_their_months(world):
    start = months_ago(5)
    last = months_ago(3) - timedelta(days=1)
    placement_id = world.placement("active", start_on=start.isoformat(), planned_end_on=last.isoformat())

    def who5(month, timepoint):
        return world.cis.post(check_ins_url(placement_id), {"month": month_text(month), "who5": [3] * 5,
                                                            "timepoint": timepoint})

    assert [e["pointer"] for e in assert_problem(who5(months_ago(4), "start"), 422)["errors"]] == ["/month"]
    created(who5(start, "start"))
    assert_problem(who5(start, "start"), 409, services.CHECK_IN_EXISTS)
    assert [e["pointer"] for e in assert_problem(who5(start, "end"), 422)["errors"]] == ["/month"]
    created(who5(last, "end"))
    # The follow-up comes after the end, once the placement ended.
    assert [e["pointer"] for e in assert_problem(who5(months_ago(1), "follow_up"), 422)["errors"]] == ["/month"]
    ok(world.cis.post(transition_url(placement_id), {"status": "completed", "ended_on": last.isoformat()}))
    created(who5(months_ago(1), "follow_up"))
    problem = assert_problem(world.cis.post(check_ins_url(placement_id), {"month": month_text(start),
                                                                          "timepoint": "end"}), 422)
    assert "/who5" in {e["pointer"] for e in problem["errors"]}


def test_check_ins_wait_for_the_placement_to_start(world):
    placement_id = world.placement("confirmed")

    problem = assert_problem(world.hotel.post(check_ins_url(placement_id), attendance(months_ago(2))), 409,
                             services.NOT_STARTED)

    assert problem["current_status"] == "confirmed"


BAD_CHECK_INS = {
    "employer: a month before the start": ("hotel", attendance(months_ago(3)), "/month"),
    "employer: a month not begun": ("hotel", attendance(months_ago(-1)), "/month"),
    "employer: a month that is no month": ("hotel", {**attendance(months_ago(2)), "month": "2030-13"}, "/month"),
    "employer: a date for a month": ("hotel", {**attendance(months_ago(2)), "month": "2030-1"}, "/month"),
    "employer: feedback 6": ("hotel", attendance(months_ago(2), feedback=6), "/employer_feedback"),
    "employer: feedback 0": ("hotel", attendance(months_ago(2), feedback=0), "/employer_feedback"),
    "employer: negative days": ("hotel", attendance(months_ago(2), worked=-1), "/days_worked"),
    "employer: more days than the month": ("hotel", attendance(months_ago(2), worked=25, absent=10), "/days_absent"),
    "employer: no feedback": ("hotel", {"month": month_text(months_ago(2)), "days_worked": 3, "days_absent": 0},
                              "/employer_feedback"),
    "employer: the coordinator's notes": ("hotel", {**attendance(months_ago(2)), "coordinator_notes": "x"},
                                          "/coordinator_notes"),
    "employer: a WHO-5": ("hotel", {**attendance(months_ago(2)), "who5": [1] * 5}, "/who5"),
    "coordinator: the employer's days": ("cis", {"month": month_text(months_ago(2)), "coordinator_notes": "x",
                                                 "days_worked": 3}, "/days_worked"),
    "coordinator: nothing": ("cis", {"month": month_text(months_ago(2))}, "/coordinator_notes"),
    "coordinator: a WHO-5 item out of range": ("cis", {"month": month_text(months_ago(2)), "who5": [1, 2, 6, 3, 4]},
                                               "/who5/2"),
    "coordinator: a negative WHO-5 item": ("cis", {"month": month_text(months_ago(2)), "who5": [1, 2, 3, -1, 4]},
                                           "/who5/3"),
    "coordinator: four WHO-5 items": ("cis", {"month": month_text(months_ago(2)), "who5": [1, 2, 3, 4]}, "/who5"),
    "coordinator: a WHO-5 item not a number": ("cis", {"month": month_text(months_ago(2)), "who5": [1, 2, "x", 3, 4]},
                                               "/who5/2"),
    "coordinator: an unknown timepoint": ("cis", {"month": month_text(months_ago(2)), "who5": [1] * 5,
                                                  "timepoint": "midway"}, "/timepoint"),
}


@pytest.mark.parametrize("case", list(BAD_CHECK_INS), ids=list(BAD_CHECK_INS))
def test_a_bad_check_in_is_a_422_with_a_pointer_and_writes_nothing(world, case):
    who, body, pointer = BAD_CHECK_INS[case]
    placement_id = world.placement("active")
    before = snapshot(placement_id)

    problem = assert_problem(getattr(world, who).post(check_ins_url(placement_id), body, HTTP_IDEMPOTENCY_KEY=case),
                             422)

    assert pointer in {e["pointer"] for e in problem["errors"]}, problem
    assert snapshot(placement_id) == before


# --- placement.check_in_due ----------------------------------------------------------------------


def due_events() -> list[tuple[str, str]]:
    return [(str(e.object_id), e.data["month"])
            for e in OutboxEvent.objects.filter(type=services.EVENT_CHECK_IN_DUE).order_by("seq")]


def test_a_missing_employer_check_in_is_announced_once_per_month_after_the_grace_days(world):
    start, last = months_ago(4), months_ago(1) - timedelta(days=1)
    placement_id = world.placement("active", start_on=start.isoformat(), planned_end_on=last.isoformat())
    created(world.hotel.post(check_ins_url(placement_id), attendance(months_ago(3))))
    # The coordinator's check-in is no employer's check-in.
    created(world.cis.post(check_ins_url(placement_id), {"month": month_text(months_ago(2)), "coordinator_notes": "x"}))

    first, again = services.placement_check_ins_due(), services.placement_check_ins_due()

    assert (first, again) == (2, 0)
    assert due_events() == [(placement_id, month_text(months_ago(4))), (placement_id, month_text(months_ago(2)))]
    event = OutboxEvent.objects.filter(type=services.EVENT_CHECK_IN_DUE).first()
    assert set(event.agencies) == {str(world.cis.agency.id), str(world.hotel.agency.id)}
    assert set(event.data) == {"version", "month", "due"}
    # A late check-in still records; the month is not announced again.
    created(world.hotel.post(check_ins_url(placement_id), attendance(months_ago(4))))
    assert services.placement_check_ins_due() == 0


def test_a_month_is_due_only_after_its_grace_days(world, settings):
    start = months_ago(1)
    settings.PLACEMENT_CHECK_IN_GRACE_DAYS = 40  # last month's check-in is then still in time
    placement_id = world.placement("active", start_on=start.isoformat())

    assert services.placement_check_ins_due() == 0
    assert PlacementMonth.objects.filter(placement_id=placement_id).count() == 3


def test_months_after_an_early_end_are_not_due_and_unstarted_placements_owe_nothing(world):
    start = months_ago(4)
    ended = world.placement("active", start_on=start.isoformat())
    ok(world.hotel.post(transition_url(ended), {"status": "ended_early", "reason": "employer_withdrew",
                                                "ended_on": (start + timedelta(days=9)).isoformat()}))
    world.placement("confirmed", start_on=start.isoformat())

    assert services.placement_check_ins_due() == 1
    assert due_events() == [(ended, month_text(start))]
    assert PlacementMonth.objects.filter(placement_id=ended, voided_at__isnull=False).count() == 2


def test_tick_and_the_beat_run_the_check_in_due_job(world, settings):
    start, last = months_ago(3), months_ago(2) - timedelta(days=1)
    world.placement("active", start_on=start.isoformat(), planned_end_on=last.isoformat())

    assert "placement-check-ins-due" in settings.CELERY_BEAT_SCHEDULE
    assert tick()["placement_check_ins_due"] == 1
    assert tick()["placement_check_ins_due"] == 0

"""Plans under concurrency (PostgreSQL, a real connection per thread): the
due-date job announces each action once however many runs overlap (rows are
marked under skip_locked); two agencies opening a plan for the same person
at once get one plan and one 409; a cancel racing a completion waits for the
plan's lock and is judged against the winner."""

import threading
import time

import pytest
from django.db import connection, transaction

from agencies.models import OutboxEvent
from hub.api.errors import Conflict
from referrals.plans import services
from referrals.plans.models import Action, Plan
from tests.referrals.plans_world import World

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("ledger_transactional_db")]

HOLD_SECONDS = 0.5


def in_thread(target) -> tuple[threading.Thread, list]:
    outcome: list = []

    def run():
        try:
            outcome.append(target())
        except BaseException as exc:  # reported by the test, not lost in the thread
            outcome.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def holding(work, locked: threading.Event):
    """Run `work` in a transaction that stays open HOLD_SECONDS after it."""

    def run():
        with transaction.atomic():
            result = work()
            locked.set()
            time.sleep(HOLD_SECONDS)
        return result

    return run


def after(locked: threading.Event, work):
    def run():
        assert locked.wait(5)
        try:
            return work()
        except Conflict as error:
            return error.code

    return run


def race(first, second):
    locked = threading.Event()
    a, first_result = in_thread(holding(first, locked))
    b, second_result = in_thread(after(locked, second))
    a.join(10)
    b.join(10)
    return first_result[0], second_result[0]


def test_overlapping_due_date_runs_announce_each_action_once(party, settings):
    settings.PLAN_ACTION_DUE_DAYS = 30
    world = World(party)
    world.blue_card_basis()
    world.full_plan()

    first, second = race(services.plan_actions_due_notify, services.plan_actions_due_notify)

    assert (first, second) == (3, 0)  # the second run skipped the rows the first held
    assert services.plan_actions_due_notify() == 0
    announced = OutboxEvent.objects.filter(type=services.EVENT_ACTION_DUE)
    assert sorted(str(e.object_id) for e in announced) == sorted(str(a.id) for a in Action.objects.all())


def test_two_plans_opened_at_once_for_one_person_give_one_plan_and_a_409(party):
    world = World(party)
    world.blue_card_basis()
    police = world.police.caller

    def open_by(caller):
        return lambda: services.plan_create(caller=caller, subject_id=world.subject.id, stage="crisis").id

    first, second = race(open_by(world.ops.caller), open_by(police))

    assert second == services.PLAN_EXISTS
    assert list(Plan.objects.values_list("id", flat=True)) == [first]


def test_a_cancel_racing_a_completion_waits_for_it_and_gets_409(party):
    world = World(party)
    world.blue_card_basis()
    plan = world.full_plan()
    action_id = plan.actions["school"]

    def complete():
        return services.plan_action_transition(caller=world.school.caller, action_id=action_id, to="done").status

    def cancel():
        return services.plan_action_transition(caller=world.ops.caller, action_id=action_id, to="cancelled").status

    first, second = race(complete, cancel)

    assert (first, second) == ("done", "plan_action_final")
    assert Action.objects.get(pk=action_id).status == "done"

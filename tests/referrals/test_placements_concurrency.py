"""Placements under concurrency (PostgreSQL, a real connection per thread):
two proposals for an agreement's last place give one placement and one 409
(the second waits for the agreement's row lock and then counts the first);
overlapping runs of the check-in-due job announce each month once."""

import threading

import pytest
from django.db import connection

from agencies.models import OutboxEvent
from hub.api.errors import Conflict
from referrals.placements import services
from referrals.placements.models import Placement
from tests.referrals.placements_world import World, months_ago
from tests.referrals.test_plans_concurrency import race

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("ledger_transactional_db")]


def propose(world, agreement_id):
    def run():
        return services.placement_create(
            caller=world.cis.caller, subject_id=world.subject.id, employer_id=world.hotel.agency.id,
            agreement_id=agreement_id, coordinator_id=world.coordinator.id, role="kitchen assistant",
            hours_per_week=30, start_on=months_ago(1),
        ).id

    return run


def test_two_proposals_for_the_last_place_give_one_placement_and_a_409(party):
    world = World(party)
    world.consent(world.hotel)
    agreement_id = world.agreement(places=2)
    world.placement("active", agreement_id=agreement_id)

    first, second = race(propose(world, agreement_id), propose(world, agreement_id))

    assert second == services.AGREEMENT_FULL  # it waited for the first's lock, then counted its placement
    assert Placement.objects.filter(agreement_id=agreement_id).count() == 2
    assert Placement.objects.filter(pk=first).exists()


def test_proposals_started_together_never_exceed_the_places(party):
    world = World(party)
    world.consent(world.hotel)
    agreement_id = world.agreement(places=1)
    start = threading.Barrier(3)
    results = []

    def run():
        try:
            start.wait(5)
            results.append(propose(world, agreement_id)())
        except Conflict as refused:
            results.append(refused.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)

    assert sorted(map(str, results)).count(services.AGREEMENT_FULL) == 2
    assert Placement.objects.filter(agreement_id=agreement_id).count() == 1


def test_overlapping_check_in_due_runs_announce_each_month_once(party):
    world = World(party)
    world.consent(world.hotel)
    world.placement("active", start_on=months_ago(4).isoformat(),
                    planned_end_on=(months_ago(2).replace(day=1)).isoformat())

    first, second = race(services.placement_check_ins_due, services.placement_check_ins_due)

    assert (first, second) == (3, 0)  # the second run skipped the rows the first held
    assert services.placement_check_ins_due() == 0
    assert OutboxEvent.objects.filter(type=services.EVENT_CHECK_IN_DUE).count() == 3

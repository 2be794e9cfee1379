"""Two caseworkers accept two referrals for a shelter's last place at once
(issue 14, acceptance; PostgreSQL, a real connection per thread). Accepting
locks the service row before it reads the free places, so the second waits
for the first and finds none: exactly one acceptance succeeds, the other is
a 409 `no_capacity`, and the count ends at 0, never below."""

import threading
import time

import pytest
from django.db import connection, transaction

from agencies.directory.services import NO_CAPACITY
from agencies.models import CapacityChange, DirectoryService
from hub.api.errors import Conflict
from referrals import services
from referrals.lifecycle import ACCEPTED, RECEIVED, RECIPIENT
from referrals.models import Referral, ReferralTransition
from tests.referrals.conftest import World
from tests.referrals.test_concurrent_transitions import in_thread

from .directory_world import publish

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("ledger_transactional_db")]

def accept(world, referral):
    try:
        services.referral_transition(caller=world.callers[RECIPIENT], referral_id=referral.id, to=ACCEPTED)
    except Conflict as refused:
        return refused.code
    return ACCEPTED


def outcome(world, service, referrals) -> tuple:
    statuses = sorted(Referral.objects.filter(pk__in=[r.pk for r in referrals]).values_list("status", flat=True))
    taken = CapacityChange.objects.filter(service=service, reason="referral_accepted").count()
    accepted = ReferralTransition.objects.filter(to_status=ACCEPTED).count()
    return DirectoryService.objects.get(pk=service.pk).capacity_free, statuses, taken, accepted


def two_received(make_agency, make_client):
    world = World(make_agency, make_client)
    service = publish(world.callers[RECIPIENT], name="Schronisko – ostatnie miejsce", places=(5, 1))
    referrals = [world.referral_in(RECEIVED), world.referral_in(RECEIVED)]
    return world, service, referrals


def test_two_acceptances_at_once_take_the_last_place_once(make_agency, make_client):
    world, service, referrals = two_received(make_agency, make_client)
    start = threading.Barrier(2)

    def run(referral):
        def target():
            start.wait(5)
            return accept(world, referral)
        return target

    runs = [in_thread(run(referral)) for referral in referrals]
    for thread, _ in runs:
        thread.join(10)

    assert sorted(result[0] for _, result in runs) == sorted([ACCEPTED, NO_CAPACITY])
    assert outcome(world, service, referrals) == (0, sorted([ACCEPTED, RECEIVED]), 1, 1)


def _a_backend_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_an_acceptance_waits_for_one_in_flight_and_is_judged_against_it(make_agency, make_client):
    """The first acceptance holds the service row until the second is seen
    waiting on that lock (pg_stat_activity), then commits: the second, let
    through, reads the count the first left and is refused."""
    world, service, (first, second) = two_received(make_agency, make_client)
    holding, release = threading.Event(), threading.Event()

    def accept_and_hold():
        with transaction.atomic():
            result = accept(world, first)
            holding.set()
            assert release.wait(30), "the second acceptance never waited on the lock"
        return result

    def accept_meanwhile():
        assert holding.wait(30)
        return accept(world, second)

    held, held_result = in_thread(accept_and_hold)
    meanwhile, meanwhile_result = in_thread(accept_meanwhile)
    deadline = time.monotonic() + 30  # only turns a hang into a failure
    while not _a_backend_waits_on_a_lock():
        assert time.monotonic() < deadline and held.is_alive(), held_result
        time.sleep(0.05)
    release.set()
    held.join(30)
    meanwhile.join(30)

    assert (held_result, meanwhile_result) == ([ACCEPTED], [NO_CAPACITY])
    assert outcome(world, service, [first, second]) == (0, sorted([ACCEPTED, RECEIVED]), 1, 1)

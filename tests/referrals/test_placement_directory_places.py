"""An employer's placement places in the service directory (issue 14, item 1):
its one counted `employment_activation` service shows the places of its
agreements in force, and how many no proposed, confirmed or active placement
holds (referrals/placements/services/placements.py employer_places_publish)."""

import pytest

from agencies.directory.services import directory_service_create, location_create
from agencies.models import CapacityChange, DirectoryService
from referrals.placements.models import PlacementAgreement
from referrals.placements.services import employer_places_recount

from .placements_world import World, created, months_ago, ok, transition_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(party) -> World:
    world = World(party)
    world.consent(world.hotel)
    return world


def _publish(employer, *, service="employment_activation", places=(1, 1)) -> DirectoryService:
    where = location_create(caller=employer.caller, name="Hotel Piast – kadry", teryt="0264011")
    total, free = places
    return directory_service_create(
        caller=employer.caller, location=where, service=service, name=f"Staże ({service})",
        capacity_total=total, capacity_free=free,
    )


def _counted(service: DirectoryService) -> tuple[int, int]:
    service.refresh_from_db()
    return service.capacity_total, service.capacity_free


def test_agreements_and_placements_count_the_employers_places(world):
    offer = _publish(world.hotel)
    first = world.agreement(world.hotel, places=2)
    world.agreement(world.hotel, places=1)
    assert _counted(offer) == (3, 3)

    proposed = created(world.propose(first))["id"]
    assert _counted(offer) == (3, 2)
    ok(world.hotel.post(transition_url(proposed), {"status": "declined", "reason": "no_vacancy"}))
    assert _counted(offer) == (3, 3)

    reasons = list(CapacityChange.objects.filter(service=offer).values_list("reason", "free"))
    assert reasons[-4:] == [("agreement_places", 2), ("agreement_places", 3), ("agreement_places", 2),
                            ("agreement_places", 3)]


def test_a_placement_ended_gives_its_place_back(world):
    offer = _publish(world.hotel)
    placement = world.placement("active", agreement_id=world.agreement(world.hotel, places=1))
    assert _counted(offer) == (1, 0)
    ok(world.cis.post(transition_url(placement), {"status": "completed"}))
    assert _counted(offer) == (1, 1)


def test_agreements_not_in_force_today_count_no_places(world):
    offer = _publish(world.hotel, places=(5, 5))
    world.agreement(world.hotel, places=4, valid_from=months_ago(24), valid_until=months_ago(13))
    assert _counted(offer) == (0, 0)


def test_another_employers_agreement_leaves_the_count_alone(world):
    offer = _publish(world.hotel, places=(5, 4))
    world.agreement(world.bakery, places=3)
    assert _counted(offer) == (5, 4)


def test_two_counted_services_are_left_alone(world):
    """Which of the two the places belong to is not known: neither is changed."""
    offers = [_publish(world.hotel), _publish(world.hotel)]
    world.agreement(world.hotel, places=3)
    assert [_counted(offer) for offer in offers] == [(1, 1), (1, 1)]
    assert not CapacityChange.objects.filter(reason="agreement_places").exists()


def test_a_service_that_counts_no_places_is_left_alone(world):
    offer = _publish(world.hotel, places=(None, None))
    world.agreement(world.hotel, places=3)
    assert _counted(offer) == (None, None)
    assert not CapacityChange.objects.filter(reason="agreement_places").exists()


def test_the_daily_recount_sees_an_agreement_run_out(world):
    """Nothing happens on the day an agreement ends: the beat's daily
    recount (referrals.tasks.employer_places_task) takes its places away."""
    offer = _publish(world.hotel)
    agreement = world.agreement(world.hotel, places=2)
    world.agreement(world.bakery, places=1)
    assert _counted(offer) == (2, 2)
    # The agreement's last day passes (the calendar, not a request, changes it).
    PlacementAgreement.objects.filter(pk=agreement).update(valid_until=months_ago(1))
    assert _counted(offer) == (2, 2)

    assert employer_places_recount() == 2  # the hotel and the bakery
    assert _counted(offer) == (0, 0)
    assert CapacityChange.objects.filter(service=offer).last().actor == "system:employer_places_recount"

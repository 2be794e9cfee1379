"""Live capacity (issue 14, item 1): the owning agency counts its free
places through the API (checked, with a pointer per wrong number); a
referral accepted takes a place and one ended gives it back; accepting with
no free place is a 409 `no_capacity` that leaves the referral as it was."""

import pytest

from agencies.directory import services as directory
from agencies.models import CapacityChange, DirectoryService, OutboxEvent
from hub.api.errors import Conflict
from referrals import services as referrals
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
    SENDER,
)
from referrals.models import Referral, ReferralTransition
from tests.referrals.conftest import (
    CONSENTED,
    GOOD_REASON,
    PROFILE,
    WITHHOLD,
    World,
    consent,
    move,
    send,
    transition_url,
    valid_outcome,
)

from .directory_world import capacity_url, detail_url, publish

POLISH = {"HTTP_ACCEPT_LANGUAGE": "pl-PL,pl;q=0.9"}


# The referral tests' parties (tests/referrals/conftest.py), for the API's referrals.
@pytest.fixture
def ops(party):
    return party("MOPS Wrocław", "ops")


@pytest.fixture
def shelter(party):
    return party("Schronisko", "shelter")


@pytest.fixture
def subject_id(ops, shelter):
    """Anna, registered by the OPS, with her consent to the shelter."""
    created = ops.post("/api/v1/subjects/", {"external_ref": "W/1", "profile": PROFILE})
    assert created.status_code == 201, created.content
    consent(ops, created.json()["id"], {"agencies": [str(shelter.agency.id)]}, CONSENTED)
    return created.json()["id"]


def put(party, path, body, **headers):
    return party.client.put(path, body, content_type="application/json",
                            HTTP_AUTHORIZATION=f"Bearer {party.token}", **headers)


def free(service) -> int:
    return DirectoryService.objects.get(pk=service.pk).capacity_free


# --- Counting through the API --------------------------------------------------------------------


def test_the_owner_counts_its_free_places(shelter):
    service = publish(shelter.caller, name="Schronisko", places=(8, 1))

    counted = put(shelter, capacity_url(service.id), {"free": 3})

    assert counted.status_code == 200, counted.content
    capacity = counted.json()["capacity"]
    assert (capacity["total"], capacity["free"], capacity["stale"]) == (8, 3, False)
    change = CapacityChange.objects.filter(service=service).latest("id")
    assert (change.reason, change.free, change.total, change.referral_id) == ("agency_update", 3, 8, None)
    assert change.actor == f"client:{shelter.application.client_id}"
    assert DirectoryService.objects.get(pk=service.pk).capacity_updated_at == change.at


def test_a_new_count_clears_the_stale_flag(shelter, settings):
    from datetime import timedelta

    from django.utils import timezone

    service = publish(shelter.caller, name="Schronisko", places=(8, 1), counted_at=timezone.now() - timedelta(days=3))
    assert shelter.get(detail_url(service.id)).json()["capacity"]["stale"] is True

    counted = put(shelter, capacity_url(service.id), {"free": 1})

    assert counted.json()["capacity"]["stale"] is False


def test_the_total_changes_with_the_count(shelter):
    service = publish(shelter.caller, name="Schronisko", places=(8, 1))

    counted = put(shelter, capacity_url(service.id), {"free": 10, "total": 12})

    assert (counted.json()["capacity"]["total"], counted.json()["capacity"]["free"]) == (12, 10)


@pytest.mark.parametrize("body, pointer", [
    ({"free": 9}, "/free"),  # more than the 8 there are
    ({"free": 5, "total": 4}, "/free"),
    ({"free": -1}, "/free"),
    ({"free": "dużo"}, "/free"),
    ({"free": 1.5}, "/free"),
    ({}, "/free"),
    ({"free": 1, "total": -2}, "/total"),
    ({"free": 1, "places": 3}, "/places"),
])
def test_a_wrong_count_is_a_422_at_its_pointer_and_changes_nothing(shelter, body, pointer):
    service = publish(shelter.caller, name="Schronisko", places=(8, 1))

    response = put(shelter, capacity_url(service.id), body)

    assert response.status_code == 422, response.content
    assert [e["pointer"] for e in response.json()["errors"]] == [pointer]
    assert free(service) == 1 and CapacityChange.objects.filter(service=service).count() == 1


def test_a_service_that_counts_no_places_needs_the_total_to_start(shelter):
    service = publish(shelter.caller, name="Poradnia", service="psychological")

    refused = put(shelter, capacity_url(service.id), {"free": 1})
    started = put(shelter, capacity_url(service.id), {"free": 1, "total": 2})

    assert refused.status_code == 409 and refused.json()["code"] == directory.CAPACITY_NOT_COUNTED
    assert "total" in refused.json()["detail"]
    assert started.status_code == 200 and started.json()["capacity"]["free"] == 1


def test_another_agency_cannot_count_the_places(shelter, ops):
    service = publish(shelter.caller, name="Schronisko", places=(8, 1))

    response = put(ops, capacity_url(service.id), {"free": 8})

    assert response.status_code == 404
    assert free(service) == 1


# --- Referrals take and give back places ---------------------------------------------------------


@pytest.fixture
def world(make_agency, make_client) -> World:
    return World(make_agency, make_client)


def shelter_service(world, places=(2, 1), **fields):
    return publish(world.callers[RECIPIENT], name="Schronisko Kraków – miejsca", places=places, **fields)


def step(world, referral, party, to):
    return referrals.referral_transition(
        caller=world.callers[party], referral_id=referral.id, to=to, reason=GOOD_REASON, outcome=valid_outcome(to, True),
    )


def test_accepting_takes_a_place_and_completing_gives_it_back(world):
    service = shelter_service(world, places=(2, 1))
    referral = world.referral_in(RECEIVED)

    step(world, referral, RECIPIENT, ACCEPTED)
    assert free(service) == 0
    step(world, referral, RECIPIENT, IN_PROGRESS)
    assert free(service) == 0
    step(world, referral, RECIPIENT, COMPLETED)

    assert free(service) == 1
    changes = list(CapacityChange.objects.filter(service=service).values_list("reason", "free", "referral_id"))
    assert changes == [("agency_update", 1, None), ("referral_accepted", 0, referral.id), ("referral_ended", 1, referral.id)]


@pytest.mark.parametrize("way, party, to", [
    ([ACCEPTED], RECIPIENT, FAILED),
    ([ACCEPTED], SENDER, CANCELLED),
    ([ACCEPTED, IN_PROGRESS], RECIPIENT, FAILED),
    ([ACCEPTED, IN_PROGRESS], SENDER, CANCELLED),
    ([ACCEPTED, IN_PROGRESS, ON_HOLD], RECIPIENT, FAILED),
    ([ACCEPTED, IN_PROGRESS, ON_HOLD], SENDER, CANCELLED),
])
def test_every_end_of_an_accepted_referral_gives_the_place_back(world, way, party, to):
    service = shelter_service(world, places=(3, 3))
    referral = world.referral_in(RECEIVED)
    for status in way:
        step(world, referral, RECIPIENT, status)
    assert free(service) == 2

    step(world, referral, party, to)

    assert free(service) == 3


@pytest.mark.parametrize("party, to", [(RECIPIENT, REJECTED), (SENDER, CANCELLED)])
def test_a_referral_ended_before_acceptance_holds_no_place(world, party, to):
    service = shelter_service(world, places=(3, 1))
    referral = world.referral_in(RECEIVED)

    step(world, referral, party, to)

    assert free(service) == 1
    assert CapacityChange.objects.filter(service=service).count() == 1


def test_a_place_is_never_given_back_above_the_places_there_are(world):
    service = shelter_service(world, places=(2, 1))
    referral = world.referral_in(ACCEPTED)
    directory.capacity_set(caller=world.callers[RECIPIENT], service_id=service.id, free=2)  # recounted

    step(world, referral, RECIPIENT, FAILED)

    assert free(service) == 2


def test_accepting_with_no_free_place_is_a_409_and_the_referral_stays_received(world):
    service = shelter_service(world, places=(2, 0))
    referral = world.referral_in(RECEIVED)
    before = (Referral.objects.filter(pk=referral.pk).values().get(), ReferralTransition.objects.count(),
              OutboxEvent.objects.count(), CapacityChange.objects.count())

    with pytest.raises(Conflict) as refused:
        step(world, referral, RECIPIENT, ACCEPTED)

    assert refused.value.code == directory.NO_CAPACITY == "no_capacity"
    assert service.name in refused.value.detail
    assert refused.value.extra == {"directory_service": str(service.id)}
    after = (Referral.objects.filter(pk=referral.pk).values().get(), ReferralTransition.objects.count(),
             OutboxEvent.objects.count(), CapacityChange.objects.count())
    assert after == before
    assert Referral.objects.get(pk=referral.pk).status == RECEIVED


def test_the_409_through_the_api_names_the_service_in_polish(ops, shelter, subject_id):
    service = publish(shelter.caller, name="Schronisko Bezpieczna Przystań", places=(4, 0))
    referral_id = send(ops, shelter, subject_id, withhold_categories=WITHHOLD).json()["id"]
    move(shelter, referral_id, RECEIVED)

    english = shelter.post(transition_url(referral_id), {"status": ACCEPTED})
    polish = shelter.post(transition_url(referral_id), {"status": ACCEPTED}, **POLISH)

    assert english.status_code == polish.status_code == 409
    assert english.json()["code"] == polish.json()["code"] == "no_capacity"
    assert english.json()["directory_service"] == str(service.id)
    assert service.name in english.json()["detail"] and service.name in polish.json()["detail"]
    assert polish.json()["detail"] != english.json()["detail"]
    assert shelter.get(f"/api/v1/referrals/{referral_id}").json()["status"] == RECEIVED


def test_an_agency_with_several_counted_services_of_the_code_counts_none_unless_one_was_picked(world):
    first = shelter_service(world, places=(3, 3))
    second = publish(world.callers[RECIPIENT], name="Drugi dom", places=(3, 3))
    unpicked = world.referral_in(ACCEPTED)
    picked = referrals.referral_create(
        caller=world.callers[SENDER], subject_id=world.subject.id, to_agency_id=world.callers[RECIPIENT].agency.id,
        service="shelter", urgency="urgent", purpose="referral", payload={"summary": "Tonight."},
        withhold_categories=WITHHOLD, directory_service_id=second.id,
    )
    step(world, picked, RECIPIENT, RECEIVED)
    step(world, picked, RECIPIENT, ACCEPTED)

    assert Referral.objects.get(pk=unpicked.pk).status == ACCEPTED
    assert (free(first), free(second)) == (3, 2)


def test_a_service_of_another_code_or_counting_nothing_is_not_counted(world):
    other_code = publish(world.callers[RECIPIENT], name="Interwencja", service="crisis_intervention", places=(2, 2))
    uncounted = publish(world.callers[RECIPIENT], name="Schronisko bez liczenia")

    referral = world.referral_in(ACCEPTED)

    assert referral.status == ACCEPTED
    assert free(other_code) == 2 and free(uncounted) is None
    assert not CapacityChange.objects.filter(reason="referral_accepted").exists()


# --- The sender picks a service from the directory --------------------------------------------


def test_a_referral_sent_to_a_picked_service_names_it(ops, shelter, subject_id):
    service = publish(shelter.caller, name="Schronisko", places=(4, 2))

    created = send(ops, shelter, subject_id, withhold_categories=WITHHOLD, directory_service=str(service.id))

    assert created.status_code == 201, created.content
    referral_id = created.json()["id"]
    assert ops.get(f"/api/v1/referrals/{referral_id}").json()["directory_service"] == str(service.id)
    move(shelter, referral_id, ACCEPTED)
    assert free(service) == 1


@pytest.mark.parametrize("which", ["another agency's", "inactive", "another service code", "unknown"])
def test_a_picked_service_that_does_not_fit_is_a_422_at_its_pointer(party, ops, shelter, subject_id, which):
    stranger = party("Inne schronisko", "shelter")
    service = {
        "another agency's": lambda: publish(stranger.caller, name="Cudze", places=(2, 2)),
        "inactive": lambda: publish(shelter.caller, name="Zamknięte", places=(2, 2), status="inactive"),
        "another service code": lambda: publish(shelter.caller, name="Poradnia", service="psychological"),
        "unknown": lambda: DirectoryService(id="00000000-0000-4000-8000-000000000000"),
    }[which]()

    response = send(ops, shelter, subject_id, withhold_categories=WITHHOLD, directory_service=str(service.id))

    assert response.status_code == 422, response.content
    assert [e["pointer"] for e in response.json()["errors"]] == ["/directory_service"]
    assert not Referral.objects.exists()

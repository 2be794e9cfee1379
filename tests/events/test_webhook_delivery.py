"""Webhook endpoints through the API and signed delivery of the events that
referrals write, checked by a receiver that verifies every signature with
the standardwebhooks library."""

import pytest

from agencies.models import Delivery, OutboxEvent, WebhookEndpoint

from .conftest import WEBHOOK_ENDPOINTS, assert_no_person_data, refer, register, subject_with_consent, transition

pytestmark = pytest.mark.django_db


def audience_event_ids(party) -> set[str]:
    return {str(i) for i in OutboxEvent.objects.filter(audience__agency=party.agency).values_list("id", flat=True)}


def test_the_secret_is_shown_once_and_never_listed(shelter, receiver):
    created = register(shelter, receiver)

    listed = shelter.get(WEBHOOK_ENDPOINTS)
    detail = shelter.get(f"{WEBHOOK_ENDPOINTS}{created['id']}")

    assert created["secret"].startswith("whsec_")
    assert created["url"] == receiver.url("/hook") and created["active"] is True
    assert [e["id"] for e in listed.json()["results"]] == [created["id"]]
    for response in (listed, detail):
        assert response.status_code == 200
        assert created["secret"] not in response.content.decode()
        assert "secret" not in response.content.decode()


def test_endpoints_are_the_agencys_own(shelter, outsider, receiver):
    created = register(shelter, receiver)

    listed = outsider.get(WEBHOOK_ENDPOINTS).json()["results"]
    detail = outsider.get(f"{WEBHOOK_ENDPOINTS}{created['id']}")
    deleted = outsider.client.delete(f"{WEBHOOK_ENDPOINTS}{created['id']}", HTTP_AUTHORIZATION=f"Bearer {outsider.token}")

    assert listed == []
    assert detail.status_code == 404 and deleted.status_code == 404
    assert WebhookEndpoint.objects.filter(pk=created["id"]).exists()


def test_managing_endpoints_needs_the_webhooks_scope(party, receiver):
    reader = party("OPS bez webhooków", "ops")  # every scope but webhooks:manage

    response = reader.post(WEBHOOK_ENDPOINTS, {"url": receiver.url("/hook"), "events": []})

    assert response.status_code == 403
    assert not WebhookEndpoint.objects.exists()


def test_unknown_event_types_are_refused_with_their_pointer(shelter, receiver):
    response = shelter.post(WEBHOOK_ENDPOINTS, {"url": receiver.url("/hook"), "events": ["referral.requested", "referal.typo"]})

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["pointer"] == "/events/1"
    assert error["detail"].startswith("Unknown event type 'referal.typo'. One of: referral.requested, ")


def test_every_event_reaches_each_agencys_receiver_once_signed(
    ops, shelter, shelter_b, outsider, receiver, django_capture_on_commit_callbacks
):
    register(ops, receiver, "/ops")
    register(shelter, receiver, "/shelter")
    register(outsider, receiver, "/outsider")
    subject_id, _ = subject_with_consent(ops, [shelter, shelter_b])

    with django_capture_on_commit_callbacks(execute=True):
        first = refer(ops, shelter, subject_id)
        refer(ops, shelter, subject_id, urgency="urgent")
        refer(ops, shelter_b, subject_id)  # the shelter is not concerned
        transition(shelter, first, "received")
        transition(shelter, first, "accepted")

    assert receiver.rejected == []  # every signature verified
    assert len(audience_event_ids(shelter)) == 4
    assert sorted(receiver.event_ids("/shelter")) == sorted(audience_event_ids(shelter))
    assert sorted(receiver.event_ids("/ops")) == sorted(audience_event_ids(ops))
    assert receiver.event_ids("/outsider") == []
    assert all(r.webhook_id == r.event_id for r in receiver.received)
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.DELIVERED}
    assert Delivery.objects.count() == len(receiver.received) == 4 + 5


def test_a_delivery_carries_the_thin_event_and_no_person_data(ops, shelter, receiver, django_capture_on_commit_callbacks):
    register(shelter, receiver, "/shelter")
    subject_id, _ = subject_with_consent(ops, [shelter])

    with django_capture_on_commit_callbacks(execute=True):
        referral_id = refer(ops, shelter, subject_id)

    [request] = receiver.received
    event = OutboxEvent.objects.get(id=request.event_id)
    assert request.body == event.as_message()
    assert request.body["type"] == "referral.requested"
    assert request.body["object"] == {"type": "referral", "id": referral_id}
    assert sorted(request.body["agencies"]) == sorted([str(ops.agency.id), str(shelter.agency.id)])
    assert_no_person_data(request.body)
    assert_no_person_data(request.raw.decode())


def test_an_endpoint_gets_only_the_event_types_it_asked_for(ops, shelter, receiver, django_capture_on_commit_callbacks):
    register(shelter, receiver, "/shelter", events=["referral.accepted"])
    subject_id, _ = subject_with_consent(ops, [shelter])

    with django_capture_on_commit_callbacks(execute=True):
        referral_id = refer(ops, shelter, subject_id)
        transition(shelter, referral_id, "received")
        transition(shelter, referral_id, "accepted")

    assert [r.body["type"] for r in receiver.received] == ["referral.accepted"]


def test_a_deleted_endpoint_gets_nothing_more(ops, shelter, receiver, django_capture_on_commit_callbacks):
    created = register(shelter, receiver, "/shelter")
    subject_id, _ = subject_with_consent(ops, [shelter])
    deleted = shelter.client.delete(f"{WEBHOOK_ENDPOINTS}{created['id']}", HTTP_AUTHORIZATION=f"Bearer {shelter.token}")

    with django_capture_on_commit_callbacks(execute=True):
        refer(ops, shelter, subject_id)

    assert deleted.status_code == 204
    assert receiver.attempts == [] and not Delivery.objects.exists()


def test_a_retried_registration_with_its_idempotency_key_creates_one_endpoint(shelter, receiver):
    body = {"url": receiver.url("/hook"), "events": []}

    first = shelter.post(WEBHOOK_ENDPOINTS, body, HTTP_IDEMPOTENCY_KEY="register-hook-1")
    retried = shelter.post(WEBHOOK_ENDPOINTS, body, HTTP_IDEMPOTENCY_KEY="register-hook-1")

    assert first.status_code == retried.status_code == 201
    assert retried["Idempotent-Replayed"] == "true"
    assert retried.json() == first.json()  # the client that lost the answer gets its secret
    assert WebhookEndpoint.objects.count() == 1

"""Retries with growing backoff, Retry-After, 410 Gone, dead letters and
replay. Time is advanced by moving a delivery's `next_attempt_at` into the
past (what waiting would do); the beat sweep then sends what is due."""

from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.utils import timezone

from agencies.models import Delivery, WebhookEndpoint
from agencies.tasks import outbox_sweep_task
from agencies.webhooks import backoff, webhook_deliver

from .conftest import WEBHOOK_ENDPOINTS, make_due, refer, register, subject_with_consent

pytestmark = pytest.mark.django_db

PATH = "/shelter"


@pytest.fixture
def scene(ops, shelter, receiver):
    endpoint = register(shelter, receiver, PATH, events=["referral.requested"])
    subject_id, _ = subject_with_consent(ops, [shelter])
    return {"endpoint": endpoint["id"], "subject": subject_id}


@pytest.fixture
def send(ops, shelter, scene, django_capture_on_commit_callbacks):
    """Send one referral and let the nudged relay make its first delivery attempt."""

    def send_one() -> Delivery:
        with django_capture_on_commit_callbacks(execute=True):
            referral_id = refer(ops, shelter, scene["subject"])
        return Delivery.objects.get(event__object_id=referral_id)

    return send_one


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    """One beat of the sweep; (before, after) brackets the attempt times."""

    def run():
        before = timezone.now()
        with django_capture_on_commit_callbacks(execute=True):
            outbox_sweep_task.delay()
        return before, timezone.now()

    return run


def deliveries_url(endpoint_id, **query):
    return f"{WEBHOOK_ENDPOINTS}{endpoint_id}/deliveries/", query


def test_a_receiver_that_fails_then_recovers_gets_the_event_with_growing_backoff(receiver, send, sweep, settings):
    base = settings.WEBHOOK_BACKOFF_BASE_SECONDS
    receiver.fail(PATH, times=3)
    before = timezone.now()
    delivery = send()
    after = timezone.now()

    delays = []
    for attempt in (1, 2, 3):
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Delivery.PENDING, attempt, 500)
        earliest, latest = delivery.next_attempt_at - after, delivery.next_attempt_at - before
        ceiling = timedelta(seconds=base * 2 ** (attempt - 1))
        assert ceiling / 2 - (latest - earliest) <= earliest and latest <= ceiling + (latest - earliest)
        delays.append(latest)
        assert webhook_deliver(delivery.id) is None  # not due yet: nothing is sent early
        make_due(delivery)
        before, after = sweep()

    delivery.refresh_from_db()
    assert delivery.status == Delivery.DELIVERED and delivery.attempts == 4
    assert delays == sorted(delays) and delays[0] < delays[2]
    event_id = str(delivery.event.id)
    assert receiver.event_ids(PATH) == [event_id]
    assert [a.status for a in receiver.attempts_for(event_id)] == [500, 500, 500, 200]
    assert {a.webhook_id for a in receiver.attempts_for(event_id)} == {event_id}  # a retry keeps its webhook-id
    assert receiver.rejected == []


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap(settings):
    base, cap = settings.WEBHOOK_BACKOFF_BASE_SECONDS, settings.WEBHOOK_BACKOFF_CAP_SECONDS
    for attempt in range(1, 30):
        ceiling = min(cap, base * 2 ** (attempt - 1))
        delays = {backoff(attempt).total_seconds() for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered
    assert backoff(3, retry_after=7200) == timedelta(seconds=7200)


def retry_after_in(seconds: int, form: str) -> str:
    if form == "seconds":
        return str(seconds)
    return format_datetime(timezone.now() + timedelta(seconds=seconds), usegmt=True)


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_retry_after_is_honoured(receiver, send, form):
    receiver.respond(PATH, 429, retry_after=retry_after_in(3 * 3600, form))
    before = timezone.now()

    delivery = send()

    delivery.refresh_from_db()
    assert delivery.status == Delivery.PENDING and delivery.last_status_code == 429
    # An HTTP-date has whole seconds: allow the second it was rounded down in.
    assert delivery.next_attempt_at >= before + timedelta(seconds=3 * 3600 - 1)
    assert delivery.next_attempt_at <= timezone.now() + timedelta(seconds=3 * 3600 + 1)


def test_a_short_retry_after_does_not_shorten_the_backoff(receiver, send, settings):
    receiver.respond(PATH, 503, retry_after="1")
    before = timezone.now()

    delivery = send()

    delivery.refresh_from_db()
    assert delivery.next_attempt_at >= before + timedelta(seconds=settings.WEBHOOK_BACKOFF_BASE_SECONDS / 2)


def test_410_gone_disables_the_endpoint_and_dead_letters(ops, shelter, scene, receiver, django_capture_on_commit_callbacks):
    receiver.respond(PATH, 410)
    with django_capture_on_commit_callbacks(execute=True):
        first = refer(ops, shelter, scene["subject"])
        second = refer(ops, shelter, scene["subject"])  # relayed in the same batch, pending behind the first

    gone = Delivery.objects.get(event__object_id=first)
    behind = Delivery.objects.get(event__object_id=second)
    endpoint = WebhookEndpoint.objects.get(pk=scene["endpoint"])
    assert (gone.status, gone.attempts, gone.last_status_code) == (Delivery.DEAD, 1, 410)
    assert behind.status == Delivery.DEAD and behind.last_status_code is None  # never sent
    assert endpoint.active is False and endpoint.disabled_reason == "410 Gone"
    assert len(receiver.attempts) == 1
    shown = shelter.get(f"{WEBHOOK_ENDPOINTS}{scene['endpoint']}").json()
    assert shown["active"] is False and shown["disabled_reason"] == "410 Gone"

    with django_capture_on_commit_callbacks(execute=True):
        refer(ops, shelter, scene["subject"])
    assert Delivery.objects.count() == 2  # nothing more for a disabled endpoint
    assert len(receiver.attempts) == 1

    replay = shelter.post(f"/api/v1/deliveries/{gone.id}/replay")
    assert replay.status_code == 422 and replay.json()["code"] == "not_replayable"


def test_after_max_attempts_the_delivery_is_dead_listed_and_replayable(
    shelter, outsider, scene, receiver, send, sweep, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver.fail(PATH, times=3)
    delivery = send()
    for _ in range(2):
        make_due(delivery)
        sweep()
    make_due(delivery)
    sweep()  # dead: the sweep leaves it alone

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Delivery.DEAD, 3, 500)
    assert len(receiver.attempts) == 3 and receiver.received == []

    url, query = deliveries_url(scene["endpoint"], status="dead")
    dead = shelter.get(url, **query)
    assert dead.status_code == 200
    assert [(d["id"], d["status"], d["attempts"], d["event"]) for d in dead.json()["results"]] == [
        (str(delivery.id), "dead", 3, str(delivery.event.id))
    ]
    assert shelter.get(url, status="pending").json()["results"] == []
    bad = shelter.get(url, status="buried")
    assert bad.status_code == 422 and bad.json()["errors"][0]["parameter"] == "status"

    assert outsider.get(url, **query).status_code == 404
    assert outsider.post(f"/api/v1/deliveries/{delivery.id}/replay").status_code == 404
    delivery.refresh_from_db()
    assert delivery.status == Delivery.DEAD

    with django_capture_on_commit_callbacks(execute=True):
        replayed = shelter.post(f"/api/v1/deliveries/{delivery.id}/replay")

    assert replayed.status_code == 200, replayed.content
    delivery.refresh_from_db()
    assert delivery.status == Delivery.DELIVERED
    event_id = str(delivery.event.id)
    assert receiver.event_ids(PATH) == [event_id]
    assert [a.webhook_id for a in receiver.attempts_for(event_id)] == [event_id] * 4
    assert shelter.get(url, **query).json()["results"] == []
    again = shelter.post(f"/api/v1/deliveries/{delivery.id}/replay")
    assert again.status_code == 422  # only dead letters are replayed


@pytest.mark.parametrize("retry_after", ["99999999999", "999999999999999", "²"])
def test_a_receivers_absurd_retry_after_is_bounded_not_a_crash(receiver, send, settings, retry_after):
    receiver.respond(PATH, 503, retry_after=retry_after)

    delivery = send()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Delivery.PENDING, 1, 503)
    assert delivery.next_attempt_at <= timezone.now() + timedelta(seconds=settings.WEBHOOK_BACKOFF_CAP_SECONDS)



def test_an_endpoint_disabled_by_410_is_enabled_again_and_its_dead_letter_replayed(
    ops, shelter, outsider, scene, receiver, django_capture_on_commit_callbacks
):
    receiver.respond(PATH, 410)
    with django_capture_on_commit_callbacks(execute=True):
        referral = refer(ops, shelter, scene["subject"])
    gone = Delivery.objects.get(event__object_id=referral)

    stranger = outsider.post(f"{WEBHOOK_ENDPOINTS}{scene['endpoint']}/enable")
    enabled = shelter.post(f"{WEBHOOK_ENDPOINTS}{scene['endpoint']}/enable")
    with django_capture_on_commit_callbacks(execute=True):
        replayed = shelter.post(f"/api/v1/deliveries/{gone.id}/replay")

    assert stranger.status_code == 404
    assert enabled.status_code == 200 and enabled.json()["active"] is True
    assert replayed.status_code == 200
    gone.refresh_from_db()
    assert gone.status == Delivery.DELIVERED
    assert [a.status for a in receiver.attempts_for(str(gone.event.id))] == [410, 200]

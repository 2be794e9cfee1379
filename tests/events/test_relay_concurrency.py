"""Relays and deliveries running at once on PostgreSQL, each thread on its own
connection: every event is relayed once, gets one feed position (distinct and
consecutive) and one delivery per subscription."""

import threading
from collections import Counter

import pytest
from django.db import connection

from agencies import events
from agencies.events import outbox_relay_all
from agencies.models import Delivery, FeedState, OutboxEvent
from agencies.webhooks import deliveries_due, webhook_deliver
from referrals.services import referral_create

from .conftest import PAYLOAD, REASON, WITHHOLD, register, subject_with_consent

pytestmark = pytest.mark.postgres

REFERRALS = 40


def run_in_threads(target, count=2):
    """Run target() in `count` threads started together; (results, failures)."""
    barrier, results, failures = threading.Barrier(count), [], []

    def run():
        try:
            barrier.wait(10)
            results.append(target())
        except Exception as exc:  # reported by the test
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads)
    return results, failures


def backlog(ops, shelter, subject_id, count=REFERRALS) -> None:
    """Committed referrals whose nudges were lost (the broker was down)."""
    for _ in range(count):
        referral_create(
            caller=ops.caller, subject_id=subject_id, to_agency_id=shelter.agency.id, service="shelter",
            urgency="emergency", purpose="referral", payload=PAYLOAD, reason=REASON, withhold_categories=WITHHOLD,
        )


def test_two_relays_at_once_deliver_each_event_once_per_subscription(
    ledger_transactional_db, ops, shelter, receiver, settings, monkeypatch
):
    register(shelter, receiver, "/shelter")
    register(shelter, receiver, "/shelter-archive")  # a second subscription of the same agency
    register(ops, receiver, "/ops", events=["referral.requested"])
    subject_id, _ = subject_with_consent(ops, [shelter])
    monkeypatch.setattr(events, "_nudge_relay", lambda: None)
    backlog(ops, shelter, subject_id)
    settings.OUTBOX_RELAY_BATCH = 3  # many small batches: the relays interleave
    start = FeedState.objects.get_or_create(pk=1)[0].position

    relayed, failures = run_in_threads(outbox_relay_all)
    # What the beat sweep does next: send whatever the relays' own tasks left
    # pending (a delivery skips one that is locked by another in flight).
    for delivery_id in deliveries_due():
        webhook_deliver(delivery_id)

    assert failures == []
    assert sum(relayed) == REFERRALS  # each event relayed by exactly one of them
    positions = sorted(OutboxEvent.objects.values_list("feed_position", flat=True))
    assert positions == list(range(start + 1, start + REFERRALS + 1))
    assert FeedState.objects.get(pk=1).position == start + REFERRALS
    pairs = Counter(Delivery.objects.values_list("endpoint_id", "event_id"))
    assert len(pairs) == 3 * REFERRALS and set(pairs.values()) == {1}
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.DELIVERED}
    event_ids = {str(i) for i in OutboxEvent.objects.values_list("id", flat=True)}
    for path in ("/shelter", "/shelter-archive", "/ops"):
        arrived = Counter(receiver.event_ids(path))
        assert set(arrived) == event_ids and set(arrived.values()) == {1}, path
    assert receiver.rejected == []


def test_two_workers_sending_the_same_delivery_send_it_once(
    ledger_transactional_db, ops, shelter, receiver, monkeypatch
):
    register(shelter, receiver, "/shelter")
    subject_id, _ = subject_with_consent(ops, [shelter])
    monkeypatch.setattr(events, "_nudge_relay", lambda: None)
    monkeypatch.setattr(events, "_enqueue", lambda ids: None)  # the tasks were lost; two copies come from the sweep
    backlog(ops, shelter, subject_id, count=1)
    outbox_relay_all()
    delivery = Delivery.objects.get()
    receiver.delay = 0.3  # keep the first send in flight while the second starts

    outcomes, failures = run_in_threads(lambda: webhook_deliver(delivery.id))

    assert failures == []
    assert sorted(outcomes, key=str) == sorted([Delivery.DELIVERED, None], key=str)
    assert receiver.arrived == 1 and len(receiver.received) == 1


def test_a_slow_delivery_does_not_hold_back_another_to_the_same_endpoint(
    ledger_transactional_db, ops, shelter, receiver, monkeypatch
):
    register(shelter, receiver, "/shelter")
    subject_id, _ = subject_with_consent(ops, [shelter])
    monkeypatch.setattr(events, "_nudge_relay", lambda: None)
    monkeypatch.setattr(events, "_enqueue", lambda ids: None)
    backlog(ops, shelter, subject_id, count=2)
    outbox_relay_all()
    first, second = Delivery.objects.order_by("event__seq")
    receiver.delay = 1.0
    outcome = {}

    def send_first():
        try:
            outcome["first"] = webhook_deliver(first.id)
        finally:
            connection.close()

    thread = threading.Thread(target=send_first)
    thread.start()
    try:
        assert receiver.wait_for(lambda r: r.arrived >= 1, timeout=10)  # the first is in flight
        outcome["second"] = webhook_deliver(second.id)
    finally:
        thread.join(20)

    assert outcome == {"first": Delivery.DELIVERED, "second": Delivery.DELIVERED}

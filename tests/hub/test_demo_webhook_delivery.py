"""The demo delivers webhooks after the response (issue 16, item 6): with eager
tasks (no broker) and DEBUG, a slow receiver never holds the request of the
agency whose change caused the event; the delivery still arrives, signed."""

import threading

import pytest
from django.db import connection

from agencies import events
from agencies.events import outbox_relay_all
from agencies.models import Delivery
from agencies.webhooks import webhook_deliver
from tests.events.conftest import WEBHOOK_ENDPOINTS, refer, register, subject_with_consent  # noqa: F401
from tests.events.conftest import ops, receiver, shelter  # noqa: F401
from tests.events.receiver import GATE_LIMIT


@pytest.fixture
def demo(settings):
    settings.DEBUG = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    yield
    events._background_pool().shutdown(wait=True)
    events._pool = None


def test_a_slow_receiver_does_not_hold_the_request_that_caused_the_event(
    ledger_transactional_db, demo, ops, shelter, receiver, settings  # noqa: F811
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 2 * GATE_LIMIT  # a sender that waits, waits for the answer
    register(shelter, receiver, "/shelter")
    subject_id, _ = subject_with_consent(ops, [shelter])
    receiver.hold()  # the receiver answers nothing until released

    referral_id = refer(ops, shelter, subject_id)

    # Had the request waited for the delivery, it would have returned only
    # after the receiver gave up holding and answered (receiver.GATE_LIMIT).
    assert not receiver.received, "the referral waited for the receiver's answer"
    receiver.release()
    assert receiver.wait_for(lambda r: r.received, timeout=30)
    [delivered] = receiver.received
    assert delivered.body["type"] == "referral.requested" and delivered.body["object"]["id"] == referral_id


def test_without_debug_eager_tasks_deliver_before_the_request_returns(ops, shelter, receiver, settings,  # noqa: F811
                                                                      django_capture_on_commit_callbacks):
    """The suite's (and any eager non-demo) behaviour is unchanged."""
    settings.DEBUG = False
    register(shelter, receiver, "/shelter")
    subject_id, _ = subject_with_consent(ops, [shelter])

    with django_capture_on_commit_callbacks(execute=True):
        refer(ops, shelter, subject_id)

    assert [r.body["type"] for r in receiver.received] == ["referral.requested"]


def test_a_delivery_in_flight_holds_no_transaction(ledger_transactional_db, ops, shelter, receiver, monkeypatch):  # noqa: F811
    """The POST runs outside any transaction: while the receiver holds it,
    another agency's write commits (on SQLite a transaction would hold the
    database's write lock until the receiver answered), and the delivery,
    claimed before the POST, is not sent a second time meanwhile."""
    register(shelter, receiver, "/shelter")
    subject_id, _ = subject_with_consent(ops, [shelter])
    monkeypatch.setattr(events, "_nudge_relay", lambda: None)
    monkeypatch.setattr(events, "_enqueue", lambda ids: None)  # this test sends by hand
    refer(ops, shelter, subject_id)
    outbox_relay_all()
    delivery = Delivery.objects.get()
    receiver.hold()
    outcome = {}

    def send():
        try:
            outcome["status"] = webhook_deliver(delivery.id)
        finally:
            connection.close()

    thread = threading.Thread(target=send)
    thread.start()
    try:
        assert receiver.wait_for(lambda r: r.arrived == 1, timeout=30)  # the POST is in flight
        refer(ops, shelter, subject_id)  # would wait for the receiver if the sender held the lock
        claimed = Delivery.objects.get(pk=delivery.pk)
        again = webhook_deliver(delivery.id)
        assert not receiver.received, "the write waited for the receiver's answer"
    finally:
        receiver.release()
        thread.join(30)

    assert again is None and claimed.attempts == 1 and claimed.status == Delivery.PENDING
    assert outcome["status"] == Delivery.DELIVERED and receiver.arrived == 1

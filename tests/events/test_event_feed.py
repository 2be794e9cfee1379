"""The pull feed: GET /api/v1/events/?after=CURSOR returns the caller's
events in feed order with a stable cursor, for agencies that cannot receive
webhooks. Feed positions are given at relay time, in the order events are
seen committed, so a reader never skips an event that committed late."""

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from agencies.events import outbox_relay_all
from agencies.models import OutboxEvent
from referrals.services import referral_create

from .conftest import EVENTS, PAYLOAD, REASON, WITHHOLD, assert_no_person_data, refer, subject_with_consent, transition


def read_feed(party, after=0, limit=2):
    """Page through the feed from `after`: (every event in order, the last cursor)."""
    events, cursor = [], after
    while True:
        response = party.get(EVENTS, after=cursor, limit=limit)
        assert response.status_code == 200, response.content
        page = response.json()
        if not page["results"]:
            assert page["cursor"] == cursor  # an empty page keeps the cursor
            return events, cursor
        assert len(page["results"]) <= limit
        assert page["cursor"] == page["results"][-1]["cursor"]
        events += page["results"]
        cursor = page["cursor"]


def feed_event_ids(party) -> list[str]:
    """The agency's relayed events, by the database, in feed order."""
    rows = OutboxEvent.objects.filter(audience__agency=party.agency, feed_position__isnull=False)
    return [str(i) for i in rows.order_by("feed_position").values_list("id", flat=True)]


@pytest.mark.django_db
def test_the_feed_pages_in_cursor_order_without_gaps_or_strangers(ops, shelter, shelter_b, outsider):
    subject_id, _ = subject_with_consent(ops, [shelter, shelter_b])
    stranger_subject, _ = subject_with_consent(outsider, [shelter_b], external_ref="NGO/1")
    first = refer(ops, shelter, subject_id)
    refer(ops, shelter_b, subject_id)
    refer(ops, shelter, subject_id, urgency="urgent")
    transition(shelter, first, "received")
    refer(outsider, shelter_b, stranger_subject)
    transition(shelter, first, "accepted")
    refer(ops, shelter, subject_id, urgency="routine")

    unrelayed, _ = read_feed(shelter)
    outbox_relay_all()
    events, cursor = read_feed(shelter, limit=2)

    assert unrelayed == []  # an event is in the feed once relayed, never before
    cursors = [e["cursor"] for e in events]
    assert cursors == sorted(set(cursors))
    assert [e["id"] for e in events] == feed_event_ids(shelter)
    assert [e["type"] for e in events] == [
        "referral.requested", "referral.requested", "referral.received", "referral.accepted", "referral.requested"
    ]
    assert all(str(shelter.agency.id) in e["agencies"] for e in events)
    assert cursor == cursors[-1]
    assert read_feed(shelter, after=cursors[2])[0] == events[3:]  # resuming from a cursor
    assert_no_person_data(events)
    assert [e["id"] for e in read_feed(outsider)[0]] == feed_event_ids(outsider)
    assert not {e["id"] for e in read_feed(outsider)[0]} & {e["id"] for e in events}


@pytest.mark.django_db
def test_a_page_costs_the_same_queries_whatever_its_size(ops, shelter):
    subject_id, _ = subject_with_consent(ops, [shelter])
    for _ in range(6):
        refer(ops, shelter, subject_id)
    outbox_relay_all()

    counts = []
    for limit in (1, 6):
        with CaptureQueriesContext(connection) as queries:
            response = shelter.get(EVENTS, limit=limit)
        assert len(response.json()["results"]) == limit
        counts.append(len(queries))

    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_an_event_that_commits_late_still_comes_after_the_cursor(ops, shelter):
    """The late commit simulated on one connection: the earlier event is kept
    from the relay (as an uncommitted row would be) while a later one is
    relayed and read; see the PostgreSQL test below for the real race."""
    subject_id, _ = subject_with_consent(ops, [shelter])
    late_referral = refer(ops, shelter, subject_id)
    late = OutboxEvent.objects.get(object_id=late_referral)
    hidden = OutboxEvent.objects.filter(pk=late.pk)
    hidden.update(relayed_at=late.occurred_at)  # invisible to the relay, as if not yet committed
    early_referral = refer(ops, shelter, subject_id)
    outbox_relay_all()
    seen, cursor = read_feed(shelter)
    hidden.update(relayed_at=None)  # "commits"
    outbox_relay_all()

    after, _ = read_feed(shelter, after=cursor)

    assert [e["object"]["id"] for e in seen] == [early_referral]
    assert [e["object"]["id"] for e in after] == [late_referral]
    assert late.seq < OutboxEvent.objects.get(object_id=early_referral).seq


@pytest.mark.postgres
def test_a_transaction_committing_late_is_not_skipped_by_a_reader(ledger_transactional_db, ops, shelter):
    subject_id, _ = subject_with_consent(ops, [shelter])
    emitted, commit, failures = threading.Event(), threading.Event(), []

    def late_writer():
        try:
            with transaction.atomic():
                referral_create(
                    caller=ops.caller, subject_id=subject_id, to_agency_id=shelter.agency.id, service="shelter",
                    urgency="emergency", purpose="referral", payload=PAYLOAD, reason=REASON,
                    withhold_categories=WITHHOLD,
                )
                emitted.set()
                assert commit.wait(20)
        except Exception as exc:  # reported by the main thread
            failures.append(exc)
            emitted.set()
        finally:
            connection.close()

    writer = threading.Thread(target=late_writer)
    writer.start()
    try:
        assert emitted.wait(20)
        newer = refer(ops, shelter, subject_id)  # commits first; its nudge relays it at once
        seen, cursor = read_feed(shelter)
    finally:
        commit.set()
        writer.join(20)
    after, _ = read_feed(shelter, after=cursor)

    assert failures == []
    assert [e["object"]["id"] for e in seen] == [newer]
    assert [e["type"] for e in after] == ["referral.requested"] and after[0]["object"]["id"] != newer
    late, new = (OutboxEvent.objects.get(id=e["id"]) for e in (after[0], seen[0]))
    assert late.seq < new.seq and late.feed_position > new.feed_position


@pytest.mark.django_db
@pytest.mark.parametrize("name, value", [
    ("after", "abc"), ("after", "-1"), ("after", "1.5"), ("after", ""), ("after", "1e3"), ("after", "9" * 30),
    ("limit", "ten"),
])
def test_a_bad_cursor_is_422_naming_the_parameter(shelter, name, value):
    response = shelter.get(EVENTS, **{name: value})

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["parameter"] == name


@pytest.mark.django_db
def test_a_non_ascii_digit_cursor_is_422(shelter):
    response = shelter.get(EVENTS, after="²")

    assert response.status_code == 422


@pytest.mark.django_db
def test_the_feed_needs_the_events_scope(party):
    reader = party("OPS tylko agencje", "ops", scopes=("agencies:read",))

    assert reader.get(EVENTS).status_code == 403

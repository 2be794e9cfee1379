"""The periodic jobs: referral deadline escalation, consent expiry warnings,
the beat schedule's tasks, and `manage.py tick`, which runs each job once."""

import hashlib
from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from agencies.models import Delivery, OutboxEvent
from agencies.tasks import outbox_relay_task
from consent_ledger.notices import EVENT_EXPIRING, consent_expiry_warnings
from consent_ledger.services import Terms, consent_grant, consent_revoke
from hub.celery import app
from referrals.services import EVENT_OVERDUE, referral_deadlines_escalate

from .conftest import refer, register, subject_with_consent, transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def past_deadline(settings):
    """Emergency referrals sent from now on are already past their deadline."""
    settings.REFERRAL_ACK_HOURS = {**settings.REFERRAL_ACK_HOURS, "emergency": -1}


def events_of(type_) -> list:
    return list(OutboxEvent.objects.filter(type=type_).order_by("seq").values_list("object_id", "agencies", "data"))


def test_a_referral_not_acknowledged_by_its_deadline_is_escalated_once(ops, shelter, past_deadline):
    subject_id, _ = subject_with_consent(ops, [shelter])
    overdue = refer(ops, shelter, subject_id, urgency="emergency")
    received = refer(ops, shelter, subject_id, urgency="emergency")
    transition(shelter, received, "received")
    in_time = refer(ops, shelter, subject_id, urgency="routine")

    first, second = referral_deadlines_escalate(), referral_deadlines_escalate()

    assert (first, second) == (1, 0)
    [(object_id, agencies, data)] = events_of(EVENT_OVERDUE)
    assert str(object_id) == overdue and str(object_id) not in (received, in_time)
    assert sorted(agencies) == sorted([str(ops.agency.id), str(shelter.agency.id)])
    assert data["escalate_to_role"] == "supervisor"


def consent_until(ops, shelter, subject_id, days):
    return consent_grant(
        caller=ops.caller, subject_id=subject_id, form="written", grantor="subject",
        evidence_sha256=hashlib.sha256(b"form").hexdigest(),
        terms=Terms(categories=["identity"], purposes=["case_coordination"], agencies=[str(shelter.agency.id)],
                    valid_until=timezone.now() + timedelta(days=days) if days else None),
    )


def test_a_consent_ending_within_the_warning_window_is_warned_about_once(ops, shelter, settings):
    subject_id, _ = subject_with_consent(ops, [shelter])
    window = settings.CONSENT_EXPIRY_WARNING_DAYS
    soon = consent_until(ops, shelter, subject_id, window - 4)
    later = consent_until(ops, shelter, subject_id, window + 16)
    consent_until(ops, shelter, subject_id, None)  # open-ended
    revoked = consent_until(ops, shelter, subject_id, 2)
    consent_revoke(caller=ops.caller, consent_id=revoked.id)

    first, second = consent_expiry_warnings(), consent_expiry_warnings()

    assert (first, second) == (1, 0)
    [(object_id, agencies, data)] = events_of(EVENT_EXPIRING)
    assert object_id == soon.id and agencies == [str(ops.agency.id)]
    assert data["subject"] == subject_id

    settings.CONSENT_EXPIRY_WARNING_DAYS = window + 30  # configurable
    assert consent_expiry_warnings() == 1
    assert [e[0] for e in events_of(EVENT_EXPIRING)] == [soon.id, later.id]


def test_every_beat_entry_names_a_task_that_runs_twice_without_change(django_capture_on_commit_callbacks):
    app.loader.import_default_modules()
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    assert {"outbox-sweep", "referral-deadlines", "consent-expiry-warnings", "revocation-notice-escalation",
            "ledger-sequence", "oauth-clear-expired", "deliveries-purge"} <= set(schedule)

    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            for entry in schedule.values():
                app.tasks[entry["task"]].delay()

    assert not OutboxEvent.objects.exists()


def report_of(output: str) -> dict[str, int]:
    return {k: int(v) for k, v in (pair.split("=") for pair in output.split())}


def tick() -> dict[str, int]:
    out = StringIO()
    call_command("tick", stdout=out)
    return report_of(out.getvalue())


def test_tick_runs_each_job_once_and_prints_its_report(ops, shelter, receiver, past_deadline, settings):
    register(shelter, receiver, "/shelter")
    subject_id, _ = subject_with_consent(ops, [shelter])
    refer(ops, shelter, subject_id)  # its nudge is lost: no on_commit in this test
    refer(ops, shelter, subject_id, urgency="routine")

    first = tick()
    Delivery.objects.update(delivered_at=timezone.now() - timedelta(days=settings.RETENTION_DAYS["delivered_webhooks"] + 1))
    second = tick()

    assert list(first) == ["events_relayed", "deliveries_attempted", "referrals_overdue", "blue_card_deadlines_missed",
                           "plan_actions_due", "placement_check_ins_due", "employers_places_recounted",
                           "consents_expiring", "notices_escalated",
                           "ledger_tree_size", "deliveries_purged", "idempotency_records_purged"]
    assert (first["events_relayed"], first["deliveries_attempted"], first["referrals_overdue"]) == (2, 2, 1)
    assert first["ledger_tree_size"] > 0
    # The overdue event was written after this tick's relay: the next one sends it.
    assert (second["events_relayed"], second["deliveries_attempted"], second["referrals_overdue"]) == (1, 1, 0)
    assert second["deliveries_purged"] == 2
    assert sorted(receiver.event_ids("/shelter")) == sorted(str(i) for i in OutboxEvent.objects.values_list("id", flat=True))
    assert [r.body["type"] for r in receiver.received][-1] == EVENT_OVERDUE



def test_with_a_worker_busy_commits_schedule_one_relay_run_per_interval(
    ops, shelter, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER, settings.OUTBOX_RELAY_INTERVAL = False, 0.2
    subject_id, _ = subject_with_consent(ops, [shelter])
    cache.clear()
    with mock.patch.object(outbox_relay_task, "apply_async") as scheduled:  # the broker is the boundary
        for _ in range(3):
            with django_capture_on_commit_callbacks(execute=True):
                refer(ops, shelter, subject_id)
        assert scheduled.call_args_list == [mock.call(countdown=0.2)]

        cache.clear()  # the interval has passed
        with django_capture_on_commit_callbacks(execute=True):
            refer(ops, shelter, subject_id)
        assert scheduled.call_count == 2
    assert OutboxEvent.objects.filter(relayed_at__isnull=True).count() == 4  # nothing ran eagerly

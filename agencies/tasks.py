"""Thin tasks: load by id, call one service. All idempotent: a redelivered task
finds nothing left to do."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from .events import outbox_relay_all
from .revocations import expired_tokens_purge, revoked_tokens_purge
from .webhooks import deliveries_due, deliveries_purge, webhook_deliver


@shared_task(ignore_result=True)
def outbox_relay_task() -> None:
    outbox_relay_all()


@shared_task(ignore_result=True)
def webhook_deliver_task(delivery_id: str) -> None:
    webhook_deliver(delivery_id)


@shared_task(ignore_result=True)
def outbox_sweep_task() -> None:
    """Relay what a lost nudge left behind, and re-enqueue due retries."""
    outbox_relay_all()
    grace = timedelta(seconds=settings.WEBHOOK_SWEEP_GRACE_SECONDS)
    for delivery_id in deliveries_due(first_attempt_grace=grace):
        webhook_deliver_task.delay(str(delivery_id))


@shared_task(ignore_result=True)
def oauth_clear_expired_task() -> None:
    expired_tokens_purge()
    revoked_tokens_purge()


@shared_task(ignore_result=True)
def deliveries_purge_task() -> None:
    deliveries_purge()

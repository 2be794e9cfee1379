from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone

from hub.api.idempotency import purge_expired_idempotency_records


@shared_task(ignore_result=True)
def idempotency_purge_task() -> None:
    """Stored responses (which may hold a webhook secret shown once) live no
    longer than IDEMPOTENCY_KEY_TTL."""
    purge_expired_idempotency_records()


@shared_task(ignore_result=True)
def sessions_purge_task() -> None:
    """Expired staff sessions go (`clearsessions` for the database backend):
    a session may hold a referral draft, what a caseworker typed about a person."""
    Session.objects.filter(expire_date__lt=timezone.now()).delete()

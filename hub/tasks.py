from celery import shared_task

from hub.api.idempotency import purge_expired_idempotency_records


@shared_task(ignore_result=True)
def idempotency_purge_task() -> None:
    """Stored responses (which may hold a webhook secret shown once) live no
    longer than IDEMPOTENCY_KEY_TTL."""
    purge_expired_idempotency_records()

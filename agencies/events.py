"""Writing thin events to the outbox. Callers pass ids and codes only; the
event is committed with the caller's transaction or not at all."""

from django.db import transaction
from django.utils import timezone

from .models import OutboxEvent


def event_emit(*, type: str, object_type: str, object_id, status: str = "", agencies, data=None) -> OutboxEvent:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_emit must run inside the transaction of the change it announces")
    return OutboxEvent.objects.create(
        type=type,
        occurred_at=timezone.now(),
        object_type=object_type,
        object_id=object_id,
        status=status,
        agencies=sorted({str(a) for a in agencies}),
        data=data or {},
    )

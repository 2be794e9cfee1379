"""The transactional outbox (DESIGN.md principle 5): thin events written in the
business transaction, relayed to webhook deliveries and the pull feed.

The relay is nudged on commit and also runs from beat, so nothing waits when
the broker is healthy and nothing is lost when it is not. It gives each
committed event the next feed position under the FeedState lock: the feed's
cursor follows the order in which events were seen committed, so a reader
that pages with `after` never skips an event that committed late.
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.cache import cache
from django.db import connections, transaction
from django.db.models import QuerySet
from django.utils import timezone

from hub.api import compiled_queries

from .models import Agency, Delivery, EventAudience, FeedState, OutboxEvent, WebhookEndpoint


def event_emit(*, type: str, object_type: str, object_id, status: str = "", agencies, data=None) -> OutboxEvent:
    """Write one event in the caller's transaction. `data` holds ids and codes only."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_emit must run inside the transaction of the change it announces")
    event = OutboxEvent(
        type=type, occurred_at=timezone.now(), object_type=object_type, object_id=object_id,
        status=status, agencies=sorted({str(a) for a in agencies}), data=data or {},
    )
    compiled_queries.insert(event)
    transaction.on_commit(_nudge_relay)
    return event


def _nudge_relay() -> None:
    """Ask for a relay run: every event committed meanwhile rides in it, so a
    busy hub publishes a few messages a second instead of one per commit, each
    a broker round trip inside a request (issue 11). Beat's sweep picks up
    what a lost message left."""
    from .tasks import outbox_relay_task

    task_nudge(outbox_relay_task, key="agencies:outbox-relay-nudged", interval=settings.OUTBOX_RELAY_INTERVAL)


def task_nudge(task, *, key: str, interval: float) -> None:
    """Run a batch task soon. Eagerly (the demo, the tests) it runs now. With
    a worker, this process publishes it at most once per `interval` seconds
    (`key` marks the window in the cache), due at the window's end, so that
    everything committed within the window is in that one run."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        task.delay()
    elif cache.add(key, True, timeout=interval):
        task.apply_async(countdown=interval)


@transaction.atomic
def outbox_relay(*, batch_size: int | None = None) -> int | None:
    """Relay one batch of committed events: give each its feed position and a
    pending delivery per subscribed endpoint. Returns how many were relayed, or
    None when another relay holds the feed lock (it will see these events)."""
    batch_size = batch_size or settings.OUTBOX_RELAY_BATCH
    FeedState.objects.get_or_create(pk=1)
    state = FeedState.objects.select_for_update(skip_locked=True).filter(pk=1).first()
    if state is None:
        return None
    events = list(
        OutboxEvent.objects.select_for_update(skip_locked=True)
        .filter(relayed_at__isnull=True)
        .order_by("seq")[:batch_size]
    )
    if not events:
        return 0
    now = timezone.now()
    for event in events:
        state.position += 1
        event.feed_position, event.relayed_at = state.position, now
    OutboxEvent.objects.bulk_update(events, ["feed_position", "relayed_at"])
    state.save(update_fields=["position"])
    # The feed's index of who may see what, written here rather than on the
    # request path: the feed shows relayed events only.
    EventAudience.objects.bulk_create(
        [EventAudience(event=event, agency_id=agency) for event in events for agency in event.agencies],
        ignore_conflicts=True,
    )
    endpoints = list(WebhookEndpoint.objects.filter(active=True, agency_id__in={a for e in events for a in e.agencies}))
    deliveries = [
        Delivery(endpoint=endpoint, event=event, next_attempt_at=now)
        for event in events
        for endpoint in endpoints
        if str(endpoint.agency_id) in event.agencies and endpoint.wants(event.type)
    ]
    Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    ids = [d.id for d in deliveries]
    transaction.on_commit(lambda: _enqueue(ids))
    return len(events)


def _enqueue(delivery_ids) -> None:
    from .tasks import webhook_deliver_task

    if _deliver_in_background():
        _background_pool().submit(_deliver_here, [str(d) for d in delivery_ids])
        return
    for delivery_id in delivery_ids:
        webhook_deliver_task.delay(str(delivery_id))


# --- The demo: deliveries after the response ------------------------------------------
# With a broker, `delay` hands each delivery to a Celery worker. Without one (the
# demo) tasks run eagerly, in the caller's request: a slow receiver would hold
# another agency's request for up to WEBHOOK_TIMEOUT_SECONDS per attempt (PITFALLS:
# eager tasks). In DEBUG with eager tasks a small local pool delivers instead, after
# the relay committed, while the request has already answered. The suite (DEBUG off)
# keeps eager delivery, so tests see deliveries when the request returns.

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
logger = logging.getLogger(__name__)


def _deliver_in_background() -> bool:
    return settings.CELERY_TASK_ALWAYS_EAGER and settings.DEBUG


def _background_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=settings.WEBHOOK_DELIVERY_THREADS, thread_name_prefix="webhook")
        return _pool


def _deliver_here(delivery_ids: list[str]) -> None:
    """Run in a pool thread: each delivery as its (eager) task would, then
    give the thread's database connection back."""
    from .tasks import webhook_deliver_task

    try:
        for delivery_id in delivery_ids:
            try:
                webhook_deliver_task.delay(delivery_id)
            except Exception as exc:  # noqa: BLE001 - one failed delivery must not stop the others
                # By type only: a message may quote the receiver's answer. The
                # delivery stays pending; `manage.py tick` (or the beat) retries it.
                logger.error("Webhook delivery %s failed in the demo's delivery thread (%s)", delivery_id, type(exc).__name__)
    finally:
        connections.close_all()


def outbox_relay_all() -> int:
    """Relay until nothing is left, or leave it to a relay already running.

    Every commit nudges a relay, so under load most nudges find one running:
    they return at once instead of queueing on the feed lock. The running one
    looks again after releasing the lock, so an event that committed while it
    held the lock (whose own nudge found it busy) is relayed now, not by the
    next sweep."""
    relayed = 0
    while True:
        batch = outbox_relay()
        if batch is None:
            return relayed
        relayed += batch
        if not batch and not OutboxEvent.objects.filter(relayed_at__isnull=True).exists():
            return relayed


def event_feed_end() -> int:
    """The last feed position given to any event (0 before the first): no
    cursor beyond it can have been read from the feed."""
    state = FeedState.objects.filter(pk=1).first()
    return state.position if state else 0


def event_feed_for_agency(agency: Agency, *, after: int = 0) -> QuerySet[OutboxEvent]:
    """The agency's relayed events after feed position `after`, in feed order."""
    return (
        OutboxEvent.objects.filter(audience__agency=agency, feed_position__gt=after)
        .order_by("feed_position")
    )

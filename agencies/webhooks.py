"""Webhook endpoints and signed delivery (Standard Webhooks: webhook-id,
webhook-timestamp, webhook-signature, HMAC-SHA256 "v1").

Delivery: 10 s timeout, no redirects, retries with exponential backoff and
jitter over about a day, `Retry-After` honoured, 410 Gone disables the
endpoint, then dead-letter (listable and replayable). URLs that resolve to
loopback, private, link-local or otherwise non-public addresses are refused
(SSRF) unless their network is in WEBHOOK_ALLOWED_NETWORKS; the check runs at
registration and again at every delivery, since DNS answers change.
"""

import base64
import ipaddress
import json
import random
import secrets
import socket
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from standardwebhooks import Webhook

from agencies.callers import Caller
from hub.api.errors import NotFoundError, ValidationFailed

from .models import Delivery, WebhookEndpoint

URL_REFUSED = "webhook_url_refused"
SHORT_RETRY_SECONDS = 60
UNKNOWN_EVENT_TYPE = "unknown_event_type"


# --- SSRF guard ---------------------------------------------------------------


def resolve_webhook_url(url: str) -> tuple[list, str | None]:
    """The addresses `url` may be sent to, or why it may receive no webhooks."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return [], _("The URL's host or port is not valid.")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return [], _("Use an http(s) URL with a host name.")
    if parts.scheme == "http" and not settings.WEBHOOK_ALLOW_HTTP:
        return [], _("Use https.")
    if parts.username or parts.password:
        return [], _("Credentials in the URL are not allowed; the signature authenticates us.")
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return [], _("The host %(host)s does not resolve.") % {"host": repr(parts.hostname)}
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        if not address.is_global and not _allow_listed(address):
            return [], _("The host %(host)s resolves to a non-public address (%(address)s).") % {
                "host": repr(parts.hostname), "address": address,
            }
    return addresses, None


def url_refusal(url: str) -> str | None:
    return resolve_webhook_url(url)[1]


def _allow_listed(address) -> bool:
    return any(address in ipaddress.ip_network(network) for network in settings.WEBHOOK_ALLOWED_NETWORKS)


# --- Endpoints -------------------------------------------------------------------


@transaction.atomic
def webhook_endpoint_create(*, caller: Caller, url: str, event_types: list[str]) -> WebhookEndpoint:
    """Register an endpoint; the returned `secret` is shown to the caller once."""
    errors = []
    refusal = url_refusal(url)
    if refusal:
        errors.append({"pointer": "/url", "detail": refusal})
    for index, event_type in enumerate(event_types):
        if event_type not in settings.EVENT_TYPES:
            errors.append({
                "pointer": f"/events/{index}",
                "detail": _("Unknown event type %(type)s. One of: %(allowed)s.")
                % {"type": repr(event_type), "allowed": ", ".join(settings.EVENT_TYPES)},
            })
    if errors:
        raise ValidationFailed(_("The webhook endpoint cannot be registered."), code=URL_REFUSED if refusal else UNKNOWN_EVENT_TYPE, errors=errors)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    return WebhookEndpoint.objects.create(agency=caller.agency, url=url, event_types=sorted(set(event_types)), secret=secret)


def webhook_endpoint_get(caller: Caller, endpoint_id) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, agency=caller.agency).first()
    if endpoint is None:
        raise NotFoundError(_("No such webhook endpoint."))
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, caller: Caller, endpoint_id) -> None:
    webhook_endpoint_get(caller, endpoint_id).delete()


@transaction.atomic
def webhook_endpoint_enable(*, caller: Caller, endpoint_id) -> WebhookEndpoint:
    """Re-enable an endpoint disabled by a 410 (the agency fixed its receiver)."""
    endpoint = webhook_endpoint_get(caller, endpoint_id)
    refusal = url_refusal(endpoint.url)
    if refusal:
        raise ValidationFailed(refusal, code=URL_REFUSED, errors=[{"pointer": "/url", "detail": refusal}])
    endpoint.active, endpoint.disabled_reason = True, ""
    endpoint.save(update_fields=["active", "disabled_reason"])
    return endpoint


@transaction.atomic
def delivery_replay(*, caller: Caller, delivery_id) -> Delivery:
    """Send a dead-lettered delivery again (re-enabling a disabled endpoint is
    a separate, deliberate act: replay refuses while it is disabled)."""
    delivery = Delivery.objects.select_for_update().filter(pk=delivery_id, endpoint__agency=caller.agency).first()
    if delivery is None:
        raise NotFoundError(_("No such delivery."))
    if delivery.status != Delivery.DEAD or not delivery.endpoint.active:
        raise ValidationFailed(_("Only a dead delivery to an active endpoint can be replayed."), code="not_replayable")
    delivery.status, delivery.attempts, delivery.next_attempt_at = Delivery.PENDING, 0, timezone.now()
    delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
    transaction.on_commit(lambda: _enqueue_one(delivery.id))
    return delivery


def _enqueue_one(delivery_id, countdown: float = 0) -> None:
    from .tasks import webhook_deliver_task

    webhook_deliver_task.apply_async(args=[str(delivery_id)], countdown=countdown)


# --- Delivery ------------------------------------------------------------------------


def backoff(attempt: int, retry_after: float | None = None) -> timedelta:
    """Delay before attempt `attempt + 1`: exponential, capped, with "equal
    jitter" (half fixed, half random), never sooner than the receiver's Retry-After."""
    ceiling = min(settings.WEBHOOK_BACKOFF_CAP_SECONDS, settings.WEBHOOK_BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    return timedelta(seconds=max(delay, retry_after or 0))


def _retry_after(response) -> float | None:
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    if value.isascii() and value.isdigit():
        seconds = float(value)
    else:
        try:
            seconds = max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
        except (TypeError, ValueError, OverflowError):
            return None
    return min(seconds, settings.WEBHOOK_BACKOFF_CAP_SECONDS)  # a pause, never forever


def signed_request(endpoint: WebhookEndpoint, message: dict, at: datetime) -> tuple[bytes, dict]:
    """The exact bytes sent and their Standard Webhooks headers."""
    body = json.dumps(message, separators=(",", ":"), sort_keys=True)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "welfare-hub-webhooks/1",
        "webhook-id": message["id"],
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(endpoint.secret).sign(message["id"], at, body),
    }
    return body.encode(), headers


def webhook_deliver(delivery_id) -> str | None:
    """Attempt one due delivery; returns its new status, or None when there was
    nothing to do (already delivered, not due, or being sent elsewhere).

    The POST runs outside any transaction. A claim is committed first: the
    attempt is counted and the delivery leased (not due again until the
    attempt's timeout has passed), so no other worker sends it meanwhile; the
    outcome is recorded after, if the lease is still this attempt's. Holding a
    transaction over the POST would hold the delivery's row lock, and on
    SQLite (the demo) the whole database's write lock, for as long as the
    receiver takes to answer. A worker that dies mid-POST leaves the lease to
    expire, and the delivery is sent again (at least once)."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    response, error = _send(delivery)
    with transaction.atomic():
        ours = Delivery.objects.select_for_update().filter(
            pk=delivery.pk, status=Delivery.PENDING, attempts=delivery.attempts
        )
        if not ours.exists():
            return None  # the lease ran out and another attempt took over
        _record(delivery, response, error)
    return delivery.status


@transaction.atomic
def _claim(delivery_id) -> Delivery | None:
    now = timezone.now()
    delivery = (
        Delivery.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("endpoint", "event")
        .filter(pk=delivery_id, status=Delivery.PENDING, next_attempt_at__lte=now)
        .first()
    )
    if delivery is None:
        return None
    delivery.attempts += 1
    lease = settings.WEBHOOK_TIMEOUT_SECONDS + settings.WEBHOOK_LEASE_MARGIN_SECONDS
    delivery.next_attempt_at = now + timedelta(seconds=lease)
    delivery.save(update_fields=["attempts", "next_attempt_at"])
    return delivery


def _post_pinned(url: str, address, body: bytes, headers: dict):
    """POST to the address that passed the SSRF check, not to a fresh DNS
    answer (DNS rebinding); TLS still verifies the URL's host name."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    pool_class = urllib3.HTTPSConnectionPool if https else urllib3.HTTPConnectionPool
    tls = {"server_hostname": parts.hostname, "assert_hostname": parts.hostname} if https else {}
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    port = parts.port or (443 if https else 80)
    with pool_class(str(address), port, timeout=settings.WEBHOOK_TIMEOUT_SECONDS, retries=False, **tls) as pool:
        response = pool.urlopen(
            "POST", target, body=body, headers={**headers, "Host": parts.netloc}, redirect=False, preload_content=False
        )
        response.release_conn()
        return response


def _send(delivery: Delivery) -> tuple:
    """(response or None, error text) of one POST of the delivery's event."""
    endpoint = delivery.endpoint
    # `last_error` is stored and listed to the agency as it was recorded: in
    # English, like the transport errors beside it, whatever the worker's language.
    with translation.override("en"):
        addresses, refusal = resolve_webhook_url(endpoint.url) if endpoint.active else ([], "endpoint disabled")
    if refusal:
        return None, refusal
    body, headers = signed_request(endpoint, delivery.event.as_message(), timezone.now())
    try:
        return _post_pinned(endpoint.url, addresses[0], body, headers), ""
    except urllib3.exceptions.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]


def _record(delivery: Delivery, response, error: str) -> None:
    endpoint, now = delivery.endpoint, timezone.now()
    status = response.status if response is not None else None
    delivery.last_status_code, delivery.last_error = status, error
    if status is not None and 200 <= status < 300:
        delivery.status, delivery.delivered_at = Delivery.DELIVERED, now
    elif status == 410:
        delivery.status = Delivery.DEAD
        endpoint.active, endpoint.disabled_reason = False, "410 Gone"
        endpoint.save(update_fields=["active", "disabled_reason"])
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS or not endpoint.active:
        delivery.status = Delivery.DEAD
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts, _retry_after(response))
        delay = (delivery.next_attempt_at - now).total_seconds()
        # A long countdown would sit unacknowledged in RabbitMQ past its consumer
        # timeout; the beat sweep picks up later retries instead.
        if delay <= SHORT_RETRY_SECONDS:
            transaction.on_commit(lambda: _enqueue_one(delivery.id, countdown=delay))
    delivery.save()


def deliveries_due(*, first_attempt_grace: timedelta = timedelta(0)) -> list:
    """Pending deliveries whose time has come (the beat sweep re-enqueues them,
    so a retry survives a lost task). The relay enqueued every first attempt
    when it created it: the sweep passes a grace period so that it re-enqueues
    only those whose task looks lost, not all those still waiting in the queue
    (under load that multiplied the queue at every sweep)."""
    now = timezone.now()
    return list(
        Delivery.objects.filter(status=Delivery.PENDING, next_attempt_at__lte=now)
        .filter(Q(attempts__gt=0) | Q(next_attempt_at__lte=now - first_attempt_grace))
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:1000]
    )


def deliveries_purge(*, now: datetime | None = None, dry_run: bool = False) -> int:
    """Deliveries delivered, or given up, RETENTION_DAYS["delivered_webhooks"]
    ago (issue 12, item 3); how many went (or, in a dry run, would go)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.RETENTION_DAYS["delivered_webhooks"])
    # A dead delivery's next_attempt_at is the end of its last attempt's lease.
    old = Delivery.objects.filter(
        Q(status=Delivery.DELIVERED, delivered_at__lte=cutoff) | Q(status=Delivery.DEAD, next_attempt_at__lte=cutoff)
    )
    return old.count() if dry_run else old.delete()[0]

"""Webhook endpoints and signed delivery (Standard Webhooks: webhook-id,
webhook-timestamp, webhook-signature, HMAC-SHA256 "v1").

Delivery: 10 s timeout, no redirects, retries with exponential backoff and
full jitter over about a day, `Retry-After` honoured, 410 Gone disables the
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

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from agencies.callers import Caller
from hub.api.errors import NotFoundError, ValidationFailed

from .models import Delivery, WebhookEndpoint

URL_REFUSED = "webhook_url_refused"
UNKNOWN_EVENT_TYPE = "unknown_event_type"


# --- SSRF guard ---------------------------------------------------------------


def url_refusal(url: str) -> str | None:
    """Why `url` may not receive webhooks, or None if it may."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "Use an http(s) URL with a host name."
    if parts.scheme == "http" and not settings.WEBHOOK_ALLOW_HTTP:
        return "Use https."
    if parts.username or parts.password:
        return "Credentials in the URL are not allowed; the signature authenticates us."
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return f"The host {parts.hostname!r} does not resolve."
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global and not _allow_listed(address):
            return f"The host {parts.hostname!r} resolves to a non-public address ({address})."
    return None


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
            errors.append({"pointer": f"/events/{index}", "detail": f"Unknown event type {event_type!r}."})
    if errors:
        raise ValidationFailed("The webhook endpoint cannot be registered.", code=URL_REFUSED if refusal else UNKNOWN_EVENT_TYPE, errors=errors)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    return WebhookEndpoint.objects.create(agency=caller.agency, url=url, event_types=sorted(set(event_types)), secret=secret)


def webhook_endpoint_get(caller: Caller, endpoint_id) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, agency=caller.agency).first()
    if endpoint is None:
        raise NotFoundError("No such webhook endpoint.")
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, caller: Caller, endpoint_id) -> None:
    webhook_endpoint_get(caller, endpoint_id).delete()


@transaction.atomic
def delivery_replay(*, caller: Caller, delivery_id) -> Delivery:
    """Send a dead-lettered delivery again (re-enabling a disabled endpoint is
    a separate, deliberate act: replay refuses while it is disabled)."""
    delivery = Delivery.objects.select_for_update().filter(pk=delivery_id, endpoint__agency=caller.agency).first()
    if delivery is None:
        raise NotFoundError("No such delivery.")
    if delivery.status != Delivery.DEAD or not delivery.endpoint.active:
        raise ValidationFailed("Only a dead delivery to an active endpoint can be replayed.", code="not_replayable")
    delivery.status, delivery.attempts, delivery.next_attempt_at = Delivery.PENDING, 0, timezone.now()
    delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
    transaction.on_commit(lambda: _enqueue_one(delivery.id))
    return delivery


def _enqueue_one(delivery_id, countdown: float = 0) -> None:
    from .tasks import webhook_deliver_task

    webhook_deliver_task.apply_async(args=[str(delivery_id)], countdown=countdown)


# --- Delivery ------------------------------------------------------------------------


def backoff(attempt: int, retry_after: float | None = None) -> timedelta:
    """Delay before attempt `attempt + 1`: exponential with full jitter, capped,
    never sooner than the receiver's Retry-After."""
    ceiling = min(settings.WEBHOOK_BACKOFF_CAP_SECONDS, settings.WEBHOOK_BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    return timedelta(seconds=max(delay, retry_after or 0))


def _retry_after(response) -> float | None:
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
    except (TypeError, ValueError):
        return None


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
    nothing to do (already delivered, not due, or being sent elsewhere)."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True)
            .select_related("endpoint", "event")
            .filter(pk=delivery_id, status=Delivery.PENDING, next_attempt_at__lte=timezone.now())
            .first()
        )
        if delivery is None:
            return None
        _attempt(delivery)
        return delivery.status


def _attempt(delivery: Delivery) -> None:
    endpoint, now = delivery.endpoint, timezone.now()
    delivery.attempts += 1
    response, error = None, ""
    if not endpoint.active:
        error = "endpoint disabled"
    elif refusal := url_refusal(endpoint.url):
        error = refusal
    else:
        body, headers = signed_request(endpoint, delivery.event.as_message(), now)
        try:
            response = requests.post(
                endpoint.url, data=body, headers=headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS, allow_redirects=False
            )
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
    delivery.last_status_code = response.status_code if response is not None else None
    delivery.last_error = error
    if response is not None and 200 <= response.status_code < 300:
        delivery.status, delivery.delivered_at = Delivery.DELIVERED, now
    elif response is not None and response.status_code == 410:
        delivery.status = Delivery.DEAD
        endpoint.active, endpoint.disabled_reason = False, "410 Gone"
        endpoint.save(update_fields=["active", "disabled_reason"])
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS or not endpoint.active:
        delivery.status = Delivery.DEAD
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts, _retry_after(response))
        delay = (delivery.next_attempt_at - now).total_seconds()
        transaction.on_commit(lambda: _enqueue_one(delivery.id, countdown=delay))
    delivery.save()


def deliveries_due() -> list:
    """Pending deliveries whose time has come (the beat sweep re-enqueues them,
    so a retry survives a lost task)."""
    return list(
        Delivery.objects.filter(status=Delivery.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:1000]
    )


def deliveries_purge() -> int:
    cutoff = timezone.now() - timedelta(days=settings.WEBHOOK_DELIVERY_RETENTION_DAYS)
    deleted, _ = Delivery.objects.filter(status=Delivery.DELIVERED, delivered_at__lt=cutoff).delete()
    return deleted

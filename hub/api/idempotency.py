"""The `Idempotency-Key` header for creating POSTs
(draft-ietf-httpapi-idempotency-key-header).

Same client + same key + same request -> the stored response, nothing created
again; same key with a different request -> 409; a key whose first request is
still running -> 409 as well. Only successful (2xx) responses are stored: after
an error the client may fix the body and retry with the same key.
"""

import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.response import Response

from .errors import Conflict, ValidationFailed
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_STORED_HEADERS = ("Location", "ETag")

KEY_REUSED = "idempotency_key_reused"
KEY_IN_FLIGHT = "idempotency_key_in_flight"
KEY_INVALID = "idempotency_key_invalid"


def _fingerprint(request) -> str:
    # The parsed body, canonicalised: the same JSON sent with other whitespace or
    # member order is the same request. (The raw stream is already consumed.)
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _client_of(request) -> str:
    application = getattr(request.auth, "application", None)
    if application is not None:
        return application.client_id
    return f"user:{request.user.pk}" if getattr(request.user, "pk", None) else "anonymous"


class IdempotentCreateMixin:
    """Mix into an APIView whose `post` creates something."""

    def initial(self, request, *args, **kwargs):
        # After authentication, scopes and throttling: an unauthorised request
        # never claims a key.
        super().initial(request, *args, **kwargs)
        key = request.headers.get(HEADER)
        if request.method == "POST" and key is not None:
            self._idempotency_record = _claim(request, key)

    def finalize_response(self, request, response, *args, **kwargs):
        record = getattr(self, "_idempotency_record", None)
        if record is not None and not getattr(response, "_replayed", False):
            _settle(record, response)
        return super().finalize_response(request, response, *args, **kwargs)

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            response = exc.response
            response._replayed = True
            return response
        return super().handle_exception(exc)


class _Replay(Exception):
    def __init__(self, response: Response):
        self.response = response


def _claim(request, key: str) -> IdempotencyRecord | None:
    if not (1 <= len(key) <= 255) or not key.isprintable():
        raise ValidationFailed(
            _("The Idempotency-Key header must be 1 to 255 printable characters."),
            code=KEY_INVALID,
        )
    client, fingerprint = _client_of(request), _fingerprint(request)
    cutoff = timezone.now() - settings.IDEMPOTENCY_KEY_TTL
    IdempotencyRecord.objects.filter(client=client, key=key, created_at__lt=cutoff).delete()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                client=client, key=key, method=request.method, path=request.path, fingerprint=fingerprint
            )
    except IntegrityError:
        existing = IdempotencyRecord.objects.get(client=client, key=key)
    if existing.fingerprint != fingerprint:
        raise Conflict(
            _("This Idempotency-Key was already used with a different request."), code=KEY_REUSED
        )
    if existing.status_code is None:
        raise Conflict(_("A request with this Idempotency-Key is still being processed."), code=KEY_IN_FLIGHT)
    headers = {**existing.response_headers, REPLAYED_HEADER: "true"}
    raise _Replay(Response(existing.response_body, status=existing.status_code, headers=headers))


def _settle(record: IdempotencyRecord, response) -> None:
    if 200 <= response.status_code < 300:
        record.status_code = response.status_code
        record.response_body = response.data
        record.response_headers = {h: response[h] for h in _STORED_HEADERS if response.has_header(h)}
        record.save(update_fields=["status_code", "response_body", "response_headers"])
    else:
        record.delete()


def purge_expired_idempotency_records(*, now=None, dry_run: bool = False) -> int:
    """Records older than IDEMPOTENCY_KEY_TTL (its retention, issue 12, item 3)."""
    old = IdempotencyRecord.objects.filter(created_at__lt=(now or timezone.now()) - settings.IDEMPOTENCY_KEY_TTL)
    return old.count() if dry_run else old.delete()[0]

"""Telling a revoked access token from an unknown one (issue 16: a 401 says
which, as WWW-Authenticate does). django-oauth-toolkit revokes an access
token by deleting its row — through `/o/revoke_token/` (RFC 7009), refresh
rotation and reuse protection alike — so every deletion of a token that had
not expired yet leaves a tombstone; `clear_expired` deletes only expired ones,
which leave none."""

import hashlib
from datetime import timedelta
from functools import reduce
from operator import or_

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_delete
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_refresh_token_model,
    refresh_token_expire_timedelta,
)
from oauth2_provider.settings import oauth2_settings

from .models import RevokedAccessToken


def _tombstone(sender, instance, **kwargs) -> None:
    now = timezone.now()
    if instance.expires and instance.expires > now and instance.token_checksum:
        RevokedAccessToken.objects.get_or_create(
            token_checksum=instance.token_checksum, defaults={"revoked_at": now, "expires": instance.expires}
        )


def connect() -> None:
    post_delete.connect(_tombstone, sender=get_access_token_model(), dispatch_uid="agencies.revoked_access_token")


def token_was_revoked(raw_token: str) -> bool:
    checksum = hashlib.sha256(raw_token.encode("utf-8")).hexdigest()
    return RevokedAccessToken.objects.filter(token_checksum=checksum, expires__gt=timezone.now()).exists()


def revoked_tokens_purge() -> int:
    return RevokedAccessToken.objects.filter(expires__lte=timezone.now()).delete()[0]


def expired_tokens_purge(*, now=None, dry_run: bool = False) -> int:
    """OAuth2 tokens and grants expired or revoked RETENTION_DAYS["expired_tokens"]
    ago (issue 12, item 3), refresh tokens first: an access token is kept while
    its refresh token is (its expiry is when the refresh token's idle lifetime
    starts, as in django-oauth-toolkit's clear_expired). How many went (or, in
    a dry run, would go)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.RETENTION_DAYS["expired_tokens"])
    lifetime = refresh_token_expire_timedelta()
    dead = []
    if lifetime is not None:
        dead.append(Q(revoked__isnull=True, access_token__expires__lte=cutoff - lifetime))
    if not oauth2_settings.REFRESH_TOKEN_REUSE_PROTECTION:
        dead.append(Q(revoked__lte=cutoff))
    elif lifetime is not None:
        # RFC 9700 §4.14: a rotated token detects the reuse of a stolen one
        # while it could still have been used.
        dead.append(Q(revoked__lte=cutoff - lifetime))
    refresh = get_refresh_token_model().objects.filter(reduce(or_, dead)) if dead else None
    unanchored = Q(refresh_token__isnull=True)
    if refresh is not None:
        unanchored |= Q(refresh_token__in=refresh.values("pk"))
    querysets = [qs for qs in (refresh, get_access_token_model().objects.filter(unanchored, expires__lte=cutoff),
                               get_grant_model().objects.filter(expires__lte=cutoff)) if qs is not None]
    if dry_run:
        return sum(qs.count() for qs in querysets)
    with transaction.atomic():
        return sum(qs.delete()[1].get(qs.model._meta.label, 0) for qs in querysets)

"""Telling a revoked access token from an unknown one (issue 16: a 401 says
which, as WWW-Authenticate does). django-oauth-toolkit revokes an access
token by deleting its row — through `/o/revoke_token/` (RFC 7009), refresh
rotation and reuse protection alike — so every deletion of a token that had
not expired yet leaves a tombstone; `clear_expired` deletes only expired ones,
which leave none."""

import hashlib

from django.db.models.signals import post_delete
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

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

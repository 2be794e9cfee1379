from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class IdempotencyRecord(models.Model):
    """A creating POST's stored outcome, keyed by (client, Idempotency-Key).

    `client` is the OAuth2 client_id that sent the request, so two agencies'
    systems using the same key never see each other's responses. A record with
    no `status_code` is a request still in flight.
    """

    client = models.CharField(max_length=255)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2048)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of method, path and body")
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="idempotency_unique_client_key"),
        ]

    def __str__(self) -> str:
        return f"{self.client}:{self.key}"

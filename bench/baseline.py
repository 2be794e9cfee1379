"""The baseline of the referral benchmark: the endpoints of referrals/api with
the same URL shape, authentication, scopes, throttle, input and output
serializers, but a bare row write and read: no payload schema validation, no
decision engine, no disclosure (no ledger entry) and no outbox event.

Bench-only (routed by bench/urls.py under hub.settings.bench): the baseline
skips every check that makes a referral safe to send and to read."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.response import Response

from consent_ledger.disclosure import Disclosed
from consent_ledger.sealing import unsealed
from referrals.api.views import (
    ReferralDetailApi,
    ReferralListCreateApi,
    ReferralSummaryOutput,
    _detail,
)
from referrals.models import Referral
from referrals.selectors import ReferralView, referral_for_party
from referrals.services import payload_schema_name
from schemas.registry import get_registry


class BaselineReferralCreateApi(ReferralListCreateApi):
    """POST: validate the body with ReferralCreateInput, insert the row."""

    def post(self, request):
        data = self.ReferralCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        referral = _referral_insert(request.caller, values)
        return Response(
            ReferralSummaryOutput(referral).data, status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/referrals/{referral.id}", "ETag": referral.etag},
        )


@transaction.atomic
def _referral_insert(caller, values) -> Referral:
    # The same row referral_create writes, taken on trust: the foreign keys are
    # checked by the database only, the payload not at all.
    now = timezone.now()
    return Referral.objects.create(
        sender=caller.agency, sender_actor=caller.actor_label, recipient_id=values["to_agency"],
        subject_id=values["subject"], service=values["service"], urgency=values["urgency"],
        purpose=values["purpose"], payload=values["payload"],
        payload_schema=get_registry().schema_id(payload_schema_name(values["service"])), reason=values["reason"],
        withhold_categories=sorted(set(values["withhold_categories"])),
        acknowledge_by=now + timedelta(hours=settings.REFERRAL_ACK_HOURS[values["urgency"]]),
        created_at=now, updated_at=now,
    )


def _undisclosed(document) -> Disclosed:
    # Opened as stored: person data is sealed at rest for every read (consent_ledger/sealing.py).
    return Disclosed(document=unsealed(document), withheld_categories=[], released_categories=[], entry=None)


class BaselineReferralDetailApi(ReferralDetailApi):
    """GET: the referral if the caller is a party to it (the same scoped query
    as the real read), rendered by the same function, with the payload and
    profile as stored."""

    def get(self, request, referral_id):
        referral = referral_for_party(referral_id, request.caller)
        view = ReferralView(
            referral, _undisclosed(referral.payload), _undisclosed(referral.subject.profile),
            unsealed(referral.reason), unsealed(referral.status_reason), [],
        )
        return Response(_detail(view), headers={"ETag": referral.etag})

"""Revocation notices, expiry warnings and their escalation: the ledger telling
agencies, through thin events, that what they hold has changed."""

from datetime import timedelta

import orjson
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.callers import Caller
from agencies.events import event_emit
from agencies.models import Agency
from hub.api.errors import NotFoundError

from .decisions import names_recipient
from .models import EntryKind, LedgerEntry, Provision, ProvisionKind, RevocationNotice
from .selectors import recipient_of

EVENT_REVOKED = "consent.revoked"
EVENT_UNACKNOWLEDGED = "consent.revocation_unacknowledged"
EVENT_EXPIRING = "consent.expiring"


def _receivers(provision: Provision) -> dict[str, set[str]]:
    """Agency id -> the categories it received about the subject that this
    provision now takes away, from the accounting of disclosures: for a
    consent, what was released on it (the entry each release names as its
    basis); for a refusal, what an agency it names received on a consent for
    a refused category and purpose (a refusal overrides consents, not the
    law). Nobody else hears of it: a notice to an agency that received
    nothing under the provision would be a false instruction, and would tell
    it that someone else's consent changed."""
    granted = str(provision.granted_entry_id)
    received: dict[str, set[str]] = {}
    disclosures = LedgerEntry.objects.filter(subject_id=provision.subject_id, kind=EntryKind.DISCLOSURE)
    for canonical in disclosures.values_list("canonical", flat=True):
        body = orjson.loads(canonical)["body"]
        for basis in body["bases"]:
            if provision.kind == ProvisionKind.REFUSAL:
                taken = (basis["basis"] == "consent" and basis["category"] in provision.categories
                         and body["purpose"] in provision.purposes)
            else:
                taken = basis["entry"] == granted
            if taken:
                received.setdefault(body["recipient"], set()).add(basis["category"])
    received.pop(str(provision.subject.owner_id), None)
    if provision.kind == ProvisionKind.REFUSAL:
        agencies = Agency.objects.filter(pk__in=list(received))
        named = {str(a.pk) for a in agencies if names_recipient(provision, recipient_of(a))}
        received = {a: c for a, c in received.items() if a in named}
    return received


def revocation_notices_send(provision: Provision) -> list[RevocationNotice]:
    """In the revoking transaction: a notice and a `consent.revoked` event for
    every agency that received the affected categories."""
    now = timezone.now()
    notices = []
    for agency_id, categories in sorted(_receivers(provision).items()):
        notice = RevocationNotice.objects.create(
            subject_id=provision.subject_id, provision=provision, agency_id=agency_id,
            recorded_by_id=provision.recorded_by_id, categories=sorted(categories), created_at=now,
        )
        event_emit(
            type=EVENT_REVOKED, object_type="notice", object_id=notice.id, status="unacknowledged",
            agencies=[agency_id, provision.recorded_by_id],
            data={"subject": str(provision.subject_id), "categories": notice.categories, "provision": str(provision.id)},
        )
        notices.append(notice)
    return notices


@transaction.atomic
def notice_acknowledge(*, caller: Caller, notice_id) -> RevocationNotice:
    notice = RevocationNotice.objects.select_for_update().filter(pk=notice_id, agency=caller.agency).first()
    if notice is None:
        raise NotFoundError(_("No such notice."))
    if notice.acknowledged_at is None:
        notice.acknowledged_at = timezone.now()
        notice.save(update_fields=["acknowledged_at"])
    return notice


@transaction.atomic
def notices_escalate() -> int:
    """Escalate notices left unacknowledged past NOTICE_ESCALATION_HOURS to the
    recording agency (its DPO sees them at /ledger/notices)."""
    cutoff = timezone.now() - timedelta(hours=settings.NOTICE_ESCALATION_HOURS)
    overdue = list(
        RevocationNotice.objects.select_for_update(skip_locked=True).filter(
            acknowledged_at__isnull=True, escalated_at__isnull=True, created_at__lt=cutoff
        )
    )
    now = timezone.now()
    for notice in overdue:
        notice.escalated_at = now
        notice.save(update_fields=["escalated_at"])
        event_emit(
            type=EVENT_UNACKNOWLEDGED, object_type="notice", object_id=notice.id, status="escalated",
            agencies=[notice.recorded_by_id, notice.agency_id], data={"subject": str(notice.subject_id)},
        )
    return len(overdue)


@transaction.atomic
def consent_expiry_warnings() -> int:
    """Warn the recording agency CONSENT_EXPIRY_WARNING_DAYS before a consent
    ends, once, so it can renew it with the person in time."""
    now = timezone.now()
    expiring = list(
        Provision.objects.select_for_update(skip_locked=True).filter(
            kind=ProvisionKind.CONSENT, ended_at__isnull=True, expiry_warned_at__isnull=True,
            valid_until__gt=now, valid_until__lte=now + timedelta(days=settings.CONSENT_EXPIRY_WARNING_DAYS),
        )
    )
    for provision in expiring:
        provision.expiry_warned_at = now
        provision.save(update_fields=["expiry_warned_at"])
        event_emit(
            type=EVENT_EXPIRING, object_type="consent", object_id=provision.id, status="expiring",
            agencies=[provision.recorded_by_id],
            data={"subject": str(provision.subject_id), "valid_until": provision.valid_until.isoformat()},
        )
    return len(expiring)

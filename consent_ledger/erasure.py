"""Erasure by crypto-shredding (issue 12, item 2; GDPR art. 17).

Every person-data column is sealed under the subject's own data key
(sealing.py). Erasing a person destroys that key in the key store: their
profile, referral payloads, notes and plans, here and in every backup, can no
longer be opened. What stays is what the log needs and holds no person data
(DESIGN.md principle 4): ids, codes, times and hashes, so `verify_ledger`
still passes. Free-text notes beside ledger entries (a legal basis's reference among
them), reviewers' comments on emergency disclosures and the agencies' own
case references are deleted; every agency that ever received the person's
data gets a thin `subject.erased` event to erase its own copies.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.callers import Caller
from agencies.events import event_emit
from agencies.models import Membership
from hub.api.errors import Conflict, Forbidden, ValidationFailed

from .ledger import ledger_append
from .models import (
    EmergencyReview,
    EntryKind,
    LedgerEntry,
    LedgerNote,
    Provision,
    ProvisionKind,
    Subject,
    SubjectReference,
)
from .sealing import SubjectErased, destroy_key
from .services import _owned_subject_for_update

# Why a person's data is erased (the ledger records the code, never a text).
ERASURE_REASONS = (
    "subject_request",  # art. 17(1)(a)-(c): the person asked
    "consent_withdrawn",  # art. 17(1)(b): no other basis remains
    "unlawful_processing",  # art. 17(1)(d)
    "legal_obligation",  # art. 17(1)(e): a court or the law orders it
    "retention_expired",  # the retention period of every record has passed
)
ERASER_ROLES = ("dpo", "supervisor")
INVALID_REASON = "invalid_erasure_reason"
ERASURE_FORBIDDEN = "erasure_forbidden"
ERASURE_BLOCKED = "erasure_blocked"
# Art. 17(3)(b),(e): while the law or a court requires the data, it stays.
_BLOCKING_BASES = ("blue_card_procedure", "court_order", "legal_obligation")
EVENT_TYPE = "subject.erased"


def subject_erasure_recipients(subject: Subject) -> set[str]:
    """Every agency that ever received the subject's data: the recipients
    of its disclosure entries (ids from the log, never from a note)."""
    entries = LedgerEntry.objects.filter(subject=subject, kind=EntryKind.DISCLOSURE).only("canonical")
    return {entry.body["recipient"] for entry in entries.iterator()} - {str(subject.owner_id)}


@transaction.atomic
def subject_erase(*, caller: Caller, subject_id, reason: str) -> Subject:
    """Erase a person the caller's agency owns: a DPO's or supervisor's act,
    with a reason code. 404 for another agency's subject, 410 when already
    erased, 409 while a statutory basis or court order is in force."""
    if reason not in ERASURE_REASONS:
        raise ValidationFailed(
            _("Say why: reason must be one of %(allowed)s.") % {"allowed": ", ".join(ERASURE_REASONS)},
            code=INVALID_REASON, errors=[{"pointer": "/reason", "detail": _("Unknown erasure reason.")}],
        )
    _require_eraser(caller)
    subject = _owned_subject_for_update(subject_id, caller)
    return subject_shred(subject, caller=caller, reason=reason, kind=EntryKind.SUBJECT_ERASED, body={"reason": reason})


def _require_eraser(caller: Caller) -> None:
    allowed = caller.user is not None and Membership.objects.filter(
        user=caller.user, agency=caller.agency, role__in=ERASER_ROLES, active=True
    ).exists()
    if not allowed:
        raise Forbidden(_("Only the agency's data-protection officer or a supervisor may erase a person's data."),
                        code=ERASURE_FORBIDDEN)


def statutory_bases_in_force(subject_id, now) -> list[tuple]:
    """(id, basis) of each statutory basis or court order that keeps the
    person's data while it is in force (art. 17(3)(b),(e))."""
    provisions = Provision.objects.filter(
        subject_id=subject_id, kind=ProvisionKind.LEGAL_BASIS, basis__in=_BLOCKING_BASES, ended_at__isnull=True
    )
    return [(p.id, p.basis) for p in provisions if p.is_active(now)]


def subject_shred(subject: Subject, *, caller: Caller, reason: str, kind: str, body: dict) -> Subject:
    """The erasure itself (by a person's request, or at the end of retention,
    referrals/retention.py), in the caller's transaction, the subject locked:
    410 when already erased, 409 while a statutory basis is in force."""
    if subject.erased_at is not None:
        raise SubjectErased(subject.id)
    now = timezone.now()
    blocking = statutory_bases_in_force(subject.id, now)
    if blocking:
        raise Conflict(
            _("A statutory basis or court order requires this data while it is in force: end it first."),
            code=ERASURE_BLOCKED, bases=[{"id": str(pk), "basis": basis} for pk, basis in blocking],
        )
    recipients = subject_erasure_recipients(subject)
    LedgerNote.objects.filter(entry__subject=subject).delete()
    SubjectReference.objects.filter(subject=subject).delete()
    # A reviewer's comment on an emergency disclosure is free text about her too.
    EmergencyReview.objects.filter(provision__subject=subject).exclude(comment="").update(comment="")
    subject.erased_at, subject.erasure_reason = now, reason
    subject.save(update_fields=["erased_at", "erasure_reason"])
    ledger_append(kind=kind, subject=subject, caller=caller, body=body)
    if recipients:
        event_emit(type=EVENT_TYPE, object_type="subject", object_id=subject.id, status="erased", agencies=recipients)
    # Last, and on the key store's own connection: if this transaction then
    # fails, the key is gone all the same and every read of the person's
    # data answers 410 (sealing.data_key); a retry completes the record.
    destroy_key(subject.id)
    return subject

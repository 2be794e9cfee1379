"""Reads of referrals, scoped to the two agencies of each referral. Reading a
payload or profile goes through the disclosure choke point."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from agencies.callers import Caller
from consent_ledger.disclosure import ERASED, Disclosed, Part, disclose_together
from hub.api.compiled_queries import CompiledQuery
from hub.api.errors import NotFoundError

from .models import CaseUpdate, Referral

INBOX, OUTBOX = "inbox", "outbox"


def _referrals_of_party(agency, *, lock: bool = False) -> QuerySet[Referral]:
    referrals = Referral.objects.select_related("subject").filter(Q(sender=agency) | Q(recipient=agency))
    return referrals.select_for_update(of=("self",)) if lock else referrals


# Every read of a referral starts here: compiled once (issue 11).
_PARTY_REFERRAL = CompiledQuery(
    lambda referral, agency: _referrals_of_party(agency).filter(pk=referral)[:1],
    referral=Referral._meta.pk, agency=Referral._meta.get_field("sender"),
)


def referral_for_party(referral_id, caller: Caller, *, lock: bool = False) -> Referral:
    """The referral if the caller sent or received it; 404 otherwise."""
    if lock:
        referral = _referrals_of_party(caller.agency.pk, lock=True).filter(pk=referral_id).first()
    else:
        referral = _PARTY_REFERRAL.first(referral=referral_id, agency=caller.agency.pk)
    if referral is None:
        raise NotFoundError(_("No such referral."))
    return referral


def referral_list_for_agency(
    caller: Caller,
    *,
    box: str | None = None,
    status: str | None = None,
    service: str | None = None,
    urgency: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> QuerySet[Referral]:
    """Metadata of the caller's referrals; no payload, one query per page."""
    scope = {INBOX: Q(recipient=caller.agency), OUTBOX: Q(sender=caller.agency)}.get(
        box, Q(recipient=caller.agency) | Q(sender=caller.agency)
    )
    referrals = Referral.objects.filter(scope).defer("payload", "reason", "outcome", "status_reason")
    filters = {"status": status, "service": service, "urgency": urgency,
               "created_at__gt": created_after, "created_at__lt": created_before}
    return referrals.filter(**{k: v for k, v in filters.items() if v is not None})


def _metadata_only(referral: Referral) -> bool:
    """The person was erased (issue 12, item 2), or the referral's content
    was at the end of its retention period (item 3): nothing to disclose."""
    return referral.subject.erased_at is not None or referral.content_erased_at is not None


# The free text of a referral outside its payload, one document per author.
TEXT_SCHEMA = "free-text"


@dataclass(frozen=True)
class ReferralView:
    referral: Referral
    payload: Disclosed
    profile: Disclosed
    reason: str | None  # None when withheld
    status_reason: str | None
    withheld_categories: list[str]  # of the payload and the texts


@transaction.atomic
def referral_read(caller: Caller, referral_id) -> ReferralView:
    """The referral as the caller may see it: its payload (supplied by the
    sender), the subject's profile (by the owner), its reason (by the sender)
    and its status reason (by whoever last changed the status), disclosed
    together as one read. Each party gets back what it wrote itself; the rest
    passes the choke point, where what the sender withholds from the
    recipient stays withheld."""
    referral = referral_for_party(referral_id, caller)
    if _metadata_only(referral):
        return ReferralView(referral, ERASED, ERASED, None, None, [])
    texts = {
        "reason": Part({"reason": referral.reason}, TEXT_SCHEMA, referral.sender_id),
        "status_reason": Part({"status_reason": referral.status_reason}, TEXT_SCHEMA, referral.status_reason_by_id),
    }
    texts = {name: part for name, part in texts.items() if part.document[name]}
    payload, profile, *released = disclose_together(
        subject=referral.subject, caller=caller, purpose=referral.purpose, about=referral,
        parts=[
            Part(referral.payload, referral.payload_schema, referral.sender_id),
            Part(referral.subject.profile, referral.subject.profile_schema),
            *texts.values(),
        ],
    )
    text = {name: result.document.get(name) for name, result in zip(texts, released)}
    withheld = {c for result in (payload, *released) for c in result.withheld_categories}
    return ReferralView(
        referral, payload, profile, text.get("reason", ""), text.get("status_reason", ""), sorted(withheld)
    )


@dataclass(frozen=True)
class UpdateView:
    update: CaseUpdate
    payload: Disclosed


def case_update_list(caller: Caller, referral_id) -> list[UpdateView]:
    """The referral's case updates, disclosed to the caller together as one
    read; each author gets its own updates back without a disclosure."""
    referral = referral_for_party(referral_id, caller)
    updates = list(referral.updates.order_by("created_at"))
    if not updates:
        return []
    if _metadata_only(referral):
        return [UpdateView(update, ERASED) for update in updates]
    disclosed = disclose_together(
        subject=referral.subject, caller=caller, purpose=referral.purpose, about=referral,
        parts=[Part(u.payload, u.payload_schema, u.author_id) for u in updates],
    )
    return [UpdateView(update, result) for update, result in zip(updates, disclosed)]

"""Every write to referrals: create, transition, case updates. Each service is
one transaction that also writes its thin outbox event."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.callers import Caller
from agencies.directory.services import capacity_release, capacity_take, directory_service_pick
from agencies.events import event_emit
from agencies.models import Agency
from agencies.selectors import agency_get_active
from consent_ledger.decisions import decide
from consent_ledger.selectors import (
    provisions_in_force,
    recipient_of,
    subject_get_for_caller,
)
from consent_ledger.sealing import unsealed
from consent_ledger.services import withholding_record
from hub.api import compiled_queries
from hub.api.errors import Conflict, Gone, PreconditionFailed, ValidationFailed
from schemas.registry import get_registry
from schemas.vocabularies import DATA_CATEGORIES, PURPOSES, REFERRAL_SERVICES, codes

from . import lifecycle
from .models import URGENCIES, CaseUpdate, Referral, ReferralTransition
from .selectors import referral_for_party

UNCOVERED_CATEGORIES = "uncovered_categories"
CONTENT_ERASED = "content_erased"

# Event types (thin: ids, status, agencies; no person data).
EVENT_REQUESTED = "referral.requested"
EVENT_UPDATE_ADDED = "referral.update_added"


def event_type(status: str) -> str:
    return f"referral.{status.replace('-', '_')}"


def payload_schema_name(service: str) -> str:
    return f"referral-{service}"


def update_schema_name(kind: str) -> str:
    return f"case-update-{kind}"


def _schema_errors(schema: str, document, pointer: str) -> list[dict]:
    return [{"pointer": f"{pointer}{p.pointer}", "detail": p.detail} for p in get_registry().validate(schema, document)]


def _check_codes(value, allowed, pointer, errors):
    if value not in allowed:
        errors.append({"pointer": pointer, "detail": _("One of: %(allowed)s.") % {"allowed": ", ".join(allowed)}})


def _uncovered(subject, recipient: Agency, purpose: str, withhold: set[str], parts, reason: str) -> list[dict]:
    """Per top-level member of each document (and the free-text reason, which
    is case_notes), the categories present that no basis lets the recipient
    receive for `purpose` and that the sender does not withhold."""
    registry = get_registry()
    members = [
        (f"{pointer}/{member}", registry.categories_present(schema, {member: value}) - withhold)
        for pointer, schema, document in parts
        for member, value in (document or {}).items()
    ]
    if reason:
        members.append(("/reason", {"case_notes"} - withhold))
    now = timezone.now()
    provisions = provisions_in_force(subject.id, now)
    # A category's decision does not depend on the member it is in: one decision for all.
    present = set().union(*(categories for _, categories in members))
    denied = set(decide(provisions, recipient_of(recipient, provisions), present, purpose, now).denied)
    errors = []
    for pointer, categories in members:
        missing = sorted(categories & denied)
        if missing:
            detail = _("No basis to disclose %(categories)s to the recipient for %(purpose)s.") % {
                "categories": ", ".join(missing), "purpose": purpose,
            }
            errors.append({"pointer": pointer, "detail": detail, "categories": missing})
    return errors


def _check_covered(subject, recipient: Agency, purpose: str, withhold: set[str], schema: str, payload, reason) -> None:
    """The owner's send-time check: refuse (422) data that no basis lets the
    recipient receive, naming each member and its categories. Only the owner
    is told: it records the bases, while an answer that depended on the
    recipient's bases would tell any other sender which agencies hold them."""
    # The profile is opened to learn which categories it holds, not to show it.
    parts = [("/payload", schema, payload), ("/subject/profile", subject.profile_schema, unsealed(subject.profile))]
    uncovered = _uncovered(subject, recipient, purpose, withhold, parts, reason)
    if uncovered:
        raise ValidationFailed(
            _(
                "Some of this data has no basis for the recipient: record a consent or legal basis, "
                "or list the categories in withhold_categories."
            ),
            code=UNCOVERED_CATEGORIES,
            errors=uncovered,
        )


@transaction.atomic
def referral_create(
    *,
    caller: Caller,
    subject_id,
    to_agency_id,
    service: str,
    urgency: str,
    purpose: str,
    payload: dict,
    reason: str = "",
    withhold_categories: list[str] | None = None,
    directory_service_id=None,
) -> Referral:
    """Send a referral. The subject's owner is refused (422) when the payload,
    the reason or the subject's profile hold categories that no basis lets the
    recipient receive for `purpose`, unless it lists them in
    `withhold_categories`. Another sender is never told what the recipient may
    receive (see _check_covered). Either way the recipient receives only what
    the choke point releases when it reads, and never a withheld category, on
    any read of this subject (consent_ledger.models.Withholding).

    `directory_service_id` names the service the sender picked from the
    directory (the recipient's, active, of this service code; else 422 at
    /directory_service): accepting the referral takes a place there."""
    subject = subject_get_for_caller(subject_id, caller)
    recipient = agency_get_active(to_agency_id)
    errors = []
    if recipient is None:
        errors.append({"pointer": "/to_agency", "detail": _("No such active agency.")})
    elif recipient.pk == caller.agency.pk:
        errors.append({"pointer": "/to_agency", "detail": _("An agency cannot refer to itself.")})
    _check_codes(service, codes(REFERRAL_SERVICES), "/service", errors)
    _check_codes(urgency, URGENCIES, "/urgency", errors)
    _check_codes(purpose, codes(PURPOSES), "/purpose", errors)
    withhold = list(withhold_categories or [])
    for index, category in enumerate(withhold):
        _check_codes(category, codes(DATA_CATEGORIES), f"/withhold_categories/{index}", errors)
    picked, pick_errors = directory_service_pick(
        directory_service_id, recipient_id=recipient.pk if recipient is not None else None, service=service
    )
    errors += pick_errors
    if not errors:
        errors = _schema_errors(payload_schema_name(service), payload, "/payload")
    if errors:
        raise ValidationFailed(_("The referral is not valid."), errors=errors)
    if subject.owner_id == caller.agency.pk:
        _check_covered(subject, recipient, purpose, set(withhold), payload_schema_name(service), payload, reason)
    now = timezone.now()
    referral = Referral(
        sender=caller.agency, sender_actor=caller.actor_label, recipient=recipient, subject=subject,
        service=service, urgency=urgency, purpose=purpose, payload=payload,
        payload_schema=get_registry().schema_id(payload_schema_name(service)), reason=reason,
        withhold_categories=sorted(set(withhold)), directory_service=picked,
        acknowledge_by=now + timedelta(hours=settings.REFERRAL_ACK_HOURS[urgency]),
        created_at=now, updated_at=now,
    )
    compiled_queries.insert(referral)
    withholding_record(
        caller=caller, subject=subject, agency_id=recipient.pk, categories=referral.withhold_categories,
        source=f"referral:{referral.id}",
    )
    _emit(referral, EVENT_REQUESTED)
    return referral


def _emit(referral: Referral, type_: str, **data) -> None:
    event_emit(
        type=type_, object_type="referral", object_id=referral.id, status=referral.status,
        agencies=[referral.sender_id, referral.recipient_id], data={"version": referral.version, **data},
    )


def _party(referral: Referral, caller: Caller) -> str:
    return lifecycle.SENDER if caller.agency.pk == referral.sender_id else lifecycle.RECIPIENT


def _check_outcome(to: str, outcome) -> list[dict]:
    if to not in lifecycle.NEEDS_OUTCOME:
        if outcome is None:
            return []
        statuses = ", ".join(sorted(lifecycle.NEEDS_OUTCOME))
        return [{"pointer": "/outcome", "detail": _("Only these statuses carry an outcome: %(statuses)s.") % {"statuses": statuses}}]
    if not isinstance(outcome, dict) or not isinstance(outcome.get("success"), bool):
        return [{"pointer": "/outcome/success", "detail": _("Say whether the service succeeded (true or false).")}]
    errors = []
    if outcome.get("reason") is not None and outcome["reason"] not in lifecycle.OUTCOME_REASONS:
        errors.append({
            "pointer": "/outcome/reason", "detail": _("One of: %(allowed)s.") % {"allowed": ", ".join(lifecycle.OUTCOME_REASONS)},
        })
    if not outcome["success"] and outcome.get("reason") is None:
        errors.append({"pointer": "/outcome/reason", "detail": _("An unsuccessful outcome needs a reason code.")})
    if to == lifecycle.FAILED and outcome["success"]:
        errors.append({"pointer": "/outcome/success", "detail": _("A failed referral cannot be a success.")})
    extra = set(outcome) - {"success", "reason"}
    errors += [{"pointer": f"/outcome/{key}", "detail": _("Unknown field.")} for key in sorted(extra)]
    return errors


# Places in the service directory (issue 14): accepting a referral takes one
# (409 no_capacity when none is free: nothing of the transition is written);
# ending a referral that held one gives it back.
HOLDS_A_PLACE = frozenset({lifecycle.ACCEPTED, lifecycle.IN_PROGRESS, lifecycle.ON_HOLD})
ENDS = frozenset({lifecycle.COMPLETED, lifecycle.FAILED, lifecycle.CANCELLED})


def _count_place(referral: Referral, to: str, caller: Caller) -> None:
    if to == lifecycle.ACCEPTED:
        capacity_take(referral=referral, actor=caller)
    elif referral.status in HOLDS_A_PLACE and to in ENDS:
        capacity_release(referral=referral, actor=caller)


@transaction.atomic
def referral_transition(
    *, caller: Caller, referral_id, to: str, reason: str = "", outcome=None, if_match: str | None = None
) -> Referral:
    """Move a referral to `to` if the caller's side may (lifecycle.TRANSITIONS).

    `if_match` (the ETag the caller last saw) makes the change conditional:
    a referral changed meanwhile is a 412, never overwritten."""
    referral = referral_for_party(referral_id, caller, lock=True)
    if if_match is not None and if_match not in (referral.etag, "*"):
        raise PreconditionFailed(_("The referral changed since you read it; read it again."), current_etag=referral.etag)
    refusal = lifecycle.check(referral.status, to, _party(referral, caller))
    if refusal is not None:
        raise Conflict(refusal.detail, code=refusal.code, current_status=referral.status, allowed=refusal.allowed)
    errors = _check_outcome(to, outcome)
    if to in lifecycle.NEEDS_REASON and not reason.strip():
        errors.append({"pointer": "/reason", "detail": _("Say why the referral is %(status)s.") % {"status": to}})
    if errors:
        raise ValidationFailed(_("The transition is not valid."), errors=errors)
    _count_place(referral, to, caller)
    now = timezone.now()
    ReferralTransition.objects.create(
        referral=referral, from_status=referral.status, to_status=to, agency=caller.agency,
        actor=caller.actor_label, at=now, reason=reason, outcome=outcome,
    )
    referral.status, referral.status_reason, referral.status_reason_by = to, reason, caller.agency
    referral.updated_at = now
    referral.version += 1
    fields = ["status", "status_reason", "status_reason_by", "updated_at", "version"]
    stamp = lifecycle.TIMESTAMP_FIELDS[to]
    if getattr(referral, stamp) is None:
        setattr(referral, stamp, now)
        fields.append(stamp)
    if outcome is not None:
        referral.outcome = outcome
        fields.append("outcome")
    referral.save(update_fields=fields)
    _emit(referral, event_type(to))
    return referral


@transaction.atomic
def case_update_add(*, caller: Caller, referral_id, kind: str, payload: dict) -> CaseUpdate:
    """Either side adds a note, appointment or outcome to an open or closed referral."""
    referral = referral_for_party(referral_id, caller, lock=True)
    if referral.content_erased_at is not None:
        raise Gone(_("This referral's content was erased at the end of its retention period."), code=CONTENT_ERASED)
    errors = []
    _check_codes(kind, CaseUpdate.KINDS, "/kind", errors)
    if not errors:
        errors = _schema_errors(update_schema_name(kind), payload, "/payload")
    if errors:
        raise ValidationFailed(_("The case update is not valid."), errors=errors)
    update = CaseUpdate.objects.create(
        referral=referral, author=caller.agency, actor=caller.actor_label, kind=kind, payload=payload,
        payload_schema=get_registry().schema_id(update_schema_name(kind)), created_at=timezone.now(),
    )
    referral.version += 1
    referral.updated_at = update.created_at
    referral.save(update_fields=["version", "updated_at"])
    _emit(referral, EVENT_UPDATE_ADDED, update=str(update.id), kind=kind)
    return update


EVENT_OVERDUE = "referral.overdue"


@transaction.atomic
def referral_deadlines_escalate() -> int:
    """Referrals not acknowledged (received) by their deadline: one
    `referral.overdue` event to both agencies, marked for the recipient's
    supervisors (data.escalate_to_role)."""
    now = timezone.now()
    overdue = list(
        Referral.objects.select_for_update(skip_locked=True).filter(
            status=lifecycle.REQUESTED, acknowledge_by__lt=now, overdue_notified_at__isnull=True
        )
    )
    for referral in overdue:
        referral.overdue_notified_at = now
        referral.save(update_fields=["overdue_notified_at"])
        _emit(referral, EVENT_OVERDUE, escalate_to_role="supervisor", acknowledge_by=referral.acknowledge_by.isoformat())
    return len(overdue)

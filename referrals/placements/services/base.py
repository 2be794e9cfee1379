"""What the placement services share: error codes, event types, the 403
for a step that is the other side's, and small helpers (errors, ETags,
versions, events, months)."""

import calendar
from datetime import date

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import status

from agencies.events import event_emit
from hub.api.errors import ApplicationError, PreconditionFailed, ValidationFailed

from ...blue_card.deadlines import add_months
from .. import lifecycle
from ..models import Placement

# The agencies that coordinate placements (DESIGN.md 4.6, seed 003).
COORDINATING_KINDS = ("cis", "ops", "ngo", "labour_office")
EMPLOYER_KIND = "employer"

# Stable error codes (tests and clients use these, never the text).
NOT_A_COORDINATING_AGENCY = "placement_not_a_coordinating_agency"
AGREEMENT_FULL = "agreement_full"
NOT_STARTED = "placement_not_started"
NOT_ENDED = "placement_not_ended"
CHECK_IN_EXISTS = "placement_check_in_exists"
OUTCOME_EXISTS = "placement_outcome_exists"
FOLLOW_UP_EXISTS = "placement_follow_up_exists"
COORDINATING_AGENCY_REQUIRED = "placement_coordinating_agency_required"

# Outbox event types (schemas/vocabularies/event_types.json).
EVENT_PROPOSED = "placement.proposed"
EVENT_OF_STATUS = {
    lifecycle.CONFIRMED: "placement.confirmed",
    lifecycle.DECLINED: "placement.declined",
    lifecycle.WITHDRAWN: "placement.withdrawn",
    lifecycle.ACTIVE: "placement.activated",
    lifecycle.COMPLETED: "placement.completed",
    lifecycle.ENDED_EARLY: "placement.ended_early",
}
EVENT_OUTCOME_RECORDED = "placement.outcome_recorded"
EVENT_CHECK_IN_RECORDED = "placement.check_in_recorded"
EVENT_FOLLOWED_UP = "placement.followed_up"
EVENT_CHECK_IN_DUE = "placement.check_in_due"


class PlacementForbidden(ApplicationError):
    """The caller is a party to the placement but the step is the other side's."""

    code = COORDINATING_AGENCY_REQUIRED
    status = status.HTTP_403_FORBIDDEN
    title = gettext_lazy("Not allowed.")


# --- Helpers ---------------------------------------------------------------------------


# What `raise_if(errors, what)` says, by `what`.
_NOT_VALID = {
    "agreement": gettext_lazy("The agreement is not valid."),
    "placement": gettext_lazy("The placement is not valid."),
    "transition": gettext_lazy("The transition is not valid."),
    "outcome": gettext_lazy("The outcome is not valid."),
    "follow-up": gettext_lazy("The follow-up is not valid."),
    "check-in": gettext_lazy("The check-in is not valid."),
}


def error(pointer: str, detail: str, code: str = "invalid") -> dict:
    return {"pointer": pointer, "detail": detail, "code": code}


def raise_if(errors: list[dict], what: str) -> None:
    if errors:
        raise ValidationFailed(str(_NOT_VALID[what]), errors=errors)


def check_if_match(placement: Placement, if_match: str | None) -> None:
    # RFC 9110 §13.1.1: a stale ETag is a 412, never a silent overwrite.
    if if_match is not None and if_match not in (placement.etag, "*"):
        raise PreconditionFailed(_("The placement changed since you read it; read it again."),
                                 current_etag=placement.etag)


def touch(placement: Placement, now, *fields: str) -> None:
    placement.version += 1
    placement.updated_at = now
    placement.save(update_fields=["version", "updated_at", *fields])


def emit(placement: Placement, type_: str, *, coordinating_only: bool = False, **data) -> None:
    agencies = [placement.coordinating_agency_id]
    if not coordinating_only:
        agencies.append(placement.employer_id)
    event_emit(
        type=type_, object_type="placement", object_id=placement.id, status=placement.status, agencies=agencies,
        data={"version": placement.version, **{k: str(v) for k, v in data.items()}},
    )


def month_of(day: date) -> date:
    return day.replace(day=1)


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def months_between(first: date, last: date) -> list[date]:
    months, month = [], month_of(first)
    while month <= month_of(last):
        months.append(month)
        month = add_months(month, 1)
    return months

"""The outcome of an ended placement and the follow-up after
PLACEMENT_FOLLOW_UP_DAYS: what the statistics count (stats.py)."""

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.callers import Caller
from hub.api.errors import Conflict

from ...working_days import today_in_poland
from .. import lifecycle
from ..models import CONTRACT_TYPES, ENDED_EARLY, HIRED, NOT_HIRED, NOT_HIRED_REASONS, OUTCOMES, Placement
from ..selectors import placement_for_party, side_of
from .base import (
    EVENT_FOLLOWED_UP,
    EVENT_OUTCOME_RECORDED,
    FOLLOW_UP_EXISTS,
    NOT_ENDED,
    OUTCOME_EXISTS,
    PlacementForbidden,
    check_if_match,
    emit,
    error,
    raise_if,
    touch,
)


# --- Outcome and follow-up ---------------------------------------------------------------------


# contract_months not given at all: a hire must say its length, or null for an open-ended contract.
NOT_GIVEN = object()


def _decimal(value) -> Decimal | None:
    # A float from a caller other than the API (whose serializer gives Decimals): its shortest repr.
    return value if value is None or value is NOT_GIVEN or isinstance(value, Decimal) else Decimal(str(value))


def _outcome_errors(placement: Placement, outcome: str, contract_type, fte, contract_months, reason) -> list[dict]:
    if outcome not in OUTCOMES:
        return [error("/outcome", _("One of: %(allowed)s.") % {"allowed": ", ".join(OUTCOMES)})]
    fits = {lifecycle.COMPLETED: (HIRED, NOT_HIRED), lifecycle.ENDED_EARLY: (HIRED, ENDED_EARLY)}[placement.status]
    if outcome not in fits:
        return [error(
            "/outcome",
            _("A placement that is %(status)s ends as one of: %(allowed)s.") % {"status": placement.status, "allowed": ", ".join(fits)},
        )]
    hire = {"contract_type": contract_type, "fte": fte, "contract_months": contract_months}
    if outcome != HIRED:
        errors = [error(f"/{name}", _("Only a hire has this.")) for name, value in hire.items()
                  if value not in (None, NOT_GIVEN)]
        codes = NOT_HIRED_REASONS if outcome == NOT_HIRED else lifecycle.END_REASONS
        if reason not in codes:
            errors.append(error(
                "/reason", _("One of: %(allowed)s.") % {"allowed": ", ".join(codes)}, "required" if not reason else "invalid"
            ))
        return errors
    errors = [error("/reason", _("A hire takes no reason."))] if reason else []
    if contract_type not in CONTRACT_TYPES:
        errors.append(error("/contract_type", _("One of: %(allowed)s.") % {"allowed": ", ".join(CONTRACT_TYPES)}))
    if fte is None or not Decimal(0) < fte <= Decimal(1):
        errors.append(error("/fte", _("Working time as a fraction of full time: more than 0, at most 1.")))
    if contract_months is NOT_GIVEN:
        errors.append(error("/contract_months", _("The contract's length in months, or null when it is open-ended."),
                             "required"))
    elif contract_months is None and contract_type != "employment_contract":
        errors.append(error("/contract_months", _("Only an employment contract may be open-ended (no length).")))
    elif contract_months is not None and not Decimal(0) < contract_months <= Decimal(600):
        errors.append(error("/contract_months", _("The contract's length in months: more than 0, at most 600.")))
    return errors


@transaction.atomic
def placement_outcome_record(
    *, caller: Caller, placement_id, outcome: str, contract_type: str | None = None, fte: Decimal | None = None,
    contract_months=NOT_GIVEN, reason: str | None = None, if_match: str | None = None,
) -> Placement:
    """Record how an ended placement ended for the person (either side,
    once: 409 placement_outcome_exists): `hired` with contract type, FTE and
    length in months (None: an open-ended employment contract); `not_hired`
    with a reason code (completed placements); `ended_early` with a reason
    code (default: the one it ended with)."""
    placement = placement_for_party(placement_id, caller, lock=True)
    check_if_match(placement, if_match)
    if placement.status not in lifecycle.ENDED:
        raise Conflict(_("An outcome is recorded once the placement is completed or ended early."), code=NOT_ENDED,
                       current_status=placement.status)
    if placement.outcome:
        raise Conflict(_("The outcome is recorded already."), code=OUTCOME_EXISTS,
                       outcome_recorded_at=placement.outcome_recorded_at.isoformat())
    fte, contract_months = _decimal(fte), _decimal(contract_months)
    if outcome == ENDED_EARLY and not reason:
        reason = placement.status_reason
    raise_if(_outcome_errors(placement, outcome, contract_type, fte, contract_months, reason), "outcome")
    now = timezone.now()
    placement.outcome, placement.outcome_reason = outcome, reason or ""
    placement.contract_type, placement.fte = contract_type or "", fte
    placement.contract_months = None if contract_months is NOT_GIVEN else contract_months
    placement.outcome_recorded_at, placement.outcome_recorded_by = now, caller.agency
    touch(placement, now, "outcome", "outcome_reason", "contract_type", "fte", "contract_months",
           "outcome_recorded_at", "outcome_recorded_by")
    emit(placement, EVENT_OUTCOME_RECORDED, outcome=outcome)
    return placement


@transaction.atomic
def placement_follow_up_record(
    *, caller: Caller, placement_id, still_employed: bool, followed_up_on: date | None = None,
) -> Placement:
    """Record whether the person is still employed (anywhere) PLACEMENT_FOLLOW_UP_DAYS
    after the placement's last day: the coordinating agency, once (409)."""
    placement = placement_for_party(placement_id, caller, lock=True)
    if side_of(placement, caller) != lifecycle.COORDINATOR:
        raise PlacementForbidden(_("The coordinating agency records the follow-up."))
    if placement.status not in lifecycle.ENDED:
        raise Conflict(_("A follow-up comes after the placement's end."), code=NOT_ENDED, current_status=placement.status)
    if placement.employed_90d is not None:
        raise Conflict(_("The follow-up is recorded already."), code=FOLLOW_UP_EXISTS,
                       followed_up_on=placement.followed_up_on.isoformat())
    today = today_in_poland()
    followed_up_on = followed_up_on or today
    due = placement.ended_on + timedelta(days=settings.PLACEMENT_FOLLOW_UP_DAYS)
    errors = []
    if followed_up_on > today:
        errors.append(error("/followed_up_on", _("The day is in the future.")))
    elif followed_up_on < due:
        errors.append(error(
            "/followed_up_on",
            _("The follow-up is %(days)s days after the last day: from %(due)s.")
            % {"days": settings.PLACEMENT_FOLLOW_UP_DAYS, "due": due},
            "too_early",
        ))
    if not isinstance(still_employed, bool):
        errors.append(error("/still_employed", _("true or false.")))
    raise_if(errors, "follow-up")
    placement.employed_90d, placement.followed_up_on = still_employed, followed_up_on
    placement.follow_up_recorded_at = timezone.now()
    placement.save(update_fields=["employed_90d", "followed_up_on", "follow_up_recorded_at"])
    emit(placement, EVENT_FOLLOWED_UP, coordinating_only=True)
    return placement

"""Monthly check-ins (DESIGN.md 6.2) and the job that announces a missing
employer check-in once (placement.check_in_due)."""

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.callers import Caller
from hub.api.errors import Conflict

from ...working_days import today_in_poland
from .. import lifecycle
from ..documents import CHECK_IN_SCHEMA, check_in_document, schema_errors
from ..models import (
    TIMEPOINT_END,
    TIMEPOINT_FOLLOW_UP,
    TIMEPOINT_START,
    TIMEPOINTS,
    Placement,
    PlacementCheckIn,
    PlacementMonth,
)
from ..selectors import placement_for_party, side_of
from .base import (
    CHECK_IN_EXISTS,
    EVENT_CHECK_IN_DUE,
    EVENT_CHECK_IN_RECORDED,
    NOT_STARTED,
    emit,
    error,
    month_end,
    month_of,
    raise_if,
    touch,
)


# --- Check-ins -------------------------------------------------------------------------------


def _parse_month(value) -> date | None:
    try:
        year, month = str(value).split("-")
        if len(year) != 4 or len(month) != 2:
            return None
        return date(int(year), int(month), 1)
    except ValueError:
        return None


def _month_errors(placement: Placement, month: date | None, timepoint: str) -> list[dict]:
    if month is None:
        return [error("/month", _("A month as YYYY-MM."))]
    first, last = month_of(placement.start_on), month_of(placement.last_day)
    span = {"first": f"{first:%Y-%m}", "last": f"{last:%Y-%m}"}
    if month > month_of(today_in_poland()):
        return [error("/month", _("The month has not begun."))]
    if timepoint == TIMEPOINT_FOLLOW_UP:
        if placement.status not in lifecycle.ENDED or month <= last:
            return [error("/month", _("A follow-up is after the placement's end (it runs %(first)s to %(last)s).") % span)]
        return []
    if not first <= month <= last:
        return [error("/month", _("The placement runs %(first)s to %(last)s.") % span)]
    if timepoint == TIMEPOINT_START and month != first:
        return [error("/month", _("The start is %(first)s.") % span)]
    if timepoint == TIMEPOINT_END and month != last:
        return [error("/month", _("The end is %(last)s.") % span)]
    return []


_EMPLOYER_MEMBERS = ("days_worked", "days_absent", "employer_feedback")
_COORDINATOR_MEMBERS = ("coordinator_notes", "who5", "timepoint")


def _side_errors(side: str, check_in: PlacementCheckIn, month: date | None) -> list[dict]:
    given = {name: getattr(check_in, name) for name in (*_EMPLOYER_MEMBERS, *_COORDINATOR_MEMBERS)}
    own, other = ((_EMPLOYER_MEMBERS, _COORDINATOR_MEMBERS) if side == lifecycle.EMPLOYER
                  else (_COORDINATOR_MEMBERS, _EMPLOYER_MEMBERS))
    if side == lifecycle.EMPLOYER:
        others_only = _("Recorded by the coordinating agency only.")
    else:
        others_only = _("Recorded by the employer only.")
    errors = [error(f"/{name}", others_only) for name in other if given[name] not in (None, "")]
    if side == lifecycle.EMPLOYER:
        errors += [error(f"/{name}", _("Required."), "required") for name in own if given[name] is None]
        worked, absent = check_in.days_worked or 0, check_in.days_absent or 0
        if month is not None and worked + absent > month_end(month).day:
            errors.append(error(
                "/days_absent", _("Days worked and absent add up to more than %(month)s has.") % {"month": f"{month:%Y-%m}"}
            ))
        return errors
    if not check_in.coordinator_notes and check_in.who5 is None:
        errors.append(error("/coordinator_notes", _("Give your notes, the WHO-5 items, or both."), "required"))
    if check_in.timepoint and check_in.timepoint not in TIMEPOINTS:
        errors.append(error("/timepoint", _("One of: %(allowed)s.") % {"allowed": ", ".join(TIMEPOINTS)}))
    elif check_in.timepoint and check_in.who5 is None:
        errors.append(error(
            "/who5", _("The WHO-5 is what a check-in at the %(timepoint)s records.") % {"timepoint": check_in.timepoint},
            "required",
        ))
    return errors


def _refuse_duplicate(placement: Placement, check_in: PlacementCheckIn) -> None:
    existing = placement.check_ins.filter(side=check_in.side, month=check_in.month).first()
    if existing is not None:
        raise Conflict(_("Your check-in for %(month)s is recorded already.") % {"month": f"{check_in.month:%Y-%m}"},
                       code=CHECK_IN_EXISTS,
                       check_in=str(existing.id))
    if check_in.timepoint:
        existing = placement.check_ins.filter(timepoint=check_in.timepoint).first()
        if existing is not None:
            raise Conflict(_("The WHO-5 at the %(timepoint)s is recorded already.") % {"timepoint": check_in.timepoint},
                           code=CHECK_IN_EXISTS,
                           check_in=str(existing.id))


@transaction.atomic
def placement_check_in_add(
    *, caller: Caller, placement_id, month: str, days_worked: int | None = None, days_absent: int | None = None,
    employer_feedback: int | None = None, coordinator_notes: str = "", who5: list[int] | None = None,
    timepoint: str = "",
) -> PlacementCheckIn:
    """Record the caller's side's check-in for `month` (YYYY-MM, within the
    placement, begun): the employer's attendance and feedback, or the
    coordinator's notes and WHO-5 items (at `timepoint` start, end or
    follow_up, or monthly). One per side and month (409); only for a
    placement that started (409)."""
    placement = placement_for_party(placement_id, caller, lock=True)
    if placement.status not in lifecycle.STARTED:
        raise Conflict(_("Check-ins are recorded once the placement is active."), code=NOT_STARTED,
                       current_status=placement.status)
    side = side_of(placement, caller)
    day = _parse_month(month)
    now = timezone.now()
    check_in = PlacementCheckIn(
        placement=placement, side=side, month=day, timepoint=timepoint or "", days_worked=days_worked,
        days_absent=days_absent, employer_feedback=employer_feedback, coordinator_notes=coordinator_notes or "",
        who5=who5, recorded_by=caller.agency, actor=caller.actor_label, recorded_at=now,
    )
    errors = _side_errors(side, check_in, day)
    errors += _month_errors(placement, day, check_in.timepoint if side == lifecycle.COORDINATOR else "")
    known = {e["pointer"] for e in errors}
    errors += [e for e in schema_errors(CHECK_IN_SCHEMA, check_in_document(check_in)) if e["pointer"] not in known]
    raise_if(errors, "check-in")
    _refuse_duplicate(placement, check_in)
    check_in.save(force_insert=True)
    if side == lifecycle.EMPLOYER:
        placement.months.filter(month=day).update(checked_in_at=now)
        touch(placement, now)
        emit(placement, EVENT_CHECK_IN_RECORDED, check_in=check_in.id, side=side, month=f"{day:%Y-%m}")
    else:
        emit(placement, EVENT_CHECK_IN_RECORDED, coordinating_only=True, check_in=check_in.id, side=side,
              month=f"{day:%Y-%m}")
    return check_in


# --- Periodic ----------------------------------------------------------------------------------


@transaction.atomic
def placement_check_ins_due() -> int:
    """Months of started placements whose employer check-in is still missing
    PLACEMENT_CHECK_IN_GRACE_DAYS after the month ended: one
    `placement.check_in_due` event each, to both sides, once (marked; rows
    another run holds are skipped, so overlapping runs never announce a month
    twice)."""
    now = timezone.now()
    due = list(
        PlacementMonth.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("placement")
        .filter(check_in_due__lt=today_in_poland(), checked_in_at__isnull=True, due_notified_at__isnull=True,
                voided_at__isnull=True, placement__status__in=lifecycle.STARTED)
        .order_by("check_in_due", "id")
    )
    for month in due:
        month.due_notified_at = now
        month.save(update_fields=["due_notified_at"])
        emit(month.placement, EVENT_CHECK_IN_DUE, month=f"{month.month:%Y-%m}", due=month.check_in_due.isoformat())
    return len(due)

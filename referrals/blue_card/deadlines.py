"""The procedure's statutory deadlines in Polish working days (rules.py says
which step runs from which; settings.BLUE_CARD_DEADLINE_WORKING_DAYS says how
long each is). Pure functions over rows: the services store them, the
selectors show them."""

import calendar
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings

from ..working_days import add_working_days, polish_date
from .models import BlueCardDeadline, BlueCardProcedure


def deadline_for(procedure: BlueCardProcedure, step: str, runs_from: datetime) -> BlueCardDeadline:
    """The (unsaved) deadline for `step`, running from the moment of the step
    before it: `due` is the last day in time, in Poland."""
    working_days = settings.BLUE_CARD_DEADLINE_WORKING_DAYS[step]
    due = add_working_days(polish_date(runs_from), working_days)
    return BlueCardDeadline(procedure=procedure, step=step, working_days=working_days, due=due)


def met_in_time(deadline: BlueCardDeadline, today: date) -> bool | None:
    """True when met by its due day; False when met late or missed; None while
    it still runs, or when the procedure closed before it fell due."""
    if deadline.met_at is not None:
        return polish_date(deadline.met_at) <= deadline.due
    if deadline.voided_at is not None or today <= deadline.due:
        return None
    return False


@dataclass(frozen=True)
class DeadlineView:
    step: str
    due: date
    met_at: datetime | None
    overdue: bool  # not met and past due, while the procedure is open
    met_in_time: bool | None


def deadline_view(deadline: BlueCardDeadline, procedure_open: bool, today: date) -> DeadlineView:
    overdue = procedure_open and deadline.met_at is None and deadline.voided_at is None and today > deadline.due
    return DeadlineView(deadline.step, deadline.due, deadline.met_at, overdue, met_in_time(deadline, today))


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later (or earlier), or the last
    day of that month when it is shorter (31 January + 1 month = 28/29 February)."""
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))

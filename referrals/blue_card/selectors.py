"""Every read of Blue Card procedures. A procedure is visible only to the
agencies with access to its ZI or its GDP (a current member whose art. 9c
confidentiality declaration was received: agencies.selectors); to anyone
else it is a 404. What the forms say about people leaves only through the
disclosure choke point (blue_card_read)."""

from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from agencies.callers import Caller
from agencies.models import Team
from agencies.selectors import team_access_ids, team_get_for_member
from consent_ledger.disclosure import Disclosed, Part, disclose_together
from hub.api.errors import NotFoundError
from schemas.registry import get_registry

from ..working_days import polish_date, today_in_poland
from . import rules
from .deadlines import DeadlineView, add_months, deadline_view, met_in_time
from .models import BlueCardDeadline, BlueCardProcedure, BlueCardStep, ZiMeeting

# The purpose every read of a procedure's forms is made for (DESIGN.md 4.1).
READ_PURPOSE = "team_plan"


def _visible_to(caller: Caller) -> Q:
    teams = team_access_ids(caller.agency.id)
    return Q(team_id__in=teams) | Q(gdp_id__in=teams)


def blue_card_for_member(procedure_id, caller: Caller, *, lock: bool = False) -> BlueCardProcedure:
    """The procedure if the caller has access to its ZI or GDP; 404 otherwise."""
    procedures = BlueCardProcedure.objects.all()
    if lock:
        procedures = procedures.select_for_update(of=("self",))
    procedure = procedures.filter(_visible_to(caller), pk=procedure_id).select_related("subject").first()
    if procedure is None:
        raise NotFoundError(_("No such Blue Card procedure."))
    return procedure


def _overdue_deadlines(today: date):
    return BlueCardDeadline.objects.filter(
        procedure=OuterRef("pk"), met_at__isnull=True, voided_at__isnull=True, due__lt=today
    )


def blue_card_list_for_agency(
    caller: Caller, *, team_id=None, overdue: bool = False, status: str | None = None
) -> QuerySet[BlueCardProcedure]:
    """Metadata of the procedures the caller may see, each with its deadlines
    (two queries a page). `team_id` is the ZI or the GDP; `overdue` keeps the
    open ones with a deadline past due and not met."""
    procedures = BlueCardProcedure.objects.filter(_visible_to(caller)).defer(
        "forms_of_violence", "children_in_household"
    )
    if team_id is not None:
        procedures = procedures.filter(Q(team_id=team_id) | Q(gdp_id=team_id))
    if status is not None:
        procedures = procedures.filter(status=status)
    if overdue:
        procedures = procedures.filter(Exists(_overdue_deadlines(today_in_poland())), status=BlueCardProcedure.OPEN)
    return procedures.prefetch_related(Prefetch("deadlines", queryset=BlueCardDeadline.objects.order_by("due", "id")))


def deadline_views(procedure: BlueCardProcedure, today: date | None = None) -> list[DeadlineView]:
    today = today or today_in_poland()
    is_open = procedure.status == BlueCardProcedure.OPEN
    deadlines = sorted(procedure.deadlines.all(), key=lambda d: (d.due, d.id))
    return [deadline_view(deadline, is_open, today) for deadline in deadlines]


@dataclass(frozen=True)
class StepView:
    step: BlueCardStep
    content: Disclosed | None  # NK-C or NK-D, as released to the caller


@dataclass(frozen=True)
class BlueCardView:
    procedure: BlueCardProcedure
    nka: Disclosed
    steps: list[StepView]
    deadlines: list[DeadlineView]
    withheld_categories: list[str]


# What a procedure whose content was erased shows of its NK-A.
_NO_FORMS = Disclosed({}, [], [], None)


@transaction.atomic
def blue_card_read(caller: Caller, procedure_id) -> BlueCardView:
    """The procedure with its steps and deadlines. The forms (the NK-A's
    person data, each NK-C, each NK-D) are disclosed together, for
    `team_plan`, as one read: one `disclosure` entry naming the basis of each
    category released; each agency gets back what it wrote itself. An NK-D is
    `perpetrator` data: only an agency with a basis for that category sees it."""
    procedure = blue_card_for_member(procedure_id, caller)
    steps = list(
        procedure.steps.select_related("perpetrator_record").order_by("at", "recorded_at", "id")
    )
    if procedure.content_erased_at is not None:
        # Its retention period ended (issue 12, item 3): metadata only, no
        # disclosure; the NK-A reads as an empty form.
        return BlueCardView(
            procedure, _NO_FORMS, [StepView(step, None) for step in steps], deadline_views(procedure), []
        )
    registry = get_registry()
    parts = [Part(
        {"forms_of_violence": procedure.forms_of_violence, "children_in_household": procedure.children_in_household},
        registry.schema_id(rules.NKA_SCHEMA), procedure.opened_by_id,
    )]
    with_content = []
    for step in steps:
        document, schema = _content_of(step)
        if document is not None:
            parts.append(Part(document, schema, step.recorded_by_id))
            with_content.append(step)
    nka, *released = disclose_together(
        subject=procedure.subject, caller=caller, purpose=READ_PURPOSE, parts=parts, about=procedure
    )
    by_step = dict(zip((s.id for s in with_content), released))
    withheld = sorted({c for result in (nka, *released) for c in result.withheld_categories})
    return BlueCardView(
        procedure, nka, [StepView(step, by_step.get(step.id)) for step in steps], deadline_views(procedure), withheld
    )


def _content_of(step: BlueCardStep):
    if step.step == rules.NKD:
        record = getattr(step, "perpetrator_record", None)
        return (record.document, record.schema) if record is not None else (None, None)
    if step.content is not None:
        return step.content, step.content_schema
    return None, None


# --- The per-team overview --------------------------------------------------------------


@dataclass(frozen=True)
class OpenProcedure:
    procedure: BlueCardProcedure
    next_deadline: DeadlineView | None


@dataclass(frozen=True)
class DeadlineRecord:
    since: date
    until: date
    decided: int  # deadlines met, or passed without being met
    met_in_time: int

    @property
    def share_met(self) -> float | None:
        return round(self.met_in_time / self.decided, 4) if self.decided else None


@dataclass(frozen=True)
class ZiMeetings:
    last_at: datetime | None
    next_due: date | None
    overdue: bool


@dataclass(frozen=True)
class TeamOverview:
    team: Team
    open_procedures: list[OpenProcedure]
    deadlines: DeadlineRecord
    zi_meetings: ZiMeetings | None  # for a ZI


def blue_card_overview(caller: Caller, team_id, *, today: date | None = None) -> TeamOverview:
    """For a team the caller has access to (404 otherwise): its open
    procedures, each with its next deadline (soonest first), the share of its
    deadlines met in time over the last 12 months (by due day; a deadline
    counts once it was met or passed), and, for a ZI, when it next has to meet."""
    team = team_get_for_member(team_id, caller.agency)
    today = today or today_in_poland()
    procedures = BlueCardProcedure.objects.filter(Q(team=team) | Q(gdp=team)).defer(
        "forms_of_violence", "children_in_household"
    )
    open_ones = []
    for procedure in procedures.filter(status=BlueCardProcedure.OPEN).prefetch_related("deadlines"):
        pending = [d for d in deadline_views(procedure, today) if d.met_at is None]
        open_ones.append(OpenProcedure(procedure, pending[0] if pending else None))
    open_ones.sort(key=lambda o: (o.next_deadline is None, o.next_deadline and o.next_deadline.due, str(o.procedure.id)))
    return TeamOverview(team, open_ones, _deadline_record(procedures, today), _zi_meetings(team, today))


def _deadline_record(procedures, today: date) -> DeadlineRecord:
    since = add_months(today, -12)
    deadlines = BlueCardDeadline.objects.filter(procedure__in=procedures.values("pk"), due__gte=since, due__lte=today)
    outcomes = [met_in_time(d, today) for d in deadlines]
    decided = [o for o in outcomes if o is not None]
    return DeadlineRecord(since, today, len(decided), sum(decided))


def _zi_meetings(team: Team, today: date) -> ZiMeetings | None:
    if team.kind != Team.ZI:
        return None
    last = ZiMeeting.objects.filter(team=team).order_by("-at").first()
    if last is None:
        return ZiMeetings(None, None, False)
    next_due = add_months(polish_date(last.at), settings.BLUE_CARD_ZI_MEETING_MONTHS)
    return ZiMeetings(last.at, next_due, today > next_due)

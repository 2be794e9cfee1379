"""What the Blue Card pages show and take (DESIGN.md 7): labels of the
procedure's codes, the worklist of procedures with their statutory deadlines
(overdue first), the chair's count of deadlines met, and the forms that
record a step or close the procedure.

Everything here is metadata (ids, codes, dates, agency and team names) read
through the tenancy-scoped selectors of this package, except the forms'
content (NK-A, NK-C, NK-D), which reaches a page only from
selectors.blue_card_read, the disclosure choke point. Writes go through
services.py, exactly as the API's."""

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.db.models import Exists, F, Min, OuterRef, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from agencies.callers import Caller
from agencies.models import Agency, Team
from agencies.selectors import team_access_ids, team_is_chair, team_list_for_agency

from ..pages import sections, withheld_labels
from ..working_days import today_in_poland, working_days_between
from . import rules
from .deadlines import add_months, met_in_time
from .models import BlueCardDeadline, BlueCardProcedure, BlueCardStep
from .selectors import blue_card_list_for_agency, deadline_views

STEP_LABELS = {
    rules.NKA_TO_CHAIR: _("NK-A passed to the ZI's chair"),
    rules.GDP_FORMED: _("Diagnostic-and-support group formed"),
    rules.GDP_MEETING: _("Meeting of the group"),
    rules.NKC: _("NK-C filled in with the person experiencing violence"),
    rules.NKD: _("NK-D filled in with the person suspected of violence"),
    rules.MONITORING: _("Check after the procedure closed"),
}
# A deadline is named by what has to happen by its due day.
DEADLINE_LABELS = {
    rules.NKA_TO_CHAIR: _("NK-A to the ZI's chair"),
    rules.GDP_FORMED: _("Forming the group"),
    rules.GDP_MEETING: _("The group's first meeting"),
}
# The button that records each step.
STEP_BUTTONS = {
    rules.NKA_TO_CHAIR: _("Record that the chair received the NK-A"),
    rules.GDP_FORMED: _("Record that the group was formed"),
    rules.GDP_MEETING: _("Record a meeting of the group"),
    rules.NKC: _("Record the NK-C"),
    rules.NKD: _("Record the NK-D"),
    rules.MONITORING: _("Record a check after closure"),
}
GROUND_LABELS = {
    rules.VIOLENCE_CEASED: _("Violence ceased and the support plan was carried out"),
    rules.GROUNDLESS: _("Action was found groundless"),
}
STATUS_LABELS = {
    BlueCardProcedure.OPEN: pgettext_lazy("Blue Card procedure", "Open"),
    BlueCardProcedure.CLOSED: pgettext_lazy("Blue Card procedure", "Closed"),
}
FORM_OF_VIOLENCE_LABELS = {
    "physical": pgettext_lazy("form of violence", "physical"),
    "psychological": pgettext_lazy("form of violence", "psychological"),
    "sexual": pgettext_lazy("form of violence", "sexual"),
    "economic": pgettext_lazy("form of violence", "economic"),
    "electronic": pgettext_lazy("form of violence", "through electronic communication"),
    "other": pgettext_lazy("form of violence", "other"),
}
OPENER_KIND_LABELS = {
    "ops": pgettext_lazy("agency kind", "social welfare centre"),
    "pcpr": pgettext_lazy("agency kind", "family support centre"),
    "police": pgettext_lazy("agency kind", "police"),
    "school": pgettext_lazy("agency kind", "education"),
    "health": pgettext_lazy("agency kind", "health care"),
}
PROGRAMME_LABELS = {
    "none": pgettext_lazy("programme", "None"),
    "corrective_educational": pgettext_lazy("programme", "Corrective and educational programme"),
    "psychological_therapeutic": pgettext_lazy("programme", "Psychological and therapeutic programme"),
}
RISK_LEVEL_LABELS = {
    "low": pgettext_lazy("risk", "Low"),
    "medium": pgettext_lazy("risk", "Medium"),
    "high": pgettext_lazy("risk", "High"),
    "critical": pgettext_lazy("risk", "Critical"),
}


def short_id(procedure_id) -> str:
    """How people refer to a procedure on the phone: the id's first 8 digits."""
    return str(procedure_id)[:8]


# --- the worklist of procedures ---------------------------------------------------------


@dataclass(frozen=True)
class DeadlineRow:
    step: str
    label: str
    due: date
    working_days: int
    met_at: datetime | None
    met_in_time: bool | None
    overdue: bool
    # Working days left until the due day (0: due today); negative when overdue.
    days_left: int | None

    @property
    def days_late(self) -> int:
        return -self.days_left if self.days_left is not None and self.days_left < 0 else 0


@dataclass(frozen=True)
class ProcedureRow:
    procedure: BlueCardProcedure
    short_id: str
    status_label: str
    current_step: str  # label of the latest step recorded, or of the opening
    current_step_at: datetime
    deadlines: list[DeadlineRow]
    next_deadline: DeadlineRow | None  # the soonest one not met, while open
    overdue: bool


def deadline_rows(procedure: BlueCardProcedure, today: date) -> list[DeadlineRow]:
    """The procedure's deadlines (prefetched), soonest first, as the page shows them."""
    stored = {d.step: d for d in procedure.deadlines.all()}
    rows = []
    for view in deadline_views(procedure, today):
        pending = view.met_at is None and view.met_in_time is None and procedure.status == BlueCardProcedure.OPEN
        rows.append(DeadlineRow(
            step=view.step, label=DEADLINE_LABELS[view.step], due=view.due,
            working_days=stored[view.step].working_days, met_at=view.met_at, met_in_time=view.met_in_time,
            overdue=view.overdue,
            days_left=working_days_between(today, view.due) if pending or view.overdue else None,
        ))
    return rows


def procedure_row(procedure: BlueCardProcedure, today: date) -> ProcedureRow:
    deadlines = deadline_rows(procedure, today)
    steps = list(procedure.steps.all())  # prefetched, oldest first
    if procedure.status == BlueCardProcedure.CLOSED:
        current, at = GROUND_LABELS[procedure.closure_ground], procedure.closed_at
    elif steps:
        current, at = STEP_LABELS[steps[-1].step], steps[-1].at
    else:
        current, at = _("NK-A filled in"), procedure.opened_at
    unmet = [d for d in deadlines if d.met_at is None and (d.overdue or d.days_left is not None)]
    return ProcedureRow(
        procedure=procedure, short_id=short_id(procedure.id), status_label=STATUS_LABELS[procedure.status],
        current_step=current, current_step_at=at, deadlines=deadlines,
        next_deadline=unmet[0] if unmet else None, overdue=any(d.overdue for d in deadlines),
    )


def procedure_worklist(caller: Caller, *, team_id=None, status: str = BlueCardProcedure.OPEN):
    """The procedures the caller may see (of one team, or of all its teams),
    metadata only, each with its deadlines and steps prefetched: open ones
    with an overdue deadline first, then by the next deadline's due day;
    closed ones most recently closed first."""
    today = today_in_poland()
    overdue = BlueCardDeadline.objects.filter(
        procedure=OuterRef("pk"), met_at__isnull=True, voided_at__isnull=True, due__lt=today
    )
    pending = Q(deadlines__met_at__isnull=True, deadlines__voided_at__isnull=True)
    steps = BlueCardStep.objects.only("id", "procedure_id", "step", "at").order_by("at", "recorded_at", "id")
    procedures = (
        blue_card_list_for_agency(caller, team_id=team_id, status=status)
        .select_related("team", "gdp")
        .prefetch_related(Prefetch("steps", queryset=steps))
        .annotate(has_overdue=Exists(overdue), next_due=Min("deadlines__due", filter=pending))
    )
    if status == BlueCardProcedure.CLOSED:
        return procedures.order_by("-closed_at", "id")
    return procedures.order_by("-has_overdue", F("next_due").asc(nulls_last=True), "-opened_at", "id")


def procedure_rows(procedures, today: date | None = None) -> list[ProcedureRow]:
    today = today or today_in_poland()
    return [procedure_row(procedure, today) for procedure in procedures]


# --- the chair's overview of deadlines met ----------------------------------------------


@dataclass
class StepCount:
    step: str
    label: str
    in_time: int = 0
    late: int = 0  # met after the due day
    missed: int = 0  # not met, and the due day has passed
    running: int = 0  # not met, still in time

    @property
    def total(self) -> int:
        return self.in_time + self.late + self.missed + self.running


@dataclass(frozen=True)
class DeadlineCounts:
    since: date
    until: date
    steps: list[StepCount] = field(default_factory=list)


def deadline_counts(team: Team, today: date | None = None) -> DeadlineCounts:
    """Per deadline step, how many of the team's deadlines due in the last 12
    months (or still to fall due) were met in time, late, missed or still
    run: counts only, no procedure named. `team` comes from
    team_get_for_member (the caller's access is checked there). Deadlines
    of a procedure closed before they fell due no longer run: not counted."""
    today = today or today_in_poland()
    since = add_months(today, -12)
    counts = {step: StepCount(step, DEADLINE_LABELS[step]) for step in rules.DEADLINE_STEPS}
    deadlines = BlueCardDeadline.objects.filter(
        Q(procedure__team=team) | Q(procedure__gdp=team), voided_at__isnull=True, due__gte=since
    ).only("step", "due", "met_at", "voided_at")
    for deadline in deadlines:
        count = counts[deadline.step]
        outcome = met_in_time(deadline, today)
        if outcome is True:
            count.in_time += 1
        elif outcome is False and deadline.met_at is not None:
            count.late += 1
        elif outcome is False:
            count.missed += 1
        else:
            count.running += 1
    return DeadlineCounts(since, today, list(counts.values()))


# --- who may record what ----------------------------------------------------------------


@dataclass(frozen=True)
class Powers:
    """What the caller may do on the procedure now (rules.RECORDED_BY and the
    order of services._check_order); the services decide again on POST."""

    chair: bool
    gdp_member: bool
    steps: list[str]
    can_close: bool


def powers_of(caller: Caller, procedure: BlueCardProcedure, recorded: set[str]) -> Powers:
    chair = team_is_chair(procedure.team, caller.agency)
    gdp_member = procedure.gdp_id is not None and str(procedure.gdp_id) in team_access_ids(caller.agency.id)
    roles = {rules.CHAIR} if chair else set()
    if gdp_member:
        roles.add(rules.GDP_MEMBER)
    steps = [step for step in rules.STEPS if roles & set(rules.RECORDED_BY[step]) and _in_order(procedure, step, recorded)]
    return Powers(chair, gdp_member, steps, chair and procedure.status == BlueCardProcedure.OPEN)


def _in_order(procedure: BlueCardProcedure, step: str, recorded: set[str]) -> bool:
    if procedure.status == BlueCardProcedure.CLOSED:
        return step == rules.MONITORING
    if step == rules.MONITORING or (step in rules.ONCE and step in recorded):
        return False
    needs = rules.NEEDS.get(step)
    return needs is None or needs in recorded


def gdp_choices(caller: Caller, procedure: BlueCardProcedure) -> list[tuple[str, str]]:
    """The groups the chair may name as formed: GDPs of the procedure's ZI the
    caller has access to, not yet working on another case."""
    taken = BlueCardProcedure.objects.filter(gdp__isnull=False).values("gdp_id")
    groups = (
        team_list_for_agency(caller.agency)
        .filter(kind=Team.GDP, parent_id=procedure.team_id)
        .exclude(pk__in=taken)
        .order_by("name", "id")
    )
    return [(str(team.id), team.name) for team in groups]


# --- the forms --------------------------------------------------------------------------


def pages_zone() -> ZoneInfo:
    return ZoneInfo(settings.PAGES_TIME_ZONE)


class MomentForm(forms.Form):
    """When something happened: a GOV.UK date input (day, month, year) and a
    time (HH:MM), in Polish time; `at` is the aware moment."""

    day = forms.IntegerField(min_value=1, max_value=31, required=False)
    month = forms.IntegerField(min_value=1, max_value=12, required=False)
    year = forms.IntegerField(min_value=2010, max_value=2100, required=False)
    time = forms.TimeField(required=False, input_formats=["%H:%M", "%H.%M", "%H:%M:%S"])

    def clean(self):
        data = super().clean()
        day, month, year = data.get("day"), data.get("month"), data.get("year")
        if self.errors.keys() & {"day", "month", "year"} or None in (day, month, year):
            self.errors.pop("day", None), self.errors.pop("month", None), self.errors.pop("year", None)
            self.add_error("day", _("Enter the date as day, month and year, for example 27 3 2026"))
            return data
        try:
            day_of = date(year, month, day)
        except ValueError:
            self.add_error("day", _("Enter a real date"))
            return data
        if "time" in self.errors or data.get("time") is None:
            self.errors.pop("time", None)
            self.add_error("time", _("Enter the time as hours and minutes, for example 09:30"))
            return data
        data["at"] = datetime.combine(day_of, data["time"], tzinfo=pages_zone())
        return data

    @staticmethod
    def initial_now() -> dict:
        now = timezone.now().astimezone(pages_zone())
        return {"day": now.day, "month": now.month, "year": now.year, "time": now.strftime("%H:%M")}


class StepForm(MomentForm):
    """One step of the procedure (POST blue-cards/{id}/steps/), carrying the
    ETag the page was rendered with as If-Match. The NK-C's and NK-D's
    fields become the step's `content` (schemas blue-card-nkc, -nkd)."""

    step = forms.ChoiceField(choices=[(s, s) for s in rules.STEPS])
    if_match = forms.CharField(max_length=80)
    gdp = forms.UUIDField(required=False)
    # NK-C
    nkc_summary = forms.CharField(required=False, max_length=4000, strip=True)
    nkc_plan = forms.CharField(required=False, max_length=8000, strip=True)
    nkc_risk_level = forms.ChoiceField(required=False, choices=[("", ""), *[(c, c) for c in RISK_LEVEL_LABELS]])
    nkc_risk_notes = forms.CharField(required=False, max_length=4000, strip=True)
    # NK-D
    nkd_summary = forms.CharField(required=False, max_length=4000, strip=True)
    nkd_obligations = forms.CharField(required=False, max_length=10000, strip=True)
    nkd_programme = forms.ChoiceField(required=False, choices=[("", ""), *[(c, c) for c in PROGRAMME_LABELS]])
    nkd_substance_use = forms.CharField(required=False, max_length=2000, strip=True)

    def content(self) -> dict | None:
        """The form's content for nkc and nkd (empty fields left out: the
        schema refuses empty strings), None for the other steps."""
        data, step = self.cleaned_data, self.cleaned_data["step"]
        if step == rules.NKC:
            risk = _present(level=data["nkc_risk_level"], notes=data["nkc_risk_notes"])
            return _present(summary=data["nkc_summary"], plan=data["nkc_plan"], risk=risk or None)
        if step == rules.NKD:
            obligations = [line.strip() for line in data["nkd_obligations"].splitlines() if line.strip()]
            return _present(
                summary=data["nkd_summary"], obligations=obligations or None, programme=data["nkd_programme"],
                substance_use=data["nkd_substance_use"],
            )
        return None


def _present(**members) -> dict:
    return {name: value for name, value in members.items() if value not in (None, "")}


class CloseForm(MomentForm):
    ground = forms.ChoiceField(
        choices=list(GROUND_LABELS.items()), error_messages={"required": _("Choose why the procedure ends")}
    )
    if_match = forms.CharField(max_length=80)


# Where each problem a service reports (by its JSON pointer) is on the page.
def step_field_id(step: str, pointer: str) -> str:
    if pointer.startswith("/content/"):
        name = pointer[len("/content/"):].split("/")[0]
        return f"{step}-{name}"
    return {"/at": f"{step}-day", "/gdp": f"{step}-gdp", "/content": f"{step}-plan" if step == rules.NKC else f"{step}-summary"}.get(
        pointer, f"{step}-day"
    )



# --- one procedure, disclosed -----------------------------------------------------------


def _labelled(sections: list[dict]) -> list[dict]:
    """Codes of the forms' enums as words (the schema titles the fields only)."""
    labels = {"programme": PROGRAMME_LABELS, "risk.level": RISK_LEVEL_LABELS}
    for section in sections:
        for item in section["rows"]:
            row = item["row"]
            if row.path in labels and row.value in labels[row.path]:
                item["row"] = replace(row, value=str(labels[row.path][row.value]))
    return sections


def _nka(document: dict) -> dict:
    forms_of_violence = document.get("forms_of_violence")
    return {
        "forms": [str(FORM_OF_VIOLENCE_LABELS.get(code, code)) for code in forms_of_violence]
        if forms_of_violence is not None else None,
        "children": document.get("children_in_household"),
    }


def step_forms(powers: Powers, gdps: list[tuple[str, str]], bound: StepForm | None) -> list[dict]:
    """One form per step the caller may record now: empty (the time now), or
    the refused one with what was typed."""
    result = []
    for step in powers.steps:
        typed = bound is not None and bound.data.get("step") == step
        result.append({
            "step": step, "label": STEP_BUTTONS[step],
            "values": bound.data if typed else MomentForm.initial_now(),
            "open": typed,
            "errors": bound.errors if typed else {},
            "gdps": gdps if step == rules.GDP_FORMED else [],
            "risk_levels": list(RISK_LEVEL_LABELS.items()), "programmes": list(PROGRAMME_LABELS.items()),
        })
    return result


def procedure_page(view, caller: Caller, language: str, *, bound_step=None, bound_close=None) -> dict:
    """What the procedure page shows of a disclosed procedure (selectors.BlueCardView)."""
    procedure, today = view.procedure, today_in_poland()
    agencies = dict(
        Agency.objects.filter(pk__in={s.step.recorded_by_id for s in view.steps} | {procedure.opened_by_id})
        .values_list("id", "name")
    )
    steps = []
    for item in view.steps:
        step = item.step
        content = item.content
        steps.append({
            "step": step, "label": STEP_LABELS[step.step], "agency": agencies.get(step.recorded_by_id, ""),
            "has_content": step.step in rules.CONTENT_SCHEMAS,
            "sections": _labelled(sections(rules.CONTENT_SCHEMAS[step.step], content.document, language))
            if content is not None else [],
            "withheld": withheld_labels(content.withheld_categories, language) if content is not None else [],
        })
    recorded = {s.step.step for s in view.steps}
    powers = powers_of(caller, procedure, recorded)
    gdps = gdp_choices(caller, procedure) if rules.GDP_FORMED in powers.steps else []
    return {
        "procedure": procedure,
        "short_id": short_id(procedure.id),
        "status_label": STATUS_LABELS[procedure.status],
        "ground_label": GROUND_LABELS.get(procedure.closure_ground, ""),
        "opened_by": agencies.get(procedure.opened_by_id, ""),
        "opener_kind": OPENER_KIND_LABELS.get(procedure.opened_by_kind, procedure.opened_by_kind),
        "nka": _nka(view.nka.document),
        "steps": steps,
        # In the order the procedure runs, not by due day: the chair reads them as steps.
        "deadlines": sorted(deadline_rows(procedure, today), key=lambda d: rules.DEADLINE_STEPS.index(d.step)),
        "withheld": withheld_labels(view.withheld_categories, language),
        "powers": powers,
        "step_forms": step_forms(powers, gdps, bound_step),
        "close_values": bound_close.data if bound_close is not None else MomentForm.initial_now(),
        "close_open": bound_close is not None,
        "close_errors": bound_close.errors if bound_close is not None else {},
        "grounds": list(GROUND_LABELS.items()),
    }

"""What the team pages show and take (DESIGN.md 7): the caller's teams (ZI
and GDP), the shared plans it takes part in, and one plan disclosed for
`team_plan` with the forms that move its actions on (and, for the lead,
add goals, actions and reviews and change the stage).

Metadata (teams, members, stages, due dates, statuses, agency names) is read
through the tenancy-scoped selectors; the text of goals, actions and reviews
only from selectors.plan_read, the disclosure choke point. Writes go through
services.py, the API's own services."""

from dataclasses import dataclass
from datetime import date

from django import forms
from django.db.models import Count, F, Min, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from agencies.callers import Caller
from agencies.models import Agency, Team, TeamMembership
from agencies.selectors import (
    agency_list,
    team_access_ids,
    team_member_agency_ids,
    team_summaries_for_agency,
)
from referrals.pages import vocabulary_label, withheld_labels
from schemas.vocabularies import DATA_CATEGORIES, terms

from ..blue_card.selectors import blue_card_list_for_agency
from . import lifecycle
from .models import DEFAULT_CATEGORY, Action, Plan
from .selectors import plan_list_for_agency, plans_with_basis

TEAM_KIND_LABELS = {Team.ZI: _("Interdisciplinary team (ZI)"), Team.GDP: _("Diagnostic-and-support group (GDP)")}
TEAM_ROLE_LABELS = {
    TeamMembership.CHAIR: pgettext_lazy("team role", "Chair"),
    TeamMembership.MEMBER: pgettext_lazy("team role", "Member"),
}
STAGE_LABELS = {
    lifecycle.CRISIS: pgettext_lazy("plan stage", "Crisis response"),
    lifecycle.INTENSIVE: pgettext_lazy("plan stage", "Intensive support"),
    lifecycle.TRANSITIONAL: pgettext_lazy("plan stage", "Transitional support"),
    lifecycle.EXTERNAL_SUPPORT: pgettext_lazy("plan stage", "External support"),
    lifecycle.CLOSED: pgettext_lazy("plan stage", "Closed"),
}
STAGE_TAG_CLASSES = {
    lifecycle.CRISIS: "govuk-tag--red",
    lifecycle.INTENSIVE: "govuk-tag--orange",
    lifecycle.TRANSITIONAL: "govuk-tag--blue",
    lifecycle.EXTERNAL_SUPPORT: "govuk-tag--turquoise",
    lifecycle.CLOSED: "govuk-tag--grey",
}
ACTION_STATUS_LABELS = {
    lifecycle.PLANNED: pgettext_lazy("action status", "Planned"),
    lifecycle.IN_PROGRESS: pgettext_lazy("action status", "In progress"),
    lifecycle.DONE: pgettext_lazy("action status", "Done"),
    lifecycle.CANCELLED: pgettext_lazy("action status", "Cancelled"),
}
ACTION_STATUS_CLASSES = {
    lifecycle.PLANNED: "govuk-tag--blue",
    lifecycle.IN_PROGRESS: "govuk-tag--yellow",
    lifecycle.DONE: "govuk-tag--green",
    lifecycle.CANCELLED: "govuk-tag--grey",
}
ACTION_BUTTONS = {
    lifecycle.IN_PROGRESS: _("Mark as in progress"),
    lifecycle.DONE: _("Mark as done"),
    lifecycle.CANCELLED: _("Cancel the action"),
}
REVIEW_KIND_LABELS = {
    lifecycle.ASSESSMENT: pgettext_lazy("review kind", "Assessment"),
    lifecycle.PLAN: pgettext_lazy("review kind", "Planning"),
    lifecycle.MONITORING: pgettext_lazy("review kind", "Monitoring"),
    lifecycle.REASSESSMENT: pgettext_lazy("review kind", "Reassessment"),
}
# How many plans the team list shows; every plan of a team is on its page.
TEAM_LIST_PLANS = 50


# --- my teams ----------------------------------------------------------------------


@dataclass(frozen=True)
class TeamRow:
    team: Team
    kind_label: str
    role_label: str
    declared_at: object  # my agency's confidentiality declaration (art. 9c)
    parent: Team | None


def my_teams(caller: Caller) -> list[TeamRow]:
    """The teams the caller's agency has access to, each ZI followed by its
    groups, with the agency's role and declaration date."""
    teams = list(team_summaries_for_agency(caller.agency).select_related("parent"))
    declared = dict(
        TeamMembership.objects.filter(agency=caller.agency, removed_at__isnull=True, team__in=[t.id for t in teams])
        .values_list("team_id", "confidentiality_declaration_at")
    )
    names = {t.id: t.name for t in teams}

    def order(team):
        zi = team.id if team.kind == Team.ZI else team.parent_id
        return (names.get(zi, team.parent.name if team.parent else ""), str(zi), team.kind != Team.ZI, team.name)

    return [
        TeamRow(team, TEAM_KIND_LABELS[team.kind], TEAM_ROLE_LABELS.get(team.caller_role, ""), declared.get(team.id),
                team.parent)
        for team in sorted(teams, key=order)
    ]


def teams_awaiting_declaration(caller: Caller) -> int:
    """Teams the agency was added to whose chair has not yet recorded its
    confidentiality declaration: the agency cannot see them yet, so the page
    gives the number only, never the team."""
    return TeamMembership.objects.filter(
        agency=caller.agency, removed_at__isnull=True, confidentiality_declaration_at__isnull=True
    ).count()


# --- plans (metadata) -----------------------------------------------------------------


@dataclass(frozen=True)
class PlanRow:
    plan: Plan
    stage_label: str
    stage_class: str
    my_open_actions: int
    my_next_due: date | None
    overdue: bool


def plan_rows(caller: Caller, *, team_id=None, limit: int | None = None) -> list[PlanRow]:
    """The plans the caller takes part in (of one team, or all), metadata
    only: those with the caller's agency's open actions first, soonest due
    first; then the rest, most recently changed first. Plans whose person the
    caller has no basis for are left out, as the API leaves them out."""
    mine = Q(actions__agency=caller.agency, actions__status__in=lifecycle.OPEN_ACTION_STATUSES)
    plans = (
        plan_list_for_agency(caller, team_id=team_id)
        .select_related("team", "lead")
        .annotate(my_open=Count("actions", filter=mine), my_next_due=Min("actions__due_on", filter=mine))
        .order_by(F("my_next_due").asc(nulls_last=True), "-updated_at", "id")
    )
    if limit is not None:
        plans = plans[:limit]
    today = timezone.localdate()
    return [
        PlanRow(plan, STAGE_LABELS[plan.stage], STAGE_TAG_CLASSES[plan.stage], plan.my_open, plan.my_next_due,
                plan.my_next_due is not None and plan.my_next_due < today)
        for plan in plans_with_basis(caller, list(plans))
    ]


def team_home_counts(caller: Caller) -> dict:
    """What the home page says about the team work (metadata, counts only):
    open Blue Card procedures with a missed deadline, and the open actions
    assigned to the caller's agency in the plans it may see."""
    plans = plan_rows(caller, limit=TEAM_LIST_PLANS)
    return {
        "overdue_procedures": blue_card_list_for_agency(caller, overdue=True).count(),
        "open_actions": sum(row.my_open_actions for row in plans),
        "plans_with_overdue_actions": sum(1 for row in plans if row.overdue),
    }


# --- one plan, disclosed ---------------------------------------------------------------


def measures_text(measures) -> str:
    """Follow-up measures as a line of text: {"who5": 14} or [{indicator, value, unit}]."""
    if isinstance(measures, dict):
        return "; ".join(f"{key}: {value}" for key, value in measures.items())
    if isinstance(measures, list):
        parts = []
        for item in measures:
            if isinstance(item, dict):
                parts.append(" ".join(str(item[k]) for k in ("indicator", "value", "unit") if item.get(k) not in (None, "")))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return "" if measures is None else str(measures)


def _category(code: str, language: str) -> str:
    return vocabulary_label(DATA_CATEGORIES, code, language)


def action_forms(action: Action, plan: Plan, caller: Caller) -> list[dict]:
    """The moves the caller may make on an action: the assignee moves its own,
    the lead any (services.plan_action_transition); nobody else."""
    if caller.agency.id not in (plan.lead_id, action.agency_id):
        return []
    return [
        {"to": to, "label": ACTION_BUTTONS[to], "warning": to == lifecycle.CANCELLED}
        for to in lifecycle.ACTION_TRANSITIONS[action.status]
    ]


def plan_page(view, caller: Caller, language: str) -> dict:
    """What the plan page shows of a disclosed plan (selectors.PlanView)."""
    plan, today = view.plan, timezone.localdate()
    agency_ids = {a.agency_id for a, _text in view.actions} | {r.author_id for r, _text in view.reviews}
    agencies = dict(Agency.objects.filter(pk__in=agency_ids).values_list("id", "name"))
    goal_titles = {goal.id: (text or {}).get("title") for goal, text in view.goals}
    goals = [
        {"goal": goal, "title": text.get("title", ""), "indicator": text.get("indicator"),
         "baseline": text.get("baseline"), "category": _category(goal.category, language)}
        for goal, text in view.goals
    ]
    actions = [
        {
            "action": action, "agency": agencies.get(action.agency_id, ""), "mine": action.agency_id == caller.agency.id,
            "title": (text or {}).get("title"), "goal_title": goal_titles.get(action.goal_id),
            "category": _category(action.category, language),
            "status_label": ACTION_STATUS_LABELS[action.status], "status_class": ACTION_STATUS_CLASSES[action.status],
            "overdue": action.status in lifecycle.OPEN_ACTION_STATUSES and action.due_on < today,
            "forms": action_forms(action, plan, caller),
        }
        for action, text in view.actions
    ]
    reviews = [
        {"review": review, "kind": REVIEW_KIND_LABELS[review.kind], "stage": STAGE_LABELS[review.stage],
         "author": agencies.get(review.author_id, ""), "summary": text.get("summary"),
         "measures": measures_text(text.get("measures"))}
        for review, text in view.reviews
    ]
    return {
        "plan": plan,
        "short_id": str(plan.id)[:8],
        "team_access": plan.team_id is not None and str(plan.team_id) in team_access_ids(caller.agency.id),
        "is_lead": plan.lead_id == caller.agency.id,
        "stage_label": STAGE_LABELS[plan.stage],
        "stage_class": STAGE_TAG_CLASSES[plan.stage],
        "goals": goals,
        "actions": actions,
        "my_actions": [a for a in actions if a["mine"]],
        "reviews": reviews,
        "withheld": withheld_labels(view.disclosed.withheld_categories, language),
    }


# --- the forms ----------------------------------------------------------------------


class ActionTransitionForm(forms.Form):
    """One move of one action, with the action's ETag the page was rendered
    with (sent as If-Match: an action changed meanwhile is refused)."""

    to = forms.ChoiceField(choices=[(s, s) for s in lifecycle.ACTION_TARGET_STATUSES])
    if_match = forms.CharField(max_length=80)


def category_choices(language: str) -> list[tuple[str, str]]:
    return [(t.code, t.label(language)) for t in terms(DATA_CATEGORIES)]


class _CategoryForm(forms.Form):
    category = forms.ChoiceField(label=_("Kind of information"), initial=DEFAULT_CATEGORY)

    def __init__(self, *args, language: str = "pl", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices(language)


class GoalForm(_CategoryForm):
    title = forms.CharField(label=_("Goal"), max_length=500, strip=True,
                            error_messages={"required": _("Enter the goal")})
    indicator = forms.CharField(label=_("How you will know it is reached (indicator)"), max_length=500,
                                required=False, strip=True)
    baseline = forms.CharField(label=_("Where things stand now (baseline)"), max_length=500, required=False,
                               strip=True)
    field_order = ("title", "indicator", "baseline", "category")


class ActionForm(_CategoryForm):
    """The agency and the goal are checked by the service (a member of the
    plan's team with access; a goal of this plan), as for the API."""

    title = forms.CharField(label=_("What is to be done"), max_length=500, strip=True,
                            error_messages={"required": _("Enter what is to be done")})
    agency = forms.UUIDField(label=_("Agency responsible"),
                             error_messages={"required": _("Choose the agency responsible"),
                                             "invalid": _("Choose the agency responsible")})
    goal = forms.UUIDField(label=_("Goal it serves (optional)"), required=False)
    due_day = forms.IntegerField(min_value=1, max_value=31, required=False)
    due_month = forms.IntegerField(min_value=1, max_value=12, required=False)
    due_year = forms.IntegerField(min_value=2000, max_value=2100, required=False)
    field_order = ("title", "agency", "goal", "due_day", "due_month", "due_year", "category")

    def clean(self):
        data = super().clean()
        parts = [data.get("due_day"), data.get("due_month"), data.get("due_year")]
        for name in ("due_day", "due_month", "due_year"):
            self.errors.pop(name, None)
        try:
            data["due_on"] = date(parts[2], parts[1], parts[0])
        except (TypeError, ValueError):
            self.add_error("due_day", _("Enter the due date as day, month and year, for example 27 3 2026"))
        return data


class ReviewForm(_CategoryForm):
    kind = forms.ChoiceField(label=_("Kind of review"), choices=list(REVIEW_KIND_LABELS.items()),
                             initial=lifecycle.MONITORING)
    stage = forms.ChoiceField(label=_("Stage the review found"), choices=list(STAGE_LABELS.items()))
    summary = forms.CharField(label=_("What the review found"), max_length=10000, strip=True,
                              error_messages={"required": _("Enter what the review found")}, widget=forms.Textarea)
    field_order = ("kind", "stage", "summary", "category")


class StageForm(forms.Form):
    stage = forms.ChoiceField(label=_("New stage"), choices=list(STAGE_LABELS.items()))
    if_match = forms.CharField(max_length=80)


def assignable_agencies(plan: Plan) -> list[tuple[str, str]]:
    """Who the lead may assign an action to (services._assignee_errors): with
    a team, its members with access and the lead; without, any active agency."""
    agencies = agency_list()
    if plan.team_id is not None:
        agencies = agencies.filter(pk__in=[*team_member_agency_ids(plan.team), str(plan.lead_id)])
    return [(str(a.id), a.name) for a in agencies.order_by("name")]


def lead_forms(plan: Plan, goals: list[dict], language: str, *, bound: dict | None = None) -> dict:
    """The lead's forms (empty, or the one that was refused, bound to what
    was typed) and the choices of the action form's selects."""
    bound = bound or {}
    return {
        "goal_form": bound.get("goal") or GoalForm(language=language, auto_id="goal-%s"),
        "action_form": bound.get("action") or ActionForm(language=language, auto_id="action-%s"),
        "agency_choices": [("", _("Choose an agency")), *assignable_agencies(plan)],
        "goal_choices": [("", _("No particular goal")), *[(str(g["goal"].id), g["title"]) for g in goals]],
        "review_form": bound.get("review") or ReviewForm(
            language=language, initial={"stage": plan.stage}, auto_id="review-%s"
        ),
        "stage_form": bound.get("stage") or StageForm(initial={"stage": plan.stage}, auto_id="stage-%s"),
    }

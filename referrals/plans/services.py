"""Every write to plans. Each public service is one transaction that locks
the plan's row, bumps its version (the ETag) and writes a thin `plan.updated`
event: ids and codes only, to the lead, the assignees and the team's members
with access (DESIGN.md principle 5).

Who may do what:
- the lead agency creates the plan and alone adds goals, actions (assigning
  them to agencies) and reviews, and changes the stage;
- an assignee moves its own actions on; the lead may move any action;
- everyone else gets 404 (selectors.plan_for_participant); a participant
  that is not the lead gets 403 on the lead's writes.
"""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import status

from agencies.callers import Caller
from agencies.events import event_emit
from agencies.models import Agency
from agencies.selectors import team_get_for_member, team_member_agency_ids
from consent_ledger.selectors import subject_get_for_caller
from hub.api.errors import ApplicationError, Conflict, NotFoundError, PreconditionFailed, ValidationFailed
from schemas.vocabularies import DATA_CATEGORIES, codes

from . import lifecycle
from .documents import ACTIONS, GOALS, REVIEWS, content_errors
from .models import DEFAULT_CATEGORY, Action, ActionTransition, Goal, Plan, PlanStageChange, Review
from .selectors import action_for_mover, uuid_or_none, plan_for_participant

# Stable error codes (tests and clients use these, never the text).
PLAN_EXISTS = "plan_exists"
PLAN_CLOSED = "plan_closed"
PLAN_HAS_OPEN_ACTIONS = "plan_has_open_actions"
PLAN_STAGE_UNCHANGED = "plan_stage_unchanged"
PLAN_LEAD_REQUIRED = "plan_lead_required"
AGENCY_NOT_IN_TEAM = "plan_agency_not_in_team"

# Outbox event types (schemas/vocabularies/event_types.json).
EVENT_UPDATED = "plan.updated"
EVENT_ACTION_DUE = "plan.action_due"

# What changed, in plan.updated's data.change.
CREATED, STAGE_CHANGED, GOAL_ADDED, ACTION_ADDED, REVIEW_ADDED, ACTION_MOVED = (
    "created", "stage_changed", "goal_added", "action_added", "review_added", "action_transitioned",
)


class PlanForbidden(ApplicationError):
    """The caller takes part in the plan but only the lead may do this."""

    code = PLAN_LEAD_REQUIRED
    status = status.HTTP_403_FORBIDDEN
    title = gettext_lazy("Not allowed.")


# --- Helpers -------------------------------------------------------------------------

# What `_raise_if(errors, what)` and `_check_if_match(..., what)` say, by `what`.
_NOT_VALID = {
    "plan": gettext_lazy("The plan is not valid."),
    "stage": gettext_lazy("The stage is not valid."),
    "goal": gettext_lazy("The goal is not valid."),
    "action": gettext_lazy("The action is not valid."),
    "review": gettext_lazy("The review is not valid."),
    "transition": gettext_lazy("The transition is not valid."),
}
_CHANGED = {
    "plan": gettext_lazy("The plan changed since you read it; read it again."),
    "action": gettext_lazy("The action changed since you read it; read it again."),
}


def _error(pointer: str, detail: str, code: str = "invalid") -> dict:
    return {"pointer": pointer, "detail": detail, "code": code}


def _raise_if(errors: list[dict], what: str) -> None:
    if errors:
        raise ValidationFailed(str(_NOT_VALID[what]), errors=errors)


def _check_if_match(obj, if_match: str | None, what: str) -> None:
    # RFC 9110 §13.1.1: a stale ETag is a 412, never a silent overwrite.
    if if_match is not None and if_match not in (obj.etag, "*"):
        raise PreconditionFailed(str(_CHANGED[what]), current_etag=obj.etag)


def _lead_plan(plan_id, caller: Caller, if_match: str | None) -> Plan:
    """The plan, locked, if the caller leads it (participants 403, others 404)."""
    plan = plan_for_participant(plan_id, caller, lock=True)
    if plan.lead_id != caller.agency.id:
        raise PlanForbidden(_("Only the agency that leads the plan changes its goals, actions, reviews and stage."))
    _check_if_match(plan, if_match, "plan")
    return plan


def _refuse_if_closed(plan: Plan) -> None:
    if plan.stage == lifecycle.CLOSED:
        raise Conflict(_("The plan is closed: reopen it (change its stage) first."), code=PLAN_CLOSED,
                       current_stage=plan.stage)


def _category_errors(category: str) -> list[dict]:
    if category in codes(DATA_CATEGORIES):
        return []
    return [_error("/category", _("Unknown data category; one of: %(allowed)s.") % {"allowed": ", ".join(codes(DATA_CATEGORIES))})]


def _touch(plan: Plan, now: datetime, *fields: str) -> None:
    plan.version += 1
    plan.updated_at = now
    plan.save(update_fields=["version", "updated_at", *fields])


def _audience(plan: Plan) -> set[str]:
    agencies = {str(plan.lead_id)}
    agencies |= {str(a) for a in Action.objects.filter(plan=plan).values_list("agency_id", flat=True).distinct()}
    if plan.team_id is not None:
        agencies |= set(team_member_agency_ids(plan.team))
    return agencies


def _emit(plan: Plan, change: str, **ids) -> None:
    event_emit(
        type=EVENT_UPDATED, object_type="plan", object_id=plan.id, status=plan.stage, agencies=_audience(plan),
        data={"version": plan.version, "change": change, **{k: str(v) for k, v in ids.items()}},
    )


# --- The plan --------------------------------------------------------------------------


@transaction.atomic
def plan_create(*, caller: Caller, subject_id, stage: str, team_id=None) -> Plan:
    """Open the person's plan, led by the caller, which must own the subject
    or have a basis for it (else 404, as POST referrals/: a person's
    existence is never confirmed); `team` must be a team the caller has
    access to. A person has at most one open plan (409 plan_exists)."""
    subject = subject_get_for_caller(uuid_or_none(subject_id), caller)
    errors = []
    if stage not in lifecycle.OPEN_STAGES:
        errors.append(_error(
            "/stage", _("One of: %(allowed)s (a new plan is not closed).") % {"allowed": ", ".join(lifecycle.OPEN_STAGES)}
        ))
    team = None
    if team_id is not None:
        try:
            team = team_get_for_member(team_id, caller.agency)
        except NotFoundError:
            errors.append(_error("/team", _("No such team among yours."), "not_found"))
    _raise_if(errors, "plan")
    now = timezone.now()
    try:
        with transaction.atomic():  # the one-open-plan constraint decides a race
            plan = Plan.objects.create(
                subject=subject, lead=caller.agency, created_by_actor=caller.actor_label, team=team, stage=stage,
                created_at=now, updated_at=now, stage_changed_at=now,
            )
    except IntegrityError:
        raise Conflict(_("The person already has an open plan; it is led by the agency that created it."),
                       code=PLAN_EXISTS) from None
    PlanStageChange.objects.create(plan=plan, to_stage=stage, agency=caller.agency, actor=caller.actor_label, at=now)
    _emit(plan, CREATED)
    return plan


@transaction.atomic
def plan_stage_change(*, caller: Caller, plan_id, stage: str, if_match: str | None = None) -> Plan:
    """Move the plan to another stage (the lead; any stage to any other, see
    lifecycle). Closing needs every action done or cancelled; reopening a
    closed plan needs the person to have no other open plan."""
    plan = _lead_plan(plan_id, caller, if_match)
    if stage not in lifecycle.STAGES:
        _raise_if([_error("/stage", _("One of: %(allowed)s.") % {"allowed": ", ".join(lifecycle.STAGES)})], "stage")
    if stage == plan.stage:
        others = [s for s in lifecycle.STAGES if s != plan.stage]
        raise Conflict(_("The plan is already %(stage)s.") % {"stage": stage}, code=PLAN_STAGE_UNCHANGED, current_stage=plan.stage,
                       allowed=others)
    if stage == lifecycle.CLOSED:
        still_open = plan.actions.filter(status__in=lifecycle.OPEN_ACTION_STATUSES).order_by("due_on", "id")
        ids = [str(pk) for pk in still_open.values_list("id", flat=True)]
        if ids:
            raise Conflict(_("Mark every action done or cancelled before closing the plan."),
                           code=PLAN_HAS_OPEN_ACTIONS, actions=ids)
    now = timezone.now()
    PlanStageChange.objects.create(
        plan=plan, from_stage=plan.stage, to_stage=stage, agency=caller.agency, actor=caller.actor_label, at=now
    )
    plan.stage, plan.stage_changed_at = stage, now
    try:
        with transaction.atomic():
            _touch(plan, now, "stage", "stage_changed_at")
    except IntegrityError:
        raise Conflict(_("The person has another open plan: this one cannot be reopened."), code=PLAN_EXISTS) from None
    _emit(plan, STAGE_CHANGED)
    return plan


# --- Goals, actions, reviews -----------------------------------------------------------


@transaction.atomic
def plan_goal_add(
    *, caller: Caller, plan_id, title: str, indicator: str = "", baseline=None, category: str = DEFAULT_CATEGORY,
    if_match: str | None = None,
) -> Goal:
    """Add a goal (the lead) with its indicator and baseline, in `category`."""
    plan = _lead_plan(plan_id, caller, if_match)
    _refuse_if_closed(plan)
    now = timezone.now()
    goal = Goal(plan=plan, category=category, title=title, indicator=indicator or "", baseline=baseline,
                created_by_actor=caller.actor_label, created_at=now)
    _raise_if(_category_errors(category) or content_errors(GOALS, goal), "goal")
    goal.save(force_insert=True)
    _touch(plan, now)
    _emit(plan, GOAL_ADDED, goal=goal.id)
    return goal


def _assignee_errors(plan: Plan, agency_id) -> tuple[Agency | None, list[dict]]:
    agency = Agency.objects.filter(pk=uuid_or_none(agency_id), active=True).first()
    if agency is None:
        return None, [_error("/agency", _("No such active agency."), "not_found")]
    if plan.team_id is not None and agency.id != plan.lead_id and str(agency.id) not in team_member_agency_ids(plan.team):
        detail = _("The agency is not a member of the plan's team with access (active, with a confidentiality declaration).")
        return None, [_error("/agency", detail, AGENCY_NOT_IN_TEAM)]
    return agency, []


@transaction.atomic
def plan_action_add(
    *, caller: Caller, plan_id, agency_id, title: str, due_on: date, goal_id=None,
    category: str = DEFAULT_CATEGORY, if_match: str | None = None,
) -> Action:
    """Assign an action to an agency (the lead). With a team, the agency must
    be one of its members with access (or the lead); without, any active
    agency. `goal` must be a goal of this plan; `due_on` not in the past."""
    plan = _lead_plan(plan_id, caller, if_match)
    _refuse_if_closed(plan)
    agency, errors = _assignee_errors(plan, agency_id)
    goal = None
    if goal_id is not None:
        goal = plan.goals.filter(pk=uuid_or_none(goal_id)).first()
        if goal is None:
            errors.append(_error("/goal", _("No such goal in this plan."), "not_found"))
    if due_on < timezone.localdate():
        errors.append(_error("/due_on", _("The due date is in the past.")))
    now = timezone.now()
    action = Action(plan=plan, goal=goal, agency=agency, category=category, title=title, due_on=due_on,
                    created_by_actor=caller.actor_label, created_at=now, updated_at=now)
    errors += _category_errors(category) or content_errors(ACTIONS, action)
    _raise_if(errors, "action")
    action.save(force_insert=True)
    _touch(plan, now)
    _emit(plan, ACTION_ADDED, action=action.id, agency=agency.id)
    return action


@transaction.atomic
def plan_review_add(
    *, caller: Caller, plan_id, kind: str = lifecycle.MONITORING, stage: str | None = None, summary: str = "",
    measures=None, category: str = DEFAULT_CATEGORY, at: datetime | None = None, if_match: str | None = None,
) -> Review:
    """Record a review (the lead): its kind, the stage it found (default: the
    plan's), a summary and follow-up measures in `category`. A closed plan
    still takes reviews: post-closure monitoring."""
    plan = _lead_plan(plan_id, caller, if_match)
    now = timezone.now()
    stage = stage or plan.stage
    errors = []
    if kind not in lifecycle.REVIEW_KINDS:
        errors.append(_error("/kind", _("One of: %(allowed)s.") % {"allowed": ", ".join(lifecycle.REVIEW_KINDS)}))
    if stage not in lifecycle.STAGES:
        errors.append(_error("/stage", _("One of: %(allowed)s.") % {"allowed": ", ".join(lifecycle.STAGES)}))
    if at is not None and at > now:
        errors.append(_error("/at", _("A review is recorded after it took place: the time is in the future.")))
    review = Review(plan=plan, kind=kind, stage=stage, category=category, summary=summary or "", measures=measures,
                    at=at or now, author=caller.agency, created_by_actor=caller.actor_label, created_at=now)
    errors += _category_errors(category) or content_errors(REVIEWS, review)
    _raise_if(errors, "review")
    review.save(force_insert=True)
    _touch(plan, now)
    _emit(plan, REVIEW_ADDED, review=review.id, kind=kind)
    return review


@transaction.atomic
def plan_action_transition(*, caller: Caller, action_id, to: str, if_match: str | None = None) -> Action:
    """Move an action on (its assignee, or the lead): lifecycle.ACTION_TRANSITIONS.
    `if_match` is the action's ETag; a final status is a 409 listing what is allowed."""
    action = action_for_mover(action_id, caller, lock=True)
    _check_if_match(action, if_match, "action")
    if to not in lifecycle.ACTION_STATUSES:
        _raise_if([_error("/status", _("One of: %(allowed)s.") % {"allowed": ", ".join(lifecycle.ACTION_STATUSES)})], "transition")
    refusal = lifecycle.action_check(action.status, to)
    if refusal is not None:
        raise Conflict(refusal.detail, code=refusal.code, current_status=action.status, allowed=refusal.allowed)
    now = timezone.now()
    ActionTransition.objects.create(
        action=action, from_status=action.status, to_status=to, agency=caller.agency, actor=caller.actor_label, at=now
    )
    action.status, action.updated_at = to, now
    action.version += 1
    action.save(update_fields=["status", "updated_at", "version"])
    plan = action.plan
    _touch(plan, now)
    _emit(plan, ACTION_MOVED, action=action.id, action_status=to)
    return action


# --- Periodic ------------------------------------------------------------------------


@transaction.atomic
def plan_actions_due_notify() -> int:
    """Open actions of open plans due within PLAN_ACTION_DUE_DAYS (or already
    overdue): one `plan.action_due` event each, to the lead and the assignee,
    once (marked; rows another run holds are skipped, so concurrent runs never
    announce an action twice)."""
    now = timezone.now()
    horizon = timezone.localdate(now) + timedelta(days=settings.PLAN_ACTION_DUE_DAYS)
    due = list(
        Action.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("plan")
        .filter(status__in=lifecycle.OPEN_ACTION_STATUSES, due_notified_at__isnull=True, due_on__lte=horizon)
        .exclude(plan__stage=lifecycle.CLOSED)
        .order_by("due_on", "id")
    )
    for action in due:
        action.due_notified_at = now
        action.save(update_fields=["due_notified_at"])
        event_emit(
            type=EVENT_ACTION_DUE, object_type="plan_action", object_id=action.id, status=action.status,
            agencies=[action.plan.lead_id, action.agency_id],
            data={"plan": str(action.plan_id), "agency": str(action.agency_id), "due_on": action.due_on.isoformat()},
        )
    return len(due)

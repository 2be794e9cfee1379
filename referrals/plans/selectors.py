"""Every read of plans, scoped to the calling agency (DESIGN.md principle 7).

Who takes part in a plan: its lead agency; for a plan tied to a team, the
team's members with access (active, with their art. 9c confidentiality
declaration: agencies.selectors.team_access_ids); for a plan without a team,
the agencies assigned an action. Anyone else, and any participant other than
the lead that has no basis at all for the person (consent, legal basis,
emergency), gets the same 404 as for a plan that does not exist. The text of
goals, actions and reviews reaches a participant other than the lead only
through the disclosure choke point, for `team_plan`."""

from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.callers import Caller
from agencies.selectors import team_access_ids, uuid_or_none
from consent_ledger.decisions import has_any_basis
from consent_ledger.disclosure import Disclosed, Part, disclose_together
from consent_ledger.models import Provision
from consent_ledger.selectors import provisions_in_force, recipient_of
from hub.api.errors import NotFoundError

from .documents import ACTIONS, GOALS, PLAN_SCHEMA, REVIEWS, plan_document, released_texts
from .models import Action, Goal, Plan, Review

PURPOSE = "team_plan"


def _takes_part(plan: Plan, caller: Caller) -> bool:
    agency = caller.agency
    if plan.lead_id == agency.id:
        return True
    if plan.team_id is not None:
        return str(plan.team_id) in team_access_ids(agency.id)
    return Action.objects.filter(plan=plan, agency=agency).exists()


def _has_basis(plan: Plan, caller: Caller) -> bool:
    now = timezone.now()
    provisions = provisions_in_force(plan.subject_id, now)
    return has_any_basis(provisions, recipient_of(caller.agency, provisions), now)


def plan_for_participant(plan_id, caller: Caller, *, lock: bool = False) -> Plan:
    """The plan if the caller takes part in it and, unless it leads it, has a
    basis for the person; 404 otherwise. `lock` takes the plan's row lock,
    which serialises every change to the plan and its parts."""
    plans = Plan.objects.select_related("subject")
    if lock:
        plans = plans.select_for_update(of=("self",))
    plan = plans.filter(pk=uuid_or_none(plan_id)).first()
    if plan is None or not _takes_part(plan, caller) or (plan.lead_id != caller.agency.id and not _has_basis(plan, caller)):
        raise NotFoundError(_("No such plan."))
    return plan


def action_for_mover(action_id, caller: Caller, *, lock: bool = False) -> Action:
    """The action if the caller may move it: its assignee or the plan's lead,
    taking part in the plan (plan_for_participant). Anyone else gets 404: an
    action in a category withheld from a team member must not be confirmed
    to exist by a 403 or 409. With `lock`, the plan's row is locked first,
    then the action's (the order every plan change uses)."""
    action = Action.objects.filter(pk=uuid_or_none(action_id)).only("id", "plan_id", "agency_id").first()
    if action is None:
        raise NotFoundError(_("No such action."))
    try:
        plan = plan_for_participant(action.plan_id, caller, lock=lock)
    except NotFoundError:
        raise NotFoundError(_("No such action.")) from None
    if caller.agency.id not in (plan.lead_id, action.agency_id):
        raise NotFoundError(_("No such action."))
    actions = Action.objects.select_for_update() if lock else Action.objects
    action = actions.get(pk=action.pk)
    action.plan = plan
    return action


def plan_list_for_agency(caller: Caller, *, stage: str | None = None, team_id=None) -> QuerySet[Plan]:
    """Metadata of the plans the caller takes part in (see the module
    docstring). The basis check is per page: plans_with_basis."""
    agency = caller.agency
    assigned = Exists(Action.objects.filter(plan=OuterRef("pk"), agency=agency))
    scope = Q(lead=agency) | Q(team_id__in=list(team_access_ids(agency.id))) | (Q(team__isnull=True) & assigned)
    plans = Plan.objects.filter(scope)
    if stage is not None:
        plans = plans.filter(stage=stage)
    if team_id is not None:
        plans = plans.filter(team_id=team_id)
    return plans


def plans_with_basis(caller: Caller, plans: list[Plan]) -> list[Plan]:
    """The plans of a page the caller may see: those it leads, and those whose
    person it has a basis for. Two queries whatever the page's length: the
    provisions in force of the page's subjects, and the caller's teams."""
    others = {plan.subject_id for plan in plans if plan.lead_id != caller.agency.id}
    if not others:
        return plans
    now = timezone.now()
    by_subject = defaultdict(list)
    in_force = Provision.objects.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=now), subject_id__in=others)
    for provision in in_force:
        by_subject[provision.subject_id].append(provision)
    recipient = recipient_of(caller.agency)
    visible = {subject for subject in others if has_any_basis(by_subject[subject], recipient, now)}
    return [plan for plan in plans if plan.lead_id == caller.agency.id or plan.subject_id in visible]


@dataclass(frozen=True)
class PlanView:
    """A plan as one caller may see it. `actions_text_withheld` holds the ids
    of the caller's own actions whose category it may not receive: their
    metadata is shown (so it can move them), their title is not."""

    plan: Plan
    goals: list[tuple[Goal, dict]]
    actions: list[tuple[Action, dict | None]]
    reviews: list[tuple[Review, dict]]
    disclosed: Disclosed


@transaction.atomic
def plan_read(caller: Caller, plan_id) -> PlanView:
    """The plan disclosed to the caller for `team_plan`: one read, one
    `disclosure` entry (none for the lead, which gets back what it wrote).
    Goals, actions and reviews in a withheld category are left out, except
    the caller's own actions, which keep their metadata without their text."""
    plan = plan_for_participant(plan_id, caller)
    goals = list(plan.goals.order_by("created_at", "id"))
    actions = list(plan.actions.order_by("due_on", "created_at", "id"))
    reviews = list(plan.reviews.order_by("at", "created_at", "id"))
    document = plan_document(goals=goals, actions=actions, reviews=reviews)
    (disclosed,) = disclose_together(
        subject=plan.subject, caller=caller, purpose=PURPOSE, parts=[Part(document, PLAN_SCHEMA, plan.lead_id)],
        about=plan,
    )
    texts = {key: released_texts(disclosed.document, key) for key in (GOALS, ACTIONS, REVIEWS)}
    own = caller.agency.id

    def joined(key, items, keep_own=False):
        for item in items:
            text = texts[key].get(str(item.id))
            if text is not None or (keep_own and item.agency_id == own):
                yield item, text

    return PlanView(
        plan=plan,
        goals=list(joined(GOALS, goals)),
        actions=list(joined(ACTIONS, actions, keep_own=True)),
        reviews=list(joined(REVIEWS, reviews)),
        disclosed=disclosed,
    )

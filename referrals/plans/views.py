"""The team pages (DESIGN.md 7): my teams (ZI, GDP) with the Blue Card
procedures and shared plans they run, one team, one procedure, one plan,
acting for the logged-in user's agency (agencies.pages).

Who: members of an agency in the roles that do the casework and run the
teams' work: caseworker, supervisor, coordinator (the API's `plans:read` /
`plans:write`); a DPO, an agency administrator or an employer's contact gets
the 403 page. What an agency may see and do in a team is decided by the same
selectors and services as the API: a team, procedure or plan it has no
access to is a 404 page.

Person data (the NK-A/NK-C/NK-D forms, the plan's texts) reaches a page only
through blue_card_read and plan_read, the choke point, with the purpose
`team_plan`: every page view is in the accounting like an API read."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from agencies.models import Team
from agencies.pages import member_page
from agencies.selectors import (
    team_access_ids,
    team_active_memberships,
    team_get_for_member,
    team_is_chair,
    team_list_for_agency,
)
from hub.api.errors import ApplicationError, Conflict, NotFoundError, PreconditionFailed
from hub.web.paging import page_of, pagination

from ..blue_card import pages as blue_card_pages
from ..blue_card import services as blue_card_services
from ..blue_card.models import BlueCardProcedure
from ..blue_card.selectors import (
    blue_card_for_member,
    blue_card_overview,
    blue_card_read,
)
from . import pages, services
from .selectors import action_for_mover, plan_for_participant, plan_read

TEAM_ROLES = ("caseworker", "supervisor", "coordinator")


def _status(request) -> str:
    """Open procedures unless the closed ones are asked for (a code, never data)."""
    return BlueCardProcedure.CLOSED if request.GET.get("status") == BlueCardProcedure.CLOSED else BlueCardProcedure.OPEN


def _procedures(request, team_id=None) -> dict:
    status = _status(request)
    page = page_of(request, blue_card_pages.procedure_worklist(request.caller, team_id=team_id, status=status),
                   settings.PAGES_PAGE_SIZE)
    return {"status": status, "procedures": blue_card_pages.procedure_rows(page.object_list), "page": page,
            "pagination": pagination(request, page)}


# --- teams ------------------------------------------------------------------------------


@require_GET
@member_page(*TEAM_ROLES)
def team_list(request):
    context = {
        "teams": pages.my_teams(request.caller),
        "awaiting": pages.teams_awaiting_declaration(request.caller),
        "plans": pages.plan_rows(request.caller, limit=pages.TEAM_LIST_PLANS),
        "plans_limit": pages.TEAM_LIST_PLANS,
        **_procedures(request),
    }
    return render(request, "teams/team_list.html", context)


@require_GET
@member_page(*TEAM_ROLES)
def team_page(request, team_id):
    agency = request.caller.agency
    try:
        team = team_get_for_member(team_id, agency)
    except NotFoundError:
        raise Http404
    is_chair = team_is_chair(team, agency)
    context = {
        "team": team,
        "kind_label": pages.TEAM_KIND_LABELS[team.kind],
        "is_chair": is_chair,
        "members": [
            {"membership": m, "role_label": pages.TEAM_ROLE_LABELS[m.role], "mine": m.agency_id == agency.id}
            for m in team_active_memberships(team).select_related("agency")
        ],
        "parent": team.parent if team.parent_id and str(team.parent_id) in team_access_ids(agency.id) else None,
        "groups": list(team_list_for_agency(agency).filter(kind=Team.GDP, parent=team).order_by("name", "id")),
        "plans": pages.plan_rows(request.caller, team_id=team.id),
        **_procedures(request, team.id),
    }
    if is_chair and team.kind == Team.ZI:
        # The chair watches the statutory deadlines (art. 9a-9d): counts only.
        context["overview"] = blue_card_overview(request.caller, team.id)
        context["counts"] = blue_card_pages.deadline_counts(team)
    return render(request, "teams/team_detail.html", context)


# --- Blue Card procedures ------------------------------------------------------------------


def _procedure_or_404(request, procedure_id):
    try:
        return blue_card_for_member(procedure_id, request.caller)
    except NotFoundError:
        raise Http404


def _blue_card(request, procedure_id, *, errors=(), bound_step=None, bound_close=None, status=200):
    """The procedure page: reading it discloses the forms (NK-A, NK-C, NK-D)
    for `team_plan`, one accounting entry."""
    try:
        view = blue_card_read(request.caller, procedure_id)
    except NotFoundError:
        raise Http404
    context = blue_card_pages.procedure_page(
        view, request.caller, request.LANGUAGE_CODE, bound_step=bound_step, bound_close=bound_close
    )
    context["errors"] = list(errors)
    return render(request, "teams/blue_card_detail.html", context, status=status)


@require_GET
@member_page(*TEAM_ROLES)
def blue_card_page(request, procedure_id):
    return _blue_card(request, procedure_id)


def _form_errors(form, prefix: str) -> list[dict]:
    """A refused form's problems as error-summary items linking to the fields."""
    def field_id(name: str) -> str:
        return f"{prefix}-{name.removeprefix(f'{prefix}_').replace('_', '-')}"

    return [
        {"href": f"#{field_id(name)}", "text": message}
        for name, messages_ in form.errors.items() for message in messages_
    ] or [{"href": "", "text": _("The form was not complete. Try again.")}]


def _stale(what: str) -> list[dict]:
    texts = {
        "procedure": _("Someone recorded something on this procedure while you had it open, so your change was not "
                       "saved. The page now shows the procedure as it is. Check it, then try again: what you typed is "
                       "still in the form."),
        "action": _("Someone changed this action while you had the plan open, so your change was not saved. "
                    "The page now shows the plan as it is. Check the action, then try again if it is still needed."),
        "plan": _("Someone changed this plan while you had it open, so your change was not saved. The page now shows "
                  "the plan as it is. Check it, then try again."),
    }
    return [{"href": "", "text": texts[what]}]


STEP_PROBLEMS = {
    "/at": lambda: _("Check the date and time: a step cannot be in the future, nor before the opening or the step it "
                     "follows."),
    "/gdp": lambda: _("Choose a group of this ZI that does not yet work on another case."),
    "/content/plan": lambda: _("Enter the support plan agreed with the person"),
    "/content/summary": lambda: _("Enter what was established"),
}


def _step_errors(exc: ApplicationError, step: str) -> list[dict]:
    if isinstance(exc, PreconditionFailed):
        return _stale("procedure")
    if isinstance(exc, Conflict):
        return [{"href": "", "text": _("This step cannot be recorded now: the procedure has moved on or is closed. "
                                       "What you typed is shown below.")}]
    items = []
    for error in exc.errors or [{"pointer": "", "detail": exc.detail}]:
        pointer = error.get("pointer", "")
        if pointer == "/content":
            pointer = "/content/plan" if step == "nkc" else "/content/summary"
        text = STEP_PROBLEMS[pointer]() if pointer in STEP_PROBLEMS else error["detail"]
        items.append({"href": f"#{blue_card_pages.step_field_id(step, pointer)}", "text": text})
    return items


@require_POST
@member_page(*TEAM_ROLES)
def blue_card_step(request, procedure_id):
    form = blue_card_pages.StepForm(request.POST)
    step = request.POST.get("step", "")
    if not form.is_valid():
        _procedure_or_404(request, procedure_id)
        return _blue_card(request, procedure_id, errors=_form_errors(form, step), bound_step=form, status=422)
    try:
        blue_card_services.blue_card_step_record(
            caller=request.caller, procedure_id=procedure_id, step=step, at=form.cleaned_data["at"],
            gdp_id=form.cleaned_data["gdp"], content=form.content(), if_match=form.cleaned_data["if_match"],
        )
    except NotFoundError:
        raise Http404
    except blue_card_services.BlueCardForbidden:
        raise PermissionDenied
    except ApplicationError as exc:
        return _blue_card(request, procedure_id, errors=_step_errors(exc, step), bound_step=form, status=exc.status)
    messages.success(request, _("Recorded: %(step)s.") % {"step": blue_card_pages.STEP_LABELS[step]})
    return redirect("blue-card-page", procedure_id=procedure_id)


@require_POST
@member_page(*TEAM_ROLES)
def blue_card_close(request, procedure_id):
    form = blue_card_pages.CloseForm(request.POST)
    if not form.is_valid():
        _procedure_or_404(request, procedure_id)
        return _blue_card(request, procedure_id, errors=_form_errors(form, "close"), bound_close=form, status=422)
    try:
        blue_card_services.blue_card_close(
            caller=request.caller, procedure_id=procedure_id, ground=form.cleaned_data["ground"],
            at=form.cleaned_data["at"], if_match=form.cleaned_data["if_match"],
        )
    except NotFoundError:
        raise Http404
    except blue_card_services.BlueCardForbidden:
        raise PermissionDenied
    except PreconditionFailed:
        return _blue_card(request, procedure_id, errors=_stale("procedure"), bound_close=form, status=412)
    except Conflict as exc:
        text = (_("Closing because violence ceased comes after the support plan (NK-C) was agreed with the person.")
                if exc.extra.get("needs") == "nkc" else _("The procedure is already closed."))
        return _blue_card(request, procedure_id, errors=[{"href": "#close-ground", "text": text}], bound_close=form,
                          status=exc.status)
    except ApplicationError:
        errors = [{"href": "#close-day", "text": _("Check the date and time: the closure cannot be in the future, "
                                                   "nor before the opening or the last step.")}]
        return _blue_card(request, procedure_id, errors=errors, bound_close=form, status=422)
    messages.success(request, _("The procedure is closed."))
    return redirect("blue-card-page", procedure_id=procedure_id)


# --- plans --------------------------------------------------------------------------------


def _plan_or_404(request, plan_id):
    try:
        return plan_for_participant(plan_id, request.caller)
    except NotFoundError:
        raise Http404


def _plan(request, plan_id, *, errors=(), bound=None, status=200):
    """The plan page: reading it discloses the plan's texts for `team_plan`
    (one accounting entry; none for the lead, which wrote them)."""
    try:
        view = plan_read(request.caller, plan_id)
    except NotFoundError:
        raise Http404
    language = request.LANGUAGE_CODE
    context = pages.plan_page(view, request.caller, language)
    if context["is_lead"]:
        context.update(pages.lead_forms(view.plan, context["goals"], language, bound=bound))
    context["errors"] = list(errors)
    return render(request, "teams/plan_detail.html", context, status=status)


def _back_to(plan_id, anchor: str):
    return redirect(f"{reverse('plan-page', kwargs={'plan_id': plan_id})}#{anchor}")


@require_GET
@member_page(*TEAM_ROLES)
def plan_page(request, plan_id):
    return _plan(request, plan_id)


@require_POST
@member_page(*TEAM_ROLES)
def plan_action_transition(request, plan_id, action_id):
    form = pages.ActionTransitionForm(request.POST)
    try:
        action = action_for_mover(action_id, request.caller)
    except NotFoundError:
        raise Http404
    if action.plan_id != plan_id:
        raise Http404
    if not form.is_valid():
        return _plan(request, plan_id, errors=[{"href": "", "text": _("The form was not complete. Try again.")}],
                     status=422)
    to = form.cleaned_data["to"]
    try:
        services.plan_action_transition(
            caller=request.caller, action_id=action_id, to=to, if_match=form.cleaned_data["if_match"]
        )
    except NotFoundError:
        raise Http404
    except PreconditionFailed:
        return _plan(request, plan_id, errors=_stale("action"), status=412)
    except Conflict:
        errors = [{"href": f"#action-{action_id}", "text": _(
            "This action can no longer change that way: it is already done or cancelled, or has moved on.")}]
        return _plan(request, plan_id, errors=errors, status=409)
    messages.success(request, _("The action is now: %(status)s.") % {"status": pages.ACTION_STATUS_LABELS[to]})
    return _back_to(plan_id, f"action-{action_id}")


# The lead's forms: what each service problem (by pointer) is called on the page.
LEAD_PROBLEMS = {
    "/agency": lambda: _("Choose an agency that is a member of the plan's team"),
    "/goal": lambda: _("Choose a goal of this plan"),
    "/due_on": lambda: _("The due date cannot be in the past"),
    "/at": lambda: _("The review cannot be in the future"),
}

# ...and which field of the form it is (element ids "<form>-<field>").
LEAD_FIELDS = {"/due_on": "due-day", "": "title"}


def _lead_write(request, plan_id, *, name: str, form, write, success: str, anchor: str):
    """Run one of the lead's writes; on a refusal, the page again with the
    error summary and the form as typed."""
    if not form.is_valid():
        _plan_or_404(request, plan_id)
        return _plan(request, plan_id, errors=_form_errors(form, name), bound={name: form}, status=422)
    try:
        write(form.cleaned_data)
    except NotFoundError:
        raise Http404
    except services.PlanForbidden:
        raise PermissionDenied
    except PreconditionFailed:
        return _plan(request, plan_id, errors=_stale("plan"), bound={name: form}, status=412)
    except Conflict as exc:
        text = {
            services.PLAN_CLOSED: _("The plan is closed: change its stage to reopen it first."),
            services.PLAN_HAS_OPEN_ACTIONS: _("Mark every action done or cancelled before closing the plan."),
            services.PLAN_STAGE_UNCHANGED: _("The plan is already at this stage."),
            services.PLAN_EXISTS: _("The person has another open plan: this one cannot be reopened."),
        }.get(exc.code, _("This change is not possible in the plan's current state."))
        return _plan(request, plan_id, errors=[{"href": "", "text": text}], bound={name: form}, status=409)
    except ApplicationError as exc:
        errors = [
            {"href": f"#{name}-{LEAD_FIELDS.get(e.get('pointer', ''), e.get('pointer', '').strip('/'))}",
             "text": LEAD_PROBLEMS[e["pointer"]]() if e.get("pointer") in LEAD_PROBLEMS else e["detail"]}
            for e in exc.errors
        ] or [{"href": "", "text": exc.detail}]
        return _plan(request, plan_id, errors=errors, bound={name: form}, status=exc.status)
    messages.success(request, success)
    return _back_to(plan_id, anchor)


@require_POST
@member_page(*TEAM_ROLES)
def plan_goal_add(request, plan_id):
    form = pages.GoalForm(request.POST, language=request.LANGUAGE_CODE, auto_id="goal-%s")

    def write(data):
        services.plan_goal_add(
            caller=request.caller, plan_id=plan_id, title=data["title"], indicator=data["indicator"],
            baseline=data["baseline"] or None, category=data["category"],
        )

    return _lead_write(request, plan_id, name="goal", form=form, write=write, success=_("The goal was added."),
                       anchor="goals")


@require_POST
@member_page(*TEAM_ROLES)
def plan_action_add(request, plan_id):
    form = pages.ActionForm(request.POST, language=request.LANGUAGE_CODE, auto_id="action-%s")

    def write(data):
        services.plan_action_add(
            caller=request.caller, plan_id=plan_id, agency_id=data["agency"], goal_id=data["goal"],
            title=data["title"], due_on=data["due_on"], category=data["category"],
        )

    return _lead_write(request, plan_id, name="action", form=form, write=write, success=_("The action was added."),
                       anchor="actions")


@require_POST
@member_page(*TEAM_ROLES)
def plan_review_add(request, plan_id):
    form = pages.ReviewForm(request.POST, language=request.LANGUAGE_CODE, auto_id="review-%s")

    def write(data):
        services.plan_review_add(
            caller=request.caller, plan_id=plan_id, kind=data["kind"], stage=data["stage"], summary=data["summary"],
            category=data["category"],
        )

    return _lead_write(request, plan_id, name="review", form=form, write=write, success=_("The review was recorded."),
                       anchor="reviews")


@require_POST
@member_page(*TEAM_ROLES)
def plan_stage_change(request, plan_id):
    form = pages.StageForm(request.POST, auto_id="stage-%s")

    def write(data):
        services.plan_stage_change(
            caller=request.caller, plan_id=plan_id, stage=data["stage"], if_match=data["if_match"]
        )

    return _lead_write(request, plan_id, name="stage", form=form, write=write, success=_("The plan's stage was changed."),
                       anchor="stage")

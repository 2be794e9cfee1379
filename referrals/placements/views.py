"""The employment placement pages (DESIGN.md 4.6, 7): the list, the
placement itself with the steps, check-ins and outcome the caller's side may
record, and the conversion statistics; for the coordinating agency's support
coordinators and the employer's contact person.

Person data reaches a page only through selectors.placement_read, the choke
point, with the purpose `employment_placement`: an employer never receives
more than identity, contact and employment data, and every page view is in
the accounting like an API read. Writes call the services the API calls.
URLs and titles carry ids and codes only."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from agencies.pages import member_page
from hub.api.errors import ApplicationError, NotFoundError
from hub.web.paging import page_of, pagination

from ..api.placement_stats_views import PlacementStatsOutput
from . import lifecycle, page_forms, page_labels, pages, services, stats
from .selectors import (
    placement_for_party,
    placement_list_for_agency,
    placement_read,
    side_of,
)

# DESIGN.md 7: the coordinating agency's coordinators and the employer's
# contact person. The API lets any member of the two agencies (it knows
# agencies and scopes, not roles); the pages keep placements to the two
# roles whose work they are, so a caseworker's or a DPO's login shows none.
PLACEMENT_ROLES = ("coordinator", "employer_contact")
STATS_ROLES = ("coordinator",)


def _placement_or_404(request, placement_id):
    try:
        return placement_for_party(placement_id, request.caller)
    except NotFoundError:
        raise Http404 from None


@require_GET
@member_page(*PLACEMENT_ROLES)
def placement_list(request):
    form = page_forms.StatusFilterForm(request.GET or None)
    placements = pages.with_next_check_in_due(
        placement_list_for_agency(request.caller, status=form.status_filter())
        .select_related("coordinating_agency", "employer")
        .order_by("-created_at", "-id")
    )
    page = page_of(request, placements, settings.PAGES_PAGE_SIZE)
    return render(request, "placements/list.html", {
        "form": form,
        "filtered": form.status_filter() is not None,
        "rows": pages.list_rows(page.object_list, request.caller),
        "page": page,
        "pagination": pagination(request, page),
    })


def _detail(request, placement_id, *, status=200, **bound):
    """The placement page. Reading it discloses the placement (one
    accounting entry whenever it holds data another agency supplied)."""
    try:
        view = placement_read(request.caller, placement_id)
    except NotFoundError:
        raise Http404 from None
    context = pages.placement_page(view, request.LANGUAGE_CODE, **bound)
    return render(request, "placements/detail.html", context, status=status)


@require_GET
@member_page(*PLACEMENT_ROLES)
def placement_detail(request, placement_id):
    return _detail(request, placement_id)


@require_POST
@member_page(*PLACEMENT_ROLES)
def placement_transition(request, placement_id):
    to = request.POST.get("to", "")
    if to not in lifecycle.TARGET_STATUSES:
        return _detail(request, placement_id, status=422, notice=_("The form was not complete. Try again."))
    form = page_forms.TransitionForm(request.POST, to=to)
    if not form.is_valid():
        _placement_or_404(request, placement_id)
        return _detail(request, placement_id, transition=form, status=422)
    try:
        services.placement_transition(
            caller=request.caller, placement_id=placement_id, to=to, reason=form.cleaned_data["reason"],
            ended_on=form.cleaned_data["ended_on"], if_match=form.cleaned_data["if_match"],
        )
    except NotFoundError:
        raise Http404 from None
    except ApplicationError as exc:
        page_forms.add_service_errors(form, exc, page_forms.TRANSITION_ERRORS)
        return _detail(request, placement_id, transition=form, status=exc.status)
    messages.success(request, _("The placement is now: %(status)s.") % {"status": page_labels.STATUS_LABELS[to]})
    return redirect("placement-page", placement_id=placement_id)


@require_POST
@member_page(*PLACEMENT_ROLES)
def placement_check_in(request, placement_id):
    placement = _placement_or_404(request, placement_id)
    employer = side_of(placement, request.caller) == lifecycle.EMPLOYER
    form = (page_forms.EmployerCheckInForm if employer else page_forms.CoordinatorCheckInForm)(request.POST)
    if not form.is_valid():
        return _detail(request, placement_id, check_in=form, status=422)
    try:
        services.placement_check_in_add(caller=request.caller, placement_id=placement_id, **form.service_values())
    except NotFoundError:
        raise Http404 from None
    except ApplicationError as exc:
        page_forms.add_service_errors(form, exc, page_forms.CHECK_IN_ERRORS)
        return _detail(request, placement_id, check_in=form, status=exc.status)
    messages.success(request, _("Your check-in for %(month)s is recorded.") % {"month": form.cleaned_data["month"]})
    return redirect("placement-page", placement_id=placement_id)


@require_POST
@member_page(*PLACEMENT_ROLES)
def placement_outcome(request, placement_id):
    form = page_forms.OutcomeForm(request.POST)
    if not form.is_valid():
        _placement_or_404(request, placement_id)
        return _detail(request, placement_id, outcome=form, status=422)
    values = form.service_values()
    try:
        services.placement_outcome_record(
            caller=request.caller, placement_id=placement_id, if_match=form.cleaned_data["if_match"], **values
        )
    except NotFoundError:
        raise Http404 from None
    except ApplicationError as exc:
        page_forms.add_service_errors(form, exc, page_forms.outcome_errors_for(values["outcome"]))
        return _detail(request, placement_id, outcome=form, status=exc.status)
    messages.success(request, _("The outcome of the placement is recorded."))
    return redirect("placement-page", placement_id=placement_id)


@require_POST
@member_page(*PLACEMENT_ROLES)
def placement_follow_up(request, placement_id):
    form = page_forms.FollowUpForm(request.POST)
    if not form.is_valid():
        _placement_or_404(request, placement_id)
        return _detail(request, placement_id, follow_up=form, status=422)
    try:
        services.placement_follow_up_record(caller=request.caller, placement_id=placement_id, **form.service_values())
    except NotFoundError:
        raise Http404 from None
    except ApplicationError as exc:
        page_forms.add_service_errors(form, exc, page_forms.FOLLOW_UP_ERRORS)
        return _detail(request, placement_id, follow_up=form, status=exc.status)
    messages.success(request, _("The follow-up is recorded."))
    return redirect("placement-page", placement_id=placement_id)


def _statistics(request, form):
    """The statistics of the caller's placements for the form's period, as
    the API computes them (stats.placement_stats_for_agency), or None while
    the filter is not valid."""
    if not form.is_valid():
        return None
    return stats.placement_stats_for_agency(request.caller.agency, **form.period())


@require_GET
@member_page(*STATS_ROLES)
def placement_stats(request):
    form = page_forms.StatsFilterForm(request.GET)
    result = _statistics(request, form)
    return render(request, "placements/stats.html", {
        "form": form,
        "errors": page_forms.error_items(form),
        "stats": pages.stats_page(result) if result is not None else None,
        "filtered": any(request.GET.get(name) for name in ("from", "to", "cohort")),
        "csv_query": request.GET.urlencode() if result is not None else "",
    })


@require_GET
@member_page(*STATS_ROLES)
def placement_stats_csv(request):
    """The same statistics as CSV (stats.statistics_csv, the API's
    `Accept: text/csv`), headers in the page's language."""
    form = page_forms.StatsFilterForm(request.GET)
    result = _statistics(request, form)
    if result is None:
        return redirect(f"{reverse('placement-stats-page')}?{request.GET.urlencode()}")
    period = form.period()
    output = PlacementStatsOutput({**result, "from": period["start_from"], "to": period["start_to"],
                                   "cohort": period["cohort"]}).data
    language = "pl" if request.LANGUAGE_CODE.startswith("pl") else "en"
    response = HttpResponse(stats.statistics_csv(output, language=language), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="placement-stats.csv"'
    return response

"""The service directory's staff pages (issue 14; DESIGN.md 7):

  /app/directory/        search: who offers which service near a place, and
                         how many places are free now (a caseworker placing a
                         woman and her children at 11 pm)
  /app/directory/ours    the agency's own services, each counting places with
                         a one-field form to say how many are free now; its
                         administrator or supervisor also sets how many
                         places there are in all (or starts counting)

The directory holds organisations and their offers, never people: no page
here reads person data, so none goes through the choke point. What differs
by reader is a location: every one is shown through
visibility.location_fields (a shelter's confidential address reaches only
its own agency's pages), and the templates get plain values built here,
never a model with its location, so a template cannot show more.

The send-referral journey offers the same search, bound to its draft
(referrals/journey_views.py uses directory_search_context and service_card)."""

import re
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from agencies.pages import member_page
from hub.api.errors import ApplicationError, NotFoundError, ValidationFailed
from schemas.vocabularies import ELIGIBILITY_GROUPS, REFERRAL_SERVICES, terms

from ..models import SERVICE_ACTIVE, DirectoryService
from .page_forms import (
    CapacityForm,
    PlacesForm,
    SearchForm,
    error_items,
    language_name,
    place_label,
    place_options,
    place_text,
)
from .selectors import (
    capacity_of,
    directory_languages,
    directory_search,
    directory_service_get_own,
    directory_service_list_own,
)
from .services import WEEKDAYS, capacity_set
from .visibility import location_fields

# Who searches: every role that sends or receives referrals or coordinates
# support (roles.json). An employer's contact and a DPO have no use for it.
DIRECTORY_ROLES = ("caseworker", "supervisor", "coordinator", "agency_admin")
# Who counts the agency's free places: the people who accept referrals (the
# caseworker on the night shift takes the woman in, and an acceptance takes a
# place), their supervisor, and the agency's administrator, who keeps its
# data. A support coordinator works on placements and plans, not intake.
OWN_SERVICE_ROLES = ("caseworker", "supervisor", "agency_admin")
# Who sets how many places a service has in all, or starts counting them: the
# agency's data is its administrator's and its supervisor's to keep; the
# night shift counts what is free.
PLACES_ROLES = ("supervisor", "agency_admin")


def _follows_agreements(agency, service: DirectoryService) -> bool:
    """An employer's employment service counts the places of its placement
    agreements by itself (referrals.placements employer_places_publish):
    a number set by hand would be overwritten at the next count."""
    return agency.kind == "employer" and service.service == "employment_activation"


# --- What a page shows of one service ---------------------------------------------------------


def capacity_text(free: int, total: int) -> str:
    return ngettext("%(free)s free place of %(total)s", "%(free)s free places of %(total)s", free) % {
        "free": free, "total": total,
    }


def _label(vocabulary: str, code: str, language: str) -> str:
    return next((t.label(language) for t in terms(vocabulary) if t.code == code), code)


def _distance_text(distance_km: float | None) -> str | None:
    # Centroids are per powiat (geo.py): 0 km means the same powiat.
    if distance_km is None:
        return None
    if round(distance_km) == 0:
        return _("In the same powiat")
    return _("About %(km)s km") % {"km": round(distance_km)}


def _ages(minimum, maximum) -> str:
    if minimum is not None and maximum is not None:
        return _("Age %(min)s to %(max)s") % {"min": minimum, "max": maximum}
    if minimum is not None:
        return _("Age %(min)s and over") % {"min": minimum}
    if maximum is not None:
        return _("Up to age %(max)s") % {"max": maximum}
    return ""


def _days(byday: str) -> str:
    """"MO,TU,WE,TH,FR" as "Mon–Fri" (runs of days joined by a dash)."""
    indices = sorted(WEEKDAYS.index(day) for day in byday.split(",") if day in WEEKDAYS)
    runs: list[list[int]] = []
    for index in indices:
        if runs and index == runs[-1][-1] + 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return ", ".join(
        str(WEEKDAYS_ABBR[run[0]]) if len(run) == 1 else f"{WEEKDAYS_ABBR[run[0]]}–{WEEKDAYS_ABBR[run[-1]]}"
        for run in runs
    )


def _hours(service: DirectoryService) -> list[str]:
    if service.open_24h:
        return [_("Open 24 hours, every day")]
    return [f"{_days(item['byday'])} {item['opens_at']}–{item['closes_at']}"
            for item in service.schedules if isinstance(item, dict) and isinstance(item.get("byday"), str)]


def _phone_href(phone: str) -> str:
    digits = re.sub(r"[^\d+]", "", phone)
    return f"tel:{digits}" if digits else ""


# HSDS service.status
STATUS_LABELS = {
    "active": gettext_lazy("Open"), "inactive": gettext_lazy("Not taking referrals"),
    "defunct": gettext_lazy("Closed for good"), "temporarily closed": gettext_lazy("Temporarily closed"),
}


def service_card(service: DirectoryService, reader, language: str, *, distance_km: float | None = None,
                 now: datetime | None = None) -> dict:
    """Everything a page shows of `service` to `reader` (an agency), as
    plain values: the location only as location_fields gives it."""
    location = location_fields(service.location, reader)
    capacity = capacity_of(service, now=now)
    groups = [_label(ELIGIBILITY_GROUPS, code, language) for code in service.eligibility]
    return {
        "id": service.pk,
        "name": service.name,
        "agency": service.agency.name,
        "own": service.agency_id == reader.pk,
        "active": service.status == SERVICE_ACTIVE,
        "status": STATUS_LABELS.get(service.status, service.status),
        "kind": _label(REFERRAL_SERVICES, service.service, language),
        "code": service.service,
        "description": service.description,
        "capacity": capacity,
        "capacity_text": capacity_text(capacity.free, capacity.total) if capacity else "",
        "distance": _distance_text(distance_km),
        "eligibility": [text for text in (", ".join(groups), _ages(service.minimum_age, service.maximum_age),
                                          service.eligibility_description) if text],
        "languages": ", ".join(language_name(code) for code in service.languages),
        "hours": _hours(service),
        "contact_name": service.contact_name,
        "phone": service.contact_phone,
        "phone_href": _phone_href(service.contact_phone),
        "email": service.contact_email,
        "location": location,
        "place": place_label(location["teryt"]) or "",
        "address_shown": location["address_1"] is not None,
    }


# --- The search, on its own page and in the send-referral journey -----------------------------


def _page_url(query: dict, cursor: str | None) -> str | None:
    return f"?{urlencode({**query, 'cursor': cursor})}" if cursor else None


def directory_search_context(request, *, defaults: dict | None = None) -> dict:
    """The search form and one page of results for `request.caller`. A first
    visit (no filter in the URL) searches from the agency's own gmina or
    powiat, with `defaults` (the journey's service). A bad filter is shown
    in the error summary, without results; a cursor that is no longer valid
    starts again from the first page and says so."""
    agency = request.caller.agency
    submitted = any(name in request.GET for name in SearchForm.FIELDS)
    data = request.GET if submitted else {"teryt": agency.teryt or "", **(defaults or {})}
    form = SearchForm(data, language=request.LANGUAGE_CODE, languages=directory_languages())
    context = {"form": form, "place_options": place_options(), "cards": [], "errors": [], "searched": False,
               "place_value": data.get("teryt", "")}
    if not form.is_valid():
        context["errors"] = error_items(form)
        return context
    arguments, cursor = form.search_arguments(), request.GET.get("cursor") or None
    try:
        page = directory_search(agency=agency, cursor=cursor, limit=settings.PAGES_PAGE_SIZE, **arguments)
    except ValidationFailed:
        context["errors"] = [{"href": "", "text": _(
            "That page of results is no longer available, so the search starts again from the first page.")}]
        cursor = None
        page = directory_search(agency=agency, limit=settings.PAGES_PAGE_SIZE, **arguments)
    now, query = timezone.now(), form.query()
    context.update(
        searched=True, first_page=cursor is None,
        place_value=place_text(arguments["teryt"] or ""), origin=place_label(arguments["teryt"] or ""),
        filtered=submitted and any(form.query().get(name) for name in ("service", "has_capacity", "language", "eligibility")),
        cards=[service_card(hit.service, agency, request.LANGUAGE_CODE, distance_km=hit.distance_km, now=now)
               for hit in page.results],
        previous_url=_page_url(query, page.previous_cursor), next_url=_page_url(query, page.next_cursor),
    )
    return context


@require_GET
@member_page(*DIRECTORY_ROLES)
def directory_search_page(request):
    context = directory_search_context(request)
    context["may_update"] = request.membership.role in OWN_SERVICE_ROLES
    return render(request, "agencies/directory/search.html", context)


# --- The agency's own services and their free places --------------------------------------------


def _ours(request, *, failed: CapacityForm | PlacesForm | None = None, status: int = 200):
    agency, now = request.caller.agency, timezone.now()
    sets_places = request.membership.role in PLACES_ROLES
    rows = []
    # The services that count places first: their count is what changes at night.
    for service in sorted(directory_service_list_own(agency), key=lambda s: s.capacity_total is None):
        card = service_card(service, agency, request.LANGUAGE_CODE, now=now)
        row = {"card": card, "form": None, "places": None}
        if card["capacity"] is not None:
            row["form"] = CapacityForm(service=service, initial={"free": service.capacity_free})
        if sets_places and not _follows_agreements(agency, service):
            row["places"] = PlacesForm(service=service, initial={
                "total": service.capacity_total, "free": service.capacity_free})
        shown = "places" if isinstance(failed, PlacesForm) else "form"
        if failed is not None and failed.service.pk == service.pk and row[shown] is not None:
            row[shown] = failed  # with what was typed and its errors
        rows.append(row)
    errors = error_items(failed) if failed is not None else []
    return render(request, "agencies/directory/ours.html", {"rows": rows, "errors": errors}, status=status)


@require_GET
@member_page(*OWN_SERVICE_ROLES)
def our_services(request):
    return _ours(request)


@require_POST
@member_page(*OWN_SERVICE_ROLES)
def capacity_update(request, service_id):
    """Count the free places of one of the agency's own services: one field,
    one press. Another agency's service is a 404, as an unknown one."""
    try:
        service = directory_service_get_own(service_id, request.caller.agency)
    except NotFoundError:
        raise Http404 from None
    form = CapacityForm(request.POST, service=service)
    if not form.is_valid():
        return _ours(request, failed=form, status=422)
    try:
        service = capacity_set(caller=request.caller, service_id=service.pk, free=form.cleaned_data["free"])
    except NotFoundError:
        raise Http404 from None
    except ApplicationError as exc:
        form.add_service_error(exc)
        return _ours(request, failed=form, status=exc.status)
    return _saved(request, service)


@require_POST
@member_page(*PLACES_ROLES)
def places_update(request, service_id):
    """Set how many places one of the agency's own services has in all, and
    how many of them are free: starts counting for a service that counted
    none. Another agency's service is a 404, as an unknown one."""
    try:
        service = directory_service_get_own(service_id, request.caller.agency)
    except NotFoundError:
        raise Http404 from None
    form = PlacesForm(request.POST, service=service)
    if _follows_agreements(request.caller.agency, service):
        form.add_error(None, _("The places of this service follow your placement agreements, so they are not set here."))
        return _ours(request, failed=form, status=409)
    if not form.is_valid():
        return _ours(request, failed=form, status=422)
    try:
        service = capacity_set(caller=request.caller, service_id=service.pk, free=form.cleaned_data["free"],
                               total=form.cleaned_data["total"])
    except NotFoundError:
        raise Http404 from None
    return _saved(request, service)


def _saved(request, service: DirectoryService):
    messages.success(request, _("Saved. %(service)s: %(places)s, as of %(time)s.") % {
        "service": service.name, "places": capacity_text(service.capacity_free, service.capacity_total),
        "time": formats.time_format(timezone.localtime(service.capacity_updated_at), "H:i"),
    })
    return redirect("directory-ours")

"""The send-referral journey's pages (referrals/journey.py holds the logic).
Every page acts for the logged-in caseworker's or supervisor's agency; the
journey id in the URL names a draft in her session, never person data."""

import re
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from agencies.directory.page_views import directory_search_context
from agencies.directory.selectors import directory_service_get
from agencies.models import SERVICE_ACTIVE
from agencies.pages import member_page
from consent_ledger.services import subject_create
from hub.api.errors import Conflict, NotFoundError, ValidationFailed

from . import journey as j
from .services import UNCOVERED_CATEGORIES
from .views import REFERRAL_ROLES

STEP_URLS = {j.WHO: "referral-new-who", j.PERSON: "referral-new-person", j.SERVICE: "referral-new-service",
             j.DETAILS: "referral-new-details", j.CHECK: "referral-new-check"}


def _to_step(journey, step, anchor=""):
    response = redirect(STEP_URLS[step], journey=journey)
    response["Location"] += anchor
    return response


def journey_page(step):
    """Loads the journey's draft for the view (`request.draft`). A journey
    that already sent its referral leads to it; an unknown one (cancelled,
    expired, another agency's) is the "no longer available" page; a step
    whose earlier questions are unanswered leads to the first of them."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, journey, *args, **kwargs):
            draft = j.draft_get(request, request.caller, journey)
            if draft is None:
                sent = j.sent_referral_id(request.user, journey)
                if sent:
                    return redirect("referral-page", referral_id=sent)
                return render(request, "referrals/new/gone.html", status=404)
            if not j.may_open(draft, step):
                return _to_step(journey, j.next_step(draft))
            request.draft = draft
            return view(request, journey, *args, **kwargs)

        return member_page(*REFERRAL_ROLES)(wrapped)

    return decorator


def _page(request, journey, template, context, status=200):
    context = {"journey": journey, **context}
    return render(request, f"referrals/new/{template}", context, status=status)


def _continue(request, journey):
    j.draft_save(request, journey, request.draft)
    return _to_step(journey, j.next_step(request.draft))


# --- start ---------------------------------------------------------------------------


@require_GET
@member_page(*REFERRAL_ROLES)
def referral_new(request):
    """Start a journey; `?subject=<id>` (from a person's page) chooses the
    person, who must be in the agency's own register: any other id is a 404,
    so the page tells nothing about other agencies' people."""
    subject_id = None
    if "subject" in request.GET:
        subject_id = j.own_subject_id(request.caller.agency, request.GET["subject"])
        if subject_id is None:
            raise Http404
    journey = j.draft_start(request, request.caller, subject_id=subject_id)
    return _to_step(journey, j.WHO)


@require_POST
@member_page(*REFERRAL_ROLES)
def referral_new_cancel(request, journey):
    j.draft_discard(request, journey)
    messages.success(request, _("The referral was not sent, and what you typed for it was deleted."))
    return redirect("referral-outbox")


# --- the questions ----------------------------------------------------------------------


def _checked(form) -> dict:
    items, by_field = j.form_errors(form)
    return {"errors": items, "field_errors": by_field}


@require_http_methods(["GET", "POST"])
@journey_page(j.WHO)
def referral_new_who(request, journey):
    register = j.own_register(request.caller.agency, request.LANGUAGE_CODE)
    if request.method == "GET":
        data = j.as_data(request.draft["who"]) if request.draft["who"] else None
        return _who_page(request, journey, j.WhoForm(data, register=register), register)
    form = j.WhoForm(request.POST, register=register)
    request.draft["who"] = j.typed(request.POST)
    if not form.is_valid():
        request.draft["subject"] = None  # the answer on the page is the answer: none yet
        j.draft_save(request, journey, request.draft)
        return _who_page(request, journey, form, register, checked=True)
    existing = form.cleaned_data["who"] == j.EXISTING
    request.draft["subject"] = form.cleaned_data["subject"] if existing else None
    return _continue(request, journey)


def _who_page(request, journey, form, register, *, checked=False):
    context = {"register": register, "who": form["who"].value(), "subject": form["subject"].value()}
    context.update(_checked(form) if checked else {"errors": [], "field_errors": {}})
    return _page(request, journey, "who.html", context, status=422 if checked else 200)


@require_http_methods(["GET", "POST"])
@journey_page(j.PERSON)
def referral_new_person(request, journey):
    language = request.LANGUAGE_CODE
    if request.method == "GET":
        data = j.as_data(request.draft["person"]) if request.draft["person"] else None
        return _person_page(request, journey, *j.person_forms(data, language))
    person, profile = j.person_forms(request.POST, language)
    request.draft["person"] = j.typed(request.POST)
    document = profile.document()
    if person.is_valid() and document is not None:
        try:
            subject = subject_create(caller=request.caller, external_ref=person.cleaned_data["external_ref"], profile=document)
        except Conflict:
            person.add_error("external_ref", _(
                "Your agency already registered a person with this case reference: choose them from the register, "
                "or enter another reference"
            ))
        except ValidationFailed as exc:
            person.add_error(None, exc.detail)
        else:
            reference = person.cleaned_data["external_ref"]
            request.draft.update(
                subject=str(subject.id), person={},
                registered={"subject": str(subject.id), "external_ref": reference, "profile": document},
                who={"who": [j.EXISTING], "subject": [str(subject.id)]},
            )
            messages.success(request, _("The person is registered under case reference %(reference)s.") % {"reference": reference})
            return _continue(request, journey)
    j.draft_save(request, journey, request.draft)
    return _person_page(request, journey, person, profile, checked=True)


def _person_page(request, journey, person, profile, *, checked=False):
    context = {"form": person, "profile_layout": profile.layout()}
    if checked:
        items, by_field = j.form_errors(person)
        context.update(errors=[*items, *profile.error_list()], field_errors=by_field)
    else:
        context.update(errors=[], field_errors={})
    return _page(request, journey, "person.html", context, status=422 if checked else 200)


@require_http_methods(["GET", "POST"])
@journey_page(j.SERVICE)
def referral_new_service(request, journey):
    language = request.LANGUAGE_CODE
    if request.method == "GET":
        data = j.as_data(request.draft["service"]) if request.draft["service"] else None
        return _service_page(request, journey, j.ServiceForm(data, caller=request.caller, language=language))
    form = j.ServiceForm(request.POST, caller=request.caller, language=language)
    request.draft["service"] = j.typed(request.POST)
    if "find" in request.POST:  # to the directory, keeping what she typed here
        request.draft["choice"] = None
        j.draft_save(request, journey, request.draft)
        query = j.directory_query(request.draft, request.caller.agency)
        return redirect(f"{reverse('referral-new-directory', args=[journey])}?{urlencode(query)}")
    if not form.is_valid():
        request.draft["choice"] = None
        j.draft_save(request, journey, request.draft)
        return _service_page(request, journey, form, checked=True)
    choice = form.choice()
    request.draft["choice"] = choice
    if j.picked_service(request.draft, choice["service"], choice["to_agency"]) is None:
        request.draft["directory_service"] = None  # another service or agency was chosen after the pick
    return _continue(request, journey)


def _service_page(request, journey, form, *, checked=False):
    picked = j.picked_service(request.draft, form["service"].value(), form["to_agency"].value())
    context = {"form": form, "urgencies": j.urgency_options(form["urgency"].value()),
               "directory": j.directory_summary(picked)}
    context.update(_checked(form) if checked else {"errors": [], "field_errors": {}})
    return _page(request, journey, "service.html", context, status=422 if checked else 200)


@require_http_methods(["GET", "POST"])
@journey_page(j.SERVICE)
def referral_new_directory(request, journey):
    """The service directory bound to the journey: the search (pre-filled
    with the service typed and the agency's place), each result with a
    button that sends the referral there, that is, answers the service
    step's service and agency with it and goes back to that step."""
    if request.method == "POST":
        return _directory_pick(request, journey)
    context = directory_search_context(request, defaults=j.directory_query(request.draft, request.caller.agency))
    context["pick_url"] = reverse("referral-new-directory", args=[journey])
    return _page(request, journey, "directory.html", context)


def _directory_pick(request, journey):
    # Any active service of another active agency (the directory is the same
    # for everyone); the agency's own, or an unknown id, is a 404.
    try:
        picked = directory_service_get(request.POST.get("directory_service", ""), request.caller.agency)
    except NotFoundError:
        raise Http404 from None
    if picked.agency_id == request.caller.agency.pk or picked.status != SERVICE_ACTIVE:
        raise Http404
    j.directory_pick(request.draft, picked)
    j.draft_save(request, journey, request.draft)
    messages.success(request, _(
        "You chose %(service)s (%(agency)s). Answer the other questions on this page, then continue."
    ) % {"service": picked.name, "agency": picked.agency.name})
    return _to_step(journey, j.SERVICE)


@require_http_methods(["GET", "POST"])
@journey_page(j.DETAILS)
def referral_new_details(request, journey):
    language, service = request.LANGUAGE_CODE, request.draft["choice"]["service"]
    if request.method == "GET":
        return _details_page(request, journey, j.details_form(request.draft, language))
    request.draft["details"][service] = j.typed(request.POST)
    if "add" in request.POST:  # "add another" item: keep what is typed, show one more empty item
        request.draft["payloads"].pop(service, None)
        j.draft_save(request, journey, request.draft)
        anchor = request.POST["add"] if re.fullmatch(r"[a-z0-9_]{1,100}", request.POST["add"]) else ""
        return _to_step(journey, j.DETAILS, f"#{anchor}" if anchor else "")
    form = j.details_form(request.draft, language, data=request.POST)
    document = form.document()
    if document is None:
        request.draft["payloads"].pop(service, None)
        j.draft_save(request, journey, request.draft)
        return _details_page(request, journey, form, status=422)
    request.draft["payloads"][service] = document
    return _continue(request, journey)


def _details_page(request, journey, form, *, status=200):
    service = j.service_label(request.draft["choice"]["service"], request.LANGUAGE_CODE)
    context = {"layout": form.layout(), "errors": form.error_list(), "service": service}
    return _page(request, journey, "details.html", context, status=status)


# --- check answers and send -------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@journey_page(j.CHECK)
def referral_new_check(request, journey):
    language = request.LANGUAGE_CODE
    try:
        context = j.check_page(request.caller, request.draft, journey, language)
    except NotFoundError:  # the person is no longer in the register
        raise Http404
    if request.method == "GET":
        return _page(request, journey, "check.html", {**context, "errors": []})
    request.draft["withhold"] = j.withhold_choice(request.POST, context["checks"])
    j.draft_save(request, journey, request.draft)
    try:
        referral, created = j.draft_send(caller=request.caller, journey=journey, draft=request.draft, path=request.path)
    except NotFoundError:
        raise Http404
    except ValidationFailed as exc:
        errors = _send_errors(exc, context, language, journey)
        return _page(request, journey, "check.html", {
            **context, "withhold": request.draft["withhold"], "errors": errors,
            "uncovered": any("category" in error for error in errors),
        }, status=422)
    j.draft_discard(request, journey)
    if created:
        messages.success(request, _("Your referral was sent to %(agency)s.") % {"agency": referral.recipient.name})
    return redirect("referral-page", referral_id=referral.id)


def _send_errors(exc: ValidationFailed, context: dict, language: str, journey: str) -> list[dict]:
    if exc.code == UNCOVERED_CATEGORIES:
        return j.uncovered_errors(exc, language, context["recipient"].name)
    # Anything else was checked on the question pages; it can still change
    # meanwhile (the recipient closed), so say what the service said.
    if any(error.get("pointer") == "/directory_service" for error in exc.errors):
        return [{"href": reverse("referral-new-service", args=[journey]), "text": _(
            "The service you chose in the directory no longer takes referrals: choose a service and agency again"
        )}]
    return [
        {"href": "", "text": _("The referral could not be sent: %(detail)s") % {"detail": error.get("detail", "")}}
        for error in exc.errors
    ] or [{"href": "", "text": exc.detail}]

"""The caseworker's referral pages (DESIGN.md 7): inbox, outbox and the
referral itself, acting for the logged-in user's agency (agencies.pages).

Person data reaches a page only through referrals.selectors — the choke
point — with the referral's own purpose, so every page view is in the
accounting like an API read. URLs and titles carry ids and codes only."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from agencies.pages import member_page
from hub.api.errors import ApplicationError, Conflict, NotFoundError, PreconditionFailed
from hub.web.paging import page_of, pagination

from . import pages, services
from .selectors import (
    INBOX,
    OUTBOX,
    case_update_list,
    referral_for_party,
    referral_list_for_agency,
    referral_read,
)

REFERRAL_ROLES = ("caseworker", "supervisor")


def referral_or_404(request, referral_id):
    try:
        return referral_for_party(referral_id, request.caller)
    except NotFoundError:
        raise Http404


def _worklist(request, box: str):
    form = pages.WorklistForm(request.GET or None, language=request.LANGUAGE_CODE)
    referrals = (
        referral_list_for_agency(request.caller, box=box, **form.filters())
        .select_related("sender", "recipient")
        .order_by(*form.ordering())
    )
    page = page_of(request, referrals, settings.PAGES_PAGE_SIZE)
    context = {
        "box": box,
        "form": form,
        "filtered": any(form.filters().values()),
        "rows": pages.worklist_rows(page.object_list, box=box, language=request.LANGUAGE_CODE),
        "page": page,
        "pagination": pagination(request, page),
    }
    # htmx (progressive enhancement) asks for the results alone when the filters change.
    template = "referrals/includes/worklist_results.html" if request.htmx else "referrals/worklist.html"
    return render(request, template, context)


@require_GET
@member_page(*REFERRAL_ROLES)
def referral_inbox(request):
    return _worklist(request, INBOX)


@require_GET
@member_page(*REFERRAL_ROLES)
def referral_outbox(request):
    return _worklist(request, OUTBOX)


def _detail(request, referral_id, *, errors=(), typed=None, note_form=None, status=200):
    """The referral page. Reading it discloses the payload, profile and texts
    (one accounting entry) and the case updates (another), both with the
    referral's purpose."""
    try:
        view = referral_read(request.caller, referral_id)
        updates = case_update_list(request.caller, referral_id)
    except NotFoundError:
        raise Http404
    context = pages.referral_page(view, updates, request.caller, request.LANGUAGE_CODE, typed=typed or {})
    context.update(note_form=note_form or pages.NoteForm(), errors=list(errors))
    return render(request, "referrals/referral_detail.html", context, status=status)


@require_GET
@member_page(*REFERRAL_ROLES)
def referral_detail(request, referral_id):
    return _detail(request, referral_id)


def _transition_errors(exc: ApplicationError, to: str) -> list[dict]:
    """The service's refusal as error-summary items linking to the fields."""
    if isinstance(exc, PreconditionFailed):
        return [{"href": "", "text": _(
            "Someone changed this referral while you had it open, so your change was not saved. "
            "The page now shows the referral as it is. Check it, then try again: what you typed is still in the form."
        )}]
    if isinstance(exc, Conflict):
        return [{"href": "", "text": _(
            "This step is no longer possible: the referral's status has changed. What you typed is shown below."
        )}]
    messages_by_pointer = {
        "/reason": _("Say why"),
        "/outcome/success": _("Say whether the service succeeded"),
        "/outcome/reason": _("Choose why the service did not succeed"),
    }
    return [
        {"href": f"#{pages.field_id(to, e.get('pointer', ''))}", "text": messages_by_pointer.get(e.get("pointer"), e["detail"])}
        for e in exc.errors
    ] or [{"href": "", "text": exc.detail}]


@require_POST
@member_page(*REFERRAL_ROLES)
def referral_transition(request, referral_id):
    form = pages.TransitionForm(request.POST)
    typed = {key: request.POST.get(key, "") for key in ("to", "reason", "success", "outcome_reason")}
    if not form.is_valid():
        referral_or_404(request, referral_id)
        errors = [{"href": "", "text": _("The form was not complete. Try again.")}]
        return _detail(request, referral_id, errors=errors, typed=typed, status=422)
    to = form.cleaned_data["to"]
    try:
        services.referral_transition(
            caller=request.caller, referral_id=referral_id, to=to, reason=form.cleaned_data["reason"],
            outcome=form.outcome(), if_match=form.cleaned_data["if_match"],
        )
    except NotFoundError:
        raise Http404
    except ApplicationError as exc:
        return _detail(request, referral_id, errors=_transition_errors(exc, to), typed=typed, status=exc.status)
    messages.success(request, _("The referral is now: %(status)s.") % {"status": pages.STATUS_LABELS[to]})
    return redirect("referral-page", referral_id=referral_id)


@require_POST
@member_page(*REFERRAL_ROLES)
def referral_note_add(request, referral_id):
    form = pages.NoteForm(request.POST)
    if form.is_valid():
        try:
            services.case_update_add(
                caller=request.caller, referral_id=referral_id, kind="note", payload={"text": form.cleaned_data["text"]}
            )
        except NotFoundError:
            raise Http404
        except ApplicationError as exc:
            form.add_error("text", exc.detail)
        else:
            messages.success(request, _("Your note was added."))
            return redirect("referral-page", referral_id=referral_id)
    referral_or_404(request, referral_id)
    return _detail(request, referral_id, note_form=form, status=422)

"""The person pages under /app/subjects/ (DESIGN.md 7), acting for the
logged-in user's agency (agencies.pages). Thin: what the pages show is in
consent_ledger/pages.py, the consent forms in consent_pages.py; writes go
through consent_ledger.services like the API's. URLs and titles carry ids
and codes only, never person data."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from agencies.pages import member_page
from hub.api.errors import Conflict, NotFoundError, ValidationFailed
from hub.web.paging import page_of, pagination
from schemas.vocabularies import LEGAL_BASES

from . import consent_pages, pages, services
from .erasure import ERASER_ROLES, subject_erase
from .sealing import SubjectErased
from .selectors import disclosure_list_for_subject, subject_get_owned


def _subject_or_404(request, subject_id, *, owned: bool = False):
    try:
        if owned:
            return subject_get_owned(subject_id, request.caller)
        return pages.subject_for_page(request.caller, request.membership.role, subject_id)
    except NotFoundError:
        raise Http404


def _referral_new_url() -> str:
    # The send-referral journey is another page set; its name may not exist yet.
    try:
        return reverse("referral-new")
    except NoReverseMatch:
        return "/app/referrals/new"


@require_GET
@member_page(*pages.SUBJECT_ROLES)
def subject_list(request):
    ref = request.GET.get("ref", "").strip()[:128]
    page = page_of(request, pages.subject_register(request.caller.agency, ref=ref), settings.PAGES_PAGE_SIZE)
    context = {
        "page": page, "pagination": pagination(request, page), "ref": ref,
        "referral_new_url": _referral_new_url(),
        "can_refer": request.membership.role in pages.CONSENT_ROLES,
    }
    return render(request, "consent_ledger/subject_list.html", context)


@require_GET
@member_page(*pages.SUBJECT_ROLES)
def subject_page(request, subject_id):
    """The person: her profile disclosed for the page's purpose (not to the
    DPO), and, for the owner, the consent state and the accounting."""
    subject = _subject_or_404(request, subject_id)
    if subject.erased_at is not None:
        raise SubjectErased(subject.id)  # the 410 page, for every role
    caller, role, language = request.caller, request.membership.role, request.LANGUAGE_CODE
    owner = subject.owner_id == caller.agency.id
    referrals = list(pages.referrals_about(subject, caller)[: pages.REFERRALS_SHOWN])
    context = {
        "subject": subject, "owner": owner, "role": role,
        "reference": pages.own_reference(subject, caller.agency),
        "referrals": pages.referral_rows(referrals, caller, language),
        "can_record": owner and role in pages.CONSENT_ROLES,
        "can_erase": owner and role in ERASER_ROLES,
        "can_refer": role in pages.CONSENT_ROLES,
        "referral_new_url": _referral_new_url(),
    }
    if role not in pages.READ_ONLY_ROLES:
        context.update(pages.profile_context(subject, caller, request.GET.get("purpose"), referrals, language))
    if owner:
        accounting = page_of(request, disclosure_list_for_subject(subject), pages.ACCOUNTING_PAGE_SIZE)
        context.update(
            provisions=pages.consent_state(subject, language, can_revoke=context["can_record"]),
            accounting=accounting, accounting_rows=pages.accounting_table(accounting.object_list, language),
            pagination=pagination(request, accounting),
        )
    return render(request, "consent_ledger/subject_page.html", context)


# --- Recording consent: terms, printable form, evidence ---------------------------------------


def _terms_form(request, data=None):
    return consent_pages.ConsentTermsForm(
        data, caller=request.caller, request=request, language=request.LANGUAGE_CODE, prefill=request.GET
    )


def _terms_page(request, subject, form, status=200):
    context = {"subject": subject, "form": form, "errors": form.error_items() if form.is_bound else [],
               "reference": pages.own_reference(subject, request.caller.agency)}
    return render(request, "consent_ledger/subject_consent_new.html", context, status=status)


@require_http_methods(["GET", "POST"])
@member_page(*pages.CONSENT_ROLES)
def consent_new(request, subject_id):
    """Step 1: what the consent covers."""
    subject = _subject_or_404(request, subject_id, owned=True)
    if request.method == "GET":
        return _terms_page(request, subject, _terms_form(request))
    form = _terms_form(request, request.POST)
    if not form.is_valid():
        return _terms_page(request, subject, form, status=422)
    url = reverse("subject-consent-print", args=[subject.id])
    return redirect(f"{url}?{form.query_string()}")


@require_GET
@member_page(*pages.CONSENT_ROLES)
def consent_print(request, subject_id):
    """Step 2: the consent form to print and sign."""
    subject = _subject_or_404(request, subject_id, owned=True)
    form = _terms_form(request, request.GET)
    if not form.is_valid():
        return _terms_page(request, subject, form, status=422)
    context = {"subject": subject, "terms": form.describe(), "query": form.query_string(),
               "agency": request.caller.agency, "reference": pages.own_reference(subject, request.caller.agency)}
    return render(request, "consent_ledger/consent_form_print.html", context)


def _evidence_page(request, subject, form, evidence, *, errors=(), status=200):
    context = {
        "subject": subject, "terms": form.describe(), "query": form.query_string(),
        "hidden_fields": form.hidden_fields(), "evidence": evidence, "errors": [*errors, *evidence.error_items()],
        "scan_limit": consent_pages.scan_limit_bytes(),
        "reference": pages.own_reference(subject, request.caller.agency),
    }
    return render(request, "consent_ledger/subject_consent_confirm.html", context, status=status)


@require_http_methods(["GET", "POST"])
@member_page(*pages.CONSENT_ROLES)
def consent_confirm(request, subject_id):
    """Step 3: the evidence, then consent_grant (as POST subjects/{id}/consents/)."""
    subject = _subject_or_404(request, subject_id, owned=True)
    form = _terms_form(request, request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        return _terms_page(request, subject, form, status=422)
    consent_form = form.cleaned_data["form"]
    if request.method == "GET":
        return _evidence_page(request, subject, form, consent_pages.EvidenceForm(consent_form=consent_form))
    evidence = consent_pages.EvidenceForm(request.POST, request.FILES, consent_form=consent_form)
    if not evidence.is_valid():
        return _evidence_page(request, subject, form, evidence, status=422)
    try:
        provision = services.consent_grant(
            caller=request.caller, subject_id=subject.id, terms=form.service_terms(), form=consent_form,
            grantor=form.cleaned_data["grantor"], evidence_sha256=evidence.sha256(),
        )
    except NotFoundError:
        raise Http404
    except ValidationFailed as exc:
        errors = consent_pages.service_error_items(exc)
        return _evidence_page(request, subject, form, evidence, errors=errors, status=exc.status)
    entry = provision.granted_entry
    messages.success(request, _(
        "The consent is recorded. Receipt: ledger entry %(entry)s, leaf hash %(hash)s."
    ) % {"entry": entry.id, "hash": entry.leaf_hash})
    return redirect(form.cleaned_data["next"] or reverse("subject-page", args=[subject.id]))


# --- Erasure (issue 12, item 2) ----------------------------------------------------------------


def _erasure_page(request, subject, form, *, errors=(), status=200):
    context = {"subject": subject, "form": form, "errors": list(errors),
               "reference": pages.own_reference(subject, request.caller.agency)}
    return render(request, "consent_ledger/subject_erasure.html", context, status=status)


@require_http_methods(["GET", "POST"])
@member_page(*ERASER_ROLES)
def subject_erasure(request, subject_id):
    """A confirmation with the reason, then subject_erase (as POST subjects/{id}/erasure)."""
    subject = _subject_or_404(request, subject_id, owned=True)
    if request.method == "GET":
        return _erasure_page(request, subject, consent_pages.ErasureForm())
    form = consent_pages.ErasureForm(request.POST)
    if not form.is_valid():
        return _erasure_page(request, subject, form, status=422)
    try:
        subject_erase(caller=request.caller, subject_id=subject.id, reason=form.cleaned_data["reason"])
    except NotFoundError:
        raise Http404
    except Conflict as blocked:
        bases = ", ".join(pages.label(LEGAL_BASES, b["basis"], request.LANGUAGE_CODE) for b in blocked.extra.get("bases", []))
        text = _("A statutory basis or court order in force requires this data: %(bases)s. End it first.") % {
            "bases": bases}
        return _erasure_page(request, subject, form, errors=[{"href": "", "text": text}], status=409)
    messages.success(request, _("The person's data is erased. The agencies that received it are told to erase "
                                "their copies; the ledger keeps only ids and codes."))
    return redirect("subject-list")


# --- Revoking consent -------------------------------------------------------------------------


def _revoke_page(request, subject, provision, form, *, errors=(), status=200):
    context = {
        "subject": subject, "row": pages.provision_row(provision, request.LANGUAGE_CODE), "form": form,
        "errors": list(errors), "reference": pages.own_reference(subject, request.caller.agency),
    }
    return render(request, "consent_ledger/subject_consent_revoke.html", context, status=status)


@require_http_methods(["GET", "POST"])
@member_page(*pages.CONSENT_ROLES)
def consent_revoke(request, subject_id, provision_id):
    """A confirmation with a required reason, then consent_revoke (as POST consents/{id}/revoke)."""
    subject = _subject_or_404(request, subject_id, owned=True)
    try:
        provision = consent_pages.consent_for_revoking(request.caller, subject, provision_id)
    except NotFoundError:
        raise Http404
    if request.method == "GET":
        return _revoke_page(request, subject, provision, consent_pages.RevokeForm())
    form = consent_pages.RevokeForm(request.POST)
    if not form.is_valid():
        return _revoke_page(request, subject, provision, form, status=422)
    try:
        provision = services.consent_revoke(
            caller=request.caller, consent_id=provision.id, reason=form.cleaned_data["reason"]
        )
    except NotFoundError:
        raise Http404
    except Conflict:
        provision.refresh_from_db()
        errors = [{"href": "", "text": _("This consent had already been revoked, so nothing changed.")}]
        return _revoke_page(request, subject, provision, form, errors=errors, status=409)
    messages.success(request, _revoked_message(consent_pages.notified_agencies(provision)))
    return redirect("subject-page", subject_id=subject.id)


def _revoked_message(notified: list[str]) -> str:
    if not notified:
        return _("The consent is revoked: no data is shared on it any more. "
                 "No agency had received data under it, so no agency needed to be told.")
    return _("The consent is revoked: no data is shared on it any more. "
             "The agencies that received data under it are notified and must confirm they stopped using it: "
             "%(agencies)s.") % {"agencies": ", ".join(notified)}

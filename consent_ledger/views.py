"""The hub's own pages for data-protection officers and supervisors: the
printable accounting of disclosures and the emergency review queue. Session
login; the user's role in the owning agency decides; anything else is a 404."""

import uuid

from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from agencies.models import Agency, AgencyApplication, Membership
from hub.api.errors import ApplicationError
from schemas.vocabularies import DATA_CATEGORIES, LEGAL_BASES, PURPOSES, term

from .models import EmergencyReview, RevocationNotice, Subject
from .selectors import disclosure_list_for_subject
from .services import REVIEWER_ROLES, emergency_review_complete


def _label(vocabulary, code, language):
    try:
        return term(vocabulary, code).label(language)
    except KeyError:
        return code


def _actor_names(entries) -> dict[str, str]:
    """client:<id> -> the client's name; users stay pseudonymous."""
    client_ids = {e.actor.removeprefix("client:") for e in entries if e.actor.startswith("client:")}
    names = dict(AgencyApplication.objects.filter(client_id__in=client_ids).values_list("client_id", "name"))
    return {f"client:{cid}": name for cid, name in names.items()}


@login_required
def disclosure_accounting(request, subject_id):
    """Accounting of disclosures (HIPAA §164.528, LED art. 25, GDPR art. 15(1)(c))."""
    subject = Subject.objects.filter(
        pk=subject_id,
        owner__memberships__user=request.user,
        owner__memberships__role="dpo",
        owner__memberships__active=True,
    ).select_related("owner").first()
    if subject is None:
        raise Http404
    language = request.LANGUAGE_CODE
    entries = list(disclosure_list_for_subject(subject))
    agencies = dict(Agency.objects.filter(id__in={e.body["recipient"] for e in entries}).values_list("id", "name"))
    actors = _actor_names(entries)
    rows = [
        {
            "at": e.recorded_at,
            "recipient": agencies.get(uuid.UUID(e.body["recipient"]), e.body["recipient"]),
            "actor": actors.get(e.actor, e.actor),
            "categories": [_label(DATA_CATEGORIES, c, language) for c in e.body["categories"]],
            "withheld": [_label(DATA_CATEGORIES, c, language) for c in e.body["withheld_categories"]],
            "purpose": _label(PURPOSES, e.body["purpose"], language),
            "bases": [(_label(LEGAL_BASES, b["basis"], language), b["entry"]) for b in e.body["bases"]],
            "request_id": e.body["request_id"],
            "entry": e.id,
        }
        for e in entries
    ]
    return render(request, "consent_ledger/accounting.html", {"subject": subject, "rows": rows})


@login_required
@require_http_methods(["GET"])
def emergency_reviews(request):
    agencies = Membership.objects.filter(user=request.user, role__in=REVIEWER_ROLES, active=True).values("agency")
    reviews = (
        EmergencyReview.objects.filter(agency__in=agencies)
        .select_related("provision__granted_entry__note")
        .order_by("reviewed_at", "-created_at")
    )
    language = request.LANGUAGE_CODE
    recipients = dict(
        Agency.objects.filter(id__in={uuid.UUID(a) for r in reviews for a in r.provision.recipient_agencies}).values_list("id", "name")
    )
    rows = [
        {
            "review": r,
            "recipient": ", ".join(recipients.get(uuid.UUID(a), a) for a in r.provision.recipient_agencies),
            "categories": [_label(DATA_CATEGORIES, c, language) for c in r.provision.categories],
            "justification": getattr(r.provision.granted_entry, "note", None),
        }
        for r in reviews
    ]
    return render(request, "consent_ledger/emergency_reviews.html", {"rows": rows})


@login_required
@require_POST
def emergency_review_submit(request, review_id):
    upheld = request.POST.get("upheld") == "yes"
    try:
        emergency_review_complete(user=request.user, review_id=review_id, upheld=upheld, comment=request.POST.get("comment", ""))
    except ApplicationError as exc:
        if exc.status == 404:
            raise Http404
        context = {"rows": [], "error": exc.detail, "error_items": [{"href": "", "text": exc.detail}]}
        return render(request, "consent_ledger/emergency_reviews.html", context, status=exc.status)
    return redirect("emergency-reviews")


@login_required
@require_http_methods(["GET"])
def revocation_notices(request):
    """For the DPO of the recording agency: notices the recipients have not
    acknowledged yet, escalated ones first."""
    agencies = Membership.objects.filter(user=request.user, role="dpo", active=True).values("agency")
    notices = (
        RevocationNotice.objects.filter(recorded_by__in=agencies, acknowledged_at__isnull=True)
        .select_related("agency")
        .order_by(F("escalated_at").asc(nulls_last=True), "created_at")
    )
    language = request.LANGUAGE_CODE
    rows = [
        {"notice": n, "categories": [_label(DATA_CATEGORIES, c, language) for c in n.categories]}
        for n in notices
    ]
    return render(request, "consent_ledger/notices.html", {"rows": rows})

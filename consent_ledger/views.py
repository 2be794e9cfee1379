"""The hub's own pages for data-protection officers and supervisors (DESIGN.md 7,
`/app/dpo/`): the ledger's status, the printable accounting of disclosures,
the emergency review queue and the unacknowledged revocation notices. Session
login with the second factor; the user's role in the owning agency decides;
anything else is a 404."""

import uuid

from django import forms
from django.contrib import messages
from django.db.models import F
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from agencies.models import Agency
from agencies.pages import member_page
from hub.api.errors import ApplicationError
from schemas.vocabularies import DATA_CATEGORIES

from .accounting import accounting_rows
from .accounting import label as _label
from .models import (
    Checkpoint,
    EmergencyReview,
    LedgerPending,
    RevocationNotice,
    SequencerState,
    Subject,
    VerificationRun,
)
from .selectors import disclosure_list_for_subject, disclosure_recipients
from .services import REVIEWER_ROLES, emergency_review_complete
from .tasks import ledger_verify_task


class AccountingLookupForm(forms.Form):
    ref = forms.CharField(
        label=gettext_lazy("Case reference"), max_length=200, strip=True,
        error_messages={"required": gettext_lazy("Enter the person's case reference")},
    )


class AccountingFilterForm(forms.Form):
    """The report's period (UTC days, inclusive, as its times are shown) and
    recipient: a GET form, taking what the API's filters take."""

    to = forms.DateField(
        label=gettext_lazy("To"), required=False, input_formats=["%Y-%m-%d"],
        error_messages={"invalid": gettext_lazy("Enter the date as YYYY-MM-DD, for example 2026-06-30")},
    )
    recipient = forms.ChoiceField(label=gettext_lazy("Recipient"), required=False)

    def __init__(self, data, *, recipients: list[tuple[str, str]]):
        super().__init__(data, auto_id="accounting-%s")
        # `from` is a Python keyword: the field is added by name, first.
        start = forms.DateField(
            label=gettext_lazy("From"), required=False, input_formats=["%Y-%m-%d"],
            error_messages={"invalid": gettext_lazy("Enter the date as YYYY-MM-DD, for example 2026-01-01")},
        )
        self.fields = {"from": start, **self.fields}
        self.fields["recipient"].choices = [("", gettext_lazy("Every agency")), *recipients]
        self.recipient_names = dict(recipients)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and start > end:
            self.add_error("from", _("The start of the period must be on or before its end"))
        return cleaned

    def filters(self) -> dict:
        data = self.cleaned_data
        return {"start": data.get("from"), "end": data.get("to"), "recipient_id": data.get("recipient") or None}


@require_http_methods(["GET"])
@member_page("dpo")
def disclosure_accounting(request, subject_id):
    """Accounting of disclosures (HIPAA §164.528, LED art. 25, GDPR art. 15(1)(c)):
    the person's report, for a period and a recipient, oldest first, to print
    (consent_ledger/accounting.css) or hand over; as JSON it is the API's
    GET subjects/{id}/disclosures/ with the same filters."""
    subject = Subject.objects.filter(pk=subject_id, owner=request.caller.agency).select_related("owner").first()
    if subject is None:
        raise Http404
    form = AccountingFilterForm(request.GET, recipients=disclosure_recipients(subject))
    context = {"subject": subject, "form": form, "filtered": any(request.GET.get(f) for f in form.fields)}
    if not form.is_valid():
        return render(request, "consent_ledger/accounting.html", {**context, "rows": None}, status=422)
    filters = form.filters()
    entries = disclosure_list_for_subject(subject, **filters).reverse()
    context.update(
        rows=accounting_rows(entries, request.LANGUAGE_CODE), start=filters["start"], end=filters["end"],
        recipient=form.recipient_names.get(filters["recipient_id"]),
    )
    return render(request, "consent_ledger/accounting.html", context)


@require_http_methods(["GET"])
@member_page(*REVIEWER_ROLES)
def emergency_reviews(request):
    reviews = (
        EmergencyReview.objects.filter(agency=request.caller.agency)
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


@require_POST
@member_page(*REVIEWER_ROLES)
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


@require_http_methods(["GET"])
@member_page("dpo")
def revocation_notices(request):
    """For the DPO of the recording agency: notices the recipients have not
    acknowledged yet, escalated ones first."""
    notices = (
        RevocationNotice.objects.filter(recorded_by=request.caller.agency, acknowledged_at__isnull=True)
        .select_related("agency")
        .order_by(F("escalated_at").asc(nulls_last=True), "created_at")
    )
    language = request.LANGUAGE_CODE
    rows = [
        {"notice": n, "categories": [_label(DATA_CATEGORIES, c, language) for c in n.categories]}
        for n in notices
    ]
    return render(request, "consent_ledger/notices.html", {"rows": rows})


DPO_PAGE_ROLES = ("dpo", "supervisor")


def _dpo_status(agency) -> dict:
    """What the status page shows: the latest signed checkpoint, the last
    verification, and what waits for the agency's review (counts only)."""
    return {
        "checkpoint": Checkpoint.objects.order_by("-tree_size", "-pk").first(),
        "tree_size": SequencerState.objects.values_list("tree_size", flat=True).first() or 0,
        "unsequenced": LedgerPending.objects.count(),
        "verification": VerificationRun.objects.order_by("-finished_at").first(),
        "reviews_waiting": EmergencyReview.objects.filter(agency=agency, reviewed_at__isnull=True).count(),
        "notices_waiting": RevocationNotice.objects.filter(recorded_by=agency, acknowledged_at__isnull=True).count(),
    }


@require_http_methods(["GET", "POST"])
@member_page(*DPO_PAGE_ROLES)
def dpo_home(request):
    """/app/dpo/: the ledger's status and the ways into the DPO's work. The
    accounting is found by the person's case reference, posted (a reference
    may say more than an id, so it never goes into a URL)."""
    form = AccountingLookupForm(request.POST or None)
    if request.method == "POST" and request.membership.role == "dpo" and form.is_valid():
        agency = request.caller.agency
        subject = Subject.objects.filter(
            owner=agency, references__agency=agency, references__external_ref=form.cleaned_data["ref"]
        ).first()
        if subject is not None:
            return redirect("disclosure-accounting", subject_id=subject.pk)
        form.add_error("ref", _("Your agency has no person with this case reference."))
    context = {**_dpo_status(request.caller.agency), "form": form, "role": request.membership.role}
    return render(request, "consent_ledger/dpo.html", context, status=422 if form.errors else 200)


@require_POST
@member_page("dpo")
def dpo_verify(request):
    """Verify the whole log now (a task: eager in the demo, on a worker in production)."""
    ledger_verify_task.delay(trigger="page")
    messages.success(request, _("Verification of the ledger has started. Its result appears here when it ends."))
    return redirect("dpo-home")

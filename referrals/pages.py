"""What the caseworker's referral pages show and take: labels, the worklist
filters, the transition and note forms, and the disclosed referral laid out
for reading. Reads go through referrals.selectors (the choke point); writes
through referrals.services. The views in referrals/views.py stay thin."""

from dataclasses import dataclass

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from schemas.presentation import GROUP, document_rows
from schemas.vocabularies import DATA_CATEGORIES, PURPOSES, REFERRAL_SERVICES, terms

from . import lifecycle
from .models import Referral

STATUS_LABELS = {
    lifecycle.REQUESTED: pgettext_lazy("referral status", "Sent"),
    lifecycle.RECEIVED: pgettext_lazy("referral status", "Received"),
    lifecycle.ACCEPTED: pgettext_lazy("referral status", "Accepted"),
    lifecycle.IN_PROGRESS: pgettext_lazy("referral status", "In progress"),
    lifecycle.ON_HOLD: pgettext_lazy("referral status", "On hold"),
    lifecycle.COMPLETED: pgettext_lazy("referral status", "Completed"),
    lifecycle.REJECTED: pgettext_lazy("referral status", "Rejected"),
    lifecycle.FAILED: pgettext_lazy("referral status", "Failed"),
    lifecycle.CANCELLED: pgettext_lazy("referral status", "Cancelled"),
}
# GOV.UK tag colours: what needs the recipient's action stands out.
STATUS_TAG_CLASSES = {
    lifecycle.REQUESTED: "govuk-tag--blue",
    lifecycle.RECEIVED: "govuk-tag--light-blue",
    lifecycle.ACCEPTED: "govuk-tag--turquoise",
    lifecycle.IN_PROGRESS: "govuk-tag--green",
    lifecycle.ON_HOLD: "govuk-tag--yellow",
    lifecycle.COMPLETED: "govuk-tag--grey",
    lifecycle.REJECTED: "govuk-tag--orange",
    lifecycle.FAILED: "govuk-tag--red",
    lifecycle.CANCELLED: "govuk-tag--grey",
}
URGENCY_LABELS = {
    "emergency": pgettext_lazy("urgency", "Emergency"),
    "urgent": pgettext_lazy("urgency", "Urgent"),
    "routine": pgettext_lazy("urgency", "Routine"),
}
URGENCY_TAG_CLASSES = {"emergency": "govuk-tag--red", "urgent": "govuk-tag--orange", "routine": "govuk-tag--grey"}
# The button of each transition, as the acting side would say it.
TRANSITION_LABELS = {
    lifecycle.RECEIVED: _("Confirm you received it"),
    lifecycle.ACCEPTED: _("Accept the referral"),
    lifecycle.IN_PROGRESS: _("Start the service"),
    lifecycle.ON_HOLD: _("Put on hold"),
    lifecycle.COMPLETED: _("Complete the service"),
    lifecycle.REJECTED: _("Reject the referral"),
    lifecycle.FAILED: _("Record that the service failed"),
    lifecycle.CANCELLED: _("Cancel the referral"),
}
OUTCOME_REASON_LABELS = {
    "client_refused_services": _("The person refused the service"),
    "lack_of_capacity": _("No capacity to provide the service"),
    "services_no_longer_needed": _("The service is no longer needed"),
    "unable_to_contact_client": _("The person could not be contacted"),
    "other": _("Another reason"),
}

INBOX_SORTS = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "due": ("acknowledge_by", "id"),
}
SORT_LABELS = {"newest": _("Newest first"), "oldest": _("Oldest first"), "due": _("Deadline, soonest first")}


def vocabulary_label(vocabulary: str, code: str, language: str) -> str:
    for term in terms(vocabulary):
        if term.code == code:
            return term.label(language)
    return code


def _choices(labels: dict, any_label) -> list[tuple[str, str]]:
    return [("", any_label), *[(code, label) for code, label in labels.items()]]


class WorklistForm(forms.Form):
    """The worklist's filters and order, a GET form: the URL holds only codes."""

    status = forms.ChoiceField(label=_("Status"), required=False)
    service = forms.ChoiceField(label=_("Service"), required=False)
    urgency = forms.ChoiceField(label=_("Urgency"), required=False)
    sort = forms.ChoiceField(label=_("Order"), required=False)

    def __init__(self, data, *, language: str):
        super().__init__(data)
        self.fields["status"].choices = _choices(STATUS_LABELS, _("Any status"))
        services = {t.code: t.label(language) for t in terms(REFERRAL_SERVICES)}
        self.fields["service"].choices = _choices(services, _("Any service"))
        self.fields["urgency"].choices = _choices(URGENCY_LABELS, _("Any urgency"))
        self.fields["sort"].choices = list(SORT_LABELS.items())

    def filters(self) -> dict:
        """Valid filters only: a tampered value is dropped, not an error page."""
        if self.is_valid():
            data = self.cleaned_data
        else:
            data = {name: value for name, value in self.data.items() if name in self.fields and name not in self.errors}
        return {name: data.get(name) or None for name in ("status", "service", "urgency")}

    def ordering(self) -> tuple[str, ...]:
        sort = self.cleaned_data.get("sort") if self.is_valid() else None
        return INBOX_SORTS.get(sort or "newest")


def is_overdue(referral: Referral, now=None) -> bool:
    """Not acknowledged (received) by its deadline (DESIGN.md 4.5)."""
    return referral.status == lifecycle.REQUESTED and referral.acknowledge_by < (now or timezone.now())


def inbox_counts(agency) -> dict:
    waiting = Referral.objects.filter(recipient=agency, status=lifecycle.REQUESTED)
    return {"waiting": waiting.count(), "overdue": waiting.filter(acknowledge_by__lt=timezone.now()).count()}


@dataclass(frozen=True)
class WorklistRow:
    referral: Referral
    counterpart: str
    service: str
    status_label: str
    status_class: str
    urgency_label: str
    urgency_class: str
    overdue: bool
    due: object  # the acknowledgement deadline while it still matters


def worklist_rows(referrals, *, box: str, language: str) -> list[WorklistRow]:
    now = timezone.now()
    rows = []
    for referral in referrals:
        counterpart = referral.sender if box == "inbox" else referral.recipient
        rows.append(WorklistRow(
            referral=referral, counterpart=counterpart.name,
            service=vocabulary_label(REFERRAL_SERVICES, referral.service, language),
            status_label=STATUS_LABELS[referral.status], status_class=STATUS_TAG_CLASSES[referral.status],
            urgency_label=URGENCY_LABELS[referral.urgency], urgency_class=URGENCY_TAG_CLASSES[referral.urgency],
            overdue=is_overdue(referral, now),
            due=referral.acknowledge_by if referral.status == lifecycle.REQUESTED else None,
        ))
    return rows


# --- the transition and note forms ---------------------------------------------------


class TransitionForm(forms.Form):
    """One allowed transition, with the ETag the page was rendered with
    (sent as If-Match: a referral changed meanwhile is refused, not overwritten)."""

    to = forms.ChoiceField(choices=[(s, s) for s in lifecycle.STATUSES])
    if_match = forms.CharField(max_length=80)
    reason = forms.CharField(required=False, max_length=2000, strip=True, widget=forms.Textarea)
    success = forms.ChoiceField(required=False, choices=[("yes", "yes"), ("no", "no")])
    outcome_reason = forms.ChoiceField(required=False, choices=[("", ""), *[(c, c) for c in lifecycle.OUTCOME_REASONS]])

    def outcome(self):
        """The outcome the service takes (DESIGN.md 4.5), or None."""
        to = self.cleaned_data["to"]
        if to not in lifecycle.NEEDS_OUTCOME:
            return None
        success = to == lifecycle.COMPLETED and self.cleaned_data.get("success") == "yes"
        outcome = {"success": success}
        if self.cleaned_data.get("outcome_reason"):
            outcome["reason"] = self.cleaned_data["outcome_reason"]
        return outcome


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Add a note"), max_length=10000, strip=True,
        error_messages={"required": _("Enter the note")},
        widget=forms.Textarea(attrs={"rows": 5}),
    )


# Field ids on the page for each problem pointer of a service error.
def field_id(to: str, pointer: str) -> str:
    name = {"/reason": "reason", "/outcome/success": "success", "/outcome/reason": "outcome-reason"}.get(pointer, "reason")
    return f"{name}-{to}"


def transition_forms(referral: Referral, party: str, typed=None) -> list[dict]:
    """The transitions the caller's side may take now, each a form to render;
    `typed` keeps what the user entered in a form that was refused."""
    typed = typed or {}
    return [
        {
            "to": to,
            "label": TRANSITION_LABELS[to],
            "needs_reason": to in lifecycle.NEEDS_REASON,
            "needs_outcome": to in lifecycle.NEEDS_OUTCOME,
            "can_succeed": to == lifecycle.COMPLETED,
            "warning": to in (lifecycle.REJECTED, lifecycle.CANCELLED, lifecycle.FAILED),
            "typed": typed if typed.get("to") == to else {},
        }
        for to in lifecycle.allowed_next(referral.status, party)
    ]


# --- the disclosed referral, laid out ------------------------------------------------


def sections(schema: str, document, language: str) -> list[dict]:
    """A document's rows grouped for reading: its plain members first, then
    one section per top-level group (a heading and a summary list); deeper
    groups name their rows ("Safe hours (1) — Days of the week")."""
    general = {"title": None, "rows": []}
    result, current, trail = [general], general, []
    for row in document_rows(schema, document, language):
        if row.depth == 0 and row.kind == GROUP:
            current, trail = {"title": row.title, "rows": []}, []
            result.append(current)
        elif row.kind == GROUP:
            trail = [*trail[: row.depth - 1], row.title]
        elif row.depth == 0:
            general["rows"].append({"label": row.title, "row": row})
        else:
            label = " — ".join([*trail[: row.depth - 1], row.title])
            current["rows"].append({"label": label, "row": row})
    return [section for section in result if section["rows"]]


def withheld_labels(categories, language: str) -> list[str]:
    return [vocabulary_label(DATA_CATEGORIES, c, language) for c in sorted(set(categories))]


def purpose_label(code: str, language: str) -> str:
    return vocabulary_label(PURPOSES, code, language)


def referral_page(view, updates, caller, language: str, *, typed: dict) -> dict:
    """What the referral page shows of a disclosed referral (selectors.ReferralView)
    and its disclosed case updates, for `caller`'s side, in `language`;
    `typed` is what the user entered in a transition form that was refused."""
    referral = view.referral
    party = lifecycle.SENDER if referral.sender_id == caller.agency.pk else lifecycle.RECIPIENT
    transitions = transition_forms(referral, party, typed)
    return {
        "referral": referral,
        "view": view,
        "party": party,
        "counterpart": referral.recipient if party == lifecycle.SENDER else referral.sender,
        "service": vocabulary_label(REFERRAL_SERVICES, referral.service, language),
        "purpose": purpose_label(referral.purpose, language),
        "status_label": STATUS_LABELS[referral.status],
        "status_class": STATUS_TAG_CLASSES[referral.status],
        "urgency_label": URGENCY_LABELS[referral.urgency],
        "urgency_class": URGENCY_TAG_CLASSES[referral.urgency],
        "overdue": is_overdue(referral),
        "outcome_reason": OUTCOME_REASON_LABELS.get((referral.outcome or {}).get("reason")),
        "payload_sections": sections(referral.payload_schema, view.payload.document, language),
        "profile_sections": sections(referral.subject.profile_schema, view.profile.document, language),
        "withheld_payload": withheld_labels(view.withheld_categories, language),
        "withheld_profile": withheld_labels(view.profile.withheld_categories, language),
        "updates": [
            {
                "view": update,
                "sections": sections(update.update.payload_schema, update.payload.document, language),
                "withheld": withheld_labels(update.payload.withheld_categories, language),
            }
            for update in updates
        ],
        "transitions": transitions,
        # What the user typed for a step no longer allowed: shown to copy, never lost.
        "typed_orphan": typed.get("reason", "") if typed.get("to") not in {t["to"] for t in transitions} else "",
        "outcome_reasons": list(OUTCOME_REASON_LABELS.items()),
        "typed": typed,
    }

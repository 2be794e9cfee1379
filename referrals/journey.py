"""The send-referral journey (DESIGN.md 7, issue 10): GOV.UK's "question
pages, then check answers" pattern, for a caseworker or supervisor.

  who      the person: one of the agency's own register, by case reference
  person   ...or a new person: case reference and profile (subject schema),
           registered with consent_ledger.services.subject_create
  service  the service, the recipient agency, urgency, purpose, reason;
           or the agency and service found in the service directory
           (`directory`: the search bound to this journey, issue 14)
  details  the payload, a form generated from the service's JSON Schema
  check    everything typed, and per data category whether the recipient may
           receive it (the decision of referrals.services' send-time 422
           check); withhold it or record consent; send

The draft lives in the server-side session (database sessions), one per
journey id: what she typed is never in a URL, and never lost between pages.
Sending calls referrals.services.referral_create, the API's service, so
validation, the basis check, ledger entries and events are the API's; a
double submit is caught like a repeated Idempotency-Key (hub.api)."""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from agencies.directory.page_views import capacity_text
from agencies.directory.selectors import capacity_of, directory_service_for_referral
from agencies.models import Agency, DirectoryService
from agencies.selectors import agency_list
from consent_ledger.decisions import decide
from consent_ledger.models import SubjectReference
from consent_ledger.sealing import unsealed
from consent_ledger.selectors import (
    provisions_in_force,
    recipient_of,
    subject_get_owned,
    withheld_from,
)
from hub.api.models import IdempotencyRecord
from schemas.forms import SchemaForm
from schemas.registry import get_registry
from schemas.vocabularies import (
    AGENCY_KINDS,
    DATA_CATEGORIES,
    LEGAL_BASES,
    PURPOSES,
    REFERRAL_SERVICES,
    terms,
)

from .models import URGENCIES, Referral
from .pages import URGENCY_LABELS, purpose_label, sections, vocabulary_label
from .services import payload_schema_name, referral_create

WHO, PERSON, SERVICE, DETAILS, CHECK = "who", "person", "service", "details", "check"
EXISTING, NEW = "existing", "new"
SUBJECT_SCHEMA = "subject"

SESSION_DRAFTS = "referral_drafts"
MAX_DRAFTS = 5  # journeys kept open per session; the oldest goes first
# Form data that is not what she typed: never stored in the draft.
_NOT_TYPED = {"csrfmiddlewaretoken", "add", "find"}


# --- the draft in the session ----------------------------------------------------------


def draft_start(request, caller, *, subject_id=None) -> str:
    """A new draft for `caller`'s agency; returns its journey id."""
    journey = uuid.uuid4().hex
    drafts = request.session.get(SESSION_DRAFTS, {})
    while len(drafts) >= MAX_DRAFTS:
        drafts.pop(min(drafts, key=lambda key: drafts[key]["started"]))
    drafts[journey] = {
        "agency": str(caller.agency.pk),
        "started": timezone.now().isoformat(),
        "who": {"who": [EXISTING], "subject": [str(subject_id)]} if subject_id else {},
        "subject": str(subject_id) if subject_id else None,
        "registered": None,
        "person": {},
        "service": {},
        "choice": None,
        "directory_service": None,  # the service picked in the directory (its id)
        "details": {},
        "payloads": {},
        "withhold": [],
    }
    request.session[SESSION_DRAFTS] = drafts
    return journey


def draft_get(request, caller, journey: str) -> dict | None:
    """The draft, if this session holds it for the agency the user acts for now
    (a user who switched agency does not carry a draft across)."""
    draft = request.session.get(SESSION_DRAFTS, {}).get(journey)
    if draft is None or draft["agency"] != str(caller.agency.pk):
        return None
    return draft


def draft_save(request, journey: str, draft: dict) -> None:
    drafts = request.session.get(SESSION_DRAFTS, {})
    drafts[journey] = draft
    request.session[SESSION_DRAFTS] = drafts  # reassigned, so the session is saved


def draft_discard(request, journey: str) -> None:
    drafts = request.session.get(SESSION_DRAFTS, {})
    if drafts.pop(journey, None) is not None:
        request.session[SESSION_DRAFTS] = drafts


def typed(post) -> dict:
    """What she typed in a POST, to keep in the draft (JSON: lists of strings)."""
    return {key: post.getlist(key) for key in post if key not in _NOT_TYPED}


def as_data(raw: dict) -> MultiValueDict:
    return MultiValueDict({key: list(values) for key, values in raw.items()})


def next_step(draft: dict) -> str:
    """The first step still to do; CHECK when everything is answered."""
    if not draft["subject"]:
        return PERSON if draft["who"].get("who") == [NEW] else WHO
    if not draft["choice"]:
        return SERVICE
    if draft["choice"]["service"] not in draft["payloads"]:
        return DETAILS
    return CHECK


def may_open(draft: dict, step: str) -> bool:
    """A step can be opened once the steps before it are answered; the person
    step only while "a new person" is the answer to "who"."""
    if step == PERSON:
        return draft["who"].get("who") == [NEW] and not draft["subject"]
    chain = [WHO, SERVICE, DETAILS, CHECK]
    reached = next_step(draft)
    return chain.index(step) <= chain.index(WHO if reached == PERSON else reached)


def form_errors(form) -> tuple[list[dict], dict[str, str]]:
    """A checked Django form's errors: the error summary's items (linking to
    the fields, in the form's order) and each field's message."""
    by_field = {name: " ".join(form.errors[name]) for name in form.fields if name in form.errors}
    items = [{"href": "", "text": str(e)} for e in form.non_field_errors()]
    items += [{"href": f"#{form[name].id_for_label}", "text": text} for name, text in by_field.items()]
    return items, by_field


# --- step 1: who ---------------------------------------------------------------------


def own_register(agency, language: str) -> list[tuple[str, str]]:
    """The people the agency registered, newest first, by its own case
    reference and the registration date: never by name (a name on this list
    would be a disclosure to everyone who opens the page)."""
    references = (
        SubjectReference.objects.filter(agency=agency, subject__owner=agency)
        .select_related("subject")
        .order_by("-subject__created_at", "external_ref")
    )
    return [
        (str(ref.subject_id), _("%(reference)s — registered %(date)s") % {
            "reference": ref.external_ref,
            "date": date_format(timezone.localtime(ref.subject.created_at, _pages_zone()), "j E Y"),
        })
        for ref in references
    ]


def own_subject_id(agency, subject_id) -> str | None:
    """`subject_id` if the agency owns that person, else None."""
    try:
        subject_id = uuid.UUID(str(subject_id))
    except ValueError:
        return None
    owned = SubjectReference.objects.filter(agency=agency, subject__owner=agency, subject_id=subject_id).exists()
    return str(subject_id) if owned else None


def _pages_zone() -> ZoneInfo:
    return ZoneInfo(settings.PAGES_TIME_ZONE)


class WhoForm(forms.Form):
    who = forms.ChoiceField(
        choices=[(EXISTING, EXISTING), (NEW, NEW)],
        error_messages={"required": gettext_lazy("Choose who the referral is for")},
    )
    subject = forms.ChoiceField(
        required=False, error_messages={"invalid_choice": gettext_lazy("Choose a case reference from the list")},
    )

    def __init__(self, data=None, *, register: list[tuple[str, str]]):
        super().__init__(data, auto_id="%s")
        self.fields["subject"].choices = [("", ""), *register]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("who") == EXISTING and not cleaned.get("subject") and "subject" not in self.errors:
            self.add_error("subject", _("Choose the person's case reference"))
        return cleaned


# --- step 1b: a new person -------------------------------------------------------------


class PersonForm(forms.Form):
    external_ref = forms.CharField(
        max_length=128, strip=True, label=gettext_lazy("Case reference"),
        error_messages={
            "required": gettext_lazy("Enter the case reference"),
            "max_length": gettext_lazy("The case reference must be 128 characters or fewer"),
        },
    )

    def __init__(self, data=None):
        super().__init__(data, auto_id="%s")


def person_forms(data, language: str) -> tuple[PersonForm, SchemaForm]:
    return PersonForm(data), SchemaForm(SUBJECT_SCHEMA, language=language, data=data)


# --- step 2: what and to whom -------------------------------------------------------------


def urgency_hint(urgency: str) -> str:
    hours = settings.REFERRAL_ACK_HOURS[urgency]
    count = int(hours) if float(hours).is_integer() else hours
    return ngettext(
        "The agency must confirm it received the referral within %(count)s hour.",
        "The agency must confirm it received the referral within %(count)s hours.",
        count,
    ) % {"count": count}


class ServiceForm(forms.Form):
    service = forms.ChoiceField(
        label=gettext_lazy("Service"), error_messages={"required": gettext_lazy("Choose the service")},
    )
    to_agency = forms.ChoiceField(
        label=gettext_lazy("Agency to send it to"),
        error_messages={
            "required": gettext_lazy("Choose the agency to send the referral to"),
            "invalid_choice": gettext_lazy("Choose an agency from the list"),
        },
    )
    urgency = forms.ChoiceField(
        label=gettext_lazy("How urgent is it?"), choices=[(u, u) for u in URGENCIES],
        error_messages={"required": gettext_lazy("Choose how urgent the referral is")},
    )
    purpose = forms.ChoiceField(label=gettext_lazy("Purpose"), error_messages={"required": gettext_lazy("Choose the purpose")})
    reason = forms.CharField(
        label=gettext_lazy("Reason for the referral"), required=False, max_length=2000, strip=True,
        widget=forms.Textarea,
        error_messages={"max_length": gettext_lazy("The reason must be 2000 characters or fewer")},
    )

    def __init__(self, data=None, *, caller, language: str):
        super().__init__(data, auto_id="%s", initial={"purpose": "referral"})
        self.fields["service"].choices = [("", _("Choose a service")), *[
            (t.code, t.label(language)) for t in terms(REFERRAL_SERVICES)
        ]]
        self.fields["to_agency"].choices = [("", _("Choose an agency")), *recipient_choices(caller, language)]
        self.fields["purpose"].choices = [(t.code, t.label(language)) for t in terms(PURPOSES)]

    def choice(self) -> dict:
        return {key: self.cleaned_data[key] for key in ("service", "to_agency", "urgency", "purpose", "reason")}


def recipient_choices(caller, language: str) -> list[tuple[str, str]]:
    """Active agencies other than the caller's (the API's `agencies/` list),
    by name and kind."""
    agencies = agency_list().exclude(pk=caller.agency.pk).order_by("name")
    return [
        (str(agency.pk), f"{agency.name} ({vocabulary_label(AGENCY_KINDS, agency.kind, language)})")
        for agency in agencies
    ]


# --- step 2, from the service directory ----------------------------------------------------


def directory_pick(draft: dict, service: DirectoryService) -> None:
    """The service chosen in the directory answers the service step's "which
    service" and "which agency"; the other answers stay as typed, and the
    step is to be confirmed again (the choice is not complete until then)."""
    draft["service"] = {**draft["service"], "service": [service.service], "to_agency": [str(service.agency_id)]}
    draft["directory_service"] = str(service.pk)
    draft["choice"] = None


def picked_service(draft: dict, service: str | None, to_agency: str | None) -> DirectoryService | None:
    """The directory service picked in this journey, if it still is the
    recipient's active service of this code (another answer on the service
    step drops the pick)."""
    picked = draft.get("directory_service")
    if not picked or not service or not to_agency:
        return None
    try:
        uuid.UUID(str(to_agency))
    except ValueError:
        return None
    return directory_service_for_referral(picked, recipient_id=to_agency, service=service)


def directory_summary(service: DirectoryService | None) -> dict | None:
    """What the journey's pages say of the picked service: its name and free
    places (organisation data, no person's)."""
    if service is None:
        return None
    capacity = capacity_of(service)
    return {"name": service.name, "capacity": capacity,
            "capacity_text": capacity_text(capacity.free, capacity.total) if capacity else ""}


def directory_query(draft: dict, agency) -> dict:
    """The directory search the service step opens: the service typed, near the agency."""
    service = (draft["service"].get("service") or [""])[0]
    query = {"teryt": agency.teryt or ""}
    if service in {t.code for t in terms(REFERRAL_SERVICES)}:
        query["service"] = service
    return query


def urgency_options(selected: str | None) -> list[dict]:
    return [
        {"value": u, "label": URGENCY_LABELS[u], "hint": urgency_hint(u), "checked": u == selected,
         "id": "urgency" if index == 0 else f"urgency-{index + 1}"}
        for index, u in enumerate(URGENCIES)
    ]


# --- step 3: details -------------------------------------------------------------------


def service_label(service: str, language: str) -> str:
    return vocabulary_label(REFERRAL_SERVICES, service, language)


def details_form(draft: dict, language: str, data=None) -> SchemaForm:
    service = draft["choice"]["service"]
    if data is None:
        data = as_data(draft["details"].get(service, {}))
    return SchemaForm(payload_schema_name(service), language=language, data=data)


# --- step 4: check answers -------------------------------------------------------------


@dataclass(frozen=True)
class CategoryCheck:
    """One data category of what would be sent, and what the recipient may do with it."""

    code: str
    label: str
    sources: tuple[str, ...]  # where it is: the person's profile, the details, the reason
    permitted: bool
    basis: str  # the basis's label, when permitted
    since: datetime | None  # when that basis took effect
    withheld_earlier: bool  # withheld from this recipient before: it will not be received anyway


def categories_present(subject, service: str, payload: dict, reason: str) -> dict[str, list[str]]:
    """category -> where it is. The profile's categories are read from the
    stored profile (codes only, as referral_create's check reads them)."""
    registry = get_registry()
    found: dict[str, list[str]] = {}
    parts = [
        (_("The person's profile"), registry.categories_present(subject.profile_schema, unsealed(subject.profile))),
        (_("Details of the referral"), registry.categories_present(payload_schema_name(service), payload)),
        (_("Reason for the referral"), {"case_notes"} if reason else set()),
    ]
    for label, categories in parts:
        for category in categories:
            found.setdefault(category, []).append(label)
    return found


def basis_check(caller, draft: dict, language: str) -> list[CategoryCheck]:
    """Per category that would be sent, whether the recipient may receive it
    for the purpose: the same decision (consent_ledger.decisions.decide, on
    the provisions in force now) that referral_create's 422 check takes."""
    subject = subject_get_owned(draft["subject"], caller)
    choice = draft["choice"]
    recipient = Agency.objects.get(pk=choice["to_agency"])
    present = categories_present(subject, choice["service"], draft["payloads"][choice["service"]], choice["reason"])
    now = timezone.now()
    provisions = provisions_in_force(subject.id, now)
    decision = decide(provisions, recipient_of(recipient, provisions), present, choice["purpose"], now)
    since = {str(p.granted_entry_id): p.valid_from for p in provisions}
    earlier = withheld_from(subject.id, recipient.id)
    order = [t.code for t in terms(DATA_CATEGORIES)]
    return [
        CategoryCheck(
            code=code, label=vocabulary_label(DATA_CATEGORIES, code, language), sources=tuple(present[code]),
            permitted=decision.by_category[code].permitted,
            basis=vocabulary_label(LEGAL_BASES, decision.by_category[code].basis or "", language),
            since=since.get(decision.by_category[code].entry_id),
            withheld_earlier=code in earlier,
        )
        for code in sorted(present, key=order.index)
    ]


def consent_link(subject_id, recipient_id, purpose: str, categories, back: str) -> str:
    """The consent-recording page for exactly what is missing, coming back here."""
    try:
        path = reverse("subject-consent-new", args=[subject_id])
    except NoReverseMatch:  # the consent pages are built alongside this journey
        path = f"/app/subjects/{subject_id}/consents/new"
    query = [("agency", str(recipient_id)), ("purpose", purpose), *[("category", c) for c in categories], ("next", back)]
    return f"{path}?{urlencode(query)}"


def check_page(caller, draft: dict, journey: str, language: str) -> dict:
    """Everything the check-answers page shows. Person data on it is what she
    typed in this journey (a new person's profile); a person chosen from the
    register is shown by case reference only: showing the stored profile
    would be a read of person data."""
    choice = draft["choice"]
    service = choice["service"]
    recipient = Agency.objects.get(pk=choice["to_agency"])
    checks = basis_check(caller, draft, language)
    denied = [c.code for c in checks if not c.permitted]
    back = reverse("referral-new-check", args=[journey])
    registered = draft["registered"] if (draft["registered"] or {}).get("subject") == draft["subject"] else None
    return {
        "reference": case_reference(caller.agency, draft["subject"]),
        "registered": registered,
        "profile_sections": sections(SUBJECT_SCHEMA, registered["profile"], language) if registered else [],
        "service": service_label(service, language),
        "recipient": recipient,
        "recipient_kind": vocabulary_label(AGENCY_KINDS, recipient.kind, language),
        "directory": directory_summary(picked_service(draft, service, choice["to_agency"])),
        "urgency": URGENCY_LABELS[choice["urgency"]],
        "purpose": purpose_label(choice["purpose"], language),
        "reason": choice["reason"],
        "payload_sections": sections(payload_schema_name(service), draft["payloads"][service], language),
        "checks": checks,
        "denied": [c for c in checks if not c.permitted],
        "withhold": draft["withhold"],
        "consent_url": consent_link(draft["subject"], recipient.pk, choice["purpose"], denied, back) if denied else "",
    }


def case_reference(agency, subject_id) -> str:
    return (
        SubjectReference.objects.filter(agency=agency, subject_id=subject_id).values_list("external_ref", flat=True).first()
        or ""
    )


def withhold_choice(post, checks: list[CategoryCheck]) -> list[str]:
    """The categories ticked to withhold, among those offered."""
    offered = {c.code for c in checks}
    return sorted(code for code in post.getlist("withhold") if code in offered)


def uncovered_errors(exc, language: str, agency_name: str) -> list[dict]:
    """referral_create's 422 for data without a basis, as error-summary items
    naming each category (the same categories the API's problem lists)."""
    categories = sorted({c for error in exc.errors for c in error.get("categories", [])})
    return [
        {
            "href": f"#withhold-{code}",
            "text": _("%(agency)s has no basis to receive “%(category)s”: withhold it, or record the person's consent")
            % {"agency": agency_name, "category": vocabulary_label(DATA_CATEGORIES, code, language)},
            "category": code,
        }
        for code in categories
    ]


# --- step 5: send ------------------------------------------------------------------------


def _idempotency(user, journey: str) -> tuple[str, str]:
    # The API's record of a creating request, keyed for pages by the user and
    # the journey: one journey sends at most one referral.
    return f"page:user:{user.pk}", f"referral-journey:{journey}"


def sent_referral_id(user, journey: str) -> str | None:
    """The referral this journey already sent, if it did."""
    client, key = _idempotency(user, journey)
    record = IdempotencyRecord.objects.filter(client=client, key=key, status_code=201).first()
    return (record.response_body or {}).get("id") if record else None


def draft_send(*, caller, journey: str, draft: dict, path: str) -> tuple[Referral, bool]:
    """Send the draft with referral_create (raising what it raises: a 422
    for data without a basis). Returns (referral, created): a second submit
    of the same journey (a double click) finds the first referral instead of
    sending another. The claim on the journey and the referral commit
    together, so a refused send leaves nothing claimed."""
    client, key = _idempotency(caller.user, journey)
    choice = draft["choice"]
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    client=client, key=key, method="POST", path=path,
                    fingerprint=hashlib.sha256(key.encode()).hexdigest(),
                )
        except IntegrityError:
            return Referral.objects.get(pk=sent_referral_id(caller.user, journey)), False
        referral = referral_create(
            caller=caller, subject_id=draft["subject"], to_agency_id=choice["to_agency"], service=choice["service"],
            urgency=choice["urgency"], purpose=choice["purpose"], payload=draft["payloads"][choice["service"]],
            reason=choice["reason"], withhold_categories=draft["withhold"],
            directory_service_id=draft.get("directory_service") or None,
        )
        record.status_code, record.response_body = 201, {"id": str(referral.id)}
        record.save(update_fields=["status_code", "response_body"])
    return referral, True


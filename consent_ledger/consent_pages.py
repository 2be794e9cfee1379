"""Recording and revoking consent on the staff pages (DESIGN.md 4.2, 7).

Recording has three steps, each a page: (1) the terms — recipients,
categories, purposes, validity, form and grantor; (2) the printable consent
form in plain words (seed 000: in writing, what is shared, with whom, when,
for what purpose, revocable at any time); (3) the evidence — the sha256 of
the signed form's scan, computed here from the upload (the file is not
kept) or typed — and consent_grant, the service the API's
`POST subjects/{id}/consents/` calls. The terms travel between the steps in
the query string or hidden fields: ids, codes and dates only, never person
data. Revoking calls consent_revoke like `POST consents/{id}/revoke`."""

import hashlib
import re
from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.http import QueryDict
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from agencies.callers import Caller
from agencies.models import Agency
from agencies.selectors import team_list_for_agency
from hub.api.errors import NotFoundError, ValidationFailed
from schemas.vocabularies import AGENCY_KINDS, DATA_CATEGORIES, PURPOSES, terms

from .models import Provision, ProvisionKind, Subject
from .pages import FORM_LABELS, GRANTOR_LABELS, label, labels
from .services import FORMS, GRANTORS, Terms

# Short plain explanations beside each category and purpose, on the page and
# on the printout (worded to read well in both: no "you", no "the person").
CATEGORY_HINTS = {
    "identity": _("Name, date of birth, PESEL number"),
    "contact": _("Phone number, e-mail, address"),
    "safe_contact": _("How and when it is safe to get in touch, and the agreed code word"),
    "demographics": _("Languages spoken, need for an interpreter, gender"),
    "health": _("Illnesses, treatment, disability"),
    "mental_health": _("Diagnoses, psychiatric treatment, therapy"),
    "substance_use": _("Alcohol, drugs or other substances"),
    "migration_status": _("Right of residence, visas, residence cards"),
    "legal_proceedings": _("Court cases and other proceedings"),
    "case_notes": _("Notes on the situation and the help needed"),
    "risk": _("Assessment of the danger, for example of further violence"),
    "children": _("Children: their names, ages, school and care"),
    "employment": _("Jobs held, looking for work, placements"),
    "education": _("Education and training"),
    "finances": _("Income, benefits and debts"),
    "perpetrator": _("The person who used violence or caused harm"),
    "location": _("Where one is staying now"),
}
PURPOSE_HINTS = {
    "referral": _("Sending to another agency for help"),
    "case_coordination": _("Agreeing between the agencies that help who does what"),
    "team_plan": _("Preparing and carrying out a support plan with an interdisciplinary team"),
    "employment_placement": _("Arranging a work placement with an employer"),
    "law_enforcement": _("The police or a prosecutor pursuing a crime"),
    "emergency": _("Protecting life or health when there is no time to ask"),
    "statistics": _("Counting cases for reports"),
}
FORM_HINTS = {
    "written": _("The person signs the printed form; you then upload its scan or photo"),
    "electronic": _("For example, a document signed with a trusted profile or a qualified electronic signature"),
    "verbal_witnessed": _("The person cannot sign; a witness signs a statement that the consent was given"),
}
GRANTOR_HINTS = {
    "legal_guardian": _("For a child, or for an adult who cannot decide for themselves by law"),
    "court": _("A court decided that the data may be shared"),
}
# A scan or a phone photo of one signed page is a few megabytes.
MAX_SCAN_BYTES = 25 * 1024 * 1024
# Room for the form's other fields and the multipart boundaries.
MULTIPART_ALLOWANCE = 16 * 1024
CONSENT_YEARS = 1
# A consent is asked for again after this long at most (a term the person can
# still oversee); the form's default is a year.
MAX_YEARS = 5
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
DATE_PARTS = ("day", "month", "year")
DATE_FIELDS = ("valid_from", "valid_until")
DATE_MISSING = {
    "valid_from": _("Enter the date the consent starts"),
    "valid_until": _("Enter the last day of the consent"),
}
DATE_UNREAL = {
    "valid_from": _("The start date must be a real date, for example 1 12 2026"),
    "valid_until": _("The end date must be a real date, for example 30 11 2027"),
}
LIST_FIELDS = ("agency", "agency_kind", "team", "category", "purpose")


def safe_next(value: str | None, request) -> str:
    """`value` if it is a path of this site under /app/, else ''. Used for the
    page to return to after recording (the send-referral journey)."""
    if not value or not value.startswith("/app/") or "\\" in value or any(ord(c) < 32 for c in value):
        return ""
    if ".." in urlsplit(value).path.split("/"):  # /app/../admin/ leaves /app/
        return ""
    if not url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return ""
    return value


def scan_limit_bytes() -> int:
    """The largest scan the page can take. Every request body is capped
    before any view runs (hub.api.limits.BodySizeLimitMiddleware, at
    API_MAX_BODY_BYTES), so the page promises no more than that cap allows;
    PAGES_MAX_UPLOAD_BYTES, if the settings define it for page uploads,
    takes its place."""
    cap = getattr(settings, "PAGES_MAX_UPLOAD_BYTES", settings.API_MAX_BODY_BYTES)
    return max(0, min(MAX_SCAN_BYTES, cap - MULTIPART_ALLOWANCE))


def years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _day_start(day: date) -> datetime:
    """Midnight starting `day` in the pages' time zone (active during a request)."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


class ConsentTermsForm(forms.Form):
    """What the consent covers. Bound to the step-1 POST, to the query string
    of steps 2 and 3, or to step 3's hidden fields: one encoding throughout.
    Unbound, it is prefilled from the query string (the send-referral journey
    links here with ?agency=&purpose=&category=&next=)."""

    agency = forms.MultipleChoiceField(required=False)
    agency_kind = forms.MultipleChoiceField(required=False)
    team = forms.MultipleChoiceField(required=False)
    category = forms.MultipleChoiceField(error_messages={"required": _("Choose at least one kind of data")})
    purpose = forms.MultipleChoiceField(error_messages={"required": _("Choose at least one purpose")})
    form = forms.ChoiceField(
        choices=[(f, FORM_LABELS[f]) for f in FORMS], error_messages={"required": _("Choose how the person gives consent")}
    )
    grantor = forms.ChoiceField(
        choices=[(g, GRANTOR_LABELS[g]) for g in GRANTORS], error_messages={"required": _("Choose who gives consent")}
    )
    next = forms.CharField(required=False, max_length=2000)

    def __init__(self, data=None, *, caller: Caller, request, language: str, prefill: QueryDict | None = None):
        super().__init__(data)
        self.request, self.language = request, language
        self.agencies = list(Agency.objects.filter(active=True).exclude(pk=caller.agency.pk).order_by("name", "pk"))
        self.teams = list(team_list_for_agency(caller.agency).order_by("name", "pk"))
        self.fields["agency"].choices = [(str(a.pk), a.name) for a in self.agencies]
        self.fields["agency_kind"].choices = [(t.code, t.label(language)) for t in terms(AGENCY_KINDS)]
        self.fields["team"].choices = [(str(t.pk), t.name) for t in self.teams]
        self.fields["category"].choices = [(t.code, t.label(language)) for t in terms(DATA_CATEGORIES)]
        self.fields["purpose"].choices = [(t.code, t.label(language)) for t in terms(PURPOSES)]
        self.typed = self._typed(data if data is not None else self._prefill(prefill or QueryDict()))
        # Filled by clean(): the problems Django's field errors do not cover.
        self.recipients_missing, self.date_errors = False, {}

    # --- what the page shows in each field (typed, prefilled or default) ---

    def _prefill(self, query: QueryDict) -> dict:
        """The defaults (from today for a year, in writing, by the person),
        overridden by valid values of the query string; unknown values are dropped."""
        today = timezone.localdate()
        until = years_later(today, CONSENT_YEARS)
        values = {
            "form": "written", "grantor": "subject",
            **{f"valid_from-{p}": str(getattr(today, p)) for p in DATE_PARTS},
            **{f"valid_until-{p}": str(getattr(until, p)) for p in DATE_PARTS},
        }
        for name in LIST_FIELDS:
            known = {code for code, _label in self.fields[name].choices}
            values[name] = [v for v in query.getlist(name) if v in known]
        for name in ("form", "grantor"):
            if query.get(name) in dict(self.fields[name].choices):
                values[name] = query[name]
        for name in DATE_FIELDS:
            for part in DATE_PARTS:
                if query.get(f"{name}-{part}"):
                    values[f"{name}-{part}"] = query[f"{name}-{part}"][:4]
        values["next"] = query.get("next") or ""
        return values

    def _typed(self, source) -> dict:
        get_list = source.getlist if hasattr(source, "getlist") else (lambda n: source.get(n) or [])
        typed = {name: list(get_list(name)) for name in LIST_FIELDS}
        for name in ("form", "grantor"):
            typed[name] = source.get(name) or ""
        typed["next"] = safe_next(source.get("next"), self.request)  # an unsafe one is dropped at once
        for name in DATE_FIELDS:
            for part in DATE_PARTS:
                typed[f"{name}-{part}"] = (source.get(f"{name}-{part}") or "").strip()[:4]
        return typed

    def options(self, name: str, hints: dict | None = None) -> list[dict]:
        """Checkboxes or radios of field `name`: value, label, hint, checked, id
        (the first item's id is the field's, as GOV.UK's error summary links to it)."""
        chosen = self.typed[name] if isinstance(self.typed[name], list) else [self.typed[name]]
        return [
            {"value": value, "label": text, "hint": (hints or {}).get(value, ""), "checked": value in chosen,
             "id": name if index == 0 else f"{name}-{index + 1}"}
            for index, (value, text) in enumerate(self.fields[name].choices)
        ]

    def layout(self) -> dict:
        """Every checkbox and radio group of the page, ready to render."""
        return {
            "agency": self.options("agency"),
            "agency_kind": self.options("agency_kind"),
            "team": self.options("team"),
            "category": self.options("category", CATEGORY_HINTS),
            "purpose": self.options("purpose", PURPOSE_HINTS),
            "form": self.options("form", FORM_HINTS),
            "grantor": self.options("grantor", GRANTOR_HINTS),
            "other_recipients_chosen": bool(self.typed["agency_kind"] or self.typed["team"]),
        }

    # --- validation ---

    def clean(self):
        data = super().clean()
        self.recipients_missing = not (data.get("agency") or data.get("agency_kind") or data.get("team"))
        data["valid_from"] = self._date("valid_from")
        data["valid_until"] = self._date("valid_until")
        today = timezone.localdate()
        start, end = data["valid_from"], data["valid_until"]
        if start and start < today:
            self.date_errors["valid_from"] = gettext("The consent cannot start before today")
        if start and end and end <= start:
            self.date_errors["valid_until"] = gettext("The end date must be after the start date")
        elif start and end and end > years_later(start, MAX_YEARS):
            self.date_errors["valid_until"] = gettext(
                "A consent can last at most %(years)s years: ask the person again after that"
            ) % {"years": MAX_YEARS}
        data["next"] = safe_next(data.get("next"), self.request)
        if self.recipients_missing or self.date_errors:
            # The messages are in error_items(), each linked to its field.
            raise forms.ValidationError("", code="terms")
        return data

    def _date(self, name: str) -> date | None:
        parts = [self.typed[f"{name}-{p}"] for p in DATE_PARTS]
        if not any(parts):
            self.date_errors[name] = str(DATE_MISSING[name])
            return None
        try:
            day, month, year = (int(p) for p in parts)
            if not 1000 <= year <= 3000:  # a typo, and beyond what dates can add years to
                raise ValueError
            return date(year, month, day)
        except ValueError:
            self.date_errors[name] = str(DATE_UNREAL[name])
            return None

    # --- what the valid form means ---

    def service_terms(self) -> Terms:
        """The terms as consent_grant takes them. Starting today means from
        now (a consent is never back-dated to midnight); a later start is that
        day's midnight; the end is the midnight after the last day."""
        data = self.cleaned_data
        start = data["valid_from"]
        return Terms(
            categories=data["category"], purposes=data["purpose"], agencies=data["agency"],
            agency_kinds=data["agency_kind"], teams=data["team"],
            valid_from=None if start == timezone.localdate() else _day_start(start),
            valid_until=_day_start(data["valid_until"] + timedelta(days=1)),
        )

    def query_string(self) -> str:
        """The valid terms as steps 2 and 3 read them."""
        query = QueryDict(mutable=True)
        for name in LIST_FIELDS:
            query.setlist(name, self.cleaned_data[name])
        for name in ("form", "grantor"):
            query[name] = self.cleaned_data[name]
        for name in DATE_FIELDS:
            for part in DATE_PARTS:
                query[f"{name}-{part}"] = str(getattr(self.cleaned_data[name], part))
        if self.cleaned_data["next"]:
            query["next"] = self.cleaned_data["next"]
        return query.urlencode()

    def hidden_fields(self) -> list[tuple[str, str]]:
        query = QueryDict(self.query_string())
        return [(name, value) for name in query for value in query.getlist(name)]

    def error_items(self) -> list[dict]:
        """The GOV.UK error summary: each problem linking to its field."""
        first_recipient = "agency" if self.agencies else "agency_kind"
        items = []
        if self.recipients_missing:
            items.append({"href": f"#{first_recipient}", "text": _("Choose at least one recipient")})
        for name in ("category", "purpose", "form", "grantor"):
            items += [{"href": f"#{name}", "text": e} for e in self.errors.get(name, [])]
        items += [{"href": f"#{name}-day", "text": text} for name, text in self.date_errors.items()]
        return items

    def field_errors(self) -> dict:
        """The message shown beside each field (and group) with a problem."""
        errors = {name: self.errors[name][0] for name in ("category", "purpose", "form", "grantor") if name in self.errors}
        if self.recipients_missing:
            errors["recipients"] = _("Choose at least one recipient")
        errors.update(self.date_errors)
        return errors

    def date_values(self) -> dict:
        return {name: {part: self.typed[f"{name}-{part}"] for part in DATE_PARTS} for name in DATE_FIELDS}

    def describe(self) -> dict:
        """The valid terms in words, for the printout and the check page."""
        data, language = self.cleaned_data, self.language
        agencies = {str(a.pk): a.name for a in self.agencies}
        teams = {str(t.pk): t.name for t in self.teams}
        return {
            "agencies": [agencies[a] for a in data["agency"]],
            "teams": [teams[t] for t in data["team"]],
            "kinds": labels(AGENCY_KINDS, data["agency_kind"], language),
            "categories": [{"label": label(DATA_CATEGORIES, c, language), "hint": CATEGORY_HINTS[c]}
                           for c in data["category"]],
            "purposes": [{"label": label(PURPOSES, p, language), "hint": PURPOSE_HINTS[p]} for p in data["purpose"]],
            "valid_from": data["valid_from"],
            "valid_until": data["valid_until"],
            "form": data["form"],
            "form_label": FORM_LABELS[data["form"]],
            "grantor": data["grantor"],
            "grantor_label": GRANTOR_LABELS[data["grantor"]],
        }


class EvidenceForm(forms.Form):
    """Step 3: the signed form's scan (hashed here, not kept) or its sha256,
    and the worker's confirmation. A written consent needs one of the two,
    as consent_grant requires; for a spoken consent the witness's signed
    statement is the evidence, and like an electronic one it is optional."""

    scan = forms.FileField(required=False)
    evidence_sha256 = forms.CharField(required=False, max_length=100, strip=True)
    confirmed = forms.BooleanField(error_messages={"required": _("Confirm that the consent was given")})

    def __init__(self, *args, consent_form: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.consent_form = consent_form

    def clean_scan(self):
        scan = self.cleaned_data.get("scan")
        if scan is None:
            return None
        if scan.size == 0:
            raise forms.ValidationError(_("The file is empty. Choose the scan or photo again"))
        if scan.size > scan_limit_bytes():
            raise forms.ValidationError(
                _("The file is too large: it may be at most %(size)s"), params={"size": filesizeformat(scan_limit_bytes())}
            )
        digest = hashlib.sha256()
        for chunk in scan.chunks():
            digest.update(chunk)
        return digest.hexdigest()

    def clean_evidence_sha256(self):
        typed = re.sub(r"\s+", "", self.cleaned_data.get("evidence_sha256", "")).lower()
        if typed and not _SHA256.match(typed):
            raise forms.ValidationError(_("Enter the sha256 as 64 characters, digits 0-9 and letters a-f"))
        return typed

    def clean(self):
        data = super().clean()
        scanned, typed = data.get("scan"), data.get("evidence_sha256")
        if "scan" in self.errors or "evidence_sha256" in self.errors:
            return data
        if scanned and typed and scanned != typed:
            self.add_error("evidence_sha256", _("This sha256 is not the one of the uploaded file. Remove one of them"))
        elif self.consent_form == "written" and not (scanned or typed):
            self.add_error("scan", _("Upload the scan or photo of the signed form, or enter its sha256"))
        return data

    def sha256(self) -> str:
        return self.cleaned_data.get("scan") or self.cleaned_data.get("evidence_sha256") or ""

    def error_items(self) -> list[dict]:
        ids = {"scan": "scan", "evidence_sha256": "evidence-sha256", "confirmed": "confirmed"}
        return [{"href": f"#{ids[name]}", "text": e} for name in ids for e in self.errors.get(name, [])]


def service_error_items(exc: ValidationFailed) -> list[dict]:
    """consent_grant's refusal (e.g. an agency closed meanwhile) in words."""
    by_pointer = {
        "/recipients": _("Choose at least one recipient"),
        "/valid_until": _("The end date must be after the start date and in the future"),
        "/evidence_sha256": _("Enter the sha256 as 64 characters, digits 0-9 and letters a-f"),
    }
    items = []
    for error in exc.errors:
        pointer = error.get("pointer", "")
        text = by_pointer.get(pointer) or (
            _("One of the chosen agencies or teams can no longer receive data. Change the recipients")
            if pointer.startswith("/recipients/") else error.get("detail", "")
        )
        items.append({"href": "", "text": text})
    return items or [{"href": "", "text": exc.detail}]


# --- Revoking ---------------------------------------------------------------------------


ERASURE_REASON_LABELS = {
    "subject_request": _("The person asked for her data to be erased (GDPR art. 17)"),
    "consent_withdrawn": _("She withdrew her consent and no other basis remains"),
    "unlawful_processing": _("The data was processed unlawfully"),
    "legal_obligation": _("A court or the law orders the erasure"),
    "retention_expired": _("The retention period of every record has passed"),
}


class ErasureForm(forms.Form):
    reason = forms.ChoiceField(
        choices=list(ERASURE_REASON_LABELS.items()), widget=forms.RadioSelect,
        error_messages={"required": _("Choose why the data is erased"),
                        "invalid_choice": _("Choose why the data is erased")},
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(
        max_length=2000, strip=True, widget=forms.Textarea,
        error_messages={"required": _("Say why the consent is revoked"),
                        "max_length": _("The reason must be 2000 characters or fewer")},
    )


def consent_for_revoking(caller: Caller, subject: Subject, provision_id) -> Provision:
    """A consent about the person recorded under the caller's agency as owner
    (the provisions consent_revoke may end); NotFoundError otherwise."""
    provision = Provision.objects.filter(
        pk=provision_id, subject=subject, subject__owner=caller.agency, kind=ProvisionKind.CONSENT
    ).first()
    if provision is None:
        raise NotFoundError("No such consent.")
    return provision


def notified_agencies(provision: Provision) -> list[str]:
    """The agencies told of the revocation (revocation notices), by name."""
    return list(provision.notices.select_related("agency").order_by("agency__name").values_list("agency__name", flat=True))

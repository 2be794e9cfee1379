"""What the person pages under /app/subjects/ show (DESIGN.md 7): the agency's
register of the persons it owns, the person page (disclosed profile, consent
state, accounting of disclosures, referrals) and the labels they use. The
consent forms are in consent_ledger/consent_pages.py; the views in
subject_views.py stay thin.

Person data (the profile) reaches a page only through the disclosure choke
point, with the page's purpose (consent_ledger.disclosure). Everything else
here is metadata: ids, codes, dates, agency and team names, case references.
The pages are the composition layer, so they may read referrals' metadata
(referrals depends on this app, never the other way round at import time)."""

import uuid
from dataclasses import dataclass
from datetime import date, time, timedelta

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from agencies.callers import Caller
from agencies.models import Agency, Team
from referrals.pages import (
    STATUS_LABELS,
    STATUS_TAG_CLASSES,
    sections,
    vocabulary_label,
    withheld_labels,
)
from referrals.selectors import referral_list_for_agency
from schemas.vocabularies import (
    AGENCY_KINDS,
    DATA_CATEGORIES,
    LEGAL_BASES,
    PURPOSES,
    REFERRAL_SERVICES,
    codes,
)

from .accounting import accounting_rows
from .decisions import decide_category, names_recipient
from .disclosure import disclose
from .models import Provision, ProvisionKind, Subject, SubjectReference
from .selectors import (
    provisions_in_force,
    recipient_of,
    subject_get_for_caller,
    subject_get_owned,
)

# Who sees the pages: caseworkers and supervisors work with the person; the
# DPO reads the consent state and the accounting (never the profile: she
# answers for the records, not for the case).
SUBJECT_ROLES = ("caseworker", "supervisor", "dpo")
CONSENT_ROLES = ("caseworker", "supervisor")
READ_ONLY_ROLES = ("dpo",)
# The owner's own view of its person (the API's default for the owner).
OWNER_PURPOSE = "case_coordination"
ACCOUNTING_PAGE_SIZE = 10
REFERRALS_SHOWN = 20

KIND_LABELS = {
    ProvisionKind.CONSENT: pgettext_lazy("provision", "Consent"),
    ProvisionKind.REFUSAL: pgettext_lazy("provision", "Refusal"),
    ProvisionKind.LEGAL_BASIS: pgettext_lazy("provision", "Legal basis"),
    ProvisionKind.EMERGENCY: pgettext_lazy("provision", "Emergency disclosure"),
}
KIND_TAG_CLASSES = {
    ProvisionKind.CONSENT: "govuk-tag--green",
    ProvisionKind.REFUSAL: "govuk-tag--red",
    ProvisionKind.LEGAL_BASIS: "govuk-tag--blue",
    ProvisionKind.EMERGENCY: "govuk-tag--orange",
}
FORM_LABELS = {
    "written": _("In writing, signed on paper"),
    "electronic": _("Electronically"),
    "verbal_witnessed": _("Spoken, before a witness"),
}
GRANTOR_LABELS = {
    "subject": _("The person the data is about"),
    "legal_guardian": _("A legal guardian or other legal representative"),
    "court": _("A court"),
}


def label(vocabulary: str, code: str, language: str) -> str:
    return vocabulary_label(vocabulary, code, language)


def labels(vocabulary: str, values, language: str) -> list[str]:
    return [label(vocabulary, code, language) for code in values]


# --- The register ---------------------------------------------------------------------


def subject_register(agency: Agency, *, ref: str = "") -> QuerySet[Subject]:
    """The persons `agency` owns, newest first: id, registration time, the
    agency's case reference and how many referrals about each the agency is a
    party to. Never the profile."""
    references = SubjectReference.objects.filter(subject=OuterRef("pk"), agency=agency).values("external_ref")[:1]
    subjects = (
        Subject.objects.filter(owner=agency)
        .only("id", "created_at")
        .annotate(
            external_ref=Subquery(references),
            referral_count=Count(
                "referrals", filter=Q(referrals__sender=agency) | Q(referrals__recipient=agency), distinct=True
            ),
        )
        .order_by("-created_at", "pk")
    )
    if ref:
        matching = SubjectReference.objects.filter(agency=agency, external_ref__icontains=ref).values("subject_id")
        subjects = subjects.filter(pk__in=matching)
    return subjects


def own_reference(subject: Subject, agency: Agency) -> str:
    """The caller's own case reference for the person ('' when it has none):
    another agency's reference is not the caller's to see."""
    return (
        SubjectReference.objects.filter(subject=subject, agency=agency).values_list("external_ref", flat=True).first()
        or ""
    )


# --- Which person, and why the page reads her data -----------------------------------------


def subject_for_page(caller: Caller, role: str, subject_id) -> Subject:
    """The person if the caller's agency may see her: the owner, or (not for
    the DPO) an agency with a basis, exactly as the API's subject read
    decides. NotFoundError otherwise (a 404 page)."""
    if role in READ_ONLY_ROLES:
        return subject_get_owned(subject_id, caller)
    return subject_get_for_caller(subject_id, caller)


def purposes_with_basis(subject: Subject, caller: Caller) -> list[str]:
    """The purposes for which some category about the person is actually
    permitted to the caller's agency now (as decisions.has_any_basis counts
    them), in vocabulary order."""
    now = timezone.now()
    provisions = provisions_in_force(subject.id, now)
    recipient = recipient_of(caller.agency)
    found = {
        purpose
        for p in provisions
        if p.kind != ProvisionKind.REFUSAL and p.is_active(now) and names_recipient(p, recipient)
        for purpose in p.purposes
        if any(decide_category(provisions, recipient, c, purpose, now).permitted for c in p.categories)
    }
    return [code for code in codes(PURPOSES) if code in found]


def page_purpose(subject: Subject, caller: Caller, requested: str | None, referrals) -> tuple[str, list[str]]:
    """The purpose the page reads the profile for, and the ones the user may
    choose from. The owner reads for case coordination. Another agency
    reads for a purpose it has a basis for: the one asked for, else that of
    its latest referral about the person, else the first it has."""
    if subject.owner_id == caller.agency.id:
        return OWNER_PURPOSE, []
    allowed = purposes_with_basis(subject, caller)
    if requested in allowed:
        return requested, allowed
    latest = next((r.purpose for r in referrals if r.purpose in allowed), None)
    return latest or (allowed[0] if allowed else OWNER_PURPOSE), allowed


def disclosed_profile(subject: Subject, caller: Caller, purpose: str, language: str) -> dict:
    """The profile through the choke point (one `disclosure` entry with the
    page's purpose; none when the owner reads what it supplied itself, which
    is not a disclosure, DESIGN.md 4.3), laid out under the schema's titles."""
    disclosed = disclose(
        subject=subject, caller=caller, purpose=purpose, document=subject.profile, schema=subject.profile_schema
    )
    return {
        "sections": sections(subject.profile_schema, disclosed.document, language),
        "withheld": withheld_labels(disclosed.withheld_categories, language),
    }


def profile_context(subject: Subject, caller: Caller, requested: str | None, referrals, language: str) -> dict:
    """The profile as the page shows it, with the purpose it was read for
    and the purposes the user may switch to (another agency only)."""
    purpose, purposes = page_purpose(subject, caller, requested, referrals)
    return {
        "purpose": purpose,
        "purpose_label": label(PURPOSES, purpose, language),
        "purpose_choices": [(p, label(PURPOSES, p, language)) for p in purposes],
        "profile": disclosed_profile(subject, caller, purpose, language),
    }


# --- Consent state ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProvisionRow:
    provision: Provision
    kind_label: str
    kind_class: str
    basis: str
    recipients: list[str]
    categories: list[str]
    purposes: list[str]
    form: str
    grantor: str
    upcoming: bool  # recorded, but its validity has not started yet
    revocable: bool
    last_day: date | None  # when it ends at a local midnight: the day before, inclusive


def _recipient_names(provisions) -> dict[str, str]:
    agency_ids = {a for p in provisions for a in p.recipient_agencies}
    team_ids = {t for p in provisions for t in p.recipient_teams}
    names = {str(pk): name for pk, name in Agency.objects.filter(pk__in=_uuids(agency_ids)).values_list("pk", "name")}
    teams = Team.objects.filter(pk__in=_uuids(team_ids)).values_list("pk", "name")
    names.update({str(pk): str(_("Team: %(name)s") % {"name": name}) for pk, name in teams})
    return names


def _uuids(values) -> list[uuid.UUID]:
    return [uuid.UUID(str(v)) for v in values]


def recipients_of(provision: Provision, names: dict[str, str], language: str) -> list[str]:
    """Who a provision names, in words: agencies, teams, then kinds of agency."""
    kinds = [
        str(_("Every agency of the kind: %(kind)s") % {"kind": label(AGENCY_KINDS, k, language)})
        for k in provision.recipient_kinds
    ]
    named = [names.get(str(i), str(i)) for i in [*provision.recipient_agencies, *provision.recipient_teams]]
    return [*named, *kinds]


def _row(p: Provision, names: dict[str, str], language: str, now, *, can_revoke: bool) -> ProvisionRow:
    return ProvisionRow(
        provision=p, kind_label=KIND_LABELS[p.kind], kind_class=KIND_TAG_CLASSES[p.kind],
        basis=label(LEGAL_BASES, p.basis, language) if p.basis else "",
        recipients=recipients_of(p, names, language),
        categories=labels(DATA_CATEGORIES, p.categories, language),
        purposes=labels(PURPOSES, p.purposes, language),
        form=FORM_LABELS.get(p.form, ""), grantor=GRANTOR_LABELS.get(p.grantor, ""),
        upcoming=p.valid_from > now,
        revocable=can_revoke and p.kind == ProvisionKind.CONSENT and p.ended_at is None,
        last_day=last_day(p.valid_until),
    )


def last_day(valid_until) -> date | None:
    """A consent recorded on the pages ends at the midnight after its last
    day: people read that as "until <last day>", not "until 00:00"."""
    if valid_until is None:
        return None
    local = timezone.localtime(valid_until)
    return (local - timedelta(days=1)).date() if local.time() == time.min else None


def consent_state(subject: Subject, language: str, *, can_revoke: bool) -> list[ProvisionRow]:
    """What the API's consent-state lists (the provisions in force), oldest
    first, and also those recorded to start later (so a worker who just
    recorded a consent from next Monday sees it); expired ones are left out."""
    now = timezone.now()
    provisions = sorted(
        (p for p in provisions_in_force(subject.id, now) if p.is_active(now) or p.valid_from > now),
        key=lambda p: (p.valid_from, str(p.id)),
    )
    names = _recipient_names(provisions)
    return [_row(p, names, language, now, can_revoke=can_revoke) for p in provisions]


def provision_row(provision: Provision, language: str) -> ProvisionRow:
    """One provision described as the consent state describes it."""
    names = _recipient_names([provision])
    return _row(provision, names, language, timezone.now(), can_revoke=False)


def accounting_table(entries, language: str) -> list[dict]:
    """The accounting's rows (accounting.accounting_rows), each with its
    distinct legal bases named once, for the person page's compact table."""
    rows = accounting_rows(entries, language)
    for row in rows:
        row["basis_labels"] = sorted({basis["label"] for basis in row["bases"]})
    return rows


# --- Referrals about the person ---------------------------------------------------------------


def referrals_about(subject: Subject, caller: Caller):
    """Metadata of the referrals about the person the caller's agency sent or
    received, newest first (referrals.selectors scopes them)."""
    return (
        referral_list_for_agency(caller)
        .filter(subject=subject)
        .select_related("sender", "recipient")
        .order_by("-created_at", "-id")
    )


def referral_rows(referrals, caller: Caller, language: str) -> list[dict]:
    return [
        {
            "referral": r,
            "sent": r.sender_id == caller.agency.id,
            "counterpart": (r.recipient if r.sender_id == caller.agency.id else r.sender).name,
            "service": label(REFERRAL_SERVICES, r.service, language),
            "purpose": label(PURPOSES, r.purpose, language),
            "status_label": STATUS_LABELS[r.status],
            "status_class": STATUS_TAG_CLASSES[r.status],
        }
        for r in referrals
    ]

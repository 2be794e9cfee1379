"""Every write to subjects and the consent ledger. Each public service is one
transaction: the ledger entry, the projection row and any review row commit
together or not at all."""

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agencies.callers import Caller
from agencies.models import Agency, Team
from hub.api.errors import Conflict, NotFoundError, ValidationFailed
from schemas.registry import get_registry
from schemas.vocabularies import AGENCY_KINDS, DATA_CATEGORIES, PURPOSES, codes

from .ledger import iso, ledger_append
from .notices import revocation_notices_send
from .selectors import subject_get_for_caller
from .models import EmergencyReview, EntryKind, Provision, ProvisionKind, Subject, SubjectReference, Withholding

SUBJECT_SCHEMA = "subject"
SUBJECT_EXISTS = "subject_exists"
INVALID_PROVISION = "invalid_provision"
ALREADY_ENDED = "provision_already_ended"

FORMS = ("written", "electronic", "verbal_witnessed")
GRANTORS = ("subject", "legal_guardian", "court")
# The bases a caller may assert directly; vital interest goes through
# emergency_disclosure_record, consent through consent_grant.
ASSERTABLE_BASES = ("blue_card_procedure", "court_order", "legal_obligation")
# A vital-interest disclosure covers every purpose but statistics: the person's
# life is at stake, not a report.
EMERGENCY_PURPOSES = tuple(p for p in codes(PURPOSES) if p != "statistics")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# What `_end` says of each kind of provision it ends.
_NO_SUCH = {
    ProvisionKind.CONSENT: gettext_lazy("No such consent."),
    ProvisionKind.REFUSAL: gettext_lazy("No such refusal."),
    ProvisionKind.LEGAL_BASIS: gettext_lazy("No such legal basis."),
}
_ALREADY_ENDED = {
    ProvisionKind.CONSENT: gettext_lazy("This consent has already ended."),
    ProvisionKind.REFUSAL: gettext_lazy("This refusal has already ended."),
    ProvisionKind.LEGAL_BASIS: gettext_lazy("This legal basis has already ended."),
}
# A recipient that does not exist, by the model looked up.
_NO_RECIPIENT = {"agency": gettext_lazy("No agency %(id)s."), "team": gettext_lazy("No team %(id)s.")}


@dataclass
class Terms:
    """What a consent, refusal or legal basis covers (DESIGN.md 4.2)."""

    categories: list[str]
    purposes: list[str]
    agencies: list[str] = field(default_factory=list)
    agency_kinds: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    valid_from: datetime | None = None
    valid_until: datetime | None = None


def _invalid(errors: list[dict]) -> ValidationFailed:
    detail = "; ".join(f"{e['pointer']}: {e['detail']}" for e in errors)
    return ValidationFailed(detail, code=INVALID_PROVISION, errors=errors)


def _check_codes(values, allowed, pointer, errors) -> None:
    if not values:
        errors.append({"pointer": pointer, "detail": _("Give at least one.")})
    for index, value in enumerate(values):
        if value not in allowed:
            errors.append({
                "pointer": f"{pointer}/{index}",
                "detail": _("Unknown code %(value)s. One of: %(allowed)s.") % {"value": repr(value), "allowed": ", ".join(allowed)},
            })


def _check_ids(values, model, pointer, errors) -> None:
    known = {str(pk) for pk in model.objects.filter(pk__in=_uuids(values)).values_list("pk", flat=True)}
    for index, value in enumerate(values):
        if str(value) not in known:
            errors.append({"pointer": f"{pointer}/{index}", "detail": _NO_RECIPIENT[model._meta.model_name] % {"id": value}})


def _uuids(values):
    result = []
    for value in values:
        try:
            result.append(uuid.UUID(str(value)))
        except ValueError:
            pass
    return result


def _validated(terms: Terms, now: datetime, *, pointer_prefix: str = "") -> Terms:
    errors: list[dict] = []
    _check_codes(terms.categories, codes(DATA_CATEGORIES), "/categories", errors)
    _check_codes(terms.purposes, codes(PURPOSES), "/purposes", errors)
    if not (terms.agencies or terms.agency_kinds or terms.teams):
        errors.append({"pointer": "/recipients", "detail": _("Name at least one agency, agency kind or team.")})
    for index, kind in enumerate(terms.agency_kinds):
        if kind not in codes(AGENCY_KINDS):
            errors.append({
                "pointer": f"/recipients/agency_kinds/{index}",
                "detail": _("Unknown agency kind %(kind)s. One of: %(allowed)s.")
                % {"kind": repr(kind), "allowed": ", ".join(codes(AGENCY_KINDS))},
            })
    _check_ids(terms.agencies, Agency, "/recipients/agencies", errors)
    _check_ids(terms.teams, Team, "/recipients/teams", errors)
    valid_from = terms.valid_from or now
    if terms.valid_until is not None and terms.valid_until <= max(valid_from, now):
        errors.append({"pointer": "/valid_until", "detail": _("Must be in the future and after valid_from.")})
    if errors:
        raise _invalid(errors)
    return Terms(
        categories=sorted(set(terms.categories)),
        purposes=sorted(set(terms.purposes)),
        agencies=sorted({str(a) for a in terms.agencies}),
        agency_kinds=sorted(set(terms.agency_kinds)),
        teams=sorted({str(t) for t in terms.teams}),
        valid_from=valid_from,
        valid_until=terms.valid_until,
    )


def _terms_body(terms: Terms) -> dict:
    return {
        "recipients": {"agencies": terms.agencies, "agency_kinds": terms.agency_kinds, "teams": terms.teams},
        "categories": terms.categories,
        "purposes": terms.purposes,
        "valid_from": iso(terms.valid_from),
        "valid_until": iso(terms.valid_until),
    }


def _provision(subject, caller, kind, terms, entry, **extra) -> Provision:
    return Provision.objects.create(
        subject=subject,
        kind=kind,
        recipient_agencies=terms.agencies,
        recipient_kinds=terms.agency_kinds,
        recipient_teams=terms.teams,
        categories=terms.categories,
        purposes=terms.purposes,
        valid_from=terms.valid_from,
        valid_until=terms.valid_until,
        recorded_by=caller.agency,
        granted_entry=entry,
        **extra,
    )


def _owned_subject_for_update(subject_id, caller: Caller) -> Subject:
    """The subject, locked, if the caller's agency owns it; 404 otherwise.
    Locking the subject serialises changes to its provisions (not reads)."""
    subject = Subject.objects.select_for_update().filter(pk=subject_id, owner=caller.agency).first()
    if subject is None:
        raise NotFoundError(_("No such subject."))
    return subject


# --- Subjects -----------------------------------------------------------------


@transaction.atomic
def subject_create(*, caller: Caller, external_ref: str, profile: dict) -> Subject:
    """Register a person under the caller's agency; the profile must match the
    subject schema (DESIGN.md 6). The same external_ref twice is a conflict."""
    registry = get_registry()
    problems = registry.validate(SUBJECT_SCHEMA, profile)
    if problems:
        errors = [{"pointer": f"/profile{p.pointer}", "detail": p.detail} for p in problems]
        raise ValidationFailed(_("The profile does not match the subject schema."), errors=errors)
    if SubjectReference.objects.filter(agency=caller.agency, external_ref=external_ref).exists():
        raise Conflict(_("A subject with external_ref %(ref)s already exists.") % {"ref": repr(external_ref)}, code=SUBJECT_EXISTS)
    subject = Subject.objects.create(
        owner=caller.agency, profile=profile, profile_schema=registry.schema_id(SUBJECT_SCHEMA)
    )
    try:
        with transaction.atomic():
            SubjectReference.objects.create(subject=subject, agency=caller.agency, external_ref=external_ref)
    except IntegrityError:  # a concurrent create with the same reference won
        raise Conflict(
            _("A subject with external_ref %(ref)s already exists.") % {"ref": repr(external_ref)}, code=SUBJECT_EXISTS
        ) from None
    return subject


# --- Consents and refusals ----------------------------------------------------


def _check_form(form: str, grantor: str, evidence_sha256: str) -> None:
    errors = []
    if form not in FORMS:
        errors.append({"pointer": "/form", "detail": _("One of: %(allowed)s.") % {"allowed": ", ".join(FORMS)}})
    if grantor not in GRANTORS:
        errors.append({"pointer": "/grantor", "detail": _("One of: %(allowed)s.") % {"allowed": ", ".join(GRANTORS)}})
    if evidence_sha256 and not _SHA256.match(evidence_sha256):
        errors.append({"pointer": "/evidence_sha256", "detail": _("64 lowercase hex digits (sha256).")})
    if form == "written" and not evidence_sha256:
        errors.append({"pointer": "/evidence_sha256", "detail": _("A written consent needs the signed form's sha256.")})
    if errors:
        raise _invalid(errors)


def _record_provision(*, caller, subject_id, terms, kind, entry_kind, form, grantor, evidence_sha256):
    _check_form(form, grantor, evidence_sha256)
    subject = _owned_subject_for_update(subject_id, caller)
    terms = _validated(terms, timezone.now())
    body = {**_terms_body(terms), "form": form, "grantor": grantor, "evidence_sha256": evidence_sha256}
    entry = ledger_append(kind=entry_kind, subject=subject, caller=caller, body=body)
    return _provision(
        subject, caller, kind, terms, entry, basis="consent" if kind == ProvisionKind.CONSENT else "",
        form=form, grantor=grantor, evidence_sha256=evidence_sha256,
    )


@transaction.atomic
def consent_grant(*, caller: Caller, subject_id, terms: Terms, form: str, grantor: str, evidence_sha256: str = "") -> Provision:
    """Record informed consent: who may receive which categories, for which
    purposes, until when; in which form, given by whom, with what evidence."""
    return _record_provision(
        caller=caller, subject_id=subject_id, terms=terms, kind=ProvisionKind.CONSENT,
        entry_kind=EntryKind.CONSENT_GRANTED, form=form, grantor=grantor, evidence_sha256=evidence_sha256,
    )


@transaction.atomic
def refusal_record(*, caller: Caller, subject_id, terms: Terms, form: str, grantor: str, evidence_sha256: str = "") -> Provision:
    """Record a deny provision ("never share my health data with X"); agencies
    it names that already received those categories are notified."""
    provision = _record_provision(
        caller=caller, subject_id=subject_id, terms=terms, kind=ProvisionKind.REFUSAL,
        entry_kind=EntryKind.REFUSAL_RECORDED, form=form, grantor=grantor, evidence_sha256=evidence_sha256,
    )
    revocation_notices_send(provision)
    return provision


def _end(*, caller: Caller, provision_id, kind: str, entry_kind: str, reason: str) -> Provision:
    provision = (
        Provision.objects.select_for_update()
        .filter(pk=provision_id, kind=kind, subject__owner=caller.agency)
        .select_related("subject")
        .first()
    )
    if provision is None:
        raise NotFoundError(str(_NO_SUCH[kind]))
    if provision.ended_at is not None:
        raise Conflict(str(_ALREADY_ENDED[kind]), code=ALREADY_ENDED)
    entry = ledger_append(
        kind=entry_kind, subject=provision.subject, caller=caller,
        body={"provision_entry": str(provision.granted_entry_id)}, note=reason,
    )
    provision.ended_at = entry.recorded_at
    provision.ended_entry = entry
    provision.save(update_fields=["ended_at", "ended_entry"])
    return provision


@transaction.atomic
def consent_revoke(*, caller: Caller, consent_id, reason: str = "") -> Provision:
    """Revoke a consent; the very next decision no longer counts it, and every
    agency that received the affected categories gets a notice to acknowledge."""
    provision = _end(caller=caller, provision_id=consent_id, kind=ProvisionKind.CONSENT,
                     entry_kind=EntryKind.CONSENT_REVOKED, reason=reason)
    revocation_notices_send(provision)
    return provision


@transaction.atomic
def refusal_withdraw(*, caller: Caller, refusal_id, reason: str = "") -> Provision:
    return _end(caller=caller, provision_id=refusal_id, kind=ProvisionKind.REFUSAL,
                entry_kind=EntryKind.REFUSAL_WITHDRAWN, reason=reason)


# --- Legal bases and emergencies ------------------------------------------------


@transaction.atomic
def legal_basis_assert(*, caller: Caller, subject_id, basis: str, terms: Terms, reference: str) -> Provision:
    """Record a statutory basis (art. 9c/9d Blue Card, a court order, a legal
    obligation). The reference (e.g. a case signature) is kept beside the entry;
    the entry holds its hash."""
    errors = []
    if basis not in ASSERTABLE_BASES:
        errors.append({"pointer": "/basis", "detail": _("One of: %(allowed)s.") % {"allowed": ", ".join(ASSERTABLE_BASES)}})
    if not reference.strip():
        errors.append({"pointer": "/reference", "detail": _("Name the statute, order or procedure record.")})
    if errors:
        raise _invalid(errors)
    subject = _owned_subject_for_update(subject_id, caller)
    terms = _validated(terms, timezone.now())
    body = {**_terms_body(terms), "basis": basis}
    entry = ledger_append(
        kind=EntryKind.LEGAL_BASIS_ASSERTED, subject=subject, caller=caller, body=body, note=reference
    )
    return _provision(subject, caller, ProvisionKind.LEGAL_BASIS, terms, entry, basis=basis)


@transaction.atomic
def legal_basis_end(*, caller: Caller, legal_basis_id, reason: str = "") -> Provision:
    return _end(caller=caller, provision_id=legal_basis_id, kind=ProvisionKind.LEGAL_BASIS,
                entry_kind=EntryKind.LEGAL_BASIS_ENDED, reason=reason)


@transaction.atomic
def emergency_disclosure_record(*, caller: Caller, subject_id, recipient_id, categories: list[str], justification: str) -> Provision:
    """Vital interest (threat to life or health): the recipient may receive the
    categories for 24 hours (EMERGENCY_DISCLOSURE_HOURS); the recording agency's
    supervisor or DPO must review it afterwards."""
    if not justification.strip():
        raise _invalid([{"pointer": "/justification", "detail": _("Say why life or health is at risk.")}])
    subject = _owned_subject_for_update(subject_id, caller)
    now = timezone.now()
    hours = settings.EMERGENCY_DISCLOSURE_HOURS
    terms = _validated(
        Terms(categories=categories, purposes=list(EMERGENCY_PURPOSES), agencies=[recipient_id],
              valid_from=now, valid_until=now + timedelta(hours=hours)),
        now,
    )
    body = {**_terms_body(terms), "basis": "vital_interest"}
    entry = ledger_append(
        kind=EntryKind.EMERGENCY_DISCLOSURE, subject=subject, caller=caller, body=body, note=justification
    )
    provision = _provision(subject, caller, ProvisionKind.EMERGENCY, terms, entry, basis="vital_interest")
    EmergencyReview.objects.create(provision=provision, agency=caller.agency)
    return provision


REVIEWER_ROLES = ("supervisor", "dpo")


@transaction.atomic
def emergency_review_complete(*, user, review_id, upheld: bool, comment: str = "") -> EmergencyReview:
    """A supervisor or the DPO of the recording agency reviews an emergency
    disclosure afterwards. A disclosure found unjustified is ended at once."""
    review = (
        EmergencyReview.objects.select_for_update()
        .filter(
            pk=review_id,
            agency__memberships__user=user,
            agency__memberships__role__in=REVIEWER_ROLES,
            agency__memberships__active=True,
        )
        .select_related("provision")
        .first()
    )
    if review is None:
        raise NotFoundError(_("No such emergency review."))
    if review.reviewed_at is not None:
        raise Conflict(_("This emergency disclosure has already been reviewed."), code=ALREADY_ENDED)
    review.reviewed_at, review.reviewed_by, review.upheld, review.comment = timezone.now(), user, upheld, comment
    review.save(update_fields=["reviewed_at", "reviewed_by", "upheld", "comment"])
    provision = review.provision
    if not upheld and provision.ended_at is None and provision.is_active(timezone.now()):
        caller = Caller(agency=review.agency, application=None, user=user)
        entry = ledger_append(
            kind=EntryKind.LEGAL_BASIS_ENDED, subject=provision.subject, caller=caller,
            body={"provision_entry": str(provision.granted_entry_id), "review": "not_upheld"}, note=comment,
        )
        provision.ended_at, provision.ended_entry = entry.recorded_at, entry
        provision.save(update_fields=["ended_at", "ended_entry"])
    return review


# --- Withholdings -----------------------------------------------------------------


def withholding_record(*, caller: Caller, subject: Subject, agency_id, categories: list[str], source: str) -> None:
    """In the caller's transaction: `agency_id` must never receive `categories`
    about the subject from any read of data it did not supply (see
    models.Withholding). Codes are checked by the caller's service."""
    if categories:
        Withholding.objects.create(
            subject=subject, agency_id=agency_id, imposed_by=caller.agency, categories=sorted(set(categories)),
            source=source, created_at=timezone.now(),
        )


# --- Bases a statute grants to a procedure ------------------------------------------
#
# A Blue Card procedure (art. 9c-9d of the Act on Counteracting Domestic
# Violence) is opened by whoever fills in the NK-A (a police officer, a
# teacher, a nurse), who seldom owns the person's record in the hub. The basis
# for the ZI and the GDP to process the data then comes from the statute, not
# from the owner: the procedure records it, with the agency acting in it as
# the recorder, where legal_basis_assert would refuse anyone but the owner.
# Only the procedure's service (referrals/blue_card/services.py) calls these,
# after checking who may act in the procedure; the recorder must at least be
# able to see the subject (its owner, or an agency with a basis for it).

PROCEDURE_BASES = ("blue_card_procedure",)


@transaction.atomic
def statutory_basis_assert_for_procedure(
    *, caller: Caller, subject_id, basis: str, team_ids: list[str], categories: list[str], purposes: list[str],
    reference: str,
) -> Provision:
    """Record a basis that a statute grants to the teams of a procedure
    (recipients: those teams only). 404 unless the caller may see the subject."""
    if basis not in PROCEDURE_BASES or not team_ids or not reference.strip():
        raise ValueError("a procedure's basis names its code, its teams and the procedure record")
    subject_get_for_caller(subject_id, caller)  # 404 unless the caller may see her
    subject = Subject.objects.select_for_update().get(pk=subject_id)
    now = timezone.now()
    terms = _validated(Terms(categories=list(categories), purposes=list(purposes), teams=list(team_ids)), now)
    body = {**_terms_body(terms), "basis": basis}
    entry = ledger_append(
        kind=EntryKind.LEGAL_BASIS_ASSERTED, subject=subject, caller=caller, body=body, note=reference
    )
    return _provision(subject, caller, ProvisionKind.LEGAL_BASIS, terms, entry, basis=basis)


@transaction.atomic
def statutory_basis_end_for_procedure(*, caller: Caller, legal_basis_id, reason: str = "") -> Provision | None:
    """End a basis the procedure asserted, when the procedure ends. Returns
    None when it had already ended (the subject's owner may end it first)."""
    provision = (
        Provision.objects.select_for_update()
        .filter(pk=legal_basis_id, kind=ProvisionKind.LEGAL_BASIS, basis__in=PROCEDURE_BASES)
        .select_related("subject")
        .first()
    )
    if provision is None:
        raise NotFoundError(_("No such legal basis."))
    if provision.ended_at is not None:
        return None
    entry = ledger_append(
        kind=EntryKind.LEGAL_BASIS_ENDED, subject=provision.subject, caller=caller,
        body={"provision_entry": str(provision.granted_entry_id)}, note=reason,
    )
    provision.ended_at, provision.ended_entry = entry.recorded_at, entry
    provision.save(update_fields=["ended_at", "ended_entry"])
    return provision

"""Every read of subjects and the ledger, scoped to the calling agency. An
object the caller may not see is a 404, never a 403 (DESIGN.md principle 7)."""

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.callers import Caller
from agencies.models import Agency
from agencies.selectors import team_access_ids
from hub.api.errors import NotFoundError

from .decisions import Recipient, has_any_basis
from .models import EntryKind, LedgerEntry, Provision, Subject, Withholding


def recipient_of(agency: Agency, provisions=None) -> Recipient:
    """The agency as the decision engine sees it. Given the `provisions` to
    decide on, its teams are looked up only if one of them names a team.

    A provision naming a team reaches only the members with access: not
    removed, and with their art. 9c confidentiality declaration received. Read
    on every decision, so a removed member loses access on its next request."""
    if provisions is not None and not any(p.recipient_teams for p in provisions):
        return Recipient(agency_id=str(agency.id), kind=agency.kind)
    return Recipient(agency_id=str(agency.id), kind=agency.kind, team_ids=team_access_ids(agency.id))


def provisions_in_force(subject_id, at=None) -> list[Provision]:
    """The subject's provisions not ended by `at` (validity is checked by the
    decision engine): a handful of rows, whatever the size of the ledger."""
    at = at or timezone.now()
    return list(Provision.objects.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=at), subject_id=subject_id))


def withheld_from(subject_id, agency_id) -> set[str]:
    """Every category other agencies withheld from this agency about the subject."""
    rows = Withholding.objects.filter(subject_id=subject_id, agency_id=agency_id).values_list("categories", flat=True)
    return {category for categories in rows for category in categories}


def subject_get_for_caller(subject_id, caller: Caller) -> Subject:
    """The subject if the caller owns it or has a basis for at least one
    category; otherwise 404, so its existence is not revealed."""
    subject = Subject.objects.filter(pk=subject_id).first()
    if subject is None:
        raise NotFoundError(_("No such subject."))
    if subject.owner_id == caller.agency.id:
        return subject
    now = timezone.now()
    if not has_any_basis(provisions_in_force(subject.id, now), recipient_of(caller.agency), now):
        raise NotFoundError(_("No such subject."))
    return subject


def subject_get_owned(subject_id, caller: Caller) -> Subject:
    subject = Subject.objects.filter(pk=subject_id, owner=caller.agency).first()
    if subject is None:
        raise NotFoundError(_("No such subject."))
    return subject


def disclosure_list_for_subject(subject: Subject) -> QuerySet[LedgerEntry]:
    """The accounting of disclosures (newest first) of a subject the caller owns."""
    return LedgerEntry.objects.filter(subject=subject, kind=EntryKind.DISCLOSURE).order_by("-seq")


def ledger_entry_get_for_caller(entry_id, caller: Caller) -> LedgerEntry:
    """An entry the caller recorded, or one about a subject it owns."""
    entry = (
        LedgerEntry.objects.filter(id=entry_id)
        .filter(Q(recorded_by=caller.agency) | Q(subject__owner=caller.agency))
        .first()
    )
    if entry is None:
        raise NotFoundError(_("No such ledger entry."))
    return entry

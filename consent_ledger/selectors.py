"""Every read of subjects and the ledger, scoped to the calling agency. An
object the caller may not see is a 404, never a 403 (DESIGN.md principle 7)."""

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q, QuerySet, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.callers import Caller
from agencies.models import Agency
from agencies.selectors import team_access_ids
from hub.api.compiled_queries import CompiledQuery
from hub.api.errors import NotFoundError

from .decisions import ProvisionTerms, Recipient, has_any_basis
from .models import EntryKind, LedgerEntry, LedgerNote, Provision, ProvisionKind, Subject, Withholding


def recipient_of(agency: Agency, provisions=None) -> Recipient:
    """The agency as the decision engine sees it. Given the `provisions` to
    decide on, its teams are looked up only if one of them names a team.

    A provision naming a team reaches only the members with access: not
    removed, and with their art. 9c confidentiality declaration received. Read
    on every decision, so a removed member loses access on its next request."""
    if provisions is not None and not any(p.recipient_teams for p in provisions):
        return Recipient(agency_id=str(agency.id), kind=agency.kind)
    return Recipient(agency_id=str(agency.id), kind=agency.kind, team_ids=team_access_ids(agency.id))


def _in_force(subject, at) -> QuerySet[Provision]:
    # From the index provision_subject_active (subject, ended_at).
    return Provision.objects.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=at), subject_id=subject)


# Compiled once (issue 11): every send-time check and visibility test reads
# the provisions, the journey and the dry run the withholdings (index
# withholding_subject_agency); the choke point reads both in one query
# (decision_inputs).
_PROVISIONS_IN_FORCE = CompiledQuery(
    _in_force, subject=Provision._meta.get_field("subject"), at=Provision._meta.get_field("ended_at")
)
_WITHHELD = CompiledQuery(
    lambda subject, agency: Withholding.objects.filter(subject_id=subject, agency_id=agency).values_list("categories"),
    subject=Withholding._meta.get_field("subject"), agency=Withholding._meta.get_field("agency"),
)


@dataclass(frozen=True)
class DecisionInputs:
    """What the choke point decides one read on."""

    provisions: list[ProvisionTerms]  # the subject's, not ended
    withheld: set[str]  # categories other agencies withheld from the reader


_TERMS = [field.name for field in fields(ProvisionTerms)]
_KIND, _CATEGORIES = _TERMS.index("kind"), _TERMS.index("categories")


def _null_like(name: str) -> Value:
    field = Provision._meta.get_field(name)
    return Value(None, output_field=getattr(field, "target_field", field))


def _provisions_and_withholdings(subject, agency, at):
    """The subject's provisions not ended by `at` UNION ALL the withholdings on
    `agency`, as rows of the provision's terms: a withholding's row has its
    categories where a provision's are and no kind (NULL) nor other terms."""
    absent = {name: _null_like(name) for name in _TERMS if name != "categories"}
    withholdings = Withholding.objects.filter(subject_id=subject, agency_id=agency).annotate(**absent)
    return _in_force(subject, at).values_list(*_TERMS).union(withholdings.values_list(*_TERMS), all=True)


# Every disclosure reads both: one query (one round trip), compiled once (issue 11).
_DECISION_INPUTS = CompiledQuery(
    _provisions_and_withholdings,
    subject=Provision._meta.get_field("subject"), agency=Withholding._meta.get_field("agency"),
    at=Provision._meta.get_field("ended_at"),
)


def decision_inputs(subject_id, agency_id, at) -> DecisionInputs:
    """The subject's provisions not ended by `at` (the terms the engine reads)
    and every category other agencies withheld from `agency_id` about it, in
    one query: provisions_in_force and withheld_from together."""
    provisions, withheld = [], set()
    for row in _DECISION_INPUTS.fetch(subject=subject_id, agency=agency_id, at=at):
        if row[_KIND] is None:
            withheld.update(row[_CATEGORIES])
        else:
            provisions.append(ProvisionTerms(*row))
    return DecisionInputs(provisions, withheld)


def references_load(provisions: list[Provision]) -> list[Provision]:
    """Set each legal basis's `reference` from its note, for the whole list
    in one query (Provision.reference would read one note per row)."""
    bases = [p for p in provisions if p.kind == ProvisionKind.LEGAL_BASIS]
    notes = dict(LedgerNote.objects.filter(entry_id__in=[p.granted_entry_id for p in bases])
                 .values_list("entry_id", "text")) if bases else {}
    for provision in provisions:
        provision.reference = notes.get(provision.granted_entry_id, "")
    return provisions


def provisions_in_force(subject_id, at=None) -> list[Provision]:
    """The subject's provisions not ended by `at` (validity is checked by the
    decision engine): a handful of rows, whatever the size of the ledger."""
    return _PROVISIONS_IN_FORCE.fetch(subject=subject_id, at=at or timezone.now())


def withheld_from(subject_id, agency_id) -> set[str]:
    """Every category other agencies withheld from this agency about the subject."""
    rows = _WITHHELD.fetch(subject=subject_id, agency=agency_id)
    return {category for (categories,) in rows for category in categories}


_SUBJECT = CompiledQuery(lambda subject: Subject.objects.filter(pk=subject)[:1], subject=Subject._meta.pk)


def subject_get_for_caller(subject_id, caller: Caller) -> Subject:
    """The subject if the caller owns it or has a basis for at least one
    category; otherwise 404, so its existence is not revealed."""
    subject = _SUBJECT.first(subject=subject_id)
    if subject is None:
        raise NotFoundError(_("No such subject."))
    if subject.owner_id == caller.agency.id:
        return subject
    now = timezone.now()
    provisions = provisions_in_force(subject.id, now)
    if not has_any_basis(provisions, recipient_of(caller.agency, provisions), now):
        raise NotFoundError(_("No such subject."))
    return subject


def subject_get_owned(subject_id, caller: Caller) -> Subject:
    subject = Subject.objects.filter(pk=subject_id, owner=caller.agency).first()
    if subject is None:
        raise NotFoundError(_("No such subject."))
    return subject


def disclosure_list_for_subject(
    subject: Subject, *, start: date | None = None, end: date | None = None, recipient_id=None
) -> QuerySet[LedgerEntry]:
    """The accounting of disclosures (newest first) of a subject the caller
    owns: recorded on the days from `start` to `end` (inclusive, UTC days, as
    the accounting shows its times), to `recipient_id`.

    A disclosure's recipient is the agency that recorded it (the choke point
    appends it as the reader's, disclosure.py) and verify_ledger holds that
    column to the entry's bytes: so the filter reads the column, and every
    filter stays on the index ledger_subject_kind_seq."""
    entries = LedgerEntry.objects.filter(subject=subject, kind=EntryKind.DISCLOSURE)
    if start is not None:
        entries = entries.filter(recorded_at__gte=_utc_midnight(start))
    if end is not None and end < date.max:  # date.max has no next day: no end at all
        entries = entries.filter(recorded_at__lt=_utc_midnight(end + timedelta(days=1)))
    if recipient_id is not None:
        entries = entries.filter(recorded_by_id=recipient_id)
    return entries.order_by("-seq")


def disclosure_recipients(subject: Subject) -> list[tuple[str, str]]:
    """(id, name) of every agency the subject's data was disclosed to, by name:
    one query, whatever the length of the accounting."""
    disclosures = LedgerEntry.objects.filter(subject=subject, kind=EntryKind.DISCLOSURE)
    agencies = Agency.objects.filter(pk__in=disclosures.values("recorded_by")).order_by("name", "pk")
    return [(str(pk), name) for pk, name in agencies.values_list("pk", "name")]


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


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

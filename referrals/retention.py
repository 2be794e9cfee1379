"""Retention (issue 12, item 3): what passed its period goes, once a day.

Each record class keeps its person data for settings.RETENTION_DAYS after it
ended. Then, in one transaction per record, every sealed column of the record
and of its children is set to NULL (the ciphertext leaves the row; the data
key stays, the person may have other records), the record is marked
`content_erased_at` and ONE `retention_erasure` ledger entry names it by id
and data class: the log says what went and when, never what it said.

- closed referrals (a final status): payload, reason, status reason, the
  transitions' reasons and the case updates;
- ended placements (completed, ended early, declined, withdrawn): the
  coordinator's check-in notes and WHO-5 items;
- closed Blue Card procedures: the NK-A's forms of violence, each step's
  content (NK-C) and each NK-D (the perpetrator's record, a plain JSON column:
  emptied, as the procedure's other forms);
- shared plans closed for the closed_referrals period: the texts of their
  goals, actions and reviews. A plan has no `content_erased_at`: a reopened
  plan is open again, and a closed one is done when no text is left.

What stays is metadata: ids, codes, dates, and the columns that are not
sealed (a placement's role and hours, the NK-A's number of children).

A person none of whose records is left (each content-erased or past its
period, none open) is then erased whole by crypto-shredding
(consent_ledger.erasure), reason `retention_expired`, unless a statutory
basis or court order is in force: then the person is kept and listed, and
every later run tries again. Last, the technical records go: delivered or
dead webhook deliveries, idempotency records, expired OAuth2 tokens.

Every run is idempotent: a record once erased no longer matches."""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce
from operator import or_
from typing import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.utils import timezone

from agencies.callers import Caller
from agencies.revocations import expired_tokens_purge
from agencies.webhooks import deliveries_purge
from consent_ledger.erasure import statutory_bases_in_force, subject_shred
from consent_ledger.ledger import ledger_append
from consent_ledger.models import EntryKind, Subject
from consent_ledger.sealing import SubjectErased
from hub.api.errors import Conflict
from hub.api.idempotency import purge_expired_idempotency_records

from . import lifecycle
from .blue_card.models import BlueCardPerpetratorRecord, BlueCardProcedure, BlueCardStep
from .models import CaseUpdate, Referral, ReferralTransition
from .placements import lifecycle as placement_lifecycle
from .placements.models import Placement, PlacementCheckIn
from .plans import lifecycle as plan_lifecycle
from .plans.models import Action, Goal, Plan, Review

logger = logging.getLogger(__name__)

# Data classes: the keys of settings.RETENTION_DAYS, the report's keys and the
# `data_class` of each ledger entry.
CLOSED_REFERRALS = "closed_referrals"
ENDED_PLACEMENTS = "ended_placements"
CLOSED_BLUE_CARDS = "closed_blue_cards"
CLOSED_PLANS = "closed_plans"  # on the closed_referrals period
SUBJECTS = "subjects"
SUBJECTS_KEPT = "subjects_kept"
DELIVERED_WEBHOOKS = "delivered_webhooks"
IDEMPOTENCY_RECORDS = "idempotency_records"
EXPIRED_TOKENS = "expired_tokens"

REASON = "retention_expired"  # consent_ledger.erasure.ERASURE_REASONS
SYSTEM = "retention"  # the ledger's actor: "system:retention"


@dataclass
class RetentionReport:
    """What one run erased and deleted (or, in a dry run, would have): the
    ids of the records whose content went, per data class; the subjects
    shredded and those kept by a statutory basis; the number of technical
    records deleted, per data class."""

    dry_run: bool
    erased: dict[str, list[str]] = field(default_factory=dict)
    subjects_kept: list[str] = field(default_factory=list)
    deleted: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"dry_run": self.dry_run, **self.erased, SUBJECTS_KEPT: self.subjects_kept, **self.deleted}


def _cutoff(now: datetime, data_class: str) -> datetime:
    """What of `data_class` ended at or before this moment is past its period."""
    days = settings.RETENTION_DAYS[data_class]
    if days < 0:  # a negative period would erase what is not even closed yet
        raise ImproperlyConfigured(f"RETENTION_DAYS[{data_class!r}] must be 0 or more days, not {days}.")
    return now - timedelta(days=days)


# --- Records with person data ---------------------------------------------------------


def _ended(statuses, stamps: dict[str, str], cutoff: datetime) -> Q:
    """Records in a final status reached no later than `cutoff`."""
    return reduce(or_, (Q(status=status, **{f"{stamps[status]}__lte": cutoff}) for status in sorted(statuses)))


# Each empties the sealed columns of a locked record's children and sets its
# own to None: the fields of the record to save.


def _erase_referral(referral: Referral) -> list[str]:
    CaseUpdate.objects.filter(referral=referral).update(payload=None)
    ReferralTransition.objects.filter(referral=referral).update(reason=None)
    referral.payload = referral.reason = referral.status_reason = None
    return ["payload", "reason", "status_reason"]


def _erase_placement(placement: Placement) -> list[str]:
    PlacementCheckIn.objects.filter(placement=placement).update(coordinator_notes=None, who5=None)
    return []


def _erase_blue_card(procedure: BlueCardProcedure) -> list[str]:
    BlueCardStep.objects.filter(procedure=procedure).update(content=None)
    BlueCardPerpetratorRecord.objects.filter(step__procedure=procedure).update(document={})
    procedure.forms_of_violence = None
    return ["forms_of_violence"]


def _erase_plan(plan: Plan) -> list[str]:
    Goal.objects.filter(plan=plan).update(title=None, indicator=None, baseline=None)
    Action.objects.filter(plan=plan).update(title=None)
    Review.objects.filter(plan=plan).update(summary=None, measures=None)
    return []


def _plan_has_text() -> Q:
    texts = (
        (Goal, Q(title__isnull=False) | Q(indicator__isnull=False) | Q(baseline__isnull=False)),
        (Action, Q(title__isnull=False)),
        (Review, Q(summary__isnull=False) | Q(measures__isnull=False)),
    )
    return reduce(or_, (Q(Exists(model.objects.filter(texts, plan=OuterRef("pk")))) for model, texts in texts))


@dataclass(frozen=True)
class _RecordClass:
    """A class of records with person data: when one has ended long enough
    (`ended`), whether its content went (`erased`), and how it goes (`erase`)."""

    data_class: str
    model: type[Model]
    period: str  # its key in RETENTION_DAYS
    ended: Callable[[datetime], Q]
    erase: Callable[[Model], list[str]]
    erased: Q | None = None  # None: erased once `ended` and no content left (plans)

    def cutoff(self, now: datetime) -> datetime:
        return _cutoff(now, self.period)

    def due(self, now: datetime) -> Q:
        """Past its period, content still there, the person not erased."""
        still_there = _plan_has_text() if self.erased is None else ~self.erased
        return self.ended(self.cutoff(now)) & still_there & Q(subject__erased_at__isnull=True)

    def gone(self, now: datetime) -> Q:
        """Content erased, or past its period (so erased in this run)."""
        ended = self.ended(self.cutoff(now))
        return ended if self.erased is None else ended | self.erased


_CONTENT_ERASED = Q(content_erased_at__isnull=False)

RECORD_CLASSES = (
    _RecordClass(
        CLOSED_REFERRALS, Referral, CLOSED_REFERRALS,
        lambda cutoff: _ended(lifecycle.FINAL, lifecycle.TIMESTAMP_FIELDS, cutoff), _erase_referral, _CONTENT_ERASED,
    ),
    _RecordClass(
        ENDED_PLACEMENTS, Placement, ENDED_PLACEMENTS,
        lambda cutoff: _ended(placement_lifecycle.FINAL, placement_lifecycle.TIMESTAMP_FIELDS, cutoff),
        _erase_placement, _CONTENT_ERASED,
    ),
    _RecordClass(
        CLOSED_BLUE_CARDS, BlueCardProcedure, CLOSED_BLUE_CARDS,
        lambda cutoff: Q(status=BlueCardProcedure.CLOSED, closed_at__lte=cutoff), _erase_blue_card, _CONTENT_ERASED,
    ),
    _RecordClass(
        CLOSED_PLANS, Plan, CLOSED_REFERRALS,
        lambda cutoff: Q(stage=plan_lifecycle.CLOSED, stage_changed_at__lte=cutoff), _erase_plan,
    ),
)


def _system_caller(subject: Subject) -> Caller:
    """The job acts for the person's owner agency, which answers for the record."""
    return Caller(agency=subject.owner, system=SYSTEM)


def _record_erase(kind: _RecordClass, pk, now: datetime) -> bool:
    """Erase one record's content if it is still due: its own transaction,
    the row locked, so a concurrent change (a plan reopened) wins or waits."""
    with transaction.atomic():
        record = (
            kind.model.objects.select_for_update(of=("self",)).select_related("subject__owner")
            .filter(kind.due(now), pk=pk).first()
        )
        if record is None:
            return False
        fields = kind.erase(record)
        if kind.erased is not None:
            record.content_erased_at = now
            fields.append("content_erased_at")
        record.version += 1  # what it shows changed: so does its ETag
        record.save(update_fields=[*fields, "version"])
        ledger_append(
            kind=EntryKind.RETENTION_ERASURE, subject=record.subject, caller=_system_caller(record.subject),
            body={"data_class": kind.data_class, "record": f"{kind.model._meta.model_name}:{record.pk}"},
        )
    return True


def _records_apply(now: datetime, dry_run: bool) -> dict[str, list[str]]:
    erased = {}
    for kind in RECORD_CLASSES:
        due = kind.model.objects.filter(kind.due(now)).order_by("pk").values_list("pk", flat=True)
        ids = list(due)
        if not dry_run:
            ids = [pk for pk in ids if _record_erase(kind, pk, now)]
        erased[kind.data_class] = [str(pk) for pk in ids]
    return erased


# --- Subjects -----------------------------------------------------------------------------


def _subjects_gone(now: datetime) -> QuerySet[Subject]:
    """The people not erased with at least one record gone and none left:
    every referral about them, placement, Blue Card procedure and plan is
    content-erased or past its period (so none is open)."""
    def records(kind: _RecordClass, gone: bool) -> Exists:
        rows = kind.model.objects.filter(subject=OuterRef("pk"))
        return Exists(rows.filter(kind.gone(now)) if gone else rows.exclude(kind.gone(now)))

    any_gone = reduce(or_, (Q(records(kind, gone=True)) for kind in RECORD_CLASSES))
    any_left = reduce(or_, (Q(records(kind, gone=False)) for kind in RECORD_CLASSES))
    return Subject.objects.filter(any_gone, erased_at__isnull=True).exclude(any_left)


def _subject_erase(subject_id, now: datetime) -> bool:
    """Shred the person if still nothing of theirs is left; Conflict when a
    statutory basis keeps them."""
    with transaction.atomic():
        subject = _subjects_gone(now).select_for_update(of=("self",)).select_related("owner").filter(pk=subject_id).first()
        if subject is None:
            return False
        subject_shred(subject, caller=_system_caller(subject), reason=REASON, kind=EntryKind.RETENTION_ERASURE,
               body={"data_class": "subject", "record": f"subject:{subject.pk}"})
    return True


def _subjects_apply(now: datetime, dry_run: bool) -> tuple[list[str], list[str]]:
    erased, kept = [], []
    for subject_id in _subjects_gone(now).order_by("pk").values_list("pk", flat=True):
        if dry_run:
            (kept if statutory_bases_in_force(subject_id, timezone.now()) else erased).append(str(subject_id))
            continue
        try:
            if _subject_erase(subject_id, now):
                erased.append(str(subject_id))
        except Conflict:
            kept.append(str(subject_id))
        except SubjectErased:
            continue  # erased meanwhile, by a request
    return erased, kept


# --- Technical records ----------------------------------------------------------------------
# Each class's own purge, which the hourly and daily jobs also run.

TECHNICAL_CLASSES = {
    DELIVERED_WEBHOOKS: deliveries_purge,
    IDEMPOTENCY_RECORDS: purge_expired_idempotency_records,
    EXPIRED_TOKENS: expired_tokens_purge,
}


# --- The job -------------------------------------------------------------------------------


def retention_apply(*, now: datetime | None = None, dry_run: bool = False) -> RetentionReport:
    """Apply RETENTION_DAYS as of `now` (default: the present): erase the
    content of records past their period, shred people none of whose records
    is left, delete expired technical records. `dry_run` changes nothing and
    reports what would go. Idempotent."""
    now = now or timezone.now()
    report = RetentionReport(dry_run=dry_run, erased=_records_apply(now, dry_run))
    report.erased[SUBJECTS], report.subjects_kept = _subjects_apply(now, dry_run)
    report.deleted = {name: purge(now=now, dry_run=dry_run) for name, purge in TECHNICAL_CLASSES.items()}
    logger.info(
        "retention%s: %s", " (dry run)" if dry_run else "",
        " ".join(f"{name}={len(v) if isinstance(v, list) else v}" for name, v in report.as_dict().items()
                 if name != "dry_run"),
    )
    return report

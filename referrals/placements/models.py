"""Employment placements: partnership agreements, placements, their history,
monthly check-ins and the months a check-in is due for (DESIGN.md 4.6).
Imported by referrals/models.py, so these are models of the `referrals` app.

What a placement says about the person is person data and leaves the hub only
through the disclosure choke point (selectors.placement_read), as documents
built from these columns (documents.py):
- `employment`: role, hours per week, start, planned and actual end; the
  employer's check-ins (days worked and absent, feedback); the outcome
  (hired with contract type, FTE and length, or not hired / ended early with a
  reason) and the 90-day follow-up;
- `case_notes`: the coordinator's notes; `mental_health`: the WHO-5 items.
Everything else is metadata: ids, status and reason codes, the coordinator's
and therapist's ids, months and times. An agreement holds no person data."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models

from agencies.models import Agency
from consent_ledger.models import Subject
from consent_ledger.sealing import SealedField

from . import checks, lifecycle  # noqa: F401 (checks: registers the settings check as the app loads)

# Outcomes (DESIGN.md 4.6) and what each carries.
HIRED, NOT_HIRED, ENDED_EARLY = "hired", "not_hired", "ended_early"
OUTCOMES = (HIRED, NOT_HIRED, ENDED_EARLY)
CONTRACT_TYPES = ("employment_contract", "civil_law_contract", "other")
NOT_HIRED_REASONS = ("no_vacancy", "skills_mismatch", "person_declined_offer", "employer_declined", "other")
# The European Social Fund's effectiveness rule: a hire counts as employment
# when the contract is at least 3 months long and at least half-time. An
# open-ended contract (contract_months null) is at least 3 months long.
ESF_MIN_CONTRACT_MONTHS = Decimal("3")
ESF_MIN_FTE = Decimal("0.5")

# Coordinator check-ins that carry the WHO-5 at a point of the programme.
TIMEPOINT_START, TIMEPOINT_END, TIMEPOINT_FOLLOW_UP = "start", "end", "follow_up"
TIMEPOINTS = (TIMEPOINT_START, TIMEPOINT_END, TIMEPOINT_FOLLOW_UP)
MAX_HOURS_PER_WEEK = 48  # art. 131 § 1 of the Labour Code: 48 hours on average, overtime included


def meets_esf_rule(fte: Decimal | None, contract_months: Decimal | None) -> bool:
    """Whether a hire counts as employment (ESF_MIN_*; contract_months None is open-ended)."""
    if fte is None or fte < ESF_MIN_FTE:
        return False
    return contract_months is None or contract_months >= ESF_MIN_CONTRACT_MONTHS


def esf_employment_q(prefix: str = "") -> models.Q:
    """meets_esf_rule as a filter on placements (`prefix` for a related lookup)."""
    return models.Q(**{f"{prefix}outcome": HIRED, f"{prefix}fte__gte": ESF_MIN_FTE}) & (
        models.Q(**{f"{prefix}contract_months__isnull": True})
        | models.Q(**{f"{prefix}contract_months__gte": ESF_MIN_CONTRACT_MONTHS})
    )


def _known(field: str, values, name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=models.Q(**{f"{field}__in": tuple(values)}), name=name)


class PlacementAgreement(models.Model):
    """A partnership agreement: the coordinating agency may place people at
    the employer, in the roles offered, while the agreement is in force
    (valid_from to valid_until, both inclusive), never more at once than
    `places` (proposed, confirmed and active placements each hold one)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    coordinating_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="placement_agreements")
    employer = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="placement_agreements_as_employer")
    valid_from = models.DateField()
    valid_until = models.DateField()
    roles = models.JSONField(help_text="the roles offered: short names, e.g. kitchen assistant")
    places = models.PositiveSmallIntegerField()
    created_by_actor = models.CharField(max_length=128)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["coordinating_agency", "-created_at"], name="placement_agreement_coord"),
            models.Index(fields=["employer", "-created_at"], name="placement_agreement_employer"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(places__gte=1), name="placement_agreement_has_places"),
            models.CheckConstraint(
                condition=models.Q(valid_until__gte=models.F("valid_from")), name="placement_agreement_period"
            ),
            models.CheckConstraint(
                condition=~models.Q(employer=models.F("coordinating_agency")), name="placement_agreement_two_parties"
            ),
        ]

    def in_force_on(self, day) -> bool:
        return self.valid_from <= day <= self.valid_until


class Placement(models.Model):
    """One person placed at an employer under an agreement (DESIGN.md 4.6).

    The outcome and follow-up columns are what the statistics count
    (stats.py): `outcome` with `contract_type`, `fte`, `contract_months` for
    a hire (meets_esf_rule), `outcome_reason` otherwise; `employed_90d` from
    the follow-up FOLLOW_UP_DAYS after `ended_on`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="placements")
    coordinating_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="placements_coordinated")
    employer = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="placements_as_employer")
    agreement = models.ForeignKey(PlacementAgreement, on_delete=models.PROTECT, related_name="placements")
    coordinator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
        help_text="the support coordinator: a member of the coordinating agency in role coordinator",
    )
    therapist_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    therapist_agency = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The employment document (employment): see the module docstring.
    role = models.CharField(max_length=100)
    hours_per_week = models.PositiveSmallIntegerField()
    start_on = models.DateField()
    planned_end_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True, help_text="the last day, once completed or ended early")
    status = models.CharField(max_length=16, choices=[(s, s) for s in lifecycle.STATUSES], default=lifecycle.PROPOSED)
    status_reason = models.CharField(max_length=32, blank=True, help_text="the reason code of the last change")
    version = models.PositiveIntegerField(default=1, help_text="bumped on every change; the ETag")
    created_by_actor = models.CharField(max_length=128)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The outcome (employment), once.
    outcome = models.CharField(max_length=16, blank=True, choices=[(o, o) for o in OUTCOMES])
    contract_type = models.CharField(max_length=32, blank=True)
    fte = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True,
                              help_text="hours as a fraction of full time, 0 < fte <= 1")
    contract_months = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True,
                                          help_text="null for a hire: an open-ended contract")
    outcome_reason = models.CharField(max_length=32, blank=True)
    outcome_recorded_at = models.DateTimeField(null=True, blank=True)
    outcome_recorded_by = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The follow-up (employment), once.
    employed_90d = models.BooleanField(null=True, blank=True, help_text="still employed at the follow-up")
    followed_up_on = models.DateField(null=True, blank=True)
    follow_up_recorded_at = models.DateTimeField(null=True, blank=True)
    content_erased_at = models.DateTimeField(null=True, blank=True, help_text="its retention period ended: metadata only")

    class Meta:
        indexes = [
            models.Index(fields=["coordinating_agency", "-created_at"], name="placement_coordinated"),
            models.Index(fields=["employer", "-created_at"], name="placement_employer"),
            models.Index(fields=["agreement", "status"], name="placement_agreement_status"),
        ]
        constraints = [
            _known("status", lifecycle.STATUSES, "placement_status_known"),
            models.CheckConstraint(condition=models.Q(planned_end_on__gte=models.F("start_on")),
                                   name="placement_planned_end_after_start"),
            models.CheckConstraint(
                condition=models.Q(ended_on__isnull=True) | models.Q(ended_on__gte=models.F("start_on")),
                name="placement_end_after_start",
            ),
            models.CheckConstraint(condition=models.Q(hours_per_week__gte=1, hours_per_week__lte=MAX_HOURS_PER_WEEK),
                                   name="placement_hours_per_week"),
            models.CheckConstraint(
                condition=models.Q(therapist_user__isnull=True) | models.Q(therapist_agency__isnull=True),
                name="placement_one_therapist",
            ),
            models.CheckConstraint(
                condition=models.Q(outcome="", outcome_recorded_at__isnull=True, fte__isnull=True)
                | models.Q(outcome=HIRED, contract_type__in=CONTRACT_TYPES, fte__gt=0, fte__lte=1,
                           outcome_recorded_at__isnull=False)
                & (models.Q(contract_months__isnull=True) | models.Q(contract_months__gt=0))
                | models.Q(outcome__in=(NOT_HIRED, ENDED_EARLY), fte__isnull=True, contract_months__isnull=True,
                           outcome_recorded_at__isnull=False) & ~models.Q(outcome_reason=""),
                name="placement_outcome_consistent",
            ),
            models.CheckConstraint(
                condition=models.Q(employed_90d__isnull=True, followed_up_on__isnull=True)
                | models.Q(employed_90d__isnull=False, followed_up_on__isnull=False),
                name="placement_follow_up_consistent",
            ),
        ]

    @property
    def etag(self) -> str:
        return f'"{self.id}-{self.version}"'

    @property
    def last_day(self):
        """The day the placement ends: its actual end once ended, else its planned end."""
        return self.ended_on or self.planned_end_on


class PlacementTransition(models.Model):
    """The history of a placement: every status change, by whom, when, why (a code)."""

    placement = models.ForeignKey(Placement, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16)
    to_status = models.CharField(max_length=16)
    reason = models.CharField(max_length=32, blank=True)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    actor = models.CharField(max_length=128)
    at = models.DateTimeField()


class PlacementCheckIn(models.Model):
    """A monthly check-in (DESIGN.md 6.2): the employer's (days worked and
    absent, feedback 1-5) or the coordinator's (her notes, and the WHO-5
    items recorded with the person, at `timepoint` start, end or follow-up).
    One of each side per month."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    placement = models.ForeignKey(Placement, on_delete=models.CASCADE, related_name="check_ins")
    side = models.CharField(max_length=16, choices=[(s, s) for s in lifecycle.SIDES])
    month = models.DateField(help_text="the first day of the month the check-in is about")
    timepoint = models.CharField(max_length=16, blank=True, choices=[(t, t) for t in TIMEPOINTS])
    days_worked = models.PositiveSmallIntegerField(null=True, blank=True)
    days_absent = models.PositiveSmallIntegerField(null=True, blank=True)
    employer_feedback = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1 (poor) to 5 (very good)")
    coordinator_notes = SealedField(subject="placement.subject_id", default="")
    who5 = SealedField(subject="placement.subject_id", null=True, help_text="the five WHO-5 items as recorded, each 0-5")
    recorded_by = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    actor = models.CharField(max_length=128)
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [
            _known("side", lifecycle.SIDES, "placement_check_in_side_known"),
            models.UniqueConstraint(fields=["placement", "side", "month"], name="placement_check_in_once_a_month"),
            models.UniqueConstraint(fields=["placement", "timepoint"], condition=~models.Q(timepoint=""),
                                    name="placement_check_in_timepoint_once"),
            models.CheckConstraint(
                condition=models.Q(side=lifecycle.EMPLOYER, timepoint="", coordinator_notes__isnull=True, who5__isnull=True,
                                   days_worked__isnull=False, days_absent__isnull=False,
                                   employer_feedback__gte=1, employer_feedback__lte=5)
                | models.Q(side=lifecycle.COORDINATOR, days_worked__isnull=True, days_absent__isnull=True,
                           employer_feedback__isnull=True),
                name="placement_check_in_side_fields",
            ),
        ]


class PlacementMonth(models.Model):
    """A month of a started placement for which the employer owes a check-in:
    `check_in_due` is the last day it is in time (the month's last day plus
    PLACEMENT_CHECK_IN_GRACE_DAYS). Marked when the employer's check-in is
    recorded (`checked_in_at`) or the one `placement.check_in_due` event is
    sent (`due_notified_at`); a month after the placement's end is voided."""

    placement = models.ForeignKey(Placement, on_delete=models.CASCADE, related_name="months")
    month = models.DateField()
    check_in_due = models.DateField()
    checked_in_at = models.DateTimeField(null=True, blank=True)
    due_notified_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["check_in_due"], name="placement_month_pending",
                condition=models.Q(checked_in_at__isnull=True, due_notified_at__isnull=True, voided_at__isnull=True),
            ),
        ]
        constraints = [models.UniqueConstraint(fields=["placement", "month"], name="placement_month_once")]

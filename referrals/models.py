import uuid

from django.db import models

from agencies.models import Agency
from consent_ledger.models import Subject
from consent_ledger.sealing import SealedField
from schemas.vocabularies import PURPOSES, REFERRAL_SERVICES, choices, codes

from . import lifecycle

URGENCIES = ("emergency", "urgent", "routine")


class Referral(models.Model):
    """One agency asks another to provide a service to a person.

    The payload and the subject's profile reach the recipient only through the
    disclosure choke point; lists show metadata only."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sender = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="referrals_sent")
    sender_actor = models.CharField(max_length=128)
    recipient = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="referrals_received")
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="referrals")
    service = models.CharField(max_length=32, choices=choices(REFERRAL_SERVICES))
    urgency = models.CharField(max_length=16, choices=[(u, u) for u in URGENCIES])
    purpose = models.CharField(max_length=32, choices=choices(PURPOSES))
    payload = SealedField()
    payload_schema = models.CharField(max_length=255)
    reason = SealedField(default="", help_text="why the referral is made; case_notes")
    withhold_categories = models.JSONField(default=list, help_text="never disclosed to the recipient")
    status = models.CharField(max_length=16, choices=[(s, s) for s in lifecycle.STATUSES], default=lifecycle.REQUESTED)
    status_reason = SealedField(default="", help_text="why the status last changed; case_notes")
    status_reason_by = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    outcome = models.JSONField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="bumped on every change; the ETag")
    acknowledge_by = models.DateTimeField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    received_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    on_hold_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)
    content_erased_at = models.DateTimeField(null=True, blank=True, help_text="its retention period ended: metadata only")
    # The directory entry the sender picked (issue 14): where accepting the
    # referral takes a place. Without one, the recipient's single counted
    # service of the referral's code is used (agencies/directory/services.py).
    directory_service = models.ForeignKey(
        "agencies.DirectoryService", null=True, blank=True, on_delete=models.PROTECT, related_name="referrals",
    )

    class Meta:
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="referral_inbox"),
            models.Index(fields=["sender", "-created_at"], name="referral_outbox"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(service__in=codes(REFERRAL_SERVICES)), name="referral_service_known"),
            models.CheckConstraint(condition=models.Q(status__in=lifecycle.STATUSES), name="referral_status_known"),
            models.CheckConstraint(condition=~models.Q(sender=models.F("recipient")), name="referral_not_to_self"),
        ]

    @property
    def etag(self) -> str:
        return f'"{self.id}-{self.version}"'


class ReferralTransition(models.Model):
    """The history of a referral: every status change, by whom, when, why."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16)
    to_status = models.CharField(max_length=16)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    actor = models.CharField(max_length=128)
    at = models.DateTimeField()
    reason = SealedField(subject="referral.subject_id", default="")
    outcome = models.JSONField(null=True, blank=True)


class CaseUpdate(models.Model):
    """A note, appointment or outcome added to a referral by either side;
    disclosed through the choke point when the other side reads it."""

    KINDS = ("note", "appointment", "outcome")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="updates")
    author = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    actor = models.CharField(max_length=128)
    kind = models.CharField(max_length=16, choices=[(k, k) for k in KINDS])
    payload = SealedField(subject="referral.subject_id")
    payload_schema = models.CharField(max_length=255)
    created_at = models.DateTimeField()


# --- Shared support plans (issue 8, item 4) -------------------------------------------
# Defined in referrals/plans/models.py; imported here so that they are models
# of this app.
from .plans.models import Action, ActionTransition, Goal, Plan, PlanStageChange, Review  # noqa: E402,F401

# --- The Blue Card procedure (issue 8, items 2-3) ---------------------------------------
# Defined in referrals/blue_card/models.py; imported here so that they are models
# of this app.
from .blue_card.models import (  # noqa: E402,F401
    BlueCardBasis,
    BlueCardDeadline,
    BlueCardPerpetratorRecord,
    BlueCardProcedure,
    BlueCardStep,
    ZiMeeting,
)

# --- Employment placements (issue 9) ------------------------------------------------------
# Defined in referrals/placements/models.py; imported here so that they are models
# of this app.
from .placements.models import (  # noqa: E402,F401
    Placement,
    PlacementAgreement,
    PlacementCheckIn,
    PlacementMonth,
    PlacementTransition,
)

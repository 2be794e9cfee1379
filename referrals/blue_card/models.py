"""Blue Card procedure records (DESIGN.md 4.6). Imported by referrals/models.py,
so these are models of the `referrals` app.

What the forms say about people is person data: the NK-A's forms of violence
and children (on the procedure), the NK-C (on its step) and the NK-D (in its
own table: data about the person suspected of violence, category
`perpetrator`, kept apart from the victim's). All of it leaves the hub only
through the disclosure choke point (selectors.blue_card_read). Everything
else here is metadata: ids, codes, times and dates."""

import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from agencies.models import Agency, Team
from consent_ledger.models import Provision, Subject
from consent_ledger.sealing import SealedField

from . import checks, rules  # noqa: F401 (checks: registers the settings check as the app loads)


def _known(field: str, values, name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=models.Q(**{f"{field}__in": tuple(values)}), name=name)


class BlueCardProcedure(models.Model):
    """One Blue Card procedure for one person (the victim, a ledger subject),
    run by a gmina's ZI and, once formed, one of its GDPs."""

    OPEN, CLOSED = "open", "closed"
    STATUSES = (OPEN, CLOSED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+", help_text="the ZI")
    gdp = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(help_text="when the NK-A was filled")
    opened_by = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    opened_by_actor = models.CharField(max_length=128)
    opened_by_kind = models.CharField(max_length=32)
    forms_of_violence = SealedField(help_text="NK-A; person data, disclosed only")
    children_in_household = models.PositiveSmallIntegerField(help_text="NK-A; person data, disclosed only")
    status = models.CharField(max_length=8, default=OPEN)
    closure_ground = models.CharField(max_length=16, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    content_erased_at = models.DateTimeField(null=True, blank=True, help_text="its retention period ended: metadata only")
    closed_by = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(default=1, help_text="bumped on every change; the ETag")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["team", "status"], name="blue_card_team_status"),
            models.Index(fields=["gdp", "status"], name="blue_card_gdp_status"),
        ]
        constraints = [
            _known("status", ("open", "closed"), "blue_card_status_known"),
            _known("opened_by_kind", rules.NKA_OPENER_KINDS, "blue_card_opener_kind_known"),
            models.CheckConstraint(
                condition=models.Q(status="open", closed_at__isnull=True, closure_ground="")
                | models.Q(status="closed", closed_at__isnull=False, closure_ground__in=rules.GROUNDS),
                name="blue_card_closure_consistent",
            ),
            # A further NK-A while a procedure runs joins that procedure.
            models.UniqueConstraint(
                fields=["subject", "team"], condition=models.Q(status="open"), name="blue_card_one_open_per_zi"
            ),
            # A GDP is formed for one case.
            models.UniqueConstraint(fields=["gdp"], name="blue_card_gdp_serves_one_case"),
        ]

    @property
    def etag(self) -> str:
        return f'"{self.id}-{self.version}"'


class BlueCardStep(models.Model):
    """A step of the procedure, as it happened (`at`) and as it was recorded."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    procedure = models.ForeignKey(BlueCardProcedure, on_delete=models.PROTECT, related_name="steps")
    step = models.CharField(max_length=16)
    at = models.DateTimeField()
    gdp = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # NK-C only: the victim's plan; person data, disclosed only.
    content = SealedField(subject="procedure.subject_id", null=True)
    content_schema = models.CharField(max_length=255, blank=True)
    recorded_by = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    actor = models.CharField(max_length=128)
    recorded_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["procedure", "at"], name="blue_card_step_order")]
        constraints = [
            _known("step", rules.STEPS, "blue_card_step_known"),
            models.UniqueConstraint(
                fields=["procedure", "step"], condition=models.Q(step__in=rules.ONCE), name="blue_card_step_once"
            ),
        ]


class BlueCardPerpetratorRecord(models.Model):
    """The NK-D of a step: what was established with the person suspected of
    violence. Its own table, so that it is never read, exported or erased
    together with the victim's data by accident; every property of its schema
    is `perpetrator`."""

    step = models.OneToOneField(BlueCardStep, on_delete=models.PROTECT, related_name="perpetrator_record")
    document = models.JSONField(encoder=DjangoJSONEncoder)
    schema = models.CharField(max_length=255)


class BlueCardDeadline(models.Model):
    """A statutory deadline, fixed when the step it runs from happens: `due`
    is the last day (in Poland) on which the step is in time."""

    procedure = models.ForeignKey(BlueCardProcedure, on_delete=models.CASCADE, related_name="deadlines")
    step = models.CharField(max_length=16)
    working_days = models.PositiveSmallIntegerField()
    due = models.DateField()
    met_at = models.DateTimeField(null=True, blank=True)
    # The procedure closed before the deadline fell due: it no longer runs.
    voided_at = models.DateTimeField(null=True, blank=True)
    # When `blue_card.deadline_missed` was emitted: once per deadline.
    missed_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["due"], name="blue_card_deadline_pending",
                condition=models.Q(met_at__isnull=True, voided_at__isnull=True, missed_notified_at__isnull=True),
            ),
        ]
        constraints = [
            _known("step", rules.DEADLINE_STEPS, "blue_card_deadline_step_known"),
            models.UniqueConstraint(fields=["procedure", "step"], name="blue_card_deadline_once"),
        ]


class BlueCardBasis(models.Model):
    """A `blue_card_procedure` legal basis the procedure asserted in the ledger
    for one of its teams; closure ends each."""

    procedure = models.ForeignKey(BlueCardProcedure, on_delete=models.PROTECT, related_name="bases")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    provision = models.OneToOneField(Provision, on_delete=models.PROTECT, related_name="+")


class ZiMeeting(models.Model):
    """A meeting of a ZI, recorded by its chair: the team meets at least every
    BLUE_CARD_ZI_MEETING_MONTHS months (the overview shows when next)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    recorded_by = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    actor = models.CharField(max_length=128)
    recorded_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["team", "-at"], name="zi_meeting_latest")]

"""Shared support plans: plan, goals, actions, reviews and their history
(DESIGN.md 4.6). Imported by referrals/models.py, so these are models of the
`referrals` app.

Free text (titles, indicators, baselines, summaries, measures) is person data:
it leaves the hub only inside the plan-content document, through the
disclosure choke point (referrals/plans/documents.py). Every other field is
metadata: ids, codes, dates."""

import uuid

from django.db import models

from agencies.models import Agency, Team
from consent_ledger.models import Subject
from consent_ledger.sealing import SealedField
from schemas.vocabularies import DATA_CATEGORIES, choices, codes

from . import lifecycle

DEFAULT_CATEGORY = "case_notes"


def _known(field: str, values, name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=models.Q(**{f"{field}__in": tuple(values)}), name=name)


def _category_field():
    return models.CharField(
        max_length=32, choices=choices(DATA_CATEGORIES), default=DEFAULT_CATEGORY,
        help_text="the data category of the item's text: what the choke point decides on",
    )


class Plan(models.Model):
    """The support plan of one person, led by the agency that leads the case,
    optionally shared with a team (ZI or GDP). At most one open plan per person."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="plans")
    lead = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="plans_led")
    created_by_actor = models.CharField(max_length=128)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="plans")
    stage = models.CharField(max_length=16, choices=[(s, s) for s in lifecycle.STAGES])
    version = models.PositiveIntegerField(default=1, help_text="bumped on every change of the plan or its parts; the ETag")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    stage_changed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["lead", "-created_at"], name="plan_lead"),
            models.Index(fields=["team", "-created_at"], name="plan_team"),
        ]
        constraints = [
            _known("stage", lifecycle.STAGES, "plan_stage_known"),
            models.UniqueConstraint(
                fields=["subject"], condition=~models.Q(stage=lifecycle.CLOSED), name="plan_one_open_per_subject"
            ),
        ]

    @property
    def etag(self) -> str:
        return f'"{self.id}-{self.version}"'


class PlanStageChange(models.Model):
    """The history of a plan's stage: from, to, by whom, when."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=16, blank=True, help_text="empty when the plan was created")
    to_stage = models.CharField(max_length=16)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    actor = models.CharField(max_length=128)
    at = models.DateTimeField()


class Goal(models.Model):
    """What the person and the team work towards, with an indicator and the
    baseline measured when the goal was set."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="goals")
    category = _category_field()
    title = SealedField(subject="plan.subject_id")
    indicator = SealedField(subject="plan.subject_id", default="")
    baseline = SealedField(subject="plan.subject_id", null=True, help_text="a string or a number")
    created_by_actor = models.CharField(max_length=128)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [_known("category", codes(DATA_CATEGORIES), "plan_goal_category_known")]


class Action(models.Model):
    """Something one agency does for the plan by a date. Its assignee moves it
    on; the lead may move any action."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="actions")
    goal = models.ForeignKey(Goal, null=True, blank=True, on_delete=models.PROTECT, related_name="actions")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="plan_actions")
    category = _category_field()
    title = SealedField(subject="plan.subject_id")
    due_on = models.DateField()
    status = models.CharField(
        max_length=16, choices=[(s, s) for s in lifecycle.ACTION_STATUSES], default=lifecycle.PLANNED
    )
    version = models.PositiveIntegerField(default=1, help_text="bumped on every change of the action; its ETag")
    created_by_actor = models.CharField(max_length=128)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    due_notified_at = models.DateTimeField(null=True, blank=True, help_text="when plan.action_due was emitted")

    class Meta:
        indexes = [
            models.Index(fields=["agency", "status"], name="plan_action_agency"),
            models.Index(
                fields=["due_on"],
                condition=models.Q(status__in=lifecycle.OPEN_ACTION_STATUSES, due_notified_at__isnull=True),
                name="plan_action_due",
            ),
        ]
        constraints = [
            _known("status", lifecycle.ACTION_STATUSES, "plan_action_status_known"),
            _known("category", codes(DATA_CATEGORIES), "plan_action_category_known"),
        ]

    @property
    def etag(self) -> str:
        return f'"{self.id}-{self.version}"'


class ActionTransition(models.Model):
    """The history of an action's status."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16)
    to_status = models.CharField(max_length=16)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    actor = models.CharField(max_length=128)
    at = models.DateTimeField()


class Review(models.Model):
    """An assessment, plan, monitoring or reassessment meeting: the stage it
    found the person in, what it found, and follow-up outcome measures
    (e.g. {"who5": 14} or [{"indicator", "value", "unit"}])."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="reviews")
    kind = models.CharField(max_length=16, choices=[(k, k) for k in lifecycle.REVIEW_KINDS])
    stage = models.CharField(max_length=16, choices=[(s, s) for s in lifecycle.STAGES])
    category = _category_field()
    summary = SealedField(subject="plan.subject_id", default="")
    measures = SealedField(subject="plan.subject_id", null=True)
    at = models.DateTimeField(help_text="when the review took place")
    author = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    created_by_actor = models.CharField(max_length=128)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            _known("kind", lifecycle.REVIEW_KINDS, "plan_review_kind_known"),
            _known("stage", lifecycle.STAGES, "plan_review_stage_known"),
            _known("category", codes(DATA_CATEGORIES), "plan_review_category_known"),
        ]

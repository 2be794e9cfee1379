"""Shared support plans (DESIGN.md 6.2): plans, goals, actions, reviews,
stage changes and action transitions. Text reaches a reader only in GET
plans/{id} (disclosed for `team_plan`); every other answer is metadata."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api.errors import ValidationFailed
from hub.api.idempotency import IdempotentCreateMixin
from hub.api.pagination import CursorPagination
from hub.api.params import choice_param, uuid_param
from hub.api.preconditions import optional_if_match, require_if_match
from hub.api.schema import IF_MATCH, IF_MATCH_OPTIONAL, etag_header, location_header
from hub.api.serializers import CodeField, InputSerializer, ServiceCheckedCodeField
from schemas.vocabularies import DATA_CATEGORIES, codes

from ..plans import lifecycle, services
from ..plans.models import DEFAULT_CATEGORY
from ..plans.selectors import PURPOSE, plan_list_for_agency, plan_read, plans_with_basis

CATEGORIES = list(codes(DATA_CATEGORIES))


# --- Output: metadata ------------------------------------------------------------------


class PlanSummaryOutput(serializers.Serializer):
    """Metadata only: never the text of a goal, action or review."""

    id = serializers.UUIDField()
    subject = serializers.UUIDField(source="subject_id")
    lead = serializers.UUIDField(source="lead_id")
    team = serializers.UUIDField(source="team_id", allow_null=True)
    stage = serializers.ChoiceField(choices=lifecycle.STAGES)
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    stage_changed_at = serializers.DateTimeField()


class PlanGoalOutput(serializers.Serializer):
    id = serializers.UUIDField()
    plan = serializers.UUIDField(source="plan_id")
    category = serializers.ChoiceField(choices=CATEGORIES)
    created_at = serializers.DateTimeField()


class PlanActionOutput(serializers.Serializer):
    id = serializers.UUIDField()
    plan = serializers.UUIDField(source="plan_id")
    goal = serializers.UUIDField(source="goal_id", allow_null=True)
    agency = serializers.UUIDField(source="agency_id")
    category = serializers.ChoiceField(choices=CATEGORIES)
    due_on = serializers.DateField()
    status = serializers.ChoiceField(choices=lifecycle.ACTION_STATUSES)
    version = serializers.IntegerField()
    etag = serializers.CharField(help_text="send as If-Match to move the action")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class PlanReviewOutput(serializers.Serializer):
    id = serializers.UUIDField()
    plan = serializers.UUIDField(source="plan_id")
    kind = serializers.ChoiceField(choices=lifecycle.REVIEW_KINDS)
    stage = serializers.ChoiceField(choices=lifecycle.STAGES)
    category = serializers.ChoiceField(choices=CATEGORIES)
    at = serializers.DateTimeField()
    author = serializers.UUIDField(source="author_id")


# --- Output: the disclosed plan ---------------------------------------------------------


class PlanGoalDisclosedOutput(PlanGoalOutput):
    title = serializers.CharField()
    indicator = serializers.CharField(required=False)
    baseline = serializers.JSONField(required=False, help_text="a string or a number")


class PlanActionDisclosedOutput(PlanActionOutput):
    title = serializers.CharField(
        required=False, help_text="absent on your own action when its category is withheld from you"
    )


class PlanReviewDisclosedOutput(PlanReviewOutput):
    summary = serializers.CharField(required=False)
    measures = serializers.JSONField(required=False, help_text='{"who5": 14} or [{indicator, value, unit}]')


class PlanDetailOutput(PlanSummaryOutput):
    goals = PlanGoalDisclosedOutput(many=True)
    actions = PlanActionDisclosedOutput(many=True)
    reviews = PlanReviewDisclosedOutput(many=True)
    withheld_categories = serializers.ListField(child=CodeField(CATEGORIES))


def _merged(output_class, item, text: dict | None) -> dict:
    released = {k: v for k, v in (text or {}).items() if k != "id"}
    return {**output_class(item).data, **released}


def _detail(view) -> dict:
    return {
        **PlanSummaryOutput(view.plan).data,
        "goals": [_merged(PlanGoalOutput, goal, text) for goal, text in view.goals],
        "actions": [_merged(PlanActionOutput, action, text) for action, text in view.actions],
        "reviews": [_merged(PlanReviewOutput, review, text) for review, text in view.reviews],
        "withheld_categories": view.disclosed.withheld_categories,
    }


# --- Views ------------------------------------------------------------------------------


class PlanPagination(CursorPagination):
    ordering = ("-created_at", "-id")


def _parsed(input_class, request) -> dict:
    data = input_class(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


class PlanListCreateApi(IdempotentCreateMixin, ListAPIView):
    """GET: the plans you lead or take part in (metadata; a page may hold
    fewer than page_size items: follow `next` until it is null). POST: open
    a person's plan, which you then lead."""

    required_scopes = {"GET": ["plans:read"], "POST": ["plans:write"]}
    serializer_class = PlanSummaryOutput
    pagination_class = PlanPagination

    class PlanCreateInput(InputSerializer):
        subject = serializers.UUIDField()
        team = serializers.UUIDField(required=False, allow_null=True, default=None)
        stage = serializers.ChoiceField(choices=lifecycle.OPEN_STAGES)

    @extend_schema(parameters=[
        OpenApiParameter("stage", str, enum=list(lifecycle.STAGES)),
        OpenApiParameter("team", str, description="a team id"),
    ])
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        visible = plans_with_basis(request.caller, page)
        return self.get_paginated_response(PlanSummaryOutput(visible, many=True).data)

    def get_queryset(self):
        params = self.request.query_params
        return plan_list_for_agency(
            self.request.caller, stage=choice_param(params, "stage", lifecycle.STAGES), team_id=uuid_param(params, "team")
        )

    @extend_schema(request=PlanCreateInput, responses={201: PlanSummaryOutput}, parameters=[etag_header(201), location_header(201)])
    def post(self, request):
        values = _parsed(self.PlanCreateInput, request)
        plan = services.plan_create(
            caller=request.caller, subject_id=values["subject"], stage=values["stage"], team_id=values["team"]
        )
        return Response(
            PlanSummaryOutput(plan).data, status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/plans/{plan.id}", "ETag": plan.etag},
        )


class PlanDetailApi(APIView):
    """The plan disclosed to you for `team_plan`: goals, actions and reviews
    in the categories you may receive; your own actions always, without
    their title when their category is withheld. Recorded in the person's
    accounting of disclosures (unless you lead the plan)."""

    required_scopes = ["plans:read"]

    @extend_schema(
        parameters=[
            OpenApiParameter("purpose", str, enum=[PURPOSE], required=False, description="Always team_plan."),
            etag_header(200),
        ],
        responses=PlanDetailOutput,
    )
    def get(self, request, plan_id):
        if request.query_params.get("purpose", PURPOSE) != PURPOSE:
            raise ValidationFailed(
                _("A plan is disclosed for team_plan only."),
                errors=[{"parameter": "purpose", "detail": _("Must be %(value)s.") % {"value": PURPOSE}}],
            )
        view = plan_read(request.caller, plan_id)
        return Response(_detail(view), headers={"ETag": view.plan.etag})


class PlanStageApi(APIView):
    """Move the plan to another stage (the lead). Send If-Match with the plan's
    ETag (GET plans/{id}): without it 428, when the plan changed since 412."""

    required_scopes = ["plans:write"]

    class PlanStageInput(InputSerializer):
        stage = serializers.ChoiceField(choices=lifecycle.STAGES)

    @extend_schema(request=PlanStageInput, responses=PlanSummaryOutput, parameters=[IF_MATCH, etag_header(200)])
    def post(self, request, plan_id):
        if_match = require_if_match(request, what="plan")
        values = _parsed(self.PlanStageInput, request)
        plan = services.plan_stage_change(caller=request.caller, plan_id=plan_id, stage=values["stage"], if_match=if_match)
        return Response(PlanSummaryOutput(plan).data, headers={"ETag": plan.etag})


class PlanGoalCreateApi(IdempotentCreateMixin, APIView):
    """Add a goal (the lead). Its text is in `category` (default case_notes)."""

    required_scopes = ["plans:write"]

    class PlanGoalInput(InputSerializer):
        title = serializers.CharField(max_length=500)
        indicator = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)
        baseline = serializers.JSONField(required=False, allow_null=True, default=None, help_text="a string or a number")
        category = ServiceCheckedCodeField(CATEGORIES, required=False, default=DEFAULT_CATEGORY)

    @extend_schema(request=PlanGoalInput, responses={201: PlanGoalOutput}, parameters=[IF_MATCH_OPTIONAL])
    def post(self, request, plan_id):
        if_match = optional_if_match(request)
        values = _parsed(self.PlanGoalInput, request)
        goal = services.plan_goal_add(caller=request.caller, plan_id=plan_id, if_match=if_match, **values)
        return Response(PlanGoalOutput(goal).data, status=status.HTTP_201_CREATED)


class PlanActionCreateApi(IdempotentCreateMixin, APIView):
    """Assign an action to an agency (the lead): with a team, one of its
    members with access. Its title is in `category` (default case_notes)."""

    required_scopes = ["plans:write"]

    class PlanActionInput(InputSerializer):
        goal = serializers.UUIDField(required=False, allow_null=True, default=None)
        agency = serializers.UUIDField()
        title = serializers.CharField(max_length=500)
        due_on = serializers.DateField()
        category = ServiceCheckedCodeField(CATEGORIES, required=False, default=DEFAULT_CATEGORY)

    @extend_schema(request=PlanActionInput, responses={201: PlanActionOutput}, parameters=[IF_MATCH_OPTIONAL, etag_header(201)])
    def post(self, request, plan_id):
        if_match = optional_if_match(request)
        values = _parsed(self.PlanActionInput, request)
        action = services.plan_action_add(
            caller=request.caller, plan_id=plan_id, agency_id=values["agency"], goal_id=values["goal"],
            title=values["title"], due_on=values["due_on"], category=values["category"], if_match=if_match,
        )
        return Response(PlanActionOutput(action).data, status=status.HTTP_201_CREATED, headers={"ETag": action.etag})


class PlanReviewCreateApi(IdempotentCreateMixin, APIView):
    """Record a review (the lead): assessment, plan, monitoring or
    reassessment, the stage it found, a summary and follow-up measures."""

    required_scopes = ["plans:write"]

    class PlanReviewInput(InputSerializer):
        kind = serializers.ChoiceField(choices=lifecycle.REVIEW_KINDS, required=False, default=lifecycle.MONITORING)
        stage = serializers.ChoiceField(choices=lifecycle.STAGES, required=False, allow_null=True, default=None)
        summary = serializers.CharField(max_length=10000, required=False, default="", allow_blank=True)
        measures = serializers.JSONField(required=False, allow_null=True, default=None,
                                         help_text='{"who5": 14} or [{"indicator", "value", "unit"}]')
        category = ServiceCheckedCodeField(CATEGORIES, required=False, default=DEFAULT_CATEGORY)
        at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    @extend_schema(request=PlanReviewInput, responses={201: PlanReviewOutput}, parameters=[IF_MATCH_OPTIONAL])
    def post(self, request, plan_id):
        if_match = optional_if_match(request)
        values = _parsed(self.PlanReviewInput, request)
        review = services.plan_review_add(caller=request.caller, plan_id=plan_id, if_match=if_match, **values)
        return Response(PlanReviewOutput(review).data, status=status.HTTP_201_CREATED)


class PlanActionTransitionApi(APIView):
    """Move an action on: its assignee, or the plan's lead. Send If-Match
    with the action's ETag (its `etag` member): without it 428, when the
    action changed since 412."""

    required_scopes = ["plans:write"]

    class PlanActionTransitionInput(InputSerializer):
        status = serializers.ChoiceField(choices=lifecycle.ACTION_TARGET_STATUSES)

    @extend_schema(request=PlanActionTransitionInput, responses=PlanActionOutput, parameters=[IF_MATCH, etag_header(200)])
    def post(self, request, action_id):
        if_match = require_if_match(request, what="action")
        values = _parsed(self.PlanActionTransitionInput, request)
        action = services.plan_action_transition(
            caller=request.caller, action_id=action_id, to=values["status"], if_match=if_match
        )
        return Response(PlanActionOutput(action).data, headers={"ETag": action.etag})

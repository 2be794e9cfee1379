"""The Blue Card procedure (DESIGN.md 6.2): open it from an NK-A, record its
steps, close it, the per-team overview of procedures and deadlines, and the
ZI's meetings.

Tenancy: a procedure exists only for agencies with access to its ZI or GDP;
everyone else gets a 404 and nothing is written for them. What the forms say
about people (NK-A, NK-C, NK-D) reaches a reader only through the disclosure
choke point, for the purpose `team_plan`."""

from datetime import UTC

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api.idempotency import IdempotentCreateMixin
from hub.api.pagination import CursorPagination
from hub.api.params import choice_param, uuid_param
from hub.api.preconditions import require_if_match
from hub.api.schema import IF_MATCH, etag_header, location_header
from hub.api.serializers import CodeField, InputSerializer
from schemas.vocabularies import DATA_CATEGORIES, codes

from ..blue_card import rules, services
from ..blue_card.models import BlueCardProcedure
from ..blue_card.selectors import blue_card_list_for_agency, blue_card_overview, blue_card_read, deadline_views


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO-8601 time that must carry its zone: "09:30" in a Polish office
    read as UTC would move a deadline by a day around midnight."""

    default_error_messages = {"naive": gettext_lazy("Give the time with its zone, e.g. 2026-03-02T09:30:00+01:00.")}

    def enforce_timezone(self, value):
        if value.tzinfo is None:
            self.fail("naive")
        return value.astimezone(UTC)


class DeadlineOutput(serializers.Serializer):
    step = CodeField(rules.DEADLINE_STEPS, help_text="The step that meets it.")
    due = serializers.DateField(help_text="The last day in time, in Poland (working days, the start day not counted).")
    met_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField(help_text="Not met and past due, while the procedure is open.")
    met_in_time = serializers.BooleanField(
        allow_null=True, help_text="Null while the deadline runs, or when the procedure closed before it fell due."
    )


def _deadlines(procedure) -> list:
    return DeadlineOutput(deadline_views(procedure), many=True).data


class BlueCardSummaryOutput(serializers.Serializer):
    """Metadata only: never what the forms say about people."""

    id = serializers.UUIDField()
    subject = serializers.UUIDField(source="subject_id")
    team = serializers.UUIDField(source="team_id", help_text="The ZI.")
    gdp = serializers.UUIDField(source="gdp_id", allow_null=True)
    status = CodeField(BlueCardProcedure.STATUSES)
    opened_at = serializers.DateTimeField()
    opened_by = serializers.UUIDField(source="opened_by_id")
    opened_by_kind = serializers.ChoiceField(choices=rules.NKA_OPENER_KINDS)
    closure_ground = CodeField(rules.GROUNDS, allow_blank=True, help_text="Empty while open.")
    closed_at = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    deadlines = serializers.SerializerMethodField()

    @extend_schema_field(DeadlineOutput(many=True))
    def get_deadlines(self, procedure):
        return _deadlines(procedure)


class BlueCardCreatedOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = CodeField(BlueCardProcedure.STATUSES, help_text="open")
    deadlines = DeadlineOutput(many=True)


class BlueCardPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class BlueCardListCreateApi(IdempotentCreateMixin, ListAPIView):
    """GET: the procedures of the caller's teams (metadata and deadlines).
    POST: open a procedure from an NK-A, in a ZI the caller is a member of."""

    required_scopes = {"GET": ["plans:read"], "POST": ["plans:write"]}
    serializer_class = BlueCardSummaryOutput
    pagination_class = BlueCardPagination

    class BlueCardCreateInput(InputSerializer):
        subject = serializers.UUIDField()
        team = serializers.UUIDField(help_text="The ZI.")
        opened_at = AwareDateTimeField(help_text="When the NK-A was filled in.")
        opened_by_kind = serializers.ChoiceField(choices=rules.NKA_OPENER_KINDS, help_text="Your agency's kind.")
        forms_of_violence = serializers.ListField(
            child=serializers.ChoiceField(choices=rules.FORMS_OF_VIOLENCE), min_length=1, max_length=len(rules.FORMS_OF_VIOLENCE)
        )
        children_in_household = serializers.IntegerField(min_value=0, max_value=rules.MAX_CHILDREN)

    @extend_schema(parameters=[
        OpenApiParameter("team", str, description="A ZI or GDP id: its procedures only"),
        OpenApiParameter("overdue", str, enum=["true", "false"], description="true: open ones with a deadline missed"),
        OpenApiParameter("status", str, enum=list(BlueCardProcedure.STATUSES)),
    ])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        overdue = choice_param(params, "overdue", ("true", "false"))
        return blue_card_list_for_agency(
            self.request.caller, team_id=uuid_param(params, "team"), overdue=overdue == "true",
            status=choice_param(params, "status", BlueCardProcedure.STATUSES),
        )

    @extend_schema(
        request=BlueCardCreateInput, responses={201: BlueCardCreatedOutput},
        parameters=[etag_header(201), location_header(201)],
    )
    def post(self, request):
        data = self.BlueCardCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        procedure = services.blue_card_open(
            caller=request.caller, subject_id=values["subject"], team_id=values["team"],
            opened_at=values["opened_at"], opened_by_kind=values["opened_by_kind"],
            forms_of_violence=values["forms_of_violence"], children_in_household=values["children_in_household"],
        )
        body = {"id": str(procedure.id), "status": procedure.status, "deadlines": _deadlines(procedure)}
        return Response(
            body, status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/blue-cards/{procedure.id}", "ETag": procedure.etag},
        )


class StepOutput(serializers.Serializer):
    id = serializers.UUIDField()
    step = serializers.ChoiceField(choices=rules.STEPS)
    at = serializers.DateTimeField()
    gdp = serializers.UUIDField(source="gdp_id", allow_null=True)
    recorded_by = serializers.UUIDField(source="recorded_by_id")
    recorded_at = serializers.DateTimeField()


class DisclosedStepOutput(StepOutput):
    content = serializers.JSONField(
        allow_null=True, help_text="NK-C or NK-D as released to you (blue-card-nkc, blue-card-nkd schemas)."
    )
    withheld_categories = serializers.ListField(child=CodeField(codes(DATA_CATEGORIES)))


class BlueCardDetailOutput(BlueCardSummaryOutput):
    nka = serializers.JSONField(help_text="The NK-A's person data as released to you (blue-card-nka schema).")
    steps = DisclosedStepOutput(many=True)
    withheld_categories = serializers.ListField(child=CodeField(codes(DATA_CATEGORIES)))


def _step(view) -> dict:
    content = view.content
    return {
        **StepOutput(view.step).data,
        "content": content.document if content else None,
        "withheld_categories": content.withheld_categories if content else [],
    }


class BlueCardDetailApi(APIView):
    """One procedure: its steps and deadlines, and the forms disclosed to you
    for `team_plan` (an NK-D only with a basis for `perpetrator`)."""

    required_scopes = ["plans:read"]

    @extend_schema(responses=BlueCardDetailOutput, parameters=[etag_header(200)])
    def get(self, request, procedure_id):
        view = blue_card_read(request.caller, procedure_id)
        body = {
            **BlueCardSummaryOutput(view.procedure).data,
            "nka": view.nka.document,
            "steps": [_step(step) for step in view.steps],
            "withheld_categories": view.withheld_categories,
        }
        return Response(body, headers={"ETag": view.procedure.etag})


class StepCreatedOutput(StepOutput):
    procedure = serializers.UUIDField(source="procedure_id")
    deadlines = serializers.SerializerMethodField()

    @extend_schema_field(DeadlineOutput(many=True))
    def get_deadlines(self, step):
        return _deadlines(step.procedure)


class BlueCardStepCreateApi(IdempotentCreateMixin, APIView):
    """Record a step. The ZI's chair records nka_to_chair and gdp_formed (with
    `gdp`, a GDP under the procedure's ZI); the GDP's members record
    gdp_meeting, nkc and nkd (with `content`); monitoring follows closure (GDP
    members or the chair). Out of order: 409. Send `If-Match` with the ETag
    you read (GET blue-cards/{id}): without it 428, when the procedure
    changed since 412."""

    required_scopes = ["plans:write"]

    class StepInput(InputSerializer):
        step = serializers.ChoiceField(choices=rules.STEPS)
        at = AwareDateTimeField(help_text="When the step happened.")
        gdp = serializers.UUIDField(required=False, allow_null=True, default=None)
        content = serializers.JSONField(required=False, default=None, help_text="nkc, nkd: the form's content.")

    @extend_schema(request=StepInput, responses={201: StepCreatedOutput}, parameters=[IF_MATCH, etag_header(201)])
    def post(self, request, procedure_id):
        if_match = require_if_match(request, what="procedure")
        data = self.StepInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        step = services.blue_card_step_record(
            caller=request.caller, procedure_id=procedure_id, step=values["step"], at=values["at"],
            gdp_id=values["gdp"], content=values["content"], if_match=if_match,
        )
        return Response(
            StepCreatedOutput(step).data, status=status.HTTP_201_CREATED, headers={"ETag": step.procedure.etag}
        )


class BlueCardCloseApi(APIView):
    """Close the procedure (the ZI's chair): `violence_ceased` (after the NK-C
    plan) or `groundless`. Ends the procedure's legal bases. Closing a closed
    procedure: 409. Send `If-Match` (428 without it)."""

    required_scopes = ["plans:write"]

    class CloseInput(InputSerializer):
        ground = serializers.ChoiceField(choices=rules.GROUNDS)
        at = AwareDateTimeField()

    @extend_schema(request=CloseInput, responses=BlueCardSummaryOutput, parameters=[IF_MATCH, etag_header(200)])
    def post(self, request, procedure_id):
        if_match = require_if_match(request, what="procedure")
        data = self.CloseInput(data=request.data)
        data.is_valid(raise_exception=True)
        procedure = services.blue_card_close(
            caller=request.caller, procedure_id=procedure_id, ground=data.validated_data["ground"],
            at=data.validated_data["at"], if_match=if_match,
        )
        return Response(BlueCardSummaryOutput(procedure).data, headers={"ETag": procedure.etag})


# --- The per-team overview and the ZI's meetings ----------------------------------------------


class OpenProcedureOutput(serializers.Serializer):
    id = serializers.UUIDField(source="procedure.id")
    subject = serializers.UUIDField(source="procedure.subject_id")
    gdp = serializers.UUIDField(source="procedure.gdp_id", allow_null=True)
    opened_at = serializers.DateTimeField(source="procedure.opened_at")
    next_deadline = DeadlineOutput(allow_null=True)


class DeadlineRecordOutput(serializers.Serializer):
    since = serializers.DateField()
    until = serializers.DateField()
    decided = serializers.IntegerField(help_text="Deadlines due in the period that were met or passed.")
    met_in_time = serializers.IntegerField()
    share_met = serializers.FloatField(allow_null=True)


class ZiMeetingsOutput(serializers.Serializer):
    last_at = serializers.DateTimeField(allow_null=True)
    next_due = serializers.DateField(allow_null=True)
    overdue = serializers.BooleanField()


class TeamOverviewOutput(serializers.Serializer):
    team = serializers.UUIDField(source="team.id")
    kind = serializers.CharField(source="team.kind")
    open_procedures = OpenProcedureOutput(many=True)
    deadlines_last_12_months = DeadlineRecordOutput(source="deadlines")
    zi_meetings = ZiMeetingsOutput(allow_null=True, help_text="For a ZI: it meets at least every 3 months.")


class TeamBlueCardOverviewApi(APIView):
    """For one of your teams (ZI or GDP): its open procedures with their next
    deadline, the share of its deadlines met in time in the last 12 months,
    and, for a ZI, when it has to meet next."""

    required_scopes = ["plans:read"]

    @extend_schema(responses=TeamOverviewOutput)
    def get(self, request, team_id):
        return Response(TeamOverviewOutput(blue_card_overview(request.caller, team_id)).data)


class ZiMeetingOutput(serializers.Serializer):
    id = serializers.UUIDField()
    team = serializers.UUIDField(source="team_id")
    at = serializers.DateTimeField()


class ZiMeetingCreateApi(IdempotentCreateMixin, APIView):
    """The ZI's chair records a meeting of the ZI."""

    required_scopes = ["plans:write"]

    class ZiMeetingInput(InputSerializer):
        at = AwareDateTimeField()

    @extend_schema(request=ZiMeetingInput, responses={201: ZiMeetingOutput})
    def post(self, request, team_id):
        data = self.ZiMeetingInput(data=request.data)
        data.is_valid(raise_exception=True)
        meeting = services.zi_meeting_record(caller=request.caller, team_id=team_id, at=data.validated_data["at"])
        return Response(ZiMeetingOutput(meeting).data, status=status.HTTP_201_CREATED)

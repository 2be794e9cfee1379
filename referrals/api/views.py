"""Referrals, transitions, case updates and the published schemas (DESIGN.md 6)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api.errors import NotFoundError
from hub.api.idempotency import IdempotentCreateMixin
from hub.api.pagination import CursorPagination
from hub.api.params import choice_param, time_param
from hub.api.serializers import InputSerializer
from schemas.registry import UnknownSchema, get_registry
from schemas.vocabularies import REFERRAL_SERVICES, codes

from .. import lifecycle, services
from ..models import URGENCIES, CaseUpdate
from ..selectors import INBOX, OUTBOX, case_update_list, referral_list_for_agency, referral_read


class ReferralSummaryOutput(serializers.Serializer):
    """Metadata only: never a payload, a profile or a reason."""

    id = serializers.UUIDField()
    sender = serializers.UUIDField(source="sender_id")
    recipient = serializers.UUIDField(source="recipient_id")
    subject = serializers.UUIDField(source="subject_id")
    service = serializers.CharField()
    urgency = serializers.CharField()
    purpose = serializers.CharField()
    status = serializers.CharField()
    acknowledge_by = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ReferralDetailOutput(ReferralSummaryOutput):
    outcome = serializers.JSONField(allow_null=True)
    received_at = serializers.DateTimeField(allow_null=True)
    accepted_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    rejected_at = serializers.DateTimeField(allow_null=True)
    failed_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)


def _detail(view) -> dict:
    referral = view.referral
    return {
        **ReferralDetailOutput(referral).data,
        "reason": view.reason,
        "status_reason": view.status_reason,
        "payload": view.payload.document,
        "withheld_categories": view.withheld_categories,
        "subject": {
            "id": str(referral.subject_id),
            "profile": view.profile.document,
            "withheld_categories": view.profile.withheld_categories,
        },
    }


class ReferralPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class ReferralListCreateApi(IdempotentCreateMixin, ListAPIView):
    """GET: the caller's referrals (metadata). POST: send a referral."""

    required_scopes = {"GET": ["referrals:read"], "POST": ["referrals:write"]}
    serializer_class = ReferralSummaryOutput
    pagination_class = ReferralPagination

    class ReferralCreateInput(InputSerializer):
        subject = serializers.UUIDField()
        to_agency = serializers.UUIDField()
        service = serializers.CharField(max_length=32)
        urgency = serializers.CharField(max_length=16)
        purpose = serializers.CharField(max_length=32)
        payload = serializers.DictField()
        reason = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
        withhold_categories = serializers.ListField(
            child=serializers.CharField(max_length=32), required=False, default=list, max_length=20
        )

    @extend_schema(parameters=[
        OpenApiParameter("box", str, enum=[INBOX, OUTBOX]),
        OpenApiParameter("status", str, enum=list(lifecycle.STATUSES)),
        OpenApiParameter("service", str, enum=list(codes(REFERRAL_SERVICES))),
        OpenApiParameter("urgency", str, enum=list(URGENCIES)),
        OpenApiParameter("created_after", str, description="ISO-8601 time"),
        OpenApiParameter("created_before", str, description="ISO-8601 time"),
    ])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        filters = {
            "box": choice_param(params, "box", (INBOX, OUTBOX)),
            "status": choice_param(params, "status", lifecycle.STATUSES),
            "service": choice_param(params, "service", codes(REFERRAL_SERVICES)),
            "urgency": choice_param(params, "urgency", URGENCIES),
            "created_after": time_param(params, "created_after"),
            "created_before": time_param(params, "created_before"),
        }
        return referral_list_for_agency(self.request.caller, **filters)

    @extend_schema(request=ReferralCreateInput, responses={201: ReferralSummaryOutput})
    def post(self, request):
        data = self.ReferralCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        referral = services.referral_create(
            caller=request.caller, subject_id=values["subject"], to_agency_id=values["to_agency"],
            service=values["service"], urgency=values["urgency"], purpose=values["purpose"],
            payload=values["payload"], reason=values["reason"], withhold_categories=values["withhold_categories"],
        )
        return Response(
            ReferralSummaryOutput(referral).data, status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/referrals/{referral.id}", "ETag": referral.etag},
        )


class ReferralDetailApi(APIView):
    """The referral with its payload and subject profile, disclosed to the caller."""

    required_scopes = ["referrals:read"]

    @extend_schema(responses=ReferralDetailOutput)
    def get(self, request, referral_id):
        view = referral_read(request.caller, referral_id)
        return Response(_detail(view), headers={"ETag": view.referral.etag})


class ReferralTransitionApi(APIView):
    """Move the referral on: the recipient forward, the sender to cancelled.
    Send `If-Match` with the ETag you read to avoid overwriting a change."""

    required_scopes = ["referrals:write"]

    class TransitionInput(InputSerializer):
        status = serializers.ChoiceField(choices=lifecycle.STATUSES)
        reason = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
        outcome = serializers.JSONField(required=False, default=None)

    @extend_schema(request=TransitionInput, responses=ReferralSummaryOutput,
                   parameters=[OpenApiParameter("If-Match", str, location=OpenApiParameter.HEADER, required=False)])
    def post(self, request, referral_id):
        data = self.TransitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        referral = services.referral_transition(
            caller=request.caller, referral_id=referral_id, to=data.validated_data["status"],
            reason=data.validated_data["reason"], outcome=data.validated_data["outcome"],
            if_match=request.headers.get("If-Match"),
        )
        return Response(ReferralSummaryOutput(referral).data, headers={"ETag": referral.etag})


class CaseUpdateOutput(serializers.Serializer):
    id = serializers.UUIDField()
    author = serializers.UUIDField(source="author_id")
    kind = serializers.CharField()
    created_at = serializers.DateTimeField()


class CaseUpdateListCreateApi(IdempotentCreateMixin, APIView):
    """Case updates of a referral, from either side; disclosed on read."""

    required_scopes = {"GET": ["referrals:read"], "POST": ["referrals:write"]}

    class CaseUpdateInput(InputSerializer):
        kind = serializers.ChoiceField(choices=CaseUpdate.KINDS)
        payload = serializers.DictField()

    @extend_schema(responses=CaseUpdateOutput(many=True))
    def get(self, request, referral_id):
        views = case_update_list(request.caller, referral_id)
        results = [
            {**CaseUpdateOutput(v.update).data, "payload": v.payload.document, "withheld_categories": v.payload.withheld_categories}
            for v in views
        ]
        return Response({"results": results})

    @extend_schema(request=CaseUpdateInput, responses={201: CaseUpdateOutput})
    def post(self, request, referral_id):
        data = self.CaseUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        update = services.case_update_add(caller=request.caller, referral_id=referral_id, **data.validated_data)
        return Response(CaseUpdateOutput(update).data, status=status.HTTP_201_CREATED)


class SchemaListApi(APIView):
    """The published JSON Schemas (profiles, referral payloads, case updates).
    Public: schemas hold no person data, and partners build against them."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(operation_id="schemas_list", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        registry = get_registry()
        return Response({"results": [{"name": name, "id": registry.schema_id(name)} for name in registry.names()]})


class SchemaDetailApi(APIView):
    """One schema, by name ("referral-shelter"), name/version or $id."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(operation_id="schemas_retrieve", responses={200: OpenApiTypes.OBJECT})
    def get(self, request, name):
        try:
            return Response(get_registry().get(name))
        except UnknownSchema:
            raise NotFoundError(f"No schema {name!r}.")

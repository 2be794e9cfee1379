"""Referrals, transitions, case updates and the published schemas (DESIGN.md 6)."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api.errors import NotFoundError
from hub.api.idempotency import IdempotentCreateMixin
from hub.api.pagination import CursorPagination
from hub.api.params import choice_param, time_param
from hub.api.preconditions import require_if_match
from hub.api.schema import IF_MATCH, etag_header, location_header
from hub.api.serializers import CodeField, InputSerializer, ServiceCheckedCodeField
from schemas.registry import UnknownSchema, get_registry
from schemas.vocabularies import DATA_CATEGORIES, PURPOSES, REFERRAL_SERVICES, codes

from .. import lifecycle, services
from ..models import URGENCIES, CaseUpdate
from ..selectors import (
    INBOX,
    OUTBOX,
    case_update_list,
    referral_list_for_agency,
    referral_read,
)

CATEGORIES = codes(DATA_CATEGORIES)
BOXES = (INBOX, OUTBOX)


class ReferralSummaryOutput(serializers.Serializer):
    """Metadata only: never a payload, a profile or a reason."""

    id = serializers.UUIDField()
    sender = serializers.UUIDField(source="sender_id")
    recipient = serializers.UUIDField(source="recipient_id")
    subject = serializers.UUIDField(source="subject_id")
    service = CodeField(codes(REFERRAL_SERVICES))
    urgency = CodeField(URGENCIES)
    purpose = CodeField(codes(PURPOSES))
    status = CodeField(lifecycle.STATUSES)
    acknowledge_by = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ReferralOutcomeOutput(serializers.Serializer):
    success = serializers.BooleanField()
    reason = CodeField(lifecycle.OUTCOME_REASONS, required=False, help_text="Required when success is false.")


@extend_schema_field(ReferralOutcomeOutput)
class OutcomeField(serializers.JSONField):
    """The outcome exactly as recorded, documented as ReferralOutcomeOutput."""


class ReferralSubjectOutput(serializers.Serializer):
    id = serializers.UUIDField()
    profile = serializers.DictField(help_text="The profile (schemas/subject) pruned to what you may receive.")
    withheld_categories = serializers.ListField(child=CodeField(CATEGORIES))


class ReferralRecordOutput(ReferralSummaryOutput):
    """The referral's own metadata: what GET referrals/{id} adds to the summary from the row."""

    outcome = OutcomeField(allow_null=True, help_text="Set when completed or failed.")
    received_at = serializers.DateTimeField(allow_null=True)
    accepted_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    rejected_at = serializers.DateTimeField(allow_null=True)
    failed_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    directory_service = serializers.UUIDField(
        source="directory_service_id", allow_null=True,
        help_text="The directory service the sender picked (GET directory/services/{id}), if any.",
    )


# Documents the answer only: `_detail` fills the disclosed members in from the
# choke point's results, never from the row.
class ReferralDetailOutput(ReferralRecordOutput):
    """The referral as disclosed to you: the payload, the person's profile and
    the texts pruned to the categories you may receive (each read is recorded in
    the person's accounting of disclosures), and what was withheld."""

    reason = serializers.CharField(
        allow_null=True, allow_blank=True,
        help_text="The sender's reason (case_notes): null when withheld from you, empty when none was given.",
    )
    status_reason = serializers.CharField(
        allow_null=True, allow_blank=True,
        help_text="Why the status last changed (case_notes): null when withheld from you, empty when none.",
    )
    payload = serializers.DictField(help_text="The payload (schemas/referral-<service>) pruned to what you may receive.")
    withheld_categories = serializers.ListField(
        child=CodeField(CATEGORIES), help_text="Categories of the payload and texts withheld from you."
    )
    subject = ReferralSubjectOutput()


# A serializer that only renders keeps no state between calls: one instance
# renders every answer instead of deep-copying its fields per request (issue 11).
_RECORD = ReferralRecordOutput()
_SUMMARY = ReferralSummaryOutput()


def _detail(view) -> dict:
    referral = view.referral
    return {
        **_RECORD.to_representation(referral),
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


def transition_table() -> str:
    """The referral state machine as a Markdown table, from referrals.lifecycle
    itself: the published description cannot drift from what is enforced."""
    rows = []
    for (frm, to), party in lifecycle.TRANSITIONS.items():
        needs = []
        if to in lifecycle.NEEDS_REASON:
            needs.append("`reason`")
        if to in lifecycle.NEEDS_OUTCOME:
            needs.append("`outcome`" + (" (`success: false`)" if to == lifecycle.FAILED else ""))
        rows.append(f"| `{frm}` | `{to}` | {party} | {', '.join(needs) or '-'} |")
    return "\n".join(["| from | to | who | must send |", "|---|---|---|---|", *rows])


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
        service = ServiceCheckedCodeField(
            codes(REFERRAL_SERVICES), help_text="The payload follows schemas/referral-<service>."
        )
        urgency = ServiceCheckedCodeField(URGENCIES)
        purpose = ServiceCheckedCodeField(codes(PURPOSES))
        payload = serializers.DictField()
        reason = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
        withhold_categories = serializers.ListField(
            child=ServiceCheckedCodeField(CATEGORIES), required=False, default=list, max_length=20,
            help_text="Categories the recipient must never receive from you about this person.",
        )
        directory_service = serializers.UUIDField(
            required=False, allow_null=True, default=None,
            help_text=(
                "Optional: the recipient's service you picked from GET directory/services (active, of this "
                "`service`). Accepting the referral takes one of its free places; ending it gives it back."
            ),
        )

    @extend_schema(description="The referrals you sent or received, newest first: metadata only.", parameters=[
        OpenApiParameter("box", str, enum=list(BOXES)),
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
            "box": choice_param(params, "box", BOXES),
            "status": choice_param(params, "status", lifecycle.STATUSES),
            "service": choice_param(params, "service", codes(REFERRAL_SERVICES)),
            "urgency": choice_param(params, "urgency", URGENCIES),
            "created_after": time_param(params, "created_after"),
            "created_before": time_param(params, "created_before"),
        }
        return referral_list_for_agency(self.request.caller, **filters)

    @extend_schema(
        description=(
            "Send a referral. When you own the person's record, data that no basis lets the recipient "
            "receive is refused (422, each member named) unless you list its category in withhold_categories."
        ),
        request=ReferralCreateInput, responses={201: ReferralSummaryOutput},
        parameters=[etag_header(201), location_header(201)],
    )
    def post(self, request):
        data = self.ReferralCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        referral = services.referral_create(
            caller=request.caller, subject_id=values["subject"], to_agency_id=values["to_agency"],
            service=values["service"], urgency=values["urgency"], purpose=values["purpose"],
            payload=values["payload"], reason=values["reason"], withhold_categories=values["withhold_categories"],
            directory_service_id=values["directory_service"],
        )
        return Response(
            _SUMMARY.to_representation(referral), status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/referrals/{referral.id}", "ETag": referral.etag},
        )


class ReferralDetailApi(APIView):
    """The referral with its payload and subject profile, disclosed to the caller."""

    required_scopes = ["referrals:read"]

    @extend_schema(responses=ReferralDetailOutput, parameters=[etag_header(200)])
    def get(self, request, referral_id):
        view = referral_read(request.caller, referral_id)
        return Response(_detail(view), headers={"ETag": view.referral.etag})


class ReferralTransitionApi(APIView):
    """Move the referral on: the recipient forward, the sender to cancelled."""

    required_scopes = ["referrals:write"]

    class TransitionInput(InputSerializer):
        status = CodeField(lifecycle.STATUSES)
        reason = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
        outcome = serializers.JSONField(
            required=False, default=None,
            help_text='Completed and failed only: {"success": true|false, "reason": <outcome reason code>}.',
        )

    @extend_schema(
        description=(
            "Move the referral to `status`. Send `If-Match` with the ETag you last read (GET answers it; "
            "so does every transition): without it 428, when the referral changed since (another "
            "transition or a case update) 412 with `current_etag`. A step that is not yours or not "
            "possible from the current status is a 409 listing `allowed`. Accepting takes a free place in "
            "the directory service the referral was sent to (or the recipient's only service of this code "
            "that counts places): with none free, 409 `no_capacity` and the referral stays as it was; ending "
            "an accepted referral (completed, failed, cancelled) gives the place back.\n\n" + transition_table()
            + "\n\n`outcome.reason` is one of: " + ", ".join(f"`{r}`" for r in lifecycle.OUTCOME_REASONS)
            + "; it is required when `success` is false."
        ),
        request=TransitionInput, responses=ReferralSummaryOutput, parameters=[IF_MATCH, etag_header(200)],
    )
    def post(self, request, referral_id):
        if_match = require_if_match(request, what="referral")
        data = self.TransitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        referral = services.referral_transition(
            caller=request.caller, referral_id=referral_id, to=data.validated_data["status"],
            reason=data.validated_data["reason"], outcome=data.validated_data["outcome"], if_match=if_match,
        )
        return Response(ReferralSummaryOutput(referral).data, headers={"ETag": referral.etag})


class CaseUpdateOutput(serializers.Serializer):
    id = serializers.UUIDField()
    author = serializers.UUIDField(source="author_id")
    kind = CodeField(CaseUpdate.KINDS)
    created_at = serializers.DateTimeField()


class CaseUpdateDisclosedOutput(CaseUpdateOutput):
    payload = serializers.DictField(help_text="The update (schemas/case-update-<kind>) pruned to what you may receive.")
    withheld_categories = serializers.ListField(child=CodeField(CATEGORIES))


class CaseUpdateListOutput(serializers.Serializer):
    results = CaseUpdateDisclosedOutput(many=True)


class CaseUpdateListCreateApi(IdempotentCreateMixin, APIView):
    """Case updates of a referral, from either side; disclosed on read."""

    required_scopes = {"GET": ["referrals:read"], "POST": ["referrals:write"]}

    class CaseUpdateInput(InputSerializer):
        kind = CodeField(CaseUpdate.KINDS, help_text="The payload follows schemas/case-update-<kind>.")
        payload = serializers.DictField()

    @extend_schema(
        operation_id="referrals_updates_list",
        description="The referral's case updates, oldest first, each disclosed to you (recorded in the accounting).",
        responses=CaseUpdateListOutput,
    )
    def get(self, request, referral_id):
        views = case_update_list(request.caller, referral_id)
        results = [
            {**CaseUpdateOutput(v.update).data, "payload": v.payload.document, "withheld_categories": v.payload.withheld_categories}
            for v in views
        ]
        return Response({"results": results})

    @extend_schema(
        description=(
            "Add a note, appointment or outcome, from either side. It changes the referral's ETag "
            "(its `version`): read the referral again before your next transition."
        ),
        request=CaseUpdateInput, responses={201: CaseUpdateOutput},
    )
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
            raise NotFoundError(_("No schema %(name)s.") % {"name": repr(name)}) from None

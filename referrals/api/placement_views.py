"""Employment placements (DESIGN.md 6.2; issue 9): partnership agreements,
placements, transitions, monthly check-ins, the outcome and the follow-up.

Tenancy: an agreement or placement exists only for its coordinating agency
and its employer; everyone else gets a 404 and nothing is written. Person
data (the employment terms, check-ins, outcome, the person's profile)
reaches a reader only in GET placements/{id}, disclosed for
`employment_placement`; lists and the answers to changes are metadata."""

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
from hub.api.preconditions import require_if_match
from hub.api.schema import IF_MATCH
from hub.api.serializers import CodeField, InputSerializer
from schemas.vocabularies import DATA_CATEGORIES, codes

from ..placements import lifecycle, services
from ..placements.models import CONTRACT_TYPES, OUTCOMES, TIMEPOINTS
from ..placements.selectors import (
    PURPOSE,
    agreement_for_party,
    agreement_list_for_agency,
    placement_list_for_agency,
    placement_read,
)

def _parsed(input_class, request) -> dict:
    data = input_class(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


# --- Agreements -------------------------------------------------------------------------


class PlacementAgreementOutput(serializers.Serializer):
    id = serializers.UUIDField()
    coordinating_agency = serializers.UUIDField(source="coordinating_agency_id")
    employer = serializers.UUIDField(source="employer_id")
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()
    roles = serializers.ListField(child=serializers.CharField())
    places = serializers.IntegerField()
    in_use = serializers.IntegerField(help_text="places held by proposed, confirmed and active placements")
    created_at = serializers.DateTimeField()


class AgreementPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class PlacementAgreementListCreateApi(IdempotentCreateMixin, ListAPIView):
    """GET: the agreements your agency is a party to. POST: record an
    agreement with an employer (a coordinating agency: CIS, OPS, NGO or
    labour office)."""

    required_scopes = {"GET": ["placements:read"], "POST": ["placements:write"]}
    serializer_class = PlacementAgreementOutput
    pagination_class = AgreementPagination

    class PlacementAgreementInput(InputSerializer):
        employer = serializers.UUIDField()
        valid_from = serializers.DateField()
        valid_until = serializers.DateField()
        roles = serializers.ListField(child=serializers.CharField(max_length=100), max_length=50)
        places = serializers.IntegerField(max_value=10_000)

    @extend_schema(parameters=[OpenApiParameter("employer", str, description="an employer's agency id")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return agreement_list_for_agency(self.request.caller, employer_id=uuid_param(self.request.query_params, "employer"))

    @extend_schema(request=PlacementAgreementInput, responses={201: PlacementAgreementOutput})
    def post(self, request):
        values = _parsed(self.PlacementAgreementInput, request)
        agreement = services.agreement_create(
            caller=request.caller, employer_id=values["employer"], valid_from=values["valid_from"],
            valid_until=values["valid_until"], roles=values["roles"], places=values["places"],
        )
        agreement.in_use = 0
        return Response(PlacementAgreementOutput(agreement).data, status=status.HTTP_201_CREATED,
                        headers={"Location": f"/api/v1/placement-agreements/{agreement.id}"})


class PlacementAgreementDetailApi(APIView):
    """One agreement your agency is a party to, with its places in use."""

    required_scopes = ["placements:read"]

    @extend_schema(responses=PlacementAgreementOutput)
    def get(self, request, agreement_id):
        return Response(PlacementAgreementOutput(agreement_for_party(agreement_id, request.caller)).data)


# --- Placements: metadata ---------------------------------------------------------------------


class PlacementSummaryOutput(serializers.Serializer):
    """Metadata only: never the employment terms, check-ins or outcome."""

    id = serializers.UUIDField()
    subject = serializers.UUIDField(source="subject_id")
    coordinating_agency = serializers.UUIDField(source="coordinating_agency_id")
    employer = serializers.UUIDField(source="employer_id")
    agreement = serializers.UUIDField(source="agreement_id")
    coordinator = serializers.IntegerField(source="coordinator_id", help_text="the support coordinator's user id")
    status = serializers.ChoiceField(choices=lifecycle.STATUSES)
    status_reason = serializers.CharField(help_text="the reason code of the last change, or empty")
    version = serializers.IntegerField()
    etag = serializers.CharField(help_text="send as If-Match to change the placement")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    declined_at = serializers.DateTimeField(allow_null=True)
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    activated_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    outcome_recorded_at = serializers.DateTimeField(allow_null=True)


class PlacementCheckInOutput(serializers.Serializer):
    id = serializers.UUIDField()
    placement = serializers.UUIDField(source="placement_id")
    side = serializers.ChoiceField(choices=lifecycle.SIDES)
    month = serializers.DateField(format="%Y-%m", help_text="YYYY-MM")
    timepoint = serializers.CharField(required=False, help_text="coordinator's: start, end, follow_up or empty")
    recorded_at = serializers.DateTimeField()


# --- Placements: the disclosed placement ------------------------------------------------------


class DisclosedSubjectOutput(serializers.Serializer):
    id = serializers.UUIDField()
    profile = serializers.DictField(help_text="for an employer: identity and contact only, as disclosed")
    withheld_categories = serializers.ListField(child=CodeField(codes(DATA_CATEGORIES)))


class EmploymentOutput(serializers.Serializer):
    role = serializers.CharField(required=False)
    hours_per_week = serializers.IntegerField(required=False)
    start_on = serializers.DateField(required=False)
    planned_end_on = serializers.DateField(required=False)
    ended_on = serializers.DateField(required=False)


class CheckInDisclosedOutput(PlacementCheckInOutput):
    days_worked = serializers.IntegerField(required=False)
    days_absent = serializers.IntegerField(required=False)
    employer_feedback = serializers.IntegerField(required=False)
    coordinator_notes = serializers.CharField(required=False, help_text="never shown to the employer")
    who5 = serializers.ListField(child=serializers.IntegerField(), required=False, help_text="never shown to the employer")
    who5_score = serializers.IntegerField(required=False, help_text="raw sum x 4, 0-100")


class OutcomeOutput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=OUTCOMES, required=False)
    contract_type = serializers.ChoiceField(choices=CONTRACT_TYPES, required=False)
    fte = serializers.FloatField(required=False)
    contract_months = serializers.FloatField(required=False, allow_null=True, help_text="null: open-ended")
    reason = serializers.CharField(required=False)


class FollowUpOutput(serializers.Serializer):
    still_employed = serializers.BooleanField(required=False)
    followed_up_on = serializers.DateField(required=False)


class TherapistOutput(serializers.Serializer):
    user = serializers.IntegerField(required=False)
    agency = serializers.UUIDField(required=False)


class PlacementDetailOutput(PlacementSummaryOutput):
    subject = DisclosedSubjectOutput()
    employment = EmploymentOutput()
    outcome = OutcomeOutput(allow_null=True)
    check_ins = CheckInDisclosedOutput(many=True, help_text="an employer sees its own only")
    therapist = TherapistOutput(required=False, allow_null=True, help_text="coordinating agency only")
    follow_up = FollowUpOutput(required=False, allow_null=True, help_text="coordinating agency only")
    withheld_categories = serializers.ListField(child=CodeField(codes(DATA_CATEGORIES)))


def _check_in(check_in, content: dict | None, side: str) -> dict:
    item = {**PlacementCheckInOutput(check_in).data, **(content or {})}
    if side == lifecycle.EMPLOYER or check_in.side == lifecycle.EMPLOYER:
        item.pop("timepoint", None)
    if isinstance(item.get("who5"), list):
        item["who5_score"] = sum(item["who5"]) * 4
    return item


def _therapist(placement) -> dict | None:
    if placement.therapist_user_id is not None:
        return {"user": placement.therapist_user_id}
    if placement.therapist_agency_id is not None:
        return {"agency": str(placement.therapist_agency_id)}
    return None


def _detail(view) -> dict:
    placement = view.placement
    body = {
        **PlacementSummaryOutput(placement).data,
        "subject": {"id": str(placement.subject_id), "profile": view.profile.document,
                    "withheld_categories": view.profile.withheld_categories},
        "employment": view.employment.document,
        "outcome": view.outcome.document if view.outcome is not None else None,
        "check_ins": [_check_in(c, content, view.side) for c, content in view.check_ins],
        "withheld_categories": view.withheld_categories,
    }
    if view.side == lifecycle.COORDINATOR:
        body["therapist"] = _therapist(placement)
        body["follow_up"] = view.follow_up.document if view.follow_up is not None else None
    return body


class PlacementPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class TherapistInput(InputSerializer):
    user = serializers.IntegerField(required=False, allow_null=True, default=None,
                                    help_text="a member of your agency")
    agency = serializers.UUIDField(required=False, allow_null=True, default=None)


class PlacementListCreateApi(IdempotentCreateMixin, ListAPIView):
    """GET: the placements your agency coordinates or employs (metadata).
    POST: propose a placement under one of your agreements (the coordinating
    agency); the employer confirms it."""

    required_scopes = {"GET": ["placements:read"], "POST": ["placements:write"]}
    serializer_class = PlacementSummaryOutput
    pagination_class = PlacementPagination

    class PlacementCreateInput(InputSerializer):
        subject = serializers.UUIDField()
        employer = serializers.UUIDField()
        agreement = serializers.UUIDField()
        coordinator = serializers.IntegerField(help_text="a user of your agency in role coordinator")
        therapist = TherapistInput(required=False, allow_null=True, default=None,
                                   help_text="a user of your agency or an agency; never shown to the employer")
        role = serializers.CharField(max_length=100, help_text="one of the agreement's roles")
        hours_per_week = serializers.IntegerField()
        start_on = serializers.DateField()
        planned_end_on = serializers.DateField(required=False, allow_null=True, default=None,
                                               help_text="default: PLACEMENT_DEFAULT_MONTHS after the start")

    @extend_schema(parameters=[
        OpenApiParameter("status", str, enum=list(lifecycle.STATUSES)),
        OpenApiParameter("agreement", str, description="an agreement id"),
    ])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        return placement_list_for_agency(
            self.request.caller, status=choice_param(params, "status", lifecycle.STATUSES),
            agreement_id=uuid_param(params, "agreement"),
        )

    @extend_schema(request=PlacementCreateInput, responses={201: PlacementSummaryOutput})
    def post(self, request):
        values = _parsed(self.PlacementCreateInput, request)
        therapist = values["therapist"] or {}
        placement = services.placement_create(
            caller=request.caller, subject_id=values["subject"], employer_id=values["employer"],
            agreement_id=values["agreement"], coordinator_id=values["coordinator"], role=values["role"],
            hours_per_week=values["hours_per_week"], start_on=values["start_on"],
            planned_end_on=values["planned_end_on"], therapist_user_id=therapist.get("user"),
            therapist_agency_id=therapist.get("agency"),
        )
        return Response(
            PlacementSummaryOutput(placement).data, status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/placements/{placement.id}", "ETag": placement.etag},
        )


class PlacementDetailApi(APIView):
    """The placement disclosed to you for `employment_placement`. An employer
    gets the person's identity and contact, the employment terms, the outcome
    and its own check-ins, never anything else; the coordinating agency gets
    everything. Recorded in the person's accounting of disclosures whenever
    it holds data another agency supplied."""

    required_scopes = ["placements:read"]

    @extend_schema(
        parameters=[OpenApiParameter("purpose", str, enum=[PURPOSE], required=False,
                                     description="Always employment_placement.")],
        responses=PlacementDetailOutput,
    )
    def get(self, request, placement_id):
        if request.query_params.get("purpose", PURPOSE) != PURPOSE:
            raise ValidationFailed(
                _("A placement is disclosed for employment_placement only."),
                errors=[{"parameter": "purpose", "detail": _("Must be %(value)s.") % {"value": PURPOSE}}],
            )
        view = placement_read(request.caller, placement_id)
        return Response(_detail(view), headers={"ETag": view.placement.etag})


class PlacementTransitionApi(APIView):
    """Move the placement on: the employer confirms or declines; the
    coordinating agency starts, completes or withdraws it; either ends it
    early. Send If-Match."""

    required_scopes = ["placements:write"]

    class PlacementTransitionInput(InputSerializer):
        status = serializers.ChoiceField(choices=lifecycle.TARGET_STATUSES)
        reason = serializers.CharField(max_length=32, required=False, default="", allow_blank=True,
                                       help_text="a reason code: declined and ended_early need one")
        ended_on = serializers.DateField(required=False, allow_null=True, default=None,
                                         help_text="completed, ended_early: the last day (default today)")

    @extend_schema(request=PlacementTransitionInput, responses=PlacementSummaryOutput, parameters=[IF_MATCH])
    def post(self, request, placement_id):
        values = _parsed(self.PlacementTransitionInput, request)
        placement = services.placement_transition(
            caller=request.caller, placement_id=placement_id, to=values["status"], reason=values["reason"],
            ended_on=values["ended_on"], if_match=require_if_match(request, what="placement"),
        )
        return Response(PlacementSummaryOutput(placement).data, headers={"ETag": placement.etag})


class PlacementCheckInCreateApi(IdempotentCreateMixin, APIView):
    """Record your side's check-in for a month: the employer's days worked
    and absent and feedback (1-5); the coordinator's notes and WHO-5 items
    (five, each 0-5), at the start, end or follow-up or monthly."""

    required_scopes = ["placements:write"]

    class PlacementCheckInInput(InputSerializer):
        month = serializers.CharField(max_length=7, help_text="YYYY-MM")
        days_worked = serializers.IntegerField(required=False, allow_null=True, default=None)
        days_absent = serializers.IntegerField(required=False, allow_null=True, default=None)
        employer_feedback = serializers.IntegerField(required=False, allow_null=True, default=None)
        coordinator_notes = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)
        who5 = serializers.ListField(child=serializers.IntegerField(), max_length=20, required=False,
                                     allow_null=True, default=None)
        timepoint = serializers.ChoiceField(choices=TIMEPOINTS, required=False, default="", allow_blank=True)

    @extend_schema(request=PlacementCheckInInput, responses={201: PlacementCheckInOutput})
    def post(self, request, placement_id):
        values = _parsed(self.PlacementCheckInInput, request)
        check_in = services.placement_check_in_add(caller=request.caller, placement_id=placement_id, **values)
        return Response(PlacementCheckInOutput(check_in).data, status=status.HTTP_201_CREATED)


class PlacementOutcomeApi(IdempotentCreateMixin, APIView):
    """Record how the ended placement ended for the person (either side,
    once): hired (contract type, FTE, length in months or null when
    open-ended), not_hired or ended_early (a reason code)."""

    required_scopes = ["placements:write"]

    class PlacementOutcomeInput(InputSerializer):
        outcome = serializers.ChoiceField(choices=OUTCOMES)
        contract_type = serializers.CharField(max_length=32, required=False, allow_null=True, default=None)
        fte = serializers.DecimalField(max_digits=3, decimal_places=2, required=False, allow_null=True, default=None)
        contract_months = serializers.DecimalField(max_digits=5, decimal_places=1, required=False, allow_null=True)
        reason = serializers.CharField(max_length=32, required=False, allow_null=True, default=None)

    @extend_schema(request=PlacementOutcomeInput, responses=PlacementSummaryOutput, parameters=[IF_MATCH])
    def post(self, request, placement_id):
        values = _parsed(self.PlacementOutcomeInput, request)
        placement = services.placement_outcome_record(
            caller=request.caller, placement_id=placement_id, if_match=require_if_match(request, what="placement"),
            contract_months=values.pop("contract_months", services.NOT_GIVEN), **values,
        )
        return Response(PlacementSummaryOutput(placement).data, headers={"ETag": placement.etag})


class PlacementFollowUpApi(IdempotentCreateMixin, APIView):
    """Record whether the person is still employed PLACEMENT_FOLLOW_UP_DAYS
    (90) after the placement's last day (the coordinating agency, once)."""

    required_scopes = ["placements:write"]

    class PlacementFollowUpInput(InputSerializer):
        still_employed = serializers.BooleanField()
        followed_up_on = serializers.DateField(required=False, allow_null=True, default=None,
                                               help_text="default today")

    @extend_schema(request=PlacementFollowUpInput, responses=FollowUpOutput)
    def post(self, request, placement_id):
        values = _parsed(self.PlacementFollowUpInput, request)
        placement = services.placement_follow_up_record(caller=request.caller, placement_id=placement_id, **values)
        return Response(FollowUpOutput({"still_employed": placement.employed_90d,
                                        "followed_up_on": placement.followed_up_on}).data)

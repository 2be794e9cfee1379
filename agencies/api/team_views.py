"""Teams (ZI, GDP) and their members (DESIGN.md 6.2). A team is visible only
to its members with access (a received art. 9c declaration, not removed):
anyone else gets 404 on every team endpoint."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api.idempotency import IdempotentCreateMixin
from hub.api.pagination import CursorPagination
from hub.api.params import choice_param
from hub.api.schema import location_header
from hub.api.serializers import CodeField, InputSerializer

from ..models import Team, TeamMembership, TeamMembershipChange
from ..selectors import team_active_memberships, team_get_for_member, team_summaries_for_agency
from ..teams import team_create, team_member_add, team_member_remove


# Codes are enums named by settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]
# (TeamKindEnum, TeamRoleEnum), so they do not collide with other apps' "kind", "role".
class TeamOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = CodeField(Team.KINDS, help_text="zi or gdp")
    parent = serializers.UUIDField(source="parent_id", allow_null=True, help_text="a GDP's ZI")
    teryt = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()


class TeamSummaryOutput(TeamOutput):
    role = CodeField(TeamMembership.ROLES, source="caller_role", help_text="the caller's role")


class TeamMemberOutput(serializers.Serializer):
    agency = serializers.UUIDField(source="agency_id")
    role = CodeField(TeamMembership.ROLES)
    confidentiality_declaration_at = serializers.DateTimeField(allow_null=True)
    joined_at = serializers.DateTimeField()


class TeamDetailOutput(TeamOutput):
    members = TeamMemberOutput(many=True, help_text="current members; those without a declaration have no access yet")


def _detail(team: Team) -> dict:
    return {**TeamOutput(team).data, "members": TeamMemberOutput(team_active_memberships(team), many=True).data}


class TeamPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class TeamListCreateApi(IdempotentCreateMixin, ListAPIView):
    """GET: the caller's teams. POST: create a ZI (an OPS) or a GDP under a ZI
    (the ZI's chair); the caller becomes the team's chair."""

    required_scopes = {"GET": ["plans:read"], "POST": ["plans:write"]}
    serializer_class = TeamSummaryOutput
    pagination_class = TeamPagination

    class TeamCreateInput(InputSerializer):
        name = serializers.CharField(max_length=255)
        kind = CodeField(Team.KINDS)
        parent = serializers.UUIDField(required=False, allow_null=True, default=None)
        teryt = serializers.CharField(max_length=7, required=False, allow_blank=True, default="")
        confidentiality_declaration_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    @extend_schema(parameters=[OpenApiParameter("kind", str, enum=list(Team.KINDS))])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        kind = choice_param(self.request.query_params, "kind", Team.KINDS)
        return team_summaries_for_agency(self.request.caller.agency, kind=kind)

    @extend_schema(request=TeamCreateInput, responses={201: TeamDetailOutput}, parameters=[location_header(201)])
    def post(self, request):
        data = self.TeamCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        team = team_create(
            caller=request.caller, name=values["name"], kind=values["kind"], parent_id=values["parent"],
            teryt=values["teryt"], confidentiality_declaration_at=values["confidentiality_declaration_at"],
        )
        return Response(_detail(team), status=status.HTTP_201_CREATED, headers={"Location": f"/api/v1/teams/{team.id}"})


class TeamDetailApi(APIView):
    """One team with its current members."""

    required_scopes = ["plans:read"]

    @extend_schema(responses=TeamDetailOutput)
    def get(self, request, team_id):
        return Response(_detail(team_get_for_member(team_id, request.caller.agency)))


class TeamMemberChangedOutput(TeamMemberOutput):
    changes = serializers.ListField(child=CodeField(TeamMembershipChange.CHANGES), help_text="What this request changed.")


class TeamMemberCreateApi(IdempotentCreateMixin, APIView):
    """Add a member (the chair only): 201. For a current member, record its
    confidentiality declaration or change its role: 200. Naming a member
    `chair` hands the chair over."""

    required_scopes = ["plans:write"]

    class TeamMemberInput(InputSerializer):
        agency = serializers.UUIDField()
        role = CodeField(TeamMembership.ROLES, required=False, default=TeamMembership.MEMBER)
        confidentiality_declaration_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    @extend_schema(request=TeamMemberInput, responses={201: TeamMemberChangedOutput, 200: TeamMemberChangedOutput})
    def post(self, request, team_id):
        data = self.TeamMemberInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        result = team_member_add(
            caller=request.caller, team_id=team_id, agency_id=values["agency"], role=values["role"],
            confidentiality_declaration_at=values["confidentiality_declaration_at"],
        )
        body = {**TeamMemberOutput(result.membership).data, "changes": list(result.changes)}
        created = TeamMembershipChange.ADDED in result.changes
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class TeamMemberDeleteApi(APIView):
    """Remove a member (the chair only): it loses access on its next request.
    Leaving a ZI also removes the agency from the ZI's GDPs."""

    required_scopes = ["plans:write"]

    @extend_schema(responses={204: None})
    def delete(self, request, team_id, agency_id):
        team_member_remove(caller=request.caller, team_id=team_id, agency_id=agency_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api.pagination import CursorPagination
from hub.api.params import choice_param
from hub.api.serializers import CodeField
from schemas.vocabularies import AGENCY_KINDS, SECTORS, codes

from ..selectors import agency_list


class AgencyOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = CodeField(codes(AGENCY_KINDS))
    sector = CodeField(codes(SECTORS))
    teryt = serializers.CharField(allow_blank=True, help_text="The gmina's TERYT code, if any.")


class AgencyPagination(CursorPagination):
    ordering = ("name", "id")


class AgencyListApi(ListAPIView):
    """The directory of active agencies (organisations only, no people)."""

    required_scopes = ["agencies:read"]
    serializer_class = AgencyOutputSerializer
    pagination_class = AgencyPagination

    @extend_schema(parameters=[OpenApiParameter("kind", str, enum=list(codes(AGENCY_KINDS)))])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return agency_list(kind=choice_param(self.request.query_params, "kind", codes(AGENCY_KINDS)))


class AgencyMeApi(APIView):
    """The calling agency: the one the access token's client belongs to."""

    required_scopes = ["agencies:read"]

    @extend_schema(responses=AgencyOutputSerializer)
    def get(self, request):
        return Response(AgencyOutputSerializer(request.caller.agency).data)

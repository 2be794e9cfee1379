from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api.errors import ValidationFailed
from hub.api.pagination import CursorPagination
from schemas.vocabularies import AGENCY_KINDS, codes

from ..selectors import agency_list


class AgencyOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.CharField()
    sector = serializers.CharField()
    teryt = serializers.CharField()


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
        kind = self.request.query_params.get("kind")
        if kind is not None and kind not in codes(AGENCY_KINDS):
            raise ValidationFailed(
                f"Unknown agency kind {kind!r}.",
                errors=[{"parameter": "kind", "detail": "One of: " + ", ".join(codes(AGENCY_KINDS))}],
            )
        return agency_list(kind=kind)


class AgencyMeApi(APIView):
    """The calling agency: the one the access token's client belongs to."""

    required_scopes = ["agencies:read"]

    @extend_schema(responses=AgencyOutputSerializer)
    def get(self, request):
        return Response(AgencyOutputSerializer(request.caller.agency).data)

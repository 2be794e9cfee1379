"""A test-only creating endpoint that exercises the API conventions (input
validation, idempotency) through a real service, mounted beside hub.urls."""

from django.urls import path
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.services import agency_create
from hub.api.idempotency import IdempotentCreateMixin
from hub.api.serializers import InputSerializer
from hub.urls import urlpatterns as hub_urlpatterns


class ProbeAgencyCreateApi(IdempotentCreateMixin, APIView):
    required_scopes = ["agencies:read"]

    class Input(InputSerializer):
        name = serializers.CharField(max_length=255)
        kind = serializers.CharField()
        teryt = serializers.CharField(required=False, default="")

    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        agency = agency_create(**data.validated_data)
        return Response(
            {"id": str(agency.id), "name": agency.name, "kind": agency.kind},
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/probe/{agency.id}"},
        )


class ProbeUndeclaredScopesApi(APIView):
    """Forgets to declare required_scopes: must be closed, not open."""

    def get(self, request):
        return Response({"secret": "should never be served"})


urlpatterns = [
    path("api/v1/probe/", ProbeAgencyCreateApi.as_view()),
    path("api/v1/probe-undeclared/", ProbeUndeclaredScopesApi.as_view()),
    *hub_urlpatterns,
]

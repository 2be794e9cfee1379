"""Test-only views that fail the way a database error does: with an exception
whose message quotes the person's data (PostgreSQL's CONTEXT line quotes the
document it refused), mounted beside hub.urls."""

import json

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from hub.urls import urlpatterns as hub_urlpatterns


def fail_quoting(document: str):
    try:
        raise ValueError(f"invalid input: {document}")
    except ValueError as error:
        raise RuntimeError(f"CONTEXT: JSON data, line 1: {document}") from error


def crash_view(request):
    fail_quoting(request.body.decode())


class CrashApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def post(self, request):
        fail_quoting(json.dumps(request.data))


urlpatterns = [
    path("api/v1/crash/", CrashApi.as_view()),
    path("o/crash/", crash_view),
    *hub_urlpatterns,
]

# An urlconf names its own error handlers; these are hub.urls' own.
handler404 = "hub.api.errors.page_not_found"
handler500 = "hub.api.errors.server_error"
